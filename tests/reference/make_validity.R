# Reference values for tests/test_validity.py
# semTools 0.5-6 (AVE, compRelSEM, htmt) on lavaan 0.6-14 CFAs (ML, listwise).
# Run from this directory:  Rscript make_validity.R   -> validity.json
suppressPackageStartupMessages({
  library(lavaan); library(semTools); library(jsonlite)
})

bfi <- read.csv("../data/bfi.csv")
hs <- read.csv("../data/hs1939.csv")
rev_keys <- c("A1", "C4", "C5", "E1", "E2", "O2", "O5")
bfi_rev <- bfi
for (k in rev_keys) bfi_rev[[k]] <- 7 - bfi_rev[[k]]

case <- function(model, data, mapping) {
  fit <- cfa(model, data = data)
  est <- lavInspect(fit, "est")
  list(
    model = model, mapping = mapping,
    factors = colnames(est$lambda), indicators = rownames(est$lambda),
    n_obs = lavInspect(fit, "nobs"),
    lambda = unname(est$lambda), psi = unname(est$psi),
    sample_cov = unname(lavInspect(fit, "sampstat")$cov),
    implied_cov = unname(lavInspect(fit, "fitted")$cov),
    cor_lv = unname(lavInspect(fit, "cor.lv")),
    # mean squared standardised loading per factor (the usual hand computation of AVE)
    ave_std_mean = unname(apply(lavInspect(fit, "std")$lambda, 2,
                                function(l) mean(l[l != 0]^2))),
    ave_obs = unname(AVE(fit)),
    ave_model = unname(AVE(fit, obs.var = FALSE)),
    cr_obs = unname(compRelSEM(fit)),
    cr_model = unname(compRelSEM(fit, obs.var = FALSE)),
    htmt2 = unname(unclass(htmt(model, data = data))),
    htmt_mean = unname(unclass(htmt(model, data = data, htmt2 = FALSE))),
    htmt_mean_signed = unname(unclass(htmt(model, data = data, htmt2 = FALSE,
                                           absolute = FALSE)))
  )
}

hs_map <- list(visual = paste0("x", 1:3), textual = paste0("x", 4:6), speed = paste0("x", 7:9))
bfi_map <- list(agree = paste0("A", 1:5), consc = paste0("C", 1:5), extra = paste0("E", 1:5),
                neuro = paste0("N", 1:5), open = paste0("O", 1:5))
syntax <- function(m) paste(sprintf("%s =~ %s", names(m),
                                    sapply(m, paste, collapse = " + ")), collapse = "\n")

# second-order model: AVE / compRelSEM of the first-order factors use cov.lv
# (the model-implied latent covariances); htmt does not apply to 'g'
second_order <- function() {
  model <- paste(syntax(hs_map), "g =~ visual + textual + speed", sep = "\n")
  fit <- cfa(model, data = hs)
  list(model = model, factors = names(hs_map),
       ave_obs = unname(AVE(fit)[names(hs_map)]),
       cr_obs = unname(compRelSEM(fit)[names(hs_map)]),
       cr_model = unname(compRelSEM(fit, obs.var = FALSE)[names(hs_map)]),
       cor_lv = unname(lavInspect(fit, "cor.lv")[names(hs_map), names(hs_map)]),
       htmt2 = unname(unclass(htmt(syntax(hs_map), data = hs))))
}

# two groups (school): semTools reports AVE / compRelSEM per group
by_school <- function() {
  model <- syntax(hs_map)
  fit <- cfa(model, data = hs, group = "school")
  labs <- lavInspect(fit, "group.label")
  ave <- AVE(fit); cr <- compRelSEM(fit); crm <- compRelSEM(fit, obs.var = FALSE)
  cl <- lavInspect(fit, "cor.lv")
  groups <- lapply(seq_along(labs), function(i) list(
    label = labs[i],
    ave_obs = unname(unlist(ave[i, names(hs_map)])),
    cr_obs = unname(unlist(cr[i, names(hs_map)])),
    cr_model = unname(unlist(crm[i, names(hs_map)])),
    cor_lv = unname(cl[[labs[i]]]),
    htmt2 = unname(unclass(htmt(model, data = hs[hs$school == labs[i], ])))))
  list(model = model, factors = names(hs_map), group = "school", groups = groups)
}

out <- list(
  versions = list(semTools = as.character(packageVersion("semTools")),
                  lavaan = as.character(packageVersion("lavaan"))),
  hs_3f = case(syntax(hs_map), hs, hs_map),
  bfi_5f = case(syntax(bfi_map), bfi_rev, bfi_map),
  # raw (not reverse-keyed) bfi: negative loadings, absolute correlations in HTMT
  bfi_5f_raw = case(syntax(bfi_map), bfi, bfi_map),
  hs_second_order = second_order(),
  hs_by_school = by_school()
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"),
           "validity.json")
