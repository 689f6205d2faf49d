"""Activations: forward vs NumPy formulas and torch, gradients by gradcheck, name table."""

import functools
import json
import math

import numpy as np
import pytest

import glassnet as gn
from glassnet import activations as A

# points away from the kinks (0) so finite differences are valid everywhere
X = np.array([-3.1, -1.7, -0.6, -0.2, 0.3, 0.9, 1.4, 2.8])


def _sig(x):
    return 1 / (1 + np.exp(-x))


_ERF = np.vectorize(math.erf)

REF = {
    "linear": lambda x: x,
    "binary_step": lambda x: (x >= 0).astype(float),
    "sign": lambda x: np.where(x >= 0, 1.0, -1.0),
    "sigmoid": _sig,
    "hard_sigmoid": lambda x: np.clip(x / 6 + 0.5, 0, 1),
    "tanh": np.tanh,
    "arctan": np.arctan,
    "relu": lambda x: np.maximum(x, 0),
    "leaky_relu": lambda x: np.where(x > 0, x, 0.2 * x),
    "elu": lambda x: np.where(x > 0, x, np.exp(x) - 1),
    "selu": lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * (np.exp(x) - 1)),
    "softplus": lambda x: np.log1p(np.exp(x)),
    "softsign": lambda x: x / (1 + np.abs(x)),
    "swish": lambda x: x * _sig(x),
    "gelu": lambda x: 0.5 * x * (1 + _ERF(x / np.sqrt(2))),
    "softmax": lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True),
    "log_softmax": lambda x: x - np.log(np.exp(x).sum(-1, keepdims=True)),
}

SMOOTH = [n for n in REF if n not in ("binary_step", "sign")]


@pytest.mark.parametrize("name", list(REF))
def test_forward_matches_numpy_formula(name):
    y = A.get(name)(gn.tensor(X, dtype="float64"))
    np.testing.assert_allclose(y.data, REF[name](X), rtol=1e-6, atol=2e-7)


@pytest.mark.parametrize("name", SMOOTH)
def test_gradcheck(name):
    gn.gradcheck(A.get(name), X.reshape(2, 4))


def test_step_functions_have_zero_gradient():
    for name in ("binary_step", "sign"):
        x = gn.tensor(X, requires_grad=True)
        A.get(name)(x).sum().backward()
        np.testing.assert_array_equal(x.grad, np.zeros_like(X))


def test_sigmoid_steepness_and_gelu_tanh_approximation():
    np.testing.assert_allclose(A.sigmoid(gn.tensor(X, dtype="float64"), c=3.0).data, _sig(3 * X))
    gn.gradcheck(lambda x: A.sigmoid(x, c=2.5), X)
    approx = 0.5 * X * (1 + np.tanh(np.sqrt(2 / np.pi) * (X + 0.044715 * X**3)))
    np.testing.assert_allclose(A.gelu(gn.tensor(X, dtype="float64"), approximate=True).data,
                               approx, rtol=1e-12)
    gn.gradcheck(lambda x: A.gelu(x, approximate=True), X)
    gn.gradcheck(lambda x: A.elu(x, alpha=0.5), X)
    gn.gradcheck(lambda x: A.leaky_relu(x, alpha=0.1), X)


def test_softplus_and_elu_are_stable_in_the_tails():
    big = gn.tensor([-1000.0, 1000.0])
    np.testing.assert_allclose(A.softplus(big).data, [0.0, 1000.0])
    np.testing.assert_allclose(A.elu(big).data, [-1.0, 1000.0])
    assert np.isfinite(A.gelu(big).data).all()


def test_against_torch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    xt = torch.tensor(X)
    pairs = {
        "sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": F.relu,
        "elu": F.elu, "selu": F.selu, "softplus": F.softplus, "softsign": F.softsign,
        "silu": F.silu, "gelu": F.gelu, "hard_sigmoid": F.hardsigmoid,
        "leaky_relu": lambda t: F.leaky_relu(t, 0.2), "arctan": torch.atan,
        "softmax": lambda t: F.softmax(t, -1), "log_softmax": lambda t: F.log_softmax(t, -1),
    }
    for name, tf in pairs.items():
        ours = A.get(name)(gn.tensor(X, dtype="float64")).data
        np.testing.assert_allclose(ours, tf(xt).numpy(), rtol=1e-6, atol=1e-7, err_msg=name)
        # derivatives too, through autograd on both sides
        xg = xt.clone().requires_grad_(True)
        tf(xg).sum().backward()
        if name not in ("softmax", "log_softmax"):
            np.testing.assert_allclose(A.derivative(name, X), xg.grad.numpy(), rtol=1e-6,
                                       atol=1e-7, err_msg=name)


def test_float32_in_float32_out():
    for name in REF:
        y = A.get(name)(gn.tensor(X.astype(np.float32)))
        assert y.dtype == np.float32, name


def test_softmax_axis():
    x = np.random.default_rng(0).normal(size=(3, 4))
    y = A.softmax(gn.tensor(x, dtype="float64"), axis=0).data
    np.testing.assert_allclose(y.sum(axis=0), np.ones(4))


def test_derivative_helper():
    np.testing.assert_allclose(A.derivative("sigmoid", X), _sig(X) * (1 - _sig(X)))
    np.testing.assert_allclose(A.derivative("tanh", X), 1 - np.tanh(X) ** 2)
    np.testing.assert_allclose(A.derivative("binary_step", X), np.zeros_like(X))
    np.testing.assert_allclose(A.derivative("relu", X), (X > 0).astype(float))


def test_get_serialize_roundtrip():
    assert A.get(None) is A.linear
    assert A.get("ReLU") is A.relu
    assert A.get("logistic") is A.sigmoid
    assert A.get(np.tanh) is np.tanh
    for name in ("relu", "softmax", "gelu", "selu"):
        s = A.serialize(A.get(name))
        assert json.loads(json.dumps(s)) == s
        assert A.deserialize(s) is A.get(name)
    f = A.get({"class_name": "leaky_relu", "config": {"alpha": 0.1}})
    assert isinstance(f, functools.partial)
    np.testing.assert_allclose(f(gn.tensor([-1.0])).data, [-0.1], rtol=1e-6)
    s = A.serialize(f)
    assert s == {"class_name": "leaky_relu", "config": {"alpha": 0.1}}
    np.testing.assert_allclose(A.get(s)(gn.tensor([-2.0])).data, [-0.2], rtol=1e-6)


def test_unknown_name_suggests_close_ones():
    with pytest.raises(ValueError, match="relu"):
        A.get("rellu")
    with pytest.raises(TypeError, match="activation"):
        A.get(3)
    with pytest.raises(ValueError, match="serialized"):
        A.serialize(lambda x: x)
