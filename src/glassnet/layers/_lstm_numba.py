"""The LSTM's whole-sequence kernel compiled with numba: both cores of a CPU on one LSTM.

An optional second CPU path (the ``numba`` extra) behind :class:`LSTMSeq`, whose NumPy
kernel stays the reference: same inputs, same outputs, same gradients to float32 rounding,
tested against each other. NumPy runs one ufunc per gate operation on one core; here the
batch is split into one block of rows per thread for the whole sequence (rows never
interact): each thread projects its rows' inputs with one GEMM per chunk of steps, then
runs, per time step, one GEMM ``h_{t-1} · U`` and one fused, vectorised loop over its rows'
gates. The backward mirrors it (``dz_t · [U; W]ᵀ`` gives the gradients of ``h_{t-1}`` and
``x_t`` at once) and takes each block's share of the weight gradient as one GEMM
``[h_{t-1} | x_t]ᵀ · dz`` per chunk of steps, summed over the blocks afterwards in a fixed
order.

Used for float32 on the CPU with the default activations (tanh, sigmoid) — masks and
recurrent dropout included — when numba (with SciPy, whose BLAS numba calls) is installed; set
``GLASSNET_NUMBA=0`` to keep the NumPy kernel. Threads: numba's (``NUMBA_NUM_THREADS``,
``numba.set_num_threads``), capped by ``OMP_NUM_THREADS`` (see :func:`threads`). The
kernels call BLAS's ``sgemm`` directly: Intel MKL's where the backend chose MKL (the ``mkl``
extra on an Intel CPU), else SciPy's OpenBLAS. Each block already has its core, so BLAS
runs one thread inside the kernel: MKL through its per-thread setting in every block's
thread, OpenBLAS (a process-wide setting) through threadpoolctl when there are several
blocks; both restored after.

Layout of the saved arrays: ``(B·T, ·)`` rows in block order — block k's rows for step 0,
then step 1, … — so a block's step is one ``(rows, ·)`` GEMM operand and the whole block
one slab for its weight-gradient GEMM. Inputs and outputs stay batch-major ``(B, T, ·)``.
"""

from __future__ import annotations

import os
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from .._optimizer_kernels import numba_mode
from .._optimizer_kernels import numba_threads as threads

if TYPE_CHECKING:
    from numpy.typing import DTypeLike

    # what lstm_forward saves for lstm_backward: hx, g, cs, tc, w, u, mask, rmask, blocks
    _Saved = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                   np.ndarray, np.ndarray, int]

_STATE: dict[str, Any] = {}
# gate values (floats) per chunk of steps: the forward projects the inputs, and the
# backward takes the weight gradient, a chunk at a time while it sits in L2 cache (256 KB;
# the backward keeps no (B·T, 4n) gradient array at all)
CHUNK_FLOATS = 1 << 16


def available() -> bool:
    """Whether the numba path can run here (numba, SciPy, threadpoolctl importable; not
    switched off with ``GLASSNET_NUMBA=0``; not a child forked after the kernel ran)."""
    if _STATE.get("pid", os.getpid()) != os.getpid():
        # a fork after the kernel ran: numba's OpenMP pool does not survive fork(2) (numba
        # would stop the child), so a forked child keeps to the NumPy kernel
        return False
    if "ok" not in _STATE:
        _STATE["ok"] = numba_mode() != "off" and _importable()
    return _STATE["ok"]


def _importable() -> bool:
    from importlib.util import find_spec

    try:
        import numba  # noqa: F401
        import threadpoolctl  # noqa: F401
        if find_spec("scipy") is None:  # its BLAS is the kernels' where MKL is not loaded
            return False
    except ModuleNotFoundError:
        return False  # the extra is not installed: the NumPy kernel, silently
    except Exception as e:  # installed but broken, e.g. a numba too old for this NumPy
        warnings.warn(f"glassnet: the numba extra is installed but cannot be imported ({e}); "
                      "LSTM layers use the NumPy kernel", RuntimeWarning, stacklevel=3)
        return False
    return True


def _compile() -> None:
    from threadpoolctl import ThreadpoolController

    from . import _lstm_numba_kernels as k

    _STATE["kernels"] = k.forward, k.backward
    _STATE["block_kernels"] = k.forward_block, k.backward_block
    _STATE["pid"] = os.getpid()
    _STATE["sgemm"] = _blas_calls()
    # after _blas_calls, which loads MKL or SciPy's OpenBLAS, whichever the kernels call
    _STATE["blas"] = ThreadpoolController().select(user_api="blas")


