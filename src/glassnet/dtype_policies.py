"""Layer dtype policies under Keras 3's names (``keras.dtype_policies``).

A policy names the dtype a layer keeps its weights in (``variable_dtype``) and computes in
(``compute_dtype``). glassnet computes in float32 or float64 and the two are always the
same: ``"float32"`` and ``"float64"`` are the policies there are. Mixed precision
(``"mixed_float16"``, ``"mixed_bfloat16"``), half-precision policies (``"float16"``,
``"bfloat16"``) and quantized ones (``"int8_from_float32"``, ...) raise a ``ValueError``
when made: NumPy has no fast half-precision matrix product, and glassnet has no quantized
kernels.

Example:
    >>> import glassnet as gn
    >>> p = gn.dtype_policies.get("float64")
    >>> p, p.compute_dtype, p.variable_dtype
    (<DTypePolicy "float64">, 'float64', 'float64')
    >>> gn.dtype_policies.serialize(p)["config"]
    {'name': 'float64'}
"""

from __future__ import annotations

import re
from collections.abc import Iterator, MutableMapping
from typing import Any

import numpy as np

from . import backend

__all__ = ["DTypePolicy", "FloatDTypePolicy", "DTypePolicyMap", "get", "serialize",
           "deserialize"]

QUANTIZATION_MODES = ("int8", "float8", "int4", "gptq", "awq")
_SUPPORTED = ("float32", "float64")
_HALF = ("float16", "bfloat16", "mixed_float16", "mixed_bfloat16", "half")
_QUANTIZED_CLASSES = ("QuantizedDTypePolicy", "QuantizedFloat8DTypePolicy",
                      "Int4DTypePolicy", "GPTQDTypePolicy", "AWQDTypePolicy")


def _check_name(name: Any, where: str, arg: str) -> str:
    """``name`` when it is a policy glassnet runs, else the error that says why not."""
    if isinstance(name, str) and name in _SUPPORTED:
        return name
    if isinstance(name, str) and (name in _HALF or name.startswith(QUANTIZATION_MODES)):
        why = ("no quantization: glassnet has no quantized kernels"
               if name.startswith(QUANTIZATION_MODES) else
               "no mixed precision or float16/bfloat16: NumPy has no fast half-precision "
               "matrix product")
        raise ValueError(f"{where}: glassnet computes in 'float32' or 'float64' ({why}). "
                         f"Received: {arg}={name!r}")
    raise ValueError(f"{where}: the dtype policies glassnet supports are 'float32' and "
                     f"'float64'. Received: {arg}={name!r}")


class DTypePolicy:
    """A layer's dtype policy: the dtype of its weights and of its computations.

    Pass one (or its name) as a layer's ``dtype=``, or set the global one with
    ``gn.config.set_dtype_policy``. In glassnet both dtypes are the policy's name.

    Args:
        name: ``"float32"`` or ``"float64"``; None: the global policy
            (``gn.config.dtype_policy()``, i.e. ``floatx()``).

    Raises:
        TypeError: ``name`` is not a string.
        ValueError: any other name; mixed precision, float16/bfloat16 and quantized
            policies are not available in glassnet.

    Example:
        >>> DTypePolicy("float64").compute_dtype
        'float64'
        >>> DTypePolicy("mixed_float16")
        Traceback (most recent call last):
        ValueError: DTypePolicy: glassnet computes in 'float32' or 'float64' (no mixed ...
    """

    def __init__(self, name: str | None = None) -> None:
        if name is None:
            name = backend.floatx().name
        if not isinstance(name, str):
            raise TypeError("DTypePolicy: 'name' must be a string, such as 'float32'. "
                            f"Received: name={name!r} (of type {type(name).__name__})")
        self._name = _check_name(name, "DTypePolicy", "name")

    @property
    def name(self) -> str:
        """The policy's name, ``"float32"`` or ``"float64"``."""
        return self._name

    @property
    def compute_dtype(self) -> str:
        """The dtype the layer computes in (and returns)."""
        return self._name

    @property
    def variable_dtype(self) -> str:
        """The dtype the layer's weights are made in."""
        return self._name

    @property
    def quantization_mode(self) -> None:
        """Keras's quantization mode: always None (glassnet has no quantized policies)."""
        return None

    def get_config(self) -> dict[str, Any]:
        """``{"name": ...}``, the constructor's argument."""
        return {"name": self._name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> DTypePolicy:
        """The policy :meth:`get_config` describes."""
        return cls(**config)

    def __repr__(self) -> str:
        return f'<DTypePolicy "{self._name}">'

    def __eq__(self, other: object) -> bool:
        # as Keras: DTypePolicy and its alias FloatDTypePolicy are equal by name
        if type(other) not in (DTypePolicy, FloatDTypePolicy) or type(self) not in (
                DTypePolicy, FloatDTypePolicy):
            return False
        return self._name == other._name  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._name)


