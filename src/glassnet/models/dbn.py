"""Deep belief network: RBMs stacked and pretrained greedily, then fine-tuned as a Sequential."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import backend
from ..autograd import no_grad
from .rbm import RBM

if TYPE_CHECKING:
    from .model import Sequential

__all__ = ["DBN"]


class DBN:
    """A stack of RBMs trained layer by layer, each on the previous one's hidden probabilities.

    Args:
        hidden_sizes: hidden units per RBM, bottom first, e.g. ``[256, 128]``.
        k, learning_rate, epochs, batch_size, momentum, persistent: pretraining settings of
            every RBM (``epochs`` per layer).
        visible: visible units of the bottom RBM (``"bernoulli"`` or ``"gaussian"``).
        fine_tune_epochs, fine_tune_batch_size, fine_tune_learning_rate: supervised phase
            (Adam, sparse categorical cross-entropy) of ``fit`` when labels are given;
            ``fine_tune_epochs`` is the most it runs.
        fine_tune_patience, fine_tune_tol: fine-tuning stops once the training loss has not
            fallen by ``fine_tune_tol`` for ``fine_tune_patience`` epochs (scikit-learn's
            MLP stops the same way: ``n_iter_no_change``, ``tol``), so the defaults train to
            convergence on small data; ``fine_tune_patience=None`` runs every epoch.
        random_state: int seed (each RBM gets ``random_state + i``) or None (``backend.rng()``).
            Fine-tuning (the new output layer's initial weights, shuffling) always draws
            from glassnet's global generator: call ``gn.set_seed`` for a reproducible ``fit``.
        device: ``"cpu"`` or ``"gpu"`` (CuPy): where the RBMs and the fine-tuned network
            train. Inputs may be NumPy or CuPy arrays either way; ``transform`` returns arrays
            on the DBN's device, ``predict`` NumPy class ids.

    Shapes: X (n, n_visible) → ``transform`` (n, hidden_sizes[-1]).

    Example:
        >>> dbn = DBN([16, 8], epochs=1, random_state=0).pretrain(np.random.rand(30, 10))
        >>> dbn.transform(np.random.rand(2, 10)).shape
        (2, 8)
    """

    def __init__(
        self,
        hidden_sizes: Sequence[int] = (256,),
        k: int = 1,
        learning_rate: float = 0.1,
        epochs: int = 10,
        batch_size: int = 10,
        momentum: float = 0.0,
        persistent: bool = False,
        visible: str = "bernoulli",
        fine_tune_epochs: int = 200,
        fine_tune_batch_size: int = 32,
        fine_tune_learning_rate: float = 3e-3,
        fine_tune_patience: int | None = 10,
        fine_tune_tol: float = 1e-4,
        random_state: int | None = None,
        verbose: int = 0,
        device: str = "cpu",
    ) -> None:
        sizes = list(hidden_sizes)
        if not sizes or any(int(s) < 1 for s in sizes):
            raise ValueError(f"DBN: hidden_sizes must be positive ints; received {hidden_sizes}")
        self.hidden_sizes = sizes
        self.k = k
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.momentum = momentum
        self.persistent = persistent
        self.visible = visible
        self.fine_tune_epochs = fine_tune_epochs
        self.fine_tune_batch_size = fine_tune_batch_size
        self.fine_tune_learning_rate = fine_tune_learning_rate
        if fine_tune_patience is not None and int(fine_tune_patience) < 1:
            raise ValueError(f"DBN: fine_tune_patience must be >= 1 or None. Received: "
                             f"{fine_tune_patience!r}")
        self.fine_tune_patience = fine_tune_patience
        self.fine_tune_tol = float(fine_tune_tol)
        self.random_state = random_state
        self.verbose = verbose
        if device not in ("cpu", "gpu"):
            raise ValueError(f"DBN: device must be 'cpu' or 'gpu'. Received: {device!r}")
        if device == "gpu" and not backend.gpu_available():
            raise RuntimeError("DBN(device='gpu') needs CuPy and a CUDA GPU; install it with "
                               "`pip install cupy-cuda12x`. Received: device='gpu'")
        self.device = device
        self.rbms_: list[RBM] = []
        self.model_: Any = None  # the fine-tuned Sequential, after fit(X, y)

    def pretrain(self, X: Any) -> DBN:
        """Greedy layer-wise training of the RBM stack on ``X`` (labels unused)."""
        X = self._on_device(X)
        if X.ndim != 2:
            raise ValueError(f"DBN: X must be 2-D (n_samples, n_features); received {X.shape}")
        self.rbms_ = []
        h = X
        for i, n_hidden in enumerate(self.hidden_sizes):
            rbm = RBM(
                n_hidden,
                visible=self.visible if i == 0 else "bernoulli",
                k=self.k,
                persistent=self.persistent,
                learning_rate=self.learning_rate,
                momentum=self.momentum,
                batch_size=self.batch_size,
                epochs=self.epochs,
                random_state=None if self.random_state is None else self.random_state + i,
                verbose=self.verbose,
            ).fit(h)
            self.rbms_.append(rbm)
            h = rbm.transform(h)
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Top-layer hidden probabilities, propagated up the pretrained stack."""
        if not self.rbms_:
            raise RuntimeError("DBN is not pretrained yet; call pretrain or fit first")
        h = self._on_device(X)
        for rbm in self.rbms_:
            h = rbm.transform(h)
        return h

    def to_sequential(self, output_units: int, activation: str = "softmax") -> Sequential:
        """A glassnet ``Sequential`` of sigmoid ``Dense`` layers initialised from the RBMs
        (kernel = ``components_.T``, bias = ``intercept_hidden_``) plus a new output layer."""
        if not self.rbms_:
            raise RuntimeError("DBN is not pretrained yet; call pretrain or fit first")
        from ..layers import Dense
        from . import Sequential

        n_in = self.rbms_[0].components_.shape[1]
        model = Sequential()
        for i, rbm in enumerate(self.rbms_):
            kw: dict[str, Any] = {"input_shape": (n_in,)} if i == 0 else {}
            model.add(Dense(rbm.components_.shape[0], activation="sigmoid", **kw))
        model.add(Dense(int(output_units), activation=activation))
        with no_grad():  # one forward pass builds every layer's weights
            model(np.zeros((1, n_in), dtype=backend.floatx()))
        for layer, rbm in zip(model.layers, self.rbms_):
            layer.set_weights([backend.asnumpy(rbm.components_).T.copy(),
                               backend.asnumpy(rbm.intercept_hidden_).copy()])
        return model.to(self.device) if self.device != "cpu" else model

    def fit(self, X: Any, y: Any = None, X_unlabelled: Any = None) -> DBN:
        """Pretrain on ``X`` plus ``X_unlabelled``; with ``y`` (int class ids), fine-tune the
        whole network on the labelled ``X`` (Adam, sparse categorical cross-entropy).

        After fine-tuning, ``model_`` is the classifier (a ``Sequential``, savable with
        ``model_.save``) and ``history_`` its per-epoch loss and accuracy."""
        X = self._on_device(X)
        data = X if X_unlabelled is None else backend.get_array_module(X).concatenate(
            [X, self._on_device(X_unlabelled)])
        self.pretrain(data)
        if y is None:
            return self
        from .. import optimizers

        y = backend.asnumpy(y)
        if len(y) != len(X):
            raise ValueError(f"DBN.fit: X and y lengths differ: received {len(X)} and {len(y)}")
        self.n_classes_ = int(y.max()) + 1
        self.model_ = self.to_sequential(self.n_classes_)
        self.model_.compile(
            optimizer=optimizers.Adam(learning_rate=self.fine_tune_learning_rate),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        cbs = []
        if self.fine_tune_patience is not None:
            from ..callbacks import EarlyStopping

            cbs.append(EarlyStopping(monitor="loss", min_delta=self.fine_tune_tol,
                                     patience=int(self.fine_tune_patience)))
        hist = self.model_.fit(
            X, y, batch_size=self.fine_tune_batch_size, epochs=self.fine_tune_epochs,
            verbose=self.verbose, callbacks=cbs,
        )  # fmt: skip
        self.history_ = hist.history
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Class ids from the fine-tuned network."""
        if self.model_ is None:
            raise RuntimeError("DBN has no fine-tuned classifier; call fit(X, y) first")
        return self.model_.predict(self._on_device(X), verbose=0).argmax(axis=1)

    def score(self, X: Any, y: Any) -> float:
        """Accuracy of ``predict``."""
        return float((self.predict(X) == backend.asnumpy(y)).mean())

    def _on_device(self, X: Any) -> Any:
        a = X if backend.is_gpu_array(X) else np.asarray(X)
        return backend.to_device(a, self.device)
