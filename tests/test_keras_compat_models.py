"""Keras's model API round-trips every kind of model (issue keras-compat, items 4 and 5).

get_config/from_config, to_json/model_from_json and clone_model must rebuild the same
architecture: the same config again, and, once the weights are copied over, the same
predictions. Subclassed models written as the TensorFlow quickstart writes them (``call(self,
x)`` without ``training``, ``add_weight`` without a name) run and train.
"""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

import glassnet as gn
from glassnet import layers as L
from glassnet.models import clone_model, model_from_json
from glassnet.models._model_file import ModelFileError


def _seq_input_dim():
    return gn.Sequential([L.Dense(4, activation="relu", input_dim=3), L.Dense(2)])


def _seq_input_layer():
    return gn.Sequential([gn.Input(shape=(3,)), L.Dense(4, activation="tanh"),
                          L.Dropout(0.2), L.Dense(2, activation="softmax")])


def _seq_conv():
    return gn.Sequential([gn.Input(shape=(6, 6, 1)), L.Conv2D(2, 3), L.MaxPooling2D(),
                          L.Flatten(), L.Dense(2)])


def _functional_two_in_two_out():
    a, b = gn.Input(shape=(3,), name="a"), gn.Input(shape=(2,), name="b")
    h = L.Dense(4, activation="relu")(L.Concatenate()([a, L.Dense(3)(b)]))
    return gn.Model([a, b], [L.Dense(1, name="y1")(h), L.Dense(2, name="y2")(h)])


def _functional_shared_and_nested():
    inner_in = gn.Input(shape=(3,))
    inner = gn.Model(inner_in, L.Dense(3, activation="tanh")(inner_in), name="inner")
    inp = gn.Input(shape=(3,))
    shared = L.Dense(3, name="shared")
    y = L.Add()([shared(inp), shared(inner(inp, training=False))])
    return gn.Model(inp, L.Dense(1)(y), name="outer")


def _functional_sequence():
    inp = gn.Input(shape=(None,), dtype="int64")
    seq, h, c = L.LSTM(4, return_sequences=True, return_state=True)(L.Embedding(9, 3)(inp))
    return gn.Model(inp, L.Dense(1)(L.Concatenate()([h, L.GlobalAveragePooling1D()(seq)])))


MODELS = {"seq_input_dim": (_seq_input_dim, [(3,)]), "seq_input": (_seq_input_layer, [(3,)]),
          "seq_conv": (_seq_conv, [(6, 6, 1)]),
          "functional_2in_2out": (_functional_two_in_two_out, [(3,), (2,)]),
          "functional_shared_nested": (_functional_shared_and_nested, [(3,)]),
          "functional_sequence": (_functional_sequence, [(5,)])}


def _x(shapes, name):
    rng = np.random.default_rng(0)
    if name == "functional_sequence":
        return rng.integers(0, 9, (4, 5))
    xs = [rng.standard_normal((4, *s)).astype("float32") for s in shapes]
    return xs if len(xs) > 1 else xs[0]


