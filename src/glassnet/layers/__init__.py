"""Layers, with Keras's names, arguments and weight layouts.

Example:
    >>> from glassnet.layers import Dense, Dropout
"""

from . import augmentation, conv, core, embedding, normalization, pooling, recurrent, reshaping2d
from .augmentation import *  # noqa: F401,F403
from .base import LAYER_CLASSES, Layer, get_layer_class, register
from .conv import *  # noqa: F401,F403
from .core import *  # noqa: F401,F403
from .embedding import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .recurrent import *  # noqa: F401,F403
from .reshaping2d import *  # noqa: F401,F403

__all__ = ["Layer", "LAYER_CLASSES", "get_layer_class", "register"]
for _m in (augmentation, conv, core, embedding, normalization, pooling, recurrent,  # noqa: F405
           reshaping2d):  # noqa: F405
    __all__ += list(getattr(_m, "__all__", []))

# activation/utility, merge, attention and Lambda layers (issue 22)
from . import (  # noqa: E402
    activation_layers,
    attention,
    lambda_layer,
    merging,
    preprocessing,
    text_preprocessing,
)
from .activation_layers import *  # noqa: E402,F401,F403
from .attention import *  # noqa: E402,F401,F403
from .lambda_layer import *  # noqa: E402,F401,F403
from .merging import *  # noqa: E402,F401,F403
from .preprocessing import *  # noqa: E402,F401,F403
from .text_preprocessing import *  # noqa: E402,F401,F403

for _m in (activation_layers, attention, lambda_layer, merging, preprocessing,  # noqa: F405
           text_preprocessing):  # noqa: F405
    __all__ += list(_m.__all__)

# recurrent cells and the generic RNN(cell) layer (issue 22 item 5)
from . import augmentation_color, conv_lstm, recurrent_cells  # noqa: E402
from .augmentation_color import *  # noqa: E402,F401,F403
from .conv_lstm import *  # noqa: E402,F401,F403
from .recurrent_cells import *  # noqa: E402,F401,F403

__all__ += (list(recurrent_cells.__all__) + list(conv_lstm.__all__)
            + list(augmentation_color.__all__))

# depthwise/separable and volumetric convolutions, 3-D pooling and upsampling (issue 22 item 4)
from . import conv_depthwise, conv_volumetric, reshaping3d  # noqa: E402
from .conv_depthwise import *  # noqa: E402,F401,F403
from .conv_volumetric import *  # noqa: E402,F401,F403
from .reshaping3d import *  # noqa: E402,F401,F403

__all__ += (list(conv_depthwise.__all__) + list(conv_volumetric.__all__)
            + list(reshaping3d.__all__))

# Keras 3's RMSNormalization and adaptive pooling
from . import adaptive  # noqa: E402
from .adaptive import (  # noqa: E402,F401
    AdaptiveAveragePooling1D,
    AdaptiveAveragePooling2D,
    AdaptiveAveragePooling3D,
    AdaptiveMaxPooling1D,
    AdaptiveMaxPooling2D,
    AdaptiveMaxPooling3D,
    RMSNormalization,
)

__all__ += [n for n in adaptive.__all__ if n[0].isupper()]

# Keras 3's grouped-query attention (both of its names)
from .grouped_query_attention import GroupedQueryAttention, GroupQueryAttention  # noqa: E402

__all__ += ["GroupedQueryAttention", "GroupQueryAttention"]

# Keras 3's ReversibleEmbedding (tied input/output embeddings of language models)
from .reversible_embedding import ReversibleEmbedding  # noqa: E402

__all__ += ["ReversibleEmbedding"]

# Keras 3's SpectralNormalization (a GAN discriminator's weight constraint)
from .spectral_normalization import SpectralNormalization  # noqa: E402

__all__ += ["SpectralNormalization"]

# Keras 3's EinsumDense (a dense layer on any einsum equation)
from .einsum_dense import EinsumDense  # noqa: E402

__all__ += ["EinsumDense"]


def serialize(layer: Layer) -> dict:
    """A layer as Keras 3's ``keras.layers.serialize`` writes it: ``{"module", "class_name",
    "config", "registered_name"}`` (the entry of a ``.keras`` file's config), which
    ``keras.layers.deserialize`` and :func:`deserialize` read back.

    Example:
        >>> serialize(Dense(3))["class_name"]
        'Dense'
    """
    from ..interop._keras_config import glassnet_to_keras

    entry = glassnet_to_keras(layer)
    entry.pop("build_config", None)
    return entry


def deserialize(config: dict, custom_objects: dict | None = None) -> Layer:
    """A new layer from :func:`serialize`'s dict (Keras 3's format, as ``keras.layers.
    serialize`` writes it) or glassnet's ``{"class_name", "config"}``; ``custom_objects``
    names layer classes and functions of your own (nothing is imported from the dict).

    Example:
        >>> deserialize(serialize(Dense(3))).units
        3
    """
    from .. import saving

    return saving._deserialize_layer_config(config, custom_objects)


from .input_spec import InputSpec  # noqa: E402
from .wrapper import Wrapper  # noqa: E402

__all__ += ["serialize", "deserialize", "InputSpec", "Wrapper"]
