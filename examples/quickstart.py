"""glassnet in two minutes: a computational graph you can read, then a network from tensor ops.

Part 1 is the course's computational graph g = (x + y) · z at x = 1, y = 3, z = −3: glassnet
records every operation, ``backward()`` applies the chain rule node by node, and
``gn.graph`` prints each node's value and gradient.

Part 2 trains a 64-64-10 network on scikit-learn's bundled 8×8 digits (no download) using
nothing but tensors: ``gn.functional.linear``, ``gn.relu``, the fused softmax cross-entropy,
``backward()``, and a hand-written SGD step. (``glassnet.models.Sequential`` wraps exactly
this loop.)

Run: ``python examples/quickstart.py [--epochs 10]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import glassnet as gn
import glassnet.functional as F


def computational_graph() -> None:
    print("== 1. The computational graph of g = (x + y) * z ==")
    x = gn.tensor(1.0, requires_grad=True, name="x")
    y = gn.tensor(3.0, requires_grad=True, name="y")
    z = gn.tensor(-3.0, requires_grad=True, name="z")
    p = x + y
    g = p * z
    p.name, g.name = "p", "g"
    g.backward()  # fills .grad on every node: dg/dx, dg/dy, dg/dz (and dg/dp)
    print(gn.graph(g))
    print(f"\ndg/dx = {x.grad.item():g}, dg/dy = {y.grad.item():g}, dg/dz = {z.grad.item():g}\n")


def load_digits(test_fraction: float = 0.2):
    """Digits scaled to [0, 1], split 80/20 with a seeded shuffle."""
    try:
        from sklearn.datasets import load_digits as sk_digits  # optional dependency
    except ImportError:
        raise SystemExit(
            "quickstart needs scikit-learn for its bundled digits: pip install 'glassnet[data]'"
        ) from None

    d = sk_digits()
    x = (d.data / 16.0).astype(np.float32)
    y = d.target.astype(np.int64)
    idx = gn.backend.rng().permutation(len(x))
    n_test = int(len(x) * test_fraction)
    test, train = idx[:n_test], idx[n_test:]
    return (x[train], y[train]), (x[test], y[test])


def dense_params(n_in: int, n_out: int, name: str):
    """He-initialised kernel (n_in, n_out) and zero bias, as tensors that require grad."""
    w = gn.backend.rng().standard_normal((n_in, n_out)) * np.sqrt(2.0 / n_in)
    kernel = gn.tensor(w, requires_grad=True, name=f"{name}/kernel")
    bias = gn.tensor(np.zeros(n_out), requires_grad=True, name=f"{name}/bias")
    return kernel, bias


def train_digits(epochs: int = 10, batch_size: int = 32, lr: float = 0.1) -> float:
    print("== 2. A 64-64-10 network on the digits, from tensor ops ==")
    (x_train, y_train), (x_test, y_test) = load_digits()
    print(f"train {x_train.shape}, test {x_test.shape}")
    w1, b1 = dense_params(64, 64, "hidden")
    w2, b2 = dense_params(64, 10, "output")
    params = [w1, b1, w2, b2]

    def forward(x):
        h = gn.relu(F.linear(x, w1, b1))
        return F.linear(h, w2, b2)  # logits; softmax is fused into the loss

    acc = 0.0
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        order = gn.backend.rng().permutation(len(x_train))
        total = 0.0
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            loss = F.softmax_cross_entropy(forward(gn.tensor(x_train[batch])), y_train[batch])
            loss.backward()
            with gn.no_grad():  # plain SGD, in place on the raw arrays
                for p in params:
                    p.data -= lr * p.grad
                    p.grad = None
            total += loss.item() * len(batch)
        with gn.no_grad():
            pred = forward(gn.tensor(x_test)).data.argmax(axis=1)
        acc = float((pred == y_test).mean())
        print(f"epoch {epoch:2d}  loss {total / len(x_train):.4f}  test accuracy {acc:6.2%}"
              f"  ({time.perf_counter() - t0:.2f} s)")
    return acc


def main(argv=None) -> float:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    gn.set_seed(args.seed)
    computational_graph()
    return train_digits(epochs=args.epochs)


if __name__ == "__main__":
    main()
