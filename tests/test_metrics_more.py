"""The metrics added for [keras-layers] item 7: every new name against scikit-learn where it has
the metric, and against real Keras 3 (torch backend, in a subprocess) where installed; config
round trips; the lowercase functions; use in ``fit``."""

import importlib.util
import json

import numpy as np
import pytest
from _keras_reference import keras_json

import glassnet as gn
from glassnet import metrics as M

skm = pytest.importorskip("sklearn.metrics")

R = np.random.default_rng(3)
N, C = 150, 4
Y_BIN = R.integers(0, 2, N).astype(float)
P_BIN = np.clip(Y_BIN * 0.35 + R.random(N) * 0.65, 0, 1)
W = R.uniform(0.2, 2.0, N)
LABELS = R.integers(0, C, N)
ONEHOT = np.eye(C)[LABELS]
SCORES = R.random((N, C)) + ONEHOT * 0.5
SCORES = SCORES / SCORES.sum(1, keepdims=True)
MULTI = (R.random((N, C)) < 0.4).astype(float)
MULTI_P = np.clip(MULTI * 0.3 + R.random((N, C)) * 0.7, 0, 1)
REG_T = R.normal(size=(N, 3)) + 2
REG_P = REG_T + R.normal(scale=0.5, size=(N, 3))
LOGITS = R.normal(size=(N, 1)) + (Y_BIN[:, None] - 0.5) * 2


def _batches(*arrays, size=40):
    return [tuple(a[i:i + size] for a in arrays) for i in range(0, len(arrays[0]), size)]


def _acc(metric, y, p, w=None):
    metric.reset_state()
    for b in _batches(y, p) if w is None else _batches(y, p, w):
        metric.update_state(*b)
    return metric.result()


# ------------------------------------------------------------------ scikit-learn
def test_precision_recall_at_thresholds_vs_sklearn():
    ts = [0.2, 0.5, 0.8]
    p = _acc(M.Precision(thresholds=ts), Y_BIN, P_BIN, W)
    r = _acc(M.Recall(thresholds=ts), Y_BIN, P_BIN, W)
    assert isinstance(p, np.ndarray) and p.shape == (3,)
    for j, t in enumerate(ts):
        np.testing.assert_allclose(p[j], skm.precision_score(Y_BIN, P_BIN > t, sample_weight=W))
        np.testing.assert_allclose(r[j], skm.recall_score(Y_BIN, P_BIN > t, sample_weight=W))
    assert isinstance(_acc(M.Precision(thresholds=0.3), Y_BIN, P_BIN), float)


def test_precision_recall_top_k_and_class_id_vs_numpy():
    top2 = np.argsort(-MULTI_P, axis=1)[:, :2]
    pred = np.zeros_like(MULTI, dtype=bool)
    np.put_along_axis(pred, top2, True, axis=1)
    true = MULTI.astype(bool)
    np.testing.assert_allclose(_acc(M.Precision(top_k=2), MULTI, MULTI_P),
                               (pred & true).sum() / pred.sum())
    np.testing.assert_allclose(_acc(M.Recall(top_k=2), MULTI, MULTI_P),
                               (pred & true).sum() / true.sum())
    np.testing.assert_allclose(_acc(M.Recall(class_id=1, thresholds=0.3), MULTI, MULTI_P),
                               skm.recall_score(MULTI[:, 1], MULTI_P[:, 1] > 0.3))
    np.testing.assert_allclose(_acc(M.Precision(top_k=2, class_id=3), MULTI, MULTI_P),
                               skm.precision_score(MULTI[:, 3], pred[:, 3]))


def test_counts_vs_sklearn_confusion_matrix():
    tn, fp, fn, tp = skm.confusion_matrix(Y_BIN, P_BIN > 0.5, sample_weight=W).ravel()
    for cls, want in ((M.TruePositives, tp), (M.FalsePositives, fp),
                      (M.TrueNegatives, tn), (M.FalseNegatives, fn)):
        np.testing.assert_allclose(_acc(cls(), Y_BIN, P_BIN, W), want)


