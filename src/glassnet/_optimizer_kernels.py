"""Fused optimizer updates: one pass over each flat buffer where the ``numba`` extra is
installed, with the NumPy formula kept as the reference (and the path everywhere else).

Adam's NumPy update is eleven whole-buffer ufunc passes (``g - m``, scale, add, ``g·g``, …,
``sqrt``, divide, scale): on the MNIST MLP's 670k parameters that was about half of a batch-32
training step. The compiled loop reads g, m and v once and writes m, v and the step once,
with the same float operations in the same order and the scalars rounded to the buffer's
dtype exactly as NumPy does, so it reproduces the NumPy result bit for bit (tested), except
that it flushes subnormal moments to zero, which changes no weight (see
:mod:`glassnet._optimizer_numba`; also tested).

When the compiled path runs: :func:`fused_available` (the numba extra installed and either
already loaded or the buffer large enough to pay for loading it; ``GLASSNET_NUMBA=1``
always, ``GLASSNET_NUMBA=0`` never: the NumPy reference). The kernels are
in :mod:`glassnet._optimizer_numba`; a buffer of at least ``SPLIT`` elements is cut into
one contiguous slice per thread, each updated by the one-thread kernel on the BLAS's
OpenMP team (:mod:`glassnet._parallel`, where MKL threads on GNU OpenMP), so the update and
the products take turns on the same threads. Adam streams four arrays: below ``SPLIT`` the
memory bandwidth the two vCPUs share gives back less than the region costs.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from .backend import get_array_module

__all__ = ["adam_compiled", "adam_delta", "adam_delta_reference", "adam_reduced",
           "fused_available", "long_run"]

_STATE: dict[str, Any] = {}  # "ok": numba usable; "pid", "threads": see _blocks
_ADAM: dict[tuple[Any, ...], tuple[Any, ...]] = {}  # see _run_adam
# below 2 * _BLOCK elements one thread updates the buffer: handing a block to the second
# thread costs more than it saves (2-vCPU Xeon, Adam on 32k float32: 13.9 µs on one thread,
# 9.7 µs on two; 4k: 2.1 µs against 3.8 µs)
_BLOCK = 16384
# from this many elements Adam's update runs a slice per thread (2-vCPU Xeon, MKL, two
# threads: 670k float32 367 -> 354 us, 2.6M 1411 -> 865 us, 131k 61 -> 106 us). numba's
# own prange pool ran the same loop 2.4x slower than one thread at every size: its
# parallel loop body is not vectorised (one block alone 1.78 ms against 0.37 ms)
SPLIT = 1 << 20
# elements from which a kernel call loads numba by itself (see fused_available)
AUTO_WORK = 1 << 18
# replayed training steps of one model after which it loads numba by itself (see
# long_run): loading costs about 0.2 s, and the compiled kernels save a small model about
# 15-20 us a step (a 20-64-64-2 Adam MLP at batch 32, 2-vCPU Xeon), so a run that has
# already taken this many steps has paid about the load once: the rule of renting skis
# until their price is spent, which never costs more than twice the better choice made
# in hindsight
AUTO_STEPS = 10_000


def numba_mode() -> str:
    """``GLASSNET_NUMBA`` read once per call: ``"off"`` (0/false/no), ``"on"`` (1/true/yes)
    or ``"auto"`` (unset or anything else), for every compiled kernel alike."""
    env = os.environ.get("GLASSNET_NUMBA", "").strip().lower()
    if env in ("0", "false", "no"):
        return "off"
    return "on" if env in ("1", "true", "yes") else "auto"


def compiled(fn: Any, parallel: bool = False, reassociate: bool = False) -> Any:
    """``fn`` compiled by numba, once per process (the one place the element-wise kernels
    of the layers are compiled: ``cache=True``, so the next process loads them from disk;
    ``nogil``, so batch slices on several threads run at once; NumPy's error model, since
    numba's default tests every integer or float division for zero, a branch that stops
    LLVM's vectoriser). ``reassociate``: LLVM may reorder sums (and fuse multiply-adds),
    which a reduction needs to vectorise; NaN and inf still propagate. Call only where
    :func:`fused_available` said yes."""
    key = (fn, parallel, reassociate)
    k = _KERNELS.get(key)
    if k is None:
        from ._numba import njit

        k = _KERNELS[key] = njit(cache=True, nogil=True, parallel=parallel,
                                 error_model="numpy",
                                 fastmath={"reassoc", "contract"} if reassociate else False,
                                 )(_cache_name(fn, parallel))
    return k


def _cache_name(fn: Any, parallel: bool) -> Any:
    """``fn``, or for the threaded compilation a copy under its own name: numba's disk
    cache files a kernel by module, name and line, not by its options, so the threaded and
    the one-thread compilations of one function loaded each other's machine code (a
    (32, 64) BatchNormalization forward ran the threaded one: 10.5 us against 1.5)."""
    if not parallel:
        return fn
    import types

    g = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__ + "_threaded",
                           fn.__defaults__, fn.__closure__)
    g.__qualname__ = fn.__qualname__ + "_threaded"
    g.__module__, g.__doc__ = fn.__module__, fn.__doc__
    return g


_KERNELS: dict[tuple[Any, bool, bool], Any] = {}


def fused_available(work: int = 0) -> bool:
    """Whether the compiled (numba) kernels run here, for a call on ``work`` elements.

    ``GLASSNET_NUMBA=0`` (or false/no): never. ``GLASSNET_NUMBA=1`` (or true/yes): whenever
    numba imports. Unset (the default): when numba is installed (the ``numba`` extra) and
    either already loaded in this process (by the LSTM kernel, by a model that has trained
    ``AUTO_STEPS`` steps: :func:`long_run`, or by the user's own code) or the call is large
    enough to pay for loading it: at least ``AUTO_WORK`` elements.
    Importing numba costs about 70 MB of resident memory (LLVM) and 0.2 s, more
    than a small model's typical training run, so small models pull it in only once they
    have trained that long; on a
    buffer of ``AUTO_WORK`` float32 the compiled Adam saves about 0.5 ms a step (2-vCPU
    Xeon), so the import pays for itself within about a thousand steps.
    """
    mode = numba_mode()
    if mode == "off":
        return False
    if mode == "auto" and "numba" not in sys.modules:
        if work < AUTO_WORK or not _installed():
            return False
    return _load()


def long_run() -> bool:
    """Load numba for a model that has replayed ``AUTO_STEPS`` training steps (the
    default policy only, with numba installed and not yet loaded); True where this call
    loaded it, so the caller records its steps again (their ops then choose compiled
    kernels, as a large model's do from the start). The step count, not the time, decides:
    two runs of one script switch at the same step, so their results stay equal.

    Example:
        >>> long_run() in (True, False)
        True
    """
    if numba_mode() != "auto" or "numba" in sys.modules or not _installed():
        return False
    return _load()


def _load() -> bool:
    """Import numba once: whether it works here (a broken install warns once)."""
    if "ok" not in _STATE:
        ok = False
        try:
            import numba  # noqa: F401
            ok = True
        except ModuleNotFoundError:
            pass  # the extra is not installed: the NumPy reference, silently
        except Exception as e:  # installed but broken (e.g. too old for this NumPy)
            warnings.warn(f"glassnet: the numba extra cannot be imported ({e}); "
                          "optimizers use their NumPy update", RuntimeWarning, stacklevel=4)
        _STATE["ok"] = ok
    return _STATE["ok"]


def _installed() -> bool:
    if "installed" not in _STATE:
        from importlib.util import find_spec

        _STATE["installed"] = find_spec("numba") is not None
    return _STATE["installed"]


def numba_threads() -> int:
    """Threads the compiled kernels use: numba's count, capped by ``OMP_NUM_THREADS`` when
    that is set and ``NUMBA_NUM_THREADS`` is not (numba ignores it; users set it to mean
    "this many cores for the maths", and the NumPy path's BLAS obeys it), and by the CPUs
    this process may run on (numba counts the machine's, e.g. 64 in a container pinned to 2).
    """
    import numba

    n = numba.get_num_threads()
    if hasattr(os, "sched_getaffinity"):
        n = min(n, len(os.sched_getaffinity(0)))
    omp = os.environ.get("OMP_NUM_THREADS", "")
    if "NUMBA_NUM_THREADS" not in os.environ and omp.strip().isdigit() and int(omp) > 0:
        n = min(n, int(omp))
    return n


def _blocks(size: int) -> int:
    """How many threads share one update: one per ``_BLOCK`` elements, at most
    :func:`numba_threads` where the BLAS threads on the same OpenMP pool; 1 (the calling
    thread alone) in a forked child, whose copy of numba's OpenMP pool does not work
    (numba would stop it)."""
    if size < 2 * _BLOCK:
        return 1
    if _STATE.setdefault("pid", os.getpid()) != os.getpid():
        return 1
    if "threads" not in _STATE:
        from .backend import blas_threads_on_gomp

        # numba's OpenMP threads are MKL's only where MKL threads on GNU OpenMP; beside
        # OpenBLAS's own pool (or an Intel OpenMP one) they would spin against each other
        _STATE["threads"] = numba_threads() if blas_threads_on_gomp() else 1
    return min(_STATE["threads"], size // _BLOCK)


def adam_delta_reference(g: Any, m: Any, v: Any, tmp: Any, beta_1: float, beta_2: float,
                         epsilon: float, alpha: float) -> Any:
    """Adam's step with NumPy (or CuPy) ufuncs; updates ``m`` and ``v`` in place.

    Args:
        g, m, v, tmp: flat arrays of one shape and dtype (gradient, first and second
            moments, scratch). beta_1, beta_2, epsilon: Adam's constants. alpha: the
            bias-corrected learning rate of this step.

    Returns: ``tmp``, holding ``alpha * m / (sqrt(v) + epsilon)``.

    Example:
        >>> g = np.ones(3, "float32"); m, v, t = (np.zeros(3, "float32") for _ in "mvt")
        >>> adam_delta_reference(g, m, v, t, 0.9, 0.999, 1e-7, 0.001)[0] > 0
        True
    """
    xp = get_array_module(g)
    xp.subtract(g, m, out=tmp)
    tmp *= 1 - beta_1
    m += tmp
    xp.multiply(g, g, out=tmp)
    tmp -= v
    tmp *= 1 - beta_2
    v += tmp
    xp.sqrt(v, out=tmp)
    tmp += epsilon
    xp.divide(m, tmp, out=tmp)
    tmp *= alpha
    return tmp


def adam_compiled(*arrays: Any) -> bool:
    """Whether :func:`adam_delta` runs the compiled kernel on these buffers (g, m, v, tmp):
    numba in use, and flat contiguous float arrays of one dtype and size."""
    dt = arrays[0].dtype
    return (fused_available(arrays[0].size) and dt.char in "fd"
            and all(type(a) is np.ndarray and a.ndim == 1 and a.dtype == dt
                    and a.flags.c_contiguous and a.size == arrays[0].size for a in arrays))


def adam_delta(g: Any, m: Any, v: Any, tmp: Any, beta_1: float, beta_2: float, epsilon: float,
               alpha: float, compiled: bool | None = None) -> Any:
    """Adam's step, compiled in one pass where possible, else :func:`adam_delta_reference`
    (same arguments, the same result bit for bit but for subnormal moments, flushed to zero).
    ``compiled``: :func:`adam_compiled`'s answer for these buffers where the caller keeps
    it (None: asked here).

    Example:
        >>> g = np.ones(3, "float32"); m, v, t = (np.zeros(3, "float32") for _ in "mvt")
        >>> float(adam_delta(g, m, v, t, 0.9, 0.999, 1e-7, 0.001)[0]) > 0
        True
    """
    if adam_compiled(g, m, v, tmp) if compiled is None else compiled:
        _run_adam("adam", g, m, v, tmp, beta_1, beta_2, epsilon, alpha)
        return tmp
    return adam_delta_reference(g, m, v, tmp, beta_1, beta_2, epsilon, alpha)


def _run_adam(name: str, g: Any, m: Any, v: Any, out: Any, beta_1: float, beta_2: float,
              epsilon: float, alpha: float) -> None:
    """Run compiled Adam sweep ``name`` of ``_optimizer_numba``: on the calling thread, or
    a slice per thread where the buffer holds ``SPLIT`` elements a thread (the elements are
    independent: the same bits)."""
    t = g.dtype.type  # NumPy rounds a Python scalar to the array's dtype before the ufunc
    # the kernels' module and the constants of one optimizer's buffers, made once (about
    # 3 us a step, as much as the kernel itself on a small model's buffer)
    key = (name, g.dtype, beta_1, beta_2, epsilon)
    hit = _ADAM.get(key)
    if hit is None:
        from . import _optimizer_numba as k

        hit = _ADAM[key] = (k, t(1 - beta_1), t(1 - beta_2), t(epsilon),
                            np.finfo(g.dtype).tiny)
    k, c1, c2, eps, tiny = hit
    fn = getattr(k, name)  # (looked up each call: the module's current kernel)
    if g.size < SPLIT:  # (row_slices' answer for it, without the call)
        fn(g, m, v, out, c1, c2, eps, t(alpha), tiny)
        return
    from . import _parallel

    c = (c1, c2, eps, t(alpha), tiny)
    sls = _parallel.row_slices(g.size, g.size, SPLIT)
    if len(sls) == 1:
        fn(g, m, v, out, *c)
    else:
        _parallel.run(lambda sl: fn(g[sl], m[sl], v[sl], out[sl], *c), sls)


def adam_step(g: Any, m: Any, v: Any, w: Any, beta_1: float, beta_2: float, epsilon: float,
              alpha: float, compiled: bool | None = None) -> bool:
    """Adam's update with its step subtracted from the flat weights ``w`` in one compiled
    sweep (:func:`adam_delta` then ``w -= step``, the same bits, without writing the step
    to memory and reading it back: 670k float32, 0.62 -> 0.43 ms on a 2-vCPU Xeon).
    Returns False, doing nothing, where the compiled kernel does not apply.

    Example:
        >>> g = np.ones(3, "float32"); m, v, w = (np.zeros(3, "float32") for _ in "mvw")
        >>> adam_step(g, m, v, w, 0.9, 0.999, 1e-7, 0.001) in (True, False)
        True
    """
    if not (adam_compiled(g, m, v, w) if compiled is None else compiled):
        return False
    _run_adam("adam_step", g, m, v, w, beta_1, beta_2, epsilon, alpha)
    return True


def adam_reduced(grads: Any, scale: Any, inv: Any, ranges: Sequence[tuple[int, int]],
                 m: Any, v: Any, w: Any, beta_1: float, beta_2: float, epsilon: float,
                 alpha: float) -> bool:
    """A data-parallel rank's ranges ``[lo, hi)`` of Adam's step in one compiled sweep: the
    ranks' gradients averaged (rows of ``grads`` times ``scale``, summed in rank order,
    times ``inv``: ``DataParallel.reduce_range``'s arithmetic), the update of ``m`` and
    ``v`` (:func:`adam_delta`'s), and the step subtracted from the weights ``w``; the same
    bits as those three done apart (tested). Returns False, doing nothing, where the
    compiled kernel does not apply: the caller runs them apart."""
    if not (adam_compiled(m, v, w) and type(grads) is np.ndarray and grads.ndim == 2
            and grads.dtype == m.dtype and grads.flags.c_contiguous
            and type(scale) is np.ndarray and scale.dtype == m.dtype):
        return False
    from . import _optimizer_numba as k

    t = m.dtype.type
    k.adam_reduced(grads, scale, t(inv), np.asarray(ranges, np.int64).reshape(-1, 2), m, v,
                   w, t(1 - beta_1), t(1 - beta_2), t(epsilon), t(alpha),
                   np.finfo(m.dtype).tiny)
    return True
