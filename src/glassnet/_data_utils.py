"""Keras's data helpers in ``keras.utils``: ``PyDataset``, ``timeseries_dataset_from_array``,
``image_dataset_from_directory`` and ``get_file`` (re-exported by :mod:`glassnet.utils`).

Datasets here are plain Python iterables of NumPy ``(x, y)`` batches (what Keras's
``tf.data`` pipelines yield, minus TensorFlow); they have ``len()``, can be iterated many
times, and ``as_numpy_iterator()``/``unbatch()`` for code written against ``tf.data``.

Example:
    >>> ds = timeseries_dataset_from_array(np.arange(10), None, sequence_length=3,
    ...                                    batch_size=4)
    >>> next(iter(ds)).shape
    (4, 3)
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Iterator

    from numpy.typing import ArrayLike

__all__ = ["PyDataset", "Sequence", "timeseries_dataset_from_array",
           "image_dataset_from_directory", "get_file", "ArrayDataset"]


class PyDataset:
    """Keras's ``PyDataset``: subclass it with ``__len__`` (batches per epoch) and
    ``__getitem__(i)`` (batch ``i`` as ``x`` or ``(x, y)`` or ``(x, y, sample_weight)``).

    Args:
        workers, use_multiprocessing, max_queue_size: accepted for Keras compatibility;
            batches are produced in order in the calling thread.

    Example:
        >>> class Batches(PyDataset):
        ...     def __len__(self): return 3
        ...     def __getitem__(self, i): return x[i * 8:(i + 1) * 8], y[i * 8:(i + 1) * 8]
    """

    def __init__(self, workers: int = 1, use_multiprocessing: bool = False,
                 max_queue_size: int = 10) -> None:
        self.workers, self.use_multiprocessing = workers, use_multiprocessing
        self.max_queue_size = max_queue_size

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")

    @property
    def num_batches(self) -> int | None:
        try:
            return len(self)
        except NotImplementedError:
            return None

    def on_epoch_begin(self) -> None:
        """Called by ``fit`` before each epoch (e.g. to reshuffle)."""

    def on_epoch_end(self) -> None:
        """Called by ``fit`` after each epoch."""

    def __iter__(self) -> Iterator[Any]:
        for i in range(len(self)):
            yield self[i]


Sequence = PyDataset  # Keras 2's keras.utils.Sequence


class ArrayDataset(PyDataset):
    """Batches of in-memory arrays: what the ``*_dataset_from_*`` helpers return.

    Iterating yields ``x`` batches, or ``(x, y)`` when there are targets.
    """

    class_names: list[str] | None  # set by image_dataset_from_directory

    def __init__(self, x: Any, y: Any = None, batch_size: int | None = 32, shuffle: bool = False,
                 seed: int | None = None) -> None:
        super().__init__()
        self.x, self.y = x, y
        self.batch_size = batch_size
        self.shuffle, self.seed = shuffle, seed
        self._epoch = 0

    def __len__(self) -> int:
        n = len(self.x)
        return 1 if self.batch_size is None else -(-n // self.batch_size)

    def _order(self) -> np.ndarray:
        n = len(self.x)
        if not self.shuffle:
            return np.arange(n)
        rng = np.random.default_rng(None if self.seed is None else self.seed + self._epoch)
        return rng.permutation(n)

    def __iter__(self) -> Iterator[Any]:
        order = self._order()
        self._epoch += 1
        for i in range(len(self)):
            idx = order if self.batch_size is None else \
                order[i * self.batch_size:(i + 1) * self.batch_size]
            yield self._take(idx)

    def __getitem__(self, i: int) -> Any:
        if not 0 <= i < len(self):
            raise IndexError(f"batch index {i} out of range [0, {len(self)})")
        bs = len(self.x) if self.batch_size is None else self.batch_size
        return self._take(np.arange(i * bs, min((i + 1) * bs, len(self.x))))

    def _take(self, idx: np.ndarray) -> Any:
        xb = self.x[idx]
        return xb if self.y is None else (xb, self.y[idx])

    def as_numpy_iterator(self) -> Iterator[Any]:
        return iter(self)

    def unbatch(self) -> ArrayDataset:
        """All samples as one batch-free iterable of ``x`` or ``(x, y)``."""
        return ArrayDataset(self.x, self.y, batch_size=None)

    def take(self, count: int) -> list[Any]:
        """The first ``count`` batches (``tf.data.Dataset.take``)."""
        return [b for b, _ in zip(self, range(int(count)))]


def timeseries_dataset_from_array(data: ArrayLike, targets: ArrayLike | None,
                                  sequence_length: int, sequence_stride: int = 1,
                                  sampling_rate: int = 1, batch_size: int | None = 128,
                                  shuffle: bool = False, seed: int | None = None,
                                  start_index: int | None = None,
                                  end_index: int | None = None) -> ArrayDataset:
    """Sliding windows over a time series, batched, as Keras's function of the same name.

    Window ``i`` starts at ``start_index + i * sequence_stride`` and holds
    ``sequence_length`` steps taken every ``sampling_rate`` rows; its target is
    ``targets[start of window i]``.

    Args:
        data: array (T, ...) of time steps.
        targets: array aligned with ``data`` (or None: windows only).
        sequence_length, sequence_stride, sampling_rate: window geometry.
        batch_size: windows per batch (None: one batch of all). shuffle, seed: window order.
        start_index, end_index: the rows of ``data`` used (end exclusive).

    Shapes: batches (batch, sequence_length, ...) and targets (batch, ...).

    Example:
        >>> ds = timeseries_dataset_from_array(x[:-10], y[10:], sequence_length=10)
    """
    data = np.asarray(data)
    for arg, v in (("sequence_length", sequence_length), ("sequence_stride", sequence_stride),
                   ("sampling_rate", sampling_rate)):
        if isinstance(v, bool) or int(v) != v or v <= 0:
            raise ValueError(f"timeseries_dataset_from_array: {arg} must be a positive int. "
                             f"Received: {arg}={v!r}")
    start = 0 if start_index is None else int(start_index)
    end = len(data) if end_index is None else int(end_index)
    if not 0 <= start < end <= len(data):
        raise ValueError(f"timeseries_dataset_from_array: need 0 <= start_index < end_index <= "
                         f"{len(data)}. Received: start_index={start_index}, "
                         f"end_index={end_index}")
    span = (sequence_length - 1) * sampling_rate
    starts = np.arange(start, end - span, sequence_stride)
    if targets is not None:
        targets = np.asarray(targets)
        starts = starts[starts < len(targets)]
    idx = starts[:, None] + np.arange(sequence_length) * sampling_rate
    windows = data[idx]
    y = None if targets is None else targets[starts]
    return ArrayDataset(windows, y, batch_size=batch_size, shuffle=shuffle, seed=seed)


_IMAGE_EXT = (".png", ".jpg", ".jpeg", ".bmp", ".gif")


def image_dataset_from_directory(
        directory: str | os.PathLike[str], labels: str | list[Any] | None = "inferred",
        label_mode: str | None = "int", class_names: list[str] | None = None,
        color_mode: str = "rgb", batch_size: int | None = 32,
        image_size: tuple[int, int] = (256, 256), shuffle: bool = True, seed: int | None = None,
        validation_split: float | None = None, subset: str | None = None,
        interpolation: str = "bilinear", crop_to_aspect_ratio: bool = False,
        verbose: bool = True, **kwargs: Any) -> ArrayDataset | tuple[ArrayDataset, ArrayDataset]:
    """Images in ``directory/<class>/*.png|jpg`` as a batched dataset, as Keras does.

    Needs Pillow (``pip install glassnet[images]``). Images are resized to ``image_size``
    and returned as float32 (batch, height, width, channels) in [0, 255]; labels as ints
    (``label_mode="int"``), one-hot (``"categorical"``), float 0/1 (``"binary"``) or none.
    With ``validation_split`` and ``subset="training"|"validation"|"both"`` the files are
    split after a seeded shuffle, as Keras does.

    Example:
        >>> train = image_dataset_from_directory("flowers", image_size=(64, 64),
        ...                                      validation_split=0.2, subset="training",
        ...                                      seed=1)   # doctest: +SKIP
    """
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("image_dataset_from_directory needs Pillow: "
                          "pip install 'glassnet[images]'") from None
    if kwargs:
        raise TypeError(f"image_dataset_from_directory: unexpected argument(s) {sorted(kwargs)}")
    root = Path(directory)
    if not root.is_dir():
        raise ValueError(f"image_dataset_from_directory: directory not found. "
                         f"Received: {str(directory)!r}")
    if label_mode not in ("int", "categorical", "binary", None):
        raise ValueError(f"label_mode must be 'int', 'categorical', 'binary' or None. "
                         f"Received: {label_mode!r}")
    R = Image.Resampling  # Keras's interpolation names, as Pillow's filters
    resample = {"bilinear": R.BILINEAR, "nearest": R.NEAREST, "bicubic": R.BICUBIC,
                "area": R.BOX, "lanczos3": R.LANCZOS, "lanczos5": R.LANCZOS,
                "hamming": R.HAMMING}.get(interpolation)
    if resample is None:
        raise ValueError("image_dataset_from_directory: interpolation must be one of "
                         "'bilinear', 'nearest', 'bicubic', 'area', 'lanczos3', 'lanczos5', "
                         f"'hamming'. Received: {interpolation!r}")
    channels = {"rgb": 3, "grayscale": 1, "rgba": 4}.get(color_mode)
    if channels is None:
        raise ValueError(f"color_mode must be 'rgb', 'grayscale' or 'rgba'. "
                         f"Received: {color_mode!r}")
    names: list[str] | None
    files: list[tuple[Path, Any]]
    if labels == "inferred":
        names = class_names or sorted(p.name for p in root.iterdir() if p.is_dir())
        files = [(f, i) for i, c in enumerate(names) for f in sorted((root / c).rglob("*"))
                 if f.suffix.lower() in _IMAGE_EXT]
    else:
        names = class_names
        found = sorted(f for f in root.rglob("*") if f.suffix.lower() in _IMAGE_EXT)
        lab = [None] * len(found) if labels is None else list(labels)
        if len(lab) != len(found):
            raise ValueError(f"labels has {len(lab)} entries for {len(found)} images")
        files = list(zip(found, lab))
    if not files:
        raise ValueError(f"image_dataset_from_directory: no images in {str(directory)!r}")
    n_classes = len(names) if names else 0
    if not names and labels is not None and labels != "inferred":
        n_classes = int(max(lab for _, lab in files)) + 1  # a labels list: as Keras counts
    if verbose:
        print(f"Found {len(files)} files belonging to {n_classes} classes.")
    order = np.arange(len(files))
    if shuffle or validation_split:
        order = np.random.default_rng(1337 if seed is None else seed).permutation(len(files))
    files = [files[i] for i in order]
    subsets = {"all": files}
    if validation_split:
        n_val = int(validation_split * len(files))
        subsets = {"training": files[:len(files) - n_val],
                   "validation": files[len(files) - n_val:]}
        if verbose:
            print(f"Using {len(subsets['training'])} files for training.")
            print(f"Using {len(subsets['validation'])} files for validation.")
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[channels]

    h, w = image_size

    def load(f: Path) -> np.ndarray:
        img = Image.open(f).convert(mode)
        if crop_to_aspect_ratio:  # the largest centred box of the target's aspect ratio
            iw, ih = img.size
            cw, ch = min(iw, round(ih * w / h)), min(ih, round(iw * h / w))
            left, top = (iw - cw) // 2, (ih - ch) // 2
            img = img.crop((left, top, left + cw, top + ch))
        return np.asarray(img.resize((w, h), resample), dtype=np.float32).reshape(h, w, channels)

    def build(items: list[tuple[Path, Any]]) -> ArrayDataset:
        xs = np.stack([load(f) for f, _ in items])
        # labels=None: images only, whatever label_mode says (as Keras)
        ids = np.array([lab for _, lab in items]) if label_mode and labels is not None else None
        if label_mode == "categorical":
            ids = np.eye(n_classes, dtype=np.float32)[ids]
        elif label_mode == "binary" and ids is not None:  # always set when label_mode is
            ids = ids.astype(np.float32).reshape(-1, 1)
        ds = ArrayDataset(xs, ids, batch_size=batch_size, shuffle=bool(shuffle), seed=seed)
        ds.class_names = names
        return ds

    if not validation_split:
        return build(subsets["all"])
    if subset == "both":
        return build(subsets["training"]), build(subsets["validation"])
    if subset not in ("training", "validation"):
        raise ValueError(f"with validation_split, subset must be 'training', 'validation' or "
                         f"'both'. Received: subset={subset!r}")
    return build(subsets[subset])


def get_file(fname: str | None = None, origin: str | None = None, untar: bool = False,
             md5_hash: str | None = None, file_hash: str | None = None,
             cache_subdir: str = "datasets", hash_algorithm: str | None = "auto",
             extract: bool = False, archive_format: str | None = "auto",
             cache_dir: str | os.PathLike[str] | None = None,
             force_download: bool = False) -> str:
    """Download ``origin`` once into a cache and return the local path, checked by hash.

    Uses pooch (``pip install 'glassnet[data]'``). The cache is ``cache_dir`` or
    ``$GLASSNET_DATA_DIR`` (default ``~/.cache/glassnet``), subfolder ``cache_subdir``.
    ``file_hash`` (SHA-256, or MD5 by its length) is checked on download and on every later
    call; a mismatch raises and the bad file is not used. ``extract``/``untar`` unpacks a
    zip or tar next to it and returns the folder.

    Example:
        >>> path = get_file("data.csv", "https://example.org/data.csv",
        ...                 file_hash="sha256:…")   # doctest: +SKIP
    """
    if origin is None:
        raise ValueError("get_file: origin (the URL) is required. Received: origin=None")
    if fname is None:
        fname = os.path.basename(origin.split("?")[0])
    base = Path(cache_dir or os.environ.get("GLASSNET_DATA_DIR")
                or Path.home() / ".cache" / "glassnet")
    folder = base / cache_subdir
    folder.mkdir(parents=True, exist_ok=True)
    known = file_hash or md5_hash
    path = folder / fname
    if path.exists() and not force_download:
        if known is not None and not _hash_ok(path, known, hash_algorithm):
            raise ValueError(f"get_file: {path} does not match the expected hash {known}; "
                             "delete it (or pass force_download=True) to download it again")
    else:
        try:
            import pooch
        except ImportError:
            raise ImportError(f"get_file needs pooch to download {origin}: "
                              f"pip install 'glassnet[data]' (or put the file at {path})") \
                from None
        algo = _algo(known, hash_algorithm) if known else None
        spec = None if known is None else (known if ":" in str(known) else f"{algo}:{known}")
        pooch.retrieve(origin, known_hash=spec, fname=fname, path=str(folder),
                       progressbar=False)
    if extract or untar:
        return _extract(path, archive_format)
    return str(path)


def _algo(known: str, hash_algorithm: str | None) -> str:
    if ":" in str(known):
        return str(known).split(":", 1)[0]
    if hash_algorithm not in ("auto", None):
        return hash_algorithm
    return "md5" if len(str(known)) == 32 else "sha256"


def _hash_ok(path: Path, known: str, hash_algorithm: str | None) -> bool:
    algo = _algo(known, hash_algorithm)
    want = str(known).split(":", 1)[-1].lower()
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest() == want


def _extract(path: Path, archive_format: str | None) -> str:
    import tarfile
    import zipfile

    out = path.with_name(path.name.split(".")[0])
    if out.exists():
        return str(out)
    tmp = out.with_name(out.name + ".tmp-extract")
    tmp.mkdir(exist_ok=True)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            for m in z.namelist():
                if Path(m).is_absolute() or ".." in Path(m).parts:
                    raise ValueError(f"get_file: unsafe path {m!r} in {path}")
            z.extractall(tmp)
    elif tarfile.is_tarfile(path):
        with tarfile.open(path) as t:
            t.extractall(tmp, filter="data")
    else:
        raise ValueError(f"get_file: {path} is not a zip or tar archive")
    os.replace(tmp, out)
    return str(out)
