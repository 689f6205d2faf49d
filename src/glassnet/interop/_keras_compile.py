"""Compile configs and optimizer state between Keras 3 files and glassnet."""

from __future__ import annotations

import os
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from ..models.saving import ModelFileError
from ._keras_config import _check_object

if TYPE_CHECKING:
    from ..models import Model

_OPT_DROP = ("name", "use_ema", "ema_momentum", "ema_overwrite_frequency",
             "loss_scale_factor", "gradient_accumulation_steps", "is_legacy_optimizer",
             "jit_compile", "decay")
# Keras slot names per optimizer, in the order Keras creates them per variable
_KERAS_SLOTS = {"Adam": ("m", "v"), "AdamW": ("m", "v"), "SGD": ("momentum",),
                "RMSprop": None, "Adagrad": ("accumulator",),
                "ScheduleFreeAdamW": ("momentum", "velocity"), "Muon": ("momentum", "velocity")}


def _slots_of(opt: Any, slots: tuple[str, ...]) -> Any:
    """Each weight's slots in Keras's file order: the table's, or the optimizer's own
    choice per weight where Keras keeps different slots for different weights (Muon keeps
    no velocity for the weights its orthogonalised step moves)."""
    own = getattr(opt, "_keras_slots", None)
    return own if own is not None else (lambda _w: slots)


def _obj(value: Any, where: str) -> Any:
    if isinstance(value, dict):
        cls = _check_object(value, where)
        cfg = {k: v for k, v in (value.get("config") or {}).items()
               if v is not None and k not in ("name", "reduction", "dtype")}
        return {"class_name": cls, "config": cfg}
    return value


def _nested(value: Any, where: str) -> Any:
    if isinstance(value, list):
        return [_nested(v, where) for v in value]
    if isinstance(value, dict) and "class_name" not in value:
        raise ModelFileError(f"{where}: per-output dicts are not supported by glassnet")
    return _obj(value, where)


def compile_from_keras(model: Model, comp: object, path: str | os.PathLike) -> bool:
    """Compile ``model`` from a Keras ``compile_config``; warn and skip what cannot map."""
    if not isinstance(comp, dict):
        return False
    try:
        opt = comp.get("optimizer")
        if isinstance(opt, dict):
            _check_object(opt, "compile optimizer")
            cfg = {k: v for k, v in (opt.get("config") or {}).items()
                   if k not in _OPT_DROP and v is not None}
            if isinstance(cfg.get("learning_rate"), dict):
                raise ValueError("learning-rate schedules in Keras files are not mapped")
            opt = {"class_name": opt["class_name"], "config": cfg}
        loss = _nested(comp.get("loss"), "compile loss")
        metrics = comp.get("metrics")
        if isinstance(metrics, list) and metrics and all(isinstance(m, list) for m in metrics):
            metrics = [m for sub in metrics for m in sub]  # glassnet: one list for all outputs
        metrics = _nested(metrics, "compile metrics") or None
        weighted = comp.get("weighted_metrics")
        if isinstance(weighted, list) and weighted and all(isinstance(m, list)
                                                           for m in weighted):
            weighted = [m for sub in weighted for m in sub]
        weighted = _nested(weighted, "compile weighted_metrics") or None
        kwargs = {"optimizer": opt, "loss": loss, "metrics": metrics}
        if weighted:
            kwargs["weighted_metrics"] = weighted
        if comp.get("loss_weights") is not None:
            kwargs["loss_weights"] = comp["loss_weights"]
        model.compile(**kwargs)
    except ModelFileError:
        raise
    except (ValueError, TypeError, KeyError) as e:
        warnings.warn(f"{path}: the model loads uncompiled; its Keras compile config does not "
                      f"map to glassnet ({e})", stacklevel=3)
        return False
    return True


