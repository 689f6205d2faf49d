"""More of keras.ops: scatter, scatter_update, segment_sum/max, in_top_k,
depth_to_space/space_to_depth, psnr, cdist, cross, erfinv, histogram, saturate_cast.
Values equal Keras's (PyTorch backend, where installed) and NumPy formulas; the
differentiable ones pass central-difference gradient checks."""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import pytest

import glassnet as gn

O = gn.ops
HAS_KERAS = importlib.util.find_spec("keras") is not None
R = np.random.default_rng(0)


def _f(*shape):
    return R.standard_normal(shape).astype("float32")


CASES = [
    ("scatter", (np.array([[0, 1], [2, 0], [0, 1]]), _f(3), (3, 2)), {}),
    ("scatter", (np.array([[1], [0]]), _f(2, 4), (3, 4)), {}),
    ("scatter_update", (_f(4, 3), np.array([[1], [3]]), _f(2, 3)), {}),
    ("scatter_update", (_f(4, 3), np.array([[1, 2], [3, 0]]), _f(2)), {}),
    ("segment_sum", (_f(5, 3), np.array([0, 2, 0, 1, 2])), {}),
    ("segment_sum", (_f(5), np.array([0, 2, 0, 1, 2])), {"num_segments": 4}),
    ("segment_max", (_f(5, 3), np.array([0, 2, 0, 1, 2])), {}),
    ("segment_max", (_f(5), np.array([0, 2, 0, 1, 2])), {"num_segments": 4}),  # one empty
    ("segment_min", (_f(5, 3), np.array([0, 2, 0, 1, 2])), {}),
    ("segment_min", (_f(5), np.array([0, 2, 0, 1, 2])), {"num_segments": 4}),
    ("segment_prod", (_f(5, 3), np.array([0, 2, 0, 1, 2])), {}),
    ("segment_prod", (_f(5), np.array([0, 2, 0, 1, 2])), {"num_segments": 4}),
    ("in_top_k", (np.array([1, 0, 2]), _f(3, 4), 2), {}),
    ("depth_to_space", (_f(2, 3, 4, 8), 2), {}),
    ("depth_to_space", (_f(2, 8, 3, 4), 2), {"data_format": "channels_first"}),
    ("space_to_depth", (_f(2, 4, 6, 3), 2), {}),
    ("space_to_depth", (_f(2, 3, 4, 6), 2), {"data_format": "channels_first"}),
    ("psnr", (R.random((2, 8, 8, 3)).astype("float32"), R.random((2, 8, 8, 3)).astype("float32"),
              1.0), {}),
    ("cdist", (_f(2, 5, 3), _f(2, 4, 3)), {}),
    ("cross", (_f(4, 3), _f(4, 3)), {}),
    ("cross", (_f(3, 4), _f(3, 4)), {"axis": 0}),
    ("erfinv", (np.array([-0.999, -0.5, 0.0, 0.3, 0.9, 0.99999, 1.0], "float32"),), {}),
    ("histogram", (_f(50),), {"bins": 5}),
    ("saturate_cast", (np.array([-300.0, 5.5, 300.0], "float32"), "uint8"), {}),
    ("saturate_cast", (np.array([-300, 5, 300]), "int8"), {}),
    ("extract_sequences", (_f(2, 10), 4, 3), {}),
    ("extract_sequences", (_f(7), 7, 1), {}),
    ("view", (_f(2, 4), "int32"), {}),
    ("view", (_f(2, 4), "uint8"), {}),
]


def _numpy(v):
    return [_numpy(u)[0] for u in v] if isinstance(v, (tuple, list)) else [np.asarray(v)]


