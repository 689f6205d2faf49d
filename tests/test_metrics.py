"""Metrics: stateful accumulation vs scikit-learn, accuracy resolution, names, errors."""

import json

import numpy as np
import pytest

from glassnet import metrics as M

skm = pytest.importorskip("sklearn.metrics")

R = np.random.default_rng(0)
N, C = 120, 5
Y_BIN = R.integers(0, 2, N)
P_BIN = np.clip(Y_BIN * 0.3 + R.random(N) * 0.7, 0, 1)
LABELS = R.integers(0, C, N)
SCORES = R.random((N, C)) + np.eye(C)[LABELS] * 0.4
W = R.uniform(0.2, 2.0, N)


def _batches(*arrays, size=32):
    for i in range(0, N, size):
        yield tuple(a[i:i + size] for a in arrays)


def _accumulate(metric, y, p, w=None):
    metric.reset_state()
    arrays = (y, p) if w is None else (y, p, w)
    for b in _batches(*arrays):
        metric.update_state(*b)
    return metric.result()


def test_binary_metrics_vs_sklearn():
    pred = (P_BIN > 0.5).astype(int)
    y2, p2 = Y_BIN[:, None].astype(float), P_BIN[:, None]
    np.testing.assert_allclose(_accumulate(M.get("binary_accuracy"), y2, p2),
                               skm.accuracy_score(Y_BIN, pred))
    np.testing.assert_allclose(_accumulate(M.Precision(), y2, p2), skm.precision_score(Y_BIN, pred))
    np.testing.assert_allclose(_accumulate(M.Recall(), y2, p2), skm.recall_score(Y_BIN, pred))
    np.testing.assert_allclose(_accumulate(M.BinaryAccuracy(threshold=0.7), Y_BIN, P_BIN),
                               skm.accuracy_score(Y_BIN, P_BIN > 0.7))
    # weighted
    np.testing.assert_allclose(_accumulate(M.get("binary_accuracy"), y2, p2, W),
                               skm.accuracy_score(Y_BIN, pred, sample_weight=W))
    np.testing.assert_allclose(_accumulate(M.Precision(), Y_BIN, P_BIN, W),
                               skm.precision_score(Y_BIN, pred, sample_weight=W))
    np.testing.assert_allclose(_accumulate(M.Recall(), Y_BIN, P_BIN, W),
                               skm.recall_score(Y_BIN, pred, sample_weight=W))


def test_auc_vs_sklearn():
    exact = skm.roc_auc_score(Y_BIN, P_BIN)
    got = _accumulate(M.AUC(), Y_BIN, P_BIN)
    assert abs(got - exact) < 2e-3
    assert abs(_accumulate(M.AUC(num_thresholds=1000), Y_BIN, P_BIN) - exact) < 1e-3
    got_w = _accumulate(M.AUC(), Y_BIN, P_BIN, W)
    assert abs(got_w - skm.roc_auc_score(Y_BIN, P_BIN, sample_weight=W)) < 2e-3
    pr = _accumulate(M.AUC(curve="PR"), Y_BIN, P_BIN)
    assert abs(pr - skm.average_precision_score(Y_BIN, P_BIN)) < 0.03


def test_categorical_metrics_vs_sklearn():
    onehot = np.eye(C)[LABELS]
    acc = skm.accuracy_score(LABELS, SCORES.argmax(1))
    np.testing.assert_allclose(_accumulate(M.CategoricalAccuracy(), onehot, SCORES), acc)
    np.testing.assert_allclose(_accumulate(M.SparseCategoricalAccuracy(), LABELS, SCORES), acc)
    np.testing.assert_allclose(
        _accumulate(M.SparseCategoricalAccuracy(), LABELS[:, None], SCORES), acc)
    for k in (1, 2, 3):
        np.testing.assert_allclose(
            _accumulate(M.TopKCategoricalAccuracy(k=k), onehot, SCORES),
            skm.top_k_accuracy_score(LABELS, SCORES, k=k, labels=range(C)))
    np.testing.assert_allclose(
        _accumulate(M.SparseTopKCategoricalAccuracy(k=2), LABELS, SCORES),
        skm.top_k_accuracy_score(LABELS, SCORES, k=2, labels=range(C)))


def test_accuracy_resolves_like_keras():
    onehot = np.eye(C)[LABELS]
    acc = skm.accuracy_score(LABELS, SCORES.argmax(1))
    cases = [
        (Y_BIN[:, None], P_BIN[:, None], skm.accuracy_score(Y_BIN, P_BIN > 0.5)),
        (Y_BIN, P_BIN, skm.accuracy_score(Y_BIN, P_BIN > 0.5)),
        (LABELS, SCORES, acc),
        (LABELS[:, None], SCORES, acc),
        (onehot, SCORES, acc),
    ]
    for y, p, expected in cases:
        m = M.get("accuracy")
        assert m.name == "accuracy"
        np.testing.assert_allclose(_accumulate(m, y, p), expected)
    assert M.get("acc").name == "acc"
    assert M.Accuracy()(np.array([1, 2, 3]), np.array([1, 0, 3])) == pytest.approx(2 / 3)


def test_regression_metrics_and_mean():
    y, p = R.normal(size=(N, 3)), R.normal(size=(N, 3))
    np.testing.assert_allclose(_accumulate(M.get("mse"), y, p), skm.mean_squared_error(y, p))
    np.testing.assert_allclose(_accumulate(M.get("mae"), y, p), skm.mean_absolute_error(y, p))
    np.testing.assert_allclose(_accumulate(M.get("mse"), y, p, W),
                               skm.mean_squared_error(y, p, sample_weight=W))
    m = M.Mean()
    m.update_state([1.0, 2.0])
    m.update_state(6.0)
    assert m.result() == pytest.approx(3.0)
    m.update_state(np.array([10.0]), sample_weight=np.array([3.0]))
    assert m.result() == pytest.approx((9 + 30) / 6)
    m.reset_state()
    assert m.result() == 0.0


def test_reset_and_tensor_inputs():
    import glassnet as gn

    m = M.get("binary_accuracy")
    m.update_state(gn.tensor([[1.0], [0.0]]), gn.tensor([[0.9], [0.8]]))
    assert m.result() == 0.5
    m.reset_state()
    m.update_state(np.array([1.0]), np.array([0.9]))
    assert m.result() == 1.0


def test_names_get_serialize_errors():
    assert M.get("precision").name == "precision"
    assert M.get("auc").name == "auc"
    assert M.get("categorical_accuracy").name == "categorical_accuracy"
    for name in M._TABLE:
        m = M.get(name)
        s = M.serialize(m)
        assert json.loads(json.dumps(s)) == s
        assert type(M.deserialize(s)) is type(m)
    assert M.get({"class_name": "TopKCategoricalAccuracy", "config": {"k": 2}}).k == 2
    with pytest.raises(ValueError, match="accuracy"):
        M.get("acuracy")
    with pytest.raises(ValueError, match=r"\(4, 3\).*\(4, 2\)"):
        M.CategoricalAccuracy().update_state(np.zeros((4, 3)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="sample_weight"):
        M.Mean().update_state([1.0, 2.0], sample_weight=[1.0])
