"""Boxes and arrows laid out by depth, drawn as SVG (no Graphviz) or with matplotlib (PNG).

The pictures of :class:`glassnet.graph.Graph` and :func:`glassnet.utils.plot_model` share this
layered layout (a small Sugiyama scheme): each box sits in the layer of its longest path from
a source, boxes within a layer are ordered by the mean position of their inputs (a few
barycenter sweeps, which removes most crossings on the small graphs a course draws), and
arrows are cubic curves from the border of one box to the border of the next.

Text widths are estimated from the character count (no font metrics are needed), so the
SVG is the same on every machine.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["Box", "Diagram"]

_FONT = 12          # px
_CHAR = 0.6 * _FONT  # estimated width of one character (Helvetica/DejaVu Sans, generous)
_LINE = 1.35 * _FONT
_PAD_X, _PAD_Y = 10.0, 7.0
_GAP_LAYER, _GAP_BOX = 46.0, 18.0
_MARGIN = 12.0


@dataclass
class Box:
    """One node of a diagram.

    Attributes:
        lines: text lines; the first is drawn bold.
        fill: background colour.
        stroke: border colour.
        key: an id the caller uses for edges (any hashable).
    """

    key: object
    lines: list[str]
    fill: str = "#eef4fb"
    stroke: str = "#4a78b0"
    w: float = field(default=0.0, init=False)
    h: float = field(default=0.0, init=False)
    x: float = field(default=0.0, init=False)  # top-left corner
    y: float = field(default=0.0, init=False)


class Diagram:
    """A laid-out directed graph of :class:`Box` es.

    Args:
        boxes: the nodes (their ``key`` s must be unique).
        edges: ``(from_key, to_key)`` pairs.
        rankdir: ``"LR"`` (layers left to right) or ``"TB"`` (top to bottom); also ``"RL"``
            and ``"BT"`` as in Graphviz.
        title: an optional caption drawn above the boxes.
    """

    def __init__(self, boxes: list[Box], edges: list[tuple], rankdir: str = "LR",
                 title: str | None = None):
        if rankdir not in ("LR", "RL", "TB", "BT"):
            raise ValueError(f"rankdir must be 'TB', 'LR', 'BT' or 'RL'. Received: {rankdir!r}")
        self.boxes = list(boxes)
        self.index = {b.key: i for i, b in enumerate(self.boxes)}
        self.edges = [(self.index[a], self.index[b]) for a, b in edges]
        self.rankdir = rankdir
        self.title = title
        self._layout()

    # ------------------------------------------------------------------ layout
    def _layout(self) -> None:
        n = len(self.boxes)
        preds: list[list[int]] = [[] for _ in range(n)]
        succs: list[list[int]] = [[] for _ in range(n)]
        for a, z in self.edges:  # box indices (b names a Box below)
            preds[z].append(a)
            succs[a].append(z)
        # longest path from a source (Kahn's order, so cycles cannot hang it)
        indeg = [len(p) for p in preds]
        order = [i for i in range(n) if indeg[i] == 0]
        depth = [0] * n
        k = 0
        while k < len(order):
            i = order[k]
            k += 1
            for j in succs[i]:
                depth[j] = max(depth[j], depth[i] + 1)
                indeg[j] -= 1
                if indeg[j] == 0:
                    order.append(j)
        for i in range(n):  # a source sits just before its first consumer (constants, z)
            if not preds[i] and succs[i]:
                depth[i] = max(min(depth[j] for j in succs[i]) - 1, 0)
        layers: list[list[int]] = [[] for _ in range(max(depth, default=0) + 1)]
        for i in range(n):
            layers[depth[i]].append(i)
        pos = {}
        for layer in layers:
            for p, i in enumerate(layer):
                pos[i] = p
        for sweep in range(4):  # barycenter sweeps: down, up, down, up
            seq = layers[1:] if sweep % 2 == 0 else layers[-2::-1]
            for layer in seq:
                nbr = preds if sweep % 2 == 0 else succs

                def bary(i: int, nbr: list[list[int]] = nbr) -> float:
                    ps = nbr[i]
                    return sum(pos[p] for p in ps) / len(ps) if ps else pos[i]

                layer.sort(key=lambda i: (bary(i), pos[i]))
                for p, i in enumerate(layer):
                    pos[i] = p
        for b in self.boxes:
            width = max((len(t) for t in b.lines), default=1) * _CHAR
            b.w = round(width + 2 * _PAD_X, 1)
            b.h = round(len(b.lines) * _LINE + 2 * _PAD_Y, 1)
        horizontal = self.rankdir in ("LR", "RL")
        top = _MARGIN + (_LINE + 6 if self.title else 0)
        # along the rank axis: each layer as thick as its thickest box
        thick = [max((self.boxes[i].w if horizontal else self.boxes[i].h) for i in layer)
                 if layer else 0 for layer in layers]
        span = [sum((self.boxes[i].h if horizontal else self.boxes[i].w) for i in layer)
                + _GAP_BOX * max(len(layer) - 1, 0) for layer in layers]
        widest = max(span, default=0)
        along = _MARGIN if horizontal else top
        for li, layer in enumerate(layers):
            across = (top if horizontal else _MARGIN) + (widest - span[li]) / 2
            for i in layer:
                b = self.boxes[i]
                if horizontal:
                    b.x, b.y = along + (thick[li] - b.w) / 2, across
                    across += b.h + _GAP_BOX
                else:
                    b.x, b.y = across, along + (thick[li] - b.h) / 2
                    across += b.w + _GAP_BOX
            along += thick[li] + _GAP_LAYER
        along += _MARGIN - _GAP_LAYER
        if horizontal:
            self.width, self.height = along, top + widest + _MARGIN
        else:
            self.width, self.height = 2 * _MARGIN + widest, along
        if self.title:
            self.width = max(self.width, 2 * _MARGIN + len(self.title) * _CHAR)
        if self.rankdir in ("RL", "BT"):  # mirror
            for b in self.boxes:
                if self.rankdir == "RL":
                    b.x = self.width - b.x - b.w
                else:
                    b.y = self.height - b.y - b.h + top - _MARGIN
        self.width, self.height = round(self.width, 1), round(self.height, 1)

    def _ends(self, a: int, b: int) -> tuple[float, float, float, float, float, float, float,
                                               float]:
        """Start, two control points and end of the curve from box a to box b."""
        s, t = self.boxes[a], self.boxes[b]
        r = self.rankdir
        if r == "LR":
            x0, y0, x1, y1 = s.x + s.w, s.y + s.h / 2, t.x, t.y + t.h / 2
        elif r == "RL":
            x0, y0, x1, y1 = s.x, s.y + s.h / 2, t.x + t.w, t.y + t.h / 2
        elif r == "TB":
            x0, y0, x1, y1 = s.x + s.w / 2, s.y + s.h, t.x + t.w / 2, t.y
        else:
            x0, y0, x1, y1 = s.x + s.w / 2, s.y, t.x + t.w / 2, t.y + t.h
        if r in ("LR", "RL"):
            m = (x0 + x1) / 2
            return x0, y0, m, y0, m, y1, x1, y1
        m = (y0 + y1) / 2
        return x0, y0, x0, m, x1, m, x1, y1

    # ------------------------------------------------------------------ output
    def to_svg(self) -> str:
        """A standalone SVG document."""
        out = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.width:g}" '
            f'height="{self.height:g}" viewBox="0 0 {self.width:g} {self.height:g}" '
            f'font-family="Helvetica, Arial, sans-serif" font-size="{_FONT}" '
            'class="glassnet-diagram">',
            '<defs><marker id="gn-arrow" markerWidth="8" markerHeight="8" refX="7" refY="4" '
            'orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#555"/></marker></defs>',
            f'<rect width="{self.width:g}" height="{self.height:g}" fill="white"/>',
        ]
        if self.title:
            out.append(f'<text x="{_MARGIN}" y="{_MARGIN + _FONT}" font-weight="bold">'
                       f"{html.escape(self.title)}</text>")
        for a, z in self.edges:
            x0, y0, c1, d1, c2, d2, x1, y1 = self._ends(a, z)
            out.append(f'<path d="M{x0:.1f},{y0:.1f} C{c1:.1f},{d1:.1f} {c2:.1f},{d2:.1f} '
                       f'{x1:.1f},{y1:.1f}" fill="none" stroke="#555" '
                       'marker-end="url(#gn-arrow)"/>')
        for b in self.boxes:
            out.append(f'<g class="node"><rect x="{b.x:.1f}" y="{b.y:.1f}" width="{b.w:g}" '
                       f'height="{b.h:g}" rx="6" fill="{b.fill}" stroke="{b.stroke}"/>')
            for j, line in enumerate(b.lines):
                y = b.y + _PAD_Y + (j + 0.78) * _LINE
                weight = ' font-weight="bold"' if j == 0 else ""
                out.append(f'<text x="{b.x + b.w / 2:.1f}" y="{y:.1f}" text-anchor="middle"'
                           f"{weight}>{html.escape(line)}</text>")
            out.append("</g>")
        out.append("</svg>")
        return "\n".join(out) + "\n"

    def to_figure(self, dpi: int = 100) -> Figure:
        """The same picture as a matplotlib Figure (needs matplotlib)."""
        from matplotlib.figure import Figure
        from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
        from matplotlib.path import Path as MPath

        fig = Figure(figsize=(self.width / dpi, self.height / dpi), dpi=dpi)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, self.width)
        ax.set_ylim(self.height, 0)
        ax.axis("off")
        pt = 72 / dpi  # px -> points
        if self.title:
            ax.text(_MARGIN, _MARGIN + _FONT, self.title, fontsize=_FONT * pt,
                    fontweight="bold", va="baseline")
        for a, z in self.edges:
            x0, y0, c1, d1, c2, d2, x1, y1 = self._ends(a, z)
            path = MPath([(x0, y0), (c1, d1), (c2, d2), (x1, y1)],
                         [MPath.MOVETO, MPath.CURVE4, MPath.CURVE4, MPath.CURVE4])
            ax.add_patch(FancyArrowPatch(path=path, arrowstyle="-|>", mutation_scale=10,
                                         color="#555", lw=1))
        for b in self.boxes:
            ax.add_patch(FancyBboxPatch((b.x, b.y), b.w, b.h,
                                        boxstyle="round,pad=0,rounding_size=6",
                                        fc=b.fill, ec=b.stroke, lw=1))
            for j, line in enumerate(b.lines):
                ax.text(b.x + b.w / 2, b.y + _PAD_Y + (j + 0.5) * _LINE, line,
                        ha="center", va="center", fontsize=_FONT * pt * 0.92,
                        fontweight="bold" if j == 0 else "normal")
        return fig

    def save(self, path: str | Path, fmt: str | None = None, dpi: int | None = None) -> Path:
        """Write ``.svg`` (built in) or ``.png`` (matplotlib; ``dpi`` 100 = one pixel per SVG
        unit), atomically."""
        path = Path(path)
        fmt = fmt or path.suffix.lower().lstrip(".")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        if fmt == "svg":
            tmp.write_text(self.to_svg(), encoding="utf-8")
        elif fmt == "png":
            try:
                fig = self.to_figure()
            except ImportError:
                raise RuntimeError(
                    f"writing .png needs matplotlib (pip install matplotlib). Received: path "
                    f"{str(path)!r}; .svg needs nothing") from None
            fig.savefig(tmp, format="png", dpi=dpi or 100)
        else:
            raise ValueError(f"Diagram.save: format must be svg or png. Received: {fmt!r}")
        tmp.replace(path)
        return path
