"""
Title: Bidirectional LSTM on IMDB
Author: fchollet (keras.io/examples/nlp/bidirectional_lstm_imdb/)
Changes for the test suite: synthetic token-id reviews instead of the IMDB download (the
label says whether the review holds token 3 or token 4), 600 reviews, 16 LSTM units, 3 epochs.
"""

import numpy as np
import keras
from keras import layers

keras.utils.set_random_seed(3)

max_features = 30  # Only consider the top 30 words
maxlen = 20  # Only consider the first 20 words of each review

rng = np.random.default_rng(0)
x = rng.integers(5, max_features, (700, maxlen))
y = rng.integers(0, 2, 700)
for i in range(len(x)):
    x[i, rng.integers(maxlen)] = 3 if y[i] else 4
x_train, y_train, x_val, y_val = x[:600], y[:600], x[600:], y[600:]
print(len(x_train), "Training sequences")
print(len(x_val), "Validation sequences")
x_train = keras.utils.pad_sequences(x_train, maxlen=maxlen)
x_val = keras.utils.pad_sequences(x_val, maxlen=maxlen)

# Input for variable-length sequences of integers
inputs = keras.Input(shape=(None,), dtype="int32")
# Embed each integer in a 16-dimensional vector
x = layers.Embedding(max_features, 16)(inputs)
# Add 2 bidirectional LSTMs
x = layers.Bidirectional(layers.LSTM(16, return_sequences=True))(x)
x = layers.Bidirectional(layers.LSTM(16))(x)
# Add a classifier
outputs = layers.Dense(1, activation="sigmoid")(x)
model = keras.Model(inputs, outputs)
model.summary()

model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=32, epochs=3, validation_data=(x_val, y_val))

loss, accuracy = model.evaluate(x_val, y_val, verbose=0)
print("Validation loss:", loss)
print("Validation accuracy:", accuracy)
