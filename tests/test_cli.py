"""The `glassnet` command: recipes train, reports open in a browser, bad input is one line."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from glassnet import recipes
from glassnet.cli import app

runner = CliRunner()


def run_cli(*args, env=None):
    res = runner.invoke(app, list(map(str, args)), env=env)
    return res.exit_code, res.output


def _one_line_error(out: str) -> str:
    lines = [ln for ln in out.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, out
    assert lines[0].startswith("error: "), out
    assert "Traceback" not in out
    return lines[0]


def test_recipes_lists_the_course_experiments():
    code, out = run_cli("recipes")
    assert code == 0
    for name in ("digits", "perceptron-iris", "adaline-iris", "xor", "circles", "churn",
                 "mnist-mlp"):
        assert name in out


@pytest.mark.parametrize("name", recipes.names())
def test_every_recipe_trains_from_the_cli(name, tmp_path, datasets_dir):
    out = tmp_path / "run"
    code, text = run_cli("train", name, "--fast", "--quiet", "--out", out)
    assert code == 0, text
    info = json.loads((out / "metrics.json").read_text())
    assert info["recipe"] == name and info["seed"] == 0
    assert info["metrics"], info
    assert all(np.isfinite(v) for v in info["metrics"].values())
    assert (out / "history.csv").exists()
    assert (out / "report.html").exists()
    pngs = list(out.glob("*.png"))
    assert pngs, "every recipe shows at least one figure"


def test_default_recipe_learns_digits(tmp_path):
    code, text = run_cli("train", "--out", tmp_path / "d", "--epochs", "8", "--quiet")
    assert code == 0, text
    info = json.loads((tmp_path / "d" / "metrics.json").read_text())
    assert info["recipe"] == "digits"
    assert info["metrics"]["test_accuracy"] > 0.9
    report = (tmp_path / "d" / "report.html").read_text()
    assert "data:image/png;base64," in report and "<script src" not in report


def test_unknown_recipe_suggests_closest():
    code, out = run_cli("train", "mnist-cnnn")
    assert code != 0
    line = _one_line_error(out)
    assert "mnist-cnn" in line


def test_missing_data_offline_names_the_file(tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("GLASSNET_DATA_DIR", str(empty))
    # no network here: the loader must say which file to put where
    code, out = run_cli("train", "churn", "--fast", "--out", tmp_path / "r",
                        "--data-dir", empty)
    assert code != 0
    line = _one_line_error(out)
    assert "Churn_Modelling.csv" in line and str(empty) in line


def test_unwritable_output_directory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    code, out = run_cli("train", "xor", "--fast", "--out", blocker / "run")
    assert code != 0
    assert "not writable" in _one_line_error(out)


@pytest.fixture(scope="module")
def trained_xor(tmp_path_factory):
    out = tmp_path_factory.mktemp("xor")
    code, text = run_cli("train", "xor", "--fast", "--quiet", "--out", out)
    assert code == 0, text
    return out


def test_summary_graph_predict_evaluate(trained_xor, tmp_path):
    model = trained_xor / "model.glassnet"
    code, out = run_cli("summary", model)
    assert code == 0 and "Dense" in out
    code, out = run_cli("graph", model, "--out", tmp_path / "m.svg")
    assert code == 0
    svg = (tmp_path / "m.svg").read_text()
    assert svg.startswith("<svg") and "(None, 4)" in svg and "(None, 1)" in svg
    code, out = run_cli("graph", model, "--out", tmp_path / "m.dot")
    assert code == 0 and "digraph" in (tmp_path / "m.dot").read_text()
    csv = tmp_path / "x.csv"
    np.savetxt(csv, np.array([[0, 0], [1, 0]]), delimiter=",")
    code, out = run_cli("predict", model, csv, "--out", tmp_path / "p.csv")
    assert code == 0, out
    p = np.loadtxt(tmp_path / "p.csv", delimiter=",", ndmin=1)
    assert p.shape == (2,) and np.all((p >= 0) & (p <= 1))
    code, out = run_cli("evaluate", model, "--recipe", "xor")
    assert code == 0 and "loss" in out


def test_predict_rejects_wrong_column_count(trained_xor, tmp_path):
    csv = tmp_path / "bad.csv"
    np.savetxt(csv, np.ones((3, 5)), delimiter=",")
    code, out = run_cli("predict", trained_xor / "model.glassnet", csv)
    assert code != 0
    line = _one_line_error(out)
    assert "5 columns" in line and "2" in line


def test_tampered_model_file_is_one_line(trained_xor, tmp_path):
    bad = tmp_path / "bad.glassnet"
    data = bytearray((trained_xor / "model.glassnet").read_bytes())
    bad.write_bytes(bytes(data[: len(data) // 2]))
    for cmd in (("summary", bad), ("predict", bad, tmp_path / "x.npy")):
        code, out = run_cli(*cmd)
        assert code != 0
        _one_line_error(out)
    garbage = tmp_path / "garbage.glassnet"
    garbage.write_bytes(b"\x00not a model" * 10)
    code, out = run_cli("summary", garbage)
    assert code != 0
    _one_line_error(out)


def test_info_reports_versions():
    code, out = run_cli("info")
    assert code == 0 and "glassnet" in out and "numpy" in out and "gpu:" in out
    from glassnet.layers import _lstm_numba

    kernel = "numba" if _lstm_numba.available() else "numpy"
    assert f"lstm cpu kernel: {kernel}" in out
    assert "compiled kernels (Adam, pooling, BatchNorm, LayerNorm, ReLU, col2im, GRU step): " in out


@pytest.mark.parametrize("env, says", [("0", "numpy (GLASSNET_NUMBA=0)"),
                                       ("1", "numba (GLASSNET_NUMBA=1), threads=")])
def test_info_says_which_optimizer_kernels_run(env, says, monkeypatch):
    if env == "1":
        pytest.importorskip("numba", reason="the optional numba extra is not installed")
    monkeypatch.setenv("GLASSNET_NUMBA", env)
    code, out = run_cli("info")
    label = "compiled kernels (Adam, pooling, BatchNorm, LayerNorm, ReLU, col2im, GRU step)"
    assert code == 0 and f"{label}: {says}" in out


def test_info_names_the_gemm_and_says_when_the_openblas_extra_would_apply(monkeypatch):
    from glassnet import _cpu, backend

    monkeypatch.setattr(backend, "_gemm", {})
    monkeypatch.setenv("GLASSNET_GEMM", "numpy")
    monkeypatch.setattr(_cpu, "has_avx512", lambda: True)
    monkeypatch.setattr(backend, "numpy_openblas_core", lambda: "haswell")
    code, out = run_cli("info")
    assert code == 0
    assert ("gemm: numpy (OpenBLAS haswell kernels on an AVX-512 CPU: `pip install "
            "glassnet[openblas]`") in out
    monkeypatch.setattr(backend, "_gemm", {})
    monkeypatch.setattr(backend, "numpy_openblas_core", lambda: "skylakex")
    code, out = run_cli("info")
    assert code == 0 and "gemm: numpy\n" in out  # NumPy's kernels are AVX-512 already


def test_user_recipe_toml(tmp_path):
    r = np.random.default_rng(0)
    x = r.standard_normal((120, 3))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    lines = ["a,b,c,label"] + [f"{a},{b},{c},{t}" for (a, b, c), t in zip(x, y)]
    (tmp_path / "d.csv").write_text("\n".join(lines))
    (tmp_path / "r.toml").write_text(
        'name = "mine"\n[data]\npath = "d.csv"\ntarget = "label"\n'
        '[[layers]]\nclass_name = "Dense"\nconfig = { units = 8, activation = "relu" }\n'
        '[[layers]]\nclass_name = "Dense"\nconfig = { units = 1, activation = "sigmoid" }\n'
        '[compile]\noptimizer = "adam"\nloss = "binary_crossentropy"\n'
        'metrics = ["accuracy"]\n[fit]\nepochs = 3\nbatch_size = 16\n')
    code, out = run_cli("train", tmp_path / "r.toml", "--out", tmp_path / "run", "--quiet")
    assert code == 0, out
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["recipe"] == "mine"


def test_user_recipe_cannot_name_arbitrary_classes(tmp_path):
    (tmp_path / "r.json").write_text(json.dumps({
        "data": {"path": "d.csv", "target": "y"},
        "layers": [{"class_name": "os.system", "config": {}}],
        "compile": {"optimizer": "adam", "loss": "mse"}}))
    (tmp_path / "d.csv").write_text("a,y\n1,0\n2,1\n3,0\n4,1\n5,0\n")
    code, out = run_cli("train", tmp_path / "r.json", "--out", tmp_path / "run")
    assert code != 0
    assert "Unknown layer class" in _one_line_error(out)


# ------------------------------------------------------------------ resume
def _final_weights(run: Path):
    from glassnet.models import load_model

    return load_model(run / "model.glassnet").get_weights()


def _cli_cmd(*args):
    return [sys.executable, "-m", "glassnet", *map(str, args)]


def test_resume_after_kill_gives_identical_weights(tmp_path):
    env = {**os.environ, "GLASSNET_MALLOC_TUNING": "1"}
    args = ("train", "digits", "--epochs", "6", "--seed", "3", "--quiet")
    ref = tmp_path / "ref"
    subprocess.run(_cli_cmd(*args, "--out", ref), check=True, env=env, timeout=300)

    run = tmp_path / "killed"
    p = subprocess.Popen(_cli_cmd(*args, "--out", run), env=env)
    state = run / "checkpoint" / "state.json"
    deadline = time.time() + 240
    while time.time() < deadline:
        if state.exists() and json.loads(state.read_text())["epoch"] >= 2:
            break
        time.sleep(0.02)
    p.send_signal(signal.SIGKILL)
    p.wait()
    done = json.loads(state.read_text())["epoch"]
    assert 2 <= done
    assert not (run / "model.glassnet").exists() or done == 6
    res = subprocess.run(_cli_cmd(*args, "--out", run, "--resume"), env=env, timeout=300,
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    for a, b in zip(_final_weights(ref), _final_weights(run)):
        np.testing.assert_array_equal(a, b)
    h_ref = (ref / "history.csv").read_text().splitlines()
    h_run = (run / "history.csv").read_text().splitlines()
    assert len(h_ref) == len(h_run) == 7


def test_ctrl_c_leaves_a_checkpoint_and_says_how_to_resume(tmp_path):
    run = tmp_path / "int"
    # epochs enough that the run is still training when the signal comes (200 took 2 s);
    # SIGINT at its default in the child, as a terminal gives it: a child inherits an
    # ignored SIGINT, and a test worker may have one (Python then never raises
    # KeyboardInterrupt, so the run went on to its last epoch)
    p = subprocess.Popen(_cli_cmd("train", "digits", "--epochs", "20000", "--quiet", "--out",
                                  run),
                         stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    state = run / "checkpoint" / "state.json"
    try:
        deadline = time.time() + 240
        while time.time() < deadline and not state.exists():
            time.sleep(0.02)
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:  # never leave a training run behind a failed test
            p.kill()
            p.communicate()
    assert p.returncode != 0
    assert "--resume" in err and "Traceback" not in err
    assert json.loads(state.read_text())["epoch"] >= 1


# ------------------------------------------------------------------ the report in a browser
def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name)
        if p:
            return p
    return None


def test_report_opens_in_headless_chromium(trained_xor, tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("Chromium is not installed (CI installs Debian's chromium package)")
    report = trained_xor / "report.html"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0"]
    dom = subprocess.run([browser, *flags, "--virtual-time-budget=3000", "--dump-dom",
                          report.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    n_img = dom.stdout.count("<img")
    assert n_img >= 2
    # the page's own script counts decoded figures into the title
    assert f"[figures {n_img}/{n_img}]" in dom.stdout
    console_errors = [ln for ln in dom.stderr.splitlines()
                      if "CONSOLE" in ln and ("ERROR" in ln or "Uncaught" in ln)]
    assert not console_errors, console_errors
    shot = tmp_path / "shot.png"
    subprocess.run([browser, *flags, f"--screenshot={shot}", "--window-size=1100,1400",
                    report.as_uri()], capture_output=True, timeout=120, check=True)
    import matplotlib.image as mpimg

    img = mpimg.imread(shot)
    assert img.shape[0] > 500 and img[..., :3].std() > 0.05


def test_report_confusion_matrix_counts_the_test_set(tmp_path, monkeypatch):
    """The report's confusion matrix holds the test-set counts (it once showed zeros when
    the recipe gave class names: names were passed as scikit-learn's label values)."""
    import glassnet.plot as gplot
    from glassnet import report

    shown = {}
    real = gplot.confusion_matrix

    def spy(*args, **kwargs):
        fig = real(*args, **kwargs)
        shown["cells"] = [int(t.get_text()) for t in fig.axes[0].texts]
        return fig

    monkeypatch.setattr(gplot, "confusion_matrix", spy)
    rec = recipes.Recipe("t", "test", load_data=None, build=None, figures=("confusion_matrix",))

    class Fixed:  # predicts class (i mod 3) for sample i
        def predict(self, x, verbose=0):
            return np.eye(3)[np.arange(len(x)) % 3]

    data = {"x_test": np.zeros((9, 2)), "y_test": np.array([0, 1, 2] * 3),
            "class_names": ["zero", "one", "two"]}
    report.make_figures(tmp_path, rec, Fixed(), data, {})
    assert shown["cells"] == [3, 0, 0, 0, 3, 0, 0, 0, 3]
