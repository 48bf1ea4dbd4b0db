# Reference values for psychometrics/efa/ (tests/test_efa.py).
# psych 2.2.9, GPArotation 2022.10-2, nFactors 2.4.1 (Debian: r-cran-psych r-cran-gparotation
# r-cran-nfactors r-cran-jsonlite).  Run from tests/reference:  Rscript make_efa.R
# Writes efa.json.  Correlations are pairwise-complete (psych's default `use = "pairwise"`).
suppressPackageStartupMessages({library(psych); library(GPArotation); library(jsonlite)
                                 library(nFactors)})   # nFactors 2.4.1 (Debian r-cran-nfactors)

bfi <- read.csv("../data/bfi.csv")
items <- bfi[, c(paste0("A", 1:5), paste0("C", 1:5), paste0("E", 1:5),
                 paste0("N", 1:5), paste0("O", 1:5))]
hs <- read.csv("../data/hs1939.csv")
hsx <- hs[, paste0("x", 1:9)]

mat <- function(m) { m <- unclass(as.matrix(m)); dimnames(m) <- NULL; m }

fa_ref <- function(x, nf, fm, rot) {
  f <- fa(x, nfactors = nf, fm = fm, rotate = rot, warnings = FALSE, scores = "none")
  # psych's one-factor minres on random normal correlation matrices: the "fa" eigenvalues that
# fa.parallel averages (checks the batched solver on the very same matrices)
set.seed(7)
random_fa <- lapply(1:20, function(i) {
  rr <- cor(matrix(rnorm(500 * 12), 500, 12))
  f <- fa(rr, 1, fm = "minres", rotate = "none", SMC = FALSE, warnings = FALSE)
  list(r = mat(rr), values = as.numeric(f$values))
})

out <- list(nfactors = nf, fm = fm, rotate = rot,
              loadings = mat(f$loadings), items = colnames(x),
              communality = as.numeric(f$communality),
              uniquenesses = as.numeric(f$uniquenesses),
              structure = mat(f$Structure),
              vaccounted = mat(f$Vaccounted),
              values = as.numeric(f$values), e_values = as.numeric(f$e.values))
  if (!is.null(f$Phi)) out$phi <- mat(f$Phi)
  nz <- function(v) if (is.null(v)) NA else unname(v)
  out$stats <- list(dof = f$dof, objective = nz(f$objective), chisq = nz(f$STATISTIC),
                    pvalue = nz(f$PVAL), null_chisq = nz(f$null.chisq), null_dof = nz(f$null.dof),
                    tli = nz(f$TLI), rmsea = nz(f$RMSEA[1]), rmsea_lower = nz(f$RMSEA[2]),
                    rmsea_upper = nz(f$RMSEA[3]), bic = nz(f$BIC), sabic = nz(f$SABIC),
                    rms = nz(f$rms), crms = nz(f$crms), fit = nz(f$fit), fit_off = nz(f$fit.off),
                    echisq = nz(f$chi), epvalue = nz(f$EPVAL), ebic = nz(f$EBIC), nh = nz(f$nh),
                    n_obs = nz(f$n.obs))
  out
}

r <- cor(items, use = "pairwise")
k <- KMO(items)
b <- suppressMessages(cortest.bartlett(items))

fits <- list(
  minres_oblimin = fa_ref(items, 5, "minres", "oblimin"),
  ml_promax = fa_ref(items, 5, "ml", "promax"),
  minres_varimax = fa_ref(items, 5, "minres", "varimax"),
  pa_oblimin = fa_ref(items, 5, "pa", "oblimin"),
  minres_quartimin = fa_ref(items, 5, "minres", "quartimin"),
  minres_geomin = fa_ref(items, 5, "minres", "geominQ"),
  ml_none = fa_ref(items, 5, "ml", "none"),
  minres_1 = fa_ref(items, 1, "minres", "none"),
  hs_ml_oblimin = fa_ref(hsx, 3, "ml", "oblimin"),
  hs_minres_promax = fa_ref(hsx, 3, "minres", "promax")
)

