"""Callbacks: a fixed set of ``on_*`` hooks that see the loop through ``logs`` only."""

from __future__ import annotations

import csv
import math
import os
import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from . import config
from ._display import history_repr_html

__all__ = ["Callback", "CallbackList", "History", "ProgbarLogger", "EarlyStopping",
           "ModelCheckpoint", "LearningRateScheduler", "ReduceLROnPlateau", "TerminateOnNaN",
           "CSVLogger", "LambdaCallback"]


class Callback:
    """Base class: override any ``on_*`` hook; ``self.model`` is set by the loop."""

    def __init__(self) -> None:
        self.model: Any = None  # the Model being trained, after set_model
        self.params: dict = {}

    def set_model(self, model: Any) -> None:
        self.model = model

    def set_params(self, params: dict) -> None:
        self.params = params

    def on_train_begin(self, logs: dict | None = None) -> None: ...
    def on_train_end(self, logs: dict | None = None) -> None: ...
    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None: ...
    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None: ...
    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None: ...
    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None: ...
    # Keras's older names for the two above, still what many callbacks define
    def on_batch_begin(self, batch: int, logs: dict | None = None) -> None: ...
    def on_batch_end(self, batch: int, logs: dict | None = None) -> None: ...
    def on_test_begin(self, logs: dict | None = None) -> None: ...
    def on_test_end(self, logs: dict | None = None) -> None: ...
    def on_test_batch_begin(self, batch: int, logs: dict | None = None) -> None: ...
    def on_test_batch_end(self, batch: int, logs: dict | None = None) -> None: ...
    def on_predict_begin(self, logs: dict | None = None) -> None: ...
    def on_predict_end(self, logs: dict | None = None) -> None: ...
    def on_predict_batch_begin(self, batch: int, logs: dict | None = None) -> None: ...
    def on_predict_batch_end(self, batch: int, logs: dict | None = None) -> None: ...


class CallbackList(Callback):
    """Dispatches every hook to a list of callbacks, in order.

    ``hook(name)`` returns a dispatcher over only the callbacks that override that hook, or
    None when none does, so the training loop can skip per-batch dispatch entirely.
    """

    def __init__(self, callbacks: Iterable[Callback] | None = None, model: Any = None,
                 params: dict | None = None) -> None:
        super().__init__()
        self.callbacks = list(callbacks or [])
        if model is not None:
            self.set_model(model)
        if params is not None:
            self.set_params(params)

    def set_model(self, model: Any) -> None:
        self.model = model
        for c in self.callbacks:
            c.set_model(model)

    def set_params(self, params: dict) -> None:
        self.params = params
        for c in self.callbacks:
            c.set_params(params)

    def hook(self, name: str) -> Callable[..., None] | None:
        """Dispatcher for hook ``name`` over the callbacks that implement it, or None."""
        base = getattr(Callback, name)
        # a callback that defines only Keras's older on_batch_* name runs it for training
        # batches, as Keras's default on_train_batch_* does
        alias = name.replace("train_batch", "batch") if "train_batch" in name else None
        fns = []
        for c in self.callbacks:
            if getattr(getattr(c, name), "__func__", None) is not base:
                fns.append(getattr(c, name))
            elif alias and getattr(getattr(c, alias), "__func__", None) is not getattr(
                    Callback, alias):
                fns.append(getattr(c, alias))
        if not fns:
            return None
        n = 1 if ("batch_" in name or "epoch_" in name) else 0  # (batch|epoch, logs)

        def dispatch(*a: Any, **k: Any) -> None:
            # Keras hands every hook a logs dict (maybe empty), never None: tutorials call
            # logs.keys() in on_train_begin
            if len(a) > n:
                if a[n] is None:
                    a = (*a[:n], {}, *a[n + 1:])
            elif k.get("logs") is None:
                k["logs"] = {}
            for f in fns:
                f(*a, **k)

        return dispatch

    def __getattribute__(self, name: str) -> Any:
        if name.startswith("on_"):
            fn = object.__getattribute__(self, "hook")(name)
            return fn if fn is not None else _noop
        return object.__getattribute__(self, name)


def _noop(*a: Any, **k: Any) -> None:
    return None


