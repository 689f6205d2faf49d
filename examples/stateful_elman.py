"""A stateful Elman network fed one value per call: its context neurons make the output
depend on what came before.

The repeating sequence 0, 1, 0, 2, 0, 3, 0, 1, ... has the same input 0 followed by 1, 2 or 3:
no feed-forward net can predict the next value from the current one alone. A SimpleRNN
(Elman: the context is the previous hidden state) is trained by backprop through time on
windows, then its weights go into a ``stateful=True`` copy that is called with ONE value at a
time (batch 1, 1 step): the context kept between calls lets it answer 1, 2, 3 after the same
input 0 — "a given input may not always produce the same output". ``reset_states()`` clears
the context.

Run: ``python examples/stateful_elman.py [--epochs 300]``
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

import glassnet as gn
from glassnet import functional as F
from glassnet import initializers, optimizers
from glassnet.layers import SimpleRNN

PATTERN = [0, 1, 0, 2, 0, 3]
N_CLASSES = 4


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=300)
    p.add_argument("--units", type=int, default=16)
    p.add_argument("--window", type=int, default=12)
    p.add_argument("--out", default="out")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    gn.set_seed(a.seed)
    seq = np.array(PATTERN * 20)
    # every window start (all phases of the pattern); targets are the next values
    starts = np.arange(len(seq) - a.window - 1)
    idx = starts[:, None] + np.arange(a.window + 1)
    xs = (seq[idx[:, :-1]] / 3.0).astype(np.float32)[..., None]
    ys = seq[idx[:, 1:]]
    rnn = SimpleRNN(a.units, return_sequences=True)
    rnn.build((None, a.window, 1))
    w = gn.Tensor(initializers.get("glorot_uniform")((a.units, N_CLASSES)), requires_grad=True)
    b = gn.Tensor(np.zeros(N_CLASSES, np.float32), requires_grad=True)
    params = rnn.trainable_weights + [w, b]
    opt = optimizers.get({"class_name": "Adam", "config": {"learning_rate": 1e-2}})
    warm = 3  # the first steps of a window have too little context to be predictable
    losses = []
    for _ in range(a.epochs):
        opt.zero_grad(params)
        h = rnn(xs)[:, warm:]
        n, t, u = h.shape
        loss = F.softmax_cross_entropy(F.linear(h.reshape(n * t, u), w, b),
                                       ys[:, warm:].reshape(-1))
        loss.backward()
        opt.step(params)
        losses.append(float(loss.data))
    # the same weights, now stateful, one value per call
    stateful = SimpleRNN(a.units, stateful=True)
    stateful.build((1, 1, 1))
    stateful.set_weights(rnn.get_weights())
    stream = PATTERN * 3
    preds = []
    with gn.no_grad():
        for v in stream:
            h = stateful(np.array([[[v / 3.0]]], np.float32))
            preds.append(int(F.linear(h, w, b).data.argmax()))
    truth = stream[1:] + [stream[0]]
    after_zero = [(preds[i], truth[i]) for i, v in enumerate(stream) if v == 0]
    hits = [pr == tr for pr, tr in zip(preds[warm:], truth[warm:])]
    stateful.reset_states()
    with gn.no_grad():
        h = stateful(np.array([[[0.0]]], np.float32))
        fresh = int(F.linear(h, w, b).data.argmax())
    res = {"loss_first": losses[0], "loss_last": losses[-1],
           "stream": stream, "predictions": preds, "targets": truth,
           "accuracy_after_warmup": float(np.mean(hits)),
           "predictions_after_input_0": sorted({pr for pr, _ in after_zero[1:]}),
           "prediction_for_0_after_reset": fresh}
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "stateful_elman.json").write_text(json.dumps(res, indent=2))
    print("input :", " ".join(map(str, stream)))
    print("next  :", " ".join(map(str, preds)))
    print(json.dumps({k: v for k, v in res.items()
                      if k not in ("stream", "predictions", "targets")}))
    return res


if __name__ == "__main__":
    main()