class FloatDTypePolicy(DTypePolicy):
    """Keras's alias of :class:`DTypePolicy` (its name in Keras 3.0 to 3.3).

    Example:
        >>> FloatDTypePolicy("float32") == DTypePolicy("float32")
        True
    """


class DTypePolicyMap(DTypePolicy, MutableMapping):
    """A dict from layer paths (or regular expressions over them) to dtype policies, as
    Keras uses in a model's config; a path that matches no key gets ``default_policy``.

    A layer given a ``DTypePolicyMap`` as ``dtype=`` takes the policy for its own name.

    Args:
        default_policy: the policy for paths that match no key (anything :func:`get`
            takes; None: the global policy when the map is made).
        policy_map: an optional dict of path (or pattern) -> policy.

    Example:
        >>> m = DTypePolicyMap(default_policy="float32")
        >>> m["encoder/.*"] = "float64"
        >>> m["encoder/dense"].name, m["decoder/dense"].name, m.name
        ('float64', 'float32', 'map_float32')
    """

    def __init__(self, default_policy: Any = None,
                 policy_map: dict[str, Any] | None = None) -> None:
        if isinstance(default_policy, DTypePolicyMap):
            raise ValueError("DTypePolicyMap: `default_policy` cannot be a DTypePolicyMap. "
                             f"Received: default_policy={default_policy!r}")
        if policy_map is not None and not isinstance(policy_map, dict):
            raise TypeError("DTypePolicyMap: if specified, `policy_map` must be a dict. "
                            f"Received: policy_map={policy_map!r} of type "
                            f"{type(policy_map).__name__}")
        self._default_policy_arg = default_policy
        self._default_policy = get(default_policy)
        self._policy_map: dict[str, DTypePolicy] = {}
        for key, policy in (policy_map or {}).items():
            self[key] = policy

    @property
    def name(self) -> str:
        """``"map_"`` and the default policy's name."""
        return f"map_{self._default_policy.name}"

    @property
    def default_policy(self) -> DTypePolicy:
        """The policy of paths that match no key."""
        return self._default_policy

    @property
    def compute_dtype(self) -> str:
        """The default policy's compute dtype."""
        return self._default_policy.compute_dtype

    @property
    def variable_dtype(self) -> str:
        """The default policy's variable dtype."""
        return self._default_policy.variable_dtype

    def __getitem__(self, key: str) -> DTypePolicy:
        """The policy for ``key``: an exact key first, else the one key that matches it as
        a regular expression (``re.fullmatch``), else the default policy."""
        if key in self._policy_map:
            return self._policy_map[key]
        matching = [p for p in self._policy_map if re.fullmatch(p, key)]
        if len(matching) > 1:
            raise ValueError(f"DTypePolicyMap: path {key!r} matches multiple dtype policy "
                             f"specification keys: {matching}. Make sure each path matches "
                             "at most one key")
        return self._policy_map[matching[0]] if matching else self._default_policy

    def __setitem__(self, key: str, policy: Any) -> None:
        if key in self._policy_map:
            raise ValueError(f"DTypePolicyMap: {key!r} already exists in the map with value "
                             f"{self._policy_map[key]!r}; keys must not repeat")
        self._policy_map[key] = get(policy)

    def __delitem__(self, key: str) -> None:
        del self._policy_map[key]

    def __contains__(self, key: object) -> bool:
        return key in self._policy_map

    def __len__(self) -> int:
        return len(self._policy_map)

    def __iter__(self) -> Iterator[str]:
        return iter(self._policy_map)

    def __eq__(self, other: object) -> bool:
        return (type(other) is DTypePolicyMap
                and self._default_policy == other._default_policy
                and self._policy_map == other._policy_map)

    __hash__ = None  # type: ignore[assignment]  # mutable, as a dict

    def get_config(self) -> dict[str, Any]:
        """``default_policy`` as given and ``policy_map`` with each policy serialized."""
        default = self._default_policy_arg
        return {"default_policy": serialize(default) if isinstance(default, DTypePolicy)
                else default,
                "policy_map": {k: serialize(v) for k, v in self._policy_map.items()}}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> DTypePolicyMap:
        """The map :meth:`get_config` (or Keras's) describes; its policies may be dicts."""
        return cls(**config)

    def __repr__(self) -> str:
        mapping = [(k, v.name) for k, v in self._policy_map.items()]
        return (f"<DTypePolicyMap default_policy={self._default_policy.name}, "
                f"mapping={mapping}>")


