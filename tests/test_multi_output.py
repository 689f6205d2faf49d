"""Keras's compile structures ([keras-compat] items 2, 3, 6): several outputs with loss lists
and dicts, loss_weights, per-output metrics and their log names; custom losses and metrics;
metric names as the user wrote them."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import layers as L


def _two_heads():
    gn.set_seed(0)
    i = gn.Input(shape=(4,), name="x")
    h = L.Dense(8, activation="relu")(i)
    reg = L.Dense(1, name="price")(h)
    cls = L.Dense(3, activation="softmax", name="kind")(h)
    return gn.Model(i, [reg, cls])


def _data(n=40):
    r = np.random.default_rng(0)
    x = r.standard_normal((n, 4)).astype(np.float32)
    return x, x[:, :1] * 2.0, (x[:, 1] > 0).astype(int) + (x[:, 2] > 0).astype(int)


def _per_output(m, x, yr, yc):
    """Each output's loss computed from predict() with NumPy."""
    pr, pc = m.predict(x, verbose=0)
    mse = float(((pr - yr) ** 2).mean())
    ce = float(-np.log(np.clip(pc[np.arange(len(yc)), yc], 1e-7, 1)).mean())
    return mse, ce


@pytest.mark.parametrize("weights", [None, [1.0, 0.0], {"price": 0.5, "kind": 2.0},
                                     [0.0, 0.0]])
def test_loss_weights_weigh_each_output_loss(weights):
    m = _two_heads()
    m.compile(optimizer=gn.optimizers.SGD(0.0),
              loss={"price": "mse", "kind": "sparse_categorical_crossentropy"},
              loss_weights=weights)
    x, yr, yc = _data()
    ev = m.evaluate(x, {"price": yr, "kind": yc}, verbose=0, return_dict=True)
    mse, ce = _per_output(m, x, yr, yc)
    w = {None: (1, 1), 0: (1, 0), 1: (0.5, 2), 2: (0, 0)}[
        None if weights is None else [[1.0, 0.0], {"price": 0.5, "kind": 2.0},
                                      [0.0, 0.0]].index(weights)]
    np.testing.assert_allclose(ev["price_loss"], mse, rtol=1e-5)
    np.testing.assert_allclose(ev["kind_loss"], ce, rtol=1e-4)
    np.testing.assert_allclose(ev["loss"], w[0] * mse + w[1] * ce, rtol=1e-4, atol=1e-7)


def test_loss_list_and_per_output_metrics_are_logged_by_output_name():
    m = _two_heads()
    m.compile(optimizer="adam", loss=["mse", "sparse_categorical_crossentropy"],
              metrics={"price": ["mae"], "kind": ["accuracy"]})
    x, yr, yc = _data()
    h = m.fit(x, [yr, yc], epochs=2, batch_size=10, verbose=0, validation_split=0.25)
    assert set(h.history) == {"loss", "price_loss", "kind_loss", "price_mae",
                              "kind_accuracy", "val_loss", "val_price_loss", "val_kind_loss",
                              "val_price_mae", "val_kind_accuracy"}
    pr, pc = m.predict(x, verbose=0)
    ev = m.evaluate(x, [yr, yc], verbose=0, return_dict=True)
    np.testing.assert_allclose(ev["price_mae"], np.abs(pr - yr).mean(), rtol=1e-5)
    np.testing.assert_allclose(ev["kind_accuracy"], (pc.argmax(1) == yc).mean())
    assert isinstance(m.evaluate(x, [yr, yc], verbose=0), list)  # [loss, per output, metrics]


def test_an_output_without_a_loss_trains_only_the_others():
    m = _two_heads()
    m.compile(optimizer="adam", loss={"price": "mse", "kind": None})
    x, yr, yc = _data()
    ev = m.evaluate(x, [yr, yc], verbose=0, return_dict=True)
    assert set(ev) == {"loss"}  # Keras 3: each output's loss is logged where several have one
    np.testing.assert_allclose(ev["loss"], _per_output(m, x, yr, yc)[0], rtol=1e-5)