@pytest.mark.skipif(not HAS_KERAS, reason="real Keras 3 is not installed")
@pytest.mark.parametrize("case", range(len(CASES)))
def test_values_match_keras(case):
    import os

    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    name, args, kwargs = CASES[case]
    got = getattr(O, name)(*args, **kwargs)
    got = [t.data for t in got] if isinstance(got, tuple) else [got.data]
    want = getattr(keras.ops, name)(*args, **kwargs)
    want = [keras.ops.convert_to_numpy(w) for w in (want if isinstance(want, (tuple, list))
                                                     else [want])]
    for g, w in zip(got, want):
        assert g.shape == w.shape
        np.testing.assert_allclose(g.astype(float), w.astype(float), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name,args", [
    ("scatter", lambda v: (np.array([[0, 1], [2, 0], [0, 1]]), v, (3, 2))),
    ("scatter_update", lambda v: (v, np.array([[1], [3]]), v[:2] * 2)),
    ("segment_sum", lambda v: (v, np.array([0, 2, 0]), 4)),
    ("segment_max", lambda v: (v, np.array([0, 2, 0]), 4)),
    ("segment_min", lambda v: (v, np.array([0, 2, 0]), 4)),
    ("segment_prod", lambda v: (v, np.array([0, 2, 0]), 4)),
    ("depth_to_space", lambda v: (v.reshape(1, 1, 3, 4), 2)),
    ("space_to_depth", lambda v: (v.reshape(1, 2, 2, 3), 2)),
    ("cdist", lambda v: (v.reshape(3, 4), v.reshape(3, 4)[:2] + 1)),
    ("cross", lambda v: (v.reshape(4, 3), v.reshape(4, 3)[::-1])),
    ("psnr", lambda v: (v, v * 0.5 + 0.1, 1.0)),
    ("extract_sequences", lambda v: (v.reshape(2, 6), 4, 2)),
    ("sparsemax", lambda v: (v.reshape(3, 4) * 0.3,)),
])
def test_gradients_are_central_differences(name, args):
    segs = ("segment_sum", "segment_max", "segment_min", "segment_prod")
    base = R.standard_normal(12 if name not in ("scatter", *segs) else 3)
    if name == "scatter_update":
        base = R.standard_normal((4, 3))
    if name in segs:
        base = R.standard_normal((3, 2))
    out = getattr(O, name)(*args(base))
    w = R.standard_normal(out.shape) if out.ndim else 1.0
    if name in ("segment_max", "segment_min"):  # the empty segment's ±inf takes no part
        w = w * np.isfinite(out.data)
    gn.gradcheck(lambda t: (getattr(O, name)(*args(t)) * gn.tensor(np.nan_to_num(w))).sum()
                 if name not in ("segment_max", "segment_min") else
                 (gn.ops.where(np.isfinite(out.data), getattr(O, name)(*args(t)), 0.0)
                  * gn.tensor(w)).sum(), base)


def test_erfinv_inverts_erf_and_its_derivative():
    y = np.linspace(-0.99, 0.99, 41)
    x = O.erfinv(y).data
    # to the accuracy of glassnet's erf (its erfc's fractional error is below 1.2e-7),
    # under float32's resolution
    np.testing.assert_allclose(np.array([math.erf(v) for v in x]), y, atol=2e-7)
    # the derivative, sqrt(pi)/2·exp(erfinv(y)²), against wide central differences (erf's
    # 1e-7 wiggles swamp gradcheck's 1e-6 steps)
    t = gn.tensor(y, requires_grad=True)
    O.erfinv(t).sum().backward()
    h = 1e-3
    numeric = (O.erfinv(y + h).data - O.erfinv(y - h).data) / (2 * h)
    np.testing.assert_allclose(t.grad, numeric, rtol=5e-3)  # (steep near ±1: h² terms)
    assert np.isnan(O.erfinv(np.array([1.5])).data[0])


def test_bad_input_is_refused_by_name():
    with pytest.raises(ValueError, match="scatter: indices must be an"):
        O.scatter(np.array([1, 2]), np.ones(2), (3,))
    with pytest.raises(ValueError, match="out of range"):
        O.scatter(np.array([[5]]), np.ones(1), (3,))
    with pytest.raises(ValueError, match="segment_ids must be"):
        O.segment_sum(np.ones((3, 2)), np.array([0, 1]))
    with pytest.raises(ValueError, match="block_size"):
        O.depth_to_space(np.ones((1, 2, 2, 4)), 1)
    with pytest.raises(ValueError, match="multiple of block_size"):
        O.depth_to_space(np.ones((1, 2, 2, 3)), 2)
    with pytest.raises(ValueError, match="3 components"):
        O.cross(np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match="1-D"):
        O.histogram(np.ones((2, 2)))