def test_auc_vs_sklearn():
    assert abs(_acc(M.AUC(), Y_BIN, P_BIN, W)
               - skm.roc_auc_score(Y_BIN, P_BIN, sample_weight=W)) < 2e-3
    assert abs(_acc(M.AUC(curve="PR"), Y_BIN, P_BIN)
               - skm.average_precision_score(Y_BIN, P_BIN)) < 0.02
    ml = _acc(M.AUC(multi_label=True, num_thresholds=1000), MULTI, MULTI_P)
    assert abs(ml - skm.roc_auc_score(MULTI, MULTI_P, average="macro")) < 2e-3
    pooled = _acc(M.AUC(num_thresholds=1000), MULTI, MULTI_P)
    assert abs(pooled - skm.roc_auc_score(MULTI, MULTI_P, average="micro")) < 2e-3
    lw = np.array([1.0, 2.0, 0.5, 3.0])
    wml = _acc(M.AUC(multi_label=True, label_weights=lw, num_thresholds=1000), MULTI, MULTI_P)
    per = np.array([skm.roc_auc_score(MULTI[:, j], MULTI_P[:, j]) for j in range(C)])
    assert abs(wml - (per * lw).sum() / lw.sum()) < 2e-3
    logit = _acc(M.AUC(from_logits=True, num_thresholds=1000), Y_BIN[:, None], LOGITS)
    assert abs(logit - skm.roc_auc_score(Y_BIN, LOGITS[:, 0])) < 2e-3


def test_precision_at_recall_family_vs_sklearn_curves():
    prec, rec, _ = skm.precision_recall_curve(Y_BIN, P_BIN)
    want = prec[rec >= 0.8].max()
    got = _acc(M.PrecisionAtRecall(0.8, num_thresholds=2000), Y_BIN, P_BIN)
    assert abs(got - want) < 0.02
    want = rec[prec >= 0.7].max()
    assert abs(_acc(M.RecallAtPrecision(0.7, num_thresholds=2000), Y_BIN, P_BIN) - want) < 0.02
    fpr, tpr, _ = skm.roc_curve(Y_BIN, P_BIN)
    want = tpr[(1 - fpr) >= 0.6].max()
    got = _acc(M.SensitivityAtSpecificity(0.6, num_thresholds=2000), Y_BIN, P_BIN)
    assert abs(got - want) < 0.02
    want = (1 - fpr)[tpr >= 0.9].max()
    got = _acc(M.SpecificityAtSensitivity(0.9, num_thresholds=2000), Y_BIN, P_BIN)
    assert abs(got - want) < 0.02


@pytest.mark.parametrize("average", [None, "micro", "macro", "weighted"])
def test_f1_vs_sklearn(average):
    got = _acc(M.F1Score(average=average), ONEHOT, SCORES)
    want = skm.f1_score(LABELS, SCORES.argmax(1), average=average)
    np.testing.assert_allclose(got, want, rtol=1e-5)
    got = _acc(M.FBetaScore(average=average, beta=2.0, threshold=0.4), MULTI, MULTI_P, W)
    want = skm.fbeta_score(MULTI, MULTI_P > 0.4, beta=2.0, average=average, sample_weight=W)
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_mean_iou_vs_sklearn():
    pred = SCORES.argmax(1)
    want = skm.jaccard_score(LABELS, pred, average="macro")
    np.testing.assert_allclose(_acc(M.MeanIoU(C), LABELS, pred), want)
    np.testing.assert_allclose(
        _acc(M.MeanIoU(C, sparse_y_true=False, sparse_y_pred=False), ONEHOT, SCORES), want)
    keep = LABELS != 2
    want = skm.jaccard_score(LABELS[keep], pred[keep], labels=[0, 1, 3], average="macro")
    got = _acc(M.MeanIoU(C, ignore_class=2), LABELS, pred)
    # class 2 still counts where it is predicted for a non-ignored pixel, as in Keras
    cm = skm.confusion_matrix(LABELS[keep], pred[keep], labels=range(C))
    tp = np.diag(cm)
    iou = tp / (cm.sum(0) + cm.sum(1) - tp)
    np.testing.assert_allclose(got, np.nanmean(np.where(cm.sum(0) + cm.sum(1) > 0, iou, np.nan)))
    assert abs(got - want) < 0.2


