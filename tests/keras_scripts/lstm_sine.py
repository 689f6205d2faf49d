"""
Title: An LSTM that continues a sine wave (the classic first recurrent-network exercise, as
Keras tutorials write it: windows of the series in, the next value out)
Changes for the test suite: 400 windows, 5 epochs.
"""

import numpy as np
import keras
from keras import layers

keras.utils.set_random_seed(13)

t = np.linspace(0, 40 * np.pi, 2000)
series = np.sin(t).astype("float32")
window = 20
x = np.stack([series[i:i + window] for i in range(len(series) - window)])[..., None]
y = series[window:]
x_train, y_train = x[:400], y[:400]
x_test, y_test = x[1500:1700], y[1500:1700]

model = keras.Sequential([
    keras.Input(shape=(window, 1)),
    layers.LSTM(32),
    layers.Dense(1),
])
model.compile(optimizer="adam", loss="mse", metrics=["mae"])
model.fit(x_train, y_train, epochs=5, batch_size=16, validation_split=0.1, verbose=2)

print("Test loss:", model.evaluate(x_test, y_test, verbose=0)[0])
