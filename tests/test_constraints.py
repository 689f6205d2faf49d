"""Weight constraints (``glassnet.constraints``) against NumPy formulas and real Keras 3.

The formulas below are Keras's (``keras/src/constraints/constraints.py``) written in NumPy,
so the suite means something without Keras; where Keras is installed (PyTorch backend) the
constraints, a trained Dense/Embedding and ``.keras`` files are also checked against it.
"""

from __future__ import annotations

import doctest
import os

import numpy as np
import pytest

import glassnet as gn
from glassnet import constraints as C
from glassnet import layers as L

os.environ.setdefault("KERAS_BACKEND", "torch")
EPS = 1e-7  # keras.config.epsilon()

# (shape, axis) pairs: a Dense kernel, a conv kernel per filter, a vector, a negative axis
SHAPES = [((5, 3), 0), ((5, 3), 1), ((3, 3, 2, 4), [0, 1, 2]), ((7,), 0), ((4, 6), -1)]


def _keras():
    keras = pytest.importorskip("keras", reason="real Keras 3 is the oracle (pip install keras)")
    if keras.backend.backend() != "torch":  # pragma: no cover - depends on the environment
        pytest.skip("these checks run Keras on its PyTorch backend (KERAS_BACKEND=torch)")
    return keras


def _norms(w, axis):
    ax = tuple(axis) if isinstance(axis, list) else axis
    return np.sqrt(np.sum(w.astype(np.float64) ** 2, axis=ax, keepdims=True))


def ref_max_norm(w, m, axis):
    n = _norms(w, axis)
    return w * (np.clip(n, 0, m) / (EPS + n))


def ref_min_max_norm(w, lo, hi, rate, axis):
    n = _norms(w, axis)
    return w * ((rate * np.clip(n, lo, hi) + (1 - rate) * n) / (EPS + n))


def ref_unit_norm(w, axis):
    return w / (EPS + _norms(w, axis))


def _cases():
    out = []
    for shape, axis in SHAPES:
        out += [(C.MaxNorm(1.5, axis=axis), lambda w, a=axis: ref_max_norm(w, 1.5, a), shape),
                (C.MinMaxNorm(0.5, 1.2, rate=0.7, axis=axis),
                 lambda w, a=axis: ref_min_max_norm(w, 0.5, 1.2, 0.7, a), shape),
                (C.UnitNorm(axis=axis), lambda w, a=axis: ref_unit_norm(w, a), shape),
                (C.NonNeg(), lambda w: np.maximum(w, 0), shape)]
    return out


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("c,ref,shape", _cases())
def test_constraints_match_the_numpy_formulas(c, ref, shape, dtype):
    w = (np.random.default_rng(0).normal(size=shape) * 2).astype(dtype)
    out = c(w)
    assert out.shape == w.shape and out.dtype == w.dtype
    np.testing.assert_allclose(out, ref(w), rtol=1e-5 if dtype == "float32" else 1e-12,
                               atol=1e-7)


def test_constraints_hold_and_leave_conforming_weights_alone():
    w = np.random.default_rng(1).normal(size=(6, 4)).astype("float32") * 3
    assert (_norms(C.MaxNorm(0.5)(w), 0) <= 0.5 + 1e-6).all()
    small = w / 100
    np.testing.assert_allclose(C.MaxNorm(0.5)(small), small, rtol=1e-5)
    np.testing.assert_allclose(_norms(C.UnitNorm()(w), 0), 1.0, rtol=1e-5)
    n = _norms(C.MinMaxNorm(1.0, 2.0)(w), 0)
    assert (n >= 1 - 1e-5).all() and (n <= 2 + 1e-5).all()
    assert (C.NonNeg()(w) >= 0).all()
    t = gn.tensor(w)  # a tensor in, a tensor out
    assert isinstance(C.NonNeg()(t), gn.Tensor)
    np.testing.assert_array_equal(C.NonNeg()(t).data, np.maximum(w, 0))


