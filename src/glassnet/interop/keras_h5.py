"""Legacy Keras HDF5 files: ``model.h5`` and ``save_weights("x.h5")`` (Keras 2, tf.keras, and
Keras 3's legacy writer), read safely and written so Keras 3 opens them.

Layout: file attributes ``model_config`` (JSON) and ``training_config``; a ``model_weights``
group (the file root for weights-only files) listing ``layer_names``, one group per layer
listing its ``weight_names``, in Keras's weight layouts.

Example:
    >>> classifier.save("model.h5")                         # the tutorial era's format
    >>> model = gn.models.load_model("model.h5")
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..models.saving import ModelFileError, _atomic_write
from . import _safe_io as sio
from ._keras_compile import compile_from_keras, compile_to_keras
from ._keras_graph import build_model, model_config

if TYPE_CHECKING:
    from ..layers.base import Layer
    from ..models import Model

__all__ = ["load_legacy_h5", "load_legacy_weights", "save_legacy_h5"]


def _layer_table(root: Any, path: str | os.PathLike, budget: int) -> dict:
    """``{layer name: [dataset, ...]}`` in each layer's ``weight_names`` order."""
    datasets = sio.h5_datasets(root, path, budget)
    out = {}
    for name in sio.h5_attr_names(root, "layer_names", path):
        if name not in root:
            raise ModelFileError(f"{path}: layer {name!r} is listed but has no group")
        g = root[name]
        ws = []
        for wn in sio.h5_attr_names(g, "weight_names", path):
            key = f"{name}/{wn}"
            if key not in datasets:
                raise ModelFileError(f"{path}: weight {wn!r} of layer {name!r} is missing")
            ws.append((key, datasets[key]))
        out[name] = ws
    return out


def _owners(layer: Layer) -> list[Layer]:
    """The objects that create ``layer``'s weights (itself and nested layers)."""
    out, stack = [], [layer]
    while stack:
        ly = stack.pop()
        out.append(ly)
        stack.extend(reversed(ly._sublayers()))
    return out


def _guard(layers: list, table: dict) -> list:
    """Refuse, before allocating, any weight whose shape the layer's file arrays lack."""
    guarded = []
    for ly in layers:
        pool = [tuple(d.shape) for _, d in table.get(ly.name, [])]
        for obj in _owners(ly):
            orig = obj.add_weight

            def add_weight(name: Any, shape: Any, *a: Any, _o: Layer = obj,
                           _orig: Callable[..., Any] = orig, _pool: list = pool, _ly: Any = ly,
                           **kw: Any) -> Any:
                got = tuple(int(s) for s in shape)
                if got not in _pool:
                    raise ModelFileError(f"layer {_ly.name!r}: weight {name!r} has shape {got} "
                                         f"by its config; the file holds {_pool or 'none'}")
                _pool.remove(got)
                return _orig(name, shape, *a, **kw)

            obj.add_weight = add_weight  # type: ignore[method-assign,assignment]  # shape guard
            guarded.append(obj)
    return guarded


def _flat_layers(model: Any) -> list:
    out = []
    for ly in model.layers:
        if type(ly).__name__ in ("Sequential", "Functional"):
            out += _flat_layers(ly)
        else:
            out.append(ly)
    return out


def _assign(layers: list, table: dict, path: str | os.PathLike) -> None:
    for ly in layers:
        own = ly.weights
        entries = table.get(ly.name, [])
        if len(own) != len(entries):
            raise ModelFileError(f"{path}: layer {ly.name!r} has {len(own)} weight(s), the "
                                 f"file holds {len(entries)}")
        for w, (key, d) in zip(own, entries):
            a = sio.read_dataset(d, key, path)
            if tuple(a.shape) != tuple(w.shape):
                raise ModelFileError(f"{path}: weight {w.name} has shape {tuple(w.shape)}, "
                                     f"the file holds {a.shape} ({key})")
            w.data[...] = a


def _keras2_to_entry(cfg: Any) -> dict:
    """Keras 2 configs: a bare layer list as Sequential config."""
    if isinstance(cfg, dict) and isinstance(cfg.get("config"), list):
        return {**cfg, "config": {"layers": cfg["config"]}}
    return cfg


