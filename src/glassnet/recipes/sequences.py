"""Recurrent recipes: a character-level language model and a noisy-sine forecaster.

``char-rnn``: tiny Shakespeare, Embedding → LSTM → softmax over characters, trained with
``compile``/``fit``; the report shows per-character loss, perplexity and a generated sample.
``sine``: windows of a noisy sine wave → LSTM → Dense(1), next-value regression; the report
shows the one-step predictions and a 100-step autoregressive rollout against the truth.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import Recipe

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..layers import Layer
    from ..models import Model, Sequential

PERIOD = 25.0


# ------------------------------------------------------------------ char-rnn
def _windows(ids: np.ndarray, seq_len: int,
             limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Non-overlapping (input, next-character target) windows of ``seq_len`` characters."""
    n = (len(ids) - 1) // seq_len
    if limit:
        n = min(n, limit)
    x = ids[: n * seq_len].reshape(n, seq_len)
    y = ids[1 : n * seq_len + 1].reshape(n, seq_len)
    return x, y


def _char_data(cfg: dict) -> dict:
    from ..datasets import text

    corpus = text.load_data("tinyshakespeare")
    if cfg.get("chars"):
        corpus = corpus[: cfg["chars"]]
    itos, stoi = text.char_vocab(corpus)
    ids = np.fromiter((stoi[c] for c in corpus), dtype=np.int64, count=len(corpus))
    split = int(0.9 * len(ids))
    seq = cfg.get("seq_len", 64)
    x_tr, y_tr = _windows(ids[:split], seq)
    x_te, y_te = _windows(ids[split:], seq, cfg.get("test_windows", 200))
    return {"x_train": x_tr, "y_train": y_tr, "x_test": x_te, "y_test": y_te,
            "itos": itos, "stoi": stoi, "seq_len": seq,
            "temperature": cfg.get("temperature", 0.8),
            "sample_len": cfg.get("sample_len", 400)}


def _char_build(data: dict, cfg: dict) -> Sequential:
    from ..layers import LSTM, Dense, Embedding
    from ..models import Sequential

    vocab = len(data["itos"])
    return Sequential([
        Embedding(vocab, cfg.get("embed", 32), input_shape=(data["seq_len"],)),
        LSTM(cfg.get("units", 256), return_sequences=True),
        Dense(vocab, activation="softmax"),
    ])


def stateful_twin(model: Sequential) -> Sequential:
    """A copy of a ``Sequential`` whose recurrent layers are stateful (same weights, states reset).

    Feeding it a sequence in pieces gives the same outputs as feeding ``model`` the whole
    sequence at once: the context neurons carry what came before from call to call.
    """
    from ..layers.base import get_layer_class
    from ..models import Sequential

    layers = []
    for ly in model.layers:
        cfg = ly.get_config()
        if "stateful" in cfg:
            cfg["stateful"] = True
        cfg.pop("input_shape", None)
        cfg.pop("batch_input_shape", None)
        cls: type[Layer] = get_layer_class(type(ly).__name__)
        layers.append(cls.from_config(cfg))
    twin = Sequential(layers)
    twin.predict(np.zeros((1, 1), np.int64), verbose=0)  # builds the weights
    twin.set_weights(model.get_weights())
    for ly in twin.layers:
        if hasattr(ly, "reset_states"):
            ly.reset_states()
    return twin


def generate_text(model: Sequential, start: str, n: int, stoi: dict, itos: list,
                  temperature: float = 0.8, seed: int = 0) -> str:
    """Sample ``n`` characters after ``start`` from a trained Embedding→RNN→softmax model.

    A stateful twin of ``model`` (same weights, batch 1) reads ``start`` and then one
    character per call; its recurrent layers carry the context from call to call, as Keras's
    classic char-rnn sampling does.

    Args:
        model: the trained ``Sequential`` (Embedding, recurrent layers, per-step softmax).
        start: the prompt (its characters must be in ``stoi``).
        n: number of characters to generate.
        temperature: divides the log-probabilities; < 1 is more conservative.
        seed: seed of the sampling generator (independent of training's).

    Example:
        >>> generate_text(model, "ROMEO:", 200, stoi, itos)  # doctest: +SKIP
    """
    if temperature <= 0:
        raise ValueError(f"generate_text: temperature must be > 0. Received: {temperature!r}")
    unknown = sorted({c for c in start if c not in stoi})
    if not start or unknown:
        raise ValueError(f"generate_text: start must be a non-empty string of known characters. "
                         f"Received: start={start!r} (unknown: {unknown})")
    twin = stateful_twin(model)
    rs = np.random.default_rng(seed)
    p = twin.predict(np.array([[stoi[c] for c in start]]), verbose=0)[0, -1]
    out = list(start)
    for _ in range(n):
        z = np.log(np.maximum(p.astype(np.float64), 1e-30)) / temperature
        q = np.exp(z - z.max())
        k = int(rs.choice(len(q), p=q / q.sum()))
        out.append(itos[k])
        p = twin.predict(np.array([[k]]), verbose=0)[0, -1]
    return "".join(out)


def _text_figure(title: str, text: str) -> Figure:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 0.22 * (text.count("\n") + 3)), dpi=100)
    ax = fig.add_subplot()
    ax.axis("off")
    # parse_math=False: generated text may hold '$' pairs that are not math
    ax.text(0.0, 1.0, text, family="monospace", fontsize=8, va="top", ha="left",
            transform=ax.transAxes, parse_math=False)
    ax.set_title(title, loc="left", fontsize=10)
    return fig


