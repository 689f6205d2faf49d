"""Keras 3's ``MultiOptimizer`` and ``OptimizerMap``: different optimizers for different
weights (a pretrained encoder with a small SGD step, a new head with Adam), chosen by each
weight's path. Exported from :mod:`glassnet.optimizers`.

The wrapper holds no slots of its own: each weight's gradient is written straight into
its optimizer's flat buffer (:meth:`MultiOptimizer._grad_views` hands out the inner
optimizers' views), and each inner optimizer updates its own weights with its own rule,
options and step count, as in Keras.

Example:
    >>> O = gn.optimizers
    >>> opt = MultiOptimizer(OptimizerMap(O.SGD(0.01), {"head/.*": O.Adam(1e-3)}))
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterable, Iterator, MutableMapping, Sequence
from typing import Any, cast

from ._optimizer_base import Optimizer
from .backend import get_array_module


def _optimizer(value: Any, where: str) -> Optimizer:
    from . import optimizers

    opt = optimizers.get(value) if isinstance(value, dict) else value
    if not isinstance(opt, Optimizer) or isinstance(opt, MultiOptimizer):
        raise ValueError(f"{where} must be a glassnet optimizer (not a MultiOptimizer). "
                         f"Received: {value!r}")
    return opt


class OptimizerMap(MutableMapping):
    """Weight paths (exact, or regular expressions matched whole) → optimizers, with a
    default for the rest (keras.optimizers.OptimizerMap). Called on a weight, it gives that
    weight's optimizer; a path matched by two patterns is an error.

    Example:
        >>> m = OptimizerMap(gn.optimizers.SGD(), {"encoder/.*": gn.optimizers.Adam()})
        >>> type(m["encoder/dense/kernel"]).__name__, type(m["head/kernel"]).__name__
        ('Adam', 'SGD')
    """

    def __init__(self, default_optimizer: Optimizer,
                 optimizer_map: dict[str, Optimizer] | None = None) -> None:
        self._default = _optimizer(default_optimizer, "OptimizerMap: default_optimizer")
        if optimizer_map is not None and not isinstance(optimizer_map, dict):
            raise TypeError(f"OptimizerMap: optimizer_map must be a dict of path patterns to "
                            f"optimizers. Received: {optimizer_map!r}")
        self._map: dict[str, Optimizer] = {}
        for key, opt in (optimizer_map or {}).items():
            self[key] = opt

    @property
    def default_optimizer(self) -> Optimizer:
        return self._default

    def __getitem__(self, key: str) -> Optimizer:
        if key in self._map:
            return self._map[key]
        hits = [p for p in self._map if re.fullmatch(p, key)]
        if len(hits) > 1:
            raise ValueError(f"OptimizerMap: weight {key!r} matches several patterns: {hits}")
        return self._map[hits[0]] if hits else self._default

    def __setitem__(self, key: str, optimizer: Any) -> None:
        if not isinstance(key, str):
            raise ValueError(f"OptimizerMap: a key must be a path or a pattern (str). "
                             f"Received: {key!r}")
        if key in self._map:
            raise ValueError(f"OptimizerMap: {key!r} is already mapped (to "
                             f"{type(self._map[key]).__name__})")
        try:
            re.compile(key)
        except re.error as e:
            raise ValueError(f"OptimizerMap: {key!r} is not a regular expression ({e})") from None
        self._map[key] = _optimizer(optimizer, f"OptimizerMap[{key!r}]")

    def __delitem__(self, key: str) -> None:
        del self._map[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._map)

    def __len__(self) -> int:
        return len(self._map)

    def __call__(self, weight: Any) -> Optimizer:
        return self[str(getattr(weight, "path", None) or getattr(weight, "name", ""))]

    def get_config(self) -> dict[str, Any]:
        from . import optimizers

        return {"default_optimizer": optimizers.serialize(self._default),
                "optimizer_map": {k: optimizers.serialize(v) for k, v in self._map.items()}}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> OptimizerMap:
        return cls(_optimizer(config["default_optimizer"], "OptimizerMap: default_optimizer"),
                   {k: _optimizer(v, f"OptimizerMap[{k!r}]")
                    for k, v in (config.get("optimizer_map") or {}).items()})


class MultiOptimizer(Optimizer):
    """Update each weight with the optimizer an :class:`OptimizerMap` (or a function of the
    weight) gives it (keras.optimizers.MultiOptimizer). The inner optimizers keep their own
    learning rates, options and step counts; the wrapper counts its own steps and has no
    learning rate of its own (reading or setting one is an error, as in Keras).

    Args:
        optimizer_map: an :class:`OptimizerMap`, or a function weight → optimizer (which
            cannot be saved in a model file: use an OptimizerMap to save).
        loss_scale_factor: accepted for Keras's signature; glassnet does not scale losses.

    Example:
        >>> O = gn.optimizers
        >>> opt = MultiOptimizer(lambda w: O.Adam() if "head" in w.path else O.SGD())
    """

    def __init__(self, optimizer_map: Any, loss_scale_factor: float | None = None,
                 name: str | None = None) -> None:
        super().__init__(0.0, name=name)
        if isinstance(optimizer_map, dict):  # a saved OptimizerMap's config
            cfg = optimizer_map.get("config", optimizer_map)
            optimizer_map = OptimizerMap.from_config(cfg)
        if not callable(optimizer_map):
            raise TypeError(f"MultiOptimizer: optimizer_map must be an OptimizerMap or a "
                            f"function of the weight. Received: {optimizer_map!r}")
        self._optimizer_map: Callable[[Any], Optimizer] = optimizer_map
        self.loss_scale_factor = loss_scale_factor
        self._inner: list[Optimizer] = []
        if isinstance(optimizer_map, OptimizerMap):  # Keras's order: mapped, then default
            for opt in [*optimizer_map.values(), optimizer_map.default_optimizer]:
                if all(opt is not o for o in self._inner):
                    self._inner.append(opt)
        self._which: dict[int, Optimizer] = {}  # id(weight) -> its optimizer
        self._weights_seen: list[Any] = []  # the weights in _which (their paths, on save)
        self._views: tuple[tuple[int, ...], list] | None = None
        self._grouped: tuple[tuple[int, ...], list] | None = None  # (_groups' cache)

    @property
    def optimizers(self) -> list[Optimizer]:
        """The inner optimizers, in the order Keras lists them."""
        return list(self._inner)

    @property
    def learning_rate(self) -> float:
        raise AttributeError("Learning rate cannot be accessed on a MultiOptimizer; read it "
                             "on one of its optimizers (optimizer.optimizers[i])")

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        raise AttributeError("Learning rate cannot be set on a MultiOptimizer; set it on "
                             "one of its optimizers (optimizer.optimizers[i])")

    def optimizer_of(self, weight: Any) -> Optimizer:
        """The optimizer that updates ``weight`` (decided once per weight)."""
        opt = self._which.get(id(weight))
        if opt is None:
            opt = self._optimizer_map(weight)
            if not isinstance(opt, Optimizer) or isinstance(opt, MultiOptimizer):
                raise ValueError(f"MultiOptimizer: the optimizer for weight "
                                 f"{getattr(weight, 'path', weight)!r} must be a glassnet "
                                 f"optimizer (not a MultiOptimizer). Received: {opt!r}")
            if all(opt is not o for o in self._inner):
                self._inner.append(opt)
            self._which[id(weight)] = opt
            self._weights_seen.append(weight)
        return opt

    def _groups(self, params: Sequence[Any]) -> list[tuple[Optimizer, list[int]]]:
        """Each inner optimizer with the positions of its weights in ``params`` (worked
        out once per list of weights: the step asks twice per call)."""
        key = tuple(map(id, params))
        cached = self._grouped
        if cached is not None and cached[0] == key:
            return cached[1]
        fresh = any(id(p) not in self._which for p in params)
        by: dict[int, list[int]] = {}
        for k, p in enumerate(params):
            by.setdefault(id(self.optimizer_of(p)), []).append(k)
        if fresh and isinstance(self._optimizer_map, OptimizerMap):
            self._warn_unmatched(params)
        groups = [(o, by[id(o)]) for o in self._inner if id(o) in by]
        self._grouped = (key, groups)
        return groups

    def _warn_unmatched(self, params: Sequence[Any]) -> None:
        """A key that selects none of the weights is most likely a path written for
        another library's naming: say so instead of silently using the default."""
        paths = [str(getattr(p, "path", None) or getattr(p, "name", "")) for p in params]
        for key in cast(OptimizerMap, self._optimizer_map):
            if not any(key == q or re.fullmatch(key, q) for q in paths):
                warnings.warn(f"MultiOptimizer: {key!r} matches none of the weights being "
                              f"trained, which take the default optimizer; their paths look "
                              f"like {paths[:3]}", stacklevel=4)

    def _apply(self, pairs: list[tuple[Any, Any]]) -> None:
        params = [p for p, _ in pairs]
        for opt, ks in self._groups(params):
            opt._apply([pairs[k] for k in ks])
        self.iterations += 1

    @staticmethod
    def _clips(opt: Optimizer) -> bool:
        """Whether ``opt`` clips each step's gradients: it then takes them through
        ``_apply`` (which clips them before its buffer), not straight into its buffer."""
        return (opt.clipnorm is not None or opt.clipvalue is not None
                or bool(opt.global_clipnorm)) and not opt.gradient_accumulation_steps

    def _grad_views(self, params: Sequence[Any], flat: bool = False) -> list:
        """The inner optimizers' gradient views, in ``params``' order (the replayed step
        writes each gradient straight into its optimizer's buffer); arrays of this
        wrapper's own for an optimizer that clips (handed to it in :meth:`_update`)."""
        key = tuple(map(id, params))
        views: list[Any] = [None] * len(params)
        old = self._views[1] if self._views is not None and self._views[0] == key else None
        for opt, ks in self._groups(params):
            sub = [params[k] for k in ks]
            if self._clips(opt):
                own = [old[k] if old is not None else None for k in ks]
                for k, p, v in zip(ks, sub, own):
                    views[k] = v if v is not None and v.shape == p.data.shape else (
                        get_array_module(p.data).zeros_like(p.data))
                continue
            for k, v in zip(ks, opt._grad_views(sub, flat=flat)):
                views[k] = v
        if self._views is not None and self._views[0] == key and all(
                a is b for a, b in zip(self._views[1], views)):
            return self._views[1]  # the same list while nothing changed (offered buffers)
        self._views = (key, views)
        return views

    def _update(self, params: Sequence[Any]) -> None:
        views = self._views[1] if self._views is not None else None
        for opt, ks in self._groups(params):
            sub = [params[k] for k in ks]
            if self._clips(opt):
                if views is None:
                    raise RuntimeError("MultiOptimizer: _update before _grad_views")
                opt._apply([(p, views[k]) for p, k in zip(sub, ks)])
            else:
                opt._update(sub)
        self.iterations += 1

    def finalize_variable_values(self, params: Iterable[Any]) -> None:
        params = list(params)
        for opt, ks in self._groups(params):
            opt.finalize_variable_values([params[k] for k in ks])

    def get_state(self) -> dict:
        """``"iterations"`` and each inner optimizer's state under ``"<k>:"`` (its
        position in :attr:`optimizers`)."""
        import numpy as np

        state: dict[str, Any] = {"iterations": np.asarray(self.iterations, dtype=np.int64)}
        for k, opt in enumerate(self._inner):
            state.update({f"{k}:{name}": a for name, a in opt.get_state().items()})
        return state

    def set_state(self, state: dict) -> None:
        import numpy as np

        if "iterations" not in state:
            raise ValueError("MultiOptimizer.set_state: state must contain 'iterations'. "
                             f"Received keys: {sorted(state)[:8]}")
        self.iterations = int(np.asarray(state["iterations"]))
        for k, opt in enumerate(self._inner):
            sub = {name.split(":", 1)[1]: a for name, a in state.items()
                   if name.startswith(f"{k}:")}
            if sub:
                opt.set_state(sub)

    def _state_groups(self, params: Sequence[Any]) -> list[tuple[str, list, tuple]]:
        groups = self._groups(params)
        return [(f"{self._inner.index(opt)}:", [params[k] for k in ks],
                 tuple(opt._all_slot_names)) for opt, ks in groups]

    def get_config(self) -> dict[str, Any]:
        """The config, its map as an OptimizerMap's; a function's choices are written as
        the exact paths of the weights it has chosen for (a file holds no code), so a
        function map can be saved only after the first step."""
        mapping = self._optimizer_map
        if not isinstance(mapping, OptimizerMap):
            if not self._which:
                raise ValueError("MultiOptimizer: a function choosing the optimizers is "
                                 "written as its choices, known after the first step; "
                                 "train first or use an OptimizerMap")
            chosen = {str(getattr(w, "path", "")): opt for w in self._weights_seen
                      if (opt := self._which.get(id(w))) is not None}
            mapping = OptimizerMap(self._inner[-1],
                                   {re.escape(p): o for p, o in chosen.items()})
        return {"name": self.name, "loss_scale_factor": self.loss_scale_factor,
                "optimizer_map": {"class_name": "OptimizerMap",
                                  "config": mapping.get_config()}}
