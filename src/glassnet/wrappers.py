"""scikit-learn estimators around glassnet models, with Keras 3's names and constructor.

``SKLearnClassifier``, ``SKLearnRegressor`` and ``SKLearnTransformer`` take ``model`` (a
callable ``model(X=..., y=..., **model_kwargs)`` that returns a compiled model, or a compiled
model to clone), ``warm_start``, ``model_kwargs`` and ``fit_kwargs``. They work in
``Pipeline``, ``GridSearchCV`` (also with ``n_jobs``, which sends them to other processes) and
``cross_val_score``. Cloning never shares weights. A pickled wrapper carries its model as
the model's saved file (``Model.__reduce__``: config, weight arrays and the optimizer's
state, so a warm start resumes exactly), rebuilt through the fixed layer table, never as
pickled layer objects.

Example:
    >>> def build(X, y, hidden=8):
    ...     model = gn.models.Sequential([gn.layers.Input((X.shape[1],)),
    ...                                   gn.layers.Dense(hidden, activation="relu"),
    ...                                   gn.layers.Dense(y.shape[1], activation="softmax")])
    ...     model.compile(optimizer="adam", loss="categorical_crossentropy")
    ...     return model
    >>> clf = SKLearnClassifier(build, model_kwargs={"hidden": 16}, fit_kwargs={"epochs": 20})
    >>> clf.fit(X, y).score(X, y)   # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, TransformerMixin
except ImportError:  # the module imports without scikit-learn; the classes then refuse
    BaseEstimator = ClassifierMixin = RegressorMixin = TransformerMixin = object

if TYPE_CHECKING:
    from typing import TypeGuard

    from .models.model import Model

__all__ = ["SKLearnClassifier", "SKLearnRegressor", "SKLearnTransformer"]

_STATE_KEY = "__glassnet_model__"


def _need_sklearn(name: str) -> None:
    if BaseEstimator is object:
        raise ImportError(f"{name} needs scikit-learn: pip install 'glassnet[data]'")


def _is_model(obj: Any) -> TypeGuard[Model]:
    from .models.model import Model

    return isinstance(obj, Model)


def _model_state(model: Model) -> dict[str, Any]:
    """A model as ``{config, weights, compile}``: JSON-able config plus plain arrays."""
    from .models.saving import serialize_layer

    spec = serialize_layer(model)
    # 2: the weights in Layer.weights order (1: model files' version-1 order)
    return {_STATE_KEY: 2, "spec": spec, "weights": model.get_weights(),
            "input_shape": getattr(model, "input_shape", None),
            "compile": getattr(model, "_compile_config", None)}


def _model_from_state(state: dict[str, Any], weights: bool = True) -> Model:
    """Rebuild a model from :func:`_model_state` (fixed layer table; nothing unpickled)."""
    from .models.saving import deserialize_layer

    model = cast("Model", deserialize_layer(state["spec"]))  # the spec of a Model
    if not model.built and state.get("input_shape") is not None:
        model.build(state["input_shape"])
    if weights:
        from .models._model_file import _set_weights_in_file_order

        _set_weights_in_file_order(model, [np.asarray(w) for w in state["weights"]],
                                   int(state.get(_STATE_KEY, 1)), "pickled estimator")
    if state.get("compile"):
        model.compile(**state["compile"])
    return model


def _clone_model(model: Model) -> Model:
    """A new compiled model with ``model``'s architecture and fresh weights."""
    if getattr(model, "_compile_config", None) is None:
        raise ValueError(f"model {model.name!r} must be compiled (with a loss and an "
                         "optimizer) before it is wrapped")
    return _model_from_state(_model_state(model), weights=False)


_NO_Y = object()


