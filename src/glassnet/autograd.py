"""Autodiff engine: the ``Function`` base class, ``no_grad``, and ``backward()``.

``backward`` is the ONLY place that walks the graph. It sorts the graph topologically
without recursion (a chain of 100,000 ops is fine), calls each op's ``backward(gy)`` on raw
arrays, un-broadcasts every returned gradient to its input's shape and sums fan-out. Ops
never do either of those themselves.

Second ``backward()`` on the same graph: by default the first call *releases* the graph
(as PyTorch does) and a second call raises a ``RuntimeError`` that says so. Pass
``retain_graph=True`` to the first call to keep it; a later call then accumulates into
``.grad`` again, exactly like PyTorch.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from . import backend

if TYPE_CHECKING:
    from collections.abc import Callable

    from typing_extensions import Self

    from ._tape import Tape
    from ._typing import TensorLike
    from .tensor import Tensor


class _State(threading.local):
    """Per-thread engine state: grad mode, and the tape recording this thread's step (if
    any). Thread-local so that ``predict`` from several threads never sees another thread's
    ``no_grad`` or tape."""

    grad: bool = True
    tape: Tape | None = None


_state = _State()
# creation order of recorded nodes: backward visits them newest first, exactly as a
# replayed tape does (so fan-out sums add up in one order, and the two agree bit for bit)
_seq = itertools.count()


def is_grad_enabled() -> bool:
    """True unless inside :class:`no_grad`."""
    return _state.grad


class _GradMode(contextlib.ContextDecorator):
    _enabled = True

    def __enter__(self) -> Self:
        self._prev = _state.grad
        _state.grad = self._enabled
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        _state.grad = self._prev
        return False


class no_grad(_GradMode):
    """Context manager and decorator: record no graph (inference, optimizer updates).

    Example:
        >>> with gn.no_grad():
        ...     y = model(x)
    """

    _enabled = False


class enable_grad(_GradMode):
    """Context manager and decorator that turns graph recording back on."""

    _enabled = True


# tensor.py installs its class here when it is imported (it imports this module, never the
# reverse): Function.__call__ wraps raw results and literals without an import per call
if TYPE_CHECKING:
    _Tensor: type[Tensor]
    _as_tensor: Callable[..., Tensor]
else:
    _Tensor = None
    _as_tensor = None


def _install_tensor(tensor_cls: type[Tensor], as_tensor: Callable[..., Tensor]) -> None:
    global _Tensor, _as_tensor
    _Tensor, _as_tensor = tensor_cls, as_tensor


class Function:
    """One differentiable primitive: ``forward`` and ``backward`` side by side.

    Subclasses implement ``forward(*arrays) -> array`` (raw NumPy/CuPy arrays, saving on
    ``self`` what backward needs) and ``backward(gy) -> gx or (gx0, gx1, ...)``, one
    gradient per input (``None`` for inputs that need none). A gradient may have the
    broadcast shape of the output; the engine reduces it to the input's shape.
    Call an instance on tensors: ``Mul()(a, b)``. Non-tensor settings go to ``__init__``.

    Example:
        >>> class Square(Function):
        ...     def forward(self, x):
        ...         self.x = x
        ...         return x * x
        ...     def backward(self, gy):
        ...         return 2 * self.x * gy
    """

    inputs: tuple[Tensor, ...] = ()
    released = False
    _seq = -1
    # which inputs need a gradient; lets backward skip work (e.g. the GEMM for a data input)
    needs_input_grad: tuple[bool, ...] = ()
    # per input, an array a replayed step offers for that input's gradient (a view of the
    # optimizer's flat gradient buffer; None for no offer): backward may write the gradient
    # there and return that very array, saving the copy; ignoring the offer is always right
    grad_out: tuple[Any, ...] | None = None
    # forward draws random numbers (dropout, noise): never a constant, even of constants
    random = False
    # False: no gradient flows through the op (a lookup, a bucketing), so its output never
    # requires one, whatever its inputs do
    differentiable = True
    # which rows of the output depend on which (see rows_apart): True, element-wise (each
    # output element from the inputs' elements at its place, after broadcasting); "data",
    # a layer kernel computing each sample of its first input alone (the others are
    # weights); "axis", a reduction or normalisation over ``self.axis``, row by row where
    # that leaves axis 0 alone; False, the op says nothing (then it keeps a batch whole)
    rowwise: bool | Literal["data", "axis"] = False
    # the op's work is one matrix product, which the BLAS threads by itself (glassnet._split
    # does not count it as work a batch cut into slices would spread)
    gemm = False

    def rows_apart(self, shapes: list[tuple[int, ...]], batched: list[bool],
                   out: tuple[int, ...]) -> bool:
        """Whether row ``i`` of the output (axis 0) is computed from row ``i`` of the inputs
        that carry the batch on axis 0 (``batched``) and from the others whole, as recorded
        with input ``shapes`` and output shape ``out``: then an inference program may run
        its batch in slices, one per thread (:mod:`glassnet._split`). Default: what
        ``rowwise`` declares, where for element-wise ops an input without the batch must
        broadcast along axis 0 (a bias; not a (B, C) array of another batch). Ops with
        other rules override this; an op that mixes samples or draws random numbers
        answers False.

        Example:
            >>> from glassnet import ops
            >>> ops.Add().rows_apart([(4, 3), (3,)], [True, False], (4, 3))
            True
        """
        kind = self.rowwise
        if not kind or self.random:
            return False
        if kind == "data":
            return data_rows(batched)
        if kind == "axis":
            return off_rows(getattr(self, "axis", None), len(shapes[0]))
        return rows_aligned(shapes, batched, out)

    def __call__(self, *inputs: Any) -> Tensor:
        Tensor = _Tensor
        state = _state
        tape = state.tape
        # fast path: all inputs are already tensors (no conversion list)
        ts = inputs
        for a in inputs:
            if not isinstance(a, Tensor):
                like = next((b for b in inputs if isinstance(b, Tensor)), None)
                ts = tuple(b if isinstance(b, Tensor) else _as_tensor(b, like=like)
                           for b in inputs)
                if tape is not None:  # literals in the code (2.0, 0.5) are constants
                    for a, t in zip(inputs, ts):
                        if a is not t and np.ndim(a) == 0:
                            tape.constant(t)
                break
        if backend._cupy is not None and len(ts) > 1:
            devs = {backend.device_of(t.data) for t in ts}
            if len(devs) > 1:
                raise RuntimeError(
                    f"{self.name}: operands are on different devices; move them with "
                    f"`.to('gpu')`/`.to('cpu')` first. Received: "
                    f"{[backend.device_of(t.data) for t in ts]}"
                )
        if tape is not None:
            tape.before(self)
        y = self.forward(*[t.data for t in ts])
        out = Tensor._make(y)
        if state.grad and self.differentiable:
            for t in ts:
                if t.requires_grad:
                    self.inputs = ts
                    self.needs_input_grad = tuple(t.requires_grad for t in ts)
                    self._seq = next(_seq)
                    out.requires_grad = True
                    out._ctx = self
                    break
        if tape is not None:
            tape.record(self, ts, out)
        return out

    def forward(self, *xs: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, gy: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def name(self) -> str:
        return type(self).__name__

    def describe(self) -> str:
        """Short text for graph displays, e.g. ``Sum(axis=1)``; ops may override."""
        return self.name


def rows_aligned(shapes: list[tuple[int, ...]], batched: list[bool],
                 out: tuple[int, ...]) -> bool:
    """The inputs of an element-wise op line up with its output's rows: each batched input
    has the output's axis 0 (same rank, same length there), each other one broadcasts
    along it (fewer axes, or length 1 on axis 0).

    Example:
        >>> rows_aligned([(8, 3), (3,)], [True, False], (8, 3))  # a bias
        True
        >>> rows_aligned([(8, 3), (8, 3)], [True, False], (8, 3))  # another batch's rows
        False
    """
    if not out:
        return False
    for sh, b in zip(shapes, batched):
        if b:
            if len(sh) != len(out) or sh[0] != out[0]:
                return False
        elif len(sh) >= len(out) and sh[0] != 1:
            return False
    return True


def data_rows(batched: list[bool]) -> bool:
    """Only the first input (the data) carries the batch; the others (weights) do not: a
    layer kernel that computes each sample alone (a convolution, a pooling) is then
    :meth:`Function.rows_apart`.

    Example:
        >>> data_rows([True, False, False]), data_rows([True, True])
        (True, False)
    """
    return bool(batched) and batched[0] and not any(batched[1:])


def off_rows(axis: Any, ndim: int) -> bool:
    """An op's ``axis`` (an int, a sequence of them; None: all) leaves axis 0 alone.

    Example:
        >>> off_rows(-1, 2), off_rows((0, 1), 3), off_rows(None, 2)
        (True, False, False)
    """
    if axis is None:
        return False
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    return ndim > 0 and all(int(a) % ndim != 0 for a in axes)


def unbroadcast(g: Any, shape: tuple[int, ...]) -> Any:
    """Sum ``g`` down to ``shape`` (undo NumPy broadcasting)."""
    if g.shape == shape:
        return g
    xp = backend.get_array_module(g)
    if g.ndim == 0 or g.size == 1 and len(shape) and int(np.prod(shape)) != 1:
        return xp.broadcast_to(g.reshape(()), shape).copy()
    lead = g.ndim - len(shape)
    if lead < 0:
        return xp.broadcast_to(g, shape).copy()
    axes = tuple(range(lead)) + tuple(
        lead + i for i, s in enumerate(shape) if s == 1 and g.shape[lead + i] != 1
    )
    if axes == tuple(range(lead)) and lead:  # a bias broadcast over the batch: one GEMV
        return backend.sum_leading(g, lead).reshape(shape)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)


def _toposort(root: Tensor) -> list[Tensor]:
    """Iterative post-order DFS: tensors in topological order (inputs before outputs)."""
    order: list[Tensor] = []
    expanded: set[int] = set()
    stack = [(root, False)]
    while stack:
        t, done = stack.pop()
        if done:
            order.append(t)
            continue
        # mark when expanded, not when pushed: a node pushed early by one parent must still
        # finish after every node that reaches it later (x * sigmoid(x) needs sigmoid first)
        if id(t) in expanded:
            continue
        expanded.add(id(t))
        stack.append((t, True))
        ctx = t._ctx
        if ctx is not None:
            for i in ctx.inputs:
                if i.requires_grad and id(i) not in expanded:
                    stack.append((i, False))
    return order


def _node_seq(t: Tensor) -> int:
    ctx = t._ctx
    return -1 if ctx is None else ctx._seq


def backward(root: Tensor, grad: TensorLike | None = None, retain_graph: bool = False) -> None:
    """Backpropagate from ``root``: fill ``.grad`` of every tensor that requires one.

    Args:
        root: the tensor to differentiate (usually a scalar loss).
        grad: seed gradient of ``root``'s shape; optional only when ``root`` is a scalar.
        retain_graph: keep the graph so ``backward`` may run again (gradients accumulate).
    """
    if not root.requires_grad:
        raise RuntimeError(
            "backward(): this tensor does not require grad and has no graph. Create the "
            "inputs with requires_grad=True (and not inside gn.no_grad())."
        )
    xp = backend.get_array_module(root.data)
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(
                "backward(): grad can be implied only for scalar outputs; pass a seed "
                f"gradient of the output's shape. Received: output shape {root.shape}"
            )
        g0 = xp.ones(root.data.shape, root.data.dtype)  # ones_like's Python wrapper costs ~1 µs
    else:
        g0 = (grad.data if isinstance(grad, _Tensor)
              else xp.asarray(grad, dtype=root.data.dtype))
        if g0.shape != root.shape:
            raise ValueError(
                f"backward(): grad must have the output's shape {root.shape}. "
                f"Received: grad shape {g0.shape}"
            )
    order = _toposort(root)
    # newest node first: the order a recorded tape runs backward in (see _seq)
    order.sort(key=_node_seq)
    grads = {id(root): g0}
    debug = backend.is_debug()
    for t in reversed(order):
        g = grads.pop(id(t), None)
        if g is None:
            continue
        ctx = t._ctx
        if t.grad is not None:  # leaves accumulate; interior nodes too on reuse
            t.grad = t.grad + g
        elif ctx is None and not getattr(g.flags, "writeable", True):
            # a leaf's grad goes to users and optimizers: never a read-only broadcast view
            t.grad = g.copy()
        else:
            t.grad = g
        if ctx is None:
            continue
        if ctx.released:
            raise RuntimeError(
                f"backward(): the graph through {ctx.name} was already backpropagated and "
                "released. Call backward(retain_graph=True) the first time to run it twice."
            )
        gxs = ctx.backward(g)
        if not isinstance(gxs, tuple):
            gxs = (gxs,)
        for inp, gx in zip(ctx.inputs, gxs):
            if gx is None or not inp.requires_grad:
                continue
            if gx.shape != inp.data.shape:
                if debug:
                    _check_broadcastable(ctx, inp, gx)
                gx = unbroadcast(gx, inp.data.shape)
            if gx.dtype != inp.data.dtype:
                # a mixed-dtype op (float32 * float64) promotes; its gradient goes back in the
                # input's dtype, as in PyTorch. An op that changes the dtype by itself is a bug.
                if debug and gx.dtype != g.dtype:
                    _check(ctx, inp, gx)
                gx = gx.astype(inp.data.dtype)
            if debug:
                _check(ctx, inp, gx)
            k = id(inp)
            prev = grads.get(k)
            grads[k] = gx if prev is None else prev + gx
        if not retain_graph:
            ctx.released = True


def _check_broadcastable(ctx: Function, inp: Tensor, gx: Any) -> None:
    """A gradient must be the input's shape broadcast up (or down); anything else is a bug."""
    b: tuple[int, ...] | None
    try:
        b = np.broadcast_shapes(gx.shape, inp.data.shape)
    except ValueError:
        b = None
    if b not in (gx.shape, inp.data.shape):
        raise RuntimeError(
            f"debug: {ctx.describe()} returned a gradient of shape {gx.shape} for an input "
            f"of shape {inp.data.shape}"
        )


def _check(ctx: Function, inp: Tensor, gx: Any) -> None:
    xp = backend.get_array_module(gx)
    if gx.shape != inp.data.shape:
        raise RuntimeError(
            f"debug: {ctx.describe()} returned a gradient of shape {gx.shape} for an input "
            f"of shape {inp.data.shape}"
        )
    if gx.dtype != inp.data.dtype:
        raise RuntimeError(
            f"debug: {ctx.describe()} returned a {gx.dtype} gradient for a "
            f"{inp.data.dtype} input of shape {inp.data.shape}"
        )
    if not bool(xp.all(xp.isfinite(gx))):
        raise FloatingPointError(
            f"debug: {ctx.describe()} produced a non-finite gradient (NaN/Inf) for its input "
            f"of shape {inp.data.shape}"
        )
