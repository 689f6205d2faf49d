"""Record a step's ``Function`` calls once, replay them on new arrays (``jit_compile``).

The idea is Chainer's ``static_graph`` (and tinygrad's ``TinyJit``): a model's step makes
the same calls in the same order every time its inputs have the same signature (shapes,
dtypes, training flag, device). So the first step runs as usual — layers, ``Tensor`` s, the
graph — while a :class:`Tape` watches every ``Function`` call. :meth:`Tape.compile` turns
what it saw into a :class:`Program`: a flat list of the very same ``Function`` objects with
integer slots for their inputs and outputs. Replaying calls each one's ``forward`` on raw
arrays, and ``backward`` newest first, with none of the per-step Python around them (no
layer calls, no tensors, no topological sort, no fan-out dictionary). Same functions, same
arrays, same order: the replayed step is bit for bit the recorded one.

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
from ._split import batch_rows
from .autograd import Function, unbroadcast

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence

    from typing_extensions import Self

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
        return Program(self, out_slots, seed_slots, params)



def _root(a: Any) -> Any:
    """The array whose memory ``a`` views (``a`` itself if it owns its memory)."""
    while getattr(a, "base", None) is not None and hasattr(a.base, "nbytes"):
        a = a.base
    return a


def _saved_nbytes(fn: Function, cfg: frozenset[str], held: set[int] | None = None) -> int:
    """Bytes that dropping what an op holds beyond its configuration would free: what it
    saved for backward (arrays, or tuples and lists of them), each buffer once (a view
    counts as the array it views), but none in ``held`` (ids of the program's own arrays:
    weights, feeds, constants, the ops' outputs, which live on anyway; a Linear's
    reference to its 1.6 MB kernel is not state to drop). Adds the buffers counted to
    ``held``."""
    seen = held if held is not None else set()
    total = 0
    for k, v in fn.__dict__.items():
        if k in cfg:
            continue
        for a in (v if isinstance(v, (tuple, list)) else (v,)):
            if not hasattr(a, "dtype") or not hasattr(a, "nbytes"):
                continue
            a = _root(a)
            if id(a) not in seen:
                seen.add(id(a))
                total += a.nbytes
    return total

class Program:
    """A compiled step: forward on raw arrays, backward newest first (see module doc)."""

    def __init__(self, tape: Tape, out_slots: list[int], seed_slots: list[int],
                 params: Sequence[Tensor]) -> None:
        kinds, nodes = tape.kind, tape.nodes
        n = len(kinds)
        self.n_slots = n
        self.out_slots = out_slots
        self.feeds = [(s, k[1]) for s, k in enumerate(kinds) if k[0] == _FEED]
        self.vars = [(s, k[1]) for s, k in enumerate(kinds) if k[0] == _VAR]
        self.consts = [(s, k[1]) for s, k in enumerate(kinds) if k[0] == _CONST]
        self._template: list[Any] = [None] * n
        for s, a in self.consts:
            self._template[s] = a
        # only the ops the outputs need (a softmax no metric reads is not computed)
        needed = set(out_slots) | set(seed_slots)
        live: list[_Node] = []
        patches: dict[int, list[tuple[str, int]]] = {}  # by output slot
        for i in range(len(nodes) - 1, -1, -1):
            node = nodes[i]
            if node[2] in needed:
                live.append(node)
                needed.update(node[1])
                if i in tape.patches:
                    patches[node[2]] = tape.patches[i]
                    needed.update(s for _, s in tape.patches[i])
        live.reverse()
        self.forward_nodes = [(fn, ins, out) for fn, ins, out, _ in live]
        self.patches = patches
        # an inference program whose outputs' rows follow its feeds' rows: its batch size
        # and size, to run it in slices on threads (glassnet._split); (0, 0) otherwise
        self.rows, self.elements = 0, 0
        if not seed_slots:
            self._fuse_inference(out_slots)
            if not patches:
                self.rows, self.elements = batch_rows(
                    self.forward_nodes, [s for s, _ in self.feeds], out_slots,
                    lambda s: getattr(tape.keep[s].data, "shape", ()))
        # drop the saved arrays of big steps after use, as the eager graph does: otherwise the
        # previous step's activations would live on while the next ones are made. Big: the
        # ops' outputs, or what they saved for backward (still on them: the recording has
        # just run), past 1 MB; an LSTM's outputs are small beside its saved sequences
        nbytes = sum(getattr(tape.keep[out].data, "nbytes", 0) for _, _, out, _ in live)
        held = {id(_root(t.data)) for t in tape.keep}
        nbytes += sum(_saved_nbytes(fn, cfg, held) for fn, _, _, cfg in live)
        self.cleanup = [(fn, cfg) for fn, _, _, cfg in live] if nbytes > (1 << 20) else []
        # which slots carry a gradient (as recorded: requires_grad of weights, grad mode)
        req = [False] * n
        for s, t in self.vars:
            req[s] = t.requires_grad
        self.var_flags = [(t, t.requires_grad) for _, t in self.vars]
        grad_on = bool(seed_slots)
        no_grad = {nodes[i][2] for i in tape.no_grad_nodes}  # outputs made under no_grad
        for _fn, ins, out, _ in live:
            req[out] = grad_on and out not in no_grad and any(req[i] for i in ins)
        reached = [False] * n
        for s in seed_slots:
            reached[s] = req[s]
        back: list[tuple[Function, int, tuple[tuple[int, Any, Any] | None, ...]]] = []
        for fn, ins, out, _ in reversed(live):
            if not reached[out]:
                continue
            acts: list = []
            for i in ins:
                if req[i]:
                    reached[i] = True
                    v = tape.keep[i].data
                    acts.append((i, v.shape, v.dtype))
                else:
                    acts.append(None)
            back.append((fn, out, tuple(acts)))
        self.backward_nodes = back
        self.seed_slots = seed_slots
        var_slot = {id(t): s for s, t in self.vars}
        # a tuple: the optimizer knows it again by identity (Optimizer._grad_views)
        self.params = tuple(p for p in params if id(p) in var_slot and reached[var_slot[id(p)]])
        self.param_slots = [var_slot[id(p)] for p in self.params]
        for fn, _, _, _ in nodes:  # the recording's graph is not needed any more
            fn.__dict__.pop("inputs", None)
        # where each gradient may need reshaping or casting, numbered in generation order;
        # after the first replay only the ones that did are kept (see _generate)
        self._checks: list[tuple[int, int, int]] = [  # (backward node, input, slot)
            (j, i, act[0]) for j, (_, _, acts) in enumerate(back)
            for i, act in enumerate(acts) if act is not None]
        self._fired: set[int] | None = None  # None until the first backward ran
        self._seen: set[int] = set()  # the checks that first backward reached
        self._offered: Sequence[Any] | None = None
        self._generate()

    def _fuse_inference(self, out_slots: list[int]) -> None:
        """Let an op take over the one before it where only it reads that op's output and
        nothing else sees it (an inference program: no backward reads the saved state):
        ``later.absorb(earlier)`` decides and reconfigures both (a max pooling takes its
        convolution's ReLU, which then runs on a quarter of the values, the same bits)."""
        readers: dict[int, int] = {}
        for _, ins, _ in self.forward_nodes:
            for i in ins:
                readers[i] = readers.get(i, 0) + 1
        seen = set(out_slots) | {s for p in self.patches.values() for _, s in p}
        made = {out: fn for fn, _, out in self.forward_nodes}
        for fn, ins, _ in self.forward_nodes:
            absorb = getattr(fn, "absorb", None)
            if absorb is None or len(ins) != 1:
                continue
            earlier = made.get(ins[0])
            if earlier is not None and readers[ins[0]] == 1 and ins[0] not in seen:
                absorb(earlier)

    def _generate(self) -> None:
        """Write forward and backward as straight-line Python (printable: ``source``).

        The same calls, in the same order, as walking the node lists would make — one line
        per op instead of a loop's indexing and unpacking, which is most of the replay's own
        cost on a small model. Only objects of this program are named (no data, no user
        text), through the namespace ``env``.

        Each gradient an op returns is checked against its input's recorded shape and dtype
        (reduced or cast when they differ, as the engine does). The first backward notes
        which checks acted (``FIRED``) and which it reached (``SEEN``); then backward is
        written again without those it reached that did nothing: an op's gradient shapes
        and dtypes follow from its input signature, which is fixed per program, so the
        dropped checks could never act.
        """
        fired = self._fired
        env: dict[str, Any] = {"unbroadcast": unbroadcast, "FIRED": set(), "SEEN": set()}
        used = ({i for _, ins, _ in self.forward_nodes for i in ins} | set(self.out_slots)
                | {s for p in self.patches.values() for _, s in p})
        f = ["def forward(feeds):"]
        for s, k in self.feeds:
            if s in used:
                f.append(f"    v{s} = feeds[{k}]")
        for s, t in self.vars:
            if s in used:
                env[f"T{s}"] = t
                f.append(f"    v{s} = T{s}.data")
        for s, a in self.consts:
            if s in used:
                env[f"C{s}"] = a
                f.append(f"    v{s} = C{s}")
        for j, (fn, ins, out) in enumerate(self.forward_nodes):
            for k, (attr, s) in enumerate(self.patches.get(out, ())):
                env[f"P{j}_{k}"] = fn.__dict__  # this step's array as the op's setting
                f.append(f"    P{j}_{k}[{attr!r}] = v{s}")
            env[f"F{j}"] = fn.forward
            f.append(f"    v{out} = F{j}({', '.join(f'v{i}' for i in ins)})  # {fn.name}")
        f.append(f"    return [{', '.join(f'v{s}' for s in self.out_slots)}]")
        b = ["def backward(seeds):"]
        slots = sorted({a[0] for _, _, acts in self.backward_nodes for a in acts if a}
                       | {o for _, o, _ in self.backward_nodes} | set(self.seed_slots))
        if slots:
            b.append("    " + " = ".join(f"g{s}" for s in slots) + " = None")
        for k, s in enumerate(self.seed_slots):
            b.append(f"    gs = seeds[{k}]")
            b.append(f"    if gs is not None: g{s} = gs if g{s} is None else g{s} + gs")
        seen = set(self.seed_slots)  # slots that may already hold a gradient
        k = -1  # the check's number (self._checks order)
        # a big program drops each op's saved arrays as soon as its backward has run, as
        # the eager graph frees a node's: the next ops' gradients are then made in the
        # memory it held (the MNIST convnet: conv2's 18 MB columns before conv1's backward)
        drop = {id(fn): cfg for fn, cfg in self.cleanup}
        for j, (fn, out, acts) in enumerate(self.backward_nodes):
            env[f"B{j}"] = fn.backward
            b.append(f"    if g{out} is not None:  # {fn.name}")
            b.append(f"        r = B{j}(g{out})")
            b.append(f"        g{out} = None")
            if id(fn) in drop:
                env[f"R{j}"] = _releaser(fn, drop[id(fn)])
                b.append(f"        R{j}()")
            if len(acts) == 1:  # one input: the op may return the bare gradient
                b.append("        if type(r) is not tuple: r = (r,)")
            for i, act in enumerate(acts):
                if act is None:
                    continue
                k += 1
                s, shape, dtype = act
                env[f"S{s}"], env[f"D{s}"] = shape, dtype
                b.append(f"        gx = r[{i}]")
                b.append("        if gx is not None:")
                if fired is None:
                    b.append(f"            SEEN.add({k})")
                    b.append(f"            if gx.shape != S{s}: "
                             f"gx = unbroadcast(gx, S{s}); FIRED.add({k})")
                    b.append(f"            if gx.dtype is not D{s} and gx.dtype != D{s}: "
                             f"gx = gx.astype(D{s}); FIRED.add({k})")
                elif k in fired or k not in self._seen:
                    b.append(f"            if gx.shape != S{s}: gx = unbroadcast(gx, S{s})")
                    b.append(f"            if gx.dtype is not D{s} and gx.dtype != D{s}: "
                             f"gx = gx.astype(D{s})")
                if s in seen:  # fan-out: add to what came first (newest op first)
                    b.append(f"            g{s} = gx if g{s} is None else g{s} + gx")
                else:
                    b.append(f"            g{s} = gx")
                    seen.add(s)
        b.append(f"    return [{', '.join(f'g{s}' for s in self.param_slots)}]")
        self.source = "\n".join(f) + "\n\n\n" + "\n".join(b) + "\n"
        exec(compile(self.source, "<glassnet replayed step>", "exec"), env)  # noqa: S102
        self._forward, self._backward = env["forward"], env["backward"]
        self._fired_now: set[int] = env["FIRED"]
        self._seen_now: set[int] = env["SEEN"]

    def offer_grad_buffers(self, views: Sequence[Any]) -> None:
        """Offer ``views`` (one array per :attr:`params`, the optimizer's flat gradient
        buffer) to the ops that make those gradients (:attr:`Function.grad_out`).

        Only where one op alone makes a weight's gradient and the first backward showed it
        needs no reshaping or cast; a backward that uses the offer returns the view itself,
        which the caller then need not copy. Cheap to call every step (kept while ``views``
        is the same list).
        """
        if views is self._offered or self._fired is None:
            return
        for fn, _, _ in self.backward_nodes:
            fn.__dict__.pop("grad_out", None)
        self._offered = views
        made: dict[int, list[tuple[int, int]]] = {}  # slot -> [(node, input)]
        for k, (j, i, s) in enumerate(self._checks):
            ok = k in self._seen and k not in self._fired
            made.setdefault(s, []).append((j, i) if ok else (-1, -1))
        offers: dict[int, list[Any]] = {}
        for s, v in zip(self.param_slots, views):
            by = made.get(s, ())
            if len(by) != 1 or by[0][0] < 0 or s in self.seed_slots:
                continue
            j, i = by[0]
            act = self.backward_nodes[j][2][i]
            if act is None or act[1] != v.shape or act[2] != v.dtype:
                continue
            offers.setdefault(j, [None] * len(self.backward_nodes[j][2]))[i] = v
        for j, outs in offers.items():
            self.backward_nodes[j][0].grad_out = tuple(outs)

    def valid(self) -> bool:
        """False when a weight's ``requires_grad`` changed since the recording."""
        for t, flag in self.var_flags:
            if t.requires_grad is not flag:
                return False
        return True

    def forward(self, feeds: Sequence[Any]) -> list[Any]:
        """Run the recorded ops on ``feeds`` (arrays, in the tape's feed order)."""
        outs = self._forward(feeds)
        if not self.backward_nodes:
            self._release()
        return outs

    def backward(self, seed_grads: Sequence[Any]) -> list[Any]:
        """Gradients of :attr:`params` from the seeds' gradients (None where none came)."""
        grads = self._backward(seed_grads)
        if self._fired is None:  # the first replay: keep only the checks that acted
            self._fired, self._seen = set(self._fired_now), set(self._seen_now)
            self._generate()
        if self.cleanup:
            self._release()
        return grads

    def _release(self) -> None:
        for fn, cfg in self.cleanup:
            _releaser(fn, cfg)()


def _releaser(fn: Function, cfg: frozenset[str]) -> Callable[[], None]:
    """A call that drops what ``fn`` saved in its last forward (every attribute but its
    configuration ``cfg``)."""
    d = fn.__dict__

    def release() -> None:
        for k in [k for k in d if k not in cfg]:
            del d[k]
    return release
