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
_KERAS_SLOTS: dict[str, tuple[str, ...] | str] = {
    "Adam": ("m", "v"), "AdamW": ("m", "v"), "SGD": ("momentum",), "RMSprop": "own",
    "Adagrad": ("accumulator",), "Nadam": ("m", "v"),
    "ScheduleFreeAdamW": ("momentum", "velocity"), "Muon": ("momentum", "velocity"),
    "Adamax": ("m", "u"), "Lion": ("momentum",), "Lamb": ("momentum", "velocity"),
    "Ftrl": ("accumulator", "linear"), "Adadelta": ("accumulated_grad", "accumulated_delta")}


def _slots_of(opt: Any, slots: tuple[str, ...]) -> Any:
    """Each weight's slots in Keras's file order: the table's, or the optimizer's own
    choice per weight where Keras keeps different slots for different weights (Muon keeps
    no velocity for the weights its orthogonalised step moves)."""
    own = getattr(opt, "_keras_slots", None)
    return own if own is not None else (lambda _w: slots)


# one add_optimizer_variables call per slot in Keras (all velocities, then all momentums, ...)
_SLOT_MAJOR = ("RMSprop",)
# scalars Keras keeps after the slots (Nadam's running product of its momentum schedule)
_EXTRA = {"Nadam": ("u_product",)}


def _layout(opt: Any, weights: list) -> tuple[list[tuple[int, str]], tuple[str, ...]] | None:
    """Keras's ``optimizer/vars`` after the step count and the learning rate: the (weight
    position, slot) of each array in file order, then the names of the extra scalars;
    None where Keras lays the optimizer out in a way not mapped."""
    name = type(opt).__name__
    table = _KERAS_SLOTS.get(name)
    # "own": the slots depend on the settings (RMSprop's momentum, centered)
    slots = tuple(getattr(opt, "_slot_names", ())) if table == "own" else tuple(table or ())
    if not slots or not set(slots) <= set(getattr(opt, "_all_slot_names", ())):
        return None
    if name in _SLOT_MAJOR:
        pairs = [(i, s) for s in slots for i in range(len(weights))]
    else:
        per = _slots_of(opt, slots)
        pairs = [(i, s) for i, w in enumerate(weights) for s in per(w)]
    return pairs, _EXTRA.get(name, ())


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


def _optimizer_from_keras(opt: dict, where: str) -> dict:
    """A Keras optimizer config as glassnet's: the keys glassnet leaves out dropped, and a
    MultiOptimizer's map and inner optimizers converted the same way."""
    _check_object(opt, where)
    cfg = {k: v for k, v in (opt.get("config") or {}).items()
           if k not in _OPT_DROP and v is not None}
    if isinstance(cfg.get("learning_rate"), dict):
        raise ValueError("learning-rate schedules in Keras files are not mapped")
    if opt["class_name"] == "MultiOptimizer":
        m = cfg.get("optimizer_map")
        if not (isinstance(m, dict) and m.get("class_name") == "OptimizerMap"):
            raise ValueError("a MultiOptimizer whose map is not an OptimizerMap is not mapped")
        mc = m.get("config") or {}
        cfg["optimizer_map"] = {"class_name": "OptimizerMap", "config": {
            "default_optimizer": _optimizer_from_keras(mc["default_optimizer"], where),
            "optimizer_map": {k: _optimizer_from_keras(v, where)
                              for k, v in (mc.get("optimizer_map") or {}).items()}}}
    return {"class_name": opt["class_name"], "config": cfg}


