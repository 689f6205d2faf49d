"""Library-wide settings, under Keras 3's names (``keras.config``).

The float type and the fuzz factor the losses clip with, the image layout, where progress
messages go, and caps on training length for quick debugging runs. Each setting is one
module-level value here, read where it applies.

Example:
    >>> import glassnet as gn
    >>> gn.config.epsilon()
    1e-07
    >>> gn.config.image_data_format()
    'channels_last'
"""

from __future__ import annotations

import logging
import math
import sys
import warnings
from typing import Any

import numpy as np

from . import backend as _backend
from .dtype_policies import DTypePolicy, _check_name  # one class: config's is this one

__all__ = [
    "backend", "set_backend", "floatx", "set_floatx", "epsilon", "set_epsilon",
    "image_data_format", "set_image_data_format", "dtype_policy", "set_dtype_policy",
    "enable_interactive_logging", "disable_interactive_logging",
    "is_interactive_logging_enabled", "enable_unsafe_deserialization", "max_epochs",
    "set_max_epochs", "max_steps_per_epoch", "set_max_steps_per_epoch",
    "enable_flash_attention", "disable_flash_attention", "is_flash_attention_enabled",
    "enable_traceback_filtering", "disable_traceback_filtering",
    "is_traceback_filtering_enabled", "is_nnx_enabled", "print_msg",
]

_epsilon = 1e-7
_interactive = True
_max_epochs: int | None = None
_max_steps: int | None = None
_flash: bool | None = None
_traceback_filtering = True
_unsafe_warned = False


# ------------------------------------------------------------------ backend and dtypes
def backend() -> str:
    """The name of the backend running the computations: ``"glassnet"`` (NumPy, or CuPy on
    a GPU). A script that branches on ``"tensorflow"``/``"jax"``/``"torch"`` takes none of
    those branches.

    Example:
        >>> backend()
        'glassnet'
    """
    return "glassnet"


def set_backend(name: str) -> None:
    """Keras's backend switch. glassnet is its own backend, so only ``"glassnet"`` is
    accepted (and changes nothing); another name raises a ``ValueError``."""
    if name != "glassnet":
        raise ValueError("set_backend: glassnet computes with its own backend (NumPy, CuPy on "
                         f"a GPU) and cannot switch to another. Received: {name!r}")


def floatx() -> str:
    """The default float type's name, ``"float32"`` unless :func:`set_floatx` changed it.

    Example:
        >>> floatx()
        'float32'
    """
    return _backend.floatx().name


def set_floatx(value: Any) -> None:
    """Set the default float type: ``"float32"`` or ``"float64"``."""
    _backend.set_floatx(value)


def dtype_policy() -> DTypePolicy:
    """The global dtype policy: :func:`floatx` for weights and computations, as a
    :class:`glassnet.dtype_policies.DTypePolicy`.

    Example:
        >>> dtype_policy()
        <DTypePolicy "float32">
    """
    return DTypePolicy(floatx())


def set_dtype_policy(policy: str | DTypePolicy) -> None:
    """Set the global dtype policy: ``"float32"`` or ``"float64"`` or a
    :class:`~glassnet.dtype_policies.DTypePolicy` of them (the same as :func:`set_floatx`).
    Mixed precision (``"mixed_float16"``, ``"mixed_bfloat16"``), float16/bfloat16 and
    quantized policies are refused with a ``ValueError``: NumPy has no fast half-precision
    matrix product, so glassnet computes in float32 or float64.

    Example:
        >>> set_dtype_policy("float64"); floatx()
        'float64'
        >>> set_dtype_policy(DTypePolicy("float32"))
    """
    if isinstance(policy, DTypePolicy):
        name = policy.variable_dtype  # a DTypePolicyMap: its default policy's
    elif isinstance(policy, str):
        name = _check_name(policy, "set_dtype_policy", "policy")
    else:
        raise ValueError("set_dtype_policy: expected the name of a policy ('float32' or "
                         f"'float64') or a DTypePolicy. Received: policy={policy!r} (of type "
                         f"{type(policy).__name__})")
    set_floatx(name)


def epsilon() -> float:
    """The fuzz factor: probabilities are clipped to ``[epsilon, 1 - epsilon]`` in the
    cross-entropies, and a standard deviation is floored at it (``Normalization``, the
    curve metrics). ``1e-7`` unless :func:`set_epsilon` changed it.

    Example:
        >>> epsilon()
        1e-07
    """
    return _epsilon


def set_epsilon(value: float) -> None:
    """Set the fuzz factor (a positive number below 0.5); see :func:`epsilon`.

    Example:
        >>> set_epsilon(1e-5); epsilon()
        1e-05
        >>> set_epsilon(1e-7)
    """
    global _epsilon
    v = float(value) if isinstance(value, (int, float, np.number)) else math.nan
    if not 0 < v < 0.5:
        raise ValueError(f"set_epsilon: the fuzz factor must be a number in (0, 0.5). "
                         f"Received: {value!r}")
    _epsilon = v


def image_data_format() -> str:
    """The image layout: ``"channels_last"``, (batch, height, width, channels).

    Example:
        >>> image_data_format()
        'channels_last'
    """
    return "channels_last"


