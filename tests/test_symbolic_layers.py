"""Every layer class works on a functional ``gn.Input``, as every Keras layer does.

For each class in ``LAYER_CLASSES`` the symbolic call must (1) report the output shape the
same layer gives on real data (batch axis ``None``) and (2) the functional model built from
that call must predict exactly what the layer computes eagerly with the same weights. A layer
class added later without an entry below is still tried with default arguments on a few
input ranks; if none fits, the test names it so that an entry is added.
"""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet import layers as L
from glassnet.layers import LAYER_CLASSES

IMG, SEQ, VEC = (8, 8, 3), (6, 4), (5,)


def _text_vectorization():
    tv = L.TextVectorization(max_tokens=20, output_mode="int", output_sequence_length=4)
    tv.adapt(np.array(["the cat sat", "the dog ran"]))
    return tv


# class name -> (constructor, sample shape(s) without batch; a list means a list call, dtype)
SPECS = {
    "Activation": (lambda: L.Activation("tanh"), VEC),
    "Bidirectional": (lambda: L.Bidirectional(L.LSTM(3, return_sequences=True)), SEQ),
    "Conv1D": (lambda: L.Conv1D(4, 3), SEQ),
    "Conv2D": (lambda: L.Conv2D(4, 3), IMG),
    "Conv2DTranspose": (lambda: L.Conv2DTranspose(4, 3, strides=2), IMG),
    "Conv1DTranspose": (lambda: L.Conv1DTranspose(4, 3, strides=2), SEQ),
    "Dense": (lambda: L.Dense(3), VEC),
    "EinsumDense": (lambda: L.EinsumDense("ab,bc->ac", 3, bias_axes="c"), VEC),
    "Dropout": (lambda: L.Dropout(0.5), VEC),
    "Embedding": (lambda: L.Embedding(10, 4), (7,), "int64"),
    "ReversibleEmbedding": (lambda: L.ReversibleEmbedding(10, 4), (7,), "int64"),
    "SpectralNormalization": (lambda: L.SpectralNormalization(L.Dense(2)), VEC),
    "GRU": (lambda: L.GRU(3), SEQ),
    "GaussianDropout": (lambda: L.GaussianDropout(0.3), VEC),
    "GaussianNoise": (lambda: L.GaussianNoise(0.3), VEC),
    "JordanRNN": (lambda: L.JordanRNN(3), SEQ),
    "LSTM": (lambda: L.LSTM(3), SEQ),
    "Maxout": (lambda: L.Maxout(3), VEC),
    "Permute": (lambda: L.Permute((2, 1)), SEQ),
    "RandomContrast": (lambda: L.RandomContrast(0.2), IMG),
    "RandomBrightness": (lambda: L.RandomBrightness(0.2), IMG),
    "RandomGrayscale": (lambda: L.RandomGrayscale(0.5), IMG),
    "RandomInvert": (lambda: L.RandomInvert(0.5), IMG),
    "RandomCrop": (lambda: L.RandomCrop(4, 5), IMG),
    "RandomRotation": (lambda: L.RandomRotation(0.1), IMG),
    "RandomTranslation": (lambda: L.RandomTranslation(0.1, 0.1), IMG),
    "RandomZoom": (lambda: L.RandomZoom(0.1), IMG),
    "RepeatVector": (lambda: L.RepeatVector(3), VEC),
    "Reshape": (lambda: L.Reshape((5, 1)), VEC),
    "SimpleRNN": (lambda: L.SimpleRNN(3), SEQ),
    "SpatialDropout1D": (lambda: L.SpatialDropout1D(0.3), SEQ),
    "SpatialDropout2D": (lambda: L.SpatialDropout2D(0.3), IMG),
    "TimeDistributed": (lambda: L.TimeDistributed(L.Dense(2)), SEQ),
    "AlphaDropout": (lambda: L.AlphaDropout(0.2), VEC),
    "GroupNormalization": (lambda: L.GroupNormalization(groups=2), SEQ),
    "Lambda": (lambda: L.Lambda(lambda t: t * 2.0), VEC),
    "Attention": (lambda: L.Attention(), [SEQ, SEQ]),
    "AdditiveAttention": (lambda: L.AdditiveAttention(), [SEQ, SEQ]),
    "MultiHeadAttention": (lambda: L.MultiHeadAttention(2, 3), [SEQ, SEQ]),
    "GroupedQueryAttention": (lambda: L.GroupQueryAttention(3, 4, 2), [SEQ, SEQ]),
    "Dot": (lambda: L.Dot(axes=1), [VEC, VEC]),
    "CategoryEncoding": (lambda: L.CategoryEncoding(num_tokens=10, output_mode="multi_hot"),
                         (3,), "int64"),
    "CenterCrop": (lambda: L.CenterCrop(4, 5), IMG),
    "Discretization": (lambda: L.Discretization(bin_boundaries=[-0.5, 0.0, 0.5]), VEC),
    "Hashing": (lambda: L.Hashing(num_bins=4), (3,), "int64"),
    "Rescaling": (lambda: L.Rescaling(1.0 / 255, offset=-1.0), IMG),
    "Resizing": (lambda: L.Resizing(4, 6), IMG),
    "TextVectorization": (_text_vectorization, (1,), "str"),
    "SymbolicOp": (lambda: LAYER_CLASSES["SymbolicOp"]("mul", [None, 2.0], [0]), VEC),
    "Add": (lambda: L.Add(), [VEC, VEC]),
    "Average": (lambda: L.Average(), [VEC, VEC]),
    "Multiply": (lambda: L.Multiply(), [VEC, VEC]),
    "Concatenate": (lambda: L.Concatenate(), [VEC, (2,)]),
    "DepthwiseConv1D": (lambda: L.DepthwiseConv1D(3, depth_multiplier=2), SEQ),
    "DepthwiseConv2D": (lambda: L.DepthwiseConv2D(3, padding="same"), IMG),
    "SeparableConv1D": (lambda: L.SeparableConv1D(4, 3), SEQ),
    "SeparableConv2D": (lambda: L.SeparableConv2D(4, 3, strides=2), IMG),
    "Conv3D": (lambda: L.Conv3D(2, 2), (4, 5, 5, 2)),
    "MaxPooling3D": (lambda: L.MaxPooling3D(), (4, 5, 5, 2)),
    "AveragePooling3D": (lambda: L.AveragePooling3D(padding="same"), (3, 5, 5, 2)),
    "UpSampling3D": (lambda: L.UpSampling3D(), (2, 3, 3, 2)),
    "ZeroPadding3D": (lambda: L.ZeroPadding3D(1), (2, 3, 3, 2)),
    "Cropping3D": (lambda: L.Cropping3D(1), (4, 3, 3, 2)),
    "GlobalAveragePooling3D": (lambda: L.GlobalAveragePooling3D(), (2, 3, 3, 2)),
    "Wrapper": (lambda: L.Wrapper(L.Dense(3)), VEC),
    "AdaptiveAveragePooling1D": (lambda: L.AdaptiveAveragePooling1D(2), SEQ),
    "AdaptiveMaxPooling1D": (lambda: L.AdaptiveMaxPooling1D(2), SEQ),
    "AdaptiveAveragePooling2D": (lambda: L.AdaptiveAveragePooling2D((2, 3)), IMG),
    "AdaptiveMaxPooling2D": (lambda: L.AdaptiveMaxPooling2D(2), IMG),
    "AdaptiveAveragePooling3D": (lambda: L.AdaptiveAveragePooling3D(2), (4, 5, 5, 2)),
    "AdaptiveMaxPooling3D": (lambda: L.AdaptiveMaxPooling3D((1, 2, 2)), (4, 5, 5, 2)),
    "GlobalMaxPooling3D": (lambda: L.GlobalMaxPooling3D(), (2, 3, 3, 2)),
    "RNN": (lambda: L.RNN([L.LSTMCell(3), L.GRUCell(2)], return_sequences=True), SEQ),
    "ConvLSTM2D": (lambda: L.ConvLSTM2D(2, 3, padding="same"), (3, 5, 5, 2)),
    "ConvLSTM1D": (lambda: L.ConvLSTM1D(2, 3, padding="same"), (3, 5, 2)),
}
SKIP = {"InputLayer": "it is the input itself",
        # a cell is one time step, (output, states) = cell(x_t, states); RNN(cell) runs it
        "SimpleRNNCell": "a recurrent cell: RNN(cell) takes the symbolic sequence",
        "LSTMCell": "a recurrent cell: RNN(cell) takes the symbolic sequence",
        "GRUCell": "a recurrent cell: RNN(cell) takes the symbolic sequence",
        "StackedRNNCells": "recurrent cells: RNN(cells) takes the symbolic sequence",
        "ConvLSTM2DCell": "a recurrent cell: ConvLSTM2D takes the symbolic sequence",
        "ConvLSTM1DCell": "a recurrent cell: ConvLSTM1D takes the symbolic sequence"}
