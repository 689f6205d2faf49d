"""Recurrent layers: networks with context neurons that hold state between time steps.

The course's "context neurons" are the state a recurrent layer carries from one step to the
next: the previous hidden state (Elman, :class:`SimpleRNN`), the previous output
(:class:`JordanRNN`), or gated memory cells (:class:`LSTM`, :class:`GRU`). With
``stateful=True`` the context is also kept *between calls*, so the same input can give a
different output depending on what came before; :meth:`reset_states` clears it.

Backprop through time is done by one fused ``Function`` per layer call (``SimpleRNNSeq``,
``LSTMSeq``, ``GRUSeq`` in :mod:`glassnet.layers._recurrent_kernels`, also importable from
here): its forward loops over time (one GEMM projects the inputs of all steps, one GEMM per
step for all gates) and saves the gate activations; its backward loops back over time.
Weight layouts follow Keras: kernel ``(in, k·units)``, recurrent_kernel ``(units, k·units)``,
LSTM gates i, f, c, o, GRU gates z, r, h with ``reset_after=True`` bias ``(2, 3·units)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import activations, backend, constraints, initializers, ops, regularizers
from .._tape import Pure, constant, not_replayable
from ..functional import RandomScale, keep_mask
from ..tensor import Tensor
from ._masks import mask_op, mask_view, step_weights
from ._recurrent_kernels import GRUSeq, LSTMSeq, SimpleRNNSeq, _fused_name
from .base import Layer, get_layer_class, register
from .embedding import get_mask

__all__ = ["SimpleRNN", "JordanRNN", "LSTM", "GRU", "Bidirectional", "TimeDistributed"]


# ------------------------------------------------------------------ layers
def _as_mask(mask: Any, x: Tensor, name: str) -> Any:
    if mask is None:
        mask = get_mask(x)
    if mask is None:
        return None
    m = mask.data if isinstance(mask, Tensor) else mask
    xp = backend.get_array_module(x.data)
    # the mask itself where it is already a boolean array of x's kind: an op made it (a
    # padding mask), and a replayed step hands the recurrent op that op's new array
    if getattr(m, "dtype", None) != np.bool_ or backend.get_array_module(m) is not xp:
        m = xp.asarray(np.asarray(backend.asnumpy(m)).astype(bool))
    if m.shape != tuple(x.shape[:2]):
        raise ValueError(
            f"Layer '{name}': mask must have shape (batch, timesteps) = {tuple(x.shape[:2])}. "
            f"Received: mask shape {m.shape}"
        )
    return m


class _DropoutDraw:
    """Draws an inverted-dropout mask of a fixed shape from the library's generator: 0 with
    probability ``rate``, else 1 / (1 - rate), in ``dtype`` on ``xp``'s device."""

    def __init__(self, rate: float, shape: tuple[int, ...], xp: Any, dtype: Any) -> None:
        self.rate, self.shape, self.xp, self.dtype = rate, shape, xp, dtype

    def __call__(self, *_: Any) -> Any:
        return keep_mask(backend.rng(), self.shape, self.rate, self.dtype, self.xp)


def rnn_output_mask(layer: Any, mask: Any, n_states: int) -> Any:
    """A recurrent layer's output mask (Keras 3): the input's along a returned sequence,
    None for a last state (the mask ends there), None for each returned state."""
    m = (mask[0] if isinstance(mask, list) else mask) if layer.return_sequences else None
    return [m] + [None] * n_states if layer.return_state else m