def test_wrong_structures_name_the_outputs():
    m = _two_heads()
    with pytest.raises(ValueError, match=r"Expected keys among: \['price', 'kind'\]"):
        m.compile(optimizer="sgd", loss={"prize": "mse"})
    with pytest.raises(ValueError, match="one entry per output"):
        m.compile(optimizer="sgd", loss=["mse"])
    with pytest.raises(ValueError, match="one entry per output"):
        m.compile(optimizer="sgd", loss="mse", loss_weights=[1.0, 2.0, 3.0])


def test_metric_names_are_logged_as_written():
    gn.set_seed(1)
    m = gn.Sequential([L.Dense(1, input_dim=4)])
    m.compile(optimizer="sgd", loss="mse", metrics=["mae", "mse",
                                                    gn.metrics.RootMeanSquaredError()])
    x, yr, _ = _data()
    stop = gn.callbacks.EarlyStopping(monitor="val_mae", patience=5)
    h = m.fit(x, yr, epochs=2, batch_size=10, verbose=0, validation_split=0.25,
              callbacks=[stop])
    assert {"mae", "mse", "root_mean_squared_error", "val_mae"} <= set(h.history)


def test_custom_loss_function_subclass_and_metric_function(tmp_path):
    def my_mse(y_true, y_pred):  # Keras: per-sample values from (y_true, y_pred)
        return gn.ops.mean((y_pred - y_true) ** 2, axis=-1)

    class Scaled(gn.losses.Loss):
        def call(self, y_true, y_pred):
            return gn.ops.mean(((y_pred - y_true) * 2.0) ** 2, axis=-1)

    def max_error(y_true, y_pred):
        return np.abs(np.asarray(y_pred) - np.asarray(y_true)).max(axis=-1)

    x, yr, _ = _data()
    for loss, factor in ((my_mse, 1.0), (Scaled(), 4.0)):
        gn.set_seed(2)
        m = gn.Sequential([L.Dense(1, input_dim=4)])
        m.compile(optimizer="adam", loss=loss, metrics=[max_error])
        m.fit(x, yr, epochs=1, batch_size=10, verbose=0)
        ev = m.evaluate(x, yr, verbose=0, return_dict=True)
        p = m.predict(x, verbose=0)
        np.testing.assert_allclose(ev["loss"], factor * ((p - yr) ** 2).mean(), rtol=1e-5)
        np.testing.assert_allclose(ev["max_error"], np.abs(p - yr).max(axis=-1).mean(),
                                   rtol=1e-5)
    # saved by name only; loading resolves it from the objects the user passes in code
    m.save(tmp_path / "m.glassnet")
    back = gn.models.load_model(tmp_path / "m.glassnet",
                                custom_objects={"Scaled": Scaled, "max_error": max_error})
    back_ev = back.evaluate(x, yr, verbose=0, return_dict=True)
    np.testing.assert_allclose([back_ev["loss"], back_ev["max_error"]],
                               [ev["loss"], ev["max_error"]], rtol=1e-5)


