"""Array backend: NumPy on the CPU, CuPy on a GPU, chosen by the data (Chainer's ``xp``).

There is no global backend switch. Every function that needs array routines asks the
arrays it was given: ``xp = get_array_module(x)``. CuPy is imported lazily and only if
installed, so ``import glassnet`` never needs a GPU.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _cpu

if TYPE_CHECKING:
    from collections.abc import Callable

    from numpy.typing import DTypeLike

_cupy: Any = None
_cupy_checked = False


def cupy_module() -> Any:
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


def get_array_module(*arrays: Any) -> Any:
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


def is_gpu_array(a: Any) -> bool:
    return _cupy is not None and isinstance(a, _cupy.ndarray)


def device_of(a: Any) -> str:
    """``'cpu'`` or ``'gpu'`` for a raw array."""
    return "gpu" if is_gpu_array(a) else "cpu"


def scatter_add(a: Any, index: Any, values: Any) -> None:
    """``a[index] += values`` with repeated indices accumulated (``np.add.at``), on any device."""
    if is_gpu_array(a):
        import cupyx  # noqa: PLC0415 - CuPy's unbuffered scatter-add lives in cupyx

        cupyx.scatter_add(a, index, values)
    else:
        np.add.at(a, index, values)


def rsum(a: Any, axis: Any = None, keepdims: bool = False, out: Any = None) -> Any:
    """``a.sum(axis, keepdims=..., out=...)``: on NumPy the ufunc's reduce directly (the
    method adds a Python wrapper — a microsecond that small networks pay several times a
    step)."""
    if type(a) is np.ndarray:
        return np.add.reduce(a, axis=axis, keepdims=keepdims, out=out)
    return a.sum(axis=axis, keepdims=keepdims, out=out)


def rmax(a: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """``a.max(axis, keepdims=...)``, like :func:`rsum`."""
    if type(a) is np.ndarray:
        # NumPy's stubs have no reduce overload for an untyped axis with keepdims
        return np.maximum.reduce(a, axis=axis, keepdims=keepdims)  # type: ignore[call-overload]
    return a.max(axis=axis, keepdims=keepdims)


def asnumpy(a: Any) -> np.ndarray:
    """Copy an array (NumPy or CuPy) to host memory as a NumPy array."""
    if type(a) is np.ndarray:  # already there (every batch of a CPU loop asks)
        return a
    if is_gpu_array(a):
        return a.get()
    return np.asarray(a)


def to_device(a: Any, device: str) -> Any:
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


# ---------------------------------------------------------------- GEMM
# One place chooses the matrix multiply. NumPy's (OpenBLAS in the wheels) by default; with
# the ``mkl`` extra on an Intel CPU, Intel MKL's cblas_?gemm through ctypes for products of
# at least _MKL_MIN_WORK multiply-adds (m*k*n). Measured on a 2-vCPU Xeon (AVX-512), one
# thread: MKL 1.1-3x faster from m*k*n ~ 2M up (MNIST-MLP layers, im2col GEMMs), 1.25-1.7x
# from 1.3M (a GRU's (32, 128)·(128, 384) step 31 -> 24 us, its transposed backward 45 ->
# 30 us), 0.91-1.36x at 1.05M, slower below, where the ~6 us of a foreign call and MKL's
# set-up outweigh it. The rule is
# fixed (shape only, no timing), so a seeded run picks the same routine every time.
_MKL_MIN_WORK = 5 << 18
# ... or whose result has at least this many elements, however thin the inner dimension: a
# batch-1 kernel gradient (784, 1)·(1, 512) took NumPy 131 us and MKL 52 us (one thread;
# 31 us on two), (256, 1, 256) 16 against 11 us, (128, 1, 256) 7.8 against 8.3 us
_MKL_MIN_OUT = 1 << 16
# The openblas extra's call costs ~3 us through ctypes; its AVX-512 kernels beat NumPy's
# AVX2 ones from ~0.5M multiply-adds (AMD EPYC Zen 5, one thread: (32, 128, 128) 10.5 -> 9.2
# us, (64, 128, 128) 18.5 -> 14.0, (32, 64, 64) 2.7 -> 4.8, (128, 128, 10) 4.6 -> 6.2)
_OPENBLAS_MIN_WORK = 1 << 19
_NEVER = 1 << 62  # no foreign GEMM: every product is NumPy's
_gemm: dict[str, Any] = {}  # resolved once: {"lib": CDLL or None, "name": str, "threads": int}
_gemm_cache: dict[str, Any] = {}  # facts read once (NumPy's OpenBLAS kernels)
_CBLAS_ROW, _CBLAS_N, _CBLAS_T = 101, 111, 112
_FLIP = {_CBLAS_N: _CBLAS_T, _CBLAS_T: _CBLAS_N}  # an operand's flag once it is transposed
_SKINNY = 16  # results with at most this many columns are computed transposed (matmul)
# np.dot without its __array_function__ dispatch (a Python call per product, ~0.1 us):
# every caller has checked that both operands are NumPy arrays first
_dot = getattr(np.dot, "_implementation", np.dot)


def _mkl_candidates() -> list[str]:
    """Paths where the ``mkl`` wheel puts ``libmkl_rt`` (``<prefix>/lib``), newest first."""
    import glob
    import sys

    dirs = {os.path.join(sys.prefix, "lib"), os.path.join(sys.base_prefix, "lib")}
    try:
        from importlib.metadata import PackageNotFoundError, distribution

        for f in distribution("mkl").files or ():
            if "libmkl_rt" in f.name:
                dirs.add(os.path.dirname(str(f.locate())))
    except (ImportError, PackageNotFoundError):
        pass
    found = []
    for d in dirs:
        for pattern in ("libmkl_rt.so*", "libmkl_rt*.dylib", "mkl_rt*.dll"):
            found += glob.glob(os.path.join(d, pattern))
    return sorted(set(found), reverse=True)


def _gemm_threads(variables: tuple[str, ...] = ("MKL_NUM_THREADS", "OMP_NUM_THREADS")) -> int:
    """Threads for a foreign GEMM: the first of ``variables`` set to a positive count, else
    the CPUs this process may run on."""
    for var in variables:
        v = os.environ.get(var, "")
        if v.isdigit() and int(v) > 0:
            return int(v)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _load_mkl() -> tuple[Any, str, int, bool] | None:
    """(CDLL, version text, threads, whether it threads on GNU OpenMP) of MKL's single
    dynamic library, set up for this process."""
    import ctypes

    for path in _mkl_candidates():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        threads = _gemm_threads()
        # one thread: no OpenMP runtime at all; several: GNU OpenMP (what PyTorch and
        # NumPy's neighbours use) where it loads, else Intel's from the intel-openmp wheel
        layer = 1  # MKL_THREADING_SEQUENTIAL
        if threads > 1:
            layer = 0  # MKL_THREADING_INTEL
            try:
                ctypes.CDLL("libgomp.so.1", mode=ctypes.RTLD_GLOBAL)
                layer = 3  # MKL_THREADING_GNU
            except OSError:
                pass
        lib.MKL_Set_Threading_Layer(ctypes.c_int(layer))
        lib.MKL_Set_Num_Threads(ctypes.c_int(threads))
        lib.MKL_Set_Dynamic(ctypes.c_int(0))  # the same thread count every call
        if _malloc_tuning_wanted():
            # MKL's own memory manager keeps each GEMM's packing buffers (9 MB for a
            # Conv2D(32) on RGB at batch 128) between calls. Made in the middle of a step,
            # they sit between its temporaries in the heap, whose holes then no longer fit
            # the next step's (that workload's peak 200 -> 187 MB). From glibc's heap
            # (see tune_allocator) a buffer is as cheap to get again: speed unchanged
            # within noise (2-vCPU Xeon, one and two threads)
            lib.MKL_Disable_Fast_MM()
        c_int, vp = ctypes.c_int, ctypes.c_void_p
        for fn, real in ((lib.cblas_sgemm, ctypes.c_float), (lib.cblas_dgemm, ctypes.c_double)):
            fn.restype = None
            fn.argtypes = [c_int, c_int, c_int, c_int, c_int, c_int, real, vp, c_int, vp,
                           c_int, real, vp, c_int]
        buf = ctypes.create_string_buffer(256)
        try:
            lib.MKL_Get_Version_String(buf, 256)
            text = buf.value.decode(errors="replace")
            version = "Intel MKL " + text.split("Version", 1)[1].split()[0].split("-")[0]
        except (AttributeError, IndexError):
            version = os.path.basename(path)
        return lib, version, threads, layer == 3
    return None


def _openblas_candidates() -> list[str]:
    """Paths of the ``openblas`` extra's library (the ``scipy-openblas32`` wheel)."""
    try:
        from importlib.metadata import PackageNotFoundError, distribution

        files = distribution("scipy-openblas32").files or ()
    except (ImportError, PackageNotFoundError):
        return []
    return sorted({str(f.locate()) for f in files
                   if f.name.startswith("libscipy_openblas") and ".so" in f.name
                   or f.name.endswith((".dylib", ".dll")) and "openblas" in f.name})


