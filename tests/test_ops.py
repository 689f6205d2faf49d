"""Table-driven op tests: one row per op, checked forward against NumPy (float32) and
backward with gn.gradcheck (float64 central differences).

A row names the op, a glassnet callable, a NumPy reference, the input shapes to try
(broadcasting, scalars and 0-size edge cases included) and the input domain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest

import glassnet as gn


@dataclass
class Row:
    id: str
    fn: Callable
    ref: Callable
    shapes: list = field(default_factory=list)  # each entry: a tuple of input shapes
    domain: tuple | str = "real"  # per input: real | pos | away0


def _draw(shape, domain, rs):
    if domain == "pos":
        return rs.uniform(0.5, 2.0, shape)
    if domain == "away0":  # away from kinks at 0 (relu, abs, sign) and poles (division)
        return rs.uniform(0.3, 2.0, shape) * rs.choice([-1.0, 1.0], shape)
    return rs.standard_normal(shape)


def _inputs(row, shapes, seed=0):
    rs = np.random.default_rng(seed)
    doms = row.domain if isinstance(row.domain, tuple) else (row.domain,) * len(shapes)
    return [_draw(s, d, rs).astype(np.float32) for s, d in zip(shapes, doms)]


BINARY_SHAPES = [
    ((3, 4), (3, 4)),
    ((3, 4), (4,)),
    ((2, 1, 4), (3, 1)),
    ((), (3,)),
    ((2, 3), ()),
    ((0, 3), (3,)),
]
UNARY_SHAPES = [((),), ((3, 4),), ((2, 3, 2),), ((0, 2),)]
RED_SHAPES = [((3, 4),), ((2, 3, 4),)]

MASK = np.array([[True, False, True, True], [False, False, True, False], [True] * 4])
COND = np.array([[True, False, False, True]] * 3)


def rows():
    r = [
        # ---- arithmetic: tensor∘tensor with broadcasting, tensor∘scalar, reflected
        Row("add", lambda a, b: a + b, np.add, BINARY_SHAPES),
        Row("sub", lambda a, b: a - b, np.subtract, BINARY_SHAPES),
        Row("mul", lambda a, b: a * b, np.multiply, BINARY_SHAPES),
        Row("div", lambda a, b: a / b, np.divide, BINARY_SHAPES, ("real", "away0")),
        Row("pow", lambda a, b: a**b, np.power, BINARY_SHAPES, ("pos", "real")),
        Row("add_scalar", lambda a: a + 2.5, lambda a: a + 2.5, UNARY_SHAPES),
        Row("radd_scalar", lambda a: 2.5 + a, lambda a: 2.5 + a, UNARY_SHAPES),
        Row("rsub_scalar", lambda a: 2.5 - a, lambda a: 2.5 - a, UNARY_SHAPES),
        Row("rmul_scalar", lambda a: -3.0 * a, lambda a: -3.0 * a, UNARY_SHAPES),
        Row("div_scalar", lambda a: a / 4.0, lambda a: a / 4.0, UNARY_SHAPES),
        Row("rdiv_scalar", lambda a: 2.0 / a, lambda a: 2.0 / a, UNARY_SHAPES, "away0"),
        Row("pow_scalar", lambda a: a**3, lambda a: a**3, UNARY_SHAPES),
        Row("pow_frac", lambda a: a**0.5, np.sqrt, UNARY_SHAPES, "pos"),
        Row("rpow_scalar", lambda a: 2.0**a, lambda a: 2.0**a, UNARY_SHAPES),
        Row("add_ndarray", lambda a: a + np.arange(4.0), lambda a: a + np.arange(4.0),
            [((3, 4),), ((4,),)]),
        Row("neg", lambda a: -a, np.negative, UNARY_SHAPES),
        # ---- matmul: 1-D, 2-D, batched with broadcasting
        Row("matmul", lambda a, b: a @ b, np.matmul, [
            ((3,), (3,)), ((2, 3), (3, 4)), ((3,), (3, 4)), ((2, 3), (3,)),
            ((5, 2, 3), (5, 3, 4)), ((5, 2, 3), (3, 4)), ((3,), (5, 3, 2)),
            ((2, 1, 2, 3), (4, 3, 2)), ((0, 3), (3, 2)),
        ]),
        # ---- elementwise
        Row("exp", gn.exp, np.exp, UNARY_SHAPES),
        Row("log", gn.log, np.log, UNARY_SHAPES, "pos"),
        Row("sqrt", gn.sqrt, np.sqrt, UNARY_SHAPES, "pos"),
        Row("abs", gn.abs, np.abs, UNARY_SHAPES, "away0"),
        Row("sign", gn.sign, np.sign, UNARY_SHAPES, "away0"),
        Row("tanh", gn.tanh, np.tanh, UNARY_SHAPES),
        Row("sigmoid", gn.sigmoid, lambda a: 1 / (1 + np.exp(-a)), UNARY_SHAPES),
        Row("relu", gn.relu, lambda a: np.maximum(a, 0), UNARY_SHAPES, "away0"),
        Row("maximum", gn.maximum, np.maximum, BINARY_SHAPES),
        Row("minimum", gn.minimum, np.minimum, BINARY_SHAPES),
        Row("clip", lambda a: gn.clip(a, -0.5, 0.7), lambda a: np.clip(a, -0.5, 0.7),
            UNARY_SHAPES),
        Row("clip_lo_only", lambda a: gn.clip(a, 0.1, None),
            lambda a: np.clip(a, 0.1, None), UNARY_SHAPES),
        Row("where", lambda a, b: gn.where(COND, a, b), lambda a, b: np.where(COND, a, b),
            [((3, 4), (3, 4)), ((3, 4), (4,)), ((), (3, 1))]),
        Row("where_scalar", lambda a: gn.where(COND, a, 0.0),
            lambda a: np.where(COND, a, 0.0), [((3, 4),), ((4,),)]),
        # ---- reductions
        Row("sum", lambda a: a.sum(), np.sum, UNARY_SHAPES),
        Row("sum_axis0", lambda a: a.sum(axis=0), lambda a: a.sum(axis=0),
            RED_SHAPES + [((0, 3),)]),
        Row("sum_axis_neg_keep", lambda a: gn.sum(a, axis=-1, keepdims=True),
            lambda a: a.sum(axis=-1, keepdims=True), RED_SHAPES),
        Row("sum_axis_tuple", lambda a: a.sum(axis=(0, 2)), lambda a: a.sum(axis=(0, 2)),
            [((2, 3, 4),), ((1, 2, 1),)]),
        Row("mean", lambda a: a.mean(), np.mean, [((),), ((3, 4),), ((2, 3, 2),)]),
        Row("mean_axis", lambda a: a.mean(axis=1), lambda a: a.mean(axis=1), RED_SHAPES),
        Row("mean_tuple_keep", lambda a: a.mean(axis=(0, -1), keepdims=True),
            lambda a: a.mean(axis=(0, -1), keepdims=True), RED_SHAPES),
        Row("max", lambda a: a.max(), np.max, [((),), ((3, 4),), ((2, 3, 2),)]),
        Row("max_axis", lambda a: a.max(axis=1), lambda a: a.max(axis=1), RED_SHAPES),
        Row("max_tuple_keep", lambda a: gn.max(a, axis=(0, 1), keepdims=True),
            lambda a: a.max(axis=(0, 1), keepdims=True), RED_SHAPES),
        Row("min", lambda a: a.min(), np.min, [((3, 4),)]),
        Row("min_axis", lambda a: a.min(axis=0), lambda a: a.min(axis=0), RED_SHAPES),
        Row("var", lambda a: a.var(), np.var, [((3, 4),), ((2, 3, 2),)]),
        Row("var_axis_ddof", lambda a: gn.var(a, axis=1, ddof=1),
            lambda a: a.var(axis=1, ddof=1), RED_SHAPES),
        Row("std", lambda a: a.std(axis=0, keepdims=True),
            lambda a: a.std(axis=0, keepdims=True), RED_SHAPES),
        Row("std_ddof", lambda a: gn.std(a, ddof=1), lambda a: a.std(ddof=1), RED_SHAPES),
        # ---- shape ops
        Row("reshape", lambda a: a.reshape(-1, 2), lambda a: a.reshape(-1, 2),
            [((3, 4),), ((2, 3, 2),), ((0, 2),)]),
        Row("reshape_scalar", lambda a: a.reshape(1, 1), lambda a: a.reshape(1, 1), [((),)]),
        Row("flatten", lambda a: gn.flatten(a, 1), lambda a: a.reshape(a.shape[0], -1),
            [((2, 3, 2),), ((3, 4),)]),
        Row("transpose", lambda a: a.T, lambda a: a.T, [((3, 4),), ((2, 3, 4),), ((3,),)]),
        Row("permute", lambda a: a.permute(1, 2, 0), lambda a: a.transpose(1, 2, 0),
            [((2, 3, 4),)]),
        Row("permute_negative_axes", lambda a: a.permute(-1, 0, -2),
            lambda a: a.transpose(-1, 0, -2), [((2, 3, 4),)]),
        Row("swapaxes", lambda a: a.swapaxes(0, -1), lambda a: a.swapaxes(0, -1),
            [((2, 3, 4),), ((3, 4),)]),
        Row("expand_dims", lambda a: a.expand_dims(1), lambda a: np.expand_dims(a, 1),
            [((3, 4),), ((3,),)]),
        Row("squeeze", lambda a: a.squeeze(), np.squeeze, [((3, 1, 4, 1),), ((1,),)]),
        Row("squeeze_axis", lambda a: a.squeeze(1), lambda a: a.squeeze(1), [((3, 1, 4),)]),
        Row("broadcast_to", lambda a: a.broadcast_to((2, 3, 4)),
            lambda a: np.broadcast_to(a, (2, 3, 4)), [((3, 4),), ((3, 1),), ((),)]),
        # ---- indexing: slices, ints, integer arrays (repeats accumulate), masks
        Row("getitem_slice", lambda a: a[1:, ::2], lambda a: a[1:, ::2], [((3, 4),)]),
        Row("getitem_int", lambda a: a[-1, 2], lambda a: a[-1, 2], [((3, 4),)]),
        Row("getitem_row", lambda a: a[1], lambda a: a[1], [((3, 4),), ((3,),)]),
        Row("getitem_intarray_repeat", lambda a: a[[0, 2, 0, 0]],
            lambda a: a[[0, 2, 0, 0]], [((3, 4),), ((3,),)]),
        Row("getitem_mixed", lambda a: a[:, np.array([1, 1, 3])],
            lambda a: a[:, np.array([1, 1, 3])], [((3, 4),)]),
        Row("getitem_fancy_pairs", lambda a: a[np.array([0, 0, 2]), np.array([1, 1, 3])],
            lambda a: a[np.array([0, 0, 2]), np.array([1, 1, 3])], [((3, 4),)]),
        Row("getitem_mask", lambda a: a[MASK], lambda a: a[MASK], [((3, 4),)]),
        Row("getitem_newaxis", lambda a: a[..., None, 1:3], lambda a: a[..., None, 1:3],
            [((3, 4),)]),
        # ---- joining and splitting
        Row("concatenate", lambda a, b: gn.concatenate([a, b], axis=1),
            lambda a, b: np.concatenate([a, b], axis=1), [((3, 2), (3, 4)), ((2, 0), (2, 3))]),
        Row("concatenate_axis0_3", lambda a, b, c: gn.concat([a, b, c]),
            lambda a, b, c: np.concatenate([a, b, c]), [((1, 3), (2, 3), (4, 3))]),
        Row("stack", lambda a, b: gn.stack([a, b], axis=-1),
            lambda a, b: np.stack([a, b], axis=-1), [((3, 4), (3, 4)), ((), ())]),
        Row("split_sections", lambda a: gn.stack(gn.split(a, 2, axis=1)),
            lambda a: np.stack(np.split(a, 2, axis=1)), [((3, 4),)]),
        Row("split_indices",
            lambda a: gn.concatenate([p * float(k + 1) for k, p in enumerate(gn.split(a, [1, 3]))]),
            lambda a: np.concatenate([p * (k + 1) for k, p in enumerate(np.split(a, [1, 3]))]),
            [((5, 2),)]),
        Row("pad", lambda a: gn.pad(a, ((1, 2), (0, 1)), constant_values=0.5),
            lambda a: np.pad(a, ((1, 2), (0, 1)), constant_values=0.5), [((3, 4),)]),
        Row("pad_int", lambda a: gn.pad(a, 1), lambda a: np.pad(a, 1), [((2, 3),), ((3,),)]),
        # ---- softmax family (stable fused kernels)
        Row("logsumexp", lambda a: gn.logsumexp(a, axis=-1),
            lambda a: np.log(np.exp(a).sum(-1)), RED_SHAPES),
        Row("logsumexp_keep0", lambda a: gn.logsumexp(a, axis=0, keepdims=True),
            lambda a: np.log(np.exp(a).sum(0, keepdims=True)), RED_SHAPES),
        Row("softmax", gn.softmax, lambda a: np.exp(a) / np.exp(a).sum(-1, keepdims=True),
            RED_SHAPES + [((5,),)]),
        Row("softmax_axis0", lambda a: gn.softmax(a, axis=0),
            lambda a: np.exp(a) / np.exp(a).sum(0, keepdims=True), RED_SHAPES),
        Row("log_softmax", gn.log_softmax,
            lambda a: a - np.log(np.exp(a).sum(-1, keepdims=True)), RED_SHAPES),
        Row("linear", gn.linear, lambda x, w, b: x @ w + b,
            [((4, 3), (3, 2), (2,)), ((2, 4, 3), (3, 2), (2,))]),
    ]
    return r


CASES = [
    pytest.param(row, shapes, id=f"{row.id}-{'x'.join(str(s) for s in shapes)}")
    for row in rows()
    for shapes in row.shapes
]


@pytest.mark.parametrize(("row", "shapes"), CASES)
def test_forward_matches_numpy(row, shapes):
    xs = _inputs(row, shapes)
    out = row.fn(*[gn.tensor(x) for x in xs])
    ref = np.asarray(row.ref(*[x.astype(np.float64) for x in xs]))
    assert isinstance(out, gn.Tensor)
    assert out.shape == ref.shape
    assert out.dtype == np.float32  # float32 in, float32 out (no silent upcast)
    np.testing.assert_allclose(out.data, ref, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize(("row", "shapes"), CASES)
def test_backward_matches_finite_differences(row, shapes):
    xs = [x.astype(np.float64) for x in _inputs(row, shapes, seed=1)]
    gn.gradcheck(row.fn, *xs)


@pytest.mark.parametrize(
    ("row", "shapes"), [c for c in CASES if "0" not in str(c.values[1])][::4]
)
def test_float64_stays_float64(row, shapes):
    xs = _inputs(row, shapes)
    out = row.fn(*[gn.tensor(x, dtype="float64", requires_grad=True) for x in xs])
    assert out.dtype == np.float64


# ------------------------------------------------------------------ non-differentiable ops
def test_argmax_argmin_match_numpy_and_carry_no_grad():
    a = np.random.default_rng(0).standard_normal((3, 5)).astype(np.float32)
    t = gn.tensor(a, requires_grad=True)
    for axis in (None, 0, 1, -1):
        assert np.array_equal(gn.argmax(t, axis).data, a.argmax(axis))
        assert np.array_equal(t.argmin(axis).data, a.argmin(axis))
        assert not t.argmax(axis).requires_grad


@pytest.mark.parametrize(
    ("op", "ref"),
    [
        (lambda a, b: a < b, np.less), (lambda a, b: a <= b, np.less_equal),
        (lambda a, b: a > b, np.greater), (lambda a, b: a >= b, np.greater_equal),
        (lambda a, b: a.eq(b), np.equal), (lambda a, b: a.ne(b), np.not_equal),
    ],
)
def test_comparisons_are_non_differentiable_bool(op, ref):
    a = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]], np.float32)
    b = np.array([2.0, 2.0, 2.0], np.float32)
    ta = gn.tensor(a, requires_grad=True)
    out = op(ta, gn.tensor(b))
    assert out.dtype == bool and not out.requires_grad and out._ctx is None
    assert np.array_equal(out.data, ref(a, b))
    assert np.array_equal(op(ta, 2.0).data, ref(a, 2.0))  # against a Python scalar


def test_comparison_result_works_as_where_condition():
    x = gn.tensor([-1.0, 0.5, 2.0], requires_grad=True)
    y = gn.where(x > 0, x * x, -x)
    y.sum().backward()
    assert np.allclose(y.data, [1.0, 0.25, 4.0])
    assert np.allclose(x.grad, [-1.0, 1.0, 4.0])


def test_getitem_backward_accumulates_repeats_exactly():
    x = gn.tensor(np.arange(4.0), requires_grad=True)
    x[[1, 1, 1, 3]].sum().backward()
    assert np.array_equal(x.grad, [0.0, 3.0, 0.0, 1.0])


def test_getitem_with_tensor_index():
    x = gn.tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    idx = gn.tensor([2, 0, 2])  # a float tensor of labels is used as integer indices
    y = x[idx]
    assert np.array_equal(y.data, [[4, 5], [0, 1], [4, 5]])
    y.sum().backward()
    assert np.array_equal(x.grad, [[1, 1], [0, 0], [2, 2]])


def test_max_ties_share_gradient():
    x = gn.tensor([1.0, 3.0, 3.0, 0.0], requires_grad=True)
    x.max().backward()
    assert np.array_equal(x.grad, [0.0, 0.5, 0.5, 0.0])


@pytest.mark.parametrize("axis", [1, -1, (0, 2)])
def test_max_ties_share_gradient_over_any_axes(axis):
    # ReLU features: whole channels of tied zeros (GlobalMaxPooling1D's backward)
    x = np.maximum(np.random.default_rng(0).normal(size=(4, 7, 5)), 0).astype(np.float32)
    x[1, :, 2] = 0
    x[2, 3:5, 1] = 9
    t = gn.tensor(x, requires_grad=True)
    y = gn.max(t, axis=axis, keepdims=True)
    gy = np.random.default_rng(1).normal(size=y.shape).astype(np.float32)
    y.backward(gy)
    hit = x == x.max(axis=axis, keepdims=True)
    want = np.where(hit, gy / hit.sum(axis=axis, keepdims=True), 0).astype(np.float32)
    np.testing.assert_array_equal(t.grad, want)


def test_maximum_tie_splits_gradient():
    a = gn.tensor([1.0, 2.0], requires_grad=True)
    b = gn.tensor([1.0, 0.0], requires_grad=True)
    gn.maximum(a, b).sum().backward()
    assert np.array_equal(a.grad, [0.5, 1.0]) and np.array_equal(b.grad, [0.5, 0.0])


def test_cast_backward_returns_source_dtype():
    x = gn.tensor([1.5, 2.5], requires_grad=True)
    y = x.astype("float64")
    assert y.dtype == np.float64
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32 and np.allclose(x.grad, [3.0, 5.0])


# ------------------------------------------------------------------ error messages
@pytest.mark.parametrize(
    ("fn", "pattern"),
    [
        (lambda: gn.tensor(np.ones((2, 3))) + gn.tensor(np.ones(4)),
         r"Add: .*Received: shapes \(2, 3\) and \(4,\)"),
        (lambda: gn.tensor(np.ones((2, 3))) * np.ones((3, 2)),
         r"Mul: .*\(2, 3\) and \(3, 2\)"),
        (lambda: gn.maximum(gn.tensor(np.ones(2)), gn.tensor(np.ones(3))),
         r"Maximum: .*\(2,\) and \(3,\)"),
        (lambda: gn.tensor(np.ones((2, 3))) @ gn.tensor(np.ones((2, 3))),
         r"matmul: inner dimensions differ \(3 vs 2\).*\(2, 3\) and \(2, 3\)"),
        (lambda: gn.tensor(np.ones((2, 3))).reshape(4, 2), r"reshape: .*size 6.*\(4, 2\)"),
        (lambda: gn.tensor(np.ones((2, 3))).squeeze(0), r"squeeze: .*Received: shape \(2, 3\)"),
        (lambda: gn.concatenate([gn.tensor(np.ones((2, 3))), gn.tensor(np.ones((3, 2)))]),
         r"concatenate\(axis=0\).*\(2, 3\), \(3, 2\)"),
        (lambda: gn.stack([gn.tensor(np.ones(2)), gn.tensor(np.ones(3))]),
         r"stack: .*\(2,\), \(3,\)"),
        (lambda: gn.tensor(np.ones((2, 3)))[5], r"getitem: .*Received: shape \(2, 3\)"),
        (lambda: gn.tensor(np.ones(0)).max(), r"max: cannot reduce an empty tensor"),
        (lambda: gn.broadcast_to(gn.tensor(np.ones(3)), (2, 4)),
         r"broadcast_to: .*\(3,\) to \(2, 4\)"),
        (lambda: gn.split(gn.tensor(np.ones(5)), 2), r"split: axis 0 of size 5"),
        (lambda: gn.concatenate([]), r"concatenate: needs at least one"),
        (lambda: gn.tensor(np.ones((2, 3))).sum(axis=5),
         r"Sum: axis 5 is out of bounds for a 2-D input"),
        (lambda: gn.tensor(np.ones((2, 3))).max(axis=(0, -3)), r"Max: axis -3 is out of bounds"),
        (lambda: gn.var(gn.tensor(np.ones(3)), axis=1), r"var: axis 1 is out of bounds"),
    ],
)
def test_errors_name_the_op_and_shapes(fn, pattern):
    with pytest.raises((ValueError, IndexError), match=pattern):
        fn()


@pytest.mark.parametrize("shape", [(32, 32, 32, 3), (5, 1), (128, 10), (4, 7, 784)])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("op", ["sum", "mean"])
def test_sum_and_mean_over_the_last_axis_match_numpy(shape, keepdims, op):
    # the last axis goes through backend.sum_last (a GEMV): same values as NumPy's
    # reduction to float32 rounding, same shapes, and the usual gradient
    a = np.random.default_rng(3).standard_normal(shape).astype(np.float32)
    fn = getattr(gn.ops, op)
    got = fn(gn.tensor(a), axis=-1, keepdims=keepdims).data
    want = getattr(a.astype(np.float64), op)(axis=-1, keepdims=keepdims)
    assert got.shape == want.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.sqrt(shape[-1]))
    # a transposed (non-contiguous) input takes NumPy's reduction: the same values
    at = np.swapaxes(a, 0, -1)
    np.testing.assert_allclose(fn(gn.tensor(at), axis=-1).data,
                               getattr(at.astype(np.float64), op)(axis=-1),
                               rtol=1e-5, atol=1e-5 * np.sqrt(shape[0]))
    gn.gradcheck(lambda x: fn(x, axis=-1, keepdims=keepdims), a[:2].astype(np.float64))
