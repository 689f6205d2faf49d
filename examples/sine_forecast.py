"""Time series: forecast a noisy sine wave many steps ahead with an LSTM (autoregressive).

The course: "for time series analysis … use a recurrent net". Keras-style: a ``Sequential``
(LSTM → Dense(1)) learns with ``compile``/``fit`` to predict the next value from a window of
past values; the forecast then feeds each prediction back in as the newest input (an
autoregressive rollout) for ``--horizon`` steps, compared with the clean truth and with a
naive "repeat the last value" forecast. The CLI recipe ``glassnet train sine`` is the same
experiment with a held-out test stretch.

Run: ``python examples/sine_forecast.py [--epochs 30] [--horizon 100]``
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

import glassnet as gn
from glassnet.layers import LSTM, Dense
from glassnet.models import Sequential
from glassnet.recipes.sequences import rollout

PERIOD = 25.0


def series(n: int, noise: float, rs) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(n)
    clean = np.sin(2 * np.pi * t / PERIOD)
    return clean + noise * rs.standard_normal(n), clean


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

    model = Sequential([LSTM(a.units, input_shape=(a.window, 1)), Dense(1)])
    model.compile(optimizer=gn.optimizers.Adam(learning_rate=5e-3), loss="mse")
    losses = model.fit(xs, ys, batch_size=a.batch, epochs=a.epochs, verbose=0).history["loss"]

    pred = rollout(model, train, a.horizon, a.window)
    truth = clean[a.n : a.n + a.horizon]
    rmse = float(np.sqrt(np.mean((pred - truth) ** 2)))
    naive = float(np.sqrt(np.mean((train[-1] - truth) ** 2)))
    res = {"train_mse_first": losses[0], "train_mse_last": losses[-1], "rollout_rmse": rmse,
           "naive_last_value_rmse": naive, "horizon": a.horizon}
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 3.5))
    ax = fig.add_subplot()
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
    res["figure"] = str(out / "sine_forecast.png")
    print(json.dumps(res))
    return res


if __name__ == "__main__":
    main()
