"""keras.io's English-to-Spanish translation Transformer
(examples/nlp/neural_machine_translation_with_transformer.py), written with Keras 3 ops as
the example writes it, at toy sizes on synthetic padded ids: layers of one's own that make
a mask (``compute_mask``), take it (``call(..., mask=None)``, ``supports_masking``), and a
nested functional decoder whose call has two tensor arguments (so Keras 3 passes it no
``mask``). ``run(keras, initial)`` takes Keras or glassnet; run as a script under Keras it
prints the initial weights and what ``fit`` reported, as JSON (test_masks_match_keras)."""

import json
import os
import sys

import numpy as np

VOCAB, LENGTH, EMBED, LATENT, HEADS = 30, 8, 8, 16, 2


def _layers(keras):
    layers, ops = keras.layers, keras.ops

    class TransformerEncoder(layers.Layer):
        def __init__(self, embed_dim, dense_dim, num_heads, **kwargs):
            super().__init__(**kwargs)
            self.attention = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
            self.dense_proj = keras.Sequential([layers.Dense(dense_dim, activation="relu"),
                                               layers.Dense(embed_dim)])
            self.layernorm_1 = layers.LayerNormalization()
            self.layernorm_2 = layers.LayerNormalization()
            self.supports_masking = True

        def call(self, inputs, mask=None):
            padding_mask = None
            if mask is not None:
                padding_mask = ops.cast(mask[:, None, :], dtype="int32")
            attention_output = self.attention(query=inputs, value=inputs, key=inputs,
                                              attention_mask=padding_mask)
            proj_input = self.layernorm_1(inputs + attention_output)
            proj_output = self.dense_proj(proj_input)
            return self.layernorm_2(proj_input + proj_output)

    class PositionalEmbedding(layers.Layer):
        def __init__(self, sequence_length, vocab_size, embed_dim, **kwargs):
            super().__init__(**kwargs)
            self.token_embeddings = layers.Embedding(input_dim=vocab_size,
                                                     output_dim=embed_dim)
            self.position_embeddings = layers.Embedding(input_dim=sequence_length,
                                                        output_dim=embed_dim)

        def call(self, inputs):
            length = ops.shape(inputs)[-1]
            positions = ops.arange(0, length, 1)
            return self.token_embeddings(inputs) + self.position_embeddings(positions)

        def compute_mask(self, inputs, mask=None):
            return ops.not_equal(inputs, 0)

    class TransformerDecoder(layers.Layer):
        def __init__(self, embed_dim, latent_dim, num_heads, **kwargs):
            super().__init__(**kwargs)
            self.attention_1 = layers.MultiHeadAttention(num_heads=num_heads,
                                                         key_dim=embed_dim)
            self.attention_2 = layers.MultiHeadAttention(num_heads=num_heads,
                                                         key_dim=embed_dim)
            self.dense_proj = keras.Sequential([layers.Dense(latent_dim, activation="relu"),
                                               layers.Dense(embed_dim)])
            self.layernorm_1 = layers.LayerNormalization()
            self.layernorm_2 = layers.LayerNormalization()
            self.layernorm_3 = layers.LayerNormalization()
            self.supports_masking = True

        def call(self, inputs, encoder_outputs, mask=None):
            causal_mask = self.get_causal_attention_mask(inputs)
            padding_mask = None
            if mask is not None:  # never, in Keras 3: two tensor arguments, no `mask`
                padding_mask = ops.cast(mask[:, None, :], dtype="int32")
                padding_mask = ops.minimum(padding_mask, causal_mask)
            a1 = self.attention_1(query=inputs, value=inputs, key=inputs,
                                  attention_mask=causal_mask)
            out_1 = self.layernorm_1(inputs + a1)
            a2 = self.attention_2(query=out_1, value=encoder_outputs, key=encoder_outputs,
                                  attention_mask=padding_mask)
            out_2 = self.layernorm_2(out_1 + a2)
            return self.layernorm_3(out_2 + self.dense_proj(out_2))

        def get_causal_attention_mask(self, inputs):
            input_shape = ops.shape(inputs)
            batch_size, sequence_length = input_shape[0], input_shape[1]
            i = ops.arange(sequence_length)[:, None]
            j = ops.arange(sequence_length)
            mask = ops.cast(i >= j, dtype="int32")
            mask = ops.reshape(mask, (1, input_shape[1], input_shape[1]))
            mult = ops.concatenate([ops.expand_dims(batch_size, -1),
                                    ops.convert_to_tensor([1, 1])], axis=0)
            return ops.tile(mask, mult)

    return PositionalEmbedding, TransformerEncoder, TransformerDecoder


def _ids(seed, n=64):
    """Padded ids: 2..LENGTH tokens then zeros."""
    r = np.random.default_rng(seed)
    return r.integers(1, VOCAB, (n, LENGTH)) * (
        np.arange(LENGTH) < r.integers(2, LENGTH + 1, (n, 1)))