class _RNNBase(Layer):
    """Shared arguments, state handling and call logic of the recurrent layers."""

    n_states = 1
    gates = 1

    def __init__(self, units: int, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False, stateful: bool = False,
                 kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, **kwargs: Any) -> None:
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
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = float(dropout)
        self.recurrent_dropout = float(recurrent_dropout)
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.states: list | None = None  # the context neurons kept between calls (stateful)

    # ------------------------------------------------------------ weights
    def _bias_shape(self) -> tuple[int, ...]:
        return (self.gates * self.units,)

    def build(self, input_shape: tuple) -> None:
        if len(input_shape) != 3:
            raise ValueError(
                f"Layer '{self.name}': expected a 3-D input (batch, timesteps, features). "
                f"Received: input shape {tuple(input_shape)}"
            )
        d, k = int(input_shape[-1]), self.gates * self.units
        self.kernel = self.add_weight("kernel", (d, k), self.kernel_initializer,
                                      self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (self.units, k),
                                                self.recurrent_initializer,
                                                self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight("bias", self._bias_shape(), self.bias_initializer,
                                        self.bias_regularizer,
                                        constraint=self.bias_constraint)
        self.built = True

    def reset_states(self, states: Any = None) -> None:
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
    def _run(self, x: Tensor, states: list, m: Any, rmask: Any) -> tuple[Any, list[Tensor]]:
        """(sequence output, last states): each recurrent layer runs its own kernel."""
        raise NotImplementedError

    def _initial(self, x: Tensor, initial_state: Any) -> list[Tensor]:
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
        # zeros of a shape: constants of the step's signature (a replay reuses them)
        return [constant(Tensor._make(xp.zeros(shape, dtype=x.dtype)))
                for _ in range(self.n_states)]

    def call(self, x: Tensor, training: bool = False, initial_state: Any = None,
             mask: Any = None) -> Tensor | list[Tensor]:
        if x.ndim != 3 or x.shape[1] == 0:
            raise ValueError(
                f"Layer '{self.name}': expected a 3-D input (batch, timesteps, features) "
                f"with at least one time step. Received: input shape {tuple(x.shape)}"
            )
        m = _as_mask(mask, x, self.name)
        if self.go_backwards:
            x = x[:, ::-1]
            m = None if m is None else mask_op(mask_view(np.s_[:, ::-1]), m).data
        xp = backend.get_array_module(x.data)
        # both dropout masks are drawn inside ops, so a replayed step draws them afresh
        if training and self.dropout > 0:  # one mask per sequence, shared by its steps
            x = RandomScale(_DropoutDraw(self.dropout, (x.shape[0], 1, x.shape[2]), xp,
                                         x.dtype))(x)
        rmask = None
        if training and self.recurrent_dropout > 0:
            rmask = Pure(_DropoutDraw(self.recurrent_dropout, (x.shape[0], self.units), xp,
                                      x.dtype))().data
        if self.stateful:  # the state carried between batches lives in Python
            not_replayable(f"layer '{self.name}' is stateful")
        states = self._initial(x, initial_state)
        seq, last = self._run(x, states, m, rmask)
        if self.stateful:
            self.states = [backend.asnumpy(s.data).copy() for s in last]
        if self.return_sequences:
            y = seq
            if m is not None:  # masked steps output zeros, as Keras
                y = y * step_weights(m, x.dtype)
        else:
            y = last[0]
        return [y, *last] if self.return_state else y

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return rnn_output_mask(self, mask, self.n_states)

    def _bias_or_zeros(self, x: Tensor) -> Tensor:
        if self.bias is not None:
            return self.bias
        xp = backend.get_array_module(x.data)
        return constant(Tensor._make(xp.zeros(self._bias_shape(), dtype=self.kernel.dtype)))

    def _kernel_args(self) -> dict[str, str]:
        return {"act": _fused_name(self.name, "activation", self.activation),
                "ract": _fused_name(self.name, "recurrent_activation",
                                    self.recurrent_activation)}

    def compute_output_shape(self, input_shape: tuple) -> tuple | list[tuple]:
        bsz, steps = input_shape[0], input_shape[1]
        out = (bsz, steps, self.units) if self.return_sequences else (bsz, self.units)
        if self.return_state:
            return [out] + [(bsz, self.units)] * self.n_states
        return out

    def get_config(self) -> dict[str, Any]:
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
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
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

    def __init__(self, units: int, activation: Any = "tanh", **kwargs: Any) -> None:
        kwargs.pop("recurrent_activation", None)
        super().__init__(units, activation=activation, recurrent_activation="sigmoid",
                         **kwargs)

    def _run(self, x: Tensor, states: list, m: Any, rmask: Any) -> tuple[Any, list[Tensor]]:
        k = self._kernel_args()
        fn = SimpleRNNSeq(act=k["act"], ract="sigmoid", mask=m, rmask=rmask)
        seq = fn(x, states[0], self.kernel, self.recurrent_kernel, self._bias_or_zeros(x))
        return seq, [seq[:, -1]]

    def get_config(self) -> dict[str, Any]:
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

    def __init__(self, units: int, unit_forget_bias: bool = True, **kwargs: Any) -> None:
        super().__init__(units, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)

    def build(self, input_shape: tuple) -> None:
        super().build(input_shape)
        if self.bias is not None and self.unit_forget_bias:
            self.bias.data[self.units : 2 * self.units] = 1.0

    def _run(self, x: Tensor, states: list, m: Any, rmask: Any) -> tuple[Any, list[Tensor]]:
        fn = LSTMSeq(mask=m, rmask=rmask, sequences=self.return_sequences,
                     **self._kernel_args())
        out = fn(x, states[0], states[1], self.kernel, self.recurrent_kernel,
                 self._bias_or_zeros(x))
        if not self.return_sequences:
            return None, [out[:, 0], out[:, 1]]
        steps = x.shape[1]
        return out[:, :steps], [out[:, steps - 1], out[:, steps]]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}


