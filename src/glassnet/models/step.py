"""One step for every model: forward, loss, backward, update — recorded once, then replayed.

``TrainingMixin`` (training.py) calls :class:`Stepper` for every batch of ``fit``,
``train_on_batch``, ``evaluate`` and ``predict``. Per input signature (shapes, dtypes,
device) and kind of step, the first batch runs the ordinary way — layers, tensors, the
graph, ``loss.backward()``, ``optimizer.step()`` — while a tape (:mod:`glassnet._tape`)
watches. Later batches replay the recorded ops on raw arrays (``compile(jit_compile=...)``,
Keras's name; ``"auto"`` and ``True`` replay when the tape allows it, ``False`` never does).
A step the tape cannot replay (see ``_tape``'s module doc) keeps the ordinary path, so a
model is never wrong, only slower; with ``jit_compile=True`` a one-time warning says why.

The loss is not part of the replay: each step computes it afresh from the replayed
outputs (as leaf tensors), so every loss — built-in, a subclass, a plain function — and
every target format works unchanged, and the cross-entropies use their own fused node
(``Loss.kernel``). This module is also the one place where a model's output activation is
paired with its loss (:func:`pair_loss`).
"""

from __future__ import annotations

import sys
import warnings
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from .. import backend
from .._optimizer_kernels import AUTO_STEPS, long_run
from .._split import SplitProgram, cut
from .._tape import Tape
from ..autograd import no_grad
from ..functional import Softmax
from ..layers.base import _call_context
from ..tensor import Tensor, get_mask, set_mask

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable, Sequence

    from .._optimizer_base import Optimizer
    from .._program import Program
    from ..autograd import Function
    from ..losses import Loss
    from .model import Model
    from .training import TrainingMixin

    # (loss object or None, the tensor it reads), per output
    _Terms = list[tuple[Any, Tensor]]
    # a penalty layer's parts: ("w", weight, regularizer) or ("a", activity-penalty tensor)
    _Parts = list[tuple[Any, ...]]

__all__: list[str] = []

_MAX_PROGRAMS = 16  # signatures kept per model (full batches, the last one, validation, ...)


def logits_twin(loss: Loss) -> tuple[Loss, tuple[type[Function], ...]] | None:
    """(``from_logits=True`` copy of ``loss``, the activation ops it undoes) or None.

    Only for glassnet's own cross-entropies with ``from_logits=False``: binary against a
    sigmoid, categorical and sparse categorical against a softmax.
    """
    from .. import losses
    from ..ops import Sigmoid

    acts = {losses.BinaryCrossentropy: (Sigmoid,),
            losses.CategoricalCrossentropy: (Softmax,),
            losses.SparseCategoricalCrossentropy: (Softmax,)}.get(type(loss))
    if acts is None or getattr(loss, "from_logits", True):
        return None
    return type(loss).from_config({**loss.get_config(), "from_logits": True}), acts


def pair_loss(loss: Any, twin: tuple[Any, tuple[type[Function], ...]] | None, out: Tensor,
              tape: Tape | None) -> tuple[Any, Tensor]:
    """(loss object, tensor it is applied to) for model output ``out``.

    THE logits contract, the same in training, evaluation, metrics' loss and
    ``check_gradients``, with or without gradients: a cross-entropy on probabilities that a
    softmax/sigmoid has just produced is computed from the logits under it, with the fused
    stable kernel (Keras does the same inside ``fit``). The value then differs from
    Keras's clipped one only for saturated predictions, where glassnet's is the exact one.
    """
    if twin is not None:
        if tape is not None:
            made = tape.producer_of(out)
        else:  # a graph the user's own train_step built: read it from the tensor
            ctx = getattr(out, "_ctx", None)
            made = None if ctx is None or not ctx.inputs else (ctx, ctx.inputs)
        if made is not None and type(made[0]) in twin[1]:
            if getattr(made[0], "axis", -1) in (-1, out.ndim - 1):
                logits = made[1][0]
                mask = get_mask(out)
                if mask is not None:  # the logits' steps are the output's: same mask
                    set_mask(logits, mask)
                return twin[0], logits
    return loss, out


