"""Time series: forecast a noisy sine wave many steps ahead with an LSTM (autoregressive).

The course: "for time series analysis … use a recurrent net". The network learns to predict
the next value from a window of past values; the forecast feeds each prediction back in as
the newest input (an autoregressive rollout) for ``--horizon`` steps, and is compared with
the clean truth and with a naive "repeat the last value" forecast.

Run: ``python examples/sine_forecast.py [--epochs 30] [--horizon 100]``
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

import glassnet as gn
from glassnet import functional as F
from glassnet import initializers, optimizers
from glassnet.layers import LSTM

PERIOD = 25.0


def series(n: int, noise: float, rs) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(n)
    clean = np.sin(2 * np.pi * t / PERIOD)
    return clean + noise * rs.standard_normal(n), clean


class Forecaster:
    def __init__(self, units: int):
        self.lstm = LSTM(units)
        self.lstm.build((None, None, 1))
        self.w = gn.Tensor(initializers.get("glorot_uniform")((units, 1)), requires_grad=True)
        self.b = gn.Tensor(np.zeros(1, np.float32), requires_grad=True)
        self.params = self.lstm.trainable_weights + [self.w, self.b]

    def __call__(self, x):
        return F.linear(self.lstm(x), self.w, self.b)

    def rollout(self, history: np.ndarray, horizon: int, window: int) -> np.ndarray:
        buf = list(history[-window:])
        out = []
        with gn.no_grad():
            for _ in range(horizon):
                x = np.asarray(buf[-window:], np.float32).reshape(1, window, 1)
                y = float(self(x).data[0, 0])
                out.append(y)
                buf.append(y)
        return np.array(out)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--n", type=int, default=1000, help="length of the training series")
    p.add_argument("--window", type=int, default=30)
    p.add_argument("--horizon", type=int, default=100)
    p.add_argument("--units", type=int, default=32)
    p.add_argument("--noise", type=float, default=0.1)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--out", default="out")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    gn.set_seed(a.seed)
    rs = np.random.default_rng(a.seed)
    noisy, clean = series(a.n + a.horizon, a.noise, rs)
    train = noisy[: a.n].astype(np.float32)
    idx = np.arange(a.n - a.window)[:, None] + np.arange(a.window + 1)
    xs, ys = train[idx[:, :-1]][..., None], train[idx[:, -1]][:, None]
    model = Forecaster(a.units)
    opt = optimizers.get({"class_name": "Adam", "config": {"learning_rate": 5e-3}})
    losses = []
    for _ in range(a.epochs):
        order = rs.permutation(len(xs))
        tot = 0.0
        for i in range(0, len(order), a.batch):
            j = order[i : i + a.batch]
            opt.zero_grad(model.params)
            loss = ((model(xs[j]) - ys[j]) ** 2).mean()
            loss.backward()
            opt.step(model.params)
            tot += float(loss.data) * len(j)
        losses.append(tot / len(order))
    pred = model.rollout(train, a.horizon, a.window)
    truth = clean[a.n : a.n + a.horizon]
    rmse = float(np.sqrt(np.mean((pred - truth) ** 2)))
    naive = float(np.sqrt(np.mean((train[-1] - truth) ** 2)))
    res = {"train_mse_first": losses[0], "train_mse_last": losses[-1], "rollout_rmse": rmse,
           "naive_last_value_rmse": naive, "horizon": a.horizon}
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 3.5))
    t_hist = np.arange(a.n - 3 * a.window, a.n)
    t_fut = np.arange(a.n, a.n + a.horizon)
    ax.plot(t_hist, train[t_hist], color="0.6", lw=1, label="noisy history")
    ax.plot(t_fut, truth, "k--", lw=1, label="truth (clean)")
    ax.plot(t_fut, pred, "C1", lw=2, label=f"LSTM rollout (RMSE {rmse:.3f})")
    ax.axvline(a.n, color="0.8")
    ax.set_xlabel("time step")
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title(f"Autoregressive forecast, {a.horizon} steps ahead")
    fig.tight_layout()
    fig.savefig(out / "sine_forecast.png", dpi=100)
    plt.close(fig)
    res["figure"] = str(out / "sine_forecast.png")
    print(json.dumps(res))
    return res


if __name__ == "__main__":
    main()