_CLASSES: dict[str, type[DTypePolicy]] = {
    "DTypePolicy": DTypePolicy, "FloatDTypePolicy": FloatDTypePolicy,
    "DTypePolicyMap": DTypePolicyMap,
}


def serialize(dtype_policy: DTypePolicy) -> dict[str, Any]:
    """A policy as Keras 3 writes it: ``{"module", "class_name", "config",
    "registered_name"}`` (JSON-able; Keras reads it back, and so does :func:`deserialize`).

    Args:
        dtype_policy: a :class:`DTypePolicy` (or :class:`DTypePolicyMap`).

    Example:
        >>> serialize(DTypePolicy("float32"))
        {'module': 'keras', 'class_name': 'DTypePolicy', 'config': {'name': 'float32'}, 'registered_name': None}
    """  # noqa: E501 - one doctest output line
    if not isinstance(dtype_policy, DTypePolicy):
        raise TypeError("serialize: expected a DTypePolicy. Received: "
                        f"{dtype_policy!r} (of type {type(dtype_policy).__name__})")
    name = type(dtype_policy).__name__
    module = "keras.dtype_policies" if isinstance(dtype_policy, DTypePolicyMap) else "keras"
    return {"module": module, "class_name": name if name in _CLASSES else "DTypePolicy",
            "config": dtype_policy.get_config(), "registered_name": None}


def deserialize(config: dict[str, Any] | str,
                custom_objects: dict[str, Any] | None = None) -> DTypePolicy:
    """The policy a :func:`serialize` dict (or Keras's) describes. Nothing named in it is
    imported: only the classes here, or those given in ``custom_objects``, are built.

    Args:
        config: ``{"class_name": ..., "config": {...}}`` (or a policy name).
        custom_objects: optional ``{class_name: class}`` for policies of your own.

    Example:
        >>> deserialize({"class_name": "DTypePolicy", "config": {"name": "float64"}})
        <DTypePolicy "float64">
    """
    if isinstance(config, str):
        return get(config)
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError("deserialize: expected a dict with 'class_name' and 'config' (what "
                         f"serialize returns). Received: {config!r}")
    name = config["class_name"]
    cls = (custom_objects or {}).get(name) or _CLASSES.get(name)
    if cls is None:
        if name in _QUANTIZED_CLASSES:
            raise ValueError(f"deserialize: {name} is a quantized dtype policy; glassnet "
                             "computes in 'float32' or 'float64' (no quantization). "
                             f"Received: class_name={name!r}")
        raise ValueError(f"deserialize: unknown dtype policy class; expected one of "
                         f"{sorted(_CLASSES)}. Received: class_name={name!r}")
    return cls.from_config(dict(config.get("config") or {}))


def get(identifier: Any) -> DTypePolicy:
    """A dtype policy from a name, a :func:`serialize` dict, a policy, a dtype or None.

    Args:
        identifier: None (the global policy), ``"float32"``/``"float64"``, a NumPy dtype
            of those, a config dict, or a :class:`DTypePolicy` (returned as is).

    Raises:
        ValueError: anything else, mixed precision and quantized policies included.

    Example:
        >>> get(None).name == gn.config.floatx()
        True
        >>> get(np.float64)
        <DTypePolicy "float64">
    """
    if identifier is None:
        return DTypePolicy(backend.floatx().name)
    if isinstance(identifier, DTypePolicy):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        _check_name(identifier, "dtype_policies.get", "identifier")
        return DTypePolicy(identifier)
    try:
        name = np.dtype(identifier).name
    except TypeError:
        name = None
    if name is None:
        raise ValueError("dtype_policies.get: cannot interpret the `dtype` argument; expected "
                         "'float32', 'float64', a DTypePolicy or its config dict. Received: "
                         f"{identifier!r}")
    _check_name(name, "dtype_policies.get", "identifier")
    return DTypePolicy(name)
