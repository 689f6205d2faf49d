"""Recurrent layers: networks with context neurons that hold state between time steps.

The course's "context neurons" are the state a recurrent layer carries from one step to the
next: the previous hidden state (Elman, :class:`SimpleRNN`), the previous output
(:class:`JordanRNN`), or gated memory cells (:class:`LSTM`, :class:`GRU`). With
``stateful=True`` the context is also kept *between calls*, so the same input can give a
different output depending on what came before; :meth:`reset_states` clears it.

Backprop through time is done by one fused ``Function`` per layer call: its forward loops
over time (one GEMM projects the inputs of all steps, one GEMM per step for all gates) and
saves the gate activations; its backward loops back over time. Weight layouts follow Keras:
kernel ``(in, k·units)``, recurrent_kernel ``(units, k·units)``, LSTM gates i, f, c, o, GRU
gates z, r, h with ``reset_after=True`` bias ``(2, 3·units)``.
"""

from __future__ import annotations

import numpy as np

from .. import activations, backend, initializers, ops, regularizers
from ..autograd import Function
from ..tensor import Tensor
from .base import Layer, get_layer_class, register
from .embedding import get_mask

__all__ = ["SimpleRNN", "JordanRNN", "LSTM", "GRU", "Bidirectional", "TimeDistributed"]


# ------------------------------------------------------------------ activations (in place)
def _sigmoid_(a, xp):
    # 0.5·tanh(0.5·a)+0.5: never overflows, unlike 1/(1+exp(-a))
    a *= 0.5
    xp.tanh(a, out=a)
    a *= 0.5
    a += 0.5
    return a


def _tanh_(a, xp):
    return xp.tanh(a, out=a)


def _relu_(a, xp):
    return xp.maximum(a, 0, out=a)


def _linear_(a, xp):
    return a


def _hard_sigmoid_(a, xp):
    a *= activations.HARD_SIGMOID_SLOPE
    a += 0.5
    return xp.clip(a, 0.0, 1.0, out=a)


# derivative expressed through the activation's OUTPUT y (what the forward saves)
_FUSED = {
    "sigmoid": (_sigmoid_, lambda y: y * (1.0 - y)),
    "tanh": (_tanh_, lambda y: 1.0 - y * y),
    "relu": (_relu_, lambda y: (y > 0).astype(y.dtype)),
    "linear": (_linear_, lambda y: np.ones_like(y)),
    "hard_sigmoid": (_hard_sigmoid_, lambda y: ((y > 0) & (y < 1)).astype(y.dtype)
                     * activations.HARD_SIGMOID_SLOPE),
}


def _fused_name(layer: str, arg: str, ident) -> str:
    name = activations.serialize(activations.get(ident))
    if not isinstance(name, str) or name.lower() not in _FUSED:
        raise ValueError(
            f"Layer '{layer}': {arg} must be one of {sorted(_FUSED)} (the fused recurrent "
            f"kernel knows their derivatives). Received: {arg}={ident!r}"
        )
    return name.lower()


# ------------------------------------------------------------------ fused kernels
class _SeqBase(Function):
    """Shared set-up: inputs in time-major order, masks, recurrent dropout."""

    def __init__(self, act="tanh", ract="sigmoid", mask=None, rmask=None):
        self.act, self.dact = _FUSED[act]
        self.ract, self.dract = _FUSED[ract]
        self.mask = mask  # (B, T) bool or None; masked steps keep the previous state
        self.rmask = rmask  # (B, units) recurrent-dropout mask (already scaled) or None

    def _project(self, x, w, b):
        xp = backend.get_array_module(x)
        bsz, steps, d = x.shape
        self.xt = xp.ascontiguousarray(x.transpose(1, 0, 2))  # (T, B, D)
        xw = (self.xt.reshape(steps * bsz, d) @ w).reshape(steps, bsz, w.shape[1])
        if b is not None:
            xw += b
        return xw

    def _m(self, t):
        return None if self.mask is None else self.mask[:, t : t + 1]

    def _input_grads(self, dzx, w):
        """gx, gW, gb from the per-step pre-activation gradients of the input path."""
        steps, bsz, k = dzx.shape
        d = self.xt.shape[2]
        flat = dzx.reshape(steps * bsz, k)
        gx = gw = gb = None
        if self.needs_input_grad[0]:
            gx = (flat @ w.T).reshape(steps, bsz, d).transpose(1, 0, 2)
        if self.needs_input_grad[self.w_index]:
            gw = self.xt.reshape(steps * bsz, d).T @ flat
        gb = flat.sum(axis=0)
        return gx, gw, gb


