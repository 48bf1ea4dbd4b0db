# Reference values for tests/test_trust.py (issue 12: wrong numbers or failed fits).
# lavaan 0.6-14, semTools 0.5-6.  Run from this directory:  Rscript make_trust.R -> trust.json
suppressPackageStartupMessages({
  library(lavaan); library(semTools); library(jsonlite)
})
out <- list(versions = list(lavaan = as.character(packageVersion("lavaan")),
                            semTools = as.character(packageVersion("semTools"))))

# 1. FIML with few complete rows: simulated 36-item, 6-factor data (../data/make_cfa36_mcar.py,
#    seed 4), 300 rows, 10% MCAR cells, 9 complete rows
cfa36 <- read.csv("../data/cfa36_mcar.csv")
CFA36_MODEL <- paste(sapply(1:6, function(j) paste0("F", j, " =~ ", paste0("f", j, "_", 1:6, collapse = " + "))),
                     collapse = "\n")
fit <- cfa(CFA36_MODEL, cfa36, missing = "ml")
pe <- parameterEstimates(fit)
fm <- fitMeasures(fit, c("npar", "chisq", "df", "logl", "unrestricted.logl", "cfi", "rmsea", "srmr"))
out$cfa36_fiml <- list(model = CFA36_MODEL, converged = lavInspect(fit, "converged"),
                       complete_rows = sum(complete.cases(cfa36[, lavNames(CFA36_MODEL)])),
                       fit = as.list(fm),
                       est = list(lhs = pe$lhs, op = pe$op, rhs = pe$rhs, est = pe$est, se = pe$se))

# 2. Group order under listwise deletion: HS1939 by sex, x1 missing in row 1 (a boy), so the
#    first complete row is a girl's; lavaan fitted on the complete rows (groups in order of
#    first appearance there: 2, 1): latent-mean differences of group 1 against reference 2
hs <- read.csv("../data/hs1939.csv")
HS_MODEL <- "visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed =~ x7 + x8 + x9"
hs_na <- hs
hs_na$x1[1] <- NA
cc <- hs_na[complete.cases(hs_na[, paste0("x", 1:9)]), ]
fit_s <- cfa(HS_MODEL, cc, group = "sex", group.equal = c("loadings", "intercepts"))
pe <- parameterEstimates(fit_s)
lm <- pe[pe$op == "~1" & pe$lhs %in% c("visual", "textual", "speed") & pe$group == 2, ]
out$group_order <- list(group_labels = lavInspect(fit_s, "group.label"), row1_sex = hs$sex[1],
                        factor = lm$lhs, est = lm$est, se = lm$se, z = lm$z, pvalue = lm$pvalue,
                        chisq = fitMeasures(fit_s, "chisq"))

# 3. HTMT with missing data: bfi's five scales, EM (missing = "ml") and listwise correlations
bfi <- read.csv("../data/bfi.csv")
BFI5_MODEL <- "agree =~ A1 + A2 + A3 + A4 + A5
consc =~ C1 + C2 + C3 + C4 + C5
extra =~ E1 + E2 + E3 + E4 + E5
neuro =~ N1 + N2 + N3 + N4 + N5
open =~ O1 + O2 + O3 + O4 + O5"
h_ml <- htmt(BFI5_MODEL, data = bfi, missing = "ml")
h_lw <- htmt(BFI5_MODEL, data = bfi, missing = "listwise")
out$htmt_bfi <- list(model = BFI5_MODEL, factors = rownames(h_ml),
                     ml = unname(as.matrix(h_ml)), listwise = unname(as.matrix(h_lw)),
                     n_listwise = sum(complete.cases(bfi[, lavNames(BFI5_MODEL)])),
                     n_any = sum(rowSums(!is.na(bfi[, lavNames(BFI5_MODEL)])) > 0))

# 4. Partial invariance: HS1939 by sex, MLR.  The search releases speed=~x9 (metric) and x1~1
#    (scalar); at the strict level the score tests of the residual-variance constraints with
#    nothing, x7~~x7, and x7~~x7 + x2~~x2 released (lavTestScore, as psychometrics ranks them).
score_level <- function(ge, partial) {
  f <- cfa(HS_MODEL, hs, group = "sex", estimator = "MLR", group.equal = ge,
           group.partial = if (length(partial)) partial else "")
  st <- lavTestScore(f, warn = FALSE)$uni
  pt <- parTable(f)
  nm <- sapply(seq_len(nrow(st)), function(i) {
    r <- pt[pt$plabel == st$lhs[i], ]
    if (r$op == "~1") paste0(r$lhs, "~1") else paste0(r$lhs, r$op, r$rhs)
  })
  fm <- fitMeasures(f, c("chisq", "df", "cfi.robust", "rmsea.robust", "srmr"))
  list(partial = I(partial), parameter = nm, X2 = st$X2, df = st$df, pvalue = st$p.value,
       fit = as.list(fm))
}
GE <- c("loadings", "intercepts", "residuals")
out$hs_sex_mlr_search <- list(
  metric = score_level(GE[1], character()),
  scalar = score_level(GE[1:2], "speed=~x9"),
  strict = list(score_level(GE, c("speed=~x9", "x1~1")),
                score_level(GE, c("speed=~x9", "x1~1", "x7~~x7")),
                score_level(GE, c("speed=~x9", "x1~1", "x7~~x7", "x2~~x2"))))

writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "trust.json")
