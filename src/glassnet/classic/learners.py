"""Rosenblatt's perceptron and Adaline, written as in the course (seed code), NumPy only.

The estimators follow scikit-learn conventions (``get_params``/``set_params``, ``fit``
returns ``self``, ``score``) without importing scikit-learn, so ``import glassnet`` needs
only NumPy while ``sklearn.base.clone`` and ``Pipeline`` still work.

Labels: any two classes are accepted; they are mapped to -1 (the smaller class, in
``np.unique`` order) and +1 internally, and ``predict`` returns the original labels.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["Perceptron", "Adaline", "AdalineSGD"]


class _Estimator:
    """Minimal scikit-learn estimator protocol (params are the constructor args)."""

    _estimator_type = "classifier"
    random_state: int | None  # every estimator takes it in its constructor

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p for p in sig.parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict:
        """Constructor parameters as a dict (scikit-learn convention)."""
        return {k: getattr(self, k) for k in self._param_names()}

    def set_params(self, **params: Any) -> _Estimator:
        """Set constructor parameters; unknown names raise ValueError."""
        valid = self._param_names()
        for k, v in params.items():
            if k not in valid:
                raise ValueError(
                    f"{type(self).__name__}.set_params: invalid parameter {k!r}; "
                    f"expected one of {valid}. Received: {k}={v!r}"
                )
            setattr(self, k, v)
        return self

    def __sklearn_tags__(self) -> Any:
        # Imported here: scikit-learn only asks for tags when it is already loaded.
        from sklearn.utils import ClassifierTags, InputTags, Tags, TargetTags

        return Tags(estimator_type="classifier", target_tags=TargetTags(required=True),
                    classifier_tags=ClassifierTags(), input_tags=InputTags())

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def _check_X(self, X: ArrayLike, fitted: bool = False) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ValueError(
                f"{type(self).__name__}: X must be 2-D (n_samples, n_features). "
                f"Received: shape {X.shape}"
            )
        if fitted:
            if not hasattr(self, "w_"):
                raise RuntimeError(f"{type(self).__name__} is not fitted yet; call fit(X, y).")
            if X.shape[1] != self.w_.shape[0] - 1:
                raise ValueError(
                    f"{type(self).__name__}: X must have {self.w_.shape[0] - 1} features. "
                    f"Received: shape {X.shape}"
                )
        return X

    def _encode(self, X: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        X = self._check_X(X)
        y = np.asarray(y)
        if y.shape != (X.shape[0],):
            raise ValueError(
                f"{type(self).__name__}: y must have shape ({X.shape[0]},). "
                f"Received: shape {y.shape}"
            )
        classes = np.unique(y)
        if len(classes) != 2:
            raise ValueError(
                f"{type(self).__name__} is a binary classifier; y must hold exactly 2 classes. "
                f"Received: {len(classes)} classes {classes[:5].tolist()}"
            )
        self.classes_ = classes
        return X, np.where(y == classes[1], 1.0, -1.0)

    def _init_weights(self, n_features: int) -> None:
        # Same draw as the seed's code, so numbers reproduce the course's.
        self.rgen_ = np.random.RandomState(self.random_state)
        self.w_ = self.rgen_.normal(loc=0.0, scale=0.01, size=1 + n_features)

    def net_input(self, X: ArrayLike) -> np.ndarray:
        """Weighted sum ``X @ w_[1:] + w_[0]``; X shape (n, d) → (n,)."""
        X = self._check_X(X, fitted=True)
        return X @ self.w_[1:] + self.w_[0]

    def _raw_predict(self, X: ArrayLike) -> np.ndarray:
        return np.where(self.net_input(X) >= 0.0, 1.0, -1.0)

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Class labels (the original labels given to ``fit``); X shape (n, d) → (n,)."""
        return np.where(self._raw_predict(X) > 0, self.classes_[1], self.classes_[0])

    def score(self, X: ArrayLike, y: ArrayLike) -> float:
        """Mean accuracy on (X, y)."""
        return float(np.mean(self.predict(X) == np.asarray(y)))