class History(Callback):
    """Records epoch logs into ``.history`` (``model.fit`` returns it)."""

    def __init__(self) -> None:
        super().__init__()
        self.history: dict = {}
        self.epoch: list = []

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.epoch = []
        self.history = {}

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)

    def plot(self, metrics: list[str] | None = None, save: str | os.PathLike | None = None) -> Any:
        """Loss and each metric by epoch, train vs validation (matplotlib; PNG in Jupyter).

        Example:
            >>> model.fit(x, y, validation_split=0.2).plot()   # doctest: +SKIP
        """
        from ._display import history_plot

        return history_plot(self, metrics, save)

    _repr_html_ = history_repr_html  # the epochs as an HTML table


def _fmt(v: Any) -> str:
    """A logged number as Keras's progress bar writes it (tiny values in e-notation); an
    array-valued metric (F1Score(average=None), Precision at several thresholds) per entry."""
    if np.ndim(v):
        return "[" + " ".join(_fmt(e) for e in np.asarray(v).reshape(-1)) + "]"
    v = float(v)
    return f"{v:.4f}" if abs(v) > 1e-3 or v == 0 else f"{v:.4e}"


def _progress_bar(**kwargs: Any) -> Any:
    """A tqdm bar, or None where a bar cannot redraw in place (output to a pipe or a log
    file, or a notebook without ipywidgets): there only each epoch's summary line is printed,
    as Keras's non-interactive progress bar does. See ``glassnet._display.progress_bar``."""
    from ._display import progress_bar

    return progress_bar(**kwargs)


class ProgbarLogger(Callback):
    """Progress bar (tqdm) with ETA and live metrics; verbose 1 bar, 2 one line per epoch.

    Outside ``fit`` it also reports ``evaluate``/``predict`` (``verbose=1`` or ``2``): a bar
    over the batches and, for ``evaluate``, one line with the loss and metrics.
    """

    def __init__(self, verbose: int = 1):
        super().__init__()
        self.verbose = verbose
        self.bar = None
        self._in_fit = False

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._in_fit = True  # validation passes inside fit stay quiet, as in Keras

    def on_train_end(self, logs: dict | None = None) -> None:
        self._in_fit = False

    def _open(self, what: str) -> None:
        # its own clock: a validation pass inside fit must not restart the epoch's (t0)
        self.t_pass = time.perf_counter()
        if self.verbose == 1 and not self._in_fit and config.is_interactive_logging_enabled():
            self.bar = _progress_bar(total=self.params.get("steps"), desc=what)

    def _tick(self, batch: int, logs: dict | None = None) -> None:
        if self.bar is not None:
            self.bar.update(1)
            if logs and batch % 10 == 0:
                self.bar.set_postfix({k: _fmt(v) for k, v in logs.items()}, refresh=False)

    def _close(self, logs: dict | None = None) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        if self.verbose and not self._in_fit and logs is not None:
            steps = self.params.get("steps")
            shown = " - ".join(f"{k}: {_fmt(v)}" for k, v in logs.items())
            dt = time.perf_counter() - self.t_pass
            config.print_msg(f"{steps}/{steps} - {dt:.1f}s - {shown}")

    def on_test_begin(self, logs: dict | None = None) -> None:
        self._open("evaluate")

    def on_test_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._tick(batch, logs)

    def on_test_end(self, logs: dict | None = None) -> None:
        self._close(logs or {})

    def on_predict_begin(self, logs: dict | None = None) -> None:
        self._open("predict")

    def on_predict_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._tick(batch)

    def on_predict_end(self, logs: dict | None = None) -> None:
        self._close(None)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.t0 = time.perf_counter()
        self.epoch = epoch
        if self.verbose == 1 and config.is_interactive_logging_enabled():
            self.bar = _progress_bar(total=self.params.get("steps"),
                                     desc=f"Epoch {epoch + 1}/{self.params.get('epochs')}")

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if self.bar is not None:
            self.bar.update(1)
            if batch % 10 == 0 and logs:
                self.bar.set_postfix({k: _fmt(v) for k, v in logs.items()}, refresh=False)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        if self.verbose:
            dt = time.perf_counter() - self.t0
            shown = " - ".join(f"{k}: {_fmt(v)}" for k, v in (logs or {}).items())
            config.print_msg(f"Epoch {epoch + 1}/{self.params.get('epochs')} - {dt:.1f}s - {shown}")