def numpy_openblas_core() -> str | None:
    """The kernels NumPy's own OpenBLAS chose when it loaded, in OpenBLAS's names lower case
    (``'haswell'``, ``'skylakex'``, ...), or None where NumPy's BLAS is not an OpenBLAS that
    says.

    Example:
        >>> numpy_openblas_core() is None or numpy_openblas_core().isalnum()
        True
    """
    import ctypes
    import glob

    if "numpy_core" not in _gemm_cache:
        core = None
        libs = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
        for path in glob.glob(os.path.join(libs, "*openblas*")):
            try:
                lib = ctypes.CDLL(path)  # loaded already with NumPy: the same library
            except OSError:
                continue
            for name in ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename",
                         "openblas_get_corename64_", "openblas_get_corename"):
                fn = getattr(lib, name, None)
                if fn is not None:
                    fn.restype = ctypes.c_char_p
                    core = (fn() or b"").decode().strip().lower() or None
                    break
            if core:
                break
        _gemm_cache["numpy_core"] = core
    return _gemm_cache["numpy_core"]


def _load_openblas() -> tuple[Any, str, int, bool] | None:
    """(CDLL, version text, threads, False) of the ``openblas`` extra's OpenBLAS, its kernels
    chosen from the CPU: ``OPENBLAS_CORETYPE``, which pins NumPy's (some machines set it to
    ``Haswell``, AVX2, on AVX-512 CPUs), is not applied to this copy."""
    import ctypes

    for path in _openblas_candidates():
        pinned = os.environ.pop("OPENBLAS_CORETYPE", None)
        try:
            lib = ctypes.CDLL(path)  # OpenBLAS reads the variable once, as it loads
            s, d = lib.scipy_cblas_sgemm, lib.scipy_cblas_dgemm
        except (OSError, AttributeError):
            continue
        finally:
            if pinned is not None:
                os.environ["OPENBLAS_CORETYPE"] = pinned
        threads = _gemm_threads(("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"))
        lib.scipy_openblas_set_num_threads(ctypes.c_int(threads))
        c_int, vp = ctypes.c_int, ctypes.c_void_p
        for fn, real in ((s, ctypes.c_float), (d, ctypes.c_double)):
            fn.restype = None
            fn.argtypes = [c_int, c_int, c_int, c_int, c_int, c_int, real, vp, c_int, vp,
                           c_int, real, vp, c_int]
        lib.scipy_openblas_get_corename.restype = ctypes.c_char_p
        core = (lib.scipy_openblas_get_corename() or b"?").decode()
        version = "OpenBLAS"
        try:
            from importlib.metadata import version as dist_version

            version += " " + dist_version("scipy-openblas32")
        except Exception:  # noqa: BLE001  (the version is only for the report)
            pass
        _gemm_cache["openblas_path"] = path
        return lib, f"{version} {core}", threads, False
    return None


