"""RBM on scikit-learn's 8x8 digits: pseudo-likelihood vs scikit-learn's BernoulliRBM,
Pipeline(RBM, LogisticRegression) accuracy, learned filters and Gibbs samples as PNGs.

Run: MPLBACKEND=Agg python examples/rbm_digits.py --epochs 20 --out out/
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from glassnet.models import RBM

SETTINGS = dict(learning_rate=0.06, batch_size=10)  # shared with sklearn's BernoulliRBM


def digits():
    """scikit-learn's 8x8 digits scaled to [0, 1]: Xtr, Xte, ytr, yte (80 % / 20 %)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.2, random_state=0)


def rbm(epochs: int = 20) -> RBM:
    """64 hidden units, persistent CD, learning rate 0.06, batch 10."""
    return RBM(64, persistent=True, epochs=epochs, random_state=0, **SETTINGS)


def pipeline(est):
    """``est``'s features (an RBM) read by a logistic regression."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    return Pipeline([("rbm", est), ("clf", LogisticRegression(max_iter=1000))])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--out", default="out")
    args = ap.parse_args(argv)

    import matplotlib.pyplot as plt
    from sklearn.neural_network import BernoulliRBM

    Xtr, Xte, ytr, yte = digits()
    ours = rbm(args.epochs)
    sk = BernoulliRBM(n_components=64, n_iter=args.epochs, random_state=0, **SETTINGS)
    for name, est in (("glassnet RBM", ours), ("sklearn BernoulliRBM", sk)):
        pipe = pipeline(est)
        pipe.fit(Xtr, ytr)
        pl = est.score_samples(Xte).mean()
        print(
            f"{name:22s} pseudo-likelihood {pl:8.3f}  pipeline accuracy {pipe.score(Xte, yte):.4f}"
        )

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(8, 8, figsize=(6, 6))
    for ax, w in zip(axes.ravel(), ours.components_):
        ax.imshow(w.reshape(8, 8), cmap="gray")
        ax.axis("off")
    fig.suptitle("RBM filters (components_)")
    fig.savefig(out / "rbm_filters.png", dpi=100)
    samples = ours.sample(16, steps=1000)
    fig, axes = plt.subplots(2, 8, figsize=(8, 2))
    for ax, s in zip(axes.ravel(), samples):
        ax.imshow(s.reshape(8, 8), cmap="gray")
        ax.axis("off")
    fig.suptitle("Gibbs samples (1000 steps)")
    fig.savefig(out / "rbm_samples.png", dpi=100)
    print(f"pictures in {out}/rbm_filters.png and {out}/rbm_samples.png")


if __name__ == "__main__":
    np.set_printoptions(precision=4)
    main()
