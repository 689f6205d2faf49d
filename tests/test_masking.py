"""Masks as Keras 3 carries them: made by ``Embedding(mask_zero=True)`` / ``Masking``, passed
on by the layers that keep the time axis, changed by merges, ended by pooling and last
states, and read by the loss and the metrics, so padded steps count for nothing.
(test_fit_matches_keras trains masked models side by side with real Keras; these check the
pieces against NumPy formulas.)"""

import warnings

import numpy as np
import pytest

import glassnet as gn
from glassnet import layers as L

IDS = np.array([[3, 5, 2, 0, 0], [7, 1, 0, 0, 0], [4, 4, 4, 4, 9]])
KEEP = IDS != 0


def _mask(t):
    return t._keras_mask


def _embedded():
    return L.Embedding(10, 4, mask_zero=True)(IDS)


@pytest.mark.parametrize("layer", [
    lambda: L.Dense(3), lambda: L.Dropout(0.5), lambda: L.LayerNormalization(),
    lambda: L.BatchNormalization(), lambda: L.Activation("relu"), lambda: L.ReLU(),
    lambda: L.TimeDistributed(L.Dense(2)), lambda: L.LSTM(3, return_sequences=True),
    lambda: L.GRU(3, return_sequences=True), lambda: L.SimpleRNN(3, return_sequences=True),
    lambda: L.Bidirectional(L.LSTM(2, return_sequences=True)),
    lambda: L.RNN(L.LSTMCell(3), return_sequences=True), lambda: L.GaussianNoise(0.1),
], ids=["dense", "dropout", "layer_norm", "batch_norm", "activation", "relu",
        "time_distributed", "lstm", "gru", "simple_rnn", "bidirectional", "rnn_cell",
        "gaussian_noise"])
def test_layers_that_keep_the_time_axis_pass_the_mask_on(layer):
    y = layer()(_embedded(), training=True)
    np.testing.assert_array_equal(_mask(y), KEEP)


@pytest.mark.parametrize("layer", [
    lambda: L.LSTM(3), lambda: L.GlobalAveragePooling1D(),
    lambda: L.Bidirectional(L.GRU(2)),
], ids=["last_state", "average_pooling", "bidirectional_last"])
def test_layers_that_end_the_time_axis_end_the_mask(layer):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # they consume the mask: no warning
        y = layer()(_embedded())
    assert _mask(y) is None


def test_return_state_masks_the_sequence_only():
    y, h, c = L.LSTM(3, return_sequences=True, return_state=True)(_embedded())
    np.testing.assert_array_equal(_mask(y), KEEP)
    assert _mask(h) is None and _mask(c) is None


def test_a_layer_that_drops_the_mask_warns_as_keras_does():
    with pytest.warns(UserWarning, match=r"Layer 'flat'.*does not support masking"):
        y = L.Flatten(name="flat")(_embedded())
    assert _mask(y) is None


def test_a_layer_of_your_own_gets_the_mask_and_passes_it_on():
    seen = []

    class MeanOverKept(gn.layers.Layer):  # keras.io's "masking and padding" guide
        def call(self, x, mask=None):
            seen.append(mask)
            m = mask[..., None].astype("float32")
            return gn.ops.sum(x * m, axis=1) / m.sum(axis=1)

        def compute_mask(self, inputs, mask=None):
            return None  # the steps are averaged away

    class Scale(gn.layers.Layer):
        supports_masking = True

        def call(self, x):
            return x * 2.0

    e = _embedded()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # both handle the mask: no warning
        y = MeanOverKept()(Scale()(e))
    np.testing.assert_array_equal(seen[0], KEEP)
    ref = (e.data * 2 * KEEP[..., None]).sum(1) / KEEP.sum(1, keepdims=True)
    np.testing.assert_allclose(y.data, ref, rtol=1e-6)
    # compute_mask of its own makes a layer support masking by itself
    class Halve(gn.layers.Layer):
        def call(self, x):
            return x[:, ::2]

        def compute_mask(self, inputs, mask=None):
            return mask[:, ::2]

    np.testing.assert_array_equal(_mask(Halve()(e)), KEEP[:, ::2])


