"""Layer configs between Keras 3 (and Keras 2) JSON and glassnet, through fixed tables only.

Nothing a file names is imported or evaluated: a class name is looked up in glassnet's
``LAYER_CLASSES`` table; ``Lambda`` layers, custom objects (a ``module`` outside Keras, a
``registered_name`` such as ``"my_pkg>MyLayer"``) and serialized functions are refused with
:class:`~glassnet.models.saving.ModelFileError` naming the layer.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..models.saving import ModelFileError

if TYPE_CHECKING:
    from ..layers.base import Layer

# Keras arguments glassnet has no counterpart for, and the values at which leaving them out
# changes nothing (ANY: never changes inference); a constraint left at None is glassnet's
# default too (another value travels as a keras.constraints object)
ANY: Any = object()
_BENIGN: dict[str, Any] = {
    "data_format": ("channels_last",), "groups": (1,), "unroll": (False,),
    "zero_output_for_mask": ANY, "seed": ANY, "quantization_config": (None,),
    "kernel_constraint": (None,), "bias_constraint": (None,),
    "recurrent_constraint": (None,), "beta_constraint": (None,),
    "gamma_constraint": (None,), "embeddings_constraint": (None,),
    "alpha_constraint": (None,), "activity_regularizer": (None,), "lora_rank": (None,),
    "lora_alpha": (None,), "synchronized": (False,), "renorm": (False,),
    "renorm_clipping": (None,), "renorm_momentum": ANY, "use_cudnn": ANY,
    "sparse": (False, None), "ragged": (False, None), "optional": (False,),
    "rms_scaling": (False,), "noise_shape": (None,), "time_major": (False,),
    "implementation": ANY, "autocast": ANY, "input_length": ANY, "weights": (None,),
    "sliding_window": (None,), "use_gate": (False,),
}
# glassnet-only arguments Keras does not take, dropped when writing a Keras file
_GLASSNET_ONLY = {"Embedding": ("input_length",)}

# layers that carry code: refused by name, whatever the module says
_CODE_LAYERS = ("Lambda", "TFOpLambda", "SlicingOpLambda", "function", "__lambda__")
# glassnet layers with no Keras counterpart: they cannot go into a file Keras opens
NOT_IN_KERAS = ("JordanRNN", "Maxout")
MAX_INT_ARG = 1 << 24  # a larger integer hyperparameter is not a real model


# Keras classes whose files hold the name Keras exports, not the class's own
_KERAS_EXPORT = {"GroupedQueryAttention": "GroupQueryAttention"}
_KERAS_CLASS = {v: k for k, v in _KERAS_EXPORT.items()}


def group_name(class_name: str) -> str:
    """The weight group Keras names a layer of file class ``class_name`` by: the snake
    case of its Python class's name (``GroupQueryAttention`` is ``GroupedQueryAttention``)."""
    return snake(_KERAS_CLASS.get(class_name, class_name))


def snake(name: str) -> str:
    """Keras's ``to_snake_case`` (the name of a layer's weight group in ``.keras`` files)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _check_object(spec: dict, where: str) -> str:
    """Validate a serialized Keras object's class/module; returns its class name."""
    cls = spec.get("class_name")
    if not isinstance(cls, str):
        raise ModelFileError(f"{where}: class_name must be a string. Received: {cls!r}")
    if _custom_layer(spec) is not None:
        return cls
    if cls in _CODE_LAYERS:
        raise ModelFileError(
            f"{where}: a {cls!r} object holds Python code; glassnet never runs code from a "
            "model file. Rebuild that part with glassnet layers.")
    module = spec.get("module")
    if module is not None and (not isinstance(module, str)
                               or not (module == "keras" or module.startswith("keras."))):
        raise ModelFileError(
            f"{where}: {cls} comes from module {module!r}; only Keras's own classes are "
            "loaded (custom objects would need code from the file's author)")
    reg = spec.get("registered_name")
    if reg is not None and (not isinstance(reg, str) or ">" in reg or "." in reg
                            or reg not in (cls, "Functional", "Sequential")):
        raise ModelFileError(
            f"{where}: {cls} is registered as {reg!r}, a custom object; glassnet loads only "
            "Keras's built-in classes")
    return cls


