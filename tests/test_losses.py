"""Losses: values vs NumPy formulas and torch.nn.functional, gradients, weights, errors."""

import json

import numpy as np
import pytest

import glassnet as gn
from glassnet import losses as L

R = np.random.default_rng(0)
N, C = 6, 4
P = R.uniform(0.05, 0.95, (N, C))
P_NORM = P / P.sum(1, keepdims=True)
Z = R.normal(size=(N, C)) * 2
Y01 = (R.random((N, C)) > 0.5).astype(float)
LABELS = R.integers(0, C, N)
ONEHOT = np.eye(C)[LABELS]
YREG = R.normal(size=(N, C))
SW = R.uniform(0.5, 2, N)


def _t(a):
    return gn.tensor(a, dtype="float64")


def _softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def _per(name, y, p):
    d = p - y
    if name == "mse":
        return (d**2).mean(1)
    if name == "mae":
        return np.abs(d).mean(1)
    if name == "sse":
        return 0.5 * (d**2).sum(1)
    if name == "huber":
        a = np.abs(d)
        return np.where(a <= 1, 0.5 * a**2, a - 0.5).mean(1)
    if name == "log_cosh":
        return np.log(np.cosh(d)).mean(1)
    if name == "binary_crossentropy":
        return -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean(1)
    if name == "categorical_crossentropy":
        return -(y * np.log(p / p.sum(1, keepdims=True))).sum(1)
    if name == "hinge":
        return np.maximum(1 - (2 * y - 1) * p, 0).mean(1)
    if name == "squared_hinge":
        return (np.maximum(1 - (2 * y - 1) * p, 0) ** 2).mean(1)
    if name == "perceptron":
        t = 2 * y - 1
        wrong = np.where(p >= 0, 1, -1) != t
        return np.where(wrong, -t * p, 0).mean(1)
    if name == "kl_divergence":
        yc = np.clip(y, 1e-7, 1)
        return (yc * np.log(yc / p)).sum(1)
    raise KeyError(name)


CASES = {
    "mse": (YREG, P), "mae": (YREG, P), "sse": (YREG, P), "huber": (YREG * 2, P),
    "log_cosh": (YREG, P), "binary_crossentropy": (Y01, P),
    "categorical_crossentropy": (ONEHOT, P), "hinge": (Y01, Z), "squared_hinge": (Y01, Z),
    "perceptron": (Y01, Z),
    "kl_divergence": (P_NORM[::-1].copy(), P_NORM),
}


@pytest.mark.parametrize("name", list(CASES))
def test_values_and_weights_vs_numpy(name):
    y, p = CASES[name]
    loss = L.get(name)
    per = _per(name, y, p)
    np.testing.assert_allclose(loss.call(y, _t(p)).data, per, rtol=1e-6)
    reduce = np.sum if name == "sse" else np.mean
    np.testing.assert_allclose(loss(y, _t(p)).data, reduce(per), rtol=1e-6)
    w_expected = (per * SW).sum() / (1 if name == "sse" else N)
    np.testing.assert_allclose(loss(y, _t(p), sample_weight=SW).data, w_expected, rtol=1e-6)


@pytest.mark.parametrize("name", list(CASES))
def test_gradcheck(name):
    y, p = CASES[name]
    loss = L.get(name)
    gn.gradcheck(lambda q: loss(y, q), p)
    gn.gradcheck(lambda q: loss(y, q, sample_weight=SW), p)


def test_crossentropies_from_logits_and_sparse():
    probs = _softmax(Z)
    ce = -np.log(probs[np.arange(N), LABELS])
    cases = [
        (L.CategoricalCrossentropy(from_logits=True), ONEHOT, Z),
        (L.CategoricalCrossentropy(), ONEHOT, probs),
        (L.SparseCategoricalCrossentropy(from_logits=True), LABELS, Z),
        (L.SparseCategoricalCrossentropy(), LABELS, probs),
        (L.SparseCategoricalCrossentropy(), LABELS[:, None], probs),
    ]
    for loss, y, x in cases:
        np.testing.assert_allclose(loss(y, _t(x)).data, ce.mean(), rtol=1e-6)
        np.testing.assert_allclose(loss.call(y, _t(x)).data, ce, rtol=1e-6)
        np.testing.assert_allclose(loss(y, _t(x), sample_weight=SW).data,
                                   (ce * SW).sum() / N, rtol=1e-6)
        gn.gradcheck(lambda q, loss=loss, y=y: loss(y, q), x)
        gn.gradcheck(lambda q, loss=loss, y=y: loss.call(y, q).sum(), x)
    bce = L.BinaryCrossentropy(from_logits=True)
    s = 1 / (1 + np.exp(-Z))
    ref = -(Y01 * np.log(s) + (1 - Y01) * np.log(1 - s)).mean(1)
    np.testing.assert_allclose(bce(Y01, _t(Z)).data, ref.mean(), rtol=1e-6)
    np.testing.assert_allclose(bce.call(Y01, _t(Z)).data, ref, rtol=1e-6)
    gn.gradcheck(lambda q: bce(Y01, q, sample_weight=SW), Z)


