"""
Title: Text classification from scratch (TextVectorization on raw strings, and the
end-to-end model)
Author: Mark Omernick, Francois Chollet (keras.io/examples/nlp/text_classification_from_scratch/)
Changes for the test suite: IMDB is a download, so a small corpus written below stands in:
600 short reviews put together from a fixed list of phrases with a seeded NumPy generator (a
review is positive when its verdict phrases are); the tutorial's tf.data pipeline goes (the
texts are NumPy string arrays), and its custom standardization (tf.strings, to strip
"<br />") gives way to the layer's default "lower_and_strip_punctuation". 1,000 tokens,
sequences of 64, batches of 16, 3 epochs, a fixed seed. The final lines print the end-to-end
model's accuracy on raw test strings.
"""

import numpy as np
import keras
from keras import layers
from keras.layers import TextVectorization

keras.utils.set_random_seed(5)

# The corpus
openings = [
    "I watched this film last night.",
    "We saw it at the cinema on Friday!",
    "My sister picked this one for movie night.",
    "Finally caught up with this picture.",
    "Another sequel, another evening on the couch.",
    "This was the festival's closing film.",
]
neutral = [
    "The story follows a family in a small town.",
    "It runs for about two hours.",
    "The soundtrack is mostly piano.",
    "Most of it was shot in winter.",
    "The director also wrote the script.",
    "There is a long scene at a train station.",
    "The lead actor plays a retired teacher.",
]
good = [
    "The acting was superb and the plot gripping.",
    "A wonderful, moving and beautifully shot movie.",
    "I loved every minute; brilliant work.",
    "Funny, warm and clever: a delight.",
    "One of the best films I have seen this year.",
    "The ending was perfect and I was thrilled.",
    "Highly recommended, a true masterpiece.",
]
bad = [
    "The acting was wooden and the plot dull.",
    "A boring, clumsy and badly shot movie.",
    "I hated every minute; awful work.",
    "Unfunny, cold and stupid: a chore.",
    "One of the worst films I have seen this year.",
    "The ending was terrible and I was bored.",
    "Avoid it, a complete waste of time.",
]

rng = np.random.default_rng(0)


def review(positive):
    verdicts = good if positive else bad
    body = list(rng.choice(neutral, size=2, replace=False))
    body += list(rng.choice(verdicts, size=2, replace=False))
    rng.shuffle(body)
    return " ".join([rng.choice(openings)] + body)


labels = rng.integers(0, 2, 600)
texts = np.array([review(bool(y)) for y in labels])
raw_train_x, raw_train_y = texts[:400], labels[:400]
raw_val_x, raw_val_y = texts[400:500], labels[400:500]
raw_test_x, raw_test_y = texts[500:], labels[500:]
print(raw_train_x[0], "->", raw_train_y[0])

# Model constants.
max_features = 1000
embedding_dim = 128
sequence_length = 64

# We are using this layer to normalize, split, and map strings to integers,
# so we set our 'output_mode' to 'int'.
# Note that we're using the default split function and standardization.
# We also set an explicit maximum sequence length, since the CNNs later in our
# model won't support ragged sequences.
vectorize_layer = TextVectorization(
    max_tokens=max_features,
    output_mode="int",
    output_sequence_length=sequence_length,
)

# Now that the vocab layer has been created, call `adapt` on a text-only
# dataset to create the vocabulary. You don't have to batch, but for very large
# datasets this means you're not keeping spare copies of the dataset in memory.

# Let's make a text-only dataset (no labels):
text_ds = raw_train_x
# Let's call `adapt`:
vectorize_layer.adapt(text_ds)
print("Vocabulary size:", len(vectorize_layer.get_vocabulary()))


def vectorize_text(text, label):
    text = np.expand_dims(text, -1)
    return vectorize_layer(text), label


# Vectorize the data.
train_x, train_y = vectorize_text(raw_train_x, raw_train_y)
val_x, val_y = vectorize_text(raw_val_x, raw_val_y)

# A integer input for vocab indices.
inputs = keras.Input(shape=(None,), dtype="int64")

# Next, we add a layer to map those vocab indices into a space of dimensionality
# 'embedding_dim'.
x = layers.Embedding(max_features, embedding_dim)(inputs)
x = layers.Dropout(0.5)(x)

# Conv1D + global max pooling
x = layers.Conv1D(128, 7, padding="valid", activation="relu", strides=3)(x)
x = layers.Conv1D(128, 7, padding="valid", activation="relu", strides=3)(x)
x = layers.GlobalMaxPooling1D()(x)

# We add a vanilla hidden layer:
x = layers.Dense(128, activation="relu")(x)
x = layers.Dropout(0.5)(x)

# We project onto a single unit output layer, and squash it with a sigmoid:
predictions = layers.Dense(1, activation="sigmoid", name="predictions")(x)

model = keras.Model(inputs, predictions)

# Compile the model with binary crossentropy loss and an adam optimizer.
model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])

epochs = 3

# Fit the model using the train and test datasets.
model.fit(train_x, train_y, validation_data=(val_x, val_y), epochs=epochs, batch_size=16)

# A string input
inputs = keras.Input(shape=(1,), dtype="string")
# Turn strings into vocab indices
indices = vectorize_layer(inputs)
# Turn vocab indices into predictions
outputs = model(indices)

# Our end to end model
end_to_end_model = keras.Model(inputs, outputs)
end_to_end_model.compile(
    loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"]
)

# Test it with raw strings
loss, accuracy = end_to_end_model.evaluate(np.expand_dims(raw_test_x, -1), raw_test_y)
print("Test loss:", float(loss))
print("Test accuracy:", float(accuracy))
