"""``BatchNormalization`` and ``LayerNormalization``, both on one fused normalisation kernel.

The kernel normalises over ``norm_axes`` and applies ``gamma * x_hat + beta`` in one node;
its backward is the closed form
``gx = gamma / sigma * (gy - mean(gy) - x_hat * mean(gy * x_hat))`` (means over
``norm_axes``), which is both faster and numerically steadier than differentiating the
composed graph of mean, subtract, square, sqrt and divide.
"""

from __future__ import annotations

from .. import backend, initializers, ops, regularizers
from ..autograd import Function
from ..tensor import Tensor
from .base import Layer, register

__all__ = ["BatchNormalization", "LayerNormalization"]


class Normalize(Function):
    """``gamma * (x - mean) / sqrt(var + eps) + beta`` with mean/var over ``norm_axes``.

    ``gamma``/``beta`` are given already reshaped to broadcast against ``x`` (or omitted via
    ``scale=False`` / ``center=False``). ``mean``/``var`` of the batch are kept on the
    instance (BatchNormalization updates its moving statistics from them).
    """

    def __init__(self, norm_axes: tuple, epsilon: float, scale: bool = True,
                 center: bool = True):
        self.norm_axes, self.eps = tuple(norm_axes), float(epsilon)
        self.scale, self.center = scale, center

    def forward(self, x, *params):
        xp = backend.get_array_module(x)
        gamma = params[0] if self.scale else None
        beta = params[-1] if self.center else None
        mean = x.mean(axis=self.norm_axes, keepdims=True)
        xc = x - mean
        var = xp.mean(xc * xc, axis=self.norm_axes, keepdims=True)
        inv = 1.0 / xp.sqrt(var + x.dtype.type(self.eps))
        xhat = xc
        xhat *= inv  # xc is no longer needed: reuse its buffer
        self.mean, self.var, self.inv, self.xhat, self.gamma = mean, var, inv, xhat, gamma
        self.pshape = params[0].shape if params else None
        y = xhat * gamma if gamma is not None else xhat.copy()
        if beta is not None:
            y += beta
        return y

    @staticmethod
    def _param_grad(g, pshape):
        # sum over the axes the parameter is broadcast along (same rank as g by construction)
        axes = tuple(i for i, (s, t) in enumerate(zip(pshape, g.shape)) if s == 1 and t != 1)
        return g.sum(axis=axes, keepdims=True) if axes else g

    def backward(self, gy):
        xhat, inv, gamma = self.xhat, self.inv, self.gamma
        need = self.needs_input_grad
        g = gy * gamma if gamma is not None else gy
        gx = None
        if need[0]:
            m1 = g.mean(axis=self.norm_axes, keepdims=True)
            m2 = (g * xhat).mean(axis=self.norm_axes, keepdims=True)
            gx = (g - m1 - xhat * m2) * inv
        grads = [gx]
        k = 1
        if self.scale:
            grads.append(self._param_grad(gy * xhat, self.pshape) if need[k] else None)
            k += 1
        if self.center:
            grads.append(self._param_grad(gy, self.pshape) if need[k] else None)
        return tuple(grads) if len(grads) > 1 else gx


class BatchNormalize(Normalize):
    """:class:`Normalize` that also moves BatchNormalization's statistics toward the batch's.

    The update happens inside ``forward`` (on the moving-statistic tensors' current arrays),
    so a replayed training step (``glassnet._tape``) updates them too.
    """

    def __init__(self, norm_axes: tuple, epsilon: float, scale: bool, center: bool,
                 moving: tuple, momentum: float):
        super().__init__(norm_axes, epsilon, scale, center)
        self.moving, self.momentum = moving, momentum  # (moving_mean, moving_variance)

    def forward(self, x, *params):
        y = super().forward(x, *params)
        mm, mv = self.moving
        m = mm.data.dtype.type(self.momentum)
        mm.data *= m
        mm.data += (1 - m) * self.mean.reshape(mm.shape)
        mv.data *= m
        mv.data += (1 - m) * self.var.reshape(mv.shape)
        return y


def _param_view(w: Tensor, shape: tuple) -> Tensor:
    return w if tuple(w.shape) == shape else ops.reshape(w, shape)


class _Norm(Layer):
    def __init__(self, axis=-1, epsilon: float = 1e-3, center: bool = True, scale: bool = True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, **kwargs):
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

    def _feature_axes(self, input_shape) -> tuple:
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

    def _build_params(self, input_shape):
        self._ndim = len(input_shape)
        self._feat = self._feature_axes(input_shape)
        pshape = tuple(int(input_shape[a]) for a in self._feat)
        self._bshape = tuple(int(input_shape[i]) if i in self._feat else 1
                             for i in range(self._ndim))
        self.gamma = (self.add_weight("gamma", pshape, self.gamma_initializer,
                                      self.gamma_regularizer) if self.scale else None)
        self.beta = (self.add_weight("beta", pshape, self.beta_initializer,
                                     self.beta_regularizer) if self.center else None)
        return pshape

    def _check_input(self, x):
        if x.ndim != self._ndim or any(x.shape[a] != self._bshape[a] for a in self._feat):
            raise ValueError(
                f"Layer '{self.name}': built for inputs of rank {self._ndim} with sizes "
                f"{ {a: self._bshape[a] for a in self._feat} } on the normalised feature axes. "
                f"Received: input shape {tuple(x.shape)}"
            )

    def _params(self):
        out = []
        if self.scale:
            out.append(_param_view(self.gamma, self._bshape))
        if self.center:
            out.append(_param_view(self.beta, self._bshape))
        return out

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {
            **super().get_config(),
            "axis": self.axis[0] if len(self.axis) == 1 else list(self.axis),
            "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
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

    def __init__(self, axis=-1, momentum: float = 0.99, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True, beta_initializer="zeros",
                 gamma_initializer="ones", moving_mean_initializer="zeros",
                 moving_variance_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, **kwargs):
        super().__init__(axis, epsilon, center, scale, beta_initializer, gamma_initializer,
                         beta_regularizer, gamma_regularizer, **kwargs)
        if not 0.0 <= float(momentum) <= 1.0:
            raise ValueError(
                f"Layer '{self.name}': momentum must be in [0, 1]. Received: "
                f"momentum={momentum!r}"
            )
        self.momentum = float(momentum)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)

    def build(self, input_shape):
        pshape = self._build_params(input_shape)
        self.moving_mean = self.add_weight("moving_mean", pshape,
                                           self.moving_mean_initializer, trainable=False)
        self.moving_variance = self.add_weight("moving_variance", pshape,
                                               self.moving_variance_initializer,
                                               trainable=False)
        self.built = True

    def call(self, x, training=False):
        self._check_input(x)
        params = self._params()
        if training and self.trainable:
            norm_axes = tuple(i for i in range(x.ndim) if i not in self._feat)
            return BatchNormalize(norm_axes, self.epsilon, self.scale, self.center,
                                  (self.moving_mean, self.moving_variance),
                                  self.momentum)(x, *params)
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

    def get_config(self):
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

    def build(self, input_shape):
        self._build_params(input_shape)
        self.built = True

    def call(self, x, training=False):
        self._check_input(x)
        return Normalize(self._feat, self.epsilon, self.scale, self.center)(x, *self._params())