def test_against_torch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    tp, tz = torch.tensor(P), torch.tensor(Z)
    checks = [
        (L.get("mse")(YREG, _t(P)), F.mse_loss(tp, torch.tensor(YREG))),
        (L.get("mae")(YREG, _t(P)), F.l1_loss(tp, torch.tensor(YREG))),
        (L.get("huber")(YREG * 2, _t(P)), F.huber_loss(tp, torch.tensor(YREG * 2))),
        (L.get("binary_crossentropy")(Y01, _t(P)), F.binary_cross_entropy(tp, torch.tensor(Y01))),
        (L.BinaryCrossentropy(from_logits=True)(Y01, _t(Z)),
         F.binary_cross_entropy_with_logits(tz, torch.tensor(Y01))),
        (L.SparseCategoricalCrossentropy(from_logits=True)(LABELS, _t(Z)),
         F.cross_entropy(tz, torch.tensor(LABELS))),
        (L.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)(ONEHOT, _t(Z)),
         F.cross_entropy(tz, torch.tensor(LABELS), label_smoothing=0.1)),
        (L.get("kl_divergence")(P_NORM[::-1].copy(), _t(P_NORM)),
         F.kl_div(torch.tensor(np.log(P_NORM)), torch.tensor(P_NORM[::-1].copy()),
                  reduction="sum") / N),
    ]
    for ours, ref in checks:
        np.testing.assert_allclose(ours.data, ref.item(), rtol=1e-6)
    # gradient of the fused sparse CE vs torch
    z = _t(Z)
    z.requires_grad = True
    L.SparseCategoricalCrossentropy(from_logits=True)(LABELS, z).backward()
    tzg = tz.clone().requires_grad_(True)
    F.cross_entropy(tzg, torch.tensor(LABELS)).backward()
    np.testing.assert_allclose(z.grad, tzg.grad.numpy(), rtol=1e-6)


def test_probability_clipping_like_keras():
    p = np.array([[0.0], [1.0]])
    y = np.array([[1.0], [0.0]])
    v = L.get("binary_crossentropy")(y, _t(p)).data
    np.testing.assert_allclose(v, -np.log(1e-7), rtol=1e-5)
    assert np.isfinite(L.get("categorical_crossentropy")(np.eye(2), _t(np.eye(2)[::-1])).data)


def test_shapes_targets_and_float32():
    # (N,) targets against (N, 1) predictions, lists and tensors as y_true
    p = gn.tensor(np.array([[0.2], [0.9], [0.6]], dtype=np.float32))
    a = L.get("binary_crossentropy")([0, 1, 1], p)
    b = L.get("binary_crossentropy")(gn.tensor([[0.0], [1.0], [1.0]]), p)
    np.testing.assert_allclose(a.data, b.data)
    assert a.dtype == np.float32
    with pytest.raises(ValueError, match=r"\(3, 2\).*\(3, 1\)"):
        L.get("mse")(np.zeros((3, 2)), p)


