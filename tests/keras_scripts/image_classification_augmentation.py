"""
Title: Image classification from scratch (augmentation and Rescaling inside the model)
Author: fchollet (keras.io/examples/vision/image_classification_from_scratch/)
Changes for the test suite: the Cats vs Dogs archive is a download, so MNIST's 3s and 8s
stand in (28x28 grayscale, 0-255, a binary task as in the tutorial): 512 training and 256
validation images as NumPy arrays in batches of 16 in place of the image_dataset_from_directory pipeline, the
augmentation inside the model (the tutorial's "option 1"). The Xception-like network keeps
its shape with narrower blocks (16; 32, 64; 64 filters where the tutorial has 128; 256, 512,
728; 1024), 3 epochs instead of 25, a fixed seed; the plots and checkpoints are left out.
"""

import numpy as np
import keras
from keras import layers

keras.utils.set_random_seed(9)

(x_all, y_all), _ = keras.datasets.mnist.load_data()
keep = (y_all == 3) | (y_all == 8)
x_all = np.expand_dims(x_all[keep], -1).astype("float32")
y_all = (y_all[keep] == 8).astype("float32")
train_images, train_labels = x_all[:512], y_all[:512]
val_images, val_labels = x_all[512:768], y_all[512:768]

image_size = (28, 28)

data_augmentation_layers = [
    layers.RandomFlip("horizontal"),
    layers.RandomRotation(0.1),
]


def data_augmentation(images):
    for layer in data_augmentation_layers:
        images = layer(images)
    return images


def make_model(input_shape, num_classes):
    inputs = keras.Input(shape=input_shape)

    # Image augmentation block
    x = data_augmentation(inputs)

    # Entry block
    x = layers.Rescaling(1.0 / 255)(x)
    x = layers.Conv2D(16, 3, strides=2, padding="same")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)

    previous_block_activation = x  # Set aside residual

    for size in [32, 64]:
        x = layers.Activation("relu")(x)
        x = layers.SeparableConv2D(size, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)

        x = layers.Activation("relu")(x)
        x = layers.SeparableConv2D(size, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)

        x = layers.MaxPooling2D(3, strides=2, padding="same")(x)

        # Project residual
        residual = layers.Conv2D(size, 1, strides=2, padding="same")(
            previous_block_activation
        )
        x = layers.add([x, residual])  # Add back residual
        previous_block_activation = x  # Set aside next residual

    x = layers.SeparableConv2D(64, 3, padding="same")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)

    x = layers.GlobalAveragePooling2D()(x)
    if num_classes == 2:
        units = 1
    else:
        units = num_classes

    x = layers.Dropout(0.25)(x)
    # We specify activation=None so as to return logits
    outputs = layers.Dense(units, activation=None)(x)
    return keras.Model(inputs, outputs)


model = make_model(input_shape=image_size + (1,), num_classes=2)
model.summary()

epochs = 3

model.compile(
    optimizer=keras.optimizers.Adam(3e-4),
    loss=keras.losses.BinaryCrossentropy(from_logits=True),
    metrics=[keras.metrics.BinaryAccuracy(name="acc")],
)
history = model.fit(
    train_images,
    train_labels,
    epochs=epochs,
    batch_size=16,
    validation_data=(val_images, val_labels),
)

# Run inference on new data
img_array = keras.ops.expand_dims(val_images[0], 0)  # Create batch axis

predictions = model.predict(img_array)
score = float(keras.ops.sigmoid(predictions[0][0]))
print(f"This image is {100 * (1 - score):.2f}% a 3 and {100 * score:.2f}% an 8.")

print("Training accuracy:", float(history.history["acc"][-1]))
print("Validation accuracy:", float(history.history["val_acc"][-1]))
print("Validation loss:", float(history.history["val_loss"][-1]))
