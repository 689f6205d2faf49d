"""
Title: The Functional API (models with multiple inputs and outputs: the ticket triage)
Author: fchollet (keras.io/guides/functional_api/)
Changes for the test suite: the guide trains on pure noise, so here the targets follow the
tags (priority = the first tag; department = the class that tags 2 and 3 spell), which gives
the model something to learn; 640 tickets, titles of 10 words and bodies of 20 from a
1,000-word vocabulary (the guide: 1,280, 10 and 100 from 10,000), 3 epochs (the guide: 2), a fixed seed; the plot is
left out. The compile step is the guide's second form: losses and loss weights as dicts keyed
by the output layers' names. The final lines print the held-out losses, and how far the total
lies from priority_loss + 0.2 * department_loss (the loss weights at work).
"""

import numpy as np
import keras
from keras import layers

keras.utils.set_random_seed(21)

num_tags = 12  # Number of unique issue tags
num_words = 1000  # Size of vocabulary obtained when preprocessing text data
num_departments = 4  # Number of departments for predictions

title_input = keras.Input(
    shape=(None,), name="title"
)  # Variable-length sequence of ints
body_input = keras.Input(shape=(None,), name="body")  # Variable-length sequence of ints
tags_input = keras.Input(
    shape=(num_tags,), name="tags"
)  # Binary vectors of size `num_tags`

# Embed each word in the title into a 64-dimensional vector
title_features = layers.Embedding(num_words, 64)(title_input)
# Embed each word in the text into a 64-dimensional vector
body_features = layers.Embedding(num_words, 64)(body_input)

# Reduce sequence of embedded words in the title into a single 128-dimensional vector
title_features = layers.LSTM(128)(title_features)
# Reduce sequence of embedded words in the body into a single 32-dimensional vector
body_features = layers.LSTM(32)(body_features)

# Merge all available features into a single large vector via concatenation
x = layers.concatenate([title_features, body_features, tags_input])

# Stick a logistic regression for priority prediction on top of the features
priority_pred = layers.Dense(1, name="priority")(x)
# Stick a department classifier on top of the features
department_pred = layers.Dense(num_departments, name="department")(x)

# Instantiate an end-to-end model predicting both priority and department
model = keras.Model(
    inputs=[title_input, body_input, tags_input],
    outputs={"priority": priority_pred, "department": department_pred},
)
model.summary()

model.compile(
    optimizer=keras.optimizers.RMSprop(1e-3),
    loss={
        "priority": keras.losses.BinaryCrossentropy(from_logits=True),
        "department": keras.losses.CategoricalCrossentropy(from_logits=True),
    },
    loss_weights={"priority": 1.0, "department": 0.2},
)

# Input data
title_data = np.random.randint(num_words, size=(640, 10))
body_data = np.random.randint(num_words, size=(640, 20))
tags_data = np.random.randint(2, size=(640, num_tags)).astype("float32")

# Target data that the tags decide
priority_targets = tags_data[:, :1]
dept_targets = np.eye(num_departments)[(tags_data[:, 1] + 2 * tags_data[:, 2]).astype(int)]

model.fit(
    {"title": title_data[:512], "body": body_data[:512], "tags": tags_data[:512]},
    {"priority": priority_targets[:512], "department": dept_targets[:512]},
    epochs=3,
    batch_size=32,
)

results = model.evaluate(
    {"title": title_data[512:], "body": body_data[512:], "tags": tags_data[512:]},
    {"priority": priority_targets[512:], "department": dept_targets[512:]},
    return_dict=True,
)
print("Test loss:", float(results["loss"]))
print("Priority loss:", float(results["priority_loss"]))
print("Department loss:", float(results["department_loss"]))
print("Loss minus weighted sum:", float(
    results["loss"] - (results["priority_loss"] + 0.2 * results["department_loss"])))
