"""The Keras training API around fit: callbacks, weights, inputs, summary, devices, bad input."""

import csv
import math
import sys

import numpy as np
import pytest

import glassnet as gn
from glassnet import backend
from glassnet.callbacks import (
    Callback,
    CSVLogger,
    LambdaCallback,
    LearningRateScheduler,
    ModelCheckpoint,
    ReduceLROnPlateau,
    TerminateOnNaN,
)
from glassnet.layers import Dense, Dropout
from glassnet.models import Sequential, load_model
from glassnet.models.saving import ModelFileError


def _data(n=64, seed=0):
    r = np.random.default_rng(seed)
    x = r.standard_normal((n, 4)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.float32)
    return x, y


def _binary(optimizer="adam"):
    m = Sequential([Dense(5, activation="tanh", input_dim=4), Dense(1, activation="sigmoid")])
    m.compile(optimizer=optimizer, loss="binary_crossentropy", metrics=["accuracy"])
    return m


def _bce(p, y):
    p = np.clip(p.astype(np.float64), 1e-7, 1 - 1e-7)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


# ------------------------------------------------------------------ callbacks
def test_model_checkpoint_filename_fields_best_only_and_weights_only(tmp_path):
    x, y = _data()
    m = _binary()
    pattern = str(tmp_path / "m-{epoch:02d}-{val_loss:.3f}.glassnet")
    h = m.fit(x, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0,
              callbacks=[ModelCheckpoint(pattern)])
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [f"m-{e + 1:02d}-{v:.3f}.glassnet"
                     for e, v in enumerate(h.history["val_loss"])]
    last = load_model(tmp_path / names[-1])
    np.testing.assert_array_equal(last.predict(x, verbose=0), m.predict(x, verbose=0))

    # save_best_only: a file only for epochs that improved the monitored value
    best_dir = tmp_path / "best"
    best_dir.mkdir()
    seen = []
    spy = LambdaCallback(on_epoch_end=lambda e, logs: seen.append(logs["loss"]))
    m.fit(x, y, epochs=6, batch_size=16, verbose=0,
          callbacks=[spy, ModelCheckpoint(str(best_dir / "e{epoch}.glassnet"), monitor="loss",
                                          save_best_only=True)])
    improved = [i + 1 for i, v in enumerate(seen) if v < min(seen[:i], default=math.inf)]
    assert sorted(int(p.stem[1:]) for p in best_dir.iterdir()) == improved

    # save_weights_only: loadable into the same architecture, not as a model
    wpath = tmp_path / "w.glassnet"
    m.fit(x, y, epochs=1, verbose=0,
          callbacks=[ModelCheckpoint(str(wpath), save_weights_only=True, monitor="loss")])
    with pytest.raises(ModelFileError, match="weights only"):
        load_model(wpath)
    other = _binary()
    other.load_weights(wpath)
    for a, b in zip(other.get_weights(), m.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_csv_logger_writes_one_row_per_epoch(tmp_path):
    x, y = _data()
    path = tmp_path / "log.csv"
    h = _binary().fit(x, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0,
                      callbacks=[CSVLogger(str(path))])
    rows = list(csv.DictReader(path.open()))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    assert set(rows[0]) == {"epoch", "loss", "accuracy", "val_loss", "val_accuracy"}
    for key in ("loss", "val_accuracy"):
        np.testing.assert_allclose([float(r[key]) for r in rows], h.history[key], rtol=1e-12)


def test_reduce_lr_on_plateau_drops_after_patience():
    x, y = _data()
    m = _binary(optimizer=gn.optimizers.SGD(learning_rate=0.5))
    lrs = []

    class Watch(Callback):
        def on_epoch_end(self, epoch, logs=None):
            lrs.append(self.model.optimizer.learning_rate)

    # min_delta=1: only epoch 0 improves (on +inf), as in Keras; with patience 2 the rate
    # halves at the end of epochs 2 and 4 (0-based), the wait restarting after each drop
    m.fit(x, y, epochs=5, batch_size=64, verbose=0,
          callbacks=[ReduceLROnPlateau(monitor="loss", factor=0.5, patience=2, min_delta=1.0),
                     Watch()])
    np.testing.assert_allclose(lrs, [0.5, 0.5, 0.25, 0.25, 0.125])


def test_learning_rate_scheduler_sets_lr_each_epoch_and_logs_it():
    x, y = _data()
    m = _binary(optimizer=gn.optimizers.SGD(learning_rate=0.1))
    seen = []
    spy = LambdaCallback(on_epoch_begin=lambda e, logs=None: seen.append(
        m.optimizer.learning_rate))
    h = m.fit(x, y, epochs=4, verbose=0,
              callbacks=[LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1)), spy])
    np.testing.assert_allclose(seen, [0.1, 0.05, 0.1 / 3, 0.025])
    np.testing.assert_allclose(h.history["learning_rate"], seen)