def _resolve_gemm() -> dict[str, Any]:
    if _gemm:
        return _gemm
    mode = os.environ.get("GLASSNET_GEMM", "auto").strip().lower()
    if mode not in ("auto", "numpy", "mkl", "openblas"):
        raise ValueError(
            "GLASSNET_GEMM must be 'auto', 'numpy', 'mkl' or 'openblas'. "
            f"Received: GLASSNET_GEMM={mode!r}"
        )
    loaded, kind = None, "numpy"
    if mode == "mkl" or (mode == "auto" and _cpu.vendor() == "GenuineIntel"):
        loaded, kind = _load_mkl(), "mkl"
        if loaded is None and mode == "mkl":
            raise RuntimeError(
                "GLASSNET_GEMM=mkl needs Intel MKL's runtime; install the extra with "
                "`pip install glassnet[mkl]`. Received: no libmkl_rt found"
            )
    if loaded is None and (mode == "openblas" or (
            mode == "auto" and _cpu.has_avx512()
            and numpy_openblas_core() not in (None, *_cpu.AVX512_CORES))):
        # NumPy's OpenBLAS runs AVX2 kernels on an AVX-512 CPU (OPENBLAS_CORETYPE pins them,
        # or its OpenBLAS predates the CPU): the extra's copy runs the AVX-512 ones for the
        # large products. AMD EPYC (Zen 5), one thread: (128, 784)·(784, 512) 123 -> 214
        # GFLOP/s, an im2col (2048, 288)·(288, 64) 118 -> 225, (32, 512)·(512, 512) 99 -> 159
        loaded, kind = _load_openblas(), "openblas"
        if loaded is None and mode == "openblas":
            raise RuntimeError(
                "GLASSNET_GEMM=openblas needs the scipy-openblas32 wheel; install the extra "
                "with `pip install glassnet[openblas]`. Received: no libscipy_openblas found"
            )
    if loaded is None:
        _gemm.update(lib=None, name="numpy", kind="numpy", threads=0, pid=None, gomp=False,
                     min_work=_NEVER, min_out=_NEVER)
    else:
        lib, version, threads, gomp = loaded
        # an OpenMP pool does not survive fork(2): a child forked after this keeps to NumPy
        # when MKL runs threaded (sequential MKL is fork-safe; OpenBLAS's pthreads pool
        # re-forms in the child)
        s, d = ((lib.cblas_sgemm, lib.cblas_dgemm) if kind == "mkl"
                else (lib.scipy_cblas_sgemm, lib.scipy_cblas_dgemm))
        _gemm.update(lib=lib, name=f"{kind} ({version})", kind=kind, threads=threads, s=s,
                     d=d, gomp=threads > 1 and gomp,
                     pid=os.getpid() if threads > 1 and kind == "mkl" else None,
                     min_work=_MKL_MIN_WORK if kind == "mkl" else _OPENBLAS_MIN_WORK,
                     min_out=_MKL_MIN_OUT)
        if threads > 1:
            _single_thread_numpy_blas(
                keep=_gemm_cache.get("openblas_path") if kind == "openblas" else None)
    return _gemm


