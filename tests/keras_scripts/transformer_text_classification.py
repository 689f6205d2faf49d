"""
Title: Text classification with Transformer
Author: Apoorv Nandan (keras.io/examples/nlp/text_classification_with_transformer/), Keras 3
Changes for the test suite: IMDB is a download, so the reviews are a synthetic corpus in
IMDB's format (padded word ids, 0/1 labels; a few sentiment words decide the label);
vocab_size 500, maxlen 40, 1,000 reviews, 4 epochs, a fixed seed, and the final line
prints the validation accuracy. The model code is keras.io's, line for line.
tests/test_attention.py runs it with its imports swapped to glassnet, and on real Keras.
"""

import keras
import numpy as np
from keras import layers, ops

keras.utils.set_random_seed(7)

"""
## Implement a Transformer block as a layer
"""


class TransformerBlock(layers.Layer):
    def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1):
        super().__init__()
        self.att = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
        self.ffn = keras.Sequential(
            [
                layers.Dense(ff_dim, activation="relu"),
                layers.Dense(embed_dim),
            ]
        )
        self.layernorm1 = layers.LayerNormalization(epsilon=1e-6)
        self.layernorm2 = layers.LayerNormalization(epsilon=1e-6)
        self.dropout1 = layers.Dropout(rate)
        self.dropout2 = layers.Dropout(rate)

    def call(self, inputs):
        attn_output = self.att(inputs, inputs)
        attn_output = self.dropout1(attn_output)
        out1 = self.layernorm1(inputs + attn_output)
        ffn_output = self.ffn(out1)
        ffn_output = self.dropout2(ffn_output)
        return self.layernorm2(out1 + ffn_output)


"""
## Implement embedding layer

Two separate embedding layers, one for tokens, one for token index (positions).
"""


class TokenAndPositionEmbedding(layers.Layer):
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


"""
## Prepare dataset (synthetic, in IMDB's format: was keras.datasets.imdb.load_data)
"""

vocab_size = 500  # keras.io: 20000
maxlen = 40  # keras.io: 200
rng = np.random.default_rng(0)


def synthetic_reviews(n):
    """Reviews of random "neutral" words (ids 20..) with a few sentiment words: ids 4..11
    for positive reviews, 12..19 for negative ones (ids 0-3 are IMDB's reserved ids)."""
    labels = rng.integers(0, 2, n)
    seqs = []
    for y in labels:
        length = int(rng.integers(10, 60))
        seq = rng.integers(20, vocab_size, length)
        where = rng.choice(length, size=3, replace=False)
        seq[where] = rng.integers(4, 12, 3) + (0 if y == 1 else 8)
        seqs.append([1] + seq.tolist())  # 1: IMDB's start token
    return seqs, labels


x_train, y_train = synthetic_reviews(1000)
x_val, y_val = synthetic_reviews(200)
print(len(x_train), "Training sequences")
print(len(x_val), "Validation sequences")
x_train = keras.utils.pad_sequences(x_train, maxlen=maxlen)
x_val = keras.utils.pad_sequences(x_val, maxlen=maxlen)

"""
## Create classifier model using transformer layer
"""

embed_dim = 32  # Embedding size for each token
num_heads = 2  # Number of attention heads
ff_dim = 32  # Hidden layer size in feed forward network inside transformer

inputs = layers.Input(shape=(maxlen,))
embedding_layer = TokenAndPositionEmbedding(maxlen, vocab_size, embed_dim)
x = embedding_layer(inputs)
transformer_block = TransformerBlock(embed_dim, num_heads, ff_dim)
x = transformer_block(x)
x = layers.GlobalAveragePooling1D()(x)
x = layers.Dropout(0.1)(x)
x = layers.Dense(20, activation="relu")(x)
x = layers.Dropout(0.1)(x)
outputs = layers.Dense(2, activation="softmax")(x)

model = keras.Model(inputs=inputs, outputs=outputs)

"""
## Train and Evaluate
"""

model.compile(
    optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"]
)
history = model.fit(
    x_train, y_train, batch_size=32, epochs=4, validation_data=(x_val, y_val)
)
print("Validation accuracy:", history.history["val_accuracy"][-1])
