"""Models from Keras configs (Sequential, Functional) and the weight-group paths Keras uses.

Layers are constructed unbuilt first; each gets a guard on ``add_weight`` that compares every
weight shape its config implies with the array the file holds *before* the weight is
allocated, so a config declaring a 10⁵×10⁵ kernel is refused without allocating it.
"""

from __future__ import annotations

from collections.abc import Callable
from math import prod
from typing import TYPE_CHECKING, Any

from ..layers.attention import MultiHeadAttention as _MHA
from ..models.saving import ModelFileError
from ._keras_config import build_layer, glassnet_to_keras, group_name, snake

if TYPE_CHECKING:
    from ..layers.base import Layer
    from ..models import Model

    # guard(layer, groups): installs the pre-allocation checks, returns the objects changed
    _Guard = Callable[[Layer, list], list]

MAX_INPUT_ELEMENTS = 1 << 24  # one sample's declared input size (the build trace allocates it)
_RNN = ("LSTM", "GRU", "SimpleRNN")


# ---------------------------------------------------------------- weight groups
class _Part:
    """The weights of one sublayer Keras keeps apart (MultiHeadAttention's query_dense, ...)
    that glassnet keeps in the layer itself: those named ``<layer>/<part>/<weight>``."""

    def __init__(self, owner: Layer, part: str) -> None:
        self.owner, self.part = owner, part

    @property
    def name(self) -> str:
        return f"{self.owner.name}/{self.part}"

    @property
    def _weights(self) -> list:
        return [w for w in self.owner._weights
                if w.name.split("/")[-2:-1] == [self.part]]  # type: ignore[union-attr]  # weights are named

    def _file_weights(self) -> list:
        return self._weights


_PARTS = {"MultiHeadAttention": (("query_dense", "query"), ("key_dense", "key"),
                                 ("value_dense", "value"),
                                 ("output_dense", "attention_output")),
          # Keras keeps GQA's attribute names, underscores included
          "GroupedQueryAttention": (("_query_dense", "query"), ("_key_dense", "key"),
                                    ("_gate_dense", "gate"), ("_value_dense", "value"),
                                    ("_output_dense", "attention_output"))}


def var_groups(layer: Any, prefix: str) -> list:
    """``[(h5 group path, object owning weights)]`` for ``layer`` at ``prefix``, Keras's way."""
    cls = type(layer).__name__
    if cls in _RNN:
        return [(f"{prefix}/cell/vars", layer)]
    if cls in _PARTS:  # weights created in this order: each part's kernel (and bias)
        return [(f"{prefix}/{path}/vars", _Part(layer, part)) for path, part in _PARTS[cls]
                if part != "gate" or layer.use_gate]  # GQA's gate only where it has one
    if cls == "Bidirectional":
        return (var_groups(layer.forward_layer, f"{prefix}/forward_layer")
                + var_groups(layer.backward_layer, f"{prefix}/backward_layer"))
    if cls == "TimeDistributed":
        return [(f"{prefix}/vars", layer)] + var_groups(layer.layer, f"{prefix}/layer")
    if cls == "RNN" or cls.startswith("ConvLSTM") and not cls.endswith("Cell"):
        return [(f"{prefix}/vars", layer)] + var_groups(layer.cell, f"{prefix}/cell")
    if cls == "StackedRNNCells":
        return [(f"{prefix}/vars", layer)] + model_groups(None, layer.cells, f"{prefix}",
                                                          "cells")[1:]
    if cls in ("Sequential", "Functional"):
        return model_groups(layer, keras_layer_order(layer), prefix)
    from ..layers.base import LAYER_CLASSES

    if LAYER_CLASSES.get(cls) is not type(layer):
        # a layer of the program's own class: its sublayers by attribute, as Keras walks
        # them (keras.io's PatchEncoder: patch_encoder/projection/vars)
        from ._keras_subclassed import attr_groups

        return attr_groups(layer, prefix)
    return [(f"{prefix}/vars", layer)]


def model_groups(model: Layer | None, layers: list, prefix: str = "", attr: str = "layers") -> list:
    """Groups of a model whose layers, in Keras's ``model.layers`` order, are ``layers``
    (Keras names each ``<attr>/<snake class name>[_n]``)."""
    out = [(f"{prefix}/vars" if prefix else "vars", model)]
    used: dict[str, int] = {}
    for ly in layers:
        base = snake(type(ly).__name__)
        if base in used:
            used[base] += 1
            base = f"{base}_{used[base]}"
        else:
            used[base] = 0
        out += var_groups(ly, f"{prefix}/{attr}/{base}" if prefix else f"{attr}/{base}")
    return out


