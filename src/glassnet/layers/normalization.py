"""``BatchNormalization`` and ``LayerNormalization``, both on one fused normalisation kernel.

The kernel normalises over ``norm_axes`` and applies ``gamma * x_hat + beta`` in one node;
its backward is the closed form
``gx = gamma / sigma * (gy - mean(gy) - x_hat * mean(gy * x_hat))`` (means over
``norm_axes``), which is both faster and numerically steadier than differentiating the
composed graph of mean, subtract, square, sqrt and divide.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple, cast

import numpy as np

from .. import backend, constraints, initializers, ops, regularizers
from .._optimizer_kernels import fused_available
from ..autograd import Function, data_rows, off_rows
from ..tensor import Tensor
from .base import Layer, register

__all__ = ["BatchNormalization", "LayerNormalization"]



def _compiled_module() -> Any:
    """:mod:`._norm_numba` (it imports numba: loaded on first use, then kept here, which
    a step's import statement would cost ~0.5 us to find each call)."""
    mod = _COMPILED.get("mod")
    if mod is None:
        from . import _norm_numba as mod

        _COMPILED["mod"] = mod
    return mod


_COMPILED: dict[str, Any] = {}


class _Plan(NamedTuple):
    """What :class:`Normalize` decides once per input signature (a replayed op keeps it)."""

    key: tuple[Any, ...]  # (x type, x shape, x dtype, the weights' own shape)
    xp: Any  # x's array module
    axes: tuple[int, ...]  # the normalised axes, non-negative, sorted
    ssum: Any  # a -> a summed over the normalised axes, kept as size-1 axes
    smean: Any  # a -> its mean over them (on NumPy one GEMV with a 1/count vector)
    count: Any  # how many elements each sum adds, as a scalar of x's dtype (the divisor)
    kshape: tuple[int, ...]  # a sum's shape (keepdims)
    wshape: tuple[int, ...] | None  # gamma/beta's own shape
    pshape: tuple[int, ...] | None  # gamma/beta's broadcast shape
    view: bool  # gamma/beta need reshaping to pshape (broadcasting alone does not align them)
    per_channel: bool  # gamma/beta constant along the normalised axes (BatchNormalization)
    psum: Any  # a -> a summed over the axes a parameter is broadcast along, in wshape
    # backend.per_channel for the per-channel vectors of a large channels-last input (NumPy
    # broadcasts a (C,) vector one C-long row at a time); None: NumPy's broadcasting, whose
    # call costs less on small inputs
    tile: Any
    # the compiled BatchNormalization kernel (numba extra, layers/_norm_numba.py) runs
    compiled: bool
    eps: Any  # epsilon as a scalar of x's dtype (made once: 0.3 us a step on (32, 1))
    inv_count: Any  # 1 / count, a scalar of x's dtype
    # LayerNormalization's compiled kernels over the last axis (layers/_norm_numba.py) and
    # their scalars, or None: the NumPy kernel
    layer: Any = None


class Normalize(Function):
    """``gamma * (x - mean) / sqrt(var + eps) + beta`` with mean/var over ``norm_axes``.

    ``gamma``/``beta`` broadcast against ``x`` as they are, or as ``bshape`` when given (the
    layer's weights, (C,), viewed as (1, C): the view is taken here, so the gradients come
    back in the weights' own shape), or are omitted via ``scale=False`` / ``center=False``.
    ``mean``/``var`` of the batch are kept on the instance (BatchNormalization updates its
    moving statistics from them).
    """

    def __init__(self, norm_axes: tuple[int, ...], epsilon: float, scale: bool = True,
                 center: bool = True, bshape: tuple[int, ...] | None = None) -> None:
        self.norm_axes, self.eps = tuple(norm_axes), float(epsilon)
        self.scale, self.center, self.bshape = scale, center, bshape

    def _plan(self, x: Any, params: tuple[Any, ...]) -> _Plan:
        """What depends only on the shapes, decided once per input signature."""
        wshape = params[0].shape if params else None
        key = (type(x), x.shape, x.dtype, wshape)
        plan = self.__dict__.get("plan")
        if plan is not None and plan.key == key:
            return plan
        nd = x.ndim
        pshape, view = wshape, False
        if wshape is not None and self.bshape is not None and wshape != self.bshape:
            pshape = self.bshape
            lead = len(pshape) - len(wshape)
            # NumPy aligns trailing axes: (C,) acts as (1, C) without a view
            view = lead < 0 or pshape[lead:] != wshape or any(d != 1 for d in pshape[:lead])
        axes = tuple(sorted({a % nd for a in self.norm_axes}))
        k = len(axes)
        numpy = type(x) is np.ndarray
        # BatchNormalization's axes lead (channels last): one matrix-vector product, where
        # NumPy's reduction adds C-long rows one at a time (30x slower for 16 channels);
        # LayerNormalization's last axis: one product with a ones column (sum_kept_for)
        kshape = tuple(1 if i in axes else d for i, d in enumerate(x.shape))  # keepdims
        if axes == tuple(range(k)) and k < nd:
            kind = "leading"
            ssum = (backend.sum_kept_for(x.shape, k, x.dtype) if numpy
                    else lambda a: backend.sum_leading(a, k).reshape(kshape))
        elif axes == (nd - 1,):
            kind = "last"
            ssum = backend.sum_kept_for(x.shape, 0, x.dtype) if numpy else backend.sum_last
        else:
            kind = "any"
            ssum = lambda a: backend.rsum(a, axis=axes, keepdims=True)  # noqa: E731
        count = x.dtype.type(math.prod(x.shape[i] for i in axes))
        if numpy and kind != "any":
            smean = backend.sum_kept_for(x.shape, k if kind == "leading" else 0, x.dtype,
                                         1.0 / float(count))
        else:
            def smean(a: Any) -> Any:
                m = ssum(a)
                m /= count
                return m
        # gamma and beta constant along the normalised axes (BatchNormalization): x_hat is
        # never formed; its per-channel factor folds into the scalars of both passes
        # ... and varying along every other axis: a gamma broadcast over the batch too (a
        # LayerNormalization of one feature, (B, T, 1)) needs its gradient summed there,
        # which the general path does
        full = None if pshape is None else (1,) * (nd - len(pshape)) + tuple(pshape)
        per_channel = full is None or all(
            full[i] == 1 if i in axes else full[i] == x.shape[i] for i in range(nd))
        pax = () if pshape is None else tuple(
            i for i, (a, b) in enumerate(zip(pshape, x.shape)) if a == 1 and b != 1)
        psum = self._param_sum(x, pax, wshape)
        tile = backend.per_channel if kind == "leading" and x.size >= 1 << 14 else None
        compiled = (kind == "leading" and per_channel and len(axes) == nd - 1
                    and numpy and x.dtype.char in "fd"
                    and fused_available(x.size))
        # LayerNormalization: gamma/beta along the last axis only, the axis normalised
        layer = None
        if (kind == "last" and not per_channel and numpy and x.dtype.char in "fd" and x.size
                and full is not None and full[-1] == x.shape[-1]
                and all(d == 1 for d in full[:-1]) and fused_available(x.size)):
            from . import _norm_numba

            layer = _norm_numba.layer_plan(x.dtype, self.eps, x.shape[-1])
        plan = self.plan = _Plan(key, backend.get_array_module(x), axes, ssum, smean,
                                 count, kshape, wshape, pshape, view, per_channel, psum, tile,
                                 compiled, x.dtype.type(self.eps),
                                 x.dtype.type(1.0 / float(count)) if x.dtype.kind == "f"
                                 else 1.0 / float(count), layer)
        return plan

    @staticmethod
    def _param_sum(x: Any, pax: tuple[int, ...], wshape: Any) -> Any:
        """A routine ``f(g, out=None)`` summing an array of x's shape over ``pax`` (the axes
        a parameter is broadcast along) into the weights' own shape (into ``out``, a
        C-contiguous array of that shape, where given: the optimizer's gradient view)."""
        if not pax:
            return lambda g, out=None: g.reshape(wshape)
        if pax == tuple(range(len(pax))):  # leading axes: one matrix-vector product
            if type(x) is np.ndarray and x.dtype.char in "fd" and x.size:
                m = math.prod(x.shape[:len(pax)])
                rs = backend.sum_rows_for(m, x.size // m, x.dtype)
                if x.ndim == 2 and len(wshape) == 1:
                    return rs

                def psum(g: Any, out: Any = None) -> Any:
                    if out is None:
                        return rs(g.reshape(m, -1)).reshape(wshape)
                    rs(g.reshape(m, -1), out.reshape(-1))
                    return out
                return psum
            return lambda g, out=None: backend.sum_leading(g, len(pax)).reshape(wshape)
        return lambda g, out=None: g.sum(axis=pax, keepdims=True).reshape(wshape)

    def rows_apart(self, shapes: list[tuple[int, ...]], batched: list[bool],
                   out: tuple[int, ...]) -> bool:
        return data_rows(batched) and off_rows(self.norm_axes, len(out))  # not batch norm

    def forward(self, x: Any, *params: Any) -> Any:
        plan = self._plan(x, params)
        if plan.view:
            params = tuple(p.reshape(plan.pshape) for p in params)
        xp, pc = plan.xp, plan.tile
        gamma = params[0] if self.scale else None
        beta = params[-1] if self.center else None
        # a compiled kernel takes a contiguous x and weights of its dtype (asked only where
        # one could run: the NumPy path of a small model pays nothing for it)
        fits = ((plan.compiled or plan.layer is not None) and x.flags.c_contiguous
                and all(p.dtype == x.dtype for p in params))
        self.compiled = plan.compiled and fits
        if self.compiled:
            return self._forward_compiled(x, gamma, beta)
        self.layer = fits and plan.layer is not None
        if self.layer:
            return self._forward_layer(x, gamma, beta)
        smean = plan.smean
        mean = smean(x)
        xc = x - mean if pc is None else pc(xp.subtract, x, mean)
        sq = xp.multiply(xc, xc)
        var = smean(sq)
        inv = var + plan.eps
        xp.sqrt(inv, out=inv)
        xp.reciprocal(inv, out=inv)  # 1 / inv, the same bits, half the call's cost
        self.mean, self.var, self.inv, self.gamma = mean, var, inv, gamma
        if plan.per_channel:
            self.xc = xc
            # gamma/sigma, kept: backward scales the input gradient by the same factor
            f = self.f = inv * gamma if gamma is not None else inv
            y = xp.multiply(xc, f, out=sq) if pc is None else pc(xp.multiply, xc, f, out=sq)
        else:
            xhat = self.xc = xc
            xhat *= inv  # xc is no longer needed: reuse its buffer
            y = xp.multiply(xhat, gamma, out=sq) if gamma is not None else xhat.copy()
        if beta is not None:
            y = xp.add(y, beta, out=y) if pc is None else pc(xp.add, y, beta, out=y)
        return y

    def _forward_compiled(self, x: np.ndarray, gamma: Any, beta: Any) -> np.ndarray:
        """BatchNormalization's forward in three compiled passes (layers/_norm_numba.py):
        the NumPy path's formula, the statistics summed in float64 blocks."""
        _norm_numba = _compiled_module()
        c = x.shape[-1]
        self.x2 = x.reshape(-1, c)
        g = np.ones(c, x.dtype) if gamma is None else gamma.reshape(c)
        b = np.zeros(c, x.dtype) if beta is None else beta.reshape(c)
        y, st = _norm_numba.forward(self.x2, g, b, self.plan.eps, self._moving_in_kernel(x))
        self.mean, self.var, self.inv = st.reshape((3, *self.plan.kshape))
        self.gamma = g
        return y.reshape(x.shape)

    def _moving_in_kernel(self, x: np.ndarray) -> tuple[Any, ...] | None:
        """What the compiled forward moves toward the batch's statistics in its own pass
        (BatchNormalize: its moving mean and variance), or None."""
        return None

    def _forward_layer(self, x: np.ndarray, gamma: Any, beta: Any) -> np.ndarray:
        """LayerNormalization's forward in two compiled passes per row
        (layers/_norm_numba.py): the NumPy path's formula, the row sums reassociated."""
        ln = self.plan.layer
        c = x.shape[-1]
        x2 = x.reshape(-1, c)
        g = ln.ones if gamma is None else gamma.reshape(c)
        b = ln.zeros if beta is None else beta.reshape(c)
        y, xhat = np.empty_like(x2), np.empty_like(x2)
        stats = np.empty((3, x2.shape[0]), x.dtype)  # mean, var, 1/sqrt(var + eps)
        ln.forward(x2, g, b, ln.eps, ln.ic, ln.zero, ln.one, y, xhat, stats[0], stats[1],
                   stats[2])
        self.xc, self.gamma, self.stats = xhat, g, stats
        return y.reshape(x.shape)

    def _backward_layer(self, gy: Any) -> Any:
        """:meth:`_forward_layer`'s backward in one compiled pass per row, gamma's and beta's
        gradients written into the optimizer's views where a replayed step offers them."""
        plan, need = self.plan, self.needs_input_grad
        ln, xhat = plan.layer, self.xc
        c = xhat.shape[1]
        gy2 = gy.reshape(-1, c)
        if gy2.dtype != xhat.dtype or not gy2.flags.c_contiguous:
            gy2 = np.ascontiguousarray(gy2, dtype=xhat.dtype)
        out = self.grad_out
        k_gamma = 1 if self.scale else None
        k_beta = (2 if self.scale else 1) if self.center else None

        def into(k: int | None) -> Any:
            o = out[k] if out is not None and k is not None else None
            ok = (o is not None and o.size == c and o.dtype == xhat.dtype
                  and o.flags.c_contiguous)
            return o if ok else np.empty(c, xhat.dtype)

        og, ob = into(k_gamma), into(k_beta)
        gx = np.empty_like(xhat) if need[0] else ln.no_gx
        ln.backward(gy2, xhat, self.stats[2], self.gamma, ln.ic, ln.zero, gx, og.reshape(c),
                    ob.reshape(c), bool(need[0]))
        grads: list[Any] = [gx.reshape(gy.shape) if need[0] else None]
        if k_gamma is not None:
            grads.append((og if og.shape == plan.wshape else og.reshape(plan.wshape))
                         if need[k_gamma] else None)
        if k_beta is not None:
            grads.append((ob if ob.shape == plan.wshape else ob.reshape(plan.wshape))
                         if need[k_beta] else None)
        return tuple(grads) if len(grads) > 1 else grads[0]

    def backward(self, gy: Any) -> Any:
        plan = self.plan
        if plan.per_channel:
            return self._backward_per_channel(gy)
        if self.layer:
            return self._backward_layer(gy)
        xp, xhat, inv, gamma = plan.xp, self.xc, self.inv, self.gamma
        need = self.needs_input_grad
        # gx = inv * (g - mean(g) - xhat * mean(g * xhat)) with g = gy * gamma
        u = gy * xhat
        grads: list[Any] = [None]
        out = self.grad_out  # the optimizer's gradient views, offered by a replayed step
        k = 1
        if self.scale:
            grads.append(plan.psum(u, out and out[k]) if need[k] else None)
            k += 1
        if self.center:
            grads.append(plan.psum(gy, out and out[k]) if need[k] else None)
        if need[0]:
            g = gy * gamma if gamma is not None else gy
            m1 = plan.smean(g)
            t = u * gamma if gamma is not None else u.copy()  # u may be a gradient's view
            m2 = plan.smean(t)
            gx = g - m1
            gx -= xp.multiply(xhat, m2, out=t)
            gx *= inv
            grads[0] = gx
        return tuple(grads) if len(grads) > 1 else grads[0]

    def _backward_per_channel(self, gy: Any) -> Any:
        """The closed form with gamma, 1/sigma and the means as per-channel scalars:
        ``gx = gamma/sigma * (gy - mean(gy) - xc/sigma * mean(gy * xc)/sigma)``, five
        whole-array passes and two sums (``sum(gy)`` and ``sum(gy * xc)`` give the
        parameters' gradients too)."""
        if self.compiled:
            return self._backward_compiled(gy)
        plan = self.plan
        xp, pc, wshape = plan.xp, plan.tile, plan.wshape
        xc, inv, need = self.xc, self.inv, self.needs_input_grad
        t = xp.multiply(gy, xc)
        s1, s2 = plan.ssum(gy), plan.ssum(t)
        gs = s2 * inv  # sum(gy * x_hat): gamma's gradient, and the second mean's numerator
        gx = None
        if need[0]:
            # the per-channel factors as few small-vector ops as the formula allows (each
            # costs about a microsecond, as much as a whole-array pass on a small batch)
            f1 = s1 * plan.inv_count
            f2 = gs * inv
            f2 *= plan.inv_count
            f3 = self.f  # gamma / sigma, forward's
            if pc is None:
                gx = gy - f1
                gx -= xp.multiply(xc, f2, out=t)
                gx *= f3
            else:
                gx = pc(xp.subtract, gy, f1)
                gx -= pc(xp.multiply, xc, f2, out=t)
                pc(xp.multiply, gx, f3, out=gx)
        grads = [gx]
        k = 1
        if self.scale:
            grads.append(gs.reshape(wshape) if need[k] else None)
            k += 1
        if self.center:
            grads.append(s1.reshape(wshape) if need[k] else None)
        return tuple(grads) if len(grads) > 1 else gx


    def _backward_compiled(self, gy: Any) -> Any:
        """:meth:`_backward_per_channel` in two compiled passes (layers/_norm_numba.py)."""
        _norm_numba = _compiled_module()
        x2, need = self.x2, self.needs_input_grad
        c = x2.shape[1]
        inv = self.inv.reshape(c)
        gx, s1, s2 = _norm_numba.backward(gy.reshape(-1, c), x2, self.mean.reshape(c), inv,
                                          cast(np.ndarray, self.gamma), bool(need[0]))
        grads = [None if gx is None else gx.reshape(gy.shape)]
        k = 1
        if self.scale:
            grads.append((s2 * inv).reshape(self.plan.wshape) if need[k] else None)
            k += 1
        if self.center:
            grads.append(s1.reshape(self.plan.wshape) if need[k] else None)
        return tuple(grads) if len(grads) > 1 else grads[0]


class BatchNormalize(Normalize):
    """:class:`Normalize` that also moves BatchNormalization's statistics toward the batch's.

    The update happens inside ``forward`` (on the moving-statistic tensors' current arrays),
    so a replayed training step (``glassnet._tape``) updates them too.
    """

    def __init__(self, norm_axes: tuple[int, ...], epsilon: float, scale: bool, center: bool,
                 moving: tuple[Tensor, Tensor], momentum: float,
                 bshape: tuple[int, ...] | None = None) -> None:
        super().__init__(norm_axes, epsilon, scale, center, bshape)
        self.moving, self.momentum = moving, momentum  # (moving_mean, moving_variance)

    def forward(self, x: Any, *params: Any) -> Any:
        self.moved = False
        y = super().forward(x, *params)
        if self.moved:  # the compiled kernel did it in its pass, the same arithmetic
            return y
        mm, mv = self.moving[0].data, self.moving[1].data
        m, m1 = self._momenta(mm.dtype)
        # Keras's moving * momentum + batch * (1 - momentum)
        mm *= m
        mm += self.mean.reshape(mm.shape) * m1
        mv *= m
        mv += self.var.reshape(mv.shape) * m1
        return y

    def _moving_in_kernel(self, x: np.ndarray) -> tuple[Any, ...] | None:
        mm, mv = self.moving[0].data, self.moving[1].data
        c = x.shape[-1]
        for a in (mm, mv):
            if (type(a) is not np.ndarray or a.dtype != x.dtype or a.size != c
                    or not a.flags.c_contiguous):
                return None
        self.moved = True
        m, m1 = self._momenta(mm.dtype)
        return mm.reshape(c), mv.reshape(c), m, m1

    def _momenta(self, dtype: Any) -> tuple[Any, Any]:
        """(momentum, 1 - momentum) as scalars of the statistics' dtype, made once."""
        hit = self.__dict__.get("momenta")
        if hit is None or hit[0] != dtype:
            m = dtype.type(self.momentum)
            hit = self.momenta = (dtype, m, 1 - m)
        return hit[1], hit[2]


def _param_view(w: Tensor, shape: tuple[int, ...]) -> Tensor:
    return w if tuple(w.shape) == shape else ops.reshape(w, shape)


class _Norm(Layer):
    supports_masking = True
    def __init__(self, axis: int | list[int] | tuple[int, ...] = -1, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True, beta_initializer: Any = "zeros",
                 gamma_initializer: Any = "ones", beta_regularizer: Any = None,
                 gamma_regularizer: Any = None, beta_constraint: Any = None,
                 gamma_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            self.axis = tuple(int(a) for a in axis)
        else:
            self.axis = (int(axis),)
        if not float(epsilon) > 0:
            raise ValueError(
                f"Layer '{self.name}': epsilon must be > 0. Received: epsilon={epsilon!r}"
            )
        self.epsilon = float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)

    def _feature_axes(self, input_shape: Any) -> tuple[int, ...]:
        nd = len(input_shape)
        axes = []
        for a in self.axis:
            if not -nd <= a < nd or a % nd == 0:
                raise ValueError(
                    f"Layer '{self.name}': axis {a} is out of range or the batch axis. "
                    f"Received: input shape {tuple(input_shape)}"
                )
            axes.append(a % nd)
            if input_shape[a] is None:
                raise ValueError(
                    f"Layer '{self.name}': axis {a} needs a known size. "
                    f"Received: input shape {tuple(input_shape)}"
                )
        return tuple(sorted(set(axes)))

    def _build_params(self, input_shape: Any) -> tuple[int, ...]:
        self._ndim = len(input_shape)
        self._feat = self._feature_axes(input_shape)
        pshape = tuple(int(input_shape[a]) for a in self._feat)
        self._bshape = tuple(int(input_shape[i]) if i in self._feat else 1
                             for i in range(self._ndim))
        self.gamma = (self.add_weight("gamma", pshape, self.gamma_initializer,
                                      self.gamma_regularizer,
                                      constraint=self.gamma_constraint) if self.scale else None)
        self.beta = (self.add_weight("beta", pshape, self.beta_initializer,
                                     self.beta_regularizer,
                                     constraint=self.beta_constraint) if self.center else None)
        return pshape

    def _check_input(self, x: Tensor) -> None:
        if x.ndim != self._ndim or any(x.shape[a] != self._bshape[a] for a in self._feat):
            raise ValueError(
                f"Layer '{self.name}': built for inputs of rank {self._ndim} with sizes "
                f"{ {a: self._bshape[a] for a in self._feat} } on the normalised feature axes. "
                f"Received: input shape {tuple(x.shape)}"
            )

    def _gamma_beta(self) -> list[Tensor]:
        """gamma and beta as they are (the ones the layer has)."""
        return [cast(Tensor, w) for w, on in ((self.gamma, self.scale), (self.beta, self.center))
                if on]

    def _params(self) -> list[Tensor]:
        out = []
        if self.scale:
            out.append(_param_view(cast(Tensor, self.gamma), self._bshape))  # built: scale
        if self.center:
            out.append(_param_view(cast(Tensor, self.beta), self._bshape))  # built: center
        return out

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, ...]:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "axis": self.axis[0] if len(self.axis) == 1 else list(self.axis),
            "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
        }