def _mask_sources(tape: Tape, tensors: Sequence[Tensor]) -> list[tuple[int, Tensor]] | None:
    """(position, the op-made tensor of its mask) for each of ``tensors`` that carries a
    mask, which a replay re-attaches to its new tensor at that position (the loss and the
    metrics read it); None when a mask was made in Python, not by a recorded op (a replay
    would reuse the first batch's)."""
    found = []
    for i, t in enumerate(tensors):
        m = get_mask(t)
        if m is None:
            continue
        src = tape.made_tensor(m.data if isinstance(m, Tensor) else m)
        if src is None:
            return None
        found.append((i, src))
    return found


def _attach_masks(tensors: Sequence[Tensor | None], at: Sequence[int],
                  masks: Sequence[Any]) -> None:
    for i, m in zip(at, masks):
        t = tensors[i]
        if t is not None:
            set_mask(t, m.data if isinstance(m, Tensor) else m)


def _weigh_by_kept_steps(terms: Sequence[tuple[Any, Tensor]]) -> None:
    """Across processes, a masked loss is each rank's mean over its own kept steps: the
    gradient average then weighs each rank by those steps (not its samples), so the step is
    the one process's mean over all kept steps of the global batch (one loss, one mask)."""
    from .. import distribution

    d = distribution.active()
    if d is None or len(terms) != 1 or terms[0][0] is None:
        return
    mask = get_mask(terms[0][1])
    if mask is not None:
        d.local_n = int(backend.asnumpy(mask.data if isinstance(mask, Tensor) else mask).sum())


def _signature(arrays: Sequence[Any], kind: str) -> tuple[Any, ...]:
    return (kind, *[(a.shape, a.dtype, type(a)) for a in arrays if a is not None])


def _probabilities(fn: Function | None, logits: Any) -> Any:
    """softmax(logits), from the loss node that just read them where it keeps the pieces
    (:meth:`glassnet.functional.SoftmaxCrossEntropy.probabilities`), else computed."""
    get = getattr(fn, "probabilities", None)
    return get() if get is not None else Softmax().forward(logits)



def _release_recorded(prog: Program) -> None:
    """The recorded step is over (its backward and update ran): drop what its ops saved, as
    every replayed step of a big program does after its backward. Otherwise the first replay
    makes each op's state while the recording's is still held (an LSTM u128 T100 b64: 25 MB
    more at that step's peak)."""
    if prog.cleanup:
        prog._release()

