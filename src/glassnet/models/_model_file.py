"""Reading glassnet model files safely: the zip's members, sizes and each array's header
are checked before anything large is decompressed into memory or allocated (see
:mod:`glassnet.models.saving`, which re-exports what callers use)."""

from __future__ import annotations

import io
import json
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from ..backend import get_array_module

if TYPE_CHECKING:
    import os
    from typing import TypeAlias

    from ..layers.base import Layer
    from ..tensor import Tensor

    # a model file's path (or, when its bytes are given, only its name in messages)
    PathArg: TypeAlias = "str | os.PathLike[str]"

FORMAT = "glassnet-model"
# 2: weights in Layer.weights order (Keras 3's, whatever is frozen); 1 listed them trainable
# first, by each layer's flag when saved, and a functional model's layers in call order
# (read through _v1_weights)
VERSION = 2
_MAX_MEMBER = 2 << 30  # any member of any glassnet zip (GAN files use it too)

DEFAULT_LIMITS: dict[str, int] = {
    "config_bytes": 16 << 20,     # config.json, uncompressed
    "weight_bytes": 1 << 30,      # weights.npz, and optimizer.npz, each uncompressed
    "layers": 50_000,             # layers a config may declare (nested models included)
    "depth": 100,                 # nesting depth of config.json
    "input_elements": 1 << 26,    # values in one sample of a declared input shape
}
_WEIGHT_KEY = re.compile(r"w(\d{1,9})")


class ModelFileError(ValueError):
    """A model file that is missing, truncated, corrupted, too large or names something
    unknown."""


def _limits(limits: dict[str, int] | None) -> dict[str, int]:
    out = dict(DEFAULT_LIMITS)
    for k, v in (limits or {}).items():
        if k not in DEFAULT_LIMITS:
            raise ValueError(f"load_model: unknown limit {k!r}; known: {sorted(DEFAULT_LIMITS)}")
        out[k] = int(v)
    return out


def _over(path: PathArg, what: str, size: int, key: str, lim: dict[str, int]) -> ModelFileError:
    return ModelFileError(
        f"{path}: {what} is {size:,}, over the limit {key}={lim[key]:,} (pass "
        f"load_model(..., limits={{'{key}': ...}}) to load a model this large on purpose)")


# ------------------------------------------------------------------ reading
_MEMBERS = ("config.json", "weights.npz", "optimizer.npz")


class _ModelFile:
    """An opened model file: ``config``, ``weights`` and ``optimizer`` (:class:`_Npz`, the
    latter None when absent). The .npz members are spooled out of the zip (to a temp file
    past 64 MB) with bounded memory; their arrays are read only on demand. ``close()``."""

    def __init__(self, config: dict[str, Any], weights: _Npz, optimizer: _Npz | None,
                 spools: Sequence[IO[bytes]]) -> None:
        self.config, self.weights, self.optimizer, self._spools = (config, weights, optimizer,
                                                                   spools)

    def weight_names(self) -> list[str]:
        return _weight_order(self.weights.names, self.weights.path)

    def close(self) -> None:
        for f in self._spools:
            f.close()

    def __enter__(self) -> _ModelFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _open_model_file(path: PathArg, data: bytes | None = None,
                     limits: dict[str, int] | None = None) -> _ModelFile:
    """Open and check a model file (or its bytes ``data``): members, sizes, config, every
    array's header. Nothing large is decompressed into memory or allocated here."""
    lim = _limits(limits)
    if data is None:
        path = Path(path)
        if not path.is_file():
            raise ModelFileError(f"{path}: no such model file")
    spools: list[tempfile.SpooledTemporaryFile[bytes]] = []
    try:
        with zipfile.ZipFile(path if data is None else io.BytesIO(data)) as z:
            infos = z.infolist()
            names = [i.filename for i in infos]
            for n in names:
                if n not in _MEMBERS:
                    raise ModelFileError(f"{path}: unexpected member {n!r}")
            if len(set(names)) != len(names):
                raise ModelFileError(f"{path}: a member appears twice")
            if "config.json" not in names or "weights.npz" not in names:
                raise ModelFileError(f"{path}: missing config.json or weights.npz")
            for i in infos:
                key = "config_bytes" if i.filename == "config.json" else "weight_bytes"
                if i.file_size > lim[key]:
                    raise _over(path, f"member {i.filename} (uncompressed bytes)", i.file_size,
                                key, lim)
            raw_config = z.read("config.json")
            members = {}
            for n in ("weights.npz", "optimizer.npz"):
                if n in names:
                    f = tempfile.SpooledTemporaryFile(max_size=64 << 20)
                    spools.append(f)
                    with z.open(n) as src:  # reads at most the declared (checked) size
                        shutil.copyfileobj(src, f, 1 << 20)
                    f.seek(0)
                    members[n] = f
    except ModelFileError:
        for f in spools:
            f.close()
        raise
    except Exception as e:  # anything the zip layer raises on hostile bytes
        for f in spools:
            f.close()
        raise ModelFileError(f"{path}: not a glassnet model file (corrupted or truncated: "
                             f"{type(e).__name__}: {e})") from None
    try:
        config = _parse_config(raw_config, path, lim)
        npz = {n: _Npz(f, path, lim) for n, f in members.items()}
        declared = config.get("arrays")  # absent in older files: nothing to check
        if declared is not None:
            got = {n: len(a.names) for n, a in npz.items()}
            if declared != got:
                raise ModelFileError(f"{path}: config.json declares arrays {declared}, the "
                                     f"file holds {got} (corrupted)")
        out = _ModelFile(config, npz["weights.npz"], npz.get("optimizer.npz"), spools)
        out.weight_names()  # numbered 0..n-1, checked up front
        return out
    except BaseException:
        for f in spools:
            f.close()
        raise


