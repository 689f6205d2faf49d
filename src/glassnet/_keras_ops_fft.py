"""Keras 3's Fourier transforms: ``keras.ops.fft``, ``fft2``, ``ifft2``, ``rfft`` and
``irfft``, with gradients.

Complex values travel as Keras passes them: a ``(real, imaginary)`` pair of float tensors.
Each transform is one op whose output holds the real and imaginary parts stacked on a new
leading axis (split again for the caller), so its backward sees both parts' gradients at
once. The backward is the transform's adjoint: for the unnormalised DFT ``F`` of ``n``
points, ``Fᴴ = n·F⁻¹``, so the gradient of ``fft`` is ``n·ifft`` of the output's gradient
and that of ``ifft`` is ``fft/n``; ``rfft`` and ``irfft`` add the halving and doubling of
the Hermitian half spectrum. Part of :mod:`glassnet.keras_ops`.

Example:
    >>> real, imag = fft2((np.ones((2, 2)), np.zeros((2, 2))))
    >>> real.data.tolist(), imag.data.tolist()
    ([[4.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]])
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from . import ops as P
from ._keras_ops_array import _t
from .autograd import Function
from .backend import get_array_module

if TYPE_CHECKING:
    from ._typing import TensorLike
    from .tensor import Tensor

__all__ = ["fft", "fft2", "ifft2", "rfft", "irfft"]


def _complex_dtype(dtype: Any) -> Any:
    return np.complex128 if np.dtype(dtype) == np.float64 else np.complex64


class _Fourier(Function):
    """``fftn`` or ``ifftn`` of ``xr + i·xi`` over ``axes``: output (2, *shape), the real
    part first."""

    def __init__(self, axes: tuple[int, ...], inverse: bool) -> None:
        self.axes, self.inverse = axes, inverse

    def forward(self, xr: Any, xi: Any) -> Any:
        xp = get_array_module(xr)
        z = xr.astype(_complex_dtype(xr.dtype)) + 1j * xi
        self.dtype, self.count = xr.dtype, math.prod(xr.shape[a] for a in self.axes)
        y = (xp.fft.ifftn if self.inverse else xp.fft.fftn)(z, axes=self.axes)
        return xp.stack([y.real, y.imag]).astype(xr.dtype)

    def backward(self, gy: Any) -> Any:
        xp = get_array_module(gy)
        g = gy[0].astype(_complex_dtype(gy.dtype)) + 1j * gy[1]
        # the adjoint: (ifftn)ᴴ = fftn / n, (fftn)ᴴ = n · ifftn
        if self.inverse:
            gz = xp.fft.fftn(g, axes=self.axes) / self.count
        else:
            gz = xp.fft.ifftn(g, axes=self.axes) * self.count
        return gz.real.astype(self.dtype), gz.imag.astype(self.dtype)


class _RealFourier(Function):
    """``rfft`` of a real ``x`` over its last axis (``n`` points: x cut or zero-padded to
    n): output (2, ..., n // 2 + 1), the real part first."""

    def __init__(self, n: int) -> None:
        self.n = n

    def forward(self, x: Any) -> Any:
        xp = get_array_module(x)
        self.length, self.dtype = x.shape[-1], x.dtype
        y = xp.fft.rfft(x, n=self.n, axis=-1)
        return xp.stack([y.real, y.imag]).astype(x.dtype)

    def backward(self, gy: Any) -> Any:
        xp = get_array_module(gy)
        g = gy[0].astype(_complex_dtype(gy.dtype)) + 1j * gy[1]
        # the half spectrum's adjoint: its bins zero-extended to the full n, times n·ifft;
        # the real part is the gradient of the real input
        full = xp.zeros(g.shape[:-1] + (self.n,), g.dtype)
        full[..., : g.shape[-1]] = g
        gx = (xp.fft.ifft(full, axis=-1) * self.n).real.astype(self.dtype)
        if self.length >= self.n:  # the cut part of x had no effect
            pad = [(0, 0)] * (gx.ndim - 1) + [(0, self.length - self.n)]
            return xp.pad(gx, pad)
        return gx[..., : self.length]


class _InverseRealFourier(Function):
    """``irfft`` of ``xr + i·xi`` (a half spectrum, last axis) into ``n`` real points."""

    def __init__(self, n: int) -> None:
        self.n = n

    def forward(self, xr: Any, xi: Any) -> Any:
        xp = get_array_module(xr)
        self.m, self.dtype = xr.shape[-1], xr.dtype
        z = xr.astype(_complex_dtype(xr.dtype)) + 1j * xi
        return xp.fft.irfft(z, n=self.n, axis=-1).astype(xr.dtype)

    def backward(self, gy: Any) -> Any:
        xp = get_array_module(gy)
        n, half = self.n, self.n // 2 + 1
        # y = (1/n)[z₀ + 2 Σ Re(z_k w^{kt}) (+ z_{n/2} (-1)^t, n even)]; the imaginary
        # parts of z₀ and z_{n/2} are ignored, as NumPy's irfft ignores them
        c = xp.fft.rfft(gy, n=n, axis=-1) * (2.0 / n)
        c[..., 0] = c[..., 0].real / 2
        if n % 2 == 0:
            c[..., half - 1] = c[..., half - 1].real / 2
        g = xp.zeros(gy.shape[:-1] + (self.m,), c.dtype)
        k = min(self.m, half)  # bins past n // 2 do not reach the output
        g[..., :k] = c[..., :k]
        return g.real.astype(self.dtype), g.imag.astype(self.dtype)


def _pair(x: Any, name: str) -> tuple[Tensor, Tensor]:
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise ValueError(f"{name}: x must be a tuple (real, imaginary) of two tensors. "
                         f"Received: {type(x).__name__}")
    real, imag = _t(x[0]), _t(x[1])
    if tuple(real.shape) != tuple(imag.shape):
        raise ValueError(f"{name}: the real and imaginary parts must have the same shape. "
                         f"Received: {tuple(real.shape)} and {tuple(imag.shape)}")
    if real.data.dtype.kind != "f" or imag.data.dtype.kind != "f":
        raise ValueError(f"{name}: the parts must be float tensors. Received: "
                         f"{real.data.dtype} and {imag.data.dtype}")
    return real, imag


def _split(y: Tensor) -> tuple[Tensor, Tensor]:
    return y[0], y[1]


def _complex_transform(x: Any, name: str, axes: tuple[int, ...],
                       inverse: bool) -> tuple[Tensor, Tensor]:
    real, imag = _pair(x, name)
    if real.ndim < len(axes):
        raise ValueError(f"{name}: the parts need at least {len(axes)} dimensions. "
                         f"Received: shape {tuple(real.shape)}")
    return _split(_Fourier(axes, inverse)(real, imag))


def fft(x: tuple[TensorLike, TensorLike]) -> tuple[Tensor, Tensor]:
    """Discrete Fourier transform over the last axis of ``(real, imag)``.

    Example:
        >>> [t.data.tolist() for t in fft((np.array([1.0, 0.0]), np.zeros(2)))]
        [[1.0, 1.0], [0.0, 0.0]]
    """
    return _complex_transform(x, "fft", (-1,), False)


def fft2(x: tuple[TensorLike, TensorLike]) -> tuple[Tensor, Tensor]:
    """Two-dimensional discrete Fourier transform over the last two axes of
    ``(real, imag)`` (keras.io's FNet mixes its tokens with it)."""
    return _complex_transform(x, "fft2", (-2, -1), False)


def ifft2(x: tuple[TensorLike, TensorLike]) -> tuple[Tensor, Tensor]:
    """Inverse of :func:`fft2` (with its 1/n), over the last two axes."""
    return _complex_transform(x, "ifft2", (-2, -1), True)


def _length(fft_length: int | None, default: int, name: str) -> int:
    n = default if fft_length is None else fft_length
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{name}: fft_length must be a positive int. Received: "
                         f"{fft_length!r}")
    return int(n)


