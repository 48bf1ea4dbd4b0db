# Reference values for psychometrics/scoring.py (tests/test_scoring.py).
# Run from this folder: Rscript make_scoring.R  -> scoring.json
# psych::scoreItems with impute = "none" and totals = FALSE gives, per case, the mean of
# the answered (reverse-keyed: min + max - x) items of each scale: the suite's mean
# scoring with prorating allowed up to all-but-one missing item.
suppressPackageStartupMessages({library(psych); library(jsonlite)})
bfi <- read.csv("../data/bfi.csv")
items <- bfi[, 2:26]
keys <- list(agree = c("-A1", "A2", "A3", "A4", "A5"),
             conscientious = c("C1", "C2", "C3", "-C4", "-C5"),
             extraversion = c("-E1", "-E2", "E3", "E4", "E5"),
             neuroticism = c("N1", "N2", "N3", "N4", "N5"),
             openness = c("O1", "-O2", "O3", "O4", "-O5"))
sc <- scoreItems(keys, items, totals = FALSE, impute = "none", min = 1, max = 6)
scores <- as.data.frame(sc$scores)
# sums of complete cases (totals = TRUE with no missing data is a plain sum)
cc <- complete.cases(items)
sums <- scoreItems(keys, items[cc, ], totals = TRUE, impute = "none", min = 1, max = 6)$scores
out <- list(psych = as.character(packageVersion("psych")),
            ids = bfi$id, scales = names(keys),
            mean_scores = lapply(scores, function(v) ifelse(is.na(v), NA, v)),
            complete_ids = bfi$id[cc],
            sum_scores = lapply(as.data.frame(sums), identity))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "null"), "scoring.json")
cat("wrote scoring.json\n")
