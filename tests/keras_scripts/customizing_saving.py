"""
Title: Customizing Saving and Serialization
Author: Neel Kovelamudi (keras.io/guides/customizing_saving_and_serialization/)
Changes for the test suite: the checks the guide makes with np.testing are printed as
numbers too. Its first section (a Dense subclass with its own variable, saved through
save_own_variables) is left out: Keras 3.15 itself fails to load that model ("A total of 1
objects could not be loaded": the guide's load_own_variables reads store["2"] for its own
variable, which it saved as store["variables"]), and its fit pairs (8, 10) targets with a
one-unit output, which Keras broadcasts and glassnet refuses with a shape error. Its last
section (a subclassed model with its own get_compile_config) is left out too: glassnet
writes only Sequential and functional models to .keras files (a subclassed model's
structure is its code), and that section's fit again pairs (4,) targets with (4, 4)
outputs.
"""

import os
import numpy as np
import keras

keras.utils.set_random_seed(15)


# Assets: save_assets() and load_assets()
@keras.saving.register_keras_serializable(package="my_custom_package")
class LayerWithCustomAssets(keras.layers.Dense):
    def __init__(self, vocab=None, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.vocab = vocab

    def save_assets(self, inner_path):
        # Writes the vocab (sentence) to text file at save time.
        with open(os.path.join(inner_path, "vocabulary.txt"), "w") as f:
            f.write(self.vocab)

    def load_assets(self, inner_path):
        # Reads the vocab (sentence) from text file at load time.
        with open(os.path.join(inner_path, "vocabulary.txt"), "r") as f:
            text = f.read()
        self.vocab = text.replace("<unk>", "little")


model = keras.Sequential(
    [LayerWithCustomAssets(vocab="Mary had a <unk> lamb.", units=5)]
)

x = np.random.random((10, 10))
y = model(x)

model.save("custom_assets_model.keras")
restored_model = keras.models.load_model("custom_assets_model.keras")

np.testing.assert_string_equal(
    restored_model.layers[0].vocab, "Mary had a little lamb."
)
print("Asset restored:", float(restored_model.layers[0].vocab == "Mary had a little lamb."))


# build and compile saving customization
@keras.saving.register_keras_serializable(package="my_custom_package")
class LayerWithCustomBuild(keras.layers.Layer):
    def __init__(self, units=32, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def call(self, inputs):
        return keras.ops.matmul(inputs, self.w) + self.b

    def get_config(self):
        return dict(units=self.units, **super().get_config())

    def build(self, input_shape, layer_init):
        # Note the overriding of `build()` to add an extra argument.
        # Therefore, we will need to manually call build with `layer_init` argument
        # before the first execution of `call()`.
        super().build(input_shape)
        self._input_shape = input_shape
        self.w = self.add_weight(
            shape=(input_shape[-1], self.units),
            initializer=layer_init,
            trainable=True,
        )
        self.b = self.add_weight(
            shape=(self.units,),
            initializer=layer_init,
            trainable=True,
        )
        self.layer_init = layer_init

    def get_build_config(self):
        build_config = {
            "layer_init": self.layer_init,
            "input_shape": self._input_shape,
        }  # Stores our initializer for `build()`
        return build_config

    def build_from_config(self, config):
        # Calls `build()` with the config parameters we need
        self.build(config["input_shape"], config["layer_init"])


custom_layer = LayerWithCustomBuild(units=16)
custom_layer.build(input_shape=(8,), layer_init="random_normal")

model = keras.Sequential(
    [
        custom_layer,
        keras.layers.Dense(1, activation="sigmoid"),
    ]
)

x = np.random.random((16, 8))
y = model(x)

model.save("custom_build_model.keras")
restored_model = keras.models.load_model("custom_build_model.keras")

np.testing.assert_equal(restored_model.layers[0].layer_init, "random_normal")
np.testing.assert_equal(restored_model.built, True)
print("Build config restored:", float(restored_model.layers[0].layer_init == "random_normal"))
print("Restored predictions match:",
      float(np.allclose(keras.ops.convert_to_numpy(model(x)),
                        keras.ops.convert_to_numpy(restored_model(x)), atol=1e-6)))
