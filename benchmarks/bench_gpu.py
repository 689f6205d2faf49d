"""GPU workloads: glassnet on CuPy vs PyTorch CUDA, same networks, same batches.

Cases (training steps per second through ``train_on_batch``, which returns the loss as a
Python float — so both frameworks synchronise once per step — with the batch already on the
GPU; inference in samples per second):

* ``mlp-mnist``: 784-512-512-10 ReLU, Adam, batch 128.
* ``cnn-mnist``: Conv32 3x3 → MaxPool2 → Conv64 3x3 → MaxPool2 → Dense128 → Dense10, Adam,
  batch 64; and ``cnn-mnist-infer`` at batch 1024.
* ``lstm-seq``: LSTM 32→128 over 50 steps, last state → Dense10, Adam, batch 64.

Needs CuPy and a CUDA device (and PyTorch with CUDA for the comparison). Prints one JSON line
per measurement and one per ratio.

Run: ``python -m benchmarks.bench_gpu [--cases mlp-mnist,cnn-mnist,cnn-mnist-infer,lstm-seq]``
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from benchmarks._common import emit, steady_rate


def _data(case: str):
    rs = np.random.default_rng(0)
    if case == "mlp-mnist":
        return rs.random((128, 784), dtype=np.float32), rs.integers(0, 10, 128)
    if case == "cnn-mnist":
        return rs.random((64, 28, 28, 1), dtype=np.float32), rs.integers(0, 10, 64)
    if case == "cnn-mnist-infer":
        return rs.random((1024, 28, 28, 1), dtype=np.float32), None
    return rs.standard_normal((64, 50, 32), dtype=np.float32), rs.integers(0, 10, 64)


def glassnet_step(case: str):
    import cupy as cp

    import glassnet as gn
    from glassnet.layers import LSTM, Conv2D, Dense, Flatten, MaxPooling2D

    gn.set_seed(0)
    if case == "mlp-mnist":
        layers = [Dense(512, activation="relu", input_shape=(784,)),
                  Dense(512, activation="relu"), Dense(10)]
    elif case.startswith("cnn-mnist"):
        layers = [Conv2D(32, 3, activation="relu", input_shape=(28, 28, 1)), MaxPooling2D(),
                  Conv2D(64, 3, activation="relu"), MaxPooling2D(), Flatten(),
                  Dense(128, activation="relu"), Dense(10)]
    else:
        layers = [LSTM(128, input_shape=(50, 32)), Dense(10)]
    model = gn.Sequential(layers)
    model.compile(gn.optimizers.Adam(learning_rate=1e-3),
                  gn.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.to("gpu")
    x, y = _data(case)
    xg = cp.asarray(x)
    if y is None:
        def step():
            with gn.no_grad():
                model(xg)
            cp.cuda.Device().synchronize()
        return step
    yg = cp.asarray(y)
    return lambda: model.train_on_batch(xg, yg)


def torch_step(case: str):
    import torch

    torch.manual_seed(0)
    nn = torch.nn
    dev = torch.device("cuda")
    if case == "mlp-mnist":
        net = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                            nn.Linear(512, 10))
    elif case.startswith("cnn-mnist"):
        net = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
                            nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                            nn.Linear(64 * 5 * 5, 128), nn.ReLU(), nn.Linear(128, 10))
    else:
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.lstm = nn.LSTM(32, 128, batch_first=True)
                self.out = nn.Linear(128, 10)

            def forward(self, x):
                return self.out(self.lstm(x)[0][:, -1])

        net = Net()
    net = net.to(dev)
    x, y = _data(case)
    xt = torch.tensor(x, device=dev)
    if case.startswith("cnn-mnist"):
        xt = xt.permute(0, 3, 1, 2).contiguous()
    if y is None:
        net.eval()

        def infer():
            with torch.no_grad():
                net(xt)
            torch.cuda.synchronize()
        return infer
    yt = torch.tensor(y, device=dev)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(net(xt), yt)
        loss.backward()
        opt.step()
        return loss.item()
    return step


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--cases", default="mlp-mnist,cnn-mnist,cnn-mnist-infer,lstm-seq")
    p.add_argument("--frameworks", default="glassnet,torch")
    a = p.parse_args(argv)
    makers = {"glassnet": glassnet_step, "torch": torch_step}
    for case in a.cases.split(","):
        per_call = 1024 if case.endswith("infer") else 1
        unit = "samples_per_s" if case.endswith("infer") else "steps_per_s"
        rates = {}
        for fw in a.frameworks.split(","):
            try:
                rates[fw] = steady_rate(makers[fw](case), warmup=10, min_time=3.0) * per_call
                emit({"case": case, "framework": fw, "device": "gpu",
                      unit: round(rates[fw], 1)})
            except Exception as e:  # a missing CuPy/CUDA build is reported, not fatal
                emit({"case": case, "framework": fw, "error": f"{type(e).__name__}: {e}"})
        if len(rates) == 2:
            emit({"case": case, "device": "gpu",
                  "glassnet_vs_torch": round(rates["glassnet"] / rates["torch"], 2)})


if __name__ == "__main__":
    sys.exit(main())