def _monitor_op(mode: str, monitor: str) -> tuple[Callable[..., Any], float]:
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max'. Received: mode={mode!r}")
    if mode == "max" or (mode == "auto" and ("acc" in monitor or monitor.endswith("auc")
                                             or "precision" in monitor or "recall" in monitor)):
        return np.greater, -np.inf
    return np.less, np.inf


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs."""

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0,
                 verbose: int = 0, mode: str = "auto", baseline: float | None = None,
                 restore_best_weights: bool = False, start_from_epoch: int = 0) -> None:
        super().__init__()
        if patience < 0:
            raise ValueError(f"EarlyStopping: patience must be >= 0. Received: {patience}")
        self.monitor, self.patience, self.verbose = monitor, patience, verbose
        self.baseline, self.restore_best_weights = baseline, restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.op, self._init = _monitor_op(mode, monitor)
        self.min_delta = abs(min_delta) * (1 if self.op is np.greater else -1)

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.wait = 0
        self.stopped_epoch = 0
        self.best = self._init if self.baseline is None else self.baseline
        self.best_weights = None
        self.best_epoch = 0
        self._restored = False

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        cur = (logs or {}).get(self.monitor)
        if cur is None:
            raise ValueError(f"EarlyStopping: monitor {self.monitor!r} is not in the logs. "
                             f"Available: {sorted(logs or {})}")
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
        self.wait += 1
        if self.op(cur - self.min_delta, self.best):
            self.best, self.best_epoch, self.wait = cur, epoch, 0
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True
            if self.restore_best_weights and self.best_weights is not None:
                self.model.set_weights(self.best_weights)
                self._restored = True

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.stopped_epoch > 0 and self.verbose:
            config.print_msg(f"Epoch {self.stopped_epoch + 1}: early stopping")
            if getattr(self, "_restored", False):
                config.print_msg("Restoring model weights from the end of the best epoch: "
                                 f"{self.best_epoch + 1}.")


class ModelCheckpoint(Callback):
    """Save the model (or its weights) during training, as Keras's ``ModelCheckpoint``.

    Args:
        filepath: where to save; may hold ``{epoch}``, ``{batch}`` and any log value
            (``"model-{epoch:02d}-{val_loss:.2f}.keras"``).
        monitor: the log value ``save_best_only`` compares.
        verbose: 1 prints a line per save (or per skipped save).
        save_best_only: save only when ``monitor`` improved on the best so far.
        save_weights_only: ``save_weights`` instead of ``save``.
        mode: ``"auto"``, ``"min"`` or ``"max"``: which way ``monitor`` improves.
        save_freq: ``"epoch"`` (at each epoch's end) or a number of batches: save every
            that many batches, counted across epochs (then ``monitor`` is read from the
            batch's logs).
        initial_value_threshold: the best value to beat at the start (``save_best_only``).

    Example:
        >>> cb = ModelCheckpoint("ckpt/model-{epoch}.keras", save_freq=100)
    """

    def __init__(self, filepath: str | os.PathLike, monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, save_weights_only: bool = False,
                 mode: str = "auto", save_freq: str | int = "epoch",
                 initial_value_threshold: float | None = None) -> None:
        super().__init__()
        if save_freq != "epoch" and (isinstance(save_freq, bool)
                                     or not isinstance(save_freq, (int, np.integer))
                                     or save_freq < 1):
            raise ValueError(f"ModelCheckpoint: save_freq must be 'epoch' or a positive "
                             f"number of batches. Received: save_freq={save_freq!r}")
        self.filepath, self.monitor, self.verbose = str(filepath), monitor, verbose
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only
        self.save_freq = save_freq
        self.op, self.best = _monitor_op(mode, monitor)
        if initial_value_threshold is not None:
            self.best = float(initial_value_threshold)
        self._epoch, self._last_batch, self._since_save = 0, -1, 0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if self.save_freq == "epoch":
            return
        # batches since the last save, counted across epochs (batch restarts at 0)
        self._since_save += batch + 1 if batch <= self._last_batch else batch - self._last_batch
        self._last_batch = batch
        if self._since_save >= int(self.save_freq):
            self._since_save = 0
            self._save(self._epoch, batch, logs or {})

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.save_freq == "epoch":
            self._save(epoch, None, logs or {})

    def _save(self, epoch: int, batch: int | None, logs: dict) -> None:
        fields = {"epoch": epoch + 1, **logs}
        if batch is not None and "batch" not in logs:
            fields["batch"] = batch + 1
        path = self.filepath.format(**fields)
        if self.save_best_only:
            cur = logs.get(self.monitor)
            if cur is None or not self.op(cur, self.best):
                if self.verbose and cur is not None:  # Keras's messages, word for word
                    config.print_msg(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from "
                                     f"{self.best:.5f}")
                return
            if self.verbose:
                prev = "None" if np.isinf(self.best) else f"{self.best:.5f}"
                config.print_msg(f"\nEpoch {epoch + 1}: {self.monitor} improved from {prev} to "
                                 f"{cur:.5f}, saving model to {path}")
            self.best = cur
        elif self.verbose:
            config.print_msg(f"\nEpoch {epoch + 1}: saving model to {path}")
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)


class LearningRateScheduler(Callback):
    """Set the learning rate at each epoch start from ``schedule(epoch, lr)``."""

    def __init__(self, schedule: Callable[..., float], verbose: int = 0) -> None:
        super().__init__()
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        lr = float(self.schedule(epoch, float(self.model.optimizer.learning_rate)))
        self.model.optimizer.learning_rate = lr
        if self.verbose:
            config.print_msg(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to "
                             f"{lr}.")

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` after ``patience`` epochs without progress."""

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 verbose: int = 0, mode: str = "auto", min_delta: float = 1e-4,
                 cooldown: int = 0, min_lr: float = 0.0) -> None:
        super().__init__()
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be < 1. Received: {factor}")
        self.monitor, self.factor, self.patience = monitor, factor, patience
        self.cooldown, self.min_lr, self.min_delta = cooldown, min_lr, min_delta
        self.verbose = verbose
        self.op, self.best = _monitor_op(mode, monitor)
        self.wait = self.cooldown_counter = 0

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is not None:  # as Keras: the rate this epoch ran at goes into the logs (CSV)
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)
        cur = (logs or {}).get(self.monitor)
        if cur is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        better = cur < self.best - self.min_delta if self.op is np.less else \
            cur > self.best + self.min_delta
        if better:
            self.best, self.wait = cur, 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                opt = self.model.optimizer
                old = float(opt.learning_rate)
                opt.learning_rate = max(old * self.factor, self.min_lr)
                if self.verbose and float(opt.learning_rate) < old:
                    config.print_msg(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing "
                                     f"learning rate to {float(opt.learning_rate)}.")
                self.cooldown_counter, self.wait = self.cooldown, 0


