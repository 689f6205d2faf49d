"""MNIST recipes: an MLP, the benchmark CNN, and the course's transfer-learning experiment."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from . import Recipe

if TYPE_CHECKING:
    from ..layers import Layer
    from ..models import Sequential


def _mnist(cfg: dict, flat: bool) -> dict:
    from ..datasets import mnist

    (x_tr, y_tr), (x_te, y_te) = mnist.load_data()
    n, m = cfg.get("subset"), cfg.get("test_subset")
    if n:
        x_tr, y_tr = x_tr[:n], y_tr[:n]
    if m:
        x_te, y_te = x_te[:m], y_te[:m]
    img_te = x_te
    x_tr = x_tr.astype(np.float32) / 255.0
    x_te = x_te.astype(np.float32) / 255.0
    if flat:
        x_tr, x_te = x_tr.reshape(len(x_tr), -1), x_te.reshape(len(x_te), -1)
    else:
        x_tr, x_te = x_tr[..., None], x_te[..., None]
    return {"x_train": x_tr, "y_train": y_tr.astype(np.int64), "x_test": x_te,
            "y_test": y_te.astype(np.int64), "images_test": img_te,
            "class_names": [str(i) for i in range(10)]}


def _mlp(data: dict, cfg: dict) -> Sequential:
    from ..layers import Dense, Dropout
    from ..models import Sequential

    return Sequential([Dense(512, activation="relu", input_shape=(784,)), Dropout(0.2),
                       Dense(512, activation="relu"), Dropout(0.2),
                       Dense(10, activation="softmax")])


def cnn_base(input_shape: tuple[int, ...] = (28, 28, 1)) -> list[Layer]:
    """The benchmark's cnn-mnist layers: Conv32-Pool-Conv64-Pool-Flatten-Dense128."""
    from ..layers import Conv2D, Dense, Flatten, MaxPooling2D

    return [Conv2D(32, 3, activation="relu", input_shape=input_shape), MaxPooling2D(2),
            Conv2D(64, 3, activation="relu"), MaxPooling2D(2), Flatten(),
            Dense(128, activation="relu")]


def _cnn(data: dict, cfg: dict) -> Sequential:
    from ..layers import Dense
    from ..models import Sequential

    return Sequential([*cnn_base(), Dense(10, activation="softmax")])


_SPARSE: dict[str, Any] = {"optimizer": "adam", "loss": "sparse_categorical_crossentropy",
                           "metrics": ["accuracy"]}


def _transfer_data(cfg: dict) -> dict:
    d = _mnist(cfg, flat=False)
    hi_tr, hi_te = d["y_train"] >= 5, d["y_test"] >= 5
    k = cfg.get("labels", 300)
    x5, y5 = d["x_train"][hi_tr][:k], d["y_train"][hi_tr][:k] - 5
    return {"x_train": x5, "y_train": y5, "x_test": d["x_test"][hi_te],
            "y_test": d["y_test"][hi_te] - 5, "images_test": d["images_test"][hi_te],
            "class_names": [str(i) for i in range(5, 10)],
            "x_base": d["x_train"][~hi_tr][: cfg.get("base_subset", 20000)],
            "y_base": d["y_train"][~hi_tr][: cfg.get("base_subset", 20000)]}


def _transfer_build(data: dict, cfg: dict) -> Sequential:
    """Train the base on digits 0-4, freeze its conv layers, replace the head for 5-9.

    Dense128 stays trainable: freezing it too leaves only the 645-weight head to learn, and
    with a few hundred labels that is worse than training from scratch (docs/vision.md).
    """
    from ..layers import Dense
    from ..models import Sequential

    base = Sequential([*cnn_base(), Dense(5, activation="softmax")])
    base.compile(**_SPARSE)
    base.fit(data["x_base"], data["y_base"], epochs=cfg.get("base_epochs", 2), batch_size=64,
             verbose=0)
    base.pop()
    for layer in base.layers:
        if not isinstance(layer, Dense):
            layer.trainable = False
    base.add(Dense(5, activation="softmax"))
    return base


RECIPES: dict = {}
_ALL = {
    "mnist-mlp": Recipe(
        name="mnist-mlp", description="MLP 784-512-512-10 with dropout on MNIST (~98 %)",
        load_data=lambda cfg: _mnist(cfg, True), build=_mlp, compile=_SPARSE,
        fit={"epochs": 10, "batch_size": 128, "validation_split": 0.1},
        fast={"epochs": 1, "subset": 2000, "test_subset": 500},
        figures=("history", "confusion_matrix", "samples"),
    ),
    "mnist-cnn": Recipe(
        name="mnist-cnn", description="CNN Conv32-Pool-Conv64-Pool-Dense128 on MNIST (~99 %)",
        load_data=lambda cfg: _mnist(cfg, False), build=_cnn, compile=_SPARSE,
        fit={"epochs": 5, "batch_size": 64, "validation_split": 0.1},
        fast={"epochs": 1, "subset": 600, "test_subset": 200},
        figures=("history", "confusion_matrix", "samples", "filters"),
    ),
    "transfer-mnist": Recipe(
        name="transfer-mnist",
        description="Transfer learning: frozen CNN base from digits 0-4, new head for 5-9 "
                    "(300 labels)",
        load_data=_transfer_data, build=_transfer_build, compile=_SPARSE,
        fit={"epochs": 10, "batch_size": 32},
        fast={"epochs": 1, "subset": 3000, "test_subset": 300, "base_subset": 600,
              "base_epochs": 1, "labels": 100},
        figures=("history", "confusion_matrix", "samples"),
    ),
}


def _has_conv() -> bool:
    from .. import layers

    return hasattr(layers, "Conv2D") and hasattr(layers, "MaxPooling2D")


# CNN recipes join only where the convolution layers exist in this installation.
RECIPES.update({k: v for k, v in _ALL.items() if k == "mnist-mlp" or _has_conv()})
