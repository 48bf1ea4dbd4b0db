"""The suite's own error and warning types.

Every problem a user can cause (a bad data file, a bad study file, bad model
syntax) raises a subclass of :class:`PsychometricsError` with a message that
names the file, row, column and value.  The command line prints the message
and exits with status 2 instead of showing a traceback.

Numerical trouble found while fitting (non-convergence, Heywood cases,
non-positive-definite matrices) is *not* raised: analyses record it in the
``warnings`` / ``diagnostics`` of their result objects so that reports show it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from ._text import plain, show

MAX_SHOWN = 20


class PsychometricsError(Exception):
    """Base class of every error the suite raises on purpose."""


@dataclass(frozen=True)
class CellProblem:
    """One offending cell of an input file (row is the case id when known).

    Row and value are kept as plain Python objects (never ``np.int64``); the message
    quotes at most one cell, cut to 40 characters."""

    file: str
    row: Any
    column: str
    value: Any
    problem: str

    def __post_init__(self):
        object.__setattr__(self, "row", plain(self.row))
        object.__setattr__(self, "value", plain(self.value))

    def __str__(self) -> str:
        return (f"{self.file}: row {show(self.row)}, column {show(self.column)}, "
                f"value {show(self.value)}: {self.problem}")


class DataError(PsychometricsError):
    """A data file failed validation.

    ``problems`` holds every :class:`CellProblem`; the message shows at most
    ``MAX_SHOWN`` of them plus a count of the rest.
    """

    def __init__(self, summary: str, problems: Iterable[CellProblem] = ()):
        self.summary = summary
        self.problems = list(problems)
        lines = [summary]
        for p in self.problems[:MAX_SHOWN]:
            lines.append(f"  - {p}")
        rest = len(self.problems) - MAX_SHOWN
        if rest > 0:
            lines.append(f"  ... and {rest} more problem(s) of this kind.")
        super().__init__("\n".join(lines))


class StudyError(PsychometricsError):
    """A study or instrument (scale) file is invalid."""


class ModelSyntaxError(PsychometricsError):
    """lavaan-style model syntax could not be parsed; names the line and token."""

    def __init__(self, message: str, line: int | None = None, token: str | None = None):
        self.line = line
        self.token = token
        where = []
        if line is not None:
            where.append(f"line {line}")
        if token is not None:
            where.append(f"near {token!r}")
        super().__init__(f"{message}" + (f" ({', '.join(where)})" if where else ""))


class ModelError(PsychometricsError):
    """A model cannot be fitted to these data (unknown variables, too few cases, ...)."""


class PsychometricsWarning(UserWarning):
    """Warning category for numerical trouble that is also recorded in results."""


@dataclass
class Diagnostics:
    """Numerical diagnostics collected while fitting; rendered by the report.

    ``messages`` is a list of (code, text) pairs, e.g. ("heywood", "negative
    residual variance of x3 in group 'female' (-0.02)").
    """

    messages: list = field(default_factory=list)

    def add(self, code: str, text: str) -> None:
        self.messages.append((code, text))

    def __bool__(self) -> bool:  # true when something was found
        return bool(self.messages)

    def codes(self) -> list[str]:
        return [c for c, _ in self.messages]

    def to_list(self) -> list[dict]:
        return [{"code": c, "message": t} for c, t in self.messages]


class OutputError(PsychometricsError):
    """The output folder cannot take the report (a file in the way, not writable, or the
    report would overwrite an input file)."""
