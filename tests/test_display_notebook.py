"""A notebook of display checks, run in a real Jupyter kernel: the MIME types Jupyter gets.

The graph and ``plot_model`` arrive as ``image/svg+xml``, a model and a History as
``text/html``, ``History.plot()`` as ``image/png``, and ``fit(verbose=1)`` without ipywidgets
writes its epoch lines to stdout and nothing at all to stderr (no ``TqdmWarning``).
"""

import pytest

nbformat = pytest.importorskip("nbformat", reason="the `notebooks` extra is not installed")
nbclient = pytest.importorskip("nbclient", reason="the `notebooks` extra is not installed")
pytest.importorskip("ipykernel", reason="the `notebooks` extra is not installed")
pytest.importorskip("matplotlib", reason="History.plot needs matplotlib")

CELLS = {
    "setup": """
import sys
sys.modules["ipywidgets"] = None   # as if ipywidgets were not installed
import numpy as np
import glassnet as gn
from glassnet.layers import Dense
from glassnet.models import Sequential
gn.set_seed(0)
x = gn.tensor(1.0, requires_grad=True, name="x")
y = gn.tensor(3.0, requires_grad=True, name="y")
z = gn.tensor(-3.0, requires_grad=True, name="z")
g = (x + y) * z
g.backward()
rng = np.random.default_rng(0)
data = rng.standard_normal((200, 4)).astype("float32")
labels = (data[:, 0] > 0).astype("float32")
model = Sequential([Dense(8, activation="relu", input_dim=4, name="hidden"),
                    Dense(1, activation="sigmoid", name="out")])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
""",
    "graph": "gn.graph(g)",
    "plot_model": "gn.utils.plot_model(model, show_shapes=True)",
    "model": "model",
    "fit": "history = model.fit(data, labels, epochs=2, batch_size=16, validation_split=0.2, "
           "verbose=1)\nmodel.evaluate(data, labels, verbose=1)\n"
           "_ = model.predict(data, verbose=1)",
    "history": "history",
    "history_plot": "history.plot()",
    "tensor": "x",
    "gradcheck": "gn.gradcheck(lambda a: (a * a).sum(), np.array([1.0, 2.0]))",
    "liveplot": "_ = model.fit(data, labels, epochs=3, verbose=0, validation_split=0.2, "
                "callbacks=[gn.callbacks.LivePlot()])",
}


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """Each check cell's outputs, keyed by the cell's name."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src.strip())
                                         for src in CELLS.values()])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    cwd = tmp_path_factory.mktemp("display_nb")
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(cwd)}}).execute()
    return {name: cell.outputs for name, cell in zip(CELLS, nb.cells)}


def _mimes(outs) -> list[set]:
    return [set(o.get("data", {})) for o in outs
            if o.output_type in ("execute_result", "display_data")]


def test_no_cell_writes_to_stderr_or_fails(outputs):
    for name, outs in outputs.items():
        for o in outs:
            assert o.output_type != "error", (name, o.get("evalue"))
            assert not (o.output_type == "stream" and o.name == "stderr"), (name, o.text)


def test_graph_and_plot_model_are_svg(outputs):
    for name in ("graph", "plot_model"):
        (data,) = [o.data for o in outputs[name] if o.output_type == "execute_result"]
        assert "image/svg+xml" in data and "text/plain" in data
        assert data["image/svg+xml"].lstrip().startswith("<svg")
    svg = [o.data for o in outputs["graph"]][0]["image/svg+xml"]
    assert "value -12" in svg and "grad 4" in svg
    assert "Graph 5 nodes" in [o.data for o in outputs["graph"]][0]["text/plain"]


def test_model_history_tensor_and_gradcheck_are_html(outputs):
    for name, needle in (("model", "Total params: 49"), ("history", "val_accuracy"),
                         ("tensor", "grad"), ("gradcheck", "gradcheck passed")):
        (data,) = [o.data for o in outputs[name] if o.output_type == "execute_result"]
        assert "text/html" in data and needle in data["text/html"], name


def test_history_plot_is_png(outputs):
    import base64

    pngs = [o.data["image/png"] for o in outputs["history_plot"]
            if "image/png" in o.get("data", {})]
    assert len(pngs) == 1  # shown once, not once more by a pyplot backend
    assert base64.b64decode(pngs[0])[:8] == b"\x89PNG\r\n\x1a\n"


def test_fit_verbose_without_ipywidgets_prints_epoch_lines_only(outputs):
    text = "".join(o.text for o in outputs["fit"] if o.output_type == "stream")
    assert "Epoch 1/2" in text and "Epoch 2/2" in text and "val_loss" in text
    assert "Warning" not in text and "IProgress" not in text


def test_liveplot_redraws_one_figure_in_place(outputs):
    shown = [o for o in outputs["liveplot"] if "image/png" in o.get("data", {})]
    assert len(shown) == 1  # three epochs, one display updated in place


def test_fit_verbose_with_ipywidgets_draws_a_widget_bar(tmp_path):
    pytest.importorskip("ipywidgets", reason="ipywidgets is not installed (`notebooks` extra)")
    src = ("import numpy as np, glassnet as gn\n"
           "from glassnet.layers import Dense\nfrom glassnet.models import Sequential\n"
           "m = Sequential([Dense(1, input_dim=3)])\nm.compile(optimizer='sgd', loss='mse')\n"
           "x = np.ones((64, 3), 'float32')\n"
           "_ = m.fit(x, x[:, :1], epochs=2, batch_size=16, verbose=1)")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src)])
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outs = nb.cells[0].outputs
    widgets = [o for o in outs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(widgets) == 2  # one bar per epoch
    assert not [o for o in outs if o.output_type == "stream" and o.name == "stderr"]
    text = "".join(o.text for o in outs if o.output_type == "stream")
    assert "Epoch 1/2" in text and "Epoch 2/2" in text
