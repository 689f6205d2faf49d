"""Where an optimizer keeps the weights it updates: as views of one flat array in one
process, or of memory the data-parallel ranks on one machine share. A mixin of
:class:`glassnet._optimizer_base.Optimizer`, which sets the attributes used here
(``_gflat``, ``_spans``, ``_shards``, ``_wflat``, ``_flat_refused``, ``_wshared``) when
it lays out a group of params (``_build_group``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .backend import long_lived_empty


class WeightLayout:
    """The weights' arrays as views of one flat array (one process) or of shared memory
    (data-parallel ranks on one machine), kept current when a weight is replaced."""

    _gflat: Any
    _spans: list[tuple[int, int]]
    _shards: bool
    _wflat: tuple[np.ndarray, list[np.ndarray]] | None
    _flat_refused: bool
    _wshared: tuple[np.ndarray, list[np.ndarray], list[Any]] | None

    def _share_weights(self, params: Sequence[Any], spans: list[tuple[int, int]], n: int,
                       dtype: Any, sh: Any) -> None:
        """Sharded on one machine: move the weights into memory the ranks share (each
        param's array becomes a view of it), so that each rank updates only its slice and
        nobody subtracts the whole step. A previous group's shared weights get private
        copies back first (training without the distribution keeps its own arrays)."""
        old = self._wshared
        self._wshared = None
        if old is not None:
            for p, v in zip(old[2], old[1]):
                if p.data is v:
                    p.data = v.copy()
        if not (self._shards and all(type(p.data) is np.ndarray and p.data.dtype == dtype
                                     for p in params)):
            return
        w = sh.shared_array(n, dtype)  # collective: every rank allocates here
        views = [w[lo:hi].reshape(p.data.shape) for p, (lo, hi) in zip(params, spans)]
        if sh.rank == 0:  # the ranks' weights are equal (broadcast before the first step)
            for p, v in zip(params, views):
                v[...] = p.data
        sh.fence()
        for p, v in zip(params, views):
            p.data = v
        self._wshared = (w, views, list(params))

    def _flatten_weights(self, params: Sequence[Any]) -> None:
        """One process: each param's array becomes a view of one flat array, so the update
        is one ``w -= step`` instead of a subtraction per weight (0.4-0.5 us each in a small
        model's step; the same bits). Called by :meth:`Optimizer._grad_views` only for a
        rule that subtracts its step and where the caller said the arrays may change:
        ``step(params)`` called by hand updates each param's own array in place."""
        dtype = self._gflat.dtype
        self._wflat, self._flat_refused = None, True
        if self._shards or not all(type(p.data) is np.ndarray and p.data.dtype == dtype
                                   for p in params):
            return
        self._flat_refused = False
        w = long_lived_empty(self._gflat.size, dtype)
        views = [w[lo:hi].reshape(p.data.shape) for p, (lo, hi) in zip(params, self._spans)]
        for p, v in zip(params, views):
            v[...] = p.data
            p.data = v
        self._wflat = (w, views)

    def _flat_weights_current(self, params: Sequence[Any]) -> bool:
        """Whether every param's array is still its view of the flat weights (see
        :func:`_restore_views`). Another kind of array (a device move) ends the flat
        weights: each param is then updated on its own."""
        wf = self._wflat
        if wf is None:
            return False
        if _restore_views(params, wf[1]) is not None:
            self._wflat, self._flat_refused = None, True
            return False
        return True

    def _check_shared_weights(self, params: Sequence[Any]) -> None:
        """Every param's array is still its view of the shared weights (see
        :func:`_restore_views`); another kind of array is an error."""
        ws = self._wshared
        if ws is None:
            return
        bad = _restore_views(params, ws[1])
        if bad is not None:
            a, v = bad
            raise RuntimeError(
                f"{type(self).__name__}: a weight of shape {v.shape} was replaced during "
                f"data-parallel training by an array of {a.dtype} {a.shape}; assign into it "
                "(w.data[...] = ...) instead")


def _restore_views(params: Sequence[Any], views: Sequence[np.ndarray]) -> Any:
    """Put each param's view back where its array was replaced since (``p.data = ...``, a
    loaded checkpoint) by one of the same shape and dtype, its values copied in. Returns
    None, or (array, view) for the first replacement of another kind (left as it is)."""
    for p, v in zip(params, views):
        a = p.data
        if a is not v:
            if type(a) is not np.ndarray or a.dtype != v.dtype or a.shape != v.shape:
                return a, v
            v[...] = a
            p.data = v
    return None