class SimpleRNNSeq(_SeqBase):
    """Elman recurrence over a whole sequence: ``h_t = act(x_t W + h_{t-1} U + b)``.

    Inputs: x (B, T, D), h0 (B, u), W (D, u), U (u, u), b (u,). Output: h_t for all t (B, T, u).
    """

    w_index = 2

    def forward(self, x, h0, w, u, b):
        xp = backend.get_array_module(x)
        steps, bsz = x.shape[1], x.shape[0]
        a = self._project(x, w, b)  # becomes the activations in place
        hs = xp.empty((steps + 1, bsz, u.shape[0]), dtype=x.dtype)
        hs[0] = h0
        for t in range(steps):
            hp = hs[t] if self.rmask is None else hs[t] * self.rmask
            a[t] += hp @ u
            self.act(a[t], xp)
            m = self._m(t)
            hs[t + 1] = a[t] if m is None else xp.where(m, a[t], hs[t])
        self.a, self.hs, self.u = a, hs, u
        return xp.ascontiguousarray(hs[1:].transpose(1, 0, 2))

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        gyt = gy.transpose(1, 0, 2)
        steps = gyt.shape[0]
        dz = xp.empty_like(self.a)
        dh = xp.zeros_like(self.hs[0])
        for t in range(steps - 1, -1, -1):
            dh += gyt[t]
            m = self._m(t)
            dnew = dh if m is None else dh * m
            dz[t] = dnew * self.dact(self.a[t])
            dprev = dz[t] @ self.u.T
            if self.rmask is not None:
                dprev *= self.rmask
            dh = dprev if m is None else dprev + dh * ~m
        w = self.inputs[2].data
        gx, gw, gb = self._input_grads(dz, w)
        hp = self.hs[:-1] if self.rmask is None else self.hs[:-1] * self.rmask
        gu = hp.reshape(-1, hp.shape[2]).T @ dz.reshape(-1, dz.shape[2])
        return gx, dh, gw, gu, gb


