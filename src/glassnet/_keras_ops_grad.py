"""Keras 3's ``keras.ops.custom_gradient``: a function whose backward the program writes.

The decorated function returns ``(outputs, grad_fn)``; its forward runs without recording
(the program's own ops are not part of the graph), and backward calls ``grad_fn`` on the
gradient of the output as Keras's PyTorch backend calls it, ``grad_fn(*inputs,
upstream=dy)``, where it takes the keyword ``upstream`` (the docs' ``def grad(*args,
upstream=None)``), else as TensorFlow and JAX call it, ``grad_fn(dy)``. One
:class:`CustomGradient` node stands for the whole call, so a recorded step replays it like
any op: the function runs again on each replay, and so does its fresh ``grad_fn``. Part of
:mod:`glassnet.keras_ops`.

Example:
    >>> from glassnet import ops
    >>> @custom_gradient
    ... def log1pexp(x):
    ...     e = ops.exp(x)
    ...     def grad(*args, upstream=None):
    ...         if upstream is None:
    ...             (upstream,) = args
    ...         return ops.multiply(upstream, 1.0 - 1.0 / ops.add(1, e))
    ...     return ops.log(1 + e), grad
    >>> x = gn.tensor(np.array([100.0]), requires_grad=True)
    >>> y = log1pexp(x); y.backward(); x.grad.tolist()   # e/(1+e) would give inf/inf
    [1.0]
"""

from __future__ import annotations

import functools
import inspect
from typing import TYPE_CHECKING, Any

from . import autograd, backend
from .autograd import Function, no_grad
from .tensor import Tensor, as_tensor

if TYPE_CHECKING:
    from collections.abc import Callable

__all__: list[str] = ["custom_gradient"]


def _array(v: Any, like: Any) -> Any:
    """The raw array of a tensor, or of anything array-like, on ``like``'s device."""
    if isinstance(v, Tensor):
        return v.data
    return backend.get_array_module(like).asarray(v, dtype=like.dtype)


def _takes_upstream(fn: Callable[..., Any]) -> bool:
    """Whether ``grad_fn`` takes the gradient as the keyword ``upstream`` (or any keyword):
    then it is called as Keras's PyTorch backend calls it, with the inputs by position."""
    try:
        ps = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature: positional
        return False
    return any(p.name == "upstream" and p.kind is not p.POSITIONAL_ONLY
               or p.kind is p.VAR_KEYWORD for p in ps)


class CustomGradient(Function):
    """One call of a :func:`custom_gradient` function: its forward value, and its
    ``grad_fn`` as the backward (shapes: the function's own)."""

    def __init__(self, fn: Callable[..., Any], kwargs: dict[str, Any]) -> None:
        self.fn, self.kwargs = fn, kwargs

    def _run(self, call: Callable[[], Any]) -> Any:
        # the function's own ops are neither graph nor tape: this node stands for them
        state = autograd._state
        tape, state.tape = state.tape, None
        try:
            with no_grad():
                return call()
        finally:
            state.tape = tape

    def forward(self, *xs: Any) -> Any:
        out = self._run(lambda: self.fn(*[Tensor._make(x) for x in xs], **self.kwargs))
        if not (isinstance(out, (tuple, list)) and len(out) == 2 and callable(out[1])):
            raise TypeError(f"custom_gradient: {getattr(self.fn, '__name__', self.fn)!r} "
                            "must return (outputs, grad_fn). Received: "
                            f"{type(out).__name__}")
        y, self.grad_fn = out
        self.xs = xs
        return _array(y, xs[0]) if xs else as_tensor(y).data

    def backward(self, gy: Any) -> Any:
        up = Tensor._make(gy)
        fn = self.grad_fn
        if _takes_upstream(fn):  # Keras's PyTorch backend: grad_fn(*inputs, upstream=dy)
            xs = [Tensor._make(x) for x in self.xs]
            g = self._run(lambda: fn(*xs, upstream=up))
        else:  # TensorFlow's and JAX's: grad_fn(dy)
            g = self._run(lambda: fn(up))
        gs = tuple(g) if isinstance(g, (tuple, list)) else (g,)
        n = len(self.needs_input_grad)
        if len(gs) != n:
            raise ValueError(f"custom_gradient: the grad_fn of "
                             f"{getattr(self.fn, '__name__', self.fn)!r} returned {len(gs)} "
                             f"gradient(s) for {n} input(s)")
        out = tuple(None if v is None else _array(v, gy) for v in gs)
        return out if n > 1 else out[0]


def custom_gradient(f: Callable[..., Any]) -> Callable[..., Tensor]:
    """Decorate ``f(*tensors, **kwargs) -> (outputs, grad_fn)``: calls of the result give
    ``outputs``, and gradients flow back through ``grad_fn``, which returns one gradient
    per positional input (keras.ops.custom_gradient). ``grad_fn(*inputs, upstream=dy)``
    where it takes the keyword ``upstream``, else ``grad_fn(dy)``.

    Shapes: ``grad_fn`` gets the gradient of the output (the output's shape) and returns
    each input's gradient in that input's shape.

    Example:
        >>> @custom_gradient
        ... def reverse(x):            # a gradient reversal layer's op
        ...     return x * 1.0, lambda up: -up
    """

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Tensor:
        return CustomGradient(f, kwargs)(*args)

    return wrapper
