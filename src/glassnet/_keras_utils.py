"""The rest of Keras 3's ``keras.utils``: image arrays, a progress bar, logging switches,
(x, y, sample_weight) packing, the serialization registry under its ``utils`` names,
``get_source_inputs`` and ``Config``.

Re-exported by :mod:`glassnet.utils`.

Example:
    >>> x, y, sw = unpack_x_y_sample_weight(pack_x_y_sample_weight([1.0], [2.0]))
    >>> y, sw
    ([2.0], None)
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

from . import config
from ._dtypes import standardize_dtype
from .backend import clear_session, is_keras_tensor
from .config import (
    disable_interactive_logging,
    enable_interactive_logging,
    is_interactive_logging_enabled,
)
from .saving import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)

if TYPE_CHECKING:
    import os
    from collections.abc import Iterable, Sequence
    from types import ModuleType
    from typing import IO

    from numpy.typing import ArrayLike, DTypeLike
    from PIL.Image import Image

    _Path = str | os.PathLike[str] | IO[bytes]

__all__ = ["CustomObjectScope", "custom_object_scope", "get_custom_objects",
           "get_registered_name", "get_registered_object", "register_keras_serializable",
           "clear_session", "Progbar", "array_to_img", "img_to_array", "load_img", "save_img",
           "serialize_keras_object", "deserialize_keras_object", "enable_interactive_logging",
           "disable_interactive_logging", "is_interactive_logging_enabled", "is_keras_tensor",
           "pack_x_y_sample_weight", "unpack_x_y_sample_weight", "standardize_dtype",
           "get_source_inputs", "Config"]


class Progbar:
    """Keras's text progress bar: ``update(current, values=[("loss", v)])``.

    Args:
        target: total number of steps (None when unknown).
        width: bar width in characters; verbose: 1 a bar, 2 one line at the end, 0 silent.
        stateful_metrics: names shown as given rather than averaged.

    Example:
        >>> bar = Progbar(10)
        >>> for i in range(10): bar.update(i + 1, values=[("loss", 0.1)])   # doctest: +SKIP
    """

    def __init__(self, target: int | None, width: int = 20, verbose: int = 1,
                 interval: float = 0.05, stateful_metrics: Iterable[str] | None = None,
                 unit_name: str = "step") -> None:
        self.target, self.width, self.verbose = target, width, verbose
        self.interval, self.unit_name = interval, unit_name
        self.stateful_metrics = set(stateful_metrics or ())
        self._values: dict[str, list[float]] = {}
        self._seen = 0
        self._start = time.time()

    def update(self, current: int, values: Iterable[tuple[str, Any]] | None = None,
               finalize: bool | None = None) -> None:
        for k, v in values or []:
            v = float(np.asarray(v))
            if k in self.stateful_metrics:
                self._values[k] = [v, 1]
            else:
                s = self._values.setdefault(k, [0.0, 0])
                n = max(current - self._seen, 1)
                s[0] += v * n
                s[1] += n
        self._seen = current
        finalize = finalize if finalize is not None else (
            self.target is not None and current >= self.target)
        # to a log (interactive logging off), only the finished bar: no redraws
        if not self.verbose or (not finalize and (
                self.verbose == 2 or not config.is_interactive_logging_enabled())):
            return
        shown = " - ".join(f"{k}: {s[0] / max(s[1], 1):.4f}" for k, s in self._values.items())
        if self.target:
            done = int(self.width * current / self.target)
            bar = f"{current}/{self.target} [" + "=" * done + "." * (self.width - done) + "]"
        else:
            bar = f"{current}/Unknown"
        config.print_msg(f"{bar} - {time.time() - self._start:.0f}s"
                         + (f" - {shown}" if shown else "") + ("\n" if finalize else "\r"),
                         line_break=False)

    def add(self, n: int, values: Iterable[tuple[str, Any]] | None = None) -> None:
        self.update(self._seen + n, values)


# ------------------------------------------------------------------ images (Pillow)
def _pil() -> ModuleType:
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("image helpers need Pillow: pip install 'glassnet[images]'") from None
    return Image


def img_to_array(img: Any, data_format: str | None = None,
                 dtype: DTypeLike | None = None) -> np.ndarray:
    """A PIL image as a float32 (height, width, channels) array."""
    a = np.asarray(img, dtype=dtype or "float32")
    return a[..., None] if a.ndim == 2 else a


def array_to_img(x: ArrayLike, data_format: str | None = None, scale: bool = True,
                 dtype: DTypeLike | None = None) -> Image:
    """A (height, width, channels) array as a PIL image; ``scale`` maps it to 0..255."""
    image = _pil()
    a = np.asarray(x, dtype="float64")
    if scale:
        a = a - a.min()
        a = a / a.max() * 255 if a.max() > 0 else a
    a = a.astype("uint8")
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    return image.fromarray(a)


def load_img(path: _Path, color_mode: str = "rgb", target_size: Sequence[int] | None = None,
             interpolation: str = "nearest", keep_aspect_ratio: bool = False) -> Image:
    """Open an image file as a PIL image, converted and resized as Keras does."""
    image = _pil()
    img = image.open(path)
    mode = {"rgb": "RGB", "grayscale": "L", "rgba": "RGBA"}.get(color_mode)
    if mode is None:
        raise ValueError(f"load_img: color_mode must be 'rgb', 'grayscale' or 'rgba'. "
                         f"Received: {color_mode!r}")
    img = img.convert(mode)
    if target_size is not None:
        img = img.resize((target_size[1], target_size[0]),
                         getattr(image, interpolation.upper(), image.NEAREST))
    return img


def save_img(path: _Path, x: ArrayLike, data_format: str | None = None,
             file_format: str | None = None, scale: bool = True, **kwargs: Any) -> None:
    """Write a (height, width, channels) array as an image file."""
    array_to_img(x, scale=scale).save(path, format=file_format, **kwargs)


# ------------------------------------------------------------------ data plumbing
def pack_x_y_sample_weight(x: Any, y: Any = None, sample_weight: Any = None) -> tuple[Any, ...]:
    """``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``, as a data batch is shaped."""
    if y is None:
        return (x,) if not isinstance(x, (tuple, list)) else (x,)
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def unpack_x_y_sample_weight(data: Any) -> tuple[Any, Any, Any]:
    """``(x, y, sample_weight)`` from a batch (missing parts are None)."""
    from .models.data_adapter import unpack

    return unpack(data, "unpack_x_y_sample_weight")




# ------------------------------------------------------------------ serialization
def serialize_keras_object(obj: Any) -> dict[str, Any] | str | int | float | bool | None:
    """``{"class_name", "config"}`` for an object with ``get_config``, a function's
    registered name, or the value itself for plain JSON values."""
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (list, tuple)):  # element by element, as Keras
        return [serialize_keras_object(o) for o in obj]  # type: ignore[return-value]
    if isinstance(obj, dict) and "class_name" not in obj:
        return {k: serialize_keras_object(v) for k, v in obj.items()}
    if hasattr(obj, "get_config"):
        return {"class_name": type(obj).__name__, "config": obj.get_config(),
                "registered_name": get_registered_name(type(obj))}
    if callable(obj):
        return get_registered_name(obj)
    raise TypeError(f"serialize_keras_object: cannot serialize {type(obj).__name__}")


def deserialize_keras_object(config: Any, custom_objects: dict[str, Any] | None = None,
                             **kwargs: Any) -> Any:
    """Rebuild what :func:`serialize_keras_object` wrote, from objects registered (or
    passed in ``custom_objects``) in this program and glassnet's own layer table only;
    nothing named in the data is imported."""
    if config is None or isinstance(config, (bool, int, float)):
        return config
    if isinstance(config, str):  # a registered name's object, else the string itself
        obj = get_registered_object(config, custom_objects)  # (as Keras: "SGD" stays "SGD")
        return config if obj is None else obj
    if isinstance(config, (list, tuple)):
        return [deserialize_keras_object(c, custom_objects) for c in config]
    if isinstance(config, dict) and "class_name" not in config:
        return {k: deserialize_keras_object(v, custom_objects) for k, v in config.items()}
    name = config.get("registered_name") or config.get("class_name")
    cls = get_registered_object(name, custom_objects) or \
        get_registered_object(config.get("class_name"), custom_objects)
    if cls is None:
        from .layers.base import LAYER_CLASSES

        cls = LAYER_CLASSES.get(config.get("class_name"))
    if cls is None:
        raise ValueError(f"deserialize_keras_object: unknown class {name!r}; register it "
                         "with register_keras_serializable or pass custom_objects")
    return cls.from_config(config.get("config", {}))


def get_source_inputs(tensor: Any) -> Any:
    """The ``Input`` tensors a functional-graph tensor is computed from, in the order its
    graph reaches them, each once (keras.utils.get_source_inputs); anything that is not a
    graph tensor comes back unchanged.

    Example:
        >>> a, b = gn.Input((2,)), gn.Input((2,))
        >>> get_source_inputs(gn.layers.Add()([a, b])) == [a, b]
        True
    """
    from .layers._symbolic import as_symbolic

    start = as_symbolic(tensor)
    if start is None:
        return tensor
    found: list[Any] = []
    stack, seen = [start], set()
    while stack:  # depth first, inputs left to right (the order Keras's recursion gives)
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        if not t.inbound:  # an Input's node: the Input itself is what the user holds
            if all(t.layer is not f for f in found):
                found.append(t.layer)
            continue
        stack.extend(reversed(t.inbound))
    return found


class Config:
    """A dict of named settings that also reads and writes them as attributes and can be
    frozen (keras.utils.Config).

    Example:
        >>> c = Config(learning_rate=0.1)
        >>> c.momentum = 0.9
        >>> c["learning_rate"], c.momentum, sorted(c)
        (0.1, 0.9, ['learning_rate', 'momentum'])
        >>> c.freeze(); c.seed = 1
        Traceback (most recent call last):
        ...
        ValueError: Cannot mutate attribute(s) because the config is frozen.
    """

    _own = frozenset({"_config", "_frozen"})

    def __init__(self, **kwargs: Any) -> None:
        object.__setattr__(self, "_config", dict(kwargs))
        object.__setattr__(self, "_frozen", False)

    @property
    def frozen(self) -> bool:
        """Whether the config refuses changes."""
        return bool(self._frozen)

    def freeze(self) -> None:
        """Refuse every later change (set, update, pop, delete)."""
        object.__setattr__(self, "_frozen", True)

    def unfreeze(self) -> None:
        """Accept changes again."""
        object.__setattr__(self, "_frozen", False)

    def _check(self) -> None:
        if self._frozen:
            raise ValueError("Cannot mutate attribute(s) because the config is frozen.")

    def as_dict(self) -> dict[str, Any]:
        """A shallow copy of the settings as a plain dict."""
        return dict(self._config)

    def to_json(self) -> str:
        """The settings as a JSON string."""
        import json

        return json.dumps(self._config)

    def keys(self) -> Any:
        return self._config.keys()

    def values(self) -> Any:
        return self._config.values()

    def items(self) -> Any:
        return self._config.items()

    def get(self, key: str, default: Any = None) -> Any:
        return self._config.get(key, default)

    def pop(self, *args: Any) -> Any:
        self._check()
        return self._config.pop(*args)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._check()
        self._config.update(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in Config._own:
            raise AttributeError(name)
        config = self._config
        if name in config:
            return config[name]
        import difflib

        close = difflib.get_close_matches(name, list(config), n=1, cutoff=0.7)
        raise AttributeError(f"Unknown attribute: '{name}'."
                             + (f" Did you mean '{close[0]}'?" if close else ""))

    def __setattr__(self, name: str, value: Any) -> None:
        if name in Config._own or hasattr(type(self), name):
            raise AttributeError(f"Config: {name!r} is one of the Config's own attributes; "
                                 "set it with config[name] = value")
        self._check()
        self._config[name] = value

    def __getitem__(self, key: str) -> Any:
        return self._config[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._check()
        self._config[key] = value

    def __delitem__(self, key: str) -> None:
        self._check()
        del self._config[key]

    def __contains__(self, key: object) -> bool:
        return key in self._config

    def __iter__(self) -> Any:
        return iter(sorted(self._config))  # sorted, as Keras's

    def __len__(self) -> int:
        return len(self._config)

    def __repr__(self) -> str:
        return f"<Config {self._config}>"