@pytest.mark.parametrize("name", ["MaxNorm", "MinMaxNorm", "UnitNorm", "NonNeg"])
@pytest.mark.parametrize("shape,axis", SHAPES)
def test_constraints_match_keras(name, shape, axis):
    keras = _keras()
    kwargs = {"MaxNorm": {"max_value": 1.5}, "MinMaxNorm": {"min_value": 0.5, "max_value": 1.2,
              "rate": 0.7}, "UnitNorm": {}, "NonNeg": {}}[name]
    if name != "NonNeg":
        kwargs["axis"] = axis
    w = (np.random.default_rng(2).normal(size=shape) * 2).astype("float32")
    want = keras.ops.convert_to_numpy(getattr(keras.constraints, name)(**kwargs)(w))
    got = getattr(C, name)(**kwargs)(w)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert getattr(C, name)(**kwargs).get_config() == \
        getattr(keras.constraints, name)(**kwargs).get_config()


def test_get_serialize_deserialize():
    assert C.get(None) is None and C.serialize(None) is None
    assert type(C.get("max_norm")) is C.MaxNorm and C.get("max_norm").max_value == 2
    assert type(C.get("NonNeg")) is C.NonNeg and type(C.get("unit_norm")) is C.UnitNorm
    assert type(C.get("min_max_norm")) is C.MinMaxNorm
    c = C.MaxNorm(3, axis=[0, 1])
    assert C.get(c) is c and type(C.get(C.UnitNorm)) is C.UnitNorm
    s = C.serialize(c)
    assert s == {"class_name": "MaxNorm", "config": {"max_value": 3, "axis": [0, 1]}}
    back = C.deserialize(s)
    assert type(back) is C.MaxNorm and back.get_config() == c.get_config()
    assert C.MinMaxNorm.from_config(C.MinMaxNorm(0.1, 2, 0.5, 1).get_config()).rate == 0.5
    keras_form = {"module": "keras.constraints", "class_name": "UnitNorm",
                  "config": {"axis": 1}, "registered_name": None}
    assert C.get(keras_form).axis == 1
    assert C.serialize("non_neg") == {"class_name": "NonNeg", "config": {}}
    fn = np.abs  # a plain callable is used as it is (Keras too)
    assert C.get(fn) is fn
    assert (C.max_norm, C.min_max_norm, C.non_neg, C.unit_norm) == (
        C.MaxNorm, C.MinMaxNorm, C.NonNeg, C.UnitNorm)


def test_serialized_forms_cross_with_keras():
    keras = _keras()
    kc = keras.constraints.MinMaxNorm(0.2, 1.5, rate=0.5, axis=[0, 1])
    ours = C.get(keras.constraints.serialize(kc))
    assert type(ours) is C.MinMaxNorm and ours.get_config() == kc.get_config()
    theirs = keras.constraints.deserialize(C.serialize(C.MaxNorm(4, axis=1)))
    assert type(theirs).__name__ == "MaxNorm" and theirs.get_config() == {"max_value": 4,
                                                                          "axis": 1}


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match=r"max_value must be a number >= 0.*max_value=-1"):
        C.MaxNorm(max_value=-1)
    with pytest.raises(ValueError, match=r"max_value must be a number >= 2"):
        C.MinMaxNorm(min_value=2, max_value=1)
    with pytest.raises(ValueError, match=r"rate must be a number >= 0.0 and <= 1.0.*rate=1.5"):
        C.MinMaxNorm(rate=1.5)
    with pytest.raises(ValueError, match=r"axis must be an int or a list of ints.*'a'"):
        C.UnitNorm(axis="a")
    with pytest.raises(ValueError, match=r"Unknown constraint 'maxnorm'.*max_norm"):
        C.get("maxnorm")
    with pytest.raises(ValueError, match="Unknown constraint 'Spectral'"):
        C.get({"class_name": "Spectral", "config": {}})
    with pytest.raises(TypeError, match="constraint must be"):
        C.get(5)
    with pytest.raises(ValueError, match="Only glassnet constraints can be serialized"):
        C.serialize(np.abs)


def _data(n=24, d=5, k=3, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, d)).astype("float32"),
            rng.normal(size=(n, k)).astype("float32"))


def _gn_dense_model(kc, bc=None, units=4):
    return gn.models.Sequential([L.Input((5,)), L.Dense(units, activation="tanh",
                                                        kernel_constraint=kc,
                                                        bias_constraint=bc),
                                 L.Dense(3)])


def _train_gn(w0, jit, x, y, steps_via="fit"):
    m = _gn_dense_model(C.MaxNorm(0.3), "non_neg")
    m.set_weights(w0)
    m.compile(optimizer=gn.optimizers.SGD(0.5), loss="mse", jit_compile=jit)
    if steps_via == "fit":
        m.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    else:
        for _ in range(2):
            for i in range(0, len(x), 8):
                m.train_on_batch(x[i:i + 8], y[i:i + 8])
    return m