def _blas_calls() -> tuple[int, int, int]:
    """Addresses of what the kernels call: the Fortran sgemm for products of at least
    ``SMALL_WORK`` multiply-adds, the one for smaller products, and MKL's
    ``MKL_Set_Num_Threads_Local`` (0 without MKL).

    Intel MKL's sgemm where the backend chose MKL (see :func:`glassnet.backend.gemm_info`),
    for the small products too: SciPy's OpenBLAS is 0.35 µs faster on a 4×32·32×128
    product, which made tiny LSTMs' steps 0-3 % faster (b1-b16, u16-u64), but loading it
    costs 16 MB of memory. SciPy's OpenBLAS otherwise (and for the small products beside
    the openblas extra's AVX-512 sgemm). MKL runs the LSTM's thin
    per-step products 1.3-2× faster (2-vCPU Xeon, one thread: 32×128·128×512 in 25 µs
    against 44 µs). Each kernel block makes MKL sequential in its own thread for the call
    (threadpoolctl's limit sets MKL's count for the calling thread only): threaded MKL
    called per step from numba's threads made a b64 T50 u128 forward 200 ms against 12.
    """
    import ctypes

    from .. import backend

    g = backend._resolve_gemm()  # the backend's one choice of GEMM (private: read with care)
    lib, pid = g.get("lib"), g.get("pid")
    if g.get("kind") == "openblas" and lib is not None:
        ob = _scipy_sgemm()
        # the openblas extra's AVX-512 kernels (NumPy's and SciPy's are pinned to AVX2):
        # OpenBLAS keeps to one thread inside numba's threads through the threadpool limit
        addr = ctypes.cast(lib.scipy_sgemm_, ctypes.c_void_p).value
        return (int(addr), ob, 0) if addr else (ob, ob, 0)
    if (lib is not None and (pid is None or pid == os.getpid())
            and not os.environ.get("MKL_INTERFACE_LAYER", "").upper().startswith("ILP64")):
        # MKL, loaded in this process (not threads left behind by a fork), with the 32-bit
        # integers of the kernels
        local = getattr(lib, "MKL_Set_Num_Threads_Local", None)  # the C entry
        fn = getattr(lib, "sgemm", None)  # Fortran: arguments by pointer
        if local is not None and fn is not None:
            addr = ctypes.cast(fn, ctypes.c_void_p).value
            local_addr = ctypes.cast(local, ctypes.c_void_p).value
            if addr and local_addr:
                return int(addr), int(addr), int(local_addr)
    ob = _scipy_sgemm()
    return ob, ob, 0


def _scipy_sgemm() -> int:
    """The address of SciPy's Fortran ``sgemm`` (the BLAS numba's own ``np.dot`` calls)."""
    import ctypes

    from scipy.linalg import cython_blas

    cap = cython_blas.__pyx_capi__["sgemm"]
    api = ctypes.pythonapi
    api.PyCapsule_GetName.restype = ctypes.c_char_p
    api.PyCapsule_GetName.argtypes = [ctypes.py_object]
    api.PyCapsule_GetPointer.restype = ctypes.c_void_p
    api.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
    return int(api.PyCapsule_GetPointer(cap, api.PyCapsule_GetName(cap)))


def _kernels() -> tuple[Any, Any]:
    if "kernels" not in _STATE:
        _compile()
    return _STATE["kernels"]


