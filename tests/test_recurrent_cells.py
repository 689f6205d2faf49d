"""SimpleRNNCell / LSTMCell / GRUCell, StackedRNNCells and RNN(cell): the same numbers as the
fused SimpleRNN / LSTM / GRU layers with the same weights (outputs, states, gradients; masks,
go_backwards, initial states), numeric gradient checks, PyTorch's nn.LSTM/nn.GRU through a
cell, stacking, config round trips and use in a model."""

import json

import numpy as np
import pytest
from _keras_reference import keras_json

import glassnet as gn
from glassnet import layers as Lr

R = np.random.default_rng(11)
B, T, D, U = 3, 5, 4, 6
X = R.normal(size=(B, T, D)).astype("float64")
MASK = np.ones((B, T), dtype=bool)
MASK[0, 3:] = False
MASK[2, 1] = False

PAIRS = [
    (lambda **k: Lr.SimpleRNN(U, **k), lambda: Lr.SimpleRNNCell(U)),
    (lambda **k: Lr.SimpleRNN(U, activation="relu", **k),
     lambda: Lr.SimpleRNNCell(U, activation="relu")),
    (lambda **k: Lr.LSTM(U, **k), lambda: Lr.LSTMCell(U)),
    (lambda **k: Lr.GRU(U, **k), lambda: Lr.GRUCell(U)),
    (lambda **k: Lr.GRU(U, use_bias=False, **k), lambda: Lr.GRUCell(U, use_bias=False)),
]
IDS = ["simple", "simple-relu", "lstm", "gru", "gru-nobias"]


def _pair(i, **kw):
    make_layer, make_cell = PAIRS[i]
    gn.set_seed(0)
    layer = make_layer(**kw)
    layer(gn.tensor(X[:1], dtype="float64"))
    rnn = Lr.RNN(make_cell(), zero_output_for_mask=True, **kw)
    rnn(gn.tensor(X[:1], dtype="float64"))
    w = [R.normal(scale=0.4, size=a.shape) for a in layer.get_weights()]
    layer.set_weights(w)
    rnn.set_weights(w)
    for lay in (layer, rnn):
        for p in lay.weights:
            p.data = p.data.astype("float64")
    return layer, rnn


@pytest.mark.parametrize("kw", [{}, {"return_sequences": True}, {"go_backwards": True},
                                {"return_sequences": True, "return_state": True}],
                         ids=["last", "seq", "backwards", "seq-state"])
