"""Keras 3's convolution and pooling ops (keras.ops.conv, conv_transpose, depthwise_conv,
separable_conv, max_pool, average_pool) on the layers' kernels: values equal Keras's
(PyTorch backend) for 1-D to 3-D, grouped and channels-first inputs, gradients equal
central differences, and a Conv2D subclass's convolution_op is what its call runs."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import glassnet as gn

O, L = gn.ops, gn.layers
HAS_KERAS = importlib.util.find_spec("keras") is not None
R = np.random.default_rng(0)


def _f(*shape):
    return R.standard_normal(shape).astype("float32")


CASES = [  # (op, args, kwargs)
    ("conv", (_f(2, 9, 4), _f(3, 4, 5)), {"strides": 2}),
    ("conv", (_f(2, 9, 4), _f(3, 4, 5)), {"padding": "same", "dilation_rate": 2}),
    ("conv", (_f(2, 7, 8, 4), _f(3, 2, 4, 6)), {"strides": (1, 2), "padding": "same"}),
    ("conv", (_f(2, 7, 8, 4), _f(3, 3, 2, 6)), {}),  # two groups
    ("conv", (_f(2, 5, 6, 7, 4), _f(2, 3, 2, 4, 3)), {"padding": "same"}),
    ("conv", (np.transpose(_f(2, 7, 8, 4), (0, 3, 1, 2)).copy(), _f(3, 3, 4, 6)),
     {"data_format": "channels_first"}),
    ("conv_transpose", (_f(2, 4, 5, 4), _f(3, 3, 5, 4)), {"strides": 2, "padding": "same"}),
    ("conv_transpose", (_f(2, 5, 4), _f(3, 5, 4)), {"strides": 2}),
    ("depthwise_conv", (_f(2, 7, 8, 4), _f(3, 3, 4, 2)), {"strides": 2, "padding": "same"}),
    ("depthwise_conv", (_f(2, 9, 4), _f(3, 4, 2)), {}),
    ("separable_conv", (_f(2, 7, 8, 4), _f(3, 3, 4, 2), _f(1, 1, 8, 5)), {"padding": "same"}),
    ("max_pool", (_f(2, 9, 4), 2), {"padding": "same"}),
    ("max_pool", (_f(2, 7, 8, 4), (2, 3)), {"strides": (2, 1)}),
    ("max_pool", (_f(2, 5, 6, 7, 4), 2), {"padding": "same"}),
    ("max_pool", (np.transpose(_f(2, 7, 8, 4), (0, 3, 1, 2)).copy(), 2),
     {"data_format": "channels_first"}),
    ("average_pool", (_f(2, 9, 4), 3), {"strides": 3}),
    ("average_pool", (_f(2, 7, 8, 4), (2, 3)), {"strides": (2, 1)}),
    ("average_pool", (_f(2, 6, 6, 6, 4), 2), {"padding": "same"}),  # even: no padding
]


@pytest.mark.skipif(not HAS_KERAS, reason="real Keras 3 is not installed")
@pytest.mark.parametrize("case", range(len(CASES)))
def test_values_match_keras(case):
    import os

    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    name, args, kwargs = CASES[case]
    want = keras.ops.convert_to_numpy(getattr(keras.ops, name)(*args, **kwargs))
    got = getattr(O, name)(*args, **kwargs).data
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_average_pool_same_leaves_padding_out_of_the_mean():
    """Uneven 'same' padding: the mean of the real cells only, as TensorFlow and JAX take
    it (Keras's PyTorch backend repeats an edge cell there instead)."""
    x = np.arange(12.0, dtype="float32").reshape(1, 12, 1)
    y = O.average_pool(x, 3, strides=2, padding="same").data[0, :, 0]
    np.testing.assert_allclose(y, [1.0, 3.0, 5.0, 7.0, 9.0, 10.5])


@pytest.mark.parametrize("case", [0, 2, 3, 6, 7, 8, 10, 11, 16])
def test_gradients_are_central_differences(case):
    name, args, kwargs = CASES[case]
    arrays = [a.astype("float64") for a in args if isinstance(a, np.ndarray)]
    rest = [a for a in args if not isinstance(a, np.ndarray)]
    out = getattr(O, name)(*arrays, *rest, **kwargs)
    w = R.standard_normal(out.shape)
    gn.gradcheck(lambda *t: (getattr(O, name)(*t, *rest, **kwargs) * gn.tensor(w)).sum(),
                 *arrays)


def test_bad_input_is_refused_by_name():
    with pytest.raises(ValueError, match="conv: inputs must have rank"):
        O.conv(np.zeros((3, 3)), np.zeros((1, 3, 3)))
    with pytest.raises(ValueError, match="kernel of rank 4"):
        O.conv(np.zeros((1, 4, 4, 2)), np.zeros((3, 2, 3)))
    with pytest.raises(ValueError, match="multiple of the kernel's 3 input channels"):
        O.conv(np.zeros((1, 4, 4, 4)), np.zeros((3, 3, 3, 2)))
    with pytest.raises(ValueError, match="data_format"):
        O.max_pool(np.zeros((1, 4, 4, 2)), 2, data_format="nhwc")


def test_convolution_op_is_what_call_runs():
    """keras.io's weight-standardized Conv2D overrides convolution_op: call runs it, then
    the bias and the activation; the base convolution_op is the layer's own convolution."""

    class Standardized(L.Conv2D):
        def convolution_op(self, inputs, kernel):
            mean, var = O.moments(kernel, axes=[0, 1, 2], keepdims=True)
            return O.conv(inputs, (kernel - mean) / O.sqrt(var + 1e-10), padding="valid",
                          strides=list(self.strides), dilation_rate=list(self.dilation_rate))

    gn.set_seed(0)
    layer = Standardized(3, 3, activation="relu")
    x = _f(2, 6, 6, 2)
    y = layer(x).data
    k = layer.kernel.data
    ks = (k - k.mean(axis=(0, 1, 2))) / np.sqrt(k.var(axis=(0, 1, 2)) + 1e-10)
    ref = np.maximum(O.conv(x, ks).data + layer.bias.data, 0)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-6)
    m = gn.Sequential([gn.Input((6, 6, 2)), Standardized(4, 3), L.Flatten(), L.Dense(1)])
    m.compile("adam", "mse")
    before = m.layers[0].kernel.data.copy()
    m.fit(x, np.ones((2, 1), "float32"), epochs=2, verbose=0)
    assert not np.allclose(before, m.layers[0].kernel.data)  # gradients reach the kernel
    for conv, shape in [(L.Conv2D(3, 3, strides=2, padding="same"), (2, 7, 7, 2)),
                        (L.Conv1D(3, 3, padding="causal", dilation_rate=2), (2, 9, 2)),
                        (L.Conv1D(4, 3, groups=2), (2, 8, 4)),
                        (L.Conv2DTranspose(3, 3, strides=2, output_padding=1), (2, 4, 4, 2))]:
        xi = _f(*shape)
        np.testing.assert_allclose(conv(xi).data,
                                   conv.convolution_op(xi, conv.kernel).data + conv.bias.data,
                                   rtol=1e-5, atol=1e-5)


