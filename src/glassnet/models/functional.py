"""The functional API: ``Model(inputs, outputs)`` from a graph of layer calls.

Calling a layer on a symbolic input (``gn.Input(...)`` or the result of an earlier such call)
records a *node* — the layer and the nodes it was called on — instead of computing. Each
node also carries the output of a batch of one zero sample, so layers are built and shapes
are known as the graph is written (the same trace ``Sequential`` uses to build). An axis of
unknown size (``Input(shape=(None,))``) is traced at two sizes; output axes that differ
between the two traces are reported as ``None``, as Keras does.
``Model(inputs, outputs)`` collects the nodes between them in topological order and replays
them in that order on real tensors. Shared layers (one layer called twice) are two nodes.
A layer that returns several tensors (``LSTM(return_state=True)``) gives one node per output.

Example:
    >>> x = gn.Input(shape=(4,))
    >>> h = Dense(8, activation="relu")(x)
    >>> y = Dense(3, activation="softmax")(Concatenate()([x, h]))
    >>> model = gn.Model(inputs=x, outputs=y)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..layers._symbolic import (  # noqa: F401  (re-exported: the functional API's names)
    TRACE_SIZES,
    SymbolicTensor,
    _check_outputs,
    _input_node,
    _json_plain,
    _trace,
    _trace_input,
    as_symbolic,
    call_symbolic,
    split_call,
)
from ..layers.base import _is_symbolic
from .model import Model

if TYPE_CHECKING:
    from ..layers.base import Layer

__all__ = ["Functional", "SymbolicTensor"]


def _as_list(v: Any, what: str) -> list[SymbolicTensor]:
    items = list(v) if isinstance(v, (list, tuple)) else [v]
    out = []
    for t in items:
        s = as_symbolic(t)
        if s is None or s.shape is None:
            raise TypeError(f"Model: {what} must be gn.Input(...) or outputs of layer calls on "
                            f"them. Received: {type(t).__name__}")
        out.append(s)
    if not out:
        raise ValueError(f"Model: {what} must not be empty")
    return out


def _keyed(v: Any, what: str) -> tuple[list[str] | None, Any]:
    """(the keys, the values as a list) of a dict of graph tensors; (None, v) otherwise."""
    if not isinstance(v, dict):
        return None, v
    if not v or not all(isinstance(k, str) for k in v):
        raise ValueError(f"Model: a dict of {what} needs string keys. Received: {list(v)}")
    return list(v), list(v.values())


def _adjust_rank(x: Any, shape: Any) -> Any:
    """Keras's rank rule for a functional model's input: one axis short of an input
    declared ``(..., 1)`` gets that axis (a 1-D array of strings for ``Input((1,),
    dtype="string")``), one trailing axis of size 1 too many is dropped."""
    nd = getattr(x, "ndim", None)
    if nd is None or shape is None or nd == len(shape):
        return x
    if nd == len(shape) - 1 and shape[-1] == 1:
        return x[..., None]
    if nd == len(shape) + 1 and x.shape[-1] == 1:
        return x[..., 0]
    return x  # the Input layer names the mismatch


def _tensor_kwargs(nd: dict[str, Any], n: int, i: int) -> list[tuple[str, int, int, bool]]:
    """A node's tensor keyword arguments from the config, checked against its ``n``
    inbound entries (ascending, non-overlapping, after at least one positional input)."""
    from .saving import ModelFileError

    raw = nd.get("tensor_kwargs") or []
    out: list[tuple[str, int, int, bool]] = []
    end = 1
    for t in raw if isinstance(raw, list) else [None]:
        if (not isinstance(t, list) or len(t) != 4 or not isinstance(t[0], str)
                or not all(isinstance(v, int) and not isinstance(v, bool) for v in t[1:3])
                or not isinstance(t[3], bool) or t[1] < end or t[2] < 1
                or t[1] + t[2] > n or (t[2] > 1 and not t[3])):
            raise ModelFileError(f"node {i}: invalid tensor_kwargs entry {t!r}")
        out.append((t[0], t[1], t[2], t[3]))
        end = t[1] + t[2]
    if out and end != n:
        raise ModelFileError(f"node {i}: tensor_kwargs do not cover its last inputs")
    return out


def _layer_entry(spec: dict[str, Any], name: str) -> dict[str, Any]:
    """A layer's entry in the config: with its name beside the config where the config
    does not carry it (a layer class of your own whose get_config returns only its
    arguments, as the Keras guides write them), so the nodes still find it."""
    return spec if spec["config"].get("name") == name else {**spec, "name": name}


def _keras_layer_order(ins: Sequence[SymbolicTensor],
                       outs: Sequence[SymbolicTensor]) -> list[Layer]:
    """The model's layers in Keras 3's order (``keras.src.ops.function.map_graph``), so
    ``model.layers[i]``, ``model.weights`` and ``get_weights()`` match Keras's.

    A layer's depth is the longest path from one of its calls to an output (a shared
    layer takes its deepest call); layers come deepest first, and layers of one depth in
    the order a depth-first walk from the outputs, each call's inputs in order, first meets
    them. Inputs the outputs do not use come last among depth 0, as in Keras.

    Example:
        >>> a, b = gn.Input((3,)), gn.Input((2,))
        >>> y = Concatenate()([Dense(4)(a), Dense(4)(b)])
        >>> [type(ly).__name__ for ly in _keras_layer_order([a, b], [y])][:2]
        ['InputLayer', 'InputLayer']
    """
    def call(n: SymbolicTensor) -> SymbolicTensor:  # one output of a call: the call
        return n.inbound[0] if n.index is not None else n

    stop = {id(i) for i in ins}
    first: dict[int, int] = {}  # id(layer) -> when the walk first met it
    post: list[SymbolicTensor] = []  # call nodes, each after its inputs
    seen: set[int] = set()
    for o in outs:
        stack = [(call(o), False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                post.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            first.setdefault(id(node.layer), len(first))
            stack.append((node, True))
            if id(node) not in stop:
                stack.extend((call(p), False) for p in reversed(node.inbound))
    node_depth: dict[int, int] = {}
    depth: dict[int, int] = {}  # id(layer) -> its depth
    layers: dict[int, Layer] = {}
    for node in reversed(post):
        d = max(node_depth.setdefault(id(node), 0), depth.get(id(node.layer), 0))
        depth[id(node.layer)] = node_depth[id(node)] = d
        layers[id(node.layer)] = node.layer
        if id(node) not in stop:
            for p in node.inbound:
                p = call(p)
                node_depth[id(p)] = max(d + 1, node_depth.get(id(p), 0))
    for i in ins:  # inputs the outputs do not use
        if id(i.layer) not in depth:
            depth[id(i.layer)], first[id(i.layer)], layers[id(i.layer)] = 0, -1, i.layer
    order = sorted(layers, key=lambda k: (-depth[k], first[k]))
    return [layers[k] for k in order]


class Functional(Model):
    """A model defined by ``Model(inputs, outputs)``: layer calls replayed in graph order.

    Args:
        inputs: one ``gn.Input`` or a list of them.
        outputs: one symbolic tensor (a layer call's result) or a list of them.

    Shapes: ``fit``/``predict`` take one array per input (a list when there are several)
    and return one array per output (a list when there are several). ``layers`` lists the
    ``InputLayer`` objects too, as in Keras, so ``model.layers[i]`` matches Keras's index.

    Example:
        >>> a, b = gn.Input((3,)), gn.Input((2,))
        >>> y = Dense(1)(Concatenate()([a, Dense(4)(b)]))
        >>> model = gn.Model([a, b], y); model.predict([xa, xb]).shape   # (n, 1)
    """

    def __init__(self, inputs: Any, outputs: Any, name: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        # Keras: inputs as a dict key -> Input (the data then comes as a dict with those
        # keys, and model.input is the dict); outputs as a dict name -> tensor (the names
        # become output_names, and the model returns a dict). The loop works on the lists.
        self._input_keys, inputs = _keyed(inputs, "inputs")
        self._output_keys, outputs = _keyed(outputs, "outputs")
        self._single_input = not isinstance(inputs, (list, tuple))
        self._single_output = not isinstance(outputs, (list, tuple))
        ins, outs = _as_list(inputs, "inputs"), _as_list(outputs, "outputs")
        self._nodes = self._collect(ins, outs)
        self._inputs, self._outputs = ins, outs
        for i in ins:
            if i.inbound:
                raise ValueError(f"Model: every input must be a gn.Input. Received: the output "
                                 f"of layer {i.layer.name!r}")
        missing = [n.layer.name for n in self._nodes if not n.inbound and n not in ins]
        if missing:
            raise ValueError(f"Model: the outputs depend on inputs that were not passed in "
                             f"`inputs`: {missing}")
        layers = _keras_layer_order(ins, outs)
        names = [ly.name for ly in layers]
        dup = sorted({x for x in names if names.count(x) > 1})
        if dup:
            raise ValueError(f"Model: layer names must be unique. Received duplicates: {dup}")
        self._layers = layers
        self._n_inputs, self._n_outputs = len(ins), len(outs)
        self.built = True

    @staticmethod
    def _collect(ins: Sequence[SymbolicTensor],
                 outs: Sequence[SymbolicTensor]) -> list[SymbolicTensor]:
        """Nodes that lead from ``ins`` to ``outs``, inputs first (iterative DFS)."""
        order, done, stack = [], set(), [(o, False) for o in reversed(outs)]
        stop = {id(i) for i in ins}
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            if id(node) in done:
                continue
            done.add(id(node))
            stack.append((node, True))
            if id(node) not in stop:
                stack.extend((p, False) for p in reversed(node.inbound) if id(p) not in done)
        return order

    # ------------------------------------------------------------ Model API
    @property
    def layers(self) -> list[Layer]:
        return list(self._layers)

    def _sublayers(self) -> list[Layer]:
        return list(self._layers)

    @property
    def inputs(self) -> list[SymbolicTensor]:
        return list(self._inputs)

    @property
    def outputs(self) -> list[SymbolicTensor]:
        return list(self._outputs)

    @property
    def input(self) -> Any:
        """The model's input (Keras's ``model.input``): the one symbolic input, the list of
        them, or the dict it was built with."""
        ins = self.inputs
        if self._input_keys is not None:
            return dict(zip(self._input_keys, ins))
        return ins[0] if len(ins) == 1 else ins

    @property
    def output(self) -> Any:
        """The model's output (Keras's ``model.output``): the one symbolic output, or the
        list of them."""
        outs = self.outputs
        return outs[0] if len(outs) == 1 else outs

    @property
    def input_names(self) -> list[str]:
        """The names the data's dict is keyed by: the inputs dict's keys, else the names of
        the Input layers."""
        if self._input_keys is not None:
            return list(self._input_keys)
        return [n.layer.name for n in self._inputs]

    @property
    def output_names(self) -> list[str]:
        """The names of the outputs (Keras's ``output_names``): a dict's keys, else the names
        of the layers that produce them."""
        if self._output_keys is not None:
            return list(self._output_keys)
        return [n.layer.name for n in self._outputs]

    @property
    def input_shape(self) -> Any:  # one shape tuple, or a list of them (several inputs)
        shapes = [n.shape for n in self._inputs]
        return shapes[0] if self._single_input else shapes

    @property
    def output_shape(self) -> Any:  # one shape tuple, or a list of them (several outputs)
        shapes = [n.shape for n in self._outputs]
        return shapes[0] if self._single_output else shapes

    def __call__(self, x: Any, *args: Any, training: bool | None = None,
                 **kwargs: Any) -> Any:
        if args:  # more inputs, or the training flag, by position
            return self._positional_call(x, args, training, kwargs)
        if _is_symbolic(x):  # a model used as a layer in another functional graph
            return super().__call__(x, training=training, **kwargs)
        # built at construction: the graph's own Input layers check and convert the data
        # (string inputs stay strings for a TextVectorization inside)
        self._activity_losses = []
        out = self.call(x, training=bool(training), **kwargs)
        if self._output_keys is not None:  # outputs given as a dict: returned as one
            return dict(zip(self._output_keys, out))
        return out

    def call(self, inputs: Any, training: bool = False) -> Any:
        if isinstance(inputs, dict):  # Keras: a dict keyed by the Input layers' names
            unknown = sorted(set(inputs) - set(self.input_names))
            if unknown:
                raise ValueError(f"Model '{self.name}': unknown input name(s) {unknown}. "
                                 f"Expected: {self.input_names}")
            inputs = [inputs[k] for k in self.input_names]
        xs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if len(xs) != len(self._inputs):
            raise ValueError(f"Model '{self.name}': expected {len(self._inputs)} input(s). "
                             f"Received: {len(xs)}")
        values = {}
        for node, x in zip(self._inputs, xs):
            x = _adjust_rank(x, node.shape)
            values[id(node)] = node.layer(x, training=training)  # checks the declared shape
        for node in self._nodes:
            if id(node) in values:
                continue
            args = [values[id(p)] for p in node.inbound]
            if node.index is not None:
                values[id(node)] = args[0][node.index]
                continue
            kw = dict(node.kwargs)
            tr = bool(kw.pop("training", training))
            arg, kw_tensors = node.split(args)
            values[id(node)] = node.layer(arg, training=tr, **kw, **kw_tensors)
        outs = [values[id(o)] for o in self._outputs]
        return outs[0] if self._single_output else outs

    def _build_from(self, shape: Any) -> None:
        self.built = True

    def summary_rows(self) -> list[tuple[str, str, int, str]]:
        """(layer (type), output shape, params, connected to) per layer call, the layers
        in :attr:`layers` order; each input as Keras writes it, ``layer[call][output]``."""
        calls: dict[int, list[SymbolicTensor]] = {}  # id(layer) -> its calls, in order
        for n in self._nodes:
            if n.index is None:
                calls.setdefault(id(n.layer), []).append(n)

        def source(p: SymbolicTensor) -> str:
            node, k = (p.inbound[0], p.index) if p.index is not None else (p, 0)
            i = next(j for j, c in enumerate(calls[id(node.layer)]) if c is node)
            return f"{node.layer.name}[{i}][{k}]"

        rows = []
        for ly in self._layers:
            for n in calls.get(id(ly), []):
                if n.shape is None:
                    shape = str([(None, *v.shape[1:]) for v in n._value])
                else:
                    shape = str(n.shape)
                conn = ", ".join(source(p) for p in n.inbound)
                rows.append((f"{ly.name} ({type(ly).__name__})", shape, ly.count_params(),
                             conn or "-"))
        return rows

    # ------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        """Layers (fixed table names + hyperparameters) and each call's inbound nodes."""
        from .saving import serialize_layer

        index = {id(n): i for i, n in enumerate(self._nodes)}
        nodes = []
        for n in self._nodes:
            nd = {"layer": n.layer.name, "inbound": [index[id(p)] for p in n.inbound],
                  "list_call": n.list_call}
            if n.kwargs:
                nd["kwargs"] = dict(n.kwargs)
            if n.tensor_kwargs:  # (name, first inbound position, count, a list)
                nd["tensor_kwargs"] = [list(t) for t in n.tensor_kwargs]
            if n.index is not None:
                nd["index"] = n.index
            nodes.append(nd)
        return {
            "name": self.name,
            "trainable": self.trainable,
            "layers": [_layer_entry(serialize_layer(ly), ly.name) for ly in self._layers],
            "nodes": nodes,
            "inputs": [index[id(n)] for n in self._inputs],
            "outputs": [index[id(n)] for n in self._outputs],
            "single_input": self._single_input,
            "single_output": self._single_output,
            **({"output_keys": self._output_keys} if self._output_keys is not None else {}),
            **({"input_keys": self._input_keys} if self._input_keys is not None else {}),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any],
                    custom_objects: dict[str, Any] | None = None) -> Functional:
        """Rebuild from :meth:`get_config`; layer classes come from the fixed table, and
        ``custom_objects`` (your own classes by name) or the registry."""
        from ..saving import custom_object_scope
        from .saving import ModelFileError, deserialize_layer

        try:
            layers = {}
            with custom_object_scope(custom_objects or {}):
                specs = [(spec, deserialize_layer(spec)) for spec in config["layers"]]
            for spec, ly in specs:
                if isinstance(spec.get("name"), str):  # a config without its name (below)
                    ly.name = spec["name"]
                layers[ly.name] = ly
            nodes: list = []
            outputs_of: dict[int, list] = {}
            for i, nd in enumerate(config["nodes"]):
                ly = layers[nd["layer"]]
                inbound = [int(j) for j in nd["inbound"]]
                if any(not 0 <= j < i for j in inbound):
                    raise ModelFileError(f"node {i} refers to a later or unknown node")
                if nd.get("index") is not None:
                    nodes.append(outputs_of[inbound[0]][int(nd["index"])])
                    continue
                if not inbound:
                    nodes.append(as_symbolic(ly))
                    if nodes[-1] is None:
                        raise ModelFileError(f"node {i}: layer {ly.name} has no inputs and "
                                             "is not an Input")
                    continue
                args = [nodes[j] for j in inbound]
                kw = nd.get("kwargs") or {}
                if not isinstance(kw, dict) or not _json_plain(list(kw.values())):
                    raise ModelFileError(f"node {i}: kwargs must be plain JSON values")
                arg, kw_tensors = split_call(args, bool(nd.get("list_call")),
                                             _tensor_kwargs(nd, len(args), i))
                out = call_symbolic(ly, arg, **kw, **kw_tensors)
                if isinstance(out, list):
                    outputs_of[i] = out
                    out = out[0].inbound[0]
                nodes.append(out)
            ins = [nodes[int(j)] for j in config["inputs"]]
            outs = [nodes[int(j)] for j in config["outputs"]]
        except (KeyError, IndexError, TypeError, ValueError) as e:
            if isinstance(e, ModelFileError):
                raise
            raise ModelFileError(f"invalid functional model config ({type(e).__name__}: "
                                 f"{e})") from None
        keys, in_keys = config.get("output_keys"), config.get("input_keys")
        for what, ks, ts in (("output_keys", keys, outs), ("input_keys", in_keys, ins)):
            if ks is not None and (not isinstance(ks, list) or len(ks) != len(ts)
                                   or not all(isinstance(k, str) for k in ks)):
                raise ModelFileError(f"invalid functional model config ({what})")
        outputs: Any = (dict(zip(keys, outs)) if keys is not None else
                        outs[0] if config.get("single_output", True) and len(outs) == 1
                        else outs)
        inputs: Any = (dict(zip(in_keys, ins)) if in_keys is not None else
                       ins[0] if config.get("single_input", True) and len(ins) == 1 else ins)
        model = cls(inputs, outputs, name=config.get("name"))
        if config.get("trainable") is False:
            model.trainable = False
        return model