def keras_layer_order(model: Any) -> list:
    """The order Keras gives ``model.layers``: glassnet's own (Sequential: as added;
    Functional: Keras's graph walk, ``models.functional._keras_layer_order``)."""
    return list(model.layers)


# ---------------------------------------------------------------- guards
def install_guards(groups: list, shapes: dict) -> list:
    """Make each owner check weight shapes against ``shapes[path]`` before allocating;
    returns the guarded objects (for :func:`remove_guards`)."""
    wants: dict[int, list] = {}
    owners: dict[int, Any] = {}
    for path, obj in groups:  # parts of one layer: their arrays in creation order
        owner = obj.owner if isinstance(obj, _Part) else obj
        owners[id(owner)] = owner
        wants.setdefault(id(owner), []).extend(shapes.get(path, []))
    for key, obj in owners.items():
        want, path = wants[key], obj.name
        orig = obj.add_weight
        count = [0]

        def add_weight(name: Any = None, shape: Any = None, *a: Any, _obj: Any = obj,
                       _want: list = want, _orig: Callable[..., Any] = orig,
                       _n: list[int] = count, _path: str = path, **kw: Any) -> Any:
            k = _n[0]
            _n[0] += 1
            if name is not None and not isinstance(name, str):  # Keras 3's (shape, ...)
                name, shape, a = None, name, ((shape, *a) if shape is not None else a)
            got = tuple(int(s) for s in (shape if shape is not None else ()))
            if k >= len(_want):
                raise ModelFileError(f"layer {_obj.name!r}: its config creates weight "
                                     f"{name!r} {got}, the file holds only {len(_want)} "
                                     f"array(s) at {_path}")
            if got != tuple(_want[k]):
                raise ModelFileError(f"layer {_obj.name!r}: weight {name!r} has shape {got} "
                                     f"by its config, the file holds {tuple(_want[k])} at "
                                     f"{_path}/{k}")
            return _orig(name, shape, *a, **kw)

        obj.add_weight = add_weight
    return list(owners.values())


def remove_guards(objects: list) -> None:
    for obj in objects:
        obj.__dict__.pop("add_weight", None)
        obj.__dict__.pop("call", None)


def guard_activations(layer: Layer) -> list:
    """Before each call of the build pass, a layer that can say its output shape says it,
    and an output over MAX_INPUT_ELEMENTS values per sample is refused before it is made
    (``UpSampling1D(size=10**7)``, ``RepeatVector(10**8)`` in a weightless layer)."""
    from ..layers.base import Layer
    from ..tensor import Tensor

    out, stack = [], [layer]
    while stack:
        obj = stack.pop()
        stack.extend(obj._sublayers())
        repeat = type(obj).__name__ == "RepeatVector"  # (B, F) -> (B, n, F)
        if "call" in vars(obj) or (
                type(obj).compute_output_shape is Layer.compute_output_shape and not repeat):
            continue
        call = obj.call

        def guarded(x: Any, *args: Any, _obj: Any = obj, _call: Callable[..., Any] = call,
                    **kwargs: Any) -> Any:
            if isinstance(x, Tensor):
                try:
                    shape = ((x.shape[0], int(_obj.n), *x.shape[1:]) if
                             type(_obj).__name__ == "RepeatVector" else
                             _obj.compute_output_shape(tuple(x.shape)))
                except Exception:  # noqa: BLE001 - no shape known: the call decides
                    shape = None
                if isinstance(shape, tuple) and all(isinstance(d, int) or d is None
                                                    for d in shape):
                    if prod(d or 1 for d in shape[1:]) > MAX_INPUT_ELEMENTS:
                        raise ModelFileError(
                            f"layer {_obj.name!r} would produce an output of shape {shape}, "
                            f"over {MAX_INPUT_ELEMENTS} values per sample; refused")
            return _call(x, *args, **kwargs)

        obj.call = guarded  # type: ignore[method-assign,assignment]  # per-instance build guard
        out.append(obj)
    return out