def _blocks(bsz: int) -> int:
    # ≥ 8 rows per block: below that a thread's GEMM is too thin to pay for the hand-off
    return max(1, min(threads(), bsz // 8))


class _OneBlasThread:
    """The kernels' GEMMs already run one per core; nested BLAS threads would oversubscribe."""

    def __enter__(self) -> None:
        self.limiter = _STATE["blas"].limit(limits=1)

    def __exit__(self, *exc: object) -> None:
        self.limiter.restore_original_limits()


def _optional(a: np.ndarray | None, rows: int, dtype: DTypeLike) -> np.ndarray:
    """A mask as the kernels take it: the array, or an empty (rows, 0) one for "none"."""
    if a is None:
        return np.empty((rows, 0), dtype)
    return np.ascontiguousarray(a.reshape(rows, -1), dtype=dtype)


def lstm_forward(x: np.ndarray, w: np.ndarray, u: np.ndarray, b: np.ndarray | None,
                 h0: np.ndarray, c0: np.ndarray, mask: np.ndarray | None = None,
                 rmask: np.ndarray | None = None,
                 out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, _Saved]:
    """Run the recurrence; returns h_t for all t (B,T,n), the final cell state (B,n) and
    the state ``lstm_backward`` needs. ``mask`` (B,T) bool: False keeps a row's state
    through that step; ``rmask`` (B,n): recurrent-dropout factors (both optional).
    ``out``: an optional C-contiguous float32 (B,T+1,n) array that receives h_t at [:, t]
    and c_T at [:, T] (the layer's output, written in place instead of copied)."""
    forward, _ = _kernels()
    bsz, steps, d = x.shape
    n = u.shape[0]
    f32 = np.float32
    w = np.ascontiguousarray(w, dtype=f32)
    u = np.ascontiguousarray(u, dtype=f32)
    hx = np.empty((bsz * steps, n + d), f32)
    g = np.empty((bsz * steps, 4 * n), f32)
    cs = np.empty((bsz * (steps + 1), n), f32)
    tc = np.empty((bsz * steps, n), f32)
    hout = np.empty((bsz, steps, n), f32) if out is None else out
    c_last = np.empty((bsz, n), f32)
    bias = np.zeros(4 * n, f32) if b is None else np.ascontiguousarray(b, dtype=f32)
    mask, rmask = _optional(mask, bsz, np.bool_), _optional(rmask, bsz, f32)
    blocks = _blocks(bsz)
    args = (np.ascontiguousarray(x, dtype=f32), w, u, bias, np.ascontiguousarray(h0, dtype=f32),
            np.ascontiguousarray(c0, dtype=f32), mask, rmask, blocks, _STATE["sgemm"],
            CHUNK_FLOATS, hx, g, cs, tc, hout, c_last)
    if blocks == 1:
        # no parallel region (numba's idle threads would spin beside it) and no BLAS
        # thread limit to set and restore (11 µs a call): BLAS runs as everywhere else
        _STATE["block_kernels"][0](0, *args)
    else:
        with _OneBlasThread():
            forward(*args)
    if out is not None:
        out[:, steps] = c_last
        hout = out[:, :steps]
    return hout, c_last, (hx, g, cs, tc, w, u, mask, rmask, blocks)


def lstm_backward(saved: _Saved, gh: np.ndarray | None, dh_last: np.ndarray,
                  dc_last: np.ndarray, need_dx: bool) -> tuple[np.ndarray | None, ...]:
    """Gradients of x (or None), h0, c0, W, U, b from those of every h_t (``gh`` (B,T,n) or
    None; a (B,T+1,n) array is taken as is, its first T steps used) and of the final h
    and c."""
    _, backward = _kernels()
    hx, g, cs, tc, w, u, mask, rmask, blocks = saved
    bsz, n = dh_last.shape
    steps, m = hx.shape[0] // bsz, hx.shape[1]
    f32 = np.float32
    # [U; W]ᵀ (or Uᵀ) as a contiguous copy: BLAS runs dz · it ~1.4× faster than dz · viewᵀ
    wbt = np.ascontiguousarray((np.concatenate([u, w]) if need_dx else u).T)
    gh = np.empty((bsz, 0, n), f32) if gh is None else np.ascontiguousarray(gh, dtype=f32)
    dx = np.empty((bsz, steps, m - n) if need_dx else (bsz, 0, 0), f32)
    dh0 = np.empty((bsz, n), f32)
    dc0 = np.empty((bsz, n), f32)
    dwu = np.empty((blocks, m, 4 * n), f32)
    db = np.empty((blocks, 4 * n), f32)
    args = (g, cs, tc, hx, wbt, gh, np.ascontiguousarray(dh_last, dtype=f32),
            np.ascontiguousarray(dc_last, dtype=f32), mask, rmask, blocks, _STATE["sgemm"],
            CHUNK_FLOATS, dx, dh0, dc0, dwu, db)
    if blocks == 1:  # as in lstm_forward
        _STATE["block_kernels"][1](0, *args)
        return (dx if need_dx else None), dh0, dc0, dwu[0, n:], dwu[0, :n], db[0]
    with _OneBlasThread():
        backward(*args)
    gwu = dwu.sum(axis=0)
    return (dx if need_dx else None), dh0, dc0, gwu[n:], gwu[:n], db.sum(axis=0)
