"""Course recipes for ``glassnet train``: data + model + compile/fit arguments + figures.

A recipe is configuration plus two small functions; it never executes code from a file.
User recipes are TOML/JSON files read by :mod:`glassnet.recipes.user` (configuration only).
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Recipe:
    """One trainable course experiment.

    Attributes:
        name: CLI name, e.g. ``"mnist-cnn"``.
        description: one line for ``glassnet recipes``.
        load_data: ``f(cfg) -> dict`` with x_train, y_train, x_test, y_test (+ class_names).
        build: ``f(data, cfg) -> model`` (a compiled-ready glassnet model or estimator).
        compile: ``model.compile`` keyword arguments (Keras-style recipes).
        fit: default ``fit`` keyword arguments (epochs, batch_size, validation_split, ...).
        fast: overrides used by ``--fast`` (tests): smaller data, fewer epochs.
        figures: which pictures fit: history, confusion_matrix, decision_regions, samples,
            filters, errors, costs, generated, reconstructions.
        kind: ``"keras"`` (compile/fit, checkpoints, resume) or ``"estimator"`` (fit(X, y)).
        train: for non-Keras recipes, ``f(model, data, cfg) -> history dict``.
    """

    name: str
    description: str
    load_data: Callable[[dict], dict]
    build: Callable[[dict, dict], Any]
    compile: dict = field(default_factory=dict)
    fit: dict = field(default_factory=dict)
    fast: dict = field(default_factory=dict)
    figures: tuple = ("history",)
    kind: str = "keras"
    train: Callable | None = None
    evaluate: Callable | None = None


# The fixed table: recipe name -> module that defines RECIPE. Only these can be named.
_TABLE = {
    "digits": "glassnet.recipes.digits",
    "perceptron-iris": "glassnet.recipes.classic",
    "adaline-iris": "glassnet.recipes.classic",
    "xor": "glassnet.recipes.toy",
    "circles": "glassnet.recipes.toy",
    "churn": "glassnet.recipes.churn",
    "mnist-mlp": "glassnet.recipes.mnist",
    "mnist-cnn": "glassnet.recipes.mnist",
    "transfer-mnist": "glassnet.recipes.mnist",
    "char-rnn": "glassnet.recipes.sequences",
    "sine": "glassnet.recipes.sequences",
    "autoencoder": "glassnet.recipes.generative",
    "rbm": "glassnet.recipes.generative",
    "dbn": "glassnet.recipes.generative",
    "gan": "glassnet.recipes.generative",
}

DEFAULT = "digits"


def names() -> list[str]:
    """Names of the recipes whose building blocks exist in this installation."""
    out = []
    for n in _TABLE:
        try:
            get(n)
        except (ImportError, LookupError):
            continue
        out.append(n)
    return out


def get(name: str) -> Recipe:
    """The recipe called ``name``; unknown names raise ``LookupError`` with suggestions."""
    if name not in _TABLE:
        close = difflib.get_close_matches(name, list(_TABLE), n=3, cutoff=0.4)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise LookupError(f"Unknown recipe {name!r}.{hint} See `glassnet recipes`.")
    mod = importlib.import_module(_TABLE[name])
    recipes = mod.RECIPES
    if name not in recipes:
        raise LookupError(f"Recipe {name!r} is not available in this installation.")
    return recipes[name]
