"""Layer graphs of a model with shapes: Graphviz DOT text, or SVG drawn directly.

The SVG needs no Graphviz: a model's layers form a chain (Sequential), drawn as boxes.
"""

from __future__ import annotations

import html


def layer_rows(model) -> list[dict]:
    """One dict per layer: name, class, output shape, parameter count."""
    rows = []
    layers = list(getattr(model, "layers", []))
    if not layers:
        raise ValueError("the model has no layers to draw")
    shape = None
    first = layers[0]
    if getattr(first, "input_shape_built", None) is not None:
        shape = tuple(first.input_shape_built)
    elif getattr(first, "input_spec_shape", None) is not None:
        shape = (None, *first.input_spec_shape)
    if shape is not None:
        rows.append({"name": "input", "cls": "Input", "shape": shape, "params": 0})
    for ly in layers:
        if shape is not None:
            try:
                shape = tuple(ly.compute_output_shape(shape))
            except Exception:  # a layer that cannot infer shapes is drawn without one
                shape = None
        rows.append({"name": ly.name, "cls": type(ly).__name__, "shape": shape,
                     "params": ly.count_params()})
    return rows


def _fmt(shape) -> str:
    if shape is None:
        return "?"
    return "(" + ", ".join("None" if s is None else str(s) for s in shape) + ")"


def layer_graph_dot(model) -> str:
    """Graphviz DOT of the layer chain, each node labelled with class, shape and params."""
    rows = layer_rows(model)
    out = ["digraph model {", '  rankdir=TB; node [shape=record, fontname="Helvetica"];']
    for i, r in enumerate(rows):
        label = f"{r['name']}: {r['cls']}|output {_fmt(r['shape'])}|params {r['params']:,}"
        label = label.replace('"', "'").replace("{", "(").replace("}", ")")
        out.append(f'  n{i} [label="{{{label}}}"];')
    out += [f"  n{i} -> n{i + 1};" for i in range(len(rows) - 1)]
    out.append("}")
    return "\n".join(out) + "\n"


def layer_graph_svg(model) -> str:
    """A standalone SVG of the layer chain (boxes and arrows)."""
    rows = layer_rows(model)
    w, h, gap = 360, 54, 26
    height = len(rows) * (h + gap) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w + 20}" height="{height}" '
        f'font-family="Helvetica, Arial, sans-serif" font-size="13">',
        '<defs><marker id="a" markerWidth="8" markerHeight="8" refX="4" refY="4" '
        'orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#555"/></marker></defs>',
    ]
    for i, r in enumerate(rows):
        y = 5 + i * (h + gap)
        fill = "#eef4fb" if r["cls"] != "Input" else "#f3f3f3"
        parts.append(f'<rect x="10" y="{y}" width="{w}" height="{h}" rx="6" fill="{fill}" '
                     'stroke="#4a78b0"/>')
        t1 = html.escape(f"{r['name']} ({r['cls']})")
        t2 = html.escape(f"output {_fmt(r['shape'])} · {r['params']:,} params")
        parts.append(f'<text x="{10 + w / 2}" y="{y + 22}" text-anchor="middle" '
                     f'font-weight="bold">{t1}</text>')
        parts.append(f'<text x="{10 + w / 2}" y="{y + 42}" text-anchor="middle">{t2}</text>')
        if i < len(rows) - 1:
            parts.append(f'<line x1="{10 + w / 2}" y1="{y + h}" x2="{10 + w / 2}" '
                         f'y2="{y + h + gap - 2}" stroke="#555" marker-end="url(#a)"/>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
