"""
Title: Timeseries classification from scratch
Author: hfawaz (keras.io/examples/timeseries/timeseries_classification_from_scratch/)
Changes for the test suite: the FordA archive is a download, so synthetic series stand in,
made by readucr() below with a seeded NumPy generator: 128 steps of noisy engine-like signal,
where class 1 carries a faint extra oscillation at a second frequency; labels are written
-1/1 as in FordA and remapped as the tutorial does. 800 training and 200 test series, 3 epochs
instead of 500 (the callbacks are the tutorial's), a fixed seed; the plots are left out.
"""

import numpy as np
import keras

keras.utils.set_random_seed(6)

rng = np.random.default_rng(6)


def readucr(n):
    # The stand-in for the tutorial's readucr(root_url + "FordA_TRAIN.tsv")
    t = np.arange(128)
    y = rng.choice([-1, 1], n)
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    x = np.sin(2 * np.pi * t / 16 + phase) + 0.5 * rng.normal(size=(n, 128))
    x += (y[:, None] == 1) * 0.8 * np.sin(2 * np.pi * t / 5 + 2 * phase)
    return x, y.astype(int)


x_train, y_train = readucr(800)
x_test, y_test = readucr(200)

classes = np.unique(np.concatenate((y_train, y_test), axis=0))

x_train = x_train.reshape((x_train.shape[0], x_train.shape[1], 1))
x_test = x_test.reshape((x_test.shape[0], x_test.shape[1], 1))

num_classes = len(np.unique(y_train))

idx = np.random.permutation(len(x_train))
x_train = x_train[idx]
y_train = y_train[idx]

y_train[y_train == -1] = 0
y_test[y_test == -1] = 0


def make_model(input_shape):
    input_layer = keras.layers.Input(input_shape)

    conv1 = keras.layers.Conv1D(filters=64, kernel_size=3, padding="same")(input_layer)
    conv1 = keras.layers.BatchNormalization()(conv1)
    conv1 = keras.layers.ReLU()(conv1)

    conv2 = keras.layers.Conv1D(filters=64, kernel_size=3, padding="same")(conv1)
    conv2 = keras.layers.BatchNormalization()(conv2)
    conv2 = keras.layers.ReLU()(conv2)

    conv3 = keras.layers.Conv1D(filters=64, kernel_size=3, padding="same")(conv2)
    conv3 = keras.layers.BatchNormalization()(conv3)
    conv3 = keras.layers.ReLU()(conv3)

    gap = keras.layers.GlobalAveragePooling1D()(conv3)

    output_layer = keras.layers.Dense(num_classes, activation="softmax")(gap)

    return keras.models.Model(inputs=input_layer, outputs=output_layer)


model = make_model(input_shape=x_train.shape[1:])

epochs = 3
batch_size = 32

callbacks = [
    keras.callbacks.ModelCheckpoint(
        "best_model.keras", save_best_only=True, monitor="val_loss"
    ),
    keras.callbacks.ReduceLROnPlateau(
        monitor="val_loss", factor=0.5, patience=20, min_lr=0.0001
    ),
    keras.callbacks.EarlyStopping(monitor="val_loss", patience=50, verbose=1),
]
model.compile(
    optimizer="adam",
    loss="sparse_categorical_crossentropy",
    metrics=["sparse_categorical_accuracy"],
)
history = model.fit(
    x_train,
    y_train,
    batch_size=batch_size,
    epochs=epochs,
    callbacks=callbacks,
    validation_split=0.2,
    verbose=1,
)

model = keras.models.load_model("best_model.keras")

test_loss, test_acc = model.evaluate(x_test, y_test)

print("Test accuracy:", test_acc)
print("Test loss:", test_loss)
