"""Fixed words and sentence templates of the report, in English and Persian.

``tr(key, lang)`` returns the text; a key missing in Persian falls back to
English so a report is never left with a hole.  Templates use the
``{name:spec}`` placeholders of :func:`psychometrics.report.fmt.fill`.
"""
from __future__ import annotations

TEXT: dict[str, dict[str, str]] = {
    "table": {"en": "Table", "fa": "جدول"},
    "figure": {"en": "Figure", "fa": "شکل"},
    "note": {"en": "Note", "fa": "یادداشت"},
    "warnings": {"en": "Warnings", "fa": "هشدارها"},
    "contents": {"en": "Contents", "fa": "فهرست"},
    "item": {"en": "Item", "fa": "گویه"},
    "factor": {"en": "Factor", "fa": "عامل"},
    "model": {"en": "Model", "fa": "مدل"},
    "level": {"en": "Level", "fa": "سطح"},
    "instrument": {"en": "Instrument", "fa": "ابزار"},
    "scale": {"en": "Scale", "fa": "مقیاس"},
    # section titles
    "sec_overview": {"en": "Study and data", "fa": "مطالعه و داده‌ها"},
    "sec_methods": {"en": "Method of analysis", "fa": "روش تحلیل"},
    "sec_screening": {"en": "Data screening", "fa": "غربالگری داده‌ها"},
    "sec_items": {"en": "Item analysis", "fa": "تحلیل گویه‌ها"},
    "sec_reliability": {"en": "Reliability", "fa": "پایایی"},
    "sec_efa": {"en": "Exploratory factor analysis", "fa": "تحلیل عاملی اکتشافی"},
    "sec_cfa": {"en": "Confirmatory factor analysis", "fa": "تحلیل عاملی تأییدی"},
    "sec_invariance": {"en": "Measurement invariance by group", "fa": "هم‌ارزی اندازه‌گیری بین گروه‌ها"},
    "sec_validity": {"en": "Convergent and discriminant validity", "fa": "روایی همگرا و واگرا"},
    "sec_measurement": {"en": "Full measurement model", "fa": "مدل اندازه‌گیری کامل"},
    "sec_structural": {"en": "Structural model", "fa": "مدل ساختاری"},
    "sec_warnings": {"en": "All warnings", "fa": "همه‌ی هشدارها"},
    "sec_data_changes": {"en": "Data changes", "fa": "تغییرات داده‌ها"},
    "sec_software": {"en": "Software and references", "fa": "نرم‌افزار و منابع"},
    # notices
    "missing_module": {
        "en": "This analysis is not available in this version of psychometrics "
              "(module {module} is missing or lacks {name}); no numbers are reported.",
        "fa": "این تحلیل در این نسخه از psychometrics در دسترس نیست "
              "(ماژول {module} وجود ندارد یا {name} را ندارد)؛ عددی گزارش نمی‌شود."},
    "failed": {"en": "This analysis failed: {error}", "fa": "این تحلیل انجام نشد: {error}"},
    "skipped": {"en": "Skipped: {reason}", "fa": "انجام نشد: {reason}"},
    "no_warnings": {"en": "No warnings were raised.", "fa": "هیچ هشداری ثبت نشد."},
}

