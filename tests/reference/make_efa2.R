# Reference values for the rotations, principal components, factor scores, correlation-matrix
# input and congruence of psychometrics/efa/ (tests/test_efa_rotations.py).
# psych 2.2.9, GPArotation 2022.10-2 (Debian: r-cran-psych r-cran-gparotation r-cran-jsonlite).
# Run from tests/reference:  Rscript make_efa2.R   Writes efa2.json.
#
# Rotations start from the identity (GPArotation's default Tmat = diag(k), the start psych::fa
# uses with n.rotations = 1), from the unrotated minres loadings stored here as `unrotated`, so
# the Python tests rotate exactly the same matrix.
suppressPackageStartupMessages({library(psych); library(GPArotation); library(jsonlite)})

bfi <- read.csv("../data/bfi.csv")
bfi_items <- bfi[, c(paste0("A", 1:5), paste0("C", 1:5), paste0("E", 1:5),
                     paste0("N", 1:5), paste0("O", 1:5))]
hs <- read.csv("../data/hs1939.csv")
hsx <- hs[, paste0("x", 1:9)]

mat <- function(m) { m <- unclass(as.matrix(m)); dimnames(m) <- NULL; m }
nz <- function(v) if (is.null(v)) NA else unname(v)

# independent-clusters targets (1 = the item's own factor, 0 elsewhere)
cluster_target <- function(p, sizes) {
  k <- length(sizes); t <- matrix(0, p, k); i <- 0
  for (j in 1:k) { t[(i + 1):(i + sizes[j]), j] <- 1; i <- i + sizes[j] }
  t
}

gpa_set <- function(L0, target) {
  p <- nrow(L0); k <- ncol(L0)
  W <- 1 * (target == 0)                       # pst: only the zeros are specified
  ptarget <- target; ptarget[W == 0] <- NA     # as the user gives it: NA = unspecified
  one <- function(r) list(loadings = mat(r$loadings),
                          phi = if (is.null(r$Phi)) diag(k) else mat(r$Phi),
                          f = tail(r$Table[, 2], 1), converged = r$convergence)
  list(
    quartimax = one(quartimax(L0)),
    equamax = one(cfT(L0, kappa = k / (2 * p))),        # psych::equamax
    bentlerT = one(bentlerT(L0)), bentlerQ = one(bentlerQ(L0)),
    geominT = one(geominT(L0)), geominQ = one(geominQ(L0)),
    geominQ_delta05 = one(geominQ(L0, delta = 0.05)), geominT_delta05 = one(geominT(L0, delta = 0.05)),
    oblimin = one(oblimin(L0)), oblimin_gamma05 = one(oblimin(L0, gam = 0.5)),
    oblimin_gamma_m1 = one(oblimin(L0, gam = -1)),
    oblimax = one(GPFoblq(L0, method = "oblimax")),
    simplimax = one(simplimax(L0)),
    targetT = one(targetT(L0, Target = target)), targetQ = one(targetQ(L0, Target = target)),
    targetQ_na = one(targetQ(L0, Target = ptarget)),
    pstT = one(pstT(L0, W = W, Target = target)), pstQ = one(pstQ(L0, W = W, Target = target)),
    target = target, pst_target = ptarget)
}

fa_out <- function(f) {
  out <- list(loadings = mat(f$loadings), communality = as.numeric(f$communality),
              vaccounted = mat(f$Vaccounted), values = as.numeric(f$values))
  out$phi <- if (is.null(f$Phi)) diag(ncol(f$loadings)) else mat(f$Phi)
  out$stats <- list(dof = f$dof, objective = nz(f$objective), chisq = nz(f$STATISTIC),
                    pvalue = nz(f$PVAL), tli = nz(f$TLI), rmsea = nz(f$RMSEA[1]),
                    rmsea_lower = nz(f$RMSEA[2]), rmsea_upper = nz(f$RMSEA[3]),
                    bic = nz(f$BIC), rms = nz(f$rms), crms = nz(f$crms), fit = nz(f$fit),
                    fit_off = nz(f$fit.off), null_chisq = nz(f$null.chisq))
  out
}

