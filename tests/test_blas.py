"""The BLAS-threads helper (psychometrics/_blas.py): analyses run their small matrix algebra on
one BLAS thread, limits nest and are restored, large work may use more threads."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import psychometrics as pm
from psychometrics import _blas

threadpoolctl = pytest.importorskip("threadpoolctl")


def _blas_threads_now():
    info = [i for i in threadpoolctl.threadpool_info() if i.get("user_api") == "blas"]
    return [i["num_threads"] for i in info]


def test_context_limits_and_restores():
    before = _blas_threads_now()
    with _blas.blas_threads(1):
        assert all(n == 1 for n in _blas_threads_now())
        assert _blas.current_limit() == 1
        with _blas.blas_threads(1):               # nested: nothing changes
            assert all(n == 1 for n in _blas_threads_now())
        with _blas.blas_threads(for_work=1e12):   # large work: the library's default again
            assert _blas.current_limit() is None
        assert _blas.current_limit() == 1
    assert _blas_threads_now() == before
    assert _blas.current_limit() is None


def test_decorator_keeps_name_doc_and_signature():
    import inspect
    assert pm.efa.__name__ == "efa" and "psych::fa" in pm.efa.__doc__
    assert "n_factors" in inspect.signature(pm.efa).parameters
    assert pm.cfa.__wrapped__ is not None


@pytest.mark.parametrize("name", ["cfa", "sem", "efa", "parallel_analysis", "kmo", "bartlett",
                                  "map_test", "alpha", "omega", "screen", "mardia",
                                  "little_mcar", "mahalanobis_outliers", "invariance",
                                  "validity", "htmt", "item_analysis", "polychoric",
                                  "ordinal_sample_stats", "dimensionality",
                                  "split_half_validation"])
def test_public_entry_points_run_on_one_blas_thread(name):
    fn = getattr(pm, name)
    assert getattr(fn, "__wrapped__", None) is not None, f"{name} is not wrapped by single_blas_thread"


def test_sem_bootstrap_runs_on_one_blas_thread():
    """``sem.bootstrap`` (the structural model's and any fit's refits) is wrapped too: a
    refactor once moved its decorator onto a helper defined between them."""
    import importlib
    boot = importlib.import_module("psychometrics.sem.bootstrap")
    assert getattr(boot.bootstrap, "__wrapped__", None) is not None
    assert boot.bootstrap.__name__ == "bootstrap"


def test_analysis_sees_one_thread(monkeypatch):
    from psychometrics import screening
    seen = []
    real = screening._mardia_b1

    def spy(xc, sinv):
        seen.append(_blas.current_limit())
        return real(xc, sinv)

    monkeypatch.setattr(screening, "_mardia_b1", spy)
    x = pd.DataFrame(np.random.default_rng(1).standard_normal((50, 4)), columns=list("abcd"))
    pm.mardia(x)
    assert seen == [1]