TEXT.update({
    "p_overview": {
        "en": "The data file {file:s} holds {n:d} cases ({groups:s}). While reading it, {n_changes:d} "
              "{n_changes|cell was|cells were} recoded or set missing and {n_dropped:d} {n_dropped|case was|cases were} dropped; every change "
              "is listed in the section Data changes at the end and in results.json.",
        "fa": "فایل داده‌ی {file:s} شامل {n:d} مورد است ({groups:s}). هنگام خواندن، {n_changes:d} خانه "
              "بازکدگذاری یا گمشده شد و {n_dropped:d} مورد حذف شد؛ همه‌ی تغییرات در بخش «تغییرات داده‌ها» در "
              "پایان گزارش و در results.json آمده است."},
    "t_instruments": {"en": "Instruments of the Study", "fa": "ابزارهای مطالعه"},
    "c_items": {"en": "Items", "fa": "تعداد گویه"},
    "c_subscales": {"en": "Subscales", "fa": "خرده‌مقیاس‌ها"},
    "c_subscale": {"en": "Subscale", "fa": "خرده‌مقیاس"},
    "c_range": {"en": "Response range", "fa": "دامنه‌ی پاسخ"},
    "c_reversed": {"en": "Reverse-keyed items", "fa": "گویه‌های معکوس"},
    "c_text": {"en": "Item text", "fa": "متن گویه"},
    "c_total": {"en": "total", "fa": "کل"},
    "c_alpha_del": {"en": "α if deleted", "fa": "α در صورت حذف"},
    "c_pct_missing": {"en": "% missing", "fa": "٪ گمشده"},
    "c_skew": {"en": "Skew", "fa": "کجی"},
    "c_kurtosis": {"en": "Kurtosis", "fa": "کشیدگی"},
    "c_floor": {"en": "% floor", "fa": "٪ کف"},
    "c_ceiling": {"en": "% ceiling", "fa": "٪ سقف"},
    "dec_baseline": {"en": "baseline", "fa": "پایه"},
    "dec_invariant": {"en": "invariant", "fa": "هم‌ارز"},
    "dec_not_invariant": {"en": "not invariant", "fa": "ناهم‌ارز"},
    "dec_partially_invariant": {"en": "partially invariant", "fa": "هم‌ارز جزئی"},
    "dec_undecided": {"en": "undecided", "fa": "نامشخص"},
    "c_decision": {"en": "Decision", "fa": "تصمیم"},
    "c_mean_diff": {"en": "Mean difference", "fa": "تفاوت میانگین"},
    "c_pair": {"en": "Pair of factors", "fa": "جفت عامل‌ها"},
    "yes": {"en": "yes", "fa": "بله"},
    "no": {"en": "no", "fa": "خیر"},
    "p_screening": {
        "en": "Little's MCAR test: χ²({mcar_df:d}) = {mcar_chisq:f2}, p {mcar_p:pe}. Mardia's multivariate "
              "skewness b1p = {b1p:f2} (p {p_skew:pe}) and kurtosis b2p = {b2p:f2} (p {p_kurt:pe}), "
              "n = {n_mardia:d} complete cases. Multivariate outliers (squared Mahalanobis distance, "
              "α = {alpha:f3}): {out_cl:d} classical, {out_mcd:d} robust (MCD); no case was removed.",
        "fa": "آزمون MCAR لیتل: χ²({mcar_df:d}) = {mcar_chisq:f2}، p {mcar_p:pe}. کجی چندمتغیری ماردیا "
              "b1p = {b1p:f2} (p {p_skew:pe}) و کشیدگی b2p = {b2p:f2} (p {p_kurt:pe})، n = {n_mardia:d} "
              "مورد کامل. داده‌های پرت چندمتغیری (فاصله‌ی ماهالانوبیس، α = {alpha:f3}): {out_cl:d} کلاسیک، "
              "{out_mcd:d} استوار (MCD)؛ هیچ موردی حذف نشد."},
    "c_path": {"en": "Path / effect", "fa": "مسیر / اثر"},
    "w_changes": {"en": "{n} {n|cell|cells} changed ({reason}): {cells}; all are listed under "
                        "Data changes",
                  "fa": "{n} خانه تغییر کرد ({reason}): {cells}؛ همه در بخش «تغییرات داده‌ها» آمده‌اند"},
    "w_dropped": {"en": "case {row} dropped: {reason}", "fa": "مورد {row} حذف شد: {reason}"},
    "t_data_changes": {"en": "Data Changes: {n} {n|Cell|Cells} Changed and the Cases Dropped",
                       "fa": "تغییرات داده‌ها: همه‌ی {n} خانه‌ی تغییرکرده و مورد حذف‌شده"},
    "n_data_changes": {"en": "Every cell of the data file that the analysis changed (old value, "
                             "new value; — = set missing) and every case dropped, with the reason. "
                             "The data file itself was not changed.",
                       "fa": "هر خانه‌ی پرونده‌ی داده که تحلیل تغییر داد (مقدار پیشین، مقدار نو؛ — = "
                             "گمشده) و هر مورد حذف‌شده، با دلیل آن. خود پرونده‌ی داده تغییر نکرد."},
    "c_case": {"en": "Case", "fa": "مورد"},
    "w_dropped_many": {"en": "{n} cases dropped ({reason}): {cases}; all are listed under Data changes",
                       "fa": "{n} مورد حذف شد ({reason}): {cases}؛ همه در بخش «تغییرات داده‌ها» آمده‌اند"},
    "t_data_changes_summary": {"en": "Data Changes: {n} Cells Changed and Cases Dropped, by Column and Reason",
                               "fa": "تغییرات داده‌ها: {n} خانه‌ی تغییرکرده و مورد حذف‌شده، به تفکیک ستون و دلیل"},
    "n_data_changes_summary": {"en": "More than {limit} cells were changed or cases dropped: each row counts "
                                     "those of one column and reason, with its first five cases. Every one "
                                     "(case, column, old and new value; an empty new value = set missing) is listed in "
                                     "data-changes.csv and results.json. The data file itself was not changed.",
                               "fa": "بیش از {limit} خانه تغییر کرد یا مورد حذف شد: هر سطر آن‌هایی را که یک ستون و "
                                     "یک دلیل دارند می‌شمارد، با پنج مورد نخست آن. همه‌ی آن‌ها (مورد، ستون، مقدار پیشین و "
                                     "نو؛ مقدار نوی خالی = گمشده) در data-changes.csv و results.json آمده‌اند. خود پرونده‌ی داده "
                                     "تغییر نکرد."},
    "c_n_cells": {"en": "n", "fa": "n"},
    "c_first_cases": {"en": "First cases", "fa": "نخستین موردها"},
    "c_column": {"en": "Column", "fa": "ستون"},
    "c_old_value": {"en": "Old value", "fa": "مقدار پیشین"},
    "c_new_value": {"en": "New value", "fa": "مقدار نو"},
    "c_reason": {"en": "Reason", "fa": "دلیل"},
    "w_low_rdrop": {"en": "corrected item-total correlation below .30: {items}",
                    "fa": "همبستگی اصلاح‌شده‌ی گویه با کل کمتر از ۰٫۳۰: {items}"},
    "w_low_alpha": {"en": "alpha below .70: {scales}", "fa": "آلفای کمتر از ۰٫۷۰: {scales}"},
    "t_descriptives": {"en": "Item Descriptive Statistics: {name}", "fa": "آمار توصیفی گویه‌ها: {name}"},
    "n_descriptives": {"en": "Statistics of the available responses of each item; skewness and "
                             "kurtosis (excess) as psych::describe.",
                       "fa": "آماره‌ها بر پایه‌ی پاسخ‌های موجود هر گویه؛ کجی و کشیدگی (مازاد) مانند "
                             "psych::describe."},
    "f_distributions": {"en": "Response distributions of the {name} items by group",
                        "fa": "توزیع پاسخ‌های گویه‌های {name} به تفکیک گروه"},
    "t_items": {"en": "Item Analysis: {name}", "fa": "تحلیل گویه‌ها: {name}"},
    "n_items": {"en": "Reverse-keyed items were reversed first. Corrected item–total *r* = correlation "
                      "of the item with the sum of the other items of its subscale; "
                      "α if deleted = alpha of the subscale without the item (pairwise deletion, "
                      "as psych::alpha).",
                "fa": "ابتدا گویه‌های معکوس، معکوس شدند. همبستگی اصلاح‌شده‌ی گویه–کل = همبستگی گویه با مجموع "
                      "سایر گویه‌های خرده‌مقیاس؛ α در صورت حذف = آلفای خرده‌مقیاس بدون آن گویه "
                      "(حذف زوجی، مانند psych::alpha)."},
    "t_reliability": {"en": "Internal Consistency Reliability", "fa": "پایایی همسانی درونی"},
    "n_reliability": {"en": "α = Cronbach's alpha with Feldt 95% CI; ω_{t} = McDonald's omega total "
                            "(psych::omega) with percentile bootstrap 95% CI ({nb} draws); ω_{h} = omega "
                            "hierarchical of the total score.",
                      "fa": "α = آلفای کرونباخ با فاصله‌ی اطمینان ۹۵٪ فلت؛ ω_{t} = امگای کل مک‌دونالد "
                            "(psych::omega) با فاصله‌ی اطمینان ۹۵٪ بوت‌استرپ صدکی ({nb} نمونه)؛ "
                            "ω_{h} = امگای سلسله‌مراتبی نمره‌ی کل."},
    "n_reliability_noboot": {"en": "α = Cronbach's alpha with Feldt 95% CI; ω_{t} = McDonald's omega total "
                                   "(psych::omega; no bootstrap CI was requested); ω_{h} = omega hierarchical "
                                   "of the total score.",
                             "fa": "α = آلفای کرونباخ با فاصله‌ی اطمینان ۹۵٪ فلت؛ ω_{t} = امگای کل مک‌دونالد "
                                   "(psych::omega؛ فاصله‌ی بوت‌استرپ درخواست نشد)؛ ω_{h} = امگای سلسله‌مراتبی "
                                   "نمره‌ی کل."},
    "p_efa": {
        "en": "Sampling adequacy was KMO = {kmo:r}; Bartlett's test of sphericity gave "
              "χ²({df:d}) = {chisq:f2}, p {p:pe}. Parallel analysis ({n_iter:d} random data sets) "
              "suggested {suggested:d} {suggested|factor|factors}; the hypothesised structure has {n_hyp:d}.",
        "fa": "کفایت نمونه‌برداری KMO = {kmo:r} بود؛ آزمون کرویت بارتلت χ²({df:d}) = {chisq:f2}، "
              "p {p:pe} به دست داد. تحلیل موازی ({n_iter:d} مجموعه‌داده‌ی تصادفی) {suggested:d} عامل "
              "را پیشنهاد کرد؛ ساختار فرضی {n_hyp:d} عامل دارد."},
    "l_observed": {"en": "Observed data (components)", "fa": "داده‌های مشاهده‌شده (مؤلفه‌ها)"},
    "l_simulated": {"en": "Random data, 95th percentile (components)", "fa": "داده‌های تصادفی، صدک ۹۵ (مؤلفه‌ها)"},
    "l_observed_fa": {"en": "Observed data (factors)", "fa": "داده‌های مشاهده‌شده (عامل‌ها)"},
    "l_simulated_fa": {"en": "Random data, 95th percentile (factors)", "fa": "داده‌های تصادفی، صدک ۹۵ (عامل‌ها)"},
    "t_dimensionality": {"en": "Number of Factors Suggested by Each Criterion: {name}",
                         "fa": "تعداد عامل‌های پیشنهادی هر ملاک: {name}"},
    "c_criterion": {"en": "Criterion", "fa": "ملاک"},
    "c_suggested": {"en": "Factors suggested", "fa": "تعداد عامل پیشنهادی"},
    "c_reference": {"en": "Reference", "fa": "منبع"},
    "t_split_half": {"en": "Split-Half Validation: {name}", "fa": "اعتبارسنجی دونیمه: {name}"},
    "n_split_half": {"en": "EFA on one random half of the cases (n = {n1}, stratified by group): each "
                           "item's largest loading and the factor it was assigned to; the CFA of the "
                           "hypothesised structure on the other half (n = {n2}) follows the table.",
                     "fa": "تحلیل اکتشافی روی یک نیمه‌ی تصادفی موردها (n = {n1}، طبقه‌بندی‌شده بر اساس گروه): "
                           "بزرگ‌ترین بار هر گویه و عامل منتسب به آن؛ برازش تحلیل تأییدی ساختار فرضی روی "
                           "نیمه‌ی دیگر (n = {n2}) پس از جدول آمده است."},
    "l_factor_number": {"en": "Factor number", "fa": "شماره‌ی عامل"},
    "l_eigenvalue": {"en": "Eigenvalue", "fa": "مقدار ویژه"},
    "f_scree": {"en": "Scree plot and parallel analysis: {name}",
                "fa": "نمودار اسکری و تحلیل موازی: {name}"},
    "t_efa": {"en": "Exploratory Factor Analysis Loadings ({n} {n|factor|factors}): {name}",
              "fa": "بارهای عاملی تحلیل اکتشافی ({n} عامل): {name}"},
    "n_efa": {"en": "Extraction: {method}; rotation: {rotation}. *h*² = communality.",
              "fa": "استخراج: {method}؛ چرخش: {rotation}. *h*² = اشتراک."},
    "f_heatmap": {"en": "EFA loadings: {name}", "fa": "بارهای عاملی اکتشافی: {name}"},
    "p_split_half": {"en": "Split-half validation (EFA on one random half, CFA on the other):",
                     "fa": "اعتبارسنجی دونیمه (تحلیل اکتشافی روی یک نیمه‌ی تصادفی و تأییدی روی نیمه‌ی دیگر):"},
    "t_cfa": {"en": "Confirmatory Factor Analysis: Loadings of {name}",
              "fa": "تحلیل عاملی تأییدی: بارهای عاملی {name}"},
    "n_cfa": {"en": "B = unstandardised loading (first loading fixed at 1); β = standardised loading "
                    "(lavaan std.all). Estimator {estimator}; missing data: {missing}.",
              "fa": "B = بار استانداردنشده (بار نخست برابر ۱ ثابت شده)؛ β = بار استاندارد "
                    "(std.all در lavaan). برآوردگر {estimator}؛ داده‌های گمشده: {missing}."},
    "f_path": {"en": "CFA path diagram with standardised estimates: {name}",
               "fa": "نمودار مسیر تحلیل تأییدی با برآوردهای استاندارد: {name}"},
    "p_fit": {"en": "Fit: χ²({df:d}) = {chisq:f2}, p {p:pe}; CFI = {cfi:r3}, TLI = {tli:r3}, "
                    "RMSEA = {rmsea:r3} [90% CI {lo:r3}, {hi:r3}], SRMR = {srmr:r3}.",
              "fa": "برازش: χ²({df:d}) = {chisq:f2}، p {p:pe}؛ CFI = {cfi:r3}، TLI = {tli:r3}، "
                    "RMSEA = {rmsea:r3} [فاصله‌ی اطمینان ۹۰٪: {lo:r3}، {hi:r3}]، SRMR = {srmr:r3}."},
    "p_fit_robust": {"en": "Fit (robust): scaled χ²({df:d}) = {chisq:f2}, p {p:pe}; robust CFI = {cfi:r3}, "
                           "robust TLI = {tli:r3}, robust RMSEA = {rmsea:r3} [90% CI {lo:r3}, {hi:r3}], "
                           "SRMR = {srmr:r3}.",
                     "fa": "برازش (استوار): χ² مقیاس‌شده ({df:d}) = {chisq:f2}، p {p:pe}؛ CFI استوار = {cfi:r3}، "
                           "TLI استوار = {tli:r3}، RMSEA استوار = {rmsea:r3} [فاصله‌ی اطمینان ۹۰٪: {lo:r3}، "
                           "{hi:r3}]، SRMR = {srmr:r3}."},
    "no_group": {"en": "The study file names no group column, so invariance was not tested.",
                 "fa": "فایل مطالعه ستون گروه ندارد؛ بنابراین هم‌ارزی آزمون نشد."},
    "t_invariance": {"en": "Measurement Invariance Across Groups: {name}",
                     "fa": "هم‌ارزی اندازه‌گیری بین گروه‌ها: {name}"},
    "n_invariance": {"en": 'Each level adds equality constraints to the previous one (metric: loadings; scalar: + intercepts; strict: + residual variances). A level is retained when ΔCFI ≥ −.010, ΔRMSEA ≤ .015 and ΔSRMR ≤ .030 (metric) or ≤ .015 (scalar, strict) (Chen, 2007); "(partial)" rows release the constraints listed in results.json.',
        "fa": 'هر سطح قیدهای برابری را به سطح قبل می\u200cافزاید (متریک: بارها؛ عددی: + عرض از مبدأها؛ سخت: + واریانس\u200cهای خطا). سطحی پذیرفته می\u200cشود که ΔCFI ≥ −٫۰۱۰، ΔRMSEA ≤ ٫۰۱۵ و ΔSRMR ≤ ٫۰۳۰ (متریک) یا ≤ ٫۰۱۵ (عددی، سخت) باشد (Chen, 2007)؛ ردیف\u200cهای «جزئی» قیدهای فهرست\u200cشده در results.json را آزاد می\u200cکنند.'},
    "f_invariance": {"en": "Change of fit along the invariance sequence: {name}",
                     "fa": "تغییر برازش در توالی هم‌ارزی: {name}"},
    "lv_configural": {"en": "configural", "fa": "پیکربندی"},
    "lv_metric": {"en": "metric", "fa": "متریک"},
    "lv_scalar": {"en": "scalar", "fa": "عددی"},
    "lv_strict": {"en": "strict", "fa": "سخت"},
    "m_measurement": {"en": "Full measurement model", "fa": "مدل اندازه‌گیری کامل"},
    "m_validity_noboot": {
        "en": "Convergent validity was judged by AVE ≥ .50 and composite reliability ≥ .70 in the full "
              "measurement model; discriminant validity by the Fornell–Larcker criterion (Fornell & Larcker, "
              "1981) and HTMT < .85 (Henseler et al., 2015).",
        "fa": "روایی همگرا با AVE ≥ ٫۵۰ و پایایی ترکیبی ≥ ٫۷۰ در مدل اندازه‌گیری کامل و روایی واگرا با ملاک "
              "فورنل–لارکر و HTMT < ٫۸۵ داوری شد."},
    "t_latent_means": {"en": "Latent Mean Differences Between Groups: {name}",
                       "fa": "تفاوت میانگین‌های مکنون بین گروه‌ها: {name}"},
    "n_latent_means": {"en": "Latent mean of each group minus that of the reference group ({ref}) in the "
                             "most constrained model that held; d = standardised difference.",
                       "fa": "میانگین مکنون هر گروه منهای گروه مرجع ({ref}) در مقیدترین مدل پذیرفته‌شده؛ "
                             "d = تفاوت استانداردشده."},
    "label_structural": {"en": "Structural model", "fa": "مدل ساختاری"},
    "t_validity": {"en": "Convergent Validity: AVE and Composite Reliability",
                   "fa": "روایی همگرا: AVE و پایایی ترکیبی"},
    "n_validity": {"en": "AVE = average variance extracted; CR = composite reliability (from the full "
                         "measurement model). Criteria: AVE ≥ .50, CR ≥ .70 (Fornell & Larcker, 1981).",
                   "fa": "AVE = میانگین واریانس استخراج‌شده؛ CR = پایایی ترکیبی (از مدل اندازه‌گیری کامل). "
                         "ملاک‌ها: AVE ≥ ٫۵۰ و CR ≥ ٫۷۰ (Fornell & Larcker, 1981)."},
    "t_fornell": {"en": "Discriminant Validity: Fornell–Larcker Criterion",
                  "fa": "روایی واگرا: ملاک فورنل–لارکر"},
    "n_fornell_larcker": {"en": "Diagonal: square root of AVE; off-diagonal: factor correlations. "
                                "Discriminant validity holds when each diagonal value exceeds the "
                                "correlations in its row and column.",
                          "fa": "قطر: جذر AVE؛ خارج قطر: همبستگی عامل‌ها. روایی واگرا برقرار است اگر هر "
                                "مقدار قطری از همبستگی‌های سطر و ستون خود بزرگ‌تر باشد."},
    "t_htmt": {"en": "Discriminant Validity: Heterotrait–Monotrait Ratios (HTMT)",
               "fa": "روایی واگرا: نسبت‌های هتروتریت–مونوتریت (HTMT)"},
    "n_htmt": {"en": "HTMT2 (geometric-mean HTMT, semTools::htmt) with percentile bootstrap 95% CIs "
                     "({nb} draws). HTMT and its upper bound below .85 support discriminant validity "
                     "(Henseler, Ringle & Sarstedt, 2015).",
               "fa": "HTMT2 (میانگین هندسی، semTools::htmt) با فاصله‌ی اطمینان ۹۵٪ بوت‌استرپ صدکی "
                     "({nb} نمونه). HTMT و کران بالای آن کمتر از ٫۸۵ از روایی واگرا پشتیبانی می‌کند "
                     "(Henseler, Ringle & Sarstedt, 2015)."},
    "n_htmt_n": {"en": "Correlations: {how}; N = {n}.", "fa": "همبستگی‌ها: {how}؛ N = {n}."},
    "htmt_fiml": {"en": "EM (FIML) estimates of the saturated model from every case with at least one "
                        "item answered (semTools::htmt, missing = \"ml\")",
                  "fa": "برآورد EM (FIML) مدل اشباع‌شده از همه‌ی مواردی که دست‌کم به یک گویه پاسخ داده‌اند "
                        "(semTools::htmt، missing = \"ml\")"},
    "htmt_listwise": {"en": "complete cases only (listwise deletion)",
                      "fa": "فقط موارد کامل (حذف فهرستی)"},
    "htmt_pairwise": {"en": "pairwise-complete cases", "fa": "موارد کامل دوبه‌دو"},
    "fit_problem": {"en": "No fit indices are reported for this model: {reason}.",
                    "fa": "برای این مدل شاخص برازش گزارش نمی‌شود: {reason}."},
    "c_status": {"en": "Not reported because", "fa": "دلیل گزارش‌نشدن"},
    "p_structural_syntax": {
        "en": "The lavaan syntax of the measurement model of all instruments together with the structural "
              "paths of the study file, ready for the next step:",
        "fa": "نحو lavaan مدل اندازه‌گیری همه‌ی ابزارها همراه با مسیرهای ساختاری فایل مطالعه، آماده برای گام بعد:"},
    "no_structural": {"en": "The study file gives no structural paths; only the measurement syntax is shown.",
                      "fa": "فایل مطالعه مسیر ساختاری ندارد؛ تنها نحو مدل اندازه‌گیری نشان داده شده است."},
    "t_structural": {"en": "Structural Model: Paths and Indirect Effects",
                     "fa": "مدل ساختاری: مسیرها و اثرهای غیرمستقیم"},
    "n_structural": {"en": 'B = unstandardised estimate; β = standardised (std.all). 95% CIs of all paths and of the defined effects (:=, indirect and total effects) are percentile bootstrap intervals ({nb} successful draws, cases resampled, the model refitted to each draw; lavaan\'s parameterEstimates with se = "bootstrap"); SE and p are from the fitted model.',
        "fa": 'B = برآورد استانداردنشده؛ β = استاندارد (std.all). فاصله\u200cهای اطمینان ۹۵٪ همه\u200cی مسیرها و اثرهای تعریف\u200cشده (:=، اثرهای غیرمستقیم و کل) بوت\u200cاسترپ صدکی هستند ({nb} نمونه\u200cی موفق، با بازنمونه\u200cگیری موردها و برازش دوباره\u200cی مدل)؛ SE و p از مدل برازش\u200cشده است.'},
    "n_structural_delta": {"en": "B = unstandardised estimate; β = standardised (std.all). Confidence intervals are 95% Wald (delta-method) intervals, as lavaan's parameterEstimates() without bootstrap.",
        "fa": 'B = برآورد استانداردنشده؛ β = استاندارد (std.all). فاصله\u200cهای اطمینان ۹۵٪ والد (روش دلتا) هستند، مانند parameterEstimates() در lavaan بدون بوت\u200cاسترپ.'},
    "no_sem_bootstrap": {"en": "Bootstrap confidence intervals of the indirect effects ({nb} draws requested) "
                               "are not available: this version of the SEM engine (psychometrics.sem) has no "
                               "bootstrap. The intervals below are delta-method intervals.",
                         "fa": "فاصله‌های اطمینان بوت‌استرپ اثرهای غیرمستقیم ({nb} نمونه درخواست شد) در دسترس "
                               "نیست: این نسخه از موتور SEM (psychometrics.sem) بوت‌استرپ ندارد. فاصله‌های زیر "
                               "به روش دلتا هستند."},
    "sec_fit": {"en": "Fit indices of every model", "fa": "شاخص‌های برازش همه‌ی مدل‌ها"},
    "no_fits": {"en": "No model could be fitted, so there are no fit indices.",
                "fa": "هیچ مدلی برازش نشد؛ شاخص برازشی وجود ندارد."},
    "t_fit": {"en": "Fit Indices of Every Model", "fa": "شاخص‌های برازش همه‌ی مدل‌ها"},
    "n_fit": {"en": "Cut-offs (Hu & Bentler, 1999): CFI and TLI ≥ .95, RMSEA ≤ .06, SRMR ≤ .08. "
                    "With MLR the scaled χ² and robust CFI/TLI/RMSEA are given as well.",
              "fa": "نقاط برش (Hu & Bentler, 1999): CFI و TLI ≥ ٫۹۵، RMSEA ≤ ٫۰۶، SRMR ≤ ٫۰۸. "
                    "با MLR مقدار χ² مقیاس‌شده و CFI/TLI/RMSEA استوار نیز آمده است."},
    "p_methods_ml_listwise": {
        "en": "Confirmatory models were estimated by maximum likelihood (ML) on complete cases "
              "(listwise deletion).",
        "fa": "مدل‌های تأییدی با بیشینه‌ی درست‌نمایی (ML) روی موردهای کامل (حذف فهرستی) برآورد شدند."},
    "p_methods_ml_fiml": {
        "en": "Confirmatory models were estimated by maximum likelihood with missing responses handled by "
              "full-information maximum likelihood (FIML; Arbuckle, 1996).",
        "fa": "مدل‌های تأییدی با بیشینه‌ی درست‌نمایی برآورد شدند و پاسخ‌های گمشده با بیشینه‌ی درست‌نمایی "
              "اطلاعات کامل (FIML) مدیریت شدند."},
    "p_methods_mlr_listwise": {
        "en": "Confirmatory models were estimated by robust maximum likelihood (MLR: Huber–White standard "
              "errors and the Yuan–Bentler scaled χ²; Yuan & Bentler, 2000) on complete cases (listwise deletion).",
        "fa": "مدل‌های تأییدی با بیشینه‌ی درست‌نمایی استوار (MLR: خطاهای معیار هوبر–وایت و χ² مقیاس‌شده‌ی "
              "یوان–بنتلر) روی موردهای کامل برآورد شدند."},
    "p_methods_mlr_fiml": {
        "en": "Confirmatory models were estimated by robust maximum likelihood (MLR: Huber–White standard "
              "errors and the Yuan–Bentler scaled χ²; Yuan & Bentler, 2000), with missing responses handled by full-information "
              "maximum likelihood (FIML).",
        "fa": "مدل‌های تأییدی با بیشینه‌ی درست‌نمایی استوار (MLR: خطاهای معیار هوبر–وایت و χ² مقیاس‌شده‌ی "
              "یوان–بنتلر) برآورد شدند و پاسخ‌های گمشده با FIML مدیریت شدند."},
    "p_methods_cutoffs": {
        "en": "Items were screened for missingness and distribution; reverse-keyed items were reversed "
              "before all analyses. Item analysis and reliability follow psych (pairwise deletion): "
              "Cronbach's alpha with the Feldt interval and McDonald's omega with bootstrap intervals. "
              "Dimensionality was examined with KMO, Bartlett's test and parallel analysis (Horn, 1965), "
              "then an exploratory factor analysis (minres, oblimin). Model fit was judged by CFI and "
              "TLI ≥ .95, RMSEA ≤ .06 and SRMR ≤ .08 (Hu & Bentler, 1999). Measurement invariance by "
              "group was tested from configural to strict, retaining a level when ΔCFI ≥ −.010 and "
              "ΔRMSEA ≤ .015 (Cheung & Rensvold, 2002; Chen, 2007). Convergent validity required AVE ≥ .50 "
              "and composite reliability ≥ .70; discriminant validity the Fornell–Larcker criterion "
              "(Fornell & Larcker, 1981) and HTMT < .85 with bootstrap CIs (Henseler et al., 2015).",
        "fa": "گویه‌ها از نظر داده‌های گمشده و توزیع غربال شدند؛ گویه‌های معکوس پیش از همه‌ی تحلیل‌ها معکوس "
              "شدند. تحلیل گویه و پایایی مطابق psych (حذف زوجی) است: آلفای کرونباخ با فاصله‌ی فلت و امگای "
              "مک‌دونالد با فاصله‌ی بوت‌استرپ. ابعاد با KMO، آزمون بارتلت و تحلیل موازی (Horn, 1965) و "
              "سپس تحلیل عاملی اکتشافی (minres، oblimin) بررسی شد. برازش با CFI و TLI ≥ ٫۹۵، RMSEA ≤ ٫۰۶ و "
              "SRMR ≤ ٫۰۸ داوری شد (Hu & Bentler, 1999). هم‌ارزی اندازه‌گیری بین گروه‌ها از پیکربندی تا "
              "سخت آزمون شد و سطحی با ΔCFI ≥ −٫۰۱۰ و ΔRMSEA ≤ ٫۰۱۵ پذیرفته شد. روایی همگرا با AVE ≥ ٫۵۰ "
              "و پایایی ترکیبی ≥ ٫۷۰ و روایی واگرا با ملاک فورنل–لارکر و HTMT < ٫۸۵ بررسی شد."},
    "m_screening": {
        "en": "Items were screened for missing responses (Little's MCAR test; Little, 1988), univariate distributions "
              "(skewness, kurtosis, floor and ceiling), multivariate normality (Mardia, 1970) and multivariate "
              "outliers (Mahalanobis distance, classical and MCD; Rousseeuw & Van Driessen, 1999); no case was removed on these grounds.",
        "fa": "گویه‌ها از نظر پاسخ‌های گمشده (آزمون MCAR لیتل؛ Little, 1988)، توزیع تک‌متغیری (کجی، کشیدگی، کف و سقف)، "
              "بهنجاری چندمتغیری (ماردیا؛ Mardia, 1970) و داده‌های پرت چندمتغیری (فاصله‌ی ماهالانوبیس، کلاسیک و MCD) غربال "
              "شدند؛ هیچ موردی به این دلایل حذف نشد."},
    "m_reliability": {
        "en": "Reverse-keyed items were reversed before all analyses. Item statistics, Cronbach's alpha "
              "(Feldt 95% CI; Feldt et al., 1987) and McDonald's omega total (percentile bootstrap 95% CI, {nb:d} draws) follow "
              "psych with pairwise deletion (Cronbach, 1951; McDonald, 1999).",
        "fa": "گویه‌های معکوس پیش از همه‌ی تحلیل‌ها معکوس شدند. آماره‌های گویه، آلفای کرونباخ (فاصله‌ی ۹۵٪ فلت) "
              "و امگای کل مک‌دونالد (فاصله‌ی ۹۵٪ بوت‌استرپ صدکی، {nb:d} نمونه) مطابق psych با حذف زوجی محاسبه شدند."},
    "m_reliability_noboot": {
        "en": "Reverse-keyed items were reversed before all analyses. Item statistics, Cronbach's alpha "
              "(Feldt 95% CI; Feldt et al., 1987) and McDonald's omega total follow psych with pairwise deletion (Cronbach, 1951; "
              "McDonald, 1999).",
        "fa": "گویه‌های معکوس پیش از همه‌ی تحلیل‌ها معکوس شدند. آماره‌های گویه، آلفای کرونباخ (فاصله‌ی ۹۵٪ فلت) "
              "و امگای کل مک‌دونالد مطابق psych با حذف زوجی محاسبه شدند."},
    "m_efa": {
        "en": "Dimensionality was examined with KMO, Bartlett's test, parallel analysis ({n_iter:d} random "
              "data sets, 95th percentile; Horn, 1965) and Velicer's MAP, followed by an exploratory factor "
              "analysis ({method:s} extraction, {rotation:s} rotation) with the hypothesised number of factors.",
        "fa": "ابعاد با KMO، آزمون بارتلت، تحلیل موازی ({n_iter:d} مجموعه‌داده‌ی تصادفی، صدک ۹۵؛ Horn, 1965) و "
              "MAP ولیسر بررسی شد و سپس تحلیل عاملی اکتشافی (استخراج {method:s}، چرخش {rotation:s}) با تعداد "
              "عامل‌های فرضی انجام شد."},
    "m_split_half": {
        "en": "For cross-validation the sample was split at random (stratified by group): the EFA on one "
              "half, the CFA of the hypothesised structure on the other.",
        "fa": "برای اعتبارسنجی متقابل، نمونه به‌طور تصادفی (طبقه‌بندی‌شده بر اساس گروه) دو نیم شد: تحلیل اکتشافی "
              "روی یک نیمه و تحلیل تأییدی ساختار فرضی روی نیمه‌ی دیگر."},
    "m_fit": {
        "en": "Model fit was judged by CFI and TLI ≥ .95, RMSEA ≤ .06 and SRMR ≤ .08 (Hu & Bentler, 1999).",
        "fa": "برازش مدل با CFI و TLI ≥ ٫۹۵، RMSEA ≤ ٫۰۶ و SRMR ≤ ٫۰۸ داوری شد (Hu & Bentler, 1999)."},
    "m_invariance": {"en": 'Measurement invariance across the groups of {group:s} was tested from configural to metric, scalar and strict; a level was retained when ΔCFI ≥ −.010, ΔRMSEA ≤ .015 and ΔSRMR ≤ .030 (metric) or ≤ .015 (scalar, strict) (Chen, 2007). When a level failed, equality constraints were released one at a time by score tests (partial invariance; Byrne, Shavelson & Muthén, 1989); the (scaled) χ² difference test (Satorra & Bentler, 2001) is reported alongside.',
        "fa": 'هم\u200cارزی اندازه\u200cگیری بین گروه\u200cهای {group:s} از پیکربندی تا متریک، عددی و سخت آزمون شد؛ سطحی پذیرفته شد که ΔCFI ≥ −٫۰۱۰، ΔRMSEA ≤ ٫۰۱۵ و ΔSRMR ≤ ٫۰۳۰ (متریک) یا ≤ ٫۰۱۵ (عددی، سخت) باشد (Chen, 2007). اگر سطحی رد می\u200cشد، قیدهای برابری با آزمون\u200cهای نمره یکی\u200cیکی آزاد شدند (هم\u200cارزی جزئی؛ Byrne, Shavelson & Muthén, 1989)؛ آزمون تفاوت χ² (مقیاس\u200cشده) نیز گزارش شده است.'},
    "m_validity": {
        "en": "Convergent validity was judged by AVE ≥ .50 and composite reliability ≥ .70 in the full "
              "measurement model; discriminant validity by the Fornell–Larcker criterion (Fornell & Larcker, "
              "1981) and HTMT < .85 with percentile bootstrap 95% CIs ({nb:d} draws; Henseler et al., 2015).",
        "fa": "روایی همگرا با AVE ≥ ٫۵۰ و پایایی ترکیبی ≥ ٫۷۰ در مدل اندازه‌گیری کامل و روایی واگرا با ملاک "
              "فورنل–لارکر و HTMT < ٫۸۵ با فاصله‌ی ۹۵٪ بوت‌استرپ صدکی ({nb:d} نمونه) داوری شد."},
    "m_structural": {
        "en": "The structural model of the study file was fitted with the same estimator; indirect and total "
              "effects were defined as products and sums of path coefficients.",
        "fa": "مدل ساختاری فایل مطالعه با همان برآوردگر برازش شد؛ اثرهای غیرمستقیم و کل به‌صورت حاصل‌ضرب و "
              "مجموع ضرایب مسیر تعریف شدند."},
    "m_structural_boot": {
        "en": "The structural model of the study file was fitted with the same estimator; indirect and total "
              "effects were defined as products and sums of path coefficients, with percentile bootstrap 95% "
              "CIs ({nb:d} of {R:d} draws successful; cases resampled within groups and the model refitted "
              "to each draw).",
        "fa": "مدل ساختاری فایل مطالعه با همان برآوردگر برازش شد؛ اثرهای غیرمستقیم و کل به‌صورت حاصل‌ضرب و "
              "مجموع ضرایب مسیر تعریف شدند، با فاصله‌ی اطمینان ۹۵٪ بوت‌استرپ صدکی ({nb:d} از {R:d} نمونه موفق)."},
    "n_few_draws": {"en": "Only {R} draws were used (quick run); for publication use 1,000 or more "
                          "(psychometrics validate ... --sem-bootstrap 1000).",
                    "fa": "تنها {R} نمونه به کار رفت (اجرای سریع)؛ برای انتشار ۱۰۰۰ نمونه یا بیشتر به کار ببرید "
                          "(psychometrics validate ... --sem-bootstrap 1000)."},
    "m_seed": {"en": "All random draws used the seed {seed:d}.",
               "fa": "همه‌ی نمونه‌گیری‌های تصادفی با بذر {seed:d} انجام شد."},
    "p_software": {
        "en": "Analyses were run with psychometrics {version:s} (Python {python:s}); random seed "
              "{seed:d}; {nb:d} bootstrap draws. Numbers agree with lavaan 0.6 (Rosseel, 2012), psych (Revelle, 2022) "
              "and semTools (Jorgensen et al., 2022) (see the package's tests).",
        "fa": "تحلیل‌ها با psychometrics نسخه‌ی {version:s} (پایتون {python:s}) انجام شد؛ بذر تصادفی {seed:d}؛ "
              "{nb:d} نمونه‌ی بوت‌استرپ. اعداد با lavaan 0.6 (Rosseel, 2012)، psych (Revelle, 2022) و semTools (Jorgensen et al., 2022) همخوان‌اند."},
})

