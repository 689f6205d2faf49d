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


def _other_inputs():
    """Inputs of the convolutional, recurrent, attention and embedding models (100 samples
    each)."""
    r = np.random.default_rng(1)
    img, seq = r.normal(size=(100, 8, 8, 2)).astype("f4"), r.normal(size=(100, 5, 3)).astype("f4")
    seq4 = r.normal(size=(100, 6, 4)).astype("f4")
    return {"conv": img, "conv_transpose": img, "depthwise": img, "lstm": seq, "gru": seq,
            "gru_reset_before": seq, "conv1d": seq4, "bidirectional": seq4,
            "attention": seq4, "mha": seq4, "embedding": r.integers(0, 20, (100, 7)),
            "adaptive1d": seq4, "adaptive2d": img, "one_feature": seq4[..., :1],
            **dict.fromkeys(("mask_tagger", "mask_gap", "mask_bidir", "mask_add", "mask_lstm"),
                            _padded_ids()),
            "masking_td": seq * (np.arange(5) < r.integers(1, 6, (100, 1)))[..., None]}


def _padded_ids():
    """Token ids 1-19 followed by 0s (padding): each of the 100 rows 2-7 tokens long."""
    r = np.random.default_rng(2)
    return r.integers(1, 20, (100, 7)) * (np.arange(7) < r.integers(2, 8, (100, 1)))


