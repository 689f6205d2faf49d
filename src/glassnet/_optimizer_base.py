"""The ``Optimizer`` base class: parameter slots, the flat gradient buffer, clipping,
schedules and exportable state. The update rules are in :mod:`glassnet.optimizers`."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ._config import Configurable
from ._optimizer_layout import WeightLayout
from .autograd import no_grad
from .backend import asnumpy, get_array_module, long_lived_empty
from .tensor import Tensor

# set by glassnet.distribution.set_distribution: averages the flat gradient buffer over the
# data-parallel processes, in place, before every update (None: one process)
_grad_reducer: Any = None
# set with it when every process runs on one machine: the DataParallel that lets each rank
# compute the update of its own slice of the flat buffers, in memory the ranks share (ZeRO-1)
_sharder: Any = None
# elements per block of an element-wise update: g, the slots and the step of one block
# (4-5 float32 arrays of 256 kB) stay in a core's L2 cache across the rule's passes
_BLOCK = 1 << 16
# updates between two flushes of the slots' subnormal values (see _flush_subnormal_slots)
_FLUSH_EVERY = 32


def _constrained(p: Any) -> Any:
    """``p.constraint(p)`` as an array of ``p``'s shape and dtype."""
    out = p.constraint(p)
    out = out.data if isinstance(out, Tensor) else out
    xp = get_array_module(p.data)
    out = xp.asarray(out, dtype=p.data.dtype)
    if out.shape != p.data.shape:
        raise ValueError(f"the constraint of weight {p.name!r} returned shape {out.shape}; "
                         f"expected the weight's shape {p.data.shape}")
    return out


def _check_nonneg(name: str, v: Any, cls: str) -> float:
    try:
        v = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"{cls}: {name} must be a number. Received: {name}={v!r}") from None
    if not v >= 0:
        raise ValueError(f"{cls}: {name} must be >= 0. Received: {name}={v}")
    return v


def _check_unit(name: str, v: Any, cls: str) -> float:
    v = _check_nonneg(name, v, cls)
    if v >= 1:
        raise ValueError(f"{cls}: {name} must be in [0, 1). Received: {name}={v}")
    return v


def _check_count(name: str, v: Any, cls: str) -> int | None:
    if v is None:
        return None
    if isinstance(v, bool) or not float(v) == int(v) or int(v) < 1:
        raise ValueError(f"{cls}: {name} must be None or an integer >= 1. Received: {name}={v!r}")
    return int(v)