def rfft(x: TensorLike, fft_length: int | None = None) -> tuple[Tensor, Tensor]:
    """Fourier transform of a real ``x`` over its last axis: the ``fft_length // 2 + 1``
    non-negative frequencies as ``(real, imag)`` (``x`` cut or zero-padded to
    ``fft_length``, by default its own length).

    Example:
        >>> [t.data.tolist() for t in rfft(np.array([1.0, 2.0, 3.0, 4.0]))]
        [[10.0, -2.0, -2.0], [0.0, 2.0, 0.0]]
    """
    x = _t(x)
    if x.data.dtype.kind != "f":
        x = P.cast(x, "float32")
    n = _length(fft_length, x.shape[-1] if x.ndim else 0, "rfft")
    return _split(_RealFourier(n)(x))


def irfft(x: tuple[TensorLike, TensorLike], fft_length: int | None = None) -> Tensor:
    """Inverse of :func:`rfft`: ``fft_length`` real points (by default ``2 * (m - 1)`` for
    ``m`` frequencies) from a half spectrum ``(real, imag)``.

    Example:
        >>> irfft(rfft(np.array([1.0, 2.0, 3.0, 4.0]))).data.tolist()
        [1.0, 2.0, 3.0, 4.0]
    """
    real, imag = _pair(x, "irfft")
    n = _length(fft_length, 2 * (real.shape[-1] - 1) if real.ndim else 0, "irfft")
    return _InverseRealFourier(n)(real, imag)
