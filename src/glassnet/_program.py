"""A recorded step as straight-line code: :class:`Program`, made by :meth:`Tape.compile`.

The tape (:mod:`glassnet._tape`) decides whether a step can be replayed and what each slot
is (a feed, a weight, a constant, an op's output); a program keeps the ops the outputs
need, writes forward and backward as Python source of one line per op (``source``), runs
them on raw arrays, drops what big programs' ops saved after use, and, for inference,
fuses ops (``absorb``) and says whether its batch may run in slices
(:mod:`glassnet._split`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._split import batch_rows
from ._tape import _CONST, _FEED, _VAR
from .autograd import Function, unbroadcast

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ._tape import Tape, _Node
    from .tensor import Tensor

__all__: list[str] = []


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
            # (measured on the ops as recorded: the slices pay where those ops' passes
            # would have run)
            if not patches:
                self.rows, self.elements = batch_rows(
                    self.forward_nodes, [s for s, _ in self.feeds], out_slots,
                    lambda s: getattr(tape.keep[s].data, "shape", ()))
            self._fuse_inference(out_slots)
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
        convolution's ReLU, which then runs on a quarter of the values, the same bits).
        Where it answers True it took the earlier op whole: the earlier node goes, and the
        later one reads the earlier one's inputs instead (a pooling that computes its
        convolution, :mod:`glassnet.layers._conv_pool_numba`)."""
        readers: dict[int, int] = {}
        for _, ins, _ in self.forward_nodes:
            for i in ins:
                readers[i] = readers.get(i, 0) + 1
        seen = set(out_slots) | {s for p in self.patches.values() for _, s in p}
        made = {out: (j, fn, ins) for j, (fn, ins, out) in enumerate(self.forward_nodes)}
        taken: set[int] = set()
        for k, (fn, ins, out) in enumerate(self.forward_nodes):
            absorb = getattr(fn, "absorb", None)
            if absorb is None or len(ins) != 1 or ins[0] not in made:
                continue
            j, earlier, earlier_ins = made[ins[0]]
            if (readers[ins[0]] == 1 and ins[0] not in seen and j not in taken
                    and out not in self.patches and ins[0] not in self.patches
                    and absorb(earlier)):
                taken.add(j)
                self.forward_nodes[k] = (fn, earlier_ins, out)
                made[out] = (k, fn, earlier_ins)
        if taken:
            self.forward_nodes = [n for j, n in enumerate(self.forward_nodes)
                                  if j not in taken]

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
