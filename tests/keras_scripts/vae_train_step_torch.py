"""
Title: Variational AutoEncoder
Author: fchollet (keras.io/examples/generative/vae/)
The `train_step` is written for the PyTorch backend, as keras.io's "Customizing what happens
in `fit()` with PyTorch" writes one (self.zero_grad(), loss.backward(), v.value.grad,
self.optimizer.apply), in place of the example's tf.GradientTape, and `self.built = True` in
`__init__` as that guide's GAN sets it (the model has no `call` for Keras to build it with).
Changes for the test suite: 256 MNIST training digits in batches of 32, 2 epochs instead of 30, a fixed seed;
the latent-space plots are left out; the final lines print the last epoch's losses and the
reconstruction loss of 256 test digits.
"""

import os

os.environ["KERAS_BACKEND"] = "torch"

import numpy as np
import torch
import keras
from keras import ops
from keras import layers

keras.utils.set_random_seed(3)


class Sampling(layers.Layer):
    """Uses (z_mean, z_log_var) to sample z, the vector encoding a digit."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        batch = ops.shape(z_mean)[0]
        dim = ops.shape(z_mean)[1]
        epsilon = keras.random.normal(shape=(batch, dim), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon


latent_dim = 2

encoder_inputs = keras.Input(shape=(28, 28, 1))
x = layers.Conv2D(32, 3, activation="relu", strides=2, padding="same")(encoder_inputs)
x = layers.Conv2D(64, 3, activation="relu", strides=2, padding="same")(x)
x = layers.Flatten()(x)
x = layers.Dense(16, activation="relu")(x)
z_mean = layers.Dense(latent_dim, name="z_mean")(x)
z_log_var = layers.Dense(latent_dim, name="z_log_var")(x)
z = Sampling()([z_mean, z_log_var])
encoder = keras.Model(encoder_inputs, [z_mean, z_log_var, z], name="encoder")
encoder.summary()

latent_inputs = keras.Input(shape=(latent_dim,))
x = layers.Dense(7 * 7 * 64, activation="relu")(latent_inputs)
x = layers.Reshape((7, 7, 64))(x)
x = layers.Conv2DTranspose(64, 3, activation="relu", strides=2, padding="same")(x)
x = layers.Conv2DTranspose(32, 3, activation="relu", strides=2, padding="same")(x)
decoder_outputs = layers.Conv2DTranspose(1, 3, activation="sigmoid", padding="same")(x)
decoder = keras.Model(latent_inputs, decoder_outputs, name="decoder")
decoder.summary()


class VAE(keras.Model):
    def __init__(self, encoder, decoder, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.total_loss_tracker = keras.metrics.Mean(name="total_loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(
            name="reconstruction_loss"
        )
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")
        self.built = True

    @property
    def metrics(self):
        return [
            self.total_loss_tracker,
            self.reconstruction_loss_tracker,
            self.kl_loss_tracker,
        ]

    def train_step(self, data):
        # Clear the leftover gradients of the previous step.
        self.zero_grad()

        z_mean, z_log_var, z = self.encoder(data)
        reconstruction = self.decoder(z)
        reconstruction_loss = ops.mean(
            ops.sum(
                keras.losses.binary_crossentropy(data, reconstruction),
                axis=(1, 2),
            )
        )
        kl_loss = -0.5 * (1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var))
        kl_loss = ops.mean(ops.sum(kl_loss, axis=1))
        total_loss = reconstruction_loss + kl_loss

        # Compute the gradients and update the weights.
        total_loss.backward()
        trainable_weights = [v for v in self.trainable_weights]
        grads = [v.value.grad for v in trainable_weights]
        with torch.no_grad():
            self.optimizer.apply(grads, trainable_weights)

        self.total_loss_tracker.update_state(total_loss)
        self.reconstruction_loss_tracker.update_state(reconstruction_loss)
        self.kl_loss_tracker.update_state(kl_loss)
        return {
            "loss": self.total_loss_tracker.result(),
            "reconstruction_loss": self.reconstruction_loss_tracker.result(),
            "kl_loss": self.kl_loss_tracker.result(),
        }


(x_train, _), (x_test, _) = keras.datasets.mnist.load_data()
mnist_digits = x_train[:256]
mnist_digits = np.expand_dims(mnist_digits, -1).astype("float32") / 255

vae = VAE(encoder, decoder)
vae.compile(optimizer=keras.optimizers.Adam())
history = vae.fit(mnist_digits, epochs=2, batch_size=32)

# Reconstruct unseen digits through the trained encoder and decoder.
test_digits = np.expand_dims(x_test[:256], -1).astype("float32") / 255
z_mean, _, _ = encoder.predict(test_digits, verbose=0)
decoded = decoder.predict(z_mean, verbose=0)
test_bce = -np.mean(
    test_digits * np.log(np.clip(decoded, 1e-7, 1))
    + (1 - test_digits) * np.log(np.clip(1 - decoded, 1e-7, 1))
)

print("Final loss:", float(history.history["loss"][-1]))
print("Final kl loss:", float(history.history["kl_loss"][-1]))
print("Test reconstruction loss:", float(test_bce))