class LSTMSeq(_SeqBase):
    """LSTM over a whole sequence (gates i, f, c, o as Keras).

    Inputs: x (B, T, D), h0, c0 (B, u), W (D, 4u), U (u, 4u), b (4u,).
    Output (B, T+1, u): h_t for t < T, and the final cell state at index T.
    """

    w_index = 3

    def _gates_(self, gt, n, xp):
        if self.fast:
            # σ(x) = 1/(1+e^-x) and tanh(x) = 2σ(2x)-1: one exp over all four gates
            # (NumPy's float32 exp is about twice as fast as its tanh)
            gt *= self.scale
            xp.exp(gt, out=gt)
            gt += 1.0
            xp.reciprocal(gt, out=gt)
            cg = gt[:, 2 * n : 3 * n]
            cg *= 2.0
            cg -= 1.0
        else:
            self.ract(gt[:, : 2 * n], xp)
            self.act(gt[:, 2 * n : 3 * n], xp)
            self.ract(gt[:, 3 * n :], xp)

    def forward(self, x, h0, c0, w, u, b):
        xp = backend.get_array_module(x)
        bsz, steps = x.shape[0], x.shape[1]
        n = u.shape[0]
        self.fast = self.act is _tanh_ and self.ract is _sigmoid_
        if self.fast:
            self.scale = xp.full(4 * n, -1.0, dtype=x.dtype)
            self.scale[2 * n : 3 * n] = -2.0
        g = self._project(x, w, b)  # (T, B, 4u) -> gate activations in place
        hs = xp.empty((steps + 1, bsz, n), dtype=x.dtype)
        cs = xp.empty((steps + 1, bsz, n), dtype=x.dtype)
        tc = xp.empty((steps, bsz, n), dtype=x.dtype)
        hs[0], cs[0] = h0, c0
        buf = xp.empty((bsz, 4 * n), dtype=x.dtype)
        tmp = xp.empty((bsz, n), dtype=x.dtype)
        with np.errstate(over="ignore"):  # exp(-x) → inf gives the right limit σ = 0
            for t in range(steps):
                hp = hs[t] if self.rmask is None else hs[t] * self.rmask
                gt = g[t]
                xp.matmul(hp, u, out=buf)
                gt += buf
                self._gates_(gt, n, xp)
                c = cs[t + 1]
                xp.multiply(gt[:, n : 2 * n], cs[t], out=c)
                xp.multiply(gt[:, :n], gt[:, 2 * n : 3 * n], out=tmp)
                c += tmp
                tc[t] = c
                self.act(tc[t], xp)
                h = hs[t + 1]
                xp.multiply(gt[:, 3 * n :], tc[t], out=h)
                m = self._m(t)
                if m is not None:
                    hs[t + 1] = xp.where(m, h, hs[t])
                    cs[t + 1] = xp.where(m, c, cs[t])
        self.g, self.hs, self.cs, self.tc, self.u = g, hs, cs, tc, u
        out = xp.empty((bsz, steps + 1, n), dtype=x.dtype)
        out[:, :steps] = hs[1:].transpose(1, 0, 2)
        out[:, steps] = cs[steps]
        return out

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        steps = gy.shape[1] - 1
        n = self.u.shape[0]
        gyt = gy[:, :steps].transpose(1, 0, 2)
        dz = xp.empty_like(self.g)
        dh = xp.zeros_like(self.hs[0])
        dc = gy[:, steps].copy()
        dct = xp.empty_like(dh)
        dg = xp.empty_like(self.g[0])  # derivative of each gate's activation, one step
        ut = self.u.T
        for t in range(steps - 1, -1, -1):
            dh += gyt[t]
            m = self._m(t)
            gt, d = self.g[t], dz[t]
            i, f, cc, o = gt[:, :n], gt[:, n : 2 * n], gt[:, 2 * n : 3 * n], gt[:, 3 * n :]
            if self.fast:  # σ' = σ(1-σ) for all four, then tanh' = 1-y² for the c block
                xp.subtract(1.0, gt, out=dg)
                dg *= gt
                xp.multiply(cc, cc, out=dg[:, 2 * n : 3 * n])
                xp.subtract(1.0, dg[:, 2 * n : 3 * n], out=dg[:, 2 * n : 3 * n])
            else:
                dg[:, : 2 * n] = self.dract(gt[:, : 2 * n])
                dg[:, 2 * n : 3 * n] = self.dact(cc)
                dg[:, 3 * n :] = self.dract(o)
            if m is not None:
                dh_keep, dc_keep = dh * ~m, dc * ~m
                dh *= m
                dc *= m
            tct = self.tc[t]
            xp.multiply(dh, o, out=dct)
            dct *= self.dact(tct)
            dct += dc
            xp.multiply(dh, tct, out=d[:, 3 * n :])
            xp.multiply(dct, cc, out=d[:, :n])
            xp.multiply(dct, self.cs[t], out=d[:, n : 2 * n])
            xp.multiply(dct, i, out=d[:, 2 * n : 3 * n])
            d *= dg
            xp.multiply(dct, f, out=dc)
            xp.matmul(d, ut, out=dh)
            if self.rmask is not None:
                dh *= self.rmask
            if m is not None:
                dh += dh_keep
                dc += dc_keep
        w = self.inputs[3].data
        gx, gw, gb = self._input_grads(dz, w)
        hp = self.hs[:-1] if self.rmask is None else self.hs[:-1] * self.rmask
        gu = hp.reshape(-1, n).T @ dz.reshape(-1, 4 * n)
        return gx, dh, dc, gw, gu, gb


