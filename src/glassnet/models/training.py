"""THE training loop: the only place that calls ``backward()`` and ``optimizer.step()``."""

from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import no_grad
from ..tensor import Tensor


def _to_array(x, name: str, allow_int=False):
    if x is None:
        return None
    if hasattr(x, "to_numpy"):  # pandas DataFrame / Series
        x = x.to_numpy()
    if isinstance(x, Tensor):
        x = x.data
    a = x if backend.is_gpu_array(x) else np.asarray(x)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric. Received: array of dtype {a.dtype}")
    if a.dtype.kind == "f" and not np.all(np.isfinite(backend.asnumpy(a))):
        raise ValueError(f"{name} contains NaN or Inf values")
    if a.dtype.kind in "biu" and not allow_int:
        a = a.astype(backend.floatx())
    elif a.dtype.kind == "f" and a.dtype != backend.floatx():
        a = a.astype(backend.floatx())
    return a


def _check_xy(x, y, sw=None):
    if len(x) == 0:
        raise ValueError("x is empty: nothing to train on")
    if y is not None and len(x) != len(y):
        raise ValueError(f"x and y must have the same number of samples. "
                         f"Received: x has {len(x)}, y has {len(y)}")
    if sw is not None and len(sw) != len(x):
        raise ValueError(f"sample_weight must have one entry per sample ({len(x)}). "
                         f"Received: {len(sw)}")


