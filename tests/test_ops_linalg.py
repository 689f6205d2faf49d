"""keras.ops' linear algebra (inv, det, slogdet, logdet, solve, solve_triangular, cholesky,
cholesky_inverse, eigh, svd, qr, pinv, lstsq, lu_factor, matrix_rank) and window functions.

Values against NumPy's linalg and, where real Keras 3 is installed, Keras's (PyTorch
backend); every differentiable op against central differences (``gn.gradcheck``), on
stacks of matrices. Symmetric inputs (cholesky, eigh) are made from a free matrix B as
(B + Bᵀ)/2 + shift, so that the differences see what the op reads; eigenvector and
singular-vector checks use losses that do not depend on each vector's sign (which no
decomposition fixes)."""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest

import glassnet as gn

O = gn.ops
HAS_KERAS = importlib.util.find_spec("keras") is not None
R = np.random.default_rng(7)


def _keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    return keras


def _kn(v):
    keras = _keras()
    if isinstance(v, (tuple, list)):
        return [keras.ops.convert_to_numpy(t) for t in v]
    return keras.ops.convert_to_numpy(v)


def _spd(b):
    """A symmetric positive definite stack from a free one (differentiable)."""
    n = b.shape[-1]
    return (b + O.swapaxes(b, -1, -2)) * 0.5 + gn.tensor(np.eye(n) * (2.0 * n))


def _w(shape, seed):
    return gn.tensor(np.random.default_rng(seed).standard_normal(shape))


# ------------------------------------------------------------------------ values
def test_values_match_numpy_on_stacks():
    a = R.standard_normal((2, 3, 3)) + 3 * np.eye(3)
    b = R.standard_normal((2, 3))
    bm = R.standard_normal((2, 3, 2))
    np.testing.assert_allclose(O.inv(a).data, np.linalg.inv(a), atol=1e-12)
    np.testing.assert_allclose(O.det(a).data, np.linalg.det(a), atol=1e-12)
    sign, logabs = O.slogdet(a)
    np.testing.assert_allclose(sign.data, np.linalg.slogdet(a)[0])
    np.testing.assert_allclose(logabs.data, np.linalg.slogdet(a)[1], atol=1e-12)
    np.testing.assert_allclose(O.solve(a, b).data, np.linalg.solve(a, b[..., None])[..., 0],
                               atol=1e-12)
    np.testing.assert_allclose(O.solve(a, bm).data, np.linalg.solve(a, bm), atol=1e-12)
    np.testing.assert_allclose(O.solve_triangular(a, b, lower=True).data,
                               np.linalg.solve(np.tril(a), b[..., None])[..., 0], atol=1e-12)
    np.testing.assert_allclose(O.solve_triangular(a, bm).data,
                               np.linalg.solve(np.triu(a), bm), atol=1e-12)
    s = a @ a.swapaxes(-1, -2)
    low = np.linalg.cholesky(s)
    np.testing.assert_allclose(O.cholesky(s).data, low, atol=1e-12)
    np.testing.assert_allclose(O.cholesky(s, upper=True).data, low.swapaxes(-1, -2),
                               atol=1e-12)
    np.testing.assert_allclose(O.cholesky_inverse(low).data, np.linalg.inv(s), atol=1e-9)
    np.testing.assert_allclose(O.cholesky_inverse(low.swapaxes(-1, -2), upper=True).data,
                               np.linalg.inv(s), atol=1e-9)
    w, v = O.eigh(s)
    np.testing.assert_allclose(w.data, np.linalg.eigvalsh(s), atol=1e-10)
    np.testing.assert_allclose(v.data @ (w.data[..., None] * v.data.swapaxes(-1, -2)), s,
                               atol=1e-10)
    for shape in ((2, 4, 3), (2, 3, 4), (3, 3)):
        x = R.standard_normal(shape)
        u, sv, vh = O.svd(x)
        uf, sf, vhf = np.linalg.svd(x)
        assert u.shape == uf.shape and vh.shape == vhf.shape
        np.testing.assert_allclose(sv.data, sf, atol=1e-12)
        k = min(shape[-2:])
        np.testing.assert_allclose((u.data[..., :k] * sv.data[..., None, :]) @ vh.data[..., :k, :],
                                   x, atol=1e-12)
        np.testing.assert_allclose(np.abs(u.data @ u.data.swapaxes(-1, -2)),
                                   np.abs(uf @ uf.swapaxes(-1, -2)), atol=1e-12)
        ur, _, vhr = O.svd(x, full_matrices=False)
        assert ur.shape[-1] == k and vhr.shape[-2] == k
        np.testing.assert_allclose(O.svd(x, compute_uv=False).data, sf, atol=1e-12)
        for mode in ("reduced", "complete"):
            q, r = O.qr(x, mode=mode)
            qn, rn = np.linalg.qr(x, mode=mode)
            np.testing.assert_allclose(q.data, qn, atol=1e-12)
            np.testing.assert_allclose(r.data, rn, atol=1e-12)
        np.testing.assert_allclose(O.pinv(x).data, np.linalg.pinv(x), atol=1e-10)
        np.testing.assert_array_equal(O.matrix_rank(x).data, np.linalg.matrix_rank(x))
    x, y = R.standard_normal((5, 3)), R.standard_normal(5)
    np.testing.assert_allclose(O.lstsq(x, y).data, np.linalg.lstsq(x, y, rcond=None)[0],
                               atol=1e-12)
    np.testing.assert_allclose(O.lstsq(x, np.stack([y, 2 * y], 1)).data,
                               np.linalg.lstsq(x, np.stack([y, 2 * y], 1), rcond=None)[0],
                               atol=1e-12)
    assert O.inv(a.astype("float32")).data.dtype == np.float32
    assert O.inv(np.array([[2, 0], [0, 4]])).data.dtype == gn.backend.floatx()
    assert O.matrix_rank(np.array([[1.0, 2.0], [2.0, 4.0]])).data.dtype == np.int32
    assert O.linalg.inv is O.inv and O.linalg.svd is O.svd