def _plain_object(value: dict, where: str) -> dict[str, Any]:
    """A serialized initializer/regularizer/... as glassnet's ``{"class_name", "config"}``."""
    cls = _check_object(value, where)
    cfg = value.get("config") or {}
    if not isinstance(cfg, dict):
        raise ModelFileError(f"{where}: config of {cls} must be an object. Received: {cfg!r}")
    keep = {k: v for k, v in cfg.items()
            if v is not None and k not in ("input_axes", "output_axes", "name")}
    return {"class_name": cls, "config": keep}


def _custom_layer(spec: dict) -> type | None:
    """The program's own Layer subclass a Keras layer entry names, by its
    ``registered_name`` ("package>name") or its class name: passed as ``custom_objects`` or
    registered (:func:`glassnet.models.saving._custom_layer_class`, the native files' one
    rule). Nothing the file names is imported: only what the program already holds."""
    from ..models.saving import _custom_layer_class

    for name in (spec.get("registered_name"), spec.get("class_name")):
        if isinstance(name, str) and name not in _CODE_LAYERS:
            cls = _custom_layer_class(name)
            if cls is not None:
                return cls
    return None


def _activation(value: object, where: str) -> str | dict | None:
    if isinstance(value, str) or value is None:
        return value
    if isinstance(value, dict) and value.get("class_name") == "function":
        # the program's own function: Keras writes its registered name as the config
        from ..saving import get_registered_object

        for key in (value.get("config"), value.get("registered_name")):
            if isinstance(key, str) and callable(get_registered_object(key)):
                return {"registered_name": key}
    if isinstance(value, dict):
        cls = _check_object(value, where)
        if cls == "function" or not isinstance(value.get("config"), (str, dict)):
            raise ModelFileError(f"{where}: a serialized function; glassnet loads only "
                                 "activations named by string")
        return cls if not isinstance(value.get("config"), str) else value["config"]
    raise ModelFileError(f"{where}: activation must be a name. Received: {value!r}")


def _dtype(value: Any, where: str) -> str | None:
    if isinstance(value, dict):
        _check_object(value, where)
        value = (value.get("config") or {}).get("name")
    if value in (None, "float32"):
        return None
    if value in ("float64", "float16", "int32", "int64", "uint8", "bool"):
        return value
    raise ModelFileError(f"{where}: dtype policy {value!r} is not supported; glassnet runs "
                         "float32 (or float64) layers")


def _check_ints(value: object, where: str, key: str) -> None:
    if isinstance(value, bool):
        return
    if isinstance(value, int) and abs(value) > MAX_INT_ARG:
        raise ModelFileError(f"{where}: argument {key}={value} is implausibly large "
                             f"(limit {MAX_INT_ARG}); refusing to build it")
    if isinstance(value, (list, tuple)):
        for v in value:
            _check_ints(v, where, key)


