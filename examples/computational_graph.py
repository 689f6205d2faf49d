"""The course's computational graph (seed 004): g = (x + y) · z at x = 1, y = 3, z = −3.

Forward: p = x + y = 4, g = p · z = −12. Backward (chain rule, node by node):
∂g/∂z = p = 4, ∂g/∂p = z = −3, and the add node passes −3 on to both x and y.

Run: ``python examples/computational_graph.py [--out DIR]`` — prints the graph table and
writes ``DIR/computational_graph.svg`` (drawn by glassnet itself; no Graphviz needed).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import glassnet as gn


def build():
    """Forward and backward through g = (x + y) · z; returns (g, {name: tensor})."""
    x = gn.tensor(1.0, requires_grad=True, name="x")
    y = gn.tensor(3.0, requires_grad=True, name="y")
    z = gn.tensor(-3.0, requires_grad=True, name="z")
    p = x + y
    p.name = "p"
    g = p * z
    g.name = "g"
    g.backward()
    return g, {"x": x, "y": y, "z": z, "p": p, "g": g}


def main(argv=None) -> Path:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out", help="output directory (default: out/)")
    args = ap.parse_args(argv)

    g, t = build()
    graph = gn.graph(g)
    print(graph)
    print()
    print(f"p = {t['p'].item():g}, g = {g.item():g}")
    print(f"dg/dx = {t['x'].grad.item():g}, dg/dy = {t['y'].grad.item():g}, "
          f"dg/dz = {t['z'].grad.item():g}")

    path = graph.save(Path(args.out) / "computational_graph.svg")
    print(f"wrote {path}")
    return path


if __name__ == "__main__":
    main()
