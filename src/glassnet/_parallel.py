"""One kernel's work over the CPU's cores: a batch cut into equal slices, one per thread.

NumPy's copies and element-wise passes run on one core, and a thin matrix product (an
im2col GEMM with K = 27) barely threads inside the BLAS. Samples never interact in a
convolution, so its kernels cut the batch into one slice per thread and run each slice's
whole forward or backward (im2col, GEMM, bias, ReLU, col2im) on a thread of its own; NumPy
and the BLAS release the GIL, so the slices run at once.

The threads are the BLAS's own: the slices run on GNU OpenMP's team through libgomp's
``GOMP_parallel`` (the entry point every compiled ``#pragma omp parallel`` calls), each
thread calling the slice's Python function with MKL's per-thread count at 1. One pool thus
serves the products and the slices. A second pool measured slower than no split: OpenMP's
threads spin for milliseconds after each product, on the cores the slices need
(``conv2d32-rgb-same-b128`` at two threads, 2-vCPU Xeon: 14.5 ms a step unsplit, 18.6 ms
on Python threads, 11.8 ms on OpenMP's; NumPy's OpenBLAS with its own threads, 23 → 28 ms).
So the batch is split only where the products thread on GNU OpenMP (MKL through the ``mkl``
extra, :func:`glassnet.backend.blas_threads_on_gomp`) and in the process that set it up
(libgomp's threads do not survive ``fork``); elsewhere one thread runs the whole batch.

The cut depends on the batch size, the work and the thread count only, never on timing,
and callers add the slices' partial sums (a kernel's gradient) in slice order: a run
repeats its bits.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from . import _packed, backend

__all__ = ["threads", "slices", "work_slices", "row_slices", "run", "one_blas_thread"]

T = TypeVar("T")

# what a slice must hold to be worth a thread of its own: an OpenMP region with a Python
# call per thread costs ~50 us, and NumPy keeps the GIL through a copy whose innermost
# run is short (im2col's rows of C or OW elements), so those parts of the slices take
# turns. Measured at two threads (2-vCPU Xeon, MKL), forward + backward, whole batch ->
# two slices: the RGB first layer at batch 64/128 5.9 -> 4.6 / 14.3 -> 8.8 ms (32k/64k
# rows a slice), the MNIST convnet's first layer at batch 128 5.8 -> 4.0 ms (43k rows), its
# second at batch 128 15.4 -> 12.3 ms (7.7k rows but 143M multiply-adds a slice); a
# 16 -> 32-channel layer at batch 32 4.2 -> 4.5 ms (4k rows, 19M), the convnet's second
# layer at batch 32 3.7 -> 4.25 ms (2k rows, 36M), a decoder's first transposed layer
# 1.9 -> 2.6 ms (1k rows). So a slice needs MIN_ROWS rows or BIG_WORK multiply-adds, and
# MIN_WORK in any case.
MIN_WORK = 1 << 22
MIN_ROWS = 1 << 14  # output rows (pixels) of the kernel's GEMMs
BIG_WORK = 1 << 26
# an element-wise pass over rows (a softmax over a language model's logits) is worth two
# threads from about this many elements: at two threads (2-vCPU Xeon, MKL) a max-shifted
# exp with its row sums over (1024, 2000) 2.31 -> 1.38 ms, (256, 2000) 0.61 -> 0.50 ms,
# (128, 1000) 0.11 -> 0.15 ms (the region's own ~70 us dominate)
ELEMENTWISE_MIN = 1 << 19
_state: dict[str, Any] = {}  # the OpenMP entry points, once loaded
_inside = threading.local()  # .on: this thread runs an item of a region (no nested split)
_BODY = ctypes.CFUNCTYPE(None, ctypes.c_void_p)


def threads() -> int:
    """Threads a kernel may split its batch over (1: it runs in the calling thread).

    Example:
        >>> threads() >= 1
        True
    """
    g = backend._resolve_gemm()  # the backend's one choice of GEMM (private: read with care)
    if not g["gomp"] or g["pid"] != os.getpid() or getattr(_inside, "on", False):
        return 1  # (inside a region libgomp would run a nested one on this thread alone)
    return int(g["threads"])


def slices(n: int, rows: int, work: int) -> list[slice]:
    """Equal slices of a batch of ``n`` samples for a kernel whose GEMMs have ``rows`` rows
    and ``work`` multiply-adds in all: one per thread, or the whole batch when it is small
    or one thread runs it.

    Example:
        >>> slices(8, 64, 0)
        [slice(0, 8, None)]
    """
    t = min(threads(), n)
    if t <= 1 or work < MIN_WORK * t or (rows < MIN_ROWS * t and work < BIG_WORK * t):
        return [slice(0, n)]
    step = -(-n // t)
    return [slice(s, min(s + step, n)) for s in range(0, n, step)]


def work_slices(n: int, work: int) -> list[slice]:
    """Equal slices of a batch of ``n`` samples for a kernel whose every slice is one
    compiled call (one hand-over of the GIL): one per thread from ``MIN_WORK`` units of
    ``work`` a thread, else the whole batch.

    Example:
        >>> work_slices(8, 0)
        [slice(0, 8, None)]
    """
    t = min(threads(), n)
    if t <= 1 or work < MIN_WORK * t:
        return [slice(0, n)]
    step = -(-n // t)
    return [slice(s, min(s + step, n)) for s in range(0, n, step)]


def row_slices(rows: int, size: int, min_size: int = 0) -> list[slice]:
    """Equal slices of ``rows`` rows for an element-wise pass over ``size`` elements whose
    rows are independent (a softmax over the last axis, an optimizer's flat buffer): one
    per thread from ``min_size`` (default ``ELEMENTWISE_MIN``) elements a thread beyond
    the first, else the whole.

    Example:
        >>> row_slices(4, 8)
        [slice(0, 4, None)]
    """
    least = min_size or ELEMENTWISE_MIN
    if size < least:  # (asked first: a small pass, the common case, skips threads())
        return [slice(0, rows)]
    t = min(threads(), rows)
    if t <= 1 or size < least * (t - 1):
        return [slice(0, rows)]
    step = -(-rows // t)
    return [slice(s, min(s + step, rows)) for s in range(0, rows, step)]


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """A scope in which MKL's products on this thread run on this thread alone (where MKL
    threads on GNU OpenMP; elsewhere nothing changes): for a compiled loop that calls the
    BLAS on small blocks, each of which a team of threads would only slow down.

    Example:
        >>> with one_blas_thread():
        ...     pass
    """
    g = backend._resolve_gemm()
    if g["kind"] != "mkl" or not g["gomp"] or g["pid"] != os.getpid():
        yield
        return
    pin = g["lib"].MKL_Set_Num_Threads_Local
    prev = pin(1)
    try:
        yield
    finally:
        pin(prev)


def _gomp() -> tuple[Any, Any]:
    """(GOMP_parallel, omp_get_thread_num) of the libgomp the BLAS runs on."""
    fns = _state.get("gomp")
    if fns is None:
        lib = ctypes.CDLL("libgomp.so.1")  # loaded already (the backend set MKL up on it)
        par, tid = lib.GOMP_parallel, lib.omp_get_thread_num
        par.argtypes = [_BODY, ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint]
        par.restype = None
        tid.restype = ctypes.c_int
        fns = _state["gomp"] = (par, tid)
    return fns


def run(fn: Callable[[Any], T], items: Sequence[Any]) -> list[T]:
    """``[fn(i) for i in items]``, the items spread over :func:`threads` OpenMP threads at
    once (thread t runs items t, t + threads, ...); results in order. With one item or one
    thread, the calling thread runs them. If a call raises, the other threads finish theirs
    (none is left writing into a shared output) and the first error is raised.

    Example:
        >>> run(abs, [-1, 2])
        [1, 2]
    """
    nt = min(len(items), threads())
    if nt <= 1:
        return [fn(i) for i in items]
    return _on_openmp(fn, items, nt)


def _on_openmp(fn: Callable[[Any], T], items: Sequence[Any], nt: int) -> list[T]:
    """:func:`run` on ``nt`` threads of libgomp's team (MKL's count pinned to 1 in each)."""
    par, tid = _gomp()
    g = backend._resolve_gemm()
    pin = g["lib"].MKL_Set_Num_Threads_Local if g["kind"] == "mkl" else None
    n = len(items)
    results: list[Any] = [None] * n
    errors: list[BaseException] = []
    packs = _packed.current()  # the caller's packed weights, shared by every slice

    def body(_: Any) -> None:
        prev = pin(1) if pin is not None else 0  # one BLAS thread inside each slice
        was, _inside.on = getattr(_inside, "on", False), True  # (the caller runs item 0)
        had = _packed.adopt(packs)
        try:
            for i in range(tid(), n, nt):
                results[i] = fn(items[i])
        except BaseException as e:  # raised in the caller below, not lost in ctypes
            errors.append(e)
        finally:
            _packed.adopt(had)
            _inside.on = was
            if pin is not None:
                pin(prev)

    par(_BODY(body), None, nt, 0)
    if errors:
        raise errors[0]
    return results