@pytest.mark.parametrize("jit", [False, True, "auto"])
@pytest.mark.parametrize("via", ["fit", "train_on_batch"])
def test_dense_max_norm_trained_same_weights_every_way(jit, via):
    x, y = _data()
    gn.set_seed(0)
    m0 = _gn_dense_model(C.MaxNorm(0.3), "non_neg")
    m0.build((None, 5))
    w0 = [w * 3 for w in m0.get_weights()]  # norms well above 0.3: the constraint binds
    ref = _train_gn(w0, False, x, y, "fit")
    m = _train_gn(w0, jit, x, y, via)
    for a, b in zip(m.get_weights(), ref.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    k = m.layers[0].kernel.data
    assert (np.linalg.norm(k, axis=0) <= 0.3 + 1e-6).all()
    assert (m.layers[0].bias.data >= 0).all()
    assert m.layers[0].kernel.constraint.max_value == 0.3
    assert m.layers[1].kernel.constraint is None


def test_dense_max_norm_trained_matches_keras():
    keras = _keras()
    x, y = _data()
    km = keras.Sequential([keras.Input((5,)), keras.layers.Dense(
        4, activation="tanh", kernel_constraint=keras.constraints.MaxNorm(0.3),
        bias_constraint="non_neg"), keras.layers.Dense(3)])
    w0 = [np.asarray(w) * 3 for w in km.get_weights()]
    km.set_weights(w0)
    km.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
    km.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    for jit in (False, True):
        m = _train_gn(w0, jit, x, y)
        for a, b in zip(m.get_weights(), km.get_weights()):
            np.testing.assert_allclose(a, np.asarray(b), atol=1e-5)
    assert (np.linalg.norm(m.get_weights()[0], axis=0) <= 0.3 + 1e-6).all()


@pytest.mark.parametrize("how", ["apply_gradients", "apply"])
def test_custom_loop_applies_the_constraint(how):
    x, y = _data()
    d = L.Dense(3, kernel_constraint=C.MaxNorm(0.4), bias_constraint=C.NonNeg())
    d.build((None, 5))
    d.kernel.data[...] *= 4
    k, b = d.kernel.data.astype(np.float64), d.bias.data.astype(np.float64)
    opt = gn.optimizers.SGD(0.1)
    for i in range(0, len(x), 8):
        xb, yb = x[i:i + 8], y[i:i + 8]
        loss = gn.ops.mean((d(xb) - yb) ** 2)
        loss.backward()
        grads = [d.kernel.grad, d.bias.grad]
        if how == "apply":
            opt.apply(grads, [d.kernel, d.bias])
        else:
            opt.apply_gradients(zip(grads, [d.kernel, d.bias]))
        d.kernel.grad = d.bias.grad = None
        # NumPy's SGD step, then the projection
        err = 2 * (xb @ k + b - yb) / yb.size
        k, b = ref_max_norm(k - 0.1 * (xb.T @ err), 0.4, 0), np.maximum(b - 0.1 * err.sum(0), 0)
    np.testing.assert_allclose(d.kernel.data, k, atol=1e-5)
    np.testing.assert_allclose(d.bias.data, b, atol=1e-6)


def test_constraint_only_on_weights_the_optimizer_updates():
    calls = []

    def counting(w):
        calls.append(w.name)
        return w

    layer = L.Layer(name="lay")
    a = layer.add_weight("a", (2,), "ones", constraint=counting)
    frozen = layer.add_weight("frozen", (2,), "ones", trainable=False, constraint="non_neg")
    b = layer.add_weight("b", (2,), "ones", constraint=counting)
    assert a.constraint is counting and frozen.constraint is not None
    opt = gn.optimizers.SGD(1.0)
    opt.apply_gradients([(np.ones(2, "float32"), a), (None, b)])  # b gets no gradient
    assert calls == ["lay/a"]
    model = gn.models.Sequential([L.Input((2,)), L.BatchNormalization(
        beta_constraint="non_neg", gamma_constraint=C.MaxNorm(0.5))])
    bn = model.layers[0]
    bn.moving_mean.data[...] = -1.0  # non-trainable: no constraint reaches it
    assert bn.moving_mean.constraint is None
    model.compile(optimizer=gn.optimizers.SGD(0.1), loss="mse")
    model.fit(np.random.default_rng(0).normal(size=(8, 2)).astype("float32"),
              np.full((8, 2), -3.0, "float32"), epochs=2, verbose=0)
    assert (bn.beta.data >= 0).all() and np.linalg.norm(bn.gamma.data) <= 0.5 + 1e-6


def test_embedding_constraint_matches_keras_and_numpy():
    ids = np.array([[1, 2, 3], [3, 4, 0]])
    y = np.random.default_rng(3).normal(size=(2, 3, 4)).astype("float32")
    m = gn.models.Sequential([L.Embedding(6, 4, embeddings_constraint=C.UnitNorm(axis=1))])
    m.build((None, 3))
    w0 = m.get_weights()
    m.compile(optimizer=gn.optimizers.SGD(1.0), loss="mse")
    m.fit(ids, y, epochs=3, batch_size=2, verbose=0)
    e = m.layers[0].embeddings.data
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, rtol=1e-5)
    assert m.layers[0].get_config()["embeddings_constraint"] == {
        "class_name": "UnitNorm", "config": {"axis": 1}}
    try:
        keras = _keras()
    except pytest.skip.Exception:
        return
    km = keras.Sequential([keras.layers.Embedding(
        6, 4, embeddings_constraint=keras.constraints.UnitNorm(axis=1))])
    km.build((None, 3))
    km.set_weights(w0)
    km.compile(optimizer=keras.optimizers.SGD(1.0), loss="mse")
    km.fit(ids, y, epochs=3, batch_size=2, verbose=0, shuffle=False)
    np.testing.assert_allclose(e, np.asarray(km.get_weights()[0]), atol=1e-5)


