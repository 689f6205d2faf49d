"""Base ``Layer``: lifecycle, freezing, weights order, get/set_weights, config, names."""

import json

import numpy as np
import pytest

import glassnet as gn
from glassnet.layers import BatchNormalization, Dense, Layer, get_layer_class
from glassnet.layers.base import reset_names


class _Scale(Layer):
    def build(self, input_shape):
        self.s = self.add_weight("s", (input_shape[-1],), "ones")
        self.c = self.add_weight("c", (input_shape[-1],), "zeros", trainable=False)

    def call(self, x, training=False):
        return x * self.s + self.c


class _Block(Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.inner = Dense(2)
        self.norm = BatchNormalization()

    def call(self, x, training=False):
        return self.norm(self.inner(x), training=training)


def test_build_on_first_call_with_batch_none():
    layer = _Scale()
    assert not layer.built
    layer(np.ones((3, 4), "float32"))
    assert layer.built and layer.input_shape_built == (None, 4)
    assert layer.s.shape == (4,) and layer.count_params() == 8


def test_trainable_order_and_freezing_stops_gradients():
    layer = _Scale()
    x = gn.tensor(np.ones((2, 3)))
    layer(x)
    assert [w.name for w in layer.weights] == [f"{layer.name}/s", f"{layer.name}/c"]
    assert [w.name for w in layer.trainable_weights] == [f"{layer.name}/s"]
    layer(x).sum().backward()
    np.testing.assert_allclose(layer.s.grad, [2, 2, 2])
    assert layer.c.grad is None  # non-trainable weights get no gradient
    layer.trainable = False
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 2
    assert layer.s.grad is None
    assert not layer(x).requires_grad  # frozen: no graph is recorded at all
    layer.trainable = True
    assert layer.s.requires_grad and not layer.c.requires_grad


def test_sublayers_tracked_and_frozen_together():
    gn.set_seed(0)
    block = _Block()
    block(np.ones((4, 3), "float32"), training=True)
    names = [w.name.split("/")[-1] for w in block.weights]
    # Keras order: all trainable (kernel, bias, gamma, beta) then non-trainable
    assert names == ["kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance"]
    block.trainable = False
    assert not block.inner.trainable and not block.norm.trainable
    assert block.trainable_weights == []


def test_get_set_weights_copies_and_validates():
    layer = _Scale(name="sc")
    layer(np.ones((1, 2), "float32"))
    got = layer.get_weights()
    got[0][:] = 7  # a copy: the layer is unchanged
    np.testing.assert_array_equal(layer.s.data, [1, 1])
    layer.set_weights([np.array([2.0, 3.0]), np.array([0.5, 0.5])])
    np.testing.assert_array_equal(layer(np.ones((1, 2), "float32")).data, [[2.5, 3.5]])
    assert layer.s.data.dtype == np.float32  # set_weights keeps the weight dtype
    with pytest.raises(ValueError, match=r"'sc': expected 2 weight arrays. Received: 1"):
        layer.set_weights([np.ones(2)])
    with pytest.raises(ValueError, match=r"'sc'.*shape \(2,\). Received: shape \(3,\)"):
        layer.set_weights([np.ones(3), np.ones(2)])


def test_unique_names_and_reset():
    reset_names()
    a, b, c = Dense(1), Dense(1), BatchNormalization()
    assert (a.name, b.name, c.name) == ("dense", "dense_1", "batch_normalization")
    assert Dense(1, name="head").name == "head"
    reset_names()
    assert Dense(1).name == "dense"


def test_input_dim_and_declared_shape_checked():
    d = Dense(2, input_dim=3, name="d")
    assert d.input_spec_shape == (3,)
    with pytest.raises(ValueError, match=r"'d': expected input shape \(None, 3\)\. "
                                         r"Received: input shape \(None, 4\)"):
        d(np.ones((1, 4), "float32"))
    with pytest.raises(ValueError, match="input_dim must be a positive int"):
        Dense(2, input_dim=0)
    with pytest.raises(TypeError, match="unexpected keyword"):
        Dense(2, units_typo=3)


def test_config_round_trip_keeps_dtype_and_trainable():
    gn.set_seed(0)
    d = Dense(3, dtype="float64", trainable=False, input_shape=(4,))
    cfg = json.loads(json.dumps(d.get_config()))
    e = get_layer_class(cfg.get("class_name", "Dense")).from_config(cfg)
    assert e.get_config() == d.get_config()
    e.build((None, 4))
    assert e.kernel.dtype == np.float64 and not e.trainable
    with pytest.raises(ValueError, match="Unknown layer class 'Dens'.*Dense"):
        get_layer_class("Dens")


def test_activity_regularizer_losses_reset_each_call():
    d = Dense(2, activity_regularizer={"class_name": "L1", "config": {"l1": 1.0}})
    d(np.ones((1, 3), "float32"))
    d(np.ones((1, 3), "float32"))
    assert len(d.losses) == 1  # not accumulated across calls
