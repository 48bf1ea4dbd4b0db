# Reference values for psychometrics/screening.py (tests/test_screening.py).
# Run from this folder: Rscript make_screening.R  -> screening.json
# psych 2.2.9 (describe, mardia), base R (mahalanobis, Little's MCAR test with a
# base-R EM algorithm), robustbase (covMcd, for a loose comparison of the MCD).
suppressPackageStartupMessages({library(psych); library(jsonlite); library(robustbase)})
bfi <- read.csv("../data/bfi.csv")
hs <- read.csv("../data/hs1939.csv")
items <- bfi[, 2:26]
out <- list(versions = list(psych = as.character(packageVersion("psych")),
                            robustbase = as.character(packageVersion("robustbase")),
                            R = R.version.string))

# describe (type = 3 defaults)
d <- describe(items)
out$describe_bfi <- list(items = rownames(d), n = d$n, mean = d$mean, sd = d$sd,
                         median = d$median, trimmed = d$trimmed, mad = d$mad, min = d$min,
                         max = d$max, range = d$range, skew = d$skew, kurtosis = d$kurtosis,
                         se = d$se)
hsx <- hs[, paste0("x", 1:9)]
d <- describe(hsx)
out$describe_hs <- list(items = rownames(d), n = d$n, mean = d$mean, sd = d$sd,
                        median = d$median, trimmed = d$trimmed, mad = d$mad, skew = d$skew,
                        kurtosis = d$kurtosis, se = d$se)

# mardia
mard <- function(x) {
  m <- mardia(x, plot = FALSE)
  list(n_obs = m$n.obs, n_var = m$n.var, b1p = m$b1p, b2p = m$b2p, skew = m$skew,
       small_skew = m$small.skew, p_skew = m$p.skew, p_small = m$p.small,
       kurtosis = m$kurtosis, p_kurt = m$p.kurt, d_head = head(m$d, 20))
}
out$mardia_bfi <- mard(items)
out$mardia_bfi_A <- mard(bfi[, c("A1", "A2", "A3", "A4", "A5")])
out$mardia_hs <- mard(hsx)

# classical Mahalanobis distances (complete cases)
mh <- function(x, ids) {
  keep <- complete.cases(x)
  x <- as.matrix(x[keep, ])
  list(ids = ids[keep], d2 = unname(mahalanobis(x, colMeans(x), cov(x))),
       cutoff = qchisq(0.999, ncol(x)))
}
out$mahal_hs <- mh(hsx, hs$id)
out$mahal_bfi_A <- mh(bfi[, c("A1", "A2", "A3", "A4", "A5")], bfi$id)

# robust MCD (robustbase::covMcd, reweighted, consistency-corrected); compared loosely
set.seed(1)
mcd <- covMcd(as.matrix(hsx))
out$mcd_hs <- list(d2 = unname(mahalanobis(as.matrix(hsx), mcd$center, mcd$cov)),
                   center = unname(mcd$center))

# Little's (1988) MCAR test: EM (ML) estimates in base R, then the d^2 statistic.
em_mvn <- function(x, tol = 1e-12, maxit = 10000) {
  n <- nrow(x); p <- ncol(x)
  mu <- colMeans(x, na.rm = TRUE)
  S <- diag(apply(x, 2, function(v) mean((v - mean(v, na.rm = TRUE))^2, na.rm = TRUE)))
  obs <- !is.na(x)
  key <- apply(obs, 1, function(r) paste(as.integer(r), collapse = ""))
  pats <- unique(key)
  for (it in 1:maxit) {
    T1 <- numeric(p); T2 <- matrix(0, p, p)
    for (k in pats) {
      rows <- which(key == k)
      o <- obs[rows[1], ]; m <- !o
      xo <- x[rows, o, drop = FALSE]
      xh <- matrix(0, length(rows), p)
      xh[, o] <- xo
      if (any(m)) {
        B <- S[m, o, drop = FALSE] %*% solve(S[o, o, drop = FALSE])
        xh[, m] <- sweep(sweep(xo, 2, mu[o]) %*% t(B), 2, mu[m], "+")
        C <- S[m, m, drop = FALSE] - B %*% S[o, m, drop = FALSE]
        T2[m, m] <- T2[m, m] + length(rows) * C
      }
      T1 <- T1 + colSums(xh)
      T2 <- T2 + crossprod(xh)
    }
    mu1 <- T1 / n; S1 <- T2 / n - tcrossprod(mu1)
    ch <- max(abs(mu1 - mu), abs(S1 - S))
    mu <- mu1; S <- S1
    if (ch < tol) break
  }
  list(mu = mu, S = S, iter = it)
}
little <- function(x) {
  x <- as.matrix(x)
  x <- x[rowSums(!is.na(x)) > 0, , drop = FALSE]
  p <- ncol(x)
  em <- em_mvn(x)
  obs <- !is.na(x)
  key <- apply(obs, 1, function(r) paste(as.integer(r), collapse = ""))
  d2 <- 0; df <- 0
  for (k in unique(key)) {
    rows <- which(key == k); o <- obs[rows[1], ]
    dif <- colMeans(x[rows, o, drop = FALSE]) - em$mu[o]
    d2 <- d2 + length(rows) * drop(t(dif) %*% solve(em$S[o, o, drop = FALSE]) %*% dif)
    df <- df + sum(o)
  }
  df <- df - p
  list(statistic = d2, df = df, pvalue = pchisq(d2, df, lower.tail = FALSE),
       n_patterns = length(unique(key)), n = nrow(x), mu = unname(em$mu),
       cov_diag = unname(diag(em$S)), em_iter = em$iter)
}
out$little_bfi <- little(items)
out$little_bfi_A <- little(bfi[, c("A1", "A2", "A3", "A4", "A5")])
out$little_bfi_NO <- little(bfi[, c(paste0("N", 1:5), paste0("O", 1:5))])

# airquality (R datasets): naniar::mcar_test's own test expects statistic 35.1061288689702,
# df 14, p 0.00141778113856683, 4 patterns (naniar tests/testthat/test-mcar-test.R); the data
# are stored so that the Python test can run without R.
out$airquality <- list(data = lapply(airquality, function(v) ifelse(is.na(v), NA, v)),
                       little = little(airquality))

writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = FALSE, na = "null"), "screening.json")
cat("wrote screening.json\n")