out <- list()
for (d in list(list(name = "hs1939", x = hsx, k = 3, sizes = c(3, 3, 3)),
               list(name = "bfi", x = bfi_items, k = 5, sizes = rep(5, 5)))) {
  f0 <- fa(d$x, d$k, fm = "minres", rotate = "none", warnings = FALSE, scores = "none")
  L0 <- mat(f0$loadings)
  # the clusters of the data sets in the unrotated solution's column order do not matter:
  # target rotation moves the solution to the target's columns
  tgt <- cluster_target(ncol(d$x), d$sizes)

  res <- list(items = colnames(d$x), unrotated = L0, gpa = gpa_set(L0, tgt))
  # the whole psych::fa path (rotation, then psych's sign and order)
  fas <- list()
  for (rot in c("quartimax", "equamax", "bentlerT", "bentlerQ", "geominT", "geominQ", "simplimax")) {
    f <- fa(d$x, d$k, fm = "minres", rotate = rot, warnings = FALSE, scores = "none")
    fas[[rot]] <- fa_out(f)
  }
  res$fa <- fas
  # principal components (psych::principal)
  pcs <- list()
  for (rot in c("none", "varimax", "quartimax", "oblimin", "promax")) {
    p <- principal(d$x, d$k, rotate = rot)
    o <- list(loadings = mat(p$loadings), communality = as.numeric(p$communality),
              values = as.numeric(p$values), vaccounted = mat(p$Vaccounted),
              weights = mat(p$weights), names = colnames(p$loadings))
    o$phi <- if (is.null(p$Phi)) diag(d$k) else mat(p$Phi)
    pcs[[rot]] <- o
  }
  res$principal <- pcs
  # factor scores: weights and determinacy for each method, oblimin and varimax solutions
  sc <- list()
  for (rot in c("oblimin", "varimax")) {
    f <- fa(d$x, d$k, fm = "minres", rotate = rot, warnings = FALSE, scores = "none")
    for (m in c("Thurstone", "tenBerge", "Anderson", "Bartlett")) {
      s <- factor.scores(d$x, f, method = m)
      key <- paste(rot, m, sep = "_")
      sc[[key]] <- list(loadings = mat(f$loadings),
                        phi = if (is.null(f$Phi)) diag(d$k) else mat(f$Phi),
                        weights = mat(s$weights), R2 = as.numeric(s$R2),
                        r_scores = mat(s$r.scores), scores_head = mat(s$scores[1:20, ]),
                        scores_na = sum(is.na(s$scores[, 1])))
    }
  }
  res$scores <- sc
  out[[d$name]] <- res
}

# EFA of a correlation matrix with n.obs (psych::fa(r, n.obs = ))
R <- cor(hsx)
mres <- list()
for (n in c(301, 500)) {
  f <- fa(R, 3, n.obs = n, fm = "minres", rotate = "oblimin", warnings = FALSE)
  mres[[paste0("n", n)]] <- c(fa_out(f), list(n_obs = n))
}
fml <- fa(R, 3, n.obs = 301, fm = "ml", rotate = "varimax", warnings = FALSE)
mres$ml_varimax <- fa_out(fml)
out$cor_input <- c(list(r = mat(R)), mres)

# congruence: the boys' (sex 1) solution rotated to the girls' (sex 2) as the original
fo <- fa(hsx[hs$sex == 2, ], 3, fm = "minres", rotate = "oblimin", warnings = FALSE)
ft <- fa(hsx[hs$sex == 1, ], 3, fm = "minres", rotate = "none", warnings = FALSE)
Lo <- mat(fo$loadings); Lt <- mat(ft$loadings)
rq <- targetQ(Lt, Target = Lo)
rt <- targetT(Lt, Target = Lo)
# per item: Tucker's coefficient over the item's row of loadings (no psych function; by formula)
item_cong <- function(A, B) rowSums(A * B) / sqrt(rowSums(A^2) * rowSums(B^2))
out$congruence <- list(
  original = Lo, original_phi = mat(fo$Phi), translated_unrotated = Lt,
  targetQ = list(loadings = mat(rq$loadings), phi = mat(rq$Phi),
                 factor = diag(factor.congruence(rq$loadings, Lo, digits = 16)),
                 matrix = mat(factor.congruence(rq$loadings, Lo, digits = 16)),
                 item = item_cong(mat(rq$loadings), Lo)),
  targetT = list(loadings = mat(rt$loadings),
                 factor = diag(factor.congruence(rt$loadings, Lo, digits = 16)),
                 item = item_cong(mat(rt$loadings), Lo)))

out$meta <- list(psych = as.character(packageVersion("psych")),
                 GPArotation = as.character(packageVersion("GPArotation")), R = R.version.string)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, matrix = "rowmajor", na = "null",
                  pretty = FALSE), "efa2.json")
