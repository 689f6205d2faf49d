"""Course seed 000: Rosenblatt's perceptron and Adaline on Iris, and the XOR limit.

Run: python examples/course_perceptron.py --out out/   (prints numbers, saves PNGs)
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

import glassnet as gn


def load_iris_2d(rows: slice) -> tuple[np.ndarray, np.ndarray]:
    """Sepal length and petal length of the given Iris rows, with the string labels.

    ``gn.datasets.iris`` reads the UCI file (checked download, cached under
    ``$GLASSNET_DATA_DIR``), or scikit-learn's bundled copy when offline.
    """
    X, y = gn.datasets.iris.load_data()
    return X[rows][:, [0, 2]], y[rows]


def run(data_dir: str | os.PathLike | None = None, out: str | os.PathLike = "out", epochs: int = 10,
        hard_epochs: int = 100) -> dict:
    """Run every step, save the figures into ``out`` and return the numbers."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    res: dict = {}
    if data_dir is not None:
        os.environ["GLASSNET_DATA_DIR"] = str(data_dir)
    X, y = load_iris_2d(slice(0, 100))
    p = gn.classic.Perceptron(eta=0.1, epochs=epochs, random_state=1).fit(X, y)
    res["setosa_versicolor_errors"] = p.errors_
    gn.plot.errors(p, save=out / "perceptron_errors.png")
    gn.plot.decision_regions(p, X, y, save=out / "perceptron_regions.png")

    # Versicolor vs virginica overlap: the rule never settles (seed's challenge).
    X2, y2 = load_iris_2d(slice(50, 150))
    for eta, n in [(0.1, epochs), (0.1, hard_epochs), (0.001, hard_epochs)]:
        q = gn.classic.Perceptron(eta=eta, epochs=n, random_state=1).fit(X2, y2)
        res[f"versicolor_virginica_eta{eta}_epochs{n}"] = {
            "min_errors": min(q.errors_), "misclassification": 1.0 - q.score(X2, y2)}
    gn.plot.errors(q, save=out / "perceptron_versicolor_virginica_errors.png")

    a1 = gn.classic.Adaline(eta=0.01, epochs=epochs).fit(X, y)
    a2 = gn.classic.Adaline(eta=0.0001, epochs=epochs).fit(X, y)
    res["adaline_cost_lr0.01"], res["adaline_cost_lr0.0001"] = a1.cost_, a2.cost_
    gn.plot.costs(a1, a2, labels=["Adaline lr 0.01", "Adaline lr 0.0001"],
                  save=out / "adaline_costs.png")
    Xs = (X - X.mean(0)) / X.std(0)
    a3 = gn.classic.Adaline(eta=0.01, epochs=15).fit(Xs, y)
    res["adaline_std_cost"], res["adaline_std_accuracy"] = a3.cost_, a3.score(Xs, y)
    gn.plot.costs(a3, log=False, labels=["standardized, lr 0.01"],
                  save=out / "adaline_std_cost.png")
    gn.plot.decision_regions(a3, Xs, y, save=out / "adaline_std_regions.png")

    # Minsky-Papert: XOR is not linearly separable.
    Xx = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float)
    px = gn.classic.Perceptron(eta=0.1, epochs=hard_epochs, random_state=1).fit(Xx, [0, 1, 1, 0])
    res["xor_min_errors"] = min(px.errors_)
    return res


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default="out")
    ap.add_argument("--data-dir", default=None,
                    help="dataset cache (default: $GLASSNET_DATA_DIR or ~/.cache/glassnet)")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--hard-epochs", type=int, default=100)
    args = ap.parse_args(argv)
    res = run(args.data_dir, args.out, args.epochs, args.hard_epochs)
    for k, v in res.items():
        print(f"{k}: {v}")
    return res


if __name__ == "__main__":
    main()