def blas_threads_on_gomp() -> bool:
    """Whether the large matrix products run threaded on the GNU OpenMP runtime's pool (MKL
    set up that way): then numba's OpenMP threads are the same threads, and a compiled
    kernel can split its work over them without a second pool spinning against the BLAS's.

    Example:
        >>> blas_threads_on_gomp() in (True, False)
        True
    """
    return bool(_resolve_gemm()["gomp"])


def _single_thread_numpy_blas(keep: str | None = None) -> None:
    """NumPy's OpenBLAS keeps one thread once MKL (or the extra's OpenBLAS, the library at
    ``keep``) runs the large products threaded: two thread pools spinning on the same cores
    starve each other (2-vCPU Xeon, MNIST MLP step: 28 ms with both at 2 threads, 3.6 ms
    with OpenBLAS at 1; NumPy's share is the small products, which threads do not speed
    up). Through threadpoolctl (the ``mkl`` extra brings it); without it, nothing changes."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return
    for lc in ThreadpoolController().select(internal_api="openblas").lib_controllers:
        if keep is None or not os.path.samefile(lc.filepath, keep):
            lc.set_num_threads(1)


def gemm_info() -> str:
    """Which matrix multiply runs on the CPU, e.g. ``'numpy'`` or ``'mkl (...) for ...'``.

    Example:
        >>> gemm_info()  # doctest: +SKIP
        'numpy'
    """
    g = _resolve_gemm()
    if g["lib"] is None:
        return "numpy"
    return (f"{g['name']} threads={g['threads']} for m*k*n >= {g['min_work']} or "
            f"m*n >= {g['min_out']}, numpy below"
            + (" (one thread)" if g["threads"] > 1 else ""))


def _blas_layout(a: np.ndarray) -> tuple[int, int] | None:
    """(transpose flag, leading dimension) of a 2-D operand for row-major CBLAS, or None."""
    st, isz = a.strides, a.itemsize
    if st[1] == isz and st[0] >= max(1, a.shape[1]) * isz and st[0] % isz == 0:
        return _CBLAS_N, st[0] // isz
    if st[0] == isz and st[1] >= max(1, a.shape[0]) * isz and st[1] % isz == 0:
        return _CBLAS_T, st[1] // isz
    return None


def matmul(a: Any, b: Any, out: Any = None) -> Any:
    """``a @ b`` through the fastest GEMM this machine has (NumPy's unless the ``mkl`` extra
    applies; see :func:`gemm_info`). Any operands NumPy's ``matmul`` takes work; the foreign
    routine is used only for large 2-D float32/float64 products of one dtype.

    Args:
        a: (m, k) array. b: (k, n) array. out: optional (m, n) C-contiguous result array.

    Returns: the (m, n) product (``out`` when given).

    Example:
        >>> matmul(np.ones((2, 3), "float32"), np.ones((3, 4), "float32")).shape
        (2, 4)
    """
    if type(a) is not np.ndarray or type(b) is not np.ndarray:  # CuPy (or subclasses)
        xp = get_array_module(a, b)
        return xp.matmul(a, b) if out is None else xp.matmul(a, b, out=out)
    if a.ndim != 2 or b.ndim != 2:
        return np.matmul(a, b) if out is None else np.matmul(a, b, out=out)
    g = _gemm or _resolve_gemm()
    if (a.shape[0] * a.shape[1] * b.shape[1] < g["min_work"]
            and a.shape[0] * b.shape[1] < g["min_out"]):
        # np.dot: the same BLAS call np.matmul makes for 2-D operands, less overhead per call
        return _dot(a, b, out)
    dt = a.dtype
    if (g["lib"] is None or dt != b.dtype or dt.char not in "fd" or a.shape[1] != b.shape[0]
            or (g["pid"] is not None and g["pid"] != os.getpid())):
        return np.matmul(a, b) if out is None else np.matmul(a, b, out=out)
    la, lb = _blas_layout(a), _blas_layout(b)
    if la is None or lb is None or (out is not None and (
            out.dtype != dt or out.shape != (a.shape[0], b.shape[1])
            or not out.flags.c_contiguous)):
        return np.matmul(a, b) if out is None else np.matmul(a, b, out=out)
    m, k = a.shape
    n = b.shape[1]
    skinny = _skinny(m, k, n, la[0] == _CBLAS_T)
    if g["kind"] == "openblas" and not skinny and _openblas_declines(m, k, n,
                                                                     la[0] == _CBLAS_T):
        # where OpenBLAS's AVX-512 kernels lose to NumPy's AVX2 ones (AMD EPYC Zen 5, one
        # thread, NumPy / extra): few rows of a long product, (8, 784, 512) 0.76, (16, 784,
        # 512) 0.88-1.02; narrow results, (32, 4096, 10) 0.82, (21632, 32, 9) 0.90; a short
        # inner dimension into wide rows, (128, 10, 32768) 0.73. The same at two threads:
        # alone, the extra's two threads beat NumPy's one on (8, 784, 512) by 1.08x, but a
        # batch-8 MNIST MLP step that alternates between the two libraries ran at 1,017
        # steps/s against 1,377 with those products on NumPy. np.dot, not np.matmul:
        # matmul runs an outer product (k = 1) in its own loop, 10x slower than BLAS
        return _dot(a, b, out)
    if out is None:
        out = np.empty((m, n), dtype=dt)
    fn = g["s"] if dt.char == "f" else g["d"]
    if skinny:
        # a tall, skinny result of a transposed a (a classifier head's kernel gradient
        # xᵀ·gy, (32768, 10)): MKL writes rows of n floats slowly; the transposed product
        # bᵀ·aᵀ writes rows of m, and one transposing copy puts it back. 2-vCPU Xeon, one
        # thread: (32768, 128, 10) 2.2 -> 1.5 ms, (512, 4096, 10) 1.18 -> 0.56 ms; two
        # threads up to 3x. Not for a C-ordered a ((4096, 512, 10) 0.77 -> 0.95 ms) nor a
        # short k, where the copy costs more than it saves (a 16-filter conv's forward
        # (65536, 28, 16) 0.79 -> 1.16 ms, (100352, 64, 16) 2.3 -> 2.7 ms).
        # Same dot products (the same bits here; fixed per shape either way).
        t = np.empty((n, m), dtype=dt)
        fn(_CBLAS_ROW, _FLIP[lb[0]], _FLIP[la[0]], n, m, k, 1.0, b.ctypes.data, lb[1],
           a.ctypes.data, la[1], 0.0, t.ctypes.data, m)
        np.copyto(out, t.T)
        return out
    fn(_CBLAS_ROW, la[0], lb[0], m, n, k, 1.0, a.ctypes.data, la[1], b.ctypes.data, lb[1],
       0.0, out.ctypes.data, max(1, n))
    return out


def _skinny(m: int, k: int, n: int, a_transposed: bool) -> bool:
    """Whether :func:`matmul` computes an (m, k)·(k, n) product transposed (see there)."""
    return 2 <= n <= _SKINNY and m >= 8 * n and a_transposed and k >= 128


def _openblas_declines(m: int, k: int, n: int, a_transposed: bool) -> bool:
    """Whether :func:`matmul` leaves this product to NumPy's BLAS rather than the
    ``openblas`` extra's (see there)."""
    return (m < 32 and not a_transposed) or n < 16 or (k < 16 and n > 64)


