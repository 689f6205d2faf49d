"""THE training loop: the only place that calls ``backward()`` and ``optimizer.step()``."""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from .. import backend
from .. import distribution as _distribution
from ..autograd import no_grad
from ..layers.base import Layer
from ..tensor import Tensor
from .data_adapter import BatchSource, is_batch_source, unpack


def _to_array(x, name: str, allow_int=False):
    """Validate and convert one input (array, list, DataFrame/Series, Tensor) for the loop."""
    if x is None:
        return None
    if type(x) is np.ndarray:  # the common case, checked first: a step pays for every test
        a = x
    else:
        if isinstance(x, dict):
            raise TypeError(f"{name}: a dict of arrays is not supported here; pass an array "
                            "(or a list of arrays, one per model input)")
        if isinstance(x, Iterator) or inspect.isgenerator(x):
            raise TypeError(f"{name}: a generator or iterator is taken only as fit/evaluate/"
                            f"predict's x, yielding whole batches; pass an array here. "
                            f"Received: {type(x).__name__}")
        if hasattr(x, "to_numpy"):  # pandas DataFrame / Series
            x = x.to_numpy()
        if isinstance(x, Tensor):
            x = x.data
        a = x if backend.is_gpu_array(x) else np.asarray(x)
    kind = a.dtype.kind
    if kind not in "biuf":
        if name.startswith("x") and _is_text(a):  # raw text for a TextVectorization/lookup
            return a
        raise TypeError(f"{name} must be numeric. Received: array of dtype {a.dtype}")
    if kind == "f":
        xp = backend.get_array_module(a)
        # one BLAS pass first: a finite sum of squares means every element is finite (the
        # common case); only when it is not (NaN, Inf, or overflow) is each element checked
        if a.size and not (math.isfinite(xp.vdot(a, a)) or xp.isfinite(a).all()):
            raise ValueError(f"{name} contains NaN or Inf values")
        if a.dtype != backend.floatx():
            with np.errstate(over="ignore"):  # overflow is reported just below, by name
                a = a.astype(backend.floatx())
            # a finite float64 such as 1e39 becomes inf in float32: check again after the cast
            if a.size and not (math.isfinite(xp.vdot(a, a)) or xp.isfinite(a).all()):
                raise ValueError(f"{name} has values too large for {backend.floatx()} "
                                 f"(|x| > {float(np.finfo(backend.floatx()).max):.3g}); scale "
                                 "the data")
    elif not allow_int:
        a = a.astype(backend.floatx())
    return a


class _Arrays:
    """One array per model input (or output), indexed together: ``xs[idx]`` indexes each."""

    def __init__(self, arrays):
        self.arrays = list(arrays)

    def __getitem__(self, i):
        return _Arrays([a[i] for a in self.arrays])

    def __len__(self) -> int:
        return len(self.arrays[0])

    @property
    def ndim(self) -> int:
        return min(a.ndim for a in self.arrays)

    @property
    def shape(self) -> tuple:
        return tuple(tuple(a.shape) for a in self.arrays)


def _is_text(a) -> bool:
    """Strings (``str``/``bytes`` arrays, or object arrays holding only them): the raw input
    of a model that starts with a text preprocessing layer."""
    if a.dtype.kind in "US":
        return True
    return a.dtype.kind == "O" and all(isinstance(v, (str, bytes)) for v in a.reshape(-1))


def _check_xy(x, y, sw=None):
    if x.ndim == 0 or len(x) == 0:
        raise ValueError(f"x is empty: there are no samples. Received: x shape {x.shape}")
    if y is not None and (y.ndim == 0 or len(x) != len(y)):
        raise ValueError(f"x and y must have the same number of samples. "
                         f"Received: x has {len(x)}, y has shape {y.shape}")
    if sw is not None and len(sw) != len(x):
        raise ValueError(f"sample_weight must have one entry per sample ({len(x)}). "
                         f"Received: {len(sw)}")
    if sw is not None and sw.size and float(sw.min()) < 0:
        raise ValueError(f"sample_weight must be >= 0. Received: a minimum of {sw.min()}")