def gru_reset_before_step(xp: Tensor, h: Tensor, hd: Tensor, recurrent_kernel: Tensor,
                          activation: Any, recurrent_activation: Any, units: int) -> Tensor:
    """One GRU step in Keras's ``reset_after=False`` form (the original GRU: the reset gate
    scales the state *before* its recurrent product), from tensor ops (autodiff gives the
    gradient): ``z, r = σ(x·Wz,r + b + h·Uz,r)``, ``h̃ = act(x·Wh + bh + (r ⊙ h)·Uh)``,
    ``h' = z ⊙ h + (1 − z) ⊙ h̃``.

    Args:
        xp: the step's input projection x·kernel + bias, (B, 3·units). h: the state
            (B, units); hd: the state the products see (h after recurrent dropout).

    Example:
        >>> u = Tensor(np.zeros((2, 6), "float32")); z = Tensor(np.zeros((1, 6), "float32"))
        >>> h = Tensor(np.zeros((1, 2), "float32"))
        >>> gru_reset_before_step(z, h, h, u, ops.tanh, ops.sigmoid, 2).shape
        (1, 2)
    """
    n = units
    zr = recurrent_activation(xp[:, :2 * n] + ops.matmul(hd, recurrent_kernel[:, :2 * n]))
    z, r = zr[:, :n], zr[:, n:]
    hh = activation(xp[:, 2 * n:] + ops.matmul(r * hd, recurrent_kernel[:, 2 * n:]))
    return z * h + (1.0 - z) * hh