def _char_evaluate(model: Sequential, data: dict) -> dict:
    out: dict[str, float] = {}
    for split in ("train", "test"):
        r = model.evaluate(data[f"x_{split}"], data[f"y_{split}"], batch_size=64, verbose=0,
                           return_dict=True)
        out[f"{split}_loss"] = float(r["loss"])  # nats per character
        out[f"{split}_perplexity"] = float(np.exp(r["loss"]))
        if "accuracy" in r:
            out[f"{split}_accuracy"] = float(r["accuracy"])
    itos, stoi = data["itos"], data["stoi"]
    start = "\n" if "\n" in stoi else itos[0]
    sample = generate_text(model, start, data["sample_len"], stoi, itos,
                           data["temperature"])
    data["sample"] = sample
    data.setdefault("extra_figures", {})["Generated text"] = _text_figure(
        f"Sample after training (temperature {data['temperature']})", sample.strip("\n"))
    return out


# ------------------------------------------------------------------ sine
def _sine_data(cfg: dict) -> dict:
    n, w, h = cfg.get("n", 1000), cfg.get("window", 30), cfg.get("horizon", 100)
    noise = cfg.get("noise", 0.1)
    rs = np.random.default_rng(cfg.get("seed", 0))
    t = np.arange(n + h)
    clean = np.sin(2 * np.pi * t / PERIOD)
    noisy = (clean + noise * rs.standard_normal(len(t))).astype(np.float32)
    split = int(0.8 * n)

    def windows(lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        idx = np.arange(lo, hi - w)[:, None] + np.arange(w + 1)
        return noisy[idx[:, :-1]][..., None], noisy[idx[:, -1]][:, None]

    x_tr, y_tr = windows(0, split)
    x_te, y_te = windows(split - w, n)
    return {"x_train": x_tr, "y_train": y_tr, "x_test": x_te, "y_test": y_te,
            "noisy": noisy, "clean": clean, "n": n, "window": w, "horizon": h}


def _sine_build(data: dict, cfg: dict) -> Sequential:
    from ..layers import LSTM, Dense
    from ..models import Sequential

    return Sequential([LSTM(cfg.get("units", 32), input_shape=(data["window"], 1)), Dense(1)])


def rollout(model: Model, history: np.ndarray, horizon: int, window: int) -> np.ndarray:
    """Autoregressive forecast: each prediction becomes the newest input of the next window."""
    buf = np.empty(window + horizon, np.float32)
    buf[:window] = history[-window:]
    for i in range(horizon):
        buf[window + i] = model.predict(buf[i : i + window].reshape(1, window, 1),
                                        verbose=0)[0, 0]
    return buf[window:].astype(np.float64)


def _sine_evaluate(model: Model, data: dict) -> dict:
    from matplotlib.figure import Figure

    out: dict[str, float] = {}
    for split in ("train", "test"):
        r = model.evaluate(data[f"x_{split}"], data[f"y_{split}"], verbose=0, return_dict=True)
        out.update({f"{split}_{k}": float(v) for k, v in r.items()})
    n, w, h = data["n"], data["window"], data["horizon"]
    noisy, clean = data["noisy"], data["clean"]
    pred = rollout(model, noisy[:n], h, w)
    truth = clean[n : n + h]
    out["rollout_rmse"] = float(np.sqrt(np.mean((pred - truth) ** 2)))
    out["naive_last_value_rmse"] = float(np.sqrt(np.mean((noisy[n - 1] - truth) ** 2)))
    one_step = model.predict(data["x_test"], verbose=0)[:, 0]
    t_te = np.arange(n - len(one_step), n)
    fig = Figure(figsize=(9, 3.5), dpi=100)
    ax = fig.add_subplot()
    ax.plot(t_te, noisy[t_te], color="0.65", lw=1, label="noisy series")
    ax.plot(t_te, one_step, "C0", lw=1.2, label="one-step prediction (test)")
    ax.plot(np.arange(n, n + h), truth, "k--", lw=1, label="truth (clean)")
    ax.plot(np.arange(n, n + h), pred, "C1", lw=2,
            label=f"rollout, {h} steps (RMSE {out['rollout_rmse']:.3f})")
    ax.axvline(n, color="0.8")
    ax.set_xlabel("time step")
    ax.legend(loc="lower left", fontsize=7)
    data.setdefault("extra_figures", {})["Prediction vs truth"] = fig
    return out


RECIPES = {
    "char-rnn": Recipe(
        name="char-rnn",
        description="Character-level LSTM language model on tiny Shakespeare, with sampled text",
        load_data=_char_data, build=_char_build,
        compile={"optimizer": {"class_name": "Adam",
                               "config": {"learning_rate": 3e-3, "clipnorm": 5.0}},
                 "loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]},
        fit={"epochs": 5, "batch_size": 32},
        fast={"epochs": 1, "chars": 20000, "seq_len": 32, "units": 32, "embed": 16,
              "test_windows": 20, "sample_len": 80},
        figures=("history",), evaluate=_char_evaluate,
    ),
    "sine": Recipe(
        name="sine",
        description="LSTM forecast of a noisy sine wave, 100-step autoregressive rollout",
        load_data=_sine_data, build=_sine_build,
        compile={"optimizer": {"class_name": "Adam", "config": {"learning_rate": 5e-3}},
                 "loss": "mse", "metrics": ["mae"]},
        fit={"epochs": 30, "batch_size": 32},
        fast={"epochs": 1, "n": 200, "horizon": 20, "units": 8},
        figures=("history",), evaluate=_sine_evaluate,
    ),
}
