"""Keras 3's ``keras.ops`` names that are not glassnet primitives, with Keras's semantics.

``glassnet.ops`` stays the module of primitives (one ``Function`` each). Every Keras op name
that is not a primitive resolves here, so ``gn.ops.square(x)`` works as ``keras.ops.square``
does: NumPy-like arguments, a :class:`~glassnet.Tensor` out. Float results are differentiable
(composed from primitives, or one small elementwise ``Function`` with its derivative beside
it); integer/boolean results (``argsort``, ``isnan``, ``floor`` ...) carry no gradient, as
in Keras.

Example:
    >>> import glassnet as keras
    >>> keras.ops.convert_to_numpy(keras.ops.square(keras.ops.ones((2,)) * 3))
    array([9., 9.], dtype=float32)
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

import numpy as np

from . import activations, backend, functional
from . import ops as P
from .autograd import Function
from .tensor import Tensor, as_tensor

if TYPE_CHECKING:
    from collections.abc import Callable

    from numpy.typing import ArrayLike, DTypeLike

    from ._typing import Axis, Shape, TensorLike

# ------------------------------------------------------------------ conversion / creation


def convert_to_tensor(x: TensorLike, dtype: DTypeLike | None = None, sparse: bool | None = None
                      ) -> Tensor:
    """An array-like as a glassnet Tensor (float64 input stays float64; ``dtype`` casts)."""
    if isinstance(x, Tensor):
        return x if dtype is None else P.cast(x, np.dtype(dtype))
    a: Any = x if backend.is_gpu_array(x) else np.asarray(x)
    if dtype is not None:
        a = a.astype(np.dtype(dtype))
    elif a.dtype == np.float64 and not isinstance(x, np.ndarray):
        a = a.astype(backend.floatx())  # Python floats become floatx, as in Keras
    return _made_from(a, x)  # Python numbers: a constant; an array may be data


def convert_to_numpy(x: TensorLike) -> np.ndarray:
    """A NumPy array of ``x`` (a Tensor, CuPy array or array-like)."""
    if isinstance(x, Tensor):
        return backend.asnumpy(x.data)
    return backend.asnumpy(x) if backend.is_gpu_array(x) else np.asarray(x)


def is_tensor(x: object) -> bool:
    return isinstance(x, Tensor)


def _d(x: TensorLike) -> Any:
    """The raw array of a Tensor or array-like."""
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _t(x: TensorLike, like: Tensor | None = None) -> Tensor:
    if isinstance(x, Tensor):
        return x
    return as_tensor(x, like) if like is not None else convert_to_tensor(x)


def _const(a: Any) -> Tensor:
    return Tensor._make(a)


def _made_from(a: Any, *args: Any) -> Tensor:
    """``a`` as a tensor; where every one of ``args`` (the call's values) is a Python number
    or a nest of them, a constant of a recorded step's signature (``_tape.constant``): its
    value follows from the code and the shapes, so a replay may reuse it and Python may read
    it (``ops.arange(length)`` in a positional embedding, a causal mask)."""
    t = Tensor._make(a)
    if builtins.all(_python_value(v) for v in args):  # (this module's `all` is Keras's)
        from ._tape import constant

        constant(t)
    return t


def _python_value(v: Any) -> bool:
    if isinstance(v, (list, tuple)):
        return builtins.all(_python_value(u) for u in v)
    return v is None or isinstance(v, (bool, int, float, str, np.generic, np.dtype, type))


def _dt(dtype: DTypeLike | None) -> np.dtype:
    return np.dtype(dtype or backend.floatx())


def shape(x: TensorLike) -> tuple:
    return tuple(_d(x).shape) if not hasattr(x, "shape") else tuple(x.shape)


def ndim(x: TensorLike) -> int:
    return len(shape(x))


def size(x: TensorLike) -> int:
    return int(np.prod(shape(x), dtype=np.int64))


def dtype(x: TensorLike) -> str:
    return np.dtype(_d(x).dtype).name


def ones(shape: Shape, dtype: DTypeLike | None = None) -> Tensor:
    return _made_from(np.ones(shape, _dt(dtype)), shape)


def zeros(shape: Shape, dtype: DTypeLike | None = None) -> Tensor:
    return _made_from(np.zeros(shape, _dt(dtype)), shape)


def full(shape: Shape, fill_value: ArrayLike, dtype: DTypeLike | None = None) -> Tensor:
    return _made_from(np.full(shape, fill_value, _dt(dtype)), shape, fill_value)


def ones_like(x: TensorLike, dtype: DTypeLike | None = None) -> Tensor:
    return _made_from(np.ones_like(_d(x), dtype=dtype))  # x's shape and dtype only


def zeros_like(x: TensorLike, dtype: DTypeLike | None = None) -> Tensor:
    return _made_from(np.zeros_like(_d(x), dtype=dtype))


def full_like(x: TensorLike, fill_value: ArrayLike, dtype: DTypeLike | None = None) -> Tensor:
    return _made_from(np.full_like(_d(x), fill_value, dtype=dtype), fill_value)


def eye(N: int, M: int | None = None, k: int = 0,  # noqa: N803 - Keras's argument names
        dtype: DTypeLike | None = None) -> Tensor:
    return _made_from(np.eye(N, M, k, dtype=_dt(dtype)), N, M, k)


def identity(n: int, dtype: DTypeLike | None = None) -> Tensor:
    return eye(n, dtype=dtype)


def arange(start: float, stop: float | None = None, step: float = 1,
           dtype: DTypeLike | None = None) -> Tensor:
    a = np.arange(start, stop, step) if stop is not None else np.arange(start)
    if dtype is None and a.dtype.kind == "f":
        dtype = backend.floatx()
    return _made_from(a.astype(dtype) if dtype is not None else a, start, stop, step)


def linspace(start: float | np.ndarray, stop: float | np.ndarray, num: int = 50,
             endpoint: bool = True, retstep: bool = False, dtype: DTypeLike | None = None,
             axis: int = 0) -> Tensor:
    a = np.linspace(start, stop, num, endpoint=endpoint, dtype=_dt(dtype), axis=axis)
    return _made_from(a, start, stop, num)


def array(x: TensorLike, dtype: DTypeLike | None = None) -> Tensor:
    return convert_to_tensor(x, dtype)


def copy(x: TensorLike) -> Tensor:
    return P.mul(_t(x), 1) if isinstance(x, Tensor) else _const(np.array(x))


def stop_gradient(variable: TensorLike) -> Tensor:
    """The same values with no gradient flowing back."""
    return _const(_d(variable))


# ------------------------------------------------------------------ elementwise
class _Elementwise(Function):
    """``y = f(x)`` with derivative ``df(x, y)``; both act on raw arrays."""

    def __init__(self, name: str, f: Callable[[Any], Any], df: Callable[[Any, Any], Any]
                 ) -> None:
        self.fname, self.f, self.df = name, f, df

    def forward(self, x: Any) -> Any:
        self.x = x
        self.y = self.f(x)
        return self.y

    def backward(self, gy: Any) -> Any:
        return gy * self.df(self.x, self.y)

    def describe(self) -> str:
        return self.fname


def _unary(name: str, f: Callable[[Any], Any], df: Callable[[Any, Any], Any]
           ) -> Callable[[TensorLike], Tensor]:
    def op(x: TensorLike) -> Tensor:
        return _Elementwise(name, f, df)(_t(x))

    op.__name__ = name
    op.__doc__ = f"Elementwise ``{name}`` (Keras's ``keras.ops.{name}``), differentiable."
    return op


sin = _unary("sin", np.sin, lambda x, y: np.cos(x))
cos = _unary("cos", np.cos, lambda x, y: -np.sin(x))
tan = _unary("tan", np.tan, lambda x, y: 1 + y * y)
sinh = _unary("sinh", np.sinh, lambda x, y: np.cosh(x))
cosh = _unary("cosh", np.cosh, lambda x, y: np.sinh(x))
arcsin = _unary("arcsin", np.arcsin, lambda x, y: 1 / np.sqrt(1 - x * x))
arccos = _unary("arccos", np.arccos, lambda x, y: -1 / np.sqrt(1 - x * x))
arctan = _unary("arctan", np.arctan, lambda x, y: 1 / (1 + x * x))
arcsinh = _unary("arcsinh", np.arcsinh, lambda x, y: 1 / np.sqrt(x * x + 1))
arccosh = _unary("arccosh", np.arccosh, lambda x, y: 1 / np.sqrt(x * x - 1))
arctanh = _unary("arctanh", np.arctanh, lambda x, y: 1 / (1 - x * x))
log1p = _unary("log1p", np.log1p, lambda x, y: 1 / (1 + x))
expm1 = _unary("expm1", np.expm1, lambda x, y: y + 1)
log2 = _unary("log2", np.log2, lambda x, y: 1 / (x * np.log(2.0)).astype(x.dtype))
log10 = _unary("log10", np.log10, lambda x, y: 1 / (x * np.log(10.0)).astype(x.dtype))
exp2 = _unary("exp2", np.exp2, lambda x, y: y * x.dtype.type(np.log(2.0)))
cbrt = _unary("cbrt", np.cbrt, lambda x, y: 1 / (3 * y * y))


def _nograd(name: str, f: Callable[..., Any],
            why: str = "piecewise constant or boolean") -> Callable[..., Tensor]:
    """Keras's elementwise op ``name`` as NumPy's ``f`` on the arrays, with no gradient."""
    def op(*xs: TensorLike) -> Tensor:
        return _const(f(*[_d(x) for x in xs]))

    op.__name__ = name
    op.__doc__ = f"Elementwise ``{name}``; {why}, so no gradient."
    return op


floor = _nograd("floor", np.floor)
ceil = _nograd("ceil", np.ceil)
trunc = _nograd("trunc", np.trunc)
isnan = _nograd("isnan", np.isnan)
isinf = _nograd("isinf", np.isinf)
isfinite = _nograd("isfinite", np.isfinite)
signbit = _nograd("signbit", np.signbit)
logical_not = _nograd("logical_not", np.logical_not)


def round(x: TensorLike, decimals: int = 0) -> Tensor:  # noqa: A001 - Keras's name
    return _const(np.round(_d(x), decimals))


_binary_nograd = _nograd  # (variadic: the two-argument ones too)


logical_and = _binary_nograd("logical_and", np.logical_and)
logical_or = _binary_nograd("logical_or", np.logical_or)
logical_xor = _binary_nograd("logical_xor", np.logical_xor)
floor_divide = _binary_nograd("floor_divide", np.floor_divide)
isclose = _binary_nograd("isclose", np.isclose)


def subtract(x1: TensorLike, x2: TensorLike) -> Tensor:
    return P.sub(x1, x2)


def multiply(x1: TensorLike, x2: TensorLike) -> Tensor:
    return P.mul(x1, x2)


def divide(x1: TensorLike, x2: TensorLike) -> Tensor:
    return P.div(x1, x2)


true_divide = divide


def divide_no_nan(x1: TensorLike, x2: TensorLike) -> Tensor:
    """``x1 / x2`` with 0 where ``x2 == 0``."""
    d2 = _d(x2)
    safe = P.where(d2 == 0, 1.0, x2) if isinstance(x2, Tensor) else np.where(d2 == 0, 1, d2)
    return P.where(d2 == 0, 0.0, P.div(x1, safe))


def mod(x1: TensorLike, x2: TensorLike) -> Tensor:
    """Remainder with the sign of the divisor; gradient 1 for x1 (and -floor(x1/x2) for x2)."""
    q = np.floor_divide(_d(x1), _d(x2))
    return P.sub(x1, P.mul(x2, _const(q)))


def power(x1: TensorLike, x2: TensorLike) -> Tensor:
    return P.pow(x1, x2)


def negative(x: TensorLike) -> Tensor:
    return P.neg(_t(x))


def square(x: TensorLike) -> Tensor:
    x = _t(x)
    return P.mul(x, x)


def reciprocal(x: TensorLike) -> Tensor:
    return P.div(1.0, _t(x))


def rsqrt(x: TensorLike) -> Tensor:
    return P.div(1.0, P.sqrt(_t(x)))


def absolute(x: TensorLike) -> Tensor:
    return P.abs(_t(x))


fabs = absolute


def logaddexp(x1: TensorLike, x2: TensorLike) -> Tensor:
    x1, x2 = _t(x1), _t(x2, _t(x1))
    m = _const(np.maximum(_d(x1), _d(x2)))
    return P.add(m, P.log(P.add(P.exp(P.sub(x1, m)), P.exp(P.sub(x2, m)))))


def arctan2(x1: TensorLike, x2: TensorLike) -> Tensor:
    """atan2(x1, x2); gradient (x2, -x1) / (x1² + x2²)."""
    x1 = _t(x1)
    x2 = _t(x2, x1)
    return _Atan2()(x1, x2)


class _Atan2(Function):
    def forward(self, a: Any, b: Any) -> Any:
        self.a, self.b = a, b
        return np.arctan2(a, b)

    def backward(self, gy: Any) -> Any:
        r = self.a * self.a + self.b * self.b
        return gy * self.b / r, -gy * self.a / r


def nan_to_num(x: TensorLike, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None) -> Tensor:
    d = _d(x)
    fixed = np.nan_to_num(d, nan=nan, posinf=posinf, neginf=neginf)
    return P.where(np.isfinite(d), _t(x), _const(fixed)) if isinstance(x, Tensor) else \
        _const(fixed)


# ------------------------------------------------------------------ activations (keras.ops.nn)
def softmax(x: TensorLike, axis: int = -1) -> Tensor:
    return functional.softmax(_t(x), axis=axis)


def log_softmax(x: TensorLike, axis: int = -1) -> Tensor:
    return functional.log_softmax(_t(x), axis=axis)


def logsumexp(x: TensorLike, axis: Axis = None, keepdims: bool = False) -> Tensor:
    x = _t(x)
    if axis is None:
        return functional.logsumexp(P.reshape(x, (-1,)), axis=0, keepdims=False) \
            if not keepdims else P.reshape(
                functional.logsumexp(P.reshape(x, (-1,)), axis=0), (1,) * x.ndim)
    return functional.logsumexp(x, axis=axis, keepdims=keepdims)


def relu6(x: TensorLike) -> Tensor:
    return P.clip(_t(x), 0.0, 6.0)


def elu(x: TensorLike, alpha: float = 1.0) -> Tensor:
    return activations.elu(_t(x), alpha)


def selu(x: TensorLike) -> Tensor:
    return activations.selu(_t(x))


def gelu(x: TensorLike, approximate: bool = True) -> Tensor:
    return activations.gelu(_t(x), approximate=approximate)


def silu(x: TensorLike) -> Tensor:
    return activations.swish(_t(x))


swish = silu


def softplus(x: TensorLike) -> Tensor:
    return activations.softplus(_t(x))


def softsign(x: TensorLike) -> Tensor:
    return activations.softsign(_t(x))


def leaky_relu(x: TensorLike, negative_slope: float = 0.2) -> Tensor:
    return activations.leaky_relu(_t(x), negative_slope)


def hard_sigmoid(x: TensorLike) -> Tensor:
    return activations.hard_sigmoid(_t(x))


def log_sigmoid(x: TensorLike) -> Tensor:
    return P.neg(activations.softplus(P.neg(_t(x))))


def one_hot(x: TensorLike, num_classes: int, axis: int = -1, dtype: DTypeLike | None = None,
            sparse: bool = False) -> Tensor:
    y = functional.one_hot(x, num_classes, dtype=_dt(dtype))
    return y if axis in (-1, y.ndim - 1) else _const(np.moveaxis(y.data, -1, axis))


def multi_hot(inputs: TensorLike, num_classes: int, axis: int = -1, dtype: DTypeLike | None = None,
              sparse: bool = False) -> Tensor:
    d = np.asarray(_d(inputs)).astype(np.int64)
    d2 = d.reshape(-1, d.shape[-1]) if d.ndim > 1 else d.reshape(1, -1)
    out = np.zeros((d2.shape[0], num_classes), _dt(dtype))
    for i, row in enumerate(d2):
        out[i, row] = 1
    return _const(out.reshape(d.shape[:-1] + (num_classes,)) if d.ndim > 1 else out[0])


def normalize(x: TensorLike, axis: int = -1, order: float | str | None = 2,
              epsilon: float | None = None) -> Tensor:
    """``x`` divided by its L``order`` norm along ``axis``."""
    n = norm(x, ord=order, axis=axis, keepdims=True)
    eps = 1e-12 if epsilon is None else epsilon
    return P.div(_t(x), P.maximum(n, eps))


def moments(x: TensorLike, axes: Axis, keepdims: bool = False, synchronized: bool = False
            ) -> tuple[Tensor, Tensor]:
    """(mean, variance) over ``axes``."""
    x = _t(x)
    axes = tuple(axes) if isinstance(axes, (list, tuple)) else axes
    m = P.mean(x, axis=axes, keepdims=True)
    v = P.mean(square(P.sub(x, m)), axis=axes, keepdims=keepdims)
    return (m if keepdims else P.mean(x, axis=axes)), v


def sparse_categorical_crossentropy(target: TensorLike, output: TensorLike,
                                    from_logits: bool = False, axis: int = -1) -> Tensor:
    from . import losses

    return losses.sparse_categorical_crossentropy(target, output, from_logits=from_logits)


def categorical_crossentropy(target: TensorLike, output: TensorLike, from_logits: bool = False,
                             axis: int = -1) -> Tensor:
    from . import losses

    return losses.categorical_crossentropy(target, output, from_logits=from_logits)


def binary_crossentropy(target: TensorLike, output: TensorLike, from_logits: bool = False
                        ) -> Tensor:
    from . import losses

    return losses.binary_crossentropy(target, output, from_logits=from_logits)


from . import _ops_image as image  # noqa: E402,F401 - keras.ops.image (its common part)
from ._ctc import ctc_decode, ctc_loss  # noqa: E402,F401 - CTC (OCR, speech)
from ._keras_ops_array import *  # noqa: E402,F401,F403 - the array half of keras.ops
from ._keras_ops_array import __all__ as _array_names  # noqa: E402
from ._keras_ops_array import norm  # noqa: E402
from ._keras_ops_conv import (  # noqa: E402,F401 - convolution and pooling
    average_pool,
    conv,
    conv_transpose,
    depthwise_conv,
    max_pool,
    separable_conv,
)
from ._keras_ops_fft import fft, fft2, ifft2, irfft, rfft  # noqa: E402,F401 - Fourier transforms
from ._keras_ops_grad import custom_gradient  # noqa: E402,F401 - a backward of one's own
from ._keras_ops_index import *  # noqa: E402,F401,F403 - scatters, segments, blocks
from ._keras_ops_index import __all__ as _index_names  # noqa: E402
from ._keras_ops_linalg import *  # noqa: E402,F401,F403 - keras.ops.linalg
from ._keras_ops_linalg import __all__ as _linalg_names  # noqa: E402
from ._keras_ops_math import *  # noqa: E402,F401,F403 - psnr, cdist, cross, erfinv, ...
from ._keras_ops_math import __all__ as _math_names  # noqa: E402
from ._keras_ops_more import *  # noqa: E402,F401,F403 - the long tail of keras.ops
from ._keras_ops_more import __all__ as _more_names  # noqa: E402
from ._keras_ops_nn import (  # noqa: E402,F401 - attention and normalization ops
    batch_normalization,
    dot_product_attention,
    layer_normalization,
)
from ._keras_ops_windows import *  # noqa: E402,F401,F403 - window functions
from ._keras_ops_windows import __all__ as _window_names  # noqa: E402
from .layers.adaptive import (  # noqa: E402,F401 - the layers' own functions
    adaptive_average_pool,
    adaptive_max_pool,
    rms_normalization,
)

__all__: list[str] = sorted({n for n, v in list(globals().items())
                  if not n.startswith("_") and callable(v) and getattr(v, "__module__", "")
                  == __name__ and not isinstance(v, type)} | set(_array_names)
                 | set(_more_names) | set(_index_names) | set(_math_names) | set(_linalg_names)
                 | set(_window_names)
                 | {"ctc_loss", "ctc_decode", "adaptive_average_pool",
                                        "adaptive_max_pool", "rms_normalization",
                                        "dot_product_attention", "layer_normalization",
                                        "batch_normalization", "image", "fft", "fft2",
                                        "ifft2", "rfft", "irfft", "conv", "conv_transpose",
                                        "depthwise_conv", "separable_conv", "max_pool",
                                        "average_pool", "custom_gradient"})
