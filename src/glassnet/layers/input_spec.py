"""``InputSpec``: what a layer of your own accepts, checked on every call (Keras 3's class).

A layer sets ``self.input_spec = InputSpec(ndim=3)`` (or one per input, a list) and
``Layer.__call__`` refuses any input that does not fit, naming the layer, the input and what
was expected, before ``build`` or ``call`` see it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["InputSpec"]


class InputSpec:
    """The rank, dtype and axis sizes a layer's input must have.

    Args:
        dtype: the dtype name the input must have.
        shape: the whole shape (None for any size on an axis; sets ``ndim``).
        ndim, max_ndim, min_ndim: the rank, exactly or at most / at least.
        axes: ``{axis: size}`` for particular axes (negative counts from the end).
        allow_last_axis_squeeze: accept an extra or missing trailing axis of size 1.
        name: the input's name in messages.
        optional: None is accepted for this input.

    Example:
        >>> class Pairs(gn.layers.Layer):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.input_spec = InputSpec(ndim=3, axes={-1: 2})
        ...     def call(self, x):
        ...         return x
        >>> Pairs()(np.zeros((1, 4, 3)))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: Input 0 of layer 'pairs' is incompatible with the layer: expected axis -1...
    """

    def __init__(self, dtype: Any = None, shape: Sequence[int | None] | None = None,
                 ndim: int | None = None, max_ndim: int | None = None,
                 min_ndim: int | None = None, axes: dict | None = None,
                 allow_last_axis_squeeze: bool = False, name: str | None = None,
                 optional: bool = False) -> None:
        self.dtype = None if dtype is None else np.dtype(dtype).name
        self.shape = None if shape is None else tuple(shape)
        self.ndim = len(self.shape) if self.shape is not None else ndim
        self.max_ndim, self.min_ndim = max_ndim, min_ndim
        self.name, self.optional = name, bool(optional)
        self.allow_last_axis_squeeze = bool(allow_last_axis_squeeze)
        try:
            self.axes = {int(k): v for k, v in (axes or {}).items()}
        except (ValueError, TypeError):
            raise TypeError("InputSpec: axes must be a dict with integer keys. "
                            f"Received: axes={axes!r}") from None
        top = self.ndim if self.ndim is not None else self.max_ndim
        if self.axes and top is not None and max(self.axes) > top - 1:
            raise ValueError(f"InputSpec: axis {max(self.axes)} is greater than the maximum "
                             f"allowed value: {top - 1}")

    def __repr__(self) -> str:
        parts = [f"{k}={v!r}" for k, v in (("dtype", self.dtype), ("shape", self.shape),
                                            ("ndim", self.ndim), ("max_ndim", self.max_ndim),
                                            ("min_ndim", self.min_ndim), ("axes", self.axes))
                 if v]
        return f"InputSpec({', '.join(parts)})"

    def get_config(self) -> dict[str, Any]:
        return {"dtype": self.dtype, "shape": self.shape, "ndim": self.ndim,
                "max_ndim": self.max_ndim, "min_ndim": self.min_ndim, "axes": self.axes}

    @classmethod
    def from_config(cls, config: dict) -> InputSpec:
        return cls(**config)


def check_input_spec(layer: str, spec: Any, inputs: Any) -> None:
    """Raise a ValueError naming ``layer`` where ``inputs`` do not fit ``spec`` (an
    :class:`InputSpec` or a list of them, one per input)."""
    specs = list(spec) if isinstance(spec, (list, tuple)) else [spec]
    xs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    if len(xs) != len(specs):
        raise ValueError(f"Layer '{layer}' expects {len(specs)} input(s), but it received "
                         f"{len(xs)} input tensors.")
    for i, (x, s) in enumerate(zip(xs, specs)):
        if s is None or (x is None and s.optional):
            continue
        if not hasattr(x, "shape"):
            raise ValueError(f"Inputs to a layer should be tensors. Got {x!r} (of type "
                             f"{type(x).__name__}) as input for layer '{layer}'.")
        shape = tuple(None if d is None else int(d) for d in x.shape)
        nd = len(shape)
        head = (f"Input {i}{'' if s.name is None else f' with name {s.name!r}'} of layer "
                f"'{layer}' is incompatible with the layer: ")

        def bad(what: str, head: str = head) -> ValueError:
            return ValueError(head + what)

        if s.ndim is not None and not s.allow_last_axis_squeeze and nd != s.ndim:
            raise bad(f"expected ndim={s.ndim}, found ndim={nd}. Full shape received: "
                      f"{shape}")
        if s.max_ndim is not None and nd > s.max_ndim:
            raise bad(f"expected max_ndim={s.max_ndim}, found ndim={nd}")
        if s.min_ndim is not None and nd < s.min_ndim:
            raise bad(f"expected min_ndim={s.min_ndim}, found ndim={nd}. Full shape "
                      f"received: {shape}")
        dtype = getattr(x, "dtype", None)
        if s.dtype is not None and dtype is not None and np.dtype(dtype).name != s.dtype:
            raise bad(f"expected dtype={s.dtype}, found dtype={np.dtype(dtype).name}")
        for axis, value in s.axes.items():
            if value is not None and (not -nd <= axis < nd or shape[axis] not in (value, None)):
                raise bad(f"expected axis {axis} of input shape to have value {value}, but "
                          f"received input with shape {shape}")
        if s.shape is not None:
            want, got = s.shape, shape
            if s.allow_last_axis_squeeze:
                if got and got[-1] == 1:
                    got = got[:-1]
                if want and want[-1] == 1:
                    want = want[:-1]
            if len(want) != len(got) or any(w is not None and g is not None and w != g
                                            for w, g in zip(want, got)):
                raise bad(f"expected shape={s.shape}, found shape={shape}")
