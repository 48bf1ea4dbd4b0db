# Reference values for the SEM engine (tests/test_sem_*.py).
# lavaan 0.6-14, ML, complete data (listwise). Run from this directory:
#   Rscript make_sem.R      -> sem.json
suppressPackageStartupMessages({library(lavaan); library(jsonlite)})
hs  <- read.csv("../data/hs1939.csv")
bfi <- read.csv("../data/bfi.csv")
items <- c(paste0("A",1:5), paste0("C",1:5), paste0("E",1:5), paste0("N",1:5), paste0("O",1:5))
bfi_cc <- bfi[complete.cases(bfi[, items]), ]
bfi_cc_g <- bfi[complete.cases(bfi[, c(items, "gender")]), ]
# the bundled example study (simulated WAI-SR responses, psychometrics.simulate, seed 20261122)
wai <- read.csv("../../examples/data.csv")
wai_items <- paste0("wai_", 1:12)
wai_cc <- wai[complete.cases(wai[, wai_items]), ]

HS <- ' visual  =~ x1 + x2 + x3
        textual =~ x4 + x5 + x6
        speed   =~ x7 + x8 + x9 '
HS2 <- ' visual  =~ x1 + x2 + x3
         textual =~ x4 + x5 + x6
         speed   =~ x7 + x8 + x9
         g =~ visual + textual + speed '
BIF2 <- ' g =~ x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9
          f2 =~ x4 + x5 + x6
          f3 =~ x7 + x8 + x9 '
BIF <- ' g =~ x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9
         f1 =~ x1 + x2 + x3
         f2 =~ x4 + x5 + x6
         f3 =~ x7 + x8 + x9 '
MED <- ' visual  =~ x1 + x2 + x3
         textual =~ x4 + x5 + x6
         speed   =~ x7 + x8 + x9
         textual ~ a*visual
         speed ~ b*textual + c*visual
         ind := a*b
         total := c + a*b '
OBSMED <- ' x4 ~ a*x1
            x7 ~ b*x4 + c*x1
            ab := a*b
            tot := c + a*b '
LAB <- ' # labels, fixed values, freed marker, correlated residual
         visual  =~ NA*x1 + l*x2 + l*x3
         textual =~ x4 + x5 + 0.9*x6
         speed   =~ x7 + x8 + x9
         visual ~~ 1*visual
         x1 ~~ x9 '
PG <- ' visual  =~ x1 + c(v2, v2)*x2 + x3
        textual =~ x4 + x5 + x6
        speed   =~ x7 + x8 + x9 '
MEDG <- ' visual  =~ x1 + x2 + x3
          textual =~ x4 + x5 + x6
          speed   =~ x7 + x8 + x9
          textual ~ c(a1, a2)*visual
          speed ~ c(b1, b2)*textual + visual
          ind1 := a1*b1
          ind2 := a2*b2
          diff := ind1 - ind2 '
REGEQ <- ' visual  =~ x1 + x2 + x3
           textual =~ x4 + x5 + x6
           speed   =~ x7 + x8 + x9
           textual ~ visual
           x1 ~~ x9 '
COVY <- ' visual  =~ x1 + x2 + x3
          textual =~ x4 + x5 + x6
          speed   =~ x7 + x8 + x9
          textual ~ visual
          speed ~ visual '
MIMIC <- ' visual  =~ x1 + x2 + x3
           textual =~ x4 + x5 + x6
           visual + textual ~ ageyr + grade '
BFI <- ' agree =~ A1 + A2 + A3 + A4 + A5
         consc =~ C1 + C2 + C3 + C4 + C5
         extra =~ E1 + E2 + E3 + E4 + E5
         neuro =~ N1 + N2 + N3 + N4 + N5
         open  =~ O1 + O2 + O3 + O4 + O5 '

WAI3 <- ' task =~ wai_1 + wai_2 + wai_10 + wai_12
          bond =~ wai_3 + wai_5 + wai_7 + wai_9
          goal =~ wai_4 + wai_6 + wai_8 + wai_11 '
WAIH <- paste(WAI3, "\n general =~ task + bond + goal")