# ---------------------------------------------------------------------------------------------
# Added for issue 9 (APA pages): keep new keys in this block.
REFERENCES = [
    "Arbuckle, J. L. (1996). Full information estimation in the presence of incomplete data. In "
    "G. A. Marcoulides & R. E. Schumacker (Eds.), *Advanced structural equation modeling: Issues and "
    "techniques* (pp. 243–277). Lawrence Erlbaum Associates.",
    "Byrne, B. M., Shavelson, R. J., & Muthén, B. (1989). Testing for the equivalence of factor "
    "covariance and mean structures: The issue of partial measurement invariance. *Psychological "
    "Bulletin*, *105*(3), 456–466. https://doi.org/10.1037/0033-2909.105.3.456",
    "Chen, F. F. (2007). Sensitivity of goodness of fit indexes to lack of measurement invariance. "
    "*Structural Equation Modeling*, *14*(3), 464–504. https://doi.org/10.1080/10705510701301834",
    "Cheung, G. W., & Rensvold, R. B. (2002). Evaluating goodness-of-fit indexes for testing "
    "measurement invariance. *Structural Equation Modeling*, *9*(2), 233–255. "
    "https://doi.org/10.1207/S15328007SEM0902_5",
    "Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests. *Psychometrika*, "
    "*16*(3), 297–334. https://doi.org/10.1007/BF02310555",
    "Feldt, L. S., Woodruff, D. J., & Salih, F. A. (1987). Statistical inference for coefficient "
    "alpha. *Applied Psychological Measurement*, *11*(1), 93–103. "
    "https://doi.org/10.1177/014662168701100107",
    "Fornell, C., & Larcker, D. F. (1981). Evaluating structural equation models with unobservable "
    "variables and measurement error. *Journal of Marketing Research*, *18*(1), 39–50. "
    "https://doi.org/10.1177/002224378101800104",
    "Henseler, J., Ringle, C. M., & Sarstedt, M. (2015). A new criterion for assessing discriminant "
    "validity in variance-based structural equation modeling. *Journal of the Academy of Marketing "
    "Science*, *43*(1), 115–135. https://doi.org/10.1007/s11747-014-0403-8",
    "Horn, J. L. (1965). A rationale and test for the number of factors in factor analysis. "
    "*Psychometrika*, *30*(2), 179–185. https://doi.org/10.1007/BF02289447",
    "Hu, L., & Bentler, P. M. (1999). Cutoff criteria for fit indexes in covariance structure "
    "analysis: Conventional criteria versus new alternatives. *Structural Equation Modeling*, *6*(1), "
    "1–55. https://doi.org/10.1080/10705519909540118",
    "Jorgensen, T. D., Pornprasertmanit, S., Schoemann, A. M., & Rosseel, Y. (2022). *semTools: Useful "
    "tools for structural equation modeling* (R package version 0.5-6) [Computer software]. "
    "https://CRAN.R-project.org/package=semTools",
    "Kaiser, H. F. (1960). The application of electronic computers to factor analysis. *Educational "
    "and Psychological Measurement*, *20*(1), 141–151. https://doi.org/10.1177/001316446002000116",
    "Little, R. J. A. (1988). A test of missing completely at random for multivariate data with "
    "missing values. *Journal of the American Statistical Association*, *83*(404), 1198–1202. "
    "https://doi.org/10.1080/01621459.1988.10478722",
    "Mardia, K. V. (1970). Measures of multivariate skewness and kurtosis with applications. "
    "*Biometrika*, *57*(3), 519–530. https://doi.org/10.1093/biomet/57.3.519",
    "McDonald, R. P. (1999). *Test theory: A unified treatment*. Lawrence Erlbaum Associates.",
    "Raîche, G., Walls, T. A., Magis, D., Riopel, M., & Blais, J.-G. (2013). Non-graphical solutions "
    "for Cattell's scree test. *Methodology*, *9*(1), 23–29. https://doi.org/10.1027/1614-2241/a000051",
    "Revelle, W. (2022). *psych: Procedures for psychological, psychometric, and personality "
    "research* (R package version 2.2.9) [Computer software]. https://CRAN.R-project.org/package=psych",
    "Rosseel, Y. (2012). lavaan: An R package for structural equation modeling. *Journal of "
    "Statistical Software*, *48*(2), 1–36. https://doi.org/10.18637/jss.v048.i02",
    "Rousseeuw, P. J., & Van Driessen, K. (1999). A fast algorithm for the minimum covariance "
    "determinant estimator. *Technometrics*, *41*(3), 212–223. https://doi.org/10.1080/00401706.1999.10485670",
    "Satorra, A., & Bentler, P. M. (2001). A scaled difference chi-square test statistic for moment "
    "structure analysis. *Psychometrika*, *66*(4), 507–514. https://doi.org/10.1007/BF02296192",
    "Velicer, W. F. (1976). Determining the number of components from the matrix of partial "
    "correlations. *Psychometrika*, *41*(3), 321–327. https://doi.org/10.1007/BF02293557",
    "Velicer, W. F., Eaton, C. A., & Fava, J. L. (2000). Construct explication through factor or "
    "component analysis: A review and evaluation of alternative procedures for determining the "
    "number of factors or components. In R. D. Goffin & E. Helmes (Eds.), *Problems and solutions in "
    "human assessment* (pp. 41–71). Springer. https://doi.org/10.1007/978-1-4615-4397-8_3",
    "Yuan, K.-H., & Bentler, P. M. (2000). Three likelihood-based methods for mean and covariance "
    "structure analysis with nonnormal missing data. *Sociological Methodology*, *30*(1), 165–200. "
    "https://doi.org/10.1111/0081-1750.00078",
]

