"""Array backend: NumPy on the CPU, CuPy on a GPU, chosen by the data (Chainer's ``xp``).

There is no global backend switch. Every function that needs array routines asks the
arrays it was given: ``xp = get_array_module(x)``. CuPy is imported lazily and only if
installed, so ``import glassnet`` never needs a GPU.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

_cupy: Any = None
_cupy_checked = False


def cupy_module():
    """Return the ``cupy`` module, or ``None`` when CuPy is not installed or has no GPU."""
    global _cupy, _cupy_checked
    if not _cupy_checked:
        _cupy_checked = True
        try:
            import cupy  # noqa: PLC0415

            cupy.cuda.runtime.getDeviceCount()
            _cupy = cupy
        except Exception:  # any import/driver failure means "no GPU here"
            _cupy = None
    return _cupy


def gpu_available() -> bool:
    """True when CuPy is importable and sees at least one CUDA device."""
    return cupy_module() is not None


def get_array_module(*arrays) -> Any:
    """Return ``numpy`` or ``cupy``, whichever owns the given arrays.

    Example:
        >>> xp = get_array_module(np.zeros(3)); xp is np
        True
    """
    if _cupy is not None:
        for a in arrays:
            if isinstance(a, _cupy.ndarray):
                return _cupy
    return np


def is_gpu_array(a) -> bool:
    return _cupy is not None and isinstance(a, _cupy.ndarray)


def device_of(a) -> str:
    """``'cpu'`` or ``'gpu'`` for a raw array."""
    return "gpu" if is_gpu_array(a) else "cpu"


def scatter_add(a, index, values) -> None:
    """``a[index] += values`` with repeated indices accumulated (``np.add.at``), on any device."""
    if is_gpu_array(a):
        import cupyx  # noqa: PLC0415 - CuPy's unbuffered scatter-add lives in cupyx

        cupyx.scatter_add(a, index, values)
    else:
        np.add.at(a, index, values)


def rsum(a, axis=None, keepdims: bool = False, out=None):
    """``a.sum(axis, keepdims=..., out=...)``: on NumPy the ufunc's reduce directly (the
    method adds a Python wrapper — a microsecond that small networks pay several times a
    step)."""
    if type(a) is np.ndarray:
        return np.add.reduce(a, axis=axis, keepdims=keepdims, out=out)
    return a.sum(axis=axis, keepdims=keepdims, out=out)


def rmax(a, axis=None, keepdims: bool = False):
    """``a.max(axis, keepdims=...)``, like :func:`rsum`."""
    if type(a) is np.ndarray:
        return np.maximum.reduce(a, axis=axis, keepdims=keepdims)
    return a.max(axis=axis, keepdims=keepdims)


def asnumpy(a) -> np.ndarray:
    """Copy an array (NumPy or CuPy) to host memory as a NumPy array."""
    if is_gpu_array(a):
        return a.get()
    return np.asarray(a)


def to_device(a, device: str):
    """Move a raw array to ``'cpu'`` or ``'gpu'``."""
    if device == "cpu":
        return asnumpy(a)
    if device in ("gpu", "cuda"):
        cp = cupy_module()
        if cp is None:
            raise RuntimeError(
                "device='gpu' needs CuPy and a CUDA GPU; install the extra with "
                "`pip install glassnet[gpu]`. Received: no usable CuPy installation"
            )
        return cp.asarray(a)
    raise ValueError(f"device must be 'cpu' or 'gpu'. Received: device={device!r}")


# ---------------------------------------------------------------- dtype policy
_float_dtype = np.dtype(np.float32)


def floatx() -> np.dtype:
    """The default float dtype (float32 unless changed with :func:`set_floatx`)."""
    return _float_dtype


def set_floatx(dtype) -> None:
    """Set the default float dtype: ``'float32'`` or ``'float64'``."""
    global _float_dtype
    d = np.dtype(dtype)
    if d not in (np.float32, np.float64):
        raise ValueError(f"floatx must be float32 or float64. Received: {dtype!r}")
    _float_dtype = d


# ------------------------------------------------------------------- RNG
_rng = np.random.default_rng()
_seed: int | None = None


def set_seed(seed: int) -> None:
    """Seed the one generator glassnet draws from: init, shuffling, dropout, noise.

    Two runs of the same script after ``gn.set_seed(n)`` give bitwise-identical CPU results.

    Example:
        >>> import glassnet as gn; gn.set_seed(0)
    """
    global _rng, _seed
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int. Received: seed={seed!r}")
    _seed = int(seed)
    _rng = np.random.default_rng(_seed)
    cp = cupy_module() if _cupy_checked else None
    if cp is not None:
        cp.random.seed(_seed)


def get_seed() -> int | None:
    return _seed


def rng() -> np.random.Generator:
    """The library-wide NumPy generator (re-created by :func:`set_seed`)."""
    return _rng


def get_rng_state() -> dict:
    """Snapshot of the generator state (for exact resume of training)."""
    return _rng.bit_generator.state


def set_rng_state(state: dict) -> None:
    _rng.bit_generator.state = state


# ------------------------------------------------------------------ debug
_debug = os.environ.get("GLASSNET_DEBUG", "") not in ("", "0", "false", "False")


def debug(enabled: bool = True) -> None:
    """Turn on checks of every backward result (shape, dtype, NaN/Inf), naming the op."""
    global _debug
    _debug = bool(enabled)


def is_debug() -> bool:
    return _debug


# ------------------------------------------------------------------ allocator
_allocator_tuned = False


def tune_allocator(mmap_threshold: int = 512 << 20, trim_threshold: int = 1 << 30) -> bool:
    """Keep large freed blocks in glibc's heap instead of returning them to the OS.

    A training step allocates the same large temporaries every step. glibc serves blocks
    above a dynamic threshold with ``mmap`` and unmaps them on free, so each step pays the
    page faults again (measured: ~10-25 % of an MLP step here). Raising the mmap and trim
    thresholds lets freed activations be reused. Called once on import; opt out with
    ``GLASSNET_MALLOC_TUNING=0``. Returns True where glibc's ``mallopt`` was applied.
    """
    global _allocator_tuned
    if _allocator_tuned:
        return True
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        ok = libc.mallopt(m_mmap_threshold, int(mmap_threshold)) == 1
        ok = libc.mallopt(m_trim_threshold, int(trim_threshold)) == 1 and ok
    except (OSError, AttributeError):
        return False
    _allocator_tuned = ok
    return ok


if os.environ.get("GLASSNET_MALLOC_TUNING", "1") not in ("0", "false", "False"):
    tune_allocator()
