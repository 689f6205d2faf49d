"""keras.ops.custom_gradient: the forward value of the decorated function, its own
grad_fn as the backward (called as Keras's PyTorch backend calls it), inside models that
train and replay, and clear errors; against real Keras where it is installed."""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest

import glassnet as gn
from glassnet import ops

HAS_KERAS = importlib.util.find_spec("keras") is not None


def _log1pexp(lib):
    o = lib.ops

    @o.custom_gradient
    def log1pexp(x):
        e = o.exp(x)

        def grad(*args, upstream=None):
            if upstream is None:
                (upstream,) = args
            return o.multiply(upstream, 1.0 - 1.0 / o.add(1, e))

        return o.log(1 + e), grad

    return log1pexp


def _clip_grad(lib):
    o = lib.ops

    @o.custom_gradient
    def scaled(x, w):  # two inputs: each gets its own gradient
        def grad(*args, upstream=None):  # the signature the Keras docs write
            if upstream is None:
                (upstream,) = args
            return o.clip(upstream * w, -0.5, 0.5), o.sum(upstream * x, axis=0)

        return x * w, grad

    return scaled


def test_values_and_the_programs_own_gradients():
    x = np.array([-3.0, 0.0, 2.0, 40.0])
    t = gn.tensor(x, requires_grad=True)
    y = _log1pexp(gn)(t)
    np.testing.assert_allclose(y.data, np.log1p(np.exp(x)), rtol=1e-6)
    ops.sum(y).backward()
    np.testing.assert_allclose(t.grad, 1.0 - 1.0 / (1.0 + np.exp(x)), rtol=1e-6)
    a = gn.tensor(np.array([[1.0, -2.0], [3.0, 4.0]]), requires_grad=True)
    w = gn.tensor(np.array([2.0, 0.1]), requires_grad=True)
    ops.sum(_clip_grad(gn)(a, w) * 3.0).backward()
    np.testing.assert_allclose(a.grad, np.clip(3.0 * np.array([[2.0, 0.1]] * 2), -0.5, 0.5))
    np.testing.assert_allclose(w.grad, (3.0 * a.data).sum(axis=0))


def test_a_gradient_reversal_layer_trains_and_replays_bit_for_bit():
    """A layer built on custom_gradient (domain adaptation's gradient reversal) inside a
    model: the recorded step replays it (the function and its fresh grad_fn run again each
    step) with the same bits as steps taken the ordinary way."""

    @ops.custom_gradient
    def reverse(x):
        return x * 1.0, lambda up: -0.5 * up

    class Reverse(gn.layers.Layer):
        def call(self, x):
            return reverse(x)

    x = np.random.default_rng(0).random((16, 3)).astype("float32")
    y = np.random.default_rng(1).random((16, 1)).astype("float32")
    runs = []
    for jit in ("auto", False):
        gn.set_seed(2)
        m = gn.Sequential([gn.Input((3,)), gn.layers.Dense(4, activation="tanh"), Reverse(),
                           gn.layers.Dense(1)])
        m.compile(optimizer=gn.optimizers.SGD(0.1), loss="mse", jit_compile=jit)
        runs.append(([m.train_on_batch(x, y) for _ in range(4)], m.get_weights()))
        # "auto" recorded a program and replayed it; False never records
        assert bool([p for p in m._step().programs.values() if p]) == (jit == "auto")
    assert runs[0][0] == runs[1][0]
    for a, b in zip(runs[0][1], runs[1][1]):
        np.testing.assert_array_equal(a, b)


def test_grad_fn_called_as_each_backend_calls_it():
    """Keras's PyTorch backend calls grad_fn(*inputs, upstream=dy); TensorFlow and JAX call
    grad_fn(dy): a grad_fn taking the keyword gets the first, any other the second."""
    seen = {}

    @ops.custom_gradient
    def torch_style(x):
        def grad(*args, upstream=None):
            seen["torch"] = (len(args), upstream is not None)
            return upstream * 2.0

        return x * 1.0, grad

    @ops.custom_gradient
    def tf_style(x):
        def grad(dy):
            seen["tf"] = dy.shape
            return dy * 3.0

        return x * 1.0, grad

    t = gn.tensor([1.0, 2.0], requires_grad=True)
    ops.sum(torch_style(t) + tf_style(t)).backward()
    assert seen == {"torch": (1, True), "tf": (2,)}
    np.testing.assert_allclose(t.grad, [5.0, 5.0])


def test_errors_name_the_function():
    @ops.custom_gradient
    def no_pair(x):
        return x

    with pytest.raises(TypeError, match="no_pair.*must return \\(outputs, grad_fn\\)"):
        no_pair(gn.tensor([1.0]))

    @ops.custom_gradient
    def short(x, w):
        return x * w, lambda up: up

    out = short(gn.tensor([1.0], requires_grad=True), gn.tensor([2.0], requires_grad=True))
    with pytest.raises(ValueError, match="short.*returned 1 gradient\\(s\\) for 2 input"):
        out.backward()


@pytest.mark.skipif(not HAS_KERAS, reason="real Keras 3 is not installed")
def test_matches_keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras
    import torch

    x = np.array([[-3.0, 0.5], [2.0, 30.0]], dtype="float32")
    w = np.array([2.0, 0.1], dtype="float32")
    for make, args in ((_log1pexp, (x,)), (_clip_grad, (x, w))):
        kt = [torch.tensor(a, requires_grad=True) for a in args]
        ky = make(keras)(*kt)
        (ky * 3.0).sum().backward()
        gt = [gn.tensor(a, requires_grad=True) for a in args]
        gy = make(gn)(*gt)
        ops.sum(gy * 3.0).backward()
        np.testing.assert_allclose(gy.data, ky.detach().numpy(), rtol=1e-6)
        for g, k in zip(gt, kt):
            np.testing.assert_allclose(g.grad, k.grad.numpy(), rtol=1e-6)
