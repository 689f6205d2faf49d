"""evaluate / predict / check_gradients: the inference half of ``Model``'s loop.

``TrainingMixin`` (training.py) builds on this; both run batches through the same
:class:`~glassnet.models.step.Stepper`, so a compiled step serves ``fit`` and ``evaluate``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import _packed, backend, config
from .. import distribution as _distribution
from ..autograd import no_grad
from ..tensor import Tensor, get_mask, set_mask
from .data_adapter import BatchSource, _Arrays, _positive_batch, is_batch_source

if TYPE_CHECKING:
    from .._display import LayerGradientReport
    from ..callbacks import Callback, CallbackList
    from ..distribution import DataParallel
    from .step import Stepper


def _callback_list(callbacks: Sequence[Callback] | CallbackList | None, model: Any,
                   params: dict[str, Any], verbose: str | int = "auto") -> CallbackList:
    """``callbacks`` as a CallbackList (fit passes its own, already set up, through), with a
    progress bar for ``verbose`` 1 or 2 (``"auto"`` stays quiet outside ``fit``)."""
    from ..callbacks import CallbackList, ProgbarLogger

    if isinstance(callbacks, CallbackList):
        return callbacks
    if verbose not in ("auto", 0, 1, 2):
        raise ValueError(f"verbose must be 'auto', 0, 1 or 2. Received: {verbose!r}")
    cbs = list(callbacks or [])
    if verbose in (1, 2):
        cbs.append(ProgbarLogger(verbose))
    return CallbackList(cbs, model=model, params=params)


def _joined(outs: list[Tensor]) -> Tensor:
    """One rank's batches of an output as one tensor, their masks (padded sequences) too."""
    t = Tensor._make(np.concatenate([backend.asnumpy(o.data) for o in outs]))
    masks = [get_mask(o) for o in outs]
    if all(m is not None for m in masks):
        set_mask(t, np.concatenate([backend.asnumpy(m.data if isinstance(m, Tensor) else m)
                                    for m in masks]))
    return t


