"""``gn.name_scope`` and ``gn.device``: Keras 3's two top-level context managers.

The name-scope stack is per thread (as Keras keeps it in its thread-local global state), so
two threads building models do not prefix each other's weights.
"""

from __future__ import annotations

import re
import threading
import warnings
from types import TracebackType
from typing import Any

from . import backend

__all__ = ["name_scope", "current_path", "device", "DeviceScope"]

_state = threading.local()


def _stack() -> list[name_scope]:
    stack = getattr(_state, "name_scopes", None)
    if stack is None:
        stack = _state.name_scopes = []
    return stack


class name_scope:  # noqa: N801 - Keras's name (a class there too)
    """Prefix the paths of the weights and variables made inside it: ``"outer/dense/kernel"``.

    As on Keras 3: a layer built (or first called) inside ``name_scope("outer")`` has
    ``layer.path == "outer/dense"`` and weights whose ``path`` is ``"outer/dense/kernel"``
    (their ``name`` stays ``"dense/kernel"``, so saving and loading are unaffected); a
    ``gn.Variable`` made inside it gets the path ``"outer/<name>"``. Nested scopes join with
    ``"/"``. Layers built before the block keep their paths. Usable with ``with`` or by
    calling ``__enter__``/``__exit__``.

    Args:
        name: the scope's name: a string without ``"/"``.
        caller: an optional object (a layer) entering the scope; with ``deduplicate``, a
            scope entered again by the same caller with the same name adds nothing.
        deduplicate: see ``caller``.
        override_parent: a path (``"a/b"``) that replaces the enclosing scopes' path.

    Example:
        >>> import glassnet as gn
        >>> with gn.name_scope("outer"):
        ...     with gn.name_scope("inner"):
        ...         v = gn.Variable([1.0], name="v")
        >>> v.path
        'outer/inner/v'
    """

    def __init__(self, name: str, caller: Any = None, deduplicate: bool = True,
                 override_parent: str | None = None) -> None:
        if not isinstance(name, str) or "/" in name:
            raise ValueError("name_scope: argument `name` must be a string and cannot "
                             f"contain the character '/'. Received: name={name!r}")
        self.name = name
        self.caller = caller
        self.deduplicate = deduplicate
        self.override_parent = override_parent
        if (override_parent is None and deduplicate
                and getattr(caller, "_parent_path", None) is not None):
            self.override_parent = caller._parent_path  # as Keras: the caller's own parent
        self._pop_on_exit = False

    def __enter__(self) -> name_scope:
        stack = _stack()
        if self.deduplicate and stack and self.caller is not None:
            top = stack[-1]
            if top.caller is self.caller and top.name == self.name:
                return self  # re-entered by the same caller: the path stays as it is
        stack.append(self)
        self._pop_on_exit = True
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._pop_on_exit:
            stack = _stack()
            if stack:
                stack.pop()
            self._pop_on_exit = False

    def __repr__(self) -> str:
        return f"<name_scope {self.name!r}>"


def current_path() -> str:
    """The open name scopes' path, ``"outer/inner"`` (``""`` outside any)."""
    stack = getattr(_state, "name_scopes", None)
    if not stack:
        return ""
    parts: list[str] = []
    for entry in stack:
        if entry.override_parent is not None:
            parts = [p for p in entry.override_parent.split("/") if p]
        parts.append(entry.name)
    return "/".join(parts)


def join_path(name: str) -> str:
    """``name`` under the current name scope (``name`` itself outside any)."""
    parent = current_path()
    return f"{parent}/{name}" if parent else name


# ------------------------------------------------------------------ device
_DEVICE = re.compile(r"^(?:/?(?:device:)?)(cpu|gpu|cuda)(?::(\d+))?$")
_gpu_note_shown = False