class GRUSeq(_SeqBase):
    """GRU over a whole sequence, Keras's ``reset_after=True`` form (gates z, r, h).

    ``z = σ(x Wz + bz + h Uz + b'z)``, ``r`` likewise, ``ĥ = act(x Wh + bh + r ⊙ (h Uh + b'h))``,
    ``h_t = z ⊙ h_{t-1} + (1 - z) ⊙ ĥ``. Inputs: x, h0, W (D, 3u), U (u, 3u), b (2, 3u).
    """

    w_index = 2

    def forward(self, x, h0, w, u, b):
        xp = backend.get_array_module(x)
        bsz, steps = x.shape[0], x.shape[1]
        n = u.shape[0]
        g = self._project(x, w, b[0])  # (T, B, 3u): input parts, then activations in place
        rh = xp.empty((steps, bsz, n), dtype=x.dtype)  # h U_h + b'_h, needed by backward
        hs = xp.empty((steps + 1, bsz, n), dtype=x.dtype)
        hs[0] = h0
        for t in range(steps):
            hp = hs[t] if self.rmask is None else hs[t] * self.rmask
            rec = hp @ u
            rec += b[1]
            gt = g[t]
            gt[:, : 2 * n] += rec[:, : 2 * n]
            self.ract(gt[:, : 2 * n], xp)
            rh[t] = rec[:, 2 * n :]
            gt[:, 2 * n :] += gt[:, n : 2 * n] * rh[t]
            self.act(gt[:, 2 * n :], xp)
            z, hh = gt[:, :n], gt[:, 2 * n :]
            h = hh + z * (hs[t] - hh)
            m = self._m(t)
            hs[t + 1] = h if m is None else xp.where(m, h, hs[t])
        self.g, self.rh, self.hs, self.u = g, rh, hs, u
        return xp.ascontiguousarray(hs[1:].transpose(1, 0, 2))

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        gyt = gy.transpose(1, 0, 2)
        steps = gyt.shape[0]
        n = self.u.shape[0]
        dx = xp.empty_like(self.g)  # input-path pre-activation gradients
        dr = xp.empty_like(self.g)  # recurrent-path pre-activation gradients
        dh = xp.zeros_like(self.hs[0])
        ut = self.u.T
        for t in range(steps - 1, -1, -1):
            dh += gyt[t]
            m = self._m(t)
            if m is not None:
                dh_keep = dh * ~m
                dh = dh * m
            gt = self.g[t]
            z, r, hh = gt[:, :n], gt[:, n : 2 * n], gt[:, 2 * n :]
            hp = self.hs[t]
            dah = dh * (1.0 - z) * self.dact(hh)
            dx[t, :, :n] = dh * (hp - hh) * self.dract(z)
            dx[t, :, n : 2 * n] = dah * self.rh[t] * self.dract(r)
            dx[t, :, 2 * n :] = dah
            dr[t, :, : 2 * n] = dx[t, :, : 2 * n]
            dr[t, :, 2 * n :] = dah * r
            dprev = dr[t] @ ut
            if self.rmask is not None:
                dprev *= self.rmask
            dprev += dh * z
            dh = dprev if m is None else dprev + dh_keep
        w = self.inputs[2].data
        gx, gw, gbx = self._input_grads(dx, w)
        hp = self.hs[:-1] if self.rmask is None else self.hs[:-1] * self.rmask
        gu = hp.reshape(-1, n).T @ dr.reshape(-1, 3 * n)
        gb = xp.stack([gbx, dr.reshape(-1, 3 * n).sum(axis=0)])
        return gx, dh, gw, gu, gb


# ------------------------------------------------------------------ layers
def _as_mask(mask, x: Tensor, name: str):
    if mask is None:
        mask = get_mask(x)
    if mask is None:
        return None
    m = mask.data if isinstance(mask, Tensor) else mask
    m = np.asarray(backend.asnumpy(m)).astype(bool)
    if m.shape != tuple(x.shape[:2]):
        raise ValueError(
            f"Layer '{name}': mask must have shape (batch, timesteps) = {tuple(x.shape[:2])}. "
            f"Received: mask shape {m.shape}"
        )
    return backend.get_array_module(x.data).asarray(m)


