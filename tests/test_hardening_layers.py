"""Every layer checks its input against the shape it was built for (issue #20 item 5).

A built layer given an input of the wrong shape must raise ``ValueError`` naming the layer,
as Keras does (an LSTM given the wrong feature count used to fail inside the numba kernel
with a SystemError, GRU/SimpleRNN with a bare matmul error). Layers that take any shape, as
in Keras, are listed with the reason and shown to work on a different shape. A layer class
added later without an entry here fails the test until it gets one.
"""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet import layers as L
from glassnet.layers import LAYER_CLASSES

IMG, SEQ, VEC = (8, 8, 3), (6, 4), (5,)
VOL = (4, 5, 5, 2)

# class name -> (constructor, input shape it is built on, a wrong input shape)
REFUSES = {
    "Dense": (lambda: L.Dense(3), VEC, (6,)),
    "EinsumDense": (lambda: L.EinsumDense("ab,bc->ac", 3), VEC, (6,)),
    "Maxout": (lambda: L.Maxout(3), VEC, (6,)),
    "PReLU": (lambda: L.PReLU(), VEC, (6,)),
    "BatchNormalization": (lambda: L.BatchNormalization(), VEC, (6,)),
    "LayerNormalization": (lambda: L.LayerNormalization(), VEC, (6,)),
    "GroupNormalization": (lambda: L.GroupNormalization(groups=2), SEQ, (6, 6)),
    "Normalization": (lambda: L.Normalization(), VEC, (6,)),
    "Conv1D": (lambda: L.Conv1D(4, 3), SEQ, (6, 5)),
    "Conv2D": (lambda: L.Conv2D(4, 3), IMG, (8, 8, 4)),
    "Conv2DTranspose": (lambda: L.Conv2DTranspose(4, 3, strides=2), IMG, (8, 8, 4)),
    "Conv1DTranspose": (lambda: L.Conv1DTranspose(4, 3, strides=2), SEQ, (6, 5)),
    "LSTM": (lambda: L.LSTM(3), SEQ, (6, 5)),
    "GRU": (lambda: L.GRU(3), SEQ, (6, 5)),
    "SimpleRNN": (lambda: L.SimpleRNN(3), SEQ, (6, 5)),
    "JordanRNN": (lambda: L.JordanRNN(3), SEQ, (6, 5)),
    "Bidirectional": (lambda: L.Bidirectional(L.LSTM(3)), SEQ, (6, 5)),
    "TimeDistributed": (lambda: L.TimeDistributed(L.Dense(2)), SEQ, (6, 5)),
    "MaxPooling1D": (lambda: L.MaxPooling1D(), SEQ, VEC),
    "AveragePooling1D": (lambda: L.AveragePooling1D(), SEQ, VEC),
    "MaxPooling2D": (lambda: L.MaxPooling2D(), IMG, SEQ),
    "AveragePooling2D": (lambda: L.AveragePooling2D(), IMG, SEQ),
    "GlobalMaxPooling1D": (lambda: L.GlobalMaxPooling1D(), SEQ, VEC),
    "GlobalAveragePooling1D": (lambda: L.GlobalAveragePooling1D(), SEQ, VEC),
    "GlobalMaxPooling2D": (lambda: L.GlobalMaxPooling2D(), IMG, SEQ),
    "GlobalAveragePooling2D": (lambda: L.GlobalAveragePooling2D(), IMG, SEQ),
    "UpSampling1D": (lambda: L.UpSampling1D(), SEQ, VEC),
    "UpSampling2D": (lambda: L.UpSampling2D(), IMG, SEQ),
    "ZeroPadding1D": (lambda: L.ZeroPadding1D(), SEQ, VEC),
    "ZeroPadding2D": (lambda: L.ZeroPadding2D(), IMG, SEQ),
    "Cropping1D": (lambda: L.Cropping1D(1), SEQ, VEC),
    "Cropping2D": (lambda: L.Cropping2D(1), IMG, SEQ),
    "SpatialDropout1D": (lambda: L.SpatialDropout1D(0.3), SEQ, VEC),
    "SpatialDropout2D": (lambda: L.SpatialDropout2D(0.3), IMG, SEQ),
    "Permute": (lambda: L.Permute((2, 1)), SEQ, (6, 4, 2)),
    "RepeatVector": (lambda: L.RepeatVector(3), VEC, (5, 2)),
    "Reshape": (lambda: L.Reshape((5, 1)), VEC, (6,)),
    "RandomCrop": (lambda: L.RandomCrop(4, 5), IMG, SEQ),
    "CenterCrop": (lambda: L.CenterCrop(4, 4), IMG, (3,)),
    "Resizing": (lambda: L.Resizing(4, 4), IMG, (3,)),
    "Add": (lambda: L.Add(), [VEC, VEC], [VEC, (6,)]),
    "Subtract": (lambda: L.Subtract(), [VEC, VEC], [VEC, (6,)]),
    "Multiply": (lambda: L.Multiply(), [VEC, VEC], [VEC, (6,)]),
    "Average": (lambda: L.Average(), [VEC, VEC], [VEC, (6,)]),
    "Maximum": (lambda: L.Maximum(), [VEC, VEC], [VEC, (6,)]),
    "Minimum": (lambda: L.Minimum(), [VEC, VEC], [VEC, (6,)]),
    "Dot": (lambda: L.Dot(axes=1), [VEC, VEC], [VEC, (6,)]),
    "Concatenate": (lambda: L.Concatenate(), [VEC, (2,)], [SEQ, (2,)]),
    "Attention": (lambda: L.Attention(), [SEQ, SEQ], [(6, 5), SEQ]),
    "AdditiveAttention": (lambda: L.AdditiveAttention(), [SEQ, SEQ], [(6, 5), SEQ]),
    "MultiHeadAttention": (lambda: L.MultiHeadAttention(2, 3), [SEQ, SEQ], [(6, 5), SEQ]),
    "GroupedQueryAttention": (lambda: L.GroupQueryAttention(3, 4, 2), [SEQ, SEQ],
                              [(6, 5), SEQ]),
    "LSTMCell": (lambda: L.LSTMCell(3), (4,), (5,)),
    "GRUCell": (lambda: L.GRUCell(3), (4,), (5,)),
    "SimpleRNNCell": (lambda: L.SimpleRNNCell(3), (4,), (5,)),
    "StackedRNNCells": (lambda: L.StackedRNNCells([L.LSTMCell(3), L.LSTMCell(2)]), (4,), (5,),
                        lambda ly: ly.cells[0].name),
    "DepthwiseConv1D": (lambda: L.DepthwiseConv1D(3), SEQ, (6, 5)),
    "DepthwiseConv2D": (lambda: L.DepthwiseConv2D(3), IMG, (8, 8, 4)),
    "SeparableConv1D": (lambda: L.SeparableConv1D(4, 3), SEQ, (6, 5)),
    "SeparableConv2D": (lambda: L.SeparableConv2D(4, 3), IMG, (8, 8, 4)),
    "Conv3D": (lambda: L.Conv3D(2, 2), VOL, (4, 5, 5, 3)),
    "MaxPooling3D": (lambda: L.MaxPooling3D(), VOL, IMG),
    "AveragePooling3D": (lambda: L.AveragePooling3D(), VOL, IMG),
    "UpSampling3D": (lambda: L.UpSampling3D(), VOL, IMG),
    "ZeroPadding3D": (lambda: L.ZeroPadding3D(1), VOL, IMG),
    "Cropping3D": (lambda: L.Cropping3D(1), VOL, IMG),
    "GlobalAveragePooling3D": (lambda: L.GlobalAveragePooling3D(), VOL, IMG),
    "GlobalMaxPooling3D": (lambda: L.GlobalMaxPooling3D(), VOL, IMG),
    "RMSNormalization": (lambda: L.RMSNormalization(), SEQ, (6, 5)),
    # a wrapper's error names the layer it wraps (the one with the weights)
    "Wrapper": (lambda: L.Wrapper(L.Dense(3)), VEC, (6,), lambda ly: ly.layer.name),
    "AdaptiveAveragePooling1D": (lambda: L.AdaptiveAveragePooling1D(3), SEQ, IMG),
    "AdaptiveMaxPooling1D": (lambda: L.AdaptiveMaxPooling1D(3), SEQ, IMG),
    "AdaptiveAveragePooling2D": (lambda: L.AdaptiveAveragePooling2D(2), IMG, SEQ),
    "AdaptiveMaxPooling2D": (lambda: L.AdaptiveMaxPooling2D(2), IMG, VOL),
    "AdaptiveAveragePooling3D": (lambda: L.AdaptiveAveragePooling3D(2), VOL, IMG),
    "AdaptiveMaxPooling3D": (lambda: L.AdaptiveMaxPooling3D((2, 3, 2)), VOL, IMG),
    "ConvLSTM2D": (lambda: L.ConvLSTM2D(2, 2), (3, 5, 5, 2), (3, 5, 5, 3),
                   lambda ly: ly.cell.name),
    "ConvLSTM1D": (lambda: L.ConvLSTM1D(2, 2), (3, 5, 2), (3, 5, 3), lambda ly: ly.cell.name),
    "ConvLSTM1DCell": (lambda: L.ConvLSTM1DCell(2, 2), (5, 2), (5, 3)),
    "ConvLSTM2DCell": (lambda: L.ConvLSTM2DCell(2, 2), (5, 5, 2), (5, 5, 3)),
    # the RNN wrapper's error names the cell it runs (the layer with the weights)
    "RNN": (lambda: L.RNN(L.LSTMCell(3)), SEQ, (6, 5), lambda ly: ly.cell.name),
}

