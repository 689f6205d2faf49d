"""
Title: Basic classification: Classify images of clothing
Source: tensorflow.org/tutorials/keras/classification
Changes for the test suite: Fashion-MNIST is a download, so MNIST digits stand in (same
shapes and classes); 2,000 training and 500 test images, 3 epochs; the plots are left out.
"""

import numpy as np
import keras

keras.utils.set_random_seed(10)

fashion_mnist = keras.datasets.mnist

(train_images, train_labels), (test_images, test_labels) = fashion_mnist.load_data()
train_images, train_labels = train_images[:2000], train_labels[:2000]
test_images, test_labels = test_images[:500], test_labels[:500]

class_names = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]

train_images = train_images / 255.0

test_images = test_images / 255.0

model = keras.Sequential([
    keras.layers.Input(shape=(28, 28)),
    keras.layers.Flatten(),
    keras.layers.Dense(128, activation="relu"),
    keras.layers.Dense(10),
])

model.compile(optimizer="adam",
              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"])

model.fit(train_images, train_labels, epochs=3)

test_loss, test_acc = model.evaluate(test_images, test_labels, verbose=2)

print("\nTest accuracy:", test_acc)

probability_model = keras.Sequential([model, keras.layers.Softmax()])

predictions = probability_model.predict(test_images)

print("First prediction sums to:", float(np.sum(predictions[0])))
print("Predicted label matches argmax:", float(np.argmax(predictions[0]) in range(10)))
print("Prediction accuracy:", float(np.mean(np.argmax(predictions, axis=1) == test_labels)))
