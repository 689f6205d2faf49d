"""Regularization on a small MNIST subset: dropout, early stopping and shifted images.

With only 1,000 training images a 784-256-256-10 network memorises the training set within
a few epochs and then keeps fitting noise: validation loss climbs while training loss goes
to zero. The course's three remedies, each added alone to the same baseline:

- **Dropout(0.5)** after each hidden layer (units dropped at random in training);
- **EarlyStopping(patience=5, restore_best_weights=True)** on the validation loss, and
  once more on the validation accuracy (patience 10) — the two stop at very different times;
- **data augmentation**: ``RandomTranslation(0.1, 0.1)`` shifts every training image by up
  to ±2.8 pixels each epoch (the course's shifted images), so the network sees new images;

and all three together (early stopping on the validation loss). Each variant trains with
several seeds; the script prints the mean and spread of the test accuracy (full
10,000-image test set) and draws the test accuracy bars and the validation curves.

Run: ``python examples/regularization_mnist.py [--train 1000] [--epochs 60] [--seeds 3]
[--figure docs/img/regularization_mnist.png]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import glassnet as gn
from glassnet.callbacks import EarlyStopping
from glassnet.layers import Dense, Dropout, Flatten, Input, RandomTranslation
from glassnet.models import Sequential

VARIANTS = ("baseline", "dropout", "early stopping", "early stopping (acc)", "augmentation",
            "all three")


def build(variant: str, hidden: int = 256) -> Sequential:
    drop = variant in ("dropout", "all three")
    aug = variant in ("augmentation", "all three")
    layers = [Input((28, 28, 1))]
    if aug:
        layers.append(RandomTranslation(0.1, 0.1, fill_mode="constant"))
    layers.append(Flatten())
    for _ in range(2):
        layers.append(Dense(hidden, activation="relu"))
        if drop:
            layers.append(Dropout(0.5))
    layers.append(Dense(10, activation="softmax"))
    model = Sequential(layers)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def load(n_train: int, n_val: int, n_test: int | None):
    (x, y), (xt, yt) = gn.datasets.mnist.load_data()

    def prep(images):
        return images[..., None].astype(np.float32) / 255.0

    return ((prep(x[:n_train]), y[:n_train].astype(np.int64)),
            (prep(x[n_train:n_train + n_val]), y[n_train:n_train + n_val].astype(np.int64)),
            (prep(xt[:n_test]), yt[:n_test].astype(np.int64)))


def run(variant: str, data, epochs: int, seed: int, batch_size: int = 32) -> dict:
    (x, y), val, (xt, yt) = data
    gn.set_seed(seed)
    model = build(variant)
    cbs = []
    if variant in ("early stopping", "all three"):
        cbs.append(EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True))
    elif variant == "early stopping (acc)":
        cbs.append(EarlyStopping(monitor="val_accuracy", patience=10,
                                 restore_best_weights=True))
    h = model.fit(x, y, batch_size=batch_size, epochs=epochs, validation_data=val,
                  callbacks=cbs, verbose=0)
    res = model.evaluate(xt, yt, batch_size=1000, verbose=0, return_dict=True)
    return {"test_accuracy": res["accuracy"], "history": h.history,
            "epochs_run": len(h.history["loss"])}


def figure(results: dict, save: str | None):
    fig = gn.plot._figure(figsize=(14, 4))
    ax = fig.add_subplot(1, 3, 1)
    names = list(results)
    means = [np.mean([r["test_accuracy"] for r in results[v]]) for v in names]
    stds = [np.std([r["test_accuracy"] for r in results[v]]) for v in names]
    colors = ["gray", "tab:blue", "tab:orange", "tab:red", "tab:green", "tab:purple"]
    ax.bar(range(len(names)), means, yerr=stds, color=colors[: len(names)], capsize=3)
    for i, m in enumerate(means):
        ax.text(i, m + 0.002, f"{100 * m:.1f}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(names)), [n.replace(" ", "\n") for n in names], fontsize=8)
    ax.set_ylim(min(means) - 0.03, max(means) + 0.015)
    ax.set_ylabel("test accuracy")
    ax.set_title("test accuracy (mean ± sd over seeds)", fontsize=9)
    for k, key in enumerate(("val_loss", "val_accuracy")):
        ax = fig.add_subplot(1, 3, 2 + k)
        for v, c in zip(names, colors):
            curve = results[v][0]["history"][key]
            ax.plot(range(1, len(curve) + 1), curve, color=c, label=v)
        ax.set_xlabel("epoch")
        ax.set_ylabel(key.replace("_", " "))
        ax.set_title(f"{key.replace('_', ' ')} (first seed)", fontsize=9)
        if key == "val_loss":
            ax.legend(fontsize=8)
    return gn.plot._finish(fig, save)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--train", type=int, default=1000, help="training images")
    p.add_argument("--val", type=int, default=1000, help="validation images")
    p.add_argument("--test", type=int, default=None, help="test images (default all)")
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--figure", default=None, help="save the figure to this PNG")
    a = p.parse_args(argv)

    data = load(a.train, a.val, a.test)
    results: dict = {}
    for v in a.variants.split(","):
        if v not in VARIANTS:
            raise SystemExit(f"unknown variant {v!r}; choose from {VARIANTS}")
        t0 = time.perf_counter()
        results[v] = [run(v, data, a.epochs, seed) for seed in range(a.seeds)]
        accs = [r["test_accuracy"] for r in results[v]]
        eps = [r["epochs_run"] for r in results[v]]
        print(f"{v:15s} test accuracy {100 * np.mean(accs):5.2f} % ± {100 * np.std(accs):.2f} "
              f"(seeds: {', '.join(f'{100 * s:.2f}' for s in accs)}; epochs {eps}; "
              f"{time.perf_counter() - t0:.0f} s)", flush=True)
    if a.figure:
        figure(results, a.figure)
    return results


if __name__ == "__main__":
    main()
