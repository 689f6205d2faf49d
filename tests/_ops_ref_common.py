"""The two sides of an ops reference script (tests/_keras_*_ref.py): real Keras 3 on its
PyTorch backend, or glassnet, chosen by the script's first argument."""

import os
import sys

import numpy as np


def library():
    """(the keras-like module, its ops, a to_list for its results) of the side that
    ``sys.argv[1]`` names: "keras" (the default) or "glassnet"."""
    if (sys.argv[1] if len(sys.argv) > 1 else "keras") == "keras":
        os.environ["KERAS_BACKEND"] = "torch"
        import keras

        return keras, keras.ops, lambda t: np.asarray(keras.ops.convert_to_numpy(t)).tolist()
    import glassnet

    return glassnet, glassnet.ops, lambda t: np.asarray(
        t.data if isinstance(t, glassnet.Tensor) else t).tolist()
