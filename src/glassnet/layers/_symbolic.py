"""Symbolic tensors and nodes: calling a layer on ``gn.Input(...)`` records instead of computing.

The layers' side of the functional API, below ``glassnet.models``: ``Layer.__call__`` hands a
symbolic input to :func:`call_symbolic`, which records a node (the layer, its inputs, and the
output of a one-sample trace, so layers build and shapes are known as the graph is written).
``glassnet.models.functional.Functional`` collects these nodes into a model. Keeping them
here means layers never import models (no import cycle between the two packages).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from .. import backend
from ..autograd import no_grad
from ..tensor import Tensor, get_mask
from ._symbolic_ops import SymbolicArithmetic

if TYPE_CHECKING:
    from .base import Layer
    from .core import InputLayer

__all__ = ["SymbolicTensor", "call_symbolic", "as_symbolic", "split_call"]

# the sizes an unknown (None) axis takes in the two shape traces
TRACE_SIZES = (32, 48)


class SymbolicTensor(SymbolicArithmetic):
    """A layer call's output in a functional graph (Keras's ``KerasTensor``).

    Attributes:
        shape: output shape with the batch axis as None, e.g. ``(None, 8)``; axes of variable
            size are None too.
        dtype: dtype name, e.g. ``"float32"``.
        layer: the layer whose call produced it.
        inbound: the symbolic tensors the layer was called on.
        list_call: True when the layer was called on a list (merge layers).
    """

    _glassnet_symbolic = True

    def __init__(self, layer: Layer, inbound: Sequence[SymbolicTensor], list_call: bool,
                 value: Any, value_b: Any = None, kwargs: dict[str, Any] | None = None,
                 index: int | None = None, batch_size: int | None = None,
                 tensor_kwargs: Sequence[tuple[str, int, int, bool]] = ()) -> None:
        self.layer, self.inbound, self.list_call = layer, list(inbound), list_call
        self.kwargs = dict(kwargs or {})  # fixed call arguments (e.g. training=False)
        # keyword arguments that are graph tensors (an RNN's initial_state=[h, c]): each
        # (name, first inbound position, count, given as a list); they follow the
        # positional inputs in `inbound`, so graph walks see them as the call's inputs
        self.tensor_kwargs = tuple(tensor_kwargs)
        self.index = index  # which output of a multi-output call (inbound is its call node)
        self._value = value  # output on one zero sample (batch of 1)
        self._value_b = value_b  # the same at the second trace size, when an axis is None
        self.shape: tuple | None
        self.dtype: str | None
        if isinstance(value, Tensor):
            shape: list[int | None] = list(value.shape[1:])
            if value_b is not None:
                shape = [a if a == b else None for a, b in zip(shape, value_b.shape[1:])]
            self.shape = (batch_size, *shape)
            self.dtype = value.dtype.name
        else:  # the call node of a multi-output layer: its outputs are the indexed nodes
            self.shape, self.dtype = None, None

    @property
    def name(self) -> str:
        return self.layer.name

    def split(self, values: Sequence[Any]) -> tuple[Any, dict[str, Any]]:
        """(positional argument, tensor keyword arguments) of this call, from one value
        per entry of :attr:`inbound` (the replay's arrays, a clone's new nodes)."""
        return split_call(values, self.list_call, self.tensor_kwargs)

    @property
    def ndim(self) -> int:
        return len(self.shape or ())

    def __repr__(self) -> str:
        return (f"<SymbolicTensor shape={self.shape}, dtype={self.dtype}, "
                f"from layer {self.layer.name!r}>")

    @property
    def _keras_mask(self) -> SymbolicMask | None:
        """The mask this output carries (an ``Embedding(mask_zero=True)``'s, passed on by
        layers that support masking), as Keras's ``KerasTensor._keras_mask``: its shape
        and dtype; None where the output has no mask (a trace's value tells)."""
        masks = [get_mask(v) if isinstance(v, Tensor) else None
                 for v in (self._value, self._value_b)]
        if masks[0] is None:
            return None
        shape = list(np.shape(masks[0])[1:])
        if masks[1] is not None:
            shape = [a if a == b else None for a, b in zip(shape, np.shape(masks[1])[1:])]
        return SymbolicMask((self.shape[0] if self.shape else None, *shape))


class SymbolicMask:
    """The mask of a symbolic tensor: its shape (batch axis None) and dtype ``"bool"``.

    Example:
        >>> SymbolicMask((None, 7))
        <SymbolicMask shape=(None, 7), dtype=bool>
    """

    dtype = "bool"

    def __init__(self, shape: tuple[int | None, ...]) -> None:
        self.shape = tuple(shape)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        return f"<SymbolicMask shape={self.shape}, dtype=bool>"


def _trace_input(shape: tuple[int | None, ...], dtype: Any, size: int) -> Tensor:
    full = tuple(size if s is None else s for s in shape)
    if dtype == "string":  # a text input: one word, then two, trace the text layers (so a
        # token axis they make is variable, None, and a recurrent layer sees a step)
        word = "a" if size == TRACE_SIZES[0] else "a a"
        return Tensor._make(np.full((1, *full), word, dtype=object))
    return Tensor._make(np.zeros((1, *full), dtype))


def _input_node(inp: InputLayer) -> SymbolicTensor:
    """The node standing for an ``Input`` layer (created once per InputLayer)."""
    node = getattr(inp, "_node", None)
    if node is None:
        spec = tuple(cast("tuple[int | None, ...]", inp.input_spec_shape))  # set by InputLayer
        dtype = ("string" if getattr(inp, "_string_dtype", False)
                 else inp.dtype or backend.floatx())
        a = _trace_input(spec, dtype, TRACE_SIZES[0])
        b = (_trace_input(spec, dtype, TRACE_SIZES[1]) if None in spec or dtype == "string"
             else None)
        node = SymbolicTensor(inp, [], False, a, b, batch_size=getattr(inp, "batch_size", None))
        inp._node = node  # type: ignore[attr-defined]  # cached on the layer, set only here
    return node


def as_symbolic(x: Any) -> SymbolicTensor | None:
    """A SymbolicTensor for ``x`` (an Input layer or a SymbolicTensor), else None."""
    from ..layers.core import InputLayer

    if isinstance(x, SymbolicTensor):
        return x
    if isinstance(x, InputLayer):
        return _input_node(x)
    return None


def _trace(layer: Layer, args: Any, extra: dict[str, Any], training: bool) -> Any:
    """One forward of ``layer`` on trace values, without graph or lasting state."""
    from .base import _call_context

    prev, _call_context.tracing = _call_context.tracing, True
    try:
        with no_grad():
            value = layer(args, training=training, **extra)
    finally:
        _call_context.tracing = prev
    if getattr(layer, "stateful", False) and hasattr(layer, "reset_states"):
        layer.reset_states()  # the trace must leave no context behind
    return value


def _check_outputs(layer: Layer, value: Any) -> None:
    vals = value if isinstance(value, (list, tuple)) else [value]
    if not vals or not all(isinstance(v, Tensor) for v in vals):
        raise TypeError(f"Layer '{layer.name}': the functional API needs tensor outputs. "
                        f"Received: {type(value).__name__}")


def split_call(values: Sequence[Any], list_call: bool,
               tensor_kwargs: Sequence[tuple[str, int, int, bool]]) -> tuple[Any, dict]:
    """Cut a call's inbound values into its positional argument (the values before the
    first tensor keyword argument: a list when the layer was called on a list) and its
    tensor keyword arguments."""
    n = tensor_kwargs[0][1] if tensor_kwargs else len(values)
    pos = list(values[:n])
    kw = {name: (list(values[a:a + k]) if many else values[a])
          for name, a, k, many in tensor_kwargs}
    return (pos if list_call else pos[0]), kw


def _symbolic_kwarg(v: Any) -> list[SymbolicTensor] | None:
    """The graph tensors of a keyword argument that is one or a list of them, else None."""
    vs = list(v) if isinstance(v, (list, tuple)) and v else [v]
    found = [as_symbolic(t) for t in vs]
    if all(t is not None for t in found):
        return cast("list[SymbolicTensor]", found)
    if any(t is not None for t in found):
        raise TypeError("a keyword argument mixes graph tensors with other values")
    return None


def call_symbolic(layer: Layer, x: Any,
                  **kwargs: Any) -> SymbolicTensor | list[SymbolicTensor]:
    """Record ``layer(x)`` for symbolic ``x``; builds the layer on a one-sample trace.

    Returns one SymbolicTensor, or a list of them when the layer returns several tensors.
    ``training=`` fixes the mode of this call (``base_model(x, training=False)``); other
    keyword arguments must be plain JSON values and are passed on every replay.
    """
    list_call = isinstance(x, (list, tuple))
    if list_call:
        found = [as_symbolic(t) for t in x]
        if any(n is None for n in found):
            raise TypeError(f"Layer '{layer.name}': a functional call mixes symbolic inputs "
                            f"(gn.Input / layer outputs) with data. Received: "
                            f"{[type(t).__name__ for t in x]}")
        nodes = cast("list[SymbolicTensor]", found)  # no None: checked above
    else:
        nodes = [cast("SymbolicTensor", as_symbolic(x))]  # symbolic: the callers checked x
    tensor_kwargs: list[tuple[str, int, int, bool]] = []
    n_pos = len(nodes)
    for k, v in list(kwargs.items()):
        if k == "training":
            continue
        try:
            ts = _symbolic_kwarg(v)
        except TypeError:
            ts = None
        if ts is not None:  # recorded as more inputs of this call (replayed as keywords)
            tensor_kwargs.append((k, len(nodes), len(ts), isinstance(v, (list, tuple))))
            nodes = [*nodes, *ts]
            del kwargs[k]
        elif not _json_plain(v):
            raise TypeError(f"Layer '{layer.name}': functional calls take graph tensors (as "
                            f"inputs or keyword arguments) and plain keyword values. "
                            f"Received: {k}={type(v).__name__}")
    training = bool(kwargs.get("training", False))
    extra = {k: v for k, v in kwargs.items() if k != "training"}

    def args(which: int) -> tuple[Any, dict[str, Any]]:
        vals = [n._value if which == 0 or n._value_b is None else n._value_b for n in nodes]
        a, kw = split_call(vals, list_call, tensor_kwargs)
        return a, {**extra, **kw}

    value = _trace(layer, *args(0), training)
    value_b = None
    if any(n._value_b is not None for n in nodes):
        try:
            value_b = _trace(layer, *args(1), training)
        except (ValueError, TypeError, IndexError) as e:
            shapes = [n.shape for n in nodes[:n_pos]]
            raise ValueError(f"Layer '{layer.name}' cannot take inputs with an axis of "
                             f"variable size (None). Received: input shape(s) {shapes} "
                             f"({type(e).__name__}: {e})") from None
    _check_outputs(layer, value)
    out: SymbolicTensor | list[SymbolicTensor]
    if not isinstance(value, (list, tuple)):
        out = SymbolicTensor(layer, nodes, list_call, value, value_b, kwargs,
                             tensor_kwargs=tensor_kwargs)
    else:
        call = SymbolicTensor(layer, nodes, list_call, list(value), None, kwargs,
                              tensor_kwargs=tensor_kwargs)
        out = [SymbolicTensor(layer, [call], False, v,
                              None if value_b is None else value_b[i], index=i)
               for i, v in enumerate(value)]
    # the first call is the one layer.input / layer.output name (as in Keras)
    layer.__dict__.setdefault("_symbolic_call", (nodes[:n_pos] if list_call else nodes[0], out))
    return out


def _json_plain(v: Any) -> bool:
    if v is None or isinstance(v, (bool, int, float, str)):
        return True
    if isinstance(v, (list, tuple)):
        return all(_json_plain(a) for a in v)
    return False
