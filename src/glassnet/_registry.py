"""``Registry``: the one ``get`` / ``serialize`` / ``deserialize`` the families share.

Each family module (activations, losses, metrics, optimizers, initializers, regularizers,
constraints, schedules) keeps its name table and hands it to a ``Registry``; its public ``get`` and
``serialize`` are thin calls into it. What an identifier may be:

- a name: looked up lowercased in the table, then as a class name (``"mse"``, ``"Adam"``);
- ``{"class_name": ..., "config": {...}}``: the class by class name, then by table name,
  built from the config;
- ``{"registered_name": ...}`` (no class_name): the user's own object, found only among the
  objects registered or passed in code (:func:`glassnet.saving.get_registered_object`);
  nothing named in a config is ever imported;
- an instance of the family's base class (returned as-is), or a subclass (instantiated);
- a function of the family (``losses.mse``) mapped to its class; another callable, wrapped
  the family's way (or refused).

Unknown names raise a ``ValueError`` that lists the closest known names.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["Registry", "unknown", "registered"]


def unknown(kind: str, name: Any, table: Iterable[str]) -> ValueError:
    """The error for a name no table holds: the closest known names, then all of them.

    Example:
        >>> str(unknown("loss", "mse2", ["mse", "mae"]))[:36]
        "Unknown loss 'mse2'. Did you mean: m"
    """
    close = difflib.get_close_matches(str(name), list(table), n=3, cutoff=0.5)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    return ValueError(
        f"Unknown {kind} {name!r}.{hint} Known: {', '.join(sorted(table))}. Received: {name!r}"
    )


def registered(identifier: Mapping, family: str) -> Any:
    """A user's object named in a model file (``{"registered_name": ...}``), from the objects
    registered or passed in code (``custom_objects``); never imported.

    Example:
        >>> with gn.saving.custom_object_scope({"my>loss": len}):
        ...     registered({"registered_name": "my>loss"}, "loss")
        <built-in function len>
    """
    from .saving import get_registered_object

    name = identifier.get("registered_name")
    obj = get_registered_object(str(name))
    if obj is None:
        raise ValueError(f"Unknown {family} {name!r}: it is the user's own, so pass it in "
                         f"code, e.g. load_model(path, custom_objects={{{name!r}: ...}}) "
                         "or @keras.saving.register_keras_serializable()")
    return obj


def _build(entry: Any, config: dict) -> Any:
    return entry(**config)


class Registry:
    """Resolve and serialize one family's objects from its name tables.

    Args:
        family: the singular noun in messages (``"loss"``).
        table: lowercase name -> class (or, for activations, function). Kept by reference:
            names added to it later are found too.
        by_class: class name -> class (case-sensitive); kept by reference.
        base: the family's base class: instances are returned as-is, subclasses
            instantiated, and only instances whose class is in ``by_class`` serialize.
        fn_to_class: the family's functions -> their classes (``losses.mse`` -> MSE).
        wrap: what another callable becomes (``None``: it is refused).
        default: what ``None`` resolves to, a zero-argument callable (``None``: refused).
        build: ``build(entry, config)`` makes an object from a table entry (default
            ``entry(**config)``).
        strings: whether names are accepted (schedules take config dicts only).
        keep_names: ``serialize`` returns a (checked) name as written, not its config.
        refusal: added to the "can be serialized" error.

    Example:
        >>> from glassnet.losses import Loss, MeanSquaredError as MSE
        >>> reg = Registry("loss", {"mse": MSE}, {"MeanSquaredError": MSE}, Loss)
        >>> reg.serialize("MSE")["class_name"]
        'MeanSquaredError'
        >>> reg.get({"class_name": "mse", "config": {"reduction": "sum"}}).reduction
        'sum'
    """

    def __init__(self, family: str, table: Mapping[str, Any],
                 by_class: Mapping[str, type] | None, base: type | None, *,
                 fn_to_class: Mapping[Any, type] | None = None,
                 wrap: Callable[[Any], Any] | None = None,
                 default: Callable[[], Any] | None = None,
                 build: Callable[[Any, dict], Any] = _build, strings: bool = True,
                 keep_names: bool = False, expected: str = "a name, config dict or instance",
                 refusal: str = "") -> None:
        self.family, self.table, self.base = family, table, base
        self.by_class: Mapping[str, type] = by_class if by_class is not None else {}
        self.fn_to_class: Mapping[Any, type] = fn_to_class if fn_to_class is not None else {}
        self.wrap, self.default, self.build = wrap, default, build
        self.strings, self.keep_names = strings, keep_names
        self.expected, self.refusal = expected, refusal

    def _function_class(self, obj: Any) -> type | None:
        try:
            return self.fn_to_class.get(obj)
        except TypeError:  # an unhashable callable is no function of the family
            return None

    def get(self, identifier: Any) -> Any:
        """The object ``identifier`` names (see the module docstring for what it may be)."""
        if identifier is None and self.default is not None:
            return self.default()
        if self.base is not None and isinstance(identifier, self.base):
            return identifier
        if isinstance(identifier, str) and self.strings:
            entry = self.table.get(identifier.lower()) or self.by_class.get(identifier)
            if entry is None:
                raise unknown(self.family, identifier, self.table)
            return self.build(entry, {})
        if isinstance(identifier, dict):
            return self.deserialize(identifier)
        if (isinstance(identifier, type) and self.base is not None
                and issubclass(identifier, self.base)):
            return identifier()
        if callable(identifier):
            cls = self._function_class(identifier)
            if cls is not None:
                return cls()
            if self.wrap is not None:
                return self.wrap(identifier)
        raise TypeError(
            f"{self.family} must be {self.expected}. "
            f"Received: {type(identifier).__name__} {identifier!r}"
        )

    def deserialize(self, config: dict) -> Any:
        """The object a ``{"class_name", "config"}`` or ``{"registered_name"}`` dict names."""
        if "registered_name" in config and "class_name" not in config:
            return self.get(registered(config, self.family))
        if "class_name" not in config:
            raise ValueError(f"{self.family} config must have a 'class_name' key. "
                             f"Received: {config!r}")
        name = config["class_name"]
        entry = self.by_class.get(str(name)) or self.table.get(str(name).lower())
        if entry is None:
            raise unknown(self.family, name, self.table)
        return self.build(entry, dict(config.get("config") or {}))

    def serialize(self, obj: Any) -> Any:
        """``{"class_name", "config"}`` of a family object (a name stays a name where the
        family keeps names); anything else raises ``ValueError``."""
        if self.strings and (isinstance(obj, str) or self._function_class(obj) is not None):
            resolved = self.get(obj)
            if self.keep_names and isinstance(obj, str):
                return obj
            obj = resolved
        if (self.base is None or not isinstance(obj, self.base)
                or type(obj).__name__ not in self.by_class):
            plural = self.family + ("es" if self.family.endswith("s") else "s")
            raise ValueError(
                f"Only glassnet {plural} can be serialized{self.refusal}. Received: {obj!r}"
            )
        item: Any = obj
        return {"class_name": type(item).__name__, "config": item.get_config()}