class _RNNBase(Layer):
    """Shared arguments, state handling and call logic of the recurrent layers."""

    n_states = 1
    gates = 1

    def __init__(self, units: int, activation="tanh", recurrent_activation="sigmoid",
                 use_bias: bool = True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(units, (int, np.integer)) or isinstance(units, bool) or units <= 0:
            raise ValueError(
                f"Layer '{self.name}': units must be a positive int. Received: units={units!r}"
            )
        for arg, v in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if not 0.0 <= float(v) < 1.0:
                raise ValueError(
                    f"Layer '{self.name}': {arg} must be in [0, 1). Received: {arg}={v!r}"
                )
        self.units = int(units)
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.dropout = float(dropout)
        self.recurrent_dropout = float(recurrent_dropout)
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.states: list | None = None  # the context neurons kept between calls (stateful)

    # ------------------------------------------------------------ weights
    def _bias_shape(self):
        return (self.gates * self.units,)

    def build(self, input_shape) -> None:
        if len(input_shape) != 3:
            raise ValueError(
                f"Layer '{self.name}': expected a 3-D input (batch, timesteps, features). "
                f"Received: input shape {tuple(input_shape)}"
            )
        d, k = int(input_shape[-1]), self.gates * self.units
        self.kernel = self.add_weight("kernel", (d, k), self.kernel_initializer,
                                      self.kernel_regularizer)
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (self.units, k),
                                                self.recurrent_initializer,
                                                self.recurrent_regularizer)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight("bias", self._bias_shape(), self.bias_initializer,
                                        self.bias_regularizer)
        self.built = True

    def reset_states(self, states=None) -> None:
        """Clear the context (zeros on the next call), or set it to the given arrays."""
        if states is None:
            self.states = None
            return
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        if len(states) != self.n_states:
            raise ValueError(
                f"Layer '{self.name}': expected {self.n_states} state arrays. "
                f"Received: {len(states)}"
            )
        self.states = [np.asarray(s.data if isinstance(s, Tensor) else s) for s in states]

    # ------------------------------------------------------------ call
    def _initial(self, x: Tensor, initial_state):
        xp = backend.get_array_module(x.data)
        bsz = x.shape[0]
        shape = (bsz, self.units)
        if initial_state is not None:
            st = list(initial_state) if isinstance(initial_state, (list, tuple)) else [
                initial_state]
            if len(st) != self.n_states:
                raise ValueError(
                    f"Layer '{self.name}': initial_state must be a list of {self.n_states} "
                    f"tensor(s). Received: {len(st)}"
                )
            out = []
            for s in st:
                s = s if isinstance(s, Tensor) else Tensor._make(
                    xp.asarray(s, dtype=x.dtype))
                if tuple(s.shape) != shape:
                    raise ValueError(
                        f"Layer '{self.name}': each initial state must have shape {shape}. "
                        f"Received: shape {tuple(s.shape)}"
                    )
                out.append(s)
            return out
        if self.stateful and self.states is not None:
            if self.states[0].shape != shape:
                raise ValueError(
                    f"Layer '{self.name}': a stateful layer needs the same batch size on "
                    f"every call (call reset_states() to change it). Expected state shape "
                    f"{self.states[0].shape}. Received: input shape {tuple(x.shape)}"
                )
            return [Tensor._make(xp.asarray(s, dtype=x.dtype)) for s in self.states]
        return [Tensor._make(xp.zeros(shape, dtype=x.dtype)) for _ in range(self.n_states)]

    def call(self, x, training: bool = False, initial_state=None, mask=None):
        if x.ndim != 3:
            raise ValueError(
                f"Layer '{self.name}': expected a 3-D input (batch, timesteps, features). "
                f"Received: input shape {tuple(x.shape)}"
            )
        m = _as_mask(mask, x, self.name)
        if self.go_backwards:
            x = x[:, ::-1]
            m = None if m is None else m[:, ::-1]
        xp = backend.get_array_module(x.data)
        rng = backend.rng()
        if training and self.dropout > 0:
            keep = 1.0 - self.dropout
            dm = (rng.random((x.shape[0], 1, x.shape[2])) < keep) / keep
            x = x * Tensor._make(xp.asarray(dm, dtype=x.dtype))
        rmask = None
        if training and self.recurrent_dropout > 0:
            keep = 1.0 - self.recurrent_dropout
            rmask = xp.asarray((rng.random((x.shape[0], self.units)) < keep) / keep,
                               dtype=x.dtype)
        states = self._initial(x, initial_state)
        seq, last = self._run(x, states, m, rmask)
        if self.stateful:
            self.states = [backend.asnumpy(s.data).copy() for s in last]
        if self.return_sequences:
            y = seq
            if m is not None:  # masked steps output zeros, as Keras
                y = y * Tensor._make(m[:, :, None].astype(x.dtype))
        else:
            y = last[0]
        return [y, *last] if self.return_state else y

    def _bias_or_zeros(self, x):
        if self.bias is not None:
            return self.bias
        xp = backend.get_array_module(x.data)
        return Tensor._make(xp.zeros(self._bias_shape(), dtype=self.kernel.dtype))

    def _kernel_args(self):
        return {"act": _fused_name(self.name, "activation", self.activation),
                "ract": _fused_name(self.name, "recurrent_activation",
                                    self.recurrent_activation)}

    def compute_output_shape(self, input_shape):
        bsz, steps = input_shape[0], input_shape[1]
        out = (bsz, steps, self.units) if self.return_sequences else (bsz, self.units)
        if self.return_state:
            return [out] + [(bsz, self.units)] * self.n_states
        return out

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
        }


