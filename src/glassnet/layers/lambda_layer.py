"""``Lambda``: wrap a Python function written in the same script as a layer.

The function runs on tensors (use glassnet's ops, ``gn.ops`` / tensor operators, so
gradients flow). A model file never stores code: saving writes only the function's *name*
(its ``register_keras_serializable`` name, else ``__name__``), and loading finds the
function by that name among the objects the running program supplies —
``gn.saving.load_model(path, custom_objects={"name": fn})``, a ``custom_object_scope``, or
the registry — else it fails with an error naming the layer. An anonymous ``lambda`` has
no name to find, so saving a model holding one is refused, naming the layer.

Example:
    >>> double = Lambda(lambda x: x * 2.0)
    >>> double(np.ones((1, 2), "float32")).data
    array([[2., 2.]], dtype=float32)
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

from .base import Layer, register

__all__ = ["Lambda"]


@register
class Lambda(Layer):
    """Apply ``function(x, **arguments)`` as a layer (no weights).

    Args:
        function: a callable on one tensor (or a list, for list inputs).
        output_shape: optional output shape without the batch axis (otherwise traced).
        mask: the output's mask: a callable ``mask(inputs, previous_mask)`` (saved by its
            name, as ``function``), or a fixed boolean array (not saved); None drops an
            input's mask, as Keras. A ``function`` that takes ``mask=`` receives the input's.
        arguments: extra keyword arguments passed to ``function``.

    Saving stores the function's name only; loading needs the function from
    ``custom_objects`` (or the registry). An anonymous ``lambda`` cannot be saved.
    """

    def __init__(self, function: Callable, output_shape: Sequence[int | None] | None = None,
                 mask: Any = None, arguments: dict | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Layer '{self.name}': function must be callable. "
                            f"Received: {type(function).__name__}")
        self.function = function
        self.mask = mask
        self.supports_masking = mask is not None
        self.arguments = dict(arguments or {})
        self._output_shape = None if output_shape is None else tuple(output_shape)
        try:
            self._fn_takes_mask = "mask" in inspect.signature(function).parameters
        except (TypeError, ValueError):  # a builtin without a signature
            self._fn_takes_mask = False

    def call(self, x: Any, training: bool = False, mask: Any = None) -> Any:
        if self._fn_takes_mask:
            return self.function(x, mask=mask, **self.arguments)
        return self.function(x, **self.arguments)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if callable(self.mask):
            return self.mask(inputs, mask)
        return self.mask

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        if self._output_shape is not None:
            return (input_shape[0],) + self._output_shape
        return super().compute_output_shape(input_shape)

    def get_config(self) -> dict[str, Any]:
        import json

        from .. import saving

        fn = saving.get_registered_name(self.function)
        if fn == "<lambda>":
            raise ValueError(
                f"Layer '{self.name}' (Lambda) wraps an anonymous lambda. glassnet model files "
                "never store code, only a function's name for load_model(custom_objects=...) "
                "to resolve: define the function with `def` (or register it with "
                "gn.saving.register_keras_serializable), or use a built-in layer."
            )
        try:
            json.dumps(self.arguments)
        except TypeError:
            raise ValueError(f"Layer '{self.name}' (Lambda): arguments must be JSON data to "
                             f"be saved. Received: {self.arguments!r}") from None
        mask = None
        if self.mask is not None:
            mask = saving.get_registered_name(self.mask) if callable(self.mask) else "<array>"
            if mask in ("<lambda>", "<array>"):
                raise ValueError(f"Layer '{self.name}' (Lambda): its mask must be a function "
                                 "defined with `def` to be saved (files store its name, never "
                                 f"code or arrays). Received: mask={self.mask!r}")
        return {**super().get_config(), "function": fn,
                "output_shape": None if self._output_shape is None else
                list(self._output_shape), "mask": mask, "arguments": self.arguments or None}

    @classmethod
    def from_config(cls, config: dict) -> Lambda:
        """Resolve ``config["function"]`` (a name) in ``custom_objects``, the active
        ``custom_object_scope`` or the registry; never from the file."""
        from .. import saving

        cfg = dict(config)
        name = cfg.pop("function", None)
        fn = saving.get_registered_object(name) if isinstance(name, str) else None
        if fn is None or not callable(fn):
            raise ValueError(
                f"Layer '{cfg.get('name', 'lambda')}' (Lambda): function {name!r} is not "
                "available. Model files store no code; pass the function: "
                f"gn.saving.load_model(path, custom_objects={{{name!r}: fn}}), or register it "
                "with gn.saving.register_keras_serializable."
            )
        mask = cfg.pop("mask", None)
        if isinstance(mask, str):
            mask_fn = saving.get_registered_object(mask)
            if mask_fn is None or not callable(mask_fn):
                raise ValueError(f"Layer '{cfg.get('name', 'lambda')}' (Lambda): mask function "
                                 f"{mask!r} is not available; pass it in custom_objects.")
            cfg["mask"] = mask_fn
        return cls(fn, **cfg)
