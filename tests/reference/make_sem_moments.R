# Reference values for CFA from sample moments and factor scores of fits
# (psychometrics/sem/moments.py, psychometrics/sem/predict.py; tests/test_sem_moments.py).
# lavaan 0.6-14 (Debian r-cran-lavaan).  Run from tests/reference:  Rscript make_sem_moments.R
suppressPackageStartupMessages({library(lavaan); library(jsonlite)})
hs <- read.csv("../data/hs1939.csv")
ov <- paste0("x", 1:9)
model <- "visual =~ x1 + x2 + x3
          textual =~ x4 + x5 + x6
          speed =~ x7 + x8 + x9"
mat <- function(m) { m <- unclass(as.matrix(m)); dimnames(m) <- NULL; m }
fm_keys <- c("chisq", "df", "pvalue", "cfi", "tli", "rmsea", "srmr", "logl", "unrestricted.logl",
             "aic", "bic", "baseline.chisq")
pe <- function(fit) {
  p <- parameterEstimates(fit, standardized = TRUE)
  list(lhs = p$lhs, op = p$op, rhs = p$rhs, group = if (is.null(p$group)) rep(1, nrow(p)) else p$group,
       est = p$est, se = p$se, std_all = p$std.all)
}
one <- function(fit) list(fm = as.list(fitMeasures(fit, fm_keys)), pe = pe(fit))
out <- list()
S <- cov(hs[, ov]); M <- colMeans(hs[, ov])
out$single <- c(one(cfa(model, sample.cov = S, sample.nobs = 301)), list(cov = mat(S), nobs = 301))
out$single_means <- c(one(cfa(model, sample.cov = S, sample.mean = M, sample.nobs = 301,
                              meanstructure = TRUE)), list(mean = as.numeric(M)))
R <- cor(hs[, ov]); sds <- apply(hs[, ov], 2, sd)
out$cor_sd <- c(one(cfa(model, sample.cov = lavaan::cor2cov(R, sds), sample.nobs = 301)),
                list(cor = mat(R), sd = as.numeric(sds)))
# the same fit from raw data (ML): the moment fit must equal it
out$raw <- one(cfa(model, data = hs))
# two groups (school): covariances, means, N per group
groups <- c("Pasteur", "Grant-White")
covs <- lapply(groups, function(g) cov(hs[hs$school == g, ov]))
means <- lapply(groups, function(g) colMeans(hs[hs$school == g, ov]))
ns <- sapply(groups, function(g) sum(hs$school == g))
names(covs) <- names(means) <- groups
f2 <- cfa(model, sample.cov = covs, sample.mean = means, sample.nobs = as.list(ns),
          group.equal = "loadings")
out$groups <- c(one(f2), list(labels = groups, covs = lapply(covs, mat), means = lapply(means, as.numeric),
                             nobs = as.numeric(ns)))
# factor scores (lavPredict) of a raw-data fit: regression and Bartlett
fr <- cfa(model, data = hs)
out$predict <- list(regression = mat(lavPredict(fr, method = "regression")),
                    bartlett = mat(lavPredict(fr, method = "Bartlett")))
# with a mean structure and FIML on data with holes
hm <- hs[, ov]
set.seed(11)
for (j in 1:9) hm[sample(301, 20), j] <- NA
hm[5, ] <- hm[5, ]; hm[7, c("x1", "x2", "x3")] <- NA     # one case without any visual item
ff <- cfa(model, data = hm, missing = "ml")
out$predict_fiml <- list(data = mat(hm), regression = mat(lavPredict(ff, method = "regression")),
                         bartlett = mat(lavPredict(ff, method = "Bartlett")),
                         logl = fitMeasures(ff, "logl"))
fg <- cfa(model, data = hs, group = "school", group.equal = c("loadings", "intercepts"))
pg <- lavPredict(fg, method = "regression")
out$predict_groups <- list(regression = lapply(pg, mat), labels = lavInspect(fg, "group.label"))
# likelihood = "wishart" (AMOS/LISREL convention): raw data, two groups, and sample.cov
out$wishart <- one(cfa(model, data = hs, likelihood = "wishart"))
out$wishart_groups <- one(cfa(model, data = hs, group = "school", likelihood = "wishart"))
out$wishart_cov <- one(cfa(model, sample.cov = S, sample.nobs = 301, likelihood = "wishart"))
# least squares: GLS and ULS (lavaan's standard test and se = "standard")
fm_ls <- c("chisq", "df", "pvalue", "cfi", "tli", "rmsea", "srmr", "baseline.chisq", "fmin")
one_ls <- function(fit) list(fm = as.list(fitMeasures(fit, fm_ls)), pe = pe(fit))
for (e in c("GLS", "ULS")) {
  out[[paste0(tolower(e), "_single")]] <- one_ls(cfa(model, data = hs, estimator = e))
  out[[paste0(tolower(e), "_groups")]] <- one_ls(cfa(model, data = hs, estimator = e, group = "school"))
  out[[paste0(tolower(e), "_cov")]] <- one_ls(cfa(model, sample.cov = S, sample.nobs = 301, estimator = e))
}
out$meta <- list(lavaan = as.character(packageVersion("lavaan")), R = R.version.string)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, matrix = "rowmajor", na = "null"),
           "sem_moments.json")
