"""numba's ``njit`` for glassnet's kernels, with a lighter load of a kernel cached on disk.

Every compiled kernel (the optimizers', the layers', the LSTM's) is made here, ``cache=True``,
so a process loads it from ``__pycache__`` instead of compiling it. numba's cache load first
*refreshes* the whole CPU target: it imports every lowering registry numba has (about 220
modules: typed containers, random generators, polynomials, linear algebra, and SciPy's
``linalg`` where SciPy is installed) although a cached kernel is machine code that needs none
of them. Measured on a 2-vCPU Xeon: a process's resident memory after its first cached kernel
call is 160 MB with the refresh and 131 MB without (numba's import alone is 94 MB), and the
call itself is faster.

A loaded kernel does need numba's runtime (NRT: the Python wrapper unboxes arrays through
it), so the light load initialises exactly that, then reads the cache. numba makes its
runtime by compiling a small LLVM module, the first LLVM compilation of the process (its
optimiser and code generator: 29 MB, 0.1 s); the light load keeps that module's machine
code beside the kernels' cache, keyed by the numba and llvmlite versions and the CPU, and
links it from there in later processes (10 MB): 112 MB after the first kernel call. Where the
cache has
no entry for the signature (first run, a new dtype, another CPU), the dispatcher compiles as
usual and the compiler refreshes the target itself. The light load is set on glassnet's own
dispatchers only (an instance attribute of each one's cache), never on numba's classes, so a
user's own numba code keeps numba's behaviour; where a numba release changes the private
names it uses, the dispatcher keeps numba's own load.
"""

from __future__ import annotations

import hashlib
import os
import struct
import sys
import tempfile
from collections.abc import Callable
from typing import Any

__all__ = ["njit"]

_MAGIC = b"glassnet-numba-runtime-1\n"
_STATE: dict[str, str] = {}  # "runtime": how numba's runtime came up ("cached", "compiled")


def njit(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    """``numba.njit(**options)`` as a decorator, its dispatcher given the light cache load.

    Example::

        @njit(cache=True, nogil=True)
        def twice(a):
            for i in range(a.size):
                a[i] *= 2
    """
    import numba

    def wrap(fn: Callable[..., Any]) -> Any:
        return light(numba.njit(**options)(fn))
    return wrap


def light(dispatcher: Any) -> Any:
    """Give ``dispatcher`` (a numba ``cache=True`` dispatcher) the light cache load; return it.

    A dispatcher without a disk cache, or a numba whose cache lacks the private methods used
    here, is returned unchanged.
    """
    cache: Any = getattr(dispatcher, "_cache", None)
    read = getattr(cache, "_load_overload", None)
    guard = getattr(cache, "_guard_against_spurious_io_errors", None)
    if read is None or guard is None:
        return dispatcher
    try:
        from numba.core.runtime import rtsys
    except ImportError:  # pragma: no cover - a numba that moved its runtime
        return dispatcher
    if not isinstance(getattr(rtsys, "_init", None), bool):  # pragma: no cover - renamed
        return dispatcher
    folder = getattr(cache, "cache_path", None)

    def load_overload(sig: Any, target_context: Any) -> Any:
        if not rtsys._init:  # the one part of the refresh a cached kernel needs
            runtime(target_context, folder)
        with guard():
            return read(sig, target_context)
        return None  # the guard swallowed an I/O error: compile instead, as numba does

    cache.load_overload = load_overload
    return dispatcher


def runtime(target_context: Any, folder: str | None) -> None:
    """Initialise numba's runtime, from its machine code kept in ``folder`` where it is there.

    What ``rtsys.initialize`` does (register the runtime's C entry points, compile its LLVM
    functions), with the compiled functions' object code kept in ``folder`` and linked from
    there in later processes. Called with numba's compiler lock held (inside the
    dispatcher's load). Anything unusual (no folder, an unreadable or foreign file, a numba
    without the private names used here) falls back to numba's own ``rtsys.initialize``.
    """
    from numba.core.runtime import rtsys

    if rtsys._init:
        return
    try:
        path = _runtime_path(target_context, folder)
        parts = _read_runtime(path) if path is not None else None
        if parts is not None:
            _install(target_context, parts)
            _STATE["runtime"] = "cached"
            return
        library = _install(target_context, None)
        _STATE["runtime"] = "compiled"
    except Exception:  # noqa: BLE001 - any failure: numba's own way
        rtsys._init = False
        rtsys.initialize(target_context)
        _STATE["runtime"] = "numba"
        return
    if path is not None:
        try:
            _save_runtime(library, path)
        except OSError:  # a read-only folder: compile again next time
            pass


def _runtime_path(target_context: Any, folder: str | None) -> str | None:
    if not folder or not os.path.isdir(folder):
        return None
    import llvmlite
    import numba

    key = repr((numba.__version__, llvmlite.__version__, sys.version_info[:2],
                target_context.codegen().magic_tuple()))
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return os.path.join(folder, f"glassnet-nrt-{digest}.bin")


def _install(target_context: Any, parts: tuple[bytes, bytes, bytes] | None) -> Any:
    """numba's runtime made ready: its C entry points registered and its LLVM functions
    linked from ``parts`` (name, object code, bitcode) or, for None, compiled keeping their
    object code. Returns the runtime's code library."""
    import importlib

    import llvmlite.binding as ll
    from numba.core import config
    from numba.core.runtime import nrtdynmod, rtsys

    _nrt = importlib.import_module("numba.core.runtime._nrt_python")
    if getattr(config, "NRT_STATS", False):
        _nrt.memsys_enable_stats()
    for py_name, address in _nrt.c_helpers.items():
        ll.add_symbol(py_name if py_name.startswith("_") else "NRT_" + py_name, address)
    if parts is None:
        ir_mod, library = nrtdynmod.create_nrt_module(target_context)
        library.enable_object_caching()
        library.add_ir_module(ir_mod)
        library.finalize()
    else:
        library = target_context.codegen().unserialize_library(
            (parts[0].decode(), "object", (parts[1], parts[2])))
    rtsys._library = library
    rtsys._init = True
    return library


def _save_runtime(library: Any, path: str) -> None:
    """The runtime library's name, object code and bitcode, to ``path`` (temp file +
    rename: a reader sees the whole file or none)."""
    name, _, (obj, bitcode) = library.serialize_using_object_code()
    body = b"".join(struct.pack("<Q", len(part)) + part
                    for part in (name.encode(), obj, bitcode))
    blob = _MAGIC + body + hashlib.sha256(body).digest()
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".glassnet-nrt-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _read_runtime(path: str) -> tuple[bytes, bytes, bytes] | None:
    """The parts :func:`_save_runtime` wrote to ``path``; None where there is no such file
    or it is not one whole, unaltered (its SHA-256 checked) glassnet runtime file."""
    try:
        with open(path, "rb") as f:
            blob = f.read()
    except OSError:
        return None
    body, digest = blob[len(_MAGIC):-32], blob[-32:]
    if (not blob.startswith(_MAGIC) or len(blob) < len(_MAGIC) + 32
            or hashlib.sha256(body).digest() != digest):
        return None
    parts, at = [], 0
    for _ in range(3):
        if at + 8 > len(body):
            return None
        (n,) = struct.unpack_from("<Q", body, at)
        at += 8
        parts.append(body[at:at + n])
        at += n
    if at != len(body):
        return None
    return parts[0], parts[1], parts[2]
