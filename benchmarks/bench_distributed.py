"""Data-parallel throughput: glassnet over MPI against PyTorch DDP (gloo), side by side.

Global steps per second (one step = one global batch of 128) for the MNIST MLP
(784-512-512-10, Adam) and the MNIST CNN (Conv 32-64 3x3, pooling, Dense 128, Adam) at N = 1
and 2 processes of one thread each, on MNIST-shaped random data. glassnet's ranks are
started by ``mpiexec`` (the ``mpi`` extra); PyTorch's by this script with
``torch.distributed`` over gloo on the loopback address.

    python -m benchmarks.bench_distributed             # N = 1, 2; both models
    python -m benchmarks.bench_distributed --procs 1,2,3,4 --models mlp   # the cost model
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from benchmarks._common import cpu_model

STEPS = {"mlp": 300, "cnn": 12}  # timed steps per launch (~1.5 s each)


def _data(model, n, seed=0):
    import numpy as np

    r = np.random.default_rng(seed)
    x = r.standard_normal((n, 784) if model == "mlp" else (n, 28, 28, 1)).astype("f4")
    return x, r.integers(0, 10, n)


def _glassnet_worker(model, batch, steps):
    import numpy as np

    import glassnet as gn
    from glassnet import layers as L

    gn.distribution.set_distribution(gn.distribution.DataParallel())
    gn.set_seed(0)
    if model == "mlp":
        m = gn.Sequential([L.Dense(512, activation="relu", input_dim=784),
                           L.Dense(512, activation="relu"), L.Dense(10, activation="softmax")])
    else:
        m = gn.Sequential([L.Conv2D(32, 3, activation="relu", input_shape=(28, 28, 1)),
                           L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(),
                           L.Flatten(), L.Dense(128, activation="relu"),
                           L.Dense(10, activation="softmax")])
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x, y = _data(model, batch * (steps + 3))
    m.fit(x[: batch * 3], y[: batch * 3], batch_size=batch, epochs=1, verbose=0,
          shuffle=False)  # warm-up: records the step
    t0 = time.perf_counter()
    m.fit(x[batch * 3:], y[batch * 3:], batch_size=batch, epochs=1, verbose=0, shuffle=False)
    dt = time.perf_counter() - t0
    if gn.distribution.is_root():
        print(json.dumps({"steps_per_s": steps / dt}), flush=True)
    del np


def _torch_worker(model, batch, steps):
    import torch
    import torch.distributed as td
    from torch import nn

    torch.set_num_threads(1)
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    if world > 1:
        td.init_process_group("gloo", rank=rank, world_size=world)
    torch.manual_seed(0)
    if model == "mlp":
        net = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                            nn.Linear(512, 10))
    else:
        net = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(),
                            nn.MaxPool2d(2), nn.Flatten(), nn.Linear(9216, 128), nn.ReLU(),
                            nn.Linear(128, 10))
    if world > 1:
        net = nn.parallel.DistributedDataParallel(net)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    lf = nn.CrossEntropyLoss()
    x, y = _data(model, batch * (steps + 3))
    x = torch.tensor(x if model == "mlp" else x.transpose(0, 3, 1, 2).copy())
    y = torch.tensor(y)
    local = batch // world

    def step(i):
        lo = i * batch + rank * local
        opt.zero_grad()
        loss = lf(net(x[lo:lo + local]), y[lo:lo + local])
        loss.backward()
        opt.step()

    for i in range(3):
        step(i)
    if world > 1:
        td.barrier()
    t0 = time.perf_counter()
    for i in range(3, steps + 3):
        step(i)
    if world > 1:
        td.barrier()
    dt = time.perf_counter() - t0
    if rank == 0:
        print(json.dumps({"steps_per_s": steps / dt}), flush=True)
    if world > 1:
        td.destroy_process_group()


def _env(threads=1):
    env = dict(os.environ)
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
              "NUMBA_NUM_THREADS"):
        env[k] = str(threads)
    return env


def _last_json(text):
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError(text[-2000:])


def run_glassnet(model, n, batch):
    import glassnet as gn

    exe = gn.distribution.find_mpiexec()
    env = {**_env(), **gn.distribution.launcher_env()}
    cmd = [exe, *gn.distribution.mpiexec_flags(exe), "-n", str(n), sys.executable, "-m",
           "benchmarks.bench_distributed", "--worker", "glassnet", model, str(batch)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    return _last_json(out.stdout + out.stderr)["steps_per_s"]


def run_torch(model, n, batch, port=29517):
    env = _env()
    env.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(n))
    procs = []
    for r in range(n):
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "benchmarks.bench_distributed", "--worker", "torch", model,
             str(batch)], env={**env, "RANK": str(r)}, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True))
    outs = [p.communicate(timeout=900) for p in procs]
    return _last_json(outs[0][0] + outs[0][1])["steps_per_s"]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worker", nargs=3, metavar=("FRAMEWORK", "MODEL", "BATCH"))
    ap.add_argument("--procs", default="1,2")
    ap.add_argument("--models", default="mlp,cnn")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    if args.worker:
        fw, model, batch = args.worker
        (_glassnet_worker if fw == "glassnet" else _torch_worker)(model, int(batch),
                                                                  STEPS[model])
        return
    print(f"CPU: {cpu_model()}; {os.cpu_count()} CPUs; global batch {args.batch}; 1 thread per "
          f"process; median of {args.repeat} launches per N (the Ns alternate)")
    procs = list(map(int, args.procs.split(",")))
    for model in args.models.split(","):
        g: dict[int, list[float]] = {n: [] for n in procs}
        t: dict[int, list[float]] = {n: [] for n in procs}
        for _ in range(args.repeat):  # N=1 and N=2 alternate: a drifting machine hits both
            for n in procs:
                g[n].append(run_glassnet(model, n, args.batch))
                if not args.no_torch:
                    t[n].append(run_torch(model, n, args.batch))
        base = statistics.median(g[procs[0]])
        for n in procs:
            gm = statistics.median(g[n])
            scale = statistics.median(a / b for a, b in zip(g[n], g[procs[0]]))
            line = (f"{model}-mnist N={n}: glassnet {gm:7.1f} global steps/s "
                    f"({scale:.2f}x its N=1 paired, {gm / base:.2f}x of medians; launches "
                    f"{', '.join(f'{v:.1f}' for v in g[n])})")
            if t[n]:
                tm = statistics.median(t[n])
                line += f" | PyTorch DDP (gloo) {tm:7.1f} | ratio {gm / tm:.2f}"
            print(line, flush=True)


if __name__ == "__main__":
    main()