def test_segment_prod_gradient_with_zeros():
    """A segment's only zero gets the product of its other rows; with two zeros, every
    row's gradient is 0; the other rows of a segment with one zero get 0 (central
    differences agree at these points: the product is linear in each row)."""
    x = np.array([0.0, 2.0, 3.0, 0.0, 0.0, 4.0, 5.0])
    ids = np.array([0, 0, 0, 1, 1, 1, 2])
    t = gn.tensor(x, requires_grad=True)
    O.segment_prod(t, ids).sum().backward()
    np.testing.assert_allclose(t.grad, [6.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0])
    gn.gradcheck(lambda v: O.segment_prod(v, ids).sum(), x)


def _sparsemax_reference(z):
    """Martins & Astudillo (2016), Algorithm 1, one row at a time."""
    out = []
    for row in np.atleast_2d(z):
        zs = np.sort(row)[::-1]
        k = max(j for j in range(1, len(zs) + 1) if 1 + j * zs[j - 1] > zs[:j].sum())
        out.append(np.maximum(row - (zs[:k].sum() - 1) / k, 0))
    return np.array(out)


def test_sparsemax_is_the_projection_onto_the_simplex():
    """The published sparsemax: sums to 1 with exact zeros. Keras 3.15 returned
    [0, 0, 0.25] for [0, 0.5, 1] (keras-team/keras#23425, fixed after it); glassnet
    matches the paper's algorithm."""
    np.testing.assert_allclose(O.sparsemax(np.array([0.0, 0.5, 1.0])).data, [0, 0.25, 0.75])
    z = R.standard_normal((50, 6)) * 0.7
    y = O.sparsemax(z).data
    np.testing.assert_allclose(y, _sparsemax_reference(z), atol=1e-6)
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-6)
    assert (y == 0).any()
    np.testing.assert_allclose(O.sparsemax(z.T, axis=0).data, y.T, atol=1e-7)
    np.testing.assert_allclose(gn.activations.get("sparsemax")(z).data, y)


_UNFOLD = [dict(kernel_size=2), dict(kernel_size=(3, 2), stride=2, padding=1),
           dict(kernel_size=2, dilation=2, padding=(1, 0), stride=(1, 2))]


@pytest.mark.skipif(not HAS_KERAS, reason="real Keras 3 is not installed")
@pytest.mark.parametrize("kw", _UNFOLD)
def test_unfold_and_fold_match_keras(kw):
    import os

    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    K = keras.ops
    x = _f(2, 3, 7, 6)
    a = O.unfold(x, **kw).data
    b = K.convert_to_numpy(K.unfold(K.convert_to_tensor(x), **kw))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(O.fold(a, (7, 6), **kw).data,
                               K.convert_to_numpy(K.fold(K.convert_to_tensor(b), (7, 6), **kw)),
                               rtol=1e-6)


def test_unfold_and_fold_gradients_and_errors():
    x = R.standard_normal((1, 2, 4, 5))
    gn.gradcheck(lambda t: (O.unfold(t, kernel_size=2, padding=1, stride=2) ** 2).sum(), x)
    gn.gradcheck(lambda t: (O.fold(t, (4, 5), kernel_size=2, padding=1, stride=2) ** 2).sum(),
                 R.standard_normal((1, 8, 9)))
    # fold sums what unfold copies: <unfold(x), y> = <x, fold(y)>
    y = R.standard_normal((1, 8, 9))
    lhs = (O.unfold(x, kernel_size=2, padding=1, stride=2).data * y).sum()
    rhs = (x * O.fold(y, (4, 5), kernel_size=2, padding=1, stride=2).data).sum()
    assert lhs == pytest.approx(rhs, rel=1e-5)
    with pytest.raises(ValueError, match="unfold: x must be \\(N, C, H, W\\)"):
        O.unfold(np.ones((2, 4, 4)), 2)
    with pytest.raises(ValueError, match="fold: x must be \\(N, C\\*4, 9\\)"):
        O.fold(np.ones((1, 8, 6)), (4, 5), kernel_size=2, padding=1, stride=2)
    with pytest.raises(ValueError, match="no patch fits"):
        O.unfold(np.ones((1, 1, 2, 2)), 3)


