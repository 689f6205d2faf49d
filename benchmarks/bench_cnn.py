"""cnn-mnist workload: Conv32 3x3 relu → MaxPool2 → Conv64 3x3 relu → MaxPool2 → Flatten →
Dense128 relu → Dense10 on 28x28x1 inputs, Adam, sparse cross-entropy from logits.

Cases, each framework in a fresh process pinned to 1 and 2 BLAS threads:

* ``train``: training steps per second at batch 64 (glassnet through ``Sequential``'s
  ``train_on_batch`` — the path ``fit`` uses — and PyTorch CPU with the same network).
* ``infer``: inference samples per second at batch 1024 (``no_grad`` forward / ``torch.no_grad``).

Prints one JSON line per measurement (with peak RSS of that process) and one per ratio.

Run: ``python -m benchmarks.bench_cnn [--threads 1,2] [--cases train,infer]``
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from benchmarks._common import emit, peak_rss_mb, run_isolated, steady_rate, torch_available

B_TRAIN, B_INFER = 64, 1024


def _data(batch: int):
    rs = np.random.default_rng(0)
    return rs.random((batch, 28, 28, 1), dtype=np.float32), rs.integers(0, 10, size=batch)


def glassnet_model():
    import glassnet as gn
    from glassnet.layers import Conv2D, Dense, Flatten, MaxPooling2D
    from glassnet.models import Sequential

    gn.set_seed(0)
    model = Sequential([
        Conv2D(32, 3, activation="relu", input_shape=(28, 28, 1)), MaxPooling2D(),
        Conv2D(64, 3, activation="relu"), MaxPooling2D(), Flatten(),
        Dense(128, activation="relu"), Dense(10),
    ])
    model.compile(gn.optimizers.Adam(learning_rate=1e-3),
                  gn.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def torch_model():
    import torch

    torch.manual_seed(0)
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(64 * 5 * 5, 128), nn.ReLU(), nn.Linear(128, 10),
    )


def glassnet_train():
    model = glassnet_model()
    x, y = _data(B_TRAIN)
    return lambda: model.train_on_batch(x, y)


def torch_train():
    import torch

    net = torch_model()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    lossf = torch.nn.CrossEntropyLoss()
    x, y = _data(B_TRAIN)
    xt, yt = torch.tensor(x).permute(0, 3, 1, 2).contiguous(), torch.tensor(y)

    def step():
        opt.zero_grad()
        loss = lossf(net(xt), yt)
        loss.backward()
        opt.step()

    return step


def glassnet_infer():
    import glassnet as gn

    model = glassnet_model()
    x = gn.Tensor._make(_data(B_INFER)[0])

    def step():
        with gn.no_grad():
            model(x)

    return step


def torch_infer():
    import torch

    net = torch_model().eval()
    xt = torch.tensor(_data(B_INFER)[0]).permute(0, 3, 1, 2).contiguous()

    def step():
        with torch.no_grad():
            net(xt)

    return step


CASES = {
    "train": ({"glassnet": glassnet_train, "torch": torch_train}, "steps_per_s", 1),
    "infer": ({"glassnet": glassnet_infer, "torch": torch_infer}, "samples_per_s", B_INFER),
}


def one(case: str, fw: str, threads: int) -> None:
    if fw == "torch":
        import torch

        torch.set_num_threads(threads)
    makers, unit, per_call = CASES[case]
    rate = steady_rate(makers[fw](), warmup=3, min_time=3.0, min_iters=5) * per_call
    emit({"case": f"cnn-mnist-{case}", "framework": fw, "threads": threads,
          unit: round(rate, 1), "peak_rss_mb": round(peak_rss_mb(), 1)})


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--one", nargs=3, metavar=("CASE", "FRAMEWORK", "THREADS"))
    p.add_argument("--threads", default="1,2")
    p.add_argument("--cases", default="train,infer")
    p.add_argument("--rounds", type=int, default=1,
                   help="fresh-process pairs per case and thread count; with several, the "
                        "median of the pairs' ratios is printed")
    a = p.parse_args(argv)
    if a.one:
        one(a.one[0], a.one[1], int(a.one[2]))
        return
    for case in a.cases.split(","):
        makers, unit, _ = CASES[case]
        fws = [f for f in makers if f != "torch" or torch_available()]
        for t in (int(s) for s in a.threads.split(",")):
            ratios = []
            for _ in range(max(1, a.rounds)):
                res = {fw: run_isolated("benchmarks.bench_cnn", case, fw, t) for fw in fws}
                for r in res.values():
                    emit(r)
                gv = res["glassnet"].get(unit)
                tv = res.get("torch", {}).get(unit)
                if gv and tv:
                    ratios.append(gv / tv)
                    emit({"case": f"cnn-mnist-{case}", "threads": t,
                          "glassnet_vs_torch": round(ratios[-1], 2)})
            if len(ratios) > 1:
                emit({"case": f"cnn-mnist-{case}", "threads": t, "rounds": len(ratios),
                      "glassnet_vs_torch_median": round(sorted(ratios)[len(ratios) // 2], 2)})


if __name__ == "__main__":
    sys.exit(main())