TEXT.update({
    # the reference list (APA 7: journal names and volumes in italics, marked *...*); references
    # stay in their own language in a Persian report
    "references": {"en": "\n".join(REFERENCES)},
    "partial": {"en": "partial", "fa": "جزئی"},
    "l_figure_note": {"en": "Figure", "fa": "شکل"},
    "sec_figures": {"en": "Figures", "fa": "شکل‌ها"},
    "no_mcar": {"en": "No response is missing, so Little's MCAR test does not apply.",
                "fa": "هیچ پاسخی گمشده نیست؛ بنابراین آزمون MCAR لیتل کاربرد ندارد."},
    "continued": {"en": "continued", "fa": "ادامه"},
    "c_title": {"en": "Title", "fa": "عنوان"},
    "c_row": {"en": "Row", "fa": "ردیف"},
    "c_sheet": {"en": "Sheet", "fa": "برگه"},
})

#: Column headers: a column name or the (English) label a step gave it -> readable header per
#: language.  ``*x*`` marks italics, ``_{x}`` a subscript (see psychometrics.report.fmt).
HEADERS: dict[str, dict[str, str]] = {
    "r_drop": {"en": "Corrected item–total *r*", "fa": "همبستگی اصلاح‌شده‌ی گویه–کل"},
    "alpha_if_deleted": {"en": "α if item deleted", "fa": "α در صورت حذف"},
    "ω_t": {"en": "ω_{t}", "fa": "ω_{t}"},
    "ω_h": {"en": "ω_{h}", "fa": "ω_{h}"},
    "α 95% CI lower": {"en": "α 95% CI lower", "fa": "کران پایین ۹۵٪ α"},
    "α 95% CI upper": {"en": "α 95% CI upper", "fa": "کران بالای ۹۵٪ α"},
    "ω_t 95% CI lower": {"en": "ω_{t} 95% CI lower", "fa": "کران پایین ۹۵٪ ω_{t}"},
    "ω_t 95% CI upper": {"en": "ω_{t} 95% CI upper", "fa": "کران بالای ۹۵٪ ω_{t}"},
    "95% CI lower": {"en": "95% CI lower", "fa": "کران پایین فاصله‌ی ۹۵٪"},
    "95% CI upper": {"en": "95% CI upper", "fa": "کران بالای فاصله‌ی ۹۵٪"},
    "ci_lower": {"en": "95% CI lower", "fa": "کران پایین فاصله‌ی ۹۵٪"},
    "ci_upper": {"en": "95% CI upper", "fa": "کران بالای فاصله‌ی ۹۵٪"},
    "RMSEA 90% CI lower": {"en": "RMSEA 90% CI lower", "fa": "کران پایین ۹۰٪ RMSEA"},
    "RMSEA 90% CI upper": {"en": "RMSEA 90% CI upper", "fa": "کران بالای ۹۰٪ RMSEA"},
    "h2": {"en": "*h*²", "fa": "*h*²"},
    "factor": {"en": "Factor", "fa": "عامل"},
    "loading": {"en": "Loading", "fa": "بار عاملی"},
    "cross_loading": {"en": "Cross-loading", "fa": "بار متقاطع"},
    "χ² scaled": {"en": "Scaled χ²", "fa": "χ² مقیاس‌شده"},
    "p scaled": {"en": "*p* (scaled)", "fa": "*p* (مقیاس‌شده)"},
    "CFI robust": {"en": "Robust CFI", "fa": "CFI استوار"},
    "TLI robust": {"en": "Robust TLI", "fa": "TLI استوار"},
    "RMSEA robust": {"en": "Robust RMSEA", "fa": "RMSEA استوار"},
    "min": {"en": "Min", "fa": "کمینه"},
    "max": {"en": "Max", "fa": "بیشینه"},
    "max |r|": {"en": "Max |*r*|", "fa": "بیشینه‌ی |*r*|"},
    "< .85": {"en": "HTMT < .85", "fa": "HTMT < ٫۸۵"},
    "AVE ≥ .50": {"en": "AVE ≥ .50", "fa": "AVE ≥ ٫۵۰"},
    "CR ≥ .70": {"en": "CR ≥ .70", "fa": "CR ≥ ٫۷۰"},
    "Fornell–Larcker": {"en": "Fornell–Larcker met", "fa": "ملاک فورنل–لارکر"},
    "est": {"en": "*B*", "fa": "*B*"},
    "se": {"en": "*SE*", "fa": "*SE*"},
    "pvalue": {"en": "*p*", "fa": "*p*"},
    "std_all": {"en": "β", "fa": "β"},
    "mean": {"en": "*M*", "fa": "*M*"},
    "sd": {"en": "*SD*", "fa": "*SD*"},
    "n_items": {"en": "*k*", "fa": "*k*"},
    "salient": {"en": "Salient", "fa": "برجسته"},
    "reverse": {"en": "Reverse-keyed", "fa": "معکوس"},
}

