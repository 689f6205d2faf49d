"""Helper for test_optimizers_more: run Keras 3 optimizers (KERAS_BACKEND=torch) on the
trajectories the test describes on stdin; prints the final weights as JSON."""

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
        target = [np.asarray(w) for w in spec["target"]]
        vs = [keras.Variable(np.asarray(w), dtype="float64") for w in spec["init"]]
        opt = getattr(keras.optimizers, case["cls"])(**case["config"])
        for _ in range(spec["steps"]):
            ws = [np.asarray(v.numpy()) for v in vs]
            gs = [2 * (w - t) + 0.5 * np.sin(3 * w) for w, t in zip(ws, target)]
            opt.apply([keras.ops.convert_to_tensor(g, dtype="float64") for g in gs], vs)
        if case.get("finalize"):
            opt.finalize_variable_values(vs)
        out.append([np.asarray(v.numpy()).tolist() for v in vs])
    print(json.dumps(out))


if __name__ == "__main__":
    main()
