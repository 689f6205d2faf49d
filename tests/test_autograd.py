"""The autodiff engine: graph walk, accumulation, release/retain, clear errors, debug mode."""

import os
import subprocess
import sys

import numpy as np
import pytest

import glassnet as gn
from glassnet.autograd import Function


@pytest.fixture
def debug_on():
    gn.debug(True)
    yield
    gn.debug(False)


def test_chain_of_100k_ops_backpropagates_without_recursion():
    limit = sys.getrecursionlimit()
    x = gn.tensor(2.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y + 1.0
    y.backward()
    assert y.item() == 100_002.0
    assert x.grad == 1.0
    assert sys.getrecursionlimit() == limit  # the engine did not just raise the limit


def test_second_backward_after_release_raises_clear_error():
    x = gn.tensor(3.0, requires_grad=True)
    y = x * x
    y.backward()
    with pytest.raises(RuntimeError, match=r"already backpropagated and released.*retain_graph"):
        y.backward()


def test_retain_graph_lets_backward_run_again_and_accumulate():
    x = gn.tensor(3.0, requires_grad=True)
    y = x * x
    y.backward(retain_graph=True)
    assert x.grad == 6.0
    y.backward()
    assert x.grad == 12.0  # accumulated, as in PyTorch
    with pytest.raises(RuntimeError, match="released"):
        y.backward()


def test_retain_graph_matches_torch_accumulation():
    torch = pytest.importorskip("torch")
    a = np.array([[0.5, -1.0], [2.0, 0.25]])
    x = gn.tensor(a, requires_grad=True, dtype="float64")
    y = (gn.tanh(x) * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    xt = torch.tensor(a, requires_grad=True)
    yt = (torch.tanh(xt) * xt).sum()
    yt.backward(retain_graph=True)
    yt.backward()
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-12)


def test_backward_on_non_scalar_without_seed_says_so():
    x = gn.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"only for scalar outputs.*output shape \(2,\)"):
        (x * 2.0).backward()


def test_backward_with_seed_gradient():
    x = gn.tensor([1.0, 2.0], requires_grad=True)
    (x * x).backward(np.array([1.0, 10.0]))
    np.testing.assert_array_equal(x.grad, [2.0, 40.0])
    with pytest.raises(ValueError, match=r"grad must have the output's shape \(2,\).*\(3,\)"):
        (x * x).backward(np.ones(3))


def test_backward_without_graph_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        gn.tensor(1.0).backward()


def test_fan_out_accumulates_and_leaf_grads_add_up_across_calls():
    x = gn.tensor(2.0, requires_grad=True)
    y = x * x + x * 3.0 + x  # dy/dx = 2x + 4 = 8
    y.backward()
    assert x.grad == 8.0
    (x * 5.0).backward()
    assert x.grad == 13.0
    x.zero_grad()
    assert x.grad is None


def test_interior_nodes_get_their_gradient():
    x = gn.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3.0
    (h * h).sum().backward()
    np.testing.assert_array_equal(h.grad, 2 * h.data)


def test_constants_and_frozen_inputs_get_no_grad():
    x = gn.tensor([1.0, 2.0], requires_grad=True)
    c = gn.tensor([5.0, 6.0])
    (x * c).sum().backward()
    assert c.grad is None
    np.testing.assert_array_equal(x.grad, [5.0, 6.0])


def test_broadcast_gradients_are_summed_to_input_shape():
    b = gn.tensor(np.zeros((1, 3)), requires_grad=True)
    s = gn.tensor(0.0, requires_grad=True)
    x = gn.tensor(np.ones((4, 3)))
    (x + b + s).sum().backward()
    np.testing.assert_array_equal(b.grad, np.full((1, 3), 4.0))
    assert s.grad == 12.0


def test_no_grad_records_nothing():
    x = gn.tensor(1.0, requires_grad=True)
    with gn.no_grad():
        y = x * 2.0
        assert not gn.is_grad_enabled()
        with gn.enable_grad():
            z = x * 2.0
    assert gn.is_grad_enabled()
    assert not y.requires_grad and y._ctx is None
    assert z.requires_grad


def test_needs_input_grad_skips_unneeded_gradients():
    calls = {}

    class Spy(Function):
        def forward(self, a, b):
            return a * b

        def backward(self, gy):
            calls["needs"] = self.needs_input_grad
            return gy, None

    x = gn.tensor(2.0, requires_grad=True)
    Spy()(x, gn.tensor(3.0)).backward()
    assert calls["needs"] == (True, False)
    assert x.grad == 1.0


def test_custom_function_plugs_into_the_engine():
    class Cube(Function):
        def forward(self, x):
            self.x = x
            return x**3

        def backward(self, gy):
            return 3 * self.x**2 * gy

    gn.gradcheck(lambda t: Cube()(t), np.array([0.5, -1.5, 2.0]))
    x = gn.tensor(2.0, requires_grad=True)
    Cube()(x).backward()
    assert x.grad == 12.0


class _WrongShape(Function):
    def forward(self, x):
        return x * 1

    def backward(self, gy):
        return gy.T  # (3, 2) for a (2, 3) input: a silent bug without debug mode


class _WrongDtype(Function):
    def forward(self, x):
        return x * 1

    def backward(self, gy):
        return gy.astype(np.float64)


