"""``Layer``: Keras's lifecycle — config in ``__init__``, weights in ``build``, math in ``call``.

A layer is built once, on its first call (or by ``build(input_shape)`` with a shape whose
first entry is the batch size or ``None``). Weights are tensors with ``requires_grad``;
``trainable=False`` freezes them (no gradient is computed for them at all).
"""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from .. import backend
from .._scopes import current_path, join_path
from ..dtype_policies import DTypePolicy, DTypePolicyMap
from ..dtype_policies import get as _get_policy
from ..tensor import Tensor
from ..variables import Variable
from ._call_args import (
    _drop_training,
    _marking_built,
    _named_inputs,
    _takes_training,
    positional_training,
)
from ._file_hooks import FileHooks
from ._masks import fill_masks, input_mask, makes_masks, set_output_masks

if TYPE_CHECKING:
    from collections.abc import Iterable

    from numpy.typing import DTypeLike

# The fixed table of layer classes that ``load_model`` may construct. Only classes defined
# in glassnet register here (by the decorator below); a file naming anything else is rejected.
LAYER_CLASSES: dict[str, type] = {}

_name_counts: dict[str, int] = {}
# bumped whenever a layer's `trainable` changes, so models' cached weight lists refresh
_trainable_generation = 0
_loss_adders = 0  # layers that have called add_loss (models re-walk their layers)


_C = TypeVar("_C", bound=type)


def register(cls: _C) -> _C:
    """Class decorator: add a glassnet layer class to the loadable table."""
    LAYER_CLASSES[cls.__name__] = cls
    return cls


def get_layer_class(name: str) -> type:
    """Look up a layer class by name in the fixed table (for deserialisation)."""
    try:
        return LAYER_CLASSES[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(str(name), LAYER_CLASSES, n=3)
        raise ValueError(
            f"Unknown layer class {name!r}; only glassnet's own layers can be loaded. "
            f"Closest known: {close}"
        ) from None


def _snake(name: str) -> str:
    s = re.sub(r"(?<=[a-z])([A-Z])", r"_\1", name)  # Conv2D -> conv2d, as Keras
    s = re.sub(r"(?<=[A-Z])([A-Z][a-z])", r"_\1", s)
    return s.lower()


def next_uid(prefix: str) -> int:
    """The next number of ``prefix``'s counter (1 first): ``backend.get_uid``."""
    n = _name_counts.get(prefix, 0) + 1
    _name_counts[prefix] = n
    return n


def unique_name(prefix: str) -> str:
    n = next_uid(prefix) - 1
    return prefix if n == 0 else f"{prefix}_{n}"


def reset_names() -> None:
    """Restart automatic layer naming (``dense``, ``dense_1``, ...)."""
    _name_counts.clear()


class _CallContext(threading.local):
    """The training flag of the layer call in progress (per thread): a layer called inside
    another layer's ``call`` without ``training=`` inherits it (Keras 3's call context), so a
    custom ``call(self, x)`` still switches its Dropout on during ``fit``."""

    training: bool | None = None
    # True while a functional graph traces a layer on stand-in zeros (unknown axes at
    # _symbolic.TRACE_SIZES): only shapes count then, so value checks step aside
    tracing: bool = False


_call_context = _CallContext()


def _check_fits_in_memory(layer: str, weight: str, shape: Iterable[int],
                          dtype: DTypeLike) -> None:
    """Refuse a weight larger than the machine's free memory before allocating it (a
    ``Dense(10**9)`` otherwise allocates gigabytes, then fails deep in NumPy)."""
    import math
    import os

    need = math.prod(int(s) for s in shape) * np.dtype(dtype).itemsize
    try:
        free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows): let NumPy decide
        return
    if need > free:
        raise MemoryError(f"Layer '{layer}': weight '{weight}' of shape {tuple(shape)} needs "
                          f"{need / 2**30:.1f} GiB; this machine has {free / 2**30:.1f} GiB "
                          "free")


def as_tensor_input(x: Any, layer_name: str) -> Tensor:
    if isinstance(x, Tensor):
        return x
    a = np.asarray(x) if not backend.is_gpu_array(x) else x
    if a.dtype.kind in "USO":  # raw text, for a text preprocessing layer to turn into ids
        return Tensor._make(a)
    if a.dtype.kind not in "biuf":
        raise TypeError(
            f"Layer '{layer_name}': input must be numeric. Received: dtype {a.dtype}"
        )
    return Tensor(a)


