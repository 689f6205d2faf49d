"""``gn.ops`` under Keras 3's ``keras.ops`` names means what Keras means.

Each case runs the op on fixed inputs and compares with the NumPy formula; with real Keras
installed (PyTorch backend) also with ``keras.ops`` itself. Float ops are checked against
numeric gradients (``gn.gradcheck`` in float64).
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

import glassnet as gn
from glassnet import ops

R = np.random.default_rng(0)
A = R.uniform(0.2, 0.9, (3, 4))  # inside every domain used below (arcsin, log, ...)
B = R.uniform(0.2, 0.9, (3, 4))
M = R.standard_normal((4, 2))
V = R.standard_normal(5)

# name -> (args, numpy reference, differentiable)
CASES = {
    "square": ((A,), np.square, True), "negative": ((A,), np.negative, True),
    "subtract": ((A, B), np.subtract, True), "multiply": ((A, B), np.multiply, True),
    "divide": ((A, B), np.divide, True), "true_divide": ((A, B), np.divide, True),
    "power": ((A, B), np.power, True), "reciprocal": ((A,), np.reciprocal, True),
    "rsqrt": ((A,), lambda a: 1 / np.sqrt(a), True), "absolute": ((A - 0.5,), np.abs, False),
    "sin": ((A,), np.sin, True), "cos": ((A,), np.cos, True), "tan": ((A,), np.tan, True),
    "sinh": ((A,), np.sinh, True), "cosh": ((A,), np.cosh, True),
    "arcsin": ((A,), np.arcsin, True), "arccos": ((A,), np.arccos, True),
    "arctan": ((A,), np.arctan, True), "arcsinh": ((A,), np.arcsinh, True),
    "arccosh": ((A + 1.5,), np.arccosh, True), "arctanh": ((A,), np.arctanh, True),
    "arctan2": ((A, B), np.arctan2, True),
    "log1p": ((A,), np.log1p, True), "expm1": ((A,), np.expm1, True),
    "log2": ((A,), np.log2, True), "log10": ((A,), np.log10, True),
    "exp2": ((A,), np.exp2, True), "cbrt": ((A,), np.cbrt, True),
    "logaddexp": ((A, B), np.logaddexp, True), "mod": ((A * 5, B), np.mod, False),
    "floor": ((A * 5,), np.floor, False), "ceil": ((A * 5,), np.ceil, False),
    "round": ((A * 5,), np.round, False), "trunc": ((A * 5,), np.trunc, False),
    "isnan": ((A,), np.isnan, False), "isfinite": ((A,), np.isfinite, False),
    "logical_and": ((A > 0.5, B > 0.5), np.logical_and, False),
    "prod": ((A,), np.prod, True), "amax": ((A,), np.max, False),
    "all": ((A > 0.3,), np.all, False), "any": ((A > 0.8,), np.any, False),
    "cumsum": ((A, 1), lambda a, ax: np.cumsum(a, ax), True),
    "cumprod": ((A, 1), lambda a, ax: np.cumprod(a, ax), True),
    "norm": ((A,), np.linalg.norm, True), "average": ((A, 0), np.average, True),
    "median": ((A,), np.median, False), "ravel": ((A,), np.ravel, True),
    "flip": ((A, 1), np.flip, True), "roll": ((A, 1, 1), np.roll, True),
    "repeat": ((A, 2, 0), np.repeat, True), "tile": ((A, (2, 1)), np.tile, True),
    "moveaxis": ((A, 0, 1), np.moveaxis, True), "take": ((A, [2, 0, 2], 1), np.take, True),
    "take_along_axis": ((A, np.argsort(A, 1), 1), np.take_along_axis, True),
    "tril": ((A,), np.tril, True), "triu": ((A,), np.triu, True),
    "diagonal": ((A,), np.diagonal, True), "trace": ((A,), np.trace, True),
    "diag": ((V,), np.diag, True), "dot": ((A, M), np.dot, True),
    "outer": ((V, V[:3]), np.outer, True),
    "tensordot": ((A, M, 1), np.tensordot, True),
    "einsum": (("ij,jk->ik", A, M), np.einsum, True),
    "sort": ((A,), np.sort, True), "argsort": ((A,), np.argsort, False),
    "hstack": (([A, B],), np.hstack, True), "vstack": (([A, B],), np.vstack, True),
    "ones_like": ((A,), np.ones_like, False), "zeros_like": ((A,), np.zeros_like, False),
    "softmax": ((A,), lambda a: np.exp(a) / np.exp(a).sum(-1, keepdims=True), True),
    "relu6": ((A * 10 - 3,), lambda a: np.clip(a, 0, 6), False),
    "log_sigmoid": ((A - 0.5,), lambda a: -np.logaddexp(0, -a), True),
    "silu": ((A - 0.5,), lambda a: a / (1 + np.exp(-a)), True),
    "softplus": ((A - 0.5,), lambda a: np.logaddexp(0, a), True),
    "logsumexp": ((A,), lambda a: np.log(np.exp(a).sum()), True),
    # the long tail (glassnet/_keras_ops_more.py)
    "erf": ((A - 0.5,), np.vectorize(math.erf), True),
    "erfc": ((A - 0.5,), np.vectorize(math.erfc), True),
    "deg2rad": ((A,), np.deg2rad, True), "rad2deg": ((A,), np.rad2deg, True),
    "sinc": ((A,), np.sinc, True), "hypot": ((A, B), np.hypot, True),
    "fmax": ((A, B), np.fmax, False), "fmin": ((A, B), np.fmin, False),
    "fmod": ((A * 5 - 2, B), np.fmod, False), "logaddexp2": ((A, B), np.logaddexp2, True),
    "celu": ((A - 0.5,), lambda a: np.maximum(a, 0) + np.minimum(0, np.expm1(a)), True),
    "hard_tanh": ((A * 4 - 2,), lambda a: np.clip(a, -1, 1), False),
    "squareplus": ((A - 0.5,), lambda a: (a + np.sqrt(a * a + 4)) / 2, True),
    "tanh_shrink": ((A - 0.5,), lambda a: a - np.tanh(a), True),
    "soft_shrink": ((A * 2 - 1,), lambda a: np.where(a > 0.5, a - 0.5,
                                                      np.where(a < -0.5, a + 0.5, 0)), False),
    "sparse_sigmoid": ((A * 4 - 2,), lambda a: np.clip((a + 1) / 2, 0, 1), False),
    "fliplr": ((A,), np.fliplr, True), "flipud": ((A,), np.flipud, True),
    "rot90": ((A,), np.rot90, True), "append": ((A, B), np.append, True),
    "diff": ((A,), np.diff, True), "inner": ((A, B), np.inner, True),
    "vdot": ((V, V[::-1]), np.vdot, True), "ptp": ((A,), np.ptp, False),
    "dstack": (([A, B],), np.dstack, False), "diagflat": ((V,), np.diagflat, True),
    "nanmax": ((np.where(A > 0.8, np.nan, A),), np.nanmax, False),
    "nanmean": ((np.where(A > 0.8, np.nan, A),), np.nanmean, False),
    "percentile": ((A, 30), np.percentile, False),
}


def _run(name, args, dtype=np.float64):
    conv = [gn.tensor(a.astype(dtype)) if isinstance(a, np.ndarray) and a.dtype.kind == "f"
            else a for a in args]
    return getattr(ops, name)(*conv)


@pytest.mark.parametrize("name", sorted(CASES))
def test_keras_named_op_matches_numpy(name):
    args, ref, _ = CASES[name]
    out = ops.convert_to_numpy(_run(name, args))
    np.testing.assert_allclose(out, ref(*args), rtol=1e-5, atol=1e-7)  # float32 tensors


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if c[2]))
def test_keras_named_op_gradients(name):
    args, _, _ = CASES[name]
    pos = [i for i, a in enumerate(args) if isinstance(a, np.ndarray) and a.dtype.kind == "f"]
    fixed = list(args)

    def fn(*ts):
        call = list(fixed)
        for i, t in zip(pos, ts):
            call[i] = t
        return ops.sum(getattr(ops, name)(*call))

    if name in ("hstack", "vstack"):  # list arguments
        def fn(a, b):  # noqa: F811
            return ops.sum(getattr(ops, name)([a, b]))

        gn.gradcheck(fn, gn.tensor(A, requires_grad=True), gn.tensor(B, requires_grad=True))
        return
    gn.gradcheck(fn, *[gn.tensor(args[i], requires_grad=True) for i in pos])


@pytest.mark.parametrize("name,args", [
    ("tile", ((2, 3),)), ("tile", ((2, 1, 3),)), ("tile", (3,)), ("repeat", (3, 1)),
    ("repeat", (2, 0)), ("repeat", (2,)), ("repeat", ([1, 0, 2], 0))])
def test_tile_and_repeat_values_and_gradients(name, args):
    """Tile and repeat (by one count: an op configured with ints, so a replayed step keeps
    it); the gradient with a random weight on every copy, so each copy's place counts."""
    ref = getattr(np, name)(A, *args)
    out = getattr(ops, name)(gn.tensor(A), *args)
    np.testing.assert_array_equal(ops.convert_to_numpy(out), ref.astype(np.float32))
    w = gn.tensor(np.random.default_rng(0).standard_normal(ref.shape))
    gn.gradcheck(lambda t: ops.sum(getattr(ops, name)(t, *args) * w),
                 gn.tensor(A, requires_grad=True))


