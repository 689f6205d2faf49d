"""Models whose layer and weight order must match Keras 3's, written once for both
libraries (``build(keras)`` takes ``keras`` or ``glassnet``). Run as a script it builds them
with real Keras (PyTorch backend) and prints each model's order as JSON
(test_weight_order compares glassnet's with it)."""

import json
import os
import sys


def build(keras):
    layers = keras.layers
    out = {}
    # two inputs, an encoder's states passed as the decoder's initial_state (keras.io's
    # "Working with RNNs" guide)
    ei = keras.Input(shape=(None,), name="ei")
    ee = layers.Embedding(input_dim=50, output_dim=4, name="ee")(ei)
    _, h, c = layers.LSTM(3, return_state=True, name="encoder")(ee)
    di = keras.Input(shape=(None,), name="di")
    de = layers.Embedding(input_dim=60, output_dim=4, name="de")(di)
    y = layers.LSTM(3, name="decoder")(de, initial_state=[h, c])
    out["seq2seq"] = keras.Model([ei, di], layers.Dense(2, name="out")(y))
    # two inputs, BatchNormalization (non-trainable statistics) on one branch
    i1, i2 = keras.Input((4,), name="i1"), keras.Input((4,), name="i2")
    d2 = layers.Dense(2, name="d2")(i2)
    b = layers.BatchNormalization(name="bn")(layers.Dense(3, name="d1")(i1))
    out["two_inputs_bn"] = keras.Model([i2, i1], layers.Concatenate(name="cat")([b, d2]))
    # branches of different depth, a shared layer, an input the output does not use
    x, unused = keras.Input((4,), name="x"), keras.Input((2,), name="unused")
    shared = layers.Dense(4, name="shared")
    a = shared(layers.Dense(4, name="a")(x))
    z = layers.Add(name="add")([shared(x), layers.Dense(4, name="c")(a)])
    out["shared_unused"] = keras.Model([x, unused], z)
    # a Sequential with BatchNormalization, and one with a frozen sub-model (transfer
    # learning: the frozen part's weights keep their place)
    out["sequential_bn"] = keras.Sequential([
        keras.Input((5,)), layers.Dense(4, name="s1"), layers.BatchNormalization(name="sbn"),
        layers.Dense(2, name="s2")])
    base = keras.Sequential([keras.Input((3,)), layers.Dense(3, name="base_d"),
                             layers.BatchNormalization(name="base_bn")], name="base")
    base.trainable = False
    out["frozen_base"] = keras.Sequential([keras.Input((3,)), base,
                                           layers.Dense(2, name="head")])

    # a subclassed model with a seed generator of its own (keras.io's "Introduction to
    # Keras for engineers": its MyDropout), and a layer of its own with a non-trainable
    # weight: the seed state is in variables, not in weights
    class Noisy(keras.layers.Layer):
        def build(self, shape):
            self.count = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                         name="count")
            self.scale = self.add_weight(shape=(shape[-1],), initializer="ones", name="scale")

        def call(self, x):
            return x * self.scale

    class WithSeed(keras.Model):
        def __init__(self):
            super().__init__()
            self.seed_generator = keras.random.SeedGenerator(1337)
            self.noisy = Noisy(name="noisy")
            self.dense = layers.Dense(2, name="dense")

        def call(self, x):
            x = keras.random.dropout(self.noisy(x), 0.5, seed=self.seed_generator)
            return self.dense(x)

    m = WithSeed()
    m(keras.ops.ones((1, 3)))
    out["subclassed_seed"] = m
    return out


def describe(model):
    """Layer names, and each weight as (its layer's name, shape), for weights, trainable
    and non-trainable weights."""
    def owner(w):  # "sequential/s1/kernel", "encoder/lstm_cell/kernel" -> s1, encoder
        parts = str(w.path).split("/")[:-1]
        if parts[-1].startswith("seed_generator"):  # Keras numbers them: seed_generator_2
            return "seed_generator"
        return parts[-2] if parts[-1].endswith("_cell") else parts[-1]

    def ws(lst):
        return [[owner(w), [int(d) for d in w.shape]] for w in lst]
    return {"layers": [ly.name for ly in model.layers], "weights": ws(model.weights),
            "trainable": ws(model.trainable_weights),
            "non_trainable": ws(model.non_trainable_weights),
            "variables": ws(model.variables),
            "trainable_variables": ws(model.trainable_variables),
            "non_trainable_variables": ws(model.non_trainable_variables)}


if __name__ == "__main__":
    os.environ["KERAS_BACKEND"] = "torch"
    import keras

    print(json.dumps({k: describe(m) for k, m in build(keras).items()}))
    sys.exit(0)