# class name -> (constructor, input shape it is built on, another shape it takes, why)
ANY_SHAPE = {
    "Activation": (lambda: L.Activation("tanh"), VEC, SEQ, "elementwise"),
    "ActivityRegularization": (lambda: L.ActivityRegularization(0.1), VEC, SEQ, "elementwise"),
    "AlphaDropout": (lambda: L.AlphaDropout(0.2), VEC, SEQ, "elementwise"),
    "Dropout": (lambda: L.Dropout(0.5), VEC, SEQ, "elementwise"),
    "ELU": (lambda: L.ELU(), VEC, SEQ, "elementwise"),
    "GaussianDropout": (lambda: L.GaussianDropout(0.3), VEC, SEQ, "elementwise"),
    "GaussianNoise": (lambda: L.GaussianNoise(0.3), VEC, SEQ, "elementwise"),
    "Identity": (lambda: L.Identity(), VEC, SEQ, "elementwise"),
    "Lambda": (lambda: L.Lambda(lambda t: t * 2.0), VEC, SEQ, "elementwise here"),
    "LeakyReLU": (lambda: L.LeakyReLU(), VEC, SEQ, "elementwise"),
    "Masking": (lambda: L.Masking(), VEC, SEQ, "elementwise"),
    "ReLU": (lambda: L.ReLU(), VEC, SEQ, "elementwise"),
    "Softmax": (lambda: L.Softmax(), VEC, SEQ, "along its axis, any shape"),
    "UnitNormalization": (lambda: L.UnitNormalization(), VEC, SEQ, "along its axis"),
    "Flatten": (lambda: L.Flatten(), SEQ, IMG, "any rank >= 1, as Keras"),
    "Embedding": (lambda: L.Embedding(10, 4), (7,), (9,), "any sequence length"),
    "ReversibleEmbedding": (lambda: L.ReversibleEmbedding(10, 4), (7,), (9,),
                            "any sequence length (and vectors, reversed)"),
    "SpectralNormalization": (lambda: L.SpectralNormalization(L.Dense(2)), SEQ, (7, 4),
                              "its Dense takes any leading axes"),
    "Rescaling": (lambda: L.Rescaling(0.5), VEC, SEQ, "elementwise"),
    "RandomContrast": (lambda: L.RandomContrast(0.2), IMG, (9, 9, 3),
                       "any image size; identity at inference"),
    "RandomFlip": (lambda: L.RandomFlip(), IMG, (9, 9, 3), "any image size"),
    "RandomBrightness": (lambda: L.RandomBrightness(0.2), IMG, (9, 9, 3),
                         "any image size; identity at inference"),
    "RandomGrayscale": (lambda: L.RandomGrayscale(0.5), IMG, (9, 9, 3),
                        "any image size; identity at inference"),
    "RandomInvert": (lambda: L.RandomInvert(0.5), IMG, (9, 9, 3),
                     "any image size; identity at inference"),
    "RandomRotation": (lambda: L.RandomRotation(0.1), IMG, (9, 9, 3), "any image size"),
    "RandomTranslation": (lambda: L.RandomTranslation(0.1, 0.1), IMG, (9, 9, 3),
                          "any image size"),
    "RandomZoom": (lambda: L.RandomZoom(0.1), IMG, (9, 9, 3), "any image size"),
    "Discretization": (lambda: L.Discretization(bin_boundaries=[0.0]), VEC, SEQ,
                       "elementwise"),
    "Hashing": (lambda: L.Hashing(4), VEC, SEQ, "elementwise"),
    "IntegerLookup": (lambda: L.IntegerLookup(vocabulary=[1, 2]), VEC, SEQ, "elementwise"),
    "CategoryEncoding": (lambda: L.CategoryEncoding(4, output_mode="one_hot"), (1,), (1,),
                         "one index per sample"),
}
NOT_HERE = {
    "StringLookup": "takes strings, not numeric tensors",
    "TextVectorization": "takes strings, not numeric tensors",
    "InputLayer": "it is the input itself, never called on data",
    "SymbolicOp": "a keras.ops call recorded in a functional graph: its shapes are the op's",
}
INT_INPUT = {"Embedding", "ReversibleEmbedding", "Hashing", "IntegerLookup",
             "CategoryEncoding"}


