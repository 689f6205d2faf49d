"""Keras 3's ``keras.random``: seeded random tensors.

``seed`` is, as in Keras, an int (the same numbers on every call with that seed), a
:class:`SeedGenerator` (a stream that advances on each call), or None (glassnet's global
generator, which ``gn.set_seed`` / ``keras.utils.set_random_seed`` seeds).

Example:
    >>> import glassnet as keras
    >>> keras.random.normal((2, 3), seed=1).shape
    (2, 3)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from . import backend
from .tensor import Tensor

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import TypeAlias

    from numpy.typing import ArrayLike, DTypeLike

    from ._typing import TensorLike

    # what ``seed`` takes: an int, a SeedGenerator or None
    Seed: TypeAlias = "int | np.integer | SeedGenerator | None"

__all__ = ["SeedGenerator", "normal", "uniform", "randint", "truncated_normal", "shuffle",
           "dropout", "categorical", "gamma", "beta", "binomial"]


class SeedGenerator:
    """A random stream of its own: each call that receives it draws fresh numbers.

    Its position is its ``state``, a non-trainable ``gn.Variable`` ``[seed, draws]`` as in
    Keras 3: a layer keeping the generator as an attribute lists it in ``variables``, and
    assigning a saved state back replays the stream from there.

    Args:
        seed: int (reproducible stream) or None (seeded from the global generator).

    Example:
        >>> gen = SeedGenerator(42); a = normal((2,), seed=gen); b = normal((2,), seed=gen)
        >>> gen.state.numpy().tolist()
        [42, 2]
    """

    def __init__(self, seed: int | None = None, name: str | None = None, **kwargs: Any) -> None:
        from .variables import Variable

        if seed is None:
            seed = int(backend.rng().integers(0, 2**31 - 1))
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise ValueError(f"SeedGenerator: seed must be an int or None. Received: "
                             f"seed={seed!r}")
        self.seed, self.name = int(seed), name or "seed_generator"
        self.state = Variable(np.array([self.seed, 0]), dtype="int64", trainable=False,
                              name=f"{self.name}/seed_generator_state")

    def next(self) -> np.random.Generator:
        """The generator for one draw: made from the state, which then advances."""
        s = self.state.data
        rng = np.random.default_rng([int(s[0]) & 0xFFFFFFFFFFFFFFFF, int(s[1])])
        s[1] += 1
        return rng

    def get_config(self) -> dict[str, Any]:
        return {"seed": self.seed}


def _gen(seed: Seed) -> np.random.Generator:
    if seed is None:
        return backend.rng()
    if isinstance(seed, SeedGenerator):
        return seed.next()
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return np.random.default_rng(int(seed))
    raise ValueError(f"seed must be an int, a SeedGenerator or None. Received: seed={seed!r}")


def _out(a: ArrayLike, dtype: DTypeLike | None = None) -> Tensor:
    return Tensor._make(np.asarray(a, dtype=np.dtype(dtype or backend.floatx())))


def normal(shape: Sequence[int], mean: float = 0.0, stddev: float = 1.0,
           dtype: DTypeLike | None = None, seed: Seed = None) -> Tensor:
    """Samples of N(mean, stddev²) of ``shape``."""
    return _out(_gen(seed).normal(mean, stddev, tuple(shape)), dtype)


def uniform(shape: Sequence[int], minval: float = 0.0, maxval: float = 1.0,
            dtype: DTypeLike | None = None, seed: Seed = None) -> Tensor:
    """Samples of U[minval, maxval) of ``shape``."""
    return _out(_gen(seed).uniform(minval, maxval, tuple(shape)), dtype)


def randint(shape: Sequence[int], minval: int, maxval: int, dtype: DTypeLike = "int32",
            seed: Seed = None) -> Tensor:
    """Integers in [minval, maxval) of ``shape``."""
    return _out(_gen(seed).integers(minval, maxval, tuple(shape)), dtype)


def truncated_normal(shape: Sequence[int], mean: float = 0.0, stddev: float = 1.0,
                     dtype: DTypeLike | None = None, seed: Seed = None) -> Tensor:
    """N(mean, stddev²) redrawn outside two standard deviations (as Keras)."""
    g = _gen(seed)
    a = g.standard_normal(tuple(shape))
    bad = np.abs(a) > 2
    while bad.any():
        a[bad] = g.standard_normal(int(bad.sum()))
        bad = np.abs(a) > 2
    return _out(mean + stddev * a, dtype)


def shuffle(x: TensorLike, axis: int = 0, seed: Seed = None) -> Tensor:
    """``x`` with its entries along ``axis`` in a random order."""
    from . import ops

    t = x if isinstance(x, Tensor) else Tensor._make(np.asarray(x))
    perm = _gen(seed).permutation(t.shape[axis])
    return ops.take(t, perm, axis=axis)


def dropout(inputs: TensorLike, rate: float, noise_shape: Sequence[int | None] | None = None,
            seed: Seed = None) -> Tensor:
    """Zero each entry with probability ``rate`` and scale the rest by 1/(1 - rate)."""
    from . import ops

    if not 0 <= float(rate) < 1:
        raise ValueError(f"dropout: rate must be in [0, 1). Received: rate={rate!r}")
    t = inputs if isinstance(inputs, Tensor) else Tensor._make(np.asarray(inputs))
    shape = tuple(t.shape) if noise_shape is None else tuple(
        s if n is None else n for n, s in zip(noise_shape, t.shape))
    keep = _gen(seed).random(shape) >= rate
    xp = backend.get_array_module(t.data)
    mask = xp.asarray(keep, dtype=t.dtype) * t.dtype.type(1.0 / (1.0 - float(rate)))
    return ops.mul(t, Tensor._make(mask))


def categorical(logits: TensorLike, num_samples: int, dtype: DTypeLike = "int32",
                seed: Seed = None) -> Tensor:
    """``num_samples`` class ids per row drawn from softmax(``logits``): (batch, num_samples)."""
    z = np.asarray(logits.data if isinstance(logits, Tensor) else logits, dtype=np.float64)
    p = np.exp(z - z.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    g = _gen(seed)
    cum = p.cumsum(axis=-1)
    u = g.random((p.shape[0], num_samples))
    ids = (u[:, :, None] > cum[:, None, :]).sum(axis=-1)
    return _out(np.minimum(ids, p.shape[-1] - 1), dtype)


def gamma(shape: Sequence[int], alpha: float | np.ndarray, dtype: DTypeLike | None = None,
          seed: Seed = None) -> Tensor:
    return _out(_gen(seed).gamma(alpha, 1.0, tuple(shape)), dtype)


def beta(shape: Sequence[int], alpha: float | np.ndarray, beta: float | np.ndarray,  # noqa: A002 - Keras's name
         dtype: DTypeLike | None = None, seed: Seed = None) -> Tensor:
    return _out(_gen(seed).beta(alpha, beta, tuple(shape)), dtype)


def binomial(shape: Sequence[int], counts: int | np.ndarray, probabilities: float | np.ndarray,
             dtype: DTypeLike | None = None, seed: Seed = None) -> Tensor:
    return _out(_gen(seed).binomial(counts, probabilities, tuple(shape)), dtype)
