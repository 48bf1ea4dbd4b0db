# Reference values for tests/test_invariance.py
# lavaan 0.6-14 (cfa with group.equal / group.partial, fitMeasures, lavTestLRT,
# lavTestScore), semTools 0.5-6 (compareFit).
# Run from this directory:  Rscript make_invariance.R   -> invariance.json
suppressPackageStartupMessages({
  library(lavaan); library(semTools); library(jsonlite)
})

bfi <- read.csv("../data/bfi.csv")
hs <- read.csv("../data/hs1939.csv")

HS_MODEL <- "visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed =~ x7 + x8 + x9"
BFI_MODEL <- "neuro =~ N1 + N2 + N3 + N4 + N5
consc =~ C1 + C2 + C3 + C4 + C5"

# level name (psychometrics) -> lavaan group.equal token, cumulative
LEVELS <- c(configural = NA, metric = "loadings", scalar = "intercepts",
            strict = "residuals", lv_variances = "lv.variances",
            lv_covariances = "lv.covariances", means = "means")

FM <- c("npar", "chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea.ci.lower",
        "rmsea.ci.upper", "rmsea.pvalue", "srmr", "aic", "bic", "logl",
        "baseline.chisq", "baseline.df")
FM_ROBUST <- c("chisq.scaled", "df.scaled", "pvalue.scaled", "chisq.scaling.factor",
               "cfi.scaled", "tli.scaled", "rmsea.scaled", "cfi.robust", "tli.robust",
               "rmsea.robust")

fm_list <- function(fit, robust) {
  keys <- if (robust) c(FM, FM_ROBUST) else FM
  v <- fitMeasures(fit, keys)
  out <- as.list(unname(v))
  names(out) <- gsub(".", "_", keys, fixed = TRUE)
  out
}

fit_level <- function(model, data, group, level_idx, estimator, missing, partial = character()) {
  ge <- unname(LEVELS[seq_len(level_idx)])
  ge <- ge[!is.na(ge)]
  args <- list(model = model, data = data, group = group, estimator = estimator,
               missing = missing, meanstructure = TRUE)
  if (length(ge)) args$group.equal <- ge
  if (length(partial)) args$group.partial <- partial
  do.call("cfa", args)
}

# map lavTestScore rows (".p2. == .p38.") to parameters
constraint_params <- function(fit, lhs, rhs) {
  pt <- parTable(fit)
  glab <- lavInspect(fit, "group.label")
  one <- function(pl) {
    i <- which(pt$plabel == pl)
    list(lhs = pt$lhs[i], op = pt$op[i], rhs = pt$rhs[i], group = glab[pt$group[i]])
  }
  lapply(seq_along(lhs), function(k) list(left = one(lhs[k]), right = one(rhs[k])))
}

score_tests <- function(fit) {
  st <- lavTestScore(fit, univariate = TRUE, cumulative = TRUE, epc = TRUE, warn = FALSE)
  pt <- parTable(fit)
  glab <- lavInspect(fit, "group.label")
  epc <- st$epc
  free_idx <- which(pt$free > 0)
  list(
    total = list(X2 = st$test$X2, df = st$test$df, pvalue = st$test$p.value),
    uni = list(constraint = paste(st$uni$lhs, "==", st$uni$rhs),
               params = constraint_params(fit, st$uni$lhs, st$uni$rhs),
               X2 = st$uni$X2, pvalue = st$uni$p.value),
    cumulative = list(constraint = paste(st$cumulative$lhs, "==", st$cumulative$rhs),
                      params = constraint_params(fit, st$cumulative$lhs, st$cumulative$rhs),
                      X2 = st$cumulative$X2, df = st$cumulative$df),
    epc = list(lhs = pt$lhs[free_idx], op = pt$op[free_idx], rhs = pt$rhs[free_idx],
               group = glab[pt$group[free_idx]], epc = epc$epc[epc$free > 0])
  )
}

