"""gn.graph: the table, the node list, DOT/SVG output, and the course's example (seed 004)."""

import importlib.util
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn

ROOT = Path(__file__).resolve().parents[1]


def course_graph():
    x = gn.tensor(1.0, requires_grad=True, name="x")
    y = gn.tensor(3.0, requires_grad=True, name="y")
    z = gn.tensor(-3.0, requires_grad=True, name="z")
    p = x + y
    p.name = "p"
    g = p * z
    g.name = "g"
    return g


def test_course_example_values_and_gradients():
    g = course_graph()
    g.backward()
    gr = gn.graph(g)
    # course (seed 004): p = 4, g = -12, dg/dx = dg/dy = -3, dg/dz = 4
    assert gr["p"].value.item() == 4.0
    assert gr["g"].value.item() == -12.0
    assert gr["x"].grad.item() == -3.0
    assert gr["y"].grad.item() == -3.0
    assert gr["z"].grad.item() == 4.0
    # interior nodes carry their gradient too: dg/dp = z, dg/dg = 1
    assert gr["p"].grad.item() == -3.0
    assert gr["g"].grad.item() == 1.0


def test_nodes_are_in_topological_order_with_input_ids():
    g = course_graph()
    nodes = gn.graph(g).nodes
    assert [n.id for n in nodes] == list(range(len(nodes)))
    for n in nodes:
        assert all(i < n.id for i in n.inputs)
    by = {n.name: n for n in nodes}
    assert by["p"].op == "Add" and by["g"].op == "Mul"
    assert {nodes[i].name for i in by["p"].inputs} == {"x", "y"}
    assert {nodes[i].name for i in by["g"].inputs} == {"p", "z"}
    assert by["x"].op == "input" and by["x"].inputs == ()
    assert nodes[-1].name == "g"


def test_grad_column_is_empty_before_backward_and_filled_after():
    g = course_graph()
    before = gn.graph(g)
    assert all(n.grad is None for n in before.nodes)
    g.backward()
    text = str(gn.graph(g))
    lines = text.splitlines()
    assert lines[0].split() == ["id", "name", "op", "inputs", "shape", "value", "grad"]
    row = {ln.split()[1]: ln.split() for ln in lines[2:]}
    assert row["x"][-2:] == ["1", "-3"]
    assert row["p"][2:4] == ["Add", "0,1"]
    assert row["g"][-2:] == ["-12", "1"]
    assert row["z"][-2:] == ["-3", "4"]


def test_constants_appear_as_nodes():
    x = gn.tensor([1.0, 2.0], requires_grad=True)
    y = (x + 3.0) * -3.0
    y.sum().backward()
    nodes = gn.graph(y).nodes
    consts = [n for n in nodes if n.op == "const"]
    assert sorted(float(c.value) for c in consts) == [-3.0, 3.0]
    assert all(c.grad is None for c in consts)


def test_large_values_are_summarised_small_ones_exact():
    gn.set_seed(1)
    w = gn.tensor(gn.backend.rng().standard_normal((50, 4)), requires_grad=True, name="d/kernel")
    b = gn.tensor([0.5, -1.0], requires_grad=True)
    loss = (w * w).sum() + b.sum()
    loss.backward()
    text = str(gn.graph(loss))
    wrow = next(ln for ln in text.splitlines() if "d/kernel" in ln)
    a = w.data.astype(np.float64)
    assert f"min {a.min():.4g} mean {a.mean():.4g} max {a.max():.4g}" in wrow
    g = 2 * a
    assert f"min {g.min():.4g} mean {g.mean():.4g} max {g.max():.4g}" in wrow
    brow = next(ln for ln in text.splitlines() if "(2,)" in ln and "input" in ln)
    assert "[ 0.5, -1. ]" in brow


def test_shared_subgraph_appears_once():
    x = gn.tensor(2.0, requires_grad=True)
    h = x * x
    y = h + h
    y.backward()
    gr = gn.graph(y)
    assert len(gr) == 3  # x, h, y
    assert gr.nodes[2].inputs == (1, 1)
    assert gr.nodes[0].grad.item() == 8.0  # d(2x^2)/dx at 2


def test_deep_chain_does_not_recurse():
    x = gn.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(20_000):
        y = y + 1.0
    assert len(gn.graph(y)) == 1 + 2 * 20_000


def test_graph_survives_released_backward():
    g = course_graph()
    g.backward()  # releases the graph for a second backward, but it stays inspectable
    assert len(gn.graph(g)) == 5


def test_to_dot_contains_nodes_edges_values_and_grads():
    g = course_graph()
    g.backward()
    dot = gn.graph(g).to_dot()
    assert dot.startswith("digraph")
    assert dot.rstrip().endswith("}")
    assert dot.count(" -> ") == 4
    assert "n0 -> n2;" in dot and "n2 -> n4;" in dot and "n3 -> n4;" in dot
    assert 'label="g: Mul\\nshape ()\\nvalue -12\\ngrad 1"' in dot
    assert 'label="x: input\\nshape ()\\nvalue 1\\ngrad -3"' in dot


def test_dot_escapes_quotes_in_names():
    x = gn.tensor(1.0, requires_grad=True, name='say "hi"')
    dot = gn.graph(x * 2.0).to_dot()
    assert 'say \\"hi\\"' in dot


def test_save_dot(tmp_path):
    g = course_graph()
    g.backward()
    p = gn.graph(g).save(tmp_path / "sub" / "g.dot")
    assert p.read_text() == gn.graph(g).to_dot()


def test_save_svg_with_graphviz(tmp_path):
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's `dot` program is not installed; .svg output needs it")
    g = course_graph()
    g.backward()
    p = gn.graph(g).save(tmp_path / "g.svg", engine="graphviz")
    svg = p.read_text()
    # Graphviz writes '-' as the entity &#45;
    assert "<svg" in svg and "value &#45;12" in svg and "grad 4" in svg


def test_graphviz_engine_without_dot_names_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="Graphviz.*dot.*engine='glassnet'"):
        gn.graph(course_graph()).save(tmp_path / "g.svg", engine="graphviz")


def test_save_rejects_unknown_suffix(tmp_path):
    with pytest.raises(ValueError, match=r"\.dot, \.gv, \.svg or \.png.*g\.pdf"):
        gn.graph(course_graph()).save(tmp_path / "g.pdf")


def test_graph_rejects_non_tensors():
    with pytest.raises(TypeError, match="Received: ndarray"):
        gn.graph(np.ones(3))
    with pytest.raises(TypeError, match="at least one"):
        gn.graph()


def test_unknown_name_lookup_lists_names():
    with pytest.raises(KeyError, match="Names here"):
        gn.graph(course_graph())["nope"]


def test_example_script_prints_course_numbers(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location(
        "cg_example", ROOT / "examples" / "computational_graph.py"
    )
    mod = importlib.util.module_from_spec(spec)
    sys.modules["cg_example"] = mod
    spec.loader.exec_module(mod)
    path = mod.main(["--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "p = 4, g = -12" in out
    assert "dg/dx = -3, dg/dy = -3, dg/dz = 4" in out
    assert path.exists() and path.parent == tmp_path
    assert path.suffix == ".svg" and "value -12" in path.read_text()


def test_ops_describe_their_settings():
    x = gn.tensor(np.ones((2, 3)), requires_grad=True)
    y = gn.concatenate([x.transpose(1, 0), x.T], axis=1).sum(axis=0)
    ops = [n.op for n in gn.graph(y).nodes if n.inputs]
    assert ops == ["Transpose(1, 0)", "Transpose", "Concatenate(axis=1)", "Sum(axis=0)"]
