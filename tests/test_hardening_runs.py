"""Hostile recipes and careless runs (issue #20 items 6-8): run names stay under runs/,
--resume never overwrites another run, checkpoints' state is checked, every failure is one
line."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from glassnet.cli import app
from glassnet.runner import (
    CheckpointError,
    RunError,
    _state_digest,
    load_checkpoint,
    train_recipe,
)


def run_cli(*args):
    res = CliRunner().invoke(app, list(map(str, args)))
    return res.exit_code, res.output


def _one_line_error(out: str) -> str:
    lines = [ln for ln in out.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), out
    assert "Traceback" not in out
    return lines[0]


def _csv(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((60, 3))
    y = (x[:, 0] > 0).astype(int)
    p = tmp_path / "d.csv"
    rows = ["a,b,c,label"] + [f"{a:.4f},{b:.4f},{c:.4f},{t}" for (a, b, c), t in zip(x, y)]
    p.write_text("\n".join(rows) + "\n")
    return p


def _recipe(tmp_path: Path, **over) -> Path:
    cfg = {"name": "mine", "data": {"path": "d.csv", "target": "label"},
           "layers": [{"class_name": "Dense", "config": {"units": 1, "activation": "sigmoid"}}],
           "compile": {"optimizer": "adam", "loss": "binary_crossentropy"},
           "fit": {"epochs": 1, "batch_size": 16}}
    cfg.update(over)
    _csv(tmp_path)
    p = tmp_path / "r.json"
    p.write_text(json.dumps(cfg))
    return p


# ------------------------------------------------------------------ 6. run names
@pytest.mark.parametrize("name", ["../../ESCAPED", "/tmp/ESCAPED", "a/b", "..", ".hidden", ""])
def test_a_recipe_name_that_is_not_a_slug_is_refused(tmp_path, name, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out = run_cli("train", _recipe(tmp_path, name=name), "--quiet")
    assert code == 2
    assert "recipe name" in _one_line_error(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv", "r.json"]
    assert not Path("/tmp/ESCAPED").exists()


def test_a_slug_name_runs_under_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out = run_cli("train", _recipe(tmp_path, name="my-run_1.0"), "--quiet")
    assert code == 0, out
    (run,) = (tmp_path / "runs").iterdir()
    assert run.name.startswith("my-run_1.0-") and (run / "model.glassnet").exists()


# ------------------------------------------------------------------ 7. --resume refusals
def test_resume_refuses_another_recipes_run_and_leaves_it_alone(tmp_path):
    r = tmp_path / "R"
    assert run_cli("train", "digits", "--fast", "--quiet", "--out", r)[0] == 0
    before = {p.name: p.read_bytes() for p in r.iterdir() if p.is_file()}
    code, out = run_cli("train", "perceptron-iris", "--resume", "--out", r, "--quiet")
    assert code == 2
    assert "'digits'" in _one_line_error(out)
    assert {p.name: p.read_bytes() for p in r.iterdir() if p.is_file()} == before


def test_resume_into_a_missing_directory_is_refused(tmp_path):
    code, out = run_cli("train", "digits", "--resume", "--out", tmp_path / "nope", "--quiet")
    assert code == 2
    assert "does not exist" in _one_line_error(out)
    assert not (tmp_path / "nope").exists()


def test_resume_without_a_checkpoint_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    code, out = run_cli("train", "digits", "--resume", "--out", tmp_path / "empty", "--quiet")
    assert code == 2
    assert "no checkpoint" in _one_line_error(out)


def test_resume_of_a_recipe_without_checkpoints_is_refused(tmp_path):
    r = tmp_path / "P"
    assert run_cli("train", "perceptron-iris", "--quiet", "--out", r)[0] == 0
    code, out = run_cli("train", "perceptron-iris", "--resume", "--out", r, "--quiet")
    assert code == 2
    assert "trains in one go" in _one_line_error(out)


def test_resume_of_its_own_run_still_works(tmp_path):
    r = tmp_path / "D"
    first = train_recipe("digits", out_dir=r, epochs=2, fast=True, verbose=0, report=False)
    again = train_recipe("digits", out_dir=r, epochs=3, fast=True, verbose=0, report=False,
                         resume=True)
    assert np.isfinite(again["test_accuracy"]) and first["run_dir"] == again["run_dir"]
    assert json.loads((r / "checkpoint" / "state.json").read_text())["epoch"] == 3


# ------------------------------------------------------------------ 8. checkpoint state
@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    r = tmp_path_factory.mktemp("ck") / "run"
    train_recipe("digits", out_dir=r, epochs=2, fast=True, verbose=0, report=False)
    return r


@pytest.mark.parametrize("edit, match", [
    (lambda s: s.update(history=[1, 2]), "history"),
    (lambda s: s.update(history={"loss": "abc"}), "history"),
    (lambda s: s.update(epoch=1e9), "epoch"),
    (lambda s: s.update(epoch=-5), "epoch"),
    (lambda s: s.update(epoch=1_000_000_000), "epoch"),
    (lambda s: s.update(model_file="../../etc/passwd"), "model_file"),
    (lambda s: s.update(rng_state={"bit_generator": "PCG64"}), "rng_state"),
    (lambda s: s.update(recipe=5), "recipe"),
])
def test_bad_checkpoint_state_is_one_clear_error(finished_run, tmp_path, edit, match):
    import shutil

    r = tmp_path / "run"
    shutil.copytree(finished_run, r)
    st = r / "checkpoint" / "state.json"
    state = json.loads(st.read_text())
    edit(state)
    state["digest"] = _state_digest(state)  # a consistent file whose fields are wrong
    st.write_text(json.dumps(state))
    with pytest.raises(CheckpointError, match=match):
        load_checkpoint(r)
    code, out = run_cli("train", "digits", "--fast", "--resume", "--out", r, "--quiet")
    assert code == 2 and match in _one_line_error(out)


def test_an_edited_checkpoint_state_without_its_digest_is_refused(finished_run, tmp_path):
    import shutil

    r = tmp_path / "run"
    shutil.copytree(finished_run, r)
    st = r / "checkpoint" / "state.json"
    state = json.loads(st.read_text())
    state["history"]["loss"][0] += 1.0  # still valid, only the digest tells
    st.write_text(json.dumps(state))
    with pytest.raises(CheckpointError, match="digest"):
        load_checkpoint(r)
    del state["digest"]  # dropping it does not help: model_sha256 says the format is new
    st.write_text(json.dumps(state))
    with pytest.raises(CheckpointError, match="digest"):
        load_checkpoint(r)


def test_checkpoint_past_the_runs_epochs_is_refused(finished_run, tmp_path):
    import shutil

    r = tmp_path / "run"
    shutil.copytree(finished_run, r)
    with pytest.raises(RunError, match="past the run's 1 epochs"):
        train_recipe("digits", out_dir=r, epochs=1, fast=True, verbose=0, report=False,
                     resume=True)


# ------------------------------------------------------------------ 8. user recipe types
@pytest.mark.parametrize("over, match", [
    ({"data": "d.csv"}, "'data' must be a table"),
    ({"layers": {"class_name": "Dense"}}, "'layers' must be a list"),
    ({"layers": ["Dense"]}, r"layers\[0\]"),
    ({"compile": "adam"}, "'compile' must be a table"),
    ({"fit": {"epochs": "ten"}}, "'epochs' must be an integer"),
    ({"fit": {"epochs": True}}, "'epochs' must be an integer"),
    ({"fit": []}, "'fit' must be a table"),
    ({"name": 5}, "'name' must be a string"),
    ({"figures": "history"}, "'figures' must be a list"),
    ({"data": {"path": "d.csv", "target": "label", "test_size": "half"}}, "test_size"),
    ({"data": {"path": "d.csv", "target": "label", "test_size": 3}}, "test_size"),
    ({"data": {"path": 5, "target": "label"}}, "'path' must be a string"),
])
def test_user_recipe_with_wrong_value_types_is_one_line(tmp_path, over, match):
    code, out = run_cli("train", _recipe(tmp_path, **over), "--quiet", "--out", tmp_path / "o")
    assert code == 2
    import re

    assert re.search(match, _one_line_error(out)), out


def test_samples_figure_on_tabular_data_does_not_fail_the_run(tmp_path):
    code, out = run_cli("train", _recipe(tmp_path, figures=["history", "samples"]), "--quiet",
                        "--out", tmp_path / "o")
    assert code == 0, out
    assert (tmp_path / "o" / "history.png").exists()
    assert not (tmp_path / "o" / "samples.png").exists()


# ------------------------------------------------------------------ 8. predict --out
def test_predict_out_pointing_at_a_directory_is_one_line_and_leaves_nothing(tmp_path,
                                                                            finished_run):
    x = tmp_path / "x.npy"
    np.save(x, np.zeros((2, 64), np.float32))
    d = tmp_path / "outdir"
    d.mkdir()
    code, out = run_cli("predict", finished_run / "model.glassnet", x, "--out", d)
    assert code == 2 and "directory" in _one_line_error(out)
    assert list(d.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == [
        "outdir", "x.npy"]


# ------------------------------------------------------------------ 8. dataset hash cache
def test_dataset_hash_cache_notices_an_in_place_edit(tmp_path, monkeypatch):
    import hashlib

    from glassnet.datasets import _fetch

    monkeypatch.setenv("GLASSNET_DATA_DIR", str(tmp_path))
    p = tmp_path / "x" / "f.bin"
    p.parent.mkdir()
    p.write_bytes(b"a" * 100)
    old = time.time() - 3600
    os.utime(p, (old, old))  # a settled file: its hash is remembered
    sha = hashlib.sha256(b"a" * 100).hexdigest()
    assert _fetch.fetch("x/f.bin", None, sha) == p
    # the same size, the mtime put back: only the ctime shows the edit
    with open(p, "r+b") as f:
        f.write(b"b")
    os.utime(p, (old, old))
    with pytest.raises(_fetch.ChecksumError):
        _fetch.fetch("x/f.bin", None, sha)
    # and a fresh edit within the timestamp granularity is never served from the cache
    p.write_bytes(b"a" * 100)
    assert _fetch.fetch("x/f.bin", None, sha) == p
    p.write_bytes(b"c" * 100)
    with pytest.raises(_fetch.ChecksumError):
        _fetch.fetch("x/f.bin", None, sha)
