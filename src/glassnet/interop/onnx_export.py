"""ONNX export: ``model.export("m.onnx", format="onnx")``, built with the ``onnx`` package.

The graph runs glassnet's inference (dropout, noise and augmentation are the identity,
BatchNormalization uses its moving statistics) at opset 17, with a dynamic batch axis. Each
layer is converted while glassnet itself runs it on a small probe batch, so every ONNX
tensor's shape is known and the export can be checked against ``predict``.

Example:
    >>> model.export("churn.onnx", format="onnx")                  # doctest: +SKIP
    >>> import onnxruntime as ort
    >>> ort.InferenceSession("churn.onnx").run(None, {"input": x})  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, DTypeLike

    from ..layers.base import Layer
    from ..models import Model, Sequential

__all__ = ["export_onnx", "OPSET"]

OPSET = 17
_PROBE = 2  # probe batch; the ONNX batch axis is symbolic ("batch")
_INT_INPUT = ("Embedding", "CategoryEncoding")  # layers that take integer ids


def _onnx() -> tuple[Any, Any, Any]:
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError:
        raise ImportError("ONNX export needs the onnx package: pip install 'glassnet[onnx]'"
                          ) from None
    return onnx, helper, numpy_helper


class Graph:
    """The ONNX graph under construction: nodes, initializers, unique names."""

    ml_domain: bool  # set (True) by a converter whose op is in the ai.onnx.ml domain

    def __init__(self, opset: int = 17) -> None:
        self.onnx, self.helper, self.numpy_helper = _onnx()
        self.nodes: list = []
        self.inits: list = []
        self._n, self.opset = 0, opset

    def reduce(self, op: str, x: str, axes: list, keepdims: int) -> str:
        """A Reduce* op: axes as an input (ReduceSum from opset 13, all from 18) or an
        attribute (the others before opset 18)."""
        if op == "ReduceSum" or self.opset >= 18:
            return self.op(op, [x, self.ints(axes, "axes")], keepdims=keepdims)
        return self.op(op, [x], axes=list(axes), keepdims=keepdims)

    def name(self, hint: str) -> str:
        self._n += 1
        return f"{hint}_{self._n}"

    def const(self, value: ArrayLike, hint: str = "c", dtype: DTypeLike | None = None) -> str:
        a = np.asarray(value, dtype=dtype)
        if a.dtype == np.float64:
            a = a.astype(np.float32)
        n = self.name(hint)
        self.inits.append(self.numpy_helper.from_array(a.copy(order="C"), n))
        return n

    def const_exact(self, value: ArrayLike, hint: str = "c") -> str:
        """A constant kept in its own dtype (float64 too)."""
        a = np.asarray(value)
        n = self.name(hint)
        self.inits.append(self.numpy_helper.from_array(a.copy(order="C"), n))
        return n

    def ints(self, values: Iterable[int], hint: str = "shape") -> str:
        return self.const(np.asarray(list(values), dtype=np.int64), hint)

    @overload
    def op(self, op_type: str, inputs: list, n_out: Literal[1] = 1, hint: str | None = None,
           **attrs: Any) -> str: ...
    @overload
    def op(self, op_type: str, inputs: list, n_out: int, hint: str | None = None,
           **attrs: Any) -> list[str]: ...
    def op(self, op_type: str, inputs: list, n_out: int = 1, hint: str | None = None,
           **attrs: Any) -> str | list[str]:
        """An ONNX node: its output name (``n_out`` 1), or the list of its ``n_out`` outputs."""
        outs = [self.name(hint or op_type.lower()) for _ in range(n_out)]
        self.nodes.append(self.helper.make_node(op_type, list(inputs), outs,
                                                name=self.name(op_type), **attrs))
        return outs[0] if n_out == 1 else outs


def _make_model(helper: Any, graph: Any, imports: list) -> Any:
    """The model proto at the lowest IR version its opsets allow: onnx stamps its own newest
    (IR 14 from onnx 1.23), which runtimes a release behind refuse to load."""
    proto = helper.make_model(graph, opset_imports=imports, producer_name="glassnet")
    proto.ir_version = helper.find_min_ir_version_for(imports, ignore_unknown=True)
    return proto


def _value(layer: Layer, args: list, list_call: bool, states: list | None = None) -> Any:
    """glassnet's output of ``layer`` on the probe values: one array, or a list of them for
    a recurrent layer with ``return_state`` (its output, then its states)."""
    from ..autograd import no_grad

    kw = {} if states is None else {"initial_state": states}
    with no_grad():
        y = layer(args if list_call else args[0], training=False, **kw)
    if isinstance(y, (list, tuple)):
        if not _recurrent(layer):
            raise ValueError(f"layer {layer.name!r} ({type(layer).__name__}) returns several "
                             "tensors; ONNX export needs one output per layer call (a "
                             "recurrent layer's return_state is the exception)")
        return [np.asarray(getattr(t, "data", t)) for t in y]
    return np.asarray(getattr(y, "data", y))


def _recurrent(layer: Layer) -> bool:
    return type(layer).__name__ in ("LSTM", "GRU", "SimpleRNN")


def _convert_layer(g: Graph, layer: Layer, ins: list[str], vals: list[np.ndarray],
                   list_call: bool, states: list | None = None) -> tuple[Any, Any]:
    """ONNX nodes for one layer call; returns (output name, glassnet's probe output), each
    a list for a recurrent layer with ``return_state``. ``states``: the (name, probe value)
    of each tensor given as ``initial_state``."""
    from ._onnx_layers import convert

    out_val = _value(layer, list(vals), list_call, None if states is None else
                     [v for _, v in states])
    if states is not None or isinstance(out_val, list):
        from ._onnx_rnn import convert_rnn

        if not _recurrent(layer):
            raise ValueError(f"layer {layer.name!r} ({type(layer).__name__}): only LSTM, GRU "
                             "and SimpleRNN calls with initial_state export to ONNX")
        return convert_rnn(g, layer, ins[0], initial=None if states is None else
                           [n for n, _ in states], every=True), out_val
    return convert(g, layer, ins, vals, out_val), out_val


def _walk(g: Graph, model: Any, ins: list[str],
          vals: list[np.ndarray]) -> tuple[list[str], list[np.ndarray]]:
    """Convert a Sequential/Functional model applied to ``ins``; returns (names, values)."""
    cls = type(model).__name__
    if cls == "Sequential":
        x, v = ins[0], vals[0]
        for ly in model._layers:
            if type(ly).__name__ == "InputLayer":
                continue
            x, v = _call(g, ly, [x], [v], False)
        return [x], [v]
    if cls == "Functional":
        env = {}
        for node, x, v in zip(model._inputs, ins, vals):
            env[id(node)] = (x, v)
        for node in model._nodes:
            if id(node) in env:
                continue
            if node.index is not None:  # one output of a multi-output call
                names, values = env[id(node.inbound[0])]
                env[id(node)] = (names[node.index], values[node.index])
                continue
            args = [env[id(p)] for p in node.inbound]
            arg, kw = node.split(args)
            if set(kw) - {"initial_state"}:
                raise ValueError(f"layer {node.layer.name!r}: a call with graph tensors as "
                                 f"keyword arguments ({', '.join(sorted(kw))}) does not export "
                                 "to ONNX (initial_state of a recurrent layer does)")
            states = kw.get("initial_state")
            if states is not None and not isinstance(states, list):
                states = [states]
            pos = arg if node.list_call else [arg]
            env[id(node)] = _call(g, node.layer, [a[0] for a in pos], [a[1] for a in pos],
                                  node.list_call, states)
        outs = [env[id(o)] for o in model._outputs]
        return [o[0] for o in outs], [o[1] for o in outs]
    sub = _as_graph_model(model)
    if sub is not None:
        return _walk(g, sub, ins, vals)
    raise ValueError(f"model {getattr(model, 'name', '?')!r} ({cls}): only Sequential and "
                     "functional models "
                     "(and models with a Sequential form) export to ONNX; a subclassed "
                     "model's call() is Python code")


def _call(g: Graph, layer: Any, ins: list[str], vals: list[np.ndarray],
          list_call: bool, states: list | None = None) -> tuple[Any, Any]:
    if type(layer).__name__ in ("Sequential", "Functional") or _as_graph_model(layer):
        names, values = _walk(g, layer, ins, vals)
        if len(names) != 1:
            raise ValueError(f"nested model {layer.name!r}: one output expected")
        return names[0], values[0]
    return _convert_layer(g, layer, ins, vals, list_call, states)


def _as_graph_model(model: object) -> Model | None:
    """A Sequential standing for a model that has one (autoencoder, fitted DBN), or None."""
    from ..models.model import Sequential

    if type(model).__name__ == "Autoencoder":
        enc, dec = getattr(model, "encoder", None), getattr(model, "decoder", None)
        if enc is not None and dec is not None:
            return Sequential([enc, dec])
    inner = getattr(model, "model_", None)  # DBN (and similar) after fine-tuning
    if inner is not None and type(inner).__name__ in ("Sequential", "Functional"):
        return inner
    gen = getattr(model, "generator", None)  # a GAN at inference: its generator
    if type(model).__name__ == "GAN" and type(gen).__name__ in ("Sequential", "Functional"):
        return gen
    rbms = [model] if type(model).__name__ == "RBM" else getattr(model, "rbms_", None)
    if rbms and all(getattr(r, "components_", None) is not None for r in rbms):
        return _rbm_stack(rbms)  # RBM.transform / DBN.transform: sigmoid Dense layers
    return None


def _rbm_stack(rbms: list) -> Sequential:
    from .. import backend
    from ..layers import Dense
    from ..layers.core import InputLayer
    from ..models.model import Sequential

    n_in = rbms[0].components_.shape[1]
    model = Sequential([InputLayer((n_in,))] + [Dense(r.components_.shape[0],
                                                      activation="sigmoid") for r in rbms])
    for layer, r in zip(model.layers, rbms):
        layer.set_weights([backend.asnumpy(r.components_).T.astype(np.float32),
                           backend.asnumpy(r.intercept_hidden_).astype(np.float32)])
    return model


def _input_specs(model: Any) -> tuple[Model, list, list]:
    from ..models.model import Sequential

    base: Any = _as_graph_model(model) or model  # Sequential, Functional (or refused)
    if isinstance(base, Sequential):
        shapes = [base.input_shape]
        first = [ly for ly in base._layers if type(ly).__name__ != "InputLayer"]
        dtypes = [np.int64 if first and type(first[0]).__name__ in _INT_INPUT else
                  (base._layers[0].dtype if base._layers else None)]
    elif type(base).__name__ == "Functional":
        shapes = [n.shape for n in base._inputs]
        dtypes = ["string" if getattr(n.layer, "_string_dtype", False)
                  else getattr(n.layer, "dtype", None) for n in base._inputs]
        for i, n in enumerate(base._inputs):  # ids feeding an Embedding are integers
            if any(n in m.inbound and type(m.layer).__name__ in _INT_INPUT
                   for m in base._nodes):
                dtypes[i] = np.int64
    else:
        raise ValueError(f"model {getattr(model, 'name', '?')!r} ({type(model).__name__}): "
                         "only Sequential and functional models (and models with a Sequential "
                         "form) export to ONNX; a subclassed model's call() is Python code")
    for s in shapes:
        if s is None:
            raise ValueError(f"model {getattr(model, 'name', model)!r}: build it (or declare "
                             "its input shape) "
                             "before exporting")
    return base, shapes, dtypes


def _probe(shape: Sequence[int | None], dtype: Any, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    dims = [_PROBE, *(4 if s is None else int(s) for s in shape[1:])]
    if isinstance(dtype, str) and dtype == "string":  # a text input: unknown words
        return np.full(dims, "", dtype=object)
    if dtype is not None and np.dtype(dtype).kind in "iu":
        return rng.integers(0, 2, size=dims).astype(np.dtype(dtype))
    return rng.normal(size=dims).astype(np.float32)


def export_onnx(model: Any, filepath: str | os.PathLike, opset: int = OPSET,
                input_names: Sequence[str] | None = None,
                output_names: Sequence[str] | None = None, verbose: bool = False) -> str:
    """Write ``model`` as an ONNX file (opset ``opset`` >= 17, dynamic batch axis).

    Args:
        model: a built Sequential or functional model (or an Autoencoder / fitted DBN).
        filepath: where to write (atomically). opset: the ONNX opset (17 or later).
        input_names/output_names: graph I/O names (default ``input``/``output``, numbered
            when there are several).

    Returns the path written. Raises ValueError naming a layer that has no ONNX form.
    The graph passes ``onnx.checker.check_model``.
    """
    from ..models.saving import _atomic_write

    if opset < 17:
        raise ValueError(f"export: opset must be 17 or later. Received: opset={opset}")
    g = Graph(opset)
    onnx, helper = g.onnx, g.helper
    if _is_classic(model):
        return _export_classic(g, model, filepath, opset, input_names, output_names)
    base, shapes, dtypes = _input_specs(model)
    n_in = len(shapes)
    input_names = list(input_names or (["input"] if n_in == 1 else
                                       [f"input_{i}" for i in range(n_in)]))
    probes = [_probe(s, d, i) for i, (s, d) in enumerate(zip(shapes, dtypes))]
    graph_inputs = []
    for name, s, p in zip(input_names, shapes, probes):
        elem = (onnx.TensorProto.STRING if p.dtype.kind == "O"
                else helper.np_dtype_to_tensor_dtype(p.dtype))
        dims = ["batch", *(f"{name}_d{i}" if d is None else int(d)
                           for i, d in enumerate(s[1:], 1))]
        graph_inputs.append(helper.make_tensor_value_info(name, elem, dims))
    names, values = _walk(g, base, input_names, probes)
    n_out = len(names)
    output_names = list(output_names or (["output"] if n_out == 1 else
                                         [f"output_{i}" for i in range(n_out)]))
    graph_outputs = []
    declared = _output_shapes(base, n_out)
    for src, dst, v, shape in zip(names, output_names, values, declared):
        g.nodes.append(helper.make_node("Identity", [src], [dst], name=g.name("out")))
        elem = helper.np_dtype_to_tensor_dtype(np.asarray(v).dtype)
        # an axis the model leaves open (a sequence's length) stays open in the graph
        dims = [f"{dst}_d{i}" if shape is not None and i < len(shape) and shape[i] is None
                else int(d) for i, d in enumerate(v.shape[1:], 1)]
        graph_outputs.append(helper.make_tensor_value_info(dst, elem, ["batch", *dims]))
    graph = helper.make_graph(g.nodes, getattr(model, "name", None) or "glassnet",
                              graph_inputs, graph_outputs,
                              g.inits)
    imports = [helper.make_opsetid("", opset)]
    if getattr(g, "ml_domain", False):  # StringLookup's LabelEncoder
        imports.append(helper.make_opsetid("ai.onnx.ml", 3))
    proto = _make_model(helper, graph, imports)
    onnx.checker.check_model(proto, full_check=True)
    _atomic_write(Path(filepath), proto.SerializeToString())
    if verbose:
        print(f"wrote {filepath}: {len(g.nodes)} nodes, opset {opset}")
    return str(filepath)


def _output_shapes(model: Any, n: int) -> list:
    """Each output's declared shape (None for an open axis), or None where unknown."""
    outs = getattr(model, "_outputs", None)
    if outs is not None and len(outs) == n:
        return [o.shape for o in outs]
    try:
        shape = model.output_shape
    except Exception:  # a model that cannot say: the probe's sizes stand
        return [None] * n
    return [shape] if n == 1 and isinstance(shape, tuple) else [None] * n


def _is_classic(model: object) -> bool:
    return type(model).__name__ in ("Perceptron", "Adaline", "AdalineSGD") and \
        getattr(model, "w_", None) is not None


def _export_classic(g: Graph, model: Any, filepath: str | os.PathLike, opset: int,
                    input_names: Sequence[str] | None,
                    output_names: Sequence[str] | None) -> str:
    """Perceptron/Adaline: the class of ``X @ w_[1:] + w_[0] >= 0`` (float64, as predict)."""
    from ..models.saving import _atomic_write

    helper = g.helper
    w = np.asarray(model.w_, dtype=np.float64)
    classes = np.asarray(model.classes_)
    name_in = (list(input_names or []) or ["input"])[0]
    name_out = (list(output_names or []) or ["output"])[0]
    x = g.op("Cast", [name_in], to=g.onnx.TensorProto.DOUBLE)
    net = g.op("Add", [g.op("MatMul", [x, g.const_exact(w[1:], "w")]),
                       g.const_exact(w[:1], "b")])
    ge = g.op("GreaterOrEqual", [net, g.const_exact(np.zeros(1), "zero")])
    g.nodes.append(helper.make_node("Where", [ge, g.const_exact(classes[1:], "c1"),
                                              g.const_exact(classes[:1], "c0")],
                                    [name_out], name=g.name("out")))
    elem_in = helper.np_dtype_to_tensor_dtype(np.dtype(np.float32))
    graph = helper.make_graph(
        g.nodes, type(model).__name__,
        [helper.make_tensor_value_info(name_in, elem_in, ["batch", int(w.shape[0] - 1)])],
        [helper.make_tensor_value_info(name_out, helper.np_dtype_to_tensor_dtype(
            classes.dtype), ["batch"])], g.inits)
    proto = _make_model(helper, graph, [helper.make_opsetid("", opset)])
    g.onnx.checker.check_model(proto, full_check=True)
    _atomic_write(Path(filepath), proto.SerializeToString())
    return str(filepath)
