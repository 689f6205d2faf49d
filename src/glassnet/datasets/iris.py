"""Fisher's Iris (UCI file), with scikit-learn's bundled copy as the offline fallback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ._fetch import DatasetUnavailableError, fetch

__all__ = ["load_data", "FEATURE_NAMES", "LABELS"]

URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/iris/iris.data"
SHA256 = "6f608b71a7317216319b4d27b4d9bc84e6abd734eda7872b71a458569e2656c0"
FEATURE_NAMES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
# sklearn's targets 0, 1, 2 map to these UCI labels (same flower order in both files).
LABELS = ("Iris-setosa", "Iris-versicolor", "Iris-virginica")


def _from_uci(path: Path) -> tuple[np.ndarray, np.ndarray]:
    rows = [ln.split(",") for ln in path.read_text().splitlines() if ln.strip()]
    x = np.array([[float(v) for v in r[:4]] for r in rows])
    y = np.array([r[4].strip() for r in rows])
    if x.shape != (150, 4):
        raise ValueError(f"{path}: expected 150 rows of 4 features, received {x.shape}")
    return x, y


def _from_sklearn() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_iris

    b = load_iris()
    return b.data.astype(np.float64), np.array(LABELS)[b.target]


def load_data(as_frame: bool = False, download: bool = True) -> Any:  # (X, y) or a DataFrame
    """Iris: ``(X, y)`` with X float64 (150, 4) and y string labels such as ``'Iris-setosa'``.

    Reads ``<data_dir>/iris/iris.data`` (downloaded once from UCI). When that file is missing and
    cannot be downloaded, falls back to scikit-learn's bundled copy, mapping its targets
    0/1/2 to ``LABELS`` (Iris-setosa, Iris-versicolor, Iris-virginica).

    Args:
        as_frame: return a pandas DataFrame with ``FEATURE_NAMES`` columns plus ``species``.

    Example:
        >>> X, y = gn.datasets.iris.load_data()  # doctest: +SKIP
    """
    try:
        x, y = _from_uci(fetch("iris/iris.data", URL, SHA256, download))
    except DatasetUnavailableError:
        try:
            x, y = _from_sklearn()
        except ImportError as e:
            raise DatasetUnavailableError(
                "iris/iris.data is missing and scikit-learn (the offline fallback) is not "
                f"installed; download {URL} into the data dir's iris/ folder."
            ) from e
    if as_frame:
        import pandas as pd

        df = pd.DataFrame(x, columns=list(FEATURE_NAMES))
        df["species"] = y
        return df
    return x, y
