# Reference values for tests/test_sem_wlsmv.py (WLSMV / DWLS / ULSMV / WLSM, categorical CFA).
# lavaan 0.6-14 (cfa(ordered=), lavInspect sampstat / wls.obs / wls.v / gamma / delta,
# parameterEstimates, fitMeasures, modindices, lavTestLRT), semTools 0.5-6 (measEq.syntax with
# ID.cat = "Wu.Estabrook.2016", compRelSEM with ord.scale = TRUE / FALSE).
# Data: tests/data/bfi.csv (agreeableness + conscientiousness, 10 six-category items, and the
# 25-item five-factor model) and the example study's four-category CSQ-8 (examples/data.csv,
# -9 = missing).  Run from this directory:  Rscript make_wlsmv.R   -> wlsmv.json
suppressPackageStartupMessages({
  library(lavaan); library(semTools); library(jsonlite)
})

bfi <- read.csv("../data/bfi.csv")
ex <- read.csv("../../examples/data.csv")
ex[ex == -9] <- NA
CSQ <- paste0("csq_", 1:8)
CSQ_MODEL <- paste("sat =~", paste(CSQ, collapse = " + "))
AC_ITEMS <- c(paste0("A", 1:5), paste0("C", 1:5))
AC_MODEL <- "agree =~ A1 + A2 + A3 + A4 + A5
consc =~ C1 + C2 + C3 + C4 + C5"
BIG5_MODEL <- "agree =~ A1 + A2 + A3 + A4 + A5
consc =~ C1 + C2 + C3 + C4 + C5
extra =~ E1 + E2 + E3 + E4 + E5
neuro =~ N1 + N2 + N3 + N4 + N5
open =~ O1 + O2 + O3 + O4 + O5"
BIG5 <- c(AC_ITEMS, paste0("E", 1:5), paste0("N", 1:5), paste0("O", 1:5))

FM_KEYS <- c("npar", "fmin", "chisq", "df", "pvalue", "chisq.scaled", "df.scaled",
             "pvalue.scaled", "chisq.scaling.factor", "baseline.chisq", "baseline.df",
             "baseline.pvalue", "baseline.chisq.scaled", "baseline.df.scaled",
             "baseline.pvalue.scaled", "baseline.chisq.scaling.factor",
             "cfi", "tli", "nnfi", "rfi", "nfi", "pnfi", "ifi", "rni",
             "cfi.scaled", "tli.scaled", "nnfi.scaled", "rfi.scaled", "nfi.scaled",
             "pnfi.scaled", "ifi.scaled", "rni.scaled",
             "cfi.robust", "tli.robust", "nnfi.robust", "rni.robust",
             "rmsea", "rmsea.ci.lower", "rmsea.ci.upper", "rmsea.pvalue",
             "rmsea.scaled", "rmsea.ci.lower.scaled", "rmsea.ci.upper.scaled",
             "rmsea.pvalue.scaled", "rmsea.robust", "rmsea.ci.lower.robust",
             "rmsea.ci.upper.robust", "rmsea.pvalue.robust",
             "rmr", "rmr_nomean", "srmr", "srmr_bentler", "srmr_bentler_nomean",
             "crmr", "crmr_nomean", "srmr_mplus", "srmr_mplus_nomean", "wrmr", "ntotal",
             "rmsea.notclose.pvalue", "rmsea.notclose.pvalue.scaled",
             "rmsea.notclose.pvalue.robust", "cn_05", "cn_01", "gfi", "agfi", "pgfi", "mfi")

fm_list <- function(fit) {
  v <- fitMeasures(fit)
  v <- v[intersect(names(v), FM_KEYS)]
  out <- as.list(unname(as.numeric(v)))
  names(out) <- gsub(".", "_", names(v), fixed = TRUE)
  out
}

pe_list <- function(fit) {
  pe <- parameterEstimates(fit, standardized = TRUE, remove.nonfree = FALSE)
  keep <- c("lhs", "op", "rhs", "group", "label", "est", "se", "z", "pvalue", "std.lv", "std.all")
  pe <- pe[, intersect(keep, names(pe))]
  names(pe) <- gsub(".", "_", names(pe), fixed = TRUE)
  pe
}

group_moments <- function(fit) {
  ss <- lavInspect(fit, "sampstat")
  wo <- lavInspect(fit, "wls.obs")
  wv <- lavInspect(fit, "wls.v")
  ga <- lavInspect(fit, "gamma")
  de <- lavInspect(fit, "delta")
  ng <- lavInspect(fit, "ngroups")
  if (ng == 1) { ss <- list(ss); wo <- list(wo); wv <- list(wv); ga <- list(ga); de <- list(de) }
  nobs <- lavInspect(fit, "nobs")
  lapply(seq_len(ng), function(g) list(
    nobs = nobs[g],
    th = unname(as.numeric(ss[[g]]$th)), th_names = names(ss[[g]]$th),
    cor = unname(as.matrix(ss[[g]]$cov)),
    wls_obs = unname(as.numeric(wo[[g]])),
    wls_v_diag = unname(diag(as.matrix(wv[[g]]))),
    gamma = unname(as.matrix(ga[[g]])),
    delta = unname(as.matrix(de[[g]]))))
}