class Layer(FileHooks):
    """Base class of all layers.

    Args:
        trainable: whether the layer's weights are updated by training.
        name: unique name (default: snake_case class name, numbered).
        input_shape: shape of one sample (no batch axis), lets a model build eagerly.
        input_dim: shorthand for ``input_shape=(input_dim,)``.

    Subclasses implement ``build(input_shape)`` (create weights with :meth:`add_weight`)
    and ``call(x, training=False)``; optionally ``compute_output_shape`` and
    ``get_config``.

    Example:
        >>> class Scale(Layer):
        ...     def build(self, input_shape):
        ...         self.s = self.add_weight("s", (input_shape[-1],), "ones")
        ...     def call(self, x, training=False):
        ...         return x * self.s
    """

    # a penalty on the outputs, added to the loss by every call (Keras 3's Layer argument)
    activity_regularizer: Any = None

    def __init__(self, trainable: bool = True, name: str | None = None, dtype: Any = None,
                 input_shape: Any = None, input_dim: int | None = None,
                 batch_input_shape: Any = None, activity_regularizer: Any = None,
                 **kwargs: Any) -> None:
        if kwargs:
            raise TypeError(
                f"{type(self).__name__}: unexpected keyword argument(s) {sorted(kwargs)}"
            )
        if activity_regularizer is not None:
            from .. import regularizers

            self.activity_regularizer = regularizers.get(activity_regularizer)
        self.name = name or unique_name(_snake(type(self).__name__))
        self.built = False
        self._trainable = bool(trainable)
        self._weights: list[Tensor] = []
        self._trainable_flags: list[bool] = []
        self._regularized: list[tuple[Tensor, Any]] = []
        self._activity_losses: list[Tensor] = []
        if isinstance(dtype, (DTypePolicy, dict)):  # Keras: a policy or its serialize() dict
            policy = _get_policy(dtype)
            if isinstance(policy, DTypePolicyMap):  # Keras keys it by path: here, the name
                policy = policy[self.name]
            dtype = policy.variable_dtype
        # Keras's text inputs (Input(dtype="string")): strings, no numeric dtype for weights
        self._string_dtype = dtype in ("string", "str", str)
        if self._string_dtype:
            dtype = None
        self.dtype = np.dtype(dtype) if dtype is not None else None
        if input_dim is not None:
            if not isinstance(input_dim, (int, np.integer)) or input_dim <= 0:
                raise ValueError(
                    f"Layer '{self.name}': input_dim must be a positive int. "
                    f"Received: input_dim={input_dim!r}"
                )
            input_shape = (int(input_dim),)
        if batch_input_shape is not None:
            input_shape = tuple(batch_input_shape)[1:]
        self.input_spec_shape = None if input_shape is None else _shape_tuple(input_shape)
        self.input_shape_built: Any = None
        self.output_shape_built = None

    def _track_variable(self, attr: str, v: Variable) -> None:
        """A :class:`~glassnet.variables.Variable` assigned to an attribute becomes one of
        this layer's weights, as in Keras 3 (named ``layer/variable``, trainable as made)."""
        if any(w is v for w in self._weights):
            return
        if not str(v.name).startswith(f"{self.name}/"):
            v.name = f"{self.name}/{v.name}"
        scope = current_path()
        if scope and getattr(v, "_scope", None) is None:  # tracked inside gn.name_scope
            v._scope = scope
        flag = v.trainable
        v.requires_grad = bool(flag and self._trainable)
        self._weights.append(v)
        self._trainable_flags.append(flag)

    def add_weight(self, name: Any = None, shape: Any = None,
                   initializer: Any = "glorot_uniform", regularizer: Any = None,
                   trainable: bool = True, dtype: DTypeLike | None = None,
                   constraint: Any = None) -> Tensor:
        """Create a weight tensor, initialised from the seeded generator.

        Args:
            name: optional (Keras 3 makes it optional: default ``"variable"``, numbered).
                Keras 3's order ``add_weight(shape, initializer)`` also works: a shape
                passed first is taken as the shape.
            shape: the weight's shape; initializer: id or callable (None = glorot_uniform);
            regularizer: optional penalty; trainable: updated by training; dtype: default
            the layer's (or floatx); constraint: a projection the optimizer applies to the
            weight after each update of it (anything :func:`glassnet.constraints.get`
            takes; kept as ``w.constraint``).

        Example:
            >>> self.w = self.add_weight(shape=(3,), initializer="ones")   # doctest: +SKIP
        """
        from .. import initializers, regularizers

        if name is not None and not isinstance(name, str):
            if shape is not None:  # add_weight((3,), "zeros"): Keras 3 positional order
                initializer, shape = shape, name
            else:
                shape = name
            name = None
        if shape is None:
            raise ValueError(f"Layer '{self.name}': add_weight needs a shape. Received: "
                             f"shape=None")
        if name is None:
            taken = {w.name for w in self._weights}
            name, k = "variable", 0
            while f"{self.name}/{name}" in taken:
                k += 1
                name = f"variable_{k}"
        if isinstance(shape, (int, np.integer)):
            shape = (int(shape),)
        init = initializers.get("glorot_uniform" if initializer is None else initializer)
        dt = np.dtype(dtype or self.dtype or backend.floatx())
        _check_fits_in_memory(self.name, name, shape, dt)
        value = np.asarray(init(tuple(int(s) for s in shape), dtype=dt), dtype=dt)
        w = Tensor._make(value)
        w.requires_grad = bool(trainable and self._trainable)
        w.name = f"{self.name}/{name}"
        scope = current_path()
        if scope:  # made inside gn.name_scope: Keras's path "scope/layer/weight"
            w._scope = scope
        if constraint is not None:
            w.constraint = constraint  # resolved by constraints.get
        self._weights.append(w)
        self._trainable_flags.append(bool(trainable))
        reg = regularizers.get(regularizer) if regularizer is not None else None
        if reg is not None:
            self._regularized.append((w, reg))
        return w

    @property
    def input(self) -> Any:
        """The symbolic input(s) of this layer's first functional call (Keras's
        ``layer.input``): a list for a layer called on a list. A layer of a
        :class:`~glassnet.models.Sequential` with a known input shape has its place in the
        model's graph.

        Raises:
            AttributeError: the layer was never called on symbolic inputs.

        Example:
            >>> d = gn.layers.Dense(2)
            >>> _ = d(gn.Input(shape=(3,)))
            >>> d.input.shape
            (None, 3)
        """
        return self._first_call(0, "input")

    @property
    def output(self) -> Any:
        """The symbolic output(s) of this layer's first functional call (Keras's
        ``layer.output``), e.g. for a feature extractor:
        ``Model(model.inputs, model.get_layer("conv2").output)``.

        Raises:
            AttributeError: the layer was never called on symbolic inputs.

        Example:
            >>> d = gn.layers.Dense(2)
            >>> d(gn.Input(shape=(3,))).shape == d.output.shape == (None, 2)
            True
        """
        return self._first_call(1, "output")

    def _first_call(self, i: int, what: str) -> Any:
        call = self.__dict__.get("_symbolic_call")
        if call is None:
            owner = self.__dict__.get("_owner")  # the Sequential it was added to (weak)
            seq = owner() if owner is not None else None
            if seq is not None and seq.input_shape is not None:
                seq._graph()  # the stack's functional graph: calls this layer too
                call = self.__dict__.get("_symbolic_call")
        if call is None:
            raise AttributeError(f"The layer {self.name} has never been called and thus has "
                                 f"no defined {what}.")
        return call[i]

    def _sublayers(self) -> list[Layer]:
        subs = []
        for v in self.__dict__.values():
            if isinstance(v, Layer):
                subs.append(v)
            elif isinstance(v, (list, tuple)):
                subs.extend(x for x in v if isinstance(x, Layer))
        return subs

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        global _trainable_generation
        _trainable_generation += 1  # models re-derive their trainable weights (no recompile)
        self._trainable = bool(value)
        for w, flag in zip(self._weights, self._trainable_flags):
            w.requires_grad = bool(value and flag)
            if not w.requires_grad:
                w.grad = None
        for s in self._sublayers():
            s.trainable = value

    @property
    def path(self) -> str | None:
        """Keras's ``layer.path``: the layer's name under the ``gn.name_scope`` it was built
        in (``"outer/dense"``); None before it is built.

        Example:
            >>> with gn.name_scope("outer"):
            ...     d = gn.layers.Dense(2, name="d"); d.build((None, 3))
            >>> d.path, d.kernel.path
            ('outer/d', 'outer/d/kernel')
        """
        path = self.__dict__.get("_path")
        return path if path is not None or not self.built else self.name

    @property
    def dtype_policy(self) -> DTypePolicy:
        """The layer's :class:`~glassnet.dtype_policies.DTypePolicy`: its float dtype's, or
        the global one (``floatx()``) for a layer without a float dtype of its own."""
        d = self.dtype
        return DTypePolicy(d.name if d is not None and d.name in ("float32", "float64")
                           else None)

    @property
    def compute_dtype(self) -> str:
        """The dtype the layer computes in (Keras's ``layer.compute_dtype``)."""
        return self.dtype_policy.compute_dtype

    @property
    def variable_dtype(self) -> str:
        """The dtype of the layer's weights (Keras's ``layer.variable_dtype``)."""
        return self.dtype_policy.variable_dtype

    @property
    def weights(self) -> list[Tensor]:
        """All weights in Keras 3's order: this layer's own (the trainable kind, then the
        others, each in creation order), then each sublayer's, every weight once.

        The order does not depend on ``trainable``: a model saved with a frozen part loads
        into a fresh one, and ``get_weights()`` lists what Keras's lists.
        """
        return [w for w, _ in self._weight_flags()]

    @property
    def trainable_weights(self) -> list[Tensor]:
        """The weights the optimizer updates, in :attr:`weights` order."""
        if not self._trainable:
            return []
        return [w for w, t in self._weight_flags() if t]

    @property
    def non_trainable_weights(self) -> list[Tensor]:
        """The other weights (statistics, frozen layers'), in :attr:`weights` order."""
        if not self._trainable:
            return self.weights
        return [w for w, t in self._weight_flags() if not t]

    @property
    def variables(self) -> list[Tensor]:
        """Every variable, as Keras 3 lists them: this layer's weights, then the state of
        the random seed generators it keeps as attributes, then each sublayer's variables,
        every one once. (A metric's state is the metric's own ``variables``, as in Keras;
        glassnet's built-in Dropout and noise layers draw from the global generator, so
        unlike Keras's they hold no seed state.)

        Example:
            >>> layer = Dense(2); layer.build((None, 3)); len(layer.variables)
            2
        """
        return [v for v, _ in self._weight_flags(state=True)]

    @property
    def trainable_variables(self) -> list[Tensor]:
        """Keras 3's name for :attr:`trainable_weights` (metric and seed state never
        trains)."""
        return self.trainable_weights

    @property
    def non_trainable_variables(self) -> list[Tensor]:
        """:attr:`variables` that training does not update, in that order."""
        if not self._trainable:
            return self.variables
        return [v for v, t in self._weight_flags(state=True) if not t]

    def _weight_flags(self, state: bool = False) -> list[tuple[Tensor, bool]]:
        """(weight, trainable now) in :attr:`weights` order, each weight once (a layer
        reachable twice, e.g. shared by two attributes, counts once, as in Keras); with
        ``state``, in :attr:`variables` order, seed generator state included."""
        flags = self._trainable_flags
        pairs = [(w, self._trainable) for w, f in zip(self._weights, flags) if f]
        pairs += [(w, False) for w, f in zip(self._weights, flags) if not f]
        if state:
            from ..random import SeedGenerator

            for v in self.__dict__.values():
                for x in v if isinstance(v, (list, tuple)) else (v,):
                    if isinstance(x, SeedGenerator):
                        pairs.append((x.state, False))
        for s in self._sublayers():
            pairs += s._weight_flags(state)
        seen: set[int] = set()
        out = []
        for w, t in pairs:
            if id(w) not in seen:
                seen.add(id(w))
                out.append((w, t))
        return out

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the weights as NumPy arrays, in :attr:`weights` order."""
        return [backend.asnumpy(w.data).copy() for w in self.weights]

    def set_weights(self, weights: Iterable[Any]) -> None:
        """Set weights from arrays in :attr:`weights` order; shapes must match."""
        ws = self.weights
        weights = list(weights)
        if len(weights) != len(ws):
            raise ValueError(
                f"Layer '{self.name}': expected {len(ws)} weight arrays. "
                f"Received: {len(weights)}"
            )
        for w, v in zip(ws, weights):
            v = np.asarray(v)
            if v.shape != w.data.shape:
                raise ValueError(
                    f"Layer '{self.name}': weight '{w.name}' has shape {w.data.shape}. "
                    f"Received: shape {v.shape}"
                )
            xp = backend.get_array_module(w.data)
            w.data[...] = xp.asarray(v, dtype=w.data.dtype)

    def zero_grad(self) -> None:
        """Drop every weight's gradient (``w.grad = None``), as ``torch.nn.Module.zero_grad``:
        the keras.io PyTorch-backend training loop calls ``model.zero_grad()`` before
        ``loss.backward()``.

        Example:
            >>> model.zero_grad(); loss.backward()   # doctest: +SKIP
        """
        for w in self.weights:
            w.grad = None

    def count_params(self) -> int:
        return int(sum(w.size for w in self.weights))

    def add_loss(self, loss: Any) -> None:
        """Add ``loss`` (a scalar tensor made from this call's tensors) to the training
        loss, as Keras's ``Layer.add_loss`` inside ``call``: kept with the layer's activity
        penalties, cleared at its next call, summed into the step's loss.

        Example:
            >>> class Reg(gn.layers.Layer):
            ...     def call(self, x):
            ...         self.add_loss(gn.ops.sum(x) * 0.1)
            ...         return x
            >>> ly = Reg(); _ = ly(np.ones((2, 2), "float32")); round(float(ly.losses[0]), 6)
            0.4
        """
        global _loss_adders
        if not isinstance(loss, Tensor):
            loss = Tensor._make(backend.get_array_module(loss).asarray(
                loss, dtype=backend.floatx()))
        if loss.size != 1:
            raise ValueError(f"Layer '{self.name}': add_loss takes a scalar loss. Received: "
                             f"shape {tuple(loss.shape)}")
        if not self.__dict__.get("_adds_losses"):
            self._adds_losses = True
            _loss_adders += 1  # models look for loss-adding layers again
        self._activity_losses.append(loss.reshape(()) if loss.ndim else loss)

    @property
    def losses(self) -> list[Tensor]:
        """Regularization penalties (weight and activity) from the latest call, as tensors."""
        out = [reg(w) for w, reg in self._regularized if w.requires_grad]
        out += self._activity_losses
        for s in self._sublayers():
            out += s.losses
        return out

    # ------------------------------------------------------------ lifecycle
    def build(self, input_shape: Any) -> None:
        """Create weights for inputs of ``input_shape`` (batch axis first, may be None)."""
        self.built = True

    def call(self, inputs: Any,  # pragma: no cover - abstract
             *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement call()")

    # layers that take raw strings (text preprocessing, Input, models passing them on)
    _accepts_text = False
    #: Whether the layer passes its input's mask on to its output (Keras 3: a layer that
    #: keeps the time axis, like ``Dense``, ``Dropout`` or ``LayerNormalization``); a layer
    #: that overrides :meth:`compute_mask` supports masking by that alone.
    supports_masking = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__module__.startswith("glassnet."):  # your own layer: see _track_setattr
            cls.__setattr__ = _track_setattr  # type: ignore[method-assign,assignment]
        build = cls.__dict__.get("build")
        if build is not None and not getattr(build, "_marks_built", False):
            # layer.build(shape) called by hand leaves the layer built, as in Keras 3
            cls.build = _marking_built(build)  # type: ignore[method-assign]  # wrap, same method
        call = cls.__dict__.get("call")
        if call is not None and not _takes_training(call):
            # Keras passes `training` only where accepted
            cls.call = _drop_training(call)  # type: ignore[method-assign]  # wrap, same method

    def __call__(self, x: Any, *args: Any, training: bool | None = None, **kwargs: Any) -> Any:
        if args:
            args, training = positional_training(args, training)
            if args:  # layer(targets, logits): more inputs, passed to call() by their names
                kwargs = _named_inputs(self, args, kwargs)
        spec = self.__dict__.get("input_spec")
        if spec is not None:  # a layer of your own declared what it takes (Keras's InputSpec)
            from .input_spec import check_input_spec

            check_input_spec(self.name, spec, x)
        if _is_symbolic(x):  # functional API: record the call (glassnet.models.functional)
            from ._symbolic import call_symbolic

            if training is not None:  # fixed for this node, e.g. base_model(x, training=False)
                kwargs["training"] = training
            return call_symbolic(self, x, **kwargs)
        if training is None:  # not passed: the enclosing layer's call decides, as in Keras
            training = _call_context.training
        training = bool(training)
        if not isinstance(x, (list, tuple, dict)):  # a dict: a functional model's named inputs
            x = as_tensor_input(x, self.name)
            if x.data.dtype.kind in "USO" and not self._accepts_text:
                raise TypeError(f"Layer '{self.name}' ({type(self).__name__}): input must be "
                                f"numeric (text goes to a TextVectorization or StringLookup "
                                f"layer first). Received: dtype {x.data.dtype}")
        if not self.built:
            shape = _input_shape_of(x)
            self._check_spec(shape)
            self.input_shape_built = shape
            if self.__dict__.get("_path") is None:  # Keras: the name scope at build time
                self.__dict__["_path"] = join_path(self.name)
            self.build(shape)
            self.built = True
            self.__dict__.pop("_in_spec", None)
            first = x[0] if isinstance(x, (list, tuple)) else x
            if backend.is_gpu_array(getattr(first, "data", None)):
                self.to("gpu")  # weights live where the first input did
        elif isinstance(x, Tensor):
            self._check_built_input(x)
        if self.input_shape_built is None:  # built by hand (its own build's arguments):
            # the first call tells the shape it runs on (a model's input shape, a file)
            self.input_shape_built = _input_shape_of(x)
        self._activity_losses = []
        mask = input_mask(x)
        if mask is not None or kwargs:
            fill_masks(type(self), x, mask, kwargs)  # as Keras passes masks to call()
        ctx = _call_context
        prev, ctx.training = ctx.training, training
        try:
            y = self.call(x, training=training, **kwargs)
        finally:
            ctx.training = prev
        if mask is not None or makes_masks(type(self)):
            self._set_output_mask(x, y, kwargs.get("mask", mask))
        if self.activity_regularizer is not None:
            self._penalize_activity(y)
        return y

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The mask of this layer's output, given its input and the input's mask (Keras 3):
        the input's own mask where the layer :attr:`supports_masking`, else None. Override
        it for a layer that makes a mask (``Embedding``, ``Masking``), changes one (a merge)
        or consumes one (``GlobalAveragePooling1D``, an RNN's last state: None).

        Args:
            inputs: the layer's input (a tensor, or a list for several).
            mask: its boolean mask, shape (batch, timesteps), or a list of them, or None.

        Example:
            >>> d = gn.layers.Dense(2); d.compute_mask(None, np.array([[True, False]]))
            array([[ True, False]])
        """
        return mask if self.supports_masking else None

    def _set_output_mask(self, x: Any, y: Any, mask: Any) -> None:
        """After a call: attach :meth:`compute_mask`'s masks to the outputs without one, or
        warn that a layer which does not support masking drops a mask (``_masks``)."""
        set_output_masks(self, x, y, mask)

    def _penalize_activity(self, y: Any, regularizer: Any = None) -> None:
        """Add ``activity_regularizer(output)`` (or ``regularizer``'s) to this call's losses
        for each tensor output, divided by the batch size, as Keras 3 does (the strength
        does not grow with it)."""
        from .. import ops

        reg = regularizer if regularizer is not None else self.activity_regularizer
        for out in y if isinstance(y, (list, tuple)) else (y,):
            if isinstance(out, Tensor):
                loss = reg(out)
                if out.ndim and out.shape[0]:
                    loss = ops.mul(loss, out.dtype.type(1.0 / out.shape[0]))
                self._activity_losses.append(loss)

    def _positional_call(self, x: Any, args: tuple[Any, ...], training: bool | None,
                         kwargs: dict[str, Any]) -> Any:
        """For a subclass's own ``__call__``: ``layer(x, True)`` is its call with that
        training flag; ``layer(a, b, ...)`` is this class's call, which passes the inputs
        after the first to ``call`` by name (:func:`positional_training`)."""
        rest, training = positional_training(args, training)
        if rest:
            return Layer.__call__(self, x, *rest, training=training, **kwargs)
        return self(x, training=training, **kwargs)

    def _check_spec(self, shape: Any) -> None:
        spec = self.input_spec_shape
        if spec is None or not isinstance(shape, tuple):
            return
        got = tuple(shape[1:])
        if len(got) != len(spec) or any(s is not None and g != s for s, g in zip(spec, got)):
            raise ValueError(
                f"Layer '{self.name}': expected input shape {(None,) + tuple(spec)}. "
                f"Received: input shape {shape}"
            )

    def _input_spec(self) -> dict | None:
        """What the built layer requires of an input, as Keras's ``InputSpec``: ``{axis:
        size}`` with axes counted from the end, or None for any shape. Default: a layer with
        weights fixes its ``axis`` (normalization layers) or else its last axis at the size it
        was built for (Dense, Conv, recurrent...); a layer without weights takes any shape.
        Layers whose weights sit elsewhere override this (Embedding, PReLU)."""
        shape = self.input_shape_built
        if not self._weights or not isinstance(shape, tuple) or len(shape) < 2:
            return None
        axes = getattr(self, "axis", -1)
        axes = (axes,) if isinstance(axes, (int, np.integer)) else tuple(axes)
        nd, spec = len(shape), {}
        for a in axes:
            a = int(a)
            if -nd <= a < nd and a % nd != 0 and shape[a] is not None:
                spec[a % nd - nd] = int(shape[a])
        return spec or None

    def _check_built_input(self, x: Tensor) -> None:
        """Refuse, naming the layer, an input that does not fit the shape it was built for
        (a wrong feature count used to fail deep inside a kernel or a matmul)."""
        spec = self.__dict__.get("_in_spec", _UNSET)
        if spec is _UNSET:
            spec = self._in_spec = self._input_spec()
        if not spec:
            return
        got = tuple(x.shape)
        bad = [(a, n) for a, n in spec.items() if -a >= len(got) or got[a] != n]
        if bad:
            tail = ", ".join(str(spec.get(a)) for a in range(min(spec), 0))
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}): expected input shape "
                f"(None, ..., {tail}). Received: input shape {got}")

    def compute_output_shape(self, input_shape: Any) -> Any:
        """Output shape for an input shape (batch axis first); default: trace a forward."""
        from ..autograd import no_grad

        shape = tuple(1 if s is None else s for s in input_shape)
        with no_grad():
            y = self(Tensor._make(np.zeros(shape, dtype=backend.floatx())))
        return (input_shape[0],) + tuple(y.shape[1:])

    # ------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        """JSON-able constructor arguments; subclasses extend it."""
        cfg = {"name": self.name, "trainable": self._trainable}
        if self.dtype is not None:  # a float64 layer must load as float64
            cfg["dtype"] = self.dtype.name
        elif getattr(self, "_string_dtype", False):
            cfg["dtype"] = "string"
        if self.input_spec_shape is not None:
            cfg["input_shape"] = list(self.input_spec_shape)
        if self.activity_regularizer is not None:
            from .. import regularizers

            cfg["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        return cfg

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Any:
        return cls(**config)

    def to(self, device: str) -> Layer:
        """Move weights to ``'cpu'`` or ``'gpu'`` in place (keeps the same Tensor objects)."""
        for w in self._weights:
            w.data = backend.to_device(w.data, device)
            if w.grad is not None:
                w.grad = backend.to_device(w.grad, device)
        for s in self._sublayers():
            s.to(device)
        return self

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} built={self.built}>"


_UNSET = object()


def _track_setattr(self: Layer, name: str, value: Any) -> None:
    """``__setattr__`` of a layer class of your own: a Variable assigned to an attribute
    becomes one of its weights, as in Keras 3. Built-in layers hold none and skip this."""
    if type(value) is Variable and "_weights" in self.__dict__:
        self._track_variable(name, value)
    object.__setattr__(self, name, value)


def _is_symbolic(x: Any) -> bool:
    """True for functional-API inputs: ``gn.Input(...)`` or a symbolic layer output."""
    if isinstance(x, (list, tuple)):
        return any(getattr(t, "_glassnet_symbolic", False) for t in x)
    return getattr(x, "_glassnet_symbolic", False)


def _shape_tuple(shape: Any) -> tuple[int | None, ...]:
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(None if s is None else int(s) for s in shape)


def _input_shape_of(x: Any) -> Any:
    if isinstance(x, (list, tuple)):
        return [(None,) + tuple(t.shape[1:]) if isinstance(t, Tensor) else None for t in x]
    return (None,) + tuple(x.shape[1:])
