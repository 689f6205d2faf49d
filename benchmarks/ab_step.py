"""glassnet's training step against an older commit of itself, in one process.

The older tree (``git archive REV src/glassnet``) is imported as a second package,
``gn_old``, so both run in the same process on the same machine state; the two models of
each configuration alternate windows of 1,000 ``train_on_batch`` steps and the ratio is the
median over the rounds. The [step] issue's reference is the commit before the replayed step
(``d2da997^``, the fused ``DenseChain``/``FusedStep`` special path).

    python -m benchmarks.ab_step                      # against d2da997^, 9 rounds
    python -m benchmarks.ab_step --rev HEAD~5 --rounds 5
    python -m benchmarks.ab_step --rev HEAD --cases mlp-layernorm,mlp-batchnorm
"""

from __future__ import annotations

import argparse
import importlib
import io
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from benchmarks._common import cpu_model

CASES = ("tiny-softmax", "tiny-logits", "mlp")
# --cases also takes: the MLP with a normalization layer, the tiny net with a regression loss
EXTRA = ("mlp-layernorm", "mlp-batchnorm", "tiny-mse", "tiny-huber", "tiny-bin")


def _old_package(rev: str, root: Path) -> str:
    """Unpack ``rev``'s src/glassnet under ``root`` as package ``gn_old``; its parent."""
    repo = Path(__file__).resolve().parent.parent
    tar = subprocess.run(["git", "archive", rev, "src/glassnet"], cwd=repo, check=True,
                         capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as t:
        t.extractall(root, filter="data")
    (root / "src" / "glassnet").rename(root / "gn_old")
    return str(root)


def _build(gn, case: str):
    import numpy as np

    L = gn.layers
    gn.set_seed(0)
    r = np.random.default_rng(0)
    if case.startswith("tiny"):
        x = r.standard_normal((16, 4)).astype("f4")
        y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0).astype(int)
        head = (L.Dense(3, activation="softmax") if case == "tiny-softmax"
                else L.Dense(1) if case == "tiny-bin" else L.Dense(3))
        m = gn.models.Sequential([L.Dense(8, activation="tanh", input_dim=4), head])
        loss = {"tiny-softmax": "sparse_categorical_crossentropy",
                "tiny-mse": "mse", "tiny-huber": gn.losses.Huber(),
                "tiny-bin": gn.losses.BinaryCrossentropy(from_logits=True)}.get(
                    case, gn.losses.SparseCategoricalCrossentropy(from_logits=True))
        if case in ("tiny-mse", "tiny-huber"):
            y = np.eye(3, dtype="f4")[y]
        if case == "tiny-bin":
            y = (y > 0).astype("f4")[:, None]
        m.compile(optimizer=gn.optimizers.SGD(0.01), loss=loss)
        return m, x, y
    x = r.standard_normal((32, 20)).astype("f4")
    y = (x[:, 0] > 0).astype(int)
    norm = {"mlp": [], "mlp-layernorm": [L.LayerNormalization()],
            "mlp-batchnorm": [L.BatchNormalization()]}[case]
    m = gn.models.Sequential([L.Dense(64, activation="relu", input_dim=20), *norm,
                              L.Dense(64, activation="relu"),
                              L.Dense(2, activation="softmax")])
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return m, x, y


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rev", default="d2da997^")
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--cases", default=",".join(CASES))
    args = ap.parse_args(argv)
    import glassnet as new

    with tempfile.TemporaryDirectory() as tmp:
        sys.path.insert(0, _old_package(args.rev, Path(tmp)))
        old = importlib.import_module("gn_old")
        print(f"CPU: {cpu_model()}; glassnet (this tree) against {args.rev}; 1,000-step "
              f"windows, {args.rounds} rounds")
        for case in args.cases.split(","):
            pair = [_build(old, case), _build(new, case)]
            for m, x, y in pair:
                for _ in range(300):
                    m.train_on_batch(x, y)
            times: list[list[float]] = [[], []]
            for _ in range(args.rounds):
                for i, (m, x, y) in enumerate(pair):
                    t = time.perf_counter()
                    for _ in range(1000):
                        m.train_on_batch(x, y)
                    times[i].append((time.perf_counter() - t) * 1e3)  # us per step
            ratio = statistics.median(a / b for a, b in zip(times[0], times[1]))
            print(f"{case:14s} old {statistics.median(times[0]):6.1f} us/step  "
                  f"this {statistics.median(times[1]):6.1f} us/step  speed {ratio:.3f}x "
                  "of old", flush=True)


if __name__ == "__main__":
    main()
