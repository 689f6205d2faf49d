"""Classic learners against the course's printed numbers and an independent NumPy reference."""

import numpy as np
import pytest

import glassnet as gn


def _iris(datasets_dir, rows=slice(0, 100)):
    raw = np.genfromtxt(datasets_dir / "iris" / "iris.data", delimiter=",", dtype=str)
    raw = raw[raw[:, 0] != ""]
    X = raw[rows][:, [0, 2]].astype(float)
    return X, raw[rows][:, 4]


def test_perceptron_reproduces_course_errors(datasets_dir):
    X, y = _iris(datasets_dir)
    p = gn.classic.Perceptron(eta=0.1, epochs=10, random_state=1).fit(X, y)
    # Printed in the course (seed 000): errors per epoch with random_state=1.
    assert p.errors_ == [1, 3, 3, 2, 1, 0, 0, 0, 0, 0]
    assert p.score(X, y) == 1.0
    assert set(p.predict(X)) == {"Iris-setosa", "Iris-versicolor"}


def test_perceptron_does_not_converge_on_versicolor_virginica(datasets_dir):
    X, y = _iris(datasets_dir, slice(50, 150))
    p = gn.classic.Perceptron(eta=0.1, epochs=50, random_state=1).fit(X, y)
    assert min(p.errors_) > 0


def test_perceptron_xor_never_reaches_zero():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float)
    p = gn.classic.Perceptron(eta=0.1, epochs=100, random_state=1).fit(X, [0, 1, 1, 0])
    assert min(p.errors_) > 0


def _adaline_reference(X, t, eta, epochs):
    w = np.random.RandomState(1).normal(0.0, 0.01, 1 + X.shape[1])
    costs = []
    for _ in range(epochs):
        out = X.dot(w[1:]) + w[0]
        err = t - out
        w[1:] += eta * X.T.dot(err)
        w[0] += eta * err.sum()
        costs.append((err**2).sum() / 2.0)
    return w, costs


@pytest.mark.parametrize("eta", [0.01, 0.0001])
def test_adaline_matches_reference(datasets_dir, eta):
    X, y = _iris(datasets_dir)
    t = np.where(y == "Iris-versicolor", 1.0, -1.0)
    a = gn.classic.Adaline(eta=eta, epochs=10, random_state=1).fit(X, y)
    w, costs = _adaline_reference(X, t, eta, 10)
    np.testing.assert_allclose(a.w_, w)
    np.testing.assert_allclose(a.cost_, costs)
    if eta == 0.01:
        assert a.cost_[-1] > a.cost_[0] * 1e20  # diverges
    else:
        assert np.all(np.diff(a.cost_) < 0)  # converges slowly


def test_adaline_standardized_converges(datasets_dir):
    X, y = _iris(datasets_dir)
    Xs = (X - X.mean(0)) / X.std(0)
    a = gn.classic.Adaline(eta=0.01, epochs=15, random_state=1).fit(Xs, y)
    assert a.cost_[-1] < 5 and a.score(Xs, y) == 1.0
    s = gn.classic.AdalineSGD(eta=0.01, epochs=15, random_state=1).fit(Xs, y)
    assert s.score(Xs, y) == 1.0 and s.cost_[-1] < s.cost_[0]
    w0 = s.w_.copy()
    s.partial_fit(Xs[:5], y[:5])
    assert s.w_.shape == w0.shape and not np.array_equal(s.w_, w0)


def test_sklearn_conventions():
    sklearn = pytest.importorskip("sklearn")
    from sklearn.base import clone
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    del sklearn
    p = gn.classic.Perceptron(eta=0.2, epochs=5)
    assert clone(p).get_params() == p.get_params()
    assert p.set_params(eta=0.3).eta == 0.3
    with pytest.raises(ValueError, match="invalid parameter"):
        p.set_params(lr=1)
    X = np.array([[0, 0], [0, 1], [3, 3], [3, 4]], float)
    pipe = make_pipeline(StandardScaler(), gn.classic.AdalineSGD(random_state=0))
    pipe.fit(X, [5, 5, 7, 7])
    assert pipe.score(X, [5, 5, 7, 7]) == 1.0


def test_bad_input_messages():
    with pytest.raises(ValueError, match="exactly 2 classes"):
        gn.classic.Perceptron().fit(np.zeros((3, 2)), [0, 1, 2])
    with pytest.raises(ValueError, match=r"Received: shape \(3,\)"):
        gn.classic.Adaline().fit(np.zeros(3), [0, 1, 1])
    with pytest.raises(RuntimeError, match="not fitted"):
        gn.classic.Perceptron().predict(np.zeros((1, 2)))
