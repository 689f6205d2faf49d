"""Keras's everyday helpers (``keras.utils``): one-hot labels, padding sequences, seeding.

So that ``from keras.utils import to_categorical, pad_sequences`` becomes
``from glassnet.utils import ...`` and a tutorial runs unchanged otherwise.
"""

from __future__ import annotations

import os
import random
from collections.abc import Sequence as _Sequence  # utils.Sequence is Keras's
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from . import backend

if TYPE_CHECKING:
    from ._diagram import Diagram

__all__ = ["to_categorical", "pad_sequences", "normalize", "set_random_seed", "plot_model",
           "ModelPlot"]


def to_categorical(y: ArrayLike, num_classes: int | None = None,
                   dtype: DTypeLike = "float32") -> np.ndarray:
    """One-hot encode integer class ids, as Keras does.

    Args:
        y: class ids in ``[0, num_classes)``, any shape; a trailing axis of size 1 is dropped.
        num_classes: number of classes; default ``max(y) + 1``.
        dtype: dtype of the result.

    Shapes: y (...,) → (..., num_classes).

    Example:
        >>> to_categorical([0, 2, 1], 3)
        array([[1., 0., 0.],
               [0., 0., 1.],
               [0., 1., 0.]], dtype=float32)
    """
    a = np.asarray(y)
    if a.dtype.kind == "f":
        if a.size and not np.all(a == np.round(a)):
            raise ValueError("to_categorical: y must hold integer class ids. "
                             "Received: non-integer values")
    elif a.dtype.kind not in "iub":
        raise TypeError(f"to_categorical: y must hold integer class ids. "
                        f"Received: dtype {a.dtype}")
    a = a.astype(np.int64)
    if a.ndim > 1 and a.shape[-1] == 1:
        a = a.reshape(a.shape[:-1])
    if a.size and a.min() < 0:
        raise ValueError(f"to_categorical: class ids must be >= 0. Received: {int(a.min())}")
    if num_classes is None:
        num_classes = int(a.max()) + 1 if a.size else 0
    if isinstance(num_classes, bool) or int(num_classes) != num_classes or num_classes < 1:
        raise ValueError(f"to_categorical: num_classes must be a positive int. "
                         f"Received: {num_classes!r}")
    num_classes = int(num_classes)
    if a.size and (a.min() < 0 or a.max() >= num_classes):
        raise ValueError(f"to_categorical: class ids must be in [0, {num_classes}). "
                         f"Received: ids in [{int(a.min())}, {int(a.max())}]")
    out = np.zeros(a.shape + (num_classes,), dtype=dtype)
    np.put_along_axis(out, a[..., None], 1, axis=-1)
    return out


def pad_sequences(sequences: _Sequence[Any], maxlen: int | None = None, dtype: DTypeLike = "int32",
                  padding: str = "pre", truncating: str = "pre",
                  value: float | str = 0.0) -> np.ndarray:
    """Pad (or cut) variable-length sequences to one length, as Keras does.

    Args:
        sequences: a list of sequences (lists or arrays; each may have trailing feature axes).
        maxlen: the length of the result; default the longest sequence.
        dtype: dtype of the result (``"int32"`` for token ids, a float type for values).
        padding: ``"pre"`` (Keras's default) or ``"post"``: where the padding goes.
        truncating: ``"pre"`` or ``"post"``: which end of a too-long sequence is cut.
        value: the padding value (``0`` is what ``Embedding(mask_zero=True)`` masks).

    Shapes: N sequences → (N, maxlen, *feature_shape).

    Example:
        >>> pad_sequences([[1, 2, 3], [4]], maxlen=2)
        array([[2, 3],
               [0, 4]], dtype=int32)
    """
    if padding not in ("pre", "post") or truncating not in ("pre", "post"):
        raise ValueError(f"pad_sequences: padding and truncating must be 'pre' or 'post'. "
                         f"Received: padding={padding!r}, truncating={truncating!r}")
    try:
        seqs = [np.asarray(s) for s in sequences]
    except TypeError:
        raise TypeError("pad_sequences: sequences must be an iterable of sequences. "
                        f"Received: {type(sequences).__name__}") from None
    if any(s.ndim == 0 for s in seqs):
        raise ValueError("pad_sequences: every entry must be a sequence (a list or array). "
                         "Received: a scalar entry")
    feature = next((s.shape[1:] for s in seqs if len(s)), ())
    if any(len(s) and s.shape[1:] != feature for s in seqs):
        raise ValueError(f"pad_sequences: every step must have the same shape {feature}")
    if maxlen is None:
        maxlen = max((len(s) for s in seqs), default=0)
    if int(maxlen) != maxlen or maxlen < 0:
        raise ValueError(f"pad_sequences: maxlen must be a non-negative int. "
                         f"Received: {maxlen!r}")
    maxlen = int(maxlen)
    out = np.full((len(seqs), maxlen, *feature), value, dtype=dtype)
    for i, s in enumerate(seqs):
        if not len(s) or not maxlen:
            continue
        s = s[-maxlen:] if truncating == "pre" else s[:maxlen]
        if padding == "post":
            out[i, :len(s)] = s
        else:
            out[i, maxlen - len(s):] = s
    return out


