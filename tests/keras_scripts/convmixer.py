"""
Title: Image classification with ConvMixer
Author: Sayak Paul (keras.io/examples/vision/convmixer/)
Changes for the test suite: CIFAR-10 is a download, so seeded 16x16 RGB images of 10
classes stand in (each class a color with a bright patch in a class-dependent corner, with
noise; 1,000 training, 200 validation and 200 test images); the tf.data pipeline becomes
arrays (the tutorial's augmentation layers move into the model, as its "inputs" note
allows); filters 32, depth 2, kernel 3, patch 2, 6 epochs and batch 16; the plots are
left out and the accuracy is printed without the percent sign.
"""

import keras
from keras import layers

import numpy as np

keras.utils.set_random_seed(42)
rng = np.random.default_rng(42)

learning_rate = 0.001
weight_decay = 0.0001
batch_size = 16
num_epochs = 6

num_classes = 10
image_size = 16


def make_images(n):
    # The stand-in for keras.datasets.cifar10.load_data()
    y = rng.integers(0, num_classes, (n, 1))
    x = colors[y[:, 0], None, None, :] + rng.normal(0, 60, (n, image_size, image_size, 3))
    for i, c in enumerate(y[:, 0]):
        r0, c0 = (c % 2) * 8, (c // 5) * 8
        x[i, r0:r0 + 8, c0:c0 + 8] += 60
    return np.clip(x, 0, 255).astype("uint8"), y


colors = np.random.default_rng(0).uniform(40, 200, (num_classes, 3))
(x_train, y_train), (x_test, y_test) = make_images(1200), make_images(200)
val_split = 0.1

val_indices = int(len(x_train) * val_split)
new_x_train, new_y_train = x_train[val_indices:], y_train[val_indices:]
x_val, y_val = x_train[:val_indices], y_train[:val_indices]

print(f"Training data samples: {len(new_x_train)}")
print(f"Validation data samples: {len(x_val)}")
print(f"Test data samples: {len(x_test)}")

data_augmentation = keras.Sequential(
    [layers.RandomFlip("horizontal"), layers.RandomRotation(factor=0.1)],
    name="data_augmentation",
)


def activation_block(x):
    x = layers.Activation("gelu")(x)
    return layers.BatchNormalization()(x)


def conv_stem(x, filters: int, patch_size: int):
    x = layers.Conv2D(filters, kernel_size=patch_size, strides=patch_size)(x)
    return activation_block(x)


def conv_mixer_block(x, filters: int, kernel_size: int):
    # Depthwise convolution.
    x0 = x
    x = layers.DepthwiseConv2D(kernel_size=kernel_size, padding="same")(x)
    x = layers.Add()([activation_block(x), x0])  # Residual.

    # Pointwise convolution.
    x = layers.Conv2D(filters, kernel_size=1)(x)
    x = activation_block(x)

    return x


def get_conv_mixer_256_8(
    image_size=16, filters=32, depth=2, kernel_size=3, patch_size=2, num_classes=10
):
    """ConvMixer-256/8: https://openreview.net/pdf?id=TVHS5Y4dNvM.
    The hyperparameter values are taken from the paper.
    """
    inputs = keras.Input((image_size, image_size, 3))
    x = data_augmentation(inputs)
    x = layers.Rescaling(scale=1.0 / 255)(x)

    # Extract patch embeddings.
    x = conv_stem(x, filters, patch_size)

    # ConvMixer blocks.
    for _ in range(depth):
        x = conv_mixer_block(x, filters, kernel_size)

    # Classification block.
    x = layers.GlobalAvgPool2D()(x)
    outputs = layers.Dense(num_classes, activation="softmax")(x)

    return keras.Model(inputs, outputs)


def run_experiment(model):
    optimizer = keras.optimizers.AdamW(
        learning_rate=learning_rate, weight_decay=weight_decay
    )

    model.compile(
        optimizer=optimizer,
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )

    checkpoint_filepath = "checkpoint.keras"
    checkpoint_callback = keras.callbacks.ModelCheckpoint(
        checkpoint_filepath,
        monitor="val_accuracy",
        save_best_only=True,
        save_weights_only=False,
    )

    history = model.fit(
        new_x_train,
        new_y_train,
        batch_size=batch_size,
        validation_data=(x_val, y_val),
        epochs=num_epochs,
        callbacks=[checkpoint_callback],
    )

    model.load_weights(checkpoint_filepath)
    _, accuracy = model.evaluate(x_test, y_test)
    print(f"Test accuracy: {round(accuracy * 100, 2)}")

    return history, model


conv_mixer_model = get_conv_mixer_256_8()
history, conv_mixer_model = run_experiment(conv_mixer_model)

# Visualizing the learned patch embeddings and the depthwise kernels (as the tutorial
# does, without the plot): the stem's kernel and the first depthwise kernel.
patch_embeddings = conv_mixer_model.layers[3].get_weights()[0]
print(f"Patch embedding kernel size: {patch_embeddings.shape[0]}")
for i, layer in enumerate(conv_mixer_model.layers):
    if isinstance(layer, layers.DepthwiseConv2D):
        if layer.get_config()["kernel_size"] == (3, 3):
            print(i, layer)
            depthwise_kernel = layer.get_weights()[0]
            print(f"Depthwise kernel size: {depthwise_kernel.shape[0]}")
            break
reloaded = keras.models.load_model("checkpoint.keras")
same = np.allclose(reloaded.predict(x_test[:8]), conv_mixer_model.predict(x_test[:8]),
                   atol=1e-5)
print(f"Reloaded checkpoint predicts the same: {float(same)}")
print(f"Final val loss: {history.history['val_loss'][-1]:.4f}")
