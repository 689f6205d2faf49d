"""Numerical gradient checks: float64 central differences against backprop."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import backend
from ._display import gradcheck_repr_html
from .tensor import Tensor


class GradcheckError(AssertionError):
    """Raised when backprop and finite differences disagree; names input and index."""


@dataclass
class GradcheckReport:
    """Per-input max absolute / relative errors of one :func:`gradcheck` call."""

    max_abs: list = field(default_factory=list)
    max_rel: list = field(default_factory=list)
    mode: list = field(default_factory=list)
    ok: bool = True

    def __str__(self) -> str:
        rows = [
            f"input {i}: {m:<9} max|abs err| {a:.3e}  max rel err {r:.3e}"
            for i, (a, r, m) in enumerate(zip(self.max_abs, self.max_rel, self.mode))
        ]
        return "gradcheck " + ("passed" if self.ok else "FAILED") + "\n" + "\n".join(rows)

    _repr_html_ = gradcheck_repr_html  # Jupyter: the errors as a table


def _as64(x: Any) -> Tensor:
    if isinstance(x, Tensor):
        x = backend.asnumpy(x.data)
    # a private C-ordered copy: perturbing it through reshape(-1) must write into the tensor
    # (a non-contiguous input would give a copy there), and must never touch the caller's array
    a = np.array(x, dtype=np.float64, order="C", copy=True)
    return Tensor(a, requires_grad=True, dtype="float64")


def _scalarize(out: Tensor, proj: np.ndarray | None) -> Tensor:
    if proj is None:
        return out.sum() if out.size != 1 else out.reshape(())
    return (out * Tensor._make(proj)).sum()


def gradcheck(
    fn: Callable[..., Tensor],
    *inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    max_full: int = 64,
    n_directions: int = 8,
    seed: int = 0,
    raise_on_fail: bool = True,
) -> GradcheckReport:
    """Compare ``fn``'s backprop gradients with central differences in float64.

    Inputs are copied to float64 tensors. The output is reduced to a scalar with a fixed
    random projection, so every output element is checked. Inputs of at most ``max_full``
    elements get the full element-wise check; larger ones get ``n_directions`` random
    directional-derivative checks.

    Args:
        fn: callable taking tensors, returning a tensor.
        *inputs: arrays or tensors (all are differentiated).
        eps, atol, rtol: step and tolerances (pass if |a−n| <= atol + rtol·|n|).

    Returns:
        A :class:`GradcheckReport`; raises :class:`GradcheckError` naming the input and the
        index on failure (unless ``raise_on_fail=False``).

    Example:
        >>> gn.gradcheck(lambda x: (x * x).sum(), np.array([1.0, 2.0]))
    """
    rs = np.random.default_rng(seed)
    xs = [_as64(x) for x in inputs]
    out = fn(*xs)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor. Received: {type(out).__name__}")
    proj = None if out.size == 1 else rs.standard_normal(out.shape)

    def f_scalar() -> float:
        with_grad = fn(*xs)
        return float(_scalarize(with_grad, proj).data)

    loss = _scalarize(out, proj)
    loss.backward()
    report = GradcheckReport()
    for k, x in enumerate(xs):
        analytic = np.zeros(x.shape) if x.grad is None else backend.asnumpy(x.grad)
        flat = x.data.reshape(-1)
        worst_abs = worst_rel = 0.0
        if x.size <= max_full:
            report.mode.append("full")
            for i in range(x.size):
                old = flat[i]
                flat[i] = old + eps
                fp = f_scalar()
                flat[i] = old - eps
                fm = f_scalar()
                flat[i] = old
                num = (fp - fm) / (2 * eps)
                a = analytic.reshape(-1)[i]
                err = abs(a - num)
                worst_abs = max(worst_abs, err)
                worst_rel = max(worst_rel, err / max(abs(num), 1e-12))
                if err > atol + rtol * abs(num):
                    report.ok = False
                    if raise_on_fail:
                        idx = np.unravel_index(i, x.shape) if x.shape else ()
                        raise GradcheckError(
                            f"gradcheck failed for input {k} (shape {x.shape}) at index "
                            f"{tuple(int(j) for j in idx)}: backprop {a:.6e} vs numeric "
                            f"{num:.6e} (abs err {err:.2e})"
                        )
        else:
            report.mode.append("random")
            base = x.data.copy()
            for _ in range(n_directions):
                d = rs.standard_normal(x.shape)
                d /= np.linalg.norm(d)
                x.data[...] = base + eps * d
                fp = f_scalar()
                x.data[...] = base - eps * d
                fm = f_scalar()
                x.data[...] = base
                num = (fp - fm) / (2 * eps)
                a = float((analytic * d).sum())
                err = abs(a - num)
                worst_abs = max(worst_abs, err)
                worst_rel = max(worst_rel, err / max(abs(num), 1e-12))
                if err > atol + rtol * abs(num):
                    report.ok = False
                    if raise_on_fail:
                        raise GradcheckError(
                            f"gradcheck failed for input {k} (shape {x.shape}) along a random "
                            f"direction: backprop {a:.6e} vs numeric {num:.6e}"
                        )
        report.max_abs.append(worst_abs)
        report.max_rel.append(worst_rel)
    return report