def _check_input_shape(shape: object, where: str) -> None:
    if not isinstance(shape, (list, tuple)) or not all(
            s is None or (isinstance(s, int) and s >= 0) for s in shape):
        raise ModelFileError(f"{where}: input shape must be a list of sizes. Received: "
                             f"{shape!r}")
    if prod(int(s) for s in shape[1:] if s is not None) > MAX_INPUT_ELEMENTS:
        raise ModelFileError(f"{where}: declared input shape {list(shape)} is implausibly "
                             f"large (over {MAX_INPUT_ELEMENTS} values per sample)")


# ---------------------------------------------------------------- building
def build_model(spec: dict, shapes: dict, prefix: str = "", where: str = "model",
                guard: _Guard | None = None) -> tuple[Model, list]:
    """A built glassnet model from a Keras model entry; returns (model, weight groups).

    ``guard(layer, groups)`` installs the pre-allocation shape checks on a new layer and
    returns the objects it changed (default: :func:`install_guards` on ``shapes``).
    """
    if guard is None:
        def guard(layer: Layer, groups: list) -> list:
            return install_guards(groups, shapes)
    cls = spec.get("class_name")
    cfg = spec.get("config")
    if cls not in ("Sequential", "Functional", "Model"):
        from ._keras_subclassed import build_subclassed

        return build_subclassed(spec, where)
    if not isinstance(cfg, dict) or not isinstance(cfg.get("layers"), list):
        raise ModelFileError(f"{where}: a {cls} config needs a list of layers")
    if cls == "Sequential":
        return _sequential(spec, cfg, shapes, prefix, guard)
    return _functional(cfg, shapes, prefix, guard)


def _layer_or_model(entry: dict, shapes: dict, prefix: str, guard: _Guard,
                    guarded: list) -> tuple[Layer, list]:
    if isinstance(entry, dict) and entry.get("class_name") in ("Sequential", "Functional"):
        from ._keras_config import _check_object

        _check_object(entry, "nested model")
        return build_model(entry, shapes, prefix, "nested model", guard)
    ly = build_layer(entry)
    groups = var_groups(ly, prefix)
    owners = {id(o.owner if isinstance(o, _Part) else o) for _, o in groups}
    stack, unmapped = [ly], []
    while stack:  # a sublayer with no place in Keras's layout may create no weight at all
        obj = stack.pop()
        if id(obj) not in owners:
            unmapped.append((f"{prefix}/<{type(obj).__name__} {obj.name}>", obj))
        stack.extend(obj._sublayers())
    guarded += guard(ly, groups + unmapped)
    guarded += guard_activations(ly)
    return ly, groups


def _sequential(spec: dict, cfg: dict, shapes: dict, prefix: str,
                guard: _Guard) -> tuple[Model, list]:
    from ..layers.core import InputLayer
    from ..models.model import Sequential

    entries = cfg["layers"]
    used: dict[str, int]
    guarded: list
    layers, groups, used, guarded = [], [], {}, []
    for e in entries:
        if isinstance(e, dict) and e.get("class_name") == "InputLayer":
            ly = build_layer(e)
            _check_input_shape(list(ly.shape),  # type: ignore[attr-defined]  # an InputLayer
                               f"layer {ly.name!r}")
            layers.append(ly)
            continue
        base = group_name(str(e.get("class_name")) if isinstance(e, dict) else "")
        used[base] = used.get(base, -1) + 1
        name = base if used[base] == 0 else f"{base}_{used[base]}"
        path = f"{prefix}/layers/{name}" if prefix else f"layers/{name}"
        ly, g = _layer_or_model(e, shapes, path, guard, guarded)
        layers.append(ly)
        groups += g
    shape = cfg.get("build_input_shape") or (spec.get("build_config") or {}).get("input_shape")
    try:
        if layers and not isinstance(layers[0], InputLayer) and shape:
            _check_input_shape(shape, "Sequential build_input_shape")
            layers.insert(0, InputLayer(batch_shape=tuple(shape)))
        for ly in layers[1:]:
            if isinstance(ly, InputLayer):
                raise ModelFileError("Sequential: an InputLayer after the first layer")
        model = Sequential(layers, name=cfg.get("name"))
    except ModelFileError:
        raise
    except (ValueError, TypeError, KeyError, IndexError) as e:
        raise ModelFileError(f"Sequential model: glassnet cannot build it ({e})") from None
    finally:
        remove_guards(guarded)
    if not model.built:
        raise ModelFileError("Sequential model: the file declares no input shape")
    return model, [(f"{prefix}/vars" if prefix else "vars", model)] + groups