LAYERS = [  # (layer, the constraint arguments it takes, an input shape)
    (lambda **k: L.Dense(3, **k), ("kernel_constraint", "bias_constraint"), (2, 4)),
    (lambda **k: L.EinsumDense("ab,bc->ac", 3, bias_axes="c", **k),
     ("kernel_constraint", "bias_constraint"), (2, 4)),
    (lambda **k: L.Conv2D(2, 3, **k), ("kernel_constraint", "bias_constraint"), (1, 5, 5, 2)),
    (lambda **k: L.Conv1DTranspose(2, 3, **k), ("kernel_constraint", "bias_constraint"),
     (1, 5, 2)),
    (lambda **k: L.Conv3D(2, 2, **k), ("kernel_constraint", "bias_constraint"),
     (1, 3, 3, 3, 2)),
    (lambda **k: L.DepthwiseConv2D(3, **k), ("depthwise_constraint", "bias_constraint"),
     (1, 5, 5, 2)),
    (lambda **k: L.SeparableConv1D(2, 3, **k),
     ("depthwise_constraint", "pointwise_constraint", "bias_constraint"), (1, 5, 2)),
    (lambda **k: L.Embedding(5, 2, **k), ("embeddings_constraint",), None),
    (lambda **k: L.BatchNormalization(**k), ("beta_constraint", "gamma_constraint"), (2, 3)),
    (lambda **k: L.LayerNormalization(**k), ("beta_constraint", "gamma_constraint"), (2, 3)),
    (lambda **k: L.GroupNormalization(2, **k), ("beta_constraint", "gamma_constraint"),
     (2, 4)),
    (lambda **k: L.PReLU(**k), ("alpha_constraint",), (2, 3)),
    (lambda **k: L.MultiHeadAttention(2, 3, **k), ("kernel_constraint", "bias_constraint"),
     None),
    (lambda **k: L.LSTM(3, **k), ("kernel_constraint", "recurrent_constraint",
                                  "bias_constraint"), (2, 4, 3)),
    (lambda **k: L.GRUCell(3, **k), ("kernel_constraint", "recurrent_constraint",
                                     "bias_constraint"), None),
    (lambda **k: L.ConvLSTM1D(2, 3, **k), ("kernel_constraint", "recurrent_constraint",
                                           "bias_constraint"), (1, 2, 5, 2)),
]


