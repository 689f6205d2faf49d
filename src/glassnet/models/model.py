"""``Model`` and ``Sequential``: Keras's model API over glassnet layers."""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar, cast

import numpy as np

from .. import backend, config
from .._display import model_repr_html
from ..autograd import no_grad
from ..layers.base import Layer
from ..tensor import Tensor
from . import training

__all__ = ["Model", "Sequential"]

_M = TypeVar("_M", bound="Model")

class Model(Layer, training.TrainingMixin):
    """Subclass and implement ``call(x, training)``; layers stored as attributes are tracked.

    Example:
        >>> class Net(Model):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.d1 = Dense(8, activation="relu"); self.d2 = Dense(1)
        ...     def call(self, x, training=False):
        ...         return self.d2(self.d1(x))
    """

    _accepts_text = True  # a model passes its inputs on; its first layer decides

    def _set_output_mask(self, x: Any, y: Any, mask: Any) -> None:
        """Nothing: the model's own layers already passed, changed or ended the mask."""

    def __new__(cls: type[_M], *args: Any, **kwargs: Any) -> _M:
        # Model(inputs, outputs) is the functional API, as in Keras
        if cls is Model and (args or "inputs" in kwargs or "outputs" in kwargs):
            from .functional import Functional

            return cast(_M, super().__new__(Functional))  # a Model, as cls is Model
        # a subclass built as CustomModel(inputs, outputs) (e.g. to override train_step):
        # Keras makes it a functional model of that class; so does glassnet
        # both inputs and outputs, as Model(inputs, outputs) takes them: Sequential([Input])
        # is a layer list, not a graph
        if (cls is not Model and _graph_arguments(args, kwargs)
                and not issubclass(cls, Sequential)):
            from .functional import Functional

            if not issubclass(cls, Functional):
                return cast(_M, super().__new__(_functional_subclass(cls)))  # a cls subclass
        return super().__new__(cls)

    def __init__(self, *args: Any, name: str | None = None, **kwargs: Any) -> None:
        from .functional import Functional

        if not isinstance(self, Functional) and _graph_arguments(args, kwargs):
            # functional subclassing (Keras's way to package a model): the subclass's own
            # __init__ builds the graph and passes it up, super().__init__(inputs=...,
            # outputs=...); as Keras does, the instance becomes a functional model of its
            # class (the subclass's methods first, then the graph's call and config)
            if len(args) > 2:
                raise TypeError(f"{type(self).__name__}: Model(inputs, outputs) takes the "
                                f"rest by name. Received {len(args)} positional arguments")
            inputs = args[0] if args else kwargs.pop("inputs")
            outputs = args[1] if len(args) > 1 else kwargs.pop("outputs")
            self.__class__ = _functional_subclass(type(self))
            Functional.__init__(cast(Functional, self), inputs, outputs, name=name, **kwargs)
            return
        if args:
            raise TypeError(f"{type(self).__name__}: unexpected positional arguments; "
                            "Model(inputs, outputs) builds a functional model, subclasses "
                            "take their own arguments")
        super().__init__(name=name, **kwargs)
        training.TrainingMixin.__init__(self)

    @property
    def layers(self) -> list[Layer]:
        return self._sublayers()

    def build(self, input_shape: Any = None) -> None:
        """Build a subclassed model for inputs of ``input_shape`` (a list of shapes for
        several inputs) by running its ``call`` once, without gradients, on zeros: every
        layer it uses makes its weights, so ``load_weights``, ``summary`` and
        ``count_params`` work before any data (Keras 2's ``model.build``; Keras 3 marks the
        model built without weights). A ``build`` of the subclass's own replaces this one.

        Example:
            >>> net = Net(); net.build((None, 4)); len(net.weights) > 0   # doctest: +SKIP
            True
        """
        self.built = True  # before the call: its __call__ must not come back here
        if input_shape is None:
            return
        shapes = input_shape
        several = isinstance(shapes, (list, tuple)) and bool(shapes) and all(
            isinstance(s, (list, tuple)) for s in shapes)
        xs = [np.zeros((s[0] or 1, *(32 if d is None else int(d) for d in s[1:])),
                       dtype=backend.floatx())
              for s in (shapes if several else [shapes])]
        with no_grad():
            self(xs if several else xs[0], training=False)
        for ly in self._sublayers():
            if getattr(ly, "stateful", False) and hasattr(ly, "reset_states"):
                ly.reset_states()  # the build pass leaves no context behind

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """A layer by ``name`` or by ``index`` into :attr:`layers` (Keras's ``get_layer``).

        Example:
            >>> model.get_layer("dense_1") is model.get_layer(index=1)   # doctest: +SKIP
        """
        layers = self.layers
        if (name is None) == (index is None):
            raise ValueError(f"Model '{self.name}'.get_layer: pass exactly one of name or "
                             f"index. Received: name={name!r}, index={index!r}")
        if index is not None:
            if not -len(layers) <= int(index) < len(layers):
                raise ValueError(f"Model '{self.name}'.get_layer: index out of range, the "
                                 f"model has {len(layers)} layers. Received: index={index}")
            return layers[int(index)]
        for ly in layers:
            if ly.name == name:
                return ly
        raise ValueError(f"Model '{self.name}'.get_layer: no layer named {name!r}. "
                         f"Known: {[ly.name for ly in layers]}")

    def to_json(self, **kwargs: Any) -> str:
        """The architecture as JSON text (no weights); ``gn.models.model_from_json`` reads it."""
        import json

        from .saving import serialize_layer

        return json.dumps(serialize_layer(self), **kwargs)

    @classmethod
    def from_config(cls, config: dict[str, Any],
                    custom_objects: dict[str, Any] | None = None) -> Model:
        """Rebuild a model from :meth:`get_config` (a functional config gives a functional
        model, as ``keras.Model.from_config`` does). ``custom_objects``: your own layer
        classes by name, as Keras takes them."""
        if cls is Model and isinstance(config, dict) and "nodes" in config:
            from .functional import Functional

            return Functional.from_config(config, custom_objects)
        return cls(**config)

    def summary(self, line_length: int | None = None, positions: Sequence[float] | None = None,
                print_fn: Callable[[str], Any] | None = None, expand_nested: bool = False,
                show_trainable: bool = False, layer_range: Sequence[str] | None = None) -> None:
        """Print a Keras-style table: layer (type), output shape, parameter count.

        Keras's layout arguments (``line_length``, ``positions``, ``expand_nested``,
        ``layer_range``) are accepted; ``show_trainable=True`` adds Keras's *Trainable*
        column (Y, N, or - for a layer without weights).
        """
        training.print_summary(self, print_fn or config.print_msg, show_trainable)

    _repr_html_ = model_repr_html  # Jupyter: the summary as HTML

    def to(self: _M, device: str) -> _M:
        """Move the weights, their gradients and the optimizer's state to ``'cpu'``/``'gpu'``.

        Batches are moved to the model's device by ``fit``/``evaluate``/``predict``; outputs
        of ``predict`` are always NumPy arrays. ``'gpu'`` needs CuPy and a CUDA device.

        Example:
            >>> model.to("gpu"); model.fit(x, y)   # doctest: +SKIP
        """
        if device not in ("cpu", "gpu", "cuda"):
            raise ValueError(f"Model.to: device must be 'cpu' or 'gpu'. Received: {device!r}")
        device = "gpu" if device == "cuda" else device
        if device == "gpu" and not backend.gpu_available():
            # checked before anything moves, so a failed call leaves the model usable
            raise RuntimeError("Model.to('gpu') needs CuPy and a CUDA GPU, and CuPy is not "
                               "installed or sees no device; install it with "
                               "`pip install cupy-cuda12x`. Received: device='gpu'")
        Layer.to(self, device)
        if self.optimizer is not None:
            self.optimizer.to(device)
        self._device = device
        return self

    # ------------------------------------------------------------ files (models/saving.py)
    def __reduce__(self) -> tuple[Any, ...]:
        """``pickle.dumps(model)`` (and ``joblib.dump``) as in Keras 3: the model travels as
        the bytes of its saved file (architecture, weights, compile settings, optimizer
        state), and ``pickle.loads`` rebuilds it through :func:`load_model`. A subclassed
        model, whose architecture is code, cannot be pickled (save its weights instead).

        Example:
            >>> clone = pickle.loads(pickle.dumps(model))   # doctest: +SKIP
        """
        from .saving import model_bytes

        try:
            data = model_bytes(self)
        except ValueError as e:
            raise TypeError(f"cannot pickle {type(self).__name__!r}: {e}") from e
        return (_unpickle_model, (data,))

    def __copy__(self) -> Model:
        """``copy.copy``: a shallow copy (the same layers and weights), as before pickling
        took the file round trip."""
        new = type(self).__new__(type(self))
        new.__dict__.update(self.__dict__)
        return new

    def __deepcopy__(self, memo: dict[int, Any]) -> Model:
        """``copy.deepcopy``: the object graph copied, as for any Python object (not the
        file round trip that pickling takes, so a subclassed model copies too), except the
        recorded steps, caches whose compiled code holds the original's objects: the copy
        records its own on first use."""
        import copy

        new = type(self).__new__(type(self))
        memo[id(self)] = new
        stepper = self.__dict__.get("_stepper")
        if stepper is not None:
            memo[id(stepper)] = None
        new.__dict__.update(copy.deepcopy(self.__dict__, memo))
        return new

    def save(self, filepath: str | os.PathLike[str], overwrite: bool = True,
             include_optimizer: bool = True) -> None:
        """Write the model (architecture, weights, optimizer state) to one safe file.

        Args:
            filepath: the file to write (atomically: a crash never leaves half a file).
            overwrite: if False, refuse to replace an existing file.
            include_optimizer: also store the optimizer's state (to resume training).

        A subclassed model's architecture is code, which a file never holds: save its
        weights with :meth:`save_weights` instead.

        Example:
            >>> model.save("churn.glassnet")   # doctest: +SKIP
        """
        from .saving import save_model

        save_model(self, filepath, include_optimizer=include_optimizer, overwrite=overwrite)

    def save_weights(self, filepath: str | os.PathLike[str], overwrite: bool = True) -> None:
        """Write only the weights (works for subclassed models too).

        Example:
            >>> model.save_weights("w.glassnet")   # doctest: +SKIP
            >>> model.load_weights("w.glassnet")   # doctest: +SKIP
        """
        from .saving import save_weights

        save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath: str | os.PathLike[str]) -> None:
        """Set the weights from a file written by :meth:`save_weights` or :meth:`save`.

        Raises ``ModelFileError`` when the file does not fit this model (count or shapes).
        """
        from .saving import load_weights

        load_weights(self, filepath)

    def export(self, filepath: str | os.PathLike[str], format: str = "onnx",  # noqa: A002
               verbose: bool = False, opset: int = 17, **kwargs: Any) -> str:
        """Export the model for inference elsewhere (Keras 3's signature); ``"onnx"`` only.

        Args:
            filepath: the file to write (atomically). format: ``"onnx"``.
            opset: the ONNX opset (17 or later); the batch axis is dynamic.

        Needs the optional ``onnx`` package (``pip install 'glassnet[onnx]'``); the graph
        passes ``onnx.checker``. Raises ValueError naming a layer with no ONNX form.

        Example:
            >>> model.export("churn.onnx", format="onnx")   # doctest: +SKIP
        """
        if format != "onnx":
            raise ValueError(f"Model.export: format must be 'onnx'. Received: format={format!r}")
        from ..interop.onnx_export import export_onnx

        return export_onnx(self, filepath, opset=opset, verbose=verbose, **kwargs)