#: Fixed cell texts that analyses write in English (factor-number criteria and their
#: references, decisions): English text -> Persian.
CELL_TEXT_FA: dict[str, str] = {
    "Kaiser: eigenvalues > 1": "کایزر: مقدارهای ویژه‌ی بزرگ‌تر از ۱",
    "Parallel analysis, components": "تحلیل موازی، مؤلفه‌ها",
    "Parallel analysis, factors": "تحلیل موازی، عامل‌ها",
    "MAP, squared partials": "MAP، مجذور همبستگی‌های جزئی",
    "MAP, fourth powers": "MAP، توان چهارم همبستگی‌های جزئی",
    "Scree, optimal coordinates": "اسکری، مختصات بهینه",
    "Scree, acceleration factor": "اسکری، عامل شتاب",
    "Horn (1965); psych::fa.parallel, 95th percentile": "Horn (1965)؛ psych::fa.parallel، صدک ۹۵",
    "Velicer (1976); psych::VSS": "Velicer (1976)؛ psych::VSS",
    "Raiche et al. (2013); nFactors::nScree against the parallel-analysis percentile":
        "Raiche et al. (2013)؛ nFactors::nScree در برابر صدک تحلیل موازی",
    "Raiche et al. (2013); nFactors::nScree": "Raiche et al. (2013)؛ nFactors::nScree",
    "baseline": "پایه", "invariant": "هم‌ارز", "not invariant": "ناهم‌ارز",
    "partially invariant": "هم‌ارز جزئی", "undecided": "نامشخص",
    "missing code": "کد گمشده", "total": "کل",
    # why a fit is not a result (CFAFit.PROBLEM_CODES), after "not evaluated: "
    "not evaluated": "ارزیابی نشد",
    "the model did not converge": "مدل همگرا نشد",
    "the information matrix is singular (the model may not be identified)":
        "ماتریس اطلاعات منفرد است (مدل ممکن است شناسا نباشد)",
    "the sample covariance matrix is not positive definite": "ماتریس کوواریانس نمونه معین مثبت نیست",
}