def test_r2_vs_sklearn():
    for agg, mo in (("uniform_average", "uniform_average"),
                    ("variance_weighted_average", "variance_weighted"), (None, "raw_values")):
        np.testing.assert_allclose(_acc(M.R2Score(class_aggregation=agg), REG_T, REG_P, W),
                                   skm.r2_score(REG_T, REG_P, sample_weight=W, multioutput=mo))
    r2 = skm.r2_score(REG_T[:, 0], REG_P[:, 0])
    np.testing.assert_allclose(_acc(M.R2Score(num_regressors=3), REG_T[:, 0], REG_P[:, 0]),
                               1 - (1 - r2) * (N - 1) / (N - 3 - 1))


def test_regression_metrics_vs_sklearn():
    np.testing.assert_allclose(_acc(M.RootMeanSquaredError(), REG_T, REG_P, W),
                               np.sqrt(skm.mean_squared_error(REG_T, REG_P, sample_weight=W)))
    np.testing.assert_allclose(_acc(M.MeanAbsolutePercentageError(), REG_T, REG_P),
                               100 * skm.mean_absolute_percentage_error(REG_T, REG_P))
    pos_p = np.abs(REG_P)
    np.testing.assert_allclose(_acc(M.MeanSquaredLogarithmicError(), np.abs(REG_T), pos_p),
                               skm.mean_squared_log_error(np.abs(REG_T), pos_p))
    np.testing.assert_allclose(_acc(M.LogCoshError(), REG_T, REG_P),
                               np.mean(np.log(np.cosh(REG_P - REG_T))))
    cos = (REG_T * REG_P).sum(1) / np.linalg.norm(REG_T, axis=1) / np.linalg.norm(REG_P, axis=1)
    np.testing.assert_allclose(_acc(M.CosineSimilarity(), REG_T, REG_P), cos.mean())


def test_lowercase_functions():
    np.testing.assert_allclose(M.binary_accuracy(Y_BIN[:, None], P_BIN[:, None]),
                               (P_BIN > 0.5) == Y_BIN)
    np.testing.assert_array_equal(M.categorical_accuracy(ONEHOT, SCORES),
                                  SCORES.argmax(1) == LABELS)
    np.testing.assert_array_equal(M.sparse_categorical_accuracy(LABELS, SCORES),
                                  SCORES.argmax(1) == LABELS)
    top2 = np.argsort(-SCORES, 1)[:, :2]
    want = (top2 == LABELS[:, None]).any(1)
    np.testing.assert_array_equal(M.top_k_categorical_accuracy(ONEHOT, SCORES, k=2), want)
    np.testing.assert_array_equal(M.sparse_top_k_categorical_accuracy(LABELS, SCORES, k=2), want)
    np.testing.assert_allclose(M.mse(REG_T, REG_P), ((REG_T - REG_P) ** 2).mean(1))
    np.testing.assert_allclose(M.mae(REG_T, REG_P), np.abs(REG_T - REG_P).mean(1))
    np.testing.assert_allclose(M.mape(REG_T, REG_P).mean(),
                               100 * skm.mean_absolute_percentage_error(REG_T, REG_P))
    np.testing.assert_allclose(M.msle(np.abs(REG_T), np.abs(REG_P)).mean(),
                               skm.mean_squared_log_error(np.abs(REG_T), np.abs(REG_P)))


def test_correlations_vs_numpy_and_scipy():
    from scipy import stats

    r = [stats.pearsonr(t, p)[0] for t, p in zip(REG_T, REG_P)]
    np.testing.assert_allclose(M.pearson_correlation(REG_T, REG_P), r, rtol=1e-6)
    m = M.PearsonCorrelation()
    m.update_state(REG_T, REG_P, W)
    assert m.result() == pytest.approx(np.average(r, weights=W))
    # Lin's coefficient: 2 cov / (var + var + (mean difference)^2), population moments
    t, p = REG_T, REG_P
    lin = [2 * np.mean((a - a.mean()) * (b - b.mean())) / (a.var() + b.var()
                                                            + (a.mean() - b.mean()) ** 2)
           for a, b in zip(t, p)]
    np.testing.assert_allclose(M.concordance_correlation(t, p), lin, rtol=1e-5)
    assert M.concordance_correlation(t[:1], t[:1])[0] == pytest.approx(1.0)
    c = M.ConcordanceCorrelation(axis=-1)
    c.update_state(t, p)
    assert c.result() == pytest.approx(np.mean(lin), rel=1e-5)
    assert M.get("concordance_correlation").get_config()["axis"] == -1
    # the losses' per-sample functions are the metrics' too, as in Keras
    assert M.binary_crossentropy is gn.losses.binary_crossentropy


