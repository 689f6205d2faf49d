"""Fused kernels in glassnet.functional against the compositions of primitives they replace,
against PyTorch where available, and for numerical stability."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import functional as F


def _r(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _same_forward_and_grads(fused, composed, *arrays, rtol=1e-10):
    """Both callables on float64 copies: equal values and equal input gradients."""
    outs, grads = [], []
    for fn in (fused, composed):
        ts = [gn.tensor(a, requires_grad=True, dtype="float64") for a in arrays]
        y = fn(*ts)
        proj = _r(*y.shape, seed=99)
        (y * proj).sum().backward()
        outs.append(y.data)
        grads.append([t.grad for t in ts])
    np.testing.assert_allclose(outs[0], outs[1], rtol=rtol, atol=1e-12)
    for g0, g1 in zip(*grads):
        np.testing.assert_allclose(g0, g1, rtol=rtol, atol=1e-12)


# ------------------------------------------------------------------ linear
@pytest.mark.parametrize("xshape", [(5, 3), (2, 4, 3), (2, 3, 4, 3), (3,)])
def test_linear_matches_matmul_plus_bias(xshape):
    x, w, b = _r(*xshape), _r(3, 2, seed=1), _r(2, seed=2)
    _same_forward_and_grads(F.linear, lambda x, w, b: x @ w + b, x, w, b)
    _same_forward_and_grads(F.linear, lambda x, w: x @ w, x, w)
    gn.gradcheck(F.linear, x, w, b)


def test_linear_skips_input_gradient_for_data():
    x = gn.tensor(_r(4, 3))
    w = gn.tensor(_r(3, 2), requires_grad=True)
    F.linear(x, w).sum().backward()
    assert x.grad is None
    np.testing.assert_allclose(w.grad, x.data.sum(0)[:, None].repeat(2, 1), rtol=1e-6)


def test_linear_relu_in_inference_keeps_no_mask_and_gives_the_same_values():
    x, w, b = (_r(6, 3), _r(3, 4, seed=1), _r(4, seed=2))
    fn = F.Linear("relu")
    y = fn(gn.tensor(x), gn.tensor(w, requires_grad=True), gn.tensor(b))
    np.testing.assert_allclose(y.data, np.maximum(x @ w + b, 0), rtol=1e-5, atol=1e-6)
    assert hasattr(fn, "mask")
    with gn.no_grad():
        inf = F.Linear("relu")
        y2 = inf(gn.tensor(x), gn.tensor(w), gn.tensor(b))
    # the same values (+0 where the training forward writes -0)
    np.testing.assert_array_equal(y2.data, y.data)
    assert getattr(inf, "mask", None) is None  # no bool array kept for a backward
    # an op keeps the choice of the mode it was made in: a replay under another grad mode
    # repeats it
    y3 = inf.forward(x, w, b)
    assert getattr(inf, "mask", None) is None
    np.testing.assert_array_equal(np.signbit(y3), np.signbit(y2.data))


def test_linear_shape_error_names_shapes():
    with pytest.raises(ValueError, match=r"linear: input feature size 4.*\(3, 2\).*\(5, 4\)"):
        F.linear(gn.tensor(np.ones((5, 4))), gn.tensor(np.ones((3, 2))))


# ------------------------------------------------------------------ softmax family
def _softmax_composed(x, axis=-1):
    e = gn.exp(x - x.max(axis=axis, keepdims=True).detach())
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_log_softmax_logsumexp_match_compositions(axis):
    x = _r(3, 4, 5)
    _same_forward_and_grads(lambda t: F.softmax(t, axis), lambda t: _softmax_composed(t, axis), x)
    _same_forward_and_grads(
        lambda t: F.log_softmax(t, axis), lambda t: gn.log(_softmax_composed(t, axis)), x
    )
    _same_forward_and_grads(
        lambda t: F.logsumexp(t, axis), lambda t: gn.log(gn.exp(t).sum(axis=axis)), x
    )
    _same_forward_and_grads(
        lambda t: F.logsumexp(t, axis, keepdims=True),
        lambda t: gn.log(gn.exp(t).sum(axis=axis, keepdims=True)), x,
    )


def test_softmax_family_is_stable_for_huge_logits():
    x = np.array([[1000.0, 1001.0, 999.0], [-1000.0, -1000.0, -1e4]], np.float32)
    ref_logp = x - x.max(1, keepdims=True)
    ref_logp = ref_logp - np.log(np.exp(ref_logp).sum(1, keepdims=True))
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        p = F.softmax(gn.tensor(x)).data
        lp = F.log_softmax(gn.tensor(x)).data
        lse = F.logsumexp(gn.tensor(x)).data
    np.testing.assert_allclose(p, np.exp(ref_logp), rtol=1e-5)
    np.testing.assert_allclose(lp, ref_logp, rtol=1e-5)
    np.testing.assert_allclose(lse, x.max(1) + np.log(np.exp(x - x.max(1, keepdims=True)).sum(1)))
    assert np.isfinite(p).all() and np.isfinite(lp).all()


def test_logsumexp_of_all_minus_inf_row_is_minus_inf_not_nan():
    x = np.array([[-np.inf, -np.inf], [0.0, 0.0]])
    with np.errstate(divide="ignore"):
        out = F.logsumexp(gn.tensor(x, dtype="float64")).data
    assert out[0] == -np.inf and np.isclose(out[1], np.log(2))


def test_softmax_matches_torch():
    torch = pytest.importorskip("torch")
    x = _r(4, 6)
    t = gn.tensor(x, requires_grad=True, dtype="float64")
    proj = _r(4, 6, seed=3)
    (F.softmax(t) * proj).sum().backward()
    xt = torch.tensor(x, requires_grad=True)
    (torch.softmax(xt, -1) * torch.tensor(proj)).sum().backward()
    np.testing.assert_allclose(t.grad, xt.grad.numpy(), rtol=1e-10, atol=1e-14)


# ------------------------------------------------------------------ cross-entropies
def _ce_composed(z, onehot, w=None):
    per = -(gn.tensor(onehot, dtype="float64") * F.log_softmax(z)).sum(axis=-1)
    if w is not None:
        per = per * gn.tensor(w, dtype="float64")
    return per.sum() / onehot.shape[0]


# four classes take the one-call log-sum-exp for few classes, seven the max-shifted exp,
# whose backward divides forward's exponentials
@pytest.mark.parametrize("c", [4, 7])
@pytest.mark.parametrize("weighted", [False, True])
def test_softmax_cross_entropy_matches_composition(weighted, c):
    z, y = _r(6, c), np.array([0, 3, 1, 1, 2, 0])
    w = np.abs(_r(6, seed=5)) if weighted else None
    onehot = np.eye(c)[y]
    comp = lambda t: _ce_composed(t, onehot, w)  # noqa: E731
    _same_forward_and_grads(lambda t: F.softmax_cross_entropy(t, y, w), comp, z)
    _same_forward_and_grads(lambda t: F.softmax_cross_entropy(t, onehot, w), comp, z)
    gn.gradcheck(lambda t: F.softmax_cross_entropy(t, y, w), z)


@pytest.mark.parametrize("c", [3, 7])
def test_softmax_cross_entropy_soft_targets(c):
    z = _r(5, c)
    t = np.random.default_rng(1).dirichlet(np.ones(c), size=5)
    _same_forward_and_grads(
        lambda a: F.softmax_cross_entropy(a, t), lambda a: _ce_composed(a, t), z
    )
    gn.gradcheck(lambda a: F.softmax_cross_entropy(a, t), z)


@pytest.mark.parametrize("n, c", [(8, 5), (8, 3), (16, 1), (200, 3)])
def test_softmax_cross_entropy_matches_torch_and_is_stable(n, c):
    # (8, 3) and (16, 1) take the one-call log-sum-exp for few classes; the others the
    # max-shifted exp
    torch = pytest.importorskip("torch")
    z = _r(n, c) * 300  # logits in the hundreds: a naive softmax would overflow
    y = np.arange(n) % c
    t = gn.tensor(z, requires_grad=True, dtype="float64")
    loss = F.softmax_cross_entropy(t, y)
    loss.backward()
    zt = torch.tensor(z, requires_grad=True)
    lt = torch.nn.functional.cross_entropy(zt, torch.tensor(y))
    lt.backward()
    np.testing.assert_allclose(loss.item(), lt.item(), rtol=1e-12)
    np.testing.assert_allclose(t.grad, zt.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_softmax_cross_entropy_sample_weight_length_checked():
    with pytest.raises(ValueError, match=r"one entry per sample \(3\).*\(2,\)"):
        F.softmax_cross_entropy(gn.tensor(np.ones((3, 2))), [0, 1, 0], sample_weight=[1, 2])


def _bce_logits_composed(z, y, w=None):
    p = gn.sigmoid(z)
    yt = gn.tensor(y, dtype="float64")
    per = -(yt * gn.log(p) + (1.0 - yt) * gn.log(1.0 - p))
    if w is not None:
        per = per * gn.tensor(w.reshape(-1, 1), dtype="float64")
    return per.mean()


@pytest.mark.parametrize("weighted", [False, True])
def test_sigmoid_bce_matches_composition(weighted):
    z = _r(6, 2)
    y = (np.random.default_rng(2).random((6, 2)) > 0.5).astype(np.float64)
    w = np.abs(_r(6, seed=4)) if weighted else None
    _same_forward_and_grads(
        lambda t: F.sigmoid_binary_cross_entropy(t, y, w),
        lambda t: _bce_logits_composed(t, y, w), z, rtol=1e-9,
    )
    gn.gradcheck(lambda t: F.sigmoid_binary_cross_entropy(t, y, w), z)


def test_sigmoid_bce_stable_and_matches_torch():
    torch = pytest.importorskip("torch")
    z = np.array([[-200.0], [-3.0], [0.0], [4.0], [150.0]])
    y = np.array([[1.0], [0.0], [1.0], [1.0], [0.0]])
    t = gn.tensor(z, requires_grad=True, dtype="float64")
    loss = F.sigmoid_binary_cross_entropy(t, y)
    loss.backward()
    zt = torch.tensor(z, requires_grad=True)
    lt = torch.nn.functional.binary_cross_entropy_with_logits(zt, torch.tensor(y))
    lt.backward()
    assert np.isfinite(loss.item())
    np.testing.assert_allclose(loss.item(), lt.item(), rtol=1e-12)
    np.testing.assert_allclose(t.grad, zt.grad.numpy(), rtol=1e-10)


def test_binary_cross_entropy_on_probabilities_matches_composition():
    p = np.random.default_rng(0).uniform(0.05, 0.95, (5, 3))
    y = (np.random.default_rng(1).random((5, 3)) > 0.5).astype(np.float64)

    def composed(t):
        yt = gn.tensor(y, dtype="float64")
        return (-(yt * gn.log(t) + (1.0 - yt) * gn.log(1.0 - t))).mean()

    _same_forward_and_grads(lambda t: F.binary_cross_entropy(t, y), composed, p, rtol=1e-9)
    gn.gradcheck(lambda t: F.binary_cross_entropy(t, y), p)


def test_binary_cross_entropy_clips_like_keras():
    p = gn.tensor([0.0, 1.0], requires_grad=True, dtype="float64")
    loss = F.binary_cross_entropy(p, [1.0, 0.0])
    loss.backward()
    np.testing.assert_allclose(loss.item(), -np.log(1e-7), rtol=1e-6)
    np.testing.assert_array_equal(p.grad, [0.0, 0.0])  # outside the clip range: no gradient


# ------------------------------------------------------------------ one_hot, dropout
def test_one_hot_matches_eye():
    y = np.array([[2, 0], [1, 1]])
    out = gn.one_hot(y, 3)
    np.testing.assert_array_equal(out.data, np.eye(3)[y])
    assert out.dtype == np.float32 and not out.requires_grad
    assert gn.one_hot(gn.tensor([1.0]), 2).shape == (1, 2)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\).*max 3"):
        gn.one_hot([0, 3], 3)


def test_dropout_scales_kept_units_and_gradient_uses_same_mask():
    x = gn.tensor(np.ones((200, 50)), requires_grad=True)
    y = F.dropout(x, 0.3)
    kept = y.data != 0
    np.testing.assert_allclose(y.data[kept], 1 / 0.7, rtol=1e-6)
    assert abs(kept.mean() - 0.7) < 0.02
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, y.data)
    assert F.dropout(x, 0.3, training=False) is x
    assert F.dropout(x, 0.0) is x


# ------------------------------------------------------------------ end to end
def test_quickstart_example_learns_digits(capsys):
    """examples/quickstart.py: the fused kernels train a 64-64-10 net past 90 % on digits."""
    pytest.importorskip("sklearn")
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "examples" / "quickstart.py"
    spec = importlib.util.spec_from_file_location("quickstart_example", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["quickstart_example"] = mod
    spec.loader.exec_module(mod)
    acc = mod.main(["--epochs", "5"])
    out = capsys.readouterr().out
    assert acc > 0.9
    assert "dg/dx = -3, dg/dy = -3, dg/dz = 4" in out
    assert out.count("test accuracy") == 5


def test_linear_with_frozen_kernel_still_trains_the_input():
    x = gn.tensor(_r(4, 3), requires_grad=True, dtype="float64")
    w = gn.tensor(_r(3, 2, seed=1), dtype="float64")  # frozen: no gradient wanted
    b = gn.tensor(_r(2, seed=2), dtype="float64")
    F.linear(x, w, b).sum().backward()
    assert w.grad is None and b.grad is None
    np.testing.assert_allclose(x.grad, np.ones((4, 2)) @ w.data.T, rtol=1e-12)


@pytest.mark.parametrize("shape", [(32, 10), (16, 3), (200, 3), (1, 1), (4, 7)])
def test_softmax_cross_entropy_hands_back_the_softmax_bits(shape):
    """The loss node's probabilities are the Softmax op's array, bit for bit, on the
    log-sum-exp path of a few classes and on the exponentials' path alike."""
    z = (np.random.default_rng(2).standard_normal(shape) * 30).astype(np.float32)
    fn = F.SoftmaxCrossEntropy(np.zeros(shape[0], np.int64))
    fn.forward(z)
    p = fn.probabilities()
    assert p.dtype == z.dtype
    assert np.array_equal(p, F.Softmax().forward(z))
