"""Helper for test_metrics_more: run Keras 3 metrics (KERAS_BACKEND=torch) on the batches the
test describes on stdin; prints each result as JSON."""

import json
import os
import sys

import numpy as np

os.environ["KERAS_BACKEND"] = "torch"
import keras  # noqa: E402


def main() -> None:
    spec = json.load(sys.stdin)
    out = []
    for case in spec["cases"]:
        m = getattr(keras.metrics, case["cls"])(**case["config"])
        for yt, yp, sw in case["batches"]:
            kw = {} if sw is None else {"sample_weight": np.asarray(sw, "float32")}
            m.update_state(np.asarray(yt, "float32"), np.asarray(yp, "float32"), **kw)
        out.append(np.asarray(keras.ops.convert_to_numpy(m.result()), np.float64).tolist())
    print(json.dumps(out))


if __name__ == "__main__":
    main()
