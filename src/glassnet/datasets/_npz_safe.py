"""Read ``.npz`` archives that hold ragged ``dtype=object`` arrays (Keras's IMDB and Reuters
files) without ``allow_pickle=True``.

Numeric members load with pickling disabled. An object array can only be stored as a pickle
stream; it is read by an unpickler that resolves exactly the globals needed to rebuild a
NumPy array (``numpy.ndarray``, ``numpy.dtype``, ``multiarray._reconstruct``) and refuses
every other one, so a tampered file cannot run code through a ``__reduce__`` gadget. (The
files are also pinned by hash before they are read.)
"""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from typing import Any

import numpy as np

__all__ = ["load_npz", "UnsafeFileError"]

_ALLOWED = frozenset({
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
})


class UnsafeFileError(ValueError):
    """An ``.npz`` member asked to unpickle something other than a NumPy array."""


class _ArrayOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise UnsafeFileError(f"refusing to unpickle {module}.{name}: a dataset file may only "
                              "hold NumPy arrays (the file is damaged or not the original)")


def _read_member(fp: io.BytesIO) -> np.ndarray:
    try:
        return np.lib.format.read_array(fp, allow_pickle=False)
    except ValueError:
        fp.seek(0)
        major, _ = np.lib.format.read_magic(fp)
        if major == 1:
            np.lib.format.read_array_header_1_0(fp)
        elif major in (2, 3):
            np.lib.format.read_array_header_2_0(fp)
        else:
            raise ValueError(f"unsupported .npy format version {major}") from None
        return _ArrayOnlyUnpickler(fp).load()


def load_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """``{name: array}`` of every ``.npy`` member of the archive at ``path``.

    Example:
        >>> arrays = load_npz("imdb.npz")  # doctest: +SKIP
    """
    out: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.endswith(".npy"):
                out[name[:-4]] = _read_member(io.BytesIO(z.read(name)))
    return out
