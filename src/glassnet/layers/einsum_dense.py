"""Keras 3's ``EinsumDense``: a dense layer whose product is any einsum equation.

``EinsumDense("ab,bc->ac", output_shape=64)`` is ``Dense(64)``; ``"abc,cd->abd"`` is a
Dense over the last axis of a sequence; ``"abc,cde->abde"`` projects each step to
``(d, e)`` heads (how Keras's own MultiHeadAttention builds its projections). The kernel's
shape follows from the equation, the input's shape and ``output_shape`` (the output's
shape without the batch axis), as Keras derives it, so weights load both ways.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from .. import constraints, ops
from .base import Layer, register
from .core import kernel_args, kernel_layer_config

if TYPE_CHECKING:
    from ..tensor import Tensor

__all__ = ["EinsumDense"]


def _shapes(equation: str, bias_axes: str | None, input_shape: tuple, output_shape: Any,
            name: str) -> tuple[list[int], list[int] | None, list[Any]]:
    """(kernel shape, bias shape or None, full output shape) for ``equation`` — Keras's
    analysis: ``ab,bc->ac``, or ``...`` standing for the input's leading (``...b,bc->...c``)
    or trailing (``ab...,bc->ac...``) axes."""
    eq = equation.replace(" ", "")
    left = re.fullmatch(r"\.\.\.([a-zA-Z]+),([a-zA-Z]+)->\.\.\.([a-zA-Z]+)", eq)
    right = re.fullmatch(r"([a-zA-Z]{2,})\.\.\.,([a-zA-Z]+)->([a-zA-Z]+)\.\.\.", eq)
    plain = re.fullmatch(r"([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)", eq)
    m = plain or left or right
    if m is None:
        raise ValueError(f"Layer '{name}': equation must look like 'ab,bc->ac' (with '...' "
                         f"at the start or end of the input and output). Received: "
                         f"{equation!r}")
    ins, ws, outs = m.groups()
    elided = len(input_shape) - len(ins)
    out = [output_shape] if isinstance(output_shape, int) else list(output_shape)
    out.insert(0, input_shape[0])
    if elided > 0 and left:
        out[1:1] = list(input_shape[1:elided])
    elif elided > 0:
        out += list(input_shape[len(input_shape) - elided:])
    if elided < 0 or (elided and plain):
        raise ValueError(f"Layer '{name}': equation {equation!r} names {len(ins)} input axes; "
                         f"the input has shape {tuple(input_shape)}")
    in_at = {c: i + (elided if left else 0) for i, c in enumerate(ins)}
    out_at = {c: i + (elided if left else 0) for i, c in enumerate(outs)}
    if len(out) != len(outs) + max(elided, 0):
        raise ValueError(f"Layer '{name}': output_shape {output_shape!r} does not fit the "
                         f"equation's output {outs!r}")
    for c in ins:
        if c in out_at and out[out_at[c]] is not None and out[out_at[c]] != input_shape[
                in_at[c]]:
            raise ValueError(f"Layer '{name}': axis {c!r} is {input_shape[in_at[c]]} in the "
                             f"input but {out[out_at[c]]} in output_shape {output_shape!r}")
    for c in outs:
        if c not in ins and c not in ws:
            raise ValueError(f"Layer '{name}': output axis {c!r} is in neither the input nor "
                             f"the weight of {equation!r}")
    kernel = []
    for c in ws:
        size = input_shape[in_at[c]] if c in in_at else (out[out_at[c]] if c in out_at
                                                            else None)
        if size is None:
            raise ValueError(f"Layer '{name}': weight axis {c!r} of {equation!r} has no "
                             f"known length (name it in the input or the output)")
        kernel.append(int(size))
    bias = None
    if bias_axes is not None:
        bad = [c for c in bias_axes if c not in outs]
        if bad:
            raise ValueError(f"Layer '{name}': bias_axes {bias_axes!r} names {bad}, not in the "
                             f"output {outs!r}")
        first = min(outs.find(c) for c in bias_axes)
        bias = [int(out[out_at[c]]) if c in bias_axes else 1 for c in outs[first:]]
        if not left:
            bias += [1] * max(elided, 0)
    return kernel, bias, out


@register
class EinsumDense(Layer):
    """A dense layer computing ``activation(einsum(equation, x, kernel) + bias)``.

    Args:
        equation: ``"<input>,<kernel>-><output>"`` in einsum letters, the input's first
            letter its batch axis; ``...`` may stand for leading or trailing input axes.
        output_shape: the output's shape without the batch axis (an int for one axis);
            ``None`` where an axis comes from the input.
        activation: name, callable or None. bias_axes: the output letters the bias spans
            (None: no bias).
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
        activity_regularizer: as Dense.

    Shapes: x (batch, ...) → (batch, *output_shape); ``kernel`` as the equation's middle
    term requires.

    Example:
        >>> EinsumDense("abc,cde->abde", output_shape=(5, 2, 3))(np.ones((4, 5, 6))).shape
        (4, 5, 2, 3)
    """

    def __init__(self, equation: str, output_shape: Any, activation: Any = None,
                 bias_axes: str | None = None, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        if not isinstance(equation, str):
            raise TypeError(f"Layer '{self.name}': equation must be a string. Received: "
                            f"{equation!r}")
        self.equation = equation
        self.partial_output_shape = ((output_shape,) if isinstance(output_shape, int)
                                     else tuple(output_shape))
        self.bias_axes = bias_axes
        (self.activation, self.kernel_initializer, self.bias_initializer,
         self.kernel_regularizer, self.bias_regularizer, self.activity_regularizer) = kernel_args(
            activation, kernel_initializer, bias_initializer, kernel_regularizer,
            bias_regularizer, activity_regularizer)

    def build(self, input_shape: tuple) -> None:
        kernel, bias, out = _shapes(self.equation, self.bias_axes, tuple(input_shape),
                                    self.partial_output_shape, self.name)
        self.full_output_shape = tuple(out)
        self.kernel = self.add_weight("kernel", tuple(kernel), self.kernel_initializer,
                                      self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = (self.add_weight("bias", tuple(bias), self.bias_initializer,
                                     self.bias_regularizer, constraint=self.bias_constraint)
                     if bias is not None else None)
        self.built = True

    def call(self, x: Tensor) -> Tensor:
        y = ops.einsum(self.equation, x, self.kernel)
        if self.bias is not None:
            y = y + self.bias
        return self.activation(y)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(_shapes(self.equation, self.bias_axes, tuple(input_shape),
                             self.partial_output_shape, self.name)[2])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "equation": self.equation,
                "output_shape": self.partial_output_shape, "bias_axes": self.bias_axes,
                **kernel_layer_config(self)}