# ------------------------------------------------------------------ real Keras 3
def _b(*arrays, w=None):
    arrs = arrays if w is None else (*arrays, w)
    return [[a.tolist() for a in b] + ([None] if w is None else []) for b in _batches(*arrs)]


_KERAS = [
    ("Precision", {"thresholds": [0.2, 0.5, 0.8]}, lambda: _b(Y_BIN, P_BIN, w=W)),
    ("Precision", {"top_k": 2}, lambda: _b(MULTI, MULTI_P)),
    ("Recall", {"top_k": 1, "class_id": 2}, lambda: _b(MULTI, MULTI_P, w=W)),
    ("FalseNegatives", {"thresholds": [0.3, 0.6]}, lambda: _b(MULTI, MULTI_P)),
    ("PrecisionAtRecall", {"recall": 0.7}, lambda: _b(Y_BIN, P_BIN, w=W)),
    ("RecallAtPrecision", {"precision": 0.6, "num_thresholds": 50}, lambda: _b(Y_BIN, P_BIN)),
    ("SensitivityAtSpecificity", {"specificity": 0.5}, lambda: _b(MULTI, MULTI_P)),
    ("SpecificityAtSensitivity", {"sensitivity": 0.8, "class_id": 1},
     lambda: _b(MULTI, MULTI_P)),
    ("AUC", {}, lambda: _b(Y_BIN, P_BIN, w=W)),
    ("AUC", {"curve": "PR"}, lambda: _b(Y_BIN, P_BIN, w=W)),
    ("AUC", {"curve": "PR", "summation_method": "majoring", "num_thresholds": 30},
     lambda: _b(Y_BIN, P_BIN)),
    ("AUC", {"summation_method": "minoring", "thresholds": [0.1, 0.3, 0.5, 0.7, 0.9]},
     lambda: _b(Y_BIN, P_BIN)),
    ("AUC", {"multi_label": True}, lambda: _b(MULTI, MULTI_P, w=W)),
    ("AUC", {"multi_label": True, "curve": "PR", "label_weights": [1.0, 2.0, 0.5, 3.0]},
     lambda: _b(MULTI, MULTI_P)),
    ("AUC", {"label_weights": [1.0, 2.0, 0.5, 3.0]}, lambda: _b(MULTI, MULTI_P)),
    ("AUC", {"from_logits": True}, lambda: _b(Y_BIN[:, None], LOGITS)),
    ("F1Score", {"average": None}, lambda: _b(ONEHOT, SCORES, w=W)),
    ("F1Score", {"average": "weighted", "threshold": 0.3}, lambda: _b(MULTI, MULTI_P)),
    ("FBetaScore", {"average": "micro", "beta": 0.5}, lambda: _b(ONEHOT, SCORES)),
    # integer weights: Keras's MeanIoU truncates float weights to its int confusion matrix
    ("MeanIoU", {"num_classes": C}, lambda: _b(LABELS.astype(float),
                                               SCORES.argmax(1).astype(float), w=np.round(2 * W))),
    ("MeanIoU", {"num_classes": C, "sparse_y_pred": False, "ignore_class": 0},
     lambda: _b(LABELS.astype(float), SCORES)),
    ("IoU", {"num_classes": C, "target_class_ids": [0, 2]},
     lambda: _b(LABELS.astype(float), SCORES.argmax(1).astype(float))),
    ("BinaryIoU", {"target_class_ids": [1], "threshold": 0.4}, lambda: _b(Y_BIN, P_BIN)),
    ("BinaryIoU", {}, lambda: _b(MULTI, MULTI_P)),
    ("OneHotIoU", {"num_classes": C, "target_class_ids": [1, 3]}, lambda: _b(ONEHOT, SCORES)),
    ("OneHotMeanIoU", {"num_classes": C}, lambda: _b(ONEHOT, SCORES)),
    ("R2Score", {}, lambda: _b(REG_T, REG_P, w=W)),
    ("R2Score", {"class_aggregation": None, "num_regressors": 2}, lambda: _b(REG_T, REG_P)),
    ("RootMeanSquaredError", {}, lambda: _b(REG_T, REG_P, w=W)),
    ("MeanAbsolutePercentageError", {}, lambda: _b(REG_T, REG_P)),
    ("MeanSquaredLogarithmicError", {}, lambda: _b(REG_T, REG_P)),
    ("LogCoshError", {}, lambda: _b(REG_T, REG_P, w=W)),
    ("CosineSimilarity", {}, lambda: _b(REG_T, REG_P)),
    ("PearsonCorrelation", {}, lambda: _b(REG_T, REG_P, w=W)),
    ("PearsonCorrelation", {"axis": 0}, lambda: _b(REG_T, REG_P)),
    ("BinaryCrossentropy", {}, lambda: _b(MULTI, MULTI_P, w=W)),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1},
     lambda: _b(Y_BIN[:, None], LOGITS)),
    ("CategoricalCrossentropy", {"label_smoothing": 0.2}, lambda: _b(ONEHOT, SCORES, w=W)),
    ("SparseCategoricalCrossentropy", {}, lambda: _b(LABELS.astype(float), SCORES)),
    ("KLDivergence", {}, lambda: _b(ONEHOT * 0.7 + 0.075, SCORES)),
    ("Poisson", {}, lambda: _b(np.abs(REG_T), np.abs(REG_P))),
    ("Hinge", {}, lambda: _b(MULTI, REG_P[:, :1] + MULTI_P - 0.5)),
    ("SquaredHinge", {}, lambda: _b(MULTI, MULTI_P - 0.5, w=W)),
    ("CategoricalHinge", {}, lambda: _b(ONEHOT, SCORES)),
]


