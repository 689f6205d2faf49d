"""The course's classic learners on Iris: Rosenblatt's perceptron and Adaline (seed 000)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import Recipe

if TYPE_CHECKING:
    from ..classic import AdalineSGD, Perceptron


def _iris_two_classes(cfg: dict, rows: slice = slice(0, 100)) -> dict:
    from ..datasets import iris

    X, y = iris.load_data()
    X, y = np.asarray(X)[rows], np.asarray(y)[rows]
    x2 = X[:, [0, 2]].astype(np.float64)  # sepal length, petal length, as in the seed
    t = np.where(y == "Iris-setosa", -1, 1) if rows.start == 0 else np.where(
        y == "Iris-versicolor", -1, 1)
    return {"x_train": x2, "y_train": t, "x_test": x2, "y_test": t}


def _perceptron_build(data: dict, cfg: dict) -> Perceptron:
    from ..classic import Perceptron

    return Perceptron(eta=0.1, epochs=cfg["fit"].get("epochs", 10), random_state=1)


def _adaline_build(data: dict, cfg: dict) -> AdalineSGD:
    from ..classic import AdalineSGD

    return AdalineSGD(eta=0.01, epochs=cfg["fit"].get("epochs", 15), random_state=1)


def _adaline_data(cfg: dict) -> dict:
    d = _iris_two_classes(cfg)
    x = d["x_train"]
    xs = (x - x.mean(0)) / x.std(0)
    return {**d, "x_train": xs, "x_test": xs}


def _fit(model: Perceptron | AdalineSGD, data: dict, cfg: dict) -> dict[str, list[float]]:
    model.fit(data["x_train"], data["y_train"])
    if hasattr(model, "errors_"):
        return {"errors": [float(e) for e in model.errors_]}
    return {"cost": [float(c) for c in model.cost_]}


RECIPES = {
    "perceptron-iris": Recipe(
        name="perceptron-iris",
        description="Rosenblatt perceptron, Iris setosa vs versicolor (seed 000)",
        load_data=_iris_two_classes, build=_perceptron_build, fit={"epochs": 10},
        fast={"epochs": 10}, figures=("errors", "decision_regions"), kind="estimator",
        train=_fit,
    ),
    "adaline-iris": Recipe(
        name="adaline-iris",
        description="Adaline (SGD, standardized inputs), Iris setosa vs versicolor (seed 000)",
        load_data=_adaline_data, build=_adaline_build, fit={"epochs": 15},
        fast={"epochs": 15}, figures=("costs", "decision_regions"), kind="estimator",
        train=_fit,
    ),
}
