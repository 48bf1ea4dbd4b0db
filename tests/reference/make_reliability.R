# Reference values for tests/test_reliability.py
# psych 2.2.9 (alpha, omega), semTools 0.5-6 (compRelSEM), lavaan 0.6-14.
# Run from this directory:  Rscript make_reliability.R   -> reliability.json
suppressPackageStartupMessages({
  library(psych); library(lavaan); library(semTools); library(jsonlite)
})

bfi <- read.csv("../data/bfi.csv")
hs <- read.csv("../data/hs1939.csv")
items25 <- c(paste0("A", 1:5), paste0("C", 1:5), paste0("E", 1:5),
             paste0("N", 1:5), paste0("O", 1:5))
rev_keys <- c("A1", "C4", "C5", "E1", "E2", "O2", "O5")

out <- list(versions = list(psych = as.character(packageVersion("psych")),
                            semTools = as.character(packageVersion("semTools")),
                            lavaan = as.character(packageVersion("lavaan")),
                            GPArotation = as.character(packageVersion("GPArotation"))))

alpha_case <- function(x, keys = NULL) {
  a <- suppressWarnings(if (is.null(keys)) psych::alpha(x) else psych::alpha(x, keys = keys))
  tot <- a$total
  list(
    items = colnames(x), keys = if (is.null(keys)) list() else keys,
    n_obs = nrow(x),
    raw_alpha = tot$raw_alpha, std_alpha = tot$std.alpha, G6 = tot[["G6(smc)"]],
    average_r = tot$average_r, s_n = tot[["S/N"]], ase = tot$ase,
    mean = tot$mean, sd = tot$sd, median_r = tot$median_r,
    feldt_lower = a$feldt$lower.ci[[1]], feldt_upper = a$feldt$upper.ci[[1]],
    item_n = unname(a$item.stats$n),
    raw_r = unname(a$item.stats$raw.r), std_r = unname(a$item.stats$std.r),
    r_cor = unname(a$item.stats$r.cor), r_drop = unname(a$item.stats$r.drop),
    item_mean = unname(a$item.stats$mean), item_sd = unname(a$item.stats$sd),
    drop_raw_alpha = unname(a$alpha.drop$raw_alpha),
    drop_std_alpha = unname(a$alpha.drop$std.alpha),
    drop_G6 = unname(a$alpha.drop[["G6(smc)"]]),
    drop_average_r = unname(a$alpha.drop$average_r),
    drop_alpha_se = unname(a$alpha.drop[["alpha se"]]),
    drop_var_r = unname(a$alpha.drop$var.r),
    drop_med_r = unname(a$alpha.drop$med.r)
  )
}

out$alpha <- list(
  bfi_A = alpha_case(bfi[, paste0("A", 1:5)]),
  bfi_A_keyed = alpha_case(bfi[, paste0("A", 1:5)], keys = c("A1")),
  bfi_C = alpha_case(bfi[, paste0("C", 1:5)], keys = c("C4", "C5")),
  bfi_25_keyed = alpha_case(bfi[, items25], keys = rev_keys),
  hs_x1_x9 = alpha_case(hs[, paste0("x", 1:9)]),
  bfi_two_items = alpha_case(bfi[, c("A2", "A3")])
)

omega_case <- function(x, nf, key = NULL) {
  o <- suppressWarnings(suppressMessages(psych::omega(x, nfactors = nf, plot = FALSE, key = key)))
  sl <- o$schmid$sl
  res <- list(items = colnames(x), n_groups = nf, keys = if (is.null(key)) list() else key,
              omega_h = o$omega_h, omega_tot = o$omega.tot, alpha = o$alpha,
              G6 = o$G6, omega_lim = o$omega.lim, ECV = unname(o$ECV),
              key = unname(o$key),
              g_loadings = unname(sl[, 1]), h2 = unname(sl[, "h2"]), u2 = unname(sl[, "u2"]))
  if (nf > 1) {
    res$group_total <- unname(o$omega.group$total)
    res$group_general <- unname(o$omega.group$general)
    res$group_group <- unname(o$omega.group$group)
  }
  res
}

out$omega <- list(
  bfi_25_5 = omega_case(bfi[, items25], 5),
  hs_3 = omega_case(hs[, paste0("x", 1:9)], 3),
  bfi_AC_2 = omega_case(bfi[, c(paste0("A", 1:5), paste0("C", 1:5))], 2),
  bfi_C_1 = omega_case(bfi[, paste0("C", 1:5)], 1),
  bfi_N_1 = omega_case(bfi[, paste0("N", 1:5)], 1),
  # psych's key= reverses items and switches the automatic sign flip off
  bfi_A_1_keyed = omega_case(bfi[, paste0("A", 1:5)], 1, key = c(-1, 1, 1, 1, 1)),
  bfi_AC_2_keyed = omega_case(bfi[, c(paste0("A", 1:5), paste0("C", 1:5))], 2,
                              key = c(-1, 1, 1, 1, 1, 1, 1, 1, -1, -1))
)

# compRelSEM on one-factor and multi-factor CFAs (ML, listwise).  The lavaan
# estimates are stored too, so the formula can be tested independently of the
# SEM engine.
crs_case <- function(model, data, missing = "listwise", higher = character(0)) {
  fit <- cfa(model, data = data, missing = missing)
  est <- lavInspect(fit, "est")
  multi <- ncol(est$lambda) > 1
  list(model = model, higher = higher,
       total_obs = if (multi) compRelSEM(fit, return.total = TRUE)[["total"]] else NULL,
       total_model = if (multi) compRelSEM(fit, obs.var = FALSE, return.total = TRUE)[["total"]] else NULL,
       higher_obs = if (length(higher)) unname(compRelSEM(fit, higher = higher)[higher]) else NULL,
       higher_model = if (length(higher)) unname(compRelSEM(fit, higher = higher, obs.var = FALSE)[higher]) else NULL,
       factors = colnames(est$lambda), indicators = rownames(est$lambda),
       lambda = unname(est$lambda), psi = unname(est$psi),
       sample_cov = unname(lavInspect(fit, "sampstat")$cov),
       implied_cov = unname(lavInspect(fit, "fitted")$cov),
       omega_obs = unname(compRelSEM(fit, obs.var = TRUE)),
       omega_model = unname(compRelSEM(fit, obs.var = FALSE)),
       alpha_tau_eq = unname(compRelSEM(fit, tau.eq = TRUE)),
       missing = missing, n_obs = lavInspect(fit, "nobs"))
}

bfi_rev <- bfi
for (k in rev_keys) bfi_rev[[k]] <- 7 - bfi_rev[[k]]

out$comp_rel_sem <- list(
  bfi_C_1f = crs_case("C =~ C1 + C2 + C3 + C4 + C5", bfi_rev),
  bfi_N_1f = crs_case("N =~ N1 + N2 + N3 + N4 + N5", bfi),
  bfi_N_1f_fiml = crs_case("N =~ N1 + N2 + N3 + N4 + N5", bfi, missing = "ml"),
  hs_3f = crs_case("visual =~ x1 + x2 + x3\n textual =~ x4 + x5 + x6\n speed =~ x7 + x8 + x9", hs),
  hs_second_order = crs_case(paste("visual =~ x1 + x2 + x3\n textual =~ x4 + x5 + x6",
                                   "speed =~ x7 + x8 + x9\n g =~ visual + textual + speed", sep = "\n"),
                             hs, higher = "g")
)

writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"),
           "reliability.json")
