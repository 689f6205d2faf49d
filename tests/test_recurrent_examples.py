"""Fast runs of the recurrent examples with tiny settings; their numbers and figures."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _example(name):
    spec = importlib.util.spec_from_file_location(f"ex_{name}", ROOT / "examples" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_stateful_elman_same_input_different_outputs(tmp_path):
    res = _example("stateful_elman").main(["--epochs", "150", "--out", str(tmp_path)])
    assert res["loss_last"] < 0.1 * res["loss_first"]
    # after input 0 the network answers 1, 2 and 3, each where the pattern says so
    assert res["predictions_after_input_0"] == [1, 2, 3]
    assert res["accuracy_after_warmup"] == 1.0
    assert (tmp_path / "stateful_elman.json").is_file()


def test_sine_forecast_beats_naive(tmp_path):
    res = _example("sine_forecast").main(
        ["--epochs", "6", "--n", "300", "--horizon", "40", "--units", "16", "--out",
         str(tmp_path)])
    assert res["train_mse_last"] < res["train_mse_first"]
    assert res["rollout_rmse"] < 0.5 * res["naive_last_value_rmse"]
    assert (tmp_path / "sine_forecast.png").stat().st_size > 5000


def test_vanishing_gradients_open_forget_gate_keeps_the_gradient(tmp_path):
    res = _example("vanishing_gradients").main(
        ["--steps", "20", "--units", "8", "--batch", "32", "--train-steps", "30", "--evals",
         "3", "--seeds", "1", "--out", str(tmp_path)])
    rnn, lstm, open_ = res["SimpleRNN"], res["LSTM"], res["LSTM, open forget gate"]
    # at init the gradient reaching the first step has shrunk geometrically for the Elman
    # net and the default LSTM (forget gate σ(1) ≈ 0.73) ...
    for r in (rnn, lstm):
        assert r["first_over_last_init"] < 0.05
        assert 0.0 < r["decay_per_step_init"] < 0.9
    # ... while an LSTM whose forget gate starts near 1 carries it back across the sequence
    assert open_["first_over_last_init"] > 10 * lstm["first_over_last_init"]
    assert open_["decay_per_step_init"] > 0.93
    for arm in ("SimpleRNN", "LSTM", "LSTM, open forget gate"):
        c = res["curves"][arm]
        assert np.all(np.isfinite(c["grad_init"])) and len(c["grad_init"]) == 20
        assert np.all(np.isfinite(c["grad_trained"])) and len(c["accuracy"][0]) == 3
    assert (tmp_path / "vanishing_gradients.png").stat().st_size > 10000


def test_char_rnn_learns_and_samples(tmp_path, datasets_dir):
    res = _example("char_rnn").main(
        ["--epochs", "1", "--units", "32", "--seq-len", "32", "--batch", "16",
         "--chars", "20000", "--sample-len", "60", "--data-dir", str(datasets_dir),
         "--out", str(tmp_path)])
    # uniform guessing costs log(vocab) nats per character; 35 steps must beat it clearly
    assert res["val_loss_per_char"] < np.log(res["vocab"]) - 0.5
    assert res["val_perplexity"] == pytest.approx(np.exp(res["val_loss_per_char"]))
    assert len(res["sample"]) == 61


def test_mnist_rnn_learns(tmp_path, datasets_dir):
    res = _example("mnist_rnn").main(
        ["--epochs", "2", "--train-size", "1500", "--test-size", "300", "--units", "32",
         "--batch", "32", "--lr", "1e-2", "--data-dir", str(datasets_dir), "--out",
         str(tmp_path)])
    assert res["test_accuracy"] > 0.6  # chance is 0.1