def keras_to_glassnet(spec: dict, where: str = "layer") -> dict:
    """A Keras layer entry (``{"class_name", "config", ...}``) as glassnet's serialized layer.

    Raises ModelFileError for code-carrying, custom or unknown classes and for Keras
    arguments glassnet cannot honour (naming layer, argument and value).
    """
    from ..layers.base import LAYER_CLASSES

    if not isinstance(spec, dict):
        raise ModelFileError(f"{where}: a layer entry must be an object. Received: "
                             f"{type(spec).__name__}")
    cfg = spec.get("config")
    if isinstance(cfg, dict) and isinstance(cfg.get("name", spec.get("name")), str):
        where = f"layer {cfg.get('name', spec.get('name'))!r}"
    cls = _check_object(spec, where)
    if not isinstance(cfg, dict):
        raise ModelFileError(f"{where}: config of {cls} must be an object")
    where = f"{where} ({cls})"
    if cls in ("Sequential", "Functional", "Model"):
        return {"class_name": cls, "config": cfg}
    own = _custom_layer(spec)
    if own is not None:  # the program's own layer class: its config as it wrote it, less
        # what Keras adds for its own built-in bases and glassnet's take no part in
        out_own = {k: v for k, v in cfg.items() if k != "dtype" and not (
            k in _BENIGN and (_BENIGN[k] is ANY or v in _BENIGN[k]))}
        for k, v in out_own.items():  # its built-in base's initializers, regularizers, ...
            if isinstance(v, dict) and "class_name" in v and k.endswith(
                    ("initializer", "regularizer", "constraint")):
                out_own[k] = _plain_object(v, f"{where}.{k}")
        dt = _dtype(cfg.get("dtype"), where)
        if dt is not None:
            out_own["dtype"] = dt
        for key in ("activation", "recurrent_activation"):
            if key in out_own:
                out_own[key] = _activation(out_own[key], where)
        return {"class_name": cls, "config": out_own, "own": own}
    cls = _KERAS_CLASS.get(cls, cls)  # the exported name a file holds -> the class's
    if cls not in LAYER_CLASSES or cls in NOT_IN_KERAS:
        supported = sorted(set(LAYER_CLASSES) - set(NOT_IN_KERAS))
        raise ModelFileError(f"{where}: glassnet has no layer {cls!r}. Supported Keras "
                             f"layers: {', '.join(supported)}")
    out = {}
    for key, value in cfg.items():
        rule = _BENIGN.get(key)
        if rule is not None and (rule is ANY or value in rule):
            continue
        _check_ints(value, where, key)
        if key == "dtype":
            value = _dtype(value, where)
            if value is None:
                continue
        elif key in ("activation", "recurrent_activation"):
            value = _activation(value, where)
        elif key in ("layer", "backward_layer", "cell") and isinstance(value, dict):
            value = keras_to_glassnet(value, f"{where}.{key}")
        elif key == "cells" and isinstance(value, list):
            value = [keras_to_glassnet(v, f"{where}.cells") for v in value]
        elif key == "batch_input_shape" and cls != "InputLayer":
            key, value = "input_shape", list(value)[1:]
        elif key == "batch_input_shape":
            key = "batch_shape"
        elif isinstance(value, dict) and "class_name" in value:
            value = _plain_object(value, f"{where}.{key}")
        elif isinstance(value, dict):
            raise ModelFileError(f"{where}: argument {key} is an object glassnet cannot "
                                 f"read: {str(value)[:80]}")
        out[key] = value
    if cls == "InputLayer":
        out.pop("trainable", None)
    return {"class_name": cls, "config": out}


def build_layer(spec: dict, where: str = "layer") -> Layer:
    """Construct a glassnet layer (unbuilt) from a Keras layer entry."""
    from ..layers.base import get_layer_class

    g = keras_to_glassnet(spec, where)
    cls: Any = g.get("own") or get_layer_class(g["class_name"])
    try:
        layer = cls.from_config(dict(g["config"]))
        # a layer of your own whose build needs more than a shape builds itself now, from
        # what its get_build_config wrote (Keras's build_from_config)
        if g.get("own") is not None and _overrides(layer, "build_from_config") \
                and isinstance(spec.get("build_config"), dict):
            layer.build_from_config(spec["build_config"])
        return layer
    except (TypeError, ValueError, KeyError) as e:
        name = g["config"].get("name", "?")
        raise ModelFileError(f"layer {name!r} ({g['class_name']}): glassnet cannot build it "
                             f"from this Keras config: {e}") from None


# ---------------------------------------------------------------- glassnet -> Keras
def _keras_object(obj: dict, module: str) -> dict:
    return {"module": module, "class_name": obj["class_name"],
            "config": dict(obj.get("config") or {}), "registered_name": None}


def _keras_activation(value: Any) -> Any:
    """A registered function's ``{"registered_name"}`` as Keras writes a function."""
    if isinstance(value, dict) and set(value) == {"registered_name"}:
        key = value["registered_name"]
        return {"module": "builtins", "class_name": "function", "config": key,
                "registered_name": "function"}  # as Keras 3 writes a registered function
    return value


