"""Record a step's ``Function`` calls once, replay them on new arrays (``jit_compile``).

The idea is Chainer's ``static_graph`` (and tinygrad's ``TinyJit``): a model's step makes
the same calls in the same order every time its inputs have the same signature (shapes,
dtypes, training flag, device). So the first step runs as usual — layers, ``Tensor`` s, the
graph — while a :class:`Tape` watches every ``Function`` call. :meth:`Tape.compile` turns
what it saw into a :class:`~glassnet._program.Program`: a flat list of the very same
``Function`` objects with integer slots for their inputs and outputs. Replaying calls each
one's ``forward`` on raw arrays, and ``backward`` newest first, with none of the per-step
Python around them (no layer calls, no tensors, no topological sort, no fan-out
dictionary). Same functions, same arrays, same order: the replayed step is bit for bit the
recorded one.

A replay is only right when nothing outside the recorded calls changes between steps, so
the tape refuses (and the step runs the ordinary way) when it sees:

- an array entering an op that no op produced and that is neither a feed (the step's
  inputs), a weight of the model, nor a literal of the code (``x * 2.0``) or a constant
  declared by the library (:func:`constant`, e.g. a recurrent layer's zero state): such an
  array was computed in Python — noise, a value derived from the data — and would be stale
  on replay (a tensor that merely wraps an array an op made again, such as a mask, is that
  op's output);
- an op configured with an array (``Function.__init__`` got data), unless its class says
  the array depends only on shapes (``replay_config = True``) or an earlier op of the step
  made that very array (a padding mask from the batch's ids): a replay then hands the op
  the array that op makes afresh (the attribute is set again before each call);
- Python reading a value (``Tensor.item()``, ``numpy()``, ``float(t)``, ``bool(t)``): the
  code may branch on it — unless the value is a constant of the signature: a declared
  constant, a literal, or what ops that draw nothing made from constants alone (a causal
  mask built with ``ops.arange``, a ``tile`` count taken from a shape);
- a layer that declares it cannot be replayed (``Layer._replay_blocker``: stateful RNNs,
  augmentation's per-sample transforms).

Randomness stays fresh: dropout and noise draw inside their ops' ``forward``, which a
replay calls again.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from . import autograd, backend
from .autograd import Function

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence

    from typing_extensions import Self

    from ._program import Program
    from .tensor import Tensor

    # (fn, input slots, output slot, the keys of fn.__dict__ before it ran)
    _Node = tuple[Function, tuple[int, ...], int, frozenset[str]]

__all__: list[str] = []

_FEED, _VAR, _CONST, _NODE = 0, 1, 2, 3


def constant(t: Tensor) -> Tensor:
    """Declare tensor ``t`` a constant of the current step's signature (returns ``t``).

    For arrays the library makes in Python that depend only on shapes, e.g. a recurrent
    layer's zero initial state; without a tape recording this costs one attribute read.
    """
    tape = autograd._state.tape
    if tape is not None:
        tape.constant(t)
    return t


def constant_array(a: Any) -> Any:
    """Declare array ``a``, made in Python to configure an op (gather indices), a function
    of the step's shapes only, so the op may be replayed with it (returns ``a``)."""
    tape = autograd._state.tape
    if tape is not None:
        tape.const_arrays[id(a)] = a  # kept: its id stays unique while recording
    return a


def not_replayable(reason: str) -> None:
    """Tell the recording tape (if any) that this step must not be replayed, and why.

    For layers whose call has Python side effects a replay would skip, e.g. a stateful
    recurrent layer carrying its state from batch to batch.
    """
    tape = autograd._state.tape
    if tape is not None:
        tape.fail(reason)


@contextlib.contextmanager
def _paused_tape() -> Iterator[None]:
    """No tape records inside (an op's own Python must not land on the outer tape)."""
    st = autograd._state
    prev, st.tape = st.tape, None
    try:
        yield
    finally:
        st.tape = prev


