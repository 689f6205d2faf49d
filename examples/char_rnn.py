"""Character-level language model on tiny Shakespeare: Embedding → LSTM → softmax over chars.

The course: "for any language model that operates at character level, we use the recurrent
net". Keras-style: a ``Sequential`` trained with ``compile``/``fit`` on non-overlapping
windows (the target is the input shifted by one character); reports the held-out loss per
character and perplexity, then samples text with a temperature through a stateful twin of
the model that reads one character per call (``glassnet.recipes.sequences.generate_text``).
The same experiment is the CLI recipe ``glassnet train char-rnn``.

Run: ``python examples/char_rnn.py [--epochs 3] [--temperature 0.8]``
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import glassnet as gn
from glassnet.datasets import text
from glassnet.layers import LSTM, Dense, Embedding
from glassnet.models import Sequential
from glassnet.recipes.sequences import generate_text


def windows(ids: np.ndarray, seq_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Non-overlapping inputs (N, seq_len) and their next-character targets."""
    n = (len(ids) - 1) // seq_len
    return (ids[: n * seq_len].reshape(n, seq_len), ids[1 : n * seq_len + 1].reshape(n, seq_len))


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--seq-len", type=int, default=64)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--units", type=int, default=256)
    p.add_argument("--embed", type=int, default=32)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--chars", type=int, default=0, help="use only the first N characters")
    p.add_argument("--sample-len", type=int, default=400)
    p.add_argument("--temperature", type=float, default=0.8)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--out", default="out")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    if a.data_dir:
        import os

        os.environ["GLASSNET_DATA_DIR"] = a.data_dir
    gn.set_seed(a.seed)
    corpus = text.load_data("tinyshakespeare")
    if a.chars:
        corpus = corpus[: a.chars]
    itos, stoi = text.char_vocab(corpus)
    ids = np.array([stoi[c] for c in corpus], dtype=np.int64)
    split = int(0.9 * len(ids))
    x_tr, y_tr = windows(ids[:split], a.seq_len)
    x_va, y_va = windows(ids[split:], a.seq_len)
    x_va, y_va = x_va[:64], y_va[:64]

    model = Sequential([
        Embedding(len(itos), a.embed, input_shape=(a.seq_len,)),
        LSTM(a.units, return_sequences=True),
        Dense(len(itos), activation="softmax"),
    ])
    # clipnorm: backprop through time can explode (the course's warning)
    model.compile(optimizer=gn.optimizers.Adam(learning_rate=a.lr, clipnorm=5.0),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    t0 = time.perf_counter()
    hist = model.fit(x_tr, y_tr, batch_size=a.batch, epochs=a.epochs, verbose=2)
    train_time = time.perf_counter() - t0
    val_loss = float(model.evaluate(x_va, y_va, verbose=0, return_dict=True)["loss"])
    start = "\n" if "\n" in stoi else itos[0]
    sample = generate_text(model, start, a.sample_len, stoi, itos, a.temperature, seed=a.seed)
    losses = hist.history["loss"]
    res = {"train_loss_first_epoch": losses[0], "train_loss_last_epoch": losses[-1],
           "val_loss_per_char": val_loss, "val_perplexity": float(np.exp(val_loss)),
           "vocab": len(itos), "train_steps": a.epochs * -(-len(x_tr) // a.batch),
           "train_seconds": round(train_time, 1), "sample": sample}
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "char_rnn.json").write_text(json.dumps(res, indent=2))
    print(json.dumps({k: v for k, v in res.items() if k != "sample"}))
    print(f"--- sample (temperature {a.temperature:.2f}) ---\n{sample}")
    return res


if __name__ == "__main__":
    main()