def test_logdet_is_nan_for_a_negative_determinant_and_minus_inf_for_a_singular_one():
    np.testing.assert_allclose(float(O.logdet(np.diag([2.0, 3.0])).data), np.log(6.0))
    assert np.isnan(float(O.logdet(np.diag([-2.0, 3.0])).data))
    assert float(O.logdet(np.zeros((2, 2))).data) == -np.inf


def test_lu_factor_reconstructs_with_getrf_pivots():
    for shape in ((4, 4), (2, 3, 3), (5, 3), (3, 5)):
        x = R.standard_normal(shape)
        lu, piv = O.lu_factor(x)
        assert piv.data.dtype == np.int32
        for m, lum, pv in zip(x.reshape(-1, *shape[-2:]), lu.data.reshape(-1, *shape[-2:]),
                              piv.data.reshape(-1, piv.shape[-1])):
            rows, cols = m.shape
            k = min(rows, cols)
            low = np.tril(lum, -1)[:, :k] + np.eye(rows, k)
            up = np.triu(lum)[:k]
            perm = np.arange(rows)
            for j, p in enumerate(pv):  # apply getrf's swaps in turn
                perm[[j, p]] = perm[[p, j]]
            np.testing.assert_allclose(m[perm], low @ up, atol=1e-12)
            assert all(j <= p < rows for j, p in enumerate(pv))
    try:
        from scipy.linalg import lu_factor as sp_lu
    except ImportError:
        return
    x = R.standard_normal((4, 4))
    lu, piv = O.lu_factor(x)
    slu, spiv = sp_lu(x)
    np.testing.assert_allclose(lu.data, slu, atol=1e-12)
    np.testing.assert_array_equal(piv.data, spiv)


def test_windows_match_numpy():
    for name in ("bartlett", "blackman", "hamming", "hanning"):
        got = getattr(O, name)(7)
        assert got.data.dtype == gn.backend.floatx()
        np.testing.assert_allclose(got.data, getattr(np, name)(7), atol=1e-7)
    np.testing.assert_allclose(O.kaiser(6, 3.5).data, np.kaiser(6, 3.5), atol=1e-7)
    assert O.hamming(0).shape == (0,)
    with pytest.raises(ValueError, match="number of points"):
        O.hanning(2.5)