def test_merges_combine_masks_as_keras_does():
    e = _embedded()
    other_ids = np.array([[0, 5, 2, 1, 0], [7, 0, 0, 0, 0], [0, 0, 0, 0, 0]])
    other = L.Embedding(10, 4, mask_zero=True)(other_ids)
    both = KEEP | (other_ids != 0)
    np.testing.assert_array_equal(_mask(L.Add()([e, other])), both)
    np.testing.assert_array_equal(_mask(L.Average()([e, other])), both)
    plain = gn.tensor(np.ones((3, 5, 4), "float32"))
    assert _mask(L.Add()([e, plain])) is None  # one input without a mask: none
    # Concatenate: an input without a mask counts as all kept; along time, one after another
    np.testing.assert_array_equal(_mask(L.Concatenate()([e, plain])), np.ones((3, 5), bool))
    np.testing.assert_array_equal(_mask(L.Concatenate(axis=1)([e, plain])),
                                  np.concatenate([KEEP, np.ones((3, 5), bool)], axis=1))
    assert _mask(L.Dot(axes=2)([e, other])) is None


def test_average_pooling_averages_the_kept_steps_and_its_gradient_checks():
    e = _embedded()
    y = L.GlobalAveragePooling1D()(e)
    ref = (e.data * KEEP[..., None]).sum(1) / KEEP.sum(1, keepdims=True)
    np.testing.assert_allclose(y.data, ref, rtol=1e-6)
    pool = L.GlobalAveragePooling1D()
    gn.gradcheck(lambda x: pool(x, mask=KEEP), np.random.default_rng(0).normal(size=(3, 5, 2)))
    # a row with no kept step gives 0, not NaN
    z = pool(gn.tensor(np.ones((1, 3, 2), "float32")), mask=np.zeros((1, 3), bool))
    np.testing.assert_array_equal(z.data, 0.0)


def _masked_pred(p):
    t = gn.tensor(p)
    t._keras_mask = KEEP
    return t


def test_losses_average_over_the_kept_steps():
    rs = np.random.default_rng(0)
    logits = rs.normal(size=(3, 5, 4)).astype("float32")
    labels = rs.integers(0, 4, (3, 5))
    sw = rs.random(3).astype("float32")
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    per = -np.take_along_axis(logp, labels[..., None], -1)[..., 0]
    loss = gn.losses.SparseCategoricalCrossentropy(from_logits=True)
    assert float(loss(labels, _masked_pred(logits)).data) == pytest.approx(
        per[KEEP].mean(), rel=1e-5)
    w = sw[:, None] * KEEP  # per-sample weights spread over the steps
    assert float(loss(labels, _masked_pred(logits), sample_weight=sw).data) == pytest.approx(
        (per * w).sum() / KEEP.sum(), rel=1e-5)
    total = gn.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="sum")
    assert float(total(labels, _masked_pred(logits)).data) == pytest.approx(
        per[KEEP].sum(), rel=1e-5)
    each = gn.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="none")
    np.testing.assert_allclose(each(labels, _masked_pred(logits)).data, per * KEEP, rtol=1e-5)
    mse = gn.losses.MeanSquaredError()
    target = rs.normal(size=(3, 5, 4)).astype("float32")
    se = ((logits - target) ** 2).mean(-1)
    assert float(mse(target, _masked_pred(logits)).data) == pytest.approx(se[KEEP].mean(),
                                                                          rel=1e-5)
    # the gradient reaches the kept steps only
    p = _masked_pred(logits)
    p.requires_grad = True
    loss(labels, p).backward()
    assert not np.abs(p.grad[~KEEP]).any() and np.abs(p.grad[KEEP]).all()


def test_mean_with_sample_weight_divides_by_the_weights():
    loss = gn.losses.MeanSquaredError(reduction="mean_with_sample_weight")
    y, p, w = np.zeros((3, 1)), np.array([[1.0], [2.0], [3.0]]), np.array([1.0, 0.0, 3.0])
    assert float(loss(y, gn.tensor(p), sample_weight=w).data) == pytest.approx(28 / 4)
    assert float(loss(y, gn.tensor(p), sample_weight=np.zeros(3)).data) == 0.0