def test_terminate_on_nan_stops_in_the_bad_batch(capsys):
    x, y = _data()
    m = _binary()
    batches = []

    def poison(batch, logs=None):
        batches.append(batch)
        if batch == 2:
            m.layers[0].kernel.data[...] = np.nan

    h = m.fit(x, y, epochs=5, batch_size=8, verbose=0,
              callbacks=[LambdaCallback(on_train_batch_begin=poison), TerminateOnNaN()])
    assert batches == [0, 1, 2]
    assert len(h.history["loss"]) == 1 and math.isnan(h.history["loss"][0])
    assert "invalid loss" in capsys.readouterr().out


def test_lambda_callback_hooks_and_unknown_hook():
    x, y = _data()
    calls = []
    cb = LambdaCallback(on_train_begin=lambda logs=None: calls.append("begin"),
                        on_epoch_end=lambda e, logs: calls.append(("epoch", e, sorted(logs))),
                        on_train_end=lambda logs=None: calls.append("end"))
    _binary().fit(x, y, epochs=2, verbose=0, callbacks=[cb])
    assert calls == ["begin", ("epoch", 0, ["accuracy", "loss"]),
                     ("epoch", 1, ["accuracy", "loss"]), "end"]
    with pytest.raises(ValueError, match="on_epoch_ending"):
        LambdaCallback(on_epoch_ending=print)


def test_verbose_2_prints_one_line_per_epoch(capsys):
    x, y = _data()
    _binary().fit(x, y, epochs=2, verbose=2)
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("Epoch")]
    assert len(lines) == 2 and lines[1].startswith("Epoch 2/2") and "loss:" in lines[1]


def test_verbose_1_draws_a_bar_on_a_terminal_and_only_epoch_lines_into_a_pipe(
        capsys, monkeypatch):
    pytest.importorskip("tqdm")
    import io

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    x, y = _data(200)
    m = _binary()
    term = Terminal()
    monkeypatch.setattr("sys.stderr", term)
    m.fit(x, y, epochs=2, batch_size=10, verbose=1)
    bar = term.getvalue()
    assert "Epoch 1/2" in bar and "Epoch 2/2" in bar and "/20" in bar and "step" in bar
    out = capsys.readouterr().out.splitlines()
    assert [ln[:9] for ln in out] == ["Epoch 1/2", "Epoch 2/2"] and "loss:" in out[1]
    monkeypatch.setattr("sys.stderr", io.StringIO())  # a pipe: no frozen bar frames
    m.fit(x, y, epochs=2, batch_size=10, verbose=1)
    assert sys.stderr.getvalue() == ""
    assert len(capsys.readouterr().out.splitlines()) == 2


# ------------------------------------------------------------------ weights, epochs, returns
def test_class_weight_and_sample_weight_match_a_hand_computed_loss():
    x, y = _data(40)
    m = _binary(optimizer=gn.optimizers.SGD(learning_rate=0.0))  # weights stay put
    per = _bce(m.predict(x, verbose=0)[:, 0], y)
    cw = {0: 0.5, 1: 3.0}
    w_cls = np.where(y == 1, 3.0, 0.5)
    h = m.fit(x, y, epochs=1, batch_size=40, shuffle=False, verbose=0, class_weight=cw)
    np.testing.assert_allclose(h.history["loss"][0], (w_cls * per).sum() / 40, rtol=1e-5)

    sw = np.linspace(0.0, 2.0, 40)
    h = m.fit(x, y, epochs=1, batch_size=40, shuffle=False, verbose=0, sample_weight=sw)
    np.testing.assert_allclose(h.history["loss"][0], (sw * per).sum() / 40, rtol=1e-5)
    # both together multiply, and evaluate takes sample_weight too
    h = m.fit(x, y, epochs=1, batch_size=40, shuffle=False, verbose=0, sample_weight=sw,
              class_weight=cw)
    np.testing.assert_allclose(h.history["loss"][0], (sw * w_cls * per).sum() / 40, rtol=1e-5)
    ev = m.evaluate(x, y, sample_weight=sw, verbose=0, batch_size=40)
    np.testing.assert_allclose(ev[0], (sw * per).sum() / 40, rtol=1e-5)


