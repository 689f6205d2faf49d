"""Keras 3 ``.keras`` model files and ``.weights.h5`` weight files, read and written safely.

A ``.keras`` file is a zip of ``config.json`` (the architecture, Keras's JSON),
``metadata.json`` and ``model.weights.h5`` (each layer's arrays at ``layers/<snake class
name>[_n]/vars/<i>``, in Keras's weight layouts, which glassnet shares). Loading maps every
class through glassnet's fixed layer table and never runs code from the file.

Example:
    >>> model.save("churn.keras")                       # Keras 3 opens it
    >>> model = gn.models.load_model("churn.keras")     # from Keras 3 or glassnet
"""

from __future__ import annotations

import datetime
import io
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..layers.base import Layer
from ..models.saving import ModelFileError, _atomic_write
from ..variables import Variable
from . import _safe_io as sio
from ._keras_compile import (
    compile_from_keras,
    compile_to_keras,
    optimizer_state_from_keras,
    optimizer_state_to_keras,
)
from ._keras_config import _overrides
from ._keras_graph import build_model, keras_layer_order, model_config, model_groups
from ._keras_subclassed import attr_groups, is_subclassed

if TYPE_CHECKING:
    from ..models import Model

__all__ = ["load_keras", "save_keras", "load_weights_h5", "save_weights_h5"]

KERAS_VERSION = "3.0.0"  # the format version written into metadata.json
_MEMBERS = ("config.json", "metadata.json", "model.weights.h5")


def _shapes(datasets: dict) -> dict:
    """``{group path: [shape of vars/0, vars/1, ...]}`` from the file's datasets."""
    groups: dict[str, dict[int, tuple]] = {}
    for name, d in datasets.items():
        head, _, tail = name.rpartition("/")
        if tail.isdigit():
            groups.setdefault(head, {})[int(tail)] = tuple(d.shape)
    out = {}
    for g, by in groups.items():
        if sorted(by) != list(range(len(by))):
            raise ModelFileError(f"weights group {g} skips an index: {sorted(by)[:8]}")
        out[g] = [by[i] for i in range(len(by))]
    return out


def _covered(model: Model, groups: list, path: str | os.PathLike,
             writing: bool = False) -> None:
    """Every weight of ``model`` has its place in the Keras layout (none left behind)."""
    placed = {id(w) for _, obj in groups for w in _file_weights(obj)}
    # a Variable a built-in layer's subclass adds is saved by that class's own hooks
    missing = [w.name for w in model.weights if id(w) not in placed and type(w) is not Variable]
    if missing and writing:
        raise ValueError(f"{path}: weights {missing[:5]} have no place in Keras's file layout; "
                         "save to .glassnet instead")
    if missing:
        raise ModelFileError(f"{path}: the file holds no values for weights {missing[:5]}")


def _file_weights(obj: Any) -> list:
    """What a group holds by index: a layer's Keras layout (``Layer._file_weights``), or a
    part's own weights (MultiHeadAttention's query_dense, ...)."""
    return obj._file_weights() if isinstance(obj, Layer) else list(obj._weights)


def _assign(groups: list, datasets: dict, path: str | os.PathLike) -> None:
    """Copy the file's arrays into each group's owner through its ``load_own_variables``
    (shapes checked again), as Keras 3 loads them."""
    for gpath, obj in groups:
        store = {k.rpartition("/")[2]: sio.read_dataset(d, k, path)
                 for k, d in datasets.items() if k.rpartition("/")[0] == gpath}
        for k, w in enumerate(_file_weights(obj)):  # the file's integers into float weights
            a = store.get(str(k))
            if a is not None and a.dtype.kind not in "f" and w.data.dtype.kind == "f":
                store[str(k)] = a.astype(w.data.dtype)
        try:
            if isinstance(obj, Layer):
                obj.load_own_variables(store)
            else:
                Layer.load_own_variables(obj, store)  # a part: the same rule on its weights
        except (ValueError, KeyError) as e:
            raise ModelFileError(f"{path}: at {gpath}: {e}") from None


def _budget(h5file_size: int) -> int:
    return h5file_size + (1 << 20)