one_fit <- function(fit, moments = TRUE, mi = TRUE) {
  out <- list(fit_measures = fm_list(fit), parameters = pe_list(fit),
              converged = lavInspect(fit, "converged"),
              group_labels = lavInspect(fit, "group.label"))
  if (moments) out$moments <- group_moments(fit)
  if (mi) {
    m <- modindices(fit)
    out$modindices <- m[, c("lhs", "op", "rhs", intersect(c("group"), names(m)), "mi", "epc",
                            "sepc.lv", "sepc.all")]
    names(out$modindices) <- gsub(".", "_", names(out$modindices), fixed = TRUE)
  }
  out
}

timed <- function(expr) { t0 <- proc.time()[["elapsed"]]; v <- expr; attr(v, "secs") <- proc.time()[["elapsed"]] - t0; v }

res <- list(meta = list(lavaan = as.character(packageVersion("lavaan")),
                        semTools = as.character(packageVersion("semTools"))))

# ------------------------------------------------------------------ CSQ-8, one factor
fit <- cfa(CSQ_MODEL, data = ex, ordered = CSQ, estimator = "WLSMV")
res$csq_wlsmv <- one_fit(fit)
res$csq_wlsmv$compRelSEM_ord <- as.numeric(compRelSEM(fit, ord.scale = TRUE))
res$csq_wlsmv$compRelSEM_lat <- as.numeric(compRelSEM(fit, ord.scale = FALSE))
for (est in c("DWLS", "ULSMV", "WLSM", "WLSMVS", "ULSM")) {
  f2 <- cfa(CSQ_MODEL, data = ex, ordered = CSQ, estimator = est)
  res[[paste0("csq_", tolower(est))]] <- one_fit(f2, moments = FALSE, mi = FALSE)
}
f3 <- cfa(CSQ_MODEL, data = ex, ordered = CSQ, estimator = "WLSMV", parameterization = "theta")
res$csq_theta <- one_fit(f3, moments = FALSE, mi = FALSE)
f4 <- cfa(CSQ_MODEL, data = ex, ordered = CSQ, estimator = "WLSMV", std.lv = TRUE)
res$csq_stdlv <- one_fit(f4, moments = FALSE, mi = FALSE)
f5 <- cfa(CSQ_MODEL, data = ex, ordered = CSQ, estimator = "WLSMV", missing = "pairwise")
res$csq_pairwise <- one_fit(f5, moments = TRUE, mi = FALSE)

# ------------------------------------------------------------------ bfi agreeableness + conscientiousness
fit <- cfa(AC_MODEL, data = bfi, ordered = AC_ITEMS, estimator = "WLSMV")
res$ac_wlsmv <- one_fit(fit)
res$ac_wlsmv$compRelSEM_ord <- as.list(compRelSEM(fit, ord.scale = TRUE))
res$ac_wlsmv$compRelSEM_lat <- as.list(compRelSEM(fit, ord.scale = FALSE))

# ------------------------------------------------------------------ bfi 25 items, five factors
t_big5 <- system.time(fit <- cfa(BIG5_MODEL, data = bfi, ordered = BIG5, estimator = "WLSMV"))
res$big5_wlsmv <- one_fit(fit, moments = FALSE, mi = FALSE)
res$big5_wlsmv$seconds <- t_big5[["elapsed"]]

# ------------------------------------------------------------------ ordinal invariance (Wu & Estabrook 2016)
inv_seq <- function(model, data, items, group) {
  levels <- list(configural = NULL, thresholds = "thresholds",
                 metric = c("thresholds", "loadings"),
                 scalar = c("thresholds", "loadings", "intercepts"))
  fits <- list(); out <- list()
  t0 <- proc.time()[["elapsed"]]
  for (lv in names(levels)) {
    syn <- as.character(measEq.syntax(configural.model = model, data = data, ordered = items,
                                      parameterization = "delta", ID.fac = "std.lv",
                                      ID.cat = "Wu.Estabrook.2016", group = group,
                                      group.equal = if (is.null(levels[[lv]])) "" else levels[[lv]]))
    fits[[lv]] <- cfa(syn, data = data, group = group, ordered = items, estimator = "WLSMV",
                      parameterization = "delta")
    out[[lv]] <- one_fit(fits[[lv]], moments = (lv == "configural"), mi = FALSE)
    out[[lv]]$syntax <- syn
  }
  secs <- proc.time()[["elapsed"]] - t0
  tests <- list()
  nm <- names(levels)
  for (k in 2:length(nm)) {
    t <- lavTestLRT(fits[[nm[k - 1]]], fits[[nm[k]]])
    tests[[nm[k]]] <- list(chisq_diff = t[2, "Chisq diff"], df_diff = t[2, "Df diff"],
                           p_diff = t[2, "Pr(>Chisq)"])
  }
  list(levels = out, tests = tests, seconds = secs, group_labels = lavInspect(fits[[1]], "group.label"))
}
res$csq_invariance <- inv_seq(CSQ_MODEL, ex, CSQ, "gender")
res$ac_invariance <- inv_seq(AC_MODEL, bfi, AC_ITEMS, "gender")

# ------------------------------------------------------------------ plain multi-group WLSMV with group.equal
fit <- cfa(AC_MODEL, data = bfi, ordered = AC_ITEMS, estimator = "WLSMV", group = "gender",
           group.equal = c("thresholds", "loadings"))
res$ac_mg_equal <- one_fit(fit, moments = FALSE, mi = TRUE)

write(toJSON(res, digits = NA, auto_unbox = TRUE, null = "null", na = "null", pretty = FALSE),
      "wlsmv.json")