# --------------------------------------------------------------------- gradients
def test_gradients_of_inverse_determinants_and_solves():
    a = R.standard_normal((2, 3, 3)) + 3 * np.eye(3)
    b, bm = R.standard_normal((2, 3)), R.standard_normal((2, 3, 2))
    gn.gradcheck(O.inv, a)
    gn.gradcheck(O.det, a)
    gn.gradcheck(lambda x: O.slogdet(x)[1], a)
    gn.gradcheck(O.logdet, _spd(gn.tensor(R.standard_normal((2, 3, 3)))).data)
    gn.gradcheck(O.solve, a, b)
    gn.gradcheck(O.solve, a, bm)
    gn.gradcheck(lambda x, y: O.solve(x, y), a[0], bm)  # one matrix, a stack of b
    for lower in (True, False):
        gn.gradcheck(lambda x, y, lo=lower: O.solve_triangular(x, y, lower=lo), a, b)
        gn.gradcheck(lambda x, y, lo=lower: O.solve_triangular(x, y, lower=lo), a, bm)
    # the triangle not read gets no gradient
    t = gn.tensor(a, requires_grad=True)
    O.solve_triangular(t, b, lower=True).sum().backward()
    assert not np.triu(t.grad, 1).any()


def test_determinant_gradient_at_a_singular_matrix_is_the_adjugate():
    a = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])  # rank 2
    t = gn.tensor(a, requires_grad=True)
    O.det(t).backward()
    cof = np.array([[np.linalg.det(np.delete(np.delete(a, i, 0), j, 1)) * (-1) ** (i + j)
                     for j in range(3)] for i in range(3)])
    np.testing.assert_allclose(t.grad, cof, atol=1e-5)
    gn.gradcheck(O.det, a)


def test_gradients_of_cholesky_and_its_inverse():
    b = R.standard_normal((2, 3, 3))
    gn.gradcheck(lambda x: O.cholesky(_spd(x)), b)
    gn.gradcheck(lambda x: O.cholesky(_spd(x), upper=True), b)
    low = np.linalg.cholesky(_spd(gn.tensor(b)).data)
    gn.gradcheck(O.cholesky_inverse, low)
    gn.gradcheck(lambda x: O.cholesky_inverse(x, upper=True), low.swapaxes(-1, -2))
    with pytest.raises(ValueError, match="positive definite"):
        O.cholesky(-np.eye(2))


def test_gradients_of_eigh():
    b = R.standard_normal((2, 4, 4))
    w1, w2 = _w((2, 4), 1), _w((2, 4, 4), 2)
    gn.gradcheck(lambda x: O.eigh(_spd(x))[0], b)
    # eigenvectors up to sign: a loss of their squares
    gn.gradcheck(lambda x: (O.eigh(_spd(x))[0] * w1).sum()
                 + (O.eigh(_spd(x))[1] ** 2 * w2).sum(), b)


@pytest.mark.parametrize("shape", [(2, 4, 3), (2, 3, 4), (3, 3)])
@pytest.mark.parametrize("full", [True, False])
def test_gradients_of_svd(shape, full):
    x = R.standard_normal(shape)
    m, n = shape[-2:]
    k = min(m, n)
    lead = shape[:-2]
    wu, ws, wv, wp = (_w((*lead, m, k), 3), _w((*lead, k), 4), _w((*lead, k, n), 5),
                      _w((*lead, m, n), 6))

    def loss(a):
        u, s, vh = O.svd(a, full_matrices=full)
        u, vh = u[..., :k], vh[..., :k, :]
        # sign-free: each vector squared, and each u_i v_iᵀ pair (their signs flip together)
        return ((u ** 2 * wu).sum() + (s * ws).sum() + (vh ** 2 * wv).sum()
                + (O.matmul(u, vh) * wp).sum())

    gn.gradcheck(loss, x)
    gn.gradcheck(lambda a: O.svd(a, compute_uv=False), x)


@pytest.mark.parametrize("shape", [(2, 4, 3), (3, 3), (2, 3, 5)])
def test_gradients_of_qr(shape):
    x = R.standard_normal(shape)
    gn.gradcheck(lambda a: (O.qr(a)[0] * _w(O.qr(a)[0].shape, 8)).sum()
                 + (O.qr(a)[1] * _w(O.qr(a)[1].shape, 9)).sum(), x)
    if shape[-2] <= shape[-1]:
        gn.gradcheck(lambda a: O.qr(a, mode="complete")[1], x)


