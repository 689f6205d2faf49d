"""Safe model files: one zip of ``config.json`` + ``weights.npz`` + ``optimizer.npz``.

Writes are atomic (temp file in the same directory, fsync, rename). Loading never unpickles
(``allow_pickle=False``), never imports or evaluates anything a file names (layer classes
come from the fixed ``LAYER_CLASSES`` table), and rejects unknown classes, shape mismatches,
truncated or corrupted files with :class:`ModelFileError`.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np

from .. import backend

__all__ = ["load_model", "ModelFileError", "save_model"]

FORMAT = "glassnet-model"
VERSION = 1
_MAX_MEMBER = 2 << 30


class ModelFileError(ValueError):
    """A model file that is missing, truncated, corrupted or names something unknown."""


def serialize_layer(layer) -> dict:
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def _model_classes():
    from .functional import Functional
    from .model import Model, Sequential

    table = {"Sequential": Sequential, "Functional": Functional}
    try:
        from .autoencoder import Autoencoder

        table["Autoencoder"] = Autoencoder
    except ImportError:
        pass
    return table, Model


def deserialize_layer(spec: dict):
    from ..layers.base import get_layer_class

    if not isinstance(spec, dict) or "class_name" not in spec:
        raise ModelFileError("layer entry must be an object with class_name and config")
    name = spec["class_name"]
    if not isinstance(name, str):
        raise ModelFileError(f"class_name must be a string. Received: {name!r}")
    models, _ = _model_classes()
    cfg = spec.get("config", {})
    if not isinstance(cfg, dict):
        raise ModelFileError(f"config of {name} must be an object")
    if name == "Sequential":
        return models["Sequential"]([deserialize_layer(s) for s in cfg.get("layers", [])],
                                    name=cfg.get("name"))
    if name in models:  # a functional model (or autoencoder) nested in another model
        try:
            return models[name].from_config(cfg)
        except (TypeError, ValueError, KeyError) as e:
            raise ModelFileError(f"invalid config for model {name}: {e}") from None
    try:
        cls = get_layer_class(name)
    except ValueError as e:
        raise ModelFileError(str(e)) from None
    try:
        return cls.from_config(cfg)
    except (TypeError, ValueError) as e:
        raise ModelFileError(f"invalid config for layer {name}: {e}") from None


def _atomic_write(path: Path, payload: bytes | str) -> None:
    """Write ``payload`` (text is UTF-8) through a temp file, fsync and a rename: a crash
    mid-write never leaves a half-written file in place of a good one."""
    path = Path(path)
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _npz_bytes(arrays: dict) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **{k: backend.asnumpy(v) for k, v in arrays.items()})
    return buf.getvalue()


def save_model(model, path, include_optimizer: bool = True, weights_only: bool = False) -> None:
    """Write ``model`` to ``path`` atomically (see module docstring)."""
    _atomic_write(Path(path), model_bytes(model, include_optimizer, weights_only))


def model_bytes(model, include_optimizer: bool = True, weights_only: bool = False) -> bytes:
    """The bytes of a model file (what ``save_model`` writes), for files that hold several."""
    config = {"format": FORMAT, "version": VERSION, "weights_only": weights_only,
              "class_name": type(model).__name__}
    if not weights_only:
        config["model"] = model.get_config()
        config["compile"] = getattr(model, "_compile_config", None)
    weights = {f"w{i:04d}": w for i, w in enumerate(model.get_weights())}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("config.json", json.dumps(config))
        z.writestr("weights.npz", _npz_bytes(weights))
        opt = getattr(model, "optimizer", None)
        if include_optimizer and not weights_only and opt is not None:
            state = opt.get_state()
            z.writestr("optimizer.npz", _npz_bytes({k: np.asarray(v) for k, v in state.items()}))
    return buf.getvalue()


def _read_zip(path, data: bytes | None = None):
    """(config, weights, optimizer state) of a model file, or of its bytes ``data``."""
    if data is None:
        path = Path(path)
        if not path.exists():
            raise ModelFileError(f"{path}: no such model file")
    try:
        z = zipfile.ZipFile(path if data is None else io.BytesIO(data))
        names = z.namelist()
    except (zipfile.BadZipFile, OSError) as e:
        raise ModelFileError(f"{path}: not a glassnet model file (corrupted or truncated: "
                             f"{e})") from None
    for n in names:
        if n not in ("config.json", "weights.npz", "optimizer.npz"):
            raise ModelFileError(f"{path}: unexpected member {n!r}")
        if z.getinfo(n).file_size > _MAX_MEMBER:
            raise ModelFileError(f"{path}: member {n} is implausibly large")
    if "config.json" not in names or "weights.npz" not in names:
        raise ModelFileError(f"{path}: missing config.json or weights.npz")
    try:
        config = json.loads(z.read("config.json").decode("utf-8"))
        weights = _load_npz(z.read("weights.npz"), path)
        opt = _load_npz(z.read("optimizer.npz"), path) if "optimizer.npz" in names else None
    except (zipfile.BadZipFile, OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError,
            ValueError) as e:
        if isinstance(e, ModelFileError):
            raise
        raise ModelFileError(f"{path}: corrupted model file ({e})") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a glassnet model file (format marker missing)")
    return config, weights, opt


def _load_npz(data: bytes, path) -> list:
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as f:
            keys = sorted(f.files)
            out = {k: f[k] for k in keys}
    except ValueError as e:
        raise ModelFileError(f"{path}: refusing to load ({e}); model files hold plain "
                             "numeric arrays only") from None
    for k, v in out.items():
        if v.dtype.kind not in "biuf":
            raise ModelFileError(f"{path}: array {k} has non-numeric dtype {v.dtype}")
    return out


def _set_weights(model, arrays: dict, path) -> None:
    ws = [arrays[k] for k in sorted(arrays)]
    own = model.weights
    if len(ws) != len(own):
        raise ModelFileError(f"{path}: file has {len(ws)} weight arrays, the model has "
                             f"{len(own)}")
    for w, v in zip(own, ws):
        if tuple(v.shape) != tuple(w.shape):
            raise ModelFileError(f"{path}: weight {w.name} has shape {w.shape}, the file has "
                                 f"{v.shape}")
    model.set_weights(ws)


def load_model(path, compile: bool = True, data: bytes | None = None):
    """Load a model saved with ``model.save``; never executes anything from the file.

    ``data``: the file's bytes, when it is a member of a larger file (``path`` then only
    names it in error messages).
    """
    config, weights, opt = _read_zip(path, data)
    if config.get("weights_only"):
        raise ModelFileError(f"{path}: holds weights only; build the model and call "
                             "load_weights")
    models, _ = _model_classes()
    spec = config.get("model")
    cls_name = config.get("class_name")
    if cls_name not in models:
        raise ModelFileError(f"{path}: unknown model class {cls_name!r}")
    model = deserialize_layer({"class_name": cls_name, "config": spec})
    shapes = [tuple(v.shape) for _, v in sorted(weights.items())]
    if not model.built:
        shape = getattr(model, "input_shape", None)
        if shape is None:
            raise ModelFileError(f"{path}: the model's input shape is unknown")
        model._build_from(shape)
    del shapes
    _set_weights(model, weights, path)
    comp = config.get("compile")
    if compile and comp:
        try:
            model.compile(**comp)
        except (ValueError, TypeError) as e:
            raise ModelFileError(f"{path}: invalid compile config ({e})") from None
        if opt is not None:
            model.optimizer.set_state(opt)
    return model


def save_weights(model, path) -> None:
    save_model(model, path, weights_only=True)


def load_weights(model, path) -> None:
    _, weights, _ = _read_zip(path)
    _set_weights(model, weights, path)