params_list <- function(fit) {
  pe <- parameterEstimates(fit)
  glab <- lavInspect(fit, "group.label")
  pe <- pe[pe$op %in% c("=~", "~~", "~1"), ]
  list(lhs = pe$lhs, op = pe$op, rhs = pe$rhs, group = glab[pe$group],
       est = pe$est, se = pe$se)
}

# latent means / variances of every group against the reference (first) group,
# from a (partial) scalar fit: the reference group's means are fixed at 0.
latent_compare <- function(fit) {
  pe <- parameterEstimates(fit)
  glab <- lavInspect(fit, "group.label")
  nobs <- lavInspect(fit, "nobs")
  lvs <- lavNames(fit, "lv")
  pt <- parTable(fit)
  V <- lavInspect(fit, "vcov")
  stopifnot(nrow(V) == max(pt$free))
  rows <- list()
  for (f in lvs) {
    psi_ref <- pe$est[pe$lhs == f & pe$op == "~~" & pe$rhs == f & pe$group == 1]
    for (g in seq_along(glab)[-1]) {
      r <- pe[pe$lhs == f & pe$op == "~1" & pe$group == g, ]
      psi_g <- pe$est[pe$lhs == f & pe$op == "~~" & pe$rhs == f & pe$group == g]
      pooled <- (nobs[1] * psi_ref + nobs[g] * psi_g) / (nobs[1] + nobs[g])
      i <- pt$free[pt$lhs == f & pt$op == "~~" & pt$rhs == f & pt$group == 1]
      j <- pt$free[pt$lhs == f & pt$op == "~~" & pt$rhs == f & pt$group == g]
      vd_se <- sqrt(V[i, i] + V[j, j] - 2 * V[i, j])
      vd <- psi_g - psi_ref
      rows[[length(rows) + 1]] <- list(factor = f, group = glab[g], reference = glab[1],
        mean_diff = r$est, se = r$se, z = r$z, pvalue = r$pvalue,
        d = r$est / sqrt(pooled), var_ref = psi_ref, var_group = psi_g,
        var_ratio = psi_g / psi_ref, var_diff = vd, var_diff_se = vd_se,
        var_diff_z = vd / vd_se, var_diff_pvalue = 2 * pnorm(-abs(vd / vd_se)))
    }
  }
  rows
}

# Chen (2007) decision as in psychometrics.invariance (default rule)
chen_ok <- function(prev, cur, level) {
  d_cfi <- cur$cfi - prev$cfi
  d_rmsea <- cur$rmsea - prev$rmsea
  d_srmr <- cur$srmr - prev$srmr
  srmr_cut <- if (level == "metric") 0.030 else 0.015
  (d_cfi >= -0.010) && (d_rmsea <= 0.015) && (d_srmr <= srmr_cut)
}

run_case <- function(name, model, data, group, estimator = "ML", missing = "listwise",
                     levels = c("configural", "metric", "scalar", "strict"),
                     score_levels = character(), search = FALSE) {
  robust <- estimator == "MLR"
  fits <- list()
  out_levels <- list()
  for (lv in levels) {
    fits[[lv]] <- fit_level(model, data, group, match(lv, names(LEVELS)), estimator, missing)
  }
  for (k in seq_along(levels)) {
    lv <- levels[k]
    fit <- fits[[lv]]
    entry <- list(level = lv, fit = fm_list(fit, robust),
                  nobs = as.list(lavInspect(fit, "nobs")))
    if (k > 1) {
      lrt <- lavTestLRT(fit, fits[[levels[k - 1]]])
      entry$chisq_diff <- lrt[["Chisq diff"]][2]
      entry$df_diff <- lrt[["Df diff"]][2]
      entry$p_diff <- lrt[["Pr(>Chisq)"]][2]
      if (robust) {
        lrt2 <- lavTestLRT(fit, fits[[levels[k - 1]]], method = "satorra.bentler.2001")
        entry$chisq_diff_sb2001 <- lrt2[["Chisq diff"]][2]
      }
    }
    if (lv %in% score_levels) entry$score <- score_tests(fit)
    if (lv %in% c("scalar")) entry$latent <- latent_compare(fit)  # robust SEs with MLR
    entry$parameters <- params_list(fit)
    out_levels[[k]] <- entry
  }
  res <- list(model = model, group = group, estimator = estimator, missing = missing,
              group_labels = lavInspect(fits[[1]], "group.label"),
              ntotal = lavInspect(fits[[1]], "ntotal"), levels = out_levels)
  if (search) res$search <- partial_search(model, data, group, estimator, missing, levels, fits)
  res
}

