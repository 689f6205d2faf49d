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


def glassnet_json(script: str, timeout: int = 120):
    """Run ``tests/<script> glassnet`` (the glassnet side of an ops reference script, in a
    fresh process as the Keras side runs) and return the JSON its last line prints."""
    path = os.path.join(os.path.dirname(__file__), script)
    out = subprocess.run([sys.executable, path, "glassnet"], capture_output=True, text=True,
                         timeout=timeout)
    if out.returncode:
        pytest.fail(f"glassnet run of {script} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def assert_same_results(script: str, rtol: float, atol: float) -> None:
    """Keras's and glassnet's runs of ``script`` print the same keys and numbers."""
    import numpy as np

    k, g = keras_json(script), glassnet_json(script)
    assert sorted(g) == sorted(k)
    for key in k:
        np.testing.assert_allclose(g[key], k[key], rtol=rtol, atol=atol, err_msg=key)
