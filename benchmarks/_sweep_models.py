"""The sweep's workloads: one spec, built twice — as a glassnet (Keras-style) model and as
the PyTorch model a PyTorch user would write for it — each returning a ``step()`` to time.

A spec's ``layers`` are tuples: ``("dense", units, act)``, ``("dropout", rate)``, ``("bn",)``,
``("ln",)``, ``("conv2d", filters, k, padding, act)``, ``("conv1d", filters, k, padding,
act)``, ``("conv2dT", filters, k, strides, act)`` ('same' padding), ``("maxpool2d", p)``,
``("avgpool2d", p)``, ``("maxpool1d", p)``, ``("gap1d",)``, ``("gmp1d",)``, ``("flatten",)``,
``("embedding", vocab, dim)``, ``("embedding_masked", vocab, dim)`` (``mask_zero=True``;
the data is padded with zeros to random lengths), ``("rnn", kind, units,
return_sequences)``.
Images are channels-last for glassnet and channels-first for PyTorch (each framework's
native layout; the data are made once per layout, outside the timing).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Spec:
    name: str
    group: str
    layers: tuple
    input_shape: tuple
    batch: int = 32
    out: str = "softmax10"    # softmax<k> | sigmoid1 | linear<k> (regression) | image
    loss: str = "sparse_categorical_crossentropy"
    from_logits: bool = False
    optimizer: str = "adam"
    mode: str = "train"       # train | fit | evaluate | predict | predict_on_batch
    n_samples: int = 0        # fit/evaluate/predict: samples per call
    functional: bool = False  # glassnet functional API (a residual block)
    table: bool = False       # one of the "falls behind" configurations
    int_input: int = 0        # > 0: integer ids in [0, int_input)
    extra: dict = field(default_factory=dict)


def _masked(spec: Spec) -> bool:
    return any(lay[0] == "embedding_masked" for lay in spec.layers)


def _classes(spec: Spec) -> int:
    return int("".join(c for c in spec.out if c.isdigit()) or 1)


def make_data(spec: Spec, channels_first: bool):
    """(x, y) numpy arrays for one call (n_samples or batch rows)."""
    r = np.random.default_rng(0)
    n = spec.n_samples or spec.batch
    if spec.int_input:
        x = r.integers(1, spec.int_input, (n, *spec.input_shape))
        if _masked(spec):  # padded texts: 1..T tokens, then zeros
            t = spec.input_shape[0]
            x = x * (np.arange(t) < r.integers(1, t + 1, (n, 1)))
    else:
        x = r.standard_normal((n, *spec.input_shape), dtype=np.float32)
        if channels_first and len(spec.input_shape) == 3:
            x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        elif channels_first and len(spec.input_shape) == 2 and _has_conv1d(spec):
            x = np.ascontiguousarray(x.transpose(0, 2, 1))
    k = _classes(spec)
    if spec.out == "image":
        y = None  # filled by the builders (the decoder's output shape)
    elif spec.out.startswith("sigmoid"):
        y = (r.random((n, k)) > 0.5).astype(np.float32)
    elif spec.out.startswith("linear") or spec.loss not in (
            "sparse_categorical_crossentropy", "categorical_crossentropy"):
        y = r.random((n, k), dtype=np.float32)
        if spec.loss in ("hinge", "squared_hinge"):
            y = np.where(y > 0.5, 1.0, -1.0).astype(np.float32)
        if spec.loss in ("categorical_hinge", "categorical_focal_crossentropy",
                         "kl_divergence"):
            y = np.eye(k, dtype=np.float32)[r.integers(0, k, n)]
        if spec.loss in ("binary_focal_crossentropy", "dice", "tversky"):
            y = (y > 0.5).astype(np.float32)
    elif spec.loss == "categorical_crossentropy":
        y = np.eye(k, dtype=np.float32)[r.integers(0, k, n)]
    elif spec.extra.get("per_step"):  # a label per step (a tagger, a language model)
        y = r.integers(0, k, (n, spec.input_shape[0]))
    else:
        y = r.integers(0, k, n)
    return x, y


def _has_conv1d(spec: Spec) -> bool:
    return any(lay[0] in ("conv1d", "maxpool1d") for lay in spec.layers)


# ------------------------------------------------------------------ glassnet
def build_glassnet(spec: Spec):
    import glassnet as gn
    from glassnet import layers as L
    from glassnet.models import Model, Sequential

    gn.set_seed(0)
    x, y = make_data(spec, channels_first=False)
    seq = []
    for lay in spec.layers:
        kind = lay[0]
        if kind == "dense":
            seq.append(L.Dense(lay[1], activation=lay[2]))
        elif kind == "dropout":
            seq.append(L.Dropout(lay[1]))
        elif kind == "bn":
            seq.append(L.BatchNormalization())
        elif kind == "ln":
            seq.append(L.LayerNormalization())
        elif kind == "conv2d":
            seq.append(L.Conv2D(lay[1], lay[2], padding=lay[3], activation=lay[4]))
        elif kind == "conv1d":
            seq.append(L.Conv1D(lay[1], lay[2], padding=lay[3], activation=lay[4]))
        elif kind == "conv2dT":
            seq.append(L.Conv2DTranspose(lay[1], lay[2], strides=lay[3], padding="same",
                                         activation=lay[4]))
        elif kind == "maxpool2d":
            seq.append(L.MaxPooling2D(lay[1]))
        elif kind == "avgpool2d":
            seq.append(L.AveragePooling2D(lay[1]))
        elif kind == "maxpool1d":
            seq.append(L.MaxPooling1D(lay[1]))
        elif kind == "gap1d":
            seq.append(L.GlobalAveragePooling1D())
        elif kind == "gmp1d":
            seq.append(L.GlobalMaxPooling1D())
        elif kind == "flatten":
            seq.append(L.Flatten())
        elif kind == "embedding":
            seq.append(L.Embedding(lay[1], lay[2]))
        elif kind == "embedding_masked":
            seq.append(L.Embedding(lay[1], lay[2], mask_zero=True))
        elif kind == "rnn":
            cls = {"simple": L.SimpleRNN, "gru": L.GRU, "lstm": L.LSTM}[lay[1]]
            seq.append(cls(lay[2], return_sequences=lay[3]))
        else:
            raise ValueError(f"unknown layer spec {lay!r}")
    k = _classes(spec)
    if spec.out != "image":
        act = ("linear" if spec.from_logits or spec.out.startswith("linear")
               else spec.out.rstrip("0123456789"))
        seq.append(L.Dense(k, activation=act))
    if spec.functional:
        inp = gn.Input(shape=spec.input_shape)
        h = seq[0](inp)
        skip = h
        for layer in seq[1:-1]:
            h = layer(h)
        h = L.Add()([h, skip])
        model = Model(inp, seq[-1](h))
    else:
        model = Sequential([L.Input(spec.input_shape), *seq])
    if spec.out == "image":
        y = np.random.default_rng(1).random(
            (x.shape[0], *model.compute_output_shape((None, *spec.input_shape))[1:]),
            dtype=np.float32)
    loss = spec.loss
    if spec.from_logits:
        loss = gn.losses.get({"class_name": _loss_class(spec.loss),
                              "config": {"from_logits": True}})
    metrics = ["accuracy"] if spec.mode == "evaluate" else None
    opt = spec.optimizer
    if opt == "sgd_momentum":
        opt = {"class_name": "SGD", "config": {"learning_rate": 0.01, "momentum": 0.9,
                                               "nesterov": True}}
    model.compile(optimizer=opt, loss=loss, metrics=metrics)
    b, n = spec.batch, spec.n_samples
    if spec.mode == "train":
        return lambda: model.train_on_batch(x, y)
    if spec.mode == "fit":
        return lambda: model.fit(x, y, batch_size=b, epochs=1, verbose=0)
    if spec.mode == "evaluate":
        return lambda: model.evaluate(x, y, batch_size=b, verbose=0)
    if spec.mode == "predict":
        return lambda: model.predict(x, batch_size=b, verbose=0)
    if spec.mode == "predict_on_batch":
        return lambda: model.predict_on_batch(x)
    raise ValueError(f"mode {spec.mode!r} ({n} samples)")


def _loss_class(name: str) -> str:
    return {"binary_crossentropy": "BinaryCrossentropy",
            "categorical_crossentropy": "CategoricalCrossentropy",
            "sparse_categorical_crossentropy": "SparseCategoricalCrossentropy",
            "binary_focal_crossentropy": "BinaryFocalCrossentropy",
            "categorical_focal_crossentropy": "CategoricalFocalCrossentropy"}[name]
