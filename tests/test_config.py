"""Keras 3's ``keras.config`` and ``keras.backend`` names (glassnet.config): each setting is
read where it applies (the losses' clipping, fit's caps, where messages go), and the dtype
helpers follow Keras's promotion rules (checked against Keras where it is installed)."""

from __future__ import annotations

import importlib.util
import logging
import warnings

import numpy as np
import pytest

import glassnet as gn
from glassnet import layers as L

HAS_KERAS = importlib.util.find_spec("keras") is not None


@pytest.fixture(autouse=True)
def _restore_settings():
    yield
    gn.config.set_epsilon(1e-7)
    gn.config.set_max_epochs(None)
    gn.config.set_max_steps_per_epoch(None)
    gn.config.enable_interactive_logging()
    gn.config.set_floatx("float32")


def _model():
    gn.set_seed(0)
    m = gn.Sequential([L.Dense(4, activation="relu", input_dim=3), L.Dense(1)])
    m.compile("sgd", "mse")
    return m


def test_names_of_keras_config_and_keras_backend_exist():
    keras_config = ["backend", "disable_flash_attention", "disable_interactive_logging",
                    "disable_traceback_filtering", "dtype_policy", "enable_flash_attention",
                    "enable_interactive_logging", "enable_traceback_filtering",
                    "enable_unsafe_deserialization", "epsilon", "floatx", "image_data_format",
                    "is_flash_attention_enabled", "is_interactive_logging_enabled",
                    "is_nnx_enabled", "is_traceback_filtering_enabled", "max_epochs",
                    "max_steps_per_epoch", "set_backend", "set_dtype_policy", "set_epsilon",
                    "set_floatx", "set_image_data_format", "set_max_epochs",
                    "set_max_steps_per_epoch"]
    keras_backend = ["backend", "clear_session", "epsilon", "floatx", "get_uid",
                     "image_data_format", "is_float_dtype", "is_int_dtype", "is_keras_tensor",
                     "result_type", "set_epsilon", "set_floatx", "set_image_data_format",
                     "standardize_dtype"]
    assert [n for n in keras_config if not callable(getattr(gn.config, n, None))] == []
    assert [n for n in keras_backend if not callable(getattr(gn.backend, n, None))] == []
    assert "config" in dir(gn)


def test_backend_floatx_image_format_and_their_refusals():
    assert gn.config.backend() == gn.backend.backend() == "glassnet"
    gn.config.set_backend("glassnet")
    with pytest.raises(ValueError, match="torch"):
        gn.config.set_backend("torch")
    gn.config.set_floatx("float64")
    assert gn.config.floatx() == "float64" and gn.config.dtype_policy().compute_dtype == "float64"
    assert gn.Sequential([L.Dense(2, input_dim=2)]).layers[0].kernel.data.dtype == np.float64
    gn.config.set_dtype_policy("float32")
    assert gn.config.floatx() == "float32"
    with pytest.raises(ValueError, match="mixed precision"):
        gn.config.set_dtype_policy("mixed_float16")
    assert gn.config.image_data_format() == "channels_last"
    gn.config.set_image_data_format("channels_last")
    with pytest.raises(ValueError, match="transpose"):
        gn.config.set_image_data_format("channels_first")
    with pytest.raises(ValueError, match="channels_last"):
        gn.config.set_image_data_format("nhwc")
    with pytest.raises(ValueError, match="fuzz factor"):
        gn.config.set_epsilon(-1)
    with pytest.raises(ValueError, match="positive int"):
        gn.config.set_max_epochs(0)
    assert gn.config.is_nnx_enabled() is False


def test_epsilon_is_what_the_losses_clip_with():
    t, p = np.array([[1.0]]), np.array([[0.0]])
    bce, cce = gn.losses.BinaryCrossentropy(), gn.losses.CategoricalCrossentropy()
    assert float(bce(t, p)) == pytest.approx(-np.log(1e-7), rel=1e-4)
    gn.config.set_epsilon(1e-3)
    assert gn.backend.epsilon() == 1e-3
    assert float(bce(t, p)) == pytest.approx(-np.log(1e-3), rel=1e-4)
    assert float(cce(np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]]))) == pytest.approx(
        -np.log(1e-3), rel=1e-4)
    # Normalization floors the standard deviation at it
    norm = L.Normalization(mean=0.0, variance=0.0)
    assert float(norm(np.array([[1e-3]], "float32")).data[0, 0]) == pytest.approx(1.0)


@pytest.mark.skipif(not HAS_KERAS, reason="real Keras 3 is not installed")
def test_epsilon_clipping_matches_keras():
    import os

    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    t, p = np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])
    for eps in (1e-7, 1e-3):
        keras.config.set_epsilon(eps)
        gn.config.set_epsilon(eps)
        for name in ("BinaryCrossentropy", "CategoricalCrossentropy"):
            want = float(keras.ops.convert_to_numpy(getattr(keras.losses, name)()(t, p)))
            assert float(getattr(gn.losses, name)()(t, p)) == pytest.approx(want, rel=1e-5)
    keras.config.set_epsilon(1e-7)


