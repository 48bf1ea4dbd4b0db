"""The validation report: pipeline, document model and renderers.

Analyses compute, renderers format.  :func:`run_validation` runs every analysis of a
study file and builds a document model (:class:`Report` -> :class:`Section` ->
Paragraph / Table / Figure / WarningList / Code / Notice blocks) plus a results dict;
:func:`write_outputs` renders it as ``results.json``, ``report.html`` (self-contained),
``appendix.docx`` (APA 7 Word tables), ``appendix.tex`` (booktabs) and ``tables.xlsx``;
figures are drawn into ``figures/`` while the pipeline runs.  ``language: fa`` gives a
right-to-left Persian report with Persian digits and the bundled Vazirmatn font
(SIL Open Font License 1.1, ``assets/Vazirmatn-OFL.txt``).

    from psychometrics.report import run_validation, write_outputs
    run = run_validation("examples/study.yaml", "out", bootstrap=1000)
    write_outputs(run, "out")
"""
from __future__ import annotations

from .model import Code, Figure, Notice, Paragraph, Report, Section, Table, WarningList
from .pipeline import ValidationRun, run_validation, write_outputs

__all__ = ["run_validation", "write_outputs", "ValidationRun", "Report", "Section", "Paragraph",
           "Table", "Figure", "WarningList", "Code", "Notice"]