def test_issue_core_names_exist_and_behave():
    # the NumPy-like core the issue lists, as tutorials call them
    x = ops.convert_to_tensor([[1.0, 2.0], [3.0, 4.0]])
    assert isinstance(x, gn.Tensor) and x.dtype == np.float32
    assert ops.shape(x) == (2, 2) and ops.ndim(x) == 2
    np.testing.assert_array_equal(ops.convert_to_numpy(ops.ones((2, 3))), np.ones((2, 3)))
    np.testing.assert_array_equal(ops.convert_to_numpy(ops.zeros((2,))), [0, 0])
    assert ops.convert_to_numpy(ops.mean(x)) == 2.5 and ops.convert_to_numpy(ops.sum(x)) == 10
    np.testing.assert_array_equal(ops.convert_to_numpy(ops.argmax(x, axis=-1)), [1, 1])
    oh = ops.convert_to_numpy(ops.one_hot(np.array([0, 2]), 3))
    np.testing.assert_array_equal(oh, [[1, 0, 0], [0, 0, 1]])
    assert ops.cast(x, "int32").dtype == np.int32
    np.testing.assert_allclose(ops.convert_to_numpy(ops.sigmoid(x)), 1 / (1 + np.exp(-x.data)))
    vals, idx = ops.top_k(ops.array([3.0, 1.0, 2.0]), 2)
    np.testing.assert_array_equal(ops.convert_to_numpy(idx), [0, 2])
    np.testing.assert_array_equal(ops.convert_to_numpy(vals), [3, 2])
    assert "square" in dir(ops) and "Add" in dir(ops)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        ops.nope  # noqa: B018


def test_control_flow_ops_run_eagerly():
    assert ops.fori_loop(0, 4, lambda i, v: v + i, 0) == 6
    assert ops.while_loop(lambda v: v < 5, lambda v: v + 2, 0) == 6
    carry, ys = ops.scan(lambda c, x: (c + x, c * x), ops.array(0.0), ops.array([1.0, 2.0]))
    assert float(carry.data) == 3.0 and ops.convert_to_numpy(ys).tolist() == [0.0, 2.0]
    assert ops.cond(True, lambda: 1, lambda: 2) == 1


def _keras_ops():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras", reason="real Keras 3 not installed")
    if keras.backend.backend() != "torch":
        pytest.skip("Keras runs on another backend in this process")
    return keras.ops


@pytest.mark.parametrize("name", sorted(CASES))
def test_keras_named_op_matches_real_keras(name):
    kops = _keras_ops()
    args, _, _ = CASES[name]
    ours = ops.convert_to_numpy(_run(name, args, np.float32))
    kargs = [a.astype(np.float32) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else
             ([t.astype(np.float32) for t in a] if isinstance(a, list) and
              isinstance(a[0], np.ndarray) else a) for a in args]
    theirs = kops.convert_to_numpy(getattr(kops, name)(*kargs))
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