def _validate(est: Any, X: Any, y: Any = _NO_Y, reset: bool = False) -> Any:
    from sklearn.utils.validation import check_array, check_X_y

    try:
        from sklearn.utils.validation import validate_data
    except ImportError:  # scikit-learn < 1.6
        validate_data = None
    kw: dict[str, Any] = {"dtype": [np.float32, np.float64], "allow_nd": True}
    if y is None:
        raise ValueError(f"{type(est).__name__} requires y to be passed, but the target y "
                         "is None")
    if validate_data is not None:
        if y is _NO_Y:
            return validate_data(est, X, reset=reset, **kw)
        return validate_data(est, X, y, reset=reset, multi_output=True, **kw)
    if y is _NO_Y:
        X = check_array(X, **kw)
    else:
        X, y = check_X_y(X, y, multi_output=True, **kw)
    if reset:
        est.n_features_in_ = X.shape[1]
    elif X.shape[1] != est.n_features_in_:
        raise ValueError(f"X has {X.shape[1]} features, but {type(est).__name__} is "
                         f"expecting {est.n_features_in_} features as input")
    return X if y is _NO_Y else (X, y)


_S = TypeVar("_S", bound="_SKLBase")


class _SKLBase(BaseEstimator):
    """Shared machinery: build or clone the model, fit, pickle (the model as its file)."""

    def __init__(self, model: Model | Callable[..., Model], warm_start: bool = False,
                 model_kwargs: dict | None = None, fit_kwargs: dict | None = None) -> None:
        _need_sklearn(type(self).__name__)
        self.model = model
        self.warm_start = warm_start
        self.model_kwargs = model_kwargs
        self.fit_kwargs = fit_kwargs

    # -------------------------------------------------------------- scikit-learn protocol
    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.non_deterministic = True
        return tags

    def _more_tags(self) -> dict[str, Any]:  # scikit-learn < 1.6
        return {"non_deterministic": True}

    def __sklearn_clone__(self: _S) -> _S:
        """A new unfitted wrapper; a model given as an instance is rebuilt with fresh
        weights, so a clone never shares weights with the original."""
        model = _clone_model(self.model) if _is_model(self.model) else self.model
        return type(self)(model=model, warm_start=self.warm_start,
                          model_kwargs=self.model_kwargs, fit_kwargs=self.fit_kwargs)

    def __getstate__(self) -> dict[str, Any]:
        # the models pickle themselves, as their saved files (Model.__reduce__: config,
        # weights and the optimizer's state, so a warm start resumes exactly)
        state = dict(self.__dict__)
        hist = state.get("history_")
        if hist is not None and not isinstance(hist, dict):
            state["history_"] = dict(getattr(hist, "history", {}) or {})
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        for key in ("model", "model_"):
            v = state.get(key)
            if isinstance(v, dict) and v.get(_STATE_KEY):  # pickled before models pickled
                state[key] = _model_from_state(v)
        self.__dict__.update(state)

    # -------------------------------------------------------------- fitting
    def _get_model(self, X: np.ndarray, y: np.ndarray) -> Model:
        if self.warm_start and hasattr(self, "model_"):
            return self.model_
        if _is_model(self.model):
            return _clone_model(self.model)
        if not callable(self.model):
            raise TypeError(f"{type(self).__name__}: model must be a compiled glassnet model "
                            "or a callable returning one. Received: "
                            f"{type(self.model).__name__}")
        model = self.model(X=X, y=y, **(self.model_kwargs or {}))
        if not _is_model(model) or getattr(model, "optimizer", None) is None or \
                getattr(model, "loss", None) is None:
            raise RuntimeError(f"{type(self).__name__}: model(X=..., y=...) must return a "
                               "compiled glassnet model (with a loss and an optimizer). "
                               f"Received: {type(model).__name__}")
        return model

    def _encode_y(self, y: Any, reset: bool) -> np.ndarray:
        y = np.asarray(y)
        if reset:
            self._y_ndim = y.ndim
        return (y.reshape(-1, 1) if y.ndim == 1 else y).astype(np.float32)

    def _decode_y(self, out: Any) -> np.ndarray:
        out = np.asarray(out)
        return out[:, 0] if self._y_ndim == 1 and out.ndim == 2 and out.shape[1] == 1 else out

    def fit(self: _S, X: Any, y: Any, **kwargs: Any) -> _S:
        """Build (or reuse, with ``warm_start``) the model and train it on ``X``, ``y``.

        Args:
            X: array (n_samples, n_features...). y: targets (n_samples,) or (n_samples, k).
            **kwargs: passed to ``model.fit``, over ``fit_kwargs``.
        """
        X, y = _validate(self, X, y, reset=not (self.warm_start and hasattr(self, "model_")))
        X = np.asarray(X, dtype=np.float32)
        y = self._encode_y(y, reset=True)
        model = self._get_model(X, y)
        fit_kwargs = {"verbose": 0, **(self.fit_kwargs or {}), **kwargs}
        history = model.fit(X, y, **fit_kwargs)
        self.history_ = dict(getattr(history, "history", {}) or {})
        self.model_ = model
        return self

    def _raw(self, X: Any) -> np.ndarray:
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "model_")
        X = np.asarray(_validate(self, X), dtype=np.float32)
        return np.asarray(self.model_.predict(X, verbose=0))

    def predict(self, X: Any) -> np.ndarray:
        """Predictions for ``X`` (classes for the classifier)."""
        return self._decode_y(self._raw(X))


