"""Training runs written once for Keras 3 and glassnet (``run(keras, initial)`` takes either
module). Run as a script it trains them with real Keras (PyTorch backend) and prints, as
JSON, each run's initial weights and what fit and evaluate reported (test_fit_matches_keras
starts glassnet from those weights and compares)."""

import json
import os
import sys

import numpy as np


def _data():
    r = np.random.default_rng(0)
    x = r.normal(size=(100, 6)).astype("f4")
    yc = r.integers(0, 3, 100)
    yr = (x[:, :2] @ np.array([[1.0], [-2.0]])).astype("f4")
    sw = r.random(100).astype("f4")
    return x, yc, yr, sw


# name -> (outputs, output activation, BatchNormalization?, loss, optimizer, targets, fit)
CASES = {
    "sgd_mse": (1, None, False, "mse", ("SGD", {"learning_rate": 0.1}), "r", {}),
    "adam_sparse_from_logits": (3, None, False, ("SparseCategoricalCrossentropy",
                                                 {"from_logits": True}),
                                ("Adam", {"learning_rate": 0.01}), "c", {}),
    "rmsprop_softmax_sample_weight": (3, "softmax", False, "sparse_categorical_crossentropy",
                                      ("RMSprop", {"learning_rate": 0.01}), "c",
                                      {"sample_weight": True}),
    "adam_class_weight_validation_split": (
        3, "softmax", False, "sparse_categorical_crossentropy",
        ("Adam", {"learning_rate": 0.01}), "c",
        {"class_weight": {0: 1.0, 1: 2.0, 2: 0.5}, "validation_split": 0.2}),
    "sgd_nesterov_huber": (1, None, False, ("Huber", {"delta": 0.5}),
                           ("SGD", {"learning_rate": 0.05, "momentum": 0.9,
                                    "nesterov": True}), "r", {}),
    "adamw_batchnorm_validation_data": (1, None, True, "mae",
                                        ("AdamW", {"learning_rate": 0.01,
                                                   "weight_decay": 0.1}), "r",
                                        {"validation_data": True}),
    "adagrad_clipnorm": (1, None, False, "mse",
                         ("Adagrad", {"learning_rate": 0.1, "clipnorm": 0.5}), "r", {}),
    "nadam_sigmoid_bce": (1, "sigmoid", False, "binary_crossentropy",
                          ("Nadam", {"learning_rate": 0.01}), "b", {}),
    "adamax_label_smoothing": (3, "softmax", False, ("CategoricalCrossentropy",
                                                     {"label_smoothing": 0.1}),
                               ("Adamax", {"learning_rate": 0.02}), "onehot", {}),
    "sgd_exponential_decay": (1, None, False, "mse",
                              ("SGD", {"learning_rate": ("ExponentialDecay", {
                                  "initial_learning_rate": 0.1, "decay_steps": 3,
                                  "decay_rate": 0.5})}), "r", {}),
}


def run(keras, name, initial=None):
    """Train case ``name`` for 3 epochs (batch 16, no shuffling); returns (initial weights,
    history, evaluate's dict, final weights)."""
    out, act, bn, loss, (opt_name, opt_kw), target, fit = CASES[name]
    x, yc, yr, sw = _data()
    y = {"r": yr, "c": yc, "b": (yc > 0).astype("f4")[:, None],
         "onehot": np.eye(3, dtype="f4")[yc]}[target]
    keras.utils.set_random_seed(1)
    layers = [keras.Input((6,)), keras.layers.Dense(8, activation="tanh")]
    if bn:
        layers.append(keras.layers.BatchNormalization())
    model = keras.Sequential(layers + [keras.layers.Dense(out, activation=act)])
    if initial is not None:
        model.set_weights([np.asarray(w, "f4") for w in initial])
    start = [np.asarray(w).tolist() for w in model.get_weights()]
    if not isinstance(loss, str):
        loss = getattr(keras.losses, loss[0])(**loss[1])
    kw = dict(opt_kw)
    if isinstance(kw.get("learning_rate"), tuple):
        sched, skw = kw["learning_rate"]
        kw["learning_rate"] = getattr(keras.optimizers.schedules, sched)(**skw)
    model.compile(optimizer=getattr(keras.optimizers, opt_name)(**kw), loss=loss,
                  metrics=["mae"] if out == 1 else ["accuracy"])
    fk = dict(fit)
    if fk.pop("sample_weight", False):
        fk["sample_weight"] = sw
    if fk.pop("validation_data", False):
        fk["validation_data"] = (x[:20], y[:20])
    h = model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0, **fk)
    ev = model.evaluate(x, y, verbose=0, return_dict=True)
    hist = {k: [float(v) for v in vs] for k, vs in h.history.items()}
    return (start, hist, {k: float(v) for k, v in ev.items()},
            [np.asarray(w).tolist() for w in model.get_weights()])


if __name__ == "__main__":
    os.environ["KERAS_BACKEND"] = "torch"
    import keras

    print(json.dumps({name: run(keras, name) for name in CASES}))
    sys.exit(0)