def test_debug_names_op_on_wrong_gradient_shape(debug_on):
    x = gn.tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"_WrongShape returned a gradient of shape \(3, 2\)"):
        _WrongShape()(x).sum().backward()


def test_debug_names_op_on_wrong_gradient_dtype(debug_on):
    x = gn.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"_WrongDtype returned a float64 gradient.*float32"):
        _WrongDtype()(x).sum().backward()


def test_debug_names_op_producing_nan_or_inf(debug_on):
    x = gn.tensor([0.0, 1.0], requires_grad=True)
    with np.errstate(divide="ignore"):
        y = gn.log(x * 1.0).sum()
        with pytest.raises(FloatingPointError, match=r"Log produced a non-finite gradient"):
            y.backward()


def test_without_debug_bad_shape_is_not_checked():
    x = gn.tensor(np.ones((2, 3)), requires_grad=True)
    _WrongShape()(x).sum().backward()  # reshaped silently: exactly why debug mode exists
    assert x.grad.shape == (2, 3)


def test_glassnet_debug_env_var_turns_checks_on():
    code = (
        "import numpy as np, glassnet as gn\n"
        "from glassnet import backend\n"
        "print(backend.is_debug())\n"
        "x = gn.tensor([0.0], requires_grad=True)\n"
        "with np.errstate(divide='ignore'):\n"
        "    try:\n"
        "        gn.log(x * 1.0).sum().backward()\n"
        "    except FloatingPointError as e:\n"
        "        print('caught', e)\n"
    )
    env = {**os.environ, "GLASSNET_DEBUG": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == "True"
    assert "caught debug: Log produced a non-finite gradient" in out.stdout


def test_gradcheck_catches_a_wrong_derivative():
    class BadSquare(Function):
        def forward(self, x):
            self.x = x
            return x * x

        def backward(self, gy):
            return self.x * gy  # missing the factor 2

    with pytest.raises(gn.GradcheckError, match=r"input 0 .*index \(0,\)"):
        gn.gradcheck(lambda t: BadSquare()(t), np.array([1.0, 2.0]))
    rep = gn.gradcheck(lambda t: BadSquare()(t), np.ones(100), raise_on_fail=False)
    assert not rep.ok and rep.mode == ["random"]


def test_leaf_gradients_are_writable_arrays():
    x = gn.tensor(np.ones((3, 4)), requires_grad=True)
    x.sum().backward()  # Sum's backward is a zero-stride broadcast view
    assert x.grad.flags.writeable
    x.grad *= 0.5  # optimizers and users may update gradients in place
    np.testing.assert_array_equal(x.grad, np.full((3, 4), 0.5))
    (x * 1.0).mean().backward()
    np.testing.assert_allclose(x.grad, np.full((3, 4), 0.5 + 1 / 12))


def test_mixed_dtype_gradients_come_back_in_each_inputs_dtype(debug_on):
    x = gn.tensor([1.0, 2.0], requires_grad=True)  # float32
    y = gn.tensor([3.0, 4.0], requires_grad=True, dtype="float64")
    z = x * y
    assert z.dtype == np.float64  # NumPy promotion in the forward pass
    z.sum().backward()  # debug mode on: the engine's cast must not be flagged
    assert x.grad.dtype == np.float32 and y.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])
    np.testing.assert_array_equal(y.grad, [1.0, 2.0])


@pytest.mark.parametrize("depth", [1, 2, 5])
def test_fan_out_through_paths_of_different_lengths(depth):
    # x reaches the output directly and through a longer chain: both contributions count
    def f(x):
        h = x
        for _ in range(depth):
            h = gn.sigmoid(h)
        return (x * h).sum()

    gn.gradcheck(f, np.array([0.3, -1.2, 2.0]))
    x = gn.tensor(0.5, requires_grad=True, dtype="float64")
    (x * gn.sigmoid(x)).backward()
    s = 1 / (1 + np.exp(-0.5))
    assert np.isclose(x.grad, s + 0.5 * s * (1 - s), rtol=1e-12)


def test_a_lookup_output_requires_no_gradient_as_in_torch():
    """Bucketing (Discretization) and lookups are ``Pure`` ops: no gradient flows through
    them, so their outputs do not require one (PyTorch's ``bucketize``/``searchsorted``
    likewise), and a backward from them says so instead of leaving ``grad`` None."""
    x = np.array([[-1.0, 0.2, 0.9]], np.float32)
    t = gn.tensor(x, requires_grad=True)
    for layer in (gn.layers.Discretization([-0.5, 0.5]),
                  gn.layers.Discretization([-0.5, 0.5], output_mode="one_hot")):
        y = layer(t)
        assert not y.requires_grad
        with pytest.raises(RuntimeError, match="does not require grad"):
            y.sum().backward()
    # a differentiable op beside it still carries the input's gradient
    z = (t * 2.0).sum() + gn.layers.Discretization([-0.5, 0.5], output_mode="one_hot")(t).sum()
    z.backward()
    np.testing.assert_array_equal(t.grad, np.full_like(x, 2.0))


def test_torch_bucketing_requires_no_gradient_either():
    torch = pytest.importorskip("torch")
    tt = torch.tensor([[-1.0, 0.2, 0.9]], requires_grad=True)
    assert not torch.bucketize(tt, torch.tensor([-0.5, 0.5]), right=True).requires_grad
