"""Models in and out of glassnet: Keras 3 files (``.keras``, ``.weights.h5``, legacy ``.h5``),
ONNX export. Each door needs an optional package (``h5py``; ``onnx``), imported only when used.

Example:
    >>> model.save("m.keras"); gn.models.load_model("m.keras")      # doctest: +SKIP
    >>> model.export("m.onnx", format="onnx")                        # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..models import Model

__all__ = ["keras_format"]


def keras_format(path: object) -> str | None:
    """Which Keras file format a file name asks for: ``"keras"`` (``.keras``),
    ``"weights_h5"`` (``.weights.h5``), ``"h5"`` (legacy ``.h5``/``.hdf5``), or None.

    Example:
        >>> keras_format("m.weights.h5"), keras_format("m.glassnet")
        ('weights_h5', None)
    """
    if not isinstance(path, (str, Path)):
        return None
    name = Path(path).name.lower()
    if name.endswith(".keras"):
        return "keras"
    if name.endswith(".weights.h5"):
        return "weights_h5"
    if name.endswith((".h5", ".hdf5")):
        return "h5"
    return None


def save(model: Model, path: str | os.PathLike, fmt: str, include_optimizer: bool = True,
         overwrite: bool = True, weights_only: bool = False) -> None:
    """``model.save``/``save_weights`` for a Keras file name (see :func:`keras_format`)."""
    if fmt == "h5":
        from .keras_h5 import save_legacy_h5

        return save_legacy_h5(model, path, overwrite=overwrite, weights_only=weights_only)
    from .keras_file import save_keras, save_weights_h5

    if weights_only or fmt == "weights_h5":
        if fmt == "keras":
            raise ValueError(f"save_weights: {path}: a .keras file holds a whole model; use "
                             "a name ending in .weights.h5 (Keras 3's weights file)")
        return save_weights_h5(model, path, overwrite=overwrite)
    return save_keras(model, path, overwrite=overwrite)


def load(path: str | os.PathLike, fmt: str, compile: bool = True,
         data: bytes | None = None) -> Model:
    """``load_model`` for a Keras file name (see :func:`keras_format`)."""
    if fmt == "h5":
        from .keras_h5 import load_legacy_h5

        return load_legacy_h5(path, compile=compile)
    if fmt == "weights_h5":
        from ..models.saving import ModelFileError

        raise ModelFileError(f"{path}: a .weights.h5 file holds weights only; build the "
                             "model and call model.load_weights")
    from .keras_file import load_keras

    return load_keras(path, compile=compile, data=data)


def load_weights(model: Model, path: str | os.PathLike, fmt: str) -> None:
    """``model.load_weights`` for a Keras file name (see :func:`keras_format`)."""
    if fmt == "h5":
        from .keras_h5 import load_legacy_weights

        return load_legacy_weights(model, path)
    if fmt == "keras":
        from .keras_file import load_keras

        src = load_keras(path, compile=False)
        model.set_weights(src.get_weights())
        return None
    from .keras_file import load_weights_h5

    return load_weights_h5(model, path)