# Partial-invariance search (the algorithm psychometrics.invariance implements):
# when a measurement step fails the default rule against the previous accepted model,
# rank that step's equality constraints by lavTestScore, release (group.partial) the
# parameter with the largest statistic, refit; repeat until the step holds.
partial_search <- function(model, data, group, estimator, missing, levels, fits) {
  ops <- c(metric = "=~", scalar = "~1", strict = "~~")
  prev <- fm_list(fits[["configural"]], FALSE)
  partial <- character()
  steps <- list()
  for (lv in levels[-1]) {
    fit <- fit_level(model, data, group, match(lv, names(LEVELS)), estimator, missing, partial)
    cur <- fm_list(fit, FALSE)
    iter <- 0
    while (!chen_ok(prev, cur, lv) && lv %in% names(ops) && iter < 10) {
      iter <- iter + 1
      st <- lavTestScore(fit, warn = FALSE)
      prm <- constraint_params(fit, st$uni$lhs, st$uni$rhs)
      keep <- which(sapply(prm, function(p) p$left$op == ops[[lv]] &&
                             !(lv == "strict" && p$left$lhs != p$left$rhs)))
      best <- keep[which.max(st$uni$X2[keep])]
      p <- prm[[best]]$left
      lab <- paste0(p$lhs, if (p$op == "~1") "~1" else paste0(p$op, p$rhs))
      partial <- c(partial, lab)
      steps[[length(steps) + 1]] <- list(level = lv, released = lab, lhs = p$lhs, op = p$op,
                                         rhs = if (p$op == "~1") "" else p$rhs,
                                         X2 = st$uni$X2[best])
      fit <- fit_level(model, data, group, match(lv, names(LEVELS)), estimator, missing, partial)
      cur <- fm_list(fit, FALSE)
    }
    final <- list(level = lv, final = fm_list(fit, FALSE),
                  partial = I(partial), holds = chen_ok(prev, cur, lv))
    if (lv == "scalar") final$latent <- latent_compare(fit)
    steps[[length(steps) + 1]] <- final
    prev <- cur
  }
  steps
}

out <- list(versions = list(lavaan = as.character(packageVersion("lavaan")),
                            semTools = as.character(packageVersion("semTools"))))

all_levels <- names(LEVELS)
out$hs_sex_ml <- run_case("hs_sex_ml", HS_MODEL, hs, "sex", levels = all_levels,
                          score_levels = c("metric", "scalar"))
out$hs_school_ml <- run_case("hs_school_ml", HS_MODEL, hs, "school",
                             score_levels = c("metric", "scalar", "strict"), search = TRUE)
out$hs_sex_mlr <- run_case("hs_sex_mlr", HS_MODEL, hs, "sex", estimator = "MLR")
out$hs_school_mlr <- run_case("hs_school_mlr", HS_MODEL, hs, "school", estimator = "MLR")
out$bfi_gender_ml <- run_case("bfi_gender_ml", BFI_MODEL, bfi, "gender",
                              score_levels = c("scalar"), search = TRUE)
out$bfi_gender_mlr_fiml <- run_case("bfi_gender_mlr_fiml", BFI_MODEL, bfi, "gender",
                                    estimator = "MLR", missing = "ml",
                                    levels = c("configural", "metric", "scalar"))
