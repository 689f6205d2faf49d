"""The classic rules inside the layer API: a Dense(1) model trained by SGD reproduces the
perceptron (loss "perceptron") and Adaline (loss "sse") estimators update for update."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.classic import Adaline, Perceptron
from glassnet.layers import Dense
from glassnet.models import Sequential


def _iris_2d(datasets_dir, rows):
    X, y = gn.datasets.iris.load_data(download=False)
    X, y = X[rows][:, [0, 2]], y[rows]
    return X, np.where(y == y[0], -1.0, 1.0)


def _dense_like(w):
    """A Dense(1) model whose kernel/bias are the estimator's w_[1:], w_[0]."""
    model = Sequential([Dense(1, input_dim=len(w) - 1)])
    model.layers[0].set_weights([w[1:, None].copy(), w[:1].copy()])
    return model


def _record_weights(model, out):
    cb = gn.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: out.append(
            np.concatenate([model.layers[0].bias.data, model.layers[0].kernel.data[:, 0]])))
    return cb


@pytest.mark.parametrize("rows", [slice(0, 100), slice(50, 150)])
def test_perceptron_loss_with_sgd_is_the_perceptron_rule(rows, datasets_dir):
    X, y = _iris_2d(datasets_dir, rows)
    ref = Perceptron(eta=0.1, epochs=10, random_state=1)
    ref._init_weights(X.shape[1])
    w0 = ref.w_.copy()
    ref.fit(X, y)

    gn.set_seed(0)
    model = _dense_like(w0)
    model.compile(optimizer=gn.optimizers.SGD(learning_rate=2 * 0.1), loss="perceptron")
    seen = []
    model.fit(X, y, batch_size=1, epochs=10, shuffle=False, verbose=0,
              callbacks=[_record_weights(model, seen)])
    np.testing.assert_allclose(seen[-1], ref.w_, rtol=1e-4, atol=1e-5)
    errors = [int((np.where(X @ w[1:] + w[0] >= 0, 1, -1) != y).sum()) for w in seen]
    if rows.start == 0:  # setosa vs versicolor is separable: both reach 0 errors
        assert errors[-1] == 0 and ref.errors_[-1] == 0
    else:  # versicolor vs virginica is not: neither settles
        assert min(errors) > 0 and ref.errors_[-1] > 0


def test_sse_loss_with_full_batch_sgd_is_adaline(datasets_dir):
    X, y = _iris_2d(datasets_dir, slice(0, 100))
    X = (X - X.mean(0)) / X.std(0)
    ref = Adaline(eta=0.01, epochs=15, random_state=1)
    ref._init_weights(X.shape[1])
    w0 = ref.w_.copy()
    ref.fit(X, y)

    model = _dense_like(w0)
    model.compile(optimizer=gn.optimizers.SGD(learning_rate=0.01), loss="sse")
    seen = []
    model.fit(X, y, batch_size=len(X), epochs=15, shuffle=False, verbose=0,
              callbacks=[_record_weights(model, seen)])
    np.testing.assert_allclose(seen[-1], ref.w_, rtol=1e-4, atol=1e-5)
    cost = [0.5 * ((X @ w[1:] + w[0] - y) ** 2).sum() for w in [w0, *seen[:-1]]]
    np.testing.assert_allclose(cost, ref.cost_, rtol=1e-4)
