"""
Title: Named Entity Recognition using Transformers
Author: Varun Singh (keras.io/examples/nlp/ner_transformers/)
Changes for the test suite: the CoNLL-2003 dataset is a download (through the datasets
package), so a seeded stand-in of tagged sentences is made here: tokens whose ids carry
their tag (a person's, a place's or none), 400 training and 100 validation sentences
padded to 24 tokens; the tf.data pipeline becomes padded arrays (padding tag 0, as the
tutorial's); 4 epochs instead of 10; the per-entity report is kept as counts.
"""

import numpy as np
import keras
from keras import ops
from keras import layers

keras.utils.set_random_seed(18)
rng = np.random.default_rng(18)


class TransformerBlock(layers.Layer):
    def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1):
        super().__init__()
        self.att = keras.layers.MultiHeadAttention(
            num_heads=num_heads, key_dim=embed_dim
        )
        self.ffn = keras.Sequential(
            [
                keras.layers.Dense(ff_dim, activation="relu"),
                keras.layers.Dense(embed_dim),
            ]
        )
        self.layernorm1 = keras.layers.LayerNormalization(epsilon=1e-6)
        self.layernorm2 = keras.layers.LayerNormalization(epsilon=1e-6)
        self.dropout1 = keras.layers.Dropout(rate)
        self.dropout2 = keras.layers.Dropout(rate)

    def call(self, inputs, training=False):
        attn_output = self.att(inputs, inputs)
        attn_output = self.dropout1(attn_output, training=training)
        out1 = self.layernorm1(inputs + attn_output)
        ffn_output = self.ffn(out1)
        ffn_output = self.dropout2(ffn_output, training=training)
        return self.layernorm2(out1 + ffn_output)


class TokenAndPositionEmbedding(layers.Layer):
    def __init__(self, maxlen, vocab_size, embed_dim):
        super().__init__()
        self.token_emb = keras.layers.Embedding(
            input_dim=vocab_size, output_dim=embed_dim
        )
        self.pos_emb = keras.layers.Embedding(input_dim=maxlen, output_dim=embed_dim)

    def call(self, inputs):
        maxlen = ops.shape(inputs)[-1]
        positions = ops.arange(start=0, stop=maxlen, step=1)
        position_embeddings = self.pos_emb(positions)
        token_embeddings = self.token_emb(inputs)
        return token_embeddings + position_embeddings


class NERModel(keras.Model):
    def __init__(
        self, num_tags, vocab_size, maxlen=128, embed_dim=32, num_heads=2, ff_dim=32
    ):
        super().__init__()
        self.embedding_layer = TokenAndPositionEmbedding(maxlen, vocab_size, embed_dim)
        self.transformer_block = TransformerBlock(embed_dim, num_heads, ff_dim)
        self.dropout1 = layers.Dropout(0.1)
        self.ff = layers.Dense(ff_dim, activation="relu")
        self.dropout2 = layers.Dropout(0.1)
        self.ff_final = layers.Dense(num_tags, activation="softmax")

    def call(self, inputs, training=False):
        x = self.embedding_layer(inputs)
        x = self.transformer_block(x)
        x = self.dropout1(x, training=training)
        x = self.ff(x)
        x = self.dropout2(x, training=training)
        x = self.ff_final(x)
        return x


# The stand-in for the CoNLL-2003 sentences: tag 1 is "O", 2 a person, 3 a place; the
# padding is tag 0 (the tutorial shifts CoNLL's tags by one for the same reason)
mapping = {0: "[PAD]", 1: "O", 2: "B-PER", 3: "B-LOC"}
num_tags = len(mapping)
vocab_size = 200
maxlen = 24


def make_sentences(n):
    tokens = np.zeros((n, maxlen), "int64")
    tags = np.zeros((n, maxlen), "int64")
    for i in range(n):
        length = rng.integers(6, maxlen + 1)
        t = rng.choice([1, 2, 3], length, p=[0.7, 0.15, 0.15])
        # ids 1-99 are plain words, 100-149 names, 150-199 places
        ids = np.where(t == 1, rng.integers(1, 100, length),
                       np.where(t == 2, rng.integers(100, 150, length),
                                rng.integers(150, 200, length)))
        tokens[i, :length], tags[i, :length] = ids, t
    return tokens, tags


x_train, y_train = make_sentences(400)
x_val, y_val = make_sentences(100)


class CustomNonPaddingTokenLoss(keras.losses.Loss):
    def __init__(self, name="custom_ner_loss"):
        super().__init__(name=name)

    def call(self, y_true, y_pred):
        loss_fn = keras.losses.SparseCategoricalCrossentropy(
            from_logits=False, reduction=None
        )
        loss = loss_fn(y_true, y_pred)
        mask = ops.cast((y_true > 0), dtype="float32")
        loss = loss * mask
        return ops.sum(loss) / ops.sum(mask)


ner_model = NERModel(num_tags, vocab_size, maxlen=maxlen, embed_dim=32, num_heads=4,
                     ff_dim=64)
loss = CustomNonPaddingTokenLoss()

ner_model.compile(optimizer="adam", loss=loss)
history = ner_model.fit(x_train, y_train, batch_size=32, epochs=4)

sample_input = x_val[:1]
output = ner_model.predict(sample_input)
prediction = np.argmax(output, axis=-1)[0]
prediction = [mapping[i] for i in prediction]


def calculate_metrics(x, y):
    all_true_tag_ids, all_predicted_tag_ids = [], []

    for start in range(0, len(x), 32):
        xb, yb = x[start : start + 32], y[start : start + 32]
        output = ner_model.predict(xb, verbose=0)
        predictions = ops.argmax(output, axis=-1)
        predictions = ops.reshape(predictions, [-1])

        true_tag_ids = ops.reshape(yb, [-1])

        mask = (true_tag_ids > 0) & (predictions > 0)
        true_tag_ids = true_tag_ids[mask]
        predicted_tag_ids = predictions[mask]

        all_true_tag_ids.append(ops.convert_to_numpy(true_tag_ids))
        all_predicted_tag_ids.append(ops.convert_to_numpy(predicted_tag_ids))

    all_true_tag_ids = np.concatenate(all_true_tag_ids)
    all_predicted_tag_ids = np.concatenate(all_predicted_tag_ids)
    return np.mean(all_true_tag_ids == all_predicted_tag_ids)


print("Final training loss:", history.history["loss"][-1])
print("Validation tag accuracy:", calculate_metrics(x_val, y_val))
print("Sample prediction length:", len(prediction))
