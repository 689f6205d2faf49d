"""The course's experiments (examples/course_*.py) with fast settings: numbers and figures."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _check_pngs(out, expected):
    import matplotlib.image as mpimg

    for name in expected:
        img = mpimg.imread(out / name)
        assert img.shape[0] > 50 and img[..., :3].std() > 0.01, name


def test_course_perceptron(tmp_path, datasets_dir):
    res = _load("course_perceptron").main(
        ["--out", str(tmp_path), "--data-dir", str(datasets_dir), "--hard-epochs", "30"])
    assert res["setosa_versicolor_errors"] == [1, 3, 3, 2, 1, 0, 0, 0, 0, 0]
    for k, v in res.items():
        if k.startswith("versicolor_virginica"):
            assert v["min_errors"] > 0 and v["misclassification"] > 0
    assert res["adaline_cost_lr0.01"][-1] > 1e20
    assert np.all(np.diff(res["adaline_cost_lr0.0001"]) < 0)
    assert res["adaline_std_cost"][-1] < 5 and res["adaline_std_accuracy"] == 1.0
    assert res["xor_min_errors"] > 0
    _check_pngs(tmp_path, ["perceptron_errors.png", "perceptron_regions.png",
                           "perceptron_versicolor_virginica_errors.png", "adaline_costs.png",
                           "adaline_std_cost.png", "adaline_std_regions.png"])
