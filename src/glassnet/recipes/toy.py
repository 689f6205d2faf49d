"""Small toy problems of the course: XOR (Minsky–Papert) and make_circles (seed 003)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import Recipe

if TYPE_CHECKING:
    from ..models import Sequential


def _xor(cfg: dict) -> dict:
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    y = np.array([[0], [1], [1], [0]], dtype=np.float32)
    return {"x_train": x, "y_train": y, "x_test": x, "y_test": y}


def _xor_build(data: dict, cfg: dict) -> Sequential:
    from ..layers import Dense
    from ..models import Sequential

    return Sequential([Dense(4, activation="tanh", input_shape=(2,)),
                       Dense(1, activation="sigmoid")])


def _circles(cfg: dict) -> dict:
    from sklearn.datasets import make_circles
    from sklearn.model_selection import train_test_split

    x, y = make_circles(n_samples=1000, noise=0.05, random_state=3)
    x = x.astype(np.float32)
    y = y.astype(np.float32).reshape(-1, 1)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, random_state=0)
    return {"x_train": x_tr, "y_train": y_tr, "x_test": x_te, "y_test": y_te}


def _circles_build(data: dict, cfg: dict) -> Sequential:
    from ..layers import Dense
    from ..models import Sequential

    return Sequential([Dense(5, activation="tanh", input_shape=(2,)),
                       Dense(1, activation="sigmoid")])


RECIPES = {
    "xor": Recipe(
        name="xor", description="XOR with a 2-4-1 network (the perceptron cannot; seed 000)",
        load_data=_xor, build=_xor_build,
        compile={"optimizer": {"class_name": "SGD", "config": {"learning_rate": 0.5}},
                 "loss": "binary_crossentropy", "metrics": ["accuracy"]},
        fit={"epochs": 1000, "batch_size": 4, "verbose_every": None},
        fast={"epochs": 300}, figures=("history", "decision_regions"),
    ),
    "circles": Recipe(
        name="circles",
        description="1 hidden tanh layer (5 units) on make_circles(1000, noise 0.05) (seed 003)",
        load_data=_circles, build=_circles_build,
        compile={"optimizer": {"class_name": "SGD", "config": {"learning_rate": 1.2}},
                 "loss": "binary_crossentropy", "metrics": ["accuracy"]},
        fit={"epochs": 1000, "batch_size": 800},
        fast={"epochs": 300}, figures=("history", "decision_regions"),
    ),
}
for _r in RECIPES.values():
    _r.fit.pop("verbose_every", None)
