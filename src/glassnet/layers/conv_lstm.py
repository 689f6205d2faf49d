"""``ConvLSTM1D`` and ``ConvLSTM2D`` (Shi et al. 2015, as Keras): LSTMs whose input and
recurrent transformations are convolutions, over sequences of signals (batch, time, W, C)
or images (batch, time, H, W, C).

The step is :class:`ConvLSTM2DCell` (or its one-axis form :class:`ConvLSTM1DCell`, the
same arithmetic on a height of one), composed from the fused :class:`Conv2DKernel` (one
convolution of the input for all four gates, one of the state, 'same' padding and stride 1,
as Keras) and elementwise ops; :class:`ConvLSTM2D` is :class:`RNN` over that cell (masks,
``go_backwards``, ``stateful``, ``return_sequences``, ``return_state``). Weights as Keras:
kernel ``(*kernel_size, C, 4·filters)``, recurrent_kernel ``(*kernel_size, filters,
4·filters)``, bias ``(4·filters,)``, gates i, f, c, o.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import ops
from .._tape import constant
from ._conv_kernels import (
    check_data_format,
    conv2d,
    conv_output_length,
    normalize_padding,
    normalize_tuple,
)
from .base import register
from .recurrent_cells import RNN, _Cell, _t

if TYPE_CHECKING:
    from numpy.typing import DTypeLike

    from ..tensor import Tensor

__all__ = ["ConvLSTM1DCell", "ConvLSTM1D", "ConvLSTM2DCell", "ConvLSTM2D"]


@register
class ConvLSTM2DCell(_Cell):
    """One ConvLSTM step on an image batch x_t (B, H, W, C) with states h, c
    (B, OH, OW, filters): z = conv(x, kernel) + bias + conv_same(h, recurrent_kernel);
    c' = σ(f)·c + σ(i)·tanh(c̃); h' = σ(o)·tanh(c').

    Example:
        >>> cell = ConvLSTM2DCell(4, 3, padding="same")
        >>> h, (h2, c2) = cell(np.zeros((2, 8, 8, 3)), [np.zeros((2, 8, 8, 4))] * 2)
    """

    gates, n_states = 4, 2
    rank = 2  # spatial axes of one step
    _step_axes = "(batch, height, width, channels)"

    def __init__(self, filters: int, kernel_size: int | Sequence[int],
                 strides: int | Sequence[int] = 1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate: int | Sequence[int] = 1,
                 unit_forget_bias: bool = True, **kwargs: Any) -> None:
        super().__init__(filters, **kwargs)
        n = self.rank
        self.filters = self.units
        self.kernel_size = normalize_tuple(kernel_size, n, "kernel_size", self.name)
        self.strides = normalize_tuple(strides, n, "strides", self.name)
        self.padding = normalize_padding(padding, self.name)
        check_data_format(data_format, self.name)
        self.dilation_rate = normalize_tuple(dilation_rate, n, "dilation_rate", self.name)
        self.unit_forget_bias = bool(unit_forget_bias)

    def output_hw(self, *dims: int) -> tuple[int, ...]:
        """The state's spatial size for an input of ``dims`` (h, w; or w for one axis)."""
        return tuple(conv_output_length(n, k, self.padding, s, d) for n, k, s, d in zip(
            dims, self.kernel_size, self.strides, self.dilation_rate))

    def _conv(self, x: Tensor, w: Tensor, bias: Tensor | None, strides: Any, padding: str,
              dilation: Any) -> Tensor:
        """The 2-D convolution; one axis runs as a height of one (the same arithmetic)."""
        if self.rank == 2:
            return conv2d(x, w, bias, strides, padding, dilation)
        y = conv2d(ops.expand_dims(x, 1), ops.expand_dims(w, 0), bias,
                   (1, *normalize_tuple(strides, 1, "strides", self.name)), padding,
                   (1, *normalize_tuple(dilation, 1, "dilation_rate", self.name)))
        return ops.squeeze(y, 1)

    def build(self, input_shape: tuple) -> None:
        if len(input_shape) != self.rank + 2:
            raise ValueError(f"Layer '{self.name}': a {type(self).__name__[:-4]} cell takes "
                             f"one time step {self._step_axes}. Received: input shape "
                             f"{tuple(input_shape)}")
        c, f = int(input_shape[-1]), self.filters
        self.kernel = self.add_weight("kernel", self.kernel_size + (c, 4 * f),
                                      self.kernel_initializer, self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight("recurrent_kernel",
                                                self.kernel_size + (f, 4 * f),
                                                self.recurrent_initializer,
                                                self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight("bias", (4 * f,), self.bias_initializer,
                                        self.bias_regularizer,
                                        constraint=self.bias_constraint)
            if self.unit_forget_bias:
                self.bias.data[f:2 * f] = 1.0
        self.built = True

    def get_initial_state(self, batch_size: int, dtype: DTypeLike = "float32",
                          input_hw: Sequence[int] | None = None) -> list:
        if input_hw is None:
            raise ValueError(f"Layer '{self.name}': the initial state's size depends on the "
                             "input's spatial size; pass input_hw=(H, W) (or (W,))")
        out = self.output_hw(*input_hw)
        return [np.zeros((batch_size, *out, self.filters), dtype=dtype) for _ in range(2)]

    def _prepare(self, x: Tensor, states: Any,
                 training: bool) -> tuple[Tensor, Tensor, list[Tensor]]:
        space = tuple(x.shape[1:1 + self.rank])
        if states is None:
            states = self.get_initial_state(x.shape[0], x.dtype, space)
        states = [_t(s, x) for s in (list(states) if isinstance(states, (list, tuple))
                                     else [states])]
        want = (x.shape[0], *self.output_hw(*space), self.filters)
        if len(states) != 2 or any(tuple(s.shape) != want for s in states):
            raise ValueError(f"Layer '{self.name}': expected 2 states of shape {want}. "
                             f"Received: {[tuple(s.shape) for s in states]}")
        dm, rm = self._masks(x, states[0], training)
        xi = x if dm is None else x * _t(dm, x)
        h = states[0] if rm is None else states[0] * _t(rm, x)
        return xi, h, states

    def call(self, x: Tensor, training: bool = False,
             states: Any = None) -> tuple[Tensor, list[Tensor]]:
        xi, h, states = self._prepare(x, states, training)
        f = self.filters
        z = self._conv(xi, self.kernel, self.bias, self.strides, self.padding,
                       self.dilation_rate)
        z = z + self._conv(h, self.recurrent_kernel, None, 1, "same", 1)
        i = self.recurrent_activation(z[..., :f])
        fg = self.recurrent_activation(z[..., f:2 * f])
        c = fg * states[1] + i * self.activation(z[..., 2 * f:3 * f])
        o = self.recurrent_activation(z[..., 3 * f:])
        h = o * self.activation(c)
        return h, [h, c]

    def get_config(self) -> dict[str, Any]:
        cfg = super().get_config()
        cfg.pop("units")
        return {**cfg, "filters": self.filters, "kernel_size": tuple(self.kernel_size),
                "strides": tuple(self.strides), "padding": self.padding,
                "dilation_rate": tuple(self.dilation_rate),
                "unit_forget_bias": self.unit_forget_bias}


_CELL_ARGS = ("filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate",
              "activation", "recurrent_activation", "use_bias", "kernel_initializer",
              "recurrent_initializer", "bias_initializer", "unit_forget_bias",
              "kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "dropout",
              "recurrent_dropout", "seed", "kernel_constraint", "recurrent_constraint",
              "bias_constraint")


@register
class ConvLSTM2D(RNN):
    """Convolutional LSTM over (batch, time, height, width, channels), as Keras.

    Args:
        filters, kernel_size, strides, padding, dilation_rate: of the input convolution (the
            state convolution is 'same' with stride 1).
        activation: of the candidate and the output (tanh); the others as :class:`LSTM`
            (recurrent_activation, use_bias, the initializers and regularizers,
            unit_forget_bias, dropout, recurrent_dropout).
        return_sequences, return_state, go_backwards, stateful: as :class:`RNN`.

    Shapes: (B, T, H, W, C) → (B, OH, OW, filters), or (B, T, OH, OW, filters) with
    ``return_sequences``; ``return_state`` adds h and c (B, OH, OW, filters).

    Example:
        >>> y = ConvLSTM2D(4, 3, padding="same")(np.zeros((2, 5, 8, 8, 1)))   # (2, 8, 8, 4)
    """

    _input_rank = 5
    _input_axes = "(batch, timesteps, height, width, channels)"
    _cell_class: type[ConvLSTM2DCell] = ConvLSTM2DCell

    def __init__(self, filters: int, kernel_size: int | Sequence[int],
                 strides: int | Sequence[int] = 1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate: int | Sequence[int] = 1,
                 activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 unit_forget_bias: bool = True, kernel_regularizer: Any = None,
                 recurrent_regularizer: Any = None, bias_regularizer: Any = None,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0, seed: int | None = None,
                 return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False,
                 kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, **kwargs: Any) -> None:
        kwargs.pop("cell", None)
        cell = self._cell_class(
            filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
            dilation_rate=dilation_rate, activation=activation,
            recurrent_activation=recurrent_activation, use_bias=use_bias,
            kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, unit_forget_bias=unit_forget_bias,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint)
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, **kwargs)

    def _initial(self, x: Tensor, initial_state: Any) -> list[Tensor]:
        if initial_state is None and not (self.stateful and self.states is not None):
            # zeros of the shapes: constants of the step's signature
            return [constant(_t(s, x)) for s in self.cell.get_initial_state(
                x.shape[0], x.dtype, tuple(x.shape[2:2 + self.cell.rank]))]
        return super()._initial(x, initial_state)

    def compute_output_shape(self, input_shape: tuple) -> tuple | list[tuple]:
        b, t = input_shape[:2]
        state = (b, *self.cell.output_hw(*input_shape[2:2 + self.cell.rank]),
                 self.cell.filters)
        out = (b, t, *state[1:]) if self.return_sequences else state
        return [out, state, state] if self.return_state else out

    def get_config(self) -> dict[str, Any]:
        cfg = super().get_config()
        cell = cfg.pop("cell")["config"]
        for k in ("unroll", "zero_output_for_mask"):
            cfg.pop(k, None)
        return {**cfg, **{k: cell[k] for k in _CELL_ARGS if k in cell}}



@register
class ConvLSTM1DCell(ConvLSTM2DCell):
    """One ConvLSTM step on a signal batch x_t (B, W, C) with states h, c (B, OW, filters):
    :class:`ConvLSTM2DCell`'s arithmetic on a height of one; kernel (k, C, 4·filters).

    Example:
        >>> cell = ConvLSTM1DCell(4, 3, padding="same")
        >>> h, (h2, c2) = cell(np.zeros((2, 8, 3)), [np.zeros((2, 8, 4))] * 2)
    """

    rank = 1
    _step_axes = "(batch, width, channels)"


@register
class ConvLSTM1D(ConvLSTM2D):
    """Convolutional LSTM over (batch, time, width, channels), as Keras: :class:`ConvLSTM2D`
    with one spatial axis (its arguments, one int each for kernel_size, strides and
    dilation_rate).

    Shapes: (B, T, W, C) → (B, OW, filters), or (B, T, OW, filters) with
    ``return_sequences``; ``return_state`` adds h and c (B, OW, filters).

    Example:
        >>> y = ConvLSTM1D(4, 3, padding="same")(np.zeros((2, 5, 8, 1)))   # (2, 8, 4)
    """

    _input_rank = 4
    _input_axes = "(batch, timesteps, width, channels)"
    _cell_class = ConvLSTM1DCell
