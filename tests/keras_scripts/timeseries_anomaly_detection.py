"""
Title: Timeseries anomaly detection using an Autoencoder
Author: pavithrasv (keras.io/examples/timeseries/timeseries_anomaly_detection/)
Changes for the test suite: the Numenta Anomaly Benchmark CSVs are a download, so a seeded
stand-in of the same shape is built here as pandas DataFrames: a daily cycle sampled every
5 minutes with noise, and the test series with a burst of anomalous values. 6 epochs
instead of 50, a fixed seed; the plots are left out.
"""

import numpy as np
import pandas as pd
import keras
from keras import layers

keras.utils.set_random_seed(1)
rng = np.random.default_rng(1)


def make_series(days, anomaly=False):
    # The stand-in for pd.read_csv(df_small_noise_url / df_daily_jumpsup_url)
    t = np.arange(days * 288)
    value = 20 + 40 * (np.sin(2 * np.pi * t / 288) > 0) + rng.normal(0, 2, t.size)
    if anomaly:
        value[3000:3100] += 60
    stamps = pd.date_range("2014-04-01", periods=t.size, freq="5min")
    return pd.DataFrame({"value": value}, index=pd.Index(stamps, name="timestamp"))


df_small_noise = make_series(14)
df_daily_jumpsup = make_series(14, anomaly=True)

# Normalize and save the mean and std we get,
# for normalizing test data.
training_mean = df_small_noise.mean()
training_std = df_small_noise.std()
df_training_value = (df_small_noise - training_mean) / training_std
print("Number of training samples:", len(df_training_value))

TIME_STEPS = 288


# Generated training sequences for use in the model.
def create_sequences(values, time_steps=TIME_STEPS):
    output = []
    for i in range(len(values) - time_steps + 1):
        output.append(values[i : (i + time_steps)])
    return np.stack(output)


x_train = create_sequences(df_training_value.values)
print("Training input shape: ", x_train.shape)

model = keras.Sequential(
    [
        layers.Input(shape=(x_train.shape[1], x_train.shape[2])),
        layers.Conv1D(
            filters=32,
            kernel_size=7,
            padding="same",
            strides=2,
            activation="relu",
        ),
        layers.Dropout(rate=0.2),
        layers.Conv1D(
            filters=16,
            kernel_size=7,
            padding="same",
            strides=2,
            activation="relu",
        ),
        layers.Conv1DTranspose(
            filters=16,
            kernel_size=7,
            padding="same",
            strides=2,
            activation="relu",
        ),
        layers.Dropout(rate=0.2),
        layers.Conv1DTranspose(
            filters=32,
            kernel_size=7,
            padding="same",
            strides=2,
            activation="relu",
        ),
        layers.Conv1DTranspose(filters=1, kernel_size=7, padding="same"),
    ]
)
model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.001), loss="mse")
model.summary()

history = model.fit(
    x_train,
    x_train,
    epochs=6,
    batch_size=128,
    validation_split=0.1,
    callbacks=[
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=5, mode="min")
    ],
)

# Get train MAE loss.
x_train_pred = model.predict(x_train)
train_mae_loss = np.mean(np.abs(x_train_pred - x_train), axis=1)

# Get reconstruction loss threshold.
threshold = np.max(train_mae_loss)
print("Reconstruction error threshold: ", threshold)


def normalize_test(values, mean, std):
    values -= mean
    values /= std
    return values


df_test_value = (df_daily_jumpsup - training_mean) / training_std

# Create sequences from test values.
x_test = create_sequences(df_test_value.values)
print("Test input shape: ", x_test.shape)

# Get test MAE loss.
x_test_pred = model.predict(x_test)
test_mae_loss = np.mean(np.abs(x_test_pred - x_test), axis=1)
test_mae_loss = test_mae_loss.reshape((-1))

# Detect all the samples which are anomalies.
anomalies = test_mae_loss > threshold
print("Number of anomaly samples: ", np.sum(anomalies))

# data i is an anomaly if samples [(i - timesteps + 1) to (i)] are anomalies
anomalous_data_indices = []
for data_idx in range(TIME_STEPS - 1, len(df_test_value) - TIME_STEPS + 1):
    if np.all(anomalies[data_idx - TIME_STEPS + 1 : data_idx]):
        anomalous_data_indices.append(data_idx)

print("Final validation loss:", history.history["val_loss"][-1])
print("Anomalous windows:", int(np.sum(anomalies)))
# the windows flagged as anomalies are the ones that hold part of the burst
flagged = np.where(anomalies)[0]
print("Flagged windows holding the burst:",
      float(np.mean((flagged > 3000 - TIME_STEPS) & (flagged < 3100))))