@pytest.mark.parametrize("mode", ["valid", "same", "full"])
@pytest.mark.parametrize("n,m", [(5, 3), (3, 5), (4, 4), (1, 3), (6, 1)])
def test_correlate_values_and_gradients(mode, n, m):
    a, v = R.standard_normal(n), R.standard_normal(m)
    got = O.correlate(a, v, mode)
    full = np.correlate(a, v, "full") if n >= m else np.correlate(v, a, "full")[::-1]
    size = {"full": n + m - 1, "valid": max(n, m) - min(n, m) + 1, "same": n}[mode]
    start = (n + m - 1 - size) // 2
    np.testing.assert_allclose(np.atleast_1d(got.data), full[start:start + size], atol=1e-12)
    w = R.standard_normal(got.shape)
    gn.gradcheck(lambda x, y: (O.correlate(x, y, mode) * gn.tensor(w)).sum(), a, v)
    if HAS_KERAS:
        import os

        os.environ.setdefault("KERAS_BACKEND", "torch")
        import keras

        want = keras.ops.convert_to_numpy(keras.ops.correlate(a, v, mode))
        assert got.shape == want.shape
        np.testing.assert_allclose(got.data, want, atol=1e-6)


def test_vectorize_as_numpy_and_keras():
    """keras.ops.vectorize: scalars by default (broadcast, as NumPy's vectorize), core
    shapes by a gufunc signature, excluded positions passed as they are, gradients through
    the function's ops."""
    m, v = R.standard_normal((4, 3, 2)), R.standard_normal(2)
    got = O.vectorize(lambda a, b: a @ b, signature="(m,n),(n)->(m)")(m, v)
    np.testing.assert_allclose(got.data, m @ v, atol=1e-6)
    np.testing.assert_allclose(O.vectorize(lambda a, b: a * b + 1)(np.ones((2, 3)),
                                                                     np.arange(3.0)).data,
                               [[1, 2, 3], [1, 2, 3]])
    twice = O.vectorize(lambda a, k: a * k, excluded={1})
    np.testing.assert_allclose(twice(np.array([1.0, 2.0]), 3.0).data, [3.0, 6.0])
    pair = O.vectorize(lambda a: (a + 1, a * 2))(np.array([1.0, 2.0]))
    np.testing.assert_allclose([p.data for p in pair], [[2.0, 3.0], [2.0, 4.0]])
    gn.gradcheck(lambda a: O.vectorize(lambda x: x * x + 2 * x)(a).sum(), R.standard_normal(4))
    with pytest.raises(ValueError, match="core dimension 'n' is 2 and 3"):
        O.vectorize(lambda a, b: a @ b, signature="(m,n),(n)->(m)")(m, np.ones(3))
    with pytest.raises(ValueError, match="signature must look like"):
        O.vectorize(lambda a: a, signature="m->m")
    if HAS_KERAS:
        import os

        os.environ.setdefault("KERAS_BACKEND", "torch")
        import keras

        K = keras.ops
        want = K.vectorize(lambda a, b: K.matmul(a, b), signature="(m,n),(n)->(m)")(m, v)
        np.testing.assert_allclose(got.data, K.convert_to_numpy(want), atol=1e-6)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("axis", [0, 1])
def test_associative_scan(reverse, axis):
    """keras.ops.associative_scan: cumulative sums along either axis, from either end; a
    tuple of arrays (the linear recurrence h = a·h + b as its associative pair); gradients
    through the combining function."""
    x = R.standard_normal((5, 3))
    got = O.associative_scan(lambda a, b: a + b, x, reverse=reverse, axis=axis).data
    want = np.flip(np.cumsum(np.flip(x, axis), axis), axis) if reverse else np.cumsum(x, axis)
    np.testing.assert_allclose(got, want, atol=1e-6)
    a, b = R.uniform(0.5, 1.0, 6), R.standard_normal(6)
    h = O.associative_scan(lambda p, q: (p[0] * q[0], q[0] * p[1] + q[1]), (a, b))[1].data
    ref, acc = [], 0.0
    for ai, bi in zip(a, b):
        acc = ai * acc + bi
        ref.append(acc)
    np.testing.assert_allclose(h, ref, atol=1e-6)
    gn.gradcheck(lambda t: O.associative_scan(lambda p, q: p * q, t).sum(),
                 R.uniform(0.5, 1.5, 5))
    if HAS_KERAS:
        import os

        os.environ.setdefault("KERAS_BACKEND", "torch")
        import keras

        K = keras.ops
        k = K.associative_scan(lambda p, q: p + q, K.convert_to_tensor(x), reverse=reverse,
                               axis=axis)
        np.testing.assert_allclose(got, K.convert_to_numpy(k), atol=1e-6)


