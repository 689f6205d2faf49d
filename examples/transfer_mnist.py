"""Transfer learning on MNIST: a CNN trained on digits 0-4 gives digits 5-9 a head start.

The course's recipe: train a network on one task, keep its lower layers (the learned feature
detectors) frozen, replace the output layer and train the rest on a new task with few
labels. Here:

1. train the CNN (Conv32-Pool-Conv64-Pool-Dense128-Dense5) on digits 0-4, save it;
2. ``load_model`` it, ``pop()`` the 5-way head, freeze the convolutional base
   (``layer.trainable = False``), ``add`` a new ``Dense(5)`` head for digits 5-9;
3. fine-tune Dense128 and the new head on a few labelled 5-9 digits (50 to 1,000);
4. train the same architecture from scratch on the same labels and compare test accuracy.

``--freeze all`` freezes Dense128 too, so only the new head (645 weights) learns.

Run: ``python examples/transfer_mnist.py [--labels 50,100,300,1000] [--base-subset 10000]
[--base-epochs 1] [--epochs 20] [--freeze conv|all] [--seeds 3]``
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np

import glassnet as gn
from glassnet.layers import Conv2D, Dense, Flatten, Input, MaxPooling2D
from glassnet.models import Sequential, load_model

COMPILE = {"optimizer": "adam", "loss": "sparse_categorical_crossentropy",
           "metrics": ["accuracy"]}


def cnn(classes: int = 5) -> Sequential:
    """The MNIST CNN with a ``classes``-way softmax head."""
    return Sequential([
        Input((28, 28, 1)),
        Conv2D(32, 3, activation="relu"),
        MaxPooling2D(2),
        Conv2D(64, 3, activation="relu"),
        MaxPooling2D(2),
        Flatten(),
        Dense(128, activation="relu"),
        Dense(classes, activation="softmax"),
    ])


def split(base_subset: int | None = None, labels: int = 300):
    """Digits 0-4 for the base task, ``labels`` digits 5-9 (relabelled 0-4) for the new one."""
    (x, y), (xt, yt) = gn.datasets.mnist.load_data()

    def take(images, labels, keep, n=None, offset=0):
        idx = np.flatnonzero(keep)[:n]  # select before converting: no float copy of all
        return (images[idx, :, :, None].astype(np.float32) / 255.0,
                (labels[idx] - offset).astype(np.int64))

    return {"base": take(x, y, y < 5, base_subset), "base_test": take(xt, yt, yt < 5),
            "new": take(x, y, y >= 5, labels, 5), "new_test": take(xt, yt, yt >= 5, None, 5)}


def train_base(x, y, epochs: int = 1, batch_size: int = 64, verbose: int = 0) -> Sequential:
    model = cnn(5)
    model.compile(**COMPILE)
    model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=verbose)
    return model


def transfer(path: str, x, y, epochs: int = 20, batch_size: int = 32, freeze: str = "conv",
             verbose: int = 0, classes: int = 5, head: str = "head_5_9",
             optimizer="adam") -> Sequential:
    """Load the saved base, freeze its convolutional base, fit a new ``classes``-way head
    (named ``head``) on (x, y) with ``optimizer``.

    ``freeze="conv"`` freezes the convolution/pooling layers (the feature detectors) and
    fine-tunes Dense128 with the new head; ``freeze="all"`` freezes every pretrained layer,
    so only the new head learns.
    """
    if freeze not in ("conv", "all"):
        raise ValueError(f"transfer: freeze must be 'conv' or 'all'. Received: {freeze!r}")
    model = load_model(path)
    model.pop()  # the 0-4 head
    for layer in model.layers:
        if freeze == "all" or not isinstance(layer, Dense):
            layer.trainable = False
    model.add(Dense(classes, activation="softmax", name=head))
    model.compile(**{**COMPILE, "optimizer": optimizer})  # fresh, for the new trainable set
    model.history = model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=verbose)
    return model


def from_scratch(x, y, epochs: int = 20, batch_size: int = 32, verbose: int = 0,
                 classes: int = 5):
    model = cnn(classes)
    model.compile(**COMPILE)
    model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=verbose)
    return model


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--labels", default="50,100,300,1000",
                   help="comma-separated numbers of labelled 5-9 digits to compare at")
    p.add_argument("--base-subset", type=int, default=10000, help="0-4 digits for the base")
    p.add_argument("--base-epochs", type=int, default=1)
    p.add_argument("--epochs", type=int, default=20, help="epochs on the few labels")
    p.add_argument("--freeze", choices=("conv", "all"), default="conv",
                   help="freeze the conv base (default) or every pretrained layer")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--seeds", type=int, default=3, help="runs per label count (mean, sd)")
    p.add_argument("--verbose", type=int, default=0)
    a = p.parse_args(argv)
    counts = [int(k) for k in a.labels.split(",")]

    gn.set_seed(a.seed)
    d = split(a.base_subset, max(counts))
    t0 = time.perf_counter()
    base = train_base(*d["base"], epochs=a.base_epochs, verbose=a.verbose)
    base_acc = base.evaluate(*d["base_test"], batch_size=500, verbose=0, return_dict=True)
    print(f"base CNN on digits 0-4 ({len(d['base'][0])} images, {a.base_epochs} epoch(s)): "
          f"test accuracy {base_acc['accuracy']:.4f} ({time.perf_counter() - t0:.0f} s)")
    print(f"digits 5-9, {a.epochs} epochs, test set of {len(d['new_test'][0])}, "
          f"freeze={a.freeze!r}:")
    print(f"  labels   transfer (mean ± sd of {a.seeds})   from scratch")
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "digits_0_4.glassnet")
        base.save(path)
        for k in counts:
            x, y = d["new"][0][:k], d["new"][1][:k]
            acc_tl, acc_sc = [], []
            for s in range(a.seeds):  # the same seed for both: same batches, same head init
                gn.set_seed(a.seed + 1 + s)
                tl = transfer(path, x, y, epochs=a.epochs, freeze=a.freeze,
                              verbose=a.verbose)
                gn.set_seed(a.seed + 1 + s)
                scratch = from_scratch(x, y, epochs=a.epochs, verbose=a.verbose)
                acc_tl.append(tl.evaluate(*d["new_test"], batch_size=500, verbose=0,
                                          return_dict=True)["accuracy"])
                acc_sc.append(scratch.evaluate(*d["new_test"], batch_size=500, verbose=0,
                                               return_dict=True)["accuracy"])
            rows[k] = {"transfer": acc_tl, "scratch": acc_sc}
            print(f"  {k:6d}   {100 * np.mean(acc_tl):6.2f} % ± {100 * np.std(acc_tl):.2f}"
                  f"              {100 * np.mean(acc_sc):6.2f} % ± {100 * np.std(acc_sc):.2f}",
                  flush=True)
    n_tr = sum(int(w.size) for w in tl.trainable_weights)
    print(f"transfer trains {n_tr} of {tl.count_params()} weights; "
          f"total {time.perf_counter() - t0:.0f} s")
    return {"base": base_acc["accuracy"], "rows": rows}


if __name__ == "__main__":
    main()