@register
class SimpleRNN(_RNNBase):
    """Elman network: the context neurons hold the previous hidden state.

    ``h_t = activation(x_t · kernel + h_{t-1} · recurrent_kernel + bias)``.

    Args:
        units: size of the hidden state.
        activation: "tanh" (default; "RNNs do well with tanh"), "relu", "sigmoid", "linear".
        return_sequences: output every step (B, T, units) instead of the last (B, units).
        return_state: also return the final state.
        go_backwards: process the sequence in reverse (outputs in reversed order, as Keras).
        stateful: keep the final state as the next call's initial state.
        dropout, recurrent_dropout: Keras-style fixed-per-sequence dropout masks.

    Input (B, T, D); accepts ``initial_state=[h]`` and ``mask`` (B, T) in the call.

    Example:
        >>> y = SimpleRNN(8)(np.zeros((2, 5, 3)))   # shape (2, 8)
    """

    def __init__(self, units: int, activation="tanh", **kwargs):
        kwargs.pop("recurrent_activation", None)
        super().__init__(units, activation=activation, recurrent_activation="sigmoid",
                         **kwargs)

    def _run(self, x, states, m, rmask):
        k = self._kernel_args()
        fn = SimpleRNNSeq(act=k["act"], ract="sigmoid", mask=m, rmask=rmask)
        seq = fn(x, states[0], self.kernel, self.recurrent_kernel, self._bias_or_zeros(x))
        return seq, [seq[:, -1]]

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.pop("recurrent_activation")
        return cfg


@register
class LSTM(_RNNBase):
    """Long short-term memory: gated cells carry the context across long time spans.

    Gates i, f, c, o as Keras: kernel (D, 4·units), recurrent_kernel (units, 4·units),
    bias (4·units,) (forget-gate bias initialised to 1 when ``unit_forget_bias``).
    ``return_state`` returns ``[output, h, c]``; ``initial_state=[h, c]``.

    Example:
        >>> y = LSTM(16, return_sequences=True)(np.zeros((2, 5, 3)))   # (2, 5, 16)
    """

    n_states = 2
    gates = 4

    def __init__(self, units: int, unit_forget_bias: bool = True, **kwargs):
        super().__init__(units, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)

    def build(self, input_shape) -> None:
        super().build(input_shape)
        if self.bias is not None and self.unit_forget_bias:
            self.bias.data[self.units : 2 * self.units] = 1.0

    def _run(self, x, states, m, rmask):
        fn = LSTMSeq(mask=m, rmask=rmask, **self._kernel_args())
        out = fn(x, states[0], states[1], self.kernel, self.recurrent_kernel,
                 self._bias_or_zeros(x))
        steps = x.shape[1]
        seq = out[:, :steps]
        return seq, [out[:, steps - 1], out[:, steps]]

    def get_config(self) -> dict:
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}


@register
class GRU(_RNNBase):
    """Gated recurrent unit, Keras's ``reset_after=True`` formulation (as cuDNN / PyTorch).

    Gates z, r, h: kernel (D, 3·units), recurrent_kernel (units, 3·units), bias (2, 3·units)
    (input bias row, recurrent bias row).

    Example:
        >>> y = GRU(16)(np.zeros((2, 5, 3)))   # (2, 16)
    """

    gates = 3

    def __init__(self, units: int, reset_after: bool = True, **kwargs):
        super().__init__(units, **kwargs)
        if not reset_after:
            raise ValueError(
                f"Layer '{self.name}': only reset_after=True (Keras's default) is implemented. "
                f"Received: reset_after={reset_after!r}"
            )
        self.reset_after = True

    def _bias_shape(self):
        return (2, 3 * self.units)

    def _run(self, x, states, m, rmask):
        fn = GRUSeq(mask=m, rmask=rmask, **self._kernel_args())
        seq = fn(x, states[0], self.kernel, self.recurrent_kernel, self._bias_or_zeros(x))
        return seq, [seq[:, -1]]

    def get_config(self) -> dict:
        return {**super().get_config(), "reset_after": True}