def cblas_gemm(m: int, k: int, n: int, dtype: Any, a_transposed: bool = False) -> Any:
    """The CBLAS routine (``cblas_sgemm``/``cblas_dgemm`` of MKL or the ``openblas``
    extra, a ctypes function) :func:`matmul` calls for an (m, k)·(k, n) product of
    ``dtype`` whose left operand is transposed or not, row-major, with the result
    C-ordered; None where it computes that product another way (NumPy's BLAS, or
    transposed). A compiled kernel that multiplies in the middle of its loop calls it to
    run the products :func:`matmul` would run.

    Example:
        >>> cblas_gemm(2, 3, 4, np.float32) is None  # small: NumPy's dot
        True
    """
    g = _gemm or _resolve_gemm()
    dt = np.dtype(dtype)
    if ((m * k * n < g["min_work"] and m * n < g["min_out"]) or g["lib"] is None
            or dt.char not in "fd" or (g["pid"] is not None and g["pid"] != os.getpid())
            or _skinny(m, k, n, a_transposed)
            or (g["kind"] == "openblas" and _openblas_declines(m, k, n, a_transposed))):
        return None
    return g["s"] if dt.char == "f" else g["d"]


def gemm_for(a: Any, b: Any) -> Callable[..., Any]:
    """The routine :func:`matmul` would use for ``a @ b`` and the two products of its
    backward (the same work m·k·n, results (m, k) and (k, n)): ``np.dot`` where all three
    are small NumPy products (the chooser's rule, without its per-call checks), else
    :func:`matmul` itself, which then decides per call. An op whose GEMMs all have one size —
    ``Linear``'s forward and its two backward products — asks once per recorded op.

    Example:
        >>> gemm_for(np.ones((2, 3)), np.ones((3, 4))) is matmul  # small: NumPy's dot
        False
    """
    if type(a) is np.ndarray and type(b) is np.ndarray and a.ndim == 2 and b.ndim == 2:
        (m, k), n = a.shape, b.shape[1]
        # the three products of one size: a·b (m, n), and backward's (m, k) and (k, n)
        g = _gemm or _resolve_gemm()
        if m * k * n < g["min_work"] and max(m * n, m * k, k * n) < g["min_out"]:
            return _dot
    return matmul