Ref = tuple[str, int, int]  # (layer name, call index, output index) of a Keras tensor


def _history(t: Any, where: str) -> Ref:
    """(layer name, call, output) of a serialized Keras tensor (Keras 3 or Keras 2 form)."""
    if isinstance(t, dict) and t.get("class_name") == "__keras_tensor__":
        t = (t.get("config") or {}).get("keras_history")
    if (not isinstance(t, (list, tuple)) or len(t) < 3 or not isinstance(t[0], str)
            or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
                       for v in t[1:3])):
        raise ModelFileError(f"{where}: an input reference must be [layer, node, tensor]. "
                             f"Received: {str(t)[:80]}")
    return t[0], int(t[1]), int(t[2])


def _is_tensor(v: object) -> bool:
    return isinstance(v, dict) and v.get("class_name") == "__keras_tensor__"


def _node_args(node: object, where: str
               ) -> tuple[list[Ref], bool, dict[str, tuple], dict[str, Any]]:
    """(positional [(layer, call, output)], is_list_call, tensor keyword arguments
    ``{name: ([refs], given as a list)}``, the other options ``{name: bool, number or
    string}``, e.g. ``use_causal_mask=True``) of one inbound node entry."""
    options: dict[str, Any] = {}
    if isinstance(node, dict):  # Keras 3: {"args": [...], "kwargs": {...}}
        args, kwargs = node.get("args") or [], node.get("kwargs") or {}
        if not isinstance(kwargs, dict):
            raise ModelFileError(f"{where}: malformed call keyword arguments")
        tensors: dict[str, tuple] = {}
        for k, v in kwargs.items():
            many = isinstance(v, list)
            vs = v if many else [v]
            if vs and all(_is_tensor(t) for t in vs):  # initial_state=[h, c], a mask ...
                tensors[str(k)] = ([_history(t, where) for t in vs], many)
            elif k == "training" or v is None:
                continue
            elif isinstance(v, (bool, int, float, str)):  # use_causal_mask=True, ...
                options[str(k)] = v  # data the layer's call checks, never code
            else:
                raise ModelFileError(f"{where}: call arguments glassnet cannot replay: "
                                     f"{str({k: v})[:120]}")
        if not args:
            raise ModelFileError(f"{where}: call arguments glassnet cannot replay: "
                                 f"{str(node)[:120]}")
        if len(args) > 1:  # layer(query, value[, key]): glassnet records one list call
            return [_history(t, where) for t in args], True, tensors, options
        a = args[0]
        if isinstance(a, list):
            return [_history(t, where) for t in a], True, tensors, options
        return [_history(a, where)], False, tensors, options
    if isinstance(node, list):  # Keras 2: [[name, node, tensor, kwargs], ...]
        refs = [_history(t, where) for t in node]
        return refs, len(refs) > 1, {}, options
    raise ModelFileError(f"{where}: malformed inbound node {str(node)[:80]}")


def _refs(v: object, where: str) -> tuple[list[Ref], bool, list[str] | None]:
    """Input/output layer references: one [name, node, tensor], a list of them, or a dict
    of them (a model built on a dict of inputs or outputs; its keys come back third)."""
    if isinstance(v, dict):
        if not v or not all(isinstance(k, str) for k in v):
            raise ModelFileError(f"{where}: a dict must map names to [layer, node, tensor]")
        return [_history(t, where) for t in v.values()], False, list(v)
    if isinstance(v, list) and v and isinstance(v[0], str):
        return [_history(v, where)], True, None
    if not isinstance(v, list) or not v:
        raise ModelFileError(f"{where}: must list [layer, node, tensor] references")
    return [_history(t, where) for t in v], len(v) == 1, None


def _output(values: dict, r: Ref) -> Any:
    """The graph tensor a reference names: output ``r[2]`` of call ``r[1]`` of layer
    ``r[0]``."""
    v = values[r[:2]]
    if isinstance(v, list):
        if r[2] >= len(v):
            raise ModelFileError(f"Functional model: layer {r[0]!r} has {len(v)} outputs; "
                                 f"the file uses output {r[2]}")
        return v[r[2]]
    if r[2] != 0:
        raise ModelFileError(f"Functional model: layer {r[0]!r} has one output; the file "
                             f"uses output {r[2]}")
    return v


