"""
Title: Transfer learning & fine-tuning
Author: fchollet (keras.io/guides/transfer_learning/)
Changes for the test suite: the guide's base model is Xception with ImageNet weights (a
download); here the "pre-trained" base is a small convnet first trained on MNIST digits 0-4,
then frozen and reused for digits 5-9 (is it 7, 8 or 9?), with the guide's freezing,
`training=False` call, new head and fine-tuning steps written as it writes them.
600 + 600 images; 2 epochs of pre-training, 5 for the new head, 1 of fine-tuning.
"""

import numpy as np
import keras
from keras import layers

keras.utils.set_random_seed(9)

# The guide's first examples: trainable and non-trainable weights
layer = keras.layers.Dense(3)
layer.build((None, 4))  # Create the weights
layer.trainable = False  # Freeze the layer
print("weights:", len(layer.weights))
print("trainable_weights:", len(layer.trainable_weights))
print("non_trainable_weights:", len(layer.non_trainable_weights))

(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train = x_train[..., None].astype("float32") / 255.0
x_test = x_test[..., None].astype("float32") / 255.0
low, high = y_train < 5, y_train >= 5
x_low, y_low = x_train[low][:600], y_train[low][:600]
x_high, y_high = x_train[high][:600], (y_train[high][:600] >= 7).astype("float32")
test_high = y_test >= 5
x_test_high, y_test_high = x_test[test_high][:300], (y_test[test_high][:300] >= 7)

# "Pre-train" a base model on the first task
base_model = keras.Sequential(
    [
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(16, 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(16, 3, activation="relu"),
    ],
    name="base_model",
)
pretrain = keras.Sequential([base_model, layers.GlobalAveragePooling2D(), layers.Dense(5)])
pretrain.compile(
    optimizer=keras.optimizers.Adam(),
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"],
)
pretrain.fit(x_low, y_low, epochs=2, batch_size=32, verbose=2)

# Freeze the base_model
base_model.trainable = False
frozen = [w.copy() for w in base_model.get_weights()]

# Create new model on top
inputs = keras.Input(shape=(28, 28, 1))
# We make sure that the base_model is running in inference mode here,
# by passing `training=False`. This is important for fine-tuning, as you will
# learn in a few paragraphs.
x = base_model(inputs, training=False)
# Convert features of shape `base_model.output_shape[1:]` to vectors
x = keras.layers.GlobalAveragePooling2D()(x)
# A Dense classifier with a single unit (binary classification)
outputs = keras.layers.Dense(1)(x)
model = keras.Model(inputs, outputs)

model.summary(show_trainable=True)

model.compile(
    optimizer=keras.optimizers.Adam(),
    loss=keras.losses.BinaryCrossentropy(from_logits=True),
    metrics=[keras.metrics.BinaryAccuracy()],
)
model.fit(x_high, y_high, epochs=5, batch_size=16, verbose=2)
unchanged = all(np.array_equal(a, b) for a, b in zip(frozen, base_model.get_weights()))
print("Frozen base unchanged:", float(unchanged))

# Unfreeze the base model and fine-tune with a very low learning rate
base_model.trainable = True
model.compile(
    optimizer=keras.optimizers.Adam(1e-5),  # Very low learning rate
    loss=keras.losses.BinaryCrossentropy(from_logits=True),
    metrics=[keras.metrics.BinaryAccuracy()],
)
model.fit(x_high, y_high, epochs=1, batch_size=32, verbose=2)

loss, acc = model.evaluate(x_test_high, y_test_high.astype("float32"), verbose=0)
print("Test loss:", loss)
print("Test accuracy:", acc)