def compile_to_keras(model: Model) -> dict | None:
    """Keras 3's ``compile_config`` for a compiled glassnet model (None when uncompiled)."""
    comp = getattr(model, "_compile_config", None)
    if not comp:
        return None

    def wrap(v: Any, module: str) -> Any:
        if isinstance(v, dict) and "class_name" in v:
            return {"module": module, "class_name": v["class_name"],
                    "config": dict(v.get("config") or {}), "registered_name": None}
        if isinstance(v, list):
            return [wrap(x, module) for x in v]
        return v

    opt = wrap(comp.get("optimizer"), "keras.optimizers")
    if isinstance(opt, dict):
        # every optimizer's config keys are Keras's own (test_interop_keras checks each
        # class against Keras): all of them, so that Lion's betas, Muon's exclusions or a
        # warm-up reach Keras; glassnet's name stays glassnet's
        opt["config"] = {k: v for k, v in opt["config"].items() if k != "name"}
    return {"optimizer": opt, "loss": wrap(comp.get("loss"), "keras.losses"),
            "loss_weights": None, "metrics": wrap(comp.get("metrics"), "keras.metrics"),
            "weighted_metrics": wrap(comp.get("weighted_metrics"), "keras.metrics"),
            "run_eagerly": False, "steps_per_execution": 1,
            "jit_compile": False}


def optimizer_state_from_keras(model: Model, arrays: list,
                               path: str | os.PathLike) -> None:
    """Map Keras's ``optimizer/vars/*`` (iterations, learning rate, slots per variable)."""
    opt = getattr(model, "optimizer", None)
    if opt is None or len(arrays) < 2:
        return
    slots = _KERAS_SLOTS.get(type(opt).__name__)
    names = tuple(getattr(opt, "_all_slot_names", ()))
    params = model.trainable_weights
    if slots is None or not set(slots) <= set(names) or not slots:
        if len(arrays) > 2:
            warnings.warn(f"{path}: optimizer state of {type(opt).__name__} is not mapped "
                          "from Keras files; it restarts", stacklevel=3)
        state = {"iterations": np.asarray(int(np.asarray(arrays[0])), dtype=np.int64)}
        opt.set_state(state)
        return
    rest = arrays[2:]
    per = _slots_of(opt, slots)
    need = sum(len(per(p)) for p in params)
    if len(rest) != need:
        warnings.warn(f"{path}: the file's optimizer state has {len(rest)} arrays, the model "
                      f"needs {need}; the optimizer restarts", stacklevel=3)
        return
    state = {"iterations": np.asarray(int(np.asarray(arrays[0])), dtype=np.int64)}
    k = 0
    for i, p in enumerate(params):
        for s in per(p):
            a = rest[k]
            k += 1
            if tuple(a.shape) != tuple(p.shape):
                raise ModelFileError(f"{path}: optimizer slot {s} of {p.name} has shape "
                                     f"{a.shape}, the weight {tuple(p.shape)}")
            state[f"{i}/{s}"] = a
    opt.set_state(state)


def optimizer_state_to_keras(model: Model, groups: list) -> list[np.ndarray] | None:
    """Keras's ``optimizer/vars`` for the model's optimizer state, or None when there is
    none to write (no optimizer, no step taken yet, or slots Keras lays out differently)."""
    opt = getattr(model, "optimizer", None)
    slots = _KERAS_SLOTS.get(type(opt).__name__) if opt is not None else None
    if opt is None or not slots or not set(slots) <= set(getattr(opt, "_all_slot_names", ())):
        return None
    state = opt.get_state()
    index = {pid: i for i, pid in enumerate(getattr(opt, "_order", []))}
    trainable = {id(w) for w in model.trainable_weights}
    out: list[np.ndarray] = [np.asarray(state["iterations"], dtype=np.int64),
                             np.asarray(getattr(opt, "learning_rate", 0.0), dtype=np.float32)]
    # Keras's trainable-variable order, which glassnet's trainable_weights follow (layer by
    # layer, a layer's own before those of the layers it holds, in the order they were
    # made): not the file's group order, where a custom layer's sublayers sort by
    # attribute name; the reader (optimizer_state_from_keras) maps the same order back
    per = _slots_of(opt, slots)
    for w in model.trainable_weights:
        if id(w) not in trainable:
            continue
        i = index.get(id(w))
        if i is None or any(f"{i}/{s}" not in state for s in per(w)):
            return None
        out += [np.asarray(state[f"{i}/{s}"], dtype=np.float32) for s in per(w)]
    return out
