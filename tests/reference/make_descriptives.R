# Reference values for psychometrics.scoring.scale_descriptives (scale-level descriptives
# and intercorrelations, as apaTables::apa.cor.table) on the example study
# (examples/data.csv, examples/study.yaml).  R 4.x, psych 2.2.9, jsonlite.
# Run from tests/reference:  Rscript make_descriptives.R   ->  descriptives.json
#
# The scores are made as psychometrics.scoring.score makes them (and as the pipeline does):
# missing codes -9 and 99 -> NA; reverse-keyed items recoded min + max - x; a scale score is
# the mean of the answered items times the number of items ("sum" scoring, prorated) when at
# most max_missing_share of its items are missing, else NA.  The instruments' definitions
# (items, keys, ranges, max_missing_share) are copied from scales/wai_sr.yaml,
# scales/csq8.yaml, examples/engagement.yaml and examples/outcome.yaml.
suppressPackageStartupMessages({library(psych); library(jsonlite)})

d <- read.csv("../../examples/data.csv")
for (v in names(d)) d[[v]][d[[v]] %in% c(-9, 99)] <- NA

prorated_sum <- function(x, share) {
  k <- ncol(x)
  nmiss <- rowSums(is.na(x))
  s <- rowMeans(x, na.rm = TRUE) * k
  s[nmiss > share * k + 1e-9 | nmiss == k] <- NA
  s
}
wai <- function(i) paste0("wai_", i)
scales <- list(
  wai_sr.goal  = list(items = wai(c(4, 6, 8, 11)), share = 0.25, nf = 1),
  wai_sr.task  = list(items = wai(c(1, 2, 10, 12)), share = 0.25, nf = 1),
  wai_sr.bond  = list(items = wai(c(3, 5, 7, 9)), share = 0.25, nf = 1),
  wai_sr.total = list(items = wai(1:12), share = 0.25, nf = 3),
  client_engagement.engagement = list(items = paste0("eng_", 1:8), share = 0.2, nf = 1,
                                      reverse = c("eng_3", "eng_6"), min = 1, max = 5),
  csq8.satisfaction = list(items = paste0("csq_", 1:8), share = 0.125, nf = 1),
  client_outcome.outcome = list(items = paste0("out_", 1:6), share = 0.2, nf = 1))

keyed <- d
for (v in c("eng_3", "eng_6")) keyed[[v]] <- 1 + 5 - keyed[[v]]
scores <- as.data.frame(lapply(scales, function(s) prorated_sum(as.matrix(keyed[, s$items]), s$share)))
names(scores) <- names(scales)

describe_block <- function(rows) {
  sc <- scores[rows, , drop = FALSE]
  desc <- lapply(names(scales), function(nm) {
    v <- sc[[nm]]
    x <- keyed[rows, scales[[nm]]$items]
    a <- suppressWarnings(psych::alpha(x, check.keys = FALSE, warnings = FALSE))$total$raw_alpha
    o <- suppressWarnings(suppressMessages(
      psych::omega(x, nfactors = scales[[nm]]$nf, plot = FALSE)))$omega.tot
    list(scale = nm, n = sum(!is.na(v)), mean = mean(v, na.rm = TRUE), sd = sd(v, na.rm = TRUE),
         min = min(v, na.rm = TRUE), max = max(v, na.rm = TRUE), alpha = a, omega = o)
  })
  pairs <- list()
  nms <- names(scales)
  for (i in seq_along(nms)) for (j in seq_along(nms)) if (i < j) {
    ct <- cor.test(sc[[nms[i]]], sc[[nms[j]]])   # pairwise complete cases, Fisher-z CI
    pairs[[length(pairs) + 1]] <- list(scale1 = nms[i], scale2 = nms[j], r = unname(ct$estimate),
      n = sum(complete.cases(sc[[nms[i]]], sc[[nms[j]]])), pvalue = ct$p.value,
      ci_lower = ct$conf.int[1], ci_upper = ct$conf.int[2])
  }
  list(descriptives = desc, correlations = pairs)
}

out <- list(
  meta = list(R = R.version.string, psych = as.character(packageVersion("psych")),
              data = "examples/data.csv", group = "gender (1 = female, 2 = male)"),
  overall = describe_block(rep(TRUE, nrow(d))),
  female = describe_block(d$gender == 1),
  male = describe_block(d$gender == 2))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), "descriptives.json")
