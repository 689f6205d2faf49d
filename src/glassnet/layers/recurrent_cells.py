"""Recurrent cells and the generic ``RNN`` layer (Keras 3's recurrent plumbing).

A cell computes ONE time step: ``output, new_states = cell(x_t, states)``. ``RNN(cell)``
loops it over time (masks, ``go_backwards``, ``stateful``, ``return_sequences``,
``return_state`` as the built-in layers); ``RNN([cell1, cell2])`` stacks cells
(:class:`StackedRNNCells`). Cells are composed from primitive ops, so autodiff does the
backprop through time; their weights (names, shapes, gate order) are those of
:class:`~glassnet.layers.SimpleRNN`, :class:`~glassnet.layers.LSTM` and
:class:`~glassnet.layers.GRU`, so weights move between a cell-based RNN and the fused layers.

Example:
    >>> cell = LSTMCell(8)
    >>> y = RNN(cell, return_sequences=True)(np.zeros((2, 5, 3)))          # (2, 5, 8)
    >>> y = RNN([GRUCell(8), GRUCell(4)])(np.zeros((2, 5, 3)))             # (2, 4)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from .. import activations, backend, constraints, initializers, ops, regularizers
from .._tape import Pure, constant, not_replayable
from ..tensor import Tensor
from ._masks import mask_op, mask_view
from .base import Layer, get_layer_class, register
from .recurrent import (
    _as_mask,
    _DropoutDraw,
    gru_reset_before_step,
    rnn_output_mask,
)

if TYPE_CHECKING:
    from numpy.typing import DTypeLike

__all__ = ["SimpleRNNCell", "LSTMCell", "GRUCell", "StackedRNNCells", "RNN"]


def _t(x: Any, like: Tensor) -> Tensor:
    if isinstance(x, Tensor):
        return x
    xp = backend.get_array_module(like.data)
    return Tensor._make(xp.asarray(x, dtype=like.dtype))


class _Cell(Layer):
    """Shared arguments, weights, dropout masks and the ``cell(x, states)`` call."""

    gates = 1
    n_states = 1

    def __init__(self, units: int, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, seed: int | None = None,
                 kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(units, (int, np.integer)) or isinstance(units, bool) or units <= 0:
            raise ValueError(
                f"Layer '{self.name}': units must be a positive int. Received: units={units!r}")
        for arg, v in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if not 0.0 <= float(v) < 1.0:
                raise ValueError(
                    f"Layer '{self.name}': {arg} must be in [0, 1). Received: {arg}={v!r}")
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
        self.dropout, self.recurrent_dropout = float(dropout), float(recurrent_dropout)
        self.seed = seed
        self._dropout_mask = self._recurrent_dropout_mask = None

    @property
    def state_size(self) -> int | list[int]:
        return self.units if self.n_states == 1 else [self.units] * self.n_states

    @property
    def output_size(self) -> int:
        return self.units

    def _bias_shape(self) -> tuple[int, ...]:
        return (self.gates * self.units,)

    def build(self, input_shape: tuple) -> None:
        if len(input_shape) != 2:
            raise ValueError(
                f"Layer '{self.name}': a cell takes one time step (batch, features). "
                f"Received: input shape {tuple(input_shape)}")
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

    def get_initial_state(self, batch_size: int, dtype: DTypeLike = "float32") -> list:
        """Zero states, one (batch, units) array per state."""
        return [np.zeros((batch_size, self.units), dtype=dtype) for _ in range(self.n_states)]

    def reset_dropout_mask(self) -> None:
        """Forget the per-sequence dropout masks (RNN does this before each sequence)."""
        self._dropout_mask = self._recurrent_dropout_mask = None

    def _masks(self, x: Tensor, h: Tensor, training: bool) -> tuple[Any, Any]:
        """The fixed-per-sequence dropout masks (inputs, recurrent state), or None."""
        if not training:
            return None, None
        xp = backend.get_array_module(x.data)
        # drawn inside ops: a replayed step draws them afresh
        if self.dropout > 0 and self._dropout_mask is None:
            self._dropout_mask = Pure(_DropoutDraw(self.dropout, x.shape, xp, x.dtype))().data
        if self.recurrent_dropout > 0 and self._recurrent_dropout_mask is None:
            self._recurrent_dropout_mask = Pure(_DropoutDraw(self.recurrent_dropout, h.shape,
                                                             xp, x.dtype))().data
        return self._dropout_mask, self._recurrent_dropout_mask

    def __call__(  # type: ignore[override]  # Keras's cell call: (inputs, states)
            self, inputs: Any, states: Any = None, training: bool | None = None,
            **kwargs: Any) -> Any:
        return super().__call__(inputs, training=training, states=states, **kwargs)

    def _prepare(self, x: Tensor, states: Any,
                 training: bool) -> tuple[Tensor, Tensor, list[Tensor]]:
        if states is None:
            states = self.get_initial_state(x.shape[0], x.dtype)
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        if len(states) != self.n_states:
            raise ValueError(f"Layer '{self.name}': expected {self.n_states} state(s). "
                             f"Received: {len(states)}")
        states = [_t(s, x) for s in states]
        for s in states:
            if tuple(s.shape) != (x.shape[0], self.units):
                raise ValueError(f"Layer '{self.name}': each state must have shape "
                                 f"{(x.shape[0], self.units)}. Received: {tuple(s.shape)}")
        dm, rm = self._masks(x, states[0], training)
        xi = x if dm is None else x * Tensor._make(dm)
        h = states[0] if rm is None else states[0] * Tensor._make(rm)
        return xi, h, states

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(), "units": self.units,
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
            "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        }


@register
class SimpleRNNCell(_Cell):
    """One Elman step: h = activation(x·kernel + h_prev·recurrent_kernel + bias).

    Call: ``h, [h] = cell(x_t, [h_prev])`` with x_t (B, D), h_prev (B, units).

    Example:
        >>> h, states = SimpleRNNCell(4)(np.zeros((2, 3)), [np.zeros((2, 4))])
    """

    def __init__(self, units: int, activation: Any = "tanh", **kwargs: Any) -> None:
        kwargs.pop("recurrent_activation", None)
        super().__init__(units, activation=activation, **kwargs)

    def call(self, x: Tensor, training: bool = False,
             states: Any = None) -> tuple[Tensor, list[Tensor]]:
        xi, h, _ = self._prepare(x, states, training)
        z = ops.matmul(xi, self.kernel) + ops.matmul(h, self.recurrent_kernel)
        if self.bias is not None:
            z = z + self.bias
        out = self.activation(z)
        return out, [out]

    def get_config(self) -> dict[str, Any]:
        cfg = super().get_config()
        cfg.pop("recurrent_activation")
        return cfg


@register
class LSTMCell(_Cell):
    """One LSTM step with Keras's gate order i, f, c, o:
    z = x·kernel + h·recurrent_kernel + bias; c' = σ(f)·c + σ(i)·tanh(c̃); h' = σ(o)·tanh(c').

    Call: ``h, [h, c] = cell(x_t, [h, c])``. ``unit_forget_bias`` starts the forget bias at 1.

    Example:
        >>> h, (h2, c2) = LSTMCell(4)(np.zeros((2, 3)), [np.zeros((2, 4))] * 2)
    """

    gates, n_states = 4, 2

    def __init__(self, units: int, unit_forget_bias: bool = True, **kwargs: Any) -> None:
        super().__init__(units, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)

    def build(self, input_shape: tuple) -> None:
        super().build(input_shape)
        if self.bias is not None and self.unit_forget_bias:
            self.bias.data[self.units:2 * self.units] = 1.0

    def call(self, x: Tensor, training: bool = False,
             states: Any = None) -> tuple[Tensor, list[Tensor]]:
        xi, h, states = self._prepare(x, states, training)
        u = self.units
        z = ops.matmul(xi, self.kernel) + ops.matmul(h, self.recurrent_kernel)
        if self.bias is not None:
            z = z + self.bias
        i = self.recurrent_activation(z[:, :u])
        f = self.recurrent_activation(z[:, u:2 * u])
        c = f * states[1] + i * self.activation(z[:, 2 * u:3 * u])
        o = self.recurrent_activation(z[:, 3 * u:])
        h = o * self.activation(c)
        return h, [h, c]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}


@register
class GRUCell(_Cell):
    """One GRU step. ``reset_after=True`` (Keras's default; gates z, r, h; bias
    (2, 3·units)): z = σ(xz + hz), r = σ(xr + hr), h̃ = tanh(xh + r·hh),
    h' = z·h + (1 − z)·h̃, where x· = x·kernel + b_in and h· = h·recurrent_kernel + b_rec.
    ``reset_after=False`` (bias (3·units,)): h̃ = tanh(xh + (r·h)·Uh)
    (:func:`glassnet.layers.recurrent.gru_reset_before_step`, which GRU uses too).

    Example:
        >>> h, [h2] = GRUCell(4)(np.zeros((2, 3)), [np.zeros((2, 4))])
    """

    gates = 3

    def __init__(self, units: int, reset_after: bool = True, **kwargs: Any) -> None:
        super().__init__(units, **kwargs)
        self.reset_after = bool(reset_after)

    def _bias_shape(self) -> tuple[int, ...]:
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def call(self, x: Tensor, training: bool = False,
             states: Any = None) -> tuple[Tensor, list[Tensor]]:
        xi, h, states = self._prepare(x, states, training)
        u = self.units
        if not self.reset_after:
            xp = ops.matmul(xi, self.kernel)
            if self.bias is not None:
                xp = xp + self.bias
            out = gru_reset_before_step(xp, states[0], h, self.recurrent_kernel,
                                        self.activation, self.recurrent_activation, u)
            return out, [out]
        xz = ops.matmul(xi, self.kernel)
        hz = ops.matmul(h, self.recurrent_kernel)
        if self.bias is not None:
            xz = xz + self.bias[0]
            hz = hz + self.bias[1]
        z = self.recurrent_activation(xz[:, :u] + hz[:, :u])
        r = self.recurrent_activation(xz[:, u:2 * u] + hz[:, u:2 * u])
        hh = self.activation(xz[:, 2 * u:] + r * hz[:, 2 * u:])
        out = z * states[0] + (1.0 - z) * hh
        return out, [out]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "reset_after": self.reset_after}


def _cell_from(c: Any) -> Any:
    if isinstance(c, Layer):
        return c
    if isinstance(c, dict) and "class_name" in c:
        cls: Any = get_layer_class(c["class_name"])
        return cls.from_config(dict(c.get("config") or {}))
    raise ValueError(f"expected a cell or a {{'class_name', 'config'}} dict. Received: {c!r}")


def _cell_config(c: Layer) -> dict:
    return {"class_name": type(c).__name__, "config": c.get_config()}


def _n_states(cell: Any) -> int:
    s = cell.state_size
    return len(s) if isinstance(s, (list, tuple)) else 1


@register
class StackedRNNCells(Layer):
    """Several cells run one after the other within each time step (a deep RNN step).

    The states are the cells' states concatenated in order; the output is the last cell's.

    Example:
        >>> cell = StackedRNNCells([LSTMCell(8), LSTMCell(4)])   # states [h1, c1, h2, c2]
    """

    def __init__(self, cells: Sequence[Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cells = [_cell_from(c) for c in cells]
        if not self.cells:
            raise ValueError(f"Layer '{self.name}': cells must be a non-empty list")
        for c in self.cells:
            if not hasattr(c, "state_size"):
                raise ValueError(f"Layer '{self.name}': {type(c).__name__} is not an RNN cell "
                                 "(it has no state_size)")

    @property
    def state_size(self) -> list:
        out = []
        for c in self.cells:
            s = c.state_size
            out += list(s) if isinstance(s, (list, tuple)) else [s]
        return out

    @property
    def output_size(self) -> int:
        return self.cells[-1].output_size

    def build(self, input_shape: tuple) -> None:
        self.built = True

    def get_initial_state(self, batch_size: int, dtype: DTypeLike = "float32") -> list:
        return [s for c in self.cells for s in c.get_initial_state(batch_size, dtype)]

    def reset_dropout_mask(self) -> None:
        for c in self.cells:
            if hasattr(c, "reset_dropout_mask"):
                c.reset_dropout_mask()

    def __call__(  # type: ignore[override]  # Keras's cell call: (inputs, states)
            self, inputs: Any, states: Any = None, training: bool | None = None,
            **kwargs: Any) -> Any:
        return super().__call__(inputs, training=training, states=states, **kwargs)

    def call(self, x: Tensor, training: bool = False,
             states: Any = None) -> tuple[Tensor, list[Tensor]]:
        if states is None:
            states = self.get_initial_state(x.shape[0], x.dtype)
        states, new, k = list(states), [], 0
        for c in self.cells:
            n = _n_states(c)
            x, st = c(x, states[k:k + n], training=training)
            new += list(st)
            k += n
        return x, new

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "cells": [_cell_config(c) for c in self.cells]}


@register
class RNN(Layer):
    """Loop a cell over time: Keras's generic recurrent layer.

    Args:
        cell: a cell (``SimpleRNNCell``, ``LSTMCell``, ``GRUCell``, any layer with
            ``state_size`` whose ``call(x, states, training)`` returns ``(output, states)``),
            or a list of cells (stacked).
        return_sequences: output every step (B, T, units) instead of the last (B, units).
        return_state: also return the final states (``[output, *states]``).
        go_backwards: process the sequence in reverse.
        stateful: keep the final states as the next call's initial states.
        unroll: accepted for Keras compatibility (the loop is always a Python loop).
        zero_output_for_mask: masked steps output zeros in the sequence (otherwise the
            previous output, as Keras's default); the last output is always the last
            unmasked step's.

    Call: ``layer(x, initial_state=None, mask=None, training=False)``, x (B, T, D).

    Example:
        >>> y = RNN(LSTMCell(8))(np.zeros((2, 5, 3)))   # (2, 8)
    """

    def __init__(self, cell: Any, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 zero_output_for_mask: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        self.cell = _cell_from(cell)
        if not hasattr(self.cell, "state_size"):
            raise ValueError(f"Layer '{self.name}': cell must have a state_size (an RNN cell). "
                             f"Received: {type(self.cell).__name__}")
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards, self.stateful = bool(go_backwards), bool(stateful)
        self.unroll, self.zero_output_for_mask = bool(unroll), bool(zero_output_for_mask)
        self.states: list | None = None

    _input_rank = 3
    _input_axes = "(batch, timesteps, features)"

    def build(self, input_shape: tuple) -> None:
        if len(input_shape) != self._input_rank:
            raise ValueError(f"Layer '{self.name}': expected a {self._input_rank}-D input "
                             f"{self._input_axes}. Received: input shape "
                             f"{tuple(input_shape)}")
        self.built = True

    def reset_states(self, states: Any = None) -> None:
        """Clear the carried states (zeros next call), or set them to the given arrays."""
        self.states = None if states is None else [
            np.asarray(s.data if isinstance(s, Tensor) else s) for s in states]

    def _initial(self, x: Tensor, initial_state: Any) -> list[Tensor]:
        n = _n_states(self.cell)
        if initial_state is not None:
            st = list(initial_state) if isinstance(initial_state, (list, tuple)) else [
                initial_state]
            if len(st) != n:
                raise ValueError(f"Layer '{self.name}': initial_state must be a list of {n} "
                                 f"tensor(s). Received: {len(st)}")
            return [_t(s, x) for s in st]
        if self.stateful and self.states is not None:
            return [_t(s, x) for s in self.states]
        # the cell's zeros for a batch size: constants of the step's signature
        return [constant(_t(s, x)) for s in self.cell.get_initial_state(x.shape[0], x.dtype)]

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        size = self.cell.state_size
        return rnn_output_mask(self, mask, len(size) if isinstance(size, (list, tuple)) else 1)

    def call(self, x: Tensor, training: bool = False, initial_state: Any = None,
             mask: Any = None) -> Tensor | list[Tensor]:
        if x.ndim != self._input_rank or x.shape[1] == 0:
            raise ValueError(f"Layer '{self.name}': expected a {self._input_rank}-D input "
                             f"{self._input_axes} with at least one time step. Received: "
                             f"input shape {tuple(x.shape)}")
        m = _as_mask(mask, x, self.name)
        if self.go_backwards:
            x = x[:, ::-1]
            m = None if m is None else mask_op(mask_view(np.s_[:, ::-1]), m).data
        if self.stateful:
            not_replayable(f"layer '{self.name}' is stateful")
        states = self._initial(x, initial_state)
        if hasattr(self.cell, "reset_dropout_mask"):
            self.cell.reset_dropout_mask()
        outs, prev = [], None
        for t in range(x.shape[1]):
            y, new = self.cell(x[:, t], list(states), training=training)
            new, shown = list(new), y
            if m is not None:  # a masked step keeps the states and the previous output
                cols: dict[int, Any] = {}  # by rank: the step's column, an op of the mask

                def keep(a: Tensor, cols: dict = cols, t: int = t) -> Any:
                    if a.ndim not in cols:
                        column = (slice(None), t) + (None,) * (a.ndim - 1)
                        cols[a.ndim] = mask_op(mask_view(column), m).data
                    return cols[a.ndim]

                new = [ops.where(keep(a), a, b) for a, b in zip(new, states)]
                zero = ops.mul(y, 0.0)
                y = ops.where(keep(y), y, zero if prev is None else prev)
                shown = ops.where(keep(y), y, zero) if self.zero_output_for_mask else y
            states, prev = new, y
            if self.return_sequences:
                outs.append(shown)
        if self.stateful:
            self.states = [backend.asnumpy(s.data).copy() for s in states]
        # prev is set: the loop ran at least once (no empty sequence, checked above)
        out = ops.stack(outs, axis=1) if self.return_sequences else cast(Tensor, prev)
        return [out, *states] if self.return_state else out

    def compute_output_shape(self, input_shape: tuple) -> tuple | list[tuple]:
        b, steps = input_shape[0], input_shape[1]
        u = self.cell.output_size
        out = (b, steps, u) if self.return_sequences else (b, u)
        if not self.return_state:
            return out
        sizes = self.cell.state_size
        sizes = list(sizes) if isinstance(sizes, (list, tuple)) else [sizes]
        return [out] + [(b, s) for s in sizes]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "cell": _cell_config(self.cell),
                "return_sequences": self.return_sequences, "return_state": self.return_state,
                "go_backwards": self.go_backwards, "stateful": self.stateful,
                "unroll": self.unroll, "zero_output_for_mask": self.zero_output_for_mask}
