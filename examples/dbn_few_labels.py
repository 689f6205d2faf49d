"""Deep belief network with few labels (seed 004): does unsupervised pretraining help?

The course's claim: a DBN pretrained greedily (RBM by RBM) on *unlabelled* data, then
fine-tuned by backpropagation on a few labelled examples, beats the same network trained
from a random initialisation on those labels alone.

Setup (MNIST, pixels scaled to [0, 1]):
  * unlabelled: the first --unlabelled training images (labels never used);
  * labelled: --labels examples (e.g. 100 and 1000) drawn per seed from training images
    40,000-59,999, disjoint from the unlabelled ones;
  * network 784-500-200-10 (sigmoid hidden units, softmax output);
  * pretrained: DBN([500, 200]) RBMs (CD-1, momentum 0.5) on the unlabelled images, copied
    into the network by ``DBN.to_sequential``; random: the same network, Glorot init;
  * both fine-tuned identically: Adam(1e-3), batch 32, about 600 steps, all layers trained;
  * accuracy on the 10,000 test images, for each labelled-set size and seed.

Run (a few minutes on one core):
    GLASSNET_DATA_DIR=/path/to/datasets python examples/dbn_few_labels.py
    python examples/dbn_few_labels.py --unlabelled 40000 --pretrain-epochs 20 --seeds 5
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import glassnet as gn
from glassnet.layers import Dense
from glassnet.models import DBN, Sequential

HIDDEN = (500, 200)


def pretrain(x, hidden=HIDDEN, epochs: int = 10) -> DBN:
    """Greedy RBM-by-RBM pretraining on the (unlabelled) rows of ``x``."""
    return DBN(hidden, epochs=epochs, learning_rate=0.05, momentum=0.5, batch_size=20,
               random_state=0).pretrain(x)


def fine_tune(model, x, y, xt, yt, seed: int, learning_rate: float = 1e-3,
              epochs: int | None = None) -> float:
    """Fine-tune every layer on (x, y), return the accuracy on (xt, yt). ``epochs=None``:
    about 600 steps of batch 32 whatever the label count (at least 10 epochs)."""
    gn.set_seed(seed)
    model.compile(gn.optimizers.Adam(learning_rate), "sparse_categorical_crossentropy",
                  ["accuracy"])
    if epochs is None:
        epochs = max(10, -(-600 * 32 // len(x)))
    model.fit(x, y, epochs=epochs, batch_size=32, verbose=0)
    return model.evaluate(xt, yt, batch_size=1000, verbose=0, return_dict=True)["accuracy"]


def random_net(seed: int, hidden=HIDDEN):
    """The DBN's network (sigmoid hidden layers, softmax output), Glorot initialisation."""
    gn.set_seed(seed)
    return Sequential([Dense(hidden[0], activation="sigmoid", input_shape=(784,)),
                       *[Dense(h, activation="sigmoid") for h in hidden[1:]],
                       Dense(10, activation="softmax")])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--labels", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--unlabelled", type=int, default=20000)
    ap.add_argument("--pretrain-epochs", type=int, default=10)
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args(argv)
    from glassnet.datasets import mnist

    (x, y), (xt, yt) = mnist.load_data()
    x = x.reshape(-1, 784).astype(np.float32) / 255.0
    xt = xt.reshape(-1, 784).astype(np.float32) / 255.0
    pool = np.arange(40000, 60000)  # labelled examples come from here, never pretrained on
    if args.unlabelled > 40000:
        raise SystemExit("--unlabelled must be <= 40000 (the rest is the labelled pool)")

    t0 = time.perf_counter()
    dbn = pretrain(x[: args.unlabelled], epochs=args.pretrain_epochs)
    print(f"pretrained DBN {HIDDEN} on {args.unlabelled} unlabelled images, "
          f"{args.pretrain_epochs} epochs per RBM: {time.perf_counter() - t0:.0f} s")
    for i, rbm in enumerate(dbn.rbms_):
        err = rbm.history["reconstruction_error"]
        print(f"  RBM {i + 1}: reconstruction error {err[0]:.4f} -> {err[-1]:.4f}")

    print(f"\n{'labels':>7} {'seed':>4} {'pretrained':>11} {'random init':>12}")
    results: dict = {}
    for n in args.labels:
        for seed in range(args.seeds):
            idx = np.random.default_rng(seed).choice(pool, n, replace=False)
            xl, yl = x[idx], y[idx].astype(np.int64)
            gn.set_seed(seed)
            acc_pre = fine_tune(dbn.to_sequential(10), xl, yl, xt, yt, seed)
            acc_rnd = fine_tune(random_net(seed), xl, yl, xt, yt, seed)
            results.setdefault(n, []).append((acc_pre, acc_rnd))
            print(f"{n:>7} {seed:>4} {acc_pre:>11.4f} {acc_rnd:>12.4f}")
    print("\nmean test accuracy over seeds (± std):")
    for n, r in results.items():
        a = np.array(r)
        print(f"  {n:>5} labels: pretrained {a[:, 0].mean():.4f} ± {a[:, 0].std():.4f}, "
              f"random init {a[:, 1].mean():.4f} ± {a[:, 1].std():.4f}")
    print(f"total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
