"""Keras 3's legacy ``keras.mixed_precision`` names, for scripts that still use them.

glassnet has no mixed precision (it computes in float32 or float64), so these only set and
read the float32/float64 policy: ``set_global_policy("mixed_float16")`` raises a
``ValueError``, as every half-precision policy does. ``LossScaleOptimizer`` is not here: a
loss scale only matters when gradients are computed in float16.

Example:
    >>> import glassnet as gn
    >>> gn.mixed_precision.global_policy()
    <DTypePolicy "float32">
    >>> gn.mixed_precision.Policy is gn.dtype_policies.DTypePolicy
    True
"""

from __future__ import annotations

from .config import dtype_policy, set_dtype_policy
from .dtype_policies import DTypePolicy

__all__ = ["DTypePolicy", "Policy", "dtype_policy", "global_policy", "set_dtype_policy",
           "set_global_policy"]

Policy = DTypePolicy  # Keras's legacy name
global_policy = dtype_policy  # Keras: keras.mixed_precision.global_policy
set_global_policy = set_dtype_policy  # Keras: keras.mixed_precision.set_global_policy
