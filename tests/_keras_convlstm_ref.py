"""Helper for test_recurrent_cells: real Keras 3 ConvLSTM2D (KERAS_BACKEND=torch, float64)
on the inputs and weights the test describes on stdin; prints the outputs and the input
gradient of sum(output * proj) as JSON."""

import json
import os
import sys

import numpy as np

os.environ["KERAS_BACKEND"] = "torch"
import keras  # noqa: E402
import torch  # noqa: E402


def main() -> None:
    keras.config.set_floatx("float64")
    spec = json.load(sys.stdin)
    out = []
    for case in spec["cases"]:
        x = torch.tensor(np.asarray(case["x"]), requires_grad=True)
        layer = keras.layers.ConvLSTM2D(**case["config"], dtype="float64")
        layer.build(tuple(x.shape))
        layer.set_weights([np.asarray(w) for w in case["weights"]])
        kw = {} if case.get("mask") is None else {"mask": torch.tensor(case["mask"])}
        y = layer(x, **kw)
        ys = y if isinstance(y, (list, tuple)) else [y]
        total = sum((t * torch.tensor(np.asarray(p))).sum() for t, p in zip(ys, case["proj"]))
        total.backward()
        out.append({"y": [t.detach().numpy().tolist() for t in ys],
                    "gx": x.grad.numpy().tolist()})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
