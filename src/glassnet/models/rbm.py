"""Restricted Boltzmann machine trained by contrastive divergence (CD-k) or persistent CD.

Follows scikit-learn's ``BernoulliRBM`` conventions (``components_`` (n_hidden, n_visible),
``intercept_hidden_``, ``intercept_visible_``, ``get_params``/``set_params``, ``transform``,
``score_samples`` as pseudo-likelihood) and adds Gaussian visible units, CD-k, momentum,
weight decay, Gibbs sampling and npz+JSON saving.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import numpy as np

from .. import backend

__all__ = ["RBM"]


def _sigmoid(xp: Any, a: Any) -> Any:
    # 0.5 * (1 + tanh(a / 2)) is the overflow-free logistic.
    return 0.5 * (1.0 + xp.tanh(0.5 * a))


def _softplus(xp: Any, a: Any) -> Any:
    return xp.logaddexp(0.0, a)


class RBM:
    """Two-layer energy model: visible units v, hidden units h, weights W (n_hidden, n_visible).

    Energy (Bernoulli visible): ``E(v, h) = -v·b_v - h·b_h - h·W·v``; Gaussian visible units
    (unit variance, for standardized data) use ``||v - b_v||² / 2`` instead of ``-v·b_v``.

    Args:
        n_hidden: number of hidden units.
        visible: ``"bernoulli"`` (data in [0, 1]) or ``"gaussian"`` (standardized data).
        k: Gibbs steps per update (CD-k / PCD-k).
        persistent: keep the negative chain between updates (PCD, as scikit-learn does).
        learning_rate, momentum, weight_decay: SGD settings; the gradient is averaged over the
            batch. ``weight_decay`` is L2 on ``components_``.
        batch_size, epochs: training loop for ``fit``.
        random_state: int seed for an own Generator; None uses ``glassnet.backend.rng()``.
        verbose: print the reconstruction error each epoch.

    Shapes: X (n_samples, n_visible) → ``transform`` (n_samples, n_hidden).

    Device: ``fit`` on a CuPy array trains on the GPU; the weights stay there and later inputs
    are moved to them, so results are CuPy arrays (``glassnet.backend.asnumpy`` brings them
    back). Random draws come from the seeded CPU generator on either device.

    Example:
        >>> rbm = RBM(16, epochs=2, random_state=0).fit(np.random.rand(50, 8))
        >>> rbm.transform(np.random.rand(3, 8)).shape
        (3, 16)
    """

    def __init__(
        self,
        n_hidden: int = 256,
        visible: str = "bernoulli",
        k: int = 1,
        persistent: bool = False,
        learning_rate: float = 0.1,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        batch_size: int = 10,
        epochs: int = 10,
        random_state: int | None = None,
        verbose: int = 0,
    ) -> None:
        self.n_hidden = n_hidden
        self.visible = visible
        self.k = k
        self.persistent = persistent
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.epochs = epochs
        self.random_state = random_state
        self.verbose = verbose

    # -- scikit-learn estimator protocol -------------------------------------------------
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p for p in sig.parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict:
        """Constructor arguments (scikit-learn convention)."""
        return {p: getattr(self, p) for p in self._param_names()}

    def set_params(self, **params: Any) -> RBM:
        """Set constructor arguments; unknown names raise ValueError."""
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"RBM.set_params: unknown parameter {name!r}; expected {valid}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        return f"RBM(n_hidden={self.n_hidden}, visible={self.visible!r}, k={self.k})"

    # -- helpers ---------------------------------------------------------------------------
    def _check_settings(self) -> None:
        if self.visible not in ("bernoulli", "gaussian"):
            raise ValueError(
                f"RBM: visible must be 'bernoulli' or 'gaussian'; received {self.visible!r}"
            )
        if int(self.k) < 1:
            raise ValueError(f"RBM: k must be >= 1; received {self.k}")
        if int(self.n_hidden) < 1:
            raise ValueError(f"RBM: n_hidden must be >= 1; received {self.n_hidden}")

    def _rng(self) -> np.random.Generator:
        if self.random_state is None:
            return backend.rng()
        rng = getattr(self, "_own_rng", None)
        if rng is None:
            rng = np.random.default_rng(self.random_state)
            self._own_rng: np.random.Generator | None = rng
        return rng

    def _device(self) -> str:
        return backend.device_of(getattr(self, "components_", np.empty(0)))

    def _uniform(self, like: Any) -> Any:
        """U[0, 1) draws shaped like ``like`` from the seeded CPU generator, on its device.

        Drawing on the CPU keeps a seeded run identical on either device."""
        return backend.to_device(self._rng().random(like.shape).astype(like.dtype),
                                 backend.device_of(like))

    def _bernoulli(self, p: Any) -> Any:
        return (self._uniform(p) < p).astype(p.dtype)

    def _check_X(self, X: Any, fitted: bool = True) -> Any:
        if backend.get_array_module(X) is np:
            X = np.asarray(X)
        if fitted and hasattr(self, "components_"):
            X = backend.to_device(X, self._device())  # inputs follow the weights' device
        if X.ndim != 2:
            raise ValueError(f"RBM: X must be 2-D (n_samples, n_visible); received shape {X.shape}")
        if fitted:
            if not hasattr(self, "components_"):
                raise RuntimeError("RBM is not fitted yet; call fit or partial_fit first")
            if X.shape[1] != self.components_.shape[1]:
                raise ValueError(
                    f"RBM: expected {self.components_.shape[1]} visible features; "
                    f"received input shape {X.shape}"
                )
        return X.astype(self._dtype(), copy=False)

    def _dtype(self) -> np.dtype[Any]:
        return getattr(self, "components_", np.empty(0, backend.floatx())).dtype

    def _init_params(self, n_visible: int, device: str = "cpu") -> None:
        self._check_settings()
        rng = self._rng()
        dt = backend.floatx()
        # N(0, 0.01²) weights and zero biases, as scikit-learn's BernoulliRBM.
        self.components_ = (0.01 * rng.standard_normal((self.n_hidden, n_visible))).astype(dt)
        self.intercept_hidden_ = np.zeros(self.n_hidden, dt)
        self.intercept_visible_ = np.zeros(n_visible, dt)
        self._vel = [np.zeros_like(self.components_), np.zeros_like(self.intercept_hidden_),
                     np.zeros_like(self.intercept_visible_)]  # fmt: skip
        self.h_samples_: Any = None  # PCD: the chain's last visible batch (an array)
        self.history: dict[str, list[float]] = {"reconstruction_error": []}
        if device != "cpu":
            self._to(device)

    def _to(self, device: str) -> None:
        for name in ("components_", "intercept_hidden_", "intercept_visible_"):
            setattr(self, name, backend.to_device(getattr(self, name), device))
        self._vel = [backend.to_device(a, device) for a in self._vel]

    # -- conditionals ----------------------------------------------------------------------
    def _mean_hiddens(self, v: Any) -> Any:
        xp = backend.get_array_module(v)
        return _sigmoid(xp, v @ self.components_.T + self.intercept_hidden_)

    def _mean_visibles(self, h: Any) -> Any:
        xp = backend.get_array_module(h)
        a = h @ self.components_ + self.intercept_visible_
        return a if self.visible == "gaussian" else _sigmoid(xp, a)

    def _sample_hiddens(self, v: Any) -> Any:
        return self._bernoulli(self._mean_hiddens(v))

    def _sample_visibles(self, h: Any) -> Any:
        m = self._mean_visibles(h)
        if self.visible == "gaussian":
            noise = self._rng().standard_normal(m.shape).astype(m.dtype)
            return m + backend.to_device(noise, backend.device_of(m))
        return self._bernoulli(m)

    def transform(self, X: Any) -> np.ndarray:
        """Hidden-unit probabilities P(h=1 | v), shape (n_samples, n_hidden)."""
        return self._mean_hiddens(self._check_X(X))

    def reconstruct(self, X: Any) -> np.ndarray:
        """Mean visible units after one up-down pass, shape (n_samples, n_visible)."""
        return self._mean_visibles(self._mean_hiddens(self._check_X(X)))

    def gibbs(self, v: Any, steps: int = 1) -> np.ndarray:
        """Run ``steps`` full Gibbs steps v → h → v from ``v``; returns the sampled visibles."""
        v = self._check_X(v)
        for _ in range(int(steps)):
            v = self._sample_visibles(self._sample_hiddens(v))
        return v

    def sample(self, n: int, steps: int = 1000) -> np.ndarray:
        """Draw ``n`` visible samples by Gibbs sampling from random starts."""
        if not hasattr(self, "components_"):
            raise RuntimeError("RBM is not fitted yet; call fit or partial_fit first")
        shape = (int(n), self.components_.shape[1])
        if self.visible == "gaussian":
            v0 = self._rng().standard_normal(shape)
        else:
            v0 = (self._rng().random(shape) < 0.5).astype(float)
        v0 = backend.to_device(v0.astype(self._dtype()), self._device())
        return self.gibbs(v0, steps)

    def free_energy(self, v: Any) -> np.ndarray:
        """Free energy F(v) = -log Σ_h exp(-E(v, h)), shape (n_samples,)."""
        v = self._check_X(v)
        xp = backend.get_array_module(v)
        hid = _softplus(xp, v @ self.components_.T + self.intercept_hidden_).sum(axis=1)
        if self.visible == "gaussian":
            return 0.5 * ((v - self.intercept_visible_) ** 2).sum(axis=1) - hid
        return -(v @ self.intercept_visible_) - hid

    def score_samples(self, X: Any) -> np.ndarray:
        """Pseudo-likelihood per sample, as scikit-learn defines it.

        One randomly chosen feature per sample is flipped (Bernoulli: ``1 - v``); the score is
        ``n_visible * log σ(F(v_flipped) - F(v))``. Only meaningful for Bernoulli units.
        """
        v = self._check_X(X)
        xp = backend.get_array_module(v)
        rng = self._rng()
        idx = (xp.arange(v.shape[0]), xp.asarray(rng.integers(0, v.shape[1], v.shape[0])))
        v_ = v.copy()
        v_[idx] = 1 - v_[idx]
        fe = self.free_energy(v)
        fe_ = self.free_energy(v_)
        return -v.shape[1] * _softplus(xp, -(fe_ - fe))

    # -- training --------------------------------------------------------------------------
    def cd_gradients(self, v_pos: Any,
                     v_neg_start: Any = None) -> tuple[tuple[Any, Any, Any], Any]:
        """CD-k estimate of ∂log p/∂θ for a batch: (dW, dh, dv), batch-averaged.

        Equals ``-∂F/∂θ`` averaged over the data plus ``∂F/∂θ`` averaged over the negative
        samples (the chain started at ``v_neg_start`` or the data, run ``k`` steps).
        Returns the gradients and the final negative visible batch.
        """
        h_pos = self._mean_hiddens(v_pos)
        if v_neg_start is None:
            h = self._bernoulli(h_pos)
        else:
            h = self._sample_hiddens(v_neg_start)
        for step in range(self.k):
            v_neg = self._sample_visibles(h)
            h_neg = self._mean_hiddens(v_neg)
            if step < self.k - 1:
                h = self._bernoulli(h_neg)
        n = v_pos.shape[0]
        dW = (h_pos.T @ v_pos - h_neg.T @ v_neg) / n
        dh = (h_pos.sum(0) - h_neg.sum(0)) / n
        dv = (v_pos.sum(0) - v_neg.sum(0)) / n
        return (dW, dh, dv), v_neg

    def partial_fit(self, X: Any, y: Any = None) -> RBM:
        """One CD/PCD update on the batch ``X`` (initialises the weights on first call)."""
        X = backend.get_array_module(X).asarray(X)
        if not hasattr(self, "components_"):
            if X.ndim != 2:
                raise ValueError(f"RBM: X must be 2-D; received shape {X.shape}")
            self._init_params(X.shape[1], backend.device_of(X))
        v = self._check_X(X)
        start = None
        if self.persistent:
            if self.h_samples_ is None or self.h_samples_.shape[0] != v.shape[0]:
                self._chain = v.copy()
            start = self._chain
        (dW, dh, dv), v_neg = self.cd_gradients(v, start)
        if self.persistent:
            self._chain = v_neg
            self.h_samples_ = v_neg
        if self.weight_decay:
            dW -= self.weight_decay * self.components_
        lr, mom = self.learning_rate, self.momentum
        for p, vel, g in zip(
            (self.components_, self.intercept_hidden_, self.intercept_visible_), self._vel,
            (dW, dh, dv),
        ):  # fmt: skip
            vel *= mom
            vel += lr * g
            p += vel
        return self

    def fit(self, X: Any, y: Any = None) -> RBM:
        """Train for ``epochs`` passes of shuffled mini-batches; records
        ``history["reconstruction_error"]`` (mean squared error of ``reconstruct``) per epoch."""
        X = backend.get_array_module(X).asarray(X)  # a CuPy array trains on the GPU
        if X.ndim != 2:
            raise ValueError(f"RBM: X must be 2-D (n_samples, n_visible); received {X.shape}")
        self._own_rng = None
        self._init_params(X.shape[1], backend.device_of(X))
        X = X.astype(self._dtype(), copy=False)
        n = X.shape[0]
        bs = int(self.batch_size)
        xp = backend.get_array_module(X)
        for epoch in range(int(self.epochs)):
            order = xp.asarray(self._rng().permutation(n))
            for s in range(0, n, bs):
                self.partial_fit(X[order[s : s + bs]])
            err = float(((self.reconstruct(X) - X) ** 2).mean())
            self.history["reconstruction_error"].append(err)
            if self.verbose:
                print(f"RBM epoch {epoch + 1}/{self.epochs}: reconstruction error {err:.5f}")
        return self

    def fit_transform(self, X: Any, y: Any = None) -> np.ndarray:
        """``fit(X)`` then ``transform(X)``."""
        return self.fit(X).transform(X)

    # -- saving ----------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write weights to ``<path>.npz`` and settings to ``<path>.json`` (no pickle).

        Each file is written to a temp file and renamed into place, so an interrupted save
        never leaves a half-written file where a good one was."""
        from .saving import _atomic_write, _npz_bytes

        path = Path(path)
        if not hasattr(self, "components_"):
            raise RuntimeError("RBM.save: nothing to save, the RBM is not fitted")
        _atomic_write(path.with_suffix(".npz"), _npz_bytes({
            "components_": self.components_,
            "intercept_hidden_": self.intercept_hidden_,
            "intercept_visible_": self.intercept_visible_,
        }))
        meta = {"class": "RBM", "params": self.get_params(), "history": self.history}
        _atomic_write(path.with_suffix(".json"), json.dumps(meta, indent=1))

    @classmethod
    def load(cls, path: str | Path) -> RBM:
        """Inverse of ``save``; a missing, corrupted or inconsistent pair of files raises
        ``ModelFileError`` (nothing in them is executed or unpickled)."""
        from .saving import ModelFileError, _load_npz

        path = Path(path)
        jp, npz = path.with_suffix(".json"), path.with_suffix(".npz")
        try:
            meta = json.loads(jp.read_bytes().decode("utf-8"))
            raw = npz.read_bytes()
        except (OSError, ValueError, RecursionError) as e:
            raise ModelFileError(f"{path}: unreadable RBM files ({type(e).__name__}: "
                                 f"{str(e)[:200]})") from None
        params = meta.get("params") if isinstance(meta, dict) else None
        if (not isinstance(meta, dict) or meta.get("class") != "RBM"
                or not isinstance(params, dict) or not set(params) <= set(cls._param_names())):
            raise ModelFileError(f"{jp}: not an RBM settings file")
        arrays = _load_npz(raw, npz)
        names = ("components_", "intercept_hidden_", "intercept_visible_")
        if sorted(arrays) != sorted(names):
            raise ModelFileError(f"{npz}: expected arrays {list(names)}. Received: "
                                 f"{sorted(arrays)[:5]}")
        w, bh, bv = (arrays[n] for n in names)
        if (w.ndim != 2 or bh.shape != (w.shape[0],) or bv.shape != (w.shape[1],)
                or params.get("n_hidden", w.shape[0]) != w.shape[0]
                or any(a.dtype.kind != "f" or not np.isfinite(a).all() for a in (w, bh, bv))):
            raise ModelFileError(f"{npz}: inconsistent RBM weights (components {w.shape}, "
                                 f"hidden bias {bh.shape}, visible bias {bv.shape})")
        try:
            rbm = cls(**params)
        except (TypeError, ValueError) as e:
            raise ModelFileError(f"{jp}: invalid RBM settings ({e})") from None
        rbm.components_, rbm.intercept_hidden_, rbm.intercept_visible_ = w, bh, bv
        rbm._vel = [np.zeros_like(rbm.components_), np.zeros_like(rbm.intercept_hidden_),
                    np.zeros_like(rbm.intercept_visible_)]  # fmt: skip
        rbm.h_samples_ = None
        hist = meta.get("history", {"reconstruction_error": []})
        if not isinstance(hist, dict) or not all(isinstance(v, list) for v in hist.values()):
            raise ModelFileError(f"{jp}: history must map names to lists")
        rbm.history = hist
        return rbm
