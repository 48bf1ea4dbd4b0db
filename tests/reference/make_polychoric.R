# Reference values for tests/test_polychoric.py
# psych 2.2.9 (polychoric, alpha), lavaan 0.6-14 (lavCor(ordered=), WLSMV sample statistics).
# Run from this directory:  Rscript make_polychoric.R   -> polychoric.json
suppressPackageStartupMessages({
  library(psych); library(lavaan); library(jsonlite)
})

bfi <- read.csv("../data/bfi.csv")
study <- read.csv("../../examples/data.csv")
items25 <- c(paste0("A", 1:5), paste0("C", 1:5), paste0("E", 1:5),
             paste0("N", 1:5), paste0("O", 1:5))
csq <- paste0("csq_", 1:8)
for (v in csq) study[[v]][study[[v]] == -9] <- NA   # the example study's missing code

out <- list(versions = list(psych = as.character(packageVersion("psych")),
                            lavaan = as.character(packageVersion("lavaan"))))

mat <- function(m) unname(lapply(seq_len(nrow(m)), function(i) unname(as.numeric(m[i, ]))))

# psych::polychoric with its defaults (pairwise, global thresholds, correct = .5, smooth = TRUE)
psych_case <- function(x, ...) {
  p <- suppressWarnings(suppressMessages(psych::polychoric(x, ...)))
  list(items = colnames(x), rho = mat(p$rho), tau = mat(p$tau), n_obs = p$n.obs)
}

# lavCor(ordered = TRUE): thresholds and polychoric matrix, listwise (default) or pairwise
lavcor_case <- function(x, missing = "listwise", ordered = colnames(x)) {
  fit <- lavCor(x, ordered = ordered, missing = missing, output = "fit")
  ss <- lavInspect(fit, "sampstat")
  list(items = colnames(x), missing = missing, ordered = ordered,
       rho = mat(cov2cor(unclass(ss$cov))),
       th = unname(as.numeric(ss$th)), th_names = names(ss$th),
       nobs = lavInspect(fit, "nobs"))
}

# a WLSMV fit: sample statistics, Gamma (NACOV) and the DWLS weight matrix, per group
wlsmv_case <- function(model, x, items, group = NULL, missing = "listwise") {
  fit <- cfa(model, data = x, ordered = items, estimator = "WLSMV", group = group,
             missing = missing)
  ss <- lavInspect(fit, "sampstat"); ga <- lavInspect(fit, "gamma"); wv <- lavInspect(fit, "wls.v")
  wo <- lavInspect(fit, "wls.obs")
  if (is.null(group)) { ss <- list(ss); ga <- list(ga); wv <- list(wv); wo <- list(wo) }
  groups <- lapply(seq_along(ss), function(g) {
    ov <- rownames(ss[[g]]$cov)
    list(ov_names = ov, th = unname(as.numeric(ss[[g]]$th)), th_names = names(ss[[g]]$th),
         mean = if (is.null(ss[[g]]$mean)) NULL else unname(as.numeric(ss[[g]]$mean)),
         wls_obs = unname(as.numeric(wo[[g]])),
         cor = mat(unclass(ss[[g]]$cov)), gamma = mat(unclass(ga[[g]])),
         wls_v_diag = unname(diag(wv[[g]])))
  })
  list(model = model, group = if (is.null(group)) NULL else group, missing = missing,
       group_labels = lavInspect(fit, "group.label"),
       nobs = unname(unlist(lavInspect(fit, "nobs"))), groups = groups)
}

t0 <- proc.time()[["elapsed"]]
out$psych_bfi <- psych_case(bfi[, items25])
out$psych_bfi_seconds <- proc.time()[["elapsed"]] - t0
out$psych_bfi_male <- psych_case(bfi[bfi$gender == 1, items25])
out$psych_bfi_female <- psych_case(bfi[bfi$gender == 2, items25])
# a small sample whose pairwise matrix is not positive definite -> psych smooths it
out$psych_bfi_small <- psych_case(bfi[1:60, items25])
# unequal numbers of categories -> psych sets global = FALSE and applies correct = .5 per table
bfi_c <- bfi[bfi$gender == 1, paste0("A", 1:5)]
bfi_c$A1 <- pmin(bfi_c$A1, 4)
out$psych_bfi_collapsed <- psych_case(bfi_c)
out$psych_bfi_collapsed_nocorrect <- psych_case(bfi_c, correct = 0)
out$psych_csq <- psych_case(study[, csq])