def test_sparse_label_errors():
    loss = L.get("sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"\[0, 4\).*label 7"):
        loss(np.array([0, 7, 1, 2, 3, 1]), _t(P))
    with pytest.raises(ValueError, match=r"label -1"):
        loss(np.array([0, -1, 1, 2, 3, 1]), _t(P))
    # int32 and strided label arrays take the same one-reduction range check
    strided = np.array([0, 9, -4, 9, 1, 9, 2, 9, 3, 9, 1, 9], np.int32)[::2]
    with pytest.raises(ValueError, match=r"label -4"):
        L.SparseCategoricalCrossentropy(from_logits=True)(strided, _t(P))
    ok = np.array([0, 9, 3, 9, 1, 9, 2, 9, 3, 9, 1, 9], np.int32)[::2]
    assert np.isfinite(float(L.SparseCategoricalCrossentropy(from_logits=True)(ok, _t(P)).data))
    with pytest.raises(ValueError, match="sample_weight"):
        loss(LABELS, _t(P), sample_weight=np.ones(3))


def test_get_serialize_and_functions():
    for name in L._TABLE:
        loss = L.get(name)
        cfg = L.serialize(loss)
        assert json.loads(json.dumps(cfg)) == cfg
        assert type(L.deserialize(cfg)) is type(loss)
    assert L.get("mse").name == "mean_squared_error"
    assert isinstance(L.get(L.mse), L.MeanSquaredError)
    np.testing.assert_allclose(L.mse(YREG, _t(P)).data, _per("mse", YREG, P), rtol=1e-6)
    cfg = L.serialize(L.BinaryCrossentropy(from_logits=True))
    assert L.get(cfg).from_logits is True

    def custom(y_true, y_pred):
        return ((y_pred - gn.tensor(y_true, dtype="float64")) ** 2).sum(axis=1)

    np.testing.assert_allclose(L.get(custom)(YREG, _t(P)).data, ((P - YREG) ** 2).sum(1).mean())
    with pytest.raises(ValueError, match="binary_crossentropy"):
        L.get("binary_crossentropi")


def test_reductions():
    y, p = CASES["mse"]
    per = _per("mse", y, p)
    sum_loss = L.MeanSquaredError(reduction="sum")
    np.testing.assert_allclose(sum_loss(y, _t(p)).data, per.sum(), rtol=1e-12)
    none = L.MeanSquaredError(reduction="none")(y, _t(p), sample_weight=SW)
    np.testing.assert_allclose(none.data, per * SW, rtol=1e-12)
    probs = _softmax(Z)
    ce = -np.log(probs[np.arange(N), LABELS])
    for loss in (L.SparseCategoricalCrossentropy(from_logits=True, reduction="none"),
                 L.CategoricalCrossentropy(from_logits=True, reduction="none")):
        y_ = LABELS if "Sparse" in type(loss).__name__ else ONEHOT
        np.testing.assert_allclose(loss(y_, _t(Z)).data, ce, rtol=1e-10)
    bce = L.BinaryCrossentropy(reduction="sum")
    np.testing.assert_allclose(bce(Y01, _t(P)).data,
                               _per("binary_crossentropy", Y01, P).sum(), rtol=1e-10)
    assert L.get(L.serialize(sum_loss)).reduction == "sum"
    assert L.SumSquaredError().reduction == "sum"
    with pytest.raises(ValueError, match="reduction"):
        L.MeanSquaredError(reduction="avg")


@pytest.mark.parametrize("name", ["sparse", "categorical", "binary-logits", "binary"])
@pytest.mark.parametrize("weighted", [None, "sample", "step"])
@pytest.mark.parametrize("masked", [False, True])
def test_fused_cross_entropies_on_sequences_match_their_composition(name, weighted, masked):
    """(batch, steps, classes) predictions take the fused node (per-step weights, masks
    merged in as Keras's apply_mask does) and give the composed loss's value and gradient."""
    from glassnet.losses import _mask_weights, _reduce
    from glassnet.tensor import set_mask

    r = np.random.default_rng(0)
    c = 1 if name.startswith("binary") else 3
    z = r.standard_normal((4, 5, c))
    if name == "binary":
        z = 1 / (1 + np.exp(-z))  # probabilities
    loss = {"sparse": L.SparseCategoricalCrossentropy(from_logits=True),
            "categorical": L.CategoricalCrossentropy(from_logits=True),
            "binary-logits": L.BinaryCrossentropy(from_logits=True),
            "binary": L.BinaryCrossentropy()}[name]
    labels = r.integers(0, 3, (4, 5))
    y = {"sparse": labels, "categorical": np.eye(3)[labels]}.get(
        name, (r.random((4, 5, 1)) > 0.5).astype(float))
    sw = {None: None, "sample": r.random(4) + 0.5, "step": r.random((4, 5)) + 0.5}[weighted]
    mask = np.arange(5) < np.array([[5], [3], [1], [4]])
    assert loss.has_kernel(3)
    got = gn.tensor(z, dtype="float64", requires_grad=True)
    want = gn.tensor(z, dtype="float64", requires_grad=True)
    if masked:
        set_mask(got, mask)
    value = loss(y, got, sw)
    assert type(value._ctx).__name__ in ("SoftmaxCrossEntropy", "SigmoidBinaryCrossEntropy",
                                         "BinaryCrossEntropy")  # the one fused node
    value.backward()
    per = loss.call(y, want)  # the composition: per-step losses, then the weights
    w = (_mask_weights(sw, mask, tuple(per.shape), loss.reduction, loss.name, np.float64)
         if masked else sw)
    ref = _reduce(per, w, loss.name, loss.reduction)
    ref.backward()
    np.testing.assert_allclose(float(value.data), float(ref.data), rtol=1e-10)
    np.testing.assert_allclose(got.grad, want.grad, rtol=1e-9, atol=1e-12)