# translation studies: comparison with the original version (issue 11)
TEXT.update({
    "t_congruence": {"en": "{name}: loadings of the original and the translated version",
                     "fa": "{name}: بارهای عاملی نسخه‌ی اصلی و نسخه‌ی ترجمه‌شده"},
    "n_congruence": {
        "en": "Original loadings as published ({citation}); the translation's EFA was rotated to them "
              "({rotation}, Procrustes target rotation). Tucker's congruence per factor: {factors}; "
              "overall {overall}. Lorenzo-Seva & ten Berge (2006): .95 or more, the factors can be "
              "considered equal; .85 to .94, fair similarity.",
        "fa": "بارهای نسخه‌ی اصلی همان‌گونه که منتشر شده‌اند ({citation})؛ تحلیل عاملی نسخه‌ی ترجمه به "
              "سوی آن‌ها چرخانده شد ({rotation}، چرخش هدف پروکراستس). ضریب همخوانی تاکر برای هر عامل: "
              "{factors}؛ کل {overall}. لورنزو-سوا و تن برگه (۲۰۰۶): ۰٫۹۵ یا بیشتر، عامل‌ها برابرند؛ "
              "۰٫۸۵ تا ۰٫۹۴، شباهت قابل قبول."},
    "c_original": {"en": "original", "fa": "اصلی"},
    "c_translation": {"en": "translation", "fa": "ترجمه"},
    "c_congruence": {"en": "Congruence", "fa": "همخوانی"},
    "c_similarity": {"en": "Similarity", "fa": "شباهت"},
    "cong_equal": {"en": "equal", "fa": "برابر"},
    "cong_fair": {"en": "fair similarity", "fa": "شباهت قابل قبول"},
    "cong_not_similar": {"en": "not similar", "fa": "ناهمسان"},
})


#: Persian wording of the analyses' warnings (English messages of the result objects):
#: (regular expression, Persian template with the groups \1, \2 ...); the first match wins
WARNINGS_FA: list[tuple[str, str]] = [
    (r"negative variance of (\S+) in group (.+?) \((\S+)\) \(Heywood case\)",
     r"واریانس منفی \1 در گروه \2 (\3) (مورد هیوود)"),
    (r"sample covariance matrix of group (.+?) is not positive definite \(smallest eigenvalue (\S+)\)",
     r"ماتریس کوواریانس نمونه‌ی گروه \1 معین مثبت نیست (کوچک‌ترین مقدار ویژه \2)"),
    (r"model-implied covariance matrix of group (.+?) is not positive definite at the estimates",
     r"ماتریس کوواریانس برآوردشده‌ی مدل در گروه \1 معین مثبت نیست"),
    (r"latent \(residual\) covariance matrix of group (.+?) is not positive definite \(smallest eigenvalue (\S+)\)",
     r"ماتریس کوواریانس متغیرهای مکنون گروه \1 معین مثبت نیست (کوچک‌ترین مقدار ویژه \2)"),
    (r"the optimiser did not converge \((.*)\)", r"بهینه‌ساز همگرا نشد (\1)"),
    (r"the information matrix is singular.*", r"ماتریس اطلاعات منفرد است: مدل ممکن است شناسا نباشد (خطای معیار در دسترس نیست)"),
    (r"the information matrix could not be computed", r"ماتریس اطلاعات محاسبه نشد"),
    (r"the model has negative degrees of freedom \((.+)\)", r"درجه‌ی آزادی مدل منفی است (\1)"),
    (r"(\d+) cases for (\d+) free parameters: too few cases", r"\1 مورد برای \2 پارامتر آزاد: تعداد موردها کم است"),
    (r"Heywood case: a uniqueness reached its lower bound.*", r"مورد هیوود: یک واریانس یکتا به کران پایین خود رسید"),
    (r"oblimin rotation did not converge.*", r"چرخش oblimin همگرا نشد"),
    (r"minres factor analysis did not converge: (.*)", r"تحلیل عاملی minres همگرا نشد: \1"),
    (r"the pairwise (covariance|correlation) matrix is not positive definite.*",
     r"ماتریس کوواریانس/همبستگی زوجی معین مثبت نیست"),
    (r"(\d+) of (\d+) bootstrap (?:samples|draws) .*(?:dropped)",
     r"\1 نمونه از \2 نمونه‌ی بوت‌استرپ کنار گذاشته شد"),
    (r"(\d+) bootstrap draws? gave nonadmissible solutions? .*",
     r"\1 نمونه‌ی بوت‌استرپ جواب ناپذیرفتنی (واریانس منفی) داد"),
    (r"a factor correlation exceeds 1 in absolute value \(Heywood case\)",
     r"قدر مطلق یک همبستگی عاملی از ۱ بیشتر است (مورد هیوود)"),
    (r"a factor variance is not positive \(Heywood case\).*", r"واریانس یک عامل مثبت نیست (مورد هیوود)"),
    (r"analysis failed \((.*)\)", r"تحلیل انجام نشد (\1)"),
    (r"could not be drawn \((.*)\)", r"رسم نشد (\1)"),
]


def warning_text(message: str, lang: str = "en") -> str:
    """A warning in the report language ("where: message"; the message part translated when
    a pattern of :data:`WARNINGS_FA` matches, else kept as the analysis wrote it)."""
    if lang != "fa":
        return message
    import re
    where, sep, msg = str(message).partition(": ")
    if not sep:
        where, msg = "", where
    for pat, fa in WARNINGS_FA:
        m = re.fullmatch(pat, msg.strip())
        if m:
            return (where + sep if where else "") + m.expand(fa)
    return message


