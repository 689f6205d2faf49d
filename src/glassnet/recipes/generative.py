"""Generative recipes: MNIST autoencoder, RBM and DBN on the 8×8 digits, MNIST GAN (seed 004).

Each recipe's ``evaluate`` also draws its model-specific pictures (reconstructions, latent
codes, RBM filters, generated digits) into ``data["extra_figures"]``, which the report
includes — they need the trained model, so they cannot be made when the data is loaded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from . import Recipe

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from ..models import DBN, GAN, RBM, Autoencoder


def _figures(data: dict, make: Callable[[], dict]) -> None:
    """Add {title: Figure} from ``make()`` to the report; numbers only without matplotlib."""
    try:
        figs = make()
    except ImportError:
        return
    data.setdefault("extra_figures", {}).update(figs)


# ------------------------------------------------------------------ autoencoder (MNIST)
def _mnist_flat(cfg: dict) -> dict:
    from .mnist import _mnist

    d = _mnist(cfg, flat=True)
    # an autoencoder's target is its input
    return {**d, "labels_train": d["y_train"], "labels_test": d["y_test"],
            "y_train": d["x_train"], "y_test": d["x_test"]}


def _ae_build(data: dict, cfg: dict) -> Autoencoder:
    from ..models import dense_autoencoder

    return dense_autoencoder(784, hidden=tuple(cfg.get("hidden", (256, 64))),
                             code_dim=cfg.get("code_dim", 2),
                             noise_stddev=cfg.get("noise_stddev", 0.0))


def _ae_evaluate(model: Autoencoder, data: dict) -> dict:
    x_te = data["x_test"]
    out = {"train_loss": float(model.evaluate(data["x_train"], data["y_train"], verbose=0)),
           "test_loss": float(model.evaluate(x_te, data["y_test"], verbose=0)),
           "test_reconstruction_mse": float(model.reconstruction_error(x_te).mean())}

    def make() -> dict:
        from .. import plot

        figs = {"Reconstructions of test images": plot.reconstructions(model, x_te, n=10)}
        k = min(len(x_te), 2000)
        figs["Codes of test images by digit"] = plot.latent_scatter(
            model.encode(x_te[:k]), data["labels_test"][:k])
        return figs

    _figures(data, make)
    return out


# ------------------------------------------------------------------ RBM / DBN (8x8 digits)
def _digits(cfg: dict) -> dict:
    from .digits import load_data

    return load_data(cfg)


def _few_labels(cfg: dict) -> dict:
    d = _digits(cfg)
    k = cfg.get("labels", 100)
    # the first k training images keep their labels, the rest are unlabelled
    d["x_unlabelled"] = d["x_train"][k:]
    d["x_train"], d["y_train"] = d["x_train"][:k], d["y_train"][:k]
    return d


def _rbm_build(data: dict, cfg: dict) -> RBM:
    from ..models import RBM

    return RBM(cfg.get("n_hidden", 64), learning_rate=0.06, batch_size=10,
               epochs=cfg["fit"].get("epochs", 20), random_state=cfg["seed"])


def _rbm_train(model: RBM, data: dict, cfg: dict) -> dict:
    model.fit(data["x_train"])
    return {k: [float(v) for v in vs] for k, vs in model.history.items()}


def _rbm_filters(components: ArrayLike, title: str) -> dict:
    from .. import plot

    return {title: plot.tiles(np.asarray(components)[:64], ncols=8, normalize=True)}


def _rbm_evaluate(model: RBM, data: dict) -> dict:
    from sklearn.linear_model import LogisticRegression

    tr, te = data["x_train"], data["x_test"]
    clf = LogisticRegression(max_iter=1000).fit(model.transform(tr), data["y_train"])
    out = {"train_pseudo_likelihood": float(model.score_samples(tr).mean()),
           "test_pseudo_likelihood": float(model.score_samples(te).mean()),
           "test_accuracy_logistic_on_features": float(
               clf.score(model.transform(te), data["y_test"]))}

    def make() -> dict:
        from .. import plot

        figs = _rbm_filters(model.components_, "RBM filters")
        figs["Test digits above their reconstructions"] = plot.tiles(
            np.concatenate([te[:8], model.reconstruct(te[:8])]), ncols=8)
        return figs

    _figures(data, make)
    return out


def _dbn_build(data: dict, cfg: dict) -> DBN:
    from ..models import DBN

    return DBN(list(cfg.get("hidden", (64, 32))), epochs=cfg["fit"].get("epochs", 20),
               learning_rate=0.1, fine_tune_epochs=cfg.get("fine_tune_epochs", 30),
               fine_tune_learning_rate=1e-2, random_state=cfg["seed"])


def _dbn_train(model: DBN, data: dict, cfg: dict) -> dict:
    model.fit(data["x_train"], data["y_train"], X_unlabelled=data.get("x_unlabelled"))
    out = {f"pretrain_{i + 1}_reconstruction_error": [float(v) for v in r.history.get(
        "reconstruction_error", [])] for i, r in enumerate(model.rbms_)}
    out.update({f"fine_tune_{k}": [float(v) for v in vs] for k, vs in model.history_.items()})
    return out


def _dbn_evaluate(model: DBN, data: dict) -> dict:
    out = {"train_accuracy": model.score(data["x_train"], data["y_train"]),
           "test_accuracy": model.score(data["x_test"], data["y_test"]),
           "labelled_examples": float(len(data["x_train"]))}
    _figures(data, lambda: _rbm_filters(model.rbms_[0].components_,
                                        "First RBM filters after pretraining"))
    return out


# ------------------------------------------------------------------ GAN (MNIST)
def _gan_data(cfg: dict) -> dict:
    from .mnist import _mnist

    d = _mnist(cfg, flat=True)
    # tanh generator: the data lives in [-1, 1]
    return {**d, "x_train": d["x_train"] * 2 - 1, "x_test": d["x_test"] * 2 - 1}


def _gan_build(data: dict, cfg: dict) -> GAN:
    from .. import optimizers
    from ..layers import Dense, Dropout
    from ..models import GAN, Sequential

    latent = cfg.get("latent_dim", 64)
    lrelu = {"class_name": "leaky_relu", "config": {"alpha": 0.2}}
    g = Sequential([Dense(256, activation=lrelu, input_shape=(latent,)),
                    Dense(512, activation=lrelu), Dense(784, activation="tanh")])
    d = Sequential([Dense(512, activation=lrelu, input_shape=(784,)), Dropout(0.3),
                    Dense(256, activation=lrelu), Dropout(0.3), Dense(1)])
    gan = GAN(g, d, latent_dim=latent)
    gan.compile(optimizers.Adam(2e-4, beta_1=0.5), optimizers.Adam(2e-4, beta_1=0.5),
                from_logits=True, label_smoothing=0.1)
    return gan


def _gan_train(model: GAN, data: dict, cfg: dict) -> dict:
    f = cfg["fit"]
    h = model.fit(data["x_train"], epochs=f.get("epochs", 20),
                  batch_size=f.get("batch_size", 64))
    return h.history  # the runner records {"d_loss": [...], "g_loss": [...]}


def _gan_evaluate(model: GAN, data: dict) -> dict:
    from ..autograd import no_grad
    from ..tensor import Tensor

    x_te = data["x_test"][:1000]
    fake = model.sample(len(x_te))
    with no_grad():
        real_logit = model.discriminator(Tensor._make(x_te)).data
        fake_logit = model.discriminator(Tensor._make(fake)).data
    out = {"d_accuracy_on_real_test_images": float((real_logit > 0).mean()),
           "d_accuracy_on_generated_images": float((fake_logit <= 0).mean())}

    def make() -> dict:
        from .. import plot

        return {"Generated digits": plot.tiles((model.sample(32) + 1) / 2, ncols=8)}

    _figures(data, make)
    return out


RECIPES = {
    "autoencoder": Recipe(
        name="autoencoder",
        description="Dense autoencoder 784-256-64-2 on MNIST: reconstructions and 2-D codes",
        load_data=_mnist_flat, build=_ae_build,
        compile={"optimizer": "adam", "loss": "binary_crossentropy"},
        fit={"epochs": 10, "batch_size": 128, "validation_split": 0.1},
        fast={"epochs": 1, "subset": 1000, "test_subset": 200, "hidden": (32,)},
        figures=("history",), evaluate=_ae_evaluate,
    ),
    "rbm": Recipe(
        name="rbm",
        description="Bernoulli RBM with 64 hidden units on the 8x8 digits (no download)",
        load_data=_digits, build=_rbm_build, fit={"epochs": 20}, fast={"epochs": 1},
        figures=("history",), kind="estimator", train=_rbm_train, evaluate=_rbm_evaluate,
    ),
    "dbn": Recipe(
        name="dbn",
        description="DBN 64-64-32-10 on the 8x8 digits with 100 labels + unlabelled rest",
        load_data=_few_labels, build=_dbn_build, fit={"epochs": 20},
        fast={"epochs": 1, "fine_tune_epochs": 2},
        figures=("history",), kind="estimator", train=_dbn_train, evaluate=_dbn_evaluate,
    ),
    "gan": Recipe(
        name="gan",
        description="MLP GAN on MNIST (generator 64-256-512-784): generated digits",
        load_data=_gan_data, build=_gan_build, fit={"epochs": 20, "batch_size": 64},
        fast={"epochs": 1, "subset": 512, "test_subset": 100},
        figures=("history",), kind="estimator", train=_gan_train, evaluate=_gan_evaluate,
    ),
}