def _optimizer_to_keras(opt: Any) -> Any:
    """glassnet's optimizer config in Keras's serialized form (module names on every
    object, a MultiOptimizer's nested ones included); glassnet's name stays glassnet's."""
    if not (isinstance(opt, dict) and "class_name" in opt):
        return opt
    cfg = {k: v for k, v in dict(opt.get("config") or {}).items() if k != "name"}
    m = cfg.get("optimizer_map")
    if isinstance(m, dict) and m.get("class_name") == "OptimizerMap":
        mc = m.get("config") or {}
        cfg["optimizer_map"] = {
            "module": "keras.optimizers", "class_name": "OptimizerMap", "registered_name": None,
            "config": {"default_optimizer": _optimizer_to_keras(mc.get("default_optimizer")),
                       "optimizer_map": {k: _optimizer_to_keras(v) for k, v in
                                         (mc.get("optimizer_map") or {}).items()}}}
    return {"module": "keras.optimizers", "class_name": opt["class_name"], "config": cfg,
            "registered_name": None}


def compile_from_keras(model: Model, comp: object, path: str | os.PathLike) -> bool:
    """Compile ``model`` from a Keras ``compile_config``; warn and skip what cannot map."""
    if not isinstance(comp, dict):
        return False
    try:
        opt = comp.get("optimizer")
        if isinstance(opt, dict):
            opt = _optimizer_from_keras(opt, "compile optimizer")
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

    # every optimizer's config keys are Keras's own (test_interop_keras checks each class
    # against Keras): all of them, so that Lion's betas, Muon's exclusions or a warm-up
    # reach Keras
    opt = _optimizer_to_keras(comp.get("optimizer"))
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
    params = model.trainable_weights
    lay = _layout(opt, params)
    if lay is None:
        if len(arrays) > 2:
            warnings.warn(f"{path}: optimizer state of {type(opt).__name__} is not mapped "
                          "from Keras files; it restarts", stacklevel=3)
        state = {"iterations": np.asarray(int(np.asarray(arrays[0])), dtype=np.int64)}
        opt.set_state(state)
        return
    pairs, extra = lay
    rest = arrays[2:]
    if len(rest) != len(pairs) + len(extra):
        warnings.warn(f"{path}: the file's optimizer state has {len(rest)} arrays, the model "
                      f"needs {len(pairs) + len(extra)}; the optimizer restarts", stacklevel=3)
        return
    state = {"iterations": np.asarray(int(np.asarray(arrays[0])), dtype=np.int64)}
    for (i, s), a in zip(pairs, rest):
        p = params[i]
        if tuple(a.shape) != tuple(p.shape):
            raise ModelFileError(f"{path}: optimizer slot {s} of {p.name} has shape "
                                 f"{a.shape}, the weight {tuple(p.shape)}")
        state[f"{i}/{s}"] = a
    for key, a in zip(extra, rest[len(pairs):]):
        state[key] = np.asarray(a)
    opt.set_state(state)


def optimizer_state_to_keras(model: Model, groups: list) -> list[np.ndarray] | None:
    """Keras's ``optimizer/vars`` for the model's optimizer state, or None when there is
    none to write (no optimizer, no step taken yet, or slots Keras lays out differently)."""
    opt = getattr(model, "optimizer", None)
    weights = list(model.trainable_weights)
    lay = None if opt is None else _layout(opt, weights)
    if opt is None or lay is None:
        return None
    pairs, extra = lay
    state = opt.get_state()
    index = {pid: i for i, pid in enumerate(getattr(opt, "_order", []))}
    out: list[np.ndarray] = [np.asarray(state["iterations"], dtype=np.int64),
                             np.asarray(getattr(opt, "learning_rate", 0.0), dtype=np.float32)]
    # Keras's trainable-variable order, which glassnet's trainable_weights follow (layer by
    # layer, a layer's own before those of the layers it holds, in the order they were
    # made): not the file's group order, where a custom layer's sublayers sort by
    # attribute name; the reader (optimizer_state_from_keras) maps the same order back
    for k, s in pairs:
        i = index.get(id(weights[k]))
        if i is None or f"{i}/{s}" not in state:
            return None
        out.append(np.asarray(state[f"{i}/{s}"], dtype=np.float32))
    for key in extra:
        if key not in state:
            return None
        out.append(np.asarray(state[key], dtype=np.float32))
    return out