@pytest.mark.parametrize("i", range(len(PAIRS)), ids=IDS)
def test_rnn_of_cell_matches_the_fused_layer(i, kw):
    layer, rnn = _pair(i, **kw)
    xs = [gn.tensor(X, requires_grad=True, dtype="float64") for _ in range(2)]
    ys = [lay(x, mask=MASK) for lay, x in zip((layer, rnn), xs)]
    outs = [y if isinstance(y, list) else [y] for y in ys]
    for a, b in zip(*outs):
        np.testing.assert_allclose(b.data, a.data, rtol=1e-10, atol=1e-12)
    proj = [R.normal(size=o.shape) for o in outs[0]]
    for o in outs:
        sum((t * gn.tensor(p, dtype="float64")).sum() for t, p in zip(o, proj)).backward()
    np.testing.assert_allclose(xs[1].grad, xs[0].grad, rtol=1e-9, atol=1e-12)
    for wl, wr in zip(layer.weights, rnn.weights):
        np.testing.assert_allclose(wr.grad, wl.grad, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("i", range(len(PAIRS)), ids=IDS)
def test_cells_gradcheck(i):
    _, rnn = _pair(i)
    cell = rnn.cell
    n = 2 if isinstance(cell, Lr.LSTMCell) else 1
    states = [R.normal(size=(B, U)) for _ in range(n)]

    def f(x, *st):
        y, new = cell(x, list(st))
        return y * 2.0 + sum(new)

    gn.gradcheck(f, X[:, 0], *states)
    gn.gradcheck(lambda x: rnn(x), X[:, :3])


def test_initial_state_and_return_state_match_lstm():
    layer, rnn = _pair(2, return_state=True)
    h0, c0 = R.normal(size=(B, U)), R.normal(size=(B, U))
    a = layer(gn.tensor(X, dtype="float64"), initial_state=[h0, c0])
    b = rnn(gn.tensor(X, dtype="float64"), initial_state=[h0, c0])
    assert len(a) == len(b) == 3
    for u, v in zip(a, b):
        np.testing.assert_allclose(v.data, u.data, rtol=1e-10, atol=1e-12)


def test_masked_steps_carry_the_previous_output_by_default():
    gn.set_seed(0)
    rnn = Lr.RNN(Lr.GRUCell(U), return_sequences=True)
    y = rnn(gn.tensor(X, dtype="float64"), mask=MASK).data
    np.testing.assert_array_equal(y[0, 3], y[0, 2])
    np.testing.assert_array_equal(y[0, 4], y[0, 2])
    np.testing.assert_array_equal(y[2, 1], y[2, 0])


# ------------------------------------------------------------------ PyTorch
@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_cells_match_torch(kind):
    torch = pytest.importorskip("torch")
    gn.set_seed(0)
    cell = Lr.LSTMCell(U) if kind == "lstm" else Lr.GRUCell(U)
    rnn = Lr.RNN(cell, return_sequences=True)
    rnn(gn.tensor(X[:1], dtype="float64"))
    for p in rnn.weights:
        p.data = R.normal(scale=0.4, size=p.shape)
    k, rk, b = (np.asarray(p.data) for p in rnn.weights)
    ref = (torch.nn.LSTM if kind == "lstm" else torch.nn.GRU)(D, U, batch_first=True)
    ref = ref.double()

    def reorder(w):   # Keras i,f,c,o -> torch i,f,g,o (same); GRU z,r,h -> torch r,z,n
        if kind == "lstm":
            return w
        z, r, h = np.split(w, 3, axis=-1)
        return np.concatenate([r, z, h], axis=-1)

    with torch.no_grad():
        ref.weight_ih_l0.copy_(torch.tensor(reorder(k).T))
        ref.weight_hh_l0.copy_(torch.tensor(reorder(rk).T))
        if kind == "lstm":
            ref.bias_ih_l0.copy_(torch.tensor(b))
            ref.bias_hh_l0.zero_()
        else:
            ref.bias_ih_l0.copy_(torch.tensor(reorder(b[0])))
            ref.bias_hh_l0.copy_(torch.tensor(reorder(b[1])))
    xt = torch.tensor(X, requires_grad=True)
    yt, _ = ref(xt)
    proj = R.normal(size=yt.shape)
    (yt * torch.tensor(proj)).sum().backward()
    x = gn.tensor(X, requires_grad=True, dtype="float64")
    y = rnn(x)
    (y * gn.tensor(proj, dtype="float64")).sum().backward()
    np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(rnn.weights[0].grad, reorder(ref.weight_ih_l0.grad.numpy().T)
                               if kind == "gru" else ref.weight_ih_l0.grad.numpy().T,
                               rtol=1e-9, atol=1e-12)


# ------------------------------------------------------------------ stacking, configs, fit
def test_stacked_cells_equal_two_layers():
    gn.set_seed(0)
    l1, l2 = Lr.LSTM(U, return_sequences=True), Lr.GRU(3)
    y_ref = l2(l1(gn.tensor(X, dtype="float64")))
    stack = Lr.RNN([Lr.LSTMCell(U), Lr.GRUCell(3)], return_state=True)
    stack(gn.tensor(X[:1], dtype="float64"))
    stack.set_weights(l1.get_weights() + l2.get_weights())
    y, h1, c1, h2 = stack(gn.tensor(X, dtype="float64"))
    np.testing.assert_allclose(y.data, y_ref.data, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h2.data, y.data)
    assert h1.shape == c1.shape == (B, U)
    assert stack.cell.state_size == [U, U, 3]
    assert stack.compute_output_shape((B, T, D)) == [(B, 3), (B, U), (B, U), (B, 3)]


@pytest.mark.parametrize("layer", [
    Lr.SimpleRNNCell(4, activation="relu", dropout=0.1), Lr.LSTMCell(3, unit_forget_bias=False),
    Lr.GRUCell(5, recurrent_dropout=0.2, use_bias=False),
    Lr.StackedRNNCells([Lr.LSTMCell(3), Lr.SimpleRNNCell(2)]),
    Lr.RNN([Lr.GRUCell(3), Lr.LSTMCell(2)], return_sequences=True, go_backwards=True,
           zero_output_for_mask=True),
], ids=lambda x: type(x).__name__)
def test_config_roundtrip(layer):
    cfg = json.loads(json.dumps({"class_name": type(layer).__name__,
                                 "config": layer.get_config()}))
    back = Lr.get_layer_class(cfg["class_name"]).from_config(cfg["config"])
    assert back.get_config() == layer.get_config()


def test_model_with_rnn_cell_trains_saves_and_loads(tmp_path):
    x = R.normal(size=(32, T, D)).astype("float32")
    y = (x[:, :, 0].sum(1) > 0).astype("float32")
    gn.set_seed(0)
    m = gn.models.Sequential([gn.layers.Input((T, D)),
                              Lr.RNN([Lr.LSTMCell(6, dropout=0.1), Lr.GRUCell(4)]),
                              gn.layers.Dense(1, activation="sigmoid")])
    m.compile("adam", "binary_crossentropy")
    h = m.fit(x, y, epochs=5, batch_size=8, verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0]
    m.save(tmp_path / "m.glassnet")
    back = gn.models.load_model(tmp_path / "m.glassnet")
    np.testing.assert_allclose(back.predict(x, verbose=0), m.predict(x, verbose=0), rtol=1e-6)


def test_stateful_rnn_carries_states():
    gn.set_seed(0)
    rnn = Lr.RNN(Lr.SimpleRNNCell(U), stateful=True)
    whole = Lr.RNN(Lr.SimpleRNNCell(U))
    rnn(gn.tensor(X[:, :2], dtype="float64"))
    whole(gn.tensor(X[:, :2], dtype="float64"))
    whole.set_weights(rnn.get_weights())
    rnn.reset_states()
    rnn(gn.tensor(X[:, :2], dtype="float64"))
    y = rnn(gn.tensor(X[:, 2:], dtype="float64"))
    np.testing.assert_allclose(y.data, whole(gn.tensor(X, dtype="float64")).data, rtol=1e-5)


def test_errors_name_the_layer():
    with pytest.raises(ValueError, match="units"):
        Lr.LSTMCell(0)
    with pytest.raises(ValueError, match="state_size"):
        Lr.RNN(Lr.Dense(3))
    with pytest.raises(ValueError, match=r"2 state\(s\)"):
        Lr.LSTMCell(3)(np.zeros((2, 4)), [np.zeros((2, 3))])
    with pytest.raises(ValueError, match="3-D input"):
        Lr.RNN(Lr.GRUCell(3))(np.zeros((2, 4)))


# ------------------------------------------------------------------ ConvLSTM2D
CL = [
    {"filters": 3, "kernel_size": 3, "padding": "same"},
    {"filters": 2, "kernel_size": (3, 2), "strides": 2, "return_sequences": True},
    {"filters": 2, "kernel_size": 2, "dilation_rate": 2, "return_state": True,
     "go_backwards": True},
]


@pytest.fixture(scope="module")
def keras_convlstm():
    import importlib.util

    if importlib.util.find_spec("keras") is None:
        pytest.skip("keras is not installed (optional reference)")
    rng = np.random.default_rng(3)
    cases = []
    for cfg in CL:
        x = rng.normal(size=(2, 4, 7, 6, 2))
        gn.set_seed(0)
        layer = Lr.ConvLSTM2D(**cfg)
        layer(gn.tensor(x, dtype="float64"))
        ws = [rng.normal(scale=0.3, size=w.shape) for w in layer.weights]
        ys = layer(gn.tensor(x, dtype="float64"))
        ys = ys if isinstance(ys, list) else [ys]
        proj = [rng.normal(size=y.shape).tolist() for y in ys]
        cases.append({"config": cfg, "x": x.tolist(), "weights": [w.tolist() for w in ws],
                      "proj": proj})
    return cases, keras_json("_keras_convlstm_ref.py", json.dumps({"cases": cases}), 300)


@pytest.mark.parametrize("i", range(len(CL)), ids=["same", "strided-seq", "dilated-state-back"])
def test_conv_lstm2d_matches_real_keras(keras_convlstm, i):
    cases, ref = keras_convlstm
    case = cases[i]
    layer = Lr.ConvLSTM2D(**case["config"])
    x = gn.tensor(np.asarray(case["x"]), requires_grad=True, dtype="float64")
    layer(gn.tensor(np.asarray(case["x"])[:1], dtype="float64"))
    layer.set_weights([np.asarray(w) for w in case["weights"]])
    for w in layer.weights:
        w.data = w.data.astype("float64")
    ys = layer(x)
    ys = ys if isinstance(ys, list) else [ys]
    sum((y * gn.tensor(np.asarray(p), dtype="float64")).sum()
        for y, p in zip(ys, case["proj"])).backward()
    # Keras's torch backend runs parts of the step in float32 even on float64 tensors
    for y, r in zip(ys, ref[i]["y"]):
        np.testing.assert_allclose(y.data, np.asarray(r), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(x.grad, np.asarray(ref[i]["gx"]), rtol=1e-5, atol=1e-6)


def test_conv_lstm2d_gradcheck_mask_config_and_fit(tmp_path):
    x = R.normal(size=(2, 3, 5, 4, 2))
    gn.set_seed(0)
    layer = Lr.ConvLSTM2D(2, 2, padding="same", return_sequences=True)
    layer(gn.tensor(x, dtype="float64"))
    gn.gradcheck(lambda t: layer(t), x)
    mask = np.array([[True, True, False], [True, False, False]])
    y = layer(gn.tensor(x, dtype="float64"), mask=mask).data
    np.testing.assert_array_equal(y[0, 2], y[0, 1])   # a masked step repeats the output
    cfg = json.loads(json.dumps(layer.get_config()))
    back = Lr.ConvLSTM2D.from_config(cfg)
    assert back.get_config() == layer.get_config()
    xs = R.normal(size=(16, 4, 6, 6, 1)).astype("float32")
    ys = (xs.mean(axis=(1, 2, 3, 4)) > 0).astype("float32")
    gn.set_seed(0)
    m = gn.models.Sequential([gn.layers.Input((4, 6, 6, 1)),
                              Lr.ConvLSTM2D(3, 3, padding="same"),
                              gn.layers.GlobalAveragePooling2D(),
                              gn.layers.Dense(1, activation="sigmoid")])
    m.compile("adam", "binary_crossentropy")
    h = m.fit(xs, ys, epochs=3, batch_size=8, verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0]
    m.save(tmp_path / "m.glassnet")
    back = gn.models.load_model(tmp_path / "m.glassnet")
    np.testing.assert_allclose(back.predict(xs, verbose=0), m.predict(xs, verbose=0),
                               rtol=1e-6)
    with pytest.raises(ValueError, match="5-D input"):
        Lr.ConvLSTM2D(2, 2)(np.zeros((2, 3, 4)))


@pytest.mark.parametrize("cfg", [dict(padding="same"), dict(strides=2, go_backwards=True),
                                 dict(dilation_rate=2, return_sequences=True)])
def test_conv_lstm1d_is_conv_lstm2d_on_a_height_of_one(cfg):
    """ConvLSTM1D over (B, T, W, C) gives ConvLSTM2D's outputs on (B, T, 1, W, C) with
    kernels (1, k): the same arithmetic; its own weights keep Keras's 1-D layout."""
    x = R.normal(size=(2, 4, 9, 2)).astype("float32")
    one = Lr.ConvLSTM1D(3, 3, **cfg)
    y1 = one(x).data
    assert [tuple(w.shape) for w in one.get_weights()] == [(3, 2, 12), (3, 3, 12), (12,)]
    two = Lr.ConvLSTM2D(3, (1, 3), **{k: (1, v) if k in ("strides", "dilation_rate") else v
                                     for k, v in cfg.items()})
    two(x[:, :, None])
    two.set_weights([w[None] if w.ndim == 3 else w for w in one.get_weights()])
    np.testing.assert_allclose(y1, two(x[:, :, None]).data.squeeze(-3 if cfg.get(
        "return_sequences") else 1), rtol=1e-5, atol=1e-6)
    assert one.compute_output_shape((None, 4, 9, 2)) == tuple(
        s for i, s in enumerate(two.compute_output_shape((None, 4, 1, 9, 2)))
        if i != (2 if cfg.get("return_sequences") else 1))


def test_conv_lstm1d_gradcheck_fit_and_errors(tmp_path):
    x = R.normal(size=(2, 3, 5, 2))
    gn.set_seed(0)
    layer = Lr.ConvLSTM1D(2, 2, padding="same", return_sequences=True)
    layer(gn.tensor(x, dtype="float64"))
    gn.gradcheck(lambda t: layer(t), x)
    xs = R.normal(size=(16, 4, 6, 1)).astype("float32")
    ys = (xs.mean(axis=(1, 2, 3)) > 0).astype("float32")
    gn.set_seed(0)
    m = gn.models.Sequential([gn.layers.Input((4, 6, 1)), Lr.ConvLSTM1D(3, 3, padding="same"),
                              gn.layers.GlobalAveragePooling1D(),
                              gn.layers.Dense(1, activation="sigmoid")])
    m.compile("adam", "binary_crossentropy")
    h = m.fit(xs, ys, epochs=3, batch_size=8, verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0]
    m.save(tmp_path / "m.keras")
    back = gn.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(back.predict(xs, verbose=0), m.predict(xs, verbose=0),
                               rtol=1e-6)
    with pytest.raises(ValueError, match="4-D input"):
        Lr.ConvLSTM1D(2, 2)(np.zeros((2, 3, 4, 1, 1)))


def test_keras_io_next_frame_prediction_model_runs():
    """keras.io's "Next-Frame Video Prediction with Convolutional LSTMs" model, with its
    imports swapped to glassnet and the sizes scaled down (64 -> 4 filters, 64x64 -> 8x8)."""
    import glassnet as keras
    from glassnet import layers

    rng = np.random.default_rng(0)
    x_train = (rng.random((8, 5, 8, 8, 1)) > 0.7).astype("float32")
    y_train = np.roll(x_train, -1, axis=1)
    gn.set_seed(0)
    inp = layers.Input(shape=(None, *x_train.shape[2:]))
    x = layers.ConvLSTM2D(filters=4, kernel_size=(5, 5), padding="same",
                          return_sequences=True, activation="relu")(inp)
    x = layers.BatchNormalization()(x)
    x = layers.ConvLSTM2D(filters=4, kernel_size=(3, 3), padding="same",
                          return_sequences=True, activation="relu")(x)
    x = layers.BatchNormalization()(x)
    x = layers.ConvLSTM2D(filters=4, kernel_size=(1, 1), padding="same",
                          return_sequences=True, activation="relu")(x)
    x = layers.Conv3D(filters=1, kernel_size=(3, 3, 3), activation="sigmoid",
                      padding="same")(x)
    model = keras.models.Model(inp, x)
    model.compile(loss=keras.losses.binary_crossentropy, optimizer=keras.optimizers.Adam())
    early_stopping = keras.callbacks.EarlyStopping(monitor="val_loss", patience=10)
    reduce_lr = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", patience=5)
    h = model.fit(x_train, y_train, batch_size=4, epochs=2, validation_split=0.25, verbose=0,
                  callbacks=[early_stopping, reduce_lr])
    assert h.history["loss"][-1] < h.history["loss"][0]
    # the time axis is free, as in the tutorial's frame-by-frame prediction loop
    assert model.predict(x_train[:1, :3], verbose=0).shape == (1, 3, 8, 8, 1)
