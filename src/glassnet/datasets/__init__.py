"""Datasets with Keras's return shapes; checked downloads and a cache.

Modules load lazily (``gn.datasets.mnist`` imports on first access), so ``import glassnet``
stays NumPy-only.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "mnist", "fashion_mnist", "cifar10", "iris", "churn", "text", "digits", "loader",
    "imdb", "reuters", "boston_housing", "california_housing", "cifar100",
    "ArrayLoader", "image_dataset_from_directory", "data_dir",
]  # fmt: skip

_MODULES = {"mnist", "fashion_mnist", "cifar10", "iris", "churn", "text", "digits", "loader",
            "imdb", "reuters", "boston_housing", "california_housing", "cifar100"}


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in ("ArrayLoader", "image_dataset_from_directory"):
        return getattr(importlib.import_module(f"{__name__}.loader"), name)
    if name == "data_dir":
        return importlib.import_module(f"{__name__}._fetch").data_dir
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
