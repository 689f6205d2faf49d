"""
Title: Character-level text generation with LSTM
Author: fchollet (keras.io/examples/generative/lstm_character_level_text_generation/)
Changes for the test suite: Nietzsche's text is a download, so a seeded stand-in corpus of
the same alphabet is made from a few repeated sentences (12,000 characters); 3 epochs of
one fit each instead of 40, and one diversity per epoch; the generated text is counted,
not printed.
"""

import keras
from keras import layers

import numpy as np
import random
import io

keras.utils.set_random_seed(16)
random.seed(16)

# The stand-in for keras.utils.get_file("nietzsche.txt", ...)
sentences_pool = [
    "supposing that truth is a woman--what then? ",
    "is there not ground for suspecting that all philosophers, ",
    "in so far as they have been dogmatists, have failed to understand women? ",
    "the terrible seriousness and clumsy importunity with which they have ",
    "usually paid their addresses to truth, have been unskilled and unseemly methods. ",
]
rng = np.random.default_rng(16)
text = "".join(sentences_pool[i] for i in rng.integers(0, 5, 200))[:12000]
text = text.replace("\n", " ")  # We remove newlines chars for nicer display
print("Corpus length:", len(text))

chars = sorted(list(set(text)))
print("Total chars:", len(chars))
char_indices = dict((c, i) for i, c in enumerate(chars))
indices_char = dict((i, c) for i, c in enumerate(chars))

# cut the text in semi-redundant sequences of maxlen characters
maxlen = 40
step = 3
sentences = []
next_chars = []
for i in range(0, len(text) - maxlen, step):
    sentences.append(text[i : i + maxlen])
    next_chars.append(text[i + maxlen])
print("Number of sequences:", len(sentences))

x = np.zeros((len(sentences), maxlen, len(chars)), dtype="bool")
y = np.zeros((len(sentences), len(chars)), dtype="bool")
for i, sentence in enumerate(sentences):
    for t, char in enumerate(sentence):
        x[i, t, char_indices[char]] = 1
    y[i, char_indices[next_chars[i]]] = 1

model = keras.Sequential(
    [
        keras.Input(shape=(maxlen, len(chars))),
        layers.LSTM(128),
        layers.Dense(len(chars), activation="softmax"),
    ]
)
optimizer = keras.optimizers.RMSprop(learning_rate=0.01)
model.compile(loss="categorical_crossentropy", optimizer=optimizer)


def sample(preds, temperature=1.0):
    # helper function to sample an index from a probability array
    preds = np.asarray(preds).astype("float64")
    preds = np.log(preds) / temperature
    exp_preds = np.exp(preds)
    preds = exp_preds / np.sum(exp_preds)
    probas = np.random.multinomial(1, preds, 1)
    return np.argmax(probas)


epochs = 3
batch_size = 128

for epoch in range(epochs):
    history = model.fit(x, y, batch_size=batch_size, epochs=1)
    print()
    print("Generating text after epoch: %d" % epoch)

    start_index = random.randint(0, len(text) - maxlen - 1)
    for diversity in [0.5]:
        print("...Diversity:", diversity)

        generated = ""
        sentence = text[start_index : start_index + maxlen]
        print('...Generating with seed: "' + sentence + '"')

        for i in range(100):
            x_pred = np.zeros((1, maxlen, len(chars)))
            for t, char in enumerate(sentence):
                x_pred[0, t, char_indices[char]] = 1.0
            preds = model.predict(x_pred, verbose=0)[0]
            next_index = sample(preds, diversity)
            next_char = indices_char[next_index]
            sentence = sentence[1:] + next_char
            generated += next_char

        print("...Generated: ", len(generated))
        print("-")

print("Final loss:", history.history["loss"][-1])
words = [w for w in generated.split() if w]
known = set(" ".join(sentences_pool).split())
print("Generated words that are real:", sum(w in known for w in words) / max(len(words), 1))