out$lavcor_bfi_listwise <- lavcor_case(bfi[, items25])
out$lavcor_bfi_pairwise <- lavcor_case(bfi[, items25], "pairwise")
out$lavcor_csq_listwise <- lavcor_case(study[, csq])
out$lavcor_csq_pairwise <- lavcor_case(study[, csq], "pairwise")
# mixed: ordered A1-A5 with continuous C1-C5 -> polyserial correlations
out$lavcor_mixed_listwise <- lavcor_case(bfi[, c(paste0("A", 1:5), paste0("C", 1:5))],
                                         ordered = paste0("A", 1:5))
out$lavcor_mixed_pairwise <- lavcor_case(bfi[, c(paste0("A", 1:5), paste0("C", 1:5))], "pairwise",
                                         ordered = paste0("A", 1:5))

# binary items with empty cells in 2 x 2 tables (lavaan's zero.add = c(0.5, 0) rule)
b <- bfi[1:60, ]
bin <- data.frame(b1 = as.numeric(b$A1 >= 5), b2 = as.numeric(b$A2 >= 6), b3 = as.numeric(b$C1 >= 6),
                  b4 = as.numeric(b$E1 >= 6), b5 = as.numeric(b$N1 >= 6))
out$lavcor_binary_listwise <- lavcor_case(bin)
out$psych_binary <- psych_case(bin, smooth = FALSE)

m_bfi <- "A =~ A1 + A2 + A3 + A4 + A5\n C =~ C1 + C2 + C3 + C4 + C5"
ab <- c(paste0("A", 1:5), paste0("C", 1:5))
out$wlsmv_bfi <- wlsmv_case(m_bfi, bfi, ab)
out$wlsmv_bfi_gender <- wlsmv_case(m_bfi, bfi, ab, group = "gender")
out$wlsmv_bfi_pairwise <- wlsmv_case(m_bfi, bfi, ab, missing = "pairwise")
out$wlsmv_bfi_gender_pairwise <- wlsmv_case(m_bfi, bfi, ab, group = "gender", missing = "pairwise")
# mixed ordered (A1-A5) and continuous (C1-C5, treated as numeric) indicators: polyserial
# correlations, means and variances in the sample statistics (lavaan's muthen1984 mixed case)
m_mix <- "C =~ C1 + C2 + C3 + C4 + C5\n A =~ A1 + A2 + A3 + A4 + A5"
out$wlsmv_mixed <- wlsmv_case(m_mix, bfi, paste0("A", 1:5))
out$wlsmv_mixed_pairwise <- wlsmv_case(m_mix, bfi, paste0("A", 1:5), missing = "pairwise")
m_csq <- paste("S =~", paste(csq, collapse = " + "))
out$wlsmv_csq <- wlsmv_case(m_csq, study, csq)
out$wlsmv_csq_gender <- wlsmv_case(m_csq, study, csq, group = "gender")

# ordinal alpha (Zumbo, Gadermann & Zeisser 2007): psych::alpha of the polychoric matrix
ord_alpha <- function(x) {
  r <- suppressWarnings(suppressMessages(psych::polychoric(x)))$rho
  a <- suppressWarnings(psych::alpha(r))
  list(items = colnames(x), raw_alpha = a$total$raw_alpha, std_alpha = a$total$std.alpha,
       average_r = a$total$average_r,
       alpha_if_deleted = unname(a$alpha.drop$raw_alpha), std_r = unname(a$item.stats$std.r),
       r_drop = unname(a$item.stats$r.drop))
}
out$ordinal_alpha_csq <- ord_alpha(study[, csq])
out$ordinal_alpha_bfi_n <- ord_alpha(bfi[, paste0("N", 1:5)])

writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", pretty = FALSE),
           "polychoric.json")
cat("psych::polychoric bfi seconds:", out$psych_bfi_seconds, "\n")
