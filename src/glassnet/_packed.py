"""MKL's packed GEMM for inference: each weight packed once per ``predict``/``evaluate``
call, every batch multiplied by the packed copy.

``cblas_sgemm`` copies its B operand into the kernel's blocked layout on every call. In a
dense layer's inference product ``x @ w`` that B is the weight, the same for every batch
of a ``predict``, so MKL's packed interface (``cblas_sgemm_pack`` once, then
``cblas_sgemm_compute`` per batch) skips that copy: on a 2-vCPU Xeon, one thread,
(32, 784)·(784, 512) 148 → 126 µs, (32, 512)·(512, 512) 94 → 83 µs, (256, 512)·(512, 512)
728 → 618 µs; below about 2²⁰ multiply-adds, or for a narrow result (a 10-class head),
the extra call costs more than the copy saves, and those products stay as they were.

The packed copy is right only while the weight does not change, so packing happens only
inside :func:`fixed_weights`, which ``predict`` and ``evaluate`` hold around their batch
loop when no callback runs between batches (one could change a weight); each scope packs
afresh, so the next call sees weights trained in between. Only the products an op makes
for inference (under ``no_grad``: ``Linear`` made there) ask (:func:`matmul`). A packed
product's sums may be grouped otherwise than the unpacked one's (the last place differs
for some inner sizes); each call of a ``predict`` computes alike, so every batch and every
call agree. Without the ``mkl`` extra (or on another BLAS) nothing changes.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

from . import backend

__all__ = ["fixed_weights", "matmul"]

MIN_WORK = 1 << 20  # multiply-adds from which a packed product pays (see the module doc)
MIN_ROWS = 8  # a (1, 784)·(784, 512) product is slower packed (20 -> 25 us)
MIN_COLS = 64  # a narrow result too ((32, 1600)·(1600, 10): 15 -> 28 us)
_CBLAS_PACKED, _CBLAS_BMATRIX = 151, 162
_state = threading.local()  # .cache: {key: (packed buffer, weight)} inside fixed_weights
_fns: dict[tuple[int, str], Any] = {}  # (id of the CDLL, "f"/"d") -> (size, pack, compute)


@contextlib.contextmanager
def fixed_weights() -> Iterator[None]:
    """A scope in which the weights that inference products read do not change: each is
    packed once, at its first product, and the copies are dropped at the end.

    Example:
        >>> with fixed_weights():
        ...     y = matmul(np.ones((2, 3), "float32"), np.ones((3, 4), "float32"))
        >>> y.shape
        (2, 4)
    """
    outer = current() is None
    if outer:
        _state.cache = {}
    try:
        yield
    finally:
        if outer:
            _state.cache = None


def current() -> dict[Any, Any] | None:
    """This thread's packed weights (a dict), or None outside :func:`fixed_weights`."""
    return getattr(_state, "cache", None)


def adopt(cache: dict[Any, Any] | None) -> dict[Any, Any] | None:
    """Make ``cache`` this thread's packed weights (a batch slice on another thread
    shares its caller's scope, :mod:`glassnet._parallel`); returns the previous one."""
    prev = current()
    _state.cache = cache
    return prev


def _routines(lib: Any, kind: str) -> Any:
    fns = _fns.get((id(lib), kind))
    if fns is None:
        import ctypes

        p = "s" if kind == "f" else "d"
        real = ctypes.c_float if kind == "f" else ctypes.c_double
        ci, vp = ctypes.c_int, ctypes.c_void_p
        size = getattr(lib, f"cblas_{p}gemm_pack_get_size")
        size.restype, size.argtypes = ctypes.c_size_t, [ci, ci, ci, ci]
        pack = getattr(lib, f"cblas_{p}gemm_pack")
        pack.restype, pack.argtypes = None, [ci, ci, ci, ci, ci, ci, real, vp, ci, vp]
        comp = getattr(lib, f"cblas_{p}gemm_compute")
        comp.restype = None
        comp.argtypes = [ci, ci, ci, ci, ci, ci, vp, ci, vp, ci, real, vp, ci]
        fns = _fns[(id(lib), kind)] = (size, pack, comp)
    return fns


def matmul(a: Any, b: Any, out: Any = None) -> Any:
    """``a @ b`` where ``b`` is a weight: through its packed copy inside
    :func:`fixed_weights` where MKL runs the products and the product is large enough,
    else :func:`glassnet.backend.matmul` (always where ``out`` is given: the routine an op
    chose for its forward may serve its backward's products too).

    Shapes: a (m, k), b (k, n) → (m, n).

    Example:
        >>> matmul(np.ones((2, 3), "float32"), np.ones((3, 4), "float32"))[0, 0]
        np.float32(3.0)
    """
    cache = current()
    if (cache is None or out is not None or type(a) is not np.ndarray
            or type(b) is not np.ndarray or a.ndim != 2 or b.ndim != 2):
        return backend.matmul(a, b, out)
    (m, k), n = a.shape, b.shape[1]
    dt = a.dtype
    g = backend._resolve_gemm()  # the backend's one choice of GEMM (private: read with care)
    if (g["kind"] != "mkl" or m < MIN_ROWS or n < MIN_COLS or m * k * n < MIN_WORK
            or b.dtype != dt or dt.char not in "fd" or b.shape[0] != k
            or (g["pid"] is not None and g["pid"] != os.getpid())):
        return backend.matmul(a, b)
    la, lb = backend._blas_layout(a), backend._blas_layout(b)
    if la is None or lb is None:
        return backend.matmul(a, b)
    size, pack, compute = _routines(g["lib"], dt.char)
    # the same memory, layout and row count: the same packed copy (the weight is kept
    # referenced, so no other array takes its memory while the scope lasts)
    key = (b.ctypes.data, b.shape, b.strides, dt.char, m)
    hit = cache.get(key)
    if hit is None:
        buf = np.empty(-(-int(size(_CBLAS_BMATRIX, m, n, k)) // dt.itemsize), dt)
        pack(backend._CBLAS_ROW, _CBLAS_BMATRIX, lb[0], m, n, k, 1.0, b.ctypes.data,
             lb[1], buf.ctypes.data)
        hit = cache[key] = (buf, b)
    out = np.empty((m, n), dt)
    compute(backend._CBLAS_ROW, la[0], _CBLAS_PACKED, m, n, k, a.ctypes.data, la[1],
            hit[0].ctypes.data, n, 0.0, out.ctypes.data, n)
    return out
