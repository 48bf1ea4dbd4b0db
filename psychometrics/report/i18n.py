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


def tr(key: str, lang: str = "en") -> str:
    entry = TEXT.get(key)
    if entry is None:
        return key
    return entry.get(lang) or entry["en"]
