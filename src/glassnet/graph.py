"""Graph inspection: every node of a result's computational graph, as a table or as Graphviz.

``gn.graph(t)`` walks the graph that produced ``t`` (without recursion) and returns a
:class:`Graph`. ``str()`` of it is a table in topological order (inputs before the ops that
use them) with each node's op, inputs, shape, forward value and, once ``backward()`` has run,
its gradient. In Jupyter it draws itself as SVG (layers by depth, every node with its op,
value and gradient; no Graphviz needed). ``.to_svg()`` gives that SVG, ``.to_dot()`` Graphviz
DOT text, and ``.save(path)`` writes ``.svg``, ``.png`` (matplotlib) or ``.dot``.

Examples:
    >>> x = gn.tensor(1.0, requires_grad=True, name="x")
    >>> g = (x + 3.0) * -3.0
    >>> g.backward()
    >>> print(gn.graph(g))        # doctest: +SKIP
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import backend
from .tensor import Tensor

if TYPE_CHECKING:
    from ._diagram import Diagram

__all__ = ["Graph", "Node", "graph"]

# arrays up to this many elements are shown exactly; larger ones as min/mean/max
_EXACT_MAX = 8
# a notebook draws graphs up to this many nodes inline; larger ones show the text table
_INLINE_MAX = 200

_FILL = {"input": ("#dbe9f6", "#4a78b0"), "const": ("#eeeeee", "#888888"),
         "op": ("#fdf1d6", "#c08a1e")}


@dataclass
class Node:
    """One tensor in the graph.

    Attributes:
        id: position in topological order (0 = first input).
        op: the op that made the tensor (``Function.describe()``), or ``"input"`` for a
            leaf that requires grad and ``"const"`` for a constant.
        inputs: ids of the op's input nodes (empty for leaves).
        shape: the tensor's shape.
        value: the forward value as a NumPy array (on the CPU the tensor's own array, not a
            copy: take the graph before an optimizer updates parameters in place).
        grad: the gradient as a NumPy array, or ``None`` before ``backward()``.
        name: ``Tensor.name`` (layer weights carry ``"<layer>/<weight>"``), or ``None``.
        requires_grad: whether the tensor takes part in backprop.
    """

    id: int
    op: str
    inputs: tuple
    shape: tuple
    value: np.ndarray
    grad: np.ndarray | None
    name: str | None
    requires_grad: bool


def _fmt(a: np.ndarray | None) -> str:
    """Exact for small arrays, ``min/mean/max`` summary for large ones."""
    if a is None:
        return ""
    if a.size == 0:
        return "[]"
    if a.size <= _EXACT_MAX:
        if a.ndim == 0:
            return f"{a.item():.6g}" if a.dtype.kind == "f" else str(a.item())
        text = np.array2string(a, precision=4, separator=", ", floatmode="maxprec")
        return text.replace("\n", "")
    af = a.astype(np.float64, copy=False)
    return f"min {af.min():.4g} mean {af.mean():.4g} max {af.max():.4g}"


def _walk(roots: list[Tensor]) -> list[Tensor]:
    """Iterative post-order DFS over all inputs (constants included): topological order."""
    order: list[Tensor] = []
    seen: set[int] = set()
    stack = [(r, False) for r in reversed(roots)]
    while stack:
        t, done = stack.pop()
        if done:
            order.append(t)
            continue
        if id(t) in seen:
            continue
        seen.add(id(t))
        stack.append((t, True))
        ctx = t._ctx
        if ctx is not None:
            for i in reversed(ctx.inputs):
                if id(i) not in seen:
                    stack.append((i, False))
    return order


class Graph:
    """The computational graph behind one or more tensors (see :func:`graph`).

    Attributes:
        nodes: list of :class:`Node` in topological order (``nodes[i].id == i``).
    """

    def __init__(self, roots: list[Tensor]):
        order = _walk(roots)
        ids = {id(t): k for k, t in enumerate(order)}
        self.nodes: list[Node] = []
        for k, t in enumerate(order):
            ctx = t._ctx
            inputs: tuple[int, ...]
            if ctx is None:
                op, inputs = ("input" if t.requires_grad else "const"), ()
            else:
                op, inputs = ctx.describe(), tuple(ids[id(i)] for i in ctx.inputs)
            grad = None if t.grad is None else backend.asnumpy(t.grad)
            self.nodes.append(Node(
                id=k, op=op, inputs=inputs, shape=tuple(t.shape),
                value=backend.asnumpy(t.data), grad=grad, name=t.name,
                requires_grad=t.requires_grad,
            ))

    def __len__(self) -> int:
        return len(self.nodes)

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    def __getitem__(self, key: int | str) -> Node:
        """A node by id, or by name (the first node with that ``Tensor.name``)."""
        if isinstance(key, str):
            for n in self.nodes:
                if n.name == key:
                    return n
            raise KeyError(
                f"graph: no node named {key!r}. Names here: "
                f"{[n.name for n in self.nodes if n.name]}"
            )
        return self.nodes[key]

    def rows(self) -> list[list[str]]:
        """The table's cells, header first (used by ``str()`` and by plotting helpers)."""
        out = [["id", "name", "op", "inputs", "shape", "value", "grad"]]
        for n in self.nodes:
            out.append([
                str(n.id), n.name or "", n.op, ",".join(map(str, n.inputs)),
                str(n.shape), _fmt(n.value), _fmt(n.grad),
            ])
        return out

    def __str__(self) -> str:
        rows = self.rows()
        widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
        lines = []
        for j, r in enumerate(rows):
            lines.append("  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip())
            if j == 0:
                lines.append("  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Graph {len(self.nodes)} nodes>\n{self}"

    def to_dot(self) -> str:
        """Graphviz DOT text: one box per node with op, shape, value and grad; edges input→op.

        Examples:
            >>> open("g.dot", "w").write(gn.graph(g).to_dot())   # doctest: +SKIP
        """
        lines = [
            "digraph glassnet {",
            "  rankdir=LR;",
            '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10];',
        ]
        for n in self.nodes:
            title = f"{n.name}: {n.op}" if n.name else n.op
            parts = [title, f"shape {n.shape}", f"value {_fmt(n.value)}"]
            if n.grad is not None:
                parts.append(f"grad {_fmt(n.grad)}")
            label = "\\n".join(_dot_escape(p) for p in parts)
            color = "#dbe9f6" if not n.inputs else "#fdf1d6"
            if n.op == "const":
                color = "#eeeeee"
            lines.append(f'  n{n.id} [label="{label}", fillcolor="{color}"];')
        for n in self.nodes:
            for i in n.inputs:
                lines.append(f"  n{i} -> n{n.id};")
        lines.append("}")
        return "\n".join(lines) + "\n"

    def to_diagram(self, rankdir: str = "LR") -> Diagram:
        """The layered layout behind :meth:`to_svg` and PNG output (``glassnet._diagram``)."""
        from ._diagram import Box, Diagram

        boxes = []
        for n in self.nodes:
            kind = "op" if n.inputs else n.op
            title = f"{n.name}: {n.op}" if n.name else n.op
            lines = [title]
            if n.shape:
                lines.append(f"shape {n.shape}")
            lines.append(f"value {_fmt(n.value)}")
            if n.grad is not None:
                lines.append(f"grad {_fmt(n.grad)}")
            fill, stroke = _FILL.get(kind, _FILL["op"])
            boxes.append(Box(n.id, lines, fill, stroke))
        edges = [(i, n.id) for n in self.nodes for i in dict.fromkeys(n.inputs)]
        return Diagram(boxes, edges, rankdir=rankdir)

    def to_svg(self, rankdir: str = "LR") -> str:
        """A standalone SVG of the graph, drawn by glassnet itself (no Graphviz).

        Args:
            rankdir: ``"LR"`` (inputs on the left, the default) or ``"TB"`` (inputs on top).

        Examples:
            >>> x = gn.tensor(2.0, requires_grad=True, name="x")
            >>> y = x * x
            >>> y.backward()
            >>> gn.graph(y).to_svg().startswith("<svg")
            True
        """
        return self.to_diagram(rankdir).to_svg()

    def _repr_svg_(self) -> str | None:
        """IPython's display hook: the picture, or None (text table) for very large graphs."""
        if len(self.nodes) > _INLINE_MAX:
            return None
        return self.to_svg()

    def save(self, path: str | Path, engine: str = "glassnet") -> Path:
        """Write the graph to ``.svg``, ``.png`` or ``.dot``/``.gv``.

        Args:
            path: output file; its suffix picks the format.
            engine: ``"glassnet"`` (default): the built-in layered layout; ``.svg`` needs
                nothing, ``.png`` needs matplotlib. ``"graphviz"``: Graphviz's ``dot``
                program draws ``.svg``/``.png`` (it must be on PATH).

        Returns:
            The path written (atomically: a temporary file, then a rename).

        Raises:
            ValueError: unknown suffix or engine.
            RuntimeError: ``engine="graphviz"`` without the ``dot`` program, or ``.png``
                without matplotlib.

        Examples:
            >>> gn.graph(g).save("g.svg")   # doctest: +SKIP
        """
        path = Path(path)
        fmt = path.suffix.lower().lstrip(".")
        if fmt not in ("dot", "gv", "svg", "png"):
            raise ValueError(
                "graph.save: path must end in .dot, .gv, .svg or .png. "
                f"Received: {str(path)!r}"
            )
        if engine not in ("glassnet", "graphviz"):
            raise ValueError(f"graph.save: engine must be 'glassnet' or 'graphviz'. "
                             f"Received: {engine!r}")
        path.parent.mkdir(parents=True, exist_ok=True)
        if fmt in ("dot", "gv"):
            _atomic_write(path, self.to_dot().encode())
            return path
        if engine == "glassnet":
            return self.to_diagram().save(path, fmt)
        exe = shutil.which("dot")
        if exe is None:
            raise RuntimeError(
                f"graph.save: engine='graphviz' needs Graphviz's `dot` program, which is not "
                "on PATH. Install Graphviz (apt-get install graphviz, brew install graphviz or "
                "conda install graphviz), or use the default engine='glassnet', which needs "
                f"nothing. Received: path {str(path)!r}"
            )
        res = subprocess.run(
            [exe, f"-T{fmt}"], input=self.to_dot().encode(), capture_output=True, check=False,
        )
        if res.returncode != 0:
            raise RuntimeError(
                f"graph.save: `dot -T{fmt}` failed: {res.stderr.decode(errors='replace')}"
            )
        _atomic_write(path, res.stdout)
        return path


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _dot_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"')


def graph(*tensors: Tensor) -> Graph:
    """Inspect the computational graph that produced ``tensors``.

    Args:
        *tensors: one or more results (their shared sub-graphs appear once).

    Returns:
        A :class:`Graph`: ``print()`` it for the table; in Jupyter it draws itself as SVG;
        ``.to_svg()``, ``.to_dot()``, ``.save("g.svg")``, ``.nodes`` for the node list.

    Examples:
        >>> x = gn.tensor(1.0, requires_grad=True, name="x")
        >>> y = gn.tensor(3.0, requires_grad=True, name="y")
        >>> z = gn.tensor(-3.0, requires_grad=True, name="z")
        >>> g = (x + y) * z
        >>> g.backward()
        >>> [n.grad.item() for n in gn.graph(g).nodes if n.op == "input"]
        [-3.0, -3.0, 4.0]
    """
    if not tensors:
        raise TypeError("graph() needs at least one tensor. Received: no arguments")
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(
                f"graph() takes glassnet Tensors. Received: {type(t).__name__}"
            )
    return Graph(list(tensors))
