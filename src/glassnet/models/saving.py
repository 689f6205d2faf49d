"""Safe model files: one zip of ``config.json`` + ``weights.npz`` + ``optimizer.npz``.

Writes are atomic (a uniquely named temp file in the same directory, fsync, rename).
Loading never unpickles (``allow_pickle=False``), never imports or evaluates anything a file
names (layer classes come from the fixed ``LAYER_CLASSES`` table), and turns every way a
file can be wrong — unknown classes, shape mismatches, truncated or corrupted bytes — into
:class:`ModelFileError`.

Loading checks sizes before it decompresses or allocates anything large: the zip members'
declared sizes, each array's ``.npy`` header against its member's size, the config's nesting
depth, layer count and input size, and (while the model is built) every weight against the
values the file actually holds. The limits are in :data:`DEFAULT_LIMITS`; ``load_model(...,
limits={...})`` raises them for genuinely large models.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import threading
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from .. import backend
from ..initializers import Initializer
from ..layers.base import Layer
from ..tensor import Tensor
from ._model_file import (  # noqa: F401 - re-exported: GAN/RBM files and tests use them
    _MAX_MEMBER,
    DEFAULT_LIMITS,
    FORMAT,
    VERSION,
    ModelFileError,
    _check_shapes,
    _limits,
    _load_npz,
    _open_model_file,
    _over,
    _read_zip,
    _set_weights_in_file_order,
    _weight_order,
    v1_optimizer_state,
)

if TYPE_CHECKING:
    from numpy.typing import DTypeLike

    from .._optimizer_base import Optimizer
    from ._model_file import PathArg
    from .model import Model

__all__ = ["load_model", "ModelFileError", "save_model", "DEFAULT_LIMITS"]


# ------------------------------------------------------------------ layer (de)serialization
def serialize_layer(layer: Layer) -> dict[str, Any]:
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def _model_classes() -> tuple[dict[str, Any], Any]:
    from .functional import Functional
    from .model import Model, Sequential

    table = {"Sequential": Sequential, "Functional": Functional}
    try:
        from .autoencoder import Autoencoder

        table["Autoencoder"] = Autoencoder
    except ImportError:
        pass
    return table, Model


# what a broken config can raise while a layer is constructed or built
_CONFIG_ERRORS = (TypeError, ValueError, KeyError, IndexError, AttributeError, RecursionError,
                  OverflowError, ZeroDivisionError, NotImplementedError)


def _custom_layer_class(name: str) -> type | None:
    """A Layer subclass the running program supplied under ``name``: ``custom_objects``
    (an active ``custom_object_scope``) or the registry. Names only select classes the
    program already defines; a file never makes anything be imported."""
    from ..layers.base import Layer
    from ..saving import get_registered_object

    obj = get_registered_object(name)
    return obj if isinstance(obj, type) and issubclass(obj, Layer) else None


def deserialize_layer(spec: dict[str, Any]) -> Layer:
    """A layer (or nested model) from ``{"class_name", "config"}``; fixed table only."""
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
    if name in models:  # Sequential, Functional, Autoencoder (also nested in another model)
        try:
            return models[name].from_config(cfg)
        except _CONFIG_ERRORS as e:
            what = "" if isinstance(e, ModelFileError) else f"{type(e).__name__}: "
            raise ModelFileError(f"invalid config for model {name} ({what}{e})") from None
    try:
        cls: Any = get_layer_class(name)
    except ValueError as e:
        cls = _custom_layer_class(name)
        if cls is None:
            raise ModelFileError(f"{e}. A layer class of your own: pass it by name "
                                 f"(custom_objects={{{name!r}: cls}}) or register it "
                                 "(gn.saving.register_keras_serializable)") from None
    try:
        layer = cls.from_config(cfg)
    except _CONFIG_ERRORS as e:
        raise ModelFileError(f"invalid config for layer {name} ({type(e).__name__}: "
                             f"{e})") from None
    ctx = getattr(_LOADING, "ctx", None)
    if ctx is not None:
        ctx.adopt(layer)
    return layer


# ------------------------------------------------------------------ writing
def _tmp_stem(path: Path) -> str:
    """Short, per-target prefix of our temp files (a 250-character name still fits)."""
    return "." + hashlib.sha1(path.name.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _sweep_stale(path: Path) -> None:
    """Remove temp files of earlier saves to ``path`` whose process has died (kill -9)."""
    stem = _tmp_stem(path)
    try:
        cands = list(path.parent.glob(f"{stem}.gntmp-*"))
    except OSError:
        return
    for c in cands:
        m = re.fullmatch(re.escape(stem) + r"\.gntmp-(\d+)-[0-9a-f]+", c.name)
        if m and int(m.group(1)) != os.getpid() and not _pid_alive(int(m.group(1))):
            try:
                c.unlink()
            except OSError:
                pass


def _atomic_write(path: Path, payload: bytes | str) -> None:
    """Write ``payload`` (text is UTF-8) through a temp file, fsync and a rename: a crash
    mid-write never leaves a half-written file in place of a good one. The temp name is
    unique per call (threads saving one path do not collide) and short; temp files left by
    a killed process are swept on the next save to the same path."""
    path = Path(path)
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    if path.is_dir():
        raise IsADirectoryError(f"cannot write {path}: it is a directory")
    _sweep_stale(path)
    tmp = path.with_name(f"{_tmp_stem(path)}.gntmp-{os.getpid()}-{uuid.uuid4().hex[:12]}")
    try:
        with open(tmp, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _npz_bytes(arrays: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    savez: Any = np.savez  # numpy's stub types **kwds as its own keyword arguments
    savez(buf, **{k: backend.asnumpy(v) for k, v in arrays.items()})
    return buf.getvalue()


def save_model(model: Model, path: PathArg, include_optimizer: bool = True,
               weights_only: bool = False, overwrite: bool = True) -> None:
    """Write ``model`` to ``path`` atomically (see module docstring).

    Raises ``ValueError`` for a subclassed model when ``weights_only`` is False: its
    architecture is Python code, which a model file never holds; ``FileExistsError`` when
    ``overwrite`` is False and ``path`` exists.
    """
    from ..interop import keras_format

    fmt = keras_format(path)
    if fmt:  # Keras 3 .keras / .weights.h5, legacy .h5 (glassnet.interop)
        from ..interop import save

        return save(model, path, fmt, include_optimizer, overwrite, weights_only)
    path = Path(path)
    if not overwrite and path.exists():
        raise FileExistsError(f"{path} exists and overwrite=False")
    _atomic_write(path, model_bytes(model, include_optimizer, weights_only))


def model_bytes(model: Model, include_optimizer: bool = True,
                weights_only: bool = False) -> bytes:
    """The bytes of a model file (what ``save_model`` writes), for files that hold several."""
    cls = type(model).__name__
    if not weights_only and cls not in _model_classes()[0]:
        raise ValueError(
            f"Model.save: {cls!r} is a subclassed model; its architecture is Python code, "
            "which a glassnet file never holds, so load_model could not rebuild it. Save its "
            f"weights with model.save_weights(path), and to load: build {cls}(...) again, "
            "call it once on a batch (or build it) and call model.load_weights(path)")
    config: dict[str, Any] = {"format": FORMAT, "version": VERSION,
                              "weights_only": weights_only, "class_name": cls}
    if not weights_only:
        config["model"] = model.get_config()
        config["compile"] = getattr(model, "_compile_config", None)
        opt = getattr(model, "optimizer", None)
        if config["compile"] and opt is not None:
            from .. import optimizers

            try:  # the optimizer as it is now (a callback may have changed its rate)
                config["compile"] = {**config["compile"],
                                     "optimizer": optimizers.serialize(opt)}
            except (ValueError, TypeError):
                pass  # a user's own class: by its registered name, as compiled
    weights = {f"w{i:04d}": w for i, w in enumerate(model.get_weights())}
    members = {"weights.npz": _npz_bytes(weights)}
    config["arrays"] = {"weights.npz": len(weights)}
    opt = getattr(model, "optimizer", None)
    if include_optimizer and not weights_only and opt is not None:
        state = opt.get_state()
        members["optimizer.npz"] = _npz_bytes({k: np.asarray(v) for k, v in state.items()})
        config["arrays"]["optimizer.npz"] = len(state)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        # config.json (CRC-checked) records every other member and its array count, so a
        # damaged zip directory cannot silently drop one
        z.writestr("config.json", json.dumps(config))
        for name, payload in members.items():
            z.writestr(name, payload)
    return buf.getvalue()




# ------------------------------------------------------------------ building under a budget
_LOADING = threading.local()


class _LoadContext:
    """While a file's model is built: every weight comes from a zero initializer that first
    charges its size to the values the file holds, so a config that declares more (a
    ``units=25_000_000`` in a tiny file) is refused before anything large is allocated; and
    a layer that can say its output shape says it before each call of the build pass, so a
    weightless layer that would blow an activation up (``UpSampling1D(size=10**7)``) is
    refused too. The layers' own initializers and methods are put back afterwards
    (``get_config`` is unchanged)."""

    def __init__(self, budget: int, path: PathArg, max_values: int) -> None:
        self.left, self.path, self.max_values = budget, path, max_values
        self.budget = budget
        self.swapped: list[tuple[Any, str, Any]] = []
        self.guarded: list[Layer] = []
        self.checking = False

    def adopt(self, layer: Layer) -> None:
        for obj in [layer, *_all_sublayers(layer)]:
            for attr, v in list(vars(obj).items()):
                if isinstance(v, Initializer) and not isinstance(v, _BudgetZeros):
                    self.swapped.append((obj, attr, v))
                    setattr(obj, attr, _BudgetZeros(self, obj.name, attr))
            n = getattr(obj, "n", None)  # RepeatVector: its output is n times its input
            if type(obj).__name__ == "RepeatVector" and isinstance(n, int) and \
                    n > self.max_values:
                raise self._too_big(obj, f"n={n}", n)
            if (type(obj).compute_output_shape is not Layer.compute_output_shape
                    and "call" not in vars(obj)):
                guarded = self._guard(obj, obj.call)
                obj.call = guarded  # type: ignore[method-assign]  # until restore()
                self.guarded.append(obj)

    def _too_big(self, layer: Layer, what: str, n: int) -> ModelFileError:
        return ModelFileError(
            f"{self.path}: layer '{layer.name}' would produce {what} ({n:,} values for one "
            f"sample), over the limit input_elements={self.max_values:,}")

    def _guard(self, layer: Layer, call: Callable[..., Any]) -> Callable[..., Any]:
        def guarded(x: Any, *args: Any, **kwargs: Any) -> Any:
            if not self.checking and isinstance(x, Tensor):
                self.checking = True
                try:
                    shape = layer.compute_output_shape(tuple(x.shape))
                except Exception:  # noqa: BLE001 - no shape known: the call itself decides
                    shape = None
                finally:
                    self.checking = False
                if isinstance(shape, tuple) and all(isinstance(d, int) or d is None
                                                    for d in shape):
                    n = 1
                    for d in shape[1:]:
                        n *= d or 1
                    if n > self.max_values:
                        raise self._too_big(layer, f"an output of shape {shape}", n)
            return call(x, *args, **kwargs)

        return guarded

    def restore(self) -> None:
        for obj, attr, v in reversed(self.swapped):
            setattr(obj, attr, v)
        for obj in self.guarded:
            vars(obj).pop("call", None)
        self.swapped, self.guarded = [], []


def _all_sublayers(layer: Layer) -> list[Layer]:
    out, stack = [], list(layer._sublayers())
    while stack:
        s = stack.pop()
        out.append(s)
        stack.extend(s._sublayers())
    return out


class _BudgetZeros(Initializer):
    """Zeros, after charging the weight's size to the load's budget (see _LoadContext)."""

    def __init__(self, ctx: _LoadContext, layer_name: str, attr: str) -> None:
        self.ctx, self.layer_name, self.attr = ctx, layer_name, attr

    def __call__(self, shape: Any, dtype: DTypeLike | None = None) -> np.ndarray:
        # shape: add_weight's tuple
        n = 1
        for s in shape:
            n *= int(s)
        if n > self.ctx.left:
            raise ModelFileError(
                f"{self.ctx.path}: layer '{self.layer_name}' declares a weight of shape "
                f"{tuple(shape)} ({n:,} values), over the limit this file sets: its "
                f"weights.npz holds {self.ctx.budget:,} values in all, {self.ctx.left:,} of "
                "them left for this layer on; config.json and the weights do not match")
        self.ctx.left -= n
        return np.zeros(shape, dtype=dtype or backend.floatx())


def _build(config: dict[str, Any], budget: int, path: PathArg, lim: dict[str, int]) -> Model:
    models, _ = _model_classes()
    cls_name = config.get("class_name")
    if not isinstance(cls_name, str) or cls_name not in models:
        raise ModelFileError(f"{path}: unknown model class {cls_name!r}")
    spec = config.get("model")
    if not isinstance(spec, dict):
        raise ModelFileError(f"{path}: config.json has no model architecture")
    ctx = _LoadContext(budget, path, lim["input_elements"])
    _LOADING.ctx = ctx
    try:
        model = models[cls_name].from_config(spec)
        if not model.built:
            shape = getattr(model, "input_shape", None)
            if shape is None:
                raise ModelFileError(f"{path}: the model's input shape is unknown")
            model._build_from(shape)
    except ModelFileError:
        raise
    except MemoryError as e:
        raise ModelFileError(f"{path}: building the model in config.json needs more memory "
                             f"than this machine has ({e})") from None
    except _CONFIG_ERRORS as e:
        raise ModelFileError(f"{path}: the model in config.json does not build "
                             f"({type(e).__name__}: {str(e)[:300]})") from None
    finally:
        _LOADING.ctx = None
        ctx.restore()
    return model


def load_model(path: PathArg, compile: bool = True, data: bytes | None = None, *,
               limits: dict[str, int] | None = None,
               custom_objects: dict[str, Any] | None = None) -> Model:
    """Load a model saved with ``model.save``; never executes anything from the file.

    Args:
        path: the file.
        compile: restore the compile settings and the optimizer's state.
        custom_objects: the user's own losses, metrics or layers that the file names
            (``{"name": object}``, Keras's argument): looked up by name, never imported.
        data: the file's bytes, when it is a member of a larger file (``path`` then only
            names it in error messages).
        limits: raise some of :data:`DEFAULT_LIMITS` (e.g. ``{"weight_bytes": 8 << 30}``)
            to load a model larger than they allow.

    Raises:
        ModelFileError: for any file that is missing, corrupted, too large or inconsistent.

    Example:
        >>> model = load_model("churn.glassnet")   # doctest: +SKIP
    """
    if custom_objects:
        from ..saving import custom_object_scope

        with custom_object_scope(custom_objects):
            return load_model(path, compile, data, limits=limits)
    from ..interop import keras_format

    fmt = keras_format(path)
    if fmt:  # Keras 3 .keras, legacy .h5 (glassnet.interop)
        from ..interop import load

        return load(path, fmt, compile=compile, data=data)
    with _open_model_file(path, data, limits) as mf:
        config = mf.config
        if config.get("weights_only"):
            raise ModelFileError(f"{path}: holds weights only; build the model and call "
                                 "load_weights")
        names = mf.weight_names()
        model = _build(config, mf.weights.size(), path, _limits(limits))
        # the shapes are compared from the arrays' headers before any data is read
        version = config["version"]  # checked when the file was opened
        own = _check_shapes(model, [mf.weights.shape(n) for n in names], path, version)
        for w, n in zip(own, names):  # as Layer.set_weights, without a second walk
            w.data[...] = backend.get_array_module(w.data).asarray(mf.weights.read(n),
                                                                    dtype=w.data.dtype)
        opt = mf.optimizer.read_all() if mf.optimizer is not None else None
        if opt is not None and version < 2:
            opt = v1_optimizer_state(model, opt)
    comp = config.get("compile")
    if compile and comp:
        if not isinstance(comp, dict):
            raise ModelFileError(f"{path}: invalid compile config (not an object)")
        try:
            model.compile(**comp)
        except _CONFIG_ERRORS as e:
            raise ModelFileError(f"{path}: invalid compile config ({type(e).__name__}: "
                                 f"{e})") from None
        if opt is not None:
            _check_optimizer_state(model, opt, path)
            try:
                cast("Optimizer", model.optimizer).set_state(opt)  # set by compile just above
            except _CONFIG_ERRORS as e:
                raise ModelFileError(f"{path}: invalid optimizer state ({e})") from None
    return model


def _check_optimizer_state(model: Model, state: dict[str, Any], path: PathArg) -> None:
    """Refuse at load what would otherwise fail at the first ``fit``: a slot of the wrong
    shape or for a weight the model lacks, a negative or non-integer step count."""
    it = state.get("iterations")
    if it is None or np.shape(it) != () or it.dtype.kind not in "iu" or int(it) < 0:
        raise ModelFileError(f"{path}: optimizer state: iterations must be a non-negative "
                             f"integer scalar. Received: {it!r}")
    opt = cast("Optimizer", model.optimizer)  # callers: it is set
    # (key prefix, the weights that prefix's slot indices count, slot names): one group,
    # or one per inner optimizer of a MultiOptimizer
    groups = opt._state_groups(model.trainable_weights)
    for k, v in state.items():
        if k == "iterations":
            continue
        prefix, params, names = next(((p, ps, ns) for p, ps, ns in groups
                                      if k.startswith(p)), ("", [], ()))
        key = k[len(prefix):]
        if key == "iterations" and prefix:
            continue
        if "/" not in key:
            if np.shape(v) != () or not np.isfinite(v):
                raise ModelFileError(f"{path}: optimizer state {k!r} must be a finite scalar")
            continue
        i, name = key.split("/", 1)
        if not i.isdigit() or int(i) >= len(params) or name not in names:
            raise ModelFileError(f"{path}: optimizer state has an unknown slot {k!r} (the "
                                 f"model has {len(params)} trainable weights, slots "
                                 f"{sorted(names)})")
        want = tuple(params[int(i)].shape)
        if tuple(v.shape) != want:
            raise ModelFileError(f"{path}: optimizer slot {k!r} has shape {tuple(v.shape)}; "
                                 f"the weight {params[int(i)].name} has shape {want}")


def save_weights(model: Model, path: PathArg, overwrite: bool = True) -> None:
    """Write only the weights (any model, subclassed ones included) to ``path``."""
    save_model(model, path, weights_only=True, overwrite=overwrite)


def load_weights(model: Model, path: PathArg, *, limits: dict[str, int] | None = None) -> None:
    """Set ``model``'s weights from a file written by ``save_weights`` or ``save``."""
    from ..interop import keras_format

    fmt = keras_format(path)
    if fmt:  # Keras 3 .weights.h5 / .keras, legacy .h5 (glassnet.interop)
        from ..interop import load_weights as load_keras_weights

        return load_keras_weights(model, path, fmt)
    config, weights, _ = _read_zip(path, limits=limits)
    _set_weights_in_file_order(model, weights, config["version"], path)