@pytest.mark.parametrize("make,args,shape", LAYERS)
def test_layers_take_serialize_and_restore_constraints(make, args, shape):
    kw = {a: C.MaxNorm(1.0 + i) for i, a in enumerate(args)}
    layer = make(**kw)
    if shape is not None:  # every trainable weight has its constraint
        layer(np.ones(shape, "float32"))
        assert layer.trainable_weights
        assert all(isinstance(w.constraint, C.MaxNorm) for w in layer.trainable_weights)
    cfg = layer.get_config()
    for i, a in enumerate(args):
        assert cfg[a] == {"class_name": "MaxNorm", "config": {"max_value": 1.0 + i, "axis": 0}}
    back = type(layer).from_config(cfg)
    assert all(back.get_config()[a] == cfg[a] for a in args)
    plain = make().get_config()  # no constraint: None in the config, and back
    assert all(plain[a] is None for a in args)
    assert all(type(layer).from_config(plain).get_config()[a] is None for a in args)


def test_layer_config_matches_keras():
    keras = _keras()
    for name, kw in [("Dense", {"units": 3}), ("Conv2D", {"filters": 2, "kernel_size": 3}),
                     ("LSTM", {"units": 2}), ("Embedding", {"input_dim": 4, "output_dim": 2})]:
        key = "embeddings_constraint" if name == "Embedding" else "kernel_constraint"
        ours = getattr(L, name)(**kw, **{key: C.MinMaxNorm(0.5, 2.0, 0.9, [0, 1])})
        theirs = getattr(keras.layers, name)(**kw, **{key: keras.constraints.MinMaxNorm(
            0.5, 2.0, 0.9, [0, 1])})
        a, b = ours.get_config()[key], theirs.get_config()[key]
        assert (a["class_name"], a["config"]) == (b["class_name"], b["config"])
        assert b["module"] == "keras.constraints"


def test_glassnet_model_file_keeps_constraints(tmp_path):
    x, y = _data()
    m = _gn_dense_model(C.MaxNorm(0.3, axis=0), C.MinMaxNorm(0.0, 0.5, rate=0.5))
    m.compile(optimizer=gn.optimizers.SGD(0.5), loss="mse")
    m.fit(x, y, epochs=1, batch_size=8, verbose=0)
    m.save(tmp_path / "m.glassnet")
    back = gn.models.load_model(tmp_path / "m.glassnet")
    assert back.layers[0].kernel.constraint.get_config() == {"max_value": 0.3, "axis": 0}
    assert back.layers[0].bias_constraint.rate == 0.5
    back.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    m.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    for a, b in zip(back.get_weights(), m.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_keras_files_carry_constraints_both_ways(tmp_path):
    keras = _keras()
    pytest.importorskip("h5py", reason="Keras files need h5py")
    x = np.random.default_rng(4).normal(size=(2, 6, 6, 3)).astype("float32")
    km = keras.Sequential([keras.Input((6, 6, 3)), keras.layers.Conv2D(
        2, 3, kernel_constraint=keras.constraints.MaxNorm(2, axis=[0, 1, 2])),
        keras.layers.Flatten(), keras.layers.Dense(2, bias_constraint="non_neg")])
    km.save(tmp_path / "k.keras")
    gm = gn.models.load_model(tmp_path / "k.keras")
    assert gm.layers[0].kernel.constraint.get_config() == {"max_value": 2, "axis": [0, 1, 2]}
    assert type(gm.layers[2].bias.constraint) is C.NonNeg
    np.testing.assert_allclose(gm.predict(x, verbose=0), np.asarray(km.predict(x, verbose=0)),
                               atol=1e-5)
    gm.save(tmp_path / "g.keras")
    km2 = keras.models.load_model(tmp_path / "g.keras")
    assert km2.layers[0].kernel_constraint.get_config() == {"max_value": 2, "axis": [0, 1, 2]}
    assert type(km2.layers[2].bias_constraint).__name__ == "NonNeg"


def test_docstring_examples_run():
    extra = {"gn": gn, "np": np}
    finder = doctest.DocTestFinder()
    tests = [t for t in finder.find(C, "glassnet.constraints", globs={**vars(C), **extra})
             if t.examples]
    assert tests
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report: list[str] = []
    for t in tests:
        runner.run(t, out=report.append)
    assert runner.failures == 0, "".join(report)


@pytest.mark.parametrize("jit", [False, True])
def test_a_constraint_set_between_steps_applies_from_the_next(jit):
    x, y = _data()
    m = _gn_dense_model(None)
    m.compile(optimizer=gn.optimizers.SGD(0.5), loss="mse", jit_compile=jit)
    m.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert (m.layers[0].kernel.data < 0).any()
    m.layers[0].kernel.constraint = "non_neg"  # Keras: variable.constraint = ...
    m.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert (m.layers[0].kernel.data >= 0).all()
