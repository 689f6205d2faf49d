"""
Title: Text classification from scratch (the model part)
Author: Mark Omernick, Francois Chollet (keras.io/examples/nlp/text_classification_from_scratch/)
Changes for the test suite: IMDB is a download, so the "reviews" are synthetic token ids
(a review is positive when it holds more "good" than "bad" tokens); 1,000 reviews of 40
tokens, 32 filters, 3 epochs.
The model is the tutorial's: a functional Embedding input, Conv1D blocks, GlobalMaxPooling1D.
"""

import numpy as np
import keras
from keras import layers

keras.utils.set_random_seed(2)

max_features = 200
embedding_dim = 32
sequence_length = 40

rng = np.random.default_rng(0)
good, bad = np.arange(2, 12), np.arange(12, 22)
x = rng.integers(22, max_features, (1200, sequence_length))
y = rng.integers(0, 2, 1200)
for i in range(len(x)):
    words = rng.choice(good if y[i] else bad, 8)
    x[i, rng.choice(sequence_length, 8, replace=False)] = words
x_train, y_train, x_val, y_val = x[:1000], y[:1000], x[1000:], y[1000:]

# A integer input for vocab indices.
inputs = keras.Input(shape=(None,), dtype="int64")

# Next, we add a layer to map those vocab indices into a space of dimensionality
# 'embedding_dim'.
x = layers.Embedding(max_features, embedding_dim)(inputs)
x = layers.Dropout(0.5)(x)

# Conv1D + global max pooling
x = layers.Conv1D(32, 7, padding="valid", activation="relu", strides=3)(x)
x = layers.Conv1D(32, 7, padding="valid", activation="relu", strides=3)(x)
x = layers.GlobalMaxPooling1D()(x)

# We add a vanilla hidden layer:
x = layers.Dense(64, activation="relu")(x)
x = layers.Dropout(0.5)(x)

# We project onto a single unit output layer, and squash it with a sigmoid:
predictions = layers.Dense(1, activation="sigmoid", name="predictions")(x)

model = keras.Model(inputs, predictions)

# Compile the model with binary crossentropy loss and an adam optimizer.
model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])

epochs = 3

# Fit the model using the train and test datasets.
model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=epochs, batch_size=32)

loss, accuracy = model.evaluate(x_val, y_val, verbose=0)
print("Validation loss:", loss)
print("Validation accuracy:", accuracy)
