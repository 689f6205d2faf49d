"""Keras 3's dtype helpers (``keras.backend.result_type``, ``is_float_dtype``,
``is_int_dtype``): dtype names, and the type-promotion lattice Keras adopted from JAX, in
which an int array and a float32 one give float32 (NumPy gives float64) and Python's
``int``/``float`` are weak types that take the other operand's precision."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

_INTS = ("uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64")
# each type -> the types immediately above it ("int"/"float": Python's weak scalars)
_ABOVE: dict[str, tuple[str, ...]] = {
    "bool": ("int",),
    "uint8": ("int16", "uint16"), "uint16": ("int32", "uint32"),
    "uint32": ("int64", "uint64"), "uint64": ("float",),
    "int": ("uint8", "int8", "complex64"),
    "int8": ("int16",), "int16": ("int32",), "int32": ("int64",), "int64": ("float",),
    "float": ("bfloat16", "float16"), "bfloat16": ("float32",), "float16": ("float32",),
    "float32": ("float64", "complex64"), "float64": ("complex128",),
    "complex64": ("complex128",), "complex128": (),
}


def _upper_bounds() -> dict[str, frozenset[str]]:
    """Each type with every type at or above it."""
    out: dict[str, frozenset[str]] = {}

    def up(t: str) -> frozenset[str]:
        if t not in out:
            s = {t}
            for a in _ABOVE[t]:
                s |= up(a)
            out[t] = frozenset(s)
        return out[t]

    for t in _ABOVE:
        up(t)
    return out


_UB = _upper_bounds()


def standardize_dtype(dtype: Any) -> str:
    """A dtype's name as Keras spells it (``"float32"``); None is the default float type;
    Python's ``int``/``float``/``bool`` are int32/float32/bool, as on Keras's PyTorch backend.

    Example:
        >>> standardize_dtype(np.float64), standardize_dtype(int)
        ('float64', 'int32')
    """
    if dtype is None:
        from .backend import floatx

        return np.dtype(floatx()).name
    py = {int: "int32", float: "float32", bool: "bool", "int": "int32", "float": "float32"}
    if isinstance(dtype, (type, str)) and dtype in py:
        return py[dtype]
    if dtype == "bfloat16" or getattr(dtype, "name", None) == "bfloat16":
        return "bfloat16"
    try:
        return np.dtype(getattr(dtype, "name", dtype)).name
    except TypeError:
        raise ValueError(f"not a dtype: expected a dtype or its name ('float32', 'int8', "
                         f"...). Received: {dtype!r}") from None


def is_float_dtype(dtype: Any) -> bool:
    """Whether ``dtype`` is a floating-point type (bfloat16 included).

    Example:
        >>> is_float_dtype("float16"), is_float_dtype("int8")
        (True, False)
    """
    return standardize_dtype(dtype).startswith(("float", "bfloat"))


def is_int_dtype(dtype: Any) -> bool:
    """Whether ``dtype`` is a signed or unsigned integer type.

    Example:
        >>> is_int_dtype("uint8"), is_int_dtype("bool")
        (True, False)
    """
    return standardize_dtype(dtype).startswith(("int", "uint"))


@lru_cache(256)
def _least_upper_bound(*types: str) -> str:
    common = frozenset.intersection(*(_UB[t] for t in types))
    lub = (common & set(types)) or {c for c in common if common <= _UB[c]}
    if len(lub) != 1:
        raise ValueError(f"result_type: the dtypes {types} have no implicit promotion; cast "
                         "them explicitly")
    return next(iter(lub))


def result_type(*dtypes: Any) -> str:
    """The dtype Keras's type promotion gives for operands of ``dtypes`` (dtypes, their
    names, or Python's ``int``/``float``/``bool`` as weak types); no argument gives the
    default float type. Unlike Keras on PyTorch or JAX, 64-bit types stay 64-bit: NumPy
    computes in them.

    Example:
        >>> result_type("int32", "float32"), result_type("float16", float)
        ('float32', 'float16')
        >>> result_type("uint8", "int8")
        'int16'
    """
    from .backend import floatx

    if not dtypes:
        return np.dtype(floatx()).name
    names, weak = [], []
    for d in dtypes:
        w = d is int or d is float
        names.append(standardize_dtype(floatx() if d is None else d))
        weak.append(w)
    if len(set(names)) == 1 and not all(weak):
        return names[0]
    if all(weak):
        out, out_weak = _least_upper_bound(*sorted(set(names))), True
    else:
        nodes = {("float" if n.startswith(("float", "bfloat")) else "int") if w else n
                 for n, w in zip(names, weak)}
        out = _least_upper_bound(*sorted(nodes))
        out_weak = out in ("int", "float")
    if out_weak and out != "bool":  # a weak type takes the default float's precision
        bits = np.dtype(floatx()).name[-2:]
        out = {"int": f"int{bits}", "float": f"float{bits}"}.get(
            out, f"int{bits}" if out.startswith("int") else
            f"uint{bits}" if out.startswith("uint") else f"float{bits}")
    return out