def test_class_weight_on_sparse_labels_changes_the_gradient():
    r = np.random.default_rng(1)
    x = r.standard_normal((30, 4)).astype(np.float32)
    y = r.integers(0, 3, 30)
    m = Sequential([Dense(3, activation="softmax", input_dim=4)])
    m.compile(optimizer=gn.optimizers.SGD(learning_rate=0.0),
              loss="sparse_categorical_crossentropy")
    p = m.predict(x, verbose=0).astype(np.float64)
    nll = -np.log(p[np.arange(30), y])
    h = m.fit(x, y, epochs=1, batch_size=30, verbose=0, class_weight={2: 4.0})
    w = np.where(y == 2, 4.0, 1.0)
    np.testing.assert_allclose(h.history["loss"][0], (w * nll).sum() / 30, rtol=1e-5)


def test_initial_epoch_runs_the_remaining_epochs():
    x, y = _data()
    epochs = []
    h = _binary().fit(x, y, epochs=5, initial_epoch=3, verbose=0,
                      callbacks=[LambdaCallback(on_epoch_begin=lambda e, logs=None:
                                                epochs.append(e))])
    assert epochs == [3, 4] and h.epoch == [3, 4] and len(h.history["loss"]) == 2


def test_evaluate_return_dict_and_list_agree_with_numpy():
    x, y = _data()
    m = _binary()
    d = m.evaluate(x, y, verbose=0, return_dict=True, batch_size=10)
    lst = m.evaluate(x, y, verbose=0, batch_size=64)
    p = m.predict(x, verbose=0)[:, 0]
    assert list(d) == ["loss", "accuracy"]
    np.testing.assert_allclose(lst, [d["loss"], d["accuracy"]], rtol=1e-6)
    np.testing.assert_allclose(d["loss"], _bce(p, y).mean(), rtol=1e-5)
    assert d["accuracy"] == pytest.approx(((p > 0.5) == y).mean())
    tb = m.test_on_batch(x, y, return_dict=True)
    np.testing.assert_allclose(tb["loss"], d["loss"], rtol=1e-5)