# ---------------------------------------------------------------- dtype policy
_float_dtype: np.dtype = np.dtype(np.float32)


def floatx() -> np.dtype:
    """The default float dtype (float32 unless changed with :func:`set_floatx`)."""
    return _float_dtype


def set_floatx(dtype: DTypeLike) -> None:
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


def get_rng_state() -> dict[str, Any]:
    """Snapshot of the generator state (for exact resume of training)."""
    return dict(_rng.bit_generator.state)


def set_rng_state(state: dict[str, Any]) -> None:
    _rng.bit_generator.state = state


def clear_session(free_memory: bool = True) -> None:
    """Keras's ``keras.backend.clear_session()``: automatic layer names start again
    (``dense``, ``dense_1``, ...) and, with ``free_memory``, garbage is collected now.

    Example:
        >>> gn.backend.clear_session(); gn.layers.Dense(2).name
        'dense'
    """
    import gc

    from .layers.base import reset_names

    reset_names()
    if free_memory:
        gc.collect()


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


def _malloc_tuning_wanted() -> bool:
    """``GLASSNET_MALLOC_TUNING`` unset or true: glassnet sets glibc's thresholds
    (:func:`tune_allocator`) and turns MKL's buffer cache off."""
    return os.environ.get("GLASSNET_MALLOC_TUNING", "1") not in ("0", "false", "False")


