"""NumPy's GEMM against the one the backend chose (Intel MKL through the ``mkl`` extra, or
the ``openblas`` extra's AVX-512 kernels) on the shapes glassnet's layers make.

Run: ``OMP_NUM_THREADS=1 python -m benchmarks.bench_gemm`` (threads follow OMP_NUM_THREADS
for both libraries). For each (m, k, n, layout) it alternates ``np.matmul`` and the chosen
library's ``cblas_sgemm`` (through :func:`glassnet.backend.matmul` with the size rule
bypassed), 5 rounds, and prints µs per call (median) and the ratio; ``backend.matmul``'s
rule sends a product there from the size :func:`glassnet.backend.gemm_info` prints.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

SHAPES = [  # (m, k, n, role); "T" marks an operand passed transposed, as backward does
    (32, 784, 512, "MNIST MLP forward, b32"), (784, 32, 512, "its weight gradient (A^T)"),
    (32, 512, 784, "its input gradient (B^T)"), (8, 784, 512, "b8 forward"),
    (1, 784, 512, "batch 1"), (1024, 784, 512, "b1024 forward"),
    (128, 32768, 10, "RGB conv Dense head"), (128, 10, 32768, "its input gradient (B^T)"),
    (131072, 27, 32, "im2col GEMM, RGB b128"), (27, 131072, 32, "its weight gradient (A^T)"),
    (32, 512, 10, "small head"), (32, 64, 64, "small MLP"),
]


def _operands(m, k, n, role, rng):
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    if "(A^T)" in role:
        a = np.ascontiguousarray(a.T).T
    if "(B^T)" in role:
        b = np.ascontiguousarray(b.T).T
    return a, b


def main() -> None:
    from glassnet import backend

    info = backend.gemm_info()
    print(f"gemm: {info}")
    if info == "numpy":
        print("no other GEMM active here (the 'mkl' extra on an Intel CPU, the 'openblas' "
              "extra on an AVX-512 CPU whose NumPy runs AVX2 kernels); nothing to compare")
        return
    rng = np.random.default_rng(0)
    g = backend._gemm
    old = g["min_work"], g["min_out"]
    g["min_work"] = g["min_out"] = 0  # the chosen library for every shape, to see where it loses
    try:
        for m, k, n, role in SHAPES:
            a, b = _operands(m, k, n, role, rng)
            reps = max(3, min(300, int(3e7 / (m * k * n))))
            t: dict[str, list[float]] = {"numpy": [], "other": []}
            for r in range(5):
                pair = (("numpy", np.matmul), ("other", backend.matmul))
                for name, f in pair[::1 - 2 * (r % 2)]:
                    f(a, b)
                    t0 = time.perf_counter()
                    for _ in range(reps):
                        f(a, b)
                    t[name].append((time.perf_counter() - t0) / reps * 1e6)
            tn, tm = statistics.median(t["numpy"]), statistics.median(t["other"])
            print(f"{m:>6}x{k:<6}x{n:<6} {role:32s} numpy {tn:9.1f} us  "
                  f"{g['kind']} {tm:9.1f} us  numpy/{g['kind']} {tn / tm:5.2f}")
    finally:
        g["min_work"], g["min_out"] = old


if __name__ == "__main__":
    main()
