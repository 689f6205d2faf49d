"""Running a reference script under real Keras 3 (PyTorch backend) from a test: the one
helper the Keras-compared tests share."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest


def keras_json(script: str, stdin: str | None = None, timeout: int = 600):
    """Run ``tests/<script>`` with Keras on its PyTorch backend and return the JSON its last
    line prints; skip where Keras is not installed (it is an optional reference), fail with
    Keras's error where the run fails."""
    if importlib.util.find_spec("keras") is None:
        pytest.skip("keras is not installed (optional reference)")
    path = os.path.join(os.path.dirname(__file__), script)
    out = subprocess.run([sys.executable, path], input=stdin, capture_output=True, text=True,
                         timeout=timeout, env={**os.environ, "KERAS_BACKEND": "torch"})
    if out.returncode:
        pytest.fail(f"Keras reference run of {script} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])
