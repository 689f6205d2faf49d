"""
Title: Image segmentation with a U-Net-like architecture
Author: fchollet (keras.io/examples/vision/oxford_pets_image_segmentation/)
Changes for the test suite: the Oxford Pets images are a download, so seeded 32x32 images
stand in: a bright disc (the pet) on a noisy background, its trimap (1 inside, 2 outside,
3 on the border, as the dataset's masks are) as the target; 64 training and 16 validation
images instead of 7,390, 2 epochs instead of 50, img_size (32, 32); the plots are left out.
"""

import numpy as np
import keras
from keras import layers

keras.utils.set_random_seed(5)
rng = np.random.default_rng(5)

img_size = (32, 32)
num_classes = 3
batch_size = 8


def make_pets(n):
    # The stand-in for the tutorial's get_dataset(input_img_paths, target_img_paths)
    yy, xx = np.mgrid[: img_size[0], : img_size[1]]
    imgs, masks = [], []
    for _ in range(n):
        cy, cx, r = rng.uniform(10, 22), rng.uniform(10, 22), rng.uniform(5, 9)
        d = np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2)
        mask = np.where(d < r - 1, 1, np.where(d > r + 1, 2, 3))
        img = rng.uniform(0, 80, img_size + (3,))
        img[d < r] += rng.uniform(100, 170, 3)
        imgs.append(img)
        masks.append(mask[..., None])
    # the tutorial's target_img = target_img - 1: classes 0, 1, 2
    return np.array(imgs, "float32"), np.array(masks, "uint8") - 1


train_x, train_y = make_pets(64)
valid_x, valid_y = make_pets(16)


def get_model(img_size, num_classes):
    inputs = keras.Input(shape=img_size + (3,))

    ### [First half of the network: downsampling inputs] ###

    # Entry block
    x = layers.Conv2D(32, 3, strides=2, padding="same")(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)

    previous_block_activation = x  # Set aside residual

    # Blocks 1, 2, 3 are identical apart from the feature depth.
    for filters in [64, 128, 256]:
        x = layers.Activation("relu")(x)
        x = layers.SeparableConv2D(filters, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)

        x = layers.Activation("relu")(x)
        x = layers.SeparableConv2D(filters, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)

        x = layers.MaxPooling2D(3, strides=2, padding="same")(x)

        # Project residual
        residual = layers.Conv2D(filters, 1, strides=2, padding="same")(
            previous_block_activation
        )
        x = layers.add([x, residual])  # Add back residual
        previous_block_activation = x  # Set aside next residual

    ### [Second half of the network: upsampling inputs] ###

    for filters in [256, 128, 64, 32]:
        x = layers.Activation("relu")(x)
        x = layers.Conv2DTranspose(filters, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)

        x = layers.Activation("relu")(x)
        x = layers.Conv2DTranspose(filters, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)

        x = layers.UpSampling2D(2)(x)

        # Project residual
        residual = layers.UpSampling2D(2)(previous_block_activation)
        residual = layers.Conv2D(filters, 1, padding="same")(residual)
        x = layers.add([x, residual])  # Add back residual
        previous_block_activation = x  # Set aside next residual

    # Add a per-pixel classification layer
    outputs = layers.Conv2D(num_classes, 3, activation="softmax", padding="same")(x)

    # Define the model
    model = keras.Model(inputs, outputs)
    return model


# Build model
model = get_model(img_size, num_classes)
model.summary()

# Configure the model for training.
# We use the "sparse" version of categorical_crossentropy
# because our target data is integers.
model.compile(
    optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy"
)

callbacks = [
    keras.callbacks.ModelCheckpoint("oxford_segmentation.keras", save_best_only=True)
]

# Train the model, doing validation at the end of each epoch.
epochs = 2
history = model.fit(
    train_x,
    train_y,
    batch_size=batch_size,
    epochs=epochs,
    validation_data=(valid_x, valid_y),
    callbacks=callbacks,
    verbose=2,
)

# Generate predictions for all images in the validation set
val_preds = model.predict(valid_x)
mask = np.argmax(val_preds, axis=-1)
pixel_accuracy = np.mean(mask == valid_y[..., 0])
print("Output shape:", val_preds.shape[1])
print("Final training loss:", history.history["loss"][-1])
print("Pixel accuracy:", pixel_accuracy)
best = keras.models.load_model("oxford_segmentation.keras")
print("Reloaded output matches:", float(np.allclose(best.predict(valid_x[:2]).shape, (2, 32, 32, 3))))