_PATTERNS = [("b h w c -> b c h w", {}), ("b h w c -> (b h) w c", {}),
             ("b h w c -> h (b w) c", {}), ("b h w c -> b (c h w)", {}),
             ("b (h1 h) (w1 w) c -> (b h1 w1) h w c", {"h1": 2, "w1": 2}),
             ("b (h h1) (w w1) c -> b h w (c h1 w1)", {"h1": 2, "w1": 2})]


@pytest.mark.parametrize("pattern,lengths", _PATTERNS)
def test_rearrange_as_einops(pattern, lengths):
    x = R.random((4, 6, 8, 3))
    got = O.rearrange(x, pattern, **lengths)
    if HAS_KERAS:
        import os

        os.environ.setdefault("KERAS_BACKEND", "torch")
        import keras

        K = keras.ops
        want = K.convert_to_numpy(K.rearrange(K.convert_to_tensor(x), pattern, **lengths))
        np.testing.assert_array_equal(got.data, want)
    # the same values by NumPy, written out for two of the patterns
    if pattern == "b h w c -> b c h w":
        np.testing.assert_array_equal(got.data, x.transpose(0, 3, 1, 2))
    if pattern.startswith("b (h h1)"):
        want = x.reshape(4, 3, 2, 4, 2, 3).transpose(0, 1, 3, 5, 2, 4).reshape(4, 3, 4, 12)
        np.testing.assert_array_equal(got.data, want)
    w = R.standard_normal(got.shape)
    gn.gradcheck(lambda t: (O.rearrange(t, pattern, **lengths) * gn.tensor(w)).sum(),
                 x)


def test_rearrange_errors():
    x = np.zeros((2, 6, 4))
    with pytest.raises(ValueError, match="names 2 axes; the tensor has shape"):
        O.rearrange(x, "a b -> b a")
    with pytest.raises(ValueError, match="each axis must appear once"):
        O.rearrange(x, "a b c -> a b")
    with pytest.raises(ValueError, match="cannot be split"):
        O.rearrange(x, "a (b1 b) c -> a b1 b c", b1=4)
    with pytest.raises(ValueError, match="pattern must look like"):
        O.rearrange(x, "a b c => c b a")


def test_i0_values_and_its_derivative_i1():
    """keras.ops.i0: NumPy's values; its derivative I₁ from its power series (|x| ≤ 30)
    and asymptotic series (beyond), against SciPy's i1 where SciPy is installed, and
    central differences."""
    x = np.linspace(-40.0, 40.0, 161)
    t = gn.tensor(x, dtype="float64", requires_grad=True)
    y = O.i0(t)
    np.testing.assert_allclose(y.data, np.i0(x), rtol=1e-12)
    y.sum().backward()
    try:
        from scipy.special import i1
    except ImportError:  # the series are still checked by central differences below
        i1 = None
    if i1 is not None:
        np.testing.assert_allclose(t.grad, i1(x), rtol=1e-10)
    gn.gradcheck(lambda a: O.i0(a).sum(), np.array([-2.0, 0.3, 1.5, 4.0]))
    gn.gradcheck(lambda a: O.i0(a).sum(), np.array([29.5, 31.0]))  # both series' sides
    if HAS_KERAS:
        import os

        os.environ.setdefault("KERAS_BACKEND", "torch")
        import keras

        v = np.array([-3.0, 0.0, 0.5, 10.0], "float32")
        np.testing.assert_allclose(O.i0(v).data, keras.ops.convert_to_numpy(keras.ops.i0(v)),
                                   rtol=1e-6)
