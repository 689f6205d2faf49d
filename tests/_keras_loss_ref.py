"""Helper for test_losses_more: evaluate Keras 3 losses (KERAS_BACKEND=torch, float64) on the
cases the test describes on stdin; prints per-sample values and the reduced loss as JSON."""

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
        yt, yp = np.asarray(case["y_true"]), np.asarray(case["y_pred"])
        cfg = dict(case["config"])
        if "axis" in cfg and isinstance(cfg["axis"], list):
            cfg["axis"] = tuple(cfg["axis"])
        loss = getattr(keras.losses, case["cls"])(**cfg, dtype="float64")
        sw = case.get("sample_weight")
        kw = {} if sw is None else {"sample_weight": np.asarray(sw)}
        red = keras.ops.convert_to_numpy(loss(yt, yp, **kw))
        # the loss function itself on float64 tensors (Loss.__call__ reduces in float32)
        t64, p64 = (torch.tensor(a, dtype=torch.float64) for a in (yt, yp))
        per = keras.ops.convert_to_numpy(loss.fn(t64, p64, **loss._fn_kwargs))
        out.append({"reduced": np.asarray(red, np.float64).tolist(),
                    "per": np.asarray(per, np.float64).tolist()})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