@register
class JordanRNN(_RNNBase):
    """Jordan network: the context neurons hold the previous *output*, not the hidden state.

    ``h_t = activation(x_t · kernel + y_{t-1} · recurrent_kernel + bias)``,
    ``y_t = output_activation(h_t · output_kernel + output_bias)``, ``y_0 = 0``.
    recurrent_kernel is (output_units, units). Outputs and states are the y's
    (size ``output_units``). Built from tensor ops per step (autodiff does BPTT).

    Example:
        >>> y = JordanRNN(8, output_units=2)(np.zeros((4, 6, 3)))   # (4, 2)
    """

    def __init__(self, units: int, output_units: int = 1, activation="tanh",
                 output_activation="linear", **kwargs):
        kwargs.pop("recurrent_activation", None)
        super().__init__(units, activation=activation, **kwargs)
        if not isinstance(output_units, (int, np.integer)) or output_units <= 0:
            raise ValueError(
                f"Layer '{self.name}': output_units must be a positive int. "
                f"Received: output_units={output_units!r}"
            )
        self.output_units = int(output_units)
        self.output_activation = activations.get(output_activation)

    def build(self, input_shape) -> None:
        if len(input_shape) != 3:
            raise ValueError(
                f"Layer '{self.name}': expected a 3-D input (batch, timesteps, features). "
                f"Received: input shape {tuple(input_shape)}"
            )
        d = int(input_shape[-1])
        self.kernel = self.add_weight("kernel", (d, self.units), self.kernel_initializer,
                                      self.kernel_regularizer)
        self.recurrent_kernel = self.add_weight("recurrent_kernel",
                                                (self.output_units, self.units),
                                                self.recurrent_initializer,
                                                self.recurrent_regularizer)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight("bias", (self.units,), self.bias_initializer,
                                        self.bias_regularizer)
        self.output_kernel = self.add_weight("output_kernel", (self.units, self.output_units),
                                             self.kernel_initializer)
        self.output_bias = self.add_weight("output_bias", (self.output_units,), "zeros")
        self.built = True

    def _initial(self, x, initial_state):
        units, self.units = self.units, self.output_units  # states are outputs here
        try:
            return super()._initial(x, initial_state)
        finally:
            self.units = units

    def _run(self, x, states, m, rmask):
        y = states[0]
        steps = x.shape[1]
        xw = ops.matmul(x, self.kernel)
        if self.bias is not None:
            xw = xw + self.bias
        outs = []
        for t in range(steps):
            yp = y if rmask is None else y * Tensor._make(rmask[:, : self.output_units])
            h = self.activation(xw[:, t] + yp @ self.recurrent_kernel)
            yn = self.output_activation(h @ self.output_kernel + self.output_bias)
            if m is not None:
                yn = ops.where(m[:, t : t + 1], yn, y)
            y = yn
            outs.append(y)
        return ops.stack(outs, axis=1), [y]

    def call(self, x, training: bool = False, initial_state=None, mask=None):
        if training and self.recurrent_dropout > 0 and self.output_units > self.units:
            raise ValueError(
                f"Layer '{self.name}': recurrent_dropout needs output_units <= units. "
                f"Received: output_units={self.output_units}, units={self.units}"
            )
        return super().call(x, training=training, initial_state=initial_state, mask=mask)

    def compute_output_shape(self, input_shape):
        bsz, steps = input_shape[0], input_shape[1]
        u = self.output_units
        out = (bsz, steps, u) if self.return_sequences else (bsz, u)
        return [out, (bsz, u)] if self.return_state else out

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.pop("recurrent_activation")
        cfg["output_units"] = self.output_units
        cfg["output_activation"] = activations.serialize(self.output_activation)
        return cfg


# ------------------------------------------------------------------ wrappers
def _layer_config(layer: Layer) -> dict:
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def _layer_from(cfg) -> Layer:
    if isinstance(cfg, Layer):
        return cfg
    if not isinstance(cfg, dict) or "class_name" not in cfg:
        raise ValueError(f"expected a layer or a {{'class_name', 'config'}} dict. "
                         f"Received: {cfg!r}")
    return get_layer_class(cfg["class_name"]).from_config(dict(cfg.get("config") or {}))


_MERGES = ("concat", "sum", "mul", "ave", None)


