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


# ------------------------------------------------------------------ plot_model
def _functional():
    from glassnet.layers import Concatenate, Dense

    a, b = gn.Input((3,), name="a"), gn.Input((2,), name="b")
    c = Concatenate(name="cat")([a, Dense(4, name="hb")(b)])
    return gn.Model([a, b], [Dense(1, name="out1")(c), Dense(2, name="out2")(c)])


def _edges(diagram) -> set:
    names = [b.lines[0].split(" (")[0] for b in diagram.boxes]
    return {(names[a], names[b]) for a, b in diagram.edges}


def test_plot_model_sequential_writes_svg_png_dot_without_graphviz(tmp_path, no_dot):
    mpimg = pytest.importorskip("matplotlib.image")
    from glassnet.layers import Dense
    from glassnet.models import Sequential

    m = Sequential([Dense(6, activation="relu", input_dim=11, name="h"),
                    Dense(1, activation="sigmoid", name="o")])
    p = gn.utils.plot_model(m, tmp_path / "m.svg", show_shapes=True, show_layer_names=True,
                            show_dtype=True, show_layer_activations=True)
    lines = _texts((tmp_path / "m.svg").read_text())
    assert lines == [["input (InputLayer)", "output (None, 11)", "dtype float32"],
                     ["h (Dense)", "activation: relu", "output (None, 6) · 72 params",
                      "dtype float32"],
                     ["o (Dense)", "activation: sigmoid", "output (None, 1) · 7 params",
                      "dtype float32"]]
    assert p._repr_svg_() == (tmp_path / "m.svg").read_text()
    bare = gn.utils.plot_model(m)  # Keras's defaults: class names only
    assert _texts(bare.svg) == [["InputLayer"], ["Dense"], ["Dense"]]
    gn.utils.plot_model(m, tmp_path / "m.png", show_shapes=True, dpi=100)
    assert mpimg.imread(tmp_path / "m.png").shape[0] > 150
    gn.utils.plot_model(m, tmp_path / "m.dot", show_shapes=True)
    dot = (tmp_path / "m.dot").read_text()
    assert dot.startswith("digraph") and "n0 -> n1;" in dot and "n1 -> n2;" in dot
    with pytest.raises(ValueError, match=r"\.svg, \.png or \.dot.*m\.pdf"):
        gn.utils.plot_model(m, tmp_path / "m.pdf")


def test_plot_model_functional_multi_input_output():
    p = gn.utils.plot_model(_functional(), show_shapes=True, show_layer_names=True)
    d = p._diagram
    assert _edges(d) == {("a", "cat"), ("b", "hb"), ("hb", "cat"), ("cat", "out1"),
                         ("cat", "out2")}
    shapes = {ln[0]: ln[1] for ln in _texts(p.svg)}
    assert shapes["cat (Concatenate)"] == "output (None, 7)"
    assert shapes["out2 (Dense)"] == "output (None, 2) · 16 params"
    y = {b.lines[0]: b.y for b in d.boxes}  # TB: each layer below its inputs
    assert y["b (InputLayer)"] < y["hb (Dense)"] < y["cat (Concatenate)"] < y["out1 (Dense)"]
    lr = gn.utils.plot_model(_functional(), rankdir="LR", show_layer_names=True)._diagram
    x = {b.lines[0]: b.x for b in lr.boxes}
    assert x["cat (Concatenate)"] < x["out1 (Dense)"]


def test_plot_model_nested_collapsed_and_expanded():
    from glassnet.layers import Dense
    from glassnet.models import Sequential

    inner = Sequential([Dense(5, activation="relu", name="i1"), Dense(4, name="i2")],
                       name="enc")
    x = gn.Input((3,), name="x")
    m = gn.Model(x, Dense(1, name="head")(inner(x)))
    kw = {"show_layer_names": True, "show_shapes": True}
    assert _edges(gn.utils.plot_model(m, **kw)._diagram) == {("x", "enc"), ("enc", "head")}
    ex = gn.utils.plot_model(m, expand_nested=True, **kw)
    assert _edges(ex._diagram) == {("x", "enc/i1"), ("enc/i1", "enc/i2"), ("enc/i2", "head")}
    assert "output (None, 5) · 20 params" in ex.svg
    outer = Sequential([Dense(3, input_dim=2, name="o1"),
                        Sequential([Dense(4, name="n1"), Dense(2, name="n2")], name="sub"),
                        Dense(1, name="o2")])
    ex = gn.utils.plot_model(outer, expand_nested=True, **kw)
    assert _edges(ex._diagram) == {("input", "o1"), ("o1", "sub/n1"), ("sub/n1", "sub/n2"),
                                   ("sub/n2", "o2")}
    assert ["sub/n2 (Dense)", "output (None, 2) · 10 params"] in _texts(ex.svg)


def test_plot_model_rejects_bad_arguments():
    with pytest.raises(TypeError, match="expected a glassnet model.*ndarray"):
        gn.utils.plot_model(__import__("numpy").ones(3))
    with pytest.raises(ValueError, match="rankdir.*'XY'"):
        gn.utils.plot_model(_functional(), rankdir="XY")
    with pytest.raises(TypeError, match="layer_range"):
        gn.utils.plot_model(_functional(), layer_range=["a", "b"])
