"""Keras 3's ``keras.saving`` namespace: load/save plus the registry of custom objects.

``register_keras_serializable`` records a class or function the user defines *in code* under
a name (``"package>Name"``), so a model file can name it and ``load_model`` can find it again
without the file ever naming code to import: only objects registered (or passed in
``custom_objects``) in the running program can be resolved.

Example:
    >>> @gn.saving.register_keras_serializable(package="my")
    ... def my_loss(y_true, y_pred): ...
    >>> gn.saving.get_registered_name(my_loss)
    'my>my_loss'
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import os

    from .models.model import Model

__all__ = ["register_keras_serializable", "get_registered_object", "get_registered_name",
           "get_custom_objects", "custom_object_scope", "CustomObjectScope", "load_model",
           "save_model", "object_registration_scope"]

_GLOBAL_CUSTOM_OBJECTS: dict[str, object] = {}
_GLOBAL_CUSTOM_NAMES: dict[int, str] = {}
_SCOPES: list[dict] = []
_T = TypeVar("_T")


def register_keras_serializable(package: str = "Custom",
                                name: str | None = None) -> Callable[[_T], _T]:
    """Decorator: register a class or function as ``"package>name"`` (name defaults to
    its ``__name__``), as Keras does. Registering the same name twice raises.

    Example:
        >>> @register_keras_serializable(package="blocks")
        ... class Scale(gn.layers.Layer): ...
    """
    if not isinstance(package, str) or ">" in package:
        raise ValueError(f"register_keras_serializable: package must be a string without '>'. "
                         f"Received: {package!r}")

    def decorator(obj: _T) -> _T:
        key = f"{package}>{name or getattr(obj, '__name__', None)}"
        if key.endswith(">None"):
            raise ValueError(f"register_keras_serializable: {obj!r} has no __name__; pass "
                             f"name=")
        if key in _GLOBAL_CUSTOM_OBJECTS and _GLOBAL_CUSTOM_OBJECTS[key] is not obj:
            raise ValueError(f"{key} has already been registered to "
                             f"{_GLOBAL_CUSTOM_OBJECTS[key]!r}")
        if isinstance(obj, type) and "get_config" not in dir(obj):
            raise ValueError(f"register_keras_serializable: class {obj.__name__} needs a "
                             f"get_config() method to be serializable")
        _GLOBAL_CUSTOM_OBJECTS[key] = obj
        _GLOBAL_CUSTOM_NAMES[id(obj)] = key
        return obj

    return decorator


def get_registered_name(obj: Any) -> str:
    """The name ``obj`` was registered under, else its ``__name__``."""
    return _GLOBAL_CUSTOM_NAMES.get(id(obj), getattr(obj, "__name__", type(obj).__name__))


def _registered_key(obj: Any) -> str | None:
    """The ``"package>name"`` ``obj`` was registered under, or None (not registered)."""
    key = _GLOBAL_CUSTOM_NAMES.get(id(obj))
    return key if key is not None and _GLOBAL_CUSTOM_OBJECTS.get(key) is obj else None


def get_custom_objects() -> dict:
    """The live dict of registered objects (``"package>name" -> object``), as Keras's."""
    return _GLOBAL_CUSTOM_OBJECTS


def get_registered_object(name: str, custom_objects: dict | None = None,
                          module_objects: dict | None = None) -> Any:
    """Look ``name`` up in ``custom_objects``, then the active scopes, then the registry
    (full ``"package>name"`` or, when unique, the bare name); None when unknown."""
    for table in [custom_objects or {}, *reversed(_SCOPES), _GLOBAL_CUSTOM_OBJECTS,
                  module_objects or {}]:
        if name in table:
            return table[name]
    bare = [v for k, v in _GLOBAL_CUSTOM_OBJECTS.items() if k.split(">", 1)[-1] == name]
    return bare[0] if len(bare) == 1 else None


@contextmanager
def custom_object_scope(custom_objects: dict) -> Iterator[dict]:
    """Within the ``with`` block, ``custom_objects`` resolve by name (Keras's scope)."""
    _SCOPES.append(dict(custom_objects or {}))
    try:
        yield _SCOPES[-1]
    finally:
        _SCOPES.pop()


CustomObjectScope = custom_object_scope
object_registration_scope = custom_object_scope


def load_model(filepath: str | os.PathLike[str], custom_objects: dict | None = None,
               compile: bool = True, safe_mode: bool = True) -> Model:
    """``keras.saving.load_model``: same as :func:`glassnet.models.load_model`."""
    import inspect

    from .models import load_model as _load

    kwargs: dict[str, Any] = {"compile": compile}
    if custom_objects and "custom_objects" in inspect.signature(_load).parameters:
        kwargs["custom_objects"] = custom_objects
    with custom_object_scope(custom_objects or {}):
        return _load(filepath, **kwargs)


def save_model(model: Model, filepath: str | os.PathLike[str], overwrite: bool = True,
               **kwargs: Any) -> None:
    """``keras.saving.save_model``: same as ``model.save(filepath)``."""
    model.save(filepath, overwrite=overwrite, **kwargs)


def _deserialize_layer_config(config: dict, custom_objects: dict | None = None) -> Any:
    """The layer of a ``{"class_name", "config"}`` dict, in Keras 3's format
    (``keras.layers.serialize``) or glassnet's; what :func:`glassnet.layers.deserialize`
    runs (here, as it reads model-file machinery that the layers package does not import).

    Example:
        >>> _deserialize_layer_config({"class_name": "Dense", "config": {"units": 2}}).units
        2
    """
    from .interop._keras_config import build_layer
    from .models.saving import deserialize_layer

    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError("deserialize: expected a dict with class_name and config. "
                         f"Received: {type(config).__name__}")
    with custom_object_scope(dict(custom_objects or {})):
        if "module" in config or "registered_name" in config:
            return build_layer(config, "deserialize")
        return deserialize_layer(config)