def _data(shape, name, rng):
    if isinstance(shape, list):
        return [_data(s, name, rng) for s in shape]
    if name in INT_INPUT:
        return rng.integers(0, 3, (2, *shape)).astype("int64")
    return rng.standard_normal((2, *shape)).astype("float32")


def test_every_layer_class_has_an_entry():
    missing = set(LAYER_CLASSES) - set(REFUSES) - set(ANY_SHAPE) - set(NOT_HERE)
    assert not missing, f"add these layer classes to this file's tables: {sorted(missing)}"


@pytest.mark.parametrize("name", sorted(set(REFUSES) & set(LAYER_CLASSES)))
def test_a_built_layer_refuses_a_wrong_input_shape_naming_itself(name):
    make, good, bad, *named = REFUSES[name]
    rng = np.random.default_rng(0)
    layer = make()
    layer(_data(good, name, rng))  # builds it
    layer(_data(good, name, rng))  # the shape it was built for still works
    with pytest.raises(ValueError) as e:
        layer(_data(bad, name, rng))
    msg = str(e.value)
    assert f"'{named[0](layer) if named else layer.name}'" in msg, msg
    assert "Received" in msg, msg


@pytest.mark.parametrize("name", sorted(set(ANY_SHAPE) & set(LAYER_CLASSES)))
def test_a_layer_that_takes_any_shape_takes_another_one(name):
    make, good, other, _why = ANY_SHAPE[name]
    rng = np.random.default_rng(0)
    layer = make()
    layer(_data(good, name, rng))
    y = layer(_data(other, name, rng))
    assert y.shape[0] == 2


