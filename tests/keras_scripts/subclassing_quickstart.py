"""
Title: TensorFlow 2 quickstart for experts, the model as it writes it
(tensorflow.org/tutorials/quickstart/advanced), trained with Keras 3's compile/fit (the
tutorial's GradientTape loop is TensorFlow, not Keras) plus a custom layer from the
"Making new layers and models via subclassing" guide (keras.io/guides/making_new_layers_and_models_via_subclassing/).
Changes for the test suite: 1,000 MNIST images, 2 epochs.
"""

import keras
from keras.layers import Dense, Flatten, Conv2D
from keras import Model

keras.utils.set_random_seed(5)

mnist = keras.datasets.mnist

(x_train, y_train), (x_test, y_test) = mnist.load_data()
x_train, x_test = x_train / 255.0, x_test / 255.0
x_train, y_train, x_test, y_test = x_train[:1000], y_train[:1000], x_test[:500], y_test[:500]

# Add a channels dimension
x_train = x_train[..., None].astype("float32")
x_test = x_test[..., None].astype("float32")


class Linear(keras.layers.Layer):
    def __init__(self, units=32):
        super().__init__()
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(
            shape=(input_shape[-1], self.units),
            initializer="random_normal",
            trainable=True,
        )
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", trainable=True)

    def call(self, inputs):
        return keras.ops.matmul(inputs, self.w) + self.b


class MyModel(Model):
    def __init__(self):
        super().__init__()
        self.conv1 = Conv2D(16, 3, activation="relu")
        self.flatten = Flatten()
        self.d1 = Dense(64, activation="relu")
        self.d2 = Linear(10)

    def call(self, x):
        x = self.conv1(x)
        x = self.flatten(x)
        x = self.d1(x)
        return self.d2(x)


# Create an instance of the model
model = MyModel()

loss_object = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
optimizer = keras.optimizers.Adam()

model.compile(optimizer=optimizer, loss=loss_object, metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=32, epochs=2)

test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
print("Test loss:", test_loss)
print("Test accuracy:", test_accuracy)
