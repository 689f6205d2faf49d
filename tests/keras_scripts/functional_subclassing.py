"""
Title: Packaging Keras models for wide distribution using Functional Subclassing
Author: Martin Görner
(keras.io/examples/keras_recipes/packaging_keras_models_for_wide_distribution/)
Changes for the test suite: NumPy arrays instead of the tf.data pipeline (the same batches of
uint8 images with a channel axis, shuffled by fit), 8,192 training and 512 test images,
32 steps per epoch and 2 epochs; the final numbers are printed.
"""

import numpy as np

import keras

print("Keras version", keras.version())
print("Keras is running on", keras.config.backend())

BATCH_SIZE = 256

(x_train, train_labels), (x_test, test_labels) = keras.datasets.mnist.load_data()
x_train, train_labels = x_train[:8192], train_labels[:8192]
x_test, test_labels = x_test[:512], test_labels[:512]
x_train = np.expand_dims(x_train, axis=-1)  # 1-channel monochrome
x_test = np.expand_dims(x_test, axis=-1)

STEPS_PER_EPOCH = len(train_labels) // BATCH_SIZE
EPOCHS = 2


class MnistModel(keras.Model):
    def __init__(self, **kwargs):
        # Keras Functional model definition. This could have used Sequential as
        # well. Sequential is just syntactic sugar for simple functional models.

        # 1-channel monochrome input
        inputs = keras.layers.Input(shape=(None, None, 1), dtype="uint8")
        # pixel format conversion from uint8 to float32
        y = keras.layers.Rescaling(1 / 255.0)(inputs)

        # 3 convolutional layers
        y = keras.layers.Conv2D(
            filters=16, kernel_size=3, padding="same", activation="relu"
        )(y)
        y = keras.layers.Conv2D(
            filters=32, kernel_size=6, padding="same", activation="relu", strides=2
        )(y)
        y = keras.layers.Conv2D(
            filters=48, kernel_size=6, padding="same", activation="relu", strides=2
        )(y)

        # 2 dense layers
        y = keras.layers.GlobalAveragePooling2D()(y)
        y = keras.layers.Dense(48, activation="relu")(y)
        y = keras.layers.Dropout(0.4)(y)
        outputs = keras.layers.Dense(
            10, activation="softmax", name="classification_head"  # 10 classes
        )(y)

        # A Keras Functional model is created by calling keras.Model(inputs, outputs)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)


model = MnistModel()

model.compile(
    optimizer="adam",
    loss="sparse_categorical_crossentropy",
    metrics=["sparse_categorical_accuracy"],
)

history = model.fit(
    x_train,
    train_labels,
    batch_size=BATCH_SIZE,
    steps_per_epoch=STEPS_PER_EPOCH,
    epochs=EPOCHS,
    validation_data=(x_test, test_labels),
)
print("Test accuracy:", model.evaluate(x_test, test_labels, verbose=0)[1])

# the input size is free: the same weights classify 20x20 crops
print("Crop prediction rows:", model.predict(x_test[:4, 4:24, 4:24], verbose=0).shape[0])

model = MnistModel()

# Model summary works
model.summary()

walked = []


# Recursively walking the layer graph works as well
def walk_layers(layer):
    if hasattr(layer, "layers"):
        for layer in layer.layers:  # noqa: B020 (the recipe's own loop)
            walk_layers(layer)
    else:
        print(layer.name)
        walked.append(layer.name)


print("\nWalking model layers:\n")
walk_layers(model)
print("Layers walked:", len(walked))

model = MnistModel()

input = model.input
# cut before the classification head
y = model.get_layer("classification_head").input

# add a new classification head
output = keras.layers.Dense(
    1,  # single class for binary classification
    activation="sigmoid",
    name="binary_classification_head",
)(y)

# create a new functional model
binary_model = keras.Model(input, output)

binary_model.summary()

# new dataset with 0 / 1 labels (1 = digit '0', 0 = all other digits)
bin_train_labels = (train_labels == 0).astype("uint8")
bin_test_labels = (test_labels == 0).astype("uint8")

# appropriate loss and metric for binary classification
binary_model.compile(
    optimizer="adam", loss="binary_crossentropy", metrics=["binary_accuracy"]
)

history = binary_model.fit(
    x_train,
    bin_train_labels,
    batch_size=BATCH_SIZE,
    steps_per_epoch=STEPS_PER_EPOCH,
    epochs=EPOCHS,
    validation_data=(x_test, bin_test_labels),
)
print("Binary test accuracy:", binary_model.evaluate(x_test, bin_test_labels, verbose=0)[1])


class MnistDictModel(keras.Model):
    def __init__(self, **kwargs):
        #
        # The input is a dictionary
        #
        inputs = {
            "image": keras.layers.Input(
                shape=(None, None, 1),  # 1-channel monochrome
                dtype="uint8",
                name="image",
            )
        }

        # pixel format conversion from uint8 to float32
        y = keras.layers.Rescaling(1 / 255.0)(inputs["image"])

        # 3 conv layers
        y = keras.layers.Conv2D(
            filters=16, kernel_size=3, padding="same", activation="relu"
        )(y)
        y = keras.layers.Conv2D(
            filters=32, kernel_size=6, padding="same", activation="relu", strides=2
        )(y)
        y = keras.layers.Conv2D(
            filters=48, kernel_size=6, padding="same", activation="relu", strides=2
        )(y)

        # 2 dense layers
        y = keras.layers.GlobalAveragePooling2D()(y)
        y = keras.layers.Dense(48, activation="relu")(y)
        y = keras.layers.Dropout(0.4)(y)
        outputs = keras.layers.Dense(
            10, activation="softmax", name="classification_head"  # 10 classes
        )(y)

        # A Keras Functional model is created by calling keras.Model(inputs, outputs)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)


model = MnistDictModel()

model.compile(
    optimizer="adam",
    loss="sparse_categorical_crossentropy",
    metrics=["sparse_categorical_accuracy"],
)

history = model.fit(
    {"image": x_train},
    train_labels,
    batch_size=BATCH_SIZE,
    steps_per_epoch=STEPS_PER_EPOCH,
    epochs=EPOCHS,
    validation_data=({"image": x_test}, test_labels),
)
print("Dict model test accuracy:", model.evaluate({"image": x_test}, test_labels, verbose=0)[1])
print("Dict model parameters:", model.count_params())