class DeviceScope:
    """The context manager :func:`device` returns.

    Attributes:
        name: the normalised device, ``"cpu:0"`` or ``"gpu:N"``.
        type: ``"cpu"`` or ``"gpu"``; index: the device number.
    """

    def __init__(self, kind: str, index: int) -> None:
        self.type = kind
        self.index = index
        self.name = f"{kind}:{index}"
        self._cupy_device: Any = None

    def __enter__(self) -> DeviceScope:
        if self.type == "gpu":
            cp = backend.cupy_module()
            if cp is None:  # checked again: CuPy may have been usable when device() ran
                raise RuntimeError(_no_gpu(self.name))
            self._cupy_device = cp.cuda.Device(self.index)
            self._cupy_device.__enter__()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._cupy_device is not None:
            self._cupy_device.__exit__(exc_type, exc, tb)
            self._cupy_device = None

    def __repr__(self) -> str:
        return f"<device {self.name!r}>"


def _no_gpu(name: str) -> str:
    return (f"device: {name!r} needs a CUDA GPU through CuPy, and CuPy/CUDA is not "
            "available here (install glassnet[gpu] on a machine with an NVIDIA GPU); use "
            f"'cpu' instead. Received: device_name={name!r}")


def device(device_name: str) -> DeviceScope:
    """Keras's device placement block: ``with gn.device("cpu"): ...``.

    glassnet places work by where the data lives (NumPy arrays on the CPU, CuPy arrays on a
    GPU; ``model.to("gpu")`` moves a model), not by a global switch. So:

    - ``"cpu"``, ``"cpu:0"`` (any case, also ``"/device:CPU:0"``): runs the block; what it
      makes with glassnet is NumPy, on the CPU.
    - ``"gpu"``, ``"gpu:N"``, ``"cuda:N"``: with CuPy and a CUDA GPU, makes GPU ``N``
      CuPy's current device for the block, so whatever glassnet puts on a GPU there
      (``model.to("gpu")``, ``tensor.to("gpu")``, a GPU model's batches) goes to that GPU;
      NumPy data made in the block stays on the CPU (warns once). Without CuPy/CUDA,
      raises a ``RuntimeError`` naming the device.

    Args:
        device_name: ``"cpu"``, ``"cpu:0"``, ``"gpu"``, ``"gpu:N"`` or ``"cuda:N"``.

    Returns:
        A context manager (:class:`DeviceScope`, with ``name``, ``type``, ``index``).

    Raises:
        ValueError: an unknown device name, a CPU other than 0, or a GPU number past the
            last GPU.
        RuntimeError: a GPU name where CuPy/CUDA is not available.

    Example:
        >>> import glassnet as gn
        >>> with gn.device("CPU:0") as d:
        ...     t = gn.tensor([1.0, 2.0])
        >>> d.name, t.device
        ('cpu:0', 'cpu')
    """
    global _gpu_note_shown
    m = _DEVICE.match(device_name.lower()) if isinstance(device_name, str) else None
    if m is None:
        raise ValueError("device: invalid value for argument `device_name`. Expected a "
                         "string like 'cpu', 'cpu:0', 'gpu', 'gpu:0' or 'cuda:0'. "
                         f"Received: device_name={device_name!r}")
    kind = "cpu" if m.group(1) == "cpu" else "gpu"
    index = int(m.group(2) or 0)
    if kind == "cpu":
        if index != 0:
            raise ValueError("device: glassnet has one CPU device, 'cpu:0' (NumPy uses the "
                             f"cores through its BLAS). Received: device_name={device_name!r}")
        return DeviceScope("cpu", 0)
    cp = backend.cupy_module()
    if cp is None:
        raise RuntimeError(_no_gpu(device_name))
    count = int(cp.cuda.runtime.getDeviceCount())
    if index >= count:
        raise ValueError(f"device: this machine has {count} GPU(s), 'gpu:0' to "
                         f"'gpu:{count - 1}'. Received: device_name={device_name!r}")
    if not _gpu_note_shown:
        _gpu_note_shown = True
        warnings.warn("device: glassnet places work by where the data lives; NumPy arrays "
                      "made in this block stay on the CPU (move a model with "
                      "model.to('gpu'))", stacklevel=2)
    return DeviceScope("gpu", index)