def test_metrics_count_the_kept_steps():
    rs = np.random.default_rng(1)
    p = rs.random((3, 5, 4)).astype("float32")
    labels = rs.integers(0, 4, (3, 5))
    hit = p.argmax(-1) == labels
    acc = gn.metrics.SparseCategoricalAccuracy()
    acc.update_state(labels, _masked_pred(p))
    assert acc.result() == pytest.approx(hit[KEEP].mean())
    sw = rs.random((3, 5))  # per-step weights and the mask together
    acc = gn.metrics.SparseCategoricalAccuracy()
    acc.update_state(labels, _masked_pred(p), sample_weight=sw)
    assert acc.result() == pytest.approx((hit * sw * KEEP).sum() / (sw * KEEP).sum())
    # per-sample weights on per-step values, no mask: each sample's mean, weighted
    acc = gn.metrics.SparseCategoricalAccuracy()
    acc.update_state(labels, p, sample_weight=[1.0, 0.0, 2.0])
    assert acc.result() == pytest.approx((hit[0].mean() + 2 * hit[2].mean()) / 3)
    # RootMeanSquaredError is a plain Mean in Keras: it reads no mask
    rmse = gn.metrics.RootMeanSquaredError()
    rmse.update_state(np.zeros((3, 5, 4)), _masked_pred(p))
    assert rmse.result() == pytest.approx(np.sqrt((p.astype(float) ** 2).mean()))


def _tagger(jit):
    gn.set_seed(3)
    m = gn.Sequential([gn.Input((None,), dtype="int64"), L.Embedding(12, 4, mask_zero=True),
                       L.LSTM(5, return_sequences=True), L.Dense(3, activation="softmax")])
    m.compile(optimizer=gn.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
              metrics=["accuracy"], jit_compile=jit)
    return m


def _padded(n=48, t=6, seed=0):
    rs = np.random.default_rng(seed)
    ids = rs.integers(1, 12, (n, t)) * (np.arange(t) < rs.integers(1, t + 1, (n, 1)))
    return ids, rs.integers(0, 3, (n, t))