if _malloc_tuning_wanted():
    tune_allocator()

# from this size an array that lives as long as the model gets pages of its own
LONG_LIVED_MMAP = 1 << 20


def long_lived_empty(size: int, dtype: DTypeLike, xp: Any = np) -> Any:
    """An uninitialised 1-D array for state that lives as long as the model (the
    optimizer's flat weights, gradients and slots), kept out of the heap that a training
    step's temporaries cycle through.

    With :func:`tune_allocator`'s thresholds, glibc serves every array from one heap. A
    buffer made between two steps lands in a hole that the previous step's temporaries
    left, and the next step's temporaries no longer fit there: the heap grows by their
    size. From ``LONG_LIVED_MMAP`` bytes such a buffer is an anonymous private ``mmap`` of
    its own (NumPy arrays only; CuPy's pool has no such heap). With MKL's buffer cache off
    as well (see ``_load_mkl``), a Conv2D(32) on 32x32x3 images at batch 128 peaks at
    187 MB instead of 200 MB (each change alone: 199-201 MB; 2-vCPU Xeon, one thread).

    Example:
        >>> long_lived_empty(3, "float32").shape
        (3,)
    """
    import mmap

    dt = np.dtype(dtype)
    if (xp is not np or size * dt.itemsize < LONG_LIVED_MMAP
            or not hasattr(mmap, "MAP_PRIVATE")):
        return xp.empty(size, dtype=dt)
    # private: a forked child's writes (its own training) stay in the child
    buf = mmap.mmap(-1, size * dt.itemsize, flags=mmap.MAP_PRIVATE)
    return np.frombuffer(buf, dtype=dt, count=size)  # (unmapped when the array goes)


# imported last, re-exported here: the reductions (glassnet._reduce, which needs the GEMM
# chooser above) and Keras 3's keras.backend names (the settings of glassnet.config, the
# dtype helpers)
from ._dtypes import is_float_dtype, is_int_dtype, result_type, standardize_dtype  # noqa: E402
from ._reduce import (  # noqa: E402
    max_last,
    min_last,
    per_channel,
    sum_axes,
    sum_kept_for,
    sum_last,
    sum_leading,
    sum_rows,
    sum_rows_for,
)
from .config import (  # noqa: E402
    backend,
    epsilon,
    image_data_format,
    set_epsilon,
    set_image_data_format,
)


def get_uid(prefix: str = "") -> int:
    """Keras's per-prefix counter: 1 on the first call with ``prefix``, then 2, ... It is
    the counter automatic layer names use (``dense``, ``dense_1``), restarted by
    :func:`clear_session`.

    Example:
        >>> clear_session(); get_uid("tower"), get_uid("tower")
        (1, 2)
    """
    from .layers.base import next_uid

    return next_uid(prefix)


def is_keras_tensor(x: object) -> bool:
    """True for a functional-API symbolic tensor (``gn.Input`` or a layer called on one)."""
    return bool(getattr(x, "_glassnet_symbolic", False))


__all__ = [
    "asnumpy", "backend", "blas_threads_on_gomp", "cblas_gemm", "epsilon", "get_uid",
    "image_data_format",
    "is_float_dtype", "is_int_dtype", "is_keras_tensor", "result_type", "set_epsilon",
    "set_image_data_format", "standardize_dtype", "clear_session", "cupy_module", "debug",
    "device_of",
    "floatx", "gemm_for", "gemm_info", "get_array_module", "get_rng_state", "get_seed",
    "gpu_available", "is_debug", "is_gpu_array", "matmul", "max_last", "min_last",
    "per_channel", "rmax", "rng", "rsum", "scatter_add", "set_floatx", "set_rng_state",
    "set_seed", "sum_axes", "sum_kept_for", "sum_last", "sum_leading", "sum_rows", "sum_rows_for",
    "to_device", "tune_allocator",
]
