"""Sequence classification: each MNIST image read row by row as a 28-step sequence → LSTM.

Keras-style: ``Sequential([LSTM(128, input_shape=(28, 28)), Dense(10, "softmax")])`` trained
with ``compile``/``fit``; the test accuracy after each epoch comes from ``validation_data``.

Run: ``python examples/mnist_rnn.py [--epochs 3] [--units 128]`` (reports test accuracy and
time; one run here reached the number written in docs/recurrent.md).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

import glassnet as gn
from glassnet.datasets import mnist
from glassnet.layers import LSTM, Dense
from glassnet.models import Sequential


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
    if a.data_dir:
        os.environ["GLASSNET_DATA_DIR"] = a.data_dir
    gn.set_seed(a.seed)
    (xtr, ytr), (xte, yte) = mnist.load_data()
    if a.train_size:
        xtr, ytr = xtr[: a.train_size], ytr[: a.train_size]
    if a.test_size:
        xte, yte = xte[: a.test_size], yte[: a.test_size]
    xtr = (xtr / 255.0).astype(np.float32)  # (N, 28, 28): 28 steps of 28 pixels
    xte = (xte / 255.0).astype(np.float32)

    model = Sequential([LSTM(a.units, input_shape=(28, 28)), Dense(10, activation="softmax")])
    model.compile(optimizer=gn.optimizers.Adam(learning_rate=a.lr, clipnorm=1.0),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    t0 = time.perf_counter()
    hist = model.fit(xtr, ytr, batch_size=a.batch, epochs=a.epochs, verbose=2,
                     validation_data=(xte, yte)).history
    train_time = time.perf_counter() - t0
    acc = float(model.evaluate(xte, yte, batch_size=1000, verbose=0, return_dict=True)[
        "accuracy"])
    res = {"loss_per_epoch": hist["loss"], "test_accuracy_per_epoch": hist["val_accuracy"],
           "test_accuracy": acc, "train_seconds": round(train_time, 1), "epochs": a.epochs,
           "units": a.units}
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "mnist_rnn.json").write_text(json.dumps(res, indent=2))
    print(json.dumps(res))
    return res


if __name__ == "__main__":
    main()
