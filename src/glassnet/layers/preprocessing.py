"""Numeric preprocessing layers that live inside the model, with Keras 3's names and rules:
``Normalization`` (``adapt``, ``mean``/``variance``, ``invert``), ``Rescaling``,
``Resizing``, ``CenterCrop``, ``Discretization`` and ``CategoryEncoding``.

What a layer learns from data (``adapt``) is saved with the model: ``Normalization``'s
statistics as non-trainable weights (Keras's ``mean``, ``variance``, ``count``),
``Discretization``'s bin boundaries as JSON config data. Nothing here executes code on load.

Example:
    >>> norm = Normalization(); norm.adapt(x_train)
    >>> model = Sequential([Input((4,)), norm, Dense(1)])
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from .. import backend, ops
from .._tape import Pure, constant
from ..config import epsilon
from ..tensor import Tensor
from .base import Layer, register

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, DTypeLike

__all__ = ["Normalization", "Rescaling", "Resizing", "CenterCrop", "Discretization",
           "CategoryEncoding"]



def _data(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


def _batches(data: Any) -> Iterable[Any]:
    """An array becomes one batch; a list/generator of arrays stays a sequence of batches."""
    if isinstance(data, Tensor):
        return [backend.asnumpy(data.data)]
    if isinstance(data, np.ndarray) or backend.is_gpu_array(data):
        return [backend.asnumpy(data)]
    if isinstance(data, (list, tuple)) and data and np.ndim(data[0]) == 0:
        return [np.asarray(data)]  # a flat list of values
    return (backend.asnumpy(_data(b)) if not isinstance(b, np.ndarray) else b for b in data)


# ------------------------------------------------------------------ Normalization
@register
class Normalization(Layer):
    """Shift and scale features to mean 0 and variance 1: ``(x - mean) / sqrt(variance)``.

    The statistics come from ``mean``/``variance`` (constructor) or from ``adapt(data)``.
    ``invert=True`` undoes the normalisation: ``mean + x * sqrt(variance)``.

    Args:
        axis: the axis (or axes) with separate statistics (default -1: one per feature);
            ``None`` for one mean and variance over everything.
        mean, variance: fixed statistics (scalars or arrays broadcasting against the kept
            axes); stored in the layer's config.
        invert: apply the inverse transformation.

    Weights (only when adapted, as Keras): ``mean`` and ``variance`` (kept axes' sizes),
    ``count`` (int, unused), all non-trainable.

    Example:
        >>> norm = Normalization(); norm.adapt(np.array([[0.0], [2.0]], "float32"))
        >>> norm(np.array([[1.0], [3.0]], "float32")).data
        array([[0.], [2.]], dtype=float32)
    """

    supports_masking = True

    def __init__(self, axis: int | Sequence[int] | None = -1, mean: ArrayLike | None = None,
                 variance: ArrayLike | None = None, invert: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis: tuple[int, ...]
        if axis is None:
            self.axis = ()
        elif isinstance(axis, (int, np.integer)):
            self.axis = (int(axis),)
        else:
            self.axis = tuple(int(a) for a in axis)
        if (mean is None) != (variance is None):
            raise ValueError(f"Layer '{self.name}': pass both mean and variance or neither. "
                             f"Received: mean={mean!r}, variance={variance!r}")
        if (mean is not None and variance is not None  # both or neither (checked above)
                and np.shape(mean) != np.shape(variance)):
            raise ValueError(f"Layer '{self.name}': mean and variance must have one shape. "
                             f"Received: {np.shape(mean)} and {np.shape(variance)}")
        self.input_mean = None if mean is None else np.asarray(mean, dtype=np.float64)
        self.input_variance = None if variance is None else np.asarray(variance, np.float64)
        self.invert = bool(invert)

    def build(self, input_shape: tuple) -> None:
        nd = len(input_shape)
        if any(a < -nd or a >= nd for a in self.axis):
            raise ValueError(f"Layer '{self.name}': axis values must lie in [-{nd}, {nd}). "
                             f"Received: axis={self.axis} for input shape {tuple(input_shape)}")
        self._keep = tuple(sorted(a % nd for a in self.axis))
        for d in self._keep:
            if input_shape[d] is None:
                raise ValueError(f"Layer '{self.name}': kept axis {d} needs a known size. "
                                 f"Received: input shape {tuple(input_shape)}")
        self._reduce = tuple(d for d in range(nd) if d not in self._keep)
        self._bshape = tuple(int(input_shape[d]) if d in self._keep else 1 for d in range(nd))
        self._stat_shape = tuple(int(input_shape[d]) for d in self._keep)
        self._input_shape = tuple(input_shape)
        if self.input_mean is None:
            self.adapt_mean = self.add_weight("mean", self._stat_shape, "zeros",
                                              trainable=False)
            self.adapt_variance = self.add_weight("variance", self._stat_shape, "ones",
                                                  trainable=False)
            self.count = self.add_weight("count", (), "zeros", trainable=False, dtype="int64")
        else:
            dt = self.dtype or np.dtype(backend.floatx())
            try:
                self._fixed = [np.broadcast_to(np.asarray(v, dt).reshape(
                    (1,) * (nd - np.ndim(v)) + np.shape(v)) if np.ndim(v) else
                    np.asarray(v, dt), self._bshape).copy()
                    for v in cast("tuple[np.ndarray, np.ndarray]",  # both set (__init__)
                                  (self.input_mean, self.input_variance))]
            except ValueError:
                raise ValueError(
                    f"Layer '{self.name}': mean/variance of shape {self.input_mean.shape} do "
                    f"not broadcast to {self._bshape}. Received: input shape "
                    f"{tuple(input_shape)}") from None
        self.built = True

    def adapt(self, data: Any) -> None:
        """Compute the mean and variance of ``data`` (an array, or an iterable of batches)
        over every axis but ``axis``; they become the layer's (saved) weights."""
        if self.input_mean is not None:
            raise ValueError(f"Layer '{self.name}': was given mean and variance; adapt() "
                             "would overwrite them. Create the layer without them to adapt.")
        total, mean, m2 = 0, None, None
        for b in _batches(data):
            b = np.asarray(b)
            if b.dtype.kind not in "biuf":
                raise TypeError(f"Layer '{self.name}': adapt() needs numeric data. "
                                f"Received: dtype {b.dtype}")
            if not self.built:
                self.build((None,) + tuple(b.shape[1:]))
            for d in self._keep:
                if b.ndim != len(self._input_shape) or b.shape[d] != self._input_shape[d]:
                    raise ValueError(f"Layer '{self.name}': built for inputs of shape "
                                     f"{self._input_shape}. Received: data of shape {b.shape}")
            n = int(np.prod([b.shape[d] for d in self._reduce], dtype=np.int64))
            bm = np.mean(b, axis=self._reduce)
            bv = np.var(b, axis=self._reduce)
            if mean is None:
                total, mean, m2 = n, bm.astype(np.float64), bv.astype(np.float64) * n
                continue
            delta = bm - mean  # Chan et al.'s parallel update of mean and M2
            new = total + n
            mean = mean + delta * (n / new)
            m2 = m2 + bv * n + delta**2 * (total * n / new)
            total = new
        if mean is None or m2 is None:
            raise ValueError(f"Layer '{self.name}': adapt() received no data")
        self.adapt_mean.data[...] = backend.get_array_module(self.adapt_mean.data).asarray(
            np.reshape(mean, self._stat_shape))
        self.adapt_variance.data[...] = backend.get_array_module(
            self.adapt_variance.data).asarray(np.reshape(m2 / total, self._stat_shape))

    def _stats(self, x: Tensor) -> tuple[Tensor, Tensor]:
        if self.input_mean is not None:
            xp = backend.get_array_module(x.data)  # config values: replayable constants
            return (constant(Tensor._make(xp.asarray(self._fixed[0], dtype=x.dtype))),
                    constant(Tensor._make(xp.asarray(self._fixed[1], dtype=x.dtype))))
        return (ops.reshape(self.adapt_mean, self._bshape),
                ops.reshape(self.adapt_variance, self._bshape))

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        if x.ndim != len(self._bshape) or any(
                x.shape[d] != self._bshape[d] for d in self._keep):
            raise ValueError(f"Layer '{self.name}': built for inputs of shape "
                             f"{self._input_shape}. Received: input shape {tuple(x.shape)}")
        mean, var = self._stats(x)
        std = ops.maximum(ops.sqrt(var), x.dtype.type(epsilon()))  # Keras's floor
        if self.invert:
            return ops.add(mean, ops.mul(x, std))
        return ops.div(ops.sub(x, mean), std)

    @property
    def mean(self) -> Tensor | None:
        """The mean in use, broadcast to the input's rank, as a tensor (Keras's
        ``normalizer.mean.numpy()`` works); None before build."""
        if not self.built:
            return None
        if self.input_mean is not None:
            return Tensor._make(np.asarray(self._fixed[0]))
        return Tensor._make(backend.asnumpy(self.adapt_mean.data).reshape(self._bshape))

    @property
    def variance(self) -> Tensor | None:
        """The variance in use, broadcast to the input's rank, as a tensor; None before
        build."""
        if not self.built:
            return None
        if self.input_mean is not None:
            return Tensor._make(np.asarray(self._fixed[1]))
        return Tensor._make(backend.asnumpy(self.adapt_variance.data).reshape(self._bshape))

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        cfg = {**super().get_config(), "axis": list(self.axis) if len(self.axis) != 1 else
               self.axis[0], "invert": self.invert, "mean": None, "variance": None}
        if not self.axis:
            cfg["axis"] = None
        if self.input_mean is not None and self.input_variance is not None:  # both or neither
            cfg["mean"] = self.input_mean.tolist()
            cfg["variance"] = self.input_variance.tolist()
        return cfg


# ------------------------------------------------------------------ Rescaling
@register
class Rescaling(Layer):
    """``x * scale + offset`` (e.g. ``Rescaling(1/255)`` for pixels in [0, 1]).

    Args:
        scale: a number, or one per channel (last axis).
        offset: a number, or one per channel.

    Example:
        >>> Rescaling(1 / 127.5, offset=-1)(np.array([[0.0, 255.0]], "float32")).data
        array([[-1.,  1.]], dtype=float32)
    """

    supports_masking = True

    def __init__(self, scale: ArrayLike, offset: ArrayLike = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scale = np.asarray(scale, dtype=np.float64).tolist()
        self.offset = np.asarray(offset, dtype=np.float64).tolist()

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        xp = backend.get_array_module(x.data)
        s = constant(Tensor._make(xp.asarray(self.scale, dtype=x.dtype)))
        o = constant(Tensor._make(xp.asarray(self.offset, dtype=x.dtype)))
        return ops.add(ops.mul(x, s), o)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}


# ------------------------------------------------------------------ Resizing, CenterCrop
def _interp_matrix(n_in: int, n_out: int, method: str) -> np.ndarray:
    """(n_out, n_in) matrix of PyTorch's ``interpolate`` (half-pixel centres, no antialias):
    ``bilinear`` along one axis, or ``nearest-exact``."""
    scale = n_in / n_out
    m = np.zeros((n_out, n_in))
    i = np.arange(n_out)
    if method == "nearest":
        m[i, np.minimum(np.floor((i + 0.5) * scale).astype(int), n_in - 1)] = 1.0
        return m
    src = np.maximum((i + 0.5) * scale - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(int), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    w1 = src - i0
    np.add.at(m, (i, i0), 1.0 - w1)
    np.add.at(m, (i, i1), w1)
    return m


def resize_images(x: Tensor, height: int, width: int, method: str = "bilinear",
                  crop_to_aspect_ratio: bool = False, pad_to_aspect_ratio: bool = False,
                  fill_value: float = 0.0) -> Tensor:
    """Resize a (B, H, W, C) tensor to (B, height, width, C), differentiably: two
    interpolation matrices (one per axis), as PyTorch's ``interpolate`` computes it."""
    h, w = x.shape[1], x.shape[2]
    if crop_to_aspect_ratio:
        ch = max(min(h, int(float(w * height) / width)), 1)
        cw = max(min(w, int(float(h * width) / height)), 1)
        hs, ws = int(float(h - ch) / 2), int(float(w - cw) / 2)
        x = ops.getitem(x, (slice(None), slice(hs, hs + ch), slice(ws, ws + cw)))
    elif pad_to_aspect_ratio:
        ph = max(h, int(float(w * height) / width))
        pw = max(w, int(float(h * width) / height))
        hs, ws = int(float(ph - h) / 2), int(float(pw - w) / 2)
        x = ops.pad(x, ((0, 0), (hs, hs), (ws, ws), (0, 0)), constant_values=float(fill_value))
    h, w = x.shape[1], x.shape[2]
    xp = backend.get_array_module(x.data)
    # the interpolation matrices depend only on shapes: replayable constants
    ah = constant(Tensor._make(xp.asarray(_interp_matrix(h, height, method), dtype=x.dtype)))
    aw = constant(Tensor._make(xp.asarray(_interp_matrix(w, width, method).T, dtype=x.dtype)))
    y = ops.transpose(x, (0, 3, 1, 2))  # (B, C, H, W)
    y = ops.matmul(ops.matmul(ah, y), aw)  # (B, C, height, width)
    return ops.transpose(y, (0, 2, 3, 1))


def _size(layer: str, arg: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
        raise ValueError(f"Layer '{layer}': {arg} must be a positive integer. "
                         f"Received: {arg}={v!r}")
    return int(v)


def _images(layer: Layer, x: Tensor) -> tuple[Tensor, bool]:
    if x.ndim not in (3, 4):
        raise ValueError(f"Layer '{layer.name}': expected images (batch, height, width, "
                         f"channels) or one image (height, width, channels). "
                         f"Received: input shape {tuple(x.shape)}")
    return (ops.reshape(x, (1,) + tuple(x.shape)), True) if x.ndim == 3 else (x, False)


@register
class Resizing(Layer):
    """Resize images to ``(height, width)`` (channels-last).

    Args:
        height, width: the output size.
        interpolation: ``"bilinear"`` (half-pixel centres, as Keras on PyTorch) or
            ``"nearest"``.
        crop_to_aspect_ratio: first crop the largest centred window of the target aspect
            ratio (no distortion).
        pad_to_aspect_ratio: first pad (with ``fill_value``) to the target aspect ratio.
        fill_mode: only ``"constant"``.
        fill_value: the padding value.
        data_format: only ``"channels_last"`` (or None).

    Shapes: (B, H, W, C) → (B, height, width, C); also one (H, W, C) image.

    Example:
        >>> Resizing(2, 2)(np.ones((1, 4, 4, 3), "float32")).shape
        (1, 2, 2, 3)
    """

    def __init__(self, height: int, width: int, interpolation: str = "bilinear",
                 crop_to_aspect_ratio: bool = False, pad_to_aspect_ratio: bool = False,
                 fill_mode: str = "constant", fill_value: float = 0.0,
                 data_format: str | None = None, antialias: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.height = _size(self.name, "height", height)
        self.width = _size(self.name, "width", width)
        if interpolation not in ("bilinear", "nearest"):
            raise ValueError(f"Layer '{self.name}': interpolation must be 'bilinear' or "
                             f"'nearest'. Received: interpolation={interpolation!r}")
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError(f"Layer '{self.name}': only one of crop_to_aspect_ratio and "
                             "pad_to_aspect_ratio can be True")
        for arg, v, ok in (("fill_mode", fill_mode, ("constant",)),
                           ("data_format", data_format, (None, "channels_last")),
                           ("antialias", antialias, (False,))):
            if v not in ok:
                raise ValueError(f"Layer '{self.name}': {arg} must be one of {ok}. "
                                 f"Received: {arg}={v!r}")
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        self.pad_to_aspect_ratio = bool(pad_to_aspect_ratio)
        self.fill_value = float(fill_value)

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        x4, single = _images(self, x)
        y = resize_images(x4, self.height, self.width, self.interpolation,
                          self.crop_to_aspect_ratio, self.pad_to_aspect_ratio, self.fill_value)
        return ops.reshape(y, tuple(y.shape[1:])) if single else y

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape[:-3]) + (self.height, self.width, input_shape[-1])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "height": self.height, "width": self.width,
                "interpolation": self.interpolation,
                "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
                "pad_to_aspect_ratio": self.pad_to_aspect_ratio, "fill_value": self.fill_value}


@register
class CenterCrop(Layer):
    """Crop the central ``(height, width)`` window of images (channels-last).

    An image smaller than the target is resized to it instead (after cropping to the
    target aspect ratio), as Keras does.

    Example:
        >>> CenterCrop(2, 2)(np.ones((1, 4, 5, 3), "float32")).shape
        (1, 2, 2, 3)
    """

    def __init__(self, height: int, width: int, data_format: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.height = _size(self.name, "height", height)
        self.width = _size(self.name, "width", width)
        if data_format not in (None, "channels_last"):
            raise ValueError(f"Layer '{self.name}': only channels_last images are supported. "
                             f"Received: data_format={data_format!r}")

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        x4, single = _images(self, x)
        dh, dw = x4.shape[1] - self.height, x4.shape[2] - self.width
        if dh >= 0 and dw >= 0:
            hs, ws = dh // 2, dw // 2
            y = ops.getitem(x4, (slice(None), slice(hs, hs + self.height),
                                 slice(ws, ws + self.width)))
        else:
            y = resize_images(x4, self.height, self.width, "bilinear",
                              crop_to_aspect_ratio=True)
        return ops.reshape(y, tuple(y.shape[1:])) if single else y

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape[:-3]) + (self.height, self.width, input_shape[-1])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "height": self.height, "width": self.width}


# ------------------------------------------------------------------ categorical encodings
_MODES = ("int", "one_hot", "multi_hot", "count")


def encode_categorical(ids: Any, output_mode: str, depth: int, dtype: DTypeLike,
                       count_weights: Any = None) -> Any:
    """Keras's ``encode_categorical_inputs`` on an integer array (NumPy or CuPy).

    ``one_hot``: a trailing axis of size 1 is replaced by ``depth``, otherwise one is
    added. ``multi_hot``/``count``: axis 1 (the tokens of a sample) is reduced, so
    (B, T) → (B, depth); a 1-D input is one sample: (T,) → (depth,).
    """
    xp = backend.get_array_module(ids)
    if output_mode == "int":
        return ids.astype(dtype)
    if ids.ndim == 0:
        ids = ids[None]
    if output_mode == "one_hot" and ids.ndim > 1 and ids.shape[-1] == 1:
        ids = ids[..., 0]
    valid = (ids >= 0) & (ids < depth)
    oh = (ids[..., None] == xp.arange(depth)) & valid[..., None]
    if output_mode == "one_hot":
        return oh.astype(dtype)
    axis = 1 if ids.ndim > 1 else 0
    if output_mode == "multi_hot":
        return oh.any(axis=axis).astype(dtype)
    oh = oh.astype(dtype if count_weights is None else count_weights.dtype)
    if count_weights is not None:
        oh = oh * count_weights[..., None]
    return oh.sum(axis=axis)


def _int_ids(layer: Layer, x: Any) -> Any:
    a = _data(x)
    xp = backend.get_array_module(a)
    a = xp.asarray(a)
    if a.dtype.kind == "f":
        ids = a.astype(np.int64)
        if not bool(xp.all(ids == a)):
            raise ValueError(f"Layer '{layer.name}': inputs must be integer ids. Received: "
                             f"non-integer values of dtype {a.dtype}")
        return ids
    if a.dtype.kind not in "iub":
        raise TypeError(f"Layer '{layer.name}': inputs must be integers. "
                        f"Received: dtype {a.dtype}")
    return a.astype(np.int64, copy=False)


def _check_mode(layer: Layer, mode: str, allowed: tuple[str, ...] = _MODES) -> str:
    if mode not in allowed:
        raise ValueError(f"Layer '{layer.name}': output_mode must be one of {allowed}. "
                         f"Received: output_mode={mode!r}")
    return mode


@register
class CategoryEncoding(Layer):
    """Encode integer category ids in ``[0, num_tokens)`` as one-hot, multi-hot or counts.

    Args:
        num_tokens: the number of categories (the output's last size).
        output_mode: ``"multi_hot"`` (default), ``"one_hot"``, ``"count"``.
        sparse: only False.

    Call: ``layer(ids, count_weights=None)`` (weights per id, ``count`` mode only).
    Shapes: one_hot (B,) or (B, 1) → (B, num_tokens); multi_hot/count (B, T) →
    (B, num_tokens). Ids outside the range are ignored (encode to zeros).

    Example:
        >>> CategoryEncoding(4, output_mode="count")(np.array([[0, 1, 1], [3, 3, 2]])).data
        array([[1., 2., 0., 0.],
               [0., 0., 1., 2.]], dtype=float32)
    """

    def __init__(self, num_tokens: int, output_mode: str = "multi_hot", sparse: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.num_tokens = _size(self.name, "num_tokens", num_tokens)
        self.output_mode = _check_mode(self, output_mode, ("one_hot", "multi_hot", "count"))
        if sparse:
            raise ValueError(f"Layer '{self.name}': sparse outputs are not supported. "
                             "Received: sparse=True")

    def call(self, x: Tensor, training: bool = False, count_weights: Any = None) -> Tensor:
        if count_weights is not None and self.output_mode != "count":
            raise ValueError(f"Layer '{self.name}': count_weights is only used with "
                             f"output_mode='count'. Received: output_mode={self.output_mode!r}")
        dt = self.dtype or np.dtype(backend.floatx())

        def encode(a: Any, *w: Any) -> Any:  # one op: a replayed step encodes each batch
            ids = _int_ids(self, a)
            cw = backend.get_array_module(ids).asarray(w[0], dtype=dt) if w else None
            return encode_categorical(ids, self.output_mode, self.num_tokens, dt, cw)

        return Pure(encode)(x, *([] if count_weights is None else [count_weights]))

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        s = tuple(input_shape)
        if self.output_mode == "one_hot":
            return (s[:-1] if len(s) > 1 and s[-1] == 1 else s) + (self.num_tokens,)
        return ((s[0],) + s[2:] if len(s) >= 2 else ()) + (self.num_tokens,)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_tokens": self.num_tokens,
                "output_mode": self.output_mode}


def _summarize(values: np.ndarray, epsilon: float) -> np.ndarray:
    """Keras's quantile summary of a batch: sorted sample values at even steps, weights."""
    values = np.sort(np.reshape(values, [-1]))
    step = max(np.size(values) / (1.0 / epsilon), 1)
    bounds = values[int(step - 1)::int(step)]
    return np.stack([bounds, np.ones_like(bounds) * step])


def _compress(summary: np.ndarray, epsilon: float) -> np.ndarray:
    if summary.shape[1] * epsilon < 1:
        return summary
    percents = epsilon + np.arange(0.0, 1.0, epsilon)
    cum = summary[1].cumsum()
    pct = cum / cum[-1]
    bins = np.interp(percents, pct, summary[0])
    cum = np.interp(percents, pct, cum)
    return np.stack((bins, cum - np.concatenate((np.array([0]), cum[:-1])))).astype("float32")


@register
class Discretization(Layer):
    """Bucket numbers into bins: id ``i`` for ``boundaries[i-1] <= x < boundaries[i]``.

    Args:
        bin_boundaries: sorted boundaries (n boundaries → n + 1 bins), or
        num_bins: the number of bins that ``adapt(data)`` places at data quantiles (Keras's
            approximate-quantile algorithm, the same boundaries as Keras).
        epsilon: the quantile summary's error tolerance.
        output_mode: ``"int"`` (bin ids), ``"one_hot"``, ``"multi_hot"``, ``"count"``.

    The boundaries (given or adapted) are saved in the config as JSON numbers.

    Example:
        >>> Discretization(bin_boundaries=[0.0, 1.0])(np.array([[-1.0, 0.5, 2.0]])).data
        array([[0, 1, 2]])
    """

    def __init__(self, bin_boundaries: Sequence[float] | None = None,
                 num_bins: int | None = None, epsilon: float = 0.01, output_mode: str = "int",
                 sparse: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if bin_boundaries is None and num_bins is None:
            raise ValueError(f"Layer '{self.name}': pass bin_boundaries or num_bins. "
                             "Received: neither")
        self.num_bins: int | None
        if num_bins is not None and bin_boundaries is None:
            self.num_bins = _size(self.name, "num_bins", num_bins)
        else:
            self.num_bins = None if num_bins is None else int(num_bins)
        self.bin_boundaries = (None if bin_boundaries is None
                               else [float(b) for b in bin_boundaries])
        if self.bin_boundaries is not None and sorted(self.bin_boundaries) != \
                self.bin_boundaries:
            raise ValueError(f"Layer '{self.name}': bin_boundaries must be sorted. "
                             f"Received: {self.bin_boundaries}")
        self.epsilon = float(epsilon)
        self.output_mode = _check_mode(self, output_mode)
        if sparse:
            raise ValueError(f"Layer '{self.name}': sparse outputs are not supported")
        self._summary = np.array([[], []], dtype="float32")

    def adapt(self, data: Any) -> None:
        """Place ``num_bins - 1`` boundaries at the quantiles of ``data`` (array or batches)."""
        if self.num_bins is None:
            raise ValueError(f"Layer '{self.name}': was created with bin_boundaries; create it "
                             "with num_bins to adapt")
        summary = np.array([[], []], dtype="float32")
        for b in _batches(data):
            s = _summarize(np.asarray(b).astype("float32"), self.epsilon)
            merged = np.concatenate((s, summary), axis=1)
            summary = _compress(np.take(merged, np.argsort(merged[0]), axis=1), self.epsilon)
        self.bin_boundaries = _compress(summary, 1.0 / self.num_bins)[0, :-1].tolist()

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        if self.bin_boundaries is None:
            raise ValueError(f"Layer '{self.name}': call adapt(data) or pass bin_boundaries "
                             "before using the layer")
        dt = np.int64 if self.output_mode == "int" else (self.dtype or
                                                          np.dtype(backend.floatx()))

        def bins(a: Any) -> Any:  # one op: a replayed step reads the boundaries afresh
            xp = backend.get_array_module(a)
            edges = xp.asarray(self.bin_boundaries or [], dtype=a.dtype)
            ids = xp.searchsorted(edges, a, side="right")
            return encode_categorical(ids.astype(np.int64), self.output_mode,
                                      len(edges) + 1, dt)

        return Pure(bins)(x)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "bin_boundaries": self.bin_boundaries,
                "num_bins": self.num_bins, "epsilon": self.epsilon,
                "output_mode": self.output_mode}