def normalize(x: ArrayLike, axis: int = -1, order: int = 2) -> np.ndarray:
    """Scale ``x`` to unit ``order``-norm along ``axis`` (zero vectors stay zero), as Keras.

    Example:
        >>> normalize(np.array([[3.0, 4.0]]))
        array([[0.6, 0.8]])
    """
    a = np.asarray(x)
    norm = np.atleast_1d(np.linalg.norm(a, order, axis))
    norm[norm == 0] = 1
    return a / np.expand_dims(norm, axis)


def set_random_seed(seed: int) -> None:
    """Seed every generator a Keras script draws from, as ``keras.utils.set_random_seed`` does.

    That is glassnet's own generator (:func:`glassnet.set_seed`: weight init, shuffling,
    dropout, noise) and, as in Keras, Python's ``random`` and NumPy's global generator,
    which tutorials use for their own noise and splits.

    Args:
        seed: a non-negative int.

    Example:
        >>> set_random_seed(0)
    """
    backend.set_seed(seed)  # validates the seed first
    random.seed(seed)
    np.random.seed(seed)


class ModelPlot:
    """What :func:`plot_model` returns: an SVG that Jupyter shows inline.

    Attributes:
        svg: the SVG text. ``dot``: the same graph as Graphviz DOT text.
    """

    def __init__(self, diagram: Diagram, dot: str) -> None:
        self._diagram = diagram
        self.svg: str = diagram.to_svg()
        self.dot: str = dot

    def _repr_svg_(self) -> str:
        return self.svg

    def __repr__(self) -> str:
        return f"<ModelPlot {len(self._diagram.boxes)} boxes>"

    def save(self, path: str | os.PathLike, dpi: int | None = None) -> Path:
        """Write ``.svg``, ``.png`` (needs matplotlib) or ``.dot``, atomically."""
        path = Path(path)
        fmt = path.suffix.lower().lstrip(".")
        if fmt not in ("svg", "png", "dot", "gv"):
            raise ValueError(f"plot_model: to_file must end in .svg, .png or .dot. "
                             f"Received: {str(path)!r}")
        if fmt in ("dot", "gv"):
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text(self.dot, encoding="utf-8")
            os.replace(tmp, path)
            return path
        return self._diagram.save(path, fmt, dpi=dpi)


def plot_model(model: Any, to_file: str | os.PathLike | None = None, show_shapes: bool = False,
               show_dtype: bool = False,
               show_layer_names: bool = False, rankdir: str = "TB",
               expand_nested: bool = False, dpi: int = 200,
               show_layer_activations: bool = False, show_trainable: bool = False,
               **kwargs: Any) -> ModelPlot:
    """Draw a model's layer graph, as Keras's ``plot_model`` does, with no Graphviz or pydot.

    Works for Sequential, functional (several inputs and outputs) and nested models. In
    Jupyter the returned object displays as SVG.

    Args:
        model: a built ``Sequential`` or functional ``Model``.
        to_file: optional path ending in ``.svg``, ``.png`` (matplotlib) or ``.dot``. Unlike
            Keras (default ``"model.png"``), nothing is written unless a path is given.
        show_shapes: show each layer's output shape (and parameter count).
        show_dtype: show each layer's dtype.
        show_layer_names: show layer names next to their class.
        rankdir: ``"TB"`` (top to bottom, default) or ``"LR"``, as Graphviz's.
        expand_nested: draw a nested model's layers instead of one box.
        dpi: resolution of a ``.png`` (100 = one pixel per SVG unit).
        show_layer_activations: show the activation of layers that have one.
        show_trainable: show whether each layer is trainable (frozen layers are grey).
        **kwargs: Keras's ``layer_range`` is not supported and raises.

    Returns:
        A :class:`ModelPlot` (``.svg``, ``.dot``, ``.save(path)``).

    Examples:
        >>> from glassnet.layers import Dense
        >>> m = gn.models.Sequential([Dense(3, input_dim=4), Dense(1)])
        >>> plot_model(m, show_shapes=True).svg.count("<rect") > 3
        True
    """
    from .layer_graph import layer_graph_diagram, layer_graph_dot

    if kwargs:
        raise TypeError(f"plot_model: unsupported argument(s) {sorted(kwargs)}")
    opts: dict[str, Any] = {"show_shapes": show_shapes, "show_dtype": show_dtype,
            "show_layer_names": show_layer_names, "rankdir": rankdir,
            "expand_nested": expand_nested, "show_layer_activations": show_layer_activations,
            "show_trainable": show_trainable}
    if not hasattr(model, "layers"):
        raise TypeError(f"plot_model: expected a glassnet model. Received: "
                        f"{type(model).__name__}")
    plot = ModelPlot(layer_graph_diagram(model, **opts), layer_graph_dot(model, **opts))
    if to_file is not None:
        plot.save(to_file, dpi=dpi)
    return plot


# Keras's data helpers (keras.utils.PyDataset, timeseries_dataset_from_array, ...)
from ._data_utils import (  # noqa: E402
    PyDataset,
    Sequence,
    get_file,
    image_dataset_from_directory,
    timeseries_dataset_from_array,
)

__all__ += ["PyDataset", "Sequence", "get_file", "image_dataset_from_directory",
            "timeseries_dataset_from_array"]

# ... and the rest of keras.utils (images, Progbar, the serialization registry's names)
from ._keras_utils import *  # noqa: E402,F401,F403
from ._keras_utils import __all__ as _more  # noqa: E402

__all__ += _more
