"""gn.plot: each picture is a valid, non-blank PNG and rejects bad input by name."""

import numpy as np
import pytest

import glassnet as gn

pytest.importorskip("matplotlib")


def _check_png(path):
    import matplotlib.image as mpimg

    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[0] > 50 and img.shape[1] > 50
    assert img[..., :3].std() > 0.01  # not a uniform (blank) picture


def _toy():
    X = np.array([[0, 0], [0, 1], [3, 3], [3, 4], [1, 0], [4, 3]], float)
    return X, np.array([0, 0, 1, 1, 0, 1])


def test_errors_costs_regions(tmp_path):
    X, y = _toy()
    p = gn.classic.Perceptron(eta=0.1, epochs=5, random_state=1).fit(X, y)
    gn.plot.errors(p, save=tmp_path / "e.png")
    _check_png(tmp_path / "e.png")
    a = gn.classic.Adaline(eta=0.001, epochs=5).fit(X, y)
    fig = gn.plot.costs(a, [3.0, 2.0, 1.0], labels=["ada", "list"], save=tmp_path / "c.png")
    assert len(fig.axes) == 2
    _check_png(tmp_path / "c.png")
    gn.plot.decision_regions(p, X, y, resolution=0.05, save=tmp_path / "d.png")
    _check_png(tmp_path / "d.png")


def test_decision_regions_thresholds_probabilities(tmp_path):
    X, y = _toy()

    class Prob:
        def predict(self, Z):
            return 1 / (1 + np.exp(-(Z.sum(1, keepdims=True) - 4)))

    fig = gn.plot.decision_regions(Prob(), X, y, resolution=0.1)
    fig.savefig(tmp_path / "p.png")
    _check_png(tmp_path / "p.png")
    with pytest.raises(ValueError, match=r"shape \(n, 2\). Received: shape \(6, 3\)"):
        gn.plot.decision_regions(Prob(), np.zeros((6, 3)), y)


def test_history_grid_confusion(tmp_path):
    pytest.importorskip("sklearn")
    h = {"loss": [1.0, 0.5, 0.2], "val_loss": [1.1, 0.7, 0.4], "accuracy": [0.5, 0.8, 0.9]}
    fig = gn.plot.history(h, save=tmp_path / "h.png")
    assert len(fig.axes) == 2
    _check_png(tmp_path / "h.png")
    gn.set_seed(0)
    imgs = gn.backend.rng().random((5, 8, 8))
    gn.plot.image_grid(imgs, labels=list("abcde"), ncols=3, save=tmp_path / "g.png")
    _check_png(tmp_path / "g.png")
    fig = gn.plot.confusion_matrix([0, 1, 1, 2], [0, 1, 2, 2], save=tmp_path / "m.png")
    texts = sorted(t.get_text() for t in fig.axes[0].texts)
    assert texts == sorted(["1", "0", "0", "0", "1", "1", "0", "0", "1"])
    _check_png(tmp_path / "m.png")
    # Integer ids with display names (what a run's report passes): counts must not vanish.
    y, p = np.array([0, 1, 1, 2, 2, 2]), np.array([0, 1, 2, 2, 2, 0])
    fig = gn.plot.confusion_matrix(y, p, labels=np.arange(3), display_labels=["a", "b", "c"])
    from sklearn.metrics import confusion_matrix as sk_cm

    cells = [int(t.get_text()) for t in fig.axes[0].texts]
    assert cells == sk_cm(y, p).ravel().tolist()
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["a", "b", "c"]
    with pytest.raises(ValueError, match="display_labels"):
        gn.plot.confusion_matrix(y, p, display_labels=["a"])
    with pytest.raises(ValueError, match="errors_"):
        gn.plot.errors(object())
    with pytest.raises(ValueError, match=r"Received: shape \(3,\)"):
        gn.plot.image_grid(np.zeros(3))


def test_activation_zoo_derivatives_match_formula(tmp_path):
    fig = gn.plot.activations(save=tmp_path / "a.png")
    assert len(fig.axes) == 9
    _check_png(tmp_path / "a.png")
    line_x, line_y = fig.axes[2].lines[0].get_data()
    _, line_dy = fig.axes[2].lines[1].get_data()
    s = 1 / (1 + np.exp(-line_x))
    np.testing.assert_allclose(line_y, s, rtol=1e-6)
    np.testing.assert_allclose(line_dy, s * (1 - s), rtol=1e-6)


def test_graph_draws_every_node(tmp_path):
    x = gn.tensor([1.0, 2.0], requires_grad=True)
    w = gn.tensor([3.0, 4.0], requires_grad=True)
    y = gn.ops.sigmoid((x * w).sum())
    fig = gn.plot.graph(y, save=tmp_path / "g.png")
    labels = [t.get_text().splitlines()[0] for t in fig.axes[0].texts if t.get_text()]
    assert labels == [n.op for n in gn.graph(y).nodes]
    assert len(labels) == 5
    _check_png(tmp_path / "g.png")