def test_max_epochs_and_steps_cap_fit_evaluate_and_predict():
    m = _model()
    x = np.random.default_rng(0).random((100, 3)).astype("float32")
    y = x.sum(1, keepdims=True)
    gn.config.set_max_epochs(2)
    gn.config.set_max_steps_per_epoch(3)
    seen = []

    class Batches(gn.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(batch)

        def on_test_batch_end(self, batch, logs=None):
            seen.append(("test", batch))

    with pytest.warns(UserWarning, match="Limiting") as caught:
        h = m.fit(x, y, epochs=10, batch_size=10, verbose=0, callbacks=[Batches()])
    assert {str(w.message) for w in caught} == {"Limiting epochs to 2",
                                                "Limiting steps_per_epoch to 3"}
    assert len(h.history["loss"]) == 2 and seen == [0, 1, 2, 0, 1, 2]
    seen.clear()
    with pytest.warns(UserWarning, match="Limiting steps_per_epoch to 3"):
        m.evaluate(x, y, batch_size=10, verbose=0, callbacks=[Batches()])
    assert seen == [("test", 0), ("test", 1), ("test", 2)]
    with pytest.warns(UserWarning, match="Limiting steps_per_epoch to 3"):
        assert m.predict(x, batch_size=10, verbose=0).shape == (30, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a cap above the batches there are cuts nothing
        assert m.predict(x[:25], batch_size=10, verbose=0).shape == (25, 1)
    gn.config.set_max_epochs(None)
    gn.config.set_max_steps_per_epoch(None)
    assert len(m.fit(x, y, epochs=3, batch_size=50, verbose=0).history["loss"]) == 3


def test_predict_steps_takes_the_first_batches_as_keras():
    m = _model()
    x = np.random.default_rng(1).random((25, 3)).astype("float32")
    out = m.predict(x, batch_size=10, steps=2, verbose=0)
    np.testing.assert_array_equal(out, m.predict(x[:20], batch_size=10, verbose=0))
    with pytest.raises(ValueError, match="steps"):
        m.predict(x, steps=0)


def test_interactive_logging_off_sends_messages_to_the_logger(capsys, caplog):
    m = _model()
    x = np.ones((8, 3), "float32")
    gn.config.disable_interactive_logging()
    assert not gn.utils.is_interactive_logging_enabled()  # one switch, both namespaces
    with caplog.at_level(logging.INFO, logger="glassnet"):
        m.fit(x, x[:, :1], epochs=1, batch_size=4, verbose=1)
        m.summary()
        gn.utils.Progbar(2).update(2)
    assert capsys.readouterr().out == ""
    text = caplog.text
    assert "Epoch 1/1" in text and "Total params" in text and "2/2 [" in text
    gn.config.enable_interactive_logging()
    m.fit(x, x[:, :1], epochs=1, batch_size=4, verbose=2)
    assert "Epoch 1/1" in capsys.readouterr().out


def test_unsafe_deserialization_warns_and_enables_nothing():
    with pytest.warns(UserWarning, match="never runs code"):
        gn.config.enable_unsafe_deserialization()
    gn.config.disable_flash_attention()
    assert gn.config.is_flash_attention_enabled() is False
    gn.config.disable_traceback_filtering()
    assert gn.config.is_traceback_filtering_enabled() is False
    gn.config.enable_traceback_filtering()


def test_get_uid_is_the_layer_name_counter():
    gn.backend.clear_session()
    assert gn.backend.get_uid("dense") == 1
    assert L.Dense(2).name == "dense_1"  # as Keras: the counter the names use
    assert gn.backend.get_uid("dense") == 3
    gn.backend.clear_session()
    assert gn.backend.get_uid("dense") == 1


def test_dtype_helpers():
    b = gn.backend
    assert b.standardize_dtype(None) == "float32" and b.standardize_dtype(np.int64) == "int64"
    assert b.is_float_dtype("bfloat16") and b.is_float_dtype(np.float32)
    assert not b.is_float_dtype("int8") and b.is_int_dtype("uint16")
    assert not b.is_int_dtype("bool")
    assert b.result_type() == "float32"
    assert b.result_type("float64", "int32") == "float64"  # NumPy keeps 64-bit types
    with pytest.raises(ValueError):
        b.result_type("float32", "not-a-dtype")
    x = gn.Input(shape=(3,))
    assert b.is_keras_tensor(x) and not b.is_keras_tensor(np.zeros(3))


@pytest.mark.skipif(not HAS_KERAS, reason="real Keras 3 is not installed")
@pytest.mark.parametrize("args", [
    ("int32", "float32"), ("uint8", "int8"), ("uint16", "int8"), ("float16", "bfloat16"),
    ("bool", "int8"), ("bool", int), ("float16", float), ("int8", int), ("uint8", float),
    ("int16", "float16"), ("bool",), (int, float), (int,), ("uint16", "int16"),
])
def test_result_type_matches_keras(args):
    import os

    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    assert gn.backend.result_type(*args) == keras.backend.result_type(*args)


def test_function_losses_get_labels_of_the_predictions_rank():
    """Keras's LossFunctionWrapper: (N,) labels meet (N, 1) predictions as (N, 1), not as a
    (N, N) broadcast (keras.io's Siamese contrastive loss trained on the wrong pairs)."""
    shapes = []

    def loss(y_true, y_pred):
        shapes.append((tuple(y_true.shape), tuple(y_pred.shape)))
        return gn.ops.mean(gn.ops.square(y_true - y_pred))

    m = _model()
    m.compile("sgd", loss)
    x = np.random.default_rng(2).random((8, 3)).astype("float32")
    y = x.sum(1)
    m.fit(x, y, batch_size=8, verbose=0)
    m.evaluate(x, y, verbose=0)
    assert shapes and all(s == ((8, 1), (8, 1)) for s in shapes)
    want = np.mean((m.predict(x, verbose=0)[:, 0] - y) ** 2)
    assert m.evaluate(x, y, verbose=0) == pytest.approx(want, rel=1e-5)


@pytest.mark.skipif(not HAS_KERAS, reason="real Keras 3 is not installed")
@pytest.mark.parametrize("ts,ps", [((4,), (4, 1)), ((4, 1), (4,)), ((4, 3, 1), (4, 3)),
                                   ((4, 3), (4, 3, 1)), ((4, 3), (4, 3)), ((4,), (4, 2))])
def test_same_rank_matches_keras(ts, ps):
    import os

    os.environ.setdefault("KERAS_BACKEND", "torch")
    from keras.src.losses.loss import squeeze_or_expand_to_same_rank

    from glassnet.losses import _same_rank

    t, p = np.zeros(ts, "float32"), np.zeros(ps, "float32")
    kt, kp = squeeze_or_expand_to_same_rank(t, p)
    gt, gp = _same_rank(t, gn.tensor(p))
    assert (tuple(gt.shape), tuple(gp.shape)) == (tuple(kt.shape), tuple(kp.shape))


def test_constant_initializer_takes_an_array_as_keras():
    init = gn.initializers.Constant(np.eye(3).flatten())
    np.testing.assert_array_equal(init((9,)), np.eye(3).flatten().astype("float32"))
    np.testing.assert_array_equal(gn.initializers.Constant([1.0, 2.0])((2, 2)),
                                  [[1, 2], [1, 2]])
    cfg = init.get_config()
    assert cfg == {"value": np.eye(3).flatten().tolist()}
    np.testing.assert_array_equal(gn.initializers.Constant.from_config(cfg)((9,)), init((9,)))
    assert gn.initializers.Constant(2)((2,)).tolist() == [2.0, 2.0]
    keras_form = {"class_name": "__numpy__", "config": {"value": [1.0, 0.0], "dtype": "f8"}}
    assert gn.initializers.Constant(keras_form)((2,)).tolist() == [1.0, 0.0]
    with pytest.raises(ValueError, match="broadcast"):
        init((4,))
    with pytest.raises(TypeError, match="numeric"):
        gn.initializers.Constant("a")
    d = gn.Sequential([L.Dense(9, bias_initializer=init, input_dim=2)]).layers[0]
    np.testing.assert_array_equal(d.bias.data, np.eye(3).flatten())


@pytest.mark.skipif(not HAS_KERAS, reason="real Keras 3 is not installed")
@pytest.mark.parametrize("keepdims", [False, True])
def test_masked_channels_first_global_average_matches_keras(keepdims):
    """GlobalAveragePooling1D(data_format="channels_first") on (batch, C, steps) with a
    (batch, steps) mask: the mean over the kept steps, as Keras computes it."""
    import os

    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    r = np.random.default_rng(3)
    x = r.standard_normal((3, 4, 5)).astype("float32")
    mask = np.arange(5) < np.array([[2], [5], [1]])
    want = keras.ops.convert_to_numpy(keras.layers.GlobalAveragePooling1D(
        data_format="channels_first", keepdims=keepdims)(x, mask=mask))
    got = L.GlobalAveragePooling1D(data_format="channels_first",
                                   keepdims=keepdims)(x, mask=mask)
    np.testing.assert_allclose(got.data, want, rtol=1e-6)
    assert L.GlobalAveragePooling1D(data_format="channels_first").compute_output_shape(
        (None, 4, 5)) == (None, 4)
    with pytest.raises(ValueError, match="data_format"):
        L.GlobalMaxPooling1D(data_format="nchw")