# a five-instrument measurement model (the 25 bfi items), as a study's full model
BFI5_MODEL <- "agree =~ A1 + A2 + A3 + A4 + A5
consc =~ C1 + C2 + C3 + C4 + C5
extra =~ E1 + E2 + E3 + E4 + E5
neuro =~ N1 + N2 + N3 + N4 + N5
open =~ O1 + O2 + O3 + O4 + O5"
out$bfi5_gender_ml <- run_case("bfi5_gender_ml", BFI5_MODEL, bfi, "gender",
                               levels = c("configural", "metric", "scalar"),
                               score_levels = c("scalar"), search = TRUE)
out$bfi_education_ml <- run_case("bfi_education_ml", BFI_MODEL, bfi, "education",
                                 levels = c("configural", "metric", "scalar"),
                                 score_levels = c("scalar"))
# joint score test of releasing the 4 constraints of one intercept (5 groups)
fit_ed <- fit_level(BFI_MODEL, bfi, "education", 3, "ML", "listwise")
st_ed <- lavTestScore(fit_ed, warn = FALSE)
prm_ed <- constraint_params(fit_ed, st_ed$uni$lhs, st_ed$uni$rhs)
idx_n1 <- which(sapply(prm_ed, function(p) p$left$op == "~1" && p$left$lhs == "N1"))
joint <- lavTestScore(fit_ed, release = idx_n1, univariate = FALSE, warn = FALSE)
out$bfi_education_ml$joint_N1_intercept <- list(X2 = joint$test$X2, df = joint$test$df)
# raw ingredients of lavTestScore on HS by school (scalar), to check the numerical
# core (psychometrics.sem.score_test.score_statistics) independently of the engine
fit_sc <- fit_level(HS_MODEL, hs, "school", 3, "ML", "listwise")
out$score_core <- list(
  score = as.numeric(lavTech(fit_sc, "gradient.logl")),
  information = unname(lavTech(fit_sc, "information.expected")),
  R = unname(fit_sc@Model@con.jac),
  n = lavInspect(fit_sc, "ntotal"),
  total = lavTestScore(fit_sc, warn = FALSE)$test$X2,
  uni = lavTestScore(fit_sc, warn = FALSE)$uni$X2,
  cumulative = lavTestScore(fit_sc, cumulative = TRUE, warn = FALSE)$cumulative$X2,
  epc = { e <- lavTestScore(fit_sc, epc = TRUE, warn = FALSE)$epc; e$epc[e$free > 0] },
  release_1_2 = lavTestScore(fit_sc, release = c(1, 2), univariate = FALSE, warn = FALSE)$test$X2)
# score tests on an ML + FIML fit (lavaan: expected information of the FIML model)
fit_fiml <- fit_level(BFI_MODEL, bfi, "gender", 3, "ML", "ml")
out$bfi_gender_fiml_score <- score_tests(fit_fiml)
out$bfi_education_ml$n_dropped_group_missing <- sum(is.na(bfi$education))

# semTools compareFit on HS by sex (nested differences, same numbers as lavTestLRT)
cf <- compareFit(configural = out_fit <- fit_level(HS_MODEL, hs, "sex", 1, "ML", "listwise"),
                 metric = fit_level(HS_MODEL, hs, "sex", 2, "ML", "listwise"),
                 scalar = fit_level(HS_MODEL, hs, "sex", 3, "ML", "listwise"),
                 strict = fit_level(HS_MODEL, hs, "sex", 4, "ML", "listwise"))
fd <- cf@fit.diff
out$hs_sex_ml$semtools_fit_diff <- list(rows = rownames(fd),
                                        cfi = fd[, "cfi"], rmsea = fd[, "rmsea"],
                                        srmr = fd[, "srmr"])

writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = FALSE),
           "invariance.json")
cat("wrote invariance.json\n")