fits <- list(
  hs_1g           = list(fun="cfa", model=HS, data="hs", args=list()),
  hs_stdlv        = list(fun="cfa", model=HS, data="hs", args=list(std.lv=TRUE)),
  hs_orth         = list(fun="cfa", model=HS, data="hs", args=list(orthogonal=TRUE)),
  hs_school       = list(fun="cfa", model=HS, data="hs", args=list(group="school")),
  hs_school_load  = list(fun="cfa", model=HS, data="hs", args=list(group="school", group.equal="loadings")),
  hs_school_int   = list(fun="cfa", model=HS, data="hs", args=list(group="school", group.equal=c("loadings","intercepts"))),
  hs_school_part  = list(fun="cfa", model=HS, data="hs", args=list(group="school", group.equal=c("loadings","intercepts"), group.partial=c("x3~1", "visual=~x2"))),
  hs_school_strict= list(fun="cfa", model=HS, data="hs", args=list(group="school", group.equal=c("loadings","intercepts","residuals","lv.variances","lv.covariances","means"))),
  hs_school_stdlv = list(fun="cfa", model=HS, data="hs", args=list(group="school", group.equal="loadings", std.lv=TRUE)),
  hs_sex          = list(fun="cfa", model=HS, data="hs", args=list(group="sex")),
  hs_sex_int      = list(fun="cfa", model=HS, data="hs", args=list(group="sex", group.equal=c("loadings","intercepts"))),
  hs_second       = list(fun="cfa", model=HS2, data="hs", args=list()),
  hs_bifactor     = list(fun="cfa", model=BIF, data="hs", args=list(orthogonal=TRUE, std.lv=TRUE)),
  hs_bifactor2    = list(fun="cfa", model=BIF2, data="hs", args=list(orthogonal=TRUE)),
  hs_med          = list(fun="sem", model=MED, data="hs", args=list()),
  hs_obsmed       = list(fun="sem", model=OBSMED, data="hs", args=list()),
  hs_labels       = list(fun="cfa", model=LAB, data="hs", args=list()),
  hs_med_school   = list(fun="sem", model=MEDG, data="hs", args=list(group="school", group.equal="loadings")),
  hs_sex_regeq    = list(fun="sem", model=REGEQ, data="hs", args=list(group="sex", group.equal=c("loadings", "regressions", "residual.covariances", "residuals"))),
  hs_meanstr      = list(fun="cfa", model=HS, data="hs", args=list(meanstructure=TRUE)),
  hs_covy         = list(fun="sem", model=COVY, data="hs", args=list()),
  hs_obsmed_school= list(fun="sem", model=OBSMED, data="hs", args=list(group="school")),
  hs_mimic        = list(fun="sem", model=MIMIC, data="hs", args=list()),
  hs_mimic_school = list(fun="sem", model=MIMIC, data="hs", args=list(group="school", group.equal=c("loadings", "regressions"))),
  hs_pergroup     = list(fun="cfa", model=PG, data="hs", args=list(group="school")),
  bfi_1g          = list(fun="cfa", model=BFI, data="bfi", args=list()),
  bfi_gender      = list(fun="cfa", model=BFI, data="bfi_g", args=list(group="gender")),
  bfi_educ        = list(fun="cfa", model="agree =~ A1 + A2 + A3 + A4 + A5", data="bfi_e", args=list(group="education", group.equal=c("loadings", "intercepts"), group.partial="A1~1")),
  wai_3f          = list(fun="cfa", model=WAI3, data="wai", args=list()),
  wai_hier        = list(fun="cfa", model=WAIH, data="wai", args=list()),
  wai_gender      = list(fun="cfa", model=WAI3, data="wai", args=list(group="gender", group.equal="loadings"))
)
bfi_cc_e <- bfi[complete.cases(bfi[, c(paste0("A", 1:5), "education")]), ]
datasets <- list(hs=hs, bfi=bfi_cc, bfi_g=bfi_cc_g, wai=wai_cc, bfi_e=bfi_cc_e)

out <- list(lavaan_version = as.character(packageVersion("lavaan")))
for (nm in names(fits)) {
  f <- fits[[nm]]
  args <- c(list(model=f$model, data=datasets[[f$data]]), f$args)
  fit <- do.call(f$fun, args)
  # bfi (N = 2436): lavaan's default nlminb stop (rel.tol 1e-10 on F) leaves estimates off by
  # up to ~5e-4 SE; a second run started at the first optimum polishes them
  if (f$data %in% c("bfi", "bfi_g")) { args$start <- fit; fit <- do.call(f$fun, args) }
  pe <- parameterEstimates(fit, standardized=TRUE, rsquare=TRUE)
  pe <- as.data.frame(pe)
  if (is.null(pe$group)) pe$group <- 1L
  fm <- fitMeasures(fit)
  res <- list(converged = lavInspect(fit, "converged"),
              group_labels = lavInspect(fit, "group.label"),
              nobs = lavInspect(fit, "nobs"),
              pe = pe,
              fm = as.list(unclass(fm)))
  mi <- tryCatch(as.data.frame(modindices(fit)), error=function(e) NULL)
  if (!is.null(mi) && nrow(mi) > 0) { if (is.null(mi$group)) mi$group <- 1L; res$mi <- mi }
  rc <- residuals(fit, type="cor")
  if (lavInspect(fit, "ngroups") == 1L) rc <- list(rc)
  res$resid_cor <- lapply(rc, function(r) list(cov=unclass(r$cov), mean=if (is.null(r$mean)) NULL else unclass(r$mean), names=rownames(r$cov)))
  imp <- fitted(fit)
  if (lavInspect(fit, "ngroups") == 1L) imp <- list(imp)
  res$implied <- lapply(imp, function(r) list(cov=unclass(r$cov), mean=if (is.null(r$mean)) NULL else unclass(r$mean), names=rownames(r$cov)))
  if (nm %in% c("hs_1g", "hs_school_int")) {
    res$information <- unclass(lavInspect(fit, "information"))
    res$info_names <- colnames(lavInspect(fit, "information"))
  }
  out[[nm]] <- res
  cat(nm, "done\n")
}
writeLines(toJSON(out, digits=NA, auto_unbox=TRUE, na="null", null="null", matrix="rowmajor"), "sem.json")
