"""Data directory, SHA-256 verification, checked downloads and the offline error.

The cache layout equals the shared test data layout:
``<data_dir>/mnist/train-images-idx3-ubyte.gz``,
``<data_dir>/churn/Churn_Modelling.csv``, ``<data_dir>/iris/iris.data``,
``<data_dir>/text/tinyshakespeare.txt``.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

__all__ = ["data_dir", "fetch", "sha256", "DatasetUnavailableError", "ChecksumError"]

# Files verified in this process: (path, mtime, ctime, inode, size, algo) -> hash; hashing
# 10 MB per call is waste.
_verified: dict[tuple, str] = {}
_SETTLED_NS = 2_000_000_000


class DatasetUnavailableError(FileNotFoundError):
    """A dataset file is neither cached nor downloadable."""


class ChecksumError(ValueError):
    """A dataset file's SHA-256 differs from the pinned one."""


def data_dir() -> Path:
    """The dataset cache: ``$GLASSNET_DATA_DIR``, default ``~/.cache/glassnet``."""
    d = os.environ.get("GLASSNET_DATA_DIR")
    return Path(d).expanduser() if d else Path.home() / ".cache" / "glassnet"


def sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    return _digest(path, "sha256")


def _digest(path: str | os.PathLike, algorithm: str) -> str:
    # MD5 only identifies files whose publishers give an MD5 (CIFAR-10, Fashion-MNIST)
    h = hashlib.new(algorithm, usedforsecurity=algorithm != "md5")
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _split(expected: str) -> tuple[str, str]:
    """("sha256" | "md5", hex) from a pinned digest: bare hex is SHA-256, or "md5:<hex>"."""
    algo, _, hexd = expected.rpartition(":")
    algo = algo or "sha256"
    if algo not in ("sha256", "md5"):
        raise ValueError(f"unsupported digest {expected!r}: expected SHA-256 hex or 'md5:<hex>'")
    return algo, hexd.lower()


def _verify(path: Path, expected: str | None) -> None:
    if expected is None:
        return
    algo, want = _split(expected)
    st = path.stat()
    # ctime and inode change on any write or rename, even one that restores the mtime
    key = (str(path.resolve()), st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_size, algo)
    actual = _verified.get(key)
    if actual is None:
        actual = _digest(path, algo)
    if actual != want:
        name = {"sha256": "SHA-256", "md5": "MD5"}[algo]
        raise ChecksumError(
            f"Dataset file {path} failed its {name} check: expected {want}, "
            f"got {actual}. Delete it to download again, or replace it with the original file."
        )
    # a file changed within the last seconds could change again within the timestamps'
    # granularity without a visible difference: only settled files are remembered
    if time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) > _SETTLED_NS:
        _verified[key] = actual


def _download(url: str, target: Path, expected: str | None) -> None:
    try:
        import pooch
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise DatasetUnavailableError(
            f"{target} is missing and pooch (needed to download it) is not installed. "
            f"Install pooch, or download {url} and put it at {target}."
        ) from e
    target.parent.mkdir(parents=True, exist_ok=True)
    pooch.get_logger().setLevel("WARNING")  # outcomes are reported by glassnet's own errors
    pooch.retrieve(
        url,
        known_hash=None if expected is None else "{}:{}".format(*_split(expected)),
        fname=target.name,
        path=str(target.parent),
        progressbar=False,
    )


def fetch(relpath: str, url: str | None, sha: str | None, download: bool = True) -> Path:
    """Path of a verified dataset file, downloading it into the cache if absent.

    Args:
        relpath: path inside the data dir, e.g. ``"mnist/train-images-idx3-ubyte.gz"``.
        url: canonical public URL (None: cannot be downloaded).
        sha: pinned digest: SHA-256 hex, or ``"md5:<hex>"`` where the publisher gives only
            an MD5 (None: not verified).
        download: allow network access when the file is missing.

    Raises:
        ChecksumError: the file on disk (or downloaded) has another hash.
        DatasetUnavailableError: missing and not downloadable; the message says where to put it.

    Example:
        >>> p = fetch("iris/iris.data", IRIS_URL, IRIS_SHA)  # doctest: +SKIP
    """
    target = data_dir() / relpath
    if target.is_file():
        _verify(target, sha)
        return target
    if download and url is not None:
        try:
            _download(url, target, sha)
        except ChecksumError:
            raise
        except DatasetUnavailableError:
            raise
        except Exception as e:
            if "hash" in str(e).lower() and "match" in str(e).lower():
                raise ChecksumError(f"Download of {url} into {target} failed its check: {e}") from e
            raise DatasetUnavailableError(
                f"Dataset file {relpath} is not in the data dir and could not be downloaded "
                f"({type(e).__name__}: {e}). Download {url} and put it at {target} "
                f"(or set GLASSNET_DATA_DIR to a directory holding {relpath})."
            ) from e
        if target.is_file():
            _verify(target, sha)
            return target
    where = f"Download {url} and put it" if url else "Put it"
    raise DatasetUnavailableError(
        f"Dataset file {relpath} is not in the data dir {data_dir()} and downloads are off. "
        f"{where} at {target} (or set GLASSNET_DATA_DIR to a directory holding {relpath})."
    )
