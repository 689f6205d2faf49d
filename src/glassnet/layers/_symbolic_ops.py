"""Arithmetic on functional-API tensors: ``inputs * 2``, ``a + b``, ``x[:, 0]``, as Keras 3
allows on ``KerasTensor``s.

Each operator records a :class:`SymbolicOp` node: a layer holding the operator's name (one
of a fixed table), its constant operands (JSON numbers, slices) and where the symbolic
operands go. A saved model names only the table entry, never code.

Example:
    >>> inputs = gn.Input(shape=(4,))
    >>> outputs = layers.Dense(1)(inputs / 255.0 - 0.5)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn, cast

import numpy as np

from .. import ops
from .base import Layer, register

if TYPE_CHECKING:
    from collections.abc import Callable

    from ._symbolic import SymbolicTensor

__all__ = ["SymbolicOp", "SymbolicArithmetic"]

# the only functions a SymbolicOp node may call
_TABLE: dict[str, Callable[..., Any]] = {
    "add": ops.add, "sub": ops.sub, "mul": ops.mul, "div": ops.div, "pow": ops.pow,
    "neg": ops.neg, "matmul": ops.matmul, "getitem": ops.getitem}


def _encode(v: Any) -> Any:
    if isinstance(v, dict):  # already encoded (from_config): checked by decoding it
        _decode(v)
        return v
    if isinstance(v, slice):
        return {"slice": [v.start, v.stop, v.step]}
    if v is Ellipsis:
        return {"ellipsis": True}
    if isinstance(v, tuple):
        return {"tuple": [_encode(a) for a in v]}
    if isinstance(v, (np.integer, np.floating)):
        return v.item()
    if v is None or isinstance(v, (bool, int, float)):
        return v
    raise TypeError(f"a functional-API operator takes numbers, slices or symbolic tensors. "
                    f"Received: {type(v).__name__}")


def _decode(v: Any) -> Any:
    if isinstance(v, dict):
        if "slice" in v:
            return slice(*v["slice"])
        if "ellipsis" in v:
            return Ellipsis
        if "tuple" in v:
            return tuple(_decode(a) for a in v["tuple"])
        raise ValueError(f"SymbolicOp: unknown constant {v!r}")
    return v


@register
class SymbolicOp(Layer):
    """One operator applied to functional-API tensors (Keras's operation nodes).

    Args:
        op: a name from the fixed table (add, sub, mul, div, pow, neg, matmul, getitem).
        args: the operands in order; ``None`` where a symbolic tensor goes (``slots``).
        slots: the positions of the symbolic operands.

    Example:
        >>> y = gn.Input(shape=(3,)) * 2.0     # records SymbolicOp("mul", ...)
    """

    def __init__(self, op: str, args: list[Any] | None = None, slots: list[int] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if op not in _TABLE:
            raise ValueError(f"Layer '{self.name}': op must be one of {sorted(_TABLE)}. "
                             f"Received: op={op!r}")
        self.op = op
        self.args = [_encode(a) for a in (args or [])]
        self.slots = [int(s) for s in (slots or [])]

    def call(self, xs: Any, training: bool = False) -> Any:
        xs = list(xs) if isinstance(xs, (list, tuple)) else [xs]
        args = [_decode(a) for a in self.args]
        for slot, x in zip(self.slots, xs):
            args[slot] = x
        return _TABLE[self.op](*args)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "op": self.op, "args": self.args, "slots": self.slots}


def _record(op: str, *args: Any) -> SymbolicTensor:
    from ._symbolic import as_symbolic, call_symbolic

    slots = [i for i, a in enumerate(args) if getattr(a, "_glassnet_symbolic", False)]
    consts = [None if i in slots else a for i, a in enumerate(args)]
    layer = SymbolicOp(op, consts, slots)
    # one output: the operator returns one tensor
    return cast("SymbolicTensor", call_symbolic(layer, [as_symbolic(args[i]) for i in slots]))


class SymbolicArithmetic:
    """Python operators on functional-API tensors; each records a :class:`SymbolicOp`."""

    def __add__(self, other: Any) -> SymbolicTensor:
        return _record("add", self, other)

    def __radd__(self, other: Any) -> SymbolicTensor:
        return _record("add", other, self)

    def __sub__(self, other: Any) -> SymbolicTensor:
        return _record("sub", self, other)

    def __rsub__(self, other: Any) -> SymbolicTensor:
        return _record("sub", other, self)

    def __mul__(self, other: Any) -> SymbolicTensor:
        return _record("mul", self, other)

    def __rmul__(self, other: Any) -> SymbolicTensor:
        return _record("mul", other, self)

    def __truediv__(self, other: Any) -> SymbolicTensor:
        return _record("div", self, other)

    def __rtruediv__(self, other: Any) -> SymbolicTensor:
        return _record("div", other, self)

    def __pow__(self, other: Any) -> SymbolicTensor:
        return _record("pow", self, other)

    def __neg__(self) -> SymbolicTensor:
        return _record("neg", self)

    def __matmul__(self, other: Any) -> SymbolicTensor:
        return _record("matmul", self, other)

    def __getitem__(self, key: Any) -> SymbolicTensor:
        return _record("getitem", self, key)

    def __iter__(self) -> NoReturn:
        # without this, Python would iterate by calling __getitem__(0), (1), ... and record
        # a node for each
        raise TypeError("a functional-API tensor cannot be iterated; index it (x[:, 0]) or "
                        "split it with a layer")

    __hash__ = object.__hash__  # nodes are keyed by identity
