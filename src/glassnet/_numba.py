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
it), so the light load initialises exactly that, then reads the cache. Where the cache has
no entry for the signature (first run, a new dtype, another CPU), the dispatcher compiles as
usual and the compiler refreshes the target itself. The light load is set on glassnet's own
dispatchers only (an instance attribute of each one's cache), never on numba's classes, so a
user's own numba code keeps numba's behaviour; where a numba release changes the private
names it uses, the dispatcher keeps numba's own load.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["njit"]


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
    cache = getattr(dispatcher, "_cache", None)
    read = getattr(cache, "_load_overload", None)
    guard = getattr(cache, "_guard_against_spurious_io_errors", None)
    if read is None or guard is None:
        return dispatcher
    try:
        from numba.core.runtime import rtsys
    except ImportError:  # pragma: no cover - a numba that moved its runtime
        return dispatcher

    def load_overload(sig: Any, target_context: Any) -> Any:
        rtsys.initialize(target_context)  # the one part of the refresh a cached kernel needs
        with guard():
            return read(sig, target_context)
        return None  # the guard swallowed an I/O error: compile instead, as numba does

    cache.load_overload = load_overload
    return dispatcher
