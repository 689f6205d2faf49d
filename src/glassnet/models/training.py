"""THE training loop: the only place that calls ``backward()`` and ``optimizer.step()``."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from .. import backend, config
from .. import distribution as _distribution
from .._metric_base import _mask_of, masked_weights
from ..autograd import no_grad
from ..layers.base import Layer
from ..losses import BinaryCrossentropy
from ..tensor import Tensor, get_mask
from ._compile import _is_config, _metric_slots, _per_output, _serialize_structure
from .data_adapter import (
    BatchSource,
    _Arrays,
    _check_binary_targets,
    _check_xy,
    _class_weights,
    _positive_batch,
    _to_array,
    is_batch_source,
    unpack,
)
from .evaluation import EvaluationMixin

if TYPE_CHECKING:
    from .._optimizer_base import Optimizer
    from ..callbacks import Callback, History
    from ..distribution import DataParallel
    from .model import Model
    from .step import Stepper


class TrainingMixin(EvaluationMixin):
    """compile / fit / evaluate / predict, mixed into ``Model``."""

    _n_inputs = 1  # functional models with several inputs/outputs take lists
    _n_outputs = 1

    if TYPE_CHECKING:  # provided by Layer, which Model mixes this into
        built: bool
        name: str

        @property
        def trainable_weights(self) -> list[Tensor]: ...
        def __call__(self, x: Any, training: bool | None = None, **kwargs: Any) -> Any: ...

    def __init__(self) -> None:
        self.optimizer: Optimizer | None = None
        # a Loss, or (several outputs) a list of them with None for an output without one
        self.loss: Any = None
        self.compiled = False
        self.compiled_metrics: list[Any] = []
        self._metric_slots: list[tuple[int, Any, str]] = []  # (output index, metric, log name)
        self._loss_weights: list[float] | None = None
        self.stop_training = False
        self._compile_config: dict[str, Any] | None = None
        self._params_cache: tuple[int, list[Tensor]] | None = None
        self._loss_layers: list[tuple[Layer, bool]] | None = None
        self._loss_layers_at = -1  # layers.base._loss_adders when _loss_layers was found
        self._device = "cpu"
        self.jit_compile: bool | str = "auto"
        self._stepper: Stepper | None = None  # the recorded steps, made on first use
        self._logits_loss: Any = None  # as self.loss: a Loss, a list of them, or None

    def _reset_compiled_cache(self) -> None:
        self._params_cache = None
        self._loss_layers = None
        self._stepper = None

    def compile(self, optimizer: Any = "rmsprop", loss: Any = None, metrics: Any = None,
                loss_weights: Any = None, weighted_metrics: Any = None,
                run_eagerly: bool = False, steps_per_execution: int = 1,
                jit_compile: Any = "auto", auto_scale_loss: bool = True,
                **kwargs: Any) -> None:
        """Choose optimizer, loss and metrics (names, config dicts or objects).

        ``metrics`` ignore sample and class weights; ``weighted_metrics`` (the same forms)
        take them, as in Keras (one that shares a metric's name is logged with a
        ``weighted_`` prefix: ``weighted_accuracy``, ``out_weighted_mae``).

        ``run_eagerly=True`` runs every step the ordinary way (as ``jit_compile=False``:
        Keras's switch for debugging a step). ``steps_per_execution`` (a positive integer)
        and ``auto_scale_loss`` are accepted for Keras's signature: glassnet runs one step
        per batch, with nothing to batch into one device call, and has no mixed precision
        whose loss would need scaling; the results are the same.

        ``jit_compile`` ("auto" or True, or False): record each step once and replay it on
        later batches of the same shapes (``glassnet.models.step``): same results bit for
        bit, a fraction of the per-step overhead. ``True`` also warns once when a model's
        step cannot be replayed (and then runs it the ordinary way); ``False`` never
        replays.

        Example:
            >>> model.compile(optimizer="adam", loss="binary_crossentropy",
            ...               metrics=["accuracy"])
        """
        from .. import losses, optimizers
        from .. import metrics as M

        if kwargs:
            raise TypeError(f"compile: unexpected argument(s) {sorted(kwargs)}")
        if isinstance(loss, (list, tuple)) and self._n_outputs == 1 and len(loss) != 1:
            raise ValueError(f"compile: a model with one output takes one loss. Received: "
                             f"{len(loss)} losses")
        if jit_compile not in ("auto", True, False):
            raise ValueError(f"compile: jit_compile must be 'auto', True or False. "
                             f"Received: {jit_compile!r}")
        if (isinstance(steps_per_execution, bool) or not isinstance(steps_per_execution, int)
                or steps_per_execution < 1):
            raise ValueError(f"compile: steps_per_execution must be a positive integer. "
                             f"Received: {steps_per_execution!r}")
        self.run_eagerly = bool(run_eagerly)
        self.steps_per_execution = steps_per_execution
        self.jit_compile = False if run_eagerly else jit_compile
        self.optimizer = optimizers.get(optimizer)
        if self._device != "cpu":
            self.optimizer.to(self._device)
        from .step import logits_twin

        n_out = self._n_outputs
        names = self._output_names()
        # a model with its own train_step may compile without a loss, as in Keras
        if loss is None:
            self.loss, self._logits_loss = None, None
        elif n_out == 1 and (not isinstance(loss, (dict, list, tuple)) or _is_config(loss)):
            self.loss = losses.get(loss)
            self._logits_loss = logits_twin(self.loss)
        else:  # Keras's structure rules: one loss for all, a list, or a dict by output name
            per = _per_output(loss, "loss", names)
            self.loss = [None if lo is None else losses.get(lo) for lo in per]
            if n_out == 1:
                self.loss = self.loss[0]
                self._logits_loss = None if self.loss is None else logits_twin(self.loss)
            else:
                self._logits_loss = [None if lo is None else logits_twin(lo)
                                     for lo in self.loss]
        self._loss_weights = None
        if loss_weights is not None:
            w = _per_output(loss_weights, "loss_weights", names)
            self._loss_weights = [1.0 if v is None else float(v) for v in w]
            if all(v == 1.0 for v in self._loss_weights):
                self._loss_weights = None
        self.compiled = True
        plain = _metric_slots(metrics, names, M)
        weighted = _metric_slots(weighted_metrics, names, M)
        taken = {name for _, _, name in plain}
        for k, (i, met, name) in enumerate(weighted):
            if name in taken:  # Keras: the weighted one of two same-named metrics
                head = "" if len(names) == 1 else f"{names[i]}_"
                weighted[k] = (i, met, f"{head}weighted_{name[len(head):]}")
        self._metric_slots = plain + weighted
        self._weighted_metrics = {id(m) for _, m, _ in weighted}
        self.compiled_metrics = [m for _, m, _ in self._metric_slots]
        self._compile_config = {
            # a user's own optimizer class by its registered name, as losses and metrics
            "optimizer": _serialize_structure(self.optimizer, optimizers),
            "loss": _serialize_structure(loss, losses),
            "metrics": _serialize_structure(metrics, M),
            **({"weighted_metrics": _serialize_structure(weighted_metrics, M)}
               if weighted_metrics else {}),
            "loss_weights": loss_weights if isinstance(loss_weights, (dict, list, tuple,
                                                                      int, float,
                                                                      type(None)))
            else None,
        }
        if self._compile_config["loss_weights"] is None:
            del self._compile_config["loss_weights"]
        self._reset_compiled_cache()

    def get_compile_config(self) -> dict[str, Any] | None:
        """What :meth:`compile_from_config` needs to compile this model again when a
        ``.keras`` file is read: Keras's ``compile_config`` (None when uncompiled). A model
        class may override both hooks, as in Keras, to save what its own ``compile``
        takes."""
        from ..interop._keras_compile import compile_to_keras

        return compile_to_keras(cast("Model", self))

    def compile_from_config(self, config: dict[str, Any]) -> None:
        """Compile from what :meth:`get_compile_config` wrote (Keras's hook)."""
        from ..interop._keras_compile import compile_from_keras

        compile_from_keras(cast("Model", self), config, "compile_config")

    def _prep(self, v: Any, name: str, allow_int: bool = False) -> Any:
        """Validated array(s): one, or ``_Arrays`` when the model has several inputs/outputs."""
        k = self._n_inputs if name == "x" else self._n_outputs
        if k == 1 and isinstance(v, dict):  # {name: array} for the one input or output
            keys = getattr(self, "input_names" if name == "x" else "output_names", None)
            if not keys or set(v) != set(keys):
                raise ValueError(f"{name}: a dict must have one entry per model "
                                 f"{'input' if name == 'x' else 'output'}, keyed {keys}. "
                                 f"Received: keys {sorted(v)}")
            v = v[keys[0]]
        if k == 1 or v is None or isinstance(v, _Arrays):
            if isinstance(v, _Arrays):
                return v
            a = _to_array(v, name, allow_int)
            if name == "y" and a is not None and isinstance(self.loss, BinaryCrossentropy):
                _check_binary_targets(a)
            if name == "x" and a is not None and a.ndim == 1 and self._one_feature_input():
                a = a.reshape(-1, 1)  # a DataFrame column for an Input((1,)), as Keras takes
            return a
        what = "input" if name == "x" else "output"
        # Keras: an output with neither a loss nor a metric needs no targets (an auxiliary
        # output); a dict may leave it out, a list may hold None for it
        free = self._untargeted_outputs() if name == "y" else set()
        if isinstance(v, dict):  # by the names of the inputs / output layers, as Keras
            keys = (getattr(self, "input_names", None) if name == "x"
                    else self._output_names())
            if (keys is None or not set(v) <= set(keys)
                    or any(key not in v for j, key in enumerate(keys) if j not in free)):
                raise ValueError(f"{name}: a dict must have one entry per model {what}"
                                 + (" with a loss or a metric" if free else "")
                                 + f", keyed {keys}. Received: keys {sorted(v)}")
            v = [v.get(key) for key in keys]
        elif (name == "y" and not isinstance(v, (list, tuple)) and len(free) == k - 1):
            # one output needs targets (the others have neither a loss nor a metric): a
            # single array is its targets, as Keras takes them (keras.io's miniature GPT)
            v = [None if j in free else v for j in range(k)]
        if not isinstance(v, (list, tuple)) or len(v) != k:
            raise ValueError(f"{name} must be a list of {k} arrays, one per model {what}. "
                             f"Received: {type(v).__name__}"
                             + (f" of length {len(v)}" if isinstance(v, (list, tuple)) else ""))
        if any(a is None and i not in free for i, a in enumerate(v)):
            raise ValueError(f"{name}: only an output with neither a loss nor a metric may "
                             f"have no targets. Received: None for output(s) "
                             f"{[i for i, a in enumerate(v) if a is None and i not in free]}")
        arrays = [None if a is None else _to_array(a, f"{name}[{i}]", allow_int)
                  for i, a in enumerate(v)]
        if all(a is None for a in arrays):
            raise ValueError(f"{name}: no targets for any output. Received: {v!r}")
        n = next(len(a) if a.ndim else 0 for a in arrays if a is not None)
        # an untargeted output reads no targets: an empty column per sample stands in
        full = [np.zeros((n, 0), "float32") if a is None else a for a in arrays]
        lens = [len(a) if a.ndim else 0 for a in full]
        if len(set(lens)) != 1:
            raise ValueError(f"every array of {name} must have the same number of samples. "
                             f"Received: {lens}")
        return _Arrays(full)

    def _untargeted_outputs(self) -> set[int]:
        """Outputs compiled with neither a loss nor a metric (their targets are unused)."""
        losses = self.loss if isinstance(self.loss, list) else None
        if not losses:
            return set()
        metered = {slot[0] for slot in getattr(self, "_metric_slots", ())}
        return {i for i, lo in enumerate(losses) if lo is None and i not in metered}

    def _prep_data(self, x: Any, y: Any, sample_weight: Any = None,
                   class_weight: dict[Any, Any] | None = None) -> tuple[Any, Any, Any]:
        """Validated (x, y, sample_weight) arrays of one call or one batch: converted and
        checked, class weights folded into the sample weights."""
        x = self._prep(x, "x")
        y = self._prep(y, "y", allow_int=True)
        sw = None if sample_weight is None else _to_array(sample_weight, "sample_weight")
        _check_xy(x, y, sw)
        if class_weight is not None:
            cw = _class_weights(y, class_weight)
            sw = cw if sw is None else sw * cw
        return x, y, sw

    def _one_feature_input(self) -> bool:
        """True when the model declares one input of shape (batch, 1)."""
        try:
            shape = getattr(self, "input_shape", None)
        except Exception:  # a subclassed model without a known input
            return False
        return isinstance(shape, tuple) and len(shape) == 2 and shape[-1] == 1

    def _require_compiled(self, what: str) -> None:
        if not getattr(self, "compiled", False):
            raise RuntimeError(f"{what}: the model must be compiled first; call "
                               "model.compile(optimizer, loss) before fit/evaluate")
        # compile(loss=None) is checked by the step: a layer's add_loss may supply the loss

    def _own_step(self, name: str) -> bool:
        """True when a subclass overrides ``train_step``/``test_step`` (Keras 3's hook)."""
        return getattr(type(self), name) is not getattr(TrainingMixin, name)

    @property
    def metrics(self) -> list:
        """The metrics ``fit`` resets at each epoch, as Keras 3 lists them: a ``Mean`` named
        ``"loss"`` (for a custom ``train_step`` to update) then the compiled metrics. A model
        with its own trackers overrides this property to list them."""
        if self.loss is None:
            return list(self.compiled_metrics)
        tracker = self.__dict__.get("_loss_tracker")
        if tracker is None:
            from ..metrics import Mean

            tracker = self._loss_tracker = Mean(name="loss")
        return [tracker, *self.compiled_metrics]

    @property
    def metrics_names(self) -> list[str]:
        """The names of :attr:`metrics`, in the order ``evaluate`` returns its values:
        ``dict(zip(model.metrics_names, model.evaluate(x, y)))`` labels them. (Keras 3 lists
        its wrapper, ``["loss", "compile_metrics"]``; glassnet names each metric, as Keras 2
        did and as the tutorials that zip them expect.)

        Example:
            >>> model.compile("adam", "mse", metrics=["mae"]); model.metrics_names
            ['loss', 'mae']
            >>> two_outputs.compile("adam", ["mse", "mse"]); two_outputs.metrics_names
            ['loss', 'out1_loss', 'out2_loss']
        """
        if self.loss is None or type(self).metrics is not TrainingMixin.metrics:
            return [str(m.name) for m in self.metrics]  # a model's own trackers
        return ["loss", *self._output_loss_names(),
                *(name for _, _, name in self._metric_slots)]

    def compute_loss(self, x: Any = None, y: Any = None, y_pred: Any = None,
                     sample_weight: Any = None, training: bool = True) -> Tensor:
        """The compiled loss of ``y_pred`` against ``y`` plus the layers' penalties (Keras 3).

        For a custom ``train_step``: ``loss = self.compute_loss(y=y, y_pred=self(x))``. A
        final sigmoid/softmax under a cross-entropy is undone through the graph, as in fit.

        Example:
            >>> loss = model.compute_loss(y=y, y_pred=model(x, training=True))
        """
        if self.loss is None:
            raise ValueError("compute_loss: the model was compiled without a loss")
        st = self._step()
        outs = list(y_pred) if isinstance(y_pred, (list, tuple)) else [y_pred]
        outs = [o if isinstance(o, Tensor) else Tensor._make(np.asarray(o)) for o in outs]
        if len(outs) > 1:
            y = _Arrays([a.data if isinstance(a, Tensor) else np.asarray(a) for a in y])
        return st.total_loss(y, st._terms(outs, None), sample_weight, st._penalties(None))

    def _output_names(self) -> list:
        names = getattr(self, "output_names", None)
        if self._n_outputs > 1 and names:
            return list(names)
        return [f"output_{i + 1}" for i in range(self._n_outputs)] if self._n_outputs > 1 \
            else ["output"]

    def _update_metrics(self, y: Any, out: Any, dist: DataParallel | None = None,
                        sw: Any = None) -> None:
        """Feed each compiled metric its output's targets and predictions (all ranks'); the
        weighted metrics get the sample weights ``sw`` too."""
        weighted = self.__dict__.get("_weighted_metrics") or ()
        if (dist is None and len(self._metric_slots) == 1 and not isinstance(out, list)
                and get_mask(out) is None):
            _, met, _ = self._metric_slots[0]  # one output, one metric: no bookkeeping
            w = backend.asnumpy(sw) if sw is not None and id(met) in weighted else None
            met.update_state(backend.asnumpy(y), backend.asnumpy(out.data), w)
            return
        ys = y.arrays if isinstance(y, _Arrays) else [y]
        outs = out if isinstance(out, list) else [out]
        if weighted and sw is not None:
            sw = backend.asnumpy(sw)
            if dist is not None:
                sw = dist.gather_rows(sw)
        cache = {}
        for i, met, _ in self._metric_slots:
            if i not in cache:
                yi, oi = backend.asnumpy(ys[i]), backend.asnumpy(outs[i].data)
                # a padded sequence's mask weighs the steps of the metrics that take it
                mi = _mask_of(outs[i])
                if dist is not None:
                    yi, oi = dist.gather_rows(yi), dist.gather_rows(oi)
                    mi = None if mi is None else dist.gather_rows(mi)
                cache[i] = (yi, oi, mi)
            yi, oi, mi = cache[i]
            wi = sw if id(met) in weighted else None
            if mi is not None and getattr(met, "uses_mask", False):
                wi = masked_weights(wi, mi)
            met.update_state(yi, oi, wi)

    def _metric_logs(self) -> dict[str, Any]:
        out = {}
        for _, met, name in self._metric_slots:
            r = met.result()  # a float, or an array (F1Score(average=None), thresholds)
            out[name] = float(r) if np.ndim(r) == 0 else np.asarray(r)
        return out

    def _output_loss_names(self) -> list[str]:
        """``<output>_loss`` log names where several outputs have a loss (else empty, as
        Keras 3 logs then only ``loss``)."""
        if self._n_outputs == 1:
            return []
        names = [f"{n}_loss" for n, lo in zip(self._output_names(), self.loss or [])
                 if lo is not None]
        return names if len(names) > 1 else []

    def train_step(self, data: Any) -> dict:
        """One training step on one batch; returns the step's logs (Keras 3's hook).

        ``data`` is ``x``, ``(x, y)`` or ``(x, y, sample_weight)`` as ``fit`` received
        them, batched and on the model's device. Override it for training that is not
        "one loss, one optimizer" (a GAN, a VAE): ``fit`` then gives it callbacks,
        ``History``, the progress bar, checkpoints and ``validation_data`` as usual, and
        reports the returned dict (running means of trackers listed in :attr:`metrics`).

        Example:
            >>> class GANModel(gn.Model):
            ...     def train_step(self, data):
            ...         ...   # two optimizers, two losses
            ...         return {"d_loss": self.d_tracker.result()}
        """
        x, y, sw = unpack(data, "train_step")
        loss, out = self._step().train(x, y, sw)
        logs = {"loss": float(loss.data)}
        if self._metric_slots:
            self._update_metrics(y, out, sw=sw)
            logs.update(self._metric_logs())
        return logs

    def _step_logs(self, out: dict, n: int, dist: Any) -> dict[str, float]:
        """The logs a model's own ``train_step``/``test_step`` returned, as floats (a dict
        value, Keras's ``compile_metrics``, flattened); across processes, the ranks' values
        weighted by their ``n`` samples."""
        logs: dict[str, float] = {}
        for k, v in out.items():
            logs.update({kk: float(vv) for kk, vv in v.items()} if isinstance(v, dict)
                        else {k: float(v)})
        if dist is not None:
            keys = sorted(logs)
            tot = dist.sum_floats([logs[k] * n for k in keys] + [n])
            logs = {k: float(v / tot[-1]) for k, v in zip(keys, tot)}
        return logs

    def test_step(self, data: Any) -> dict:
        """Loss and metrics of one batch without training (Keras 3's hook; see
        :meth:`train_step`). Overriding it makes ``evaluate`` call it per batch."""
        raise NotImplementedError  # the built-in evaluate computes this itself (faster)

    def _ensure_built(self, x: Any) -> None:
        if not self.built:
            with no_grad():
                self(Tensor._make(self._on_device(x[:1])))  # runs a custom build()

    def _on_device(self, a: Any) -> Any:
        if a is None or self._device == "cpu":
            return a
        if isinstance(a, _Arrays):
            return _Arrays([backend.to_device(t, self._device) for t in a.arrays])
        return backend.to_device(a, self._device)

    def _params(self) -> list[Tensor]:
        from ..layers import base

        gen = base._trainable_generation
        if self._params_cache is None or self._params_cache[0] != gen:
            self._params_cache = (gen, [w for w in self.trainable_weights if w.requires_grad])
        return self._params_cache[1]

    def _penalty_layers(self) -> list:
        """(layer, own_only) for every layer that may add a penalty, found once per compile.

        Walking the layer tree for penalties every step costs more than a small model's
        forward pass. A layer that overrides ``losses`` is asked as a whole (own_only False)
        and its sublayers are not visited again.
        """
        from ..layers import base

        if self._loss_layers is None or self._loss_layers_at != base._loss_adders:
            self._loss_layers_at = base._loss_adders
            found: list = []
            stack: list[Any] = [self]
            while stack:
                ly = stack.pop()
                if type(ly).losses is not Layer.losses and ly is not self:
                    found.append((ly, False))
                    continue
                # layers add activity penalties through an `activity_regularizer` attribute,
                # or their own through add_loss
                if (ly._regularized or getattr(ly, "activity_regularizer", None) is not None
                        or ly.__dict__.get("_adds_losses")):
                    found.append((ly, True))
                stack.extend(ly._sublayers())
            self._loss_layers = found
        return self._loss_layers

    def _step(self) -> Stepper:
        if self._stepper is None:
            from .step import Stepper

            self._stepper = Stepper(self)
        return self._stepper

    def _eager_loss(self, x: Any, y: Any, sw: Any = None,
                    training: bool = False) -> tuple[Tensor, Any]:
        """(loss, outputs) of one forward pass with a graph (check_gradients, custom loops)."""
        st = self._step()
        feeds = x.arrays if isinstance(x, _Arrays) else [x]
        tape, outs, single = st._forward([Tensor._make(a) for a in feeds], training)
        loss = st.total_loss(y, st._terms(outs, tape), sw, st._penalties(None))
        return loss, outs[0] if single else outs

    # ------------------------------------------------------------------ one step
    def train_on_batch(self, x: Any, y: Any, sample_weight: Any = None,
                       class_weight: dict[int, float] | None = None,
                       return_dict: bool = False) -> Any:
        """One gradient step on one batch; returns the loss (and metrics) of that batch.

        Example:
            >>> loss = model.train_on_batch(x[:32], y[:32])
        """
        self._require_compiled("train_on_batch")
        x, y, sw = self._prep_data(x, y, sample_weight, class_weight)
        self._ensure_built(x)
        if self._device != "cpu":
            x, y, sw = self._on_device(x), self._on_device(y), self._on_device(sw)
        st = self._step()
        loss, out = st.train(x, y, sw)
        per = st.last_output_losses  # each output's loss (several outputs)
        if not (per or self._metric_slots or return_dict):
            return float(loss.data)  # (the common case: no dict to build)
        logs = {"loss": float(loss.data)}
        if per:
            logs.update(zip(self._output_loss_names(), per))
        if self._metric_slots:
            for m in self.compiled_metrics:
                m.reset_state()
            self._update_metrics(y, out, sw=sw)
            logs.update(self._metric_logs())
        return logs if return_dict else (logs["loss"] if len(logs) == 1 else list(logs.values()))

    def test_on_batch(self, x: Any, y: Any, sample_weight: Any = None,
                      return_dict: bool = False) -> Any:
        """Loss (and metrics) on one batch, without updating weights."""
        r = self.evaluate(x, y, batch_size=len(x), verbose=0, sample_weight=sample_weight,
                          return_dict=True)
        return r if return_dict else (r["loss"] if len(r) == 1 else list(r.values()))

    def predict_on_batch(self, x: Any) -> Any:
        """Outputs for one batch as a NumPy array."""
        return self.predict(x, batch_size=len(x), verbose=0)

    # ------------------------------------------------------------------ fit
    def fit(self, x: Any = None, y: Any = None, batch_size: int | None = None, epochs: int = 1,
            verbose: str | int = "auto", callbacks: Sequence[Callback] | None = None,
            validation_split: float = 0.0, validation_data: Any = None, shuffle: bool = True,
            class_weight: dict[int, float] | None = None, sample_weight: Any = None,
            initial_epoch: int = 0, steps_per_epoch: int | None = None,
            validation_batch_size: int | None = None, validation_freq: int = 1,
            validation_steps: int | None = None) -> History:
        """Train for ``epochs`` epochs (Keras semantics); returns a ``History``.

        Args:
            x, y: arrays, lists, pandas DataFrame/Series; int/bool inputs are accepted.
            batch_size: samples per gradient step (default 32).
            epochs: index of the last epoch (training runs ``initial_epoch .. epochs-1``).
            verbose: 0 silent, 1 progress bar, 2 one line per epoch ("auto" = 1).
            callbacks: list of ``glassnet.callbacks.Callback``.
            validation_split: fraction of the data, taken from the end before shuffling.
            validation_data: ``(x_val, y_val)``, ``(x_val, y_val, sample_weight_val)`` or a
                dataset of such batches (a PyDataset, or a generator for one epoch).
            shuffle: reshuffle the training samples every epoch (from ``gn.set_seed``).
            class_weight: ``{class: weight}`` multiplying each training sample's loss.
            sample_weight: one weight per sample; the batch loss is ``Σ wᵢ lᵢ / batch``.
            steps_per_epoch: batches per epoch. With arrays, as Keras: the pass over the
                data goes on across epochs, and an epoch ends early where a pass ends.
            validation_steps: validate on the first this many batches only.

        Example:
            >>> h = model.fit(x, y, batch_size=10, epochs=50, validation_split=0.1)
            >>> h.history["val_loss"][-1]
        """
        from ..callbacks import CallbackList, History, ProgbarLogger

        self._require_compiled("fit")
        batch_size = _positive_batch(batch_size, "fit")
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"fit: epochs must be a non-negative int. Received: {epochs!r}")
        if not 0.0 <= validation_split < 1.0:
            raise ValueError(f"fit: validation_split must be in [0, 1). "
                             f"Received: {validation_split}")
        if verbose not in ("auto", 0, 1, 2):
            raise ValueError(f"fit: verbose must be 'auto', 0, 1 or 2. Received: {verbose!r}")
        # gn.config's caps for a quick run of a long script (Keras's set_max_epochs, ...)
        epochs = config._limit_epochs(epochs)
        source = None
        if is_batch_source(x):  # a generator, iterator or PyDataset of batches
            if y is not None or sample_weight is not None or validation_split:
                raise ValueError("fit: with a generator or PyDataset, y and sample_weight come "
                                 "from its batches and validation_split is not available; "
                                 "pass validation_data. Received: y, sample_weight or "
                                 "validation_split")
            if _distribution.active() is not None:
                raise ValueError("fit: data-parallel training splits arrays; pass x and y as "
                                 "arrays. Received: a batch source")
            source = BatchSource(x, steps_per_epoch, "fit", shuffle=shuffle)
            x = y = sw = None
        else:  # class weights weigh the training samples only, as in Keras (below)
            x, y, sw = self._prep_data(x, y, sample_weight)
        if source is None and validation_data is None and validation_split > 0:
            k = int(len(x) * (1 - validation_split))
            if k == 0 or k == len(x):
                raise ValueError(f"fit: validation_split={validation_split} leaves an empty "
                                 f"training or validation set. Received: {len(x)} samples")
            validation_data = (x[k:], y[k:], None if sw is None else sw[k:])
            x, y = x[:k], y[:k]
            sw = None if sw is None else sw[:k]
        if source is None and class_weight is not None:
            cw = _class_weights(y, class_weight)
            sw = cw if sw is None else sw * cw
        if is_batch_source(validation_data):  # a dataset of (x, y) batches, as Keras takes
            vx, vy, vsw = validation_data, None, None
        elif validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2,
                                                                                           3):
                raise ValueError("fit: validation_data must be (x_val, y_val) or "
                                 "(x_val, y_val, sample_weight_val)")
            vx, vy = validation_data[0], validation_data[1]
            vsw = validation_data[2] if len(validation_data) == 3 else None
        own_step = self._own_step("train_step")
        if source is None and y is None and not own_step and self.loss is not None:
            raise ValueError("fit: y is required (the model's loss compares outputs with "
                             "targets); only a model with its own train_step, or whose "
                             "layers give the whole loss (add_loss, compile without a loss), "
                             "fits on x alone. Received: y=None")
        if not own_step and source is None:
            self._ensure_built(x)
        dist = _distribution.active()
        if dist is not None:  # data-parallel (glassnet.distribution): same start everywhere
            dist.check_setup(self, x, y, batch_size)
            dist.broadcast_weights(self)
            dist.split_random_stream()
            if dist.rank != 0:  # rank 0 prints and writes files; the others compute
                verbose = 0
                callbacks = [c for c in callbacks or []
                             if type(c).__name__ not in _distribution.ROOT_ONLY_CALLBACKS]
        if source is not None:
            n, steps = 0, source.steps
        else:
            n = len(x)
            steps = -(-n // batch_size) if steps_per_epoch is None else int(steps_per_epoch)
            if config._limit_steps(steps) != steps:  # as if steps_per_epoch were the cap
                steps = steps_per_epoch = config.max_steps_per_epoch()
        if (dist is not None and steps is not None and steps_per_epoch is None
                and 0 < n % batch_size < dist.size):
            steps -= 1  # a last global batch smaller than the number of processes: skipped

        # batches in one pass over the arrays (steps: with the distributed skip above)
        per_pass = cast(int, steps) if steps_per_epoch is None else -(-n // batch_size)
        cursor: dict[str, Any] = {"seen": 0, "order": None}

        def array_batches() -> Iterator[tuple[Any, Any, Any]]:
            """One epoch of (x, y, sample_weight) batches from the arrays. As Keras 3's
            epoch iterator: with ``steps_per_epoch`` the pass over the data goes on from
            where the last epoch stopped, and an epoch ends early where the pass does (the
            next one starts a new pass, reshuffled)."""
            if steps_per_epoch is None or cursor["seen"] == 0:
                cursor["seen"] = 0
                order = backend.rng().permutation(n) if shuffle else None
                if dist is not None and order is not None:
                    order = dist.broadcast(order)  # rank 0's order on every rank
                cursor["order"] = order
            order = cursor["order"]
            for _ in range(cast(int, steps)):  # known from len(x) for arrays
                if cursor["seen"] >= per_pass:
                    break
                lo = cursor["seen"] * batch_size
                cursor["seen"] += 1
                idx: np.ndarray | slice
                if order is not None:
                    idx = order[lo:lo + batch_size]
                    if dist is not None:  # this rank's share of the global batch
                        idx = dist.shard(idx)
                else:  # contiguous slices are views: no copy
                    idx = slice(lo, min(lo + batch_size, n))
                    if dist is not None:
                        idx = dist.shard(idx)
                yield (x[idx], None if y is None else y[idx],
                       None if sw is None else sw[idx])
            if cursor["seen"] >= per_pass:
                cursor["seen"] = 0  # the next epoch starts a new pass

        def source_batches() -> Iterator[tuple[Any, Any, Any]]:
            """One epoch of batches from the generator / PyDataset, validated like arrays."""
            for batch in cast("BatchSource", source).epoch():  # used only with a source
                xb, yb, swb = self._prep_data(*batch, class_weight)
                if yb is None and not own_step:
                    raise ValueError("fit: a batch without targets; yield (x, y) or "
                                     "(x, y, sample_weight). Received: x only")
                if not own_step:
                    self._ensure_built(xb)
                yield xb, yb, swb
        verbose = 1 if verbose == "auto" else int(verbose)
        history = History()
        # Keras's order: the user's callbacks, then History and the progress bar, so both
        # see what the others added to the logs (e.g. LearningRateScheduler's learning_rate)
        cbs = list(callbacks or []) + [history]
        if verbose:
            cbs.append(ProgbarLogger(verbose))
        cb = CallbackList(cbs, model=self, params={"epochs": epochs, "steps": steps,
                                                   "verbose": verbose})
        # batch hooks are dispatched only when some callback overrides them (the common
        # case has none: History and EarlyStopping work per epoch)
        batch_begin = cb.hook("on_train_batch_begin")
        batch_end = cb.hook("on_train_batch_end")
        metrics = self.compiled_metrics
        trackers = self.metrics
        on_gpu = self._device != "cpu"
        self.stop_training = False
        self._initial_epoch = None
        cb.on_train_begin()
        # BackupAndRestore restored an interrupted run: continue after its last epoch
        initial_epoch = getattr(self, "_initial_epoch", None) or initial_epoch
        last_logs: dict[str, Any] = {}
        for epoch in range(initial_epoch, epochs):
            cb.on_epoch_begin(epoch)
            loss_sum, seen = 0.0, 0
            out_names = self._output_loss_names()
            out_sums = [0.0] * len(out_names)
            for m in trackers:
                m.reset_state()
            step_logs = {}
            batches = array_batches() if source is None else source_batches()
            for step, (xb, yb, swb) in enumerate(batches):
                if batch_begin:
                    batch_begin(step)
                if dist is not None:
                    dist.local_n = len(xb)  # the gradient average weighs ranks by samples
                if own_step:  # the model's own step (a GAN's, a VAE's): logs as it reports
                    data = tuple(self._on_device(a) for a in (xb, yb, swb) if a is not None)
                    step_logs = self._step_logs(
                        self.train_step(data if len(data) > 1 else data[0]), len(xb), dist)
                    if batch_end:
                        batch_end(step, dict(step_logs))
                    if self.stop_training:
                        break
                    continue
                if on_gpu:
                    loss, out = self._step().train(self._on_device(xb), self._on_device(yb),
                                                   self._on_device(swb))
                else:
                    loss, out = self._step().train(xb, yb, swb)
                lv = float(loss.data)
                nb = len(xb)
                if dist is not None:  # the global batch's loss, and its metrics' inputs:
                    # the ranks weighed as in the gradient average (samples, or a masked
                    # loss's kept steps)
                    lsum, wsum, nbf = dist.sum_floats([lv * dist.local_n, dist.local_n, nb])
                    nb = int(nbf)
                    lv = float(lsum / wsum) if wsum else 0.0
                loss_sum += lv * nb
                seen += nb
                if out_names:  # each output's own loss (several outputs)
                    # the step made the stepper
                    vals: Any = cast("Stepper", self._stepper).last_output_losses
                    if dist is not None:
                        vals = dist.sum_floats([v * len(xb) for v in vals]) / nb
                    for k, v in enumerate(vals):
                        out_sums[k] += float(v) * nb
                if metrics:
                    self._update_metrics(yb, out, dist, swb)
                if batch_end:  # Keras's batch logs: the epoch's running values so far
                    blogs = {"loss": loss_sum / max(seen, 1)}
                    blogs.update({k: v / max(seen, 1) for k, v in zip(out_names, out_sums)})
                    if metrics:
                        blogs.update(self._metric_logs())
                    batch_end(step, blogs)
                if self.stop_training:
                    break
            if own_step:  # Keras: the epoch reports the last step's (running) values
                logs = dict(step_logs)
            else:
                logs = {"loss": loss_sum / max(seen, 1)}
                logs.update({k: v / max(seen, 1) for k, v in zip(out_names, out_sums)})
                logs.update(self._metric_logs())
            if validation_data is not None and (epoch + 1 - initial_epoch) % validation_freq == 0:
                # Keras: validation batches of batch_size unless told otherwise (the test
                # batch hooks count them)
                val = self.evaluate(vx, vy, sample_weight=vsw,
                                    batch_size=validation_batch_size or batch_size,
                                    steps=validation_steps, verbose=0, return_dict=True,
                                    callbacks=cb)
                logs.update({f"val_{k}": v for k, v in val.items()})
            cb.on_epoch_end(epoch, logs)
            last_logs = logs
            if self.stop_training:
                break
        if self.optimizer is not None and getattr(self.optimizer, "use_ema", False):
            # Keras: the weights after fit are the moving averages
            self.optimizer.finalize_variable_values(self.trainable_weights)
        cb.on_train_end(dict(last_logs))  # Keras: the last epoch's logs
        return history



def print_summary(model: Model, print_fn: Callable[[str], Any] = print,
                  show_trainable: bool = False) -> None:
    """Keras-style table: layer (type), output shape, parameter count (the rows the Jupyter
    display draws too, from ``_display._summary_rows``); with ``show_trainable``, Keras's
    *Trainable* column: Y, N, or - for a layer without weights."""
    from .._display import _summary_rows

    rows, _ = _summary_rows(model)
    flags = None
    if show_trainable:
        by_name = {ly.name: ly for ly in model.layers}
        flags = []
        for r in rows:
            ly = by_name.get(r[0].rsplit(" (", 1)[0])
            flags.append("-" if ly is None or not ly.weights else
                         "Y" if ly.trainable else "N")
    _print_table(model, rows, print_fn, flags)


def _print_table(model: Model, rows: list[tuple[Any, ...]],
                 print_fn: Callable[[str], Any], flags: list[str] | None = None) -> None:
    w1 = max([len(r[0]) for r in rows] + [20]) + 2
    w2 = max([len(r[1]) + 2 for r in rows] + [26])  # a multi-output call's list of shapes
    conn = len(rows[0]) > 3 if rows else False
    line = "─" * (w1 + w2 + 14 + (11 if flags else 0) + (24 if conn else 0))
    print_fn(f'Model: "{model.name}"')
    print_fn(line)
    print_fn(f"{'Layer (type)':<{w1}}{'Output Shape':<{w2}}{'Param #':>12}"
             + (f"{'Trainable':>11}" if flags else "") + ("  Connected to" if conn else ""))
    print_fn(line)
    for i, r in enumerate(rows):
        print_fn(f"{r[0]:<{w1}}{r[1]:<{w2}}{r[2]:>12,}"
                 + (f"{flags[i]:>11}" if flags else "") + (f"  {r[3]}" if conn else ""))
    print_fn(line)
    total = model.count_params()
    tr = sum(int(w.size) for w in model.trainable_weights)
    print_fn(f"Total params: {total:,}")
    print_fn(f"Trainable params: {tr:,}")
    print_fn(f"Non-trainable params: {total - tr:,}")
