"""
Title: Basic regression: Predict fuel efficiency (the DNN with a Normalization layer)
Source: tensorflow.org/tutorials/keras/regression
Changes for the test suite: the Auto MPG CSV is a download, so scikit-learn's bundled
diabetes data stands in (10 numeric features, a numeric target); 100 epochs as the tutorial
trains, on its 80:20 split; the plots are left out.
"""

import numpy as np
import pandas as pd
from sklearn.datasets import load_diabetes

import keras
from keras import layers

keras.utils.set_random_seed(12)

dataset = load_diabetes(as_frame=True).frame

train_dataset = dataset.sample(frac=0.8, random_state=0)
test_dataset = dataset.drop(train_dataset.index)

train_features = train_dataset.copy()
test_features = test_dataset.copy()

train_labels = train_features.pop("target")
test_labels = test_features.pop("target")

normalizer = layers.Normalization(axis=-1)
normalizer.adapt(np.array(train_features))
print("Normalizer mean of the first feature:", float(normalizer.mean.numpy().flatten()[0]))


def build_and_compile_model(norm):
    model = keras.Sequential([
        norm,
        layers.Dense(64, activation="relu"),
        layers.Dense(64, activation="relu"),
        layers.Dense(1)
    ])

    model.compile(loss="mean_absolute_error",
                  optimizer=keras.optimizers.Adam(0.001))
    return model


dnn_model = build_and_compile_model(normalizer)
dnn_model.summary()

history = dnn_model.fit(
    train_features,
    train_labels,
    validation_split=0.2,
    verbose=0, epochs=100)

hist = pd.DataFrame(history.history)
hist["epoch"] = history.epoch

test_results = {}
test_results["dnn_model"] = dnn_model.evaluate(test_features, test_labels, verbose=0)
print("Test mean absolute error:", test_results["dnn_model"])

test_predictions = dnn_model.predict(test_features).flatten()
print("Baseline mean absolute error:", float(np.mean(np.abs(test_labels - train_labels.mean()))))