def test_the_issues_lstm_repro_names_the_layer_and_both_shapes():
    for model in (gn.Sequential([L.LSTM(4, input_shape=(5, 3))]),
                  gn.Sequential([L.Bidirectional(L.LSTM(4), input_shape=(5, 3))]),
                  gn.Sequential([L.GRU(4, input_shape=(5, 3))]),
                  gn.Sequential([L.SimpleRNN(4, input_shape=(5, 3))])):
        with pytest.raises(ValueError) as e:
            model.predict(np.zeros((2, 5, 4), "f4"), verbose=0)
        msg = str(e.value)
        assert f"'{model.layers[0].name}'" in msg and "(None, ..., 3)" in msg, msg
        assert "(2, 5, 4)" in msg, msg


def test_dense_keeps_working_on_any_rank_with_the_right_features():
    d = L.Dense(2)
    d(np.zeros((3, 4), "f4"))
    assert d(np.zeros((3, 7, 4), "f4")).shape == (3, 7, 2)  # as Keras: last axis only


def test_normalization_checks_its_own_axis():
    bn = L.BatchNormalization(axis=1)
    bn(np.zeros((2, 3, 5), "f4"))
    assert bn(np.zeros((2, 3, 9), "f4")).shape == (2, 3, 9)  # other axes may change
    with pytest.raises(ValueError, match="batch_normalization"):
        bn(np.zeros((2, 4, 5), "f4"))


def test_prelu_with_shared_axes_fixes_only_the_others():
    p = L.PReLU(shared_axes=(1, 2))
    p(np.zeros((2, 4, 4, 3), "f4"))
    assert p(np.zeros((2, 6, 6, 3), "f4")).shape == (2, 6, 6, 3)
    with pytest.raises(ValueError, match="p_re_lu"):
        p(np.zeros((2, 4, 4, 2), "f4"))


def test_after_training_a_wrong_input_still_names_the_layer():
    # the compiled/replayed training step must not bypass the check
    m = gn.Sequential([L.Dense(3, activation="relu", input_dim=4),
                       L.Dense(2, activation="softmax")])
    m.compile("adam", "sparse_categorical_crossentropy")
    m.fit(np.zeros((8, 4), "f4"), np.zeros(8), epochs=2, verbose=0)
    for call in (lambda: m.fit(np.zeros((8, 5), "f4"), np.zeros(8), verbose=0),
                 lambda: m.predict(np.zeros((2, 5), "f4"), verbose=0),
                 lambda: m.evaluate(np.zeros((8, 5), "f4"), np.zeros(8), verbose=0)):
        with pytest.raises(ValueError, match=r"'dense'.*\(None, \.\.\., 4\).*\((8|2), 5\)"):
            call()