def test_qr_complete_on_a_tall_matrix_refuses_gradients_clearly():
    t = gn.tensor(R.standard_normal((4, 2)), requires_grad=True)
    q, _ = O.qr(t, mode="complete")
    with pytest.raises(ValueError, match="complete"):
        q.sum().backward()


def test_gradients_of_pinv_and_lstsq():
    for shape in ((4, 3), (3, 4), (2, 3, 3)):
        gn.gradcheck(O.pinv, R.standard_normal(shape))
    a, y = R.standard_normal((5, 3)), R.standard_normal(5)
    gn.gradcheck(O.lstsq, a, y)
    gn.gradcheck(O.lstsq, a, R.standard_normal((5, 2)))


def test_bad_shapes_are_named():
    with pytest.raises(ValueError, match=r"inv: x must be a stack of square matrices"):
        O.inv(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"solve: b must be"):
        O.solve(np.eye(3), np.ones(2))
    with pytest.raises(ValueError, match="mode must be"):
        O.qr(np.eye(2), mode="r")
    with pytest.raises(ValueError, match="svd: x must be a stack of matrices"):
        O.svd(np.ones(3))


# --------------------------------------------------------------------- against Keras
@pytest.mark.skipif(not HAS_KERAS, reason="real Keras 3 is not installed")
def test_values_match_keras():
    K = _keras().ops
    a = (R.standard_normal((2, 3, 3)) + 3 * np.eye(3)).astype("float32")
    s = (a @ a.swapaxes(-1, -2)).astype("float32")
    b = R.standard_normal((2, 3)).astype("float32")
    x = R.standard_normal((4, 3)).astype("float32")
    for name, args, kw in [("inv", (a,), {}), ("det", (a,), {}), ("logdet", (s,), {}),
                           ("solve", (a, b), {}), ("solve_triangular", (a, b), {"lower": True}),
                           ("solve_triangular", (a, b), {}), ("cholesky", (s,), {}),
                           ("cholesky", (s,), {"upper": True}), ("pinv", (x,), {}),
                           ("lstsq", (x, x[:, 0]), {}), ("matrix_rank", (x,), {}),
                           ("bartlett", (6,), {}), ("blackman", (6,), {}),
                           ("hamming", (6,), {}), ("hanning", (6,), {}),
                           ("kaiser", (6, 2.0), {})]:
        got, want = getattr(O, name)(*args, **kw), _kn(getattr(K, name)(*args, **kw))
        np.testing.assert_allclose(got.data, want, rtol=1e-4, atol=1e-5, err_msg=name)
    low = np.linalg.cholesky(s)
    np.testing.assert_allclose(O.cholesky_inverse(low).data, _kn(K.cholesky_inverse(low)),
                               rtol=1e-4, atol=1e-5)
    for got, want in zip(O.slogdet(a), _kn(K.slogdet(a))):
        np.testing.assert_allclose(got.data, want, rtol=1e-5, atol=1e-5)
    gw, gv = O.eigh(s)
    kw_, kv = _kn(K.eigh(s))
    np.testing.assert_allclose(gw.data, kw_, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.abs(gv.data), np.abs(kv), atol=1e-4)
    for full in (True, False):
        gu, gs, gvh = O.svd(x, full_matrices=full)
        ku, ks, kvh = _kn(K.svd(x, full_matrices=full))
        assert gu.shape == ku.shape and gvh.shape == kvh.shape
        np.testing.assert_allclose(gs.data, ks, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(np.abs(gu.data[:, :3]), np.abs(ku[:, :3]), atol=1e-4)
    for mode in ("reduced", "complete"):
        gq, gr = O.qr(x, mode=mode)
        kq, kr = _kn(K.qr(x, mode=mode))
        assert gq.shape == kq.shape and gr.shape == kr.shape
        np.testing.assert_allclose(np.abs(gr.data), np.abs(kr), atol=1e-4)
    lu, piv = O.lu_factor(a)
    klu, kpiv = _kn(K.lu_factor(a))
    np.testing.assert_allclose(lu.data, klu, atol=1e-5)
    np.testing.assert_array_equal(piv.data, kpiv)
    assert str(piv.data.dtype) == str(kpiv.dtype)
