"""Hypothesis property tests over random shapes: elementwise, broadcasting and reduction ops.

References are NumPy formulas (forward) and hand-derived derivatives or PyTorch (backward).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import glassnet as gn

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True)


def _values(shape, lo=-3.0, hi=3.0):
    return hnp.arrays(np.float64, shape, elements=st.floats(lo, hi, allow_subnormal=False))


def reduce_to(g, shape):
    """Reference un-broadcast: sum the axes NumPy broadcasting added or stretched."""
    g = g.sum(axis=tuple(range(g.ndim - len(shape)))) if g.ndim > len(shape) else g
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and g.shape[i] != 1)
    return g.sum(axis=axes, keepdims=True) if axes else g


UNARY = {
    # name: (glassnet op, forward reference, derivative reference, domain)
    "exp": (gn.exp, np.exp, np.exp, (-3, 3)),
    "log": (gn.log, np.log, lambda x: 1 / x, (0.1, 5)),
    "sqrt": (gn.sqrt, np.sqrt, lambda x: 0.5 / np.sqrt(x), (0.1, 5)),
    "tanh": (gn.tanh, np.tanh, lambda x: 1 - np.tanh(x) ** 2, (-5, 5)),
    "sigmoid": (gn.sigmoid, lambda x: 1 / (1 + np.exp(-x)),
                lambda x: np.exp(-x) / (1 + np.exp(-x)) ** 2, (-20, 20)),
    "relu": (gn.relu, lambda x: np.maximum(x, 0), lambda x: (x > 0) * 1.0, (-3, 3)),
    "abs": (gn.abs, np.abs, np.sign, (-3, 3)),
    "neg": (lambda t: -t, np.negative, lambda x: -np.ones_like(x), (-3, 3)),
    "square": (lambda t: t**2, np.square, lambda x: 2 * x, (-3, 3)),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@SETTINGS
@given(data=st.data())
def test_unary_forward_and_derivative(name, data):
    op, ref, dref, (lo, hi) = UNARY[name]
    x = data.draw(_values(hnp.array_shapes(min_dims=0, max_dims=3, max_side=4), lo, hi))
    t = gn.tensor(x, requires_grad=True, dtype="float64")
    y = op(t)
    np.testing.assert_allclose(y.data, ref(x), rtol=1e-12, atol=1e-15)
    w = np.linspace(-1, 1, x.size).reshape(x.shape)  # weights make each element's grad distinct
    (y * w).sum().backward()
    np.testing.assert_allclose(t.grad, w * dref(x), rtol=1e-10, atol=1e-12)


def _denominator(shape):
    # division: keep the denominator away from 0
    mag = hnp.arrays(np.float64, shape, elements=st.floats(0.5, 3.0))
    sign = hnp.arrays(np.float64, shape, elements=st.sampled_from([-1.0, 1.0]))
    return st.tuples(mag, sign).map(lambda ms: ms[0] * ms[1])


BINARY = {
    # name: (glassnet op, forward ref, (d/da, d/db) refs given a, b broadcast)
    "add": (lambda a, b: a + b, np.add,
            (lambda a, b: np.ones_like(a + b), lambda a, b: np.ones_like(a + b))),
    "sub": (lambda a, b: a - b, np.subtract,
            (lambda a, b: np.ones_like(a + b), lambda a, b: -np.ones_like(a + b))),
    "mul": (lambda a, b: a * b, np.multiply,
            (lambda a, b: b + 0 * a, lambda a, b: a + 0 * b)),
    "div": (lambda a, b: a / b, np.divide,
            (lambda a, b: 1 / b + 0 * a, lambda a, b: -a / b**2)),
    "maximum": (gn.maximum, np.maximum,
                (lambda a, b: (a > b) + 0.5 * (a == b), lambda a, b: (b > a) + 0.5 * (a == b))),
    "minimum": (gn.minimum, np.minimum,
                (lambda a, b: (a < b) + 0.5 * (a == b), lambda a, b: (b < a) + 0.5 * (a == b))),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@SETTINGS
@given(data=st.data())
def test_binary_broadcasting_forward_and_gradients(name, data):
    op, ref, (da, db) = BINARY[name]
    shapes = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3))
    sa, sb = shapes.input_shapes
    a = data.draw(_values(sa))
    b = data.draw(_denominator(sb) if name == "div" else _values(sb))
    ta = gn.tensor(a, requires_grad=True, dtype="float64")
    tb = gn.tensor(b, requires_grad=True, dtype="float64")
    y = op(ta, tb)
    assert y.shape == shapes.result_shape
    np.testing.assert_allclose(y.data, ref(a, b), rtol=1e-12)
    y.sum().backward()
    assert ta.grad.shape == sa and tb.grad.shape == sb
    np.testing.assert_allclose(ta.grad, reduce_to(da(a, b) * 1.0, sa), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(tb.grad, reduce_to(db(a, b) * 1.0, sb), rtol=1e-10, atol=1e-12)


@SETTINGS
@given(data=st.data())
def test_binary_broadcasting_matches_torch(data):
    torch = pytest.importorskip("torch")
    shapes = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=4, max_side=3))
    sa, sb = shapes.input_shapes
    a, b = data.draw(_values(sa)), data.draw(_denominator(sb))
    ta = gn.tensor(a, requires_grad=True, dtype="float64")
    tb = gn.tensor(b, requires_grad=True, dtype="float64")
    ((ta * tb - ta / tb + tb) ** 2).sum().backward()
    xa, xb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    ((xa * xb - xa / xb + xb) ** 2).sum().backward()
    np.testing.assert_allclose(ta.grad, xa.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(tb.grad, xb.grad.numpy(), rtol=1e-9, atol=1e-12)


@st.composite
def _array_and_axis(draw, min_side=1):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=min_side, max_side=4))
    x = draw(_values(shape))
    nd = len(shape)
    axis = draw(st.one_of(
        st.none(),
        st.integers(-nd, nd - 1),
        st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd, unique=True).map(tuple),
    ))
    return x, axis, draw(st.booleans())


def _n_reduced(shape, axis):
    if axis is None:
        return int(np.prod(shape))
    axes = (axis,) if isinstance(axis, int) else axis
    return int(np.prod([shape[a] for a in axes]))


@SETTINGS
@given(_array_and_axis())
def test_sum_and_mean(case):
    x, axis, keep = case
    t = gn.tensor(x, requires_grad=True, dtype="float64")
    s = t.sum(axis=axis, keepdims=keep)
    np.testing.assert_allclose(s.data, x.sum(axis=axis, keepdims=keep), rtol=1e-12, atol=1e-12)
    s.sum().backward()
    np.testing.assert_array_equal(t.grad, np.ones_like(x))
    t.zero_grad()
    m = t.mean(axis=axis, keepdims=keep)
    np.testing.assert_allclose(m.data, x.mean(axis=axis, keepdims=keep), rtol=1e-12, atol=1e-12)
    m.sum().backward()
    np.testing.assert_allclose(t.grad, np.full(x.shape, 1 / _n_reduced(x.shape, axis)))


@SETTINGS
@given(_array_and_axis())
def test_max_min_gradient_is_split_over_the_maxima(case):
    x, axis, keep = case
    for fn in ("max", "min"):
        t = gn.tensor(x, requires_grad=True, dtype="float64")
        y = getattr(t, fn)(axis=axis, keepdims=keep)
        ref = getattr(x, fn)(axis=axis, keepdims=True)
        np.testing.assert_array_equal(y.data, getattr(x, fn)(axis=axis, keepdims=keep))
        y.sum().backward()
        hits = x == ref
        share = hits / hits.sum(axis=axis, keepdims=True)  # ties share equally
        np.testing.assert_allclose(t.grad, share, rtol=1e-12)


@SETTINGS
@given(_array_and_axis(min_side=2))
def test_var_std_match_numpy_and_torch(case):
    torch = pytest.importorskip("torch")
    x, axis, keep = case
    t = gn.tensor(x, requires_grad=True, dtype="float64")
    v = gn.var(t, axis=axis, keepdims=keep, ddof=1)
    np.testing.assert_allclose(v.data, x.var(axis=axis, keepdims=keep, ddof=1), atol=1e-12)
    v.sum().backward()
    xt = torch.tensor(x, requires_grad=True)
    dim = tuple(range(x.ndim)) if axis is None else axis
    torch.var(xt, dim=dim, keepdim=keep, correction=1).sum().backward()
    np.testing.assert_allclose(t.grad, xt.grad.numpy(), rtol=1e-9, atol=1e-12)


@SETTINGS
@given(data=st.data())
def test_transpose_reshape_route_gradients_back(data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=4, max_side=4))
    perm = tuple(data.draw(st.permutations(range(len(shape)))))
    # the same permutation spelled with some negative axes must route gradients identically
    neg = data.draw(st.lists(st.booleans(), min_size=len(shape), max_size=len(shape)))
    spelled = tuple(p - len(shape) if n else p for p, n in zip(perm, neg))
    x = data.draw(_values(shape))
    t = gn.tensor(x, requires_grad=True, dtype="float64")
    y = t.transpose(spelled).reshape(-1)
    np.testing.assert_array_equal(y.data, x.transpose(perm).reshape(-1))
    w = np.arange(y.size, dtype=np.float64)
    (y * w).sum().backward()
    np.testing.assert_array_equal(t.grad, w.reshape(x.transpose(perm).shape).transpose(
        np.argsort(perm)))


@SETTINGS
@given(data=st.data())
def test_broadcast_to_gradient_counts_copies(data):
    shapes = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=1, max_dims=4, max_side=3))
    (src,) = shapes.input_shapes
    target = shapes.result_shape
    extra = data.draw(hnp.array_shapes(min_dims=0, max_dims=2, max_side=3))
    target = tuple(extra) + target
    t = gn.tensor(np.ones(src), requires_grad=True, dtype="float64")
    gn.broadcast_to(t, target).sum().backward()
    copies = int(np.prod(target)) // max(int(np.prod(src)), 1)
    np.testing.assert_array_equal(t.grad, np.full(src, float(copies)))


@SETTINGS
@given(data=st.data())
def test_softmax_rows_sum_to_one_and_logsoftmax_consistent(data):
    x = data.draw(_values(hnp.array_shapes(min_dims=1, max_dims=3, max_side=5), -50, 50))
    p = gn.softmax(gn.tensor(x, dtype="float64")).data
    lp = gn.log_softmax(gn.tensor(x, dtype="float64")).data
    np.testing.assert_allclose(p.sum(-1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.exp(lp), p, rtol=1e-10, atol=1e-300)
    lse = gn.logsumexp(gn.tensor(x, dtype="float64")).data
    np.testing.assert_allclose(lp, x - lse[..., None], rtol=1e-10, atol=1e-10)
