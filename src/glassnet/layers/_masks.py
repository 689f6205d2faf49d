"""How masks move through ``Layer.__call__``, as in Keras 3: reading the input's mask,
filling a call's ``mask=`` (or ``<argument>_mask=``) parameters, and giving the outputs
:meth:`~glassnet.layers.Layer.compute_mask`'s masks. The masks themselves live on the
tensors (``glassnet.tensor.get_mask`` / ``set_mask``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..tensor import Tensor, get_mask, set_mask

__all__: list[str] = []


def mask_op(fn: Callable[..., Any], *masks: Any, rows: bool | None = None) -> Tensor:
    """``fn(*arrays)`` of masks (arrays or tensors) as one recorded op without a gradient.

    A mask comes from each batch's data (padding ids). Made, or turned into weights, by an
    op, a replayed step (``glassnet._tape``) makes it afresh from every batch; made in
    Python, the step could not be replayed. ``fn`` must depend on nothing but its
    arguments (and shapes or dtypes it closes over). ``rows``: ``fn`` makes each sample's
    row from that sample's rows alone, all of its inputs and its result have the batch on
    axis 0 (then an inference batch may run in slices, ``glassnet._split``); default:
    ``fn.rows`` where it says (:func:`mask_view`), else False.

    Example:
        >>> import numpy as np
        >>> mask_op(lambda m: m[:, ::-1], np.array([[True, False]])).data
        array([[False,  True]])
    """
    from .._tape import Pure

    if rows is None:
        rows = bool(getattr(fn, "rows", False))
    return Pure(fn, rows)(*[m if isinstance(m, Tensor) else Tensor._make(m) for m in masks])


def mask_view(index: Any, dtype: Any = None) -> Callable[[Any], Any]:
    """``m -> m[index]`` (as ``dtype`` where given): the one shape of function the layers
    hand :func:`mask_op` (a step's column, the steps reversed, an axis added).

    Example:
        >>> mask_view(np.s_[:, ::-1])(np.array([[True, False]]))
        array([[False,  True]])
    """
    if dtype is None:
        def view(m: Any) -> Any:
            return m[index]
    else:
        def view(m: Any) -> Any:
            return m[index].astype(dtype)
    # an index that keeps axis 0 whole (``[:, ::-1]``, ``[..., None]``) keeps the rows
    first = index[0] if isinstance(index, tuple) and index else index
    view.rows = (isinstance(first, slice) and first == slice(None)  # type: ignore[attr-defined]
                 or first is Ellipsis)
    return view


def step_weights(mask: Any, dtype: Any) -> Tensor:
    """A (batch, steps) boolean mask as (batch, steps, 1) weights of ``dtype``, 1 on a kept
    step and 0 on a padded one (a recorded op, :func:`mask_op`); any mask shape gains the
    trailing axis of 1."""
    return mask_op(mask_view(np.s_[..., None], dtype), mask)


def _base_compute_mask() -> Any:
    from .base import Layer

    return Layer.compute_mask


def input_mask(x: Any) -> Any:
    """The mask attached to a call's input: one array, a list (one per input, None for an
    input without), or None where no input has one (the common case: one attribute read)."""
    if isinstance(x, Tensor):
        return getattr(x, "_mask", None)
    if isinstance(x, (list, tuple)):
        masks = [get_mask(t) for t in x]
        return masks if any(m is not None for m in masks) else None
    return None


_CALL_PARAMS: dict[type, tuple[str, ...]] = {}
_MAKES_MASKS: dict[type, bool] = {}


def makes_masks(cls: type) -> bool:
    """Whether ``cls`` has a ``compute_mask`` of its own, which may make a mask from an
    unmasked input (a positional embedding's ids != 0), decided once per class."""
    got = _MAKES_MASKS.get(cls)
    if got is None:
        got = _MAKES_MASKS[cls] = cls.compute_mask is not _base_compute_mask()  # type: ignore[attr-defined]
    return got


def _call_params(cls: type) -> tuple[str, ...]:
    """The parameter names of ``cls.call`` after ``self`` (decided once per class)."""
    got = _CALL_PARAMS.get(cls)
    if got is None:
        import inspect

        try:
            got = tuple(inspect.signature(cls.call).parameters)[1:]  # type: ignore[attr-defined]
        except (TypeError, ValueError):
            got = ()
        _CALL_PARAMS[cls] = got
    return got


def fill_masks(cls: type, x: Any, mask: Any, kwargs: dict[str, Any]) -> None:
    """Keras 3's mask arguments: a call with one tensor argument gets its mask as ``mask=``;
    with several (``call(self, inputs, encoder_outputs, ...)``), each ``<name>_mask``
    parameter gets that argument's mask, and ``mask=`` none."""
    params = _call_params(cls)
    tensors = [k for k, v in kwargs.items() if isinstance(v, Tensor) or (
        isinstance(v, (list, tuple)) and v and all(isinstance(t, Tensor) for t in v))]
    if not tensors:
        if mask is not None and "mask" in params and "mask" not in kwargs:
            kwargs["mask"] = mask
        return
    if params:
        tensors.append(params[0])  # the first argument, by its name (``inputs_mask``)
    for k in tensors:
        name = f"{k}_mask"
        if name in params and kwargs.get(name) is None:
            m = mask if k == params[0] else input_mask(kwargs[k])
            if m is not None:
                kwargs[name] = m


def set_output_masks(layer: Any, x: Any, y: Any, mask: Any) -> None:
    """After ``layer``'s call on ``x`` (input mask ``mask``): attach its ``compute_mask``
    masks to the outputs ``y`` that do not have one yet (the call may have set its own), or
    warn, as Keras does, that a layer which does not support masking drops the mask."""
    outs = y if isinstance(y, (list, tuple)) else [y]
    supports = layer.__dict__.get("supports_masking")  # an instance's own choice first
    if supports is None:
        supports = (type(layer).supports_masking
                    or type(layer).compute_mask is not _base_compute_mask())
    if not supports:
        if mask is not None and all(get_mask(o) is None for o in outs):
            import warnings

            warnings.warn(f"Layer '{layer.name}' (of type {type(layer).__name__}) was passed "
                          "an input with a mask attached to it. However, this layer does "
                          "not support masking and will therefore destroy the mask "
                          "information. Downstream layers will not see the mask.",
                          stacklevel=4)
        return
    if all(get_mask(o) is not None for o in outs):
        return
    masks = layer.compute_mask(x, mask)
    if masks is None:
        return
    if not isinstance(masks, (list, tuple)):
        masks = [masks]  # outputs and masks pair up in order, as Keras zips them
    for o, m in zip(outs, masks):
        if m is not None and isinstance(o, Tensor) and get_mask(o) is None:
            set_mask(o, m)