FALLBACK_SHAPES = (VEC, SEQ, IMG, [VEC, VEC])


def _data(shape, dtype, rng):
    if isinstance(shape, list):
        return [_data(s, dtype, rng) for s in shape]
    if dtype == "int64":
        return rng.integers(0, 10, (2, *shape)).astype("int64")
    if dtype == "str":
        return np.array([["the cat"], ["a dog ran"]])
    return rng.standard_normal((2, *shape)).astype("float32")


def _inputs(shape, dtype):
    if isinstance(shape, list):
        return [gn.Input(shape=s, dtype=dtype) for s in shape]
    return gn.Input(shape=shape, dtype=dtype)


def _check(make, shape, dtype="float32"):
    gn.set_seed(0)
    layer = make()
    inp = _inputs(shape, dtype)
    out = layer(inp)
    assert isinstance(out, gn.models.SymbolicTensor), type(out)
    x = _data(shape, dtype, np.random.default_rng(0))
    eager = layer(x, training=False).data
    assert out.shape == (None, *eager.shape[1:])
    model = gn.Model(inp, out)  # replaying the recorded graph gives the eager result
    np.testing.assert_allclose(model(x, training=False).data, eager, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", sorted(LAYER_CLASSES))
def test_every_layer_class_takes_a_symbolic_input(name):
    if name in SKIP:
        assert issubclass(LAYER_CLASSES[name], L.Layer)
        return
    if name in SPECS:
        make, shape, *dt = SPECS[name]
        _check(make, shape, *dt)
        return
    errors = []
    for shape in FALLBACK_SHAPES:  # a class with default arguments only
        try:
            _check(LAYER_CLASSES[name], shape)
            return
        except (TypeError, ValueError) as e:
            errors.append(f"{shape}: {type(e).__name__}: {e}")
    pytest.fail(f"{name}: no input fits its default constructor; add it to SPECS in this "
                f"file. Tried: {errors}")


def test_input_shape_has_the_batch_axis_as_keras():
    assert gn.Input(shape=(28, 28, 1)).shape == (None, 28, 28, 1)
    assert gn.Input(shape=(3,), batch_size=4).shape == (4, 3)
    assert gn.Input(batch_shape=(None, 5)).shape == (None, 5)
    inp = gn.Input(shape=(200,), dtype="int64", name="tokens")
    assert inp.name == "tokens" and inp.dtype == np.dtype("int64")
    with pytest.raises(ValueError, match="batch_size"):
        gn.Input(shape=(3,), batch_size=0)


def test_keras_issue_reproductions():
    emb = L.Embedding(1000, 8)(gn.Input(shape=(200,), dtype="int64"))
    assert emb.shape == (None, 200, 8)
    assert L.Conv2D(8, 3)(gn.Input(shape=(28, 28, 1))).shape == (None, 26, 26, 8)
    assert L.MaxPooling2D()(gn.Input(shape=(28, 28, 1))).shape == (None, 14, 14, 1)
    assert L.Conv1D(4, 3)(gn.Input(shape=(20, 3))).shape == (None, 18, 4)


def test_variable_length_axis_is_none_and_any_length_runs():
    inp = gn.Input(shape=(None,), dtype="int64")
    seq = L.Embedding(20, 4)(inp)
    assert seq.shape == (None, None, 4)
    conv = L.Conv1D(3, 3, padding="same")(seq)
    pooled = L.MaxPooling1D(2)(conv)
    assert pooled.shape == (None, None, 3)
    out = L.Dense(1)(L.GlobalMaxPooling1D()(pooled))
    assert out.shape == (None, 1)
    model = gn.Model(inp, out)
    for t in (4, 9, 40):
        x = np.random.default_rng(t).integers(0, 20, (3, t))
        assert model.predict(x, verbose=0).shape == (3, 1)


def test_variable_length_sequential_as_keras_writes_it():
    model = gn.Sequential([gn.Input(shape=(None,)), L.Embedding(10, 4), L.LSTM(3),
                           L.Dense(1)])
    for t in (1, 5, 17):
        assert model.predict(np.ones((2, t), "int64"), verbose=0).shape == (2, 1)


def test_flatten_of_a_variable_axis_into_dense_is_refused_with_the_layer_named():
    h = L.Flatten()(gn.Input(shape=(None, 2)))
    assert h.shape == (None, None)
    with pytest.raises(ValueError, match="dense"):
        L.Dense(2, name="dense_after_flatten")(h)


def test_training_kwarg_is_fixed_per_call_as_in_transfer_learning():
    # keras.io transfer learning: x = base_model(inputs, training=False) keeps dropout off
    inp = gn.Input(shape=(4,))
    drop = L.Dropout(0.9)
    out = drop(inp, training=False)
    model = gn.Model(inp, out)
    x = np.ones((8, 4), "float32")
    y = model(x, training=True)  # the node says training=False
    np.testing.assert_array_equal(y.data, x)
    inp2 = gn.Input(shape=(4,))
    model2 = gn.Model(inp2, L.Dropout(0.9)(inp2))
    assert (model2(x, training=True).data == 0).any()


def test_multi_output_layer_gives_one_symbolic_tensor_per_output():
    inp = gn.Input(shape=(5, 3))
    seq, h, c = L.LSTM(4, return_state=True, return_sequences=True)(inp)
    assert seq.shape == (None, 5, 4) and h.shape == (None, 4) and c.shape == (None, 4)
    model = gn.Model(inp, [L.Dense(1)(h), c])
    x = np.random.default_rng(0).standard_normal((2, 5, 3)).astype("float32")
    a, b = model.predict(x, verbose=0)
    assert a.shape == (2, 1) and b.shape == (2, 4)
    clone = gn.Model.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    for u, v in zip(clone.predict(x, verbose=0), (a, b)):
        np.testing.assert_allclose(u, v, rtol=1e-6)


def test_python_operators_on_functional_tensors_as_keras3(tmp_path):
    inputs = gn.Input(shape=(4,))
    scaled = inputs / 2.0 - 1.0  # records SymbolicOp nodes, as Keras's operations
    h = L.Dense(3)(scaled)
    out = 1.0 - h * h + h[:, :1] ** 2 + (-h)
    assert scaled.shape == (None, 4) and out.shape == (None, 3)
    model = gn.Model(inputs, out)
    x = np.random.default_rng(0).standard_normal((5, 4)).astype("float32")
    k, b = model.get_layer(index=3).kernel.data, model.get_layer(index=3).bias.data
    hh = (x / 2 - 1) @ k + b
    np.testing.assert_allclose(model.predict(x, verbose=0), 1 - hh * hh + hh[:, :1] ** 2 - hh,
                               rtol=1e-5, atol=1e-6)
    a, c = gn.Input(shape=(2, 3)), gn.Input(shape=(3, 2))
    prod = a @ c
    assert prod.shape == (None, 2, 2)
    both = gn.Model([a, c], [prod, a * 3.0 + a])
    rng = np.random.default_rng(1)
    xa = rng.standard_normal((4, 2, 3)).astype("float32")
    xc = rng.standard_normal((4, 3, 2)).astype("float32")
    p, q = both.predict([xa, xc], verbose=0)
    np.testing.assert_allclose(p, xa @ xc, rtol=1e-5)
    np.testing.assert_allclose(q, 4 * xa, rtol=1e-6)
    clone = gn.Model.from_config(model.get_config())  # the operators serialize by name only
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone.predict(x, verbose=0), model.predict(x, verbose=0))
    model.save(tmp_path / "ops.glassnet")
    loaded = gn.models.load_model(tmp_path / "ops.glassnet")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    with pytest.raises(TypeError, match="cannot be iterated"):
        list(inputs)
    with pytest.raises(ValueError, match="op must be one of"):
        LAYER_CLASSES["SymbolicOp"]("__import__", [None], [0])
