"""lstm-seq workload: LSTM 32→128 over 50 steps, batch 64, last hidden → Dense 10, Adam.

Training steps per second for glassnet (fused LSTM kernel + linear + softmax cross-entropy
+ Adam) and PyTorch CPU (nn.LSTM + nn.Linear + Adam), each in a fresh process pinned to 1
and 2 threads (BLAS, OpenMP and numba). glassnet's line names the LSTM kernel that ran:
``numba`` with the ``numba`` extra installed, else ``numpy`` (``GLASSNET_NUMBA=0`` forces
it, to compare the two), and the numba kernel's BLAS (``mkl`` where the backend chose MKL,
else ``openblas``; ``GLASSNET_GEMM=numpy`` forces OpenBLAS). Prints one JSON line per
measurement (wall-clock steps/s and steps per CPU-second) and one with the ratios.

Run: ``python -m benchmarks.bench_lstm [--threads 1,2] [--rounds 5]``
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from benchmarks._common import emit, peak_rss_mb, run_isolated, steady_rate, torch_available

B, T, D, H, C = 64, 50, 32, 128, 10


def _data():
    rs = np.random.default_rng(0)
    return rs.normal(size=(B, T, D)).astype(np.float32), rs.integers(0, C, size=B)


def glassnet_loop():
    import glassnet as gn
    from glassnet import functional as F
    from glassnet import initializers, optimizers
    from glassnet.layers import LSTM

    gn.set_seed(0)
    x, y = _data()
    lstm = LSTM(H)
    lstm(x[:1])
    w = gn.Tensor(initializers.get("glorot_uniform")((H, C)), requires_grad=True)
    b = gn.Tensor(np.zeros(C, np.float32), requires_grad=True)
    params = lstm.trainable_weights + [w, b]
    opt = optimizers.get("adam")
    xt = gn.tensor(x)

    def step():
        opt.zero_grad(params)
        loss = F.softmax_cross_entropy(F.linear(lstm(xt, training=True), w, b), y)
        loss.backward()
        opt.step(params)

    return step


def torch_loop():
    import torch

    torch.manual_seed(0)
    x, y = _data()
    lstm = torch.nn.LSTM(D, H, batch_first=True)
    head = torch.nn.Linear(H, C)
    params = list(lstm.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)
    xt, yt = torch.tensor(x), torch.tensor(y)
    lossf = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        out, _ = lstm(xt)
        loss = lossf(head(out[:, -1]), yt)
        loss.backward()
        opt.step()

    return step


FRAMEWORKS = {"glassnet": glassnet_loop, "torch": torch_loop}


def cpu_rate(step, iters: int = 20) -> float:
    """Steps per second of process CPU time (all threads): on a machine shared with other
    jobs this moves far less than wall-clock rates, and at 1 thread it is the cost that
    matters; at 2 threads it counts both threads' time, so only wall rates show scaling."""
    import time

    best = float("inf")
    for _ in range(3):
        t0 = time.process_time()
        for _ in range(iters):
            step()
        best = min(best, (time.process_time() - t0) / iters)
    return 1.0 / best


def one(case: str, fw: str, threads: int) -> None:
    if fw == "torch":
        import torch

        torch.set_num_threads(threads)
    step = FRAMEWORKS[fw]()
    rate = steady_rate(step, warmup=3, min_time=3.0, min_iters=5)
    kernel = {}
    if fw == "glassnet":  # which CPU kernel ran: the numba one (extra installed) or NumPy's
        from glassnet.layers import _lstm_numba

        kernel = {"lstm_kernel": "numba" if _lstm_numba.available() else "numpy"}
        if _lstm_numba.available():  # its GEMMs' BLAS: MKL (the backend's choice) or OpenBLAS
            _lstm_numba._kernels()
            kernel["lstm_blas"] = "mkl" if _lstm_numba._STATE["sgemm"][2] else "openblas"
    emit({"case": case, "framework": fw, "threads": threads, "steps_per_s": round(rate, 1),
          "steps_per_cpu_s": round(cpu_rate(step), 1),
          "peak_rss_mb": round(peak_rss_mb(), 1), **kernel})


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--one", nargs=3, metavar=("CASE", "FRAMEWORK", "THREADS"))
    p.add_argument("--threads", default="1,2")
    p.add_argument("--rounds", type=int, default=1,
                   help="fresh-process pairs per thread count (glassnet then PyTorch, back "
                        "to back); with several, the median of the pairs' ratios is printed")
    a = p.parse_args(argv)
    if a.one:
        one(a.one[0], a.one[1], int(a.one[2]))
        return
    fws = [f for f in FRAMEWORKS if f != "torch" or torch_available()]
    for t in (int(s) for s in a.threads.split(",")):
        ratios, cpu_ratios = [], []
        for _ in range(max(1, a.rounds)):
            res = {fw: run_isolated("benchmarks.bench_lstm", "lstm-seq", fw, t) for fw in fws}
            for r in res.values():
                emit(r)
            gv = res["glassnet"].get("steps_per_s")
            tv = res.get("torch", {}).get("steps_per_s")
            if gv and tv:
                ratios.append(gv / tv)
                cpu_ratios.append(res["glassnet"]["steps_per_cpu_s"]
                                  / res["torch"]["steps_per_cpu_s"])
                emit({"case": "lstm-seq", "threads": t, "glassnet_vs_torch": round(ratios[-1], 2),
                      "glassnet_vs_torch_cpu_time": round(cpu_ratios[-1], 2)})
        if len(ratios) > 1:
            emit({"case": "lstm-seq", "threads": t, "rounds": len(ratios),
                  "glassnet_vs_torch_median": round(sorted(ratios)[len(ratios) // 2], 2),
                  "glassnet_vs_torch_cpu_time_median":
                      round(sorted(cpu_ratios)[len(cpu_ratios) // 2], 2)})


if __name__ == "__main__":
    sys.exit(main())
