"""ops.image (extract_patches, resize, pad_images, crop_images, rgb_to_grayscale): equal to
real Keras 3 on the same images, patches equal to NumPy slicing, gradients checked, and the
Vision Transformer's Patches layer of keras.io in a functional model."""

import numpy as np
import pytest
from _keras_reference import assert_same_results

import glassnet as gn
from glassnet import ops


def test_matches_real_keras():
    assert_same_results("_keras_image_ops_ref.py", rtol=1e-5, atol=1e-6)


def test_patches_are_the_windows_and_their_gradient_checks():
    rs = np.random.default_rng(0)
    x = rs.normal(size=(2, 6, 8, 3))
    p = ops.image.extract_patches(gn.tensor(x, dtype="float64"), (2, 4)).data
    for i in range(3):
        for j in range(2):
            np.testing.assert_array_equal(p[:, i, j], x[:, 2 * i:2 * i + 2,
                                                       4 * j:4 * j + 4].reshape(2, -1))
    gn.gradcheck(lambda a: ops.image.extract_patches(a, 2, strides=1, padding="same"),
                 rs.normal(size=(1, 3, 4, 2)))
    gn.gradcheck(lambda a: ops.image.resize(a, (5, 3)), rs.normal(size=(1, 3, 4, 2)))
    with pytest.raises(ValueError, match="padding"):
        ops.image.extract_patches(x, 2, padding="full")
    with pytest.raises(AttributeError, match="elastic_transform"):
        ops.image.elastic_transform  # noqa: B018


def test_vision_transformer_patches_layer_in_a_model():
    class Patches(gn.layers.Layer):  # keras.io's image_classification_with_vision_transformer
        def __init__(self, patch_size):
            super().__init__()
            self.patch_size = patch_size

        def call(self, images):
            input_shape = ops.shape(images)
            batch_size, height, width, channels = (input_shape[0], input_shape[1],
                                                   input_shape[2], input_shape[3])
            nh, nw = height // self.patch_size, width // self.patch_size
            patches = ops.image.extract_patches(images, size=self.patch_size)
            return ops.reshape(patches, (batch_size, nh * nw,
                                         self.patch_size * self.patch_size * channels))

    inp = gn.Input((8, 8, 3))
    h = gn.layers.Dense(4)(Patches(4)(inp))
    m = gn.Model(inp, gn.layers.Dense(2)(gn.layers.Flatten()(h)))
    m.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(1).normal(size=(16, 8, 8, 3)).astype("float32")
    hist = m.fit(x, np.zeros((16, 2), "float32"), epochs=3, verbose=0)
    assert m.output_shape == (None, 2) and hist.history["loss"][-1] < hist.history["loss"][0]
