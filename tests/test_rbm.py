"""RBM: scikit-learn references on digits, free-energy gradients via glassnet autograd,
CD update direction, Gaussian units, saving."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import ops
from glassnet.models import RBM


def _free_energy_tensor(v, W, bh, bv):
    # F(v) = -v·b_v - Σ softplus(v Wᵀ + b_h), written with glassnet ops (softplus = log(1+e^a)).
    a = ops.matmul(v, ops.transpose(W)) + bh
    softplus = ops.log(1.0 + ops.exp(a))
    return -(v @ bv) - ops.sum(softplus, axis=1)


@pytest.fixture(scope="module")
def digits():
    sk = pytest.importorskip("sklearn.datasets")
    from sklearn.model_selection import train_test_split

    X, y = sk.load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.2, random_state=0)


def test_free_energy_matches_tensor_version_and_gradcheck():
    rbm = RBM(5, epochs=1, random_state=0).fit(np.random.default_rng(0).random((20, 4)))
    v = np.random.default_rng(1).random((3, 4))
    W, bh, bv = rbm.components_, rbm.intercept_hidden_, rbm.intercept_visible_
    ref = _free_energy_tensor(gn.tensor(v), gn.tensor(W), gn.tensor(bh), gn.tensor(bv)).data
    np.testing.assert_allclose(rbm.free_energy(v), ref, rtol=1e-5)
    gn.gradcheck(lambda W, bh, bv: _free_energy_tensor(gn.tensor(v), W, bh, bv).sum(), W, bh, bv)


def test_cd_update_is_free_energy_gradient_difference():
    rng = np.random.default_rng(0)
    rbm = RBM(6, k=2, epochs=1, random_state=0).fit(rng.random((10, 5)))
    rbm.components_ = rbm.components_.astype(np.float64) + rng.normal(0, 0.5, (6, 5))
    rbm.intercept_hidden_ = rbm.intercept_hidden_.astype(np.float64)
    rbm.intercept_visible_ = rbm.intercept_visible_.astype(np.float64)
    v_pos = (rng.random((8, 5)) < 0.5).astype(np.float64)
    (dW, dh, dv), v_neg = rbm.cd_gradients(v_pos)

    def grads(v):
        f64 = np.float64
        W = gn.tensor(rbm.components_, requires_grad=True, dtype=f64)
        bh = gn.tensor(rbm.intercept_hidden_, requires_grad=True, dtype=f64)
        bv = gn.tensor(rbm.intercept_visible_, requires_grad=True, dtype=f64)
        _free_energy_tensor(gn.tensor(v, dtype=f64), W, bh, bv).mean().backward()
        return W.grad, bh.grad, bv.grad

    gp, gn_ = grads(v_pos), grads(v_neg)
    for ours, p, m in zip((dW, dh, dv), gp, gn_):
        np.testing.assert_allclose(ours, -p + m, rtol=1e-6, atol=1e-10)


def test_pseudo_likelihood_and_pipeline_vs_sklearn(digits):
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import BernoulliRBM
    from sklearn.pipeline import Pipeline

    Xtr, Xte, ytr, yte = digits
    kw = dict(learning_rate=0.06, batch_size=10)
    ours = RBM(64, persistent=True, epochs=10, random_state=0, **kw).fit(Xtr)
    sk = BernoulliRBM(n_components=64, n_iter=10, random_state=0, **kw).fit(Xtr)
    pl_ours, pl_sk = ours.score_samples(Xte).mean(), sk.score_samples(Xte).mean()
    assert abs(pl_ours - pl_sk) < 0.1 * abs(pl_sk), (pl_ours, pl_sk)
    assert ours.components_.shape == (64, 64) and ours.intercept_hidden_.shape == (64,)
    errs = ours.history["reconstruction_error"]
    assert len(errs) == 10 and errs[-1] < errs[0]

    from threadpoolctl import threadpool_limits

    def acc(est):
        pl = Pipeline([("rbm", est), ("clf", LogisticRegression(max_iter=1000))])
        # One BLAS thread: on a shared 2-core machine lbfgs is ~100x slower oversubscribed.
        with threadpool_limits(1):
            return pl.fit(Xtr, ytr).score(Xte, yte)

    a_ours = acc(RBM(64, persistent=True, epochs=10, random_state=0, **kw))
    a_sk = acc(BernoulliRBM(n_components=64, n_iter=10, random_state=0, **kw))
    assert a_ours > a_sk - 0.03, (a_ours, a_sk)


def test_get_set_params_and_errors():
    rbm = RBM(8, k=3)
    assert rbm.get_params()["k"] == 3 and rbm.set_params(k=2).k == 2
    with pytest.raises(ValueError, match="unknown parameter 'foo'"):
        rbm.set_params(foo=1)
    with pytest.raises(ValueError, match="visible must be"):
        RBM(4, visible="poisson").fit(np.zeros((3, 2)))
    rbm = RBM(4, epochs=1, random_state=0).fit(np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"expected 3 visible features; received input shape"):
        rbm.transform(np.zeros((2, 4)))


def test_gaussian_visible_reconstructs_standardized_data():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(400, 2))
    X = z @ rng.normal(size=(2, 6))
    X = (X - X.mean(0)) / X.std(0)
    rbm = RBM(16, visible="gaussian", learning_rate=0.01, momentum=0.5, epochs=15,
              batch_size=20, random_state=0).fit(X)  # fmt: skip
    errs = rbm.history["reconstruction_error"]
    assert errs[-1] < 0.7 * errs[0]
    v = rbm.free_energy(X[:3])
    ref = 0.5 * ((X[:3] - rbm.intercept_visible_) ** 2).sum(1) - np.logaddexp(
        0, X[:3] @ rbm.components_.T + rbm.intercept_hidden_
    ).sum(1)
    np.testing.assert_allclose(v, ref, rtol=1e-4)
    assert rbm.sample(4, steps=5).shape == (4, 6)


def test_seeded_and_save_load(tmp_path):
    X = (np.random.default_rng(0).random((40, 6)) < 0.3).astype(float)
    a = RBM(5, k=2, epochs=2, random_state=3).fit(X)
    b = RBM(5, k=2, epochs=2, random_state=3).fit(X)
    np.testing.assert_array_equal(a.components_, b.components_)
    gn.set_seed(1)
    c = RBM(5, epochs=2).fit(X)
    gn.set_seed(1)
    d = RBM(5, epochs=2).fit(X)
    np.testing.assert_array_equal(c.components_, d.components_)
    a.save(tmp_path / "rbm")
    r = RBM.load(tmp_path / "rbm")
    np.testing.assert_array_equal(r.transform(X), a.transform(X))
    assert r.get_params() == a.get_params() and r.history == a.history
    s = a.gibbs(X[:3], steps=2)
    assert s.shape == (3, 6) and set(np.unique(s)) <= {0.0, 1.0}


def test_interrupted_save_keeps_the_previous_files(tmp_path, monkeypatch):
    from glassnet.models import saving

    x = (np.random.default_rng(0).random((40, 6)) > 0.5).astype(np.float32)
    good = RBM(4, epochs=2, random_state=0).fit(x)
    good.save(tmp_path / "rbm")

    def crash(fd):
        raise OSError("disk full")

    monkeypatch.setattr(saving.os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        RBM(4, epochs=1, random_state=1).fit(x).save(tmp_path / "rbm")
    monkeypatch.undo()
    back = RBM.load(tmp_path / "rbm")
    np.testing.assert_array_equal(back.components_, good.components_)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rbm.json", "rbm.npz"]  # no temp files