def load_keras(path: str | os.PathLike, compile: bool = True,
               data: bytes | None = None) -> Model:
    """Load a Keras 3 ``.keras`` file (Sequential or functional) into a glassnet model.

    Args:
        path: the ``.keras`` file. compile: restore the compile config and optimizer state.
        data: the file's bytes instead of reading ``path`` (which then only names it).

    Raises ModelFileError for anything that is not a Keras 3 model of layers glassnet has or
    of classes this program registered: code-carrying layers, unknown classes, oversize or
    corrupted members, mismatched shapes. The optional ``h5py`` package reads the weights.
    """
    sio.h5py_or_error()
    src = io.BytesIO(data) if data is not None else path
    if data is None and not Path(path).exists():
        raise ModelFileError(f"{path}: no such model file")
    try:
        z = zipfile.ZipFile(src)
        infos = z.infolist()
    except sio.ZIP_ERRORS as e:
        raise ModelFileError(f"{path}: not a .keras file (corrupted or truncated: {e})"
                             ) from None
    names = [i.filename for i in infos]
    for n in names:
        if n not in _MEMBERS and not n.startswith("assets/"):
            raise ModelFileError(f"{path}: unexpected member {n!r} (sharded or npz weights "
                                 "are not supported)")
    if "config.json" not in names or "model.weights.h5" not in names:
        raise ModelFileError(f"{path}: a .keras file needs config.json and model.weights.h5")
    config = sio.parse_json(sio.read_member(z, "config.json", sio.MAX_JSON, path),
                            "config.json", path)
    if not isinstance(config, dict):
        raise ModelFileError(f"{path}: config.json must hold an object")
    wfile = sio.read_member(z, "model.weights.h5", sio.MAX_WEIGHTS, path, spool=True)
    size = z.getinfo("model.weights.h5").file_size
    with wfile, sio.corrupt_h5(path), sio.open_h5(wfile, path) as h5:
        datasets = sio.h5_datasets(h5, path, _budget(size))
        model, groups = _build(config, datasets, path)
        _assign(groups, datasets, path)
        _covered(model, groups, path)
        _read_assets(z, groups, path)
        if compile and config.get("compile_config") and _own_hook(model,
                                                                  "compile_from_config"):
            model.compile_from_config(config["compile_config"])
        elif compile and config.get("compile_config"):
            if compile_from_keras(model, config["compile_config"], path):
                opt = [sio.read_dataset(datasets[k], k, path)
                       for k in _ordered(datasets, "optimizer/vars")]
                optimizer_state_from_keras(model, opt, path)
    return model


def _own_hook(model: Model, hook: str) -> bool:
    """Whether ``model``'s class overrides the compile-config ``hook`` of every model."""
    from ..models.training import TrainingMixin

    return getattr(type(model), hook, None) is not getattr(TrainingMixin, hook)


def _model_groups(model: Model) -> list:
    """The weight groups Keras stores ``model`` as: layer by layer for Sequential and
    functional models, by attribute for a subclassed one."""
    if is_subclassed(model):
        return attr_groups(model)
    return model_groups(model, keras_layer_order(model))


def _ordered(datasets: dict, group: str) -> list:
    keys = [k for k in datasets if k.rpartition("/")[0] == group
            and k.rpartition("/")[2].isdigit()]
    return sorted(keys, key=lambda k: int(k.rpartition("/")[2]))


def _build(config: dict, datasets: dict, path: str | os.PathLike) -> tuple[Model, list]:
    try:
        return build_model(config, _shapes(datasets))
    except ModelFileError as e:
        raise ModelFileError(f"{path}: {e}") from None
    except RecursionError:
        raise ModelFileError(f"{path}: the model config nests too deeply") from None


def save_keras(model: Model, path: str | os.PathLike, overwrite: bool = True) -> None:
    """Write ``model`` as a Keras 3 ``.keras`` file that ``keras.models.load_model`` opens.

    Sequential and functional models of layers Keras also has (``JordanRNN``/``Maxout``
    cannot be written), and subclassed models registered with
    ``register_keras_serializable`` (their weights by attribute, as Keras walks them; the
    reading program registers the same class); the write is atomic.
    """
    if not overwrite and Path(path).exists():
        raise FileExistsError(f"save: {path} exists and overwrite=False")
    cfg = model_config(model)
    if _own_hook(model, "get_compile_config"):  # the model class's own (Keras's hook)
        from .._keras_utils import serialize_keras_object

        comp = serialize_keras_object(model.get_compile_config())
    else:
        comp = compile_to_keras(model)
    if comp is not None:
        cfg["compile_config"] = comp
    meta = {"keras_version": KERAS_VERSION,
            "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
            "saved_by": "glassnet"}
    groups = _model_groups(model)
    _covered(model, groups, path, writing=True)
    opt = optimizer_state_to_keras(model, groups) if comp is not None else None
    weights = _h5_bytes(groups, opt)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("metadata.json", json.dumps(meta))
        z.writestr("config.json", json.dumps(cfg))
        z.writestr("model.weights.h5", weights)
        _write_assets(z, groups)
    _atomic_write(Path(path), buf.getvalue())


def _asset_path(gpath: str) -> str:
    """Where a layer's assets live in the zip: its weights group's path without the
    ``/vars`` leaf (``layers/with_assets``), as Keras names them."""
    return gpath[: -len("/vars")] if gpath.endswith("/vars") else gpath


