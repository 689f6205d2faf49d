"""One process: the optimizer keeps a model's weights as views of one flat array
(``Optimizer._flatten_weights``) and subtracts each step in one pass. The same bits as a
subtraction per weight, and a weight replaced between steps is taken in, never lost."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet import _optimizer_base as ob
from glassnet import layers as L


def _model(opt):
    gn.set_seed(3)
    m = gn.Sequential([L.Dense(8, activation="tanh", input_dim=4), L.LayerNormalization(),
                       L.Dense(3, activation="softmax")])
    m.compile(optimizer=opt, loss="sparse_categorical_crossentropy")
    return m


def _data():
    r = np.random.default_rng(0)
    x = r.standard_normal((64, 4)).astype("float32")
    return x, (x[:, 0] > 0).astype(int) + (x[:, 1] > 0).astype(int)


@pytest.mark.parametrize("opt", ["sgd", "adam", "rmsprop", "adagrad", "nadam"])
def test_flat_weights_train_the_same_bits_as_one_update_per_weight(monkeypatch, opt):
    x, y = _data()
    flat = _model(opt)
    flat.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False)
    if type(flat.optimizer)._rule is ob.Optimizer._rule:  # the rule subtracts its step
        w = flat.optimizer._wflat
        assert w is not None
        assert all(p.data.base is w[0] for p in flat.trainable_weights)
    monkeypatch.setattr(ob.Optimizer, "_flatten_weights", lambda self, *a: None)
    each = _model(opt)
    each.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False)
    assert each.optimizer._wflat is None
    for a, b in zip(flat.get_weights(), each.get_weights()):
        assert a.tobytes() == b.tobytes()


def test_a_weight_replaced_between_steps_is_taken_in():
    x, y = _data()
    m = _model(gn.optimizers.SGD(0.1))
    m.train_on_batch(x[:16], y[:16])  # recorded: the ordinary step
    m.train_on_batch(x[:16], y[:16])  # replayed: the weights become flat
    k = m.layers[0].kernel
    view = k.data
    assert view.base is m.optimizer._wflat[0]
    new = np.full(k.data.shape, 0.25, "float32")
    k.data = new  # replaced, not written into: the next step starts from these values
    ref = _model(gn.optimizers.SGD(0.1))
    ref.set_weights(m.get_weights())
    m.train_on_batch(x[16:32], y[16:32])
    assert k.data is view  # back in the flat weights, holding the step from 0.25
    ref.optimizer._flatten_weights = lambda *a: None  # type: ignore[method-assign]
    ref.train_on_batch(x[16:32], y[16:32])
    for a, b in zip(m.get_weights(), ref.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(k.data, new)


def test_an_array_of_another_kind_ends_the_flat_weights():
    # the training step's protocol (models/step.py): gradients into the views, then update
    p = gn.tensor(np.ones((3, 2), "float32"), requires_grad=True)
    q = gn.tensor(np.ones(4, "float32"), requires_grad=True)
    opt = gn.optimizers.SGD(0.5)
    params = (p, q)

    def step():
        for v in opt._grad_views(params, flat=True):
            v[...] = 0.5
        opt._update(params)

    step()
    assert opt._wflat is not None and p.data.base is opt._wflat[0]
    p.data = p.data.astype(np.float64)  # not the flat dtype: updated on its own from now
    step()
    assert opt._wflat is None and p.data.dtype == np.float64
    np.testing.assert_allclose(p.data, 0.5)  # 1 - 0.25 - 0.25
    np.testing.assert_allclose(q.data, 0.5)
    step()  # stays off for this group
    assert opt._wflat is None
    np.testing.assert_allclose(p.data, 0.25)


def test_step_by_hand_updates_each_array_in_place():
    # optimizer.step(params) called by hand never swaps a param's array, even after a
    # model's training step made the same weights flat
    x, y = _data()
    m = _model(gn.optimizers.SGD(0.1))
    m.fit(x, y, batch_size=16, epochs=1, verbose=0)
    p = gn.tensor(np.ones((3, 2), "float32"), requires_grad=True)
    buf = p.data
    opt = gn.optimizers.SGD(0.5)
    for _ in range(3):
        p.grad = np.full((3, 2), 0.5, "float32")
        opt.step([p])
    assert p.data is buf and opt._wflat is None
    np.testing.assert_allclose(buf, 1 - 3 * 0.25)


def test_shared_weights_refuse_an_array_of_another_kind():
    # the data-parallel layout (ranks sharing the weights): a replacement of the same kind
    # is taken in, another dtype is an error naming both
    p = gn.tensor(np.ones((3, 2), "float32"), requires_grad=True)
    opt = gn.optimizers.SGD(0.1)
    w = np.zeros(6, "float32")
    views = [w.reshape(3, 2)]
    opt._wshared = (w, views, [p])
    opt._check_shared_weights([p])
    assert p.data is views[0] and np.all(w == 1.0)
    p.data = np.full((3, 2), 2.0, "float32")
    opt._check_shared_weights([p])
    assert p.data is views[0] and np.all(w == 2.0)
    p.data = np.ones((3, 2))
    with pytest.raises(RuntimeError, match=r"shape \(3, 2\) was replaced .* float64"):
        opt._check_shared_weights([p])
