"""
Title: Save, serialize, and export models (the config and JSON parts)
Authors: Neel Kovelamudi, Francois Chollet (keras.io/guides/serialization_and_saving/)
Changes for the test suite: the `.keras` file sections are the interop suite's; here the
architecture round trips (get_config/from_config, to_json/model_from_json, clone_model) and
a registered custom layer, on 500 synthetic samples.
"""

import numpy as np
import keras

keras.utils.set_random_seed(7)

# Functional model
inputs = keras.Input(shape=(32,))
outputs = keras.layers.Dense(1)(inputs)
model = keras.Model(inputs, outputs)
config = model.get_config()
new_model = keras.Model.from_config(config)

# Sequential model
model = keras.Sequential([keras.Input((32,)), keras.layers.Dense(1)])
config = model.get_config()
new_model = keras.Sequential.from_config(config)

# Layer example
layer = keras.layers.Dense(3, activation="relu")
layer_config = layer.get_config()
new_layer = keras.layers.Dense.from_config(layer_config)

# to_json / model_from_json
model = keras.Sequential([keras.Input((32,)), keras.layers.Dense(1)])
json_config = model.to_json()
new_model = keras.models.model_from_json(json_config)


@keras.saving.register_keras_serializable(package="MyLayers")
class CustomLayer(keras.layers.Layer):
    def __init__(self, factor, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        config = super().get_config()
        config.update({"factor": self.factor})
        return config


layer = CustomLayer(0.5)
new_layer = CustomLayer.from_config(layer.get_config())
print("Custom layer factor:", new_layer.factor)


def get_model():
    inputs = keras.Input(shape=(32,))
    x = keras.layers.Dense(16, activation="relu")(inputs)
    outputs = keras.layers.Dense(1)(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="mean_squared_error")
    return model


rng = np.random.default_rng(0)
x = rng.random((500, 32)).astype("float32")
y = x.sum(axis=1, keepdims=True) / 8.0

model = get_model()
model.fit(x, y, epochs=5, batch_size=32, verbose=0)

# Weights transfer between models of the same architecture
cloned = keras.models.clone_model(model)
cloned.set_weights(model.get_weights())
np.testing.assert_allclose(model.predict(x, verbose=0), cloned.predict(x, verbose=0))

rebuilt = keras.Model.from_config(model.get_config())
rebuilt.set_weights(model.get_weights())
np.testing.assert_allclose(model.predict(x, verbose=0), rebuilt.predict(x, verbose=0))

print("Layers:", len(model.layers))
print("Second layer is dense:", float(model.get_layer(index=1).name == model.layers[1].name))
print("Test loss:", model.evaluate(x, y, verbose=0))