class Eager(Function):
    """Run ``fn`` (a Python function of tensors) as ONE op, afresh at every call and replay.

    For layers whose step is Python that a tape cannot see through — augmentation drawing
    random transforms per image — so the rest of the model still replays: the op's forward
    calls ``fn`` on its inputs (with the tape paused, its inner ops are not recorded), and
    its backward backpropagates through the graph ``fn`` built. ``fn`` must return a tensor.
    """

    # set by forward, read by backward, which drops them (None) as the eager graph does
    leaves: list[Tensor]
    out: Tensor
    random = True  # fn may draw (augmentation)

    def __init__(self, fn: Callable[..., Tensor]) -> None:
        self.fn = fn

    def forward(self, *xs: Any) -> Any:
        with _paused_tape():
            grad = autograd._state.grad
            self.leaves = []
            for a in xs:
                t = autograd._Tensor._make(a)
                t.requires_grad = grad and a.dtype.kind == "f"
                self.leaves.append(t)
            self.out = self.fn(*self.leaves)
        return self.out.data

    def backward(self, gy: Any) -> Any:
        out = self.out
        grads: tuple[Any, ...] | None = None
        if out.requires_grad:
            out.backward(gy)
            grads = tuple(t.grad for t in self.leaves)
        self.out = self.leaves = None  # type: ignore[assignment]  # released after use
        if grads is None:
            return (None,) * len(self.needs_input_grad) if len(self.needs_input_grad) > 1 \
                else None
        return grads if len(grads) > 1 else grads[0]

    @property
    def name(self) -> str:
        return f"Eager({getattr(self.fn, '__qualname__', 'fn')})"


class Pure(Function):
    """A non-differentiable function of arrays as ONE recorded op: ``fn(*arrays) -> array``.

    For layers that map their input in Python — string lookups, text vectorization,
    hashing — so a replayed step maps each batch afresh (the tape paused inside, so nothing
    ``fn`` calls is recorded). No gradient flows through it (its inputs are data, not
    weights).
    """

    random = True  # fn may draw (a recurrent dropout mask)
    differentiable = False

    def __init__(self, fn: Callable[..., Any], rows: bool = False) -> None:
        self.fn = fn
        # rows: fn computes each sample's result from that sample alone, and draws nothing
        # (a padding mask: glassnet._split may cut the batch)
        self.rows = rows
        if rows:
            self.random = False

    def forward(self, *xs: Any) -> Any:
        with _paused_tape():
            return self.fn(*xs)

    def rows_apart(self, shapes: list[tuple[int, ...]], batched: list[bool],
                   out: tuple[int, ...]) -> bool:
        # (its axes may change past axis 0: a mask's steps as (B, T, 1) weights)
        return (self.rows and len(out) > 0 and all(batched)
                and all(len(sh) > 0 and sh[0] == out[0] for sh in shapes))

    def backward(self, gy: Any) -> Any:
        n = len(self.needs_input_grad)
        return (None,) * n if n > 1 else None


def _is_array(v: Any) -> bool:
    return isinstance(v, np.ndarray) and v.ndim > 0 or backend.is_gpu_array(v)


