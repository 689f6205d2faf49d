"""Shared helpers for the benchmarks: timing, thread pinning, peak memory, JSON lines."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time


def steady_rate(step, warmup: int = 5, min_time: float = 1.0, min_iters: int = 10) -> float:
    """Calls per second of ``step()`` after ``warmup`` calls, over at least ``min_time`` s."""
    for _ in range(warmup):
        step()
    n = 0
    t0 = time.perf_counter()
    while True:
        step()
        n += 1
        dt = time.perf_counter() - t0
        if dt >= min_time and n >= min_iters:
            return n / dt


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def emit(record: dict) -> None:
    print(json.dumps(record), flush=True)


def run_isolated(module: str, case: str, framework: str, threads: int, extra: list | None = None):
    """Run one (case, framework) in a fresh interpreter pinned to ``threads`` BLAS threads.

    A fresh process per measurement keeps peak memory honest and thread settings effective
    (they must be set before NumPy/PyTorch load their thread pools).
    """
    env = dict(os.environ)
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        env[k] = str(threads)
    cmd = [sys.executable, "-m", module, "--one", case, framework, str(threads), *(extra or [])]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if out.returncode != 0:
        return {"case": case, "framework": framework, "threads": threads,
                "error": out.stderr.strip().splitlines()[-1:] or ["failed"]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def torch_available() -> bool:
    try:
        import importlib.util

        return importlib.util.find_spec("torch") is not None
    except Exception:
        return False


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), to print next to every number."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or "unknown CPU"
