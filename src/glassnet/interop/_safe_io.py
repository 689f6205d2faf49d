"""Defensive readers for untrusted zip and HDF5 files (sizes checked before reading).

Every limit is checked against what the file *declares* before anything is allocated, and
again while bytes stream in (a declared size can lie). Problems become ModelFileError.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
import zlib
from types import TracebackType
from typing import IO, Any, Literal, overload

import numpy as np

from ..models.saving import ModelFileError

MAX_JSON = 64 << 20          # config.json / metadata.json
MAX_WEIGHTS = 8 << 30        # model.weights.h5 inside a .keras zip
MAX_EXPANSION = 200          # deflate ratio above which a large member is a zip bomb
_SPOOL = 64 << 20            # members above this stream to a temp file, not to memory
MAX_H5_OBJECTS = 200_000
MAX_NDIM = 8
# what zipfile and zlib raise on hostile bytes (besides BadZipFile): all a ModelFileError
ZIP_ERRORS = (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError,
              RuntimeError, KeyError, IndexError, OverflowError, zlib.error)


# what h5py raises on hostile bytes: all a ModelFileError (see corrupt_h5)
H5_ERRORS = (OSError, RuntimeError, KeyError, ValueError, TypeError, IndexError,
             UnicodeError, OverflowError, AttributeError)


class corrupt_h5:  # noqa: N801 - used as a context manager, like contextlib's helpers
    """Context manager: anything h5py raises on a damaged file becomes ModelFileError."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = path

    def __enter__(self) -> corrupt_h5:
        return self

    def __exit__(self, kind: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> Literal[False]:
        if kind is None or issubclass(kind, (ModelFileError, ImportError)):
            return False
        if issubclass(kind, H5_ERRORS):
            raise ModelFileError(f"{self.path}: corrupted HDF5 file ({kind.__name__}: "
                                 f"{str(e)[:200]})") from None
        return False


def h5py_or_error() -> Any:
    """The h5py module, or an ImportError saying which extra installs it."""
    try:
        import h5py
    except ImportError:
        raise ImportError("Keras .keras/.h5 files need h5py: pip install 'glassnet[keras]'"
                          ) from None
    return h5py


@overload
def read_member(z: zipfile.ZipFile, name: str, limit: int, path: str | os.PathLike,
                spool: Literal[False] = False) -> bytes: ...
@overload
def read_member(z: zipfile.ZipFile, name: str, limit: int, path: str | os.PathLike,
                spool: Literal[True]) -> IO[bytes]: ...
def read_member(z: zipfile.ZipFile, name: str, limit: int, path: str | os.PathLike,
                spool: bool = False) -> bytes | IO[bytes]:
    """The bytes of zip member ``name`` (a seekable file when ``spool``), refusing bombs."""
    try:
        info = z.getinfo(name)
    except KeyError:
        raise ModelFileError(f"{path}: member {name} is missing") from None
    if info.file_size > limit:
        raise ModelFileError(f"{path}: member {name} declares {info.file_size} bytes, over "
                             f"the limit of {limit}")
    if info.file_size > (1 << 20) and info.file_size > MAX_EXPANSION * max(info.compress_size,
                                                                            1):
        raise ModelFileError(f"{path}: member {name} expands {info.file_size} / "
                             f"{info.compress_size} times: a zip bomb, refused")
    out: Any = tempfile.SpooledTemporaryFile(max_size=_SPOOL) if spool else io.BytesIO()
    total = 0
    try:
        with z.open(info) as f:
            while True:
                chunk = f.read(1 << 20)
                if not chunk:
                    break
                total += len(chunk)
                if total > info.file_size or total > limit:
                    raise ModelFileError(f"{path}: member {name} holds more bytes than it "
                                         "declares; refused")
                out.write(chunk)
    except ZIP_ERRORS as e:
        if isinstance(e, ModelFileError):
            raise
        raise ModelFileError(f"{path}: member {name} is corrupted ({e})") from None
    out.seek(0)
    return out if spool else out.getvalue()


def parse_json(data: bytes, what: str, path: str | os.PathLike) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise ModelFileError(f"{path}: {what} is not valid JSON ({type(e).__name__}: "
                             f"{str(e)[:100]})") from None


def open_h5(fileobj: str | IO[bytes], path: str | os.PathLike) -> Any:
    """An h5py File (read-only) on a path or seekable file object; corrupt -> ModelFileError."""
    h5py = h5py_or_error()
    try:
        return h5py.File(fileobj, "r")
    except (OSError, ValueError) as e:
        raise ModelFileError(f"{path}: not a readable HDF5 file ({e})") from None


def h5_datasets(group: Any, path: str | os.PathLike, size_budget: int) -> dict[str, Any]:
    """``{relative path: dataset}`` under ``group``: hard links only, numeric, bounded.

    Refuses external/soft links, external or virtual storage, non-numeric dtypes and a
    total declared size over ``size_budget`` bytes, all before any data is read.
    """
    h5py = h5py_or_error()
    out, total, seen = {}, 0, 0
    stack = [("", group)]
    while stack:
        prefix, g = stack.pop()
        try:
            keys = list(g.keys())
        except (OSError, RuntimeError, KeyError) as e:
            raise ModelFileError(f"{path}: corrupted HDF5 group {prefix or '/'} ({e})") from None
        for k in keys:
            seen += 1
            if seen > MAX_H5_OBJECTS:
                raise ModelFileError(f"{path}: more than {MAX_H5_OBJECTS} HDF5 objects")
            name = f"{prefix}/{k}" if prefix else k
            try:
                link = g.get(k, getlink=True)
                if not isinstance(link, h5py.HardLink):
                    raise ModelFileError(f"{path}: HDF5 entry {name} is a "
                                         f"{type(link).__name__}; only plain data is read")
                obj = g[k]
            except (OSError, RuntimeError, KeyError) as e:
                raise ModelFileError(f"{path}: corrupted HDF5 entry {name} ({e})") from None
            if isinstance(obj, h5py.Group):
                stack.append((name, obj))
                continue
            if not isinstance(obj, h5py.Dataset):
                raise ModelFileError(f"{path}: HDF5 entry {name} is not a dataset")
            _check_dataset(obj, name, path)
            total += obj.size * obj.dtype.itemsize
            if total > size_budget:
                raise ModelFileError(f"{path}: the weights declare more than {size_budget} "
                                     "bytes, more than the file holds; refused")
            out[name] = obj
    return out


def _check_dataset(d: Any, name: str, path: str | os.PathLike) -> None:
    if d.dtype.kind not in "biuf" or d.dtype.fields is not None:
        raise ModelFileError(f"{path}: dataset {name} has dtype {d.dtype}; weight files "
                             "hold plain numbers only")
    if d.ndim > MAX_NDIM:
        raise ModelFileError(f"{path}: dataset {name} has {d.ndim} dimensions")
    try:
        external = d.external
        virtual = d.is_virtual
    except (OSError, RuntimeError):
        external, virtual = None, False
    if external or virtual:
        raise ModelFileError(f"{path}: dataset {name} points at data outside the file; "
                             "refused")


def read_dataset(d: Any, name: str, path: str | os.PathLike) -> np.ndarray:
    try:
        a = np.asarray(d[()])
    except (OSError, RuntimeError, ValueError, TypeError) as e:
        raise ModelFileError(f"{path}: dataset {name} is corrupted ({e})") from None
    if a.dtype.kind == "f" and a.dtype != np.float64:
        a = a.astype(np.float32, copy=False)
    return a


def h5_attr_text(obj: Any, key: str, path: str | os.PathLike, limit: int = MAX_JSON) -> object:
    """A string attribute (bytes decoded), bounded; None when absent."""
    try:
        if key not in obj.attrs:
            return None
        v = obj.attrs[key]
    except (OSError, RuntimeError, TypeError) as e:
        raise ModelFileError(f"{path}: corrupted HDF5 attribute {key} ({e})") from None
    if isinstance(v, np.ndarray) and v.dtype.kind in "OSU" and v.size == 1:
        v = v.reshape(-1)[0]
    if isinstance(v, bytes):
        v = v.decode("utf-8", "replace")
    if not isinstance(v, str):
        return v
    if len(v) > limit:
        raise ModelFileError(f"{path}: attribute {key} is implausibly large")
    return v


def h5_attr_names(obj: Any, key: str, path: str | os.PathLike) -> list[str]:
    """A list-of-strings attribute (Keras 2's ``layer_names``/``weight_names``)."""
    try:
        if key not in obj.attrs:
            return []
        v = obj.attrs[key]
    except (OSError, RuntimeError, TypeError) as e:
        raise ModelFileError(f"{path}: corrupted HDF5 attribute {key} ({e})") from None
    arr = np.asarray(v).reshape(-1)
    if arr.dtype.kind not in "OSU" or arr.size > MAX_H5_OBJECTS:
        raise ModelFileError(f"{path}: attribute {key} is not a list of names")
    return [x.decode("utf-8", "replace") if isinstance(x, bytes) else str(x) for x in arr]