def _write_assets(z: zipfile.ZipFile, groups: list) -> None:
    """Each layer's own files (its ``save_assets``) under ``assets/<its path>/``, as Keras
    stores them."""
    for gpath, obj in groups:
        if not (isinstance(obj, Layer) and _overrides(obj, "save_assets")):
            continue
        gpath = _asset_path(gpath)
        with tempfile.TemporaryDirectory() as tmp:
            obj.save_assets(tmp)
            for root, _, files in os.walk(tmp):
                for f in sorted(files):
                    rel = os.path.relpath(os.path.join(root, f), tmp).replace(os.sep, "/")
                    z.write(os.path.join(root, f), f"assets/{gpath}/{rel}")


def _read_assets(z: zipfile.ZipFile, groups: list, path: str | os.PathLike) -> None:
    """Hand each layer that reads files of its own (``load_assets``) a temporary folder
    holding its ``assets/<its path>/`` members. Member names are checked (no
    absolute paths, no ``..``) and sizes bounded, as for every member; nothing is run."""
    names = z.namelist()
    for gpath, obj in groups:
        if not (isinstance(obj, Layer) and _overrides(obj, "load_assets")):
            continue
        prefix = f"assets/{_asset_path(gpath)}/"
        mine = [n for n in names if n.startswith(prefix) and not n.endswith("/")]
        with tempfile.TemporaryDirectory() as tmp:
            for n in mine:
                parts = n[len(prefix):].split("/")
                if any(p in ("", ".", "..") or "\\" in p or ":" in p for p in parts):
                    raise ModelFileError(f"{path}: asset member {n!r} has an unsafe name")
                target = os.path.join(tmp, *parts)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with open(target, "wb") as f:
                    f.write(sio.read_member(z, n, sio.MAX_JSON, path))
            obj.load_assets(tmp)


def _h5_bytes(groups: list, optimizer: list | None = None) -> bytes:
    h5py = sio.h5py_or_error()
    from .. import backend

    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        for gpath, obj in groups:
            g = f.require_group(gpath)
            g.attrs["name"] = obj.name
            store: dict[str, Any] = {}
            if isinstance(obj, Layer):  # the layer's own hook, as Keras saves (overridable)
                obj.save_own_variables(store)
            else:
                store = {str(i): backend.asnumpy(w.data) for i, w in enumerate(obj._weights)}
            for k, v in store.items():
                g.create_dataset(str(k), data=np.asarray(backend.asnumpy(v)))
        if optimizer is not None:  # Keras resumes training from it
            g = f.require_group("optimizer/vars")
            for i, a in enumerate(optimizer):
                g.create_dataset(str(i), data=a)
    return buf.getvalue()


def save_weights_h5(model: Model, path: str | os.PathLike, overwrite: bool = True) -> None:
    """Write the weights in Keras 3's ``.weights.h5`` layout (atomic), with the optimizer's
    state where it has taken a step (``optimizer/vars``, as Keras writes it)."""
    if not overwrite and Path(path).exists():
        raise FileExistsError(f"save_weights: {path} exists and overwrite=False")
    groups = _model_groups(model)
    _covered(model, groups, path, writing=True)
    # the optimizer's state too, as Keras's save_weights walks the model's optimizer (a
    # ModelCheckpoint(save_weights_only=True) file resumes training where it stopped)
    opt = optimizer_state_to_keras(model, groups)
    _atomic_write(Path(path), _h5_bytes(groups, opt))


def load_weights_h5(model: Model, path: str | os.PathLike) -> None:
    """Load a Keras 3 ``.weights.h5`` file into ``model`` (built, same architecture); the
    file's optimizer state, if any, into a compiled model's optimizer (as Keras does)."""
    if not Path(path).exists():
        raise ModelFileError(f"{path}: no such weights file")
    if not model.built:
        raise ValueError(f"load_weights: build model {model.name!r} before loading weights "
                         "(call it on data or model.build(input_shape))")
    with sio.corrupt_h5(path), sio.open_h5(str(path), path) as h5:
        datasets = sio.h5_datasets(h5, path, _budget(os.path.getsize(path)))
        if "layers" not in h5 and any(k.endswith("weight_names") for k in h5.attrs):
            raise ModelFileError(f"{path}: a legacy Keras 2 weights file; name it .h5")
        groups = _model_groups(model)
        _covered(model, groups, path)
        _assign(groups, datasets, path)
        opt = _ordered(datasets, "optimizer/vars")
        if opt and getattr(model, "optimizer", None) is not None:  # as Keras restores it
            optimizer_state_from_keras(model, [sio.read_dataset(datasets[k], k, path)
                                               for k in opt], path)