class TerminateOnNaN(Callback):
    """Stop training when the loss becomes NaN or infinite."""

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            config.print_msg(f"Batch {batch}: invalid loss, terminating training")
            self.model.stop_training = True


class CSVLogger(Callback):
    """Write one CSV row of logs per epoch."""

    def __init__(self, filename: str | os.PathLike, separator: str = ",",
                 append: bool = False) -> None:
        super().__init__()
        self.filename, self.sep, self.append = str(filename), separator, append
        self.keys: list[str] = []

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.f = open(self.filename, "a" if self.append else "w", newline="", encoding="utf-8")
        self.writer: Any = None  # a csv writer from the first epoch's logs on

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        if self.writer is None:
            self.keys = sorted(logs)
            self.writer = csv.writer(self.f, delimiter=self.sep)
            if not self.append:
                self.writer.writerow(["epoch", *self.keys])
        self.writer.writerow([epoch, *[logs.get(k, "") for k in self.keys]])
        self.f.flush()

    def on_train_end(self, logs: dict | None = None) -> None:
        self.f.close()


class LambdaCallback(Callback):
    """Callback from plain functions: ``LambdaCallback(on_epoch_end=lambda e, logs: ...)``."""

    def __init__(self, **hooks: Callable[..., Any]) -> None:
        super().__init__()
        for name, fn in hooks.items():
            if not name.startswith("on_") or not hasattr(Callback, name):
                raise ValueError(f"LambdaCallback: unknown hook {name!r}")
            setattr(self, name, fn)


from .liveplot import LivePlot  # noqa: E402, F401  (its own module; needs Callback above)

__all__.append("LivePlot")

# TensorBoard and BackupAndRestore (its own module, built on Callback above); it adds its
# names here when it finishes importing, whichever of the two modules is imported first
from . import _callbacks_more  # noqa: E402, F401