def _class_weights(y, class_weight: dict):
    """Per-sample weights from ``{class: weight}`` (labels as ints, one-hot or one column)."""
    if isinstance(y, _Arrays):
        raise ValueError("class_weight needs a model with one output; pass sample_weight")
    if not isinstance(class_weight, dict):
        raise TypeError(f"class_weight must be a dict {{class: weight}}. "
                        f"Received: {type(class_weight).__name__}")
    yi = backend.asnumpy(y).reshape(len(y), -1)
    cls = yi.argmax(1) if yi.shape[1] > 1 else np.rint(yi[:, 0]).astype(np.int64)
    # classes a key may name: the one-hot columns, else every label up to the largest in y
    n = yi.shape[1] if yi.shape[1] > 1 else max(int(cls.max()) + 1, 2)
    for k in class_weight:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k < n:
            raise ValueError(f"class_weight names an unknown class {k!r}; y has classes "
                             f"0..{n - 1}")
    table = np.ones(max(int(cls.max()) + 1, *(int(k) + 1 for k in class_weight)), np.float64)
    for k, v in class_weight.items():
        table[int(k)] = float(v)
    return table[cls].astype(backend.floatx())


def _check_binary_targets(loss, y) -> None:
    """Binary cross-entropy's targets are probabilities: a label 2 is a mistake, not data."""
    from ..losses import BinaryCrossentropy

    if isinstance(loss, BinaryCrossentropy) and y.size:
        lo, hi = float(y.min()), float(y.max())
        if lo < 0 or hi > 1:
            raise ValueError(f"binary_crossentropy needs targets in [0, 1]. Received: y from "
                             f"{lo:g} to {hi:g} (for class ids use "
                             "sparse_categorical_crossentropy)")


def _positive_batch(batch_size, what: str) -> int:
    if batch_size is None:
        return 32
    if (isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer))
            or batch_size <= 0):
        raise ValueError(f"{what}: batch_size must be a positive int. Received: {batch_size!r}")
    return int(batch_size)


def _callback_list(callbacks, model, params, verbose="auto"):
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


def _is_config(d) -> bool:
    """A serialized loss/metric (``{"class_name", "config"}`` or a user's registered name),
    as opposed to a dict keyed by output names."""
    return isinstance(d, dict) and ("class_name" in d or "registered_name" in d)


def _per_output(value, what: str, names: list):
    """``value`` as one entry per output: the same for all, a list in output order, or a dict
    keyed by output name (Keras's structure rules)."""
    n = len(names)
    if isinstance(value, dict) and not _is_config(value):
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise ValueError(f"compile: {what} names outputs the model does not have: "
                             f"{unknown}. Expected keys among: {names}")
        return [value.get(k) for k in names]
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"compile: {what} must have one entry per output ({n}: {names}). "
                             f"Received: {len(value)} entries")
        return list(value)
    return [value] * n


def _metric_slots(metrics, names: list, M) -> list:
    """(output index, metric object, log name) for each compiled metric.

    One output: each metric as written, logged under the name the user wrote (``"mae"`` is
    logged as ``mae``, as Keras does). Several outputs: a dict by output name, a list with
    one entry (a metric or a list of them) per output, or a flat list applied to every
    output; logged as ``<output>_<name>``.
    """
    if not metrics:
        return []
    n = len(names)
    if isinstance(metrics, dict) and not _is_config(metrics):
        per = _per_output(metrics, "metrics", names)
    elif n > 1 and isinstance(metrics, (list, tuple)) and len(metrics) == n and any(
            isinstance(m, (list, tuple)) or m is None for m in metrics):
        per = list(metrics)
    elif isinstance(metrics, (list, tuple)):
        per = [list(metrics)] * n
    else:
        raise TypeError(f"compile: metrics must be a list or a dict. Received: "
                        f"{type(metrics).__name__}")
    slots = []
    for i, entry in enumerate(per):
        if entry is None:
            continue
        for m in entry if isinstance(entry, (list, tuple)) else [entry]:
            obj = M.get(m)
            name = m if isinstance(m, str) else obj.name
            slots.append((i, obj, name if n == 1 else f"{names[i]}_{name}"))
    return slots