class TrainingMixin:
    """compile / fit / evaluate / predict, mixed into ``Model``."""

    def __init__(self):
        self.optimizer = None
        self.loss = None
        self.compiled_metrics: list = []
        self.stop_training = False
        self._compile_config = None
        self._params_cache = None

    def _reset_compiled_cache(self):
        self._params_cache = None

    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                **kwargs) -> None:
        """Choose optimizer, loss and metrics (names or objects)."""
        from .. import losses, optimizers
        from .. import metrics as M

        if kwargs:
            raise TypeError(f"compile: unexpected argument(s) {sorted(kwargs)}")
        if loss is None:
            raise ValueError("compile: a loss is required. Received: loss=None")
        self.optimizer = optimizers.get(optimizer)
        self.loss = losses.get(loss)
        metrics = list(metrics or [])
        self.compiled_metrics = [M.get(m) for m in metrics]
        self._compile_config = {"optimizer": optimizers.serialize(self.optimizer),
                                "loss": losses.serialize(self.loss),
                                "metrics": [m if isinstance(m, str) else M.serialize(obj)
                                            for m, obj in zip(metrics, self.compiled_metrics)]}
        self._params_cache = None

    def _require_compiled(self, what):
        if self.optimizer is None or self.loss is None:
            raise RuntimeError(f"{what}: the model must be compiled first; call "
                               "model.compile(optimizer, loss) before fit/evaluate")

    def _ensure_built(self, x):
        if not self.built:
            with no_grad():
                self(Tensor._make(x[:1]))

    def _params(self):
        if self._params_cache is None:
            self._params_cache = [w for w in self.trainable_weights if w.requires_grad]
        return self._params_cache

    def _loss_value(self, y, out, sw):
        loss = self.loss(y, out, sample_weight=sw)
        extra = self.losses
        for e in extra:
            loss = loss + e
        return loss

    # ------------------------------------------------------------------ one step
    def _train_step(self, x, y, sw=None):
        out = self(Tensor._make(x), training=True)
        loss = self._loss_value(y, out, sw)
        loss.backward()
        params = self._params()
        self.optimizer.step(params)
        self.optimizer.zero_grad(params)
        return loss, out

    def train_on_batch(self, x, y, sample_weight=None, return_dict=False):
        """One gradient step on one batch; returns the loss (and metrics)."""
        self._require_compiled("train_on_batch")
        x = _to_array(x, "x")
        y = _to_array(y, "y", allow_int=True)
        _check_xy(x, y, sample_weight)
        self._ensure_built(x)
        loss, out = self._train_step(x, y, sample_weight)
        logs = {"loss": float(loss.item())}
        if self.compiled_metrics:
            for m in self.compiled_metrics:
                m.reset_state()
                m.update_state(y, backend.asnumpy(out.data))
                logs[m.name] = float(m.result())
        return logs if return_dict else (logs["loss"] if len(logs) == 1 else list(logs.values()))

    def test_on_batch(self, x, y, sample_weight=None, return_dict=False):
        r = self.evaluate(x, y, batch_size=len(x), verbose=0, sample_weight=sample_weight,
                          return_dict=True)
        return r if return_dict else (r["loss"] if len(r) == 1 else list(r.values()))

    def predict_on_batch(self, x):
        return self.predict(x, batch_size=len(x), verbose=0)

    # ------------------------------------------------------------------ fit
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None):
        """Train for ``epochs`` epochs; returns a ``History`` (``.history`` dict)."""
        from ..callbacks import CallbackList, History, ProgbarLogger
        from ..metrics import Mean

        self._require_compiled("fit")
        batch_size = 32 if batch_size is None else batch_size
        if not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
            raise ValueError(f"fit: batch_size must be a positive int. Received: {batch_size!r}")
        if not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"fit: epochs must be a non-negative int. Received: {epochs!r}")
        if not 0.0 <= validation_split < 1.0:
            raise ValueError(f"fit: validation_split must be in [0, 1). "
                             f"Received: {validation_split}")
        x = _to_array(x, "x")
        y = _to_array(y, "y", allow_int=True)
        sw = None if sample_weight is None else np.asarray(sample_weight, backend.floatx())
        _check_xy(x, y, sw)
        if class_weight is not None:
            yi = np.asarray(y).reshape(len(y), -1)
            cls = yi.argmax(1) if yi.shape[1] > 1 else yi[:, 0].astype(np.int64)
            cw = np.array([class_weight.get(int(c), 1.0) for c in cls], backend.floatx())
            sw = cw if sw is None else sw * cw
        if validation_data is None and validation_split > 0:
            k = int(len(x) * (1 - validation_split))
            validation_data = (x[k:], y[k:])
            x, y = x[:k], y[:k]
            sw = None if sw is None else sw[:k]
        self._ensure_built(x)
        n = len(x)
        steps = -(-n // batch_size) if steps_per_epoch is None else int(steps_per_epoch)
        verbose = 1 if verbose == "auto" else int(verbose)
        history = History()
        cbs = [history] + list(callbacks or [])
        if verbose:
            cbs.append(ProgbarLogger(verbose))
        cb = CallbackList(cbs, model=self, params={"epochs": epochs, "steps": steps,
                                                   "verbose": verbose})
        self.stop_training = False
        loss_mean = Mean(name="loss")
        cb.on_train_begin()
        for epoch in range(initial_epoch, epochs):
            cb.on_epoch_begin(epoch)
            order = backend.rng().permutation(n) if shuffle else np.arange(n)
            loss_mean.reset_state()
            for m in self.compiled_metrics:
                m.reset_state()
            for step in range(steps):
                idx = order[(step * batch_size) % n:(step * batch_size) % n + batch_size]
                if shuffle or steps_per_epoch is not None:
                    xb, yb = x[idx], y[idx]
                else:
                    xb, yb = x[idx[0]:idx[-1] + 1], y[idx[0]:idx[-1] + 1]
                swb = None if sw is None else sw[idx]
                cb.on_train_batch_begin(step)
                loss, out = self._train_step(xb, yb, swb)
                lv = float(loss.data)
                loss_mean.update_state(lv, sample_weight=len(xb))
                if self.compiled_metrics:
                    o = backend.asnumpy(out.data)
                    for m in self.compiled_metrics:
                        m.update_state(yb, o)
                cb.on_train_batch_end(step, {"loss": lv})
                if self.stop_training:
                    break
            logs = {"loss": float(loss_mean.result())}
            for m in self.compiled_metrics:
                logs[m.name] = float(m.result())
            if validation_data is not None:
                vx, vy = validation_data[0], validation_data[1]
                val = self.evaluate(vx, vy, batch_size=max(batch_size, 256), verbose=0,
                                    return_dict=True)
                logs.update({f"val_{k}": v for k, v in val.items()})
            cb.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        cb.on_train_end()
        return history

    # ------------------------------------------------------------------ evaluate / predict
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 return_dict=False):
        """Loss and metrics on ``(x, y)``, in batches, without recording a graph."""
        from ..metrics import Mean

        self._require_compiled("evaluate")
        x = _to_array(x, "x")
        y = _to_array(y, "y", allow_int=True)
        _check_xy(x, y, sample_weight)
        self._ensure_built(x)
        bs = batch_size or 32
        lm = Mean(name="loss")
        for m in self.compiled_metrics:
            m.reset_state()
        with no_grad():
            for i in range(0, len(x), bs):
                xb, yb = x[i:i + bs], y[i:i + bs]
                swb = None if sample_weight is None else np.asarray(sample_weight)[i:i + bs]
                out = self(Tensor._make(xb), training=False)
                lv = float(self._loss_value(yb, out, swb).data)
                lm.update_state(lv, sample_weight=len(xb))
                o = backend.asnumpy(out.data)
                for m in self.compiled_metrics:
                    m.update_state(yb, o)
        res = {"loss": float(lm.result())}
        for m in self.compiled_metrics:
            res[m.name] = float(m.result())
        if return_dict:
            return res
        return res["loss"] if len(res) == 1 else list(res.values())

    def predict(self, x, batch_size=None, verbose="auto"):
        """Outputs for ``x`` as a NumPy array, in batches, in inference mode."""
        x = _to_array(x, "x")
        if len(x) == 0:
            raise ValueError("predict: x is empty")
        bs = batch_size or 32
        outs = []
        with no_grad():
            for i in range(0, len(x), bs):
                outs.append(backend.asnumpy(self(Tensor._make(x[i:i + bs])).data))
        return np.concatenate(outs)

    def check_gradients(self, x, y, eps=1e-6, atol=1e-5, rtol=1e-3, n_directions=4):
        """Float64 numeric check of every trainable weight through the real loss.

        Returns a per-layer report (dict layer name → max abs error); raises
        ``GradcheckError`` naming the layer on mismatch.
        """
        from ..gradcheck import GradcheckError

        self._require_compiled("check_gradients")
        x = np.asarray(_to_array(x, "x"), np.float64)
        y = _to_array(y, "y", allow_int=True)
        self._ensure_built(x.astype(backend.floatx()))
        params = self._params()
        saved = [(p.data, p.grad) for p in params]
        for p in params:
            p.data = p.data.astype(np.float64)
            p.grad = None
        rs = np.random.default_rng(0)
        report = {}
        try:
            def f():
                with no_grad():
                    return float(self._loss_value(y, self(Tensor(x, dtype="float64")), None).data)

            loss = self._loss_value(y, self(Tensor(x, dtype="float64"), training=False), None)
            loss.backward()
            for p in params:
                g = np.zeros_like(p.data) if p.grad is None else np.asarray(p.grad)
                worst = 0.0
                for _ in range(n_directions):
                    d = rs.standard_normal(p.data.shape)
                    d /= np.linalg.norm(d)
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
    """Keras-style table: layer (type), output shape, parameter count."""
    rows = []
    shape = getattr(model, "input_shape", None)
    for ly in model.layers:
        if shape is not None:
            try:
                shape = tuple(ly.compute_output_shape(shape))
            except Exception:  # shape inference is best-effort for display
                shape = None
        rows.append((f"{ly.name} ({type(ly).__name__})", str(shape) if shape else "?",
                     ly.count_params()))
    w1 = max([len(r[0]) for r in rows] + [20]) + 2
    line = "─" * (w1 + 40)
    print_fn(f'Model: "{model.name}"')
    print_fn(line)
    print_fn(f"{'Layer (type)':<{w1}}{'Output Shape':<26}{'Param #':>12}")
    print_fn(line)
    for a, b, c in rows:
        print_fn(f"{a:<{w1}}{b:<26}{c:>12,}")
    print_fn(line)
    total = model.count_params()
    tr = sum(int(w.size) for w in model.trainable_weights)
    print_fn(f"Total params: {total:,}")
    print_fn(f"Trainable params: {tr:,}")
    print_fn(f"Non-trainable params: {total - tr:,}")
