"""``TensorBoard`` and ``BackupAndRestore`` (Keras 3's names and arguments).

Exported from :mod:`glassnet.callbacks`. TensorBoard event files are written by the
``tensorboard`` package's own ``EventFileWriter`` and protocol buffers (``pip install
glassnet[tensorboard]``); nothing here formats records by hand.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .backend import asnumpy
from .callbacks import Callback

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["TensorBoard", "BackupAndRestore", "SwapEMAWeights"]


def _tb() -> tuple[Any, Any, Any]:
    try:
        from tensorboard.compat.proto import event_pb2, summary_pb2
        from tensorboard.summary.writer.event_file_writer import EventFileWriter
    except ImportError:
        raise ImportError(
            "TensorBoard: the callback writes event files with the 'tensorboard' package, "
            "which is not installed. Install it with: pip install 'glassnet[tensorboard]'"
        ) from None
    return EventFileWriter, event_pb2, summary_pb2


def _histogram_proto(summary_pb2: Any, values: np.ndarray, bins: int = 30) -> Any:
    """A HistogramProto (TensorBoard's histogram message) of ``values``."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    v = v[np.isfinite(v)]
    if v.size == 0:
        v = np.zeros(1)
    counts, edges = np.histogram(v, bins=bins)
    return summary_pb2.HistogramProto(
        min=float(v.min()), max=float(v.max()), num=float(v.size), sum=float(v.sum()),
        sum_squares=float((v * v).sum()), bucket_limit=edges[1:].tolist(),
        bucket=counts.astype(np.float64).tolist())


def _graph_def(model: Any) -> Any:
    """TensorBoard's GraphDef of the model's layer graph (glassnet.layer_graph), or None."""
    from tensorboard.compat.proto import attr_value_pb2, graph_pb2, node_def_pb2

    from .layer_graph import model_nodes

    try:
        nodes = model_nodes(model)
    except Exception:  # a model whose graph cannot be traced yet: no Graphs tab entry
        return None
    names = {n.key: n.name for n in nodes}
    g = graph_pb2.GraphDef()
    for n in nodes:
        nd = node_def_pb2.NodeDef(name=n.name, op=n.cls,
                                  input=[names[k] for k in n.inbound if k in names])
        nd.attr["output_shape"].CopyFrom(attr_value_pb2.AttrValue(s=str(n.shape).encode()))
        g.node.append(nd)
    return g


class TensorBoard(Callback):
    """Write losses, metrics, the learning rate and weight histograms for TensorBoard.

    Layout as Keras: ``<log_dir>/train`` and ``<log_dir>/validation``, scalars tagged
    ``epoch_<name>`` (validation logs without their ``val_`` prefix), ``batch_<name>`` with
    ``update_freq``, one histogram per weight, ``<weight name>/histogram``, and (with
    ``write_graph``) the model's layer graph in TensorBoard's Graphs tab: one node per layer
    call, its class as the op and its output shape as an attribute.

    Args:
        log_dir: directory for the event files.
        histogram_freq: write weight histograms every this many epochs (0: never).
        write_graph: write the layer graph once, at the start of training.
        update_freq: ``"epoch"``, ``"batch"`` or an integer N (batch scalars every N batches).

    Example:
        >>> tb = TensorBoard("logs", histogram_freq=1)
        >>> model.fit(x, y, epochs=5, callbacks=[tb])  # doctest: +SKIP
        >>> # then: tensorboard --logdir logs
    """

    def __init__(self, log_dir: str | os.PathLike[str] = "logs", histogram_freq: int = 0,
                 write_graph: bool = True, write_images: bool = False,
                 write_steps_per_second: bool = False, update_freq: str | int = "epoch",
                 profile_batch: int = 0, embeddings_freq: int = 0,
                 embeddings_metadata: Any = None) -> None:
        super().__init__()
        if int(histogram_freq) < 0:
            raise ValueError(f"TensorBoard: histogram_freq must be >= 0. "
                             f"Received: histogram_freq={histogram_freq}")
        if update_freq not in ("epoch", "batch") and not (
                isinstance(update_freq, int) and update_freq >= 1):
            raise ValueError("TensorBoard: update_freq must be 'epoch', 'batch' or an integer "
                             f">= 1. Received: update_freq={update_freq!r}")
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = int(histogram_freq)
        self.write_graph, self.write_images = bool(write_graph), bool(write_images)
        self.write_steps_per_second = bool(write_steps_per_second)
        self.update_freq = 1 if update_freq == "batch" else update_freq
        self.profile_batch, self.embeddings_freq = profile_batch, embeddings_freq
        self.embeddings_metadata = embeddings_metadata
        self._writers: dict[str, Any] = {}
        self._global_batch = 0
        self._epoch_start = 0.0

    # ------------------------------------------------------------------ writing
    def _writer(self, which: str) -> Any:
        w = self._writers.get(which)
        if w is None:
            writer_cls, _, _ = _tb()
            path = os.path.join(self.log_dir, which)
            os.makedirs(path, exist_ok=True)
            w = self._writers[which] = writer_cls(path)
        return w

    def _write(self, which: str, step: int, values: Iterable[tuple[str, Any]]) -> None:
        _, event_pb2, _ = _tb()
        ev = event_pb2.Event(wall_time=time.time(), step=int(step),
                             summary=self._summary(values))
        self._writer(which).add_event(ev)

    def _summary(self, values: Iterable[tuple[str, Any]]) -> Any:
        _, _, summary_pb2 = _tb()
        vals = []
        for tag, v in values:
            if isinstance(v, summary_pb2.HistogramProto):
                vals.append(summary_pb2.Summary.Value(tag=tag, histo=v))
            else:
                vals.append(summary_pb2.Summary.Value(tag=tag, simple_value=float(v)))
        return summary_pb2.Summary(value=vals)

    # ------------------------------------------------------------------ hooks
    def on_train_begin(self, logs: dict | None = None) -> None:
        _tb()  # fail at the start, not after the first epoch, when tensorboard is missing
        self._global_batch = 0
        if self.write_graph and self.model is not None:
            graph = _graph_def(self.model)
            if graph is not None:
                _, event_pb2, _ = _tb()
                self._writer("train").add_event(event_pb2.Event(
                    wall_time=time.time(), step=0, graph_def=graph.SerializeToString()))

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch_start = time.time()

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._global_batch += 1
        # the one string update_freq keeps after __init__ is "epoch"
        if isinstance(self.update_freq, str) or self._global_batch % self.update_freq:
            return
        vals = [(f"batch_{k}", v) for k, v in (logs or {}).items() if np.ndim(v) == 0]
        if vals:
            self._write("train", self._global_batch, vals)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = dict(logs or {})
        train = [(f"epoch_{k}", v) for k, v in logs.items()
                 if not k.startswith("val_") and np.ndim(v) == 0]
        opt = getattr(self.model, "optimizer", None)
        if opt is not None and "learning_rate" not in logs:
            train.append(("epoch_learning_rate", opt.current_learning_rate))
        if self.write_steps_per_second and self._epoch_start:
            dt = time.time() - self._epoch_start
            steps = (self.params or {}).get("steps")
            if steps and dt > 0:
                train.append(("epoch_steps_per_second", steps / dt))
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            _, _, summary_pb2 = _tb()
            for w in self.model.weights:
                name = str(getattr(w, "name", None) or "weight").replace(":", "_")
                train.append((f"{name}/histogram",
                              _histogram_proto(summary_pb2, asnumpy(w.data))))
        self._write("train", epoch, train)
        val = [(f"epoch_{k[4:]}", v) for k, v in logs.items()
               if k.startswith("val_") and np.ndim(v) == 0]
        if val:
            self._write("validation", epoch, val)
        for w in self._writers.values():
            w.flush()

    def on_train_end(self, logs: dict | None = None) -> None:
        for w in self._writers.values():
            w.close()
        self._writers = {}

    def get_config(self) -> dict[str, Any]:
        return {"log_dir": self.log_dir, "histogram_freq": self.histogram_freq,
                "write_graph": self.write_graph,
                "update_freq": "batch" if self.update_freq == 1 else self.update_freq}


class BackupAndRestore(Callback):
    """Back up the whole training state so an interrupted ``fit`` resumes where it stopped.

    At the end of every epoch (or every ``save_freq`` batches) it writes, each atomically,
    ``<backup_dir>/latest.weights.glassnet`` (the weights, a safe weights file: any model,
    subclassed ones included), ``optimizer.npz`` (the optimizer state) and then
    ``training_metadata.json`` (the epoch to resume at and the RNG state). At the start of
    ``fit`` an existing backup is loaded into the (built) model — weights, optimizer state,
    RNG — and ``model._initial_epoch`` is set to the next epoch, as Keras does. A finished
    ``fit`` deletes the backup (``delete_checkpoint``).

    Args:
        backup_dir: directory for the backup (not shared with other runs).
        save_freq: ``"epoch"`` or an integer number of batches.
        double_checkpoint: keep the previous backup too (``*.bkp``) and fall back to it when
            the latest cannot be read.
        delete_checkpoint: remove ``backup_dir`` when training ends normally.

    Example:
        >>> cb = BackupAndRestore("/tmp/backup")
        >>> model.fit(x, y, epochs=10, callbacks=[cb])  # doctest: +SKIP
    """

    def __init__(self, backup_dir: str | os.PathLike[str], save_freq: str | int = "epoch",
                 double_checkpoint: bool = False, delete_checkpoint: bool = True) -> None:
        super().__init__()
        if not backup_dir:
            raise ValueError("BackupAndRestore: backup_dir must be a directory path. "
                             f"Received: backup_dir={backup_dir!r}")
        if save_freq != "epoch" and not (isinstance(save_freq, int) and save_freq >= 1):
            raise ValueError("BackupAndRestore: save_freq must be 'epoch' or an integer >= 1. "
                             f"Received: save_freq={save_freq!r}")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint, self.delete_checkpoint = (bool(double_checkpoint),
                                                          bool(delete_checkpoint))
        d = Path(self.backup_dir)
        self._model_path = d / "latest.weights.glassnet"
        self._opt_path = d / "optimizer.npz"
        self._meta_path = d / "training_metadata.json"
        self._current_epoch = 0
        self._batches = 0
        self.restored_epoch: int | None = None

    # ------------------------------------------------------------------ saving
    def _save(self, batch: int) -> None:
        from .backend import get_rng_state
        from .models.saving import _atomic_write, _npz_bytes

        d = Path(self.backup_dir)
        d.mkdir(parents=True, exist_ok=True)
        if self.double_checkpoint and self._meta_path.exists():
            for p in (self._model_path, self._opt_path, self._meta_path):
                if p.exists():
                    shutil.copyfile(p, f"{p}.bkp")
        self.model.save_weights(self._model_path)
        opt = getattr(self.model, "optimizer", None)
        state = {} if opt is None else opt.get_state()
        _atomic_write(self._opt_path, _npz_bytes({k: np.asarray(v) for k, v in state.items()}))
        rng = get_rng_state()
        meta = {"epoch": self._current_epoch, "batch": batch,
                "rng_state": {"bit_generator": rng["bit_generator"],
                              "state": {k: int(v) for k, v in rng["state"].items()},
                              "has_uint32": int(rng["has_uint32"]),
                              "uinteger": int(rng["uinteger"])}}
        _atomic_write(self._meta_path, json.dumps(meta))

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._current_epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if isinstance(self.save_freq, str):  # "epoch", the one string __init__ accepts
            return
        self._batches += 1
        if self._batches % self.save_freq == 0:
            self._save(batch)   # resumes at the start of this epoch, as Keras

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._current_epoch = epoch + 1
        if self.save_freq == "epoch":
            self._save(0)

    # ------------------------------------------------------------------ restoring
    def _load(self, model_path: Path, opt_path: Path, meta_path: Path) -> int:
        from .backend import set_rng_state
        from .models.saving import _check_optimizer_state, load_weights
        from .runner import _rng_state_from_json

        meta = json.loads(meta_path.read_bytes().decode("utf-8"))
        epoch = meta.get("epoch") if isinstance(meta, dict) else None
        if type(epoch) is not int or epoch < 0:
            raise ValueError(f"{meta_path}: epoch must be a non-negative integer. "
                             f"Received: {epoch!r}")
        rng = _rng_state_from_json(meta["rng_state"])
        load_weights(self.model, model_path)
        with np.load(opt_path, allow_pickle=False) as z:
            opt = {k: z[k] for k in z.files}
        if opt and getattr(self.model, "optimizer", None) is not None:
            _check_optimizer_state(self.model, opt, opt_path)
            self.model.optimizer.set_state(opt)
        set_rng_state(rng)
        return epoch

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._batches = 0
        self.restored_epoch = None
        if not self._meta_path.exists():
            return
        if not self.model.weights:
            raise ValueError("BackupAndRestore: the model must be built before fit() to restore "
                             f"the backup in {self.backup_dir} (give it an Input or call "
                             "model.build(input_shape)). Received: a model without weights")
        paths = (self._model_path, self._opt_path, self._meta_path)
        try:
            epoch = self._load(*paths)
        except Exception as e:  # a damaged latest backup: fall back to the previous one
            prev = [Path(f"{p}.bkp") for p in paths]
            if not all(p.exists() for p in prev):
                raise ValueError(f"BackupAndRestore: the backup in {self.backup_dir} cannot be "
                                 f"restored ({type(e).__name__}: {e})") from e
            epoch = self._load(*prev)
        self.restored_epoch = epoch
        self.model._initial_epoch = epoch

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.delete_checkpoint and os.path.isdir(self.backup_dir):
            shutil.rmtree(self.backup_dir)

    def get_config(self) -> dict[str, Any]:
        return {"backup_dir": self.backup_dir, "save_freq": self.save_freq,
                "double_checkpoint": self.double_checkpoint,
                "delete_checkpoint": self.delete_checkpoint}


class SwapEMAWeights(Callback):
    """Evaluate (and predict) with the optimizer's moving average of the weights
    (``use_ema=True``), train with the weights themselves (Keras 3's callback).

    Before each evaluation, including ``fit``'s validation, the weights and their averages
    trade places; after it, they trade back. With ``swap_on_epoch=True`` they also trade at
    each epoch's end (so callbacks after this one, a checkpoint say, see the averages) and
    back at the next epoch's start; after the last epoch the model keeps the averages.

    Keras 3.15 does not trade back after ``predict`` (its ``on_predict_end`` tests the flag
    the wrong way round); this one does.

    Example:
        >>> cb = SwapEMAWeights(swap_on_epoch=True)
    """

    def __init__(self, swap_on_epoch: bool = False) -> None:
        super().__init__()
        self.swap_on_epoch = bool(swap_on_epoch)
        self._ema_in_model = False

    def _pairs(self) -> list[tuple[Any, Any]]:
        opt: Any = getattr(self.model, "optimizer", None)
        if not getattr(opt, "use_ema", False):
            raise ValueError("SwapEMAWeights needs an optimizer with use_ema=True. Received: "
                             f"{type(opt).__name__ if opt is not None else None}"
                             + ("" if opt is None else " with use_ema=False"))
        slots = opt._slots  # noqa: SLF001 - the optimizer's own average per weight
        return [(p, slots[id(p)][opt._ema_index]) for p in self.model.trainable_weights
                if id(p) in slots]

    def _swap(self) -> None:
        for p, avg in self._pairs():  # in place: views of the flat buffers stay valid
            kept = p.data.copy()
            p.data[...] = avg
            avg[...] = kept

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if self.swap_on_epoch and self._ema_in_model:
            self._swap()
            self._ema_in_model = False

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.swap_on_epoch and not self._ema_in_model:
            self._swap()
            self._ema_in_model = True
            if epoch == self.params.get("epochs", 0) - 1:  # keep the averages: finalize
                for p, avg in self._pairs():
                    avg[...] = p.data

    def on_test_begin(self, logs: dict | None = None) -> None:
        if not self._ema_in_model:
            self._swap()
            self._ema_in_model = True

    def on_test_end(self, logs: dict | None = None) -> None:
        if self._ema_in_model:
            self._swap()
            self._ema_in_model = False

    on_predict_begin = on_test_begin
    on_predict_end = on_test_end

    def get_config(self) -> dict[str, Any]:
        return {"swap_on_epoch": self.swap_on_epoch}


def _register() -> None:
    """Put ``TensorBoard`` and ``BackupAndRestore`` into :mod:`glassnet.callbacks`."""
    from . import callbacks

    for n in __all__:
        setattr(callbacks, n, globals()[n])
    callbacks.__all__ += [n for n in __all__ if n not in callbacks.__all__]


_register()