class Optimizer(WeightLayout, Configurable):
    """Base optimizer: clipping, learning-rate schedules, per-parameter state, step counting.

    Subclasses define ``_slot_names``, ``_prepare(lr)`` (per-step scalars) and
    ``_delta(g, slots)``: from the gradient and the state of ALL parameters, each as one flat
    array, return the step d (the base then does ``w -= d`` per parameter). Working on one
    flat buffer makes a step a dozen NumPy calls however many small tensors a model has;
    each parameter's slots are views into those buffers.

    Args:
        learning_rate: float >= 0 or callable(step) -> float.
        clipnorm: clip each gradient to this L2 norm.
        clipvalue: clip each gradient element to [−clipvalue, clipvalue].
        global_clipnorm: clip all gradients together to this global L2 norm.
        weight_decay: decoupled decay, w ← w·(1 − lr·weight_decay) before each update
            (Keras 3's ``weight_decay`` on every optimizer; AdamW's default 0.004).
        use_ema: keep an exponential moving average of the weights (slot ``"average"``),
            updated after every step: avg ← m·avg + (1 − m)·w, with m = 0 on the first step.
        ema_momentum: m above (Keras default 0.99).
        ema_overwrite_frequency: every this many (accumulated) steps copy the average into
            the weights; None leaves them until :meth:`finalize_variable_values`.
        gradient_accumulation_steps: sum the gradients of this many calls (slot
            ``"accumulated_gradient"``) and update once with their mean, clipping that mean,
            as Keras 3. Learning-rate schedules see every call; the update rule's step count
            (bias corrections) and the EMA see ``iterations // gradient_accumulation_steps``.

    Example:
        >>> opt = gn.optimizers.SGD(0.1, use_ema=True, gradient_accumulation_steps=4)
    """

    _slot_names: tuple[str, ...] = ()
    _default_lr = 0.001

    def __init__(self, learning_rate: Any = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None,
                 weight_decay: float | None = None, use_ema: bool = False,
                 ema_momentum: float = 0.99, ema_overwrite_frequency: int | None = None,
                 gradient_accumulation_steps: int | None = None, name: str | None = None):
        cls = type(self).__name__
        if learning_rate is None:
            learning_rate = self._default_lr
        if isinstance(learning_rate, dict):
            from . import schedules

            learning_rate = schedules.get(learning_rate)
        if not callable(learning_rate):
            learning_rate = _check_nonneg("learning_rate", learning_rate, cls)
        self._learning_rate: Any = learning_rate
        if clipnorm is not None and global_clipnorm is not None:
            raise ValueError(
                f"{cls}: give at most one of clipnorm and global_clipnorm. "
                f"Received: clipnorm={clipnorm}, global_clipnorm={global_clipnorm}"
            )
        for n, v in (("clipnorm", clipnorm), ("clipvalue", clipvalue),
                     ("global_clipnorm", global_clipnorm)):
            if v is not None and not float(v) > 0:
                raise ValueError(f"{cls}: {n} must be > 0. Received: {n}={v}")
        self.clipnorm, self.clipvalue, self.global_clipnorm = clipnorm, clipvalue, global_clipnorm
        self.name = name or cls.lower()
        self.iterations = 0
        self._slots: dict[int, list] = {}   # id(param) -> [slot views, in _slot_names order]
        self._order: list[int] = []         # id(param) in first-seen order (state naming)
        self._refs: dict[int, object] = {}  # keep params alive so ids stay unique
        self._pending: dict[int, dict] = {}  # set_state data for params not yet seen
        self._group_key: tuple | None = None  # ids of the params the flat buffers hold
        # ((group key, tensor.constraint_version), [(index, weight with a constraint)])
        self._constrained: tuple[Any, list[tuple[int, Any]]] = (None, [])
        # the tuple of params last seen to match the group (a replayed program passes the
        # same immutable tuple each step: no ids to compare)
        self._group_params: tuple | None = None
        self._group_sharder: Any = None  # the _sharder the flat buffers were laid out for
        self._shards = False  # whether this rank updates only its slice (_sharded_rule)
        # sharded with the weights themselves in shared memory: (flat weights, each param's
        # view of them, the params), else None
        self._wshared: tuple[np.ndarray, list[np.ndarray], list[Any]] | None = None
        # one process: (the weights as one flat array, each param's view of it), so a step
        # subtracts the whole update in one pass; None where the group's arrays cannot be
        self._wflat: tuple[np.ndarray, list[np.ndarray]] | None = None
        self._flat_refused = False  # this group's arrays cannot be flat (dtype, device)
        self.weight_decay = (None if weight_decay is None
                             else _check_nonneg("weight_decay", weight_decay, cls))
        self._decay = self.weight_decay or 0.0
        self.use_ema = bool(use_ema)
        self.ema_momentum = _check_nonneg("ema_momentum", ema_momentum, cls)
        if self.ema_momentum > 1:
            raise ValueError(f"{cls}: ema_momentum must be in [0, 1]. "
                             f"Received: ema_momentum={ema_momentum}")
        self.ema_overwrite_frequency = _check_count(
            "ema_overwrite_frequency", ema_overwrite_frequency, cls)
        self.gradient_accumulation_steps = _check_count(
            "gradient_accumulation_steps", gradient_accumulation_steps, cls)

    # -------------------------------------------------------------- learning rate
    @property
    def learning_rate(self) -> float:
        """The learning rate the next step uses, a schedule evaluated at ``iterations``
        (Keras 3's ``optimizer.learning_rate``). Set a number, or a schedule; an optimizer
        made with a schedule refuses a number, as Keras's does.

        Example:
            >>> opt = SGD(0.1); opt.learning_rate = 0.05; opt.learning_rate
            0.05
        """
        return self.current_learning_rate

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        cls = type(self).__name__
        if isinstance(value, dict):
            from . import schedules

            value = schedules.get(value)
        if callable(value):
            self._learning_rate = value
            return
        if callable(self._learning_rate):
            raise TypeError(f"{cls} was made with a learning-rate schedule "
                            f"({type(self._learning_rate).__name__}), so its learning rate "
                            "cannot be set to a number; make it with a float learning_rate "
                            f"to change it as training goes. Received: {value!r}")
        self._learning_rate = _check_nonneg("learning_rate", value, cls)

    @property
    def current_learning_rate(self) -> float:
        """The learning rate the next step uses (schedules evaluated at ``iterations``)."""
        lr = self._learning_rate
        return float(lr(self.iterations)) if callable(lr) else lr

    # -------------------------------------------------------------- stepping
    def step(self, params: Iterable[Any]) -> None:
        """Update every parameter with a gradient in place; parameters with ``grad`` None
        are skipped. Increments ``iterations`` once."""
        pairs = [(p, p.grad) for p in params if p.grad is not None]
        self._apply(pairs)

    def apply_gradients(self, grads_and_vars: Iterable[tuple[Any, Any]]) -> None:
        """Keras API: apply ``[(grad_array, param), ...]``."""
        pairs = [(p, g.data if hasattr(g, "data") and not isinstance(g, np.ndarray) else g)
                 for g, p in grads_and_vars if g is not None]
        self._apply(pairs)

    def apply(self, grads: Iterable[Any], trainable_variables: Iterable[Any] | None = None
              ) -> None:
        """Keras 3 API: apply ``grads[i]`` to ``trainable_variables[i]`` in place (a None
        gradient skips its variable), as in the keras.io custom training loop.

        Example:
            >>> optimizer.apply([w.grad for w in ws], ws)   # doctest: +SKIP
        """
        if trainable_variables is None:
            raise ValueError(f"{type(self).__name__}.apply: pass the variables the gradients "
                             "belong to: apply(grads, trainable_variables). Received: "
                             "trainable_variables=None")
        grads, variables = list(grads), list(trainable_variables)
        if len(grads) != len(variables):
            raise ValueError(f"{type(self).__name__}.apply: {len(grads)} gradients for "
                             f"{len(variables)} variables")
        self.apply_gradients(zip(grads, variables))

    def zero_grad(self, params: Iterable[Any]) -> None:
        """Drop gradients (``p.grad = None``) so the next backward starts fresh."""
        for p in params:
            p.grad = None

    def _apply(self, pairs: list[tuple[Any, Any]]) -> None:
        if not pairs:
            self.iterations += 1
            return
        params = [p for p, _ in pairs]
        grads = [g for _, g in pairs]
        clip = (self.clipvalue is not None or self.clipnorm is not None
                or self.global_clipnorm)
        # else the mean is clipped: of the accumulated window, or of the ranks (_update)
        if clip and not self.gradient_accumulation_steps and _grad_reducer is None:
            grads = self._clip(grads)
        self._grad_views(params)
        get_array_module(self._gflat).concatenate([g.reshape(-1) for g in grads],
                                                  out=self._gflat)
        self._update(params)

    def _grad_views(self, params: Sequence[Any], flat: bool = False) -> list:
        """One view per param into the flat gradient buffer that ``_update`` reads.

        A caller that writes each gradient straight into its view (the replayed step,
        ``models/step.py``) then calls ``_update(params)`` and skips the copy into the
        buffer; the arithmetic is the same. ``flat``: the caller lets the optimizer own the
        weights' arrays (:meth:`_flatten_weights`; a model's training step does).
        """
        if params is self._group_params and self._group_sharder is _sharder:
            return self._gviews
        if tuple(map(id, params)) != self._group_key or self._group_sharder is not _sharder:
            self._build_group(params)
        if (flat and self._wflat is None and not self._flat_refused
                and type(self)._rule is Optimizer._rule):  # a rule that subtracts its step
            self._flatten_weights(params)
        self._group_params = params if type(params) is tuple else None
        return self._gviews

    def _update(self, params: Sequence[Any]) -> None:
        """Apply the gradients held in the flat buffer to ``params`` (the group's order)."""
        if self._shards:  # data-parallel on one machine: this rank's slice, averaged
            if self._wshared is not None:  # averaged block by block in the update
                self._group_sharder.publish(self._gflat)
            else:
                self._group_sharder.reduce_owned(self._gflat)
        elif _grad_reducer is not None:  # data-parallel: average over the processes first
            _grad_reducer(self._gflat)
            if not self.gradient_accumulation_steps and (
                    self.clipvalue is not None or self.clipnorm is not None
                    or self.global_clipnorm):
                for v, c in zip(self._gviews, self._clip(self._gviews)):
                    if c is not v:
                        v[...] = c
        lr = self._learning_rate  # (current_learning_rate, without its call: every step)
        if callable(lr):
            lr = float(lr(self.iterations))
        if not lr >= 0:
            raise ValueError(
                f"{type(self).__name__}: learning rate must be >= 0. Received: {lr} at step "
                f"{self.iterations}"
            )
        calls, n = self.iterations, self.gradient_accumulation_steps
        if n:
            acc = self._aux["accumulated_gradient"]
            if (calls + 1) % n:  # not an update step: only accumulate
                acc += self._gflat
                if self.use_ema:
                    self._after_step(params, calls // n)
                self._constrain(params)  # (Keras too, on each call)
                self.iterations += 1
                return
            g = self._gflat
            g += acc
            g *= 1.0 / n
            acc[...] = 0
            if self.clipvalue is not None or self.clipnorm is not None or self.global_clipnorm:
                for v, c in zip(self._gviews, self._clip(self._gviews)):
                    if c is not v:
                        v[...] = c
            self.iterations = calls // n  # the rule counts updates, as Keras's iterations
        try:
            self._prepare(lr)
            if self._decay:
                f = 1 - lr * self._decay
                if self._shards and self._wshared is not None:  # the ranks share weights
                    for lo, hi in self._group_sharder.owned(self._gflat.size):
                        self._wshared[0][lo:hi] *= f
                else:
                    for p in params:
                        p.data *= f
            self._rule(params)
            if (self.iterations % _FLUSH_EVERY == _FLUSH_EVERY - 1
                    and not self._one_pass(self._gflat, self._flats)):
                self._flush_subnormal_slots()  # (the compiled update flushes in its pass)
        finally:
            self.iterations = calls
        if self.use_ema:
            self._after_step(params, calls // n if n else calls)
        self._constrain(params)
        self.iterations += 1

    def _constrain(self, params: Sequence[Any]) -> None:
        """Project each updated weight that has a constraint, in place (views of the flat
        buffers stay views), as Keras's ``variable.assign(variable.constraint(variable))``
        after the update. Ranks that share the weights each write their own slice, between
        fences, of values all of them computed from the whole updated weights."""
        key = (self._group_key, Tensor._constraint_version)
        if self._constrained[0] != key:  # looked for once per group of weights
            self._constrained = (key, [(k, p) for k, p in enumerate(params)
                                       if getattr(p, "_constraint", None) is not None])
        todo = self._constrained[1]
        if not todo:
            return
        with no_grad():
            new = [(k, p, _constrained(p)) for k, p in todo]
        if not (self._shards and self._wshared is not None):
            for _, p, v in new:
                p.data[...] = v
            return
        sh, w = self._group_sharder, self._wshared[0]
        sh.fence()  # every rank has read the updated weights
        for lo, hi in sh.owned(w.size):
            for k, _, v in new:
                a, b = self._spans[k]
                if a < hi and lo < b:
                    w[max(a, lo):min(b, hi)] = v.reshape(-1)[max(a, lo) - a:min(b, hi) - a]
        sh.fence()  # every slice is written

    def _flush_subnormal_slots(self) -> None:
        """Zero the subnormal values of the slots (this rank's slice where ranks share them).

        A slot that decays geometrically while its gradient is zero (Adam's and Nadam's m,
        momentum's velocity, RMSprop's average, for a dead ReLU unit's weights) shrinks
        until the decrement rounds to nothing, then sticks at a subnormal value, and every
        later pass over it takes a microcode assist per element: NumPy's Adam update of a
        64k-element block took 1.8 ms instead of 89 us (2-vCPU Xeon). The step such a slot
        makes is below 1e-30 of its weight, so zeroing it changes no weight. Every
        ``_FLUSH_EVERY`` updates, three passes in the step buffer; the compiled Adam also
        flushes within its one pass."""
        flats = self._flats
        tmp = flats[-1]
        if len(flats) < 2 or type(tmp) is not np.ndarray or tmp.dtype.char not in "fd":
            return
        ranges = self._group_sharder.owned(tmp.size) if self._shards else [(0, tmp.size)]
        tiny = np.finfo(tmp.dtype).tiny
        for lo, hi in ranges:
            t = tmp[lo:hi]
            for f in flats[:-1]:
                a = f[lo:hi]
                np.abs(a, out=t)
                np.greater_equal(t, tiny, out=t)
                a *= t  # NaN stays NaN (NaN * 0), a subnormal becomes ±0

    def _rule(self, params: Sequence[Any]) -> None:
        """One update from the flat gradient; rules needing the weights override this."""
        flats = self._flats
        if self._shards:
            return self._sharded_rule(params)
        g = self._gflat
        flat = self._flat_weights_current(params)
        if flat and self._step_into(g, self._wflat[0]):  # type: ignore[index]  # flat: set
            return
        if type(g) is np.ndarray and g.size > 2 * _BLOCK and not self._one_pass(g, flats):
            d = self._delta_into(flats[-1], 0, g.size)
        else:
            d = self._delta(g, flats)
        if d is flats[-1]:
            if flat:
                w = self._wflat[0]  # type: ignore[index]  # flat: set
                w -= d
                return
            for p, v in zip(params, self._tmp_views):
                p.data -= v
        else:
            for p, (a, b) in zip(params, self._spans):
                p.data -= d[a:b].reshape(p.data.shape)

    def _step_into(self, g: Any, w: np.ndarray) -> bool:
        """Apply the rule's step to the flat weights ``w`` in one compiled sweep where the
        rule has such a kernel (Adam); False: :meth:`_rule` computes the step, then
        subtracts it (the same bits)."""
        return False

    def _one_pass(self, g: Any, s: Sequence[Any]) -> bool:
        """Whether :meth:`_delta` reads each element once (a compiled kernel, which also
        spreads a large buffer over the threads): then the update runs on the whole buffer,
        not block by block."""
        return False

    def _delta_into(self, out: np.ndarray, lo: int, hi: int, w: np.ndarray | None = None,
                    reduce: Any = None) -> np.ndarray:
        """The element-wise rule on elements ``[lo, hi)`` of the flat buffers, its step
        written to ``out[lo:hi]``, block by block: an update makes several passes over g,
        the slots and the step, and one block's arrays stay in the core's cache across
        them instead of streaming from memory each pass (the same arithmetic per element,
        so the same bits). With ``w`` (flat weights) each block's step is also subtracted
        from ``w[lo:hi]`` while in cache; with ``reduce`` (``reduce(g, a, b)``) each block of
        the gradient is first averaged over the data-parallel ranks. Returns ``out``."""
        g, flats = self._gflat, self._flats[:-1]
        for a in range(lo, hi, _BLOCK):
            b = min(a + _BLOCK, hi)
            if reduce is not None:
                reduce(g, a, b)
            o = out[a:b]
            r = self._delta(g[a:b], [f[a:b] for f in flats] + [o])
            if r is not o:
                o[...] = r
            if w is not None:
                w[a:b] -= o
        return out

    def _sharded_rule(self, params: Sequence[Any]) -> None:
        """:meth:`_rule` with the work split between the ranks of one machine (ZeRO-1).

        Each rank runs the (element-wise) rule on its own slice of the averaged gradient and
        of the slots, which live in shared memory, writing its slice of the step into the
        ranks' shared step buffer; once all have written, every rank subtracts the whole
        step. Element-wise arithmetic gives each element the bits of the unsplit update.
        """
        sh = self._group_sharder
        ranges = sh.owned(self._gflat.size)
        # the whole buffer decides whether the compiled kernel runs (and loads it on the
        # first step), as in the unsharded rule: each block below is too small to load it
        # by itself, which left it to the slot flush at update 32 (0.7 s mid-training)
        self._one_pass(self._gflat, self._flats)
        if self._wshared is not None:  # the weights are shared: update this rank's slice
            self._check_shared_weights(params)
            if not self._reduced_step(sh, ranges, self._wshared[0]):
                for lo, hi in ranges:
                    self._delta_into(self._flats[-1], lo, hi, w=self._wshared[0],
                                     reduce=sh.reduce_range)
            sh.fence()  # every slice of the weights is updated
            return
        step = sh.step_buffer()
        for lo, hi in ranges:
            self._delta_into(step, lo, hi)
        sh.fence()  # every slice of the step is written
        for p, (a, b) in zip(params, self._spans):
            p.data -= step[a:b].reshape(p.data.shape)

    def _reduced_step(self, sh: Any, ranges: Sequence[tuple[int, int]], w: np.ndarray) -> bool:
        """Average, update and subtract this rank's ``ranges`` in one compiled sweep where the
        rule has such a kernel (Adam); False: the caller runs :meth:`_delta_into` (the same
        bits; the averaged gradient is then also left in the flat gradient buffer)."""
        return False

    def _after_step(self, params: Sequence[Any], steps: int) -> None:
        """EMA of the weights after a call (``use_ema``); ``steps`` = updates before it
        (Keras's count)."""
        m = self.ema_momentum if steps else 0.0
        for p in params:
            avg = self._slots[id(p)][self._ema_index]
            avg *= m
            avg += (1 - m) * p.data
        f = self.ema_overwrite_frequency
        if f and (steps + 1) % f == 0:
            self.finalize_variable_values(params)

    def finalize_variable_values(self, var_list: Iterable[Any]) -> None:
        """With ``use_ema``: copy each weight's moving average into it (Keras calls this at
        the end of ``fit``); otherwise nothing."""
        if not self.use_ema:
            return
        for p in var_list:
            s = self._slots.get(id(p))
            if s is not None:
                p.data[...] = s[self._ema_index]

    @property
    def _aux_slot_names(self) -> tuple[str, ...]:
        """Slots the base keeps for every rule (zero-initialized, after the rule's own)."""
        names = ("average",) if self.use_ema else ()
        return names + (("accumulated_gradient",) if self.gradient_accumulation_steps else ())

    @property
    def _all_slot_names(self) -> tuple[str, ...]:
        return tuple(self._slot_names) + self._aux_slot_names

    @property
    def _ema_index(self) -> int:
        return len(self._slot_names)

    def _build_group(self, params: Sequence[Any]) -> None:
        """(Re)allocate the flat slot buffers for this set of params, keeping their state."""
        xp = get_array_module(params[0].data)
        dtype = np.result_type(*[p.data.dtype for p in params])
        spans, a = [], 0
        for p in params:
            spans.append((a, a + p.data.size))
            a += p.data.size
        names = self._all_slot_names
        aux = self._aux_slot_names
        k = len(self._slot_names)
        sh = _sharder
        # the rule's own slots in memory the ranks share (each updates its slice), when the
        # rule is element-wise and nothing needs the whole gradient (clipping, accumulation)
        self._shards = bool(
            sh is not None and xp is np and type(self)._rule is Optimizer._rule
            and not self.gradient_accumulation_steps and self.clipvalue is None
            and self.clipnorm is None and not self.global_clipnorm)
        flats = [sh.shared_array(a, dtype) if self._shards and j < k
                 else long_lived_empty(a, dtype, xp) for j in range(len(names) + 1)]
        for p, (lo, hi) in zip(params, spans):
            old = self._slots.get(id(p))
            if old is None:
                idx = len(self._order)
                pend = self._pending.pop(idx, {})
                self._order.append(id(p))
                self._refs[id(p)] = p
            for j, name in enumerate(names):
                dst = flats[j][lo:hi]
                if old is not None:
                    dst[...] = old[j].reshape(-1)
                elif name in pend:
                    dst[...] = xp.asarray(pend[name], dtype=dtype).reshape(-1)
                elif name in aux:
                    dst[...] = 0
                else:
                    dst[...] = self._init_slot(name, p.data).reshape(-1)
            self._slots[id(p)] = [f[lo:hi].reshape(p.data.shape) for f in flats[:-1]]
        self._aux = dict(zip(aux, flats[k:-1]))
        self._flats, self._spans = flats[:k] + flats[-1:], spans
        # sharded: the backward pass writes straight into this rank's row of the shared
        # gradients, which the other ranks read
        self._gflat = (sh.gradient_buffer(a, dtype) if self._shards
                       else long_lived_empty(a, dtype, xp))
        self._gviews = [self._gflat[lo:hi].reshape(p.data.shape)
                        for p, (lo, hi) in zip(params, spans)]
        self._tmp_views = [flats[-1][lo:hi].reshape(p.data.shape)
                           for p, (lo, hi) in zip(params, spans)]
        self._share_weights(params, spans, a, dtype, sh)
        self._wflat, self._flat_refused = None, False
        self._group_key = tuple(map(id, params))
        self._group_sharder = sh

    def _clip(self, grads: list[Any]) -> list[Any]:
        if self.clipvalue is not None:
            v = float(self.clipvalue)
            grads = [get_array_module(g).clip(g, -v, v) for g in grads]
        if self.clipnorm is not None:
            c = float(self.clipnorm)
            out = []
            for g in grads:
                n = float(math.sqrt(float((g * g).sum())))
                out.append(g * (c / n) if n > c else g)
            grads = out
        if self.global_clipnorm is not None:
            c = float(self.global_clipnorm)
            n = math.sqrt(sum(float((g * g).sum()) for g in grads))
            if n > c:
                grads = [g * (c / n) for g in grads]
        return grads

    def _init_slot(self, name: str, w: Any) -> Any:
        return get_array_module(w).zeros_like(w)

    def _prepare(self, lr: float) -> None:
        self._lr = lr

    def _delta(self, g: Any, s: Any) -> Any:
        raise NotImplementedError

    # -------------------------------------------------------------- state and config
    def get_state(self) -> dict:
        """All optimizer state as ``{name: np.ndarray}``: ``"iterations"`` and
        ``"<param index>/<slot name>"``."""
        state = {"iterations": np.asarray(self.iterations, dtype=np.int64)}
        state.update(self._extra_state())
        for i, pid in enumerate(self._order):
            s = self._slots[pid]
            for name, a in zip(self._all_slot_names, s):
                state[f"{i}/{name}"] = asnumpy(a).copy()
        for i, d in self._pending.items():
            for name, a in d.items():
                state[f"{i}/{name}"] = np.asarray(a).copy()
        return state

    def set_state(self, state: dict) -> None:
        """Restore :meth:`get_state` output (before or after the first step)."""
        if "iterations" not in state:
            raise ValueError(
                f"{type(self).__name__}.set_state: state must contain 'iterations'. "
                f"Received keys: {sorted(state)[:8]}"
            )
        self.iterations = int(np.asarray(state["iterations"]))
        self._set_extra_state(state)
        per: dict[int, dict] = {}
        for k, v in state.items():
            if "/" not in k:
                continue
            i, name = k.split("/", 1)
            if name not in self._all_slot_names:
                raise ValueError(
                    f"{type(self).__name__}.set_state: unknown slot {name!r}; expected one of "
                    f"{self._all_slot_names}. Received key: {k!r}"
                )
            per.setdefault(int(i), {})[name] = v
        self._pending = {}
        for i, d in per.items():
            if i < len(self._order):
                s = self._slots[self._order[i]]
                for name, a in d.items():
                    j = self._all_slot_names.index(name)
                    if np.shape(a) != s[j].shape:
                        raise ValueError(
                            f"{type(self).__name__}.set_state: slot {i}/{name} has shape "
                            f"{s[j].shape}. Received: shape {np.shape(a)}"
                        )
                    s[j][...] = get_array_module(s[j]).asarray(a, dtype=s[j].dtype)
            else:
                self._pending[i] = d

    def _extra_state(self) -> dict:
        return {}

    def _state_groups(self, params: Sequence[Any]) -> list[tuple[str, list, tuple]]:
        """How :meth:`get_state`'s keys read for a model's trainable ``params``: (key
        prefix, the weights its slot indices count, slot names) — one group here."""
        return [("", list(params), tuple(self._all_slot_names))]

    def _set_extra_state(self, state: dict) -> None:
        pass

    def get_config(self) -> dict:
        lr = self._learning_rate
        if callable(lr):
            from . import schedules

            lr = schedules.serialize(lr)
        return {"name": self.name, "learning_rate": lr, "clipnorm": self.clipnorm,
                "clipvalue": self.clipvalue, "global_clipnorm": self.global_clipnorm,
                "weight_decay": self.weight_decay, "use_ema": self.use_ema,
                "ema_momentum": self.ema_momentum,
                "ema_overwrite_frequency": self.ema_overwrite_frequency,
                "gradient_accumulation_steps": self.gradient_accumulation_steps}

    def __deepcopy__(self, memo: dict[int, Any]) -> Optimizer:
        """``copy.deepcopy`` (of the optimizer, or of a model that holds it): the state
        copied and re-keyed by the copied params' ids (it is keyed by ``id(param)``), the
        flat buffers laid out afresh at the copy's next step, as after :meth:`to`."""
        import copy

        new = type(self).__new__(type(self))
        memo[id(self)] = new
        state = copy.deepcopy(self.__dict__, memo)
        key = {k: id(p) for k, p in state["_refs"].items()}  # original id -> copy's id
        state["_refs"] = {key[k]: p for k, p in state["_refs"].items()}
        state["_slots"] = {key.get(k, k): s for k, s in state["_slots"].items()}
        state["_order"] = [key.get(k, k) for k in state["_order"]]
        # (a deep-copied view is an array of its own: the views of the flat buffers are
        # laid out again from the slots, and a copy never shares the ranks' memory)
        state.update(_group_key=None, _group_params=None, _wflat=None, _wshared=None,
                     _flat_refused=False, _constrained=(None, []))
        new.__dict__.update(state)
        return new

    def to(self, device: str) -> Optimizer:
        """Move optimizer state to ``'cpu'`` or ``'gpu'`` (arrays follow their params)."""
        from .backend import to_device

        for pid, s in self._slots.items():
            self._slots[pid] = [to_device(a, device) for a in s]
        self._group_key = self._group_params = None  # rebuilt on the new device next step
        return self

