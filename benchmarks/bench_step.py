"""What users write beyond the plain chain: from_logits losses, Huber, the functional API,
Dropout/LayerNorm/BatchNorm, evaluate vs predict — glassnet against PyTorch CPU, paired.

Each configuration is timed as training steps per second (``train_on_batch`` on one fixed
batch, as a loop over the data would call it), glassnet and PyTorch interleaved in short
windows within one process, and the ratio is the median of the rounds' ratios (the steadier
number on a machine whose speed drifts). Prints the CPU model first.

    python -m benchmarks.bench_step                # 1 thread, 5 rounds
    python -m benchmarks.bench_step --rounds 9 --window 0.5
    python -m benchmarks.bench_step --cases tiny-sparse-logits,tiny-mse
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from benchmarks._common import cpu_model


def _glassnet_case(name):
    import numpy as np

    import glassnet as gn
    from glassnet import layers as L
    from glassnet.models import Sequential

    gn.set_seed(0)
    r = np.random.default_rng(0)
    sce = "sparse_categorical_crossentropy"
    if name.startswith("tiny"):
        x = r.standard_normal((16, 4)).astype("f4")
        y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0).astype(int)
        head = {"tiny-softmax": (L.Dense(3, activation="softmax"), sce),
                "tiny-sparse-logits": (L.Dense(3), gn.losses.SparseCategoricalCrossentropy(
                    from_logits=True)),
                "tiny-cat-logits": (L.Dense(3), gn.losses.CategoricalCrossentropy(
                    from_logits=True)),
                "tiny-bin-logits": (L.Dense(1), gn.losses.BinaryCrossentropy(
                    from_logits=True)),
                "tiny-mse": (L.Dense(3), "mse"),
                "tiny-huber": (L.Dense(3), gn.losses.Huber())}[name]
        if name in ("tiny-cat-logits", "tiny-mse", "tiny-huber"):
            y = np.eye(3, dtype="f4")[y]
        if name == "tiny-bin-logits":
            y = (y > 0).astype("f4")[:, None]
        m = Sequential([L.Dense(8, activation="tanh", input_dim=4), head[0]])
        m.compile(optimizer=gn.optimizers.SGD(0.01), loss=head[1])
        return m, x, y
    x = r.standard_normal((32, 20)).astype("f4")
    y = (x[:, 0] > 0).astype(int)
    if name == "mlp-functional":
        i = gn.Input(shape=(20,))
        h = L.Dense(64, activation="relu")(i)
        h = L.Dense(64, activation="relu")(h)
        m = gn.Model(i, L.Dense(2, activation="softmax")(h))
    else:
        extra = {"mlp-plain": [], "mlp-dropout": [L.Dropout(0.2)],
                 "mlp-layernorm": [L.LayerNormalization()],
                 "mlp-batchnorm": [L.BatchNormalization()]}[name]
        m = Sequential([L.Dense(64, activation="relu", input_dim=20), *extra,
                        L.Dense(64, activation="relu"), L.Dense(2, activation="softmax")])
    m.compile(optimizer="adam", loss=sce)
    return m, x, y


def _torch_case(name):
    import numpy as np
    import torch
    from torch import nn

    torch.manual_seed(0)
    r = np.random.default_rng(0)
    if name.startswith("tiny"):
        x = torch.tensor(r.standard_normal((16, 4)).astype("f4"))
        c = (x[:, 0] > 0).long() + (x[:, 1] > 0).long()
        out = 1 if name == "tiny-bin-logits" else 3
        net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, out))
        lf, y = {"tiny-softmax": (nn.CrossEntropyLoss(), c),
                 "tiny-sparse-logits": (nn.CrossEntropyLoss(), c),
                 "tiny-cat-logits": (nn.CrossEntropyLoss(), nn.functional.one_hot(c, 3).float()),
                 "tiny-bin-logits": (nn.BCEWithLogitsLoss(), (c > 0).float()[:, None]),
                 "tiny-mse": (nn.MSELoss(), nn.functional.one_hot(c, 3).float()),
                 "tiny-huber": (nn.HuberLoss(), nn.functional.one_hot(c, 3).float())}[name]
        opt = torch.optim.SGD(net.parameters(), lr=0.01)
    else:
        x = torch.tensor(r.standard_normal((32, 20)).astype("f4"))
        y = (x[:, 0] > 0).long()
        extra = {"mlp-plain": [], "mlp-functional": [], "mlp-dropout": [nn.Dropout(0.2)],
                 "mlp-layernorm": [nn.LayerNorm(64, eps=1e-3)],
                 "mlp-batchnorm": [nn.BatchNorm1d(64, eps=1e-3, momentum=0.01)]}[name]
        net = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), *extra, nn.Linear(64, 64), nn.ReLU(),
                            nn.Linear(64, 2))
        lf = nn.CrossEntropyLoss()
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    net.train()

    def step():
        opt.zero_grad()
        loss = lf(net(x), y)
        loss.backward()
        opt.step()

    return step


CASES = ["tiny-softmax", "tiny-sparse-logits", "tiny-cat-logits", "tiny-bin-logits", "tiny-mse",
         "tiny-huber", "mlp-plain", "mlp-functional", "mlp-dropout", "mlp-layernorm",
         "mlp-batchnorm"]


def _rate(fn, window):
    n, t0 = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        dt = time.perf_counter() - t0
        if dt >= window and n >= 5:
            return n / dt


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--window", type=float, default=0.3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cases", default="", help="comma-separated subset of the cases "
                    "(default: all, then evaluate against predict)")
    args = ap.parse_args(argv)
    cases = [c for c in args.cases.split(",") if c] or CASES
    unknown = sorted(set(cases) - set(CASES))
    if unknown:
        ap.error(f"unknown cases {unknown}; choose from {', '.join(CASES)}")
    from threadpoolctl import threadpool_limits

    try:
        import torch

        torch.set_num_threads(args.threads)
    except ImportError:
        torch = None
    print(f"CPU: {cpu_model()}  threads: {args.threads}  pid {os.getpid()}")
    print(f"{'case':20s} {'glassnet/s':>11s} {'torch/s':>9s} {'ratio':>6s}")
    with threadpool_limits(args.threads):
        for name in cases:
            m, x, y = _glassnet_case(name)
            g = lambda m=m, x=x, y=y: m.train_on_batch(x, y)  # noqa: E731
            t = _torch_case(name) if torch is not None else None
            g()
            if t:
                t()
            gs, ts, rs = [], [], []
            for _ in range(args.rounds):
                a = _rate(g, args.window)
                b = _rate(t, args.window) if t else float("nan")
                gs.append(a)
                ts.append(b)
                rs.append(a / b)
            print(f"{name:20s} {statistics.median(gs):11.0f} {statistics.median(ts):9.0f} "
                  f"{statistics.median(rs):6.2f}", flush=True)
        if args.cases:
            return
        # evaluate against predict on the same data (issue [step]: within 1.3x)
        import numpy as np

        m, _, _ = _glassnet_case("mlp-plain")
        xe = np.random.default_rng(1).standard_normal((8192, 20)).astype("f4")
        ye = (xe[:, 0] > 0).astype(int)
        m.predict(xe, batch_size=256, verbose=0)
        m.evaluate(xe, ye, batch_size=256, verbose=0)
        pr, ev = [], []
        for _ in range(args.rounds):
            pr.append(_rate(lambda: m.predict(xe, batch_size=256, verbose=0), args.window))
            ev.append(_rate(lambda: m.evaluate(xe, ye, batch_size=256, verbose=0), args.window))
        p, e = statistics.median(pr), statistics.median(ev)
        print(f"mlp-plain n=8192 b256: predict {p * 8192 / 1e6:.2f} M samples/s, evaluate "
              f"{e * 8192 / 1e6:.2f} M samples/s, predict/evaluate time ratio {p / e:.2f}")


if __name__ == "__main__":
    main()