class Tape:
    """Watches one forward pass (``with tape:``) and compiles it into a :class:`Program`.

    Args:
        feeds: the step's input tensors, in the order :meth:`Program.forward` takes arrays.
        variables: every weight of the model (trainable or not): read afresh on replay.
    """

    def __init__(self, feeds: Iterable[Tensor], variables: Iterable[Tensor]) -> None:
        self.slot: dict[int, int] = {}
        self.keep: list[Tensor] = []  # tensor per slot: ids stay unique while recording
        # per slot: (_FEED, k) | (_VAR, t) | (_CONST, a) | (_NODE, i)
        self.kind: list[tuple[int, Any]] = []
        self.nodes: list[_Node] = []  # (fn, input slots, output slot, config keys)
        self.producer: dict[int, int] = {}   # id(output tensor) -> node index
        variables = list(variables)
        self.vars = {id(v): v for v in variables}
        self.n_vars = len(variables)  # a model built during the recording has more after
        self.consts: set[int] = set()  # id(tensor) of the constants
        self.const_slots: set[int] = set()  # their slots, and those of ops of constants
        self.const_arrays: dict[int, Any] = {}  # arrays declared shape-only configuration
        self.no_grad_nodes: set[int] = set()
        # id(array) -> slot for every array an op made: a mask rides on tensors as a bare
        # array, and re-wrapped or handed to an op as its configuration it is still known
        self.made: dict[int, int] = {}
        # node index -> [(attribute, slot)]: configuration a replay sets before the call
        self.patches: dict[int, list[tuple[str, int]]] = {}
        self._patch: list[tuple[str, int]] = []
        self._alive: list[Tensor] = []
        self.reason: str | None = None
        # fn.__dict__'s keys: before() sets them ahead of each record()
        self._cfg: frozenset[str] = None  # type: ignore[assignment]  # unset until before()
        self._prev: Tape | None = None
        for k, t in enumerate(feeds):
            s = self._new_slot(t, (_FEED, k))
            if _is_array(t.data):  # a feed's array is known too (a loss op's targets)
                self.made[id(t.data)] = s

    # ---------------------------------------------------------------- recording
    def __enter__(self) -> Self:
        self._prev = autograd._state.tape
        autograd._state.tape = self
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        autograd._state.tape = self._prev
        return False

    def fail(self, reason: str) -> None:
        """Mark the step as not replayable (the first reason is kept for messages)."""
        if self.reason is None:
            self.reason = reason

    def constant(self, t: Tensor) -> None:
        if id(t) not in self.slot:
            self.consts.add(id(t))
            self._alive.append(t)  # keep it alive so its id is not reused

    def value_read(self, t: Tensor) -> None:
        if id(t) not in self.consts:
            self.fail("Python code read a tensor's value (item(), numpy(), float(), bool()) "
                      "during the step and may branch on it")

    def before(self, fn: Function) -> None:
        d = fn.__dict__
        self._cfg = frozenset(d)
        self._patch = []
        if not getattr(fn, "replay_config", False):
            for k, v in d.items():
                s = self._made_slot(v)
                if s is not None:  # an earlier op's output
                    self._patch.append((k, s))
                elif _is_array(v) and id(v) not in self.const_arrays or isinstance(
                        v, (list, tuple)) and any(map(self._python_array, v)):
                    self.fail(f"op {fn.name} was configured with an array computed in Python")
                    break

    def _python_array(self, v: Any) -> bool:
        return _is_array(v) and id(v) not in self.const_arrays

    def _new_slot(self, t: Tensor, kind: tuple[int, Any]) -> int:
        s = len(self.kind)
        self.slot[id(t)] = s
        self.keep.append(t)
        self.kind.append(kind)
        return s

    def _external(self, t: Tensor, fn: Function) -> int:
        k = id(t)
        if k in self.vars:
            return self._new_slot(t, (_VAR, t))
        s = self._made_slot(t.data)
        if s is not None:  # a new tensor around an op's output (a mask): that output
            self.slot[k] = s
            self._alive.append(t)  # keep it alive so its id is not reused
            return s
        if k not in self.consts:
            self.fail(f"op {fn.name} got an array made outside an op (a mask, noise or a "
                      "value computed in Python)")
        s = self._new_slot(t, (_CONST, t.data))
        self.const_slots.add(s)
        return s

    def record(self, fn: Function, ts: Sequence[Tensor], out: Tensor) -> None:
        slot = self.slot
        ins = tuple(slot[id(t)] if id(t) in slot else self._external(t, fn) for t in ts)
        i = len(self.nodes)
        self.producer[id(out)] = i
        s = self._new_slot(out, (_NODE, i))
        self.nodes.append((fn, ins, s, self._cfg | {"needs_input_grad", "_seq", "grad_out"}))
        if _is_array(out.data):
            self.made[id(out.data)] = s
        # an op that draws nothing, of constants only (inputs and any configuration an
        # earlier op made), makes a constant: Python may read it
        cs = self.const_slots
        if (ins and not fn.random and all(i in cs for i in ins)
                and all(p in cs for _, p in self._patch)):
            cs.add(s)
            self.consts.add(id(out))
        if self._patch:
            self.patches[i] = self._patch
            self._patch = []
        if not autograd._state.grad:  # inside no_grad: this op's output carries no gradient
            self.no_grad_nodes.add(i)

    def made_tensor(self, a: Any) -> Tensor | None:
        """The tensor whose array ``a`` is (an op's output, e.g. a mask made from the
        batch), or None where no recorded op made it."""
        s = self._made_slot(a)
        return None if s is None else self.keep[s]

    def _made_slot(self, a: Any) -> int | None:
        s = self.made.get(id(a))
        # the very array (an id alone could be a freed array's, reused)
        return s if s is not None and self.keep[s].data is a else None

    def producer_of(self, t: Tensor) -> tuple[Function, list[Tensor]] | None:
        """(Function, its input tensors) that made ``t`` during the recording, or None."""
        i = self.producer.get(id(t))
        if i is None:
            return None
        fn, ins, _, _ = self.nodes[i]
        return fn, [self.keep[s] for s in ins]

    # ---------------------------------------------------------------- compiling
    def compile(self, outputs: Sequence[Tensor], seeds: Sequence[Tensor] = (),
                params: Sequence[Tensor] = ()) -> Program | None:
        """A :class:`Program` computing ``outputs`` (tensors seen here), or None.

        ``seeds``: the outputs whose gradients :meth:`Program.backward` receives;
        ``params``: the trainable weights in the optimizer's order — the program returns a
        gradient for each of them that the seeds reach. None when the step cannot be
        replayed (``reason`` says why) or an output is not known to the tape.
        """
        if self.reason is not None:
            return None
        try:
            out_slots = [self.slot[id(t)] for t in outputs]
            seed_slots = [self.slot[id(t)] for t in seeds]
        except KeyError:
            self.fail("a model output was not made by an op")
            return None
        from ._program import Program

        return Program(self, out_slots, seed_slots, params)
