"""Shared fixtures: seeded runs, the dataset directory, headless matplotlib."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

import glassnet as gn  # noqa: E402


@pytest.fixture(scope="module")
def keras():
    """Real Keras 3 on its PyTorch backend, the compatibility oracle (skips without it)."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    pytest.importorskip("torch")
    k = pytest.importorskip("keras")
    if k.backend.backend() != "torch":
        pytest.skip("the Keras comparison runs on the torch backend")
    return k


@pytest.fixture(autouse=True)
def _seed():
    gn.set_seed(0)
    from glassnet.layers.base import reset_names

    reset_names()
    yield


def data_dir() -> Path:
    """The shared test datasets; in CI their absence is a failure, elsewhere a skip."""
    d = os.environ.get("GLASSNET_DATA_DIR")
    if d and (Path(d) / "mnist").is_dir():
        return Path(d)
    here = Path(__file__).resolve().parents[2] / "shared" / "datasets"
    if (here / "mnist").is_dir():
        os.environ["GLASSNET_DATA_DIR"] = str(here)
        return here
    if os.environ.get("CI"):
        pytest.fail("GLASSNET_DATA_DIR must point at the shared datasets in CI")
    pytest.skip("the shared datasets are not here; set GLASSNET_DATA_DIR to run data tests")


@pytest.fixture
def datasets_dir() -> Path:
    return data_dir()


@pytest.fixture
def recorded_programs(monkeypatch):
    """The list every replayable program (``glassnet._program.Program``) made during the test
    is appended to, in the order they were recorded."""
    from glassnet import _program

    progs = []
    orig = _program.Program.__init__

    def init(self, *a, **k):
        orig(self, *a, **k)
        progs.append(self)

    monkeypatch.setattr(_program.Program, "__init__", init)
    return progs


@pytest.fixture
def run_script(tmp_path):
    """``run(source, env)``: ``source`` written to a file (numba caches only functions
    defined in one) and run by this Python in a fresh process with ``env``; returns the
    JSON object its last line of output prints (a failed run fails the test)."""
    import json
    import subprocess
    import sys

    def run(source, env):
        script = tmp_path / "script.py"
        script.write_text(source)
        out = subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                             text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout.strip().splitlines()[-1])

    return run


def libgomp_loads() -> bool:
    """Whether GNU OpenMP's runtime (what glassnet._parallel runs slices on) loads here."""
    import ctypes

    try:
        ctypes.CDLL("libgomp.so.1")
    except OSError:
        return False
    return True


@pytest.fixture(params=["openmp", "serial"])
def region(request, monkeypatch):
    """How glassnet._parallel runs a region's items in this test: on libgomp's team
    ("openmp", skipped where it does not load) or one after the other ("serial")."""
    from glassnet import _parallel

    if request.param == "openmp" and not libgomp_loads():
        pytest.skip("libgomp.so.1 is not on this system")
    if request.param == "serial":
        monkeypatch.setattr(_parallel, "_on_openmp",
                            lambda fn, items, nt: [fn(i) for i in items])
    return request.param