def test_a_masked_model_trains_the_same_with_and_without_jit_compile():
    """The padding differs from batch to batch: a replayed step would reuse the first
    batch's mask, so masked steps are never replayed; both settings give the same bits."""
    ids, y = _padded()
    runs = []
    for jit in (True, False, "auto"):
        m = _tagger(jit)
        h = m.fit(ids, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
        runs.append((h.history, [w.copy() for w in m.get_weights()]))
    for hist, weights in runs[1:]:
        assert hist == runs[0][0]
        for a, b in zip(weights, runs[0][1]):
            np.testing.assert_array_equal(a, b)


def test_masked_loss_equals_evaluate_and_the_numpy_formula():
    ids, y = _padded(seed=1)
    m = _tagger("auto")
    m.compile(optimizer=gn.optimizers.SGD(0.0), loss="sparse_categorical_crossentropy",
              metrics=["accuracy"])
    h = m.fit(ids, y, batch_size=48, epochs=1, verbose=0, validation_data=(ids, y))
    ev = m.evaluate(ids, y, batch_size=48, verbose=0, return_dict=True)
    p = m.predict(ids, verbose=0).astype(np.float64)
    keep = ids != 0
    ce = -np.log(np.take_along_axis(p, y[..., None], -1)[..., 0])
    acc = (p.argmax(-1) == y)[keep].mean()
    for got in (h.history["loss"][0], h.history["val_loss"][0], ev["loss"]):
        assert got == pytest.approx(ce[keep].mean(), rel=1e-5)
    for got in (h.history["accuracy"][0], h.history["val_accuracy"][0], ev["accuracy"]):
        assert got == pytest.approx(acc)


def first_steps(inputs, mask=None):
    return mask[:, :2]


def test_lambda_takes_a_mask_function_or_array_and_passes_the_mask_to_its_function(tmp_path):
    got = []

    def keep_and_record(x, mask=None):
        got.append(mask)
        return x[:, :2]

    y = L.Lambda(keep_and_record, mask=first_steps)(_embedded())
    np.testing.assert_array_equal(got[0], KEEP)
    np.testing.assert_array_equal(_mask(y), KEEP[:, :2])
    fixed = np.array([[True, False]] * 3)
    np.testing.assert_array_equal(_mask(L.Lambda(lambda x: x[:, :2], mask=fixed)(_embedded())),
                                  fixed)
    with pytest.warns(UserWarning, match="does not support masking"):  # mask=None drops it
        assert _mask(L.Lambda(lambda x: x * 1.0)(_embedded())) is None
    # saved by the mask function's name, found again through custom_objects
    def double(x):
        return x * 2.0

    m = gn.Sequential([gn.Input((5,), dtype="int64"), L.Embedding(10, 4, mask_zero=True),
                       L.Lambda(double, mask=first_steps)])
    m.save(tmp_path / "m.glassnet")  # (.keras files never hold a Lambda: Keras's is code)
    back = gn.saving.load_model(tmp_path / "m.glassnet",
                                custom_objects={"double": double, "first_steps": first_steps})
    np.testing.assert_array_equal(_mask(back(IDS)), KEEP[:, :2])
    with pytest.raises(ValueError, match="mask must be a function"):
        gn.Sequential([gn.Input((5, 4)), L.Lambda(double, mask=fixed)]).save(
            tmp_path / "x.glassnet")


def test_a_call_with_two_tensors_gets_name_masks_not_mask():
    """Keras 3: with one tensor argument, ``mask=``; with several, ``<argument>_mask`` for
    each that has a mask, and no ``mask``."""
    got = {}

    class Two(gn.layers.Layer):
        supports_masking = True

        def call(self, inputs, context, mask=None, inputs_mask=None, context_mask=None):
            got.update(mask=mask, inputs_mask=inputs_mask, context_mask=context_mask)
            return inputs + context

    e = _embedded()
    y = Two()(e, gn.tensor(np.ones((3, 5, 4), "float32")))
    assert got["mask"] is None and got["context_mask"] is None
    np.testing.assert_array_equal(got["inputs_mask"], KEEP)
    np.testing.assert_array_equal(_mask(y), KEEP)  # the output keeps the first's mask


def test_a_loss_that_returns_its_own_mean_is_kept_under_a_mask_and_scaled_by_weights():
    """Keras broadcasts a scalar loss against the weights: a mask's weights alone leave it
    as it is (their mean is 1), sample weights scale it by their mean."""
    loss = gn.losses.get(lambda t, p: gn.ops.mean(gn.ops.square(p)))
    p = _masked_pred(np.full((3, 5, 1), 2.0, "float32"))
    assert float(loss(np.zeros((3, 5, 1)), p).data) == pytest.approx(4.0)
    plain = gn.tensor(np.full((3, 1), 2.0, "float32"))
    assert float(loss(np.zeros((3, 1)), plain, sample_weight=np.array([1.0, 2.0, 6.0])).data
                 ) == pytest.approx(4.0 * 3.0)


def test_symbolic_tensor_keras_mask_as_keras():
    """``x._keras_mask`` on a functional-API tensor (keras.io's masking guide prints it): the
    mask's shape as Keras's KerasTensor gives it, None where no mask reaches the output."""
    import glassnet as gn
    from glassnet import layers as L

    i = gn.Input(shape=(None,), dtype="int32")
    e = L.Embedding(50, 4, mask_zero=True)(i)
    assert e._keras_mask.shape == (None, None) and e._keras_mask.dtype == "bool"
    assert L.Dense(3)(e)._keras_mask.shape == (None, None)  # Dense passes masks on
    assert L.LSTM(3)(e)._keras_mask is None  # the mask ends at the last state
    assert L.Dense(3)(gn.Input(shape=(4,)))._keras_mask is None
    fixed = L.Embedding(50, 4, mask_zero=True)(gn.Input(shape=(7,), dtype="int32"))
    assert repr(fixed._keras_mask) == "<SymbolicMask shape=(None, 7), dtype=bool>"