# -- figures and the tables papers expect (scale descriptives, EFA variance and factor
#    correlations, local fit, partial invariance, reverse-keyed items) -------------------------
TEXT.update({
    "n_reversed_mark": {"en": "(R) = reverse-keyed item (reversed before the analysis).",
                        "fa": "(R) = گویه‌ی معکوس (پیش از تحلیل معکوس شد)."},
    "p_screening_complete": {
        "en": "No item response is missing, so Little's MCAR test does not apply. Mardia's "
              "multivariate skewness b1p = {b1p:f2} (p {p_skew:pe}) and kurtosis b2p = {b2p:f2} "
              "(p {p_kurt:pe}), n = {n_mardia:d} complete cases. Multivariate outliers (squared "
              "Mahalanobis distance, α = {alpha:f3}): {out_cl:d} classical, {out_mcd:d} robust (MCD); "
              "no case was removed.",
        "fa": "هیچ پاسخی گمشده نیست؛ بنابراین آزمون MCAR لیتل کاربرد ندارد. کجی چندمتغیری ماردیا "
              "b1p = {b1p:f2} (p {p_skew:pe}) و کشیدگی b2p = {b2p:f2} (p {p_kurt:pe})، n = {n_mardia:d} "
              "مورد کامل. داده‌های پرت چندمتغیری (فاصله‌ی ماهالانوبیس، α = {alpha:f3}): {out_cl:d} کلاسیک، "
              "{out_mcd:d} استوار (MCD)؛ هیچ موردی حذف نشد."},
    "l_all_cases": {"en": "all cases", "fa": "همه‌ی موارد"},
    "f_by_group": {"en": " by group", "fa": " به تفکیک گروه"},
    "f_distributions2": {"en": "Response distributions of the {name} items{by_group}",
                         "fa": "توزیع پاسخ‌های گویه‌های {name}{by_group}"},
    "f_histograms": {"en": "Histograms (density scale) of the {name} items with many distinct values{by_group}",
                     "fa": "نمودار ستونی فراوانی (مقیاس چگالی) گویه‌های {name} با مقادیر متمایز فراوان{by_group}"},
    "l_proportion": {"en": "Proportion of responses", "fa": "نسبت پاسخ‌ها"},
    "l_density": {"en": "Density", "fa": "چگالی"},
    "sec_scales": {"en": "Scale scores: descriptive statistics and intercorrelations",
                   "fa": "نمره‌های مقیاس: آمار توصیفی و همبستگی‌ها"},
    "t_scale_descriptives": {"en": "Means, Standard Deviations, Reliabilities and Correlations of "
                                   "the Scale Scores",
                             "fa": "میانگین، انحراف معیار، پایایی و همبستگی نمره‌های مقیاس"},
    "t_scale_descriptives_group": {
        "en": "Means, Standard Deviations, Reliabilities and Correlations of the Scale Scores: "
              "{group}",
        "fa": "میانگین، انحراف معیار، پایایی و همبستگی نمره‌های مقیاس: {group}"},
    "n_scale_descriptives": {
        "en": "Scale scores as scored by the instruments' rules (reverse-keyed items reversed, "
              "prorated when few items are missing). M and SD of the available scores; Min and Max "
              "= observed range; ω = McDonald's omega total. The numbered columns give Pearson's r "
              "(pairwise complete cases); values on the diagonal are Cronbach's α. The 95% CIs of "
              "the correlations are in the next table (as apaTables' apa.cor.table).",
        "fa": "نمره‌های مقیاس طبق قواعد هر ابزار (گویه‌های معکوس، معکوس شدند؛ با گمشدگی اندک، نمره "
              "به نسبت تعمیم داده شد). M و SD نمره‌های موجود؛ کمینه و بیشینه = دامنه‌ی مشاهده‌شده؛ "
              "ω = امگای کل مک‌دونالد. ستون‌های شماره‌دار r پیرسون (موارد کامل زوجی) است؛ مقادیر روی "
              "قطر، آلفای کرونباخ است. فاصله‌های اطمینان ۹۵٪ همبستگی‌ها در جدول بعد آمده است."},
    "t_scale_correlations": {"en": "Correlations of the Scale Scores With 95% Confidence Intervals",
                             "fa": "همبستگی نمره‌های مقیاس با فاصله‌ی اطمینان ۹۵٪"},
    "n_scale_correlations": {
        "en": "Pearson's r on pairwise complete cases (all cases); 95% CI by Fisher's z "
              "transformation, p two-sided (R's cor.test). The numbers refer to the scales of the "
              "descriptives table.",
        "fa": "r پیرسون بر پایه‌ی موارد کامل زوجی (همه‌ی موارد)؛ فاصله‌ی اطمینان ۹۵٪ با تبدیل z فیشر، "
              "p دوطرفه (cor.test در R). شماره‌ها به مقیاس‌های جدول آمار توصیفی اشاره دارند."},
    "c_pair_scales": {"en": "Pair of scales", "fa": "جفت مقیاس‌ها"},
    "t_scale_correlations_group": {
        "en": "Correlations of the Scale Scores With 95% Confidence Intervals: {group}",
        "fa": "همبستگی نمره‌های مقیاس با فاصله‌ی اطمینان ۹۵٪: {group}"},
    "n_scale_correlations_group": {
        "en": "Pearson's r on pairwise complete cases of the group {group}; 95% CI by Fisher's z "
              "transformation, p two-sided (R's cor.test). The numbers refer to the scales of the "
              "descriptives table.",
        "fa": "r پیرسون بر پایه‌ی موارد کامل زوجی گروه {group}؛ فاصله‌ی اطمینان ۹۵٪ با تبدیل z فیشر، "
              "p دوطرفه (cor.test در R). شماره‌ها به مقیاس‌های جدول آمار توصیفی اشاره دارند."},
    "c_min": {"en": "Min", "fa": "کمینه"},
    "c_max": {"en": "Max", "fa": "بیشینه"},
    "n_salient": {"en": "Salient loadings (|λ| ≥ {cut}) are set in bold and listed in the last "
                        "column.",
                  "fa": "بارهای برجسته (|λ| ≥ {cut}) پررنگ‌اند و در ستون آخر فهرست شده‌اند."},
    "c_salient": {"en": "Salient (|λ| ≥ {cut})", "fa": "برجسته (|λ| ≥ {cut})"},
    "t_efa_variance": {"en": "Exploratory Factor Analysis: Variance Explained by the Factors of {name}",
                       "fa": "تحلیل عاملی اکتشافی: واریانس تبیین‌شده توسط عامل‌های {name}"},
    "n_efa_variance": {"en": "Sums of squared loadings after rotation, the proportion of the total "
                             "item variance they explain and its cumulative sum (psych's "
                             "Vaccounted).",
                       "fa": "مجموع مجذور بارها پس از چرخش، نسبت واریانس کل گویه‌ها که تبیین می‌کنند و "
                             "مجموع تجمعی آن (Vaccounted در psych)."},
    "c_ss_loadings": {"en": "SS loadings", "fa": "مجموع مجذور بارها"},
    "c_prop_var": {"en": "Proportion of variance", "fa": "نسبت واریانس"},
    "c_cum_var": {"en": "Cumulative proportion", "fa": "نسبت تجمعی"},
    "t_efa_phi": {"en": "Exploratory Factor Analysis: Factor Correlations of {name}",
                  "fa": "تحلیل عاملی اکتشافی: همبستگی عامل‌های {name}"},
    "n_efa_phi": {"en": "Correlations of the factors after {rotation} rotation (Φ).",
                  "fa": "همبستگی عامل‌ها پس از چرخش {rotation} (Φ)."},
    "c_intercept_of": {"en": "intercept of {name}", "fa": "عرض از مبدأ {name}"},
    "op_variance": {"en": "variance", "fa": "واریانس"},
    "op_loading": {"en": "loading", "fa": "بار عاملی"},
    "op_regression": {"en": "regression", "fa": "رگرسیون"},
    "op_covariance": {"en": "covariance", "fa": "کوواریانس"},
    "op_intercept": {"en": "intercept", "fa": "عرض از مبدأ"},
    "op_other": {"en": "parameter", "fa": "پارامتر"},
    "t_modindices": {"en": "Modification Indices: {name}", "fa": "شاخص‌های اصلاح: {name}"},
    "n_modindices": {
        "en": "Parameters not in the model whose modification index (expected drop of χ² with 1 df "
              "when freed; lavaan's modindices) is at least {cut}. EPC = expected parameter change; "
              "standardised EPC as lavaan's sepc.all. A parameter should be freed only when it makes "
              "theoretical sense.",
        "fa": "پارامترهای خارج از مدل که شاخص اصلاح آن‌ها (کاهش مورد انتظار χ² با ۱ درجه‌ی آزادی در صورت "
              "آزادسازی؛ modindices در lavaan) دست‌کم {cut} است. EPC = تغییر مورد انتظار پارامتر؛ EPC "
              "استانداردشده مانند sepc.all در lavaan. پارامتری را فقط وقتی آزاد کنید که از نظر نظری معنا دارد."},
    "c_parameter": {"en": "Parameter", "fa": "پارامتر"},
    "no_modindices": {"en": "Modification indices are not available for this model: {reason}",
                      "fa": "شاخص‌های اصلاح برای این مدل در دسترس نیست: {reason}"},
    "c_type": {"en": "Type", "fa": "نوع"},
    "c_sepc_all": {"en": "Standardised EPC", "fa": "EPC استانداردشده"},
    "p_no_modindices": {
        "en": "No modification index reached {cut:f0} (largest: {largest:f2}, {param:s}).",
        "fa": "هیچ شاخص اصلاحی به {cut:f0} نرسید (بزرگ‌ترین: {largest:f2}، {param:s})."},
    "t_residuals": {"en": "Largest Residual Correlations: {name}",
                    "fa": "بزرگ‌ترین همبستگی‌های باقی‌مانده: {name}"},
    "n_residuals": {
        "en": "Observed minus model-implied correlations (lavaan's residuals, type = \"cor\") with "
              "|r| ≥ {cut}, largest first; such pairs share variance the model does not explain.",
        "fa": "همبستگی مشاهده‌شده منهای همبستگی برآوردشده‌ی مدل (residuals در lavaan، type = \"cor\") با "
              "|r| ≥ {cut}، به ترتیب بزرگی؛ این جفت‌ها واریانسی مشترک دارند که مدل تبیین نمی‌کند."},
    "c_pair_items": {"en": "Pair of variables", "fa": "جفت متغیرها"},
    "c_residual_r": {"en": "Residual r", "fa": "r باقی‌مانده"},
    "p_no_residuals": {
        "en": "No residual correlation reached {cut:r} in absolute value (largest: {largest:r3}, "
              "{pair:s}).",
        "fa": "هیچ همبستگی باقی‌مانده‌ای در قدر مطلق به {cut:r} نرسید (بزرگ‌ترین: {largest:r3}، {pair:s})."},
    "n_invariance_table": {
        "en": "Each level adds equality constraints to the previous one (metric: loadings; scalar: + "
              "intercepts; strict: + residual variances). A level is retained when ΔCFI ≥ −.010, "
              "ΔRMSEA ≤ .015 and ΔSRMR ≤ .030 (metric) or ≤ .015 (scalar, strict) (Chen, 2007); "
              "partial levels release the constraints listed in the table of released parameters.",
        "fa": "هر سطح قیدهای برابری را به سطح قبل می‌افزاید (متریک: بارها؛ عددی: + عرض از مبدأها؛ سخت: + "
              "واریانس‌های خطا). سطحی پذیرفته می‌شود که ΔCFI ≥ −٫۰۱۰، ΔRMSEA ≤ ٫۰۱۵ و ΔSRMR ≤ ٫۰۳۰ (متریک) "
              "یا ≤ ٫۰۱۵ (عددی، سخت) باشد (Chen, 2007)؛ سطح‌های جزئی قیدهای جدول پارامترهای آزادشده را "
              "آزاد می‌کنند."},
    "lv_partial_of": {"en": "{level}, partial", "fa": "{level}، جزئی"},
    "f_invariance_delta": {
        "en": "Change in CFI and RMSEA at each invariance level against the previous level, with "
              "the cut-offs of Chen (2007): {name}",
        "fa": "تغییر CFI و RMSEA در هر سطح هم‌ارزی نسبت به سطح قبل، با نقاط برش چن (۲۰۰۷): {name}"},
    "l_chen_cutoff": {"en": "Cut-off (Chen, 2007)", "fa": "نقطه‌ی برش (Chen, 2007)"},
    "t_partial": {"en": "Partial Invariance: Released Equality Constraints of {name}",
                  "fa": "هم‌ارزی جزئی: قیدهای برابری آزادشده‌ی {name}"},
    "n_partial": {
        "en": "Constraints released one at a time, in the order shown, while a level failed the "
              "decision rule: each time the constraint with the largest score test (lavaan's "
              "lavTestScore; χ², df, p) among those that leave every factor at least two invariant "
              "indicators (Byrne, Shavelson & Muthén, 1989). The parameter is freed in every group.",
        "fa": "قیدها یکی‌یکی و به ترتیب نشان‌داده‌شده آزاد شدند، تا زمانی که سطحی قاعده‌ی تصمیم را برآورده "
              "نمی‌کرد: هر بار قیدی با بزرگ‌ترین آزمون نمره (lavTestScore در lavaan؛ χ²، df، p) از میان "
              "قیدهایی که برای هر عامل دست‌کم دو نشانگر هم‌ارز باقی می‌گذارند (Byrne, Shavelson & Muthén, "
              "1989). پارامتر در همه‌ی گروه‌ها آزاد می‌شود."},
    "c_order": {"en": "Step", "fa": "گام"},
    "c_reason": {"en": "Reason", "fa": "دلیل"},
    "reason_released": {
        "en": "largest score test among the {level} constraints while that level failed",
        "fa": "بزرگ‌ترین آزمون نمره در میان قیدهای سطح {level} هنگامی که آن سطح رد شد"},
    "f_structural": {"en": "Structural model with standardised estimates (latent variables)",
                     "fa": "مدل ساختاری با برآوردهای استانداردشده (متغیرهای پنهان)"},
})


