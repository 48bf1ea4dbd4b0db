"""Test helper shared by the bootstrap tests: count the engine's evaluations of F."""
from __future__ import annotations


def _count_engine_evaluations(monkeypatch):
    """Evaluations of F of every engine refit of a draw (one list entry per refit)."""
    import importlib
    est = importlib.import_module("psychometrics.sem.estimate")
    real = est.make_objective
    counts = []

    class Counting:
        def __init__(self, obj):
            self._obj, self._i = obj, len(counts)
            counts.append(0)

        def value(self, *a, **k):
            counts[self._i] += 1
            return self._obj.value(*a, **k)

        def value_and_gradient(self, *a, **k):
            counts[self._i] += 1
            return self._obj.value_and_gradient(*a, **k)

        def __getattr__(self, name):
            return getattr(self._obj, name)

    monkeypatch.setattr(est, "make_objective", lambda *a, **k: Counting(real(*a, **k)))
    return counts