def _same_predictions(m1, m2, x):
    p1, p2 = m1.predict(x, verbose=0), m2.predict(x, verbose=0)
    for a, b in zip(p1 if isinstance(p1, list) else [p1], p2 if isinstance(p2, list) else [p2]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_from_config_round_trips(name):
    make, shapes = MODELS[name]
    model = make()
    cfg = model.get_config()
    rebuilt = type(model).from_config(cfg)
    assert type(rebuilt) is type(model)
    assert rebuilt.get_config() == cfg
    rebuilt.set_weights(model.get_weights())
    _same_predictions(model, rebuilt, _x(shapes, name))
    if not isinstance(model, gn.Sequential):  # keras.Model.from_config on a functional config
        assert type(gn.Model.from_config(cfg)) is type(model)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_json_round_trips_and_names_no_code(name):
    make, shapes = MODELS[name]
    model = make()
    text = model.to_json()
    assert json.loads(text)["class_name"] == type(model).__name__
    rebuilt = model_from_json(text)
    assert rebuilt.to_json() == text
    rebuilt.set_weights(model.get_weights())
    _same_predictions(model, rebuilt, _x(shapes, name))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_clone_model_has_new_weights_and_the_same_architecture(name):
    make, shapes = MODELS[name]
    gn.set_seed(1)
    model = make()
    twin = clone_model(model)
    assert twin.get_config() == model.get_config()
    assert [w.shape for w in twin.get_weights()] == [w.shape for w in model.get_weights()]
    assert all(a is not b for a, b in zip(twin.weights, model.weights))
    differs = [not np.array_equal(a, b) for a, b in zip(twin.get_weights(), model.get_weights())
               if np.unique(a).size > 2]  # random, not zeros/ones
    assert differs and all(differs)  # freshly initialised, as Keras's clone_model
    twin.set_weights(model.get_weights())
    _same_predictions(model, twin, _x(shapes, name))


def test_clone_model_with_clone_function_and_new_input():
    model = _seq_input_layer()
    seen = []

    def fn(layer):
        seen.append(layer.name)
        return type(layer).from_config(layer.get_config())

    twin = clone_model(model, clone_function=fn, input_tensors=gn.Input(shape=(3,)))
    assert seen == [ly.name for ly in model.layers]
    assert twin.predict(np.ones((2, 3), "float32"), verbose=0).shape == (2, 2)
    with pytest.raises(ValueError, match="input"):
        clone_model(_functional_two_in_two_out(), input_tensors=[gn.Input((3,))])


def test_sequential_from_config_keras_issue_reproduction():
    m = gn.Sequential([L.Dense(3, input_dim=2)])
    assert gn.Sequential.from_config(m.get_config()).layers[0].units == 3


def test_functional_layers_include_the_input_layer_as_keras():
    inp = gn.Input(shape=(4,), name="features")
    model = gn.Model(inp, L.Dense(2, name="out")(L.Dense(3, name="hidden")(inp)))
    assert [ly.name for ly in model.layers] == ["features", "hidden", "out"]
    assert isinstance(model.layers[0], L.InputLayer)
    assert model.get_layer(index=1) is model.get_layer("hidden")
    assert model.get_layer(index=-1).name == "out"
    assert model.output_names == ["out"] and model.input_names == ["features"]
    with pytest.raises(ValueError, match="no layer named 'nope'"):
        model.get_layer("nope")
    with pytest.raises(ValueError, match="exactly one"):
        model.get_layer()
    with pytest.raises(ValueError, match="out of range"):
        model.get_layer(index=3)
    seq = _seq_input_layer()  # Sequential hides its InputLayer, as Keras
    assert seq.get_layer(index=0) is seq.layers[0] and isinstance(seq.layers[0], L.Dense)


def test_feature_extractors_from_layer_outputs_as_the_keras_guides_write_them():
    """layer.input / layer.output (the first functional call), model.input / model.output,
    and a Sequential's inputs/outputs (its graph on its input shape), as in keras.io's
    Sequential guide: Model(model.inputs, [layer.output for layer in model.layers])."""
    x = np.random.default_rng(0).standard_normal((5, 8)).astype(np.float32)
    seq = gn.Sequential([gn.Input(shape=(8,)), L.Dense(6, activation="relu", name="f1"),
                         L.Dense(4, activation="tanh", name="f2"), L.Dense(2, name="f3")])
    # a layer's output straight away (the stack's graph is made on demand)
    assert seq.get_layer("f2").output.shape == (None, 4)
    extractor = gn.Model(inputs=seq.inputs, outputs=[ly.output for ly in seq.layers])
    feats = extractor.predict(x, verbose=0)
    h = x
    for ly, f in zip(seq.layers, feats):
        h = ly(h).numpy()
        np.testing.assert_allclose(f, h, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(feats[-1], seq.predict(x, verbose=0))
    assert extractor.layers[1] is seq.layers[0]  # the same layers: shared weights
    assert seq.input is seq.inputs[0] and seq.output is seq.outputs[0]

    inp = gn.Input(shape=(8,))
    hid = L.Dense(3, name="hid")
    out = L.Dense(2, name="out")(hid(inp))
    model = gn.Model(inp, out)
    assert model.input is inp._node and model.output is out
    assert hid.input is model.input and hid.output.shape == (None, 3)
    sub = gn.Model(model.input, model.get_layer("hid").output)
    np.testing.assert_allclose(sub.predict(x, verbose=0), hid(x).numpy(), rtol=1e-6)
    hid(L.Dense(8)(gn.Input(shape=(5,))))  # a second call: input/output stay the first's
    assert hid.input is model.input
    two = gn.Model(inp, [out, model.get_layer("hid").output])
    assert isinstance(two.output, list) and len(two.output) == 2

    with pytest.raises(AttributeError, match="has never been called"):
        _ = L.Dense(2).output
    with pytest.raises(AttributeError, match="no input shape yet"):
        _ = gn.Sequential([L.Dense(2)]).inputs
    built = gn.Sequential([L.Dense(3), L.Dense(2)])
    built(x)  # built by a call: its graph exists from then on
    assert built.outputs[0].shape == (None, 2) and built.layers[0].output.shape == (None, 3)
    seq.pop()
    assert seq.output.shape == (None, 4)  # the graph follows the layers


class _Scaled(L.Layer):
    """A layer of the user's own, written as the Keras functional-API guide writes one:
    get_config returns only its own argument (no name)."""

    def __init__(self, units=3):
        super().__init__()
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                 initializer="random_normal")

    def call(self, x):
        return gn.ops.matmul(x, self.w)

    def get_config(self):
        return {"units": self.units}


def test_layers_of_your_own_load_by_name_from_custom_objects_or_the_registry(tmp_path):
    x = np.random.default_rng(1).standard_normal((4, 5)).astype(np.float32)
    inp = gn.Input(shape=(5,))
    model = gn.Model(inp, L.Dense(2)(_Scaled(3)(inp)))
    seq = gn.Sequential([gn.Input(shape=(5,)), _Scaled(3), L.Dense(2)])
    for m in (model, seq):
        config = m.get_config()
        with pytest.raises(ModelFileError, match="Unknown layer class '_Scaled'.*custom_objects"):
            type(m).from_config(config)
        again = type(m).from_config(config, custom_objects={"_Scaled": _Scaled})
        if m is model:  # the graph's nodes name their layers: the names come back
            assert [ly.name for ly in again.layers] == [ly.name for ly in m.layers]
        again.set_weights(m.get_weights())
        np.testing.assert_array_equal(again.predict(x, verbose=0), m.predict(x, verbose=0))
        # the native file, and Keras's (with the keras extra's h5py)
        for ext in ("glassnet", "keras") if importlib.util.find_spec("h5py") else ("glassnet",):
            path = tmp_path / f"{m.name}.{ext}"
            m.save(path)
            with pytest.raises(ModelFileError, match="_Scaled"):
                gn.saving.load_model(path)  # not supplied: refused by name
            back = gn.saving.load_model(path, custom_objects={"_Scaled": _Scaled})
            np.testing.assert_array_equal(back.predict(x, verbose=0),
                                          m.predict(x, verbose=0))
    # functional configs route through gn.Model.from_config as keras.Model's do
    assert isinstance(gn.Model.from_config(model.get_config(),
                                           custom_objects={"_Scaled": _Scaled}), type(model))
    registered = gn.saving.register_keras_serializable(package="kc_models")(
        type("Registered", (_Scaled,), {}))
    m = gn.Sequential([gn.Input(shape=(5,)), registered(2)])
    assert isinstance(type(m).from_config(m.get_config()).layers[0], registered)
    # a name that is not a Layer class is never used as one
    with pytest.raises(ModelFileError, match="Unknown layer class"):
        type(m).from_config(m.get_config(), custom_objects={"Registered": len})


def _seq2seq():
    """The encoder-decoder of keras.io's RNN guide: the decoder LSTM starts from the
    encoder's final state, passed as a keyword argument (initial_state=[h, c])."""
    enc_in = gn.Input(shape=(None,))
    enc = L.Embedding(input_dim=50, output_dim=8, name="enc_emb")(enc_in)
    _, h, c = L.LSTM(6, return_state=True, name="encoder")(enc)
    dec_in = gn.Input(shape=(None,))
    dec = L.Embedding(input_dim=60, output_dim=8, name="dec_emb")(dec_in)
    out = L.LSTM(6, name="decoder")(dec, initial_state=[h, c])
    return gn.Model([enc_in, dec_in], L.Dense(3)(out))


def test_graph_tensors_as_keyword_arguments_record_replay_and_round_trip(tmp_path):
    r = np.random.default_rng(2)
    xa, xb = r.integers(0, 50, (16, 7)), r.integers(0, 60, (16, 5))
    y = r.standard_normal((16, 3)).astype(np.float32)
    gn.set_seed(3)
    model = _seq2seq()
    node = next(n for n in model._nodes if n.layer.name == "decoder")
    assert [t[0] for t in node.tensor_kwargs] == ["initial_state"]
    # the replay passes the states as the keyword: the encoder's state changes the output
    enc_layer, dec_layer = model.get_layer("encoder"), model.get_layer("decoder")
    emb_a, emb_b = model.get_layer("enc_emb")(xa), model.get_layer("dec_emb")(xb)
    _, h, c = enc_layer(emb_a)
    want = model.layers[-1](dec_layer(emb_b, initial_state=[h, c])).numpy()
    got = model.predict([xa, xb], verbose=0)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert not np.allclose(got, model.layers[-1](dec_layer(emb_b)).numpy())
    model.compile(optimizer="adam", loss="mse")
    model.fit([xa, xb], y, epochs=2, batch_size=8, verbose=0)
    pred = model.predict([xa, xb], verbose=0)
    # get_config / from_config, clone_model, the native file: the same graph again
    again = gn.Model.from_config(json.loads(json.dumps(model.get_config())))
    again.set_weights(model.get_weights())
    np.testing.assert_array_equal(again.predict([xa, xb], verbose=0), pred)
    cloned = clone_model(model)
    cloned.set_weights(model.get_weights())
    np.testing.assert_array_equal(cloned.predict([xa, xb], verbose=0), pred)
    model.save(tmp_path / "s2s.glassnet")
    back = gn.saving.load_model(tmp_path / "s2s.glassnet")
    np.testing.assert_array_equal(back.predict([xa, xb], verbose=0), pred)
    model.save(tmp_path / "s2s.keras")  # Keras files hold them too (checked against
    back = gn.saving.load_model(tmp_path / "s2s.keras")  # Keras in test_interop_keras)
    np.testing.assert_array_equal(back.predict([xa, xb], verbose=0), pred)
    bad = model.get_config()
    for nd in bad["nodes"]:
        if nd.get("tensor_kwargs"):
            nd["tensor_kwargs"][0][1] = 0  # would take the positional input as a state
    with pytest.raises(ModelFileError, match="tensor_kwargs"):
        gn.Model.from_config(bad)


def test_dict_inputs_keyed_by_input_names():
    model = _functional_two_in_two_out()
    xa, xb = np.ones((2, 3), "float32"), np.ones((2, 2), "float32")
    by_list = model([xa, xb])
    by_dict = model({"b": xb, "a": xa})
    for u, v in zip(by_list, by_dict):
        np.testing.assert_array_equal(u.data, v.data)
    with pytest.raises(ValueError, match="unknown input name"):
        model({"a": xa, "c": xb})


# ------------------------------------------------------------ subclassing (item 4)
QUICKSTART = """
class MyModel(Model):
  def __init__(self):
    super().__init__()
    self.conv1 = Conv2D(4, 3, activation='relu')
    self.flatten = Flatten()
    self.d1 = Dense(16, activation='relu')
    self.d2 = Dense(10)

  def call(self, x):
    x = self.conv1(x)
    x = self.flatten(x)
    x = self.d1(x)
    return self.d2(x)

class Linear(keras.layers.Layer):
  def __init__(self, units=32):
    super().__init__()
    self.units = units

  def build(self, input_shape):
    self.w = self.add_weight(shape=(input_shape[-1], self.units),
                             initializer="random_normal", trainable=True)
    self.b = self.add_weight(shape=(self.units,), initializer="zeros", trainable=True)

  def call(self, inputs):
    return keras.ops.matmul(inputs, self.w) + self.b
"""


def test_subclassing_as_the_tensorflow_quickstart_writes_it():
    import glassnet as keras
    from glassnet.layers import Conv2D, Dense, Flatten
    from glassnet.models import Model

    scope = {"keras": keras, "Model": Model, "Conv2D": Conv2D, "Dense": Dense,
             "Flatten": Flatten}
    exec(QUICKSTART, scope)  # noqa: S102 - fixed text in this file
    gn.set_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 6, 6, 1)).astype("float32")
    y = (x.mean(axis=(1, 2, 3)) > 0).astype("int64")
    model = scope["MyModel"]()
    model.compile(optimizer="adam",
                  loss=gn.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    hist = model.fit(x, y, epochs=8, batch_size=16, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    lin = scope["Linear"](4)
    out = lin(np.ones((2, 3), "float32"))
    assert out.shape == (2, 4)
    assert [w.name for w in lin.weights] == [f"{lin.name}/variable", f"{lin.name}/variable_1"]
    np.testing.assert_allclose(out.data, np.ones((2, 3)) @ lin.w.data + lin.b.data, rtol=1e-6)


def test_add_weight_keras3_positional_order_and_errors():
    layer = L.Layer()
    w = layer.add_weight((2, 3), "ones")
    assert w.shape == (2, 3) and float(w.data.sum()) == 6.0
    v = layer.add_weight(shape=4, initializer=None)
    assert v.shape == (4,)
    with pytest.raises(ValueError, match="shape"):
        layer.add_weight(name="w")
    c = layer.add_weight(shape=(2,), constraint="non_neg")  # kept for the optimizer
    assert type(c.constraint).__name__ == "NonNeg" and w.constraint is None
    with pytest.raises(ValueError, match="Unknown constraint"):
        layer.add_weight(shape=(2,), constraint="max_nrom")


def test_subclass_built_functional_style_as_keras_custom_train_step_guides():
    # keras.io "Customizing what happens in fit()": CustomModel(inputs, outputs)
    class CustomModel(gn.Model):
        def describe(self):
            return f"{type(self).__name__} with {len(self.layers)} layers"

    inputs = gn.Input(shape=(32,))
    outputs = L.Dense(1)(inputs)
    model = CustomModel(inputs, outputs)
    assert isinstance(model, CustomModel) and isinstance(model, gn.models.Functional)
    assert model.describe() == "CustomModel with 2 layers"
    assert model.predict(np.ones((3, 32), "float32"), verbose=0).shape == (3, 1)
    again = CustomModel(inputs=inputs, outputs=outputs)
    assert type(again) is type(model)  # one mixed class per subclass

    class WithArgs(gn.Model):  # a subclass taking its own positional arguments is untouched
        def __init__(self, units):
            super().__init__()
            self.d = L.Dense(units)

        def call(self, x):
            return self.d(x)

    assert not isinstance(WithArgs(2), gn.models.Functional)
