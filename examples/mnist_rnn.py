"""Sequence classification: each MNIST image read row by row as a 28-step sequence → LSTM.

Run: ``python examples/mnist_rnn.py [--epochs 3] [--units 128]`` (reports test accuracy and
time; one run here reached the number written in docs/recurrent.md).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import time
from pathlib import Path

import numpy as np

import glassnet as gn
from glassnet import functional as F
from glassnet import initializers, optimizers
from glassnet.layers import LSTM


def load_mnist(data_dir: str | None = None):
    """((x_train, y_train), (x_test, y_test)) as uint8 images (N, 28, 28) and labels."""
    try:
        from glassnet.datasets import mnist

        return mnist.load_data()
    except (ImportError, AttributeError):
        pass
    root = Path(data_dir or os.environ.get("GLASSNET_DATA_DIR", "~/.cache/glassnet"))
    root = root.expanduser() / "mnist"

    def read(name, offset):
        path = root / name
        if not path.is_file():
            raise FileNotFoundError(f"MNIST file missing. Put {name} at {path}")
        with gzip.open(path, "rb") as f:
            return np.frombuffer(f.read(), np.uint8, offset=offset)

    xtr = read("train-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28)
    ytr = read("train-labels-idx1-ubyte.gz", 8)
    xte = read("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28)
    yte = read("t10k-labels-idx1-ubyte.gz", 8)
    return (xtr, ytr), (xte, yte)


class RowLSTM:
    """LSTM over the 28 rows, last hidden state → linear 10-way classifier."""

    def __init__(self, units: int):
        self.lstm = LSTM(units)
        self.lstm.build((None, 28, 28))
        self.w = gn.Tensor(initializers.get("glorot_uniform")((units, 10)), requires_grad=True)
        self.b = gn.Tensor(np.zeros(10, np.float32), requires_grad=True)
        self.params = self.lstm.trainable_weights + [self.w, self.b]

    def __call__(self, x, training=False):
        return F.linear(self.lstm(x, training=training), self.w, self.b)

    def accuracy(self, x, y, batch: int = 1000) -> float:
        hits = 0
        with gn.no_grad():
            for i in range(0, len(x), batch):
                hits += int((self(x[i : i + batch]).data.argmax(1) == y[i : i + batch]).sum())
        return hits / len(x)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--units", type=int, default=128)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--train-size", type=int, default=0, help="first N training images only")
    p.add_argument("--test-size", type=int, default=0)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--out", default="out")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    gn.set_seed(a.seed)
    (xtr, ytr), (xte, yte) = load_mnist(a.data_dir)
    if a.train_size:
        xtr, ytr = xtr[: a.train_size], ytr[: a.train_size]
    if a.test_size:
        xte, yte = xte[: a.test_size], yte[: a.test_size]
    xtr = (xtr / 255.0).astype(np.float32)
    xte = (xte / 255.0).astype(np.float32)
    model = RowLSTM(a.units)
    opt = optimizers.get({"class_name": "Adam",
                          "config": {"learning_rate": a.lr, "clipnorm": 1.0}})
    rs = np.random.default_rng(a.seed)
    t0 = time.perf_counter()
    history = []
    for epoch in range(a.epochs):
        order = rs.permutation(len(xtr))
        total = 0.0
        for i in range(0, len(order), a.batch):
            idx = order[i : i + a.batch]
            opt.zero_grad(model.params)
            loss = F.softmax_cross_entropy(model(xtr[idx], training=True), ytr[idx])
            loss.backward()
            opt.step(model.params)
            total += float(loss.data) * len(idx)
        history.append(total / len(order))
        print(f"epoch {epoch + 1}/{a.epochs}  loss {history[-1]:.4f}  "
              f"test accuracy {model.accuracy(xte, yte):.4f}  "
              f"{time.perf_counter() - t0:.0f}s", flush=True)
    train_time = time.perf_counter() - t0
    res = {"loss_per_epoch": history, "test_accuracy": model.accuracy(xte, yte),
           "train_seconds": round(train_time, 1), "epochs": a.epochs, "units": a.units}
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "mnist_rnn.json").write_text(json.dumps(res, indent=2))
    print(json.dumps(res))
    return res


if __name__ == "__main__":
    main()
