"""Activation and utility layers: a table against NumPy formulas (and real Keras 3 where
installed), numeric gradients, config round-trips, saving, Lambda's refusal to be saved."""

from __future__ import annotations

import os

import numpy as np
import pytest

import glassnet as gn
from glassnet.layers import (
    ELU,
    ActivityRegularization,
    AlphaDropout,
    Dense,
    GroupNormalization,
    Identity,
    Lambda,
    LeakyReLU,
    Masking,
    ReLU,
    Softmax,
    UnitNormalization,
    get_layer_class,
)
from glassnet.layers.embedding import get_mask


def _np_softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _np_relu(x, max_value=None, negative_slope=0.0, threshold=0.0):
    y = np.where(x > threshold, x, negative_slope * (x - threshold))
    if max_value is not None:
        y = np.where(x > threshold, np.minimum(y, max_value), y)
    return y


def _np_group_norm(x, groups, eps=1e-3):
    b, c = x.shape[0], x.shape[-1]
    g = x.reshape(b, -1, groups, c // groups)
    m = g.mean(axis=(1, 3), keepdims=True)
    v = g.var(axis=(1, 3), keepdims=True)
    return ((g - m) / np.sqrt(v + eps)).reshape(x.shape)


# (name, layer factory, NumPy reference, Keras class name + kwargs or None)
TABLE = [
    ("softmax", lambda: Softmax(), _np_softmax, ("Softmax", {})),
    ("softmax_axis1", lambda: Softmax(axis=1), lambda x: _np_softmax(x, 1),
     ("Softmax", {"axis": 1})),
    ("relu", lambda: ReLU(), _np_relu, ("ReLU", {})),
    ("relu6_slope", lambda: ReLU(max_value=6.0, negative_slope=0.1),
     lambda x: _np_relu(x, 6.0, 0.1), ("ReLU", {"max_value": 6.0, "negative_slope": 0.1})),
    ("relu_threshold", lambda: ReLU(max_value=2.5, negative_slope=0.2, threshold=0.5),
     lambda x: _np_relu(x, 2.5, 0.2, 0.5),
     ("ReLU", {"max_value": 2.5, "negative_slope": 0.2, "threshold": 0.5})),
    ("leaky_relu", lambda: LeakyReLU(), lambda x: np.where(x > 0, x, 0.3 * x),
     ("LeakyReLU", {})),
    ("leaky_relu_01", lambda: LeakyReLU(negative_slope=0.1),
     lambda x: np.where(x > 0, x, 0.1 * x), ("LeakyReLU", {"negative_slope": 0.1})),
    ("elu", lambda: ELU(alpha=0.7), lambda x: np.where(x > 0, x, 0.7 * np.expm1(x)),
     ("ELU", {"alpha": 0.7})),
    ("identity", lambda: Identity(), lambda x: x, ("Identity", {})),
    ("unit_norm", lambda: UnitNormalization(),
     lambda x: x / np.sqrt(np.maximum((x * x).sum(-1, keepdims=True), 1e-12)),
     ("UnitNormalization", {})),
    ("unit_norm_axes", lambda: UnitNormalization(axis=[1, 2]),
     lambda x: x / np.sqrt(np.maximum((x * x).sum((1, 2), keepdims=True), 1e-12)),
     ("UnitNormalization", {"axis": [1, 2]})),
    ("group_norm", lambda: GroupNormalization(groups=2), lambda x: _np_group_norm(x, 2),
     ("GroupNormalization", {"groups": 2})),
    ("instance_norm", lambda: GroupNormalization(groups=-1), lambda x: _np_group_norm(x, 4),
     ("GroupNormalization", {"groups": -1})),
    ("activity_reg", lambda: ActivityRegularization(l1=0.1, l2=0.2), lambda x: x,
     ("ActivityRegularization", {"l1": 0.1, "l2": 0.2})),
    ("alpha_dropout_inference", lambda: AlphaDropout(0.3), lambda x: x,
     ("AlphaDropout", {"rate": 0.3})),
]


def _x(seed=0, shape=(3, 5, 4)):
    x = np.random.default_rng(seed).normal(size=shape) * 2
    x[0, 0, 0] = 0.5 + 1e-3  # near ReLU's threshold, but off the kink
    return x


@pytest.mark.parametrize("name,make,ref,_k", TABLE, ids=[r[0] for r in TABLE])
def test_forward_matches_numpy(name, make, ref, _k):
    x = _x().astype("float32")
    np.testing.assert_allclose(make()(x).data, ref(x.astype("float64")), rtol=1e-5,
                               atol=2e-6)


@pytest.mark.parametrize("name,make,ref,_k", TABLE, ids=[r[0] for r in TABLE])
def test_gradients_match_numeric(name, make, ref, _k):
    layer = make()
    layer.dtype = np.dtype("float64")
    x = gn.tensor(_x(1), dtype="float64", requires_grad=True)
    layer(x)
    gn.gradcheck(lambda t: layer(t), x)


@pytest.mark.parametrize("name,make,ref,k", TABLE, ids=[r[0] for r in TABLE])
def test_matches_keras(name, make, ref, k):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    pytest.importorskip("torch")
    keras = pytest.importorskip("keras")
    x = _x(2).astype("float32")
    cls, kwargs = k
    kl = getattr(keras.layers, cls)(**kwargs)
    mine = make()
    y = mine(x)
    ky = kl(x)
    if mine.weights:
        w = [np.random.default_rng(3).normal(size=v.shape).astype("float32")
             for v in kl.get_weights()]
        kl.set_weights(w)
        mine.set_weights(w)
        y, ky = mine(x), kl(x)
    np.testing.assert_allclose(y.data, keras.ops.convert_to_numpy(ky), rtol=1e-5, atol=1e-5)
    if name == "activity_reg":  # Keras adds the penalty as a layer loss, as glassnet
        np.testing.assert_allclose(float(mine.losses[0].data),
                                   float(keras.ops.convert_to_numpy(kl.losses[0])), rtol=1e-5)


@pytest.mark.parametrize("name,make,ref,_k", TABLE, ids=[r[0] for r in TABLE])
def test_config_round_trip(name, make, ref, _k):
    layer = make()
    cfg = layer.get_config()
    clone = get_layer_class(type(layer).__name__).from_config(cfg)
    assert clone.get_config() == cfg
    x = _x(4).astype("float32")
    if layer.weights or not layer.built:
        layer(x)
        clone(x)
        clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(clone(x).data, layer(x).data)


def test_softmax_mask_as_keras():
    x = np.random.default_rng(0).normal(size=(2, 4)).astype("float32")
    mask = np.array([[1, 1, 0, 1], [0, 0, 0, 0]], bool)
    y = Softmax()(x, mask=mask).data
    ref = _np_softmax(np.where(mask, x, -np.inf)[:1])
    np.testing.assert_allclose(y[:1], ref, rtol=1e-6)
    np.testing.assert_array_equal(y[1], 0.0)  # Keras 3: a fully masked row is zeros


def test_relu_arguments_are_checked():
    with pytest.raises(ValueError, match="re_lu_x.*negative_slope"):
        ReLU(negative_slope=-1, name="re_lu_x")
    with pytest.raises(ValueError, match="max_value"):
        ReLU(max_value=-1.0)
    assert LeakyReLU(alpha=0.05).negative_slope == 0.05  # Keras 2's name still accepted


def test_masking_zeroes_and_masks_padded_steps():
    x = np.ones((2, 3, 2), "float32")
    x[1, 1:] = 0.0
    y = Masking()(x)
    np.testing.assert_array_equal(get_mask(y), [[True, True, True], [True, False, False]])
    np.testing.assert_array_equal(y.data, x)
    x[0, 1] = 7.0
    y = Masking(mask_value=7.0)(x)
    np.testing.assert_array_equal(get_mask(y)[0], [True, False, True])
    np.testing.assert_array_equal(y.data[0, 1], 0.0)


def test_activity_regularization_penalty_reaches_the_loss():
    layer = ActivityRegularization(l1=0.01, l2=0.1)
    x = np.array([[1.0, -2.0], [0.0, 1.0]], "float32")
    layer(x)  # Keras 3: the penalty is divided by the batch size
    np.testing.assert_allclose(float(layer.losses[0].data), (0.01 * 4 + 0.1 * 6) / 2,
                               rtol=1e-6)


def test_alpha_dropout_keeps_mean_and_variance():
    x = np.random.default_rng(0).normal(size=(200_000,)).astype("float32")[None]
    y = AlphaDropout(0.2, seed=0)(x, training=True).data
    assert abs(float(y.mean())) < 0.01 and abs(float(y.std()) - 1.0) < 0.01
    alpha_p = -1.6732632423543772 * 1.0507009873554805
    a = (0.8 * (1 + 0.2 * alpha_p**2)) ** -0.5
    dropped = np.isclose(y, a * alpha_p + (-a * alpha_p * 0.2))
    assert 0.19 < dropped.mean() < 0.21
    t = gn.tensor(x[:, :1000], requires_grad=True)
    y = AlphaDropout(0.2, seed=1)(t, training=True)
    y.sum().backward()  # d/dx (a * x * keep + const) = a * keep
    kept = ~np.isclose(y.data, a * alpha_p + (-a * alpha_p * 0.2))
    np.testing.assert_allclose(t.grad, np.where(kept, a, 0.0), rtol=1e-6)


def test_group_normalization_checks_groups():
    with pytest.raises(ValueError, match="gn_bad.*groups"):
        GroupNormalization(groups=3, name="gn_bad")(np.ones((2, 4), "float32"))


def test_model_with_new_layers_saves_and_loads(tmp_path):
    gn.set_seed(0)
    model = gn.models.Sequential([
        gn.layers.Input((6, 4)), Masking(), GroupNormalization(groups=2), ReLU(max_value=3.0),
        LeakyReLU(0.1), ELU(), UnitNormalization(), ActivityRegularization(l2=0.01),
        AlphaDropout(0.1), Identity(), gn.layers.Flatten(), Dense(3), Softmax(),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(0).normal(size=(32, 6, 4)).astype("float32")
    y = np.random.default_rng(1).integers(0, 3, 32)
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    model.save(tmp_path / "m.glassnet")
    back = gn.models.load_model(tmp_path / "m.glassnet")
    np.testing.assert_allclose(back.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-6)


def test_lambda_runs_and_trains_but_an_anonymous_lambda_is_never_saved(tmp_path):
    gn.set_seed(0)
    model = gn.models.Sequential([gn.layers.Input((3,)), Dense(4),
                                  Lambda(lambda t: t * 2.0, name="double"), Dense(1)])
    x = np.ones((4, 3), "float32")
    d = model.layers[0]
    np.testing.assert_allclose(model.predict(x, verbose=0),
                               model.layers[2](model.layers[1](d(x))).data, rtol=1e-6)
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, np.ones((4, 1), "float32"), epochs=1, verbose=0)
    path = tmp_path / "lam.glassnet"
    with pytest.raises(ValueError, match="Layer 'double'.*anonymous lambda.*never store"):
        model.save(path)
    assert not path.exists()  # nothing half-written


def scale_by(t, k=2.0):
    return t * k


def test_lambda_saves_a_name_and_loads_only_with_custom_objects(tmp_path):
    import zipfile

    from glassnet.models.saving import ModelFileError

    gn.set_seed(0)
    model = gn.models.Sequential([gn.layers.Input((3,)), Dense(2),
                                  Lambda(scale_by, arguments={"k": 3.0}, name="scale"),
                                  Dense(1)])
    x = np.random.default_rng(0).normal(size=(5, 3)).astype("float32")
    path = tmp_path / "named.glassnet"
    model.save(path)
    with zipfile.ZipFile(path) as z:
        cfg = z.read("config.json").decode()
    assert '"function": "scale_by"' in cfg and "co_code" not in cfg  # a name, no code
    with pytest.raises(ModelFileError, match="Layer 'scale'.*'scale_by' is not available"):
        gn.models.load_model(path)
    back = gn.saving.load_model(path, custom_objects={"scale_by": scale_by})
    np.testing.assert_allclose(back.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)
    with gn.saving.custom_object_scope({"scale_by": lambda t, k: t * 0.0}):
        other = gn.models.load_model(path)  # whatever the program supplies under that name
    np.testing.assert_allclose(other.predict(x, verbose=0), 0 * x[:, :1] +
                               other.layers[-1].get_weights()[1], atol=1e-6)


def test_lambda_arguments_and_functional_use():
    inp = gn.Input((2,))
    out = Lambda(lambda t, k: t * k, arguments={"k": 3.0})(inp)
    model = gn.Model(inp, out)
    np.testing.assert_allclose(model.predict(np.ones((1, 2), "float32"), verbose=0), 3.0)
    with pytest.raises(TypeError, match="lam.*callable"):
        Lambda(3, name="lam")


def test_masking_makes_an_lstm_skip_padded_steps():
    gn.set_seed(0)
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 6, 3)).astype("float32")
    x[0, 4:] = 0.0  # sample 0 has 4 real steps
    lstm = gn.layers.LSTM(5)
    y = lstm(Masking()(x)).data
    np.testing.assert_allclose(y[0], lstm(x[:1, :4]).data[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y[1], lstm(x[1:]).data[0], rtol=1e-5, atol=1e-6)