def _read_zip(path: PathArg, data: bytes | None = None, limits: dict[str, int] | None = None
              ) -> tuple[dict[str, Any], list[np.ndarray], dict[str, np.ndarray] | None]:
    """(config, weights, optimizer state) of a model file, or of its bytes ``data``:
    ``weights`` the arrays in index order, the optimizer state a dict (or None)."""
    with _open_model_file(path, data, limits) as mf:
        weights = [mf.weights.read(n) for n in mf.weight_names()]
        opt = mf.optimizer.read_all() if mf.optimizer is not None else None
        return mf.config, weights, opt


def _parse_config(data: bytes, path: PathArg, lim: dict[str, int]) -> dict[str, Any]:
    try:
        config = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise ModelFileError(f"{path}: corrupted config.json ({type(e).__name__}: "
                             f"{str(e)[:200]})") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a glassnet model file (format marker missing)")
    version = config.get("version")
    if type(version) is not int or version < 1:
        raise ModelFileError(f"{path}: invalid format version {version!r}")
    if version > VERSION:
        raise ModelFileError(f"{path}: written by a newer glassnet (format version {version}; "
                             f"this one reads version {VERSION}); upgrade glassnet")
    _check_config_shape(config, path, lim)
    return config


def _check_config_shape(config: dict[str, Any], path: PathArg, lim: dict[str, int]) -> None:
    """Nesting depth, layer count and declared input sizes, walked without recursion."""
    layers = 0
    stack = [(config, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > lim["depth"]:
            raise _over(path, "config.json's nesting depth", depth, "depth", lim)
        if isinstance(node, dict):
            if "class_name" in node:
                layers += 1
                if layers > lim["layers"]:
                    raise _over(path, "the number of layers in config.json", layers,
                                "layers", lim)
            for k, v in node.items():
                if k in ("input_shape", "batch_input_shape", "shape") and isinstance(v, list):
                    n = 1
                    for s in v:
                        if isinstance(s, int) and not isinstance(s, bool) and s > 0:
                            n *= s
                    if n > lim["input_elements"]:
                        raise _over(path, f"the input shape {v} (values per sample)", n,
                                    "input_elements", lim)
                stack.append((v, depth + 1))
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)


def _npy_header(f: IO[bytes], name: str,
                path: PathArg) -> tuple[tuple[int, ...], bool, np.dtype[Any], int]:
    """(shape, Fortran order, dtype, header bytes) of one ``.npy`` member, read without its
    data."""
    fmt = np.lib.format
    version = fmt.read_magic(f)
    if version == (1, 0):
        shape, fortran, dtype = fmt.read_array_header_1_0(f)
    elif version == (2, 0):
        shape, fortran, dtype = fmt.read_array_header_2_0(f)
    else:
        raise ModelFileError(f"{path}: array {name}: unsupported .npy version {version}")
    if dtype.hasobject or dtype.fields is not None or dtype.kind not in "biuf":
        raise ModelFileError(f"{path}: array {name} has non-numeric dtype {dtype}; model "
                             "files hold plain numeric arrays only")
    return shape, fortran, dtype, f.tell()


class _Npz:
    """An ``.npz`` (a zip of ``.npy`` members) in a seekable file. Every array's header is
    read and checked against its member's size when opened, so nothing larger than the
    member is ever allocated; the data is read only by :meth:`read`."""

    def __init__(self, f: IO[bytes], path: PathArg, lim: dict[str, int]) -> None:
        self.entries: dict[str, tuple[zipfile.ZipInfo, tuple[int, ...], bool, np.dtype[Any],
                                      int]]
        self.path, self.entries = path, {}
        try:
            self.z = zipfile.ZipFile(f)
            infos = self.z.infolist()
            if len({i.filename for i in infos}) != len(infos):
                raise ModelFileError(f"{path}: an array name appears twice")
            total = 0
            for info in infos:
                if not info.filename.endswith(".npy"):
                    raise ModelFileError(f"{path}: unexpected array member "
                                         f"{info.filename!r}")
                name = info.filename[:-4]
                total += info.file_size
                if total > lim["weight_bytes"]:
                    raise _over(path, "the arrays' total size (bytes)", total, "weight_bytes",
                                lim)
                with self.z.open(info) as a:
                    shape, fortran, dtype, hlen = _npy_header(a, name, path)
                n = 1
                for s in shape:
                    n *= int(s)
                if n * dtype.itemsize > lim["weight_bytes"]:
                    raise _over(path, f"array {name}'s declared shape {shape} ({dtype}, "
                                "bytes)", n * dtype.itemsize, "weight_bytes", lim)
                if n * dtype.itemsize != info.file_size - hlen:
                    raise ModelFileError(
                        f"{path}: array {name} declares shape {shape} ({dtype}), "
                        f"{n * dtype.itemsize:,} bytes, but its member holds "
                        f"{info.file_size - hlen:,}")
                self.entries[name] = (info, shape, fortran, dtype, hlen)
        except ModelFileError:
            raise
        except Exception as e:  # zlib/struct/zip errors on corrupted bytes
            raise ModelFileError(f"{path}: corrupted array data ({type(e).__name__}: "
                                 f"{str(e)[:200]})") from None

    @property
    def names(self) -> list[str]:
        return list(self.entries)

    def shape(self, name: str) -> tuple:
        return tuple(self.entries[name][1])

    def size(self) -> int:
        """Values in all arrays, from their headers."""
        return sum(int(np.prod(e[1], dtype=np.int64)) for e in self.entries.values())

    def read(self, name: str) -> np.ndarray:
        info, shape, fortran, dtype, hlen = self.entries[name]
        try:
            with self.z.open(info) as f:
                f.seek(hlen)
                a = np.empty(shape, dtype=dtype, order="F" if fortran else "C")
                buf = a.reshape(-1, order="A").view(np.uint8)  # the array's own memory
                pos = 0
                while pos < buf.size:  # in chunks: no second copy of a large array
                    chunk = f.read(min(16 << 20, buf.size - pos))
                    if not chunk:
                        raise ModelFileError(f"{self.path}: array {name} is truncated")
                    buf[pos:pos + len(chunk)] = np.frombuffer(chunk, np.uint8)
                    pos += len(chunk)
                f.read(1)  # to the end of the member: zipfile checks its CRC there
        except ModelFileError:
            raise
        except Exception as e:
            raise ModelFileError(f"{self.path}: corrupted array data ({type(e).__name__}: "
                                 f"{str(e)[:200]})") from None
        return a

    def read_all(self) -> dict[str, np.ndarray]:
        return {n: self.read(n) for n in self.entries}


def _load_npz(data: bytes, path: PathArg,
              limits: dict[str, int] | None = None) -> dict[str, np.ndarray]:
    """``{name: array}`` of an ``.npz`` held in memory (every header checked first)."""
    lim = _limits(limits)
    if len(data) > lim["weight_bytes"]:
        raise _over(path, "an .npz member (bytes)", len(data), "weight_bytes", lim)
    return _Npz(io.BytesIO(data), path, lim).read_all()


def _weight_order(names: Iterable[str], path: PathArg) -> list[str]:
    """The names ``w0000, w0001, ...`` in index order (numeric: w10000 after w9999)."""
    index = {}
    for k in names:
        m = _WEIGHT_KEY.fullmatch(k)
        if m is None:
            raise ModelFileError(f"{path}: unexpected weight array name {k!r}")
        index[int(m.group(1))] = k
    if sorted(index) != list(range(len(index))):
        raise ModelFileError(f"{path}: weight arrays are not numbered 0..{len(index) - 1}")
    return [index[i] for i in range(len(index))]


def _check_shapes(model: Layer, shapes: Sequence[Sequence[int]], path: PathArg,
                  version: int = VERSION) -> list[Tensor]:
    """``model``'s weights in the order a file of format ``version`` lists them (returned,
    it is a walk of every layer) after checking that they have the file's ``shapes``."""
    own = model.weights if version >= 2 else _v1_weights(model)
    if len(shapes) != len(own):
        raise ModelFileError(f"{path}: file has {len(shapes)} weight arrays, the model has "
                             f"{len(own)}")
    for w, shape in zip(own, shapes):
        if tuple(shape) != tuple(w.shape):
            raise ModelFileError(f"{path}: weight {w.name} has shape {w.shape}, the file has "
                                 f"{tuple(shape)}")
    return own


def _set_weights_in_file_order(model: Layer, ws: Sequence[Any], version: int,
                               path: PathArg) -> None:
    """Set ``model``'s weights from arrays listed as format ``version`` lists them (as
    :meth:`Layer.set_weights`, with the file named in errors)."""
    own = _check_shapes(model, [np.shape(v) for v in ws], path, version)
    for w, v in zip(own, ws):
        w.data[...] = get_array_module(w.data).asarray(v, dtype=w.data.dtype)


# ------------------------------------------------------------------ format version 1's order
def _v1_sublayers(layer: Layer) -> list[Layer]:
    from .functional import Functional

    if not isinstance(layer, Functional):
        return layer._sublayers()
    out, seen = [], set()
    for n in layer._nodes:  # version 1: a functional model's layers in call order
        if id(n.layer) not in seen:
            seen.add(id(n.layer))
            out.append(n.layer)
    return out


def _v1_trainable(layer: Layer) -> list[Tensor]:
    own = [w for w, f in zip(layer._weights, layer._trainable_flags) if f and layer._trainable]
    for s in _v1_sublayers(layer):
        own += _v1_trainable(s)
    return own


def _v1_others(layer: Layer) -> list[Tensor]:
    own = [w for w, f in zip(layer._weights, layer._trainable_flags)
           if not (f and layer._trainable)]
    for s in _v1_sublayers(layer):
        own += _v1_others(s)
    return own


def _v1_weights(model: Layer) -> list[Tensor]:
    """The weights in the order format version 1 wrote them: the trainable ones first (by
    each layer's flag, as saved: a model file rebuilds its layers with those flags), then
    the others, a functional model's layers in call order."""
    return _v1_trainable(model) + _v1_others(model)


def v1_optimizer_state(model: Layer, state: dict[str, Any]) -> dict[str, Any]:
    """A version-1 file's optimizer state with each slot renumbered from that version's
    order of the trainable weights to :attr:`Layer.trainable_weights`'."""
    old = _v1_trainable(model)
    pos = {id(w): j for j, w in enumerate(model.trainable_weights)}
    out = {}
    for k, v in state.items():
        i, sep, name = k.partition("/")
        if sep and i.isdigit() and int(i) < len(old) and id(old[int(i)]) in pos:
            k = f"{pos[id(old[int(i)])]}/{name}"
        out[k] = v
    return out