@pytest.mark.skipif(not HAS_KERAS, reason="real Keras 3 is not installed")
def test_weight_standardized_model_predicts_as_keras():
    """keras.io's recipe model (a Conv2D overriding call, another overriding
    convolution_op) with the same weights in both libraries: the same predictions."""
    import os

    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    def build(lib):
        ops = lib.ops

        class WithOverride(lib.layers.Conv2D):
            def convolution_op(self, inputs, kernel):
                mean, var = ops.moments(kernel, axes=[0, 1, 2], keepdims=True)
                return ops.conv(inputs, (kernel - mean) / ops.sqrt(var + 1e-10),
                                padding="valid", strides=list(self.strides),
                                dilation_rate=list(self.dilation_rate))

        class WithCall(lib.layers.Conv2D):
            def call(self, inputs):
                mean, var = ops.moments(self.kernel, axes=[0, 1, 2], keepdims=True)
                result = ops.conv(inputs, (self.kernel - mean) / ops.sqrt(var + 1e-10),
                                  padding="valid", strides=list(self.strides),
                                  dilation_rate=list(self.dilation_rate))
                return result + self.bias if self.use_bias else result

        return lib.Sequential([lib.layers.InputLayer(shape=(12, 12, 1)),
                               WithCall(4, 3, activation="relu"), lib.layers.MaxPooling2D(),
                               WithOverride(6, 3, activation="relu"), lib.layers.Flatten(),
                               lib.layers.Dense(3, activation="softmax")])

    km, gm = build(keras), build(gn)
    w = [np.random.default_rng(i).standard_normal(v.shape).astype("float32") * 0.3
         for i, v in enumerate(km.get_weights())]
    km.set_weights(w)
    gm.set_weights(w)
    x = np.random.default_rng(9).random((4, 12, 12, 1)).astype("float32")
    np.testing.assert_allclose(gm.predict(x, verbose=0), km.predict(x, verbose=0),
                               rtol=1e-4, atol=1e-6)