def _functional(cfg: dict, shapes: dict, prefix: str,
                guard: _Guard) -> tuple[Model, list]:
    from ..layers.core import InputLayer
    from ..models.functional import Functional, call_symbolic

    used: dict[str, int]
    guarded: list
    layers, groups, pending, used, guarded = {}, [], [], {}, []
    for e in cfg["layers"]:
        if not isinstance(e, dict):
            raise ModelFileError("Functional model: a layer entry must be an object")
        base = group_name(str(e.get("class_name")))
        used[base] = used.get(base, -1) + 1
        name = base if used[base] == 0 else f"{base}_{used[base]}"
        path = f"{prefix}/layers/{name}" if prefix else f"layers/{name}"
        ly, g = _layer_or_model(e, shapes, path, guard, guarded)
        if (isinstance(e.get("name"), str) and isinstance(e.get("config"), dict)
                and "name" not in e["config"]):  # a config of the user's own, without it
            ly.name = e["name"]
        groups += g
        if ly.name in layers:
            raise ModelFileError(f"Functional model: layer name {ly.name!r} is used twice")
        layers[ly.name] = ly
        if isinstance(ly, InputLayer):
            _check_input_shape(list(ly.shape), f"layer {ly.name!r}")
        nodes = e.get("inbound_nodes") or []
        if not isinstance(nodes, list):
            raise ModelFileError(f"layer {ly.name!r}: inbound_nodes must be a list")
        for i, nd in enumerate(nodes):
            refs, list_call, kw, options = _node_args(nd, f"layer {ly.name!r}")
            every = refs + [r for rs, _ in kw.values() for r in rs]
            pending.append((ly, i, refs, list_call, kw, every, options))
    values: dict[tuple[str, int], Any] = {(n, 0): ly for n, ly in layers.items()
                                          if isinstance(ly, InputLayer)}
    try:
        while pending:
            rest = []
            for p in pending:
                ly, i, refs, list_call, kw, every, options = p
                if not all(r[:2] in values for r in every):
                    rest.append(p)
                    continue
                args = [_output(values, r) for r in refs]
                kwargs = {k: ([_output(values, r) for r in rs] if many
                              else _output(values, rs[0])) for k, (rs, many) in kw.items()}
                try:
                    values[(ly.name, i)] = call_symbolic(ly, args if list_call else args[0],
                                                         **kwargs, **options)
                except TypeError as e:  # an option this layer's call does not take
                    raise ModelFileError(f"layer {ly.name!r}: call arguments glassnet "
                                         f"cannot replay: {options}: {e}") from None
            if len(rest) == len(pending):
                missing = sorted({r[0] for p in rest for r in p[5] if r[:2] not in values})
                raise ModelFileError(f"Functional model: the graph refers to missing or "
                                     f"circular layer outputs: {missing[:5]}")
            pending = rest
        ins, single_in, in_keys = _refs(cfg.get("input_layers"), "input_layers")
        outs, single_out, out_keys = _refs(cfg.get("output_layers"), "output_layers")
        for r in ins + outs:
            if r[:2] not in values:
                raise ModelFileError(f"Functional model: unknown layer output {r}")
        xi: Any = [_output(values, r) for r in ins]
        xo: Any = [_output(values, r) for r in outs]
        xi = dict(zip(in_keys, xi)) if in_keys else xi[0] if single_in else xi
        xo = dict(zip(out_keys, xo)) if out_keys else xo[0] if single_out else xo
        model = Functional(xi, xo, name=cfg.get("name"))
    except ModelFileError:
        raise
    except (ValueError, TypeError, KeyError, IndexError) as e:
        raise ModelFileError(f"Functional model: glassnet cannot build it ({e})") from None
    finally:
        remove_guards(guarded)
    return model, [(f"{prefix}/vars" if prefix else "vars", model)] + groups


