"""Subclassed models in Keras 3 ``.keras`` files: Keras's walk of a model's attributes
(the weight groups' paths), and a registered model class rebuilt from its entry.

Split from :mod:`glassnet.interop._keras_graph` (Sequential and functional models), which
calls :func:`build_subclassed` for any other model class.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..models.saving import ModelFileError
from ._keras_config import snake
from ._keras_graph import _check_input_shape, var_groups

if TYPE_CHECKING:
    from ..models import Model

__all__ = ["is_subclassed", "attr_groups", "build_subclassed"]


def is_subclassed(model: Any) -> bool:
    """A model of the program's own class (not Sequential, Functional or Autoencoder)."""
    return type(model).__name__ not in ("Sequential", "Functional", "Autoencoder")


def _natural(name: str) -> list:
    """Keras's natural sort key for attribute names (``dense2`` before ``dense10``)."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


_BASE_ATTRS: set[str] = set()


def _base_attrs() -> set[str]:
    """The attributes glassnet's own Layer and Model set up: not a program's sublayers."""
    if not _BASE_ATTRS:
        from ..layers.base import Layer
        from ..models.model import Model

        _BASE_ATTRS.update(vars(Layer()), vars(Model()))
    return _BASE_ATTRS


def attr_groups(obj: Any, prefix: str = "", seen: set[int] | None = None) -> list:
    """Keras's walk of a subclassed model (or a layer of the program's own): its own
    weights at ``<prefix>/vars``, then each attribute holding a layer, or a list or dict of
    layers (named ``<attribute>/<snake class name>[_n]``), by the attribute's name in
    natural order; each layer once, at the first path that reaches it."""
    from ..layers.base import LAYER_CLASSES, Layer

    seen = set() if seen is None else seen
    out = [(f"{prefix}/vars" if prefix else "vars", obj)]

    def child(ly: Any, path: str) -> list:
        if id(ly) in seen:
            return []
        seen.add(id(ly))
        own = LAYER_CLASSES.get(type(ly).__name__) is not type(ly) and (
            type(ly).__name__ not in ("Sequential", "Functional"))
        return attr_groups(ly, path, seen) if own else var_groups(ly, path)

    for name in sorted(vars(obj), key=_natural):
        if name.startswith("__") or name in _base_attrs():
            continue
        value = vars(obj)[name]
        path = f"{prefix}/{name}" if prefix else name
        if isinstance(value, Layer):
            out += child(value, path)
        elif isinstance(value, (list, tuple, dict)):
            used: dict[str, int] = {}
            for item in (value.values() if isinstance(value, dict) else value):
                if not isinstance(item, Layer):
                    continue
                base = snake(type(item).__name__)
                used[base] = used.get(base, -1) + 1
                out += child(item, f"{path}/{base}" if used[base] == 0
                             else f"{path}/{base}_{used[base]}")
    return out


def build_subclassed(spec: dict, where: str) -> tuple[Model, list]:
    """A model of the program's own class (registered, or in ``custom_objects``; nothing
    the file names is imported): built from its config, then called once on zeros of the
    recorded input shape to make its weights; its groups by Keras's attribute walk."""
    import numpy as np

    from ..autograd import no_grad
    from ..models.model import Model
    from ._keras_config import keras_to_glassnet

    g = keras_to_glassnet(spec, where)
    cls = g.get("own")
    if cls is None or not issubclass(cls, Model):
        raise ModelFileError(f"{where}: model class {spec.get('class_name')!r} is neither "
                             "Sequential, Functional nor a model class this program "
                             "registered (register_keras_serializable) or passed in "
                             "custom_objects")
    shape = (spec.get("build_config") or {}).get("input_shape")
    try:
        model = cls.from_config(dict(g["config"]))
        if shape is not None:
            _check_input_shape(shape, f"{where} build_config input_shape")
            with no_grad():
                model(np.zeros([1 if d is None else int(d) for d in shape], "float32"))
    except ModelFileError:
        raise
    except (ValueError, TypeError, KeyError, IndexError) as e:
        raise ModelFileError(f"{where}: glassnet cannot build {type(e).__name__}: {e}"
                             ) from None
    return model, attr_groups(model)