class Perceptron(_Estimator):
    """Rosenblatt's perceptron: unit step (±1) output, update Δw = η (y − ŷ) x.

    Args:
        eta: learning rate in (0, 1].
        epochs: passes over the training set.
        random_state: seed of the weight init (normal, scale 0.01).
        shuffle: reshuffle the samples each epoch.

    Attributes: ``w_`` (bias is ``w_[0]``), ``errors_`` (misclassifications per epoch).

    Example:
        >>> p = Perceptron(eta=0.1, epochs=10, random_state=1).fit(X, y)
        >>> p.errors_[-1]
        0
    """

    def __init__(self, eta: float = 0.01, epochs: int = 50, random_state: int | None = None,
                 shuffle: bool = False):
        self.eta = eta
        self.epochs = epochs
        self.random_state = random_state
        self.shuffle = shuffle

    def fit(self, X: ArrayLike, y: ArrayLike) -> Perceptron:
        """Train with the perceptron rule, one sample at a time. X (n, d), y (n,)."""
        X, t = self._encode(X, y)
        self._init_weights(X.shape[1])
        self.errors_ = []
        for _ in range(self.epochs):
            idx = self.rgen_.permutation(len(t)) if self.shuffle else range(len(t))
            errors = 0
            for i in idx:
                xi = X[i]
                pred = 1.0 if xi @ self.w_[1:] + self.w_[0] >= 0.0 else -1.0
                update = self.eta * (t[i] - pred)
                self.w_[1:] += update * xi
                self.w_[0] += update
                errors += int(update != 0.0)
            self.errors_.append(errors)
        return self


class Adaline(_Estimator):
    """ADAptive LInear NEuron trained by full-batch gradient descent on the SSE cost.

    cost = ½ Σ (y − w·x − b)²; each epoch w ← w + η Xᵀ(y − output). Prediction is the
    unit step of the linear output.

    Args:
        eta: learning rate.
        epochs: passes over the training set.
        random_state: seed of the weight init.

    Attributes: ``w_``, ``cost_`` (SSE per epoch, before the update).

    Example:
        >>> Adaline(eta=0.01, epochs=15, random_state=1).fit(X_std, y).cost_[-1]
    """

    def __init__(self, eta: float = 0.01, epochs: int = 50, random_state: int | None = 1):
        self.eta = eta
        self.epochs = epochs
        self.random_state = random_state

    def fit(self, X: ArrayLike, y: ArrayLike) -> Adaline:
        """Batch gradient descent on the SSE. X (n, d), y (n,)."""
        X, t = self._encode(X, y)
        self._init_weights(X.shape[1])
        self.cost_ = []
        for _ in range(self.epochs):
            errors = t - (X @ self.w_[1:] + self.w_[0])
            self.w_[1:] += self.eta * (X.T @ errors)
            self.w_[0] += self.eta * errors.sum()
            self.cost_.append(float((errors**2).sum() / 2.0))
        return self


class AdalineSGD(_Estimator):
    """Adaline trained by stochastic gradient descent (one update per sample).

    Args:
        eta: learning rate.
        epochs: passes over the training set.
        shuffle: reshuffle each epoch (avoids cycles).
        random_state: seed of the init and of the shuffling.

    Attributes: ``w_``, ``cost_`` (mean per-sample cost per epoch).
    ``partial_fit(X, y)`` updates without reinitialising the weights (online learning).
    """

    def __init__(self, eta: float = 0.01, epochs: int = 10, shuffle: bool = True,
                 random_state: int | None = None):
        self.eta = eta
        self.epochs = epochs
        self.shuffle = shuffle
        self.random_state = random_state

    def _update(self, xi: np.ndarray, target: float) -> float:
        error = target - (xi @ self.w_[1:] + self.w_[0])
        self.w_[1:] += self.eta * xi * error
        self.w_[0] += self.eta * error
        return 0.5 * error**2

    def fit(self, X: ArrayLike, y: ArrayLike) -> AdalineSGD:
        """SGD over ``epochs`` passes. X (n, d), y (n,)."""
        X, t = self._encode(X, y)
        self._init_weights(X.shape[1])
        self.cost_ = []
        for _ in range(self.epochs):
            idx = self.rgen_.permutation(len(t)) if self.shuffle else np.arange(len(t))
            costs = [self._update(X[i], t[i]) for i in idx]
            self.cost_.append(float(np.mean(costs)))
        return self

    def partial_fit(self, X: ArrayLike, y: ArrayLike) -> AdalineSGD:
        """One pass of updates on (X, y) keeping the current weights (init on first call)."""
        X = self._check_X(X)
        y = np.asarray(y)
        if not hasattr(self, "w_"):
            X, t = self._encode(X, y)
            self._init_weights(X.shape[1])
        else:
            X = self._check_X(X, fitted=True)
            t = np.where(y == self.classes_[1], 1.0, -1.0)
        for xi, ti in zip(X, t):
            self._update(xi, ti)
        return self
