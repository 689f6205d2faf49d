"""Compositions of primitive ops, plus a few fused kernels kept for speed or stability.

Each fused kernel (``Linear``, ``LogSoftmax``, ``SoftmaxCrossEntropy``,
``SigmoidBinaryCrossEntropy``, ``BinaryCrossEntropy``) is tested against the composition
of primitives it replaces (``tests/test_functional.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from . import _epilogue, _packed, _parallel, backend
from ._typing import Axis, TensorLike
from .autograd import Function, is_grad_enabled
from .backend import get_array_module, rsum
from .tensor import Tensor, as_tensor

_xp = get_array_module  # the name the kernels use (an alias: one call less per op)


# ------------------------------------------------------------------ linear
class Linear(Function):
    """``act(x @ w + b)`` in one node: one GEMM forward, two back (x may be N-D).

    ``act`` is None (affine only) or ``"relu"``/``"tanh"``, the hidden activations ``Dense``
    fuses here: their derivative is applied to ``gy`` on the saved output before the GEMMs,
    with the arithmetic of ``ops.Relu``/``ops.Tanh`` (a test checks it bit for bit against
    the composition). A sigmoid or softmax stays its own op, so a cross-entropy can find
    the logits under it.
    """

    gemm = True

    def __init__(self, act: str | None = None) -> None:
        self.act = act
        # inference (made under no_grad) keeps no ReLU mask; part of the op's configuration,
        # so every replay of a recorded op repeats the recording's choice (and its bits)
        self.keep_mask = is_grad_enabled()

    def forward(self, x: Any, w: Any, b: Any = None) -> Any:
        if x.shape[-1] != w.shape[0]:
            raise ValueError(
                f"linear: input feature size {x.shape[-1]} does not match kernel shape "
                f"{w.shape}. Received: input shape {x.shape}"
            )
        # an (..., k) input (a sequence's steps, an image's pixels) is one (rows, k) product:
        # the GEMM chooser's routine (MKL where it applies) instead of NumPy's stacked matmul
        x2 = x if x.ndim == 2 else x.reshape(math.prod(x.shape[:-1]), x.shape[-1])
        self.x, self.x2, self.w, self.has_b = x, x2, w, b is not None
        # the one GEMM chooser (backend: MKL for large products where it applies), asked
        # once: forward and both backward products have the same size (m*k*n)
        mm = self.__dict__.get("mm")  # a replayed op keeps its shapes: chosen once
        if mm is None or mm[1] != x.shape:
            gemm = backend.gemm_for(x2, w)
            if gemm is backend.matmul and not self.keep_mask:
                # inference: the weight may be packed once per predict (glassnet._packed)
                gemm = _packed.matmul
            mm = self.mm = (gemm, x.shape,
                            backend.sum_rows_for(x2.shape[0], w.shape[-1], x.dtype)
                            if type(x) is np.ndarray else backend.sum_rows)
        y = mm[0](x2, w)
        if x2 is not x:
            y = y.reshape(x.shape[:-1] + (w.shape[-1],))
        act = self.act
        self.mask = None
        if (act == "relu" and y.size >= _epilogue.MIN_COMPILED
                and _epilogue.applies(y, *(() if b is None else (b,)))):
            y = _epilogue.bias_relu(y, b)  # one compiled pass; the backward reads y
            self.y = y
            return y
        if b is not None:
            y += b
        if act == "relu":
            # inference clips in one pass (+0 where a training forward writes -0: the
            # same values)
            if self.keep_mask:
                self.mask = _epilogue.relu_mask(y)
                y *= self.mask  # y is this node's own buffer: same values as y * mask
            else:
                _xp(y).maximum(y, 0, out=y)
        elif act == "tanh":
            y = _xp(y).tanh(y)
        self.y = y
        return y

    def backward(self, gy: Any) -> Any:
        x, w, act = self.x, self.w, self.act
        if act == "relu":
            gy = gy * self.mask if self.mask is not None else _epilogue.relu_grad(gy, self.y)
        elif act == "tanh":
            y = self.y
            gy = gy * (1 - y * y)
        need = self.needs_input_grad
        mm = self.mm[0]
        g2 = gy if gy.ndim == 2 else gy.reshape(math.prod(gy.shape[:-1]), gy.shape[-1])
        if need[0]:
            gx = mm(g2, w.T)
            if gx.shape != x.shape:
                gx = gx.reshape(x.shape)
        else:
            gx = None
        out = self.grad_out  # the optimizer's buffers, offered by a replayed step
        ow = ob = None
        if out is not None and g2.dtype == x.dtype:
            ow, ob = out[1], out[2] if self.has_b else None
        # frozen layers (transfer learning) need no kernel/bias gradient: skip that GEMM
        if need[1]:
            gw = mm(self.x2.T, g2, ow)
        else:
            gw = None
        if self.has_b:
            return gx, gw, (self.mm[2](g2, out=ob) if need[2] else None)
        return gx, gw

    def describe(self) -> str:
        return "Linear" if self.act is None else f"Linear+{self.act}"

    def rows_apart(self, shapes: list[tuple[int, ...]], batched: list[bool],
                   out: tuple[int, ...]) -> bool:
        return batched[0] and len(shapes[0]) >= 2 and not any(batched[1:])


def linear(x: TensorLike, w: TensorLike, b: TensorLike | None = None,
           activation: str | None = None) -> Tensor:
    """Affine map ``x @ w + b``, optionally followed by ``"relu"``/``"tanh"`` in the same node.

    Shapes: x (..., in), w (in, out), b (out,) → (..., out).
    """
    if b is None:
        return Linear(activation)(x, w)
    return Linear(activation)(x, w, b)


# ------------------------------------------------------------------ softmax family
class LogSumExp(Function):
    rowwise = "axis"  # each row reduced or normalised alone (axis off 0)

    def __init__(self, axis: Axis = -1, keepdims: bool = False) -> None:
        self.axis, self.keepdims = axis, keepdims

    def forward(self, a: Any) -> Any:
        xp = _xp(a)
        m = a.max(axis=self.axis, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)
        s = xp.log(xp.exp(a - m).sum(axis=self.axis, keepdims=True)) + m
        self.a, self.s = a, s
        return s if self.keepdims else xp.squeeze(s, axis=self.axis)

    def backward(self, gy: Any) -> Any:
        xp = _xp(gy)
        if not self.keepdims:
            gy = xp.expand_dims(gy, self.axis)
        return gy * xp.exp(self.a - self.s)


def _exp_parts(a: Any) -> tuple[Any, Any, Any]:
    """``(zs, e, s)`` of a softmax over the last axis: the shifted logits
    ``a - max(a)``, their exponentials and the row sums of those. :class:`Softmax` divides
    ``e`` by ``s``; :class:`SoftmaxCrossEntropy` takes ``log(s)`` and can hand back the same
    division (its probabilities are then the softmax's bits)."""
    sls = (_parallel.row_slices(a.size // a.shape[-1], a.size)
           if type(a) is np.ndarray and a.size else ())
    if len(sls) <= 1:
        zs = a - backend.max_last(a)
        e = _xp(a).exp(zs)
        return zs, e, backend.sum_last(e)
    # large logits on several threads: each takes a slice of rows through the same three
    # steps (the same bits: every row's values are computed alike)
    a2 = a.reshape(-1, a.shape[-1])
    zs, e = np.empty_like(a2), np.empty_like(a2)
    s = np.empty((a2.shape[0], 1), a.dtype)

    def part(sl: slice) -> None:
        np.subtract(a2[sl], backend.max_last(a2[sl]), out=zs[sl])
        np.exp(zs[sl], out=e[sl])
        s[sl] = backend.sum_last(e[sl])

    _parallel.run(part, sls)
    return zs.reshape(a.shape), e.reshape(a.shape), s.reshape(a.shape[:-1] + (1,))


class Softmax(Function):
    rowwise = "axis"  # each row reduced or normalised alone (axis off 0)

    def __init__(self, axis: int = -1) -> None:
        self.axis = axis

    def forward(self, a: Any) -> Any:
        if self.axis in (-1, a.ndim - 1):
            _, e, s = _exp_parts(a)
        else:
            e = _xp(a).exp(a - a.max(axis=self.axis, keepdims=True))
            s = e.sum(axis=self.axis, keepdims=True)
        e /= s
        self.y = e
        return e

    def backward(self, gy: Any) -> Any:
        y = self.y
        gyy = gy * y
        last = self.axis in (-1, y.ndim - 1)
        return y * (gy - (backend.sum_last(gyy) if last
                          else gyy.sum(axis=self.axis, keepdims=True)))


class LogSoftmax(Function):
    rowwise = "axis"  # each row reduced or normalised alone (axis off 0)

    def __init__(self, axis: int = -1) -> None:
        self.axis = axis

    def forward(self, a: Any) -> Any:
        xp = _xp(a)
        if self.axis in (-1, a.ndim - 1):
            z = a - backend.max_last(a)
            self.y = z - xp.log(backend.sum_last(xp.exp(z)))
        else:
            z = a - a.max(axis=self.axis, keepdims=True)
            self.y = z - xp.log(xp.exp(z).sum(axis=self.axis, keepdims=True))
        return self.y

    def backward(self, gy: Any) -> Any:
        s = (backend.sum_last(gy) if self.axis in (-1, gy.ndim - 1)
             else gy.sum(axis=self.axis, keepdims=True))
        return gy - _xp(gy).exp(self.y) * s


def logsumexp(x: TensorLike, axis: Axis = -1, keepdims: bool = False) -> Tensor:
    """Stable log Σ exp(x) along ``axis``."""
    return LogSumExp(axis, keepdims)(x)


def softmax(x: TensorLike, axis: int = -1) -> Tensor:
    """Stable softmax along ``axis`` (default last)."""
    return Softmax(axis)(x)


def log_softmax(x: TensorLike, axis: int = -1) -> Tensor:
    """Stable log-softmax along ``axis``."""
    return LogSoftmax(axis)(x)


def one_hot(indices: TensorLike, num_classes: int, dtype: DTypeLike | None = None) -> Tensor:
    """One-hot encode integer labels (no gradient). Shape (...,) → (..., num_classes)."""
    d = indices.data if isinstance(indices, Tensor) else np.asarray(indices)
    xp = _xp(d)
    d = d.astype(np.int64)
    if d.size and (d.min() < 0 or d.max() >= num_classes):
        raise ValueError(
            f"one_hot: labels must be in [0, {num_classes}). "
            f"Received: min {int(d.min())}, max {int(d.max())}"
        )
    from .backend import floatx

    out = xp.zeros(d.shape + (num_classes,), dtype=dtype or floatx())
    xp.put_along_axis(out, d[..., None], 1, axis=-1)
    return Tensor._make(out)


# ------------------------------------------------------------------ fused losses
def _weights(sample_weight: Any, n: int, xp: Any, dtype: Any) -> Any:
    if sample_weight is None:
        return None
    w = xp.asarray(sample_weight, dtype=dtype).reshape(-1)
    if w.shape[0] != n:
        raise ValueError(
            f"sample_weight must have one entry per sample ({n}). Received: shape {w.shape}"
        )
    return w


def _value_weights(sample_weight: Any, x: Any, xp: Any) -> Any:
    """Weights shaped to multiply ``x``'s per-value losses: one per sample (N,) on each of
    its values, or for ``x`` of three or more dimensions one per row of the last axis
    (``x.shape[:-1]``, a padded sequence's steps) on that row's values; None stays None."""
    if sample_weight is None:
        return None
    rows = x.size // x.shape[-1] if x.ndim > 2 and x.shape[-1] else -1
    if x.ndim > 2 and np.size(sample_weight) == rows:
        return xp.asarray(sample_weight, dtype=x.dtype).reshape(x.shape[:-1] + (1,))
    n = x.shape[0] if x.ndim else 1
    return _weights(sample_weight, n, xp, x.dtype).reshape((-1,) + (1,) * (x.ndim - 1))


class SoftmaxCrossEntropy(Function):
    """Mean cross-entropy of softmax(logits) against integer labels or one-hot targets."""

    def __init__(self, target: Any, sample_weight: Any = None) -> None:
        self.target, self.sw = target, sample_weight

    def forward(self, z: Any) -> Any:
        xp = _xp(z)
        z2 = z if z.ndim == 2 else z.reshape(-1, z.shape[-1])
        # log p = zs - lse per row; with integer labels only the labels' entries are needed
        # for the value (backward makes the whole log p only if it is called: evaluate
        # never does). Each entry is the same subtraction either way: the same bits.
        c = z2.shape[1]
        if xp is np and c <= 4 and z2.size <= 512:
            # a few classes, a small batch (the course's classifiers): NumPy's stable
            # log-sum-exp of two values, folded over the columns, is twice as fast as the
            # five calls below; past these sizes its scalar loop loses to them (measured,
            # benchmarks/RESULTS.md). Column by column, not logaddexp.reduce: the same
            # bits (each row folds its values in the same order) at 0.6 of its cost.
            lse = z2[:, 0]
            for j in range(1, c):
                lse = np.logaddexp(lse, z2[:, j])
            zs, lse = z2, lse.reshape(-1, 1)
            self.e = None
        else:
            zs, e, sums = _exp_parts(z2)
            lse = xp.log(sums)
            self.e, self.sums = e, sums  # the softmax's own pieces: see probabilities()
        t = self.target
        n = z2.shape[0]
        # per-sample log-likelihood; the loss negates its sum (same bits as summing -ll)
        if t.ndim == z.ndim and t.shape[-1] == z.shape[-1] and t.dtype.kind == "f":
            t2 = t.reshape(-1, z.shape[-1]).astype(z.dtype, copy=False)
            logp = zs - lse
            ll = (t2 * logp).sum(axis=1)
            self.t2 = t2
        else:
            ti = t.reshape(-1).astype(np.int64, copy=False)
            # each label's position in the flattened (n, C) array: a 1-D gather and scatter
            # cost half of logp[rows, ti]
            self.flat = _row_starts(n, z2.shape[1], xp) + ti
            self.t2 = logp = None
            if self.e is None:  # the few-classes path: backward's log p, formed once
                logp = zs - lse
                ll = logp.reshape(-1)[self.flat]
            else:
                ll = zs.reshape(-1)[self.flat] - lse.reshape(-1)
        w = None if self.sw is None else _weights(self.sw, n, xp, z.dtype)
        self.w = w
        self.zs, self.lse, self.logp, self.n, self.shape = zs, lse, logp, n, z.shape
        ll = ll if w is None else ll * w
        s = np.add.reduce(ll) if xp is np else ll.sum()  # (rsum, without its call)
        return xp.asarray(-s / (n or 1), dtype=z.dtype)

    def probabilities(self) -> Any:
        """softmax(z) of the last :meth:`forward`, shaped like z: its exponentials divided
        by their row sums, the same arithmetic as :class:`Softmax` on z (the same bits) in
        one division; computed whole where forward took the few-classes log-sum-exp path,
        which forms no exponentials.

        Example:
            >>> fn = SoftmaxCrossEntropy(np.array([0]))
            >>> _ = fn.forward(np.zeros((1, 8), "float32"))
            >>> float(fn.probabilities()[0, 0])
            0.125
        """
        p = Softmax().forward(self.zs) if self.e is None else self.e / self.sums
        return p if p.shape == self.shape else p.reshape(self.shape)

    def backward(self, gy: Any) -> Any:
        xp = _xp(gy)
        if self.e is not None:
            return self._backward_from_exp(gy)
        g = xp.exp(self.zs - self.lse if self.logp is None else self.logp)
        if self.t2 is not None:  # soft targets: d/dz (-sum t log p) = p * sum(t) - t
            g = g * self.t2.sum(axis=1, keepdims=True) - self.t2
        else:
            g.reshape(-1)[self.flat] -= 1  # g is exp's fresh array: the view writes into it
        if self.w is not None:
            g *= self.w[:, None]
        g *= gy / (self.n or 1)
        return g if g.shape == self.shape else g.reshape(self.shape)

    def _backward_from_exp(self, gy: Any) -> Any:
        """The gradient ``c * (p - t)`` with ``p = e / s`` (forward's exponentials and row
        sums: the softmax's own division) and ``c = gy * w / n`` folded into one per-row
        factor ``c / s``: one pass over the logits where ``exp(log p)``, the label
        subtraction and two scalings took four (a language model's (1024, 2000) logits:
        3.3 -> 0.9 ms)."""
        c = gy / (self.n or 1)
        if self.w is not None:
            c = self.w[:, None] * c
        e: Any = self.e  # set: forward took the exponentials path
        f = c / self.sums
        sls = _parallel.row_slices(len(f), e.size) if type(e) is np.ndarray else ()
        if len(sls) <= 1:
            g = e * f
        else:  # large logits on several threads, a slice of rows each (the same bits)
            g = np.empty_like(e)
            _parallel.run(lambda sl: np.multiply(e[sl], f[sl], out=g[sl]), sls)
        if self.t2 is not None:  # soft targets: d/dz (-sum t log p) = p * sum(t) - t
            g *= self.t2.sum(axis=1, keepdims=True)
            g -= self.t2 * c
        else:
            # g is a fresh product: the flat view writes into it
            g.reshape(-1)[self.flat] -= c if c.ndim == 0 else c.reshape(-1)
        return g if g.shape == self.shape else g.reshape(self.shape)


_ROW_STARTS: dict = {}


def _row_starts(n: int, c: int, xp: Any) -> Any:
    """``xp.arange(n) * c``: where each row of an (n, c) array starts once flattened. Kept
    per shape on the CPU (a GPU array belongs to one device, so those are made fresh)."""
    if xp is not np:
        return xp.arange(n) * c
    a = _ROW_STARTS.get((n, c))
    if a is None:
        if len(_ROW_STARTS) > 64:
            _ROW_STARTS.clear()
        a = _ROW_STARTS[(n, c)] = np.arange(n) * c
        a.flags.writeable = False  # shared between calls: nobody may write into it
    return a


# values up to which a loss's few scalar-loop calls beat the SIMD ufuncs' longer chain
# (logaddexp; 2-vCPU AMD EPYC: 1.0 against 1.9 us at 16 values, even near 128)
_FEW = 128


class SigmoidBinaryCrossEntropy(Function):
    """Mean binary cross-entropy of sigmoid(logits), computed stably from logits."""

    def __init__(self, target: Any, sample_weight: Any = None) -> None:
        self.target, self.sw = target, sample_weight

    def forward(self, z: Any) -> Any:
        xp = _xp(z)
        t = self.target.astype(z.dtype, copy=False)
        # max(z,0) - z*t + log(1+exp(-|z|)) never overflows
        if xp is np and z.size <= _FEW:
            # softplus(z) = max(z,0) + log1p(exp(-|z|)) is NumPy's logaddexp(0, z), the
            # same formula in one call: on a small batch three calls instead of seven; past
            # _FEW values its scalar loop loses to the SIMD exp and log1p (measured)
            per = np.logaddexp(0, z)
            per -= z * t
        else:
            per = xp.maximum(z, 0) - z * t + xp.log1p(xp.exp(-xp.abs(z)))
        self.z, self.t = z, t
        self.w = _value_weights(self.sw, z, xp)
        if self.w is not None:
            per = per * self.w
        self.size = max(z.size, 1)
        return xp.asarray(per.sum() / self.size, dtype=z.dtype)

    def backward(self, gy: Any) -> Any:
        xp = _xp(gy)
        g = xp.multiply(self.z, 0.5)  # sigmoid(z) = (tanh(z/2) + 1) / 2, in place
        xp.tanh(g, out=g)
        g += 1
        g *= 0.5
        g -= self.t
        if self.w is not None:
            g *= self.w
        g *= gy / self.size
        return g


class BinaryCrossEntropy(Function):
    """Mean binary cross-entropy on probabilities, clipped to [eps, 1-eps] as Keras does."""

    def __init__(self, target: Any, sample_weight: Any = None, eps: float = 1e-7) -> None:
        self.target, self.sw, self.eps = target, sample_weight, eps

    def forward(self, p: Any) -> Any:
        xp = _xp(p)
        t = self.target.astype(p.dtype, copy=False)
        pc = xp.clip(p, self.eps, 1 - self.eps)
        per = -(t * xp.log(pc) + (1 - t) * xp.log(1 - pc))
        self.p, self.pc, self.t = p, pc, t
        self.w = _value_weights(self.sw, p, xp)
        if self.w is not None:
            per = per * self.w
        self.size = max(p.size, 1)
        return xp.asarray(per.sum() / self.size, dtype=p.dtype)

    def backward(self, gy: Any) -> Any:
        pc, t = self.pc, self.t
        g = (pc - t) / (pc * (1 - pc))
        g = g * ((self.p >= self.eps) & (self.p <= 1 - self.eps))
        if self.w is not None:
            g = g * self.w
        return g * (gy / self.size)


class RegressionLoss(Function):
    """Mean squared error or Huber loss in one node: forward and backward side by side.

    ``kind`` is ``"mse"`` (e = d²) or ``"huber"`` (e = ½d² where |d| ≤ delta, else
    delta·(|d| − ½delta); computed as c·d − ½c² with c = clip(d, −delta, delta), its
    derivative) with d = ŷ − y. e is averaged over the last axis (predictions of 2 or
    more dimensions: per sample, or per pixel of an image); the loss is Σ wᵢ·eᵢ / M over the
    M averaged values, sample i's weight on each of its values (Keras's
    ``sum_over_batch_size``). One node and two array passes instead of the six-to-nine ops
    the composition records; tested against that composition
    (losses.MeanSquaredError/Huber ``call``).
    """

    def __init__(self, kind: str, target: Any, sample_weight: Any = None,
                 delta: float = 1.0) -> None:
        self.kind, self.target, self.sw, self.delta = kind, target, sample_weight, delta

    def forward(self, p: Any) -> Any:
        xp = _xp(p)
        t = p.dtype.type
        d = p - self.target
        n = p.shape[0] if p.ndim else 1
        k = p.shape[-1] if p.ndim >= 2 else 1
        vshape = p.shape[:-1] if p.ndim >= 2 else p.shape  # the averaged values' shape
        m = math.prod(vshape) if p.ndim else 1  # N, or N·H·W for an image
        w = None
        if self.sw is not None and len(vshape) > 1 and xp.size(self.sw) == m:
            w = xp.asarray(self.sw, dtype=p.dtype).reshape(vshape)  # a weight per value
        else:
            w = _weights(self.sw, n, xp, p.dtype)
            if w is not None and len(vshape) > 1:
                w = w.reshape((n,) + (1,) * (len(vshape) - 1))  # each sample's on its values
        self.d, self.w, self.m, self.k = d, w, m, k
        c = None
        if self.kind == "huber":
            # c = clip(d, -delta, delta), Huber's derivative; e = c·d − ½c² on both sides
            # of delta (½d² within, delta·(|d| − ½delta) beyond)
            c = xp.maximum(d, t(-self.delta))
            xp.minimum(c, t(self.delta), out=c)
        self.c = c
        if w is None:
            # unweighted: one sum over everything, Σe / k, the same value as Σ mean(e) over
            # the rows; Huber's Σe as two BLAS dots, Σc·d − ½Σc², without forming e (a
            # small model's step is its NumPy calls: 5 here instead of 9)
            if c is None:
                total = rsum(d * d) / k
            else:
                total = (xp.vdot(c, d) - xp.vdot(c, c) * t(0.5)) / k
            return xp.asarray(total / max(m, 1), dtype=p.dtype)
        e = d * d if c is None else c * d - c * c * t(0.5)
        if p.ndim > 2:
            # one sum over everything (a short last axis, an image's channels, makes
            # per-row sums NumPy's slow case): Σ w·e / k, the same value as Σ w·mean(e)
            total = rsum(e * w[..., None]) / k
        else:
            per = rsum(e, axis=-1) / k if p.ndim == 2 else e
            total = rsum(per * w)
        return xp.asarray(total / max(m, 1), dtype=p.dtype)

    def backward(self, gy: Any) -> Any:
        scale = gy / (self.k * max(self.m, 1))
        # d(d²) = 2d; Huber's derivative is c = clip(d, -delta, delta), kept by forward
        g = self.d * (scale * 2) if self.c is None else self.c * scale
        if self.w is not None:
            g *= self.w if g.ndim == 1 else self.w[..., None]
        return g


def _target_array(target: Any, like: Tensor) -> Any:
    d = target.data if isinstance(target, Tensor) else target
    xp = _xp(like.data)
    d = xp.asarray(d)
    return d


def softmax_cross_entropy(logits: TensorLike, target: TensorLike,
                          sample_weight: ArrayLike | None = None) -> Tensor:
    """Mean CE of ``softmax(logits)``; ``target`` is integer labels (N,) or one-hot (N, C)."""
    logits = logits if isinstance(logits, Tensor) else as_tensor(logits)
    return SoftmaxCrossEntropy(_target_array(target, logits), sample_weight)(logits)


def sigmoid_binary_cross_entropy(logits: TensorLike, target: TensorLike,
                                 sample_weight: ArrayLike | None = None) -> Tensor:
    """Mean BCE of ``sigmoid(logits)`` against 0/1 targets, stable for any logit."""
    logits = logits if isinstance(logits, Tensor) else as_tensor(logits)
    return SigmoidBinaryCrossEntropy(_target_array(target, logits), sample_weight)(logits)


def binary_cross_entropy(probs: TensorLike, target: TensorLike,
                         sample_weight: ArrayLike | None = None, eps: float = 1e-7) -> Tensor:
    """Mean BCE on probabilities (clipped to [eps, 1−eps], as Keras)."""
    probs = probs if isinstance(probs, Tensor) else as_tensor(probs)
    return BinaryCrossEntropy(_target_array(target, probs), sample_weight, eps)(probs)


# ------------------------------------------------------------------ random ops
def keep_draw(gen: np.random.Generator, shape: tuple[int, ...], rate: float) -> np.ndarray:
    """A boolean array of ``shape``, True (keep) with probability ``1 - rate``: every entry
    one 32-bit draw of ``gen``'s bit generator against ``rate * 2**32`` (half the bits of
    ``gen.random``'s doubles, and no conversion: a (32, 64) dropout mask 6.9 -> 4.3 us).

    Example:
        >>> bool(keep_draw(np.random.default_rng(0), (2, 3), 0.0).all())
        True
    """
    n = math.prod(shape)
    raw = gen.bit_generator.random_raw((n + 1) // 2).view(np.uint32)[:n]
    return raw.reshape(shape) >= np.uint32(min(round(rate * 2.0**32), 2**32 - 1))


def keep_mask(gen: np.random.Generator, shape: tuple[int, ...], rate: float, dtype: Any,
              xp: Any = None) -> Any:
    """Inverted dropout's multiplier: ``1 / (1 - rate)`` where :func:`keep_draw` keeps an
    entry, 0 elsewhere, of ``dtype`` on ``xp``'s device (None: NumPy; drawn on the CPU, as
    every draw of the library's generators).

    Example:
        >>> keep_mask(np.random.default_rng(0), (4,), 0.5, "float32").dtype
        dtype('float32')
    """
    dt = np.dtype(dtype)
    m = keep_draw(gen, shape, rate) * dt.type(1.0 / (1.0 - rate))
    return m if xp is None or xp is np else xp.asarray(m)


class RandomScale(Function):
    """``x * draw(x)``: a multiplier drawn afresh at every forward (dropout, Gaussian dropout).

    The draw happens inside ``forward`` so a replayed step (``glassnet._tape``) draws new
    numbers, from the same generator, in the same order as the ordinary path.
    """

    random = True

    def __init__(self, draw: Callable[[Any], Any]) -> None:
        self.draw = draw  # draw(x) -> multiplier array broadcastable to x

    def forward(self, x: Any) -> Any:
        self.m = self.draw(x)
        return x * self.m

    def backward(self, gy: Any) -> Any:
        return gy * self.m


class RandomShift(Function):
    """``x + draw(x)``: additive noise drawn afresh at every forward (Gaussian noise)."""

    random = True

    def __init__(self, draw: Callable[[Any], Any]) -> None:
        self.draw = draw

    def forward(self, x: Any) -> Any:
        return x + self.draw(x)

    def backward(self, gy: Any) -> Any:
        return gy


# ------------------------------------------------------------------ composed helpers
def dropout(x: Tensor, rate: float, training: bool = True) -> Tensor:
    """Inverted dropout: zero with prob ``rate``, scale kept units by 1/(1−rate)."""
    if not training or rate == 0:
        return x
    from .backend import rng

    def draw(a: Any) -> Any:
        keep = rng().random(a.shape) >= rate
        return _xp(a).asarray(keep, dtype=a.dtype) / (1.0 - rate)

    return RandomScale(draw)(x)
