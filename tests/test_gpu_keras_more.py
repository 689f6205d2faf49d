"""GPU (CuPy) rows for [keras-layers] items 4-8: the new layers, losses and optimizers train to
the CPU's numbers on the GPU (the CPU runs are themselves checked against PyTorch and Keras in
test_conv_more, test_recurrent_cells, test_losses_more and test_optimizers_more). Skipped
without CuPy and a CUDA device, as tests/test_gpu.py."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet import backend

if not backend.gpu_available():
    pytest.skip("needs CuPy and a CUDA GPU", allow_module_level=True)

from test_gpu import _train_both  # noqa: E402

L = gn.layers
R = np.random.default_rng(8)


def test_depthwise_separable_layers_match_cpu():
    x = R.standard_normal((8, 10, 10, 3)).astype(np.float32)
    y = R.standard_normal((8, 2)).astype(np.float32)

    def build():
        return gn.Sequential([
            L.DepthwiseConv2D(3, depth_multiplier=2, padding="same", activation="relu"),
            L.SeparableConv2D(4, 3, strides=2), L.GlobalAveragePooling2D(), L.Dense(2)])

    _train_both(build, x, y, "mse")


def test_1d_depthwise_separable_match_cpu():
    x = R.standard_normal((8, 16, 3)).astype(np.float32)
    y = R.standard_normal((8, 1)).astype(np.float32)

    def build():
        return gn.Sequential([L.DepthwiseConv1D(3, padding="same"),
                              L.SeparableConv1D(4, 3, dilation_rate=2),
                              L.GlobalAveragePooling1D(), L.Dense(1)])

    _train_both(build, x, y, "mse")


def test_volumetric_layers_match_cpu():
    x = R.standard_normal((4, 6, 6, 6, 2)).astype(np.float32)
    y = R.standard_normal((4, 1)).astype(np.float32)

    def build():
        return gn.Sequential([
            L.Conv3D(3, 3, padding="same", activation="relu"), L.MaxPooling3D(2),
            L.UpSampling3D(2), L.AveragePooling3D(3, strides=2, padding="same"),
            L.ZeroPadding3D(1), L.Cropping3D(((1, 0), 1, (0, 1))),
            L.GlobalAveragePooling3D(), L.Dense(1)])

    _train_both(build, x, y, "mse")


def test_rnn_of_cells_matches_cpu():
    x = R.integers(1, 20, (16, 7))
    x[:4, 5:] = 0
    y = R.integers(0, 2, 16).astype(np.float32)

    def build():
        return gn.Sequential([L.Embedding(20, 6, mask_zero=True),
                              L.RNN([L.LSTMCell(8), L.GRUCell(5), L.SimpleRNNCell(4)]),
                              L.Dense(1, activation="sigmoid")])

    _train_both(build, x, y, "binary_crossentropy", atol=5e-4)


def test_conv_lstm2d_matches_cpu():
    x = R.standard_normal((4, 3, 6, 6, 1)).astype(np.float32)
    y = R.standard_normal((4, 1)).astype(np.float32)

    def build():
        return gn.Sequential([L.ConvLSTM2D(3, 3, padding="same"),
                              L.GlobalAveragePooling2D(), L.Dense(1)])

    _train_both(build, x, y, "mse")


@pytest.mark.parametrize("loss", ["binary_focal_crossentropy", "poisson", "dice",
                                  "mean_squared_logarithmic_error", "cosine_similarity"])
def test_new_losses_match_cpu(loss):
    x = R.standard_normal((32, 6)).astype(np.float32)
    y = (x[:, :2] > 0).astype(np.float32)

    def build():
        return gn.Sequential([L.Dense(8, activation="relu"), L.Dense(2, activation="sigmoid")])

    _train_both(build, x, y, loss)


@pytest.mark.parametrize("optimizer", [
    "adamax", "lion", "ftrl", "adafactor",
    {"class_name": "Adam", "config": {"use_ema": True, "gradient_accumulation_steps": 2,
                                      "global_clipnorm": 1.0}},
], ids=["adamax", "lion", "ftrl", "adafactor", "adam-ema-accum"])
def test_new_optimizers_match_cpu(optimizer):
    x = R.standard_normal((32, 6)).astype(np.float32)
    y = (x[:, :1] > 0).astype(np.float32)

    def build():
        return gn.Sequential([L.Dense(8, activation="relu"), L.Dense(1, activation="sigmoid")])

    _train_both(build, x, y, "binary_crossentropy", optimizer=optimizer)
