"""Keras-style models: training, determinism, safe saving, bad input, the churn reproduction."""

import io
import json
import zipfile

import numpy as np
import pytest

import glassnet as gn
from glassnet.callbacks import EarlyStopping
from glassnet.layers import Dense, Dropout
from glassnet.models import Sequential, load_model
from glassnet.models.saving import ModelFileError


def _net(dropout=0.0):
    layers = [Dense(8, activation="relu", input_dim=4)]
    if dropout:
        layers.append(Dropout(dropout))
    layers.append(Dense(3, activation="softmax"))
    m = Sequential(layers)
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


def _data(n=120):
    r = np.random.default_rng(0)
    x = r.standard_normal((n, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5).astype(int)
    return x, y


def test_fit_learns_and_history_has_keras_keys():
    x, y = _data()
    m = _net()
    h = m.fit(x, y, epochs=60, batch_size=8, validation_split=0.2, verbose=0)
    assert set(h.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert h.history["loss"][-1] < h.history["loss"][0]
    assert m.evaluate(x, y, verbose=0, return_dict=True)["accuracy"] > 0.75


def test_same_seed_gives_bitwise_identical_weights():
    x, y = _data()
    out = []
    for _ in range(2):
        gn.set_seed(42)
        m = _net(dropout=0.3)
        m.fit(x, y, epochs=3, batch_size=8, verbose=0)
        out.append(m.get_weights())
    for a, b in zip(*out):
        assert a.tobytes() == b.tobytes()


def test_save_load_predict_identical_and_training_resumes_exactly(tmp_path):
    x, y = _data()
    m = _net()
    m.fit(x, y, epochs=2, batch_size=16, verbose=0)
    m.save(tmp_path / "m.glassnet")
    m2 = load_model(tmp_path / "m.glassnet")
    np.testing.assert_array_equal(m.predict(x, verbose=0), m2.predict(x, verbose=0))
    for mm in (m, m2):
        gn.set_seed(7)
        mm.fit(x, y, epochs=1, batch_size=16, verbose=0)
    for a, b in zip(m.get_weights(), m2.get_weights()):
        np.testing.assert_array_equal(a, b)


def _zip(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for k, v in members.items():
            z.writestr(k, v)
    return buf.getvalue()


def _npz(**arrays):
    b = io.BytesIO()
    np.savez(b, **arrays)
    return b.getvalue()


def test_malicious_files_are_rejected(tmp_path):
    good_cfg = {"format": "glassnet-model", "version": 1, "class_name": "Sequential",
                "model": {"name": "s", "layers": [{"class_name": "os.system",
                                                     "config": {"command": "touch pwned"}}]}}
    cases = {
        "unknown_class": _zip({"config.json": json.dumps(good_cfg),
                               "weights.npz": _npz()}),
        "pickled_array": _zip({"config.json": json.dumps({**good_cfg, "model": {"layers": []}}),
                               "weights.npz": _npz(w0000=np.array([object()], dtype=object))}),
        "zip_slip": _zip({"../../evil.json": "{}", "config.json": "{}", "weights.npz": b""}),
        "garbage": b"\x00" * 100,
        "not_glassnet": _zip({"config.json": json.dumps({"format": "other"}),
                              "weights.npz": _npz()}),
        "model_class": _zip({"config.json": json.dumps({**good_cfg,
                                                        "class_name": "subprocess.Popen"}),
                             "weights.npz": _npz()}),
    }
    for name, payload in cases.items():
        p = tmp_path / f"{name}.glassnet"
        p.write_bytes(payload)
        with pytest.raises(ModelFileError):
            load_model(p)
    assert not (tmp_path / "pwned").exists()


def test_truncated_file_and_shape_mismatch(tmp_path):
    x, y = _data()
    m = _net()
    m.save(tmp_path / "m.glassnet")
    data = (tmp_path / "m.glassnet").read_bytes()
    (tmp_path / "t.glassnet").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError):
        load_model(tmp_path / "t.glassnet")
    other = Sequential([Dense(5, input_dim=4), Dense(3)])
    with pytest.raises(ModelFileError, match="shape"):
        other.load_weights(tmp_path / "m.glassnet")


def test_interrupted_save_keeps_the_old_file(tmp_path, monkeypatch):
    m = _net()
    p = tmp_path / "m.glassnet"
    m.save(p)
    before = p.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr("glassnet.models.saving.os.replace", boom)
    with pytest.raises(OSError):
        m.save(p)
    assert p.read_bytes() == before
    assert [f.name for f in tmp_path.iterdir()] == ["m.glassnet"]


@pytest.mark.parametrize("call, match", [
    (lambda m, x, y: m.fit(x, y[:-1], verbose=0), "same number of samples"),
    (lambda m, x, y: m.fit(np.ones((4, 5)), y[:4], verbose=0), "dense"),
    (lambda m, x, y: m.fit(x, y + 5, verbose=0), "label"),
    (lambda m, x, y: m.fit(np.full_like(x, np.nan), y, verbose=0), "NaN"),
    (lambda m, x, y: m.fit(x[:0], y[:0], verbose=0), "empty"),
    (lambda m, x, y: m.fit(x, y, batch_size=0, verbose=0), "batch_size"),
    (lambda m, x, y: m.fit(x, y, epochs=-1, verbose=0), "epochs"),
])
def test_bad_input_is_named(call, match):
    x, y = _data()
    with pytest.raises((ValueError, TypeError), match=match):
        call(_net(), x, y)


def test_string_data_fit_before_compile_and_unknown_names():
    x, y = _data()
    with pytest.raises(TypeError, match="numeric"):
        _net().fit(np.array([["a"] * 4] * 3), y[:3], verbose=0)
    m = Sequential([Dense(3, input_dim=4)])
    with pytest.raises(RuntimeError, match="compile"):
        m.fit(x, y, verbose=0)
    with pytest.raises(ValueError, match="adam"):
        m.compile(optimizer="adamm", loss="mse")


def test_early_stopping_restores_best_weights():
    x, y = _data()
    m = _net()
    es = EarlyStopping(monitor="loss", patience=0, min_delta=10.0, restore_best_weights=True)
    first = {}

    class Grab(gn.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:
                first["w"] = self.model.get_weights()

    h = m.fit(x, y, epochs=10, verbose=0, callbacks=[Grab(), es])
    assert len(h.history["loss"]) == 2
    for a, b in zip(m.get_weights(), first["w"]):
        np.testing.assert_array_equal(a, b)


def test_check_gradients_reports_every_layer():
    x, y = _data(16)
    m = _net()
    rep = m.check_gradients(x, y)
    assert set(rep) == {ly.name for ly in m.layers}
    assert max(rep.values()) < 1e-6


def test_churn_seed_004_short_run(datasets_dir):
    from glassnet.recipes.churn import build, load_data

    d = load_data({})
    m = build(d, {})
    m.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    m.fit(d["x_train"], d["y_train"], batch_size=10, epochs=3, verbose=0)
    acc = m.evaluate(d["x_test"], d["y_test"], verbose=0, return_dict=True)["accuracy"]
    assert acc > 0.80


def test_sequential_from_an_input_alone_then_add():
    """Keras tutorials write Sequential([Input(...)]) and add layers after (a regression:
    a list holding one Input was taken for Model(inputs, outputs))."""
    import glassnet as gn

    m = gn.models.Sequential([gn.layers.Input((4,))])
    m.add(gn.layers.Dense(2))
    assert type(m) is gn.models.Sequential
    assert m.predict(np.ones((3, 4), np.float32), verbose=0).shape == (3, 2)
