"""Engine benchmarks: per-op overhead and a 784-512-512-10 MLP step built from tensor ops.

Run: ``python -m benchmarks.bench_engine`` (prints one JSON line per case and framework,
then ratio lines). Each measurement runs in its own process at 1 and at 2 BLAS threads.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from benchmarks._common import emit, peak_rss_mb, run_isolated, steady_rate, torch_available

MLP = (784, 512, 512, 10)
BATCH = 128


def _data(seed=0):
    r = np.random.default_rng(seed)
    x = r.standard_normal((BATCH, MLP[0])).astype(np.float32)
    y = r.integers(0, MLP[-1], BATCH)
    ws = [(r.standard_normal((a, b)) * np.sqrt(2 / a)).astype(np.float32)
          for a, b in zip(MLP[:-1], MLP[1:])]
    return x, y, ws


# ---------------------------------------------------------------- per-op overhead
def op_glassnet():
    import glassnet as gn

    a = gn.tensor(np.ones((4, 4)), requires_grad=True)
    b = gn.tensor(np.ones((4, 4)), requires_grad=True)

    def step():
        (a * b).sum().backward()
        a.grad = b.grad = None

    return step


def op_numpy():
    a = np.ones((4, 4), np.float32)
    b = np.ones((4, 4), np.float32)

    def step():
        y = a * b
        y.sum()
        g = np.ones_like(y)
        _ga, _gb = g * b, g * a

    return step


def op_torch():
    import torch

    a = torch.ones(4, 4, requires_grad=True)
    b = torch.ones(4, 4, requires_grad=True)

    def step():
        (a * b).sum().backward()
        a.grad = b.grad = None

    return step


# ---------------------------------------------------------------- MLP step
def mlp_glassnet():
    import glassnet as gn
    from glassnet.functional import linear, softmax_cross_entropy

    x, y, ws = _data()
    W = [gn.tensor(w, requires_grad=True) for w in ws]
    B = [gn.tensor(np.zeros(w.shape[1], np.float32), requires_grad=True) for w in ws]
    params = W + B
    xt = gn.tensor(x)
    lr = np.float32(0.01)

    def step():
        h = xt
        for i in range(len(W)):
            h = linear(h, W[i], B[i])
            if i < len(W) - 1:
                h = h.relu()
        loss = softmax_cross_entropy(h, y)
        loss.backward()
        for p in params:
            p.data -= lr * p.grad
            p.grad = None

    return step


def mlp_numpy():
    x, y, ws = _data()
    W = [w.copy() for w in ws]
    B = [np.zeros(w.shape[1], np.float32) for w in ws]
    lr = np.float32(0.01)
    n = len(W)

    def step():
        hs = [x]
        masks = []
        h = x
        for i in range(n):
            h = h @ W[i] + B[i]
            if i < n - 1:
                m = h > 0
                h = h * m
                masks.append(m)
            hs.append(h)
        z = h - h.max(1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(1, keepdims=True)
        g = p
        g[np.arange(BATCH), y] -= 1
        g /= BATCH
        for i in reversed(range(n)):
            gw = hs[i].T @ g
            gb = g.sum(0)
            if i > 0:
                g = (g @ W[i].T) * masks[i - 1]
            W[i] -= lr * gw
            B[i] -= lr * gb

    return step


def mlp_torch():
    import torch

    x, y, ws = _data()
    layers = []
    for i, w in enumerate(ws):
        lin = torch.nn.Linear(*w.shape)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w.T))
            lin.bias.zero_()
        layers.append(lin)
        if i < len(ws) - 1:
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    lossf = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        lossf(net(xt), yt).backward()
        opt.step()

    return step


CASES = {
    "op-overhead": {"glassnet": op_glassnet, "numpy": op_numpy, "torch": op_torch},
    "mlp-tensor-ops": {"glassnet": mlp_glassnet, "numpy": mlp_numpy, "torch": mlp_torch},
}


def one(case: str, fw: str, threads: int) -> None:
    if fw == "torch":
        import torch

        torch.set_num_threads(threads)
    step = CASES[case][fw]()
    rate = steady_rate(step, min_time=1.5)
    emit({"case": case, "framework": fw, "threads": threads, "steps_per_s": round(rate, 1),
          "us_per_step": round(1e6 / rate, 2), "peak_rss_mb": round(peak_rss_mb(), 1)})


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--one", nargs=3, metavar=("CASE", "FRAMEWORK", "THREADS"))
    p.add_argument("--threads", default="1,2")
    p.add_argument("--cases", default=",".join(CASES))
    a = p.parse_args(argv)
    if a.one:
        one(a.one[0], a.one[1], int(a.one[2]))
        return
    fws = ["glassnet", "numpy"] + (["torch"] if torch_available() else [])
    for case in a.cases.split(","):
        for t in (int(s) for s in a.threads.split(",")):
            res = {fw: run_isolated("benchmarks.bench_engine", case, fw, t) for fw in fws}
            for r in res.values():
                emit(r)
            g = res["glassnet"].get("steps_per_s")
            ratios = {f"vs_{fw}": round(g / r["steps_per_s"], 2) for fw, r in res.items()
                      if fw != "glassnet" and r.get("steps_per_s") and g}
            emit({"case": case, "threads": t, "glassnet_ratio": ratios})


if __name__ == "__main__":
    sys.exit(main())