# Velicer's MAP as psych::VSS reports it (principal components, squared partials, 1..8)
v <- VSS(items, n = 8, plot = FALSE)
# Velicer's MAP, original (squared) and the 2000 revision (fourth power), m = 0 .. p-1,
# written out from Velicer (1976) / Velicer, Eaton & Fava (2000) as an independent check.
map_all <- function(R, power) {
  p <- ncol(R); e <- eigen(R, symmetric = TRUE)
  out <- numeric(p)
  off <- R; diag(off) <- 0
  out[1] <- sum(abs(off)^power) / (p * (p - 1))
  for (m in 1:(p - 1)) {
    A <- e$vectors[, 1:m, drop = FALSE] %*% diag(sqrt(e$values[1:m]), m)
    C <- R - A %*% t(A)
    d <- diag(1 / sqrt(diag(C)))
    P <- d %*% C %*% d; diag(P) <- 0
    out[m + 1] <- sum(abs(P)^power) / (p * (p - 1))
  }
  out
}
map2 <- map_all(r, 2); map4 <- map_all(r, 4)

options(mc.cores = 1)   # fa.parallel uses mclapply; one core makes set.seed reproducible
set.seed(20261122)
pa <- fa.parallel(items, fa = "both", n.iter = 50, plot = FALSE)

# psych's one-factor minres on random normal correlation matrices: the "fa" eigenvalues that
# fa.parallel averages (checks the batched solver on the very same matrices)
set.seed(7)
random_fa <- lapply(1:20, function(i) {
  rr <- cor(matrix(rnorm(500 * 12), 500, 12))
  f <- fa(rr, 1, fm = "minres", rotate = "none", SMC = FALSE, warnings = FALSE)
  list(r = mat(rr), values = as.numeric(f$values))
})

# non-graphical scree tests on fixed inputs (observed eigenvalues; aparallel = psych's mean
# random eigenvalues from above, or nScree's default of 1)
scree_ref <- function(eig, ap) {
  sc <- if (is.null(ap)) nScree(x = eig) else nScree(x = eig, aparallel = ap)
  list(eig = eig, aparallel = if (is.null(ap)) NA else ap, noc = sc$Components$noc,
       naf = sc$Components$naf, pred_eig = sc$Analysis$Pred.eig, af = sc$Analysis$Acc.factor)
}
hs_eig <- eigen(cor(hsx))$values
scree <- list(bfi_pa = scree_ref(as.numeric(pa$pc.values), as.numeric(pa$pc.sim)),
              bfi_one = scree_ref(as.numeric(pa$pc.values), NULL),
              hs_one = scree_ref(hs_eig, NULL),
              hs_pa = scree_ref(hs_eig, rep(1.1, length(hs_eig))))

out <- list(
  meta = list(psych = as.character(packageVersion("psych")),
              GPArotation = as.character(packageVersion("GPArotation")),
              nFactors = as.character(packageVersion("nFactors")),
              R = R.version.string, items = colnames(items)),
  cor_pairwise = mat(r),
  kmo = list(msa = k$MSA, msai = as.numeric(k$MSAi)),
  bartlett = list(chisq = b$chisq, df = b$df, p_value = b$p.value, n = nrow(items)),
  smc = as.numeric(smc(r)),
  fits = fits,
  map = list(vss_map = as.numeric(v$map), map_squared = map2, map_fourth = map4,
             vss_suggested = which.min(v$map),
             suggested_squared = which.min(map2) - 1, suggested_fourth = which.min(map4) - 1),
  parallel = list(n_iter = 50, pc_values = as.numeric(pa$pc.values),
                  fa_values = as.numeric(pa$fa.values),
                  pc_sim_mean = as.numeric(pa$pc.sim), fa_sim_mean = as.numeric(pa$fa.sim),
                  pc_resample_mean = as.numeric(pa$pc.simr), fa_resample_mean = as.numeric(pa$fa.simr),
                  ncomp = pa$ncomp, nfact = pa$nfact),
  random_fa = random_fa,
  scree = scree
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, matrix = "rowmajor"), "efa.json")
cat("wrote efa.json\n")