def test_train_on_batch_matches_a_hand_sgd_step():
    x, y = _data(8)
    m = Sequential([Dense(1, activation="sigmoid", input_dim=4)])
    m.compile(optimizer=gn.optimizers.SGD(learning_rate=0.1), loss="binary_crossentropy")
    k, b = m.get_weights()
    p = 1 / (1 + np.exp(-(x @ k + b)))[:, 0]
    g = (p - y) / len(x)  # d(mean BCE)/dz through the sigmoid
    loss = m.train_on_batch(x, y)
    np.testing.assert_allclose(loss, _bce(p, y).mean(), rtol=1e-5)
    k2, b2 = m.get_weights()
    np.testing.assert_allclose(k2[:, 0], k[:, 0] - 0.1 * x.T @ g, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(b2, b - 0.1 * g.sum(), rtol=1e-4, atol=1e-7)


def test_get_set_weights_round_trip():
    m1, m2 = _binary(), _binary()
    x, _ = _data()
    assert not np.allclose(m1.predict(x, verbose=0), m2.predict(x, verbose=0))
    w = m1.get_weights()
    assert [a.shape for a in w] == [(4, 5), (5,), (5, 1), (1,)]
    m2.set_weights(w)
    np.testing.assert_array_equal(m1.predict(x, verbose=0), m2.predict(x, verbose=0))
    w[0][...] = 0  # get_weights returns copies
    assert np.abs(m1.get_weights()[0]).sum() > 0
    with pytest.raises(ValueError, match="shape"):
        m2.set_weights([np.zeros((3, 5)), *w[1:]])
    with pytest.raises(ValueError, match="expected 4 weight arrays"):
        m2.set_weights(w[:2])


# ------------------------------------------------------------------ inputs
def test_pandas_inputs_match_numpy_inputs():
    pd = pytest.importorskip("pandas")
    x, y = _data()
    df = pd.DataFrame(x, columns=list("abcd"))
    s = pd.Series(y)
    outs = []
    for xs, ys in ((x, y), (df, s)):
        gn.set_seed(3)
        m = _binary()
        h = m.fit(xs, ys, epochs=2, batch_size=16, verbose=0)
        outs.append((h.history["loss"], m.predict(xs, verbose=0),
                     m.evaluate(xs, ys, verbose=0)))
    assert outs[0][0] == outs[1][0]
    np.testing.assert_array_equal(outs[0][1], outs[1][1])
    assert outs[0][2] == outs[1][2]


def test_int_and_bool_inputs_are_accepted_as_floats():
    x, y = _data()
    xi = np.rint(x * 3).astype(np.int64)
    yb = y.astype(bool)
    outs = []
    for xs, ys in ((xi.astype(np.float32), y), (xi, yb), (xi.tolist(), yb.tolist())):
        gn.set_seed(3)
        m = _binary()
        h = m.fit(xs, ys, epochs=2, batch_size=16, verbose=0)
        outs.append(h.history["loss"])
    assert outs[0] == outs[1] == outs[2]


# ------------------------------------------------------------------ summary
def test_summary_lists_output_shapes_and_hand_counted_params():
    m = Sequential([Dense(6, activation="relu", input_dim=11), Dropout(0.1),
                    Dense(6, activation="relu"), Dense(1, activation="sigmoid")], name="churn")
    lines = []
    m.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert 'Model: "churn"' in text
    rows = [ln.split() for ln in lines if ln.startswith(("dense", "dropout"))]
    assert [(r[0], r[1]) for r in rows] == [("dense", "(Dense)"), ("dropout", "(Dropout)"),
                                            ("dense_1", "(Dense)"), ("dense_2", "(Dense)")]
    assert [" ".join(r[2:-1]) for r in rows] == ["(None, 6)"] * 3 + ["(None, 1)"]
    counts = [int(r[-1].replace(",", "")) for r in rows]
    assert counts == [11 * 6 + 6, 0, 6 * 6 + 6, 6 + 1]
    assert f"Total params: {sum(counts)}" in text and "Non-trainable params: 0" in text
    m.layers[0].trainable = False
    lines.clear()
    m.summary(print_fn=lines.append)
    assert "Trainable params: 49" in lines and "Non-trainable params: 72" in lines


# ------------------------------------------------------------------ devices
def test_to_gpu_without_cupy_raises_and_leaves_model_usable(monkeypatch):
    monkeypatch.setattr(backend, "gpu_available", lambda: False)
    x, y = _data()
    m = _binary()
    m.fit(x, y, epochs=1, verbose=0)
    with pytest.raises(RuntimeError, match="CuPy"):
        m.to("gpu")
    with pytest.raises(ValueError, match="device"):
        m.to("tpu")
    assert m.to("cpu") is m
    m.fit(x, y, epochs=1, verbose=0)  # still trains, optimizer state intact
    assert all(not backend.is_gpu_array(w) for w in m.get_weights())


def test_to_cpu_keeps_optimizer_state_and_training_exact():
    x, y = _data()
    runs = []
    for move in (False, True):
        gn.set_seed(5)
        m = _binary()
        m.fit(x, y, epochs=1, batch_size=16, verbose=0)
        if move:
            m.to("cpu")
        gn.set_seed(6)
        m.fit(x, y, epochs=1, batch_size=16, verbose=0)
        runs.append(m.get_weights())
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------ bad input (issue list)
@pytest.mark.parametrize("make, match", [
    (lambda: gn.optimizers.Adam(learning_rate=-0.1), "learning_rate"),
    (lambda: gn.optimizers.get({"class_name": "SGD", "config": {"learning_rate": -1}}),
     "learning_rate"),
    (lambda: Dense(0), "units"),
    (lambda: Dense(-3), "units"),
    (lambda: Dropout(1.0), "rate"),
    (lambda: Dropout(-0.1), "rate"),
    (lambda: _binary().compile(optimizer="adam", loss="binary_crossentropyy"), "binary_cross"),
    (lambda: _binary().compile(optimizer="adam", loss="mse", metrics=["acuracy"]), "accuracy"),
    (lambda: Dense(3, activation="rleu"), "relu"),
    (lambda: Dense(3, kernel_initializer="glorot_unifrom"), "glorot_uniform"),
])
def test_bad_configuration_is_named(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("call, exc, match", [
    (lambda m, x, y: m.fit(np.where(x > 1, np.inf, x), y, verbose=0), ValueError, "Inf"),
    (lambda m, x, y: m.predict(np.full((2, 4), np.nan)), ValueError, "NaN"),
    # one NaN in a strided view; one -Inf in a training batch
    (lambda m, x, y: m.predict(np.where(np.eye(8, 4) > 0, np.nan, 1.0)[::2]), ValueError, "NaN"),
    (lambda m, x, y: m.train_on_batch(np.where(x < -2.0, -np.inf, x), y), ValueError, "Inf"),
    (lambda m, x, y: m.fit(x, y, sample_weight=np.ones(3), verbose=0), ValueError,
     "sample_weight"),
    (lambda m, x, y: m.fit(x, y, validation_split=1.5, verbose=0), ValueError,
     "validation_split"),
    (lambda m, x, y: m.fit(x, y, batch_size=2.5, verbose=0), ValueError, "batch_size"),
    (lambda m, x, y: m.fit(x, y, verbose=3), ValueError, "verbose"),
    (lambda m, x, y: m.evaluate(x, y, batch_size=0), ValueError, "batch_size"),
    (lambda m, x, y: m.predict(np.ones((3, 7))), ValueError, r"expected input shape.*\(3, 7\)"),
    (lambda m, x, y: m.train_on_batch(x, y[:5]), ValueError, "same number of samples"),
    (lambda m, x, y: m.fit(x, y, class_weight=[1, 2], verbose=0), TypeError, "class_weight"),
    (lambda m, x, y: m.fit(x, y, validation_data=(x,), verbose=0), ValueError,
     "validation_data"),
    # compiling without a loss is Keras's way for a custom train_step; fit then says so
    (lambda m, x, y: (m.compile(optimizer="adam"), m.fit(x, y, verbose=0)), ValueError,
     "without a loss"),
])
def test_bad_fit_input_is_named(call, exc, match):
    x, y = _data()
    with pytest.raises(exc, match=match):
        call(_binary(), x, y)


def test_huge_but_finite_inputs_are_not_mistaken_for_inf():
    """The finiteness check's fast path (a sum of squares) overflows for |x| > 1e19 in
    float32; such data is still finite and must be accepted."""
    x, y = _data(16)
    x[0, 0] = 3e25
    m = _binary()
    assert np.isfinite(m.predict(x[:4], verbose=0)).all()
    m.train_on_batch(x, y)


def test_evaluate_and_predict_before_compile_or_build():
    x, y = _data()
    m = Sequential([Dense(2, input_dim=4)])
    with pytest.raises(RuntimeError, match="compile"):
        m.evaluate(x, y)
    assert m.predict(x, verbose=0).shape == (64, 2)  # predict needs no compile, as Keras


# ------------------------------------------------------------------ functional API
def _relu(z):
    return np.maximum(z, 0)


def test_functional_skip_connection_matches_numpy_and_trains():
    from glassnet.layers import Concatenate

    x = gn.Input(shape=(4,))
    h = Dense(6, activation="relu")(x)
    y = Dense(1, activation="sigmoid")(Concatenate()([x, h]))
    m = gn.Model(inputs=x, outputs=y)
    assert type(m).__name__ == "Functional" and isinstance(m, gn.models.Model)
    assert y.shape == (None, 1) and m.output_shape == (None, 1)
    xs, ys = _data()
    k1, b1, k2, b2 = m.get_weights()
    want = 1 / (1 + np.exp(-(np.concatenate([xs, _relu(xs @ k1 + b1)], 1) @ k2 + b2)))
    np.testing.assert_allclose(m.predict(xs, verbose=0), want, rtol=1e-5, atol=1e-6)
    m.compile(optimizer=gn.optimizers.Adam(0.05), loss="binary_crossentropy",
              metrics=["accuracy"])
    h = m.fit(xs, ys, epochs=30, batch_size=16, verbose=0)
    assert h.history["loss"][-1] < 0.5 * h.history["loss"][0]
    assert h.history["accuracy"][-1] > 0.9
    assert m.check_gradients(xs[:8], ys[:8])  # every layer's gradients through the graph


def test_functional_multi_input_multi_output_loss_is_the_sum(tmp_path):
    from glassnet.layers import Add

    a, b = gn.Input((3,), name="a"), gn.Input((2,), name="b")
    shared = Dense(4, activation="tanh", name="shared")
    ha = shared(Dense(4, name="proj_a")(a))
    hb = shared(Dense(4, name="proj_b")(b))  # a shared layer: two nodes, one set of weights
    out1 = Dense(1, name="out1")(Add()([ha, hb]))
    out2 = Dense(2, name="out2")(hb)
    m = gn.Model([a, b], [out1, out2], name="two_heads")
    assert [ly.name for ly in m.layers].count("shared") == 1
    assert m.count_params() == (3 * 4 + 4) + (2 * 4 + 4) + (4 * 4 + 4) + 5 + 10
    r = np.random.default_rng(0)
    xa, xb = r.standard_normal((20, 3)), r.standard_normal((20, 2))
    y1, y2 = r.standard_normal((20, 1)), r.standard_normal((20, 2))
    p1, p2 = m.predict([xa, xb], verbose=0)
    assert p1.shape == (20, 1) and p2.shape == (20, 2)
    m.compile(optimizer=gn.optimizers.SGD(learning_rate=0.0), loss="mse")
    want = ((p1 - y1) ** 2).mean() + ((p2 - y2) ** 2).mean()
    ev = m.evaluate([xa, xb], [y1, y2], verbose=0, return_dict=True)
    np.testing.assert_allclose(ev["loss"], want, rtol=1e-5)
    # Keras's logs for several outputs: the total, then each output's own loss
    np.testing.assert_allclose([ev["out1_loss"], ev["out2_loss"]],
                               [((p1 - y1) ** 2).mean(), ((p2 - y2) ** 2).mean()], rtol=1e-5)
    m.compile(optimizer="adam", loss="mse")
    rep = m.check_gradients([xa[:4], xb[:4]], [y1[:4], y2[:4]])
    assert set(rep) == {"proj_a", "proj_b", "shared", "out1", "out2"}
    h = m.fit([xa, xb], [y1, y2], epochs=20, batch_size=5, verbose=0, validation_split=0.2)
    assert h.history["loss"][-1] < h.history["loss"][0] and "val_loss" in h.history
    lines = []
    m.summary(print_fn=lines.append)
    assert any("Connected to" in ln for ln in lines)
    assert any(ln.startswith("out1 (Dense)") and ln.rstrip().endswith("add[0][0]") for ln in lines)

    path = tmp_path / "two.glassnet"
    m.save(path)
    m2 = load_model(path)
    for p, q in zip(m.predict([xa, xb], verbose=0), m2.predict([xa, xb], verbose=0)):
        np.testing.assert_array_equal(p, q)
    with pytest.raises(ValueError, match="list of 2 arrays"):
        m.predict(xa)
    # metrics on several outputs (Keras: a flat list applies to each output)
    m.compile(optimizer="adam", loss="mse", metrics=["mae"])
    ev = m.evaluate([xa, xb], [y1, y2], verbose=0, return_dict=True)
    assert set(ev) == {"loss", "out1_loss", "out2_loss", "out1_mae", "out2_mae"}


def test_functional_config_is_checked_on_load(tmp_path):
    import io
    import json
    import zipfile

    x = gn.Input((4,))
    m = gn.Model(x, Dense(2)(Dense(3)(x)))
    path = tmp_path / "f.glassnet"
    m.save(path)
    with zipfile.ZipFile(path) as z:
        cfg = json.loads(z.read("config.json"))
        weights = z.read("weights.npz")
    assert [n["inbound"] for n in cfg["model"]["nodes"]] == [[], [0], [1]]
    for bad in ({2: [2]}, {1: [5]}):  # a cycle / a dangling reference
        c = json.loads(json.dumps(cfg))
        for i, inbound in bad.items():
            c["model"]["nodes"][i]["inbound"] = inbound
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("config.json", json.dumps(c))
            z.writestr("weights.npz", weights)
        p = tmp_path / "bad.glassnet"
        p.write_bytes(buf.getvalue())
        with pytest.raises(ModelFileError, match="node"):
            load_model(p)


def test_functional_bad_graphs_are_named():
    a, b = gn.Input((3,)), gn.Input((3,))
    from glassnet.layers import Add

    y = Add()([Dense(3)(a), Dense(3)(b)])
    with pytest.raises(ValueError, match="not passed"):
        gn.Model(inputs=a, outputs=y)
    with pytest.raises(TypeError, match="symbolic"):
        Add()([Dense(3)(a), np.ones((2, 3))])
    with pytest.raises(TypeError, match="outputs"):
        gn.Model(inputs=a, outputs=np.ones(3))
    m = gn.Model(a, Dense(2)(a))
    with pytest.raises(ValueError, match=r"expected input shape \(None, 3\)"):
        m.predict(np.ones((4, 5)))


# ------------------------------------------------------------------ Dense's fused activation
@pytest.mark.parametrize("act", ["relu", "tanh"])
def test_linear_with_activation_is_bitwise_the_composition(act):
    from glassnet import functional, ops

    r = np.random.default_rng(0)
    x, w, b = (r.standard_normal(s).astype(np.float32) for s in ((6, 3), (3, 4), (4,)))
    gy = r.standard_normal((6, 4)).astype(np.float32)
    outs = []
    for fused in (True, False):
        ts = [gn.tensor(v, requires_grad=True) for v in (x, w, b)]
        y = (functional.linear(*ts, activation=act) if fused
             else getattr(ops, act)(functional.linear(*ts)))
        y.backward(gy)
        outs.append([y.data] + [t.grad for t in ts])
    for u, v in zip(*outs):
        np.testing.assert_array_equal(u, v)
    gn.gradcheck(lambda *a: (functional.linear(*a, activation=act) ** 2).sum(),
                 x.astype(np.float64), w.astype(np.float64), b.astype(np.float64))
    # a frozen kernel gets no gradient, the rest does
    xt, wt, bt = gn.tensor(x), gn.tensor(w), gn.tensor(b, requires_grad=True)
    functional.linear(xt, wt, bt, activation=act).sum().backward()
    assert wt.grad is None and xt.grad is None and bt.grad is not None


@pytest.mark.parametrize("jit", [False, True])
def test_cross_entropy_on_a_final_sigmoid_or_softmax_uses_the_logits(jit):
    # as Keras: logits of 30 against target 0 cost softplus(30) = 30, not the clipped -log(1e-7)
    x = np.ones((2, 1), np.float32)
    m = Sequential([Dense(1, activation="sigmoid", input_dim=1)])
    m.compile(optimizer=gn.optimizers.SGD(learning_rate=0.0), loss="binary_crossentropy",
              jit_compile=jit)
    m.set_weights([np.array([[30.0]]), np.zeros(1)])
    np.testing.assert_allclose(m.train_on_batch(x, np.zeros((2, 1))), 30.0, rtol=1e-6)
    m = Sequential([Dense(3, activation="softmax", input_dim=1)])
    m.compile(optimizer=gn.optimizers.SGD(learning_rate=0.1),
              loss="sparse_categorical_crossentropy", jit_compile=jit)
    m.set_weights([np.array([[0.0, 40.0, 0.0]]), np.zeros(3)])
    k0 = m.get_weights()[0]
    np.testing.assert_allclose(m.train_on_batch(x, np.array([0, 0])), 40.0, rtol=1e-6)
    # gradient of the mean CE wrt logits is softmax - onehot: (-1, 1, 0) here
    np.testing.assert_allclose(m.get_weights()[0] - k0, [[0.1, -0.1, 0.0]], atol=1e-5)


def test_check_gradients_catches_a_wrong_backward_and_names_the_weight():
    from glassnet.autograd import Function
    from glassnet.layers.base import Layer

    class BadSquare(Function):
        def forward(self, a):
            self.a = a
            return a * a

        def backward(self, gy):
            return gy * self.a  # the bug: d(a²)/da is 2a

    class Square(Layer):
        def build(self, input_shape):
            self.w = self.add_weight("w", (input_shape[-1],), "ones")

        def call(self, x, training=False):
            return BadSquare()(x * self.w)

    x, _ = _data(8)
    m = Sequential([Dense(3, input_dim=4), Square(name="square")])
    m.compile(optimizer="sgd", loss="mse")
    with pytest.raises(gn.GradcheckError, match="dense/kernel"):
        m.check_gradients(x, np.ones((8, 3)))


def test_sequential_build_creates_every_weight_like_keras():
    # Keras: model.build(input_shape) creates the weights; it used to be a silent no-op
    model = gn.Sequential([gn.layers.Dense(3), gn.layers.Dense(2)])
    model.build((None, 4))
    assert model.count_params() == 4 * 3 + 3 + 3 * 2 + 2
    assert [w.shape for w in model.weights] == [(4, 3), (3,), (3, 2), (2,)]
    with pytest.raises(ValueError, match="input_shape"):
        gn.Sequential([gn.layers.Dense(3)]).build()


def test_sequential_build_gives_stateful_layers_their_batch_and_no_context():
    gn.set_seed(0)
    rnn = gn.layers.SimpleRNN(4, stateful=True, bias_initializer="ones")
    model = gn.Sequential([rnn])
    model.build((2, 1, 3))
    assert rnn.states is None  # the build pass left no context behind
    x = np.ones((2, 1, 3), np.float32)
    a = model.predict(x, batch_size=2, verbose=0)
    b = model.predict(x, batch_size=2, verbose=0)
    assert not np.allclose(a, b)


def test_reductions_match_numpy_methods():
    from glassnet.backend import rmax, rsum

    a = np.random.default_rng(0).standard_normal((5, 7)).astype(np.float32)
    np.testing.assert_array_equal(rsum(a, axis=1, keepdims=True), a.sum(axis=1, keepdims=True))
    np.testing.assert_array_equal(rmax(a, axis=0), a.max(axis=0))
    assert rsum(a) == a.sum()
    out = np.empty(7, np.float32)
    assert rsum(a, axis=0, out=out) is out
    np.testing.assert_array_equal(out, a.sum(axis=0))


class _HookRecorder(Callback):
    """Records every test/predict hook Keras defines, with its arguments."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def on_test_begin(self, logs=None): self.calls.append(("on_test_begin", logs))  # noqa: E704
    def on_test_end(self, logs=None): self.calls.append(("on_test_end", logs))  # noqa: E704

    def on_test_batch_begin(self, batch, logs=None):
        self.calls.append(("on_test_batch_begin", batch))

    def on_test_batch_end(self, batch, logs=None):
        self.calls.append(("on_test_batch_end", batch, logs))

    def on_predict_begin(self, logs=None): self.calls.append(("on_predict_begin",))  # noqa: E704
    def on_predict_end(self, logs=None): self.calls.append(("on_predict_end",))  # noqa: E704

    def on_predict_batch_begin(self, batch, logs=None):
        self.calls.append(("on_predict_batch_begin", batch))

    def on_predict_batch_end(self, batch, logs=None):
        self.calls.append(("on_predict_batch_end", batch, logs))


def test_evaluate_predict_and_validation_call_the_keras_test_and_predict_hooks():
    x, y = _data(50)
    m = _binary()
    rec = _HookRecorder()
    res = m.evaluate(x, y, batch_size=20, verbose=0, return_dict=True, callbacks=[rec])
    names = [c[0] for c in rec.calls]
    assert names == ["on_test_begin"] + ["on_test_batch_begin", "on_test_batch_end"] * 3 + [
        "on_test_end"]
    assert [c[1] for c in rec.calls if c[0] == "on_test_batch_end"] == [0, 1, 2]
    assert rec.calls[-1] == ("on_test_end", res)  # the final logs are the returned metrics
    rec.calls.clear()
    p = m.predict(x, batch_size=32, verbose=0, callbacks=[rec])
    ends = [c for c in rec.calls if c[0] == "on_predict_batch_end"]
    assert len(ends) == 2 and rec.calls[0][0] == "on_predict_begin"
    np.testing.assert_array_equal(np.concatenate([c[2]["outputs"] for c in ends]), p)
    rec.calls.clear()
    m.fit(x, y, epochs=2, batch_size=10, validation_split=0.2, verbose=0, callbacks=[rec])
    assert [c[0] for c in rec.calls].count("on_test_begin") == 2  # validation, each epoch


def test_evaluate_and_predict_report_progress_only_when_asked(capsys):
    x, y = _data(50)
    m = _binary()
    res = m.evaluate(x, y, batch_size=20, return_dict=True)  # "auto": quiet, unlike Keras
    m.predict(x)
    assert capsys.readouterr().out == ""
    m.evaluate(x, y, batch_size=20, verbose=2)
    line = capsys.readouterr().out.strip()
    assert line.startswith("3/3 - ") and f"loss: {res['loss']:.4f}" in line
    assert f"accuracy: {res['accuracy']:.4f}" in line
    m.fit(x, y, epochs=2, batch_size=10, validation_split=0.2, verbose=2)
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 2 and all("val_loss" in ln for ln in out)  # validation adds no lines
    with pytest.raises(ValueError, match="verbose"):
        m.predict(x, verbose=3)
