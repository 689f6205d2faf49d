"""``clone_model`` and ``model_from_json``: Keras's ways to copy an architecture.

A clone has the same layers (same classes, hyperparameters and names) wired the same way, with
freshly initialised weights, as ``keras.models.clone_model`` gives. JSON holds only the
architecture, read back through the fixed layer table: nothing in it is imported or run.

Example:
    >>> twin = gn.models.clone_model(model)           # same architecture, new weights
    >>> twin = gn.models.model_from_json(model.to_json())
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..layers._symbolic import SymbolicTensor
    from ..layers.base import Layer
    from .functional import Functional
    from .model import Model

__all__ = ["clone_model", "model_from_json", "model_from_config"]


def _default_clone(layer: Layer) -> Layer:
    return type(layer).from_config(layer.get_config())


def clone_model(model: Model, input_tensors: Any = None,
                clone_function: Callable[[Layer], Layer] | None = None,
                call_function: Any = None, recursive: bool = False, **kwargs: Any) -> Model:
    """A new model with ``model``'s architecture and newly initialised weights.

    Args:
        model: a ``Sequential``, a functional ``Model`` or a subclassed model with
            ``get_config``.
        input_tensors: optional new ``gn.Input`` (or list) for a functional model to start
            from (Sequential: a single Input that replaces its input layer).
        clone_function: ``layer -> new layer`` applied to every layer (default: a fresh layer
            from the layer's config).

    Returns the new, uncompiled model.

    Example:
        >>> twin = clone_model(model); twin.set_weights(model.get_weights())
    """
    from ..layers.core import InputLayer
    from .functional import Functional, as_symbolic, call_symbolic
    from .model import Sequential

    if kwargs:
        raise TypeError(f"clone_model: unexpected keyword argument(s) {sorted(kwargs)}")
    if call_function is not None:
        raise ValueError("clone_model: call_function is not supported. Received: "
                         f"call_function={call_function!r}")
    fn = clone_function or _default_clone
    if isinstance(model, Sequential):
        layers = [ly for ly in model._layers
                  if not (input_tensors is not None and isinstance(ly, InputLayer))]
        new = [fn(ly) for ly in layers]
        if input_tensors is not None:
            inp = input_tensors[0] if isinstance(input_tensors, (list, tuple)) else input_tensors
            new = [inp, *new]
        out = Sequential(new, name=model.name)
        if not out.built and model.built and model.input_shape is not None:
            out.build(model.input_shape)
        return out
    if isinstance(model, Functional):
        return _clone_functional(model, input_tensors, fn, as_symbolic, call_symbolic)
    if not hasattr(model, "get_config"):
        raise TypeError(f"clone_model: expected a glassnet model. Received: "
                        f"{type(model).__name__}")
    try:
        return type(model).from_config(model.get_config())
    except TypeError as e:
        raise TypeError(f"clone_model: the subclassed model {type(model).__name__} cannot be "
                        f"rebuilt from its get_config() ({e}); implement get_config/"
                        "from_config as in Keras") from None


def _clone_functional(model: Functional, input_tensors: Any, fn: Callable[[Layer], Layer],
                      as_symbolic: Callable[[Any], SymbolicTensor | None],
                      call_symbolic: Callable[..., Any]) -> Functional:
    from .functional import Functional

    ins = model._inputs
    if input_tensors is not None:
        given = list(input_tensors) if isinstance(input_tensors, (list, tuple)) else \
            [input_tensors]
        if len(given) != len(ins):
            raise ValueError(f"clone_model: the model has {len(ins)} input(s). Received: "
                             f"{len(given)} input_tensors")
        new_ins = [as_symbolic(t) for t in given]
        if any(t is None for t in new_ins):
            raise TypeError("clone_model: input_tensors must be gn.Input(...) objects")
    else:
        new_ins = [as_symbolic(_default_clone(n.layer)) for n in ins]
    # old node id -> new symbolic tensor (a multi-output call node carries _outputs_list)
    mapped: dict[int, Any] = {id(old): new for old, new in zip(ins, new_ins)}
    layers: dict[int, Layer] = {}
    for node in model._nodes:
        if id(node) in mapped:
            continue
        args = [mapped[id(p)] for p in node.inbound]
        if node.index is not None:
            mapped[id(node)] = args[0]._outputs_list[node.index]
            continue
        if id(node.layer) not in layers:
            layers[id(node.layer)] = fn(node.layer)
        arg, kw_tensors = node.split(args)
        out = call_symbolic(layers[id(node.layer)], arg, **node.kwargs, **kw_tensors)
        if isinstance(out, list):
            call = out[0].inbound[0]
            call._outputs_list = out
            out = call
        mapped[id(node)] = out
    outs = [mapped[id(o)] for o in model._outputs]
    return Functional(new_ins[0] if model._single_input else new_ins,
                      outs[0] if model._single_output else outs, name=model.name)


def model_from_config(config: dict[str, Any],
                      custom_objects: dict[str, Any] | None = None) -> Any:
    """A model from ``{"class_name": ..., "config": ...}`` (what ``to_json`` writes)."""
    from .saving import deserialize_layer

    return deserialize_layer(config)


def model_from_json(json_string: str, custom_objects: dict[str, Any] | None = None) -> Any:
    """Rebuild a model (architecture only, fresh weights) from :meth:`Model.to_json` text.

    Example:
        >>> twin = model_from_json(model.to_json())
    """
    if not isinstance(json_string, (str, bytes)):
        raise TypeError(f"model_from_json: expected JSON text. Received: "
                        f"{type(json_string).__name__}")
    try:
        spec = json.loads(json_string)
    except json.JSONDecodeError as e:
        raise ValueError(f"model_from_json: not valid JSON ({e})") from None
    return model_from_config(spec, custom_objects)
