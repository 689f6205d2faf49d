"""Character-level language model on tiny Shakespeare: Embedding → LSTM → softmax over chars.

The course: "for any language model that operates at character level, we use the recurrent
net". Trains on random windows, reports the held-out loss per character and perplexity, then
samples text with a temperature, feeding one character at a time through the LSTM's state.

Run: ``python examples/char_rnn.py [--steps 1500] [--temperature 0.8]``
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

import glassnet as gn
from glassnet import functional as F
from glassnet import initializers, optimizers
from glassnet.layers import LSTM, Embedding


def load_text(data_dir: str | None = None) -> str:
    """tiny Shakespeare as one string (the data helper's loader when present)."""
    try:
        from glassnet.datasets import text

        return text.load_data("tinyshakespeare")
    except (ImportError, AttributeError):
        pass
    root = Path(data_dir or os.environ.get("GLASSNET_DATA_DIR", "~/.cache/glassnet"))
    path = root.expanduser() / "text" / "tinyshakespeare.txt"
    if not path.is_file():
        raise FileNotFoundError(f"tiny Shakespeare not found. Put it at {path}")
    return path.read_text(encoding="utf-8")


class CharLM:
    """Embedding → LSTM (return_sequences, return_state) → linear head over the vocabulary."""

    def __init__(self, vocab: int, units: int, embed: int = 32):
        self.emb = Embedding(vocab, embed)
        self.lstm = LSTM(units, return_sequences=True, return_state=True)
        self.w = gn.Tensor(initializers.get("glorot_uniform")((units, vocab)),
                           requires_grad=True)
        self.b = gn.Tensor(np.zeros(vocab, np.float32), requires_grad=True)
        self.vocab = vocab
        self.emb.build((None, None))
        self.lstm.build((None, None, embed))

    @property
    def params(self):
        return self.emb.trainable_weights + self.lstm.trainable_weights + [self.w, self.b]

    def logits(self, ids, state=None, training=False):
        seq, h, c = self.lstm(self.emb(ids), initial_state=state, training=training)
        b, t, u = seq.shape
        return F.linear(seq.reshape(b * t, u), self.w, self.b), [h, c]

    def loss(self, ids, targets, training=False):
        logits, _ = self.logits(ids, training=training)
        return F.softmax_cross_entropy(logits, targets.reshape(-1))

    def sample(self, start: str, n: int, stoi: dict, itos: list, temperature: float = 0.8,
               seed: int = 0) -> str:
        """Generate ``n`` characters after ``start``, one per step, carrying (h, c)."""
        rs = np.random.default_rng(seed)
        out = list(start)
        with gn.no_grad():
            logits, state = self.logits(np.array([[stoi[ch] for ch in start]]))
            for _ in range(n):
                z = logits.data[-1].astype(np.float64) / max(temperature, 1e-6)
                p = np.exp(z - z.max())
                p /= p.sum()
                k = int(rs.choice(self.vocab, p=p))
                out.append(itos[k])
                logits, state = self.logits(np.array([[k]]), state=state)
        return "".join(out)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--seq-len", type=int, default=64)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--units", type=int, default=256)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--chars", type=int, default=0, help="use only the first N characters")
    p.add_argument("--sample-len", type=int, default=400)
    p.add_argument("--temperature", type=float, default=0.8)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--out", default="out")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    gn.set_seed(a.seed)
    text = load_text(a.data_dir)
    if a.chars:
        text = text[: a.chars]
    itos = sorted(set(text))
    stoi = {ch: i for i, ch in enumerate(itos)}
    data = np.array([stoi[ch] for ch in text], dtype=np.int64)
    split = int(0.9 * len(data))
    train, val = data[:split], data[split:]
    model = CharLM(len(itos), a.units)
    # clipnorm: backprop through time can explode (the course's warning)
    opt = optimizers.get({"class_name": "Adam",
                          "config": {"learning_rate": a.lr, "clipnorm": 5.0}})
    rs = np.random.default_rng(a.seed)
    t0 = time.perf_counter()
    losses = []
    for step in range(a.steps):
        starts = rs.integers(0, len(train) - a.seq_len - 1, size=a.batch)
        idx = starts[:, None] + np.arange(a.seq_len + 1)
        chunk = train[idx]
        opt.zero_grad(model.params)
        loss = model.loss(chunk[:, :-1], chunk[:, 1:], training=True)
        loss.backward()
        opt.step(model.params)
        losses.append(float(loss.data))
        if (step + 1) % max(1, a.steps // 10) == 0:
            print(f"step {step + 1}/{a.steps}  train loss/char {np.mean(losses[-50:]):.3f}")
    train_time = time.perf_counter() - t0
    # held-out loss per character over consecutive windows
    n_win = min(64, (len(val) - 1) // a.seq_len)
    win = val[: n_win * a.seq_len + 1]
    with gn.no_grad():
        xs = win[:-1].reshape(n_win, a.seq_len)
        ys = win[1:].reshape(n_win, a.seq_len)
        val_loss = float(model.loss(xs, ys).data)
    sample = model.sample(text[:1] if text[0] in stoi else itos[0], a.sample_len, stoi, itos,
                          a.temperature, seed=a.seed)
    res = {"train_loss_first": float(np.mean(losses[:10])),
           "train_loss_last": float(np.mean(losses[-50:])), "val_loss_per_char": val_loss,
           "val_perplexity": float(np.exp(val_loss)), "vocab": len(itos),
           "train_seconds": round(train_time, 1), "sample": sample}
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "char_rnn.json").write_text(json.dumps(res, indent=2))
    print(json.dumps({k: v for k, v in res.items() if k != "sample"}))
    print(f"--- sample (temperature {a.temperature:.2f}) ---\n{sample}")
    return res


if __name__ == "__main__":
    main()
