"""The default recipe: an MLP on scikit-learn's bundled 8×8 digits (no download)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import Recipe

if TYPE_CHECKING:
    from ..models import Sequential


def load_data(cfg: dict) -> dict:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = (d.data / 16.0).astype(np.float32)
    y = d.target.astype(np.int64)
    n = cfg.get("subset")
    if n:
        x, y = x[:n], y[:n]
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, random_state=0, stratify=y)
    return {"x_train": x_tr, "y_train": y_tr, "x_test": x_te, "y_test": y_te,
            "images_test": x_te.reshape(-1, 8, 8), "class_names": [str(i) for i in range(10)]}


def build(data: dict, cfg: dict) -> Sequential:
    from ..layers import Dense, Dropout
    from ..models import Sequential

    return Sequential([
        Dense(64, activation="relu", input_shape=(64,)),
        Dropout(0.1),
        Dense(64, activation="relu"),
        Dense(10, activation="softmax"),
    ])


RECIPES = {
    "digits": Recipe(
        name="digits",
        description="MLP 64-64-64-10 on scikit-learn's 8x8 digits (no download, ~10 s)",
        load_data=load_data,
        build=build,
        compile={"optimizer": "adam", "loss": "sparse_categorical_crossentropy",
                 "metrics": ["accuracy"]},
        fit={"epochs": 30, "batch_size": 32, "validation_split": 0.1},
        fast={"epochs": 3, "subset": 600},
        figures=("history", "confusion_matrix", "samples"),
    )
}