def _body(keras, kind):
    """The hidden layers of a model kind (the default: Dense(8, tanh))."""
    L = keras.layers
    if kind == "conv":
        return [keras.Input((8, 8, 2)), L.Conv2D(4, 3, activation="relu"), L.MaxPooling2D(),
                L.Flatten()]
    if kind == "lstm":
        return [keras.Input((5, 3)), L.LSTM(4)]
    if kind == "gru":
        return [keras.Input((5, 3)), L.GRU(4, return_sequences=True), L.SimpleRNN(3)]
    if kind == "gru_reset_before":  # Keras 2.2's GRU form, and its cell in RNN
        return [keras.Input((5, 3)), L.GRU(4, reset_after=False, return_sequences=True,
                                          go_backwards=True),
                L.RNN(L.GRUCell(3, reset_after=False, use_bias=False))]
    if kind.startswith("mask_"):  # Embedding(mask_zero=True): the mask reaches the loss
        e = L.Embedding(20, 4, mask_zero=True)
        if kind == "mask_tagger":
            return [keras.Input((7,)), e, L.LSTM(5, return_sequences=True)]
        if kind == "mask_gap":  # the mean over the real tokens only
            return [keras.Input((7,)), e, L.GlobalAveragePooling1D()]
        if kind == "mask_lstm":  # the mask ends at the last state
            return [keras.Input((7,)), e, L.LSTM(4)]
        if kind == "mask_bidir":
            return [keras.Input((7,)), e, L.Bidirectional(L.GRU(3, return_sequences=True)),
                    L.LayerNormalization(), L.Dense(4, activation="relu")]
        i = keras.Input((7,))  # mask_add: merges keep the mask
        h = e(i)
        return i, L.Add()([L.LSTM(4, return_sequences=True)(h), L.Dense(4)(h)])
    if kind == "adaptive1d":  # Keras 3.12's newer layers: uneven bins (6 steps into 4)
        return [keras.Input((6, 4)), L.Dense(5), L.RMSNormalization(),
                L.AdaptiveAveragePooling1D(4), L.Flatten()]
    if kind == "adaptive2d":
        return [keras.Input((8, 8, 2)), L.Conv2D(3, 3, activation="relu"),
                L.AdaptiveMaxPooling2D((4, 3)), L.RMSNormalization(axis=[-2, -1]),
                L.AdaptiveAveragePooling2D(2), L.Flatten()]
    if kind == "spectral":  # Keras's SpectralNormalization around a Dense (GANs)
        return [keras.Input((6,)), L.SpectralNormalization(L.Dense(8, activation="tanh"),
                                                           power_iterations=2)]
    if kind == "one_feature":  # keras.io's timeseries Transformer: LayerNormalization over
        # one feature (its output is beta: only beta learns there), steps averaged as
        # channels first
        i = keras.Input((6, 1))
        h = L.Conv1D(4, 1, activation="tanh")(i)
        one = L.Conv1D(1, 1)(h)
        n = L.LayerNormalization(epsilon=1e-6)(one) + one
        avg = L.GlobalAveragePooling1D(data_format="channels_first")(
            L.Concatenate()([n, h]))
        top = L.GlobalMaxPooling1D(data_format="channels_first", keepdims=True)(h)
        return i, L.Concatenate()([avg, L.Flatten()(top)])
    if kind == "wrapper":  # a Wrapper of one's own around a Dense
        class Doubled(L.Wrapper):
            def call(self, x):
                return self.layer(x) * 2.0

        return [keras.Input((6,)), Doubled(L.Dense(8, activation="tanh"))]
    if kind == "masking_td":
        return [keras.Input((5, 3)), L.Masking(), L.SimpleRNN(4, return_sequences=True),
                L.TimeDistributed(L.Dense(2))]
    if kind == "embedding":
        return [keras.Input((7,)), L.Embedding(20, 4), L.GlobalAveragePooling1D()]
    if kind == "conv1d":
        return [keras.Input((6, 4)), L.Conv1D(5, 3, padding="same", activation="relu"),
                L.AveragePooling1D(2), L.Conv1D(3, 2), L.GlobalMaxPooling1D()]
    if kind == "conv_transpose":
        return [keras.Input((8, 8, 2)), L.Conv2DTranspose(3, 3, strides=2, padding="same"),
                L.ZeroPadding2D(1), L.Cropping2D(2), L.UpSampling2D(), L.Conv2D(2, 3, strides=2),
                L.GlobalAveragePooling2D()]
    if kind == "depthwise":
        return [keras.Input((8, 8, 2)), L.DepthwiseConv2D(3, depth_multiplier=2),
                L.SeparableConv2D(4, 3, activation="relu"), L.BatchNormalization(),
                L.GlobalMaxPooling2D()]
    if kind == "bidirectional":
        return [keras.Input((6, 4)), L.Bidirectional(L.LSTM(3, return_sequences=True)),
                L.TimeDistributed(L.Dense(2)), L.Flatten()]
    if kind == "activations":
        return [keras.Input((6,)), L.Dense(8), L.PReLU(), L.Dense(8), L.LeakyReLU(0.1),
                L.Dense(8, activation="elu"), L.Dense(8, activation="selu"),
                L.Dense(8, activation="gelu"), L.Dense(8, activation="swish")]
    if kind in ("mha", "attention"):  # functional: the body's output is a graph tensor
        i = keras.Input((6, 4))
        if kind == "mha":
            h = L.MultiHeadAttention(num_heads=2, key_dim=3)(i, i)
            return i, L.GlobalAveragePooling1D()(L.LayerNormalization()(L.Add()([h, i])))
        q = L.Dense(4)(i)
        both = L.Concatenate()([L.Attention()([q, i]), L.AdditiveAttention()([i, q])])
        return i, L.Flatten()(both)
    if kind == "regularized":  # a weight penalty, LayerNormalization, an activity penalty
        return [keras.Input((6,)), L.Dense(8, activation="relu",
                                           kernel_regularizer=keras.regularizers.l2(0.01)),
                L.LayerNormalization(),
                L.Dense(4, activity_regularizer=keras.regularizers.l1(0.01))]
    return [keras.Input((6,)), keras.layers.Dense(8, activation="tanh")]


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
    "conv_adam": (3, "softmax", False, "sparse_categorical_crossentropy",
                  ("Adam", {"learning_rate": 0.01}), "c", {"model": "conv"}),
    "lstm_rmsprop": (1, None, False, "mse", ("RMSprop", {"learning_rate": 0.01}), "r",
                     {"model": "lstm"}),
    "gru_simple_rnn_sgd": (1, None, False, "mse", ("SGD", {"learning_rate": 0.1}), "r",
                           {"model": "gru"}),
    "gru_reset_before_rmsprop": (1, None, False, "mse", ("RMSprop", {"learning_rate": 0.01}),
                                 "r", {"model": "gru_reset_before"}),
    "embedding_adam": (3, "softmax", False, "sparse_categorical_crossentropy",
                       ("Adam", {"learning_rate": 0.05}), "c", {"model": "embedding"}),
    "regularizers_layer_norm": (1, None, False, "mse", ("Adam", {"learning_rate": 0.01}),
                                "r", {"model": "regularized"}),
    "adadelta": (3, "softmax", False, "sparse_categorical_crossentropy",
                 ("Adadelta", {"learning_rate": 1.0}), "c", {}),
    "ftrl": (3, "softmax", False, "sparse_categorical_crossentropy",
             ("Ftrl", {"learning_rate": 0.1}), "c", {}),
    "lion": (3, "softmax", False, "sparse_categorical_crossentropy",
             ("Lion", {"learning_rate": 0.001}), "c", {}),
    "adafactor": (3, "softmax", False, "sparse_categorical_crossentropy",
                  ("Adafactor", {"learning_rate": 0.01}), "c", {}),
    "sgd_weight_decay": (3, "softmax", False, "sparse_categorical_crossentropy",
                         ("SGD", {"learning_rate": 0.1, "weight_decay": 0.01}), "c", {}),
    "amsgrad_ema": (3, "softmax", False, "sparse_categorical_crossentropy",
                    ("Adam", {"learning_rate": 0.01, "amsgrad": True, "use_ema": True,
                              "ema_momentum": 0.9}), "c", {}),
    "kl_divergence": (3, "softmax", False, "kl_divergence", ("Adam", {"learning_rate": 0.01}),
                      "onehot", {}),
    # the mean over the labels it does not ignore
    "ignore_class": (3, "softmax", False, ("SparseCategoricalCrossentropy",
                                           {"ignore_class": 1}),
                     ("Adam", {"learning_rate": 0.01}), "c", {"sample_weight": True}),
    "tversky": (3, "softmax", False, ("Tversky", {"alpha": 0.3, "beta": 0.7}),
                ("Adam", {"learning_rate": 0.01}), "onehot",
                {"metrics": ["CategoricalAccuracy"]}),
    "categorical_hinge": (3, "softmax", False, "categorical_hinge",
                          ("Adam", {"learning_rate": 0.01}), "onehot", {}),
    "poisson_log_cosh_msle": (3, "softmax", False, "poisson", ("Adam", {"learning_rate": 0.01}),
                              "onehot", {"metrics": ["LogCoshError", "msle", "CosineSimilarity"]}),
    "binary_metrics": (1, "sigmoid", False, "binary_crossentropy",
                       ("Adam", {"learning_rate": 0.01}), "b",
                       {"metrics": ["AUC", "Precision", "Recall", "BinaryAccuracy"]}),
    **{f"{kind}_adam": (3, "softmax", False, "sparse_categorical_crossentropy",
                        ("Adam", {"learning_rate": 0.01}), "c", {"model": kind})
       for kind in ("conv1d", "conv_transpose", "depthwise", "bidirectional", "mha",
                    "attention", "activations")},
    "clipvalue_gradient_accumulation": (3, "softmax", False, "sparse_categorical_crossentropy",
                                        ("SGD", {"learning_rate": 0.1, "clipvalue": 0.05,
                                                 "gradient_accumulation_steps": 2}), "c", {}),
    "global_clipnorm": (3, "softmax", False, "sparse_categorical_crossentropy",
                        ("Adam", {"learning_rate": 0.05, "global_clipnorm": 0.1}), "c", {}),
    # min_delta=10: every epoch is a plateau, so the learning rate halves each epoch
    "reduce_lr_on_plateau": (3, "softmax", False, "sparse_categorical_crossentropy",
                             ("Adam", {"learning_rate": 0.05}), "c", {"callback": "reduce"}),
    "early_stopping_restores_best": (3, "softmax", False, "sparse_categorical_crossentropy",
                                     ("Adam", {"learning_rate": 0.5}), "c",
                                     {"callback": "early"}),
    # data given as a PyDataset or a generator, and the fit arguments that steer the epochs
    **{name: (3, "softmax", False, "sparse_categorical_crossentropy",
              ("Adam", {"learning_rate": 0.01}), "c", fit)
       for name, fit in {
           "pydataset": {"data": "pydataset"},
           "pydataset_weighted_with_validation": {"data": "pydataset_weighted",
                                                  "validation_data": "pydataset"},
           "generator_steps_per_epoch": {"data": "generator", "steps_per_epoch": 3},
           "validation_steps": {"batch_size": 10, "validation_data": "pydataset",
                                "validation_steps": 2},
           "validation_steps_arrays": {"batch_size": 10, "validation_data": True,
                                       "validation_steps": 1},
           "initial_epoch": {"batch_size": 10, "epochs": 4, "initial_epoch": 2},
           "validation_freq": {"batch_size": 10, "epochs": 4, "validation_split": 0.2,
                               "validation_freq": 2},
           # arrays with steps_per_epoch: the pass goes on across epochs (Keras 3's
           # epoch iterator); 4 steps of a 10-batch pass, then 15 (each epoch ends with it)
           "steps_per_epoch_short": {"batch_size": 10, "epochs": 5, "steps_per_epoch": 4},
           "steps_per_epoch_long": {"batch_size": 10, "steps_per_epoch": 15},
       }.items()},
    # class weights on one-hot and binary targets (Keras reads the class from the argmax or
    # the 0/1 value)
    "class_weight_one_hot": (3, "softmax", False, "categorical_crossentropy",
                             ("Adam", {"learning_rate": 0.01}), "onehot",
                             {"class_weight": {0: 1.0, 1: 3.0, 2: 0.5}}),
    "class_weight_binary": (1, "sigmoid", False, "binary_crossentropy",
                            ("Adam", {"learning_rate": 0.01}), "b",
                            {"class_weight": {0: 2.0, 1: 0.5}}),
    # two outputs (softmax classes, a linear score): per-output losses as a list or a dict,
    # loss weights, per-output metrics, sample weights
    "two_outputs_sample_weight": (0, None, False,
                                  ["sparse_categorical_crossentropy", "mse"],
                                  ("Adam", {"learning_rate": 0.01}), "two",
                                  {"sample_weight": True}),
    "two_outputs_dict_loss_weights": (0, None, False,
                                      {"a": "sparse_categorical_crossentropy", "b": "mse"},
                                      ("Adam", {"learning_rate": 0.01}), "two_dict",
                                      {"loss_weights": {"a": 0.3, "b": 2.0}}),
    "two_outputs_metrics": (0, None, False, ["sparse_categorical_crossentropy", "mse"],
                            ("Adam", {"learning_rate": 0.01}), "two",
                            {"metrics": [["accuracy"], ["mae", "mse"]]}),
    # weighted_metrics take the sample (and class) weights; same-named ones get "weighted_"
    "weighted_metrics": (3, "softmax", False, "sparse_categorical_crossentropy",
                         ("Adam", {"learning_rate": 0.01}), "c",
                         {"sample_weight": True,
                          "weighted_metrics": ["accuracy", "sparse_categorical_crossentropy"],
                          "validation_data": True}),
    "weighted_metrics_class_weight": (3, "softmax", False, "sparse_categorical_crossentropy",
                                      ("Adam", {"learning_rate": 0.01}), "c",
                                      {"class_weight": {0: 1.0, 1: 2.0, 2: 0.5},
                                       "weighted_metrics": ["accuracy"]}),
    # masks (Embedding(mask_zero=True), Masking) pass through the layers that keep the
    # time axis and weight the loss and the metrics: padded steps count for nothing
    "mask_tagger": (3, "softmax", False, "sparse_categorical_crossentropy",
                    ("Adam", {"learning_rate": 0.01}), "seq", {"model": "mask_tagger"}),
    "mask_tagger_ignore_class": (3, "softmax", False, ("SparseCategoricalCrossentropy",
                                                       {"ignore_class": 1}),
                                 ("Adam", {"learning_rate": 0.01}), "seq",
                                 {"model": "mask_tagger"}),
    "mask_average_pooling": (1, "sigmoid", False, "binary_crossentropy",
                             ("Adam", {"learning_rate": 0.01}), "b",
                             {"model": "mask_gap", "metrics": ["accuracy", "mae"]}),
    "mask_last_state": (3, "softmax", False, "sparse_categorical_crossentropy",
                        ("Adam", {"learning_rate": 0.01}), "c", {"model": "mask_lstm"}),
    "mask_bidirectional_logits_weighted": (
        3, None, False, ("SparseCategoricalCrossentropy", {"from_logits": True}),
        ("Adam", {"learning_rate": 0.01}), "seq",
        # (no weighted_metrics: Keras's loss scales the batch's sample-weight tensor in
        # place by total/kept under a mask, so its weighted metrics see other weights)
        {"model": "mask_bidir", "sample_weight": "steps", "validation_data": True}),
    "mask_functional_add": (3, "softmax", False, "sparse_categorical_crossentropy",
                            ("Adam", {"learning_rate": 0.01}), "seq", {"model": "mask_add"}),
    "masking_time_distributed": (1, None, False, "mse", ("RMSprop", {"learning_rate": 0.01}),
                                 "seqr", {"model": "masking_td", "metrics": ["mae"]}),
    "swap_ema_weights": (3, "softmax", False, "sparse_categorical_crossentropy",
                         ("Adam", {"learning_rate": 0.05, "use_ema": True,
                                   "ema_momentum": 0.8}), "c",
                         {"callback": "swap_ema", "validation_data": True}),
    "swap_ema_weights_on_epoch": (3, "softmax", False, "sparse_categorical_crossentropy",
                                  ("SGD", {"learning_rate": 0.1, "use_ema": True,
                                           "ema_momentum": 0.7}), "c",
                                  {"callback": "swap_ema_epoch", "validation_data": True}),
    "wrapper_subclass": (1, None, False, "mse", ("SGD", {"learning_rate": 0.05}), "r",
                         {"model": "wrapper"}),
    "spectral_normalization": (3, "softmax", False, "sparse_categorical_crossentropy",
                               ("Adam", {"learning_rate": 0.01}), "c", {"model": "spectral"}),
    "lamb_weight_decay": (3, "softmax", False, "sparse_categorical_crossentropy",
                          ("Lamb", {"learning_rate": 0.01, "weight_decay": 0.01}), "c", {}),
    "rms_norm_adaptive_average_pooling": (3, "softmax", False,
                                          "sparse_categorical_crossentropy",
                                          ("Adam", {"learning_rate": 0.01}), "c",
                                          {"model": "adaptive1d"}),
    "adaptive_max_pooling_2d": (1, None, False, "mse", ("RMSprop", {"learning_rate": 0.01}),
                                "r", {"model": "adaptive2d"}),
    # SGD: gamma's true gradient is 0 there; Keras's PyTorch layer_norm gives it rounding
    # noise, which Adam would scale up to steps of its learning rate
    "one_feature_layernorm_channels_first": (3, "softmax", False,
                                             "sparse_categorical_crossentropy",
                                             ("SGD", {"learning_rate": 0.1}), "c",
                                             {"model": "one_feature"}),
    "two_outputs_weighted_metrics": (0, None, False, ["sparse_categorical_crossentropy", "mse"],
                                     ("Adam", {"learning_rate": 0.01}), "two",
                                     {"sample_weight": True,
                                      "metrics": [["accuracy"], ["mae"]],
                                      "weighted_metrics": [["accuracy"], ["mae"]]}),
}


