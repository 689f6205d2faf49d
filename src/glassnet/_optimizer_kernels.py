"""Fused optimizer updates: one pass over each flat buffer where the ``numba`` extra is
installed, with the NumPy formula kept as the reference (and the path everywhere else).

Adam's NumPy update is eleven whole-buffer ufunc passes (``g - m``, scale, add, ``g·g``, …,
``sqrt``, divide, scale): on the MNIST MLP's 670k parameters that was about half of a batch-32
training step. The compiled loop reads g, m and v once and writes m, v and the step once,
with the same float operations in the same order and the scalars rounded to the buffer's
dtype exactly as NumPy does, so it reproduces the NumPy result bit for bit (tested).

When the compiled path runs: :func:`fused_available` (numba already loaded, or asked for
with ``GLASSNET_NUMBA=1``; ``GLASSNET_NUMBA=0`` keeps the NumPy reference).
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["adam_delta", "adam_delta_reference", "fused_available"]

_STATE: dict[str, Any] = {}  # "ok": numba usable; else a compiled kernel by name


def fused_available() -> bool:
    """Whether the compiled (numba) kernels run here.

    ``GLASSNET_NUMBA=0`` (or false/no): never. ``GLASSNET_NUMBA=1`` (or true/yes): whenever
    numba imports. Unset: only once numba is already loaded in this process (by the LSTM
    kernel, or the user's own code): importing numba costs about 120 MB of resident memory
    (LLVM), more than a small model's whole training run, so these kernels never pull it in
    on their own.
    """
    env = os.environ.get("GLASSNET_NUMBA", "").strip().lower()
    if env in ("0", "false", "no"):
        return False
    if env not in ("1", "true", "yes") and "numba" not in sys.modules:
        return False
    if "ok" not in _STATE:
        ok = False
        try:
            import numba  # noqa: F401
            ok = True
        except ModuleNotFoundError:
            pass  # the extra is not installed: the NumPy reference, silently
        except Exception as e:  # installed but broken (e.g. too old for this NumPy)
            warnings.warn(f"glassnet: the numba extra cannot be imported ({e}); "
                          "optimizers use their NumPy update", RuntimeWarning, stacklevel=3)
        _STATE["ok"] = ok
    return _STATE["ok"]


def _adam_loop(g: np.ndarray, m: np.ndarray, v: np.ndarray,  # pragma: no cover - numba
               d: np.ndarray, c1: np.floating, c2: np.floating, eps: np.floating,
               alpha: np.floating) -> None:  # compiled by numba
    for i in range(g.size):
        gi = g[i]
        mi = m[i]
        mi += (gi - mi) * c1
        vi = v[i]
        vi += (gi * gi - vi) * c2
        m[i] = mi
        v[i] = vi
        d[i] = mi / (np.sqrt(vi) + eps) * alpha


def _kernel(name: str) -> Callable[..., Any]:
    k = _STATE.get(name)
    if k is None:
        import numba

        # module-level function + cache=True: the next process loads it from disk
        k = _STATE[name] = numba.njit(cache=True, nogil=True)(globals()[name])
    return k


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
    from .backend import get_array_module

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


def adam_delta(g: Any, m: Any, v: Any, tmp: Any, beta_1: float, beta_2: float, epsilon: float,
               alpha: float) -> Any:
    """Adam's step, compiled in one pass where possible, else :func:`adam_delta_reference`
    (same arguments, same result bit for bit).

    Example:
        >>> g = np.ones(3, "float32"); m, v, t = (np.zeros(3, "float32") for _ in "mvt")
        >>> float(adam_delta(g, m, v, t, 0.9, 0.999, 1e-7, 0.001)[0]) > 0
        True
    """
    arrays = (g, m, v, tmp)
    dt = g.dtype
    if (fused_available() and all(type(a) is np.ndarray and a.ndim == 1 and a.dtype == dt
                                  and a.flags.c_contiguous for a in arrays)
            and dt.char in "fd" and len({a.shape for a in arrays}) == 1):
        t = dt.type  # NumPy rounds a Python scalar to the array's dtype before the ufunc
        _kernel("_adam_loop")(g, m, v, tmp, t(1 - beta_1), t(1 - beta_2), t(epsilon),
                              t(alpha))
        return tmp
    return adam_delta_reference(g, m, v, tmp, beta_1, beta_2, epsilon, alpha)
