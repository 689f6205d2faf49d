"""Text classification with a Transformer: keras.io's example (Apoorv Nandan) on glassnet.

A ``TokenAndPositionEmbedding`` (token embedding + learned position embedding, the
Embedding + position-embedding pattern) feeds one ``TransformerBlock`` (multi-head
self-attention, residual + LayerNormalization, a feed-forward net, residual +
LayerNormalization); the mean over time steps goes to a small classifier head. The model
code is keras.io's with ``import glassnet as keras``.

Data: the IMDB reviews (``keras.datasets.imdb``, 20 000 words, 200 steps, as keras.io)
when glassnet has that loader and the file can be had; otherwise (offline, or
``--synthetic``) a synthetic corpus in IMDB's format whose labels hang on a few sentiment
words, so the script always runs. ``tests/keras_scripts/transformer_text_classification.py``
is the same script as a test.

Run: ``python examples/transformer_text.py [--epochs 2] [--synthetic]``
"""

from __future__ import annotations

import argparse

import numpy as np

import glassnet as keras
from glassnet import layers, ops


class TransformerBlock(layers.Layer):
    """Self-attention and a feed-forward net, each with a residual and LayerNormalization."""

    def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1):
        super().__init__()
        self.att = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
        self.ffn = keras.Sequential(
            [layers.Dense(ff_dim, activation="relu"), layers.Dense(embed_dim)]
        )
        self.layernorm1 = layers.LayerNormalization(epsilon=1e-6)
        self.layernorm2 = layers.LayerNormalization(epsilon=1e-6)
        self.dropout1 = layers.Dropout(rate)
        self.dropout2 = layers.Dropout(rate)

    def call(self, inputs, training=False):
        # keras.io writes call(self, inputs) and Keras hands `training` to the Dropout
        # layers through its call context; glassnet passes it explicitly
        attn_output = self.att(inputs, inputs)
        attn_output = self.dropout1(attn_output, training=training)
        out1 = self.layernorm1(inputs + attn_output)
        ffn_output = self.ffn(out1)
        ffn_output = self.dropout2(ffn_output, training=training)
        return self.layernorm2(out1 + ffn_output)


class TokenAndPositionEmbedding(layers.Layer):
    """Token embedding plus a learned embedding of each position 0..maxlen-1."""

    def __init__(self, maxlen, vocab_size, embed_dim):
        super().__init__()
        self.token_emb = layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)
        self.pos_emb = layers.Embedding(input_dim=maxlen, output_dim=embed_dim)

    def call(self, x):
        maxlen = ops.shape(x)[-1]
        positions = ops.arange(start=0, stop=maxlen, step=1)
        positions = self.pos_emb(positions)
        x = self.token_emb(x)
        return x + positions


def synthetic_reviews(n: int, vocab_size: int, rng) -> tuple[list, np.ndarray]:
    """IMDB-format reviews: random words (ids >= 20) with three sentiment words, ids 4..11
    in positive reviews and 12..19 in negative ones; each starts with IMDB's start id 1."""
    labels = rng.integers(0, 2, n)
    seqs = []
    for y in labels:
        length = int(rng.integers(10, 60))
        seq = rng.integers(20, vocab_size, length)
        seq[rng.choice(length, size=3, replace=False)] = rng.integers(4, 12, 3) + 8 * (y == 0)
        seqs.append([1] + seq.tolist())
    return seqs, labels


def load_data(vocab_size: int, synthetic: bool, rng):
    """IMDB when available (``keras.datasets.imdb``), else the synthetic corpus (which the
    caller regenerates at small sizes: 500 words, 40 steps)."""
    if not synthetic:
        try:
            return keras.datasets.imdb.load_data(num_words=vocab_size), "imdb"
        except (AttributeError, ImportError, OSError, RuntimeError) as e:
            print(f"IMDB not available ({type(e).__name__}: {e}); using a synthetic corpus")
    train = synthetic_reviews(2000, vocab_size, rng)
    val = synthetic_reviews(500, vocab_size, rng)
    return (train, val), "synthetic"


def build_model(maxlen: int, vocab_size: int, embed_dim=32, num_heads=2, ff_dim=32):
    """keras.io's classifier: embeddings → TransformerBlock → mean over time → Dense head."""
    inputs = layers.Input(shape=(maxlen,))
    x = TokenAndPositionEmbedding(maxlen, vocab_size, embed_dim)(inputs)
    x = TransformerBlock(embed_dim, num_heads, ff_dim)(x)
    x = layers.GlobalAveragePooling1D()(x)
    x = layers.Dropout(0.1)(x)
    x = layers.Dense(20, activation="relu")(x)
    x = layers.Dropout(0.1)(x)
    outputs = layers.Dense(2, activation="softmax")(x)
    return keras.Model(inputs=inputs, outputs=outputs)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--synthetic", action="store_true", help="skip IMDB, use the synthetic set")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    keras.set_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    vocab_size, maxlen = 20000, 200  # keras.io's sizes for IMDB
    ((x_train, y_train), (x_val, y_val)), source = load_data(vocab_size, args.synthetic, rng)
    if source == "synthetic":
        vocab_size, maxlen = 500, 40
        ((x_train, y_train), (x_val, y_val)), _ = load_data(vocab_size, True, rng)
    print(len(x_train), "Training sequences")
    print(len(x_val), "Validation sequences")
    x_train = keras.utils.pad_sequences(x_train, maxlen=maxlen)
    x_val = keras.utils.pad_sequences(x_val, maxlen=maxlen)

    model = build_model(maxlen, vocab_size)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs,
                        validation_data=(x_val, y_val))
    out = {"data": source, "val_accuracy": float(history.history["val_accuracy"][-1])}
    print(out)
    return out


if __name__ == "__main__":
    main()
