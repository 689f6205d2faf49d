"""glassnet: a transparent, fast deep-learning library built from first principles on NumPy.

Example:
    >>> import glassnet as gn
    >>> x = gn.tensor(1.0, requires_grad=True)
    >>> g = (x + 3.0) * -3.0
    >>> g.backward(); x.grad
    array(-3., dtype=float32)
"""

from __future__ import annotations

import importlib
from typing import Any

from . import backend, ops
from ._version import __version__ as __version__  # noqa: PLC0414
from .autograd import enable_grad, is_grad_enabled, no_grad
from .backend import (
    asnumpy,
    debug,
    floatx,
    get_array_module,
    get_seed,
    gpu_available,
    set_floatx,
    set_seed,
)
from .functional import linear, log_softmax, logsumexp, one_hot, softmax
from .gradcheck import GradcheckError, gradcheck
from .graph import graph  # eager: a lazy import would rebind gn.graph to the module
from .ops import (
    abs,
    argmax,
    argmin,
    broadcast_to,
    clip,
    concat,
    concatenate,
    exp,
    expand_dims,
    flatten,
    log,
    matmul,
    maximum,
    mean,
    minimum,
    pad,
    permute,
    relu,
    reshape,
    sigmoid,
    sign,
    split,
    sqrt,
    squeeze,
    stack,
    std,
    swapaxes,
    tanh,
    transpose,
    var,
    where,
)
from .ops import max as max  # noqa: PLC0414
from .ops import min as min  # noqa: PLC0414
from .ops import sum as sum  # noqa: PLC0414
from .tensor import Tensor, tensor

# Submodules load on first use (PEP 562): `import glassnet` stays fast and needs only NumPy.
_LAZY = {
    "layers", "models", "activations", "losses", "metrics", "optimizers", "callbacks",
    "initializers", "regularizers", "datasets", "utils", "classic", "plot", "functional",
    "schedules", "random", "saving", "distribution", "wrappers", "interop", "config",
    "constraints", "tree", "dtype_policies", "mixed_precision",
}


# Keras 3's top-level names, so that `import glassnet as keras` runs Keras scripts.
_LAZY_NAMES = {"Input": "layers", "Sequential": "models", "Model": "models",
               "Layer": "layers", "Loss": "losses", "Metric": "metrics",
               "Optimizer": "optimizers", "Regularizer": "regularizers",
               "Initializer": "initializers", "KerasTensor": "models",
               "Variable": "variables", "InputSpec": "layers",
               "DTypePolicy": "dtype_policies", "FloatDTypePolicy": "dtype_policies",
               "name_scope": "_scopes", "device": "_scopes"}
_RENAMED = {"KerasTensor": "SymbolicTensor"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        mod = importlib.import_module(f".{name}", __name__)
        globals()[name] = mod
        return mod
    if name in _LAZY_NAMES:
        mod = importlib.import_module(f".{_LAZY_NAMES[name]}", __name__)
        obj = getattr(mod, _RENAMED.get(name, name))
        globals()[name] = obj
        return obj
    raise AttributeError(f"module 'glassnet' has no attribute {name!r}")


def version() -> str:
    """glassnet's version string, as ``keras.version()`` gives Keras's.

    Example:
        >>> import glassnet as gn; gn.version() == gn.__version__
        True
    """
    return __version__


def __dir__() -> list[str]:
    """Public names only (tab completion): Keras's top-level names, the submodules, the
    tensor API; no import machinery or private helpers."""
    public = {n for n in globals() if not n.startswith("_")} - {"importlib", "annotations"}
    return sorted(public | _LAZY | set(_LAZY_NAMES) | {"__version__"})


__all__ = [
    "Tensor", "tensor", "no_grad", "enable_grad", "is_grad_enabled", "gradcheck",
    "GradcheckError", "set_seed", "get_seed", "debug", "floatx", "set_floatx",
    "get_array_module", "asnumpy", "gpu_available", "graph", "backend", "ops", "version",
]
