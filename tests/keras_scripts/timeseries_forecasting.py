"""
Title: Timeseries forecasting for weather prediction (the windowing and the model)
Authors: Prabhanshu Attri, Yashika Sharma, Kaustubh Tripathi, Nobuhiko Sasaki
(keras.io/examples/timeseries/timeseries_weather_forecasting/)
Changes for the test suite: the Jena climate CSV is a download, so the "weather" is three
synthetic daily-cycle features with noise; 1,500 hourly steps, 2 epochs.
"""

import numpy as np
import keras

keras.utils.set_random_seed(4)

rng = np.random.default_rng(0)
t = np.arange(1500)
temperature = 10 + 8 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 0.5, t.size)
pressure = 1000 + 5 * np.cos(2 * np.pi * t / 24) + rng.normal(0, 0.5, t.size)
humidity = 60 - 2 * np.sin(2 * np.pi * t / 24 + 1) + rng.normal(0, 0.5, t.size)
features = np.stack([temperature, pressure, humidity], axis=1).astype("float32")

split_fraction = 0.715
train_split = int(split_fraction * int(features.shape[0]))
step = 1
past = 72
future = 12
learning_rate = 0.001
batch_size = 64
epochs = 2


def normalize(data, train_split):
    data_mean = data[:train_split].mean(axis=0)
    data_std = data[:train_split].std(axis=0)
    return (data - data_mean) / data_std


features = normalize(features, train_split)
train_data = features[0 : train_split - 1]
val_data = features[train_split:]

start = past + future
end = start + train_split

x_train = train_data
y_train = features[start:end][:, [0]]

sequence_length = int(past / step)

dataset_train = keras.utils.timeseries_dataset_from_array(
    x_train,
    y_train,
    sequence_length=sequence_length,
    sampling_rate=step,
    batch_size=batch_size,
)

x_end = len(val_data) - past - future
label_start = train_split + past + future

x_val = val_data[:x_end]
y_val = features[label_start:][:, [0]]

dataset_val = keras.utils.timeseries_dataset_from_array(
    x_val,
    y_val,
    sequence_length=sequence_length,
    sampling_rate=step,
    batch_size=batch_size,
)

for batch in dataset_train.take(1):
    inputs, targets = batch

print("Input shape:", inputs.shape)
print("Target shape:", targets.shape)

inputs = keras.layers.Input(shape=(inputs.shape[1], inputs.shape[2]))
lstm_out = keras.layers.LSTM(32)(inputs)
outputs = keras.layers.Dense(1)(lstm_out)

model = keras.Model(inputs=inputs, outputs=outputs)
model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss="mse")
model.summary()

es_callback = keras.callbacks.EarlyStopping(monitor="val_loss", min_delta=0, patience=5)

history = model.fit(
    dataset_train,
    epochs=epochs,
    validation_data=dataset_val,
    callbacks=[es_callback],
)

print("Final validation loss:", history.history["val_loss"][-1])
