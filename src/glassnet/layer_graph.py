"""A model's layer graph with shapes: SVG and PNG drawn by glassnet itself, or Graphviz DOT.

Sequential models are a chain; functional models (``Model(inputs, outputs)``) are the graph
of their layer calls, several inputs and outputs included; a model used as a layer (nested)
is one box, or with ``expand_nested=True`` its own layers, each titled ``outer/inner``. A
subclassed model is one box listing its layers: its ``call()`` wires them, which no static
graph shows.
``glassnet.utils.plot_model`` and the ``glassnet graph`` command draw through here, on the
layered layout of ``glassnet._diagram`` (no Graphviz, no pydot).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from ._diagram import Diagram
    from .layers.base import Layer
    from .models.functional import Functional

__all__ = ["LayerNode", "model_nodes", "layer_rows", "layer_graph_diagram", "layer_graph_svg",
           "layer_graph_dot"]


@dataclass
class LayerNode:
    """One box of a layer graph: a layer call (or a model input) and its output shape."""

    key: Any  # (id(model), id(layer)) or (id(model), "input")
    name: str
    cls: str
    shape: Any  # a tuple, a list of tuples, or None when unknown
    layer: Any = None  # the Layer; None for a model input
    inbound: list = field(default_factory=list)
    note: str | None = None  # an extra line of text under the title


def _is_model(layer: Any) -> bool:
    from .models.model import Model

    return isinstance(layer, Model)


def _is_sequential(model: Any) -> bool:
    from .models.model import Sequential

    return isinstance(model, Sequential)


def _out_shape(layer: Layer, shape: Any) -> tuple[int | None, ...] | None:
    if shape is None:
        return None
    try:
        return tuple(layer.compute_output_shape(shape))
    except Exception:  # a layer that cannot infer shapes is drawn without one
        return None


def _nodes(model: Layer, expand: bool, prefix: str, in_keys: list | None,
           in_shape: Any = None) -> tuple[list[LayerNode], list[Any]]:
    """(nodes, output keys) for ``model``; ``in_keys`` wire a nested model to its caller."""
    from .layers.core import InputLayer

    nodes: list[LayerNode] = []
    if hasattr(model, "_nodes") and hasattr(model, "_outputs"):  # functional
        alias: dict[int, list] = {}
        ins = list(cast("Functional", model)._inputs)  # has a graph: a functional model
        for j, n in enumerate(model._nodes):
            if not n.inbound and isinstance(n.layer, InputLayer):
                if in_keys is not None:  # nested: the caller's inputs stand in for these
                    pos = ins.index(n) if n in ins else j
                    alias[id(n)] = [in_keys[min(pos, len(in_keys) - 1)]]
                    continue
                nodes.append(LayerNode((id(model), id(n)), prefix + n.layer.name, "InputLayer",
                                       tuple(n.shape), n.layer))
                alias[id(n)] = [nodes[-1].key]
                continue
            inbound = [k for p in n.inbound for k in alias[id(p)]]
            if expand and _is_model(n.layer):
                sub, outs = _nodes(n.layer, True, f"{prefix}{n.layer.name}/", inbound,
                                   None)
                nodes += sub
                alias[id(n)] = outs
                continue
            nodes.append(LayerNode((id(model), id(n)), prefix + n.layer.name,
                                   type(n.layer).__name__, tuple(n.shape), n.layer, inbound))
            alias[id(n)] = [nodes[-1].key]
        outs = [k for o in model._outputs for k in alias[id(o)]]
        return nodes, outs
    layers = list(getattr(model, "layers", []))
    if _is_model(model) and not _is_sequential(model):
        # a subclassed model: its call() wires the layers, which no static graph shows
        names = ", ".join(ly.name for ly in layers) or "none"
        node = LayerNode((id(model), "self"), prefix + model.name, type(model).__name__, None,
                         model, list(in_keys or []), note=f"subclassed; layers: {names}")
        return [node], [node.key]
    if not layers:
        raise ValueError(f"plot_model: model {getattr(model, 'name', '?')!r} has no layers to "
                         "draw")
    shape = in_shape
    if shape is None:
        shape = getattr(model, "input_shape", None)
        if shape is not None and not isinstance(shape, tuple):
            shape = None
    if in_keys is None:
        key = (id(model), "input")
        nodes.append(LayerNode(key, prefix + "input", "InputLayer", shape))
        prev = [key]
    else:
        prev = list(in_keys)
    for ly in layers:
        if expand and _is_model(ly):
            sub, outs = _nodes(ly, True, f"{prefix}{ly.name}/", prev, shape)
            nodes += sub
            prev = outs
            shape = _out_shape(ly, shape)
            continue
        shape = _out_shape(ly, shape)
        nodes.append(LayerNode((id(model), id(ly)), prefix + ly.name, type(ly).__name__,
                               shape, ly, list(prev)))
        prev = [nodes[-1].key]
    return nodes, prev


def model_nodes(model: Layer, expand_nested: bool = False) -> list[LayerNode]:
    """The boxes of ``model``'s layer graph, inputs first, each with its inbound keys.

    Examples:
        >>> from glassnet.layers import Dense
        >>> m = gn.models.Sequential([Dense(3, input_dim=4), Dense(1)])
        >>> [(n.cls, n.shape) for n in model_nodes(m)]
        [('InputLayer', (None, 4)), ('Dense', (None, 3)), ('Dense', (None, 1))]
    """
    return _nodes(model, expand_nested, "", None)[0]


def layer_rows(model: Layer) -> list[dict]:
    """One dict per box: name, class, output shape, parameter count (inputs first)."""
    return [{"name": n.name, "cls": n.cls, "shape": n.shape,
             "params": n.layer.count_params() if n.layer is not None else 0}
            for n in model_nodes(model)]


def _fmt(shape: Any) -> str:
    if shape is None:
        return "?"
    if isinstance(shape, list):
        return ", ".join(_fmt(s) for s in shape)
    return "(" + ", ".join("None" if s is None else str(s) for s in shape) + ")"


def _activation(layer: Layer | None) -> str | None:
    fn = getattr(layer, "activation", None)
    if fn is None:
        return None
    from . import activations

    try:
        name = activations.serialize(fn)
    except Exception:  # an activation that cannot name itself is shown by its repr
        return getattr(fn, "__name__", type(fn).__name__)
    return name if isinstance(name, str) else name.get("class_name", "?")


def _dtype(layer: Layer | None) -> str:
    from . import backend

    dt = getattr(layer, "dtype", None)
    return str(dt) if dt is not None else str(backend.floatx())


def _labels(n: LayerNode, show_shapes: bool, show_dtype: bool, show_layer_names: bool,
            show_layer_activations: bool, show_trainable: bool) -> list[str]:
    lines = [f"{n.name} ({n.cls})" if show_layer_names else n.cls]
    if n.note:
        lines.append(n.note)
    if show_layer_activations:
        act = _activation(n.layer)
        if act is not None:
            lines.append(f"activation: {act}")
    if show_shapes:
        params = n.layer.count_params() if n.layer is not None else 0
        lines.append(f"output {_fmt(n.shape)}" + (f" · {params:,} params" if params else ""))
    if show_dtype:
        lines.append(f"dtype {_dtype(n.layer)}")
    if show_trainable and n.layer is not None:
        lines.append(f"trainable: {bool(getattr(n.layer, 'trainable', True))}")
    return lines


def layer_graph_diagram(model: Layer, show_shapes: bool = True, show_dtype: bool = False,
                        show_layer_names: bool = True, rankdir: str = "TB",
                        expand_nested: bool = False, show_layer_activations: bool = False,
                        show_trainable: bool = False) -> Diagram:
    """The laid-out layer graph (a ``glassnet._diagram.Diagram``): ``.to_svg()``, ``.save()``."""
    from ._diagram import Box, Diagram

    nodes = model_nodes(model, expand_nested)
    boxes = []
    for n in nodes:
        lines = _labels(n, show_shapes, show_dtype, show_layer_names, show_layer_activations,
                        show_trainable)
        if n.cls == "InputLayer":
            boxes.append(Box(n.key, lines, "#f3f3f3", "#888888"))
        elif n.layer is not None and not getattr(n.layer, "trainable", True):
            boxes.append(Box(n.key, lines, "#eeeeee", "#4a78b0"))
        else:
            boxes.append(Box(n.key, lines))
    edges = [(k, n.key) for n in nodes for k in dict.fromkeys(n.inbound)]
    return Diagram(boxes, edges, rankdir=rankdir, title=getattr(model, "name", None))


def layer_graph_svg(model: Layer, **kwargs: Any) -> str:
    """A standalone SVG of the layer graph (keyword arguments as :func:`layer_graph_diagram`)."""
    return layer_graph_diagram(model, **kwargs).to_svg()


def layer_graph_dot(model: Layer, show_shapes: bool = True, show_dtype: bool = False,
                    show_layer_names: bool = True, rankdir: str = "TB",
                    expand_nested: bool = False, show_layer_activations: bool = False,
                    show_trainable: bool = False) -> str:
    """Graphviz DOT of the layer graph, each node labelled as in the SVG."""
    if rankdir not in ("TB", "LR", "BT", "RL"):
        raise ValueError(f"rankdir must be 'TB', 'LR', 'BT' or 'RL'. Received: {rankdir!r}")
    nodes = model_nodes(model, expand_nested)
    ids = {n.key: i for i, n in enumerate(nodes)}
    out = ["digraph model {", f'  rankdir={rankdir}; node [shape=record, fontname="Helvetica"];']
    for i, n in enumerate(nodes):
        lines = _labels(n, show_shapes, show_dtype, show_layer_names, show_layer_activations,
                        show_trainable)
        label = "|".join(lines)
        for a, b in (('"', "'"), ("{", "("), ("}", ")"), ("<", "‹"), (">", "›")):
            label = label.replace(a, b)
        out.append(f'  n{i} [label="{{{label}}}"];')
    out += [f"  n{ids[k]} -> n{i};" for i, n in enumerate(nodes) for k in dict.fromkeys(n.inbound)]
    out.append("}")
    return "\n".join(out) + "\n"