@pytest.fixture(scope="module")
def keras_results():
    if importlib.util.find_spec("keras") is None:
        pytest.skip("keras is not installed (optional reference)")
    spec = {"cases": [{"cls": c, "config": k, "batches": b()} for c, k, b in _KERAS]}
    return keras_json("_keras_metric_ref.py", json.dumps(spec), 300)


@pytest.mark.parametrize("i", range(len(_KERAS)),
                         ids=[f"{c}-{'-'.join(map(str, k.values()))}" for c, k, _ in _KERAS])
def test_matches_real_keras(keras_results, i):
    cls, cfg, batches = _KERAS[i]
    m = getattr(M, cls)(**cfg)
    for yt, yp, sw in batches():
        m.update_state(np.asarray(yt), np.asarray(yp), None if sw is None else np.asarray(sw))
    got = np.asarray(m.result(), np.float64)
    want = np.asarray(keras_results[i])
    assert got.shape == want.shape, (cls, cfg)
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6, err_msg=f"{cls} {cfg}")


# ------------------------------------------------------------------ configs, names, fit
_INSTANCES = [
    M.Precision(thresholds=[0.3, 0.6], top_k=2, class_id=1), M.Recall(top_k=3),
    M.TruePositives([0.2]), M.FalsePositives(), M.TrueNegatives(), M.FalseNegatives(0.7),
    M.PrecisionAtRecall(0.5, num_thresholds=20), M.RecallAtPrecision(0.4, class_id=0),
    M.SensitivityAtSpecificity(0.3), M.SpecificityAtSensitivity(0.2),
    M.AUC(curve="PR", multi_label=True, num_labels=4, label_weights=[1, 2, 3, 4],
          summation_method="minoring", from_logits=True),
    M.AUC(thresholds=[0.25, 0.5]), M.F1Score(average="macro", threshold=0.4),
    M.FBetaScore(beta=2.0), M.MeanIoU(3, ignore_class=0, sparse_y_pred=False),
    M.R2Score(class_aggregation=None, num_regressors=1), M.RootMeanSquaredError(),
    M.MeanAbsolutePercentageError(), M.MeanSquaredLogarithmicError(), M.LogCoshError(),
    M.CosineSimilarity(axis=1), M.BinaryCrossentropy(from_logits=True, label_smoothing=0.1),
    M.CategoricalCrossentropy(axis=-1), M.SparseCategoricalCrossentropy(from_logits=True),
    M.KLDivergence(), M.Poisson(), M.Hinge(), M.SquaredHinge(), M.CategoricalHinge(),
    M.IoU(3, [0, 2], ignore_class=1), M.BinaryIoU([1], threshold=0.3), M.OneHotIoU(4, [2]),
    M.OneHotMeanIoU(5, sparse_y_pred=True),
]


