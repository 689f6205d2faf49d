"""Rich display: graphs and models drawn without Graphviz, HTML summaries, History, progress."""

import shutil
import xml.etree.ElementTree as ET

import pytest

import glassnet as gn

SVG = "{http://www.w3.org/2000/svg}"


def course_graph():
    x = gn.tensor(1.0, requires_grad=True, name="x")
    y = gn.tensor(3.0, requires_grad=True, name="y")
    z = gn.tensor(-3.0, requires_grad=True, name="z")
    p = x + y
    p.name = "p"
    g = p * z
    g.name = "g"
    g.backward()
    return g


def _texts(svg: str) -> list[list[str]]:
    """Each node's text lines, parsed from the SVG as XML."""
    root = ET.fromstring(svg)
    return [[t.text for t in g.iter(f"{SVG}text")] for g in root.iter(f"{SVG}g")]


@pytest.fixture
def no_dot(monkeypatch):
    """No Graphviz anywhere: an empty PATH, and shutil.which finds nothing."""
    monkeypatch.setenv("PATH", "")
    monkeypatch.setattr(shutil, "which", lambda *a, **k: None)


def test_graph_saves_svg_without_graphviz(tmp_path, no_dot):
    p = gn.graph(course_graph()).save(tmp_path / "g.svg")
    svg = p.read_text()
    nodes = {ln[0]: ln[1:] for ln in _texts(svg)}
    assert nodes == {"x: input": ["value 1", "grad -3"], "y: input": ["value 3", "grad -3"],
                     "z: input": ["value -3", "grad 4"], "p: Add": ["value 4", "grad -3"],
                     "g: Mul": ["value -12", "grad 1"]}
    root = ET.fromstring(svg)
    assert len([e for e in root.iter(f"{SVG}path") if e.get("marker-end")]) == 4
    assert not list(tmp_path.glob(".*.tmp"))


def test_graph_layers_by_depth():
    """Inputs left of the add node, the add node left of the multiply (rankdir LR)."""
    d = gn.graph(course_graph()).to_diagram()
    x = {b.lines[0]: b.x for b in d.boxes}
    assert x["x: input"] == x["y: input"] < x["p: Add"] < x["g: Mul"]
    assert x["z: input"] < x["g: Mul"]
    t = gn.graph(course_graph()).to_diagram("TB")
    y = {b.lines[0]: b.y for b in t.boxes}
    assert y["x: input"] < y["p: Add"] < y["g: Mul"]
    for a in d.boxes:  # no two boxes overlap
        for b in d.boxes:
            if a is not b:
                assert (a.x + a.w <= b.x or b.x + b.w <= a.x or a.y + a.h <= b.y
                        or b.y + b.h <= a.y)


def test_graph_saves_png_without_graphviz(tmp_path, no_dot):
    mpimg = pytest.importorskip("matplotlib.image")
    p = gn.graph(course_graph()).save(tmp_path / "g.png")
    img = mpimg.imread(p)
    assert img.shape[0] > 100 and img.shape[1] > 200 and img[..., :3].std() > 0.05


def test_graph_repr_svg_and_text_plain():
    gr = gn.graph(course_graph())
    assert gr._repr_svg_().startswith("<svg") and "value -12" in gr._repr_svg_()
    assert "g  " in repr(gr) and "-12" in repr(gr)  # the text table stays the plain form
    x = gn.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(150):
        y = y + 1.0
    assert gn.graph(y)._repr_svg_() is None  # too big to draw inline: the table instead


def test_graph_save_rejects_unknown_engine(tmp_path):
    with pytest.raises(ValueError, match="engine.*'neato'"):
        gn.graph(course_graph()).save(tmp_path / "g.svg", engine="neato")
