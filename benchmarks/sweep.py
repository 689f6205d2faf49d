"""The product's sweep: what users write, glassnet against PyTorch, paired in one run.

Every configuration is built twice — a glassnet (Keras-style) model and the PyTorch model a
PyTorch user writes for it (``benchmarks/_sweep_models.py``, ``_sweep_torch.py``) — in the
same process. Each round times one framework for a short window, then the other (the order
alternates by round), and records the ratio glassnet rate / PyTorch rate; the result is the
median over the rounds, so the machine's drift (±30 % within minutes on a shared 2-vCPU VM)
hits both sides of each ratio alike. It also records the ratio of CPU-time rates (this
process's CPU seconds per call): at 1 thread on a machine shared with other work, the
steadier measure of the work each framework does. Each thread count runs in a fresh worker
process with
``OMP/OPENBLAS/MKL/NUMBA_NUM_THREADS`` and ``torch.set_num_threads`` pinned.

Peak memory (``--rss``): each framework alone in a fresh process per workload (import,
build, a few calls), the kernel's ``ru_maxrss``.

Run::

    python -m benchmarks.sweep                      # everything, 1 and 2 threads (< 15 min)
    python -m benchmarks.sweep --quick              # the issue's table only, 3 rounds
    python -m benchmarks.sweep --only conv --threads 1
    python -m benchmarks.sweep --rss                # peak RSS of the table workloads

Prints one JSON line per measurement and a Markdown table at the end (``--out`` also
writes the JSON lines to a file).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

from benchmarks._sweep_models import Spec

MNIST = (784,)
MLP = (("dense", 512, "relu"), ("dense", 512, "relu"))
CONVNET = (("conv2d", 32, 3, "valid", "relu"), ("maxpool2d", 2),
           ("conv2d", 64, 3, "valid", "relu"), ("maxpool2d", 2), ("flatten",),
           ("dropout", 0.5))
ACTS = ("relu", "leaky_relu", "elu", "selu", "gelu", "tanh", "sigmoid", "softplus",
        "softsign", "swish", "hard_sigmoid", "arctan", "linear")
LOSSES = (("mean_squared_error", "linear10"), ("mean_absolute_error", "linear10"),
          ("huber", "linear10"), ("log_cosh", "linear10"),
          ("mean_squared_logarithmic_error", "sigmoid10"),
          ("mean_absolute_percentage_error", "linear10"), ("poisson", "sigmoid10"),
          ("kl_divergence", "softmax10"), ("cosine_similarity", "linear10"),
          ("hinge", "linear10"), ("squared_hinge", "linear10"),
          ("categorical_hinge", "linear10"), ("dice", "sigmoid10"),
          ("tversky", "sigmoid10"))
LOGIT_LOSSES = (("sparse_categorical_crossentropy", "softmax10"),
                ("categorical_crossentropy", "softmax10"),
                ("binary_crossentropy", "sigmoid1"),
                ("binary_focal_crossentropy", "sigmoid10"),
                ("categorical_focal_crossentropy", "softmax10"))
OPTIMIZERS = ("sgd", "sgd_momentum", "adam", "adamw", "rmsprop", "adagrad", "adadelta",
              "adamax", "nadam", "adafactor", "lion", "ftrl")


def configs() -> list[Spec]:
    c: list[Spec] = []
    add = c.append
    # -- the table ("falls behind" on the Intel Xeon)
    for b, d in ((256, 16), (32, 64)):
        add(Spec(f"embedding{d}-gap-b{b}", "embedding", (("embedding", 10000, d), ("gap1d",),
                 ("dense", 16, "relu")), (200,), b, "sigmoid1", "binary_crossentropy",
                 int_input=10000, table=True))
    for b in (32, 128):
        for pad in ("valid", "same"):
            add(Spec(f"conv2d32-rgb-{pad}-b{b}", "conv", (("conv2d", 32, 3, pad, "relu"),
                     ("flatten",)), (32, 32, 3), b, table=True))
    add(Spec("evaluate-small-mlp", "evaluate", (("dense", 64, "relu"),), (20,), 32,
             mode="evaluate", n_samples=4096, table=True))
    add(Spec("evaluate-mnist-mlp", "evaluate", MLP, MNIST, 32, mode="evaluate",
             n_samples=2048, table=True))
    for b in (1, 8, 32, 128, 1024):
        add(Spec(f"mnist-mlp-adam-b{b}", "batch", MLP, MNIST, b, table=True))
    for b in (32, 128):
        add(Spec(f"keras-mnist-convnet-b{b}", "conv", CONVNET, (28, 28, 1), b, table=True))
    add(Spec("keras-convnet-rgb-b32", "conv", CONVNET, (32, 32, 3), 32))
    add(Spec("conv2dT-decoder-rgb-b32", "conv", (("conv2dT", 32, 3, 2, "relu"),
             ("conv2dT", 3, 3, 2, "sigmoid")), (8, 8, 16), 32, "image", "mse", table=True))
    add(Spec("conv2dT-decoder-grey-b32", "conv", (("conv2dT", 32, 3, 2, "relu"),
             ("conv2dT", 1, 3, 2, "sigmoid")), (7, 7, 16), 32, "image", "mse", table=True))
    for act in ("leaky_relu", "selu", "elu", "gelu"):
        add(Spec(f"mnist-mlp-{act}-b128", "activation", (("dense", 512, act),
                 ("dense", 512, act)), MNIST, 128, table=True))
    for u, b in ((128, 32), (128, 64), (64, 32)):
        add(Spec(f"lstm-u{u}-T100-b{b}", "recurrent", (("rnn", "lstm", u, False),), (100, 32),
                 b, table=True))
    add(Spec("gru-u128-T100-b32", "recurrent", (("rnn", "gru", 128, False),), (100, 32), 32,
             table=True))
    add(Spec("predict-mnist-mlp", "predict", MLP, MNIST, 32, mode="predict", n_samples=4096,
             table=True))
    add(Spec("predict_on_batch-mnist-mlp-b1024", "predict", MLP, MNIST, 1024,
             mode="predict_on_batch", table=True))
    add(Spec("conv1d64-T100-b128", "conv", (("conv1d", 64, 5, "same", "relu"), ("gmp1d",)),
             (100, 16), 128, table=True))
    # -- the rest of what users write
    for act in ACTS:
        add(Spec(f"mlp-{act}-b128", "activation", (("dense", 256, act), ("dense", 256, act)),
                 (100,), 128))
    for loss, out in LOSSES:
        add(Spec(f"loss-{loss}", "loss", (("dense", 64, "relu"),), (32,), 128, out, loss))
    for loss, out in LOGIT_LOSSES:
        for logits in (False, True):
            add(Spec(f"loss-{loss}{'-logits' if logits else ''}", "loss",
                     (("dense", 64, "relu"),), (32,), 128, out, loss, from_logits=logits))
    for opt in OPTIMIZERS:
        add(Spec(f"opt-{opt}", "optimizer", (("dense", 128, "relu"),), (100,), 64,
                 optimizer=opt))
    add(Spec("mlp-dropout-b128", "norm", (("dense", 256, "relu"), ("dropout", 0.5),
             ("dense", 256, "relu"), ("dropout", 0.5)), (100,), 128))
    add(Spec("mlp-batchnorm-b128", "norm", (("dense", 256, "relu"), ("bn",),
             ("dense", 256, "relu"), ("bn",)), (100,), 128))
    add(Spec("mlp-layernorm-b128", "norm", (("dense", 256, "relu"), ("ln",),
             ("dense", 256, "relu"), ("ln",)), (100,), 128))
    add(Spec("conv-batchnorm-b32", "norm", (("conv2d", 16, 3, "same", "relu"), ("bn",),
             ("maxpool2d", 2), ("flatten",)), (28, 28, 1), 32))
    for ch, hw in ((1, 28), (3, 32)):
        for pool in ("maxpool2d", "avgpool2d"):
            add(Spec(f"conv16-{pool}-{ch}ch-b64", "conv", (("conv2d", 16, 3, "same", "relu"),
                     (pool, 2), ("flatten",)), (hw, hw, ch), 64))
    add(Spec("conv1d32-maxpool1d-1ch-b64", "conv", (("conv1d", 32, 5, "valid", "relu"),
             ("maxpool1d", 2), ("flatten",)), (128, 1), 64))
    add(Spec("conv1d32-3ch-b64", "conv", (("conv1d", 32, 5, "same", "relu"), ("gap1d",)),
             (128, 3), 64))
    add(Spec("embedding32-gap-b64", "embedding", (("embedding", 2000, 32), ("gap1d",),
             ("dense", 32, "relu")), (64,), 64, "softmax4", int_input=2000))
    add(Spec("embedding-lstm32-b32", "embedding", (("embedding", 2000, 32),
             ("rnn", "lstm", 32, False)), (50,), 32, "sigmoid1", "binary_crossentropy",
             int_input=2000))
    # a next-token model: logits per step over a 2,000-word vocabulary
    add(Spec("token-lm-v2000-T32-b32", "embedding", (("embedding", 2000, 32),
             ("dense", 64, "relu")), (32,), 32, "softmax2000", from_logits=True,
             int_input=2000, extra={"per_step": True}))
    # padded texts with mask_zero (PyTorch: a masked mean, packed sequences)
    add(Spec("masked-embedding32-gap-b64", "embedding", (("embedding_masked", 2000, 32),
             ("gap1d",), ("dense", 32, "relu")), (64,), 64, "softmax4", int_input=2000))
    for kind in ("lstm", "gru"):
        add(Spec(f"masked-embedding-{kind}32-b32", "embedding", (
            ("embedding_masked", 2000, 32), ("rnn", kind, 32, False)), (50,), 32,
            "sigmoid1", "binary_crossentropy", int_input=2000))
    for kind, u, t, b in (("simple", 32, 20, 32), ("simple", 128, 100, 32),
                          ("gru", 64, 50, 64), ("lstm", 32, 20, 32), ("lstm", 128, 20, 128)):
        add(Spec(f"{kind}rnn-u{u}-T{t}-b{b}" if kind == "simple" else f"{kind}-u{u}-T{t}-b{b}",
                 "recurrent", (("rnn", kind, u, False),), (t, 16), b))
    add(Spec("lstm-seq-u64-T50-b32", "recurrent", (("rnn", "lstm", 64, True),
             ("rnn", "lstm", 64, False)), (50, 16), 32))
    for b in (16, 64, 256):
        add(Spec(f"small-mlp-b{b}", "batch", (("dense", 64, "relu"), ("dense", 64, "relu")),
                 (20,), b))
    add(Spec("churn-ann-b10", "batch", (("dense", 6, "relu"), ("dense", 6, "relu")), (11,),
             10, "sigmoid1", "binary_crossentropy"))
    add(Spec("fit-mnist-mlp-b128", "fit", MLP, MNIST, 128, mode="fit", n_samples=4096))
    add(Spec("fit-small-mlp-b32", "fit", (("dense", 64, "relu"),), (20,), 32, mode="fit",
             n_samples=4096))
    for b in (32, 128):  # (32: Keras's default batch_size for evaluate and predict)
        add(Spec(f"evaluate-convnet-b{b}", "evaluate", CONVNET, (28, 28, 1), b,
                 mode="evaluate", n_samples=1024))
        add(Spec(f"predict-convnet-b{b}", "predict", CONVNET, (28, 28, 1), b,
                 mode="predict", n_samples=1024))
    add(Spec("functional-residual-mlp-b128", "functional", (("dense", 256, "relu"),
             ("dense", 256, "relu"), ("dense", 256, "relu")), (100,), 128, functional=True))
    return c


# ------------------------------------------------------------------ one worker
def _window(step, seconds: float) -> tuple[float, float]:
    """(calls per wall second, calls per CPU second of this process) of ``step`` over at
    least ``seconds`` and 2 calls. On a machine shared with other work the CPU-time rate is
    the steadier one at 1 thread (it counts only the time this process ran)."""
    n, t0, c0 = 0, time.perf_counter(), time.process_time()
    while True:
        step()
        n += 1
        dt = time.perf_counter() - t0
        if n >= 2 and dt >= seconds:
            return n / dt, n / max(time.process_time() - c0, 1e-9)


def measure(spec: Spec, rounds: int, seconds: float) -> dict:
    from benchmarks._sweep_models import build_glassnet
    from benchmarks._sweep_torch import build_torch

    rec = {"config": spec.name, "group": spec.group, "table": spec.table}
    g = build_glassnet(spec)
    t = build_torch(spec)
    for f in (g, t):
        for _ in range(2):  # first calls: builds, compiles, allocator warm-up
            if f is not None:
                f()
    gs, ts, ratios, cpu_ratios = [], [], [], []
    for r in range(rounds):
        if t is None:
            gs.append(_window(g, seconds)[0])
            continue
        if r % 2:
            b, bc = _window(t, seconds)
            a, ac = _window(g, seconds)
        else:
            a, ac = _window(g, seconds)
            b, bc = _window(t, seconds)
        gs.append(a)
        ts.append(b)
        ratios.append(a / b)
        cpu_ratios.append(ac / bc)
    rec["glassnet_per_s"] = round(statistics.median(gs), 3)
    if ratios:
        rec["torch_per_s"] = round(statistics.median(ts), 3)
        rec["ratio"] = round(statistics.median(ratios), 3)
        rec["ratio_min"], rec["ratio_max"] = round(min(ratios), 3), round(max(ratios), 3)
        rec["cpu_ratio"] = round(statistics.median(cpu_ratios), 3)
    else:
        rec["ratio"] = None  # no PyTorch equivalent (e.g. Lion, Ftrl)
    return rec


def worker(names: list[str], threads: int, rounds: int, seconds: float) -> None:
    import torch

    torch.set_num_threads(threads)
    by_name = {s.name: s for s in configs()}
    for name in names:
        try:
            rec = measure(by_name[name], rounds, seconds)
        except Exception as e:  # a broken config must not stop the sweep
            rec = {"config": name, "error": f"{type(e).__name__}: {e}"[:300]}
        rec["threads"] = threads
        print(json.dumps(rec), flush=True)


def rss_one(name: str, framework: str) -> None:
    import resource

    spec = {s.name: s for s in configs()}[name]
    if framework == "glassnet":
        from benchmarks._sweep_models import build_glassnet
        step = build_glassnet(spec)
    else:
        import torch

        torch.set_num_threads(1)
        from benchmarks._sweep_torch import build_torch
        step = build_torch(spec)
    if step is None:  # no PyTorch equivalent (Lion, Ftrl)
        print(json.dumps({"config": name, "framework": framework, "peak_rss_mb": None}))
        return
    for _ in range(5):
        step()
    # VmHWM, not ru_maxrss: Linux keeps ru_maxrss across fork+exec, so a child would report
    # at least the parent's size (the driver has imported PyTorch and glassnet)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    try:
        with open("/proc/self/status") as f:
            peak = next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024
    except (OSError, StopIteration):
        pass
    print(json.dumps({"config": name, "framework": framework,
                      "peak_rss_mb": round(peak, 1)}), flush=True)


# ------------------------------------------------------------------ driver
def machine() -> dict:
    model = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f
                         if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    info = {"cpu": model, "cpus": os.cpu_count(), "python": platform.python_version()}
    try:
        import importlib.util

        import numpy
        import torch

        from glassnet import __version__, backend
        from glassnet._optimizer_kernels import fused_available

        # the LSTM's compiled kernel runs whenever numba is installed; the optimizer and
        # pooling kernels for buffers/inputs of AUTO_WORK elements or more, or once numba
        # is loaded (numba_kernels: whether they run for a large buffer here)
        info.update(glassnet=__version__, numpy=numpy.__version__, torch=torch.__version__,
                    gemm=backend.gemm_info(), numba_kernels=fused_available(1 << 30),
                    numba_installed=importlib.util.find_spec("numba") is not None)
    except Exception as e:
        info["versions_error"] = str(e)
    with open("/proc/loadavg") as f:
        info["loadavg"] = f.read().split()[:3]
    return info


def _spawn(args: list[str], threads: int) -> subprocess.Popen:
    env = dict(os.environ)
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
              "NUMBA_NUM_THREADS"):
        env[k] = str(threads)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return subprocess.Popen([sys.executable, "-m", "benchmarks.sweep", *args], env=env,
                            cwd=root, stdout=subprocess.PIPE, text=True)


def markdown(recs: list[dict]) -> str:
    out = ["| configuration | threads | glassnet /s | PyTorch /s | ratio (median) | "
           "rounds min–max | CPU-time ratio |", "|---|---:|---:|---:|---:|---|---:|"]
    for r in recs:
        if "error" in r:
            out.append(f"| {r['config']} | {r.get('threads')} | error: {r['error'][:60]} "
                       "| | | |")
            continue
        ratio = "n/a (no PyTorch equivalent)" if r["ratio"] is None else f"{r['ratio']:.2f}×"
        mark = "**" if r.get("table") else ""
        out.append(f"| {mark}{r['config']}{mark} | {r['threads']} | {r['glassnet_per_s']:,} | "
                   f"{r.get('torch_per_s', '—')} | {ratio} | "
                   f"{r.get('ratio_min', '')}–{r.get('ratio_max', '')} | "
                   f"{r.get('cpu_ratio', '')} |")
    return "\n".join(out)


def summary(recs: list[dict]) -> str:
    lines = []
    for th in sorted({r.get("threads") for r in recs if r.get("threads")}):
        rs = [r for r in recs if r.get("threads") == th and r.get("ratio") is not None]
        if not rs:
            continue
        ratios = [r["ratio"] for r in rs]
        low = sorted((r["ratio"], r["config"]) for r in rs if r["ratio"] < 0.9)
        table_low = sorted((r["ratio"], r["config"]) for r in rs
                           if r["table"] and r["ratio"] < 1.0)
        cpu = [r["cpu_ratio"] for r in rs if "cpu_ratio" in r]
        cpu_text = f" (CPU-time ratio median {statistics.median(cpu):.2f}×)" if cpu else ""
        lines.append(f"threads={th}: {len(rs)} paired configurations, median ratio "
                     f"{statistics.median(ratios):.2f}×{cpu_text}, below 0.9×: {len(low)} "
                     f"{[f'{n} {v:.2f}' for v, n in low]}; table configurations below 1.0×: "
                     f"{len(table_low)} {[f'{n} {v:.2f}' for v, n in table_low]}")
    return "\n".join(lines)


def rss_table(recs: list[dict]) -> str:
    """Markdown of peak RSS per configuration, glassnet against PyTorch, with the ratio."""
    by: dict = {}
    for r in recs:
        by.setdefault(r["config"], {})[r["framework"]] = r.get("peak_rss_mb")
    out = ["| configuration | glassnet MB | PyTorch MB | glassnet / PyTorch |",
           "|---|---:|---:|---:|"]
    ratios = []
    for name, d in by.items():
        g, t = d.get("glassnet"), d.get("torch")
        ratio = f"{g / t:.2f}" if g and t else "—"
        if g and t:
            ratios.append((g / t, name))
        t_text = t or ("n/a" if "torch" in d else "failed")
        out.append(f"| {name} | {g or 'failed'} | {t_text} | {ratio} |")
    if ratios:
        worst = max(ratios)
        out.append(f"\nlargest glassnet / PyTorch peak RSS: {worst[0]:.2f} ({worst[1]})")
    return "\n".join(out)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="the issue's table only, 3 rounds")
    p.add_argument("--only", default="", help="substring of config or group names")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--rounds", type=int, default=0)
    p.add_argument("--seconds", type=float, default=0.0, help="timing window per side")
    p.add_argument("--rss", action="store_true", help="peak RSS per framework, fresh processes")
    p.add_argument("--out", default="")
    p.add_argument("--worker", nargs=4, metavar=("NAMES", "THREADS", "ROUNDS", "SECONDS"))
    p.add_argument("--rss-one", nargs=2, metavar=("NAME", "FRAMEWORK"))
    a = p.parse_args(argv)
    if a.worker:
        names, th, rounds, secs = a.worker
        worker(names.split(","), int(th), int(rounds), float(secs))
        return
    if a.rss_one:
        rss_one(*a.rss_one)
        return
    specs = configs()
    if a.quick:
        specs = [s for s in specs if s.table]
    if a.only:
        specs = [s for s in specs if any(o in s.name or o == s.group
                                         for o in a.only.split(","))]
    rounds = a.rounds or (3 if a.quick else 5)
    seconds = a.seconds or (0.1 if a.quick else 0.12)
    info = machine()
    print(json.dumps({"machine": info}), flush=True)
    recs: list[dict] = []
    sink = open(a.out, "a") if a.out else None
    if sink:
        sink.write(json.dumps({"machine": info}) + "\n")
    t0 = time.time()
    if a.rss:
        for s in specs:
            for fw in ("glassnet", "torch"):
                proc = _spawn(["--rss-one", s.name, fw], 1)
                line = proc.communicate()[0].strip().splitlines()
                rec = json.loads(line[-1]) if line else {"config": s.name, "framework": fw,
                                                         "error": "failed"}
                print(json.dumps(rec), flush=True)
                recs.append(rec)
                if sink:
                    sink.write(json.dumps(rec) + "\n")
        print()
        print(rss_table(recs))
    else:
        for th in [int(t) for t in a.threads.split(",")]:
            proc = _spawn(["--worker", ",".join(s.name for s in specs), str(th), str(rounds),
                           str(seconds)], th)
            for line in proc.stdout:
                rec = json.loads(line)
                print(line.strip(), flush=True)
                recs.append(rec)
                if sink:
                    sink.write(line)
            proc.wait()
        print()
        print(markdown(recs))
        print()
        print(summary(recs))
    print(f"\nsweep took {time.time() - t0:.0f} s on {info['cpu']} ({info['cpus']} CPUs)")
    if sink:
        sink.close()


if __name__ == "__main__":
    main()