def run(keras, initial=None):
    """(initial weights, fit's history, final weights) of 2 epochs of the translator."""
    PositionalEmbedding, TransformerEncoder, TransformerDecoder = _layers(keras)
    layers = keras.layers
    keras.utils.set_random_seed(0)
    encoder_inputs = keras.Input(shape=(None,), dtype="int64", name="encoder_inputs")
    x = PositionalEmbedding(LENGTH, VOCAB, EMBED)(encoder_inputs)
    encoder_outputs = TransformerEncoder(EMBED, LATENT, HEADS)(x)
    decoder_inputs = keras.Input(shape=(None,), dtype="int64", name="decoder_inputs")
    encoded_seq_inputs = keras.Input(shape=(None, EMBED), name="decoder_state_inputs")
    x = PositionalEmbedding(LENGTH, VOCAB, EMBED)(decoder_inputs)
    x = TransformerDecoder(EMBED, LATENT, HEADS)(x, encoded_seq_inputs)
    x = layers.Dropout(0.0)(x)
    decoder_outputs = layers.Dense(VOCAB, activation="softmax")(x)
    decoder = keras.Model([decoder_inputs, encoded_seq_inputs], decoder_outputs)
    decoder_outputs = decoder([decoder_inputs, encoder_outputs])
    transformer = keras.Model([encoder_inputs, decoder_inputs], decoder_outputs,
                              name="transformer")
    if initial is not None:
        transformer.set_weights([np.asarray(w, "f4") for w in initial])
    start = [np.asarray(w).tolist() for w in transformer.get_weights()]
    enc, dec = _ids(1), _ids(2)
    dec_in, target = dec[:, :-1], dec[:, 1:]
    transformer.compile("rmsprop", loss="sparse_categorical_crossentropy",
                        metrics=["accuracy"])
    h = transformer.fit({"encoder_inputs": enc, "decoder_inputs": dec_in}, target,
                        batch_size=16, epochs=2, shuffle=False, verbose=0,
                        validation_data=({"encoder_inputs": enc[:16],
                                          "decoder_inputs": dec_in[:16]}, target[:16]))
    return (start, {k: [float(v) for v in vs] for k, vs in h.history.items()},
            [np.asarray(w).tolist() for w in transformer.get_weights()])


def run_gpt(keras, initial=None):
    """keras.io's miniature GPT (examples/generative/text_generation_with_miniature_gpt.py,
    Keras 3 ops): a causal ``attention_mask`` built with ops, a model with two outputs of
    which only the logits have a loss (``loss=[fn, None]``, one target array), dropout 0."""
    layers, ops = keras.layers, keras.ops

    def causal_attention_mask(batch_size, n_dest, n_src, dtype):
        i = ops.arange(n_dest)[:, None]
        j = ops.arange(n_src)
        m = i >= j - n_src + n_dest
        mask = ops.cast(m, dtype)
        mask = ops.reshape(mask, [1, n_dest, n_src])
        mult = ops.concatenate([ops.expand_dims(batch_size, -1),
                                ops.convert_to_tensor([1, 1])], 0)
        return ops.tile(mask, mult)

    class TransformerBlock(layers.Layer):
        def __init__(self, embed_dim, num_heads, ff_dim, rate=0.0):
            super().__init__()
            self.att = layers.MultiHeadAttention(num_heads, embed_dim)
            self.ffn = keras.Sequential([layers.Dense(ff_dim, activation="relu"),
                                         layers.Dense(embed_dim)])
            self.layernorm1 = layers.LayerNormalization(epsilon=1e-6)
            self.layernorm2 = layers.LayerNormalization(epsilon=1e-6)
            self.dropout1 = layers.Dropout(rate)
            self.dropout2 = layers.Dropout(rate)

        def call(self, inputs):
            input_shape = ops.shape(inputs)
            causal_mask = causal_attention_mask(input_shape[0], input_shape[1],
                                                input_shape[1], "bool")
            attention_output = self.att(inputs, inputs, attention_mask=causal_mask)
            out1 = self.layernorm1(inputs + self.dropout1(attention_output))
            return self.layernorm2(out1 + self.dropout2(self.ffn(out1)))

    class TokenAndPositionEmbedding(layers.Layer):
        def __init__(self, maxlen, vocab_size, embed_dim):
            super().__init__()
            self.token_emb = layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)
            self.pos_emb = layers.Embedding(input_dim=maxlen, output_dim=embed_dim)

        def call(self, x):
            positions = self.pos_emb(ops.arange(0, ops.shape(x)[-1], 1))
            return self.token_emb(x) + positions

    vocab_size, maxlen, embed_dim = 50, 10, 16
    keras.utils.set_random_seed(0)
    inputs = layers.Input(shape=(maxlen,), dtype="int32")
    x = TokenAndPositionEmbedding(maxlen, vocab_size, embed_dim)(inputs)
    x = TransformerBlock(embed_dim, 2, 16)(x)
    model = keras.Model(inputs=inputs, outputs=[layers.Dense(vocab_size)(x), x])
    model.compile("adam", loss=[keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                                None])
    if initial is not None:
        model.set_weights([np.asarray(w, "f4") for w in initial])
    start = [np.asarray(w).tolist() for w in model.get_weights()]
    toks = np.random.default_rng(0).integers(1, vocab_size, (64, maxlen + 1))
    h = model.fit(toks[:, :-1], toks[:, 1:], batch_size=16, epochs=2, shuffle=False,
                  verbose=0)
    return (start, {k: [float(v) for v in vs] for k, vs in h.history.items()},
            [np.asarray(w).tolist() for w in model.get_weights()])


if __name__ == "__main__":
    os.environ["KERAS_BACKEND"] = "torch"
    import keras

    print(json.dumps({"translator": run(keras), "gpt": run_gpt(keras)}))
    sys.exit(0)
