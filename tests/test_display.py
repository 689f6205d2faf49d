"""Rich display: graphs and models drawn without Graphviz, HTML summaries, History, progress."""

import shutil
import xml.etree.ElementTree as ET

import numpy as np
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
        gn.utils.plot_model(np.ones(3))
    with pytest.raises(ValueError, match="rankdir.*'XY'"):
        gn.utils.plot_model(_functional(), rankdir="XY")
    with pytest.raises(TypeError, match="layer_range"):
        gn.utils.plot_model(_functional(), layer_range=["a", "b"])


# ------------------------------------------------------------------ HTML displays
def test_import_glassnet_imports_no_ipython_widgets_or_matplotlib():
    import subprocess
    import sys

    code = ("import sys, glassnet\n"
            "bad = [m for m in ('IPython', 'ipywidgets', 'ipykernel', 'matplotlib', 'tqdm')"
            " if m in sys.modules]\nprint(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def _cells(html_text: str) -> list[list[str]]:
    """Table rows as lists of cell texts (a tiny HTML parse of our own table markup)."""
    from html.parser import HTMLParser

    class P(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag == "tr":
                self.rows.append([])
            elif tag in ("td", "th"):
                self.rows[-1].append("")
                self.cell = True

        def handle_endtag(self, tag):
            if tag in ("td", "th"):
                self.cell = False

        def handle_data(self, data):
            if self.cell:
                self.rows[-1][-1] += data

    p = P()
    p.rows, p.cell = [], False
    p.feed(html_text)
    return p.rows


def test_model_html_summary_matches_the_text_summary():
    from glassnet.layers import Dense, Dropout
    from glassnet.models import Sequential

    m = Sequential([Dense(6, activation="relu", input_dim=11, name="h"), Dropout(0.1, name="dr"),
                    Dense(1, activation="sigmoid", name="o")])
    m.layers[0].trainable = False
    html_text = m._repr_html_()
    assert _cells(html_text) == [["Layer (type)", "Output Shape", "Param #"],
                                 ["h (Dense)", "(None, 6)", "72"],
                                 ["dr (Dropout)", "(None, 6)", "0"],
                                 ["o (Dense)", "(None, 1)", "7"]]
    assert "Total params: 79<br>Trainable params: 7<br>Non-trainable params: 72" in html_text
    assert repr(m).startswith("<Sequential")  # text/plain unchanged
    rows = _cells(_functional()._repr_html_())
    assert rows[0][-1] == "Connected to"
    assert ["cat (Concatenate)", "(None, 7)", "0", "a[0][0], hb[0][0]"] in rows


def test_tensor_html_shows_shape_dtype_value_and_grad():
    w = gn.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True, name="w")
    (w * w).sum().backward()
    h = w._repr_html_()
    assert "<b>w</b>" in h and "shape (2, 2)" in h and "float32" in h
    assert "[[1., 2.],\n [3., 4.]]" in h and "[[2., 4.],\n [6., 8.]]" in h
    big = gn.tensor(np.arange(1000.0))
    assert "..." in big._repr_html_() and len(big._repr_html_()) < 1000
    assert "op Mul" in (w * 2.0)._repr_html_()


def test_history_html_and_plot(tmp_path):
    mpimg = pytest.importorskip("matplotlib.image")
    from glassnet.layers import Dense
    from glassnet.models import Sequential

    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")
    m = Sequential([Dense(4, activation="relu", input_dim=3), Dense(1, activation="sigmoid")])
    m.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    h = m.fit(x, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0)
    rows = _cells(h._repr_html_())
    assert rows[0] == ["epoch", "loss", "accuracy", "val_loss", "val_accuracy"]
    assert [r[0] for r in rows[1:]] == ["1", "2", "3"]
    assert float(rows[3][1]) == pytest.approx(h.history["loss"][2], abs=1e-4)
    fig = h.plot(save=tmp_path / "h.png")
    assert len(fig.axes) == 2
    assert [ln.get_label() for ln in fig.axes[0].get_lines()] == ["train", "validation"]
    np.testing.assert_allclose(fig.axes[0].get_lines()[0].get_ydata(), h.history["loss"])
    assert mpimg.imread(tmp_path / "h.png")[..., :3].std() > 0.05
    assert len(h.plot("loss").axes) == 1
    with pytest.raises(ValueError, match="unknown metric.*'auc'.*Logged"):
        h.plot(["auc"])
    with pytest.raises(ValueError, match="no epochs"):
        gn.callbacks.History().plot()
    many = gn.callbacks.History()
    many.on_train_begin()
    for e in range(50):
        many.on_epoch_end(e, {"loss": 1.0 / (e + 1)})
    rows = _cells(many._repr_html_())
    assert len(rows) == 22 and rows[11] == ["…"] and rows[-1][0] == "50"


def test_gradcheck_report_html():
    rep = gn.gradcheck(lambda a: (a * a).sum(), np.array([1.0, 2.0]))
    rows = _cells(rep._repr_html_())
    assert "passed" in rep._repr_html_() and rows[0][0] == "input" and len(rows) == 2


def test_progress_bar_outside_a_notebook_without_a_terminal_is_none():
    from glassnet import _display

    assert not _display.in_notebook()
    assert _display.progress_bar(total=3) is None  # pytest captures stderr: not a tty


def test_liveplot_outside_a_notebook_writes_a_png_each_epoch(tmp_path):
    mpimg = pytest.importorskip("matplotlib.image")
    from glassnet.layers import Dense
    from glassnet.models import Sequential

    seen = []

    class Spy(gn.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append((tmp_path / "live.png").stat().st_mtime_ns)

    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 3)).astype("float32")
    m = Sequential([Dense(1, input_dim=3)])
    m.compile(optimizer="sgd", loss="mse")
    live = gn.callbacks.LivePlot(path=tmp_path / "live.png")
    h = m.fit(x, x[:, :1], epochs=3, validation_split=0.25, verbose=0, callbacks=[live, Spy()])
    assert len(seen) == 3
    assert live.logs["loss"] == pytest.approx(h.history["loss"])
    np.testing.assert_allclose(live.figure.axes[0].get_lines()[1].get_ydata(),
                               h.history["val_loss"], rtol=1e-6)
    assert mpimg.imread(tmp_path / "live.png")[..., :3].std() > 0.05
    with pytest.raises(ValueError, match="every.*0"):
        gn.callbacks.LivePlot(every=0)


def test_plot_model_subclassed_model_is_one_box_listing_its_layers():
    from glassnet.layers import Dense
    from glassnet.models import Model

    class Net(Model):
        def __init__(self):
            super().__init__(name="net")
            self.d1 = Dense(8, activation="relu", name="d1")
            self.d2 = Dense(1, name="d2")

        def call(self, x, training=False):
            return self.d2(self.d1(x))

    net = Net()
    net(np.ones((2, 4), "float32"))
    p = gn.utils.plot_model(net, show_shapes=True, show_layer_names=True)
    assert _texts(p.svg) == [["net (Net)", "subclassed; layers: d1, d2",
                              "output ? · 49 params"]]


def test_layer_gradient_report_is_a_dict_with_an_html_table():
    from glassnet._display import LayerGradientReport

    r = LayerGradientReport({"hidden": 1.5e-9, "out": 2.0e-10})
    assert dict(r) == {"hidden": 1.5e-9, "out": 2.0e-10}
    assert _cells(r._repr_html_())[1:] == [["hidden", "1.500e-09"], ["out", "2.000e-10"]]