def load_legacy_h5(path: str | os.PathLike, compile: bool = True) -> Model:
    """Load a legacy Keras HDF5 model file (Keras 2 / tf.keras / Keras 3 legacy writer).

    Raises ModelFileError for weights-only files, code-carrying or custom layers, corrupt
    bytes and shapes that disagree with the config (checked before allocating).
    """
    if not Path(path).exists():
        raise ModelFileError(f"{path}: no such model file")
    with sio.corrupt_h5(path), sio.open_h5(str(path), path) as h5:
        text = sio.h5_attr_text(h5, "model_config", path)
        if text is None:
            raise ModelFileError(f"{path}: holds weights only (no model_config); build the "
                                 "model and call load_weights")
        config = _keras2_to_entry(sio.parse_json(str(text).encode(), "model_config", path))
        if not isinstance(config, dict):
            raise ModelFileError(f"{path}: model_config must hold an object")
        root = h5["model_weights"] if "model_weights" in h5 else h5
        table = _layer_table(root, path, os.path.getsize(path) + (1 << 20))
        model = _build(config, table, path)
        _assign(_flat_layers(model), table, path)
        train = sio.h5_attr_text(h5, "training_config", path)
        if compile and train:
            t = sio.parse_json(str(train).encode(), "training_config", path)
            if isinstance(t, dict):
                comp = {"optimizer": t.get("optimizer_config", t.get("optimizer")),
                        "loss": t.get("loss"), "metrics": t.get("metrics"),
                        "loss_weights": t.get("loss_weights")}
                compile_from_keras(model, comp, path)
    return model


def _build(config: dict, table: dict, path: str | os.PathLike) -> Model:
    try:
        model, _ = build_model(config, {}, guard=lambda ly, groups: _guard([ly], table))
    except ModelFileError as e:
        raise ModelFileError(f"{path}: {e}") from None
    except RecursionError:
        raise ModelFileError(f"{path}: the model config nests too deeply") from None
    return model


def load_legacy_weights(model: Model, path: str | os.PathLike) -> None:
    """Set ``model``'s weights from a legacy Keras ``save_weights("x.h5")`` file, by name."""
    if not Path(path).exists():
        raise ModelFileError(f"{path}: no such weights file")
    with sio.corrupt_h5(path), sio.open_h5(str(path), path) as h5:
        root = h5["model_weights"] if "model_weights" in h5 else h5
        table = _layer_table(root, path, os.path.getsize(path) + (1 << 20))
        # as Keras does: the file's layers that hold weights, in order, to the model's
        mine = [ly for ly in _flat_layers(model) if ly.weights]
        theirs = [ws for ws in table.values() if ws]
        if len(mine) != len(theirs):
            raise ModelFileError(f"{path}: the file holds weights for {len(theirs)} layers, "
                                 f"model {model.name!r} has {len(mine)} layers with weights")
        _assign(mine, {ly.name: ws for ly, ws in zip(mine, theirs)}, path)


def save_legacy_h5(model: Model, path: str | os.PathLike, overwrite: bool = True,
                   weights_only: bool = False) -> None:
    """Write the legacy HDF5 layout (Keras 3's ``keras.models.load_model`` opens it)."""
    h5py = sio.h5py_or_error()
    from .. import backend

    if not overwrite and Path(path).exists():
        raise FileExistsError(f"save: {path} exists and overwrite=False")
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f.attrs["keras_version"] = "3.0.0"
        f.attrs["backend"] = "glassnet"
        root = f
        if not weights_only:
            cfg = model_config(model)
            f.attrs["model_config"] = json.dumps({"class_name": cfg["class_name"],
                                                  "config": cfg["config"]})
            comp = compile_to_keras(model)
            if comp:
                f.attrs["training_config"] = json.dumps(
                    {"loss": comp["loss"], "metrics": comp["metrics"],
                     "optimizer_config": comp["optimizer"], "loss_weights": None})
            root = f.create_group("model_weights")
        layers = _flat_layers(model)
        root.attrs["layer_names"] = np.array([ly.name.encode() for ly in layers])
        for ly in layers:
            g = root.create_group(ly.name)
            names = [f"{ly.name}/{w.name.rpartition('/')[2]}_{i}"
                     for i, w in enumerate(ly.weights)]
            g.attrs["weight_names"] = np.array([n.encode() for n in names])
            for n, w in zip(names, ly.weights):
                g.create_dataset(n, data=np.asarray(backend.asnumpy(w.data)))
    _atomic_write(Path(path), buf.getvalue())
