# Reference values for FIML, MLR and the bootstrap (psychometrics/sem/fiml.py,
# robust.py, bootstrap.py), computed with lavaan 0.6-14.
# Run from this directory:  Rscript make_sem_robust.R   -> sem_robust.json
suppressPackageStartupMessages({library(lavaan); library(jsonlite)})
stopifnot(packageVersion("lavaan") == "0.6.14")

hs  <- read.csv("../data/hs1939.csv")
bfi <- read.csv("../data/bfi.csv")
items <- c(paste0("A", 1:5), paste0("C", 1:5), paste0("E", 1:5), paste0("N", 1:5), paste0("O", 1:5))

hs_model <- "visual =~ x1 + x2 + x3\n textual =~ x4 + x5 + x6\n speed =~ x7 + x8 + x9"
bfi_model <- paste(
  "agree =~ A1 + A2 + A3 + A4 + A5",
  "consc =~ C1 + C2 + C3 + C4 + C5",
  "extra =~ E1 + E2 + E3 + E4 + E5",
  "neuro =~ N1 + N2 + N3 + N4 + N5",
  "open  =~ O1 + O2 + O3 + O4 + O5", sep = "\n")

dump_fit <- function(fit) {
  pe <- parameterEstimates(fit, ci = FALSE)
  if (is.null(pe$group)) pe$group <- 1L
  fm <- fitMeasures(fit)
  list(
    parameters = data.frame(lhs = pe$lhs, op = pe$op, rhs = pe$rhs, group = pe$group,
                            est = pe$est, se = pe$se),
    fit_measures = as.list(setNames(as.numeric(fm), gsub(".", "_", names(fm), fixed = TRUE))),
    group_labels = lavInspect(fit, "group.label"),
    nobs = lavInspect(fit, "nobs"),
    npar = lavInspect(fit, "npar"))
}

out <- list()
out$hs_mlr <- dump_fit(cfa(hs_model, data = hs, estimator = "MLR"))
out$hs_mlr_school <- dump_fit(cfa(hs_model, data = hs, estimator = "MLR", group = "school"))
out$hs_mlr_sex <- dump_fit(cfa(hs_model, data = hs, estimator = "MLR", group = "sex"))
out$hs_mlr_school_metric <- dump_fit(cfa(hs_model, data = hs, estimator = "MLR", group = "school",
                                         group.equal = "loadings"))
out$hs_mlr_fiml <- dump_fit(cfa(hs_model, data = hs, estimator = "MLR", missing = "ml"))

# structural (mediation) model with a defined indirect effect: robust SEs of := parameters
hs_sem <- paste(hs_model, "textual ~ a*visual", "speed ~ b*textual + c*visual",
                "ab := a*b", "total := c + a*b", sep = "\n")
out$hs_sem_mlr <- dump_fit(sem(hs_sem, data = hs, estimator = "MLR"))

bfi_d <- bfi[, c(items, "gender")]
out$bfi_ml_fiml <- dump_fit(cfa(bfi_model, data = bfi_d, missing = "ml"))
out$bfi_mlr <- dump_fit(cfa(bfi_model, data = bfi_d, estimator = "MLR"))
out$bfi_mlr_fiml <- dump_fit(cfa(bfi_model, data = bfi_d, estimator = "MLR", missing = "ml"))
out$bfi_mlr_gender <- dump_fit(cfa(bfi_model, data = bfi_d, estimator = "MLR", group = "gender"))
out$bfi_mlr_fiml_gender <- dump_fit(cfa(bfi_model, data = bfi_d, estimator = "MLR",
                                        missing = "ml", group = "gender"))

# Moment level: the EM estimate of the saturated (h1) model and the observed-data
# log-likelihood of the 25 bfi items (lav_mvnorm_missing_h1_estimate_moments).
Y <- as.matrix(bfi[, items])
h1 <- lavaan:::lav_mvnorm_missing_h1_estimate_moments(Y = Y)
ll_h1 <- lavaan:::lav_mvnorm_missing_loglik_data(Y = Y, Mu = h1$Mu, Sigma = h1$Sigma)
# loglik, casewise scores and observed information at a fixed non-saturated point
Mu0 <- colMeans(Y, na.rm = TRUE)
Sigma0 <- 0.5 * diag(diag(h1$Sigma)) + 0.5 * h1$Sigma
ll0 <- lavaan:::lav_mvnorm_missing_loglik_data(Y = Y, Mu = Mu0, Sigma = Sigma0)
sc0 <- lavaan:::lav_mvnorm_missing_scores_mu_vech_sigma(Y = Y, Mu = Mu0, Sigma = Sigma0)
Yp <- lavaan:::lav_samplestats_missing_patterns(Y = Y, Mp = lavaan:::lav_data_missing_patterns(Y))
info0 <- lavaan:::lav_mvnorm_missing_information_observed_samplestats(Yp = Yp, Mu = Mu0, Sigma = Sigma0)
out$moments <- list(
  h1_mu = as.numeric(h1$Mu), h1_sigma = h1$Sigma, h1_logl = ll_h1,
  mu0 = Mu0, sigma0 = Sigma0, logl0 = ll0,
  scores0_rows = sc0[c(1, 2, 3, 100, 2800), ],
  info0_diag = diag(info0), info0_first_col = info0[, 1], info0_col40 = info0[, 40])

# Bootstrap: lavaan's nonparametric bootstrap SEs of the HS model (1000 draws)
set.seed(20261122)
fit_b <- cfa(hs_model, data = hs, se = "bootstrap", bootstrap = 1000)
peb <- parameterEstimates(fit_b, ci = TRUE, boot.ci.type = "perc")
out$hs_boot <- list(lhs = peb$lhs, op = peb$op, rhs = peb$rhs, est = peb$est, se = peb$se,
                    R = 1000)

# CI formulas of parameterEstimates(boot.ci.type = "perc" / "bca.simple") on fixed draws
norm_inter <- get("norm.inter", envir = asNamespace("boot"))
t_fixed <- sin(1:199) * 3 + (1:199) / 50
t0 <- 1.1
bca_simple <- function(t, t0, level) {
  zalpha <- qnorm((1 + c(-level, level)) / 2)
  w <- qnorm(sum(t < t0) / length(t))
  norm_inter(t, pnorm(w + (w + zalpha)))[, 2]
}
out$ci_formulas <- list(
  t = t_fixed, t0 = t0,
  perc95 = norm_inter(t_fixed, (1 + c(-0.95, 0.95)) / 2)[, 2],
  perc90 = norm_inter(t_fixed, (1 + c(-0.90, 0.90)) / 2)[, 2],
  perc95_200 = norm_inter(c(t_fixed, 7), (1 + c(-0.95, 0.95)) / 2)[, 2],
  bca95 = bca_simple(t_fixed, t0, 0.95), bca90 = bca_simple(t_fixed, t0, 0.90))

writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, matrix = "rowmajor"), "sem_robust.json")