def tr(key: str, lang: str = "en") -> str:
    entry = TEXT.get(key)
    if entry is None:
        return key
    return entry.get(lang) or entry["en"]


def trf(key: str, lang: str = "en", **values) -> str:
    """``tr`` with ``str.format`` placeholders filled; numbers get the language's digits."""
    from .fmt import fmt_number, plurals
    vals = {}
    for k, v in values.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            # fixed English phrases of the analyses (e.g. the reason of a recode) translated
            vals[k] = CELL_TEXT_FA.get(v, v) if lang == "fa" and isinstance(v, str) else v
        else:
            vals[k] = fmt_number(v, "d" if float(v).is_integer() else "f2", lang)
    return _KeepUnknown().vformat(plurals(tr(key, lang), values), (), vals)


class _KeepUnknown(__import__("string").Formatter):
    """str.format that leaves ``{name}`` of no value as it is (the ``_{t}`` subscript marks
    of :mod:`psychometrics.report.fmt` in notes)."""

    def get_value(self, key, args, kwargs):
        if isinstance(key, str) and key not in kwargs:
            return "{" + key + "}"
        return super().get_value(key, args, kwargs)


# ordinal items (WLSMV, issue 10)
TEXT.update({
    "lv_thresholds": {"en": "thresholds", "fa": "آستانه‌ها"},
    "n_reliability_ordinal": {
        "en": "Ordinal items: ordinal α = alpha of the polychoric correlations (Zumbo, Gadermann & "
              "Zeisser, 2007); categorical ω = omega of the summed ordinal scores from a one-factor "
              "WLSMV model (Green & Yang, 2009; semTools compRelSEM).",
        "fa": "گویه‌های ترتیبی: α ترتیبی = آلفای همبستگی‌های پلی‌کوریک (Zumbo, Gadermann & Zeisser, 2007)؛ "
              "ω طبقه‌ای = امگای نمره‌ی جمع گویه‌های ترتیبی از مدل تک‌عاملی WLSMV (Green & Yang, 2009)."},
    "n_cfa_ordinal": {
        "en": "Ordinal items: B = unstandardised loading (first loading fixed at 1); β = standardised "
              "loading on the latent-response scale (lavaan std.all). Estimator {estimator} on "
              "polychoric correlations (delta parameterization); missing data: {missing}.",
        "fa": "گویه‌های ترتیبی: B = بار استانداردنشده (بار نخست برابر ۱ ثابت شده)؛ β = بار استاندارد "
              "در مقیاس پاسخ پنهان (std.all در lavaan). برآوردگر {estimator} روی همبستگی‌های "
              "پلی‌کوریک (پارامتربندی دلتا)؛ داده‌های گمشده: {missing}."},
    "t_thresholds": {"en": "Item Thresholds: {name}", "fa": "آستانه‌های گویه‌ها: {name}"},
    "n_thresholds": {
        "en": "t1, t2, ...: thresholds of the latent response variable between adjacent response "
              "categories (z scale; WLSMV estimates).",
        "fa": "t1، t2، ...: آستانه‌های متغیر پاسخ پنهان میان طبقه‌های پاسخ مجاور (مقیاس z؛ برآوردهای WLSMV)."},
    "n_invariance_ordinal": {
        "en": "Ordinal items (WLSMV, delta parameterization, Wu & Estabrook, 2016): thresholds: equal "
              "thresholds; metric: + loadings; scalar: + intercepts. χ², CFI and RMSEA are the scaled "
              "(mean- and variance-adjusted) values; Δχ² is the scaled-shifted difference test "
              "(lavaan lavTestLRT). A level is retained when ΔCFI ≥ −.010, ΔRMSEA ≤ .015 and ΔSRMR "
              "≤ .030 (metric) or ≤ .015 (other levels) (Chen, 2007).",
        "fa": "گویه‌های ترتیبی (WLSMV، پارامتربندی دلتا، Wu & Estabrook, 2016): آستانه‌ها: آستانه‌های "
              "برابر؛ متریک: + بارها؛ عددی: + عرض از مبدأها. χ²، CFI و RMSEA مقادیر مقیاس‌شده‌اند؛ "
              "Δχ² آزمون تفاوت مقیاس‌شده-جابه‌جاشده است (lavTestLRT در lavaan). سطحی پذیرفته می‌شود که "
              "ΔCFI ≥ −٫۰۱۰، ΔRMSEA ≤ ٫۰۱۵ و ΔSRMR ≤ ٫۰۳۰ (متریک) یا ≤ ٫۰۱۵ (سطوح دیگر) باشد (Chen, 2007)."},
    "m_ordinal": {
        "en": "Items of {names:s} were analysed as ordinal (study setting ordered: true, or ordered: "
              "auto, which treats an instrument as ordinal when every item has fewer than five "
              "observed response categories). Their confirmatory models were fitted to polychoric "
              "correlations by diagonally weighted least squares with robust standard errors and the "
              "mean- and variance-adjusted (scaled-shifted) χ² (WLSMV; Muthén, 1984; Muthén, du Toit & "
              "Spisic, 1997; Li, 2016); measurement invariance was tested from configural to "
              "thresholds, metric and scalar with Wu and Estabrook's (2016) identification; ordinal "
              "alpha (Zumbo, Gadermann & Zeisser, 2007) and categorical omega (Green & Yang, 2009) "
              "are reported where reliability uses the polychoric correlations.",
        "fa": "گویه‌های {names:s} ترتیبی تحلیل شدند (تنظیم ordered: true یا ordered: auto که ابزاری را "
              "ترتیبی می‌گیرد که همه‌ی گویه‌هایش کمتر از پنج طبقه‌ی پاسخ مشاهده‌شده داشته باشند). مدل‌های "
              "تأییدی آن‌ها روی همبستگی‌های پلی‌کوریک با کمترین مجذورات وزنی قطری، خطاهای معیار استوار و "
              "χ² تعدیل‌شده‌ی میانگین و واریانس برآورد شدند (WLSMV؛ Muthén, 1984؛ Muthén, du Toit & "
              "Spisic, 1997؛ Li, 2016)؛ هم‌ارزی اندازه‌گیری از پیکربندی به آستانه‌ها، متریک و عددی با "
              "شناسایی Wu و Estabrook (2016) آزمون شد؛ آلفای ترتیبی (Zumbo, Gadermann & Zeisser, 2007) و "
              "امگای طبقه‌ای (Green & Yang, 2009) گزارش شده‌اند."},
    "references_ordinal": {"en": "\n".join([
        "Green, S. B., & Yang, Y. (2009). Reliability of summed item scores using structural equation "
        "modeling: An alternative to coefficient alpha. Psychometrika, 74(1), 155–167.",
        "Li, C.-H. (2016). Confirmatory factor analysis with ordinal data: Comparing robust maximum "
        "likelihood and diagonally weighted least squares. Behavior Research Methods, 48(3), 936–949.",
        "Muthén, B. (1984). A general structural equation model with dichotomous, ordered "
        "categorical, and continuous latent variable indicators. Psychometrika, 49(1), 115–132.",
        "Muthén, B., du Toit, S. H. C., & Spisic, D. (1997). Robust inference using weighted least "
        "squares and quadratic estimating equations in latent variable modeling with categorical "
        "and continuous outcomes. Unpublished technical report.",
        "Wu, H., & Estabrook, R. (2016). Identification of confirmatory factor analysis models of "
        "different levels of invariance for ordered categorical outcomes. Psychometrika, 81(4), "
        "1014–1045.",
        "Zumbo, B. D., Gadermann, A. M., & Zeisser, C. (2007). Ordinal versions of coefficients "
        "alpha and theta for Likert rating scales. Journal of Modern Applied Statistical Methods, "
        "6(1), 21–29."])},
})
