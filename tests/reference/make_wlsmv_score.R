# Reference values for the WLSMV score tests of ordinal invariance (tests/test_invariance_ordinal.py):
# lavaan 0.6-14 lavTestScore(univariate = TRUE, cumulative = TRUE) on the metric and scalar fits
# of measEq.syntax(ID.cat = "Wu.Estabrook.2016", parameterization = "delta", ID.fac = "std.lv")
# (semTools 0.5-6), estimator = "WLSMV".  lavTestScore falls back to the ordinary score test
# for robust standard errors ("se is not `standard'"): the statistic uses the expected
# information of the DWLS fit, as psychometrics.sem.score_test does.
# Data: tests/data/bfi.csv (agreeableness + conscientiousness by gender) and the example
# study's CSQ-8 (examples/data.csv, -9 = missing).
# Run from this directory:  Rscript make_wlsmv_score.R   -> wlsmv_score.json
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
LEVELS <- list(metric = c("thresholds", "loadings"),
               scalar = c("thresholds", "loadings", "intercepts"))

# lavTestScore rows (".p2. == .p38.") -> the parameters on both sides
constraint_params <- function(fit, lhs, rhs) {
  pt <- parTable(fit)
  glab <- lavInspect(fit, "group.label")
  one <- function(pl) {
    i <- which(pt$plabel == pl)
    list(lhs = pt$lhs[i], op = pt$op[i], rhs = pt$rhs[i], group = glab[pt$group[i]])
  }
  lapply(seq_along(lhs), function(k) list(left = one(lhs[k]), right = one(rhs[k])))
}

score_ref <- function(model, data, items) {
  out <- list()
  for (lv in names(LEVELS)) {
    syn <- as.character(measEq.syntax(configural.model = model, data = data, ordered = items,
                                      parameterization = "delta", ID.fac = "std.lv",
                                      ID.cat = "Wu.Estabrook.2016", group = "gender",
                                      group.equal = LEVELS[[lv]]))
    fit <- cfa(syn, data = data, group = "gender", ordered = items, estimator = "WLSMV",
               parameterization = "delta")
    st <- suppressWarnings(lavTestScore(fit, univariate = TRUE, cumulative = TRUE))
    out[[lv]] <- list(
      chisq = fitMeasures(fit, "chisq")[[1]],
      total = list(X2 = st$test$X2, df = st$test$df, pvalue = st$test$p.value),
      uni = list(params = constraint_params(fit, st$uni$lhs, st$uni$rhs),
                 X2 = st$uni$X2, pvalue = st$uni$p.value),
      cumulative = list(params = constraint_params(fit, st$cumulative$lhs, st$cumulative$rhs),
                        X2 = st$cumulative$X2, df = st$cumulative$df))
  }
  out
}

res <- list(meta = list(lavaan = as.character(packageVersion("lavaan")),
                        semTools = as.character(packageVersion("semTools"))),
            ac = score_ref(AC_MODEL, bfi, AC_ITEMS),
            csq = score_ref(CSQ_MODEL, ex, CSQ))
write(toJSON(res, digits = NA, auto_unbox = TRUE, null = "null", na = "null", pretty = FALSE),
      "wlsmv_score.json")
