"""``gn.Variable``: Keras 3's ``keras.Variable``, a named, optionally trainable tensor.

A layer tracks a Variable assigned to one of its attributes as one of its weights, as Keras
3 does (``self.v = keras.Variable(...)`` in ``__init__`` or ``build``): it is then in
``layer.weights``, trained when trainable, and saved and loaded with the other weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from . import backend, initializers
from ._scopes import current_path
from .tensor import Tensor

__all__ = ["Variable"]


class Variable(Tensor):
    """A tensor that holds state: a weight made outside ``add_weight``.

    Args:
        initializer: the initial value (an array, a number) or an initializer (a name such
            as ``"zeros"``, an instance, or a callable ``f(shape, dtype)``) with ``shape``.
        shape: the shape, needed with an initializer; checked against an initial value.
        dtype: default: the value's float dtype, or ``floatx()``.
        trainable: whether training updates it.
        name: its name (``"variable"`` by default); a layer that tracks it prefixes its own.
            Made inside ``gn.name_scope("s")``, its ``path`` is ``"s/<name>"``.
        autocast, aggregation, synchronization: accepted for Keras's signature; glassnet
            has no mixed precision or replicas to apply them to.

    Example:
        >>> v = Variable(np.ones(3), name="count", trainable=False)
        >>> v.assign_add(np.ones(3)).numpy()
        array([2., 2., 2.], dtype=float32)
    """

    __slots__ = ()

    def __init__(self, initializer: Any, shape: Sequence[int] | int | None = None,
                 dtype: DTypeLike | None = None, trainable: bool = True,
                 autocast: bool = True, aggregation: str = "none",
                 synchronization: str = "auto", name: str | None = None) -> None:
        if isinstance(shape, (int, np.integer)):
            shape = (int(shape),)
        if isinstance(initializer, (str, dict, initializers.Initializer)) or (
                callable(initializer) and not isinstance(initializer, (np.ndarray, Tensor))):
            if shape is None:
                raise ValueError(f"Variable '{name or 'variable'}': an initializer needs a "
                                 f"shape. Received: initializer={initializer!r}, shape=None")
            dt = np.dtype(dtype or backend.floatx())
            value = np.asarray(initializers.get(initializer)(tuple(int(s) for s in shape),
                                                             dtype=dt), dtype=dt)
        else:
            raw = initializer.data if isinstance(initializer, Tensor) else initializer
            value = np.array(backend.asnumpy(raw), dtype=dtype)
            if dtype is None and value.dtype.kind == "f":  # Keras: floats in floatx()
                value = value.astype(backend.floatx())
            elif dtype is None and value.dtype.kind == "i" and not isinstance(
                    raw, np.ndarray):  # Keras: Python ints in int32 (an array keeps its own)
                value = value.astype(np.int32)
            if shape is not None and value.shape != tuple(int(s) for s in shape):
                raise ValueError(f"Variable '{name or 'variable'}': the initial value has "
                                 f"shape {value.shape}. Received: shape={tuple(shape)}")
        super().__init__(value, requires_grad=bool(trainable) and value.dtype.kind == "f",
                         dtype=value.dtype, name=name or "variable")  # an int stays an int
        scope = current_path()
        if scope:  # made inside gn.name_scope: Keras's path "scope/name"
            self._scope = scope

    @property
    def trainable(self) -> bool:
        """Whether training updates it (Keras's ``Variable.trainable``)."""
        return bool(self.requires_grad)

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self.requires_grad = bool(value)