def _serialize_structure(value, family):
    """A loss/metric structure for the model file: glassnet's objects by config, a user's
    by its registered name (``load_model(..., custom_objects=...)`` resolves it; files never
    name code to import)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict):
        return {k: _serialize_structure(v, family) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_serialize_structure(v, family) for v in value]
    try:
        return family.serialize(value)
    except (ValueError, TypeError):
        from ..saving import get_registered_name

        return {"registered_name": get_registered_name(value)}


class TrainingMixin:
    """compile / fit / evaluate / predict, mixed into ``Model``."""

    _n_inputs = 1  # functional models with several inputs/outputs take lists
    _n_outputs = 1

    def __init__(self):
        self.optimizer = None
        self.loss = None
        self.compiled = False
        self.compiled_metrics: list = []
        self._metric_slots: list = []  # (output index, metric, name in the logs)
        self._loss_weights = None
        self.stop_training = False
        self._compile_config = None
        self._params_cache = None
        self._loss_layers = None
        self._device = "cpu"
        self.jit_compile = "auto"
        self._stepper = None  # step.Stepper: the recorded steps, made on first use
        self._logits_loss = None

    def _reset_compiled_cache(self):
        self._params_cache = None
        self._loss_layers = None
        self._stepper = None

    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                jit_compile="auto", **kwargs) -> None:
        """Choose optimizer, loss and metrics (names, config dicts or objects).

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
        self.jit_compile = jit_compile
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
        self._metric_slots = _metric_slots(metrics, names, M)
        self.compiled_metrics = [m for _, m, _ in self._metric_slots]
        self._compile_config = {
            "optimizer": optimizers.serialize(self.optimizer),
            "loss": _serialize_structure(loss, losses),
            "metrics": _serialize_structure(metrics, M),
            "loss_weights": loss_weights if isinstance(loss_weights, (dict, list, tuple,
                                                                      int, float,
                                                                      type(None)))
            else None,
        }
        if self._compile_config["loss_weights"] is None:
            del self._compile_config["loss_weights"]
        self._reset_compiled_cache()

    def _prep(self, v, name: str, allow_int: bool = False):
        """Validated array(s): one, or ``_Arrays`` when the model has several inputs/outputs."""
        k = self._n_inputs if name == "x" else self._n_outputs
        if k == 1 or v is None or isinstance(v, _Arrays):
            if isinstance(v, _Arrays):
                return v
            a = _to_array(v, name, allow_int)
            if name == "y" and a is not None:
                _check_binary_targets(self.loss, a)
            if name == "x" and a is not None and a.ndim == 1 and self._one_feature_input():
                a = a.reshape(-1, 1)  # a DataFrame column for an Input((1,)), as Keras takes
            return a
        what = "input" if name == "x" else "output"
        if isinstance(v, dict):  # by the names of the inputs / output layers, as Keras
            keys = (getattr(self, "input_names", None) if name == "x"
                    else self._output_names())
            if keys is None or set(v) != set(keys):
                raise ValueError(f"{name}: a dict must have one entry per model {what}, "
                                 f"keyed {keys}. Received: keys {sorted(v)}")
            v = [v[key] for key in keys]
        if not isinstance(v, (list, tuple)) or len(v) != k:
            raise ValueError(f"{name} must be a list of {k} arrays, one per model {what}. "
                             f"Received: {type(v).__name__}"
                             + (f" of length {len(v)}" if isinstance(v, (list, tuple)) else ""))
        arrays = [_to_array(a, f"{name}[{i}]", allow_int) for i, a in enumerate(v)]
        lens = [len(a) if a.ndim else 0 for a in arrays]
        if len(set(lens)) != 1:
            raise ValueError(f"every array of {name} must have the same number of samples. "
                             f"Received: {lens}")
        return _Arrays(arrays)

    def _prep_data(self, x, y, sample_weight=None, class_weight=None):
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

    def _require_compiled(self, what):
        if not getattr(self, "compiled", False):
            raise RuntimeError(f"{what}: the model must be compiled first; call "
                               "model.compile(optimizer, loss) before fit/evaluate")
        own = self._own_step("train_step" if what in ("fit", "train_on_batch")
                             else "test_step")
        if self.loss is None and not own:
            raise ValueError(f"{what}: the model was compiled without a loss; pass "
                             "compile(loss=...) or override train_step/test_step. "
                             "Received: loss=None")

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

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None,
                     training: bool = True):
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

    def _update_metrics(self, y, out, dist=None) -> None:
        """Feed each compiled metric its output's targets and predictions (all ranks')."""
        ys = y.arrays if isinstance(y, _Arrays) else [y]
        outs = out if isinstance(out, list) else [out]
        cache = {}
        for i, met, _ in self._metric_slots:
            if i not in cache:
                yi, oi = backend.asnumpy(ys[i]), backend.asnumpy(outs[i].data)
                if dist is not None:
                    yi, oi = dist.gather_rows(yi), dist.gather_rows(oi)
                cache[i] = (yi, oi)
            met.update_state(*cache[i])

    def _metric_logs(self) -> dict:
        out = {}
        for _, met, name in self._metric_slots:
            r = met.result()  # a float, or an array (F1Score(average=None), thresholds)
            out[name] = float(r) if np.ndim(r) == 0 else np.asarray(r)
        return out

    def _output_loss_names(self) -> list:
        """``<output>_loss`` log names of a model with several outputs (else empty)."""
        if self._n_outputs == 1:
            return []
        return [f"{n}_loss" for n, lo in zip(self._output_names(), self.loss or [])
                if lo is not None]

    def train_step(self, data) -> dict:
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
        loss, out = self._train_step(x, y, sw)
        logs = {"loss": float(loss.data)}
        if self._metric_slots:
            self._update_metrics(y, out)
            logs.update(self._metric_logs())
        return logs

    def test_step(self, data) -> dict:
        """Loss and metrics of one batch without training (Keras 3's hook; see
        :meth:`train_step`). Overriding it makes ``evaluate`` call it per batch."""
        raise NotImplementedError  # the built-in evaluate computes this itself (faster)

    def _ensure_built(self, x):
        if not self.built:
            with no_grad():
                self(Tensor._make(self._on_device(x[:1])))  # runs a custom build()

    def _on_device(self, a):
        if a is None or self._device == "cpu":
            return a
        if isinstance(a, _Arrays):
            return _Arrays([backend.to_device(t, self._device) for t in a.arrays])
        return backend.to_device(a, self._device)

    def _params(self):
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
        if self._loss_layers is None:
            found: list = []
            stack: list[Any] = [self]
            while stack:
                ly = stack.pop()
                if type(ly).losses is not Layer.losses and ly is not self:
                    found.append((ly, False))
                    continue
                # layers add activity penalties through an `activity_regularizer` attribute
                if ly._regularized or getattr(ly, "activity_regularizer", None) is not None:
                    found.append((ly, True))
                stack.extend(ly._sublayers())
            self._loss_layers = found
        return self._loss_layers

    def _step(self):
        if self._stepper is None:
            from .step import Stepper

            self._stepper = Stepper(self)
        return self._stepper

    def _eager_loss(self, x, y, sw=None, training=False):
        """(loss, outputs) of one forward pass with a graph (check_gradients, custom loops)."""
        st = self._step()
        feeds = x.arrays if isinstance(x, _Arrays) else [x]
        tape, outs, single = st._forward([Tensor._make(a) for a in feeds], training)
        loss = st.total_loss(y, st._terms(outs, tape), sw, st._penalties(None))
        return loss, outs[0] if single else outs

    # ------------------------------------------------------------------ one step
    def _train_step(self, x, y, sw=None):
        return self._step().train(x, y, sw)

    def train_on_batch(self, x, y, sample_weight=None, class_weight=None, return_dict=False):
        """One gradient step on one batch; returns the loss (and metrics) of that batch.

        Example:
            >>> loss = model.train_on_batch(x[:32], y[:32])
        """
        self._require_compiled("train_on_batch")
        x, y, sw = self._prep_data(x, y, sample_weight, class_weight)
        self._ensure_built(x)
        if self._device != "cpu":
            x, y, sw = self._on_device(x), self._on_device(y), self._on_device(sw)
        loss, out = self._train_step(x, y, sw)
        logs = {"loss": float(loss.data)}
        logs.update(zip(self._output_loss_names(), self._step().last_output_losses))
        if self._metric_slots:
            for m in self.compiled_metrics:
                m.reset_state()
            self._update_metrics(y, out)
            logs.update(self._metric_logs())
        return logs if return_dict else (logs["loss"] if len(logs) == 1 else list(logs.values()))

    def test_on_batch(self, x, y, sample_weight=None, return_dict=False):
        """Loss (and metrics) on one batch, without updating weights."""
        r = self.evaluate(x, y, batch_size=len(x), verbose=0, sample_weight=sample_weight,
                          return_dict=True)
        return r if return_dict else (r["loss"] if len(r) == 1 else list(r.values()))

    def predict_on_batch(self, x):
        """Outputs for one batch as a NumPy array."""
        return self.predict(x, batch_size=len(x), verbose=0)

    # ------------------------------------------------------------------ fit
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None,
            validation_batch_size=None, validation_freq=1):
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
            class_weight: ``{class: weight}`` multiplying each sample's loss.
            sample_weight: one weight per sample; the batch loss is ``Σ wᵢ lᵢ / batch``.

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
            source = BatchSource(x, steps_per_epoch, "fit")
            x = y = sw = None
        else:
            x, y, sw = self._prep_data(x, y, sample_weight, class_weight)
        if source is None and validation_data is None and validation_split > 0:
            k = int(len(x) * (1 - validation_split))
            if k == 0 or k == len(x):
                raise ValueError(f"fit: validation_split={validation_split} leaves an empty "
                                 f"training or validation set. Received: {len(x)} samples")
            validation_data = (x[k:], y[k:], None if sw is None else sw[k:])
            x, y = x[:k], y[:k]
            sw = None if sw is None else sw[:k]
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
        if source is None and y is None and not own_step:
            raise ValueError("fit: y is required (the model's loss compares outputs with "
                             "targets); only a model with its own train_step fits on x "
                             "alone. Received: y=None")
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
        if dist is not None and steps_per_epoch is None and 0 < n % batch_size < dist.size:
            steps -= 1  # a last global batch smaller than the number of processes: skipped

        def array_batches():
            """One epoch of (x, y, sample_weight) batches from the arrays."""
            order = backend.rng().permutation(n) if shuffle else None
            if dist is not None and order is not None:
                order = dist.broadcast(order)  # rank 0's order on every rank
            for step in range(steps):
                lo = (step * batch_size) % n
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

        def source_batches():
            """One epoch of batches from the generator / PyDataset, validated like arrays."""
            for batch in source.epoch():
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
                    step_logs = {k: float(v) for k, v in
                                 self.train_step(data if len(data) > 1 else data[0]).items()}
                    if dist is not None:  # the ranks' values, weighted by their samples
                        keys = sorted(step_logs)
                        tot = dist.sum_floats([step_logs[k] * len(xb) for k in keys]
                                              + [len(xb)])
                        step_logs = {k: float(v / tot[-1]) for k, v in zip(keys, tot)}
                    if batch_end:
                        batch_end(step, dict(step_logs))
                    if self.stop_training:
                        break
                    continue
                if on_gpu:
                    loss, out = self._train_step(self._on_device(xb), self._on_device(yb),
                                                 self._on_device(swb))
                else:
                    loss, out = self._train_step(xb, yb, swb)
                lv = float(loss.data)
                nb = len(xb)
                if dist is not None:  # the global batch's loss, and its metrics' inputs
                    lsum, nbf = dist.sum_floats([lv * nb, nb])
                    nb = int(nbf)
                    lv = float(lsum / nbf)
                loss_sum += lv * nb
                seen += nb
                if out_names:  # each output's own loss (several outputs)
                    vals = self._stepper.last_output_losses
                    if dist is not None:
                        vals = dist.sum_floats([v * len(xb) for v in vals]) / nb
                    for k, v in enumerate(vals):
                        out_sums[k] += float(v) * nb
                if metrics:
                    self._update_metrics(yb, out, dist)
                if batch_end:
                    batch_end(step, {"loss": lv})
                if self.stop_training:
                    break
            if own_step:  # Keras: the epoch reports the last step's (running) values
                logs = dict(step_logs)
            else:
                logs = {"loss": loss_sum / max(seen, 1)}
                logs.update({k: v / max(seen, 1) for k, v in zip(out_names, out_sums)})
                logs.update(self._metric_logs())
            if validation_data is not None and (epoch + 1 - initial_epoch) % validation_freq == 0:
                val = self.evaluate(vx, vy, sample_weight=vsw,
                                    batch_size=validation_batch_size or max(batch_size, 256),
                                    verbose=0, return_dict=True, callbacks=cb)
                logs.update({f"val_{k}": v for k, v in val.items()})
            cb.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        if self.optimizer is not None and getattr(self.optimizer, "use_ema", False):
            # Keras: the weights after fit are the moving averages
            self.optimizer.finalize_variable_values(self.trainable_weights)
        cb.on_train_end()
        return history

    # ------------------------------------------------------------------ evaluate / predict
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, return_dict=False, callbacks=None):
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
        n_steps = source.steps if source is not None else -(-len(x) // bs)
        cb = _callback_list(callbacks, self, {"steps": n_steps}, verbose)

        def batches():
            if source is None:
                for i in range(0, len(x), bs):
                    yield x[i:i + bs], y[i:i + bs], None if sw is None else sw[i:i + bs]
                return
            for batch in source.epoch():
                xb, yb, swb = self._prep_data(*batch)
                if yb is None:
                    raise ValueError("evaluate: a batch without targets; yield (x, y)")
                self._ensure_built(xb)
                yield xb, yb, swb

        loss_sum, n = 0.0, 0
        out_names = self._output_loss_names()
        out_sums = np.zeros(len(out_names))
        for m in self.compiled_metrics:
            m.reset_state()
        cb.on_test_begin()
        st = self._step()
        kept = []  # (targets, outputs) for the metrics, gathered over the ranks at the end
        for step, (xb, yb, swb) in enumerate(batches()):
            cb.on_test_batch_begin(step)
            swb = self._on_device(swb)
            n += len(xb)
            outs, single, terms, parts = st.infer(self._on_device(xb), "test")
            with no_grad():
                lv = float(st.total_loss(self._on_device(yb), terms, swb, parts).data)
            loss_sum += lv * len(xb)
            if out_names:
                out_sums += np.asarray(st.last_output_losses, np.float64) * len(xb)
            if self._metric_slots:
                out = outs[0] if single else outs
                if dist is not None:  # gathered once at the end: ranks differ in batches
                    kept.append((yb, out))
                else:
                    self._update_metrics(yb, out)
            cb.on_test_batch_end(step, {"loss": lv})
        if n == 0:
            raise ValueError("evaluate: the data source gave no batches")
        if dist is not None:
            tot = dist.sum_floats([loss_sum, n, *out_sums])
            loss_sum, n, out_sums = tot[0], tot[1], tot[2:]
            if self._metric_slots:
                ys = [k[0] for k in kept]
                outs_l = [k[1] for k in kept]
                if isinstance(ys[0], _Arrays):
                    yc = _Arrays([np.concatenate([backend.asnumpy(b.arrays[j]) for b in ys])
                                  for j in range(len(ys[0].arrays))])
                    oc = [Tensor._make(np.concatenate([backend.asnumpy(o[j].data)
                                                       for o in outs_l]))
                          for j in range(len(outs_l[0]))]
                else:
                    yc = np.concatenate([backend.asnumpy(b) for b in ys])
                    oc = Tensor._make(np.concatenate([backend.asnumpy(o.data) for o in outs_l]))
                self._update_metrics(yc, oc, dist)
        res = {"loss": float(loss_sum / n)}
        res.update({k: float(v / n) for k, v in zip(out_names, out_sums)})
        res.update(self._metric_logs())
        cb.on_test_end(dict(res))
        if return_dict:
            return res
        return res["loss"] if len(res) == 1 else list(res.values())

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Outputs for ``x`` as a NumPy array, in batches, in inference mode.

        ``callbacks`` get Keras's ``on_predict_begin`` / ``on_predict_batch_begin`` /
        ``on_predict_batch_end`` (logs ``{"outputs": batch}``) / ``on_predict_end``.

        Example:
            >>> probs = model.predict(x_test)          # (n, units of the last layer)
        """
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
        for step, i in enumerate(range(0, len(x), bs)):
            cb.on_predict_batch_begin(step)
            o, single, _, _ = st.infer(self._on_device(x[i:i + bs]), "predict")
            outs.append(backend.asnumpy(o[0].data) if single
                        else [backend.asnumpy(t.data) for t in o])
            cb.on_predict_batch_end(step, {"outputs": outs[-1]})
        cb.on_predict_end()
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

    def check_gradients(self, x, y, eps=1e-6, atol=1e-5, rtol=1e-3, n_directions=4):
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
            def f():
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


def print_summary(model, print_fn=print) -> None:
    """Keras-style table: layer (type), output shape, parameter count (the rows the Jupyter
    display draws too, from ``_display._summary_rows``)."""
    from .._display import _summary_rows

    rows, _ = _summary_rows(model)
    _print_table(model, rows, print_fn)


def _print_table(model, rows, print_fn) -> None:
    w1 = max([len(r[0]) for r in rows] + [20]) + 2
    conn = len(rows[0]) > 3 if rows else False
    line = "─" * (w1 + 40 + (24 if conn else 0))
    print_fn(f'Model: "{model.name}"')
    print_fn(line)
    print_fn(f"{'Layer (type)':<{w1}}{'Output Shape':<26}{'Param #':>12}"
             + ("  Connected to" if conn else ""))
    print_fn(line)
    for r in rows:
        print_fn(f"{r[0]:<{w1}}{r[1]:<26}{r[2]:>12,}" + (f"  {r[3]}" if conn else ""))
    print_fn(line)
    total = model.count_params()
    tr = sum(int(w.size) for w in model.trainable_weights)
    print_fn(f"Total params: {total:,}")
    print_fn(f"Trainable params: {tr:,}")
    print_fn(f"Non-trainable params: {total - tr:,}")
