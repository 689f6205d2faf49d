"""More merge layers (``Maximum``, ``Minimum``, ``Subtract``, ``Dot``) and Keras's lowercase
functional helpers ``add``, ``concatenate``, ``multiply``, ``average``, ``maximum``,
``minimum``, ``subtract`` and ``dot``.

``Add``, ``Multiply``, ``Average`` and ``Concatenate`` live in ``core.py``; the helpers
build the matching layer and call it, so ``add([a, b])`` works on arrays, tensors and on
symbolic functional inputs alike.

Example:
    >>> a, b = gn.Input((3,)), gn.Input((3,))
    >>> y = gn.layers.subtract([a, b])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .. import ops
from .base import register
from .core import Add, Average, Concatenate, Multiply, _Merge

if TYPE_CHECKING:
    from ..tensor import Tensor

__all__ = [
    "Maximum", "Minimum", "Subtract", "Dot", "add", "concatenate", "multiply", "average",
    "maximum", "minimum", "subtract", "dot",
]


@register
class Maximum(_Merge):
    """Elementwise maximum of a list of tensors of one shape: ``Maximum()([a, b])``."""

    def _merge(self, xs: list[Tensor]) -> Tensor:
        y = xs[0]
        for x in xs[1:]:
            y = ops.maximum(y, x)
        return y


@register
class Minimum(_Merge):
    """Elementwise minimum of a list of tensors of one shape: ``Minimum()([a, b])``."""

    def _merge(self, xs: list[Tensor]) -> Tensor:
        y = xs[0]
        for x in xs[1:]:
            y = ops.minimum(y, x)
        return y


@register
class Subtract(_Merge):
    """``a - b`` for exactly two tensors of one shape: ``Subtract()([a, b])``."""

    def _merge(self, xs: list[Tensor]) -> Tensor:
        if len(xs) != 2:
            raise ValueError(f"Layer '{self.name}': expects exactly 2 inputs. "
                             f"Received: {len(xs)} inputs")
        return ops.sub(xs[0], xs[1])


@register
class Dot(_Merge):
    """Dot product of two tensors along ``axes`` (per sample, Keras's ``batch_dot``).

    Args:
        axes: one axis for both inputs, or a pair ``(axis_a, axis_b)``; the batch axis 0
            cannot be reduced. Negative values count from the end.
        normalize: L2-normalise both inputs along the dot axes first (cosine similarity).

    Shapes: (B, n) · (B, n) → (B, 1); (B, T, d) · (B, S, d) with ``axes=2`` → (B, T, S);
    in general the remaining axes of ``a`` then those of ``b``.

    Example:
        >>> Dot(axes=1)([np.ones((2, 3)), np.ones((2, 3))]).shape
        (2, 1)
    """

    def __init__(self, axes: int | list[int] | tuple[int, ...], normalize: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(axes, (list, tuple)):
            if len(axes) != 2:
                raise ValueError(f"Layer '{self.name}': axes must be an int or a pair. "
                                 f"Received: axes={axes!r}")
            self.axes: int | list[int] = [int(axes[0]), int(axes[1])]
        else:
            self.axes = int(axes)
        self.normalize = bool(normalize)

    def _merge(self, xs: list[Tensor]) -> Tensor:
        if len(xs) != 2:
            raise ValueError(f"Layer '{self.name}': expects exactly 2 inputs. "
                             f"Received: {len(xs)} inputs")
        a, b = xs
        ax = self.axes if isinstance(self.axes, list) else [self.axes, self.axes]
        ia, ib = ax[0] % a.ndim, ax[1] % b.ndim
        if ia == 0 or ib == 0 or a.shape[ia] != b.shape[ib] or a.shape[0] != b.shape[0]:
            raise ValueError(
                f"Layer '{self.name}': the dot axes must be non-batch axes of equal size. "
                f"Received: shapes {tuple(a.shape)} and {tuple(b.shape)} with axes={self.axes}"
            )
        if self.normalize:
            a, b = _l2_normalize(a, ia), _l2_normalize(b, ib)
        # a → (B, rest_a, k), b → (B, k, rest_b); one batched matmul
        pa = [0] + [i for i in range(1, a.ndim) if i != ia] + [ia]
        pb = [0, ib] + [i for i in range(1, b.ndim) if i != ib]
        rest_a = [a.shape[i] for i in pa[1:-1]]
        rest_b = [b.shape[i] for i in pb[2:]]
        k, n = a.shape[ia], a.shape[0]
        a2 = ops.reshape(ops.transpose(a, pa), (n, -1, k))
        b2 = ops.reshape(ops.transpose(b, pb), (n, k, -1))
        y = ops.matmul(a2, b2)
        out = tuple(rest_a + rest_b) or (1,)
        return ops.reshape(y, (n,) + out)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return None  # the product sums the time axis away (Keras 3)

    def call(self, xs: Sequence[Tensor], training: bool = False) -> Tensor:
        return self._merge(self._inputs(xs))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def _l2_normalize(x: Tensor, axis: int) -> Tensor:
    sq = ops.sum(ops.mul(x, x), axis=axis, keepdims=True)
    return ops.div(x, ops.sqrt(ops.maximum(sq, x.dtype.type(1e-12))))


def add(inputs: Any, **kwargs: Any) -> Any:
    """``Add(**kwargs)(inputs)``: elementwise sum of a list of tensors."""
    return Add(**kwargs)(inputs)


def multiply(inputs: Any, **kwargs: Any) -> Any:
    """``Multiply(**kwargs)(inputs)``: elementwise product of a list of tensors."""
    return Multiply(**kwargs)(inputs)


def average(inputs: Any, **kwargs: Any) -> Any:
    """``Average(**kwargs)(inputs)``: elementwise mean of a list of tensors."""
    return Average(**kwargs)(inputs)


def maximum(inputs: Any, **kwargs: Any) -> Any:
    """``Maximum(**kwargs)(inputs)``: elementwise maximum of a list of tensors."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs: Any, **kwargs: Any) -> Any:
    """``Minimum(**kwargs)(inputs)``: elementwise minimum of a list of tensors."""
    return Minimum(**kwargs)(inputs)


def subtract(inputs: Any, **kwargs: Any) -> Any:
    """``Subtract(**kwargs)(inputs)``: ``inputs[0] - inputs[1]``."""
    return Subtract(**kwargs)(inputs)


def concatenate(inputs: Any, axis: int = -1, **kwargs: Any) -> Any:
    """``Concatenate(axis, **kwargs)(inputs)``: join a list of tensors along ``axis``."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs: Any, axes: int | list[int] | tuple[int, ...] = -1, normalize: bool = False,
        **kwargs: Any) -> Any:
    """``Dot(axes, normalize, **kwargs)(inputs)``: per-sample dot product of two tensors."""
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)
