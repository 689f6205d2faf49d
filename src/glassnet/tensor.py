"""``Tensor``: an array (``.data``) that remembers how it was made, for ``.backward()``."""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from . import autograd, backend

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import DTypeLike

    from ._typing import Axis, TensorLike
    from .autograd import Function


class Tensor:
    """An n-dimensional array with an optional gradient.

    Args:
        data: array-like; float32 by default (ints and bools are cast to the default float
            unless ``dtype`` is given).
        requires_grad: record operations on this tensor so ``backward()`` can fill ``.grad``.
        dtype: e.g. ``"float64"``.
        name: shown by ``gn.graph`` (layer weights carry their layer's name).

    Example:
        >>> x = gn.tensor([1.0, 2.0], requires_grad=True)
        >>> (x * x).sum().backward(); x.grad
        array([2., 4.], dtype=float32)
    """

    # _mask: a masking layer's (batch, timesteps) mask (layers.embedding.set_mask), unset
    # on most tensors
    # _constraint: a weight's projection after each optimizer update (``constraint``)
    # _scope: the gn.name_scope path a weight was made under (its ``path`` prefix), unset
    # outside any scope; kept apart from ``name`` so files and name lookups never see it
    __slots__ = ("data", "grad", "requires_grad", "_ctx", "name", "_mask", "_constraint",
                 "_scope", "__weakref__")
    _mask: Any
    _scope: str
    # counts the constraints set: an optimizer looks for its weights' constraints again when
    # its weights or this number change (a weight unpickled with one is found with its group)
    _constraint_version = 0
    __array_priority__ = 1000  # ndarray (op) Tensor defers to Tensor's reflected operator

    data: Any  # a NumPy or CuPy array
    grad: Any  # an array of data's shape and dtype, or None
    requires_grad: bool
    _ctx: Function | None  # the op that made this tensor (None for a leaf)
    name: str | None

    def __init__(self, data: TensorLike, requires_grad: bool = False,
                 dtype: DTypeLike | None = None, name: str | None = None) -> None:
        self.data = _to_array(data, dtype)
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(
                f"requires_grad=True needs a floating dtype. Received: dtype {self.data.dtype}"
            )
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._ctx = None
        self.name = name

    @classmethod
    def _make(cls, data: Any) -> Tensor:
        t = cls.__new__(cls)
        t.data = data
        t.grad = None
        t.requires_grad = False
        t._ctx = None
        t.name = None
        return t

    # ------------------------------------------------------------ properties
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype[Any]:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return int(self.data.size)

    @property
    def device(self) -> str:
        return backend.device_of(self.data)

    @property
    def path(self) -> str | None:
        """A weight's path, ``"dense/kernel"`` (Keras's ``Variable.path``): its name, under
        the ``gn.name_scope`` it was made in (``"outer/dense/kernel"``); None for a tensor
        that is not a named weight."""
        scope = getattr(self, "_scope", None)
        return f"{scope}/{self.name}" if scope and self.name is not None else self.name

    @property
    def value(self) -> Tensor:
        """The tensor itself: Keras's ``Variable.value``, so the keras.io custom training loop
        for the PyTorch backend (``[v.value.grad for v in model.trainable_weights]``) runs."""
        return self

    def cpu(self) -> Tensor:
        """This tensor on the CPU (itself when it is there): PyTorch's ``.cpu()``, which
        keras.io's loops for the torch backend call before ``.numpy()``."""
        return self if backend.device_of(self.data) == "cpu" else self.to("cpu")

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    @property
    def constraint(self) -> Any:
        """The weight's constraint (Keras's ``variable.constraint``): the optimizer writes
        ``constraint(w)`` into the weight after each update of it; None (the default) for
        none. See :mod:`glassnet.constraints`."""
        return getattr(self, "_constraint", None)

    @constraint.setter
    def constraint(self, value: Any) -> None:
        from . import constraints

        self._constraint = constraints.get(value)
        Tensor._constraint_version += 1

    @property
    def T(self) -> Tensor:
        return ops.transpose(self)

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __repr__(self) -> str:
        body = np.array2string(
            backend.asnumpy(self.data), precision=4, separator=", ", threshold=20,
            prefix="tensor(",
        )
        extra = f", dtype={self.dtype}" if self.dtype != np.float32 else ""
        if self.requires_grad:
            extra += ", requires_grad=True"
        if self._ctx is not None:
            extra += f", op={self._ctx.name}"
        if self.name:
            extra += f", name={self.name!r}"
        return f"tensor({body}{extra})"

    def _repr_html_(self) -> str:
        """Jupyter: shape, dtype, a value preview and the gradient as an HTML table."""
        from ._display import tensor_repr_html

        return tensor_repr_html(self)

    # ------------------------------------------------------------ autograd
    def backward(self, grad: TensorLike | None = None, retain_graph: bool = False) -> None:
        """Fill ``.grad`` of every tensor this one depends on (see ``autograd.backward``)."""
        autograd.backward(self, grad, retain_graph)

    def zero_grad(self) -> None:
        """Forget the accumulated gradient."""
        self.grad = None

    def detach(self) -> Tensor:
        """Same data, cut from the graph."""
        return Tensor._make(self.data)

    def requires_grad_(self, flag: bool = True) -> Tensor:
        self.requires_grad = bool(flag)
        return self

    def numpy(self) -> np.ndarray:
        """The value as a NumPy array (copied to the host from a GPU)."""
        tape = autograd._state.tape
        if tape is not None:  # Python code reading a value may branch on it: no replay
            tape.value_read(self)
        return backend.asnumpy(self.data)

    def item(self) -> float:
        if self.data.size != 1:
            raise ValueError(f"item() needs a one-element tensor. Received: shape {self.shape}")
        tape = autograd._state.tape
        if tape is not None:
            tape.value_read(self)
        return self.data.reshape(()).item()

    def tolist(self) -> Any:
        return self.numpy().tolist()

    @property
    def _keras_mask(self) -> Any:
        """The (batch, timesteps) mask a masking layer attached (Keras's name), or None."""
        return getattr(self, "_mask", None)

    @_keras_mask.setter
    def _keras_mask(self, mask: Any) -> None:
        self._mask = mask

    # ------------------------------------------------------------ in-place updates (Keras)
    def assign(self, value: Any) -> Tensor:
        """Write ``value`` into this tensor's array in place (Keras's
        ``Variable.assign``): a layer's or metric's running state. The array stays the
        same object (an optimizer's view of it stays valid); not differentiated, and a
        step that assigns is run the ordinary way, never replayed.

        Args:
            value: a tensor, array or number broadcastable to this tensor's shape.

        Example:
            >>> t = gn.tensor([1.0, 2.0])
            >>> t.assign_add([1.0, 1.0]).numpy()
            array([2., 3.], dtype=float32)
        """
        return self._assign(value, None)

    def assign_add(self, delta: Any) -> Tensor:
        """``self += delta`` in place (see :meth:`assign`)."""
        return self._assign(delta, "add")

    def assign_sub(self, delta: Any) -> Tensor:
        """``self -= delta`` in place (see :meth:`assign`)."""
        return self._assign(delta, "sub")

    def _assign(self, value: Any, how: str | None) -> Tensor:
        tape = autograd._state.tape
        if tape is not None:  # a side effect the replayed ops would not repeat
            tape.fail(f"tensor {self.name or ''!s} is assigned to inside the step")
        v = value.data if isinstance(value, Tensor) else value
        xp = backend.get_array_module(self.data)
        v = xp.asarray(v)
        try:
            target = xp.broadcast_shapes(v.shape, self.data.shape)
        except ValueError:
            target = None
        if target != self.data.shape:
            raise ValueError(f"assign: a value of shape {v.shape} does not fit a tensor of "
                             f"shape {self.data.shape}")
        if how is None:
            self.data[...] = v
        elif how == "add":
            self.data += v.astype(self.data.dtype, copy=False)
        else:
            self.data -= v.astype(self.data.dtype, copy=False)
        return self

    def to(self, device: str) -> Tensor:
        """A copy on ``'cpu'`` or ``'gpu'`` (a leaf keeps ``requires_grad``)."""
        t = Tensor._make(backend.to_device(self.data, device))
        t.requires_grad = self.requires_grad
        t.name = self.name
        return t

    def astype(self, dtype: DTypeLike) -> Tensor:
        return ops.cast(self, dtype)

    def __array__(self, dtype: DTypeLike | None = None, copy: bool | None = None) -> np.ndarray:
        a = self.numpy()
        return a.astype(dtype) if dtype is not None else a

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        return bool(self.item())

    __hash__ = object.__hash__

    # ------------------------------------------------------------ arithmetic
    def __add__(self, o: Any) -> Tensor:
        return ops.add(self, o)

    def __radd__(self, o: Any) -> Tensor:
        return ops.add(o, self)

    def __sub__(self, o: Any) -> Tensor:
        return ops.sub(self, o)

    def __rsub__(self, o: Any) -> Tensor:
        return ops.sub(o, self)

    def __mul__(self, o: Any) -> Tensor:
        return ops.mul(self, o)

    def __rmul__(self, o: Any) -> Tensor:
        return ops.mul(o, self)

    def __truediv__(self, o: Any) -> Tensor:
        return ops.div(self, o)

    def __rtruediv__(self, o: Any) -> Tensor:
        return ops.div(o, self)

    def __pow__(self, o: Any) -> Tensor:
        return ops.pow(self, o)

    def __rpow__(self, o: Any) -> Tensor:
        return ops.pow(o, self)

    def __neg__(self) -> Tensor:
        return ops.neg(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return ops.abs(self)

    def __matmul__(self, o: Any) -> Tensor:
        return ops.matmul(self, o)

    def __rmatmul__(self, o: Any) -> Tensor:
        return ops.matmul(o, self)

    def __getitem__(self, idx: Any) -> Tensor:
        return ops.getitem(self, idx)

    # comparisons: non-differentiable float tensors of 0/1 ... as bool data
    def __lt__(self, o: Any) -> Tensor:
        return ops.less(self, o)

    def __le__(self, o: Any) -> Tensor:
        return ops.less_equal(self, o)

    def __gt__(self, o: Any) -> Tensor:
        return ops.greater(self, o)

    def __ge__(self, o: Any) -> Tensor:
        return ops.greater_equal(self, o)

    def eq(self, o: Any) -> Tensor:
        """Elementwise ``==`` (a non-differentiable bool tensor)."""
        return ops.equal(self, o)

    # elementwise, as Keras's and PyTorch's tensors (a metric's ``y_true == y_pred``); the
    # hash stays the object's, so a tensor in a dict or set is found by identity. A list
    # is searched with `is`, never `in` (several-element truth values raise)
    def __eq__(self, o: Any) -> Tensor:  # type: ignore[override]
        return ops.equal(self, o)

    def __ne__(self, o: Any) -> Tensor:  # type: ignore[override]
        return ops.not_equal(self, o)

    def ne(self, o: Any) -> Tensor:
        return ops.not_equal(self, o)

    # & | ^ ~ as Keras's (PyTorch's) tensors: logical on bool tensors (a mask's
    # ``(y > 0) & (p > 0)``), bitwise on integers; no gradient
    def __and__(self, o: Any) -> Tensor:
        return _bitwise("&", "bitwise_and", self, o)

    def __rand__(self, o: Any) -> Tensor:
        return _bitwise("&", "bitwise_and", o, self)

    def __or__(self, o: Any) -> Tensor:
        return _bitwise("|", "bitwise_or", self, o)

    def __ror__(self, o: Any) -> Tensor:
        return _bitwise("|", "bitwise_or", o, self)

    def __xor__(self, o: Any) -> Tensor:
        return _bitwise("^", "bitwise_xor", self, o)

    def __rxor__(self, o: Any) -> Tensor:
        return _bitwise("^", "bitwise_xor", o, self)

    def __invert__(self) -> Tensor:
        return _bitwise("~", "bitwise_invert", self)

    # ------------------------------------------------------------ methods
    def sum(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return ops.sum(self, axis, keepdims)

    def mean(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return ops.mean(self, axis, keepdims)

    def max(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return ops.max(self, axis, keepdims)

    def min(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return ops.min(self, axis, keepdims)

    def var(self, axis: Axis = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
        return ops.var(self, axis, keepdims, ddof)

    def std(self, axis: Axis = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
        return ops.std(self, axis, keepdims, ddof)

    def argmax(self, axis: int | None = None) -> Tensor:
        return ops.argmax(self, axis)

    def argmin(self, axis: int | None = None) -> Tensor:
        return ops.argmin(self, axis)

    def reshape(self, *shape: Any) -> Tensor:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return ops.reshape(self, shape)

    def flatten(self, start_dim: int = 0) -> Tensor:
        return ops.flatten(self, start_dim)

    def transpose(self, *axes: Any) -> Tensor:
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return ops.transpose(self, axes or None)

    def permute(self, *axes: Any) -> Tensor:
        return self.transpose(*axes)

    def swapaxes(self, a: int, b: int) -> Tensor:
        return ops.swapaxes(self, a, b)

    def expand_dims(self, axis: int | Sequence[int]) -> Tensor:
        return ops.expand_dims(self, axis)

    def squeeze(self, axis: int | None = None) -> Tensor:
        return ops.squeeze(self, axis)

    def broadcast_to(self, shape: Sequence[int]) -> Tensor:
        return ops.broadcast_to(self, shape)

    def exp(self) -> Tensor:
        return ops.exp(self)

    def log(self) -> Tensor:
        return ops.log(self)

    def sqrt(self) -> Tensor:
        return ops.sqrt(self)

    def tanh(self) -> Tensor:
        return ops.tanh(self)

    def sigmoid(self) -> Tensor:
        return ops.sigmoid(self)

    def relu(self) -> Tensor:
        return ops.relu(self)

    def abs(self) -> Tensor:
        return ops.abs(self)

    def sign(self) -> Tensor:
        return ops.sign(self)

    def clip(self, lo: float | None, hi: float | None) -> Tensor:
        return ops.clip(self, lo, hi)


def set_mask(t: Tensor, mask: Any) -> None:
    """Attach a (batch, timesteps) boolean mask to a tensor (what Keras calls _keras_mask):
    kept on the tensor itself, so it lives and dies with it."""
    t._mask = mask


def _bitwise(symbol: str, name: str, *operands: Any) -> Tensor:
    """``a & b`` and its kin: logical for bool operands, bitwise for integers (NumPy's
    ufuncs do both); floats are refused with the operator's name."""
    for a in operands:
        kind = np.asarray(a.data if isinstance(a, Tensor) else a).dtype.kind
        if kind not in "biu":
            raise TypeError(f"'{symbol}' needs bool or integer tensors (logical or bitwise "
                            f"operation). Received: an operand of dtype kind {kind!r}; "
                            "compare first, e.g. (x > 0) & (y > 0)")
    return cast(Tensor, getattr(ops, name)(*operands))


def get_mask(t: Any) -> Any:
    """The mask a masking layer attached to ``t`` (an array or, from a user, a tensor), or
    None (also for anything that is not a tensor).

    Example:
        >>> t = tensor([[1.0]]); set_mask(t, np.array([[True]])); get_mask(t)
        array([[ True]])
    """
    return getattr(t, "_mask", None) if isinstance(t, Tensor) else None


def _to_array(data: Any, dtype: DTypeLike | None = None) -> Any:
    if isinstance(data, Tensor):
        data = data.data
    xp = backend.get_array_module(data)
    if dtype is not None:
        return xp.asarray(data, dtype=dtype)
    if isinstance(data, (np.ndarray,)) or backend.is_gpu_array(data):
        if data.dtype == backend.floatx():
            return data
        if data.dtype.kind in "biuf":
            return data.astype(backend.floatx())
        if data.dtype.kind == "O" or data.dtype.kind in "USV":
            raise TypeError(
                "tensor(): data must be numeric. Received: array of dtype "
                f"{data.dtype}"
            )
        return data.astype(backend.floatx())
    try:
        a = np.asarray(data)
    except (ValueError, TypeError) as e:
        raise TypeError(f"tensor(): cannot convert data to an array ({e})") from None
    if a.dtype.kind not in "biuf":
        raise TypeError(
            f"tensor(): data must be numeric. Received: {type(data).__name__} of dtype {a.dtype}"
        )
    return a.astype(backend.floatx(), copy=False)


def tensor(data: TensorLike, requires_grad: bool = False, dtype: DTypeLike | None = None,
           name: str | None = None) -> Tensor:
    """Make a :class:`Tensor` (float32 unless ``dtype`` says otherwise).

    Example:
        >>> x = gn.tensor(1.0, requires_grad=True)
    """
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, name=name)


def as_tensor(x: TensorLike, like: Tensor | None = None) -> Tensor:
    """Wrap a constant; Python/NumPy numbers take the dtype of ``like`` (no upcasting)."""
    if isinstance(x, Tensor):
        return x
    if like is not None:
        xp = backend.get_array_module(like.data)
        if isinstance(x, (numbers.Number, np.generic)) or (
            hasattr(x, "dtype") and x.dtype.kind in "biuf"
        ):
            t = Tensor._make(xp.asarray(x, dtype=like.data.dtype))
        else:
            t = Tensor._make(xp.asarray(np.asarray(x), dtype=like.data.dtype))
    else:
        t = Tensor(x)
    tape = autograd._state.tape
    if tape is not None and _python_literal(x):  # a number of the code: a constant
        tape.constant(t)
    return t


def _python_literal(x: Any) -> bool:
    """Whether ``x`` is a Python number or a (nested) list or tuple of them."""
    if isinstance(x, (list, tuple)):
        return all(_python_literal(v) for v in x)
    return isinstance(x, (bool, int, float, complex))


autograd._install_tensor(Tensor, as_tensor)

from . import ops  # noqa: E402  (methods above call into ops at run time)