class Sequential(Model):
    """A linear stack of layers.

    Args:
        layers: list of layers (the first may declare ``input_shape``/``input_dim``).

    Example:
        >>> model = Sequential([Dense(6, activation="relu", input_dim=11),
        ...                     Dense(1, activation="sigmoid")])
    """

    _trace: tuple | None = None  # the build pass's last output, extended layer by layer

    def __init__(self, layers: Iterable[Layer] | None = None, name: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self._layers: list = []
        for ly in layers or []:
            self.add(ly)

    @property
    def layers(self) -> list[Layer]:
        from ..layers.core import InputLayer

        return [ly for ly in self._layers if not isinstance(ly, InputLayer)]

    def _sublayers(self) -> list[Layer]:
        return list(self._layers)

    def add(self, layer: Layer) -> None:
        """Append a layer (builds it right away when the input shape is known)."""
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add: expected a Layer. Received: {type(layer).__name__}")
        names: set | None = getattr(self, "_names", None)
        if names is None or len(names) != len(self._layers):
            names = {ly.name for ly in self._layers}
            self._names: set | None = names
        if layer.name in names:
            raise ValueError(f"Sequential: layer name {layer.name!r} is already used")
        self._layers.append(layer)
        layer.__dict__["_owner"] = weakref.ref(self)  # layer.output finds its graph
        names.add(layer.name)
        self._reset_compiled_cache()
        shape = self.input_shape
        if shape is not None and not layer.built and not self._extend_trace(layer, shape):
            self._build_from(shape)

    def _extend_trace(self, layer: Layer, shape: Sequence[int | None]) -> bool:
        """Build only ``layer``, on the saved build-pass output of the layers before it, so
        adding n layers costs n layer calls, not n²/2. False when there is no such output."""
        t = getattr(self, "_trace", None)
        n = len(self._layers) - 1
        if (t is None or n == 0 or t[0] != n or t[1] is not self._layers[n - 1]
                or t[3] != tuple(shape) or t[4] != self._device):
            return False
        with no_grad():
            y = layer(t[2])
        if getattr(layer, "stateful", False):  # a stateful recurrent layer: has reset_states
            cast(Any, layer).reset_states()  # the build pass must leave no context behind
        self._trace = (n + 1, layer, y, t[3], t[4])
        self.input_shape_built = tuple(shape)
        self.built = True
        return True

    @classmethod
    def from_config(cls, config: dict[str, Any],
                    custom_objects: dict[str, Any] | None = None) -> Sequential:
        """Rebuild from :meth:`get_config`: layers come from the fixed layer table, and
        ``custom_objects`` (your own classes by name) or the registry."""
        from ..saving import custom_object_scope
        from .saving import deserialize_layer

        with custom_object_scope(custom_objects or {}):
            layers = [deserialize_layer(s) for s in config.get("layers", [])]
        model = cls(layers, name=config.get("name"))
        if config.get("trainable") is False:
            model.trainable = False
        return model

    def pop(self) -> Layer:
        """Remove and return the last layer."""
        if not self.layers:
            raise ValueError("Sequential.pop: the model has no layers")
        ly = self._layers.pop()
        self._names = None
        self._trace = None
        self._reset_compiled_cache()
        return ly

    def _graph(self) -> tuple[Any, Any]:
        """(input, output): the stack as a functional graph on its input shape, traced
        once per list of layers. Keras builds a Sequential with a known input shape as one,
        so ``model.inputs``, ``model.outputs`` and each layer's ``input``/``output`` exist
        (feature extractors: ``Model(model.inputs, [ly.output for ly in model.layers])``).
        Each layer is called once on symbolic inputs (a one-batch trace)."""
        from ..layers._symbolic import as_symbolic
        from ..layers.core import Input, InputLayer

        key = tuple(map(id, self._layers))
        g = self.__dict__.get("_symbolic_graph")
        if g is not None and g[0] == key:
            return g[1], g[2]
        shape = self.input_shape
        if shape is None:
            raise AttributeError(f"Sequential '{self.name}' has no input shape yet, so no "
                                 "defined inputs/outputs: start it with gn.Input(shape=...) "
                                 "or build it")
        first = self._layers[0]
        # the build pass's input: an Input layer's, or floats of the built shape
        x = as_symbolic(first if isinstance(first, InputLayer) else Input(batch_shape=shape))
        h: Any = x
        for ly in self.layers:
            h = ly(h)
        self._symbolic_graph = (key, x, h)
        return x, h

    @property
    def inputs(self) -> list[Any]:
        """The one symbolic input of the stack's graph (Keras's ``model.inputs``)."""
        return [self._graph()[0]]

    @property
    def outputs(self) -> list[Any]:
        """The one symbolic output of the stack's graph (Keras's ``model.outputs``)."""
        return [self._graph()[1]]

    @property
    def input(self) -> Any:
        """The stack's symbolic input (Keras's ``model.input``)."""
        return self._graph()[0]

    @property
    def output(self) -> Any:
        """The stack's symbolic output (Keras's ``model.output``)."""
        return self._graph()[1]

    @property
    def output_shape(self) -> Any:
        """The stack's output shape, batch axis None (Keras's ``model.output_shape``)."""
        return self._graph()[1].shape

    @property
    def input_shape(self) -> tuple[int | None, ...] | None:
        if not self._layers:
            return None
        first = self._layers[0]
        if first.input_shape_built is not None:
            return tuple(first.input_shape_built)
        spec = getattr(first, "input_spec_shape", None)
        return None if spec is None else (None, *spec)

    def build(self, input_shape: Any = None) -> None:
        """Create every layer's weights for inputs of ``input_shape`` (batch axis first).

        Example:
            >>> model = Sequential([Dense(3)]); model.build((None, 4)); model.count_params()
            15
        """
        shape = input_shape if input_shape is not None else self.input_shape
        if shape is None:
            raise ValueError(f"Sequential '{self.name}'.build: needs an input shape such as "
                             "(None, features). Received: input_shape=None")
        self._build_from(_shape_tuple_with_batch(shape))

    def _build_from(self, shape: Sequence[int | None]) -> None:
        with no_grad():
            # a stateful recurrent layer takes its fixed batch size from here, as in Keras
            # an axis of variable size (Input(shape=(None,))) is traced at 32
            x = np.zeros((shape[0] or 1, *(32 if s is None else s for s in shape[1:])),
                         dtype=backend.floatx())
            y = self.call(Tensor._make(backend.to_device(x, self._device)))
        for ly in self._layers:
            if getattr(ly, "stateful", False):
                ly.reset_states()  # the build pass must leave no context behind
        last = self._layers[-1] if self._layers else None
        self._trace = (len(self._layers), last, y, tuple(shape), self._device)
        self.input_shape_built = tuple(shape)
        self.built = True

    def call(self, x: Any, training: bool = False) -> Any:
        for ly in self._layers:
            x = ly(x, training=training)
        return x

    def get_config(self) -> dict[str, Any]:
        from .saving import serialize_layer

        return {"name": self.name, "layers": [serialize_layer(ly) for ly in self._layers]}


_FUNCTIONAL_SUBCLASSES: dict[type, type] = {}


def _unpickle_model(data: bytes) -> Model:
    """A pickled model back from its file's bytes (see :meth:`Model.__reduce__`). The size
    limits that guard a downloaded file are lifted: a pickle is already trusted code."""
    from .saving import load_model

    return load_model("<pickled model>", data=data, limits={"weight_bytes": 1 << 62})


def _symbolic_arg(x: Any) -> bool:
    xs = list(x.values()) if isinstance(x, dict) else x
    if isinstance(xs, (list, tuple)):
        return bool(xs) and all(getattr(t, "_glassnet_symbolic", False) for t in xs)
    return bool(getattr(xs, "_glassnet_symbolic", False))


def _graph_arguments(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Whether ``Model.__init__`` was given a graph: inputs and outputs, by position or by
    name, the inputs symbolic (``gn.Input``)."""
    first = args[0] if args else kwargs.get("inputs")
    second = args[1] if len(args) > 1 else kwargs.get("outputs")
    return first is not None and second is not None and _symbolic_arg(first)


def _functional_subclass(cls: type) -> type:
    """``cls`` mixed with Functional (cached): its overrides plus the graph's call/config."""
    from .functional import Functional

    if cls not in _FUNCTIONAL_SUBCLASSES:
        _FUNCTIONAL_SUBCLASSES[cls] = type(cls.__name__, (cls, Functional),
                                           {"__module__": cls.__module__})
    return _FUNCTIONAL_SUBCLASSES[cls]


def _shape_tuple_with_batch(shape: Any) -> tuple[int | None, ...]:
    """``(None, 4)`` or ``[None, 4]`` as a tuple; an int is one feature axis plus the batch."""
    if isinstance(shape, (int, np.integer)):
        return (None, int(shape))
    shape = tuple(shape)
    if len(shape) < 2:
        raise ValueError(f"Sequential.build: input_shape needs the batch axis first, e.g. "
                         f"(None, 4). Received: {shape}")
    return shape