def test_generators_pydatasets_and_iterables_feed_fit_evaluate_predict():
    """[keras-compat] item 7: Keras's data sources besides arrays."""
    x, yr, _ = _data(60)

    class Batches(gn.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.epochs_seen = 0

        def __len__(self):
            return 6

        def __getitem__(self, i):
            return x[i * 10:(i + 1) * 10], yr[i * 10:(i + 1) * 10]

        def on_epoch_end(self):
            self.epochs_seen += 1

    def endless():
        while True:
            for i in range(6):
                yield x[i * 10:(i + 1) * 10], yr[i * 10:(i + 1) * 10]

    runs = []
    for source, kw in ((Batches(), {}), (endless(), {"steps_per_epoch": 6}), (None, {})):
        gn.set_seed(4)
        m = gn.Sequential([L.Dense(1, input_dim=4)])
        m.compile(optimizer="sgd", loss="mse", metrics=["mae"])
        if source is None:  # the same batches as arrays, unshuffled: the reference
            h = m.fit(x, yr, batch_size=10, epochs=3, shuffle=False, verbose=0)
        else:
            # shuffle=False: Keras (and glassnet) shuffle a PyDataset's batches by default
            h = m.fit(source, epochs=3, verbose=0, validation_data=(x, yr), shuffle=False,
                      **kw)
        runs.append((m.get_weights(), h.history["loss"]))
    for w in runs[:2]:
        for a, b in zip(w[0], runs[2][0]):
            np.testing.assert_allclose(a, b, rtol=1e-6)
        np.testing.assert_allclose(w[1], runs[2][1], rtol=1e-6)
    ds = Batches()
    m.fit(ds, epochs=2, verbose=0)
    assert ds.epochs_seen == 2
    ev = m.evaluate(zip((x[:30], x[30:]), (yr[:30], yr[30:])), verbose=0, return_dict=True)
    np.testing.assert_allclose(ev["loss"], m.evaluate(x, yr, verbose=0)[0], rtol=1e-6)
    # the same rows in other batches: BLAS may order a row's products differently by the
    # batch's size (its tail rows), so equal to float32 rounding, not bit for bit
    np.testing.assert_allclose(m.predict(iter([x[:25], x[25:]]), verbose=0),
                               m.predict(x, verbose=0), rtol=1e-6, atol=1e-7)


def test_a_one_dimensional_x_feeds_a_one_feature_input():
    m = gn.Sequential([gn.Input((1,)), L.Dense(1)])
    m.compile(optimizer="sgd", loss="mse")
    col = np.arange(10, dtype=np.float32)  # a DataFrame column
    m.fit(col, 2 * col, epochs=1, verbose=0)
    assert m.predict(col, verbose=0).shape == (10, 1)


def test_a_model_takes_raw_text_through_textvectorization(tmp_path):
    """A saved model starts from raw strings: Input(dtype="string") -> TextVectorization."""
    docs = np.array([["good great fine"], ["bad awful poor"], ["great good"], ["poor bad"]] * 8)
    y = np.array([1, 0, 1, 0] * 8)
    vec = L.TextVectorization(max_tokens=20, output_sequence_length=4)
    vec.adapt(docs.reshape(-1))
    gn.set_seed(0)
    i = gn.Input(shape=(1,), dtype="string")
    h = L.Embedding(20, 8)(vec(i))
    o = L.Dense(1, activation="sigmoid")(L.GlobalAveragePooling1D()(h))
    m = gn.Model(i, o)
    m.compile(optimizer=gn.optimizers.Adam(0.05), loss="binary_crossentropy",
              metrics=["accuracy"])
    h = m.fit(docs, y, epochs=15, batch_size=8, verbose=0)
    assert h.history["accuracy"][-1] == 1.0
    m.save(tmp_path / "text.glassnet")
    back = gn.models.load_model(tmp_path / "text.glassnet")
    np.testing.assert_array_equal(back.predict(np.array([["good fine"], ["awful"]]), verbose=0),
                                  m.predict(np.array([["good fine"], ["awful"]]), verbose=0))
    with pytest.raises(TypeError, match="numeric"):
        gn.Sequential([L.Dense(1, input_dim=1)]).predict(np.array([[{}]], dtype=object))


def test_dict_outputs_name_the_outputs_and_round_trip(tmp_path):
    """Keras: Model(inputs, outputs={"price": ..., "kind": ...}) — the keys are the output
    names; the model and predict return dicts; losses and y may be keyed by them."""
    gn.set_seed(3)
    i = gn.Input(shape=(4,))
    h = L.Dense(8, activation="relu")(i)
    m = gn.Model(i, {"price": L.Dense(1)(h), "kind": L.Dense(3, activation="softmax")(h)})
    assert m.output_names == ["price", "kind"]
    m.compile(optimizer="adam", loss={"price": "mse", "kind": "sparse_categorical_crossentropy"},
              loss_weights={"price": 0.5, "kind": 1.0}, metrics={"kind": ["accuracy"]})
    x, yr, yc = _data()
    h = m.fit(x, {"price": yr, "kind": yc}, epochs=2, batch_size=10, verbose=0)
    assert {"price_loss", "kind_loss", "kind_accuracy"} <= set(h.history)
    p = m.predict(x, verbose=0)
    assert set(p) == {"price", "kind"} and p["kind"].shape == (len(x), 3)
    out = m(x[:2])
    assert set(out) == {"price", "kind"}
    m.save(tmp_path / "d.glassnet")
    back = gn.models.load_model(tmp_path / "d.glassnet")
    assert back.output_names == ["price", "kind"]
    np.testing.assert_array_equal(back.predict(x, verbose=0)["kind"], p["kind"])
