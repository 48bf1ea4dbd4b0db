"""One place that decides how many BLAS threads an analysis uses.

The analyses multiply and decompose small dense matrices (tens of variables).  A
multi-threaded BLAS (OpenBLAS, MKL) splits even a 30 x 30 product across its threads and, on a
busy machine, spends most of its time waking and spinning them: measured on a loaded two-core
machine a 40-item EFA took 1.5-2.8 s instead of 0.05 s.  Every public analysis therefore runs
on one BLAS thread (:func:`single_blas_thread`, a decorator, or :func:`blas_threads`, a context
manager).  Work on large matrices (a product with more than :data:`LARGE_WORK` multiply-adds,
e.g. the cross products of a million-case data set) may use every thread again:
``with blas_threads(for_work=n * p * p): ...``.

Limits nest: an analysis called from another one (a CFA inside an invariance sequence) costs
nothing extra.  Uses threadpoolctl (a scikit-learn dependency); without it, or with a BLAS it
cannot control, everything runs unchanged.
"""
from __future__ import annotations

import contextlib
import functools
import threading

#: multiply-adds from which a single product is worth several BLAS threads
LARGE_WORK = 5e7

_state = threading.local()
_controller = None
_controller_failed = False


def _get_controller():
    global _controller, _controller_failed
    if _controller is None and not _controller_failed:
        try:
            from threadpoolctl import ThreadpoolController
            _controller = ThreadpoolController()
        except Exception:   # threadpoolctl missing or unusable: run unchanged
            _controller_failed = True
    return _controller


def current_limit():
    """The BLAS thread limit in force in this thread (``None``: no limit set here)."""
    return getattr(_state, "limit", None)


@contextlib.contextmanager
def blas_threads(n: int | None = 1, *, for_work: float | None = None):
    """Run the block with at most ``n`` BLAS threads (``None``: the library's default).

    ``for_work``: the number of multiply-adds of the block's main product; below
    :data:`LARGE_WORK` the block runs on one thread, above it on the default number.
    Nested blocks with the same limit do not touch the BLAS again.
    """
    if for_work is not None:
        n = 1 if for_work < LARGE_WORK else None
    prev = current_limit()
    if n == prev:
        yield
        return
    ctl = _get_controller()
    if ctl is None:
        yield
        return
    try:
        ctx = ctl.limit(limits=n, user_api="blas")
    except Exception:  # pragma: no cover - a BLAS threadpoolctl cannot handle
        ctx = contextlib.nullcontext()
    _state.limit = n
    try:
        with ctx:
            yield
    finally:
        _state.limit = prev


def single_blas_thread(func):
    """Decorator: run ``func`` on one BLAS thread (see the module docstring)."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with blas_threads(1):
            return func(*args, **kwargs)
    return wrapper