def glassnet_to_keras(layer: Any) -> dict:
    """A glassnet layer as the entry Keras 3 writes in ``config.json`` (without graph links)."""
    from ..layers.base import LAYER_CLASSES
    from ..saving import _registered_key

    cls = type(layer).__name__
    own = LAYER_CLASSES.get(cls) is not type(layer)
    if own:  # a layer class of the program's own
        cfg = dict(layer.get_config())
        cfg["dtype"] = {"module": "keras", "class_name": "DTypePolicy",
                        "config": {"name": cfg.get("dtype") or "float32"},
                        "registered_name": None}
        for key in ("activation", "recurrent_activation"):
            if key in cfg:
                cfg[key] = _keras_activation(cfg[key])
        entry: dict[str, Any] = {"module": type(layer).__module__, "class_name": cls,
                                 "config": cfg,
                                 "registered_name": _registered_key(type(layer)) or cls}
        build = layer.get_build_config()  # its own hook where it has one (Keras writes it)
        if build is not None:
            entry["build_config"] = build
        return entry
    if cls in NOT_IN_KERAS:
        raise ValueError(f"layer {layer.name!r} ({cls}) has no Keras counterpart, so a file "
                         "Keras opens cannot hold it; save to .glassnet instead")
    cfg = dict(layer.get_config())
    cfg.pop("input_shape", None)
    if cfg.get("trainable") is True:  # the default; some Keras layers (SpatialDropout,
        del cfg["trainable"]          # Discretization) reject the `trainable` they write
    for k in _GLASSNET_ONLY.get(cls, ()):
        cfg.pop(k, None)
    dt = cfg.pop("dtype", None) or "float32"
    cfg["dtype"] = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": dt},
                    "registered_name": None}
    for key, value in list(cfg.items()):
        if key.endswith("initializer") and isinstance(value, dict):
            cfg[key] = _keras_object(value, "keras.initializers")
        elif key.endswith("regularizer") and isinstance(value, dict):
            cfg[key] = _keras_object(value, "keras.regularizers")
        elif key.endswith("constraint") and isinstance(value, dict):
            cfg[key] = _keras_object(value, "keras.constraints")
        elif key in ("layer", "backward_layer", "cell"):
            sub = getattr(layer, "forward_layer" if key == "layer" and cls == "Bidirectional"
                          else key)
            cfg[key] = glassnet_to_keras(sub)
        elif key == "cells":
            cfg[key] = [glassnet_to_keras(c) for c in layer.cells]
        elif key in ("activation", "recurrent_activation"):
            cfg[key] = _keras_activation(value)
    if cls == "InputLayer":
        cfg.pop("dtype", None)
        cfg.pop("trainable", None)
        cfg.pop("shape", None)
        cfg.pop("batch_size", None)
        cfg["batch_shape"] = list(layer.shape)
    # the name Keras exports (and its files hold) where it is not the class's own
    entry = {"module": "keras.layers", "class_name": _KERAS_EXPORT.get(cls, cls),
             "config": cfg, "registered_name": None}
    shape = layer.input_shape_built
    if cls in ("MultiHeadAttention", "GroupedQueryAttention") and isinstance(shape, list):
        names = ("query_shape", "value_shape", "key_shape")
        entry["build_config"] = {"shapes_dict": {n: list(s) for n, s in zip(names, shape)}}
    elif cls != "InputLayer" and shape is not None:
        entry["build_config"] = {"input_shape": list(shape) if not isinstance(shape, list)
                                 else [list(s) for s in shape]}
    return entry


def _overrides(obj: Any, hook: str) -> bool:
    """Whether ``obj``'s class defines its own ``hook`` (Keras's saving hooks), instead of
    the one every layer has."""
    from ..layers._file_hooks import FileHooks

    return getattr(type(obj), hook, None) is not getattr(FileHooks, hook)