@register
class GRU(_RNNBase):
    """Gated recurrent unit in either of Keras's forms.

    ``reset_after=True`` (the default, as cuDNN and PyTorch): the reset gate scales the
    state's recurrent product, bias (2, 3·units) (input row, recurrent row), one fused
    kernel (numba where installed). ``reset_after=False`` (Keras 2.2's default, the original
    GRU): it scales the state before the product, bias (3·units,); built from tensor ops
    step by step (:func:`gru_reset_before_step`). Gates z, r, h: kernel (D, 3·units),
    recurrent_kernel (units, 3·units).

    Example:
        >>> y = GRU(16)(np.zeros((2, 5, 3)))   # (2, 16)
    """

    gates = 3

    def __init__(self, units: int, reset_after: bool = True, **kwargs: Any) -> None:
        super().__init__(units, **kwargs)
        self.reset_after = bool(reset_after)

    def _bias_shape(self) -> tuple[int, ...]:
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _run(self, x: Tensor, states: list, m: Any, rmask: Any) -> tuple[Any, list[Tensor]]:
        if not self.reset_after:
            return self._run_reset_before(x, states, m, rmask)
        fn = GRUSeq(mask=m, rmask=rmask, **self._kernel_args())
        seq = fn(x, states[0], self.kernel, self.recurrent_kernel, self._bias_or_zeros(x))
        return seq, [seq[:, -1]]

    def _run_reset_before(self, x: Tensor, states: list, m: Any,
                          rmask: Any) -> tuple[Any, list[Tensor]]:
        proj = ops.matmul(x, self.kernel)
        if self.bias is not None:
            proj = proj + self.bias
        rm = None if rmask is None else Tensor._make(rmask)
        h, outs = states[0], []
        for t in range(x.shape[1]):
            hn = gru_reset_before_step(proj[:, t], h, h if rm is None else h * rm,
                                       self.recurrent_kernel, self.activation,
                                       self.recurrent_activation, self.units)
            if m is not None:  # a masked step keeps the state (an op: replayed per batch)
                keep = mask_op(mask_view(np.s_[:, t:t + 1], x.dtype), m)
                hn = keep * hn + (1.0 - keep) * h
            outs.append(hn)
            h = hn
        return ops.stack(outs, axis=1), [h]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "reset_after": self.reset_after}


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

    def __init__(self, units: int, output_units: int = 1, activation: Any = "tanh",
                 output_activation: Any = "linear", **kwargs: Any) -> None:
        kwargs.pop("recurrent_activation", None)
        super().__init__(units, activation=activation, **kwargs)
        if not isinstance(output_units, (int, np.integer)) or output_units <= 0:
            raise ValueError(
                f"Layer '{self.name}': output_units must be a positive int. "
                f"Received: output_units={output_units!r}"
            )
        self.output_units = int(output_units)
        self.output_activation = activations.get(output_activation)

    def build(self, input_shape: tuple) -> None:
        if len(input_shape) != 3:
            raise ValueError(
                f"Layer '{self.name}': expected a 3-D input (batch, timesteps, features). "
                f"Received: input shape {tuple(input_shape)}"
            )
        d = int(input_shape[-1])
        self.kernel = self.add_weight("kernel", (d, self.units), self.kernel_initializer,
                                      self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight("recurrent_kernel",
                                                (self.output_units, self.units),
                                                self.recurrent_initializer,
                                                self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight("bias", (self.units,), self.bias_initializer,
                                        self.bias_regularizer,
                                        constraint=self.bias_constraint)
        self.output_kernel = self.add_weight("output_kernel", (self.units, self.output_units),
                                             self.kernel_initializer)
        self.output_bias = self.add_weight("output_bias", (self.output_units,), "zeros")
        self.built = True

    def _initial(self, x: Tensor, initial_state: Any) -> list[Tensor]:
        units, self.units = self.units, self.output_units  # states are outputs here
        try:
            return super()._initial(x, initial_state)
        finally:
            self.units = units

    def _run(self, x: Tensor, states: list, m: Any, rmask: Any) -> tuple[Any, list[Tensor]]:
        y = states[0]
        steps = x.shape[1]
        xw = ops.matmul(x, self.kernel)
        if self.bias is not None:
            xw = xw + self.bias
        outs = []
        ou = self.output_units
        # ops on the masks: a replayed step slices each batch's
        rm = None if rmask is None else mask_op(lambda r: r[:, :ou], rmask)
        for t in range(steps):
            yp = y if rm is None else y * rm
            h = self.activation(xw[:, t] + yp @ self.recurrent_kernel)
            yn = self.output_activation(h @ self.output_kernel + self.output_bias)
            if m is not None:
                yn = ops.where(mask_op(mask_view(np.s_[:, t:t + 1]), m).data, yn, y)
            y = yn
            outs.append(y)
        return ops.stack(outs, axis=1), [y]

    def call(self, x: Tensor, training: bool = False, initial_state: Any = None,
             mask: Any = None) -> Tensor | list[Tensor]:
        if training and self.recurrent_dropout > 0 and self.output_units > self.units:
            raise ValueError(
                f"Layer '{self.name}': recurrent_dropout needs output_units <= units. "
                f"Received: output_units={self.output_units}, units={self.units}"
            )
        return super().call(x, training=training, initial_state=initial_state, mask=mask)

    def compute_output_shape(self, input_shape: tuple) -> tuple | list[tuple]:
        bsz, steps = input_shape[0], input_shape[1]
        u = self.output_units
        out = (bsz, steps, u) if self.return_sequences else (bsz, u)
        return [out, (bsz, u)] if self.return_state else out

    def get_config(self) -> dict[str, Any]:
        cfg = super().get_config()
        cfg.pop("recurrent_activation")
        cfg["output_units"] = self.output_units
        cfg["output_activation"] = activations.serialize(self.output_activation)
        return cfg


# ------------------------------------------------------------------ wrappers
def _layer_config(layer: Layer) -> dict:
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def _layer_from(cfg: Any) -> Layer:
    if isinstance(cfg, Layer):
        return cfg
    if not isinstance(cfg, dict) or "class_name" not in cfg:
        raise ValueError(f"expected a layer or a {{'class_name', 'config'}} dict. "
                         f"Received: {cfg!r}")
    cls: Any = get_layer_class(cfg["class_name"])
    return cls.from_config(dict(cfg.get("config") or {}))


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

    def __init__(self, layer: Layer | dict[str, Any], merge_mode: str | None = "concat",
                 backward_layer: Layer | dict[str, Any] | None = None, **kwargs: Any) -> None:
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
        self.forward_layer: Any = layer  # an RNN layer (reset_states, go_backwards, ...)
        if backward_layer is None:
            cfg = layer.get_config()
            cfg["go_backwards"] = not layer.go_backwards
            cfg["name"] = "backward_" + layer.name
            backward_layer = type(layer).from_config(cfg)
        self.backward_layer: Any = _layer_from(backward_layer)
        self.merge_mode = merge_mode
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state

    def build(self, input_shape: tuple) -> None:
        self.built = True

    def reset_states(self) -> None:
        self.forward_layer.reset_states()
        self.backward_layer.reset_states()

    def _input_spec(self) -> dict | None:
        """The wrapped layer's feature axis, so a wrong input names this layer."""
        shape = self.input_shape_built
        return {-1: int(shape[-1])} if isinstance(shape, tuple) and shape[-1] else None

    def call(self, x: Tensor, training: bool = False, initial_state: Any = None,
             mask: Any = None) -> Tensor | list[Tensor]:
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
        y: Tensor | list[Tensor]
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

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The sequence's mask on the merged output (on both outputs with merge_mode None)
        when it returns sequences; None for last states and returned states (Keras 3)."""
        m = (mask[0] if isinstance(mask, list) else mask) if self.return_sequences else None
        out = [m, m] if self.merge_mode is None else [m]
        if self.return_state:
            return out + [None] * (2 * self.forward_layer.n_states)
        return out if self.merge_mode is None else m

    def get_config(self) -> dict[str, Any]:
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

    supports_masking = True

    def __init__(self, layer: Layer | dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.layer = _layer_from(layer)

    def build(self, input_shape: tuple) -> None:
        if len(input_shape) < 3:
            raise ValueError(
                f"Layer '{self.name}': expected an input with a time axis (batch, timesteps, "
                f"...). Received: input shape {tuple(input_shape)}"
            )
        self.built = True

    def _input_spec(self) -> dict | None:
        """The wrapped layer's feature axis when it has weights (Dense, Conv...)."""
        shape = self.input_shape_built
        if not self.layer.weights or not isinstance(shape, tuple) or not shape[-1]:
            return None
        return {-1: int(shape[-1])}

    def call(self, x: Tensor, training: bool = False, mask: Any = None) -> Tensor:
        if x.ndim < 3:
            raise ValueError(
                f"Layer '{self.name}': expected an input with a time axis (batch, timesteps, "
                f"...). Received: input shape {tuple(x.shape)}"
            )
        bsz, steps = x.shape[0], x.shape[1]
        y = self.layer(x.reshape(bsz * steps, *x.shape[2:]), training=training)
        return y.reshape(bsz, steps, *y.shape[1:])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "layer": _layer_config(self.layer)}
