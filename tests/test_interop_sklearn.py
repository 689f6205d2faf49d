"""glassnet.wrappers against scikit-learn itself: its estimator checks, Pipeline,
GridSearchCV with n_jobs=2 (estimators cross process boundaries), cross_val_score, clone
(never shares weights) and pickling (the model as its saved file, no pickled layers)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn", reason="the wrappers need scikit-learn")

from sklearn.base import clone  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import glassnet as gn  # noqa: E402
from glassnet import layers as L  # noqa: E402
from glassnet.wrappers import SKLearnClassifier, SKLearnRegressor, SKLearnTransformer  # noqa: E402


class _DynamicModel:
    """Keras's own test builder, in glassnet: input and output sizes from X and y.

    A module-level callable with a fixed repr: the test ids that scikit-learn derives from the
    estimators' reprs must be the same in every pytest-xdist worker (a function's repr holds
    its address)."""

    def __call__(self, X, y, loss, out_activation="softmax", hidden=(10,), lr=0.01):
        model = gn.models.Sequential(
            [L.Input((X.shape[1],)), *(L.Dense(units, activation="relu") for units in hidden),
             L.Dense(y.shape[1] if y.ndim > 1 else 1, activation=out_activation)])
        model.compile(optimizer=gn.optimizers.Adam(lr), loss=loss)
        return model

    def __repr__(self) -> str:
        return "dynamic_model"


dynamic_model = _DynamicModel()


# checks that cannot apply to a network trained by stochastic gradient descent, with why
# (the same reasons Keras 3 gives for its own wrappers)
_TWO_FITS = ("compares the predictions of two separate fits, which differ: every fit starts "
             "from a new random initialisation and shuffles differently")
EXPECTED_FAILED = {
    "SKLearnClassifier": {
        "check_classifiers_classes": "with tiny test sets the network sometimes predicts "
                                     "only some of the classes",
        "check_classifier_data_not_an_array": _TWO_FITS,
        "check_supervised_y_2d": _TWO_FITS,
        "check_fit_idempotent": _TWO_FITS,
        "check_classifiers_train": "decision_function returns the network's outputs "
                                   "(probabilities or logits), not sklearn's score shape",
    },
    "SKLearnRegressor": {
        "check_regressor_data_not_an_array": _TWO_FITS,
        "check_supervised_y_2d": _TWO_FITS,
        "check_regressors_int": _TWO_FITS,
        "check_fit_idempotent": _TWO_FITS,
    },
    "SKLearnTransformer": {"check_fit_idempotent": _TWO_FITS},
}


def _expected(est):
    return EXPECTED_FAILED[type(est).__name__]


@parametrize_with_checks(
    [SKLearnClassifier(model=dynamic_model,
                       model_kwargs={"loss": "categorical_crossentropy", "hidden": (20, 20)},
                       fit_kwargs={"epochs": 5}),
     SKLearnRegressor(model=dynamic_model,
                      model_kwargs={"loss": "mse", "out_activation": "linear"}),
     SKLearnTransformer(model=dynamic_model,
                        model_kwargs={"loss": "mse", "out_activation": "linear"})],
    expected_failed_checks=_expected,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def _blobs(n=120, seed=0):
    from sklearn.datasets import make_classification

    return make_classification(n_samples=n, n_features=6, n_informative=4, n_classes=3,
                               random_state=seed)


def test_classifier_learns_pipeline_and_cross_val_score():
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    gn.set_seed(0)
    X, y = _blobs(300)
    clf = SKLearnClassifier(dynamic_model, model_kwargs={"loss": "categorical_crossentropy"},
                            fit_kwargs={"epochs": 40, "batch_size": 16})
    pipe = make_pipeline(StandardScaler(), clf)
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.mean() > 0.7
    pipe.fit(X, y)
    assert set(pipe.predict(X)) <= set(np.unique(y))
    assert pipe[-1].decision_function(X[:5]).shape == (5, 3)


def test_clone_never_shares_weights_and_warm_start():
    X, y = _blobs()
    base = dynamic_model(X, np.eye(3)[y], loss="categorical_crossentropy")
    clf = SKLearnClassifier(base, fit_kwargs={"epochs": 2})
    c2 = clone(clf)
    assert c2.model is not base
    for a, b in zip(c2.model.weights, base.weights):
        assert a is not b and not np.shares_memory(a.data, b.data)
    clf.fit(X, y)
    assert clf.model_ is not base  # fitting a model instance trains a copy
    before = [w.copy() for w in clf.model_.get_weights()]
    clf.set_params(warm_start=True)
    model = clf.model_
    clf.fit(X, y)
    assert clf.model_ is model  # warm start continues the same network
    assert any(not np.allclose(a, b) for a, b in zip(before, clf.model_.get_weights()))


def test_pickle_carries_the_model_file_not_layers():
    X, y = _blobs()
    reg = SKLearnRegressor(dynamic_model, model_kwargs={"loss": "mse",
                                                        "out_activation": "linear"},
                           fit_kwargs={"epochs": 3}, warm_start=True)
    reg.fit(X, y.astype("f"))
    blob = pickle.dumps(reg)  # the model travels as its saved file (Model.__reduce__)
    assert b"glassnet.layers" not in blob and b"Tensor" not in blob
    back = pickle.loads(blob)
    np.testing.assert_allclose(back.predict(X), reg.predict(X), atol=1e-6)
    assert back.model_.optimizer is not None  # still compiled: training can resume
    # ... exactly: a warm start continues with the optimizer's moments
    gn.set_seed(5)
    reg.fit(X, y.astype("f"))
    gn.set_seed(5)
    back.fit(X, y.astype("f"))
    for a, b in zip(reg.model_.get_weights(), back.model_.get_weights()):
        np.testing.assert_array_equal(a, b)
    # an estimator pickled before models pickled themselves (config + weights) still loads
    from glassnet.wrappers import _model_state

    old = dict(reg.__dict__, model_=_model_state(reg.model_))
    legacy = SKLearnRegressor.__new__(SKLearnRegressor)
    legacy.__setstate__(old)
    np.testing.assert_allclose(legacy.predict(X), reg.predict(X), atol=1e-6)
    import joblib

    back2 = joblib.load(_dump(joblib, reg))
    np.testing.assert_allclose(back2.predict(X), reg.predict(X), atol=1e-6)


def _dump(joblib, obj):
    import io

    buf = io.BytesIO()
    joblib.dump(obj, buf)
    buf.seek(0)
    return buf


def test_transformer_in_pipeline():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    X, y = _blobs()
    emb = SKLearnTransformer(dynamic_model, model_kwargs={"loss": "categorical_crossentropy"},
                             fit_kwargs={"epochs": 5})
    pipe = make_pipeline(emb, LogisticRegression())
    # the transformer is fitted on one-hot targets of its own: pass them through fit params
    pipe.fit(X, y)
    assert pipe.predict(X).shape == (len(X),)
    assert emb.transform(X).shape == (len(X), 1)


def test_grid_search_two_learning_rates_on_churn_with_two_processes():
    from sklearn.model_selection import GridSearchCV

    try:
        (x, y), _ = _churn()
    except Exception as e:  # pragma: no cover - needs GLASSNET_DATA_DIR
        pytest.skip(f"churn data not available offline: {e}")
    x, y = x[:600], y[:600]
    clf = SKLearnClassifier(dynamic_model,
                            model_kwargs={"loss": "categorical_crossentropy",
                                          "hidden": (6, 6)},
                            fit_kwargs={"epochs": 5, "batch_size": 32})
    grid = GridSearchCV(clf, {"model_kwargs": [
        {"loss": "categorical_crossentropy", "hidden": (6, 6), "lr": 0.01},
        {"loss": "categorical_crossentropy", "hidden": (6, 6), "lr": 0.001}]},
        cv=2, n_jobs=2)
    grid.fit(x, y)
    assert grid.best_params_["model_kwargs"]["lr"] in (0.01, 0.001)
    assert grid.best_score_ > 0.7
    assert len(grid.cv_results_["mean_test_score"]) == 2
    assert grid.best_estimator_.predict(x[:10]).shape == (10,)


def _churn():
    import pandas as pd
    from sklearn.preprocessing import StandardScaler

    df = gn.datasets.churn.load_data(download=False)
    x = pd.get_dummies(df.iloc[:, 3:13], columns=["Geography", "Gender"], drop_first=True)
    x = StandardScaler().fit_transform(x.to_numpy(dtype="float32"))
    return (x.astype("f"), df["Exited"].to_numpy()), None


def test_bad_model_arguments_are_explained():
    X, y = _blobs()
    with pytest.raises(TypeError, match="compiled glassnet model"):
        SKLearnClassifier(model=3).fit(X, y)
    with pytest.raises(RuntimeError, match="compiled"):
        SKLearnClassifier(model=lambda X, y: gn.models.Sequential([L.Dense(3)])).fit(X, y)
    uncompiled = gn.models.Sequential([L.Input((6,)), L.Dense(3)])
    with pytest.raises(ValueError, match="compiled"):
        SKLearnClassifier(model=uncompiled).fit(X, y)


def functional_model(X, y):
    """A functional-API builder (two branches, merged)."""
    inp = L.Input((X.shape[1],))
    h = L.Concatenate()([L.Dense(4, activation="relu")(inp), L.Dense(4)(inp)])
    model = gn.Model(inp, L.Dense(y.shape[1], activation="softmax")(h))
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model


def test_functional_model_pickles_and_clones():
    X, y = _blobs()
    clf = SKLearnClassifier(functional_model, fit_kwargs={"epochs": 3}).fit(X, y)
    back = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(back.decision_function(X), clf.decision_function(X), atol=1e-6)
    assert (back.predict(X) == clf.predict(X)).all()
    fresh = clone(clf)
    assert not hasattr(fresh, "model_")