class EvaluationMixin:
    """Loss, metrics and predictions on data, without training; and the gradient check."""

    if TYPE_CHECKING:  # provided by TrainingMixin (training.py), the one class that mixes this in
        compiled_metrics: list[Any]
        _metric_slots: list[tuple[int, Any, str]]
        _device: str

        def _require_compiled(self, what: str) -> None: ...
        def _prep(self, v: Any, name: str, allow_int: bool = False) -> Any: ...
        def _prep_data(self, x: Any, y: Any, sample_weight: Any = None,
                       class_weight: dict[Any, Any] | None = None) -> tuple[Any, Any, Any]: ...
        def _ensure_built(self, x: Any) -> None: ...
        def _output_loss_names(self) -> list[str]: ...
        def _step(self) -> Stepper: ...
        def _on_device(self, a: Any) -> Any: ...
        def _update_metrics(self, y: Any, out: Any, dist: DataParallel | None = None,
                            sw: Any = None) -> None: ...
        def _metric_logs(self) -> dict[str, Any]: ...
        def _own_step(self, name: str) -> bool: ...
        def _step_logs(self, out: dict, n: int, dist: Any) -> dict[str, float]: ...
        def test_step(self, data: Any) -> dict: ...
        @property
        def metrics(self) -> list: ...
        def _params(self) -> list[Tensor]: ...
        def _eager_loss(self, x: Any, y: Any, sw: Any = None,
                        training: bool = False) -> tuple[Tensor, Any]: ...

    # ------------------------------------------------------------------ evaluate / predict
    def evaluate(self, x: Any = None, y: Any = None, batch_size: int | None = None,
                 verbose: str | int = "auto", sample_weight: Any = None,
                 steps: int | None = None, return_dict: bool = False,
                 callbacks: Sequence[Callback] | CallbackList | None = None) -> Any:
        """Loss and metrics on ``(x, y)``, in batches, without recording a graph.

        Returns the loss, a list ``[loss, *metrics]``, or with ``return_dict=True`` a dict
        keyed like ``History`` (``{"loss": ..., "accuracy": ...}``). ``callbacks`` get
        Keras's ``on_test_begin`` / ``on_test_batch_begin`` / ``on_test_batch_end`` /
        ``on_test_end`` (``fit`` passes its own during validation, as Keras does).

        Example:
            >>> model.evaluate(x_test, y_test, return_dict=True)["accuracy"]
        """
        self._require_compiled("evaluate")
        bs = _positive_batch(batch_size, "evaluate")
        if steps is not None and (not isinstance(steps, (int, np.integer)) or steps < 1):
            raise ValueError(f"evaluate: steps must be a positive integer or None. Received: "
                             f"steps={steps!r}")
        dist = _distribution.active()
        source = None
        if is_batch_source(x):  # a generator, iterator or PyDataset of (x, y) batches
            if y is not None or sample_weight is not None or dist is not None:
                raise ValueError("evaluate: with a generator or PyDataset, y and sample_weight "
                                 "come from its batches (and one process runs it)")
            source = BatchSource(x, steps, "evaluate")
        else:
            x, y, sw = self._prep_data(x, y, sample_weight)
            self._ensure_built(x)
        if dist is not None:  # each rank its contiguous share; results summed / gathered
            if len(x) < dist.size:
                raise ValueError(f"evaluate: {dist.size} processes need at least "
                                 f"{dist.size} samples. Received: {len(x)}")
            part = dist.shard(slice(0, len(x)))
            x, y = x[part], y[part]
            sw = None if sw is None else sw[part]
            if dist.rank != 0:
                verbose = 0
        if source is None:  # (a source applies gn.config's cap itself)
            want = -(-len(x) // bs) if steps is None else int(steps)
            if config._limit_steps(want) != want:
                steps = config.max_steps_per_epoch()
        n_steps = source.steps if source is not None else -(-len(x) // bs)
        stop = len(x) if source is None else 0
        if source is None and steps is not None:  # Keras: only the first `steps` batches
            stop = min(stop, int(steps) * bs)
            n_steps = -(-stop // bs)
        cb = _callback_list(callbacks, self, {"steps": n_steps}, verbose)

        def batches() -> Iterator[tuple[Any, Any, Any]]:
            if source is None:
                for i in range(0, stop, bs):
                    yield (x[i:i + bs], None if y is None else y[i:i + bs],
                           None if sw is None else sw[i:i + bs])
                return
            for batch in source.epoch():
                xb, yb, swb = self._prep_data(*batch)
                if yb is None:
                    raise ValueError("evaluate: a batch without targets; yield (x, y)")
                self._ensure_built(xb)
                yield xb, yb, swb

        if self._own_step("test_step"):  # the model's own step, as Keras's evaluate runs it
            return self._evaluate_own_step(batches(), cb, dist, return_dict)
        loss_sum, n = 0.0, 0
        out_names = self._output_loss_names()
        out_sums = np.zeros(len(out_names))
        for m in self.compiled_metrics:
            m.reset_state()
        cb.on_test_begin()
        st = self._step()
        own_loss = st.own_loss()
        kept = []  # (targets, outputs) for the metrics, gathered over the ranks at the end
        from ..callbacks import _noop

        # the batch hooks, looked up once (a no-op when no callback has them)
        on_begin, on_end = cb.on_test_batch_begin, cb.on_test_batch_end
        cpu = self._device == "cpu"
        # no callback between batches: the weights stay as they are, so inference
        # products may pack each weight once (glassnet._packed), worth it over batches
        # (one batch: a pack per use, predict_on_batch b1024 4-6 % slower)
        with (_packed.fixed_weights() if on_begin is _noop and on_end is _noop
              and (n_steps is None or n_steps > 1) else contextlib.nullcontext()):
            for step, (xb, yb, swb) in enumerate(batches()):
                on_begin(step)
                if not cpu:
                    xb, yb, swb = self._on_device(xb), self._on_device(yb), self._on_device(swb)
                k = len(xb)
                n += k
                outs, single, terms, parts = st.infer(xb, "test")
                if own_loss:  # the model's own compute_loss, as Keras's default test_step
                    with no_grad():
                        lv = float(st.own_loss_value([xb] if not isinstance(xb, _Arrays)
                                                     else xb.arrays, yb, swb, outs, single).data)
                else:
                    lv, out_ = st.test_loss(yb, terms, swb, parts, outputs=outs is None)
                    if outs is None:  # the output softmax, shared with the loss's node
                        outs = [out_]
                loss_sum += lv * k
                if out_names:
                    out_sums += np.asarray(st.last_output_losses, np.float64) * k
                if self._metric_slots:
                    out = outs[0] if single else outs
                    if dist is not None:  # gathered once at the end: ranks differ in batches
                        kept.append((yb, out, swb))
                    else:
                        self._update_metrics(yb, out, sw=swb)
                if on_end is not _noop:  # Keras's batch logs: the running values so far
                    blogs = {"loss": loss_sum / n}
                    blogs.update({k: float(v / n) for k, v in zip(out_names, out_sums)})
                    if self._metric_slots and dist is None:
                        blogs.update(self._metric_logs())
                    on_end(step, blogs)
        if n == 0:
            raise ValueError("evaluate: the data source gave no batches")
        if dist is not None:
            tot = dist.sum_floats([loss_sum, n, *out_sums])
            loss_sum, n, out_sums = tot[0], tot[1], tot[2:]
            if self._metric_slots:
                ys = [k[0] for k in kept]
                outs_l = [k[1] for k in kept]
                yc: _Arrays | np.ndarray
                oc: list[Tensor] | Tensor
                if isinstance(ys[0], _Arrays):
                    yc = _Arrays([np.concatenate([backend.asnumpy(b.arrays[j]) for b in ys])
                                  for j in range(len(ys[0].arrays))])
                    oc = [_joined([o[j] for o in outs_l]) for j in range(len(outs_l[0]))]
                else:
                    yc = np.concatenate([backend.asnumpy(b) for b in ys])
                    oc = _joined(outs_l)
                sws = [k[2] for k in kept]
                swc = (None if any(w is None for w in sws)
                       else np.concatenate([backend.asnumpy(w) for w in sws]))
                self._update_metrics(yc, oc, dist, swc)
        res = {"loss": float(loss_sum / n)}
        res.update({k: float(v / n) for k, v in zip(out_names, out_sums)})
        res.update(self._metric_logs())
        cb.on_test_end(dict(res))
        if return_dict:
            return res
        return res["loss"] if len(res) == 1 else list(res.values())

    def _evaluate_own_step(self, batches: Any, cb: Any, dist: Any, return_dict: bool) -> Any:
        """``evaluate`` through an overridden ``test_step(data)``: its returned logs after
        each batch (the running values of ``self.metrics``, which start reset), the last
        ones being the result; across processes, weighted by each rank's samples."""
        for m in self.metrics:
            m.reset_state()
        cb.on_test_begin()
        logs: dict[str, float] = {}
        seen = False
        for step, (xb, yb, swb) in enumerate(batches):
            seen = True
            cb.on_test_batch_begin(step)
            data = tuple(self._on_device(a) for a in (xb, yb, swb) if a is not None)
            with no_grad():
                out = self.test_step(data if len(data) > 1 else data[0])
            logs = self._step_logs(out, len(xb), dist)
            cb.on_test_batch_end(step, dict(logs))
        if not seen:
            raise ValueError("evaluate: the data source gave no batches")
        cb.on_test_end(dict(logs))
        if return_dict:
            return logs
        return logs["loss"] if list(logs) == ["loss"] else list(logs.values())

    def predict(self, x: Any, batch_size: int | None = None, verbose: str | int = "auto",
                steps: int | None = None,
                callbacks: Sequence[Callback] | CallbackList | None = None) -> Any:
        """Outputs for ``x`` as a NumPy array, in batches, in inference mode.

        ``callbacks`` get Keras's ``on_predict_begin`` / ``on_predict_batch_begin`` /
        ``on_predict_batch_end`` (logs ``{"outputs": batch}``) / ``on_predict_end``.

        Example:
            >>> probs = model.predict(x_test)          # (n, units of the last layer)
        """
        if steps is not None and (not isinstance(steps, (int, np.integer)) or steps < 1):
            raise ValueError(f"predict: steps must be a positive integer or None. Received: "
                             f"steps={steps!r}")
        if is_batch_source(x):  # batches of x (or (x, ...)): predicted in order
            if _distribution.active() is not None:
                raise ValueError("predict: data-parallel prediction splits arrays; pass x as "
                                 "an array. Received: a batch source")
            parts = [self.predict(self._prep(xb, "x"), batch_size=batch_size, verbose=0)
                     for xb, _, _ in BatchSource(x, steps, "predict").epoch()]
            if not parts:
                raise ValueError("predict: the data source gave no batches")
            if isinstance(parts[0], dict):
                return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
            if isinstance(parts[0], list):
                return [np.concatenate(p) for p in zip(*parts)]
            return np.concatenate(parts)
        x = self._prep(x, "x")
        if x.ndim == 0 or len(x) == 0:
            raise ValueError(f"predict: x is empty. Received: x shape {x.shape}")
        self._ensure_built(x)
        bs = _positive_batch(batch_size, "predict")
        want = -(-len(x) // bs) if steps is None else int(steps)
        if config._limit_steps(want) != want:  # gn.config's cap (a source applies it itself)
            steps = config.max_steps_per_epoch()
        if steps is not None:  # Keras: only the first `steps` batches
            x = x[:int(steps) * bs]
        dist = _distribution.active()
        if dist is not None:
            if len(x) < dist.size:
                raise ValueError(f"predict: {dist.size} processes need at least {dist.size} "
                                 f"samples. Received: {len(x)}")
            x = x[dist.shard(slice(0, len(x)))]
            if dist.rank != 0:
                verbose = 0
        cb = _callback_list(callbacks, self, {"steps": -(-len(x) // bs)}, verbose)
        outs = []
        cb.on_predict_begin()
        st = self._step()
        from ..callbacks import _noop

        # the batch hooks, looked up once (a no-op when no callback has them)
        on_begin, on_end = cb.on_predict_batch_begin, cb.on_predict_batch_end
        with (_packed.fixed_weights() if on_begin is _noop and on_end is _noop
              and len(x) > bs else contextlib.nullcontext()):  # (see evaluate)
            for step, i in enumerate(range(0, len(x), bs)):
                if on_begin is not _noop:
                    on_begin(step)
                o, single, _, _ = st.infer(self._on_device(x[i:i + bs]), "predict")
                outs.append(backend.asnumpy(o[0].data) if single
                            else [backend.asnumpy(t.data) for t in o])
                if on_end is not _noop:
                    on_end(step, {"outputs": outs[-1]})
        cb.on_predict_end()
        res: Any  # an array, a list of them (several outputs), or a dict of them by name
        if isinstance(outs[0], list):
            res = [np.concatenate(parts) for parts in zip(*outs)]
        else:
            res = outs[0] if len(outs) == 1 else np.concatenate(outs)
        if dist is not None:  # every rank returns all predictions, in order
            res = ([dist.gather_rows(r) for r in res] if isinstance(res, list)
                   else dist.gather_rows(res))
        keys = getattr(self, "_output_keys", None)
        if keys is not None:  # a model whose outputs were given as a dict predicts a dict
            res = dict(zip(keys, res))
        return res

    def check_gradients(self, x: Any, y: Any, eps: float = 1e-6, atol: float = 1e-5,
                        rtol: float = 1e-3, n_directions: int = 4) -> LayerGradientReport:
        """Float64 numeric check of every trainable weight through the real loss.

        Returns a per-layer report (dict layer name → max abs error); raises
        ``GradcheckError`` naming the layer on mismatch.
        """
        from ..gradcheck import GradcheckError

        self._require_compiled("check_gradients")
        x, y, _ = self._prep_data(x, y)
        self._ensure_built(x)
        x = (_Arrays([a.astype(np.float64) for a in x.arrays]) if isinstance(x, _Arrays)
             else x.astype(np.float64))
        x, y = self._on_device(x), self._on_device(y)  # checked in float64 on the model's device
        params = self._params()
        saved = [(p.data, p.grad) for p in params]
        for p in params:
            p.data = p.data.astype(np.float64)
            p.grad = None
        from .._display import LayerGradientReport

        rs = np.random.default_rng(0)
        report = LayerGradientReport()  # a dict that also displays as a table in Jupyter
        try:
            def f() -> float:
                # the graph is recorded (never walked) so the loss takes the same form as in
                # training: from the logits under a final sigmoid/softmax
                return float(self._eager_loss(x, y)[0].data)

            loss = self._eager_loss(x, y)[0]
            loss.backward()
            for p in params:
                g = p.data * 0 if p.grad is None else p.grad
                worst = 0.0
                for _ in range(n_directions):
                    d = rs.standard_normal(p.data.shape)
                    d = backend.to_device(d / np.linalg.norm(d), self._device)
                    base = p.data.copy()
                    p.data = base + eps * d
                    fp = f()
                    p.data = base - eps * d
                    fm = f()
                    p.data = base
                    num = (fp - fm) / (2 * eps)
                    ana = float((g * d).sum())
                    err = abs(ana - num)
                    worst = max(worst, err)
                    if err > atol + rtol * abs(num):
                        raise GradcheckError(
                            f"check_gradients: weight {p.name} (shape {p.data.shape}): "
                            f"backprop {ana:.6e} vs numeric {num:.6e}")
                layer = (p.name or "?").split("/")[0]
                report[layer] = max(report.get(layer, 0.0), worst)
        finally:
            for p, (d, _gr) in zip(params, saved):
                p.data, p.grad = d, None
        return report