@pytest.mark.parametrize("m", _INSTANCES, ids=lambda m: type(m).__name__)
def test_config_roundtrip(m):
    s = json.loads(json.dumps(M.serialize(m)))
    back = M.deserialize(s)
    assert type(back) is type(m) and back.get_config() == m.get_config()


@pytest.mark.parametrize("name", ["f1_score", "fbeta_score", "r2_score",
                                  "root_mean_squared_error", "true_positives", "mape", "msle",
                                  "logcosh", "cosine_similarity", "binary_crossentropy",
                                  "categorical_crossentropy", "sparse_categorical_crossentropy",
                                  "kld", "poisson", "hinge", "squared_hinge",
                                  "categorical_hinge"])
def test_string_names(name):
    assert M.get(name).name in (name, M.get(name).name)
    assert type(M.get(name)) is M._TABLE[name]


def test_in_fit_logs():
    x = R.normal(size=(64, 4)).astype("float32")
    y = (x[:, :1] + x[:, 1:2] > 0).astype("float32")
    gn.set_seed(0)
    m = gn.models.Sequential([gn.layers.Input((4,)), gn.layers.Dense(1, activation="sigmoid")])
    m.compile("adam", "binary_crossentropy",
              metrics=[M.AUC(), M.PrecisionAtRecall(0.5), M.Precision(top_k=1),
                       "root_mean_squared_error"])
    h = m.fit(x, y, epochs=2, batch_size=16, verbose=0)
    for k in ("auc", "precision_at_recall", "precision", "root_mean_squared_error"):
        assert 0 <= h.history[k][-1] <= 1, k


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="thresholds"):
        M.Precision(thresholds=[0.5, 1.5])
    with pytest.raises(ValueError, match="top_k"):
        M.Recall(top_k=0)
    with pytest.raises(ValueError, match="summation_method"):
        M.AUC(summation_method="simpson")
    with pytest.raises(ValueError, match="average"):
        M.F1Score(average="samples")
    with pytest.raises(ValueError, match=r"labels must be in \[0, 2\)"):
        M.MeanIoU(2).update_state([0, 3], [0, 1])
    with pytest.raises(ValueError, match="target_class_ids"):
        M.IoU(3, target_class_ids=[3])
    with pytest.raises(ValueError, match="class_aggregation"):
        M.R2Score(class_aggregation="mean")
    with pytest.raises(ValueError, match="recall"):
        M.PrecisionAtRecall(1.5)
    with pytest.raises(ValueError, match=r"\(N, classes\)"):
        M.F1Score().update_state(np.zeros(3), np.zeros(3))


def test_keras_io_imbalanced_classification_metrics_in_fit():
    """keras.io's "Imbalanced classification: credit card fraud detection" metric list, in
    ``fit`` with class weights, imports swapped."""
    import glassnet as keras

    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 6)).astype("float32")
    y = (x[:, 0] + 0.3 * rng.normal(size=200) > 1.2).astype("float32")[:, None]
    gn.set_seed(0)
    model = keras.Sequential([keras.Input(shape=(6,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    metrics = [keras.metrics.FalseNegatives(name="fn"), keras.metrics.FalsePositives(name="fp"),
               keras.metrics.TrueNegatives(name="tn"), keras.metrics.TruePositives(name="tp"),
               keras.metrics.Precision(name="precision"), keras.metrics.Recall(name="recall")]
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy",
                  metrics=metrics)
    neg, pos = np.bincount(y[:, 0].astype(int))
    h = model.fit(x, y, batch_size=50, epochs=2, verbose=0,
                  class_weight={0: 1.0 / neg, 1: 1.0 / pos})
    last = {k: v[-1] for k, v in h.history.items()}
    assert last["fn"] + last["tp"] == pos and last["fp"] + last["tn"] == neg
    p = model.predict(x, verbose=0)[:, 0]
    # the last epoch's counts are the running sums over its batches (weights moving), so
    # they are checked for consistency, and a fresh evaluate against scikit-learn
    res = model.evaluate(x, y, verbose=0, return_dict=True)
    tn, fp, fn, tp = skm.confusion_matrix(y[:, 0], p > 0.5, labels=[0, 1]).ravel()
    assert (res["tn"], res["fp"], res["fn"], res["tp"]) == (tn, fp, fn, tp)
    np.testing.assert_allclose(res["recall"], tp / (tp + fn) if tp + fn else 0.0)