def run(keras, name, initial=None):
    """Train case ``name`` (3 epochs of batch 16 unless it says otherwise, no shuffling);
    returns (initial weights, history, evaluate's dict, final weights)."""
    out, act, bn, loss, (opt_name, opt_kw), target, fit = CASES[name]
    fit = dict(fit)
    kind, metrics = fit.pop("model", "mlp"), fit.pop("metrics", None)
    x, yc, yr, sw = _data()
    x = _other_inputs().get(kind, x)
    yb = (yc > 0).astype("f4")[:, None]
    r = np.random.default_rng(3)
    y = {"r": yr, "c": yc, "b": yb, "onehot": np.eye(3, dtype="f4")[yc], "two": [yc, yr],
         "two_dict": {"a": yc, "b": yr}, "seq": r.integers(0, 3, (100, 7)),
         "seqr": r.normal(size=(100, 5, 1)).astype("f4")}[target]
    keras.utils.set_random_seed(1)
    layers = _body(keras, kind)
    if target.startswith("two"):  # a functional model with two outputs, named a and b
        i = keras.Input((6,))
        h = keras.layers.Dense(8, activation="tanh")(i)
        model = keras.Model(i, [keras.layers.Dense(3, activation="softmax", name="a")(h),
                                keras.layers.Dense(1, name="b")(h)])
    elif isinstance(layers, tuple):  # a functional body: (input, output tensor)
        model = keras.Model(layers[0], keras.layers.Dense(out, activation=act)(layers[1]))
    else:
        if bn:
            layers.append(keras.layers.BatchNormalization())
        model = keras.Sequential(layers + [keras.layers.Dense(out, activation=act)])
    if initial is not None:
        model.set_weights([np.asarray(w, "f4") for w in initial])
    start = [np.asarray(w).tolist() for w in model.get_weights()]
    if isinstance(loss, tuple):
        loss = getattr(keras.losses, loss[0])(**loss[1])
    loss_weights = fit.pop("loss_weights", None)
    weighted_metrics = fit.pop("weighted_metrics", None)
    kw = dict(opt_kw)
    if isinstance(kw.get("learning_rate"), tuple):
        sched, skw = kw["learning_rate"]
        kw["learning_rate"] = getattr(keras.optimizers.schedules, sched)(**skw)
    if metrics is not None and not isinstance(metrics[0], list):
        metrics = [getattr(keras.metrics, m)() if m[0].isupper() else m for m in metrics]
    if metrics is None and not target.startswith("two"):
        metrics = ["mae"] if out == 1 else ["accuracy"]
    model.compile(optimizer=getattr(keras.optimizers, opt_name)(**kw), loss=loss,
                  metrics=metrics, loss_weights=loss_weights, weighted_metrics=weighted_metrics)
    fk = dict(fit)
    epochs, batch_size = fk.pop("epochs", 3), fk.pop("batch_size", 16)
    data, train = fk.pop("data", None), (x, y)

    class Batches(keras.utils.PyDataset):
        def __init__(self, bs, weighted=False):
            super().__init__()
            self.bs, self.weighted = bs, weighted

        def __len__(self):
            return -(-len(x) // self.bs)

        def __getitem__(self, i):
            s = slice(i * self.bs, (i + 1) * self.bs)
            return (x[s], y[s], sw[s]) if self.weighted else (x[s], y[s])

    def endless():
        while True:
            for i in range(0, len(x), 20):
                yield x[i:i + 20], y[i:i + 20]

    if data == "pydataset":
        train = (Batches(16),)
    elif data == "pydataset_weighted":
        train = (Batches(16, weighted=True),)
    elif data == "generator":
        train = (endless(),)
    if fk.get("validation_data") == "pydataset":
        fk["validation_data"] = Batches(25)
    callback = fk.pop("callback", None)
    if callback in ("swap_ema", "swap_ema_epoch"):  # validation (and more) on the averages
        fk["callbacks"] = [keras.callbacks.SwapEMAWeights(
            swap_on_epoch=callback == "swap_ema_epoch")]
    if callback == "reduce":
        fk["callbacks"] = [keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5,
                                                             patience=0, min_delta=10)]
    elif callback == "early":
        fk["callbacks"] = [keras.callbacks.EarlyStopping(monitor="loss", patience=1,
                                                         restore_best_weights=True,
                                                         min_delta=10)]
    weights = fk.pop("sample_weight", False)
    if weights == "steps":  # one weight per time step (Keras takes no per-sample weights
        # on a masked sequence output)
        fk["sample_weight"] = np.random.default_rng(4).random(y.shape).astype("f4")
    elif weights:
        fk["sample_weight"] = sw
    if fk.get("validation_data") is True:
        fk["validation_data"] = (x[:20], y[:20])
    if len(train) == 2:
        fk["batch_size"] = batch_size
    h = model.fit(*train, epochs=epochs, shuffle=False, verbose=0, **fk)
    ev = model.evaluate(x, y, verbose=0, return_dict=True)
    hist = {k: [float(v) for v in vs] for k, vs in h.history.items()}
    return (start, hist, {k: float(v) for k, v in ev.items()},
            [np.asarray(w).tolist() for w in model.get_weights()])


if __name__ == "__main__":
    os.environ["KERAS_BACKEND"] = "torch"
    import keras

    print(json.dumps({name: run(keras, name) for name in CASES}))
    sys.exit(0)
