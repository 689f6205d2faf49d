"""Type aliases that glassnet's annotations share (for type checkers and readers).

``TensorLike`` is what the ops and activations accept: a ``Tensor``, a NumPy or CuPy array,
a Python number or nested lists of numbers. ``Axis`` and ``Shape`` follow NumPy's meaning.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Union

from numpy.typing import ArrayLike

if TYPE_CHECKING:
    from .tensor import Tensor

TensorLike = Union["Tensor", ArrayLike]  # noqa: UP007 - "Tensor" is a forward reference
Axis = int | Sequence[int] | None
Shape = int | Sequence[int]
# a float, or a schedule: step -> learning rate (glassnet.schedules, or any callable)
LearningRate = float | Callable[[int], float]

__all__ = ["TensorLike", "Axis", "Shape", "LearningRate"]