@register
class BatchNormalization(_Norm):
    """Batch normalisation (Ioffe & Szegedy 2015) over every axis except ``axis``.

    Training (``training=True`` and the layer trainable): normalise with the batch's mean and
    (biased) variance, and update ``moving = momentum * moving + (1 - momentum) * batch``.
    Inference, or a frozen layer (as Keras): normalise with the moving statistics.

    Args:
        axis: the feature axis (default -1: works after Dense and channels-last Conv2D).
        momentum: moving-average momentum (Keras's 0.99; PyTorch's momentum m is 1 - this).
        epsilon: added to the variance.
        center, scale: learn ``beta`` / ``gamma``.

    Weights, in Keras order: gamma, beta (trainable), moving_mean, moving_variance.

    Example:
        >>> bn = BatchNormalization()
        >>> bn(np.random.rand(8, 3).astype("float32"), training=True).shape
        (8, 3)
    """

    def __init__(self, axis: int | list[int] | tuple[int, ...] = -1, momentum: float = 0.99,
                 epsilon: float = 1e-3, center: bool = True, scale: bool = True,
                 beta_initializer: Any = "zeros", gamma_initializer: Any = "ones",
                 moving_mean_initializer: Any = "zeros",
                 moving_variance_initializer: Any = "ones", beta_regularizer: Any = None,
                 gamma_regularizer: Any = None, beta_constraint: Any = None,
                 gamma_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(axis, epsilon, center, scale, beta_initializer, gamma_initializer,
                         beta_regularizer, gamma_regularizer, beta_constraint,
                         gamma_constraint, **kwargs)
        if not 0.0 <= float(momentum) <= 1.0:
            raise ValueError(
                f"Layer '{self.name}': momentum must be in [0, 1]. Received: "
                f"momentum={momentum!r}"
            )
        self.momentum = float(momentum)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)

    def build(self, input_shape: Any) -> None:
        pshape = self._build_params(input_shape)
        self.moving_mean = self.add_weight("moving_mean", pshape,
                                           self.moving_mean_initializer, trainable=False)
        self.moving_variance = self.add_weight("moving_variance", pshape,
                                               self.moving_variance_initializer,
                                               trainable=False)
        self.built = True

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        self._check_input(x)
        if training and self.trainable:
            norm_axes = tuple(i for i in range(x.ndim) if i not in self._feat)
            return BatchNormalize(norm_axes, self.epsilon, self.scale, self.center,
                                  (self.moving_mean, self.moving_variance),
                                  self.momentum, self._bshape)(x, *self._gamma_beta())
        params = self._params()
        # inference: one affine map with the moving statistics (ops on the statistics'
        # tensors, so a replay reads their current values); gamma/beta still get gradients
        # (fine-tuning with a frozen-statistics BN)
        mv = ops.reshape(self.moving_variance, self._bshape)
        inv = 1.0 / ops.sqrt(mv + self.epsilon)
        mm = ops.reshape(self.moving_mean, self._bshape)
        y = ops.mul(ops.sub(x, mm), inv)
        if self.scale:
            y = ops.mul(y, params[0])
        if self.center:
            y = ops.add(y, params[-1])
        return y

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(), "momentum": self.momentum,
            "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer": initializers.serialize(
                self.moving_variance_initializer),
        }


@register
class LayerNormalization(_Norm):
    """Layer normalisation (Ba et al. 2016): normalise each sample over ``axis``.

    Same in training and inference. ``gamma``/``beta`` have the size of the normalised axes.

    Args:
        axis: axis or axes to normalise over (default -1, the features).
        epsilon: added to the variance (Keras default 1e-3).
        center, scale: learn ``beta`` / ``gamma``.

    Example:
        >>> LayerNormalization()(np.random.rand(2, 5).astype("float32")).shape
        (2, 5)
    """

    def build(self, input_shape: Any) -> None:
        self._build_params(input_shape)
        self.built = True

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        self._check_input(x)
        return Normalize(self._feat, self.epsilon, self.scale, self.center,
                         self._bshape)(x, *self._gamma_beta())