@register
class Bidirectional(Layer):
    """Run a recurrent layer forwards and a copy of it backwards, and merge the two.

    Args:
        layer: a recurrent layer instance (the forward direction).
        merge_mode: "concat" (default), "sum", "mul", "ave", or None (a list of both).
        backward_layer: optional explicit backward layer (default: a copy of ``layer``'s
            config with ``go_backwards`` flipped).

    With ``return_state`` the result is ``[merged, *forward_states, *backward_states]``.

    Example:
        >>> y = Bidirectional(LSTM(8, return_sequences=True))(np.zeros((2, 5, 3)))  # (2,5,16)
    """

    def __init__(self, layer, merge_mode: str | None = "concat", backward_layer=None,
                 **kwargs):
        super().__init__(**kwargs)
        layer = _layer_from(layer)
        if not isinstance(layer, _RNNBase):
            raise ValueError(
                f"Layer '{self.name}': Bidirectional wraps a recurrent layer. "
                f"Received: {type(layer).__name__}"
            )
        if merge_mode not in _MERGES:
            raise ValueError(
                f"Layer '{self.name}': merge_mode must be one of {_MERGES}. "
                f"Received: merge_mode={merge_mode!r}"
            )
        self.forward_layer = layer
        if backward_layer is None:
            cfg = layer.get_config()
            cfg["go_backwards"] = not layer.go_backwards
            cfg["name"] = "backward_" + layer.name
            backward_layer = type(layer).from_config(cfg)
        self.backward_layer = _layer_from(backward_layer)
        self.merge_mode = merge_mode
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state

    def build(self, input_shape) -> None:
        self.built = True

    def reset_states(self) -> None:
        self.forward_layer.reset_states()
        self.backward_layer.reset_states()

    def call(self, x, training: bool = False, initial_state=None, mask=None):
        fs = bs = None
        if initial_state is not None:
            n = len(initial_state) // 2
            fs, bs = list(initial_state[:n]), list(initial_state[n:])
        if mask is None:
            mask = get_mask(x)
        yf = self.forward_layer(x, training=training, initial_state=fs, mask=mask)
        yb = self.backward_layer(x, training=training, initial_state=bs, mask=mask)
        states = []
        if self.return_state:
            yf, states_f = yf[0], yf[1:]
            yb, states_b = yb[0], yb[1:]
            states = states_f + states_b
        if self.return_sequences:
            yb = yb[:, ::-1]  # back to forward time order, as Keras
        if self.merge_mode == "concat":
            y = ops.concatenate([yf, yb], axis=-1)
        elif self.merge_mode == "sum":
            y = yf + yb
        elif self.merge_mode == "mul":
            y = yf * yb
        elif self.merge_mode == "ave":
            y = (yf + yb) * 0.5
        else:
            y = [yf, yb]
        if self.return_state:
            return (y if isinstance(y, list) else [y]) + states
        return y

    def get_config(self) -> dict:
        return {**super().get_config(), "layer": _layer_config(self.forward_layer),
                "merge_mode": self.merge_mode,
                "backward_layer": _layer_config(self.backward_layer)}


@register
class TimeDistributed(Layer):
    """Apply a layer to every time step: (B, T, ...) → layer on (B·T, ...) → (B, T, ...).

    Example:
        >>> from glassnet.layers import Dense
        >>> y = TimeDistributed(Dense(4))(np.zeros((2, 5, 3)))   # (2, 5, 4)
    """

    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        self.layer = _layer_from(layer)

    def build(self, input_shape) -> None:
        if len(input_shape) < 3:
            raise ValueError(
                f"Layer '{self.name}': expected an input with a time axis (batch, timesteps, "
                f"...). Received: input shape {tuple(input_shape)}"
            )
        self.built = True

    def call(self, x, training: bool = False, mask=None):
        if x.ndim < 3:
            raise ValueError(
                f"Layer '{self.name}': expected an input with a time axis (batch, timesteps, "
                f"...). Received: input shape {tuple(x.shape)}"
            )
        bsz, steps = x.shape[0], x.shape[1]
        y = self.layer(x.reshape(bsz * steps, *x.shape[2:]), training=training)
        return y.reshape(bsz, steps, *y.shape[1:])

    def get_config(self) -> dict:
        return {**super().get_config(), "layer": _layer_config(self.layer)}
