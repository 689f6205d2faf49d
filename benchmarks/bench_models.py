"""Keras-style model benchmarks: steady-state training steps/s, glassnet vs PyTorch vs NumPy.

Workloads (as the [models] issue names them):
  mlp-mnist  784-512-512-10 ReLU, softmax CE, Adam, batch 128
  churn-ann  11-6-6-1 ReLU/sigmoid, BCE, Adam, batch 10
  tiny-mlp   4-8-3 tanh, softmax CE, SGD, batch 16

glassnet is measured through ``train_on_batch`` and through ``fit`` (one epoch over 200
batches, steps/s); PyTorch with a plain ``zero_grad / loss.backward() / step`` loop; NumPy
with hand-written forward, backward and Adam/SGD. Run: ``python -m benchmarks.bench_models``
(one fresh process per measurement, with peak memory), or on a loaded machine
``OMP_NUM_THREADS=1 python -m benchmarks.bench_models --interleaved`` (frameworks timed in
turns in one process, best window each).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from benchmarks._common import emit, peak_rss_mb, run_isolated, steady_rate, torch_available

WORK = {
    "mlp-mnist": {"sizes": (784, 512, 512, 10), "act": "relu", "out": "softmax",
                  "opt": "adam", "batch": 128},
    "churn-ann": {"sizes": (11, 6, 6, 1), "act": "relu", "out": "sigmoid", "opt": "adam",
                  "batch": 10},
    "tiny-mlp": {"sizes": (4, 8, 3), "act": "tanh", "out": "softmax", "opt": "sgd",
                 "batch": 16},
}
N_BATCHES = 200


def _data(w, n):
    r = np.random.default_rng(0)
    # drawn as float32: a float64 draw then a cast would put a 2× temporary into peak memory
    x = r.standard_normal((n, w["sizes"][0]), dtype=np.float32)
    if w["out"] == "sigmoid":
        y = (r.random((n, 1)) > 0.5).astype(np.float32)
    else:
        y = r.integers(0, w["sizes"][-1], n)
    return x, y


def _glassnet_model(w):
    import glassnet as gn
    from glassnet.layers import Dense
    from glassnet.models import Sequential

    gn.set_seed(0)
    s = w["sizes"]
    layers = [Dense(s[1], activation=w["act"], input_shape=(s[0],))]
    layers += [Dense(k, activation=w["act"]) for k in s[2:-1]]
    layers += [Dense(s[-1], activation=w["out"])]
    m = Sequential(layers)
    loss = "binary_crossentropy" if w["out"] == "sigmoid" else "sparse_categorical_crossentropy"
    opt = "adam" if w["opt"] == "adam" else {"class_name": "SGD",
                                              "config": {"learning_rate": 0.01}}
    m.compile(optimizer=opt, loss=loss)
    return m


def gl_train_on_batch(w):
    m = _glassnet_model(w)
    x, y = _data(w, w["batch"])

    def step():
        m.train_on_batch(x, y)

    return step, 1


def gl_fit(w):
    m = _glassnet_model(w)
    x, y = _data(w, w["batch"] * N_BATCHES)

    def step():
        m.fit(x, y, batch_size=w["batch"], epochs=1, verbose=0, shuffle=True)

    return step, N_BATCHES


def torch_loop(w):
    import torch

    torch.manual_seed(0)
    s = w["sizes"]
    act = torch.nn.ReLU if w["act"] == "relu" else torch.nn.Tanh
    mods = []
    for i, (a, b) in enumerate(zip(s[:-1], s[1:])):
        mods.append(torch.nn.Linear(a, b))
        if i < len(s) - 2:
            mods.append(act())
    net = torch.nn.Sequential(*mods)
    opt = (torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7) if w["opt"] == "adam"
           else torch.optim.SGD(net.parameters(), lr=0.01))
    x, y = _data(w, w["batch"])
    xt = torch.from_numpy(x)
    if w["out"] == "sigmoid":
        yt, lossf = torch.from_numpy(y), torch.nn.BCEWithLogitsLoss()
    else:
        yt, lossf = torch.from_numpy(y), torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        lossf(net(xt), yt).backward()
        opt.step()

    return step, 1


def numpy_loop(w):
    """Hand-written NumPy: forward, backward, and Adam/SGD with preallocated state."""
    r = np.random.default_rng(0)
    s = w["sizes"]
    W = [(r.standard_normal((a, b)) * np.sqrt(2 / a)).astype(np.float32)
         for a, b in zip(s[:-1], s[1:])]
    B = [np.zeros(b, np.float32) for b in s[1:]]
    P = W + B
    M = [np.zeros_like(p) for p in P]
    V = [np.zeros_like(p) for p in P]
    x, y = _data(w, w["batch"])
    n = len(W)
    t = [0]
    relu = w["act"] == "relu"

    def step():
        hs, hs_act = [x], []
        h = x
        for i in range(n):
            z = h @ W[i] + B[i]
            if i < n - 1:
                h = np.maximum(z, 0) if relu else np.tanh(z)
                hs_act.append(h)
                hs.append(h)
            else:
                h = z
        if w["out"] == "sigmoid":
            p = 1 / (1 + np.exp(-h))
            g = (p - y) / len(x)
        else:
            e = np.exp(h - h.max(1, keepdims=True))
            p = e / e.sum(1, keepdims=True)
            g = p
            g[np.arange(len(x)), y] -= 1
            g /= len(x)
        grads = [None] * (2 * n)
        for i in reversed(range(n)):
            grads[i] = hs[i].T @ g
            grads[n + i] = g.sum(0)
            if i > 0:
                g = g @ W[i].T
                g = g * (hs_act[i - 1] > 0) if relu else g * (1 - hs_act[i - 1] ** 2)
        if w["opt"] == "sgd":
            for p_, g_ in zip(P, grads):
                p_ -= 0.01 * g_
            return
        t[0] += 1
        lr = 1e-3 * np.sqrt(1 - 0.999 ** t[0]) / (1 - 0.9 ** t[0])
        for p_, g_, m_, v_ in zip(P, grads, M, V):
            m_ *= 0.9
            m_ += 0.1 * g_
            v_ *= 0.999
            v_ += 0.001 * g_ * g_
            p_ -= lr * m_ / (np.sqrt(v_) + 1e-7)

    return step, 1


FRAMEWORKS = {"glassnet-train_on_batch": gl_train_on_batch, "glassnet-fit": gl_fit,
              "torch": torch_loop, "numpy": numpy_loop}


def one(case: str, fw: str, threads: int) -> None:
    if fw == "torch":
        import torch

        torch.set_num_threads(threads)
    step, per_call = FRAMEWORKS[fw](WORK[case])
    rate = steady_rate(step, warmup=3, min_time=2.0, min_iters=3) * per_call
    emit({"case": case, "framework": fw, "threads": threads, "steps_per_s": round(rate, 1),
          "peak_rss_mb": round(peak_rss_mb(), 1)})


def interleaved(case: str, windows: int = 15, window_s: float = 0.25) -> dict:
    """Best-of-``windows`` steps/s per framework, all in this process, taken in turns, and
    the median over rounds of the ratio measured within each round.

    On a shared machine the load changes from second to second; timing the frameworks in
    alternating short windows and keeping each one's best window compares them under the
    same conditions (the best window is the one least disturbed by other processes).
    Peak memory is not meaningful here (one process holds all frameworks): use the default
    mode for it.
    """
    import time

    fws = [f for f in FRAMEWORKS if f != "torch" or torch_available()]
    if "torch" in fws:
        import torch

        torch.set_num_threads(1)
    steps = {fw: FRAMEWORKS[fw](WORK[case]) for fw in fws}
    for step, _ in steps.values():  # warm up: caches, allocator, lazy imports
        for _ in range(3):
            step()
    best = dict.fromkeys(fws, 0.0)
    rounds = []  # each round: every framework's rate in back-to-back windows
    for _ in range(windows):
        rates = {}
        for fw, (step, per_call) in steps.items():
            n, t0 = 0, time.perf_counter()
            while True:
                step()
                n += 1
                dt = time.perf_counter() - t0
                if dt >= window_s and n >= 2:
                    break
            rates[fw] = n * per_call / dt
            best[fw] = max(best[fw], rates[fw])
        rounds.append(rates)
    out = {"case": case, "mode": "interleaved", **{fw: round(v, 1) for fw, v in best.items()}}
    for g in ("glassnet-train_on_batch", "glassnet-fit"):
        for ref in ("torch", "numpy"):
            if ref in best:
                out[f"{g.split('-')[1]}_vs_{ref}"] = round(best[g] / best[ref], 2)
                # the ratio within each round (same seconds of machine time), median over
                # rounds: steadier than best-of-each when the machine's speed drifts
                paired = sorted(r[g] / r[ref] for r in rounds)
                out[f"{g.split('-')[1]}_vs_{ref}_median"] = round(paired[len(paired) // 2], 2)
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--one", nargs=3, metavar=("CASE", "FRAMEWORK", "THREADS"))
    p.add_argument("--threads", default="1,2")
    p.add_argument("--cases", default=",".join(WORK))
    p.add_argument("--rounds", type=int, default=1,
                   help="fresh-process rounds (every framework once per round); with "
                        "several, the median of each ratio over the rounds is printed")
    p.add_argument("--interleaved", action="store_true",
                   help="one process, frameworks timed in turns, best window each (for a "
                        "loaded machine; run with OMP_NUM_THREADS=1)")
    a = p.parse_args(argv)
    if a.interleaved:
        for case in a.cases.split(","):
            emit(interleaved(case))
        return
    if a.one:
        one(a.one[0], a.one[1], int(a.one[2]))
        return
    fws = [f for f in FRAMEWORKS if f != "torch" or torch_available()]
    for case in a.cases.split(","):
        for t in (int(s) for s in a.threads.split(",")):
            per_round = []
            for _ in range(max(1, a.rounds)):
                res = {fw: run_isolated("benchmarks.bench_models", case, fw, t) for fw in fws}
                for r in res.values():
                    emit(r)
                ratios = {}
                for g in ("glassnet-train_on_batch", "glassnet-fit"):
                    gv = res[g].get("steps_per_s")
                    for ref in ("torch", "numpy"):
                        rv = res.get(ref, {}).get("steps_per_s")
                        if gv and rv:
                            ratios[f"{g.split('-')[1]}_vs_{ref}"] = round(gv / rv, 2)
                emit({"case": case, "threads": t, "glassnet_ratio": ratios})
                per_round.append(ratios)
            if len(per_round) > 1:  # fresh processes back to back: the median pair
                med = {k: sorted(r[k] for r in per_round if k in r)[len(per_round) // 2]
                       for k in per_round[0]}
                emit({"case": case, "threads": t, "rounds": len(per_round),
                      "glassnet_ratio_median": med})


if __name__ == "__main__":
    sys.exit(main())