class Stepper:
    """The recorded programs of one model, by signature; see the module doc."""

    def __init__(self, model: TrainingMixin) -> None:
        self.model: Model = model  # type: ignore[assignment]  # only Model mixes TrainingMixin in
        # signature -> the recorded program's entry (a tuple), or False: not replayable
        self.programs: dict[tuple[Any, ...], Any] = {}
        self.warned = False
        self.last_output_losses: list[float] = []
        self.replays = 0  # training steps replayed (see _count_replay)
        self._own_loss: bool | None = None  # see own_loss
        self.numba_at_start = "numba" in sys.modules

    # ---------------------------------------------------------------- helpers
    def _enabled(self) -> bool:
        m = self.model
        return m.jit_compile is not False and not backend.is_debug()

    def _lookup(self, key: tuple[Any, ...]) -> Any:
        progs = self.programs
        p = progs.get(key)
        if p is not None and p is not False and not p[0].valid():
            p = None  # a weight was frozen or unfrozen since: record again
        return p

    def _count_replay(self) -> None:
        """Count a replayed training step: at ``AUTO_STEPS`` a model too small to have
        loaded numba loads it (``_optimizer_kernels.long_run``) and records its steps
        again, so that its ops choose their compiled kernels from the next step on; also
        where another model loaded numba since this one started (its programs were
        recorded without it)."""
        self.replays += 1
        if self.replays == AUTO_STEPS and (long_run() or (
                not self.numba_at_start and "numba" in sys.modules)):
            self.programs.clear()

    def _store(self, key: tuple[Any, ...], prog: tuple[Any, ...] | None, tape: Tape) -> None:
        if len(self.model.weights) != tape.n_vars:
            # the step built layers (their weights are new): this recording saw them as
            # arrays from nowhere and its caller's weight lists predate them; the next step
            # records again, built
            return
        if len(self.programs) >= _MAX_PROGRAMS:
            self.programs.pop(next(iter(self.programs)))
        self.programs[key] = prog if prog is not None else False
        if prog is None and self.model.jit_compile is True and not self.warned:
            self.warned = True
            warnings.warn(f"jit_compile=True: model '{self.model.name}' runs its steps the "
                          f"ordinary way (same results, slower): {tape.reason}", stacklevel=4)

    def _forward(self, feeds: list[Tensor], training: bool) -> tuple[Tape, list[Any], bool]:
        """The model on feed tensors under a fresh tape: (tape, outputs list, single?)."""
        m = self.model
        tape = Tape(feeds, m.weights)
        ctx = _call_context  # layers called without training= inherit the step's (Keras)
        prev, ctx.training = ctx.training, training
        m._activity_losses = []  # the model's own add_loss, as a layer's call clears it
        try:
            with tape:
                out = m.call(feeds if m._n_inputs > 1 else feeds[0], training=training)
        finally:
            ctx.training = prev
        single = not isinstance(out, (list, tuple))
        return tape, [out] if single else list(out), single

    def _terms(self, outs: Sequence[Tensor], tape: Tape | None) -> _Terms:
        """Per output, (loss object or None, tensor the loss reads), paired once."""
        m = self.model
        if not isinstance(m.loss, list):
            return [pair_loss(m.loss, m._logits_loss, o, tape) for o in outs]
        return [(None, o) if lo is None else pair_loss(lo, tw, o, tape)
                for lo, tw, o in zip(m.loss, m._logits_loss, outs)]

    def _penalties(self, tape: Tape | None) -> _Parts:
        """Each penalty layer's parts, in the order the loss adds them: ("w", w, reg) for a
        weight penalty (recomputed every step), ("a", tensor) for an activity penalty."""
        parts: _Parts = []
        for ly, own_only in self.model._penalty_layers():
            if not own_only:
                if tape is not None:
                    tape.fail(f"layer '{ly.name}' overrides `losses`")
                parts += [("a", e) for e in ly.losses]
                continue
            parts += [("w", w, reg) for w, reg in ly._regularized if w.requires_grad]
            parts += [("a", e) for e in ly._activity_losses]
        return parts

    def total_loss(self, y: Any, terms: Sequence[tuple[Any, Tensor]], sw: Any,
                   parts: Sequence[tuple[Any, ...]]) -> Tensor:
        """The step's scalar loss: each output's loss times its ``loss_weights`` entry,
        summed (as Keras), then the penalties. Each output's own value is kept in
        :attr:`last_output_losses` for the logs of a model with several outputs."""
        ys = y.arrays if hasattr(y, "arrays") else [y]
        weights = self.model._loss_weights or [1.0] * len(terms)
        loss: Tensor | None = None
        per: list[float] = []
        # each output's own loss is logged where several outputs have one (Keras 3)
        several = sum(lo is not None for lo, _ in terms) > 1
        for yi, (lo, t), w in zip(ys, terms, weights):
            if lo is None:  # an output without a loss (Keras: None in the structure)
                continue
            li = lo(yi, t, sample_weight=sw)
            if several:
                per.append(float(li.data))
            if w != 1.0:
                li = li * w
            loss = li if loss is None else loss + li
        self.last_output_losses = per
        if loss is None and not parts:
            raise ValueError(
                "the model was compiled without a loss for any output and its layers added "
                "none (add_loss); pass compile(loss=...) or override train_step/test_step. "
                f"Received: loss={self.model.loss!r}")
        for p in parts:
            v = p[2](p[1]) if p[0] == "w" else p[1]
            loss = v if loss is None else loss + v
        return cast(Tensor, loss)

    def _kernel_loss(self, terms: _Terms, parts: _Parts) -> Any:
        """The loss whose own fused node can be called directly on the arrays (one loss,
        no penalties, no loss weights, and the loss has a node for this rank), else None."""
        if len(terms) != 1 or parts or self.model._loss_weights is not None:
            return None
        lo, t = terms[0]
        has = getattr(lo, "has_kernel", None)
        return lo if has is not None and has(t.ndim) else None

    def _shares_softmax(self, terms: _Terms, parts: _Parts, outs: Sequence[Tensor],
                        tape: Tape) -> bool:
        """Whether the one output is a softmax whose logits the loss's fused node reads
        (the logits contract). A replay then stops at the logits and takes the output's
        probabilities from that node (:func:`_probabilities`: the softmax's bits, in one
        division instead of the softmax's five passes)."""
        if (len(outs) != 1 or terms[0][1] is outs[0] or get_mask(outs[0]) is not None
                or self._kernel_loss(terms, parts) is None):
            return False  # (a masked output: the program returns it, its mask attached)
        made = tape.producer_of(outs[0])
        return made is not None and type(made[0]) is Softmax

    def test_loss(self, y: Any, terms: _Terms, sw: Any, parts: _Parts,
                  outputs: bool = False) -> tuple[float, Tensor | None]:
        """One evaluate batch's loss: the loss's fused node on the arrays where it has one
        (as the replayed training step calls it: the same arithmetic, without building a
        tensor per call), else :meth:`total_loss`. With ``outputs`` (a replay that shares
        the output softmax, see :meth:`_shares_softmax`), also the model's output."""
        lo = self._kernel_loss(terms, parts)
        if lo is None:
            with no_grad():
                return float(self.total_loss(y, terms, sw, parts).data), None
        self.last_output_losses = []
        t = terms[0][1]
        fn = lo.fused(y, t, sw)
        lv = float(fn.forward(t.data))
        return lv, (Tensor._make(_probabilities(fn, t.data)) if outputs else None)

    # ---------------------------------------------------------------- training
    def train(self, x: Any, y: Any, sw: Any) -> tuple[Tensor, Any]:
        """One optimizer step on arrays already on the model's device: (loss, outputs)."""
        if (type(x) is not np.ndarray or type(y) is not np.ndarray) and (
                hasattr(x, "arrays") or hasattr(y, "arrays")):  # several inputs or outputs
            feeds = x.arrays if hasattr(x, "arrays") else [x]
            key = _signature([*feeds, *(y.arrays if hasattr(y, "arrays") else [y]), sw],
                             "train")
        else:  # the common case, without building lists
            feeds = [x]
            key = ("train", x.shape, x.dtype, type(x), None if y is None else (y.shape, y.dtype),
                   None if sw is None else (sw.shape, sw.dtype))
        # a model's own compute_loss is Python run every step (a distiller's teacher): the
        # step runs the ordinary way
        if (self.model.jit_compile is not False and not backend.is_debug()
                and not (self._own_loss or self.own_loss())):
            prog = self._lookup(key)
            if prog:
                return self._replay_train(prog, feeds, y, sw)
            if prog is None:
                return self._record_train(key, feeds, y, sw)
        return self._eager_train(feeds, y, sw)[:2]

    def own_loss(self) -> bool:
        """Whether the model overrides Keras 3's ``compute_loss``, which the default
        steps then call for the loss (as Keras's default ``train_step`` does). Decided
        once per Stepper (a model's class does not change; compile makes a new one)."""
        own = self._own_loss
        if own is None:
            from .training import TrainingMixin

            own = self._own_loss = (type(self.model).compute_loss
                                    is not TrainingMixin.compute_loss)
        return own

    def own_loss_value(self, feeds: Sequence[Any], y: Any, sw: Any, outs: list[Any],
                       single: bool) -> Tensor:
        """The model's own ``compute_loss(x, y, y_pred, sample_weight)`` for a batch."""
        xs = [a if isinstance(a, Tensor) else Tensor._make(a) for a in feeds]
        return self.model.compute_loss(x=xs[0] if len(xs) == 1 else xs, y=y,
                                       y_pred=outs[0] if single else outs,
                                       sample_weight=sw)

    def _eager_train(self, feeds: Sequence[Any], y: Any, sw: Any
                     ) -> tuple[Tensor, Any, tuple[Tape, list[Any], bool, _Terms, _Parts]]:
        m = self.model
        ins = [Tensor._make(a) for a in feeds]
        tape, outs, single = self._forward(ins, True)
        terms = self._terms(outs, tape)
        parts = self._penalties(tape)
        loss = (self.own_loss_value(ins, y, sw, outs, single) if self.own_loss()
                else self.total_loss(y, terms, sw, parts))
        if not self.own_loss():
            _weigh_by_kept_steps(terms)
        params = m._params()
        if loss.requires_grad:  # a fully frozen model trains nothing, as in Keras
            loss.backward()
            if any(p.grad is not None for p in params):
                m.optimizer.step(params)  # type: ignore[union-attr]  # compiled: has one
                m.optimizer.zero_grad(params)  # type: ignore[union-attr]  # compiled: has one
        return loss, outs[0] if single else outs, (tape, outs, single, terms, parts)

    def _record_train(self, key: tuple[Any, ...], feeds: Sequence[Any], y: Any, sw: Any
                      ) -> tuple[Tensor, Any]:
        loss, out, (tape, outs, single, terms, parts) = self._eager_train(feeds, y, sw)
        acts = [p[1] for p in parts if p[0] == "a"]
        loss_ins = [t for _, t in terms]
        # the outputs themselves only when a metric reads them (an unread softmax is
        # skipped; one the loss shares comes from the loss's node)
        outs = outs if self.model.compiled_metrics else []
        share = bool(outs) and self._shares_softmax(terms, parts, outs, tape)
        if share:
            outs = []
        # the masks the loss and the metrics read: outputs of the program too
        masks = _mask_sources(tape, [*loss_ins, *outs])
        if masks is None:
            tape.fail("the loss or a metric reads a mask computed in Python from the batch")
            masks = []
        prog: Program | tuple[Any, ...] | None  # the program, then its entry in `programs`
        prog = tape.compile([*loss_ins, *acts, *outs, *[m for _, m in masks]],
                            seeds=[*loss_ins, *acts], params=self.model._params())
        if prog is not None:
            _release_recorded(prog)
            kernel = self._kernel_loss(terms, parts) is not None
            n_act = len(acts)
            prog = (prog, terms, parts, single, len(outs), kernel, n_act, share,
                    [i for i, _ in masks])
        self._store(key, prog, tape)
        return loss, out

    def _replay_train(self, entry: tuple[Any, ...], feeds: Sequence[Any], y: Any, sw: Any
                      ) -> tuple[Tensor, Any]:
        prog, terms, parts, single, n_out, kernel, n_act, share, mask_at = entry
        self._count_replay()
        vals = prog.forward(feeds)
        if mask_at:  # the batch's masks, for the loss and the metrics
            masks = vals[len(vals) - len(mask_at):]
            vals = vals[: len(vals) - len(mask_at)]
        fn = None
        if kernel:
            # the loss's own fused node (its label checks included), not recorded
            leaf = Tensor._make(vals[0])
            if mask_at:  # the loss input's mask weighs its steps (position 0)
                _attach_masks([leaf, *(None,) * n_out], mask_at, masks)
                _weigh_by_kept_steps([(terms[0][0], leaf)])
            fn = terms[0][0].fused(y, leaf, sw)
            lv = fn.forward(vals[0])
            seeds = [fn.backward(lv.dtype.type(1) if type(lv) is np.ndarray
                                 else backend.get_array_module(lv).ones((), lv.dtype))]
            loss = Tensor._make(lv)
            has_grad = True
        else:
            k = len(terms)
            leaves = []
            for v in vals[:k + n_act]:
                t = Tensor._make(v)
                t.requires_grad = True
                leaves.append(t)
            it = iter(leaves[k:])
            new_parts = [p if p[0] == "w" else ("a", next(it)) for p in parts]
            new_terms = [(lo_, t) for (lo_, _), t in zip(terms, leaves)]
            if mask_at:
                _attach_masks([*leaves[:k], *(None,) * n_out], mask_at, masks)
                _weigh_by_kept_steps(new_terms)
            loss = self.total_loss(y, new_terms, sw, new_parts)
            has_grad = loss.requires_grad
            if has_grad:
                loss.backward()
            seeds = [t.grad for t in leaves]
        params = prog.params
        if params and has_grad:
            grads = prog.backward(seeds)
            self._apply(params, grads, parts, program=prog)
        else:
            prog._release()
        if share:  # (kernel is set: _shares_softmax asked for it)
            return loss, Tensor._make(_probabilities(fn, vals[0]))
        if not n_out:
            return loss, None
        outs = [Tensor._make(v) for v in vals[len(vals) - n_out:]]
        if mask_at:
            _attach_masks([*(None,) * len(terms), *outs], mask_at, masks)
        return loss, outs[0] if single else outs

    def _apply(self, params: Sequence[Tensor], grads: Sequence[Any],
               parts: Sequence[tuple[Any, ...]], optimizer: Optimizer | None = None,
               all_params: Sequence[Tensor] | None = None, program: Program | None = None
               ) -> None:
        """Hand the gradients to the optimizer: straight into its flat buffer (``program``,
        the replay that made them, is offered that buffer for its next backward)."""
        opt: Optimizer = optimizer or self.model.optimizer  # type: ignore[assignment]  # compiled
        pen = [p[1] for p in parts if p[0] == "w" and p[1].grad is not None] if parts else ()
        if (opt.clipnorm is not None or opt.clipvalue is not None or opt.global_clipnorm
                or (pen and any(all(w is not p for p in params) for w in pen))):
            # clipping reads each gradient whole: hand them over as the eager path does
            for p, g in zip(params, grads):
                p.grad = g if p.grad is None else g + p.grad
            allp = all_params if all_params is not None else self.model._params()
            opt.step(allp)
            opt.zero_grad(allp)
            return
        views = opt._grad_views(params, flat=True)
        if pen:
            for v, g, p in zip(views, grads, params):
                if g is not v:
                    v[...] = g
                if p.grad is not None:  # a weight penalty's share
                    v += p.grad
                    p.grad = None
        else:
            for v, g in zip(views, grads):
                if g is not v:  # else the op wrote it there (Program.offer_grad_buffers)
                    v[...] = g
        opt._update(params)
        if program is not None:  # the next backward may write into the buffer directly
            program.offer_grad_buffers(views)

    # ---------------------------------------------------------------- custom steps
    def custom(self, key: Hashable, feeds: Sequence[Any], fn: Callable[..., Sequence[Tensor]],
               loss_fn: Callable[[list[Tensor]], Tensor], params: Sequence[Tensor],
               optimizer: Optimizer) -> Tensor:
        """One optimizer step of a model's own training (a GAN's two updates), replayed.

        ``fn(*feed_tensors)`` returns the output tensors (its ops are recorded and replayed);
        ``loss_fn(outputs)`` returns the scalar loss from them (computed afresh each step,
        like a compiled loss); ``params`` are the weights ``optimizer`` updates. ``key``
        names the step (a GAN has "d" and "g"). Returns the loss tensor.
        """
        key = (key, *[(a.shape, a.dtype, type(a)) for a in feeds])
        if self._enabled():
            prog = self._lookup(key)
            if prog:
                prog = prog[0]
                self._count_replay()
                vals = prog.forward(feeds)
                leaves = []
                for v in vals:
                    t = Tensor._make(v)
                    t.requires_grad = True
                    leaves.append(t)
                loss = loss_fn(leaves)
                if loss.requires_grad and prog.params:
                    loss.backward()
                    grads = prog.backward([t.grad for t in leaves])
                    self._apply(prog.params, grads, (), optimizer, params, prog)
                else:
                    prog._release()
                return loss
        tape = Tape([Tensor._make(a) for a in feeds], self.model.weights)
        with tape:
            outs = list(fn(*tape.keep[: len(feeds)]))
        loss = loss_fn(outs)
        if loss.requires_grad:
            loss.backward()
            if any(p.grad is not None for p in params):
                optimizer.step(params)
                optimizer.zero_grad(params)
        if self._enabled() and self._lookup(key) is None:
            prog = tape.compile(outs, seeds=outs, params=params)
            if prog is not None:
                _release_recorded(prog)
            self._store(key, None if prog is None else (prog,), tape)
        return loss

    # ---------------------------------------------------------------- inference
    def infer(self, x: Any, kind: str) -> tuple[Any, bool, _Terms, _Parts]:
        """Forward pass in inference mode: (outputs list, single?, terms, parts).

        ``kind`` is "test" (evaluate: the loss inputs are computed too) or "predict".
        Outputs come as tensors without a graph.
        """
        feeds = x.arrays if hasattr(x, "arrays") else [x]
        with no_grad():
            if self._enabled():
                # one input (the common case): _signature's key, without its list
                f = feeds[0]
                key = ((kind, (f.shape, f.dtype, type(f))) if len(feeds) == 1 and f is not None
                       else _signature(feeds, kind))
                prog = self._lookup(key)
                if prog:
                    p, terms, parts, single, n_out, share, mask_at = prog
                    vals = [Tensor._make(v) for v in p.forward(feeds)]
                    if mask_at:  # the batch's masks, for the loss and the metrics
                        masks = vals[len(vals) - len(mask_at):]
                        vals = vals[: len(vals) - len(mask_at)]
                        # positions: the loss inputs, then the outputs kept
                        _attach_masks([*vals[:len(terms)], *vals[len(vals) - n_out:]]
                                      if n_out else vals[:len(terms)], mask_at, masks)
                    k = len(terms)
                    terms = [(lo, t) for (lo, _), t in zip(terms, vals)]
                    if parts:
                        it = iter(vals[k:])
                        parts = [q if q[0] == "w" else ("a", next(it)) for q in parts]
                    # None: the output comes with the loss (test_loss(outputs=True))
                    return (None if share else vals[len(vals) - n_out:], single, terms,
                            parts)
            tape, outs, single, terms, parts = self._infer_eager(feeds, kind)
            if self._enabled() and prog is None:
                entry = self._infer_entry(tape, outs, single, terms, parts, kind)
                split = self._split(entry, feeds, kind, tape)
                if split is not None:
                    entry = (split, *entry[1:])  # type: ignore[index]
                self._store(key, entry, tape)
                if split is not None and self.programs.get(key) is entry:
                    # this batch's values from the slices too: every call agrees
                    return self.infer(x, kind)
            return outs, single, terms, parts

    def _infer_eager(self, feeds: Sequence[Any], kind: str
                     ) -> tuple[Tape, list[Tensor], bool, _Terms, _Parts]:
        """The model on ``feeds`` the ordinary way, watched by a tape: (tape, outputs,
        single?, terms, parts)."""
        tape, outs, single = self._forward([Tensor._make(a) for a in feeds], False)
        terms = self._terms(outs, tape) if kind == "test" else []
        parts = self._penalties(tape) if kind == "test" else []
        return tape, outs, single, terms, parts

    def _infer_entry(self, tape: Tape, outs: list[Tensor], single: bool, terms: _Terms,
                     parts: _Parts, kind: str) -> tuple[Any, ...] | None:
        """The program of an inference step just watched, with what replaying it needs:
        (program, terms, parts, single?, outputs kept, share?, mask positions), or None."""
        acts = [q[1] for q in parts if q[0] == "a"]
        # evaluate without metrics needs only the loss inputs (an output softmax the loss
        # undoes is not computed); predict needs the outputs
        own = kind == "test" and self.own_loss()  # compute_loss reads the outputs
        keep = outs if kind == "predict" or self.model._metric_slots or own else []
        share = (kind == "test" and bool(keep) and not own
                 and self._shares_softmax(terms, parts, keep, tape))
        if share:
            keep = []
        loss_ins = [t for _, t in terms]
        # the masks the loss and the metrics read: outputs of the program too
        sources = _mask_sources(tape, [*loss_ins, *keep]) if kind == "test" else []
        if sources is None:
            tape.fail("the loss or a metric reads a mask computed in Python from the batch")
            sources = []
        compiled = tape.compile([*loss_ins, *acts, *keep, *[m for _, m in sources]])
        if compiled is None:
            return None
        return (compiled, terms, parts, single, len(keep), share, [i for i, _ in sources])

    def _split(self, entry: tuple[Any, ...] | None, feeds: Sequence[Any], kind: str,
               tape: Tape) -> SplitProgram | None:
        """The recorded inference program as one program per thread, each recorded on its
        slice of ``feeds`` (:mod:`glassnet._split`), or None: it runs whole."""
        if (entry is None or len(self.model.weights) != tape.n_vars
                or any(getattr(f, "ndim", 0) == 0 for f in feeds)):
            return None
        whole = entry[0]
        sls = cut(whole.rows, whole.elements)
        if not sls:
            return None
        # the whole batch's recording is done with: its ops' saved arrays and its tensors
        # go before the slices record theirs (else both sets are alive at that peak)
        _release_recorded(whole)
        tape.keep.clear()
        parts = []
        for sl in sls:
            t, o, single, terms, ps = self._infer_eager([f[sl] for f in feeds], kind)
            sub = self._infer_entry(t, o, single, terms, ps, kind)
            if (sub is None or sub[0].rows != sl.stop - sl.start or sub[3:] != entry[3:]
                    or len(sub[0].out_slots) != len(whole.out_slots)):
                return None  # (a slice took another path through the model)
            _release_recorded(sub[0])
            parts.append(sub[0])
        return SplitProgram(whole, parts, sls)