def set_image_data_format(data_format: str) -> None:
    """Keras's image-layout switch. glassnet's image layers work channels-last, so
    ``"channels_first"`` raises a ``ValueError`` (transpose the data once instead:
    ``x.transpose(0, 2, 3, 1)``)."""
    if data_format == "channels_last":
        return
    if data_format == "channels_first":
        raise ValueError("set_image_data_format: glassnet's image layers take channels-last "
                         "data (batch, height, width, channels); transpose channels-first "
                         "arrays once, e.g. x.transpose(0, 2, 3, 1). Received: "
                         "'channels_first'")
    raise ValueError("set_image_data_format: data_format must be 'channels_last' or "
                     f"'channels_first'. Received: {data_format!r}")


def is_nnx_enabled() -> bool:
    """JAX's NNX integration: never, in glassnet."""
    return False


# ------------------------------------------------------------------ messages
def enable_interactive_logging() -> None:
    """Progress bars and messages (fit, evaluate, callbacks, ``summary``) go to standard
    output (the default)."""
    global _interactive
    _interactive = True


def disable_interactive_logging() -> None:
    """Progress bars and messages go to the ``"glassnet"`` logger (Python's ``logging``, at
    INFO) instead of standard output, as Keras sends them to absl logging: for jobs whose
    output is a log file."""
    global _interactive
    _interactive = False


def is_interactive_logging_enabled() -> bool:
    """Whether messages go to standard output (see :func:`disable_interactive_logging`)."""
    return _interactive


def print_msg(message: str, line_break: bool = True) -> None:
    """Show one message the way the settings say: on standard output, or to the
    ``"glassnet"`` logger when interactive logging is off. ``line_break=False`` writes no
    newline (a progress bar redrawn in place; the logger gets it as one record)."""
    if _interactive:
        sys.stdout.write(message + ("\n" if line_break else ""))
        sys.stdout.flush()
    else:
        logging.getLogger("glassnet").info(message.strip("\r\n"))


def enable_unsafe_deserialization() -> None:
    """Accepted for Keras scripts, and changes nothing: glassnet never runs code from a
    model file (no bytecode, no pickles, no imports named by the file), safe or not. A
    ``Lambda`` layer's function is found by name, from ``custom_objects`` or functions
    registered with ``register_keras_serializable``. Warns once."""
    global _unsafe_warned
    if not _unsafe_warned:
        _unsafe_warned = True
        warnings.warn("enable_unsafe_deserialization: glassnet never runs code from model "
                      "files; Lambda functions load by name (custom_objects or "
                      "register_keras_serializable)", stacklevel=2)


# ------------------------------------------------------------------ debugging caps
def _cap(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{what}: expected a positive int or None. Received: {value!r}")
    return int(value)


def max_epochs() -> int | None:
    """The cap on ``fit``'s epochs (None: no cap); see :func:`set_max_epochs`."""
    return _max_epochs


def set_max_epochs(value: int | None) -> None:
    """Cap every ``fit`` at this many epochs (a quick run of a long script), with a
    warning where a call asks for more; None removes the cap.

    Example:
        >>> set_max_epochs(2); max_epochs()
        2
        >>> set_max_epochs(None)
    """
    global _max_epochs
    _max_epochs = _cap(value, "set_max_epochs")


def max_steps_per_epoch() -> int | None:
    """The cap on the batches of each epoch of ``fit``, and of ``evaluate`` and ``predict``
    (None: no cap); see :func:`set_max_steps_per_epoch`."""
    return _max_steps


def set_max_steps_per_epoch(value: int | None) -> None:
    """Cap every epoch of ``fit``, and every ``evaluate`` and ``predict``, at this many
    batches, with a warning where a call would run more; None removes the cap."""
    global _max_steps
    _max_steps = _cap(value, "set_max_steps_per_epoch")


# ------------------------------------------------------------------ accepted switches
def enable_flash_attention() -> None:
    """Keras's switch for fused attention kernels. glassnet's attention is one plain
    softmax path on every device, so this records the choice and changes no result."""
    global _flash
    _flash = True


def disable_flash_attention() -> None:
    """See :func:`enable_flash_attention`."""
    global _flash
    _flash = False


def is_flash_attention_enabled() -> bool | None:
    """The choice recorded by :func:`enable_flash_attention` (None: never set)."""
    return _flash


def enable_traceback_filtering() -> None:
    """Keras hides its own frames in tracebacks; glassnet shows them all (its errors name
    the layer and the shapes instead), so this records the choice only."""
    global _traceback_filtering
    _traceback_filtering = True


def disable_traceback_filtering() -> None:
    """See :func:`enable_traceback_filtering`."""
    global _traceback_filtering
    _traceback_filtering = False


def is_traceback_filtering_enabled() -> bool:
    """The choice recorded by :func:`enable_traceback_filtering`."""
    return _traceback_filtering


def _limit_epochs(epochs: int) -> int:
    """``fit``'s epochs under the :func:`set_max_epochs` cap, warning where it cuts."""
    if _max_epochs is not None and _max_epochs < epochs:
        warnings.warn(f"Limiting epochs to {_max_epochs}", stacklevel=3)
        return _max_epochs
    return epochs


def _limit_steps(steps: int | None) -> int | None:
    """A pass's batches (None: as many as a source of unknown length gives) under the
    :func:`set_max_steps_per_epoch` cap, warning where it cuts, as Keras's epoch iterator
    does for fit, evaluate and predict."""
    if _max_steps is not None and (steps is None or _max_steps < steps):
        warnings.warn(f"Limiting steps_per_epoch to {_max_steps}", stacklevel=3)
        return _max_steps
    return steps
