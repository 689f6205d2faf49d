"""Keras 3's integer ops (bitwise, shifts, gcd/lcm, nextafter, digitize, unravel_index) and
composed ones (glu, kron, trapezoid, ldexp, vander, corrcoef): equal to real Keras 3 on the
same inputs (tests/_keras_ops_int_ref.py), the differentiable ones gradient-checked."""

import numpy as np
import pytest
from _keras_reference import assert_same_results

import glassnet as gn
from glassnet import ops


def test_matches_real_keras():
    assert_same_results("_keras_ops_int_ref.py", rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name,fn", [
    ("glu", lambda t: ops.glu(ops.concatenate([t, t * 2.0], axis=1))),
    ("glu_axis0", lambda t: ops.glu(t, axis=0)),
    ("kron", lambda t: ops.kron(t, gn.tensor(np.arange(6.0).reshape(2, 3), dtype="float64"))),
    ("trapezoid", lambda t: ops.trapezoid(t, x=np.array([0.0, 0.5, 2.0]), axis=1)),
    ("trapezoid_dx", lambda t: ops.trapezoid(t, dx=0.5, axis=0)),
    ("ldexp", lambda t: ops.ldexp(t, np.array([1, -2, 3]))),
    ("vander", lambda t: ops.vander(t[0], N=4)),
    ("corrcoef", lambda t: ops.corrcoef(t)),
])
def test_composed_ops_have_numeric_gradients(name, fn):
    x = gn.tensor(np.random.default_rng(1).normal(size=(4, 3)), dtype="float64",
                  requires_grad=True)
    proj = None

    def loss(t):
        nonlocal proj
        y = fn(t)
        if proj is None:  # a random weight on every output value: each one's place counts
            proj = gn.tensor(np.random.default_rng(2).normal(size=y.shape), dtype="float64")
        return ops.sum(y * proj)

    gn.gradcheck(loss, x)


def test_errors_name_the_op_and_the_shapes():
    with pytest.raises(ValueError, match="glu: the size of axis -1 must be even"):
        ops.glu(np.ones((2, 3)))
    with pytest.raises(ValueError, match="vander: x must be 1-D"):
        ops.vander(np.ones((2, 3)))
