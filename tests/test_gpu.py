"""GPU (CuPy) tests: every op and the course's layers give the CPU's numbers on the GPU.

The reference is the CPU run of the same computation (itself checked against NumPy formulas,
finite differences and PyTorch elsewhere). These tests need CuPy and a CUDA device; CI has
neither, so the module is skipped there with that reason. Run them on a GPU machine with
``python -m pytest tests/test_gpu.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet import backend

if not backend.gpu_available():
    pytest.skip("needs CuPy and a CUDA GPU", allow_module_level=True)

import cupy as cp  # noqa: E402
from test_ops import CASES, _inputs  # noqa: E402

L = gn.layers


def _on(device, xs, requires_grad=False):
    return [gn.Tensor(backend.to_device(x, device), requires_grad=requires_grad, dtype=x.dtype)
            for x in xs]


# ------------------------------------------------------------------ ops


@pytest.mark.parametrize(("row", "shapes"), CASES)
def test_op_forward_and_backward_match_cpu(row, shapes):
    xs = [x.astype(np.float64) for x in _inputs(row, shapes, seed=3)]
    results = {}
    for device in ("cpu", "gpu"):
        ts = _on(device, xs, requires_grad=True)
        out = row.fn(*ts)
        assert out.device == device
        # a random cotangent so every output element's gradient path is exercised
        gy = np.random.default_rng(5).standard_normal(out.shape)
        (out * gn.Tensor(backend.to_device(gy, device), dtype=out.dtype)).sum().backward()
        grads = [None if t.grad is None else backend.asnumpy(t.grad) for t in ts]
        for g, t in zip(grads, ts):
            if g is not None:
                assert backend.device_of(t.grad) == device
        results[device] = (backend.asnumpy(out.data), grads)
    (y_cpu, g_cpu), (y_gpu, g_gpu) = results["cpu"], results["gpu"]
    np.testing.assert_allclose(y_gpu, y_cpu, rtol=1e-10, atol=1e-12)
    for a, b in zip(g_gpu, g_cpu):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_mixed_devices_raise_a_clear_error():
    a = gn.tensor(np.ones(3, np.float32))
    b = a.to("gpu")
    with pytest.raises(RuntimeError, match="different devices"):
        _ = a + b


def test_tensor_to_round_trip_keeps_values():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = gn.tensor(x).to("gpu")
    assert isinstance(t.data, cp.ndarray)
    np.testing.assert_array_equal(t.to("cpu").data, x)


# ------------------------------------------------------------------ layers and models


def _twin_models(build, x_shape, seed=0):
    gn.set_seed(seed)
    cpu = build()
    cpu.build((None, *x_shape[1:]))
    gn.set_seed(seed)
    gpu = build()
    gpu.build((None, *x_shape[1:]))
    gpu.set_weights(cpu.get_weights())
    return cpu, gpu


def _train_both(build, x, y, loss, steps=3, optimizer="adam", atol=2e-4):
    cpu, gpu = _twin_models(build, x.shape)
    cpu.compile(optimizer=optimizer, loss=loss)
    gpu.compile(optimizer=optimizer, loss=loss)
    gpu.to("gpu")
    for w in gpu.weights:
        assert isinstance(w.data, cp.ndarray), w.name
    for _ in range(steps):
        lc = cpu.train_on_batch(x, y)
        lg = gpu.train_on_batch(x, y)
        np.testing.assert_allclose(float(np.asarray(lg)), float(np.asarray(lc)), rtol=1e-4)
    for wc, wg in zip(cpu.get_weights(), gpu.get_weights()):
        assert isinstance(wg, np.ndarray)  # get_weights always hands back NumPy
        np.testing.assert_allclose(wg, wc, rtol=1e-3, atol=atol)
    pc, pg = cpu.predict(x, verbose=0), gpu.predict(x, verbose=0)
    assert isinstance(pg, np.ndarray)
    np.testing.assert_allclose(pg, pc, rtol=1e-3, atol=atol)
    return cpu, gpu


def test_mlp_training_matches_cpu():
    rs = np.random.default_rng(0)
    x = rs.standard_normal((64, 20)).astype(np.float32)
    y = rs.integers(0, 5, 64)

    def build():
        return gn.Sequential([L.Dense(32, activation="relu"), L.LayerNormalization(),
                              L.Dense(16, activation="tanh"), L.Dense(5, activation="softmax")])

    _train_both(build, x, y, "sparse_categorical_crossentropy")


def test_masked_sequence_training_matches_cpu():
    """A padded tagger: the mask goes from the embedding through the LSTM, a merge and the
    pooling-free head to the loss, and the metrics (tests/test_masking.py on the CPU)."""
    rs = np.random.default_rng(2)
    x = rs.integers(1, 12, (24, 6)) * (np.arange(6) < rs.integers(1, 7, (24, 1)))
    y = rs.integers(0, 3, (24, 6))

    def build():
        i = gn.Input((6,), dtype="int64")
        e = L.Embedding(12, 4, mask_zero=True)(i)
        h = L.Add()([L.LSTM(4, return_sequences=True)(e), L.Dense(4)(e)])
        return gn.Model(i, L.Dense(3, activation="softmax")(L.LayerNormalization()(h)))

    cpu, gpu = _train_both(build, x, y, "sparse_categorical_crossentropy")
    for m in (cpu, gpu):
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    ec, eg = (m.evaluate(x, y, verbose=0, return_dict=True) for m in (cpu, gpu))
    assert eg == pytest.approx(ec, rel=1e-4)
    pooled = L.GlobalAveragePooling1D()
    e = L.Embedding(12, 4, mask_zero=True)
    cpu_out = pooled(e(x))
    e.to("gpu")
    np.testing.assert_allclose(backend.asnumpy(pooled(e(cp.asarray(x))).data), cpu_out.data,
                               rtol=1e-5)


def test_ctc_loss_and_decode_on_gpu_match_cpu():
    rs = np.random.default_rng(3)
    z = rs.normal(size=(3, 7, 5)).astype(np.float32)
    t, tl, ol = rs.integers(1, 5, (3, 2)), np.array([2, 1, 2]), np.array([7, 5, 6])
    xc = gn.Tensor(z, requires_grad=True)
    xg = gn.Tensor(cp.asarray(z), requires_grad=True)
    lc, lg = gn.ops.ctc_loss(t, xc, tl, ol), gn.ops.ctc_loss(t, xg, tl, ol)
    assert isinstance(lg.data, cp.ndarray)
    lc.sum().backward()
    lg.sum().backward()
    np.testing.assert_allclose(backend.asnumpy(lg.data), lc.data, rtol=1e-5)
    assert isinstance(xg.grad, cp.ndarray)
    np.testing.assert_allclose(backend.asnumpy(xg.grad), xc.grad, rtol=1e-4, atol=1e-6)
    dc, dg = gn.ops.ctc_decode(z, ol), gn.ops.ctc_decode(cp.asarray(z), ol)
    np.testing.assert_array_equal(dg[0], dc[0])


@pytest.mark.parametrize("optimizer", ["sgd", "rmsprop", "adagrad", "adamw", "nadam"])
def test_optimizers_match_cpu(optimizer):
    rs = np.random.default_rng(1)
    x = rs.standard_normal((32, 6)).astype(np.float32)
    y = (x[:, :1] > 0).astype(np.float32)

    def build():
        return gn.Sequential([L.Dense(8, activation="relu"), L.Dense(1, activation="sigmoid")])

    _train_both(build, x, y, "binary_crossentropy", optimizer=optimizer)


def test_cnn_training_matches_cpu():
    rs = np.random.default_rng(2)
    x = rs.standard_normal((16, 12, 12, 2)).astype(np.float32)
    y = rs.integers(0, 3, 16)

    def build():
        return gn.Sequential([
            L.Conv2D(4, 3, padding="same", activation="relu"), L.BatchNormalization(),
            L.MaxPooling2D(2), L.Conv2D(6, 3, strides=1, dilation_rate=1),
            L.AveragePooling2D(2), L.Flatten(), L.Dense(3, activation="softmax")])

    _train_both(build, x, y, "sparse_categorical_crossentropy")


def test_conv_decoder_layers_match_cpu():
    rs = np.random.default_rng(3)
    x = rs.standard_normal((8, 6, 6, 3)).astype(np.float32)

    def build():
        return gn.Sequential([
            L.Conv2DTranspose(4, 3, strides=2, padding="same", activation="relu"),
            L.ZeroPadding2D(1), L.Cropping2D(1), L.UpSampling2D(2),
            L.Conv2D(3, 5, strides=2, padding="same"), L.GlobalMaxPooling2D(), L.Dense(2)])

    y = rs.standard_normal((8, 2)).astype(np.float32)
    _train_both(build, x, y, "mse")


def test_conv1d_and_pooling1d_match_cpu():
    rs = np.random.default_rng(4)
    x = rs.standard_normal((8, 20, 3)).astype(np.float32)

    def build():
        return gn.Sequential([L.Conv1D(5, 3, padding="causal", activation="relu"),
                              L.MaxPooling1D(2), L.UpSampling1D(2), L.ZeroPadding1D(1),
                              L.GlobalAveragePooling1D(), L.Dense(1)])

    y = rs.standard_normal((8, 1)).astype(np.float32)
    _train_both(build, x, y, "mse")


@pytest.mark.parametrize("cell", ["SimpleRNN", "JordanRNN", "LSTM", "GRU"])
def test_recurrent_training_matches_cpu(cell):
    rs = np.random.default_rng(5)
    x = rs.integers(1, 20, (16, 9))
    x[:4, 6:] = 0  # padded tails exercise the mask on the GPU too
    y = rs.integers(0, 2, 16)

    def build():
        layer = getattr(L, cell)(12, return_sequences=True)
        return gn.Sequential([L.Embedding(20, 8, mask_zero=True), layer,
                              L.Bidirectional(getattr(L, cell)(6)),
                              L.Dense(1, activation="sigmoid")])

    _train_both(build, x, y.astype(np.float32), "binary_crossentropy", atol=5e-4)


def test_stateful_rnn_keeps_context_on_gpu():
    gn.set_seed(0)
    layer = L.SimpleRNN(4, stateful=True)
    model = gn.Sequential([layer])
    model.build((2, 1, 3))
    model.to("gpu")
    x = np.ones((2, 1, 3), np.float32)
    a = model.predict(x, verbose=0, batch_size=2)
    b = model.predict(x, verbose=0, batch_size=2)
    assert not np.allclose(a, b)  # same input, different output: the context changed
    layer.reset_states()
    np.testing.assert_allclose(model.predict(x, verbose=0, batch_size=2), a, rtol=1e-6)


def test_fit_on_gpu_then_save_and_load_on_cpu(tmp_path):
    rs = np.random.default_rng(6)
    x = rs.standard_normal((200, 10)).astype(np.float32)
    y = (x.sum(1) > 0).astype(np.float32)
    gn.set_seed(0)
    model = gn.Sequential([L.Dense(16, activation="relu", input_dim=10), L.Dropout(0.2),
                           L.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.to("gpu")
    hist = model.fit(x, y, epochs=30, batch_size=20, validation_split=0.2, verbose=0)
    assert hist.history["accuracy"][-1] > 0.8
    for slots in model.optimizer._slots.values():  # Adam's moments live on the GPU
        assert all(isinstance(a, cp.ndarray) for a in slots)
    p_gpu = model.predict(x, verbose=0)
    path = tmp_path / "m.glassnet"
    model.save(path)
    loaded = gn.models.load_model(path)
    assert all(isinstance(w.data, np.ndarray) for w in loaded.weights)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), p_gpu, rtol=1e-5, atol=1e-6)
    # and the optimizer state came back: one more step agrees on both devices
    model.train_on_batch(x[:20], y[:20])
    loaded.train_on_batch(x[:20], y[:20])
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        # Adam divides by sqrt(v): float32 rounding of GPU vs CPU sums shows at ~1e-4
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=5e-4)


def test_model_to_cpu_brings_everything_back():
    gn.set_seed(0)
    model = gn.Sequential([L.Dense(3, input_dim=4)])
    model.compile("adam", "mse")
    model.to("gpu")
    model.train_on_batch(np.ones((2, 4), np.float32), np.zeros((2, 3), np.float32))
    model.to("cpu")
    assert all(isinstance(w.data, np.ndarray) for w in model.weights)
    assert all(isinstance(a, np.ndarray) for s in model.optimizer._slots.values() for a in s)
    model.train_on_batch(np.ones((2, 4), np.float32), np.zeros((2, 3), np.float32))


def test_functional_model_on_gpu():
    inp = gn.Input((5,))
    h = L.Dense(4, activation="relu")(inp)
    out = L.Dense(1)(L.Concatenate()([h, inp]))
    model = gn.Model(inp, out)
    model.compile("sgd", "mse")
    model.to("gpu")
    x = np.ones((3, 5), np.float32)
    model.fit(x, np.zeros((3, 1), np.float32), epochs=2, verbose=0)
    assert model.predict(x, verbose=0).shape == (3, 1)


def test_check_gradients_on_gpu_model():
    gn.set_seed(0)
    model = gn.Sequential([L.Dense(3, activation="tanh", input_dim=4), L.Dense(2)])
    model.compile("sgd", "mse")
    model.to("gpu")
    rs = np.random.default_rng(0)
    model.check_gradients(rs.standard_normal((5, 4)), rs.standard_normal((5, 2)))


def test_augmentation_layers_run_on_gpu():
    gn.set_seed(0)
    x = np.random.default_rng(0).random((8, 16, 16, 1)).astype(np.float32)
    model = gn.Sequential([L.RandomTranslation(0.1, 0.1), L.RandomRotation(0.1),
                           L.RandomZoom(0.1), L.RandomFlip(), L.RandomContrast(0.2),
                           L.RandomCrop(12, 12), L.Flatten(), L.Dense(2)])
    model.build((None, 16, 16, 1))
    model.compile("adam", "mse")
    model.to("gpu")
    model.train_on_batch(x, np.zeros((8, 2), np.float32))
    assert model.predict(x, verbose=0).shape == (8, 2)
    out = gn.layers.augment(cp.asarray(x), translation=0.1, rotation=0.1, zoom=0.1, seed=0)
    ref = gn.layers.augment(x, translation=0.1, rotation=0.1, zoom=0.1, seed=0)
    np.testing.assert_allclose(cp.asnumpy(out), ref, rtol=1e-5, atol=1e-6)


def test_rbm_trains_on_gpu_arrays():
    rs = np.random.default_rng(0)
    x = (rs.random((100, 16)) > 0.5).astype(np.float32)
    gn.set_seed(0)
    rbm = gn.models.RBM(8, epochs=2, batch_size=10)
    rbm.fit(cp.asarray(x))
    h = rbm.transform(cp.asarray(x))
    assert h.shape == (100, 8)


def test_gan_step_on_gpu():
    gn.set_seed(0)
    g = gn.Sequential([L.Dense(8, activation="relu", input_dim=2), L.Dense(2)])
    d = gn.Sequential([L.Dense(8, activation="relu", input_dim=2),
                       L.Dense(1, activation="sigmoid")])
    gan = gn.models.GAN(g, d, latent_dim=2)
    gan.compile()
    gan.to("gpu")
    x = np.random.default_rng(0).standard_normal((64, 2)).astype(np.float32)
    gan.fit(x, epochs=1, batch_size=32, verbose=0)
    assert gan.sample(4).shape == (4, 2)


@pytest.mark.parametrize("return_sequences", [True, False])
def test_lstm_fused_cuda_step_matches_cpu_in_float64(return_sequences):
    # the GPU runs each LSTM step as one CUDA kernel; the CPU path is the NumPy reference
    rs = np.random.default_rng(7)
    x = rs.standard_normal((6, 5, 3))
    mask = np.ones((6, 5), bool)
    mask[:2, 3:] = False  # padded tails: masked rows carry h and c unchanged
    results = {}
    for device in ("cpu", "gpu"):
        gn.set_seed(0)
        layer = L.LSTM(4, return_sequences=return_sequences, return_state=True,
                       recurrent_dropout=0.3, dtype="float64")
        xt = gn.Tensor(backend.to_device(x, device), requires_grad=True, dtype=np.float64)
        layer.build((None, 5, 3))
        layer.to(device)
        y, h, c = layer(xt, training=True, mask=backend.to_device(mask, device))
        ((y * y).sum() + (c * h).sum()).backward()
        results[device] = [backend.asnumpy(a) for a in (y.data, h.data, c.data, xt.grad)]
        results[device] += [backend.asnumpy(w.grad) for w in layer.weights]
    for a, b in zip(results["gpu"], results["cpu"]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_dbn_pretrains_and_fine_tunes_on_gpu():
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    scores = {}
    for device in ("cpu", "gpu"):
        gn.set_seed(0)
        dbn = gn.models.DBN([32], epochs=3, random_state=0, fine_tune_epochs=20, device=device)
        dbn.fit(x[:1000], y[:1000])
        h = dbn.transform(x[:5])
        assert backend.device_of(h) == device
        scores[device] = dbn.score(x[1000:], y[1000:])
    assert scores["gpu"] > 0.8  # the CPU run scores 0.843
    # same seeded draws on both devices: the two runs end within float rounding of each other
    assert abs(scores["gpu"] - scores["cpu"]) < 0.03


def test_sizes_that_take_the_cpus_fused_and_threaded_paths_stay_on_cupy():
    """A convnet large enough for the CPU's fused kernels (the conv's bias+ReLU epilogue on
    2M elements, Adam's one-pass update on a 328k buffer) and for recorded inference over
    several batches: on the GPU each of these must run on CuPy and give the CPU's numbers."""
    rs = np.random.default_rng(8)
    x = rs.random((64, 32, 32, 3), dtype=np.float32)
    y = rs.integers(0, 10, 64)

    def build():
        return gn.Sequential([L.Conv2D(32, 3, padding="same", activation="relu"),
                              L.Flatten(), L.Dense(10, activation="softmax")])

    cpu, gpu = _train_both(build, x, y, "sparse_categorical_crossentropy", steps=2,
                           atol=1e-3)
    for w in gpu.weights:
        assert isinstance(w.data, cp.ndarray), w.name
    for model in (cpu, gpu):
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    ec = cpu.evaluate(x, y, batch_size=16, verbose=0)
    eg = gpu.evaluate(x, y, batch_size=16, verbose=0)
    np.testing.assert_allclose(eg, ec, rtol=1e-3, atol=1e-4)
    pc = cpu.predict(x, batch_size=16, verbose=0)
    pg = gpu.predict(x, batch_size=16, verbose=0)
    assert isinstance(pg, np.ndarray)
    np.testing.assert_allclose(pg, pc, rtol=1e-3, atol=1e-4)
    # the recorded programs replay: a second call gives the first call's bits
    np.testing.assert_array_equal(gpu.predict(x, batch_size=16, verbose=0), pg)
