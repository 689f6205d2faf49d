"""Masks in a model written for Keras reach Keras 3's numbers: keras.io's translation
Transformer (tests/_keras_mask_models.py), started from Keras's initial weights, trains to
the same history and weights. Its layers make masks (``compute_mask``), take them
(``call(inputs, mask=None)``), pass them on (``supports_masking``), and its decoder, called
with two tensors, gets no ``mask`` (Keras 3 passes ``<name>_mask`` then); the loss and the
accuracy skip the target padding through the decoder's output mask."""

from __future__ import annotations

import numpy as np
import pytest
from _keras_mask_models import run, run_gpt
from _keras_reference import keras_json

import glassnet as gn


@pytest.fixture(scope="module")
def keras_runs():
    return keras_json("_keras_mask_models.py")


@pytest.mark.parametrize("name", ["translator", "gpt"])
def test_transformer_examples_train_as_in_keras(keras_runs, name):
    """The translator, and the miniature GPT (a causal attention_mask made with ops, two
    outputs of which one has a loss and takes the one target array)."""
    start, hist, final = keras_runs[name]
    _, ours, our_final = (run if name == "translator" else run_gpt)(gn, initial=start)
    assert sorted(ours) == sorted(hist)
    for key, values in hist.items():
        np.testing.assert_allclose(ours[key], values, rtol=2e-4, atol=1e-6, err_msg=key)
    for a, b in zip(our_final, final):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)
