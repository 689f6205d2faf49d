"""What a layer does when a model file is written or read (Keras 3's saving hooks): its
weights by index, its build configuration, and files of its own (assets).

``Layer`` inherits these; a layer of your own overrides them as in Keras. The ``.keras``
writer and reader (:mod:`glassnet.interop.keras_file`) call them; the weights hooks also
serve the ``.weights.h5`` files.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .. import backend
from ..variables import Variable

if TYPE_CHECKING:
    from ..tensor import Tensor


class FileHooks:
    """The saving hooks of :class:`~glassnet.layers.Layer`."""

    name: str
    built: bool
    input_shape_built: Any
    _weights: list[Tensor]

    def build(self, input_shape: Any) -> None:  # pragma: no cover - Layer's
        raise NotImplementedError

    def _file_weights(self) -> list[Tensor]:
        """The weights a Keras file holds for this layer, as ``vars/0``, ``vars/1``...: all
        of them for a layer of your own on :class:`Layer`; a built-in layer's own
        (``add_weight``) ones, its Keras layout, for the built-in class and its subclasses
        (a :class:`~glassnet.variables.Variable` such a subclass adds is its
        ``save_own_variables``' business, as in Keras)."""
        from .base import Layer

        base = next(c for c in type(self).__mro__ if c.__module__.startswith("glassnet."))
        if base is Layer:
            return list(self._weights)
        return [w for w in self._weights if type(w) is not Variable]

    def save_own_variables(self, store: dict[str, Any]) -> None:
        """Write this layer's weights into ``store`` (``"0"``, ``"1"``, ...), as Keras 3 does
        when it saves a ``.keras`` file; override it (calling ``super()``) to save more.

        Example:
            >>> d = gn.layers.Dense(2); d.build((None, 3)); store = {}
            >>> d.save_own_variables(store); sorted(store)
            ['0', '1']
        """
        for i, w in enumerate(self._file_weights()):
            store[str(i)] = backend.asnumpy(w.data)

    def load_own_variables(self, store: Any) -> None:
        """Read this layer's weights from ``store`` (what :meth:`save_own_variables` wrote),
        checking their number and shapes; override it (calling ``super()``) to load more."""
        own = self._file_weights()
        n = sum(1 for k in store.keys() if str(k).isdigit())
        if n != len(own):
            raise ValueError(f"Layer '{self.name}': {len(own)} weight(s) to load, the store "
                             f"holds {n}")
        for i, w in enumerate(own):
            a = np.asarray(store[str(i)])
            if tuple(a.shape) != tuple(w.shape):
                raise ValueError(f"Layer '{self.name}': weight {w.name} has shape "
                                 f"{tuple(w.shape)}, the store holds {a.shape} at '{i}'")
            w.data[...] = a.astype(w.data.dtype, copy=False)

    def get_build_config(self) -> dict[str, Any] | None:
        """What :meth:`build_from_config` needs to build this layer again when a file is
        read: by default the input shape it was built for (None when unbuilt). Override it
        (with :meth:`build_from_config`) for a ``build`` that takes more (Keras's hook).

        Example:
            >>> d = gn.layers.Dense(2); d.build((None, 3)); d.get_build_config()
            {'input_shape': [None, 3]}
        """
        shape = self.input_shape_built
        if not self.built or shape is None:
            return None
        return {"input_shape": [list(s) for s in shape] if isinstance(shape, list)
                else list(shape)}

    def build_from_config(self, config: dict[str, Any]) -> None:
        """Build this layer from what :meth:`get_build_config` wrote (its input shape)."""
        shape = (config or {}).get("input_shape")
        if shape is not None and not self.built:
            self.build(tuple(shape))

    def save_assets(self, dir_path: str) -> None:
        """Write files of this layer's own into ``dir_path`` when a ``.keras`` file is
        written (a vocabulary, a lookup table); they are stored under ``assets/`` with the
        layer's path, as Keras stores them. Nothing by default."""

    def load_assets(self, dir_path: str) -> None:
        """Read back what :meth:`save_assets` wrote, from ``dir_path`` (a temporary folder
        holding this layer's files from the ``.keras`` file). Nothing by default."""
