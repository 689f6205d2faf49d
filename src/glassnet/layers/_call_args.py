"""How a layer's ``call`` and ``build`` receive their arguments, Keras 3's way: the
``training`` flag only where ``call`` takes it (or given by position), more positional
inputs passed to ``call`` by name, and a ``build`` called by hand leaving the layer built.
Used by :class:`glassnet.layers.base.Layer`, which installs them on every subclass."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from .._scopes import join_path

if TYPE_CHECKING:
    from .base import Layer


def _takes_training(fn: Callable[..., Any]) -> bool:
    import inspect

    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.name == "training" or p.kind is p.VAR_KEYWORD for p in params)


def _drop_training(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a ``call(self, x)`` that has no ``training`` argument so callers may pass one."""
    import functools

    @functools.wraps(fn)
    def call(self: Any, *args: Any, training: Any = None, **kwargs: Any) -> Any:
        return fn(self, *args, **kwargs)

    return call


def positional_training(args: tuple[Any, ...], training: bool | None
                        ) -> tuple[tuple[Any, ...], bool | None]:
    """``layer(x, True)``: a lone bool (or None) after the input is the training flag, as
    before layers took several positional inputs; anything else stays an input."""
    if len(args) == 1 and (args[0] is None or isinstance(args[0], (bool, np.bool_))):
        return (), None if args[0] is None else bool(args[0])
    return args, training


def _marking_built(build: Any) -> Any:
    """``build`` that leaves the layer built (and its input shape noted when called by
    hand), whether or not it calls ``super().build``."""
    import functools

    @functools.wraps(build)
    def wrapper(self: Layer, *args: Any, **kwargs: Any) -> Any:
        if self.__dict__.get("_path") is None:  # Keras's layer.path: the name scope now
            self.__dict__["_path"] = join_path(self.name)
        out = build(self, *args, **kwargs)
        self.built = True
        if self.input_shape_built is None and args and isinstance(args[0], (tuple, list)):
            shape = args[0]
            self.input_shape_built = (tuple(shape) if not shape or not isinstance(
                shape[0], (tuple, list)) else list(shape))
        return out

    wrapper._marks_built = True  # type: ignore[attr-defined]  # a function attribute
    return wrapper


_CALL_NAMES: dict[type, tuple[str, ...] | None] = {}


def _call_names(cls: type) -> tuple[str, ...] | None:
    """The names of ``cls.call``'s parameters that take inputs after the first, in order
    (``training`` and keyword-only ones left out), or None when ``call`` takes ``*args``."""
    if cls not in _CALL_NAMES:
        import inspect

        names: list[str] = []
        var = False
        call = getattr(cls, "call")  # noqa: B009  (a Layer subclass: mypy sees a plain type)
        params = list(inspect.signature(call).parameters.values())[2:]  # self, inputs
        for p in params:
            if p.kind is p.VAR_POSITIONAL or p.kind is p.POSITIONAL_ONLY:
                var = True
                break
            if p.kind is p.POSITIONAL_OR_KEYWORD and p.name != "training":
                names.append(p.name)
        _CALL_NAMES[cls] = None if var else tuple(names)
    return _CALL_NAMES[cls]


def _named_inputs(layer: Layer, args: tuple[Any, ...], kwargs: dict[str, Any]
                  ) -> dict[str, Any]:
    """``layer(a, b, c)`` as Keras 3 calls it: ``b`` and ``c`` go to ``call``'s next
    parameters, here by name, so that the functional API records graph tensors among them
    as more inputs of the call (``layers/_symbolic.py``), exactly as keyword tensors."""
    names = _call_names(type(layer))
    label = f"Layer '{layer.name}' ({type(layer).__name__})"
    if names is None:
        raise TypeError(f"{label}: call() takes *args or positional-only inputs, which a layer "
                        f"call cannot pass on. Received: {len(args) + 1} positional inputs")
    if len(args) > len(names):
        raise TypeError(f"{label}: call() takes {len(names) + 1} positional inputs "
                        f"({', '.join(('inputs', *names))}). Received: {len(args) + 1}")
    out = dict(kwargs)
    for name, a in zip(names, args):
        if name in out:
            raise TypeError(f"{label}: call() got two values for '{name}', one by position "
                            f"and one by name")
        out[name] = a
    return out