# ---------------------------------------------------------------- glassnet -> Keras config
def model_config(model: Any) -> dict:
    """The ``config.json`` model entry Keras 3 writes for ``model`` (Sequential/Functional)."""
    cls = type(model).__name__
    if cls == "Autoencoder":  # Keras has no Autoencoder: the encoder then the decoder
        from ..models.model import Sequential

        return model_config(Sequential([model.encoder, model.decoder], name=model.name))
    if cls == "Sequential":
        from ..layers.core import InputLayer

        entries, own = [], list(model._layers)
        shape = model.input_shape
        if own and not isinstance(own[0], InputLayer):
            if shape is None:
                raise ValueError(f"Sequential '{model.name}': build the model (or give the "
                                 "first layer input_shape) before saving it as .keras")
            taken = {ly.name for ly in own}
            name = next(n for n in ("input_layer", *(f"input_layer_{i}" for i in range(1, 99)))
                        if n not in taken)
            entries.append({"module": "keras.layers", "class_name": "InputLayer",
                            "config": {"batch_shape": list(shape), "dtype": "float32",
                                       "sparse": False, "name": name},
                            "registered_name": None})
        entries += [_entry(ly) for ly in own]
        cfg = {"name": model.name, "trainable": model.trainable, "layers": entries}
        if shape is not None:
            cfg["build_input_shape"] = list(shape)
        return {"module": "keras", "class_name": "Sequential", "config": cfg,
                "registered_name": None,
                "build_config": {"input_shape": None if shape is None else list(shape)}}
    if cls == "Functional":
        return {"module": "keras.src.models.functional", "class_name": "Functional",
                "config": _functional_config(model), "registered_name": "Functional",
                "build_config": {"input_shape": None}}
    from ..saving import _registered_key

    if _registered_key(type(model)) is None:
        raise ValueError(f"model {model.name!r} ({cls}): a subclassed model is written to a "
                         "Keras file by its registered name; decorate the class with "
                         "@register_keras_serializable() (and give it get_config)")
    if model.input_shape_built is None:
        raise ValueError(f"model {model.name!r} ({cls}): call the model on data before "
                         "saving it as .keras (its weights do not exist yet)")
    return glassnet_to_keras(model)


def _entry(ly: Layer) -> dict:
    if type(ly).__name__ in ("Sequential", "Functional"):
        return model_config(ly)
    return glassnet_to_keras(ly)


def _functional_config(model: Any) -> dict:
    order = keras_layer_order(model)
    node_ids: dict[int, tuple] = {}  # id(call node) -> (layer name, call index)
    per_layer: dict[int, list] = {}
    for n in model._nodes:
        if n.index is not None:  # one output of a multi-output call: [layer, call, output]
            continue
        lst = per_layer.setdefault(id(n.layer), [])
        node_ids[id(n)] = (n.layer.name, len(lst))
        lst.append(n)

    def history(p: Any) -> list:
        call, k = (p.inbound[0], p.index) if p.index is not None else (p, 0)
        return [*node_ids[id(call)], k]

    def tensor(p: Any) -> dict:
        return {"class_name": "__keras_tensor__",
                "config": {"shape": list(p.shape), "dtype": "float32",
                           "keras_history": history(p)}}

    entries = []
    for ly in order:
        e = _entry(ly)
        e["name"] = ly.name
        e["inbound_nodes"] = []
        for n in per_layer.get(id(ly), []):
            if not n.inbound:
                continue
            # the positional inputs, then graph tensors passed by keyword (initial_state)
            split = n.tensor_kwargs[0][1] if n.tensor_kwargs else len(n.inbound)
            args = [tensor(p) for p in n.inbound[:split]]
            call: list
            if isinstance(ly, _MHA):  # Keras: mha(query, value[, key]), GQA too
                call = args
            else:
                call = [args if n.list_call else args[0]]
            kwargs: dict[str, Any] = dict(n.kwargs)
            for name, a, k, many in n.tensor_kwargs:
                ts = [tensor(p) for p in n.inbound[a:a + k]]
                kwargs[name] = ts if many else ts[0]
            e["inbound_nodes"].append({"args": call, "kwargs": kwargs})
        entries.append(e)

    def refs(nodes: list, single: bool, keys: list[str] | None) -> Any:
        r = [history(n) for n in nodes]
        return dict(zip(keys, r)) if keys else r[0] if single else r

    return {"name": model.name, "trainable": model.trainable, "layers": entries,
            "input_layers": refs(model._inputs, model._single_input, model._input_keys),
            "output_layers": refs(model._outputs, model._single_output, model._output_keys)}