class SKLearnClassifier(ClassifierMixin, _SKLBase):
    """scikit-learn classifier around a glassnet model (Keras 3's ``SKLearnClassifier``).

    Targets are one-hot encoded for the model (``y.shape[1]`` classes reach the builder);
    ``predict`` returns the class of the largest output, ``decision_function`` the raw
    outputs. Attributes after fit: ``model_``, ``history_``, ``classes_``.

    Example:
        >>> clf = SKLearnClassifier(build, fit_kwargs={"epochs": 10}).fit(X, y)  # doctest: +SKIP
    """

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = True
        return tags

    def _encode_y(self, y: Any, reset: bool) -> np.ndarray:
        from sklearn.utils.multiclass import type_of_target

        y = np.asarray(y)
        kind = type_of_target(y, raise_unknown=True)
        if kind not in ("binary", "multiclass"):
            raise ValueError(f"{type(self).__name__}: only binary and multiclass targets are "
                             f"supported. Received target type: {kind}")
        if reset:
            self.classes_ = np.unique(y)
            if len(self.classes_) < 2:
                raise ValueError(f"{type(self).__name__}: cannot train with only one class "
                                 f"present. Received: {self.classes_}")
        idx = np.searchsorted(self.classes_, y.reshape(-1))
        return np.eye(len(self.classes_), dtype=np.float32)[idx]

    def _decode_y(self, out: Any) -> np.ndarray:
        out = np.asarray(out)
        if out.ndim == 2 and out.shape[1] == 1:  # one sigmoid unit: class 1 above 0.5
            idx = (out[:, 0] > 0.5).astype(int)
        else:
            idx = out.reshape(len(out), -1).argmax(axis=1)
        return self.classes_[idx]

    def decision_function(self, X: Any) -> np.ndarray:
        """The model's raw outputs for ``X``."""
        return self._raw(X)


class SKLearnRegressor(RegressorMixin, _SKLBase):
    """scikit-learn regressor around a glassnet model (Keras 3's ``SKLearnRegressor``).

    Example:
        >>> reg = SKLearnRegressor(build, fit_kwargs={"epochs": 10}).fit(X, y)  # doctest: +SKIP
    """

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True
        tags.target_tags.multi_output = True  # y of shape (n, k) trains k outputs
        return tags

    def predict(self, X: Any) -> np.ndarray:
        """Predictions for ``X`` as float64 (scikit-learn's convention for regressors)."""
        return super().predict(X).astype(np.float64)


class SKLearnTransformer(TransformerMixin, _SKLBase):
    """scikit-learn transformer: ``transform(X)`` is the fitted model's output (e.g. an
    encoder's embedding), Keras 3's ``SKLearnTransformer``.

    Example:
        >>> emb = SKLearnTransformer(build_encoder).fit(X, y).transform(X)  # doctest: +SKIP
    """

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []
        return tags

    def transform(self, X: Any) -> np.ndarray:
        """The model's outputs for ``X``, shape (n_samples, n_outputs)."""
        return self._raw(X)
