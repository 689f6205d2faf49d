"""The Tensor API: dtype policy, gradients, conversion helpers, no_grad, seeding."""

import numpy as np
import pytest

import glassnet as gn


@pytest.mark.parametrize(
    "data",
    [1.0, 3, True, [1, 2, 3], [[1.5, 2.5]], np.arange(4), np.array([True, False]),
     np.ones(3, np.float64), np.ones(2, np.int8), np.ones(2, np.float16)],
)
def test_default_dtype_is_float32(data):
    t = gn.tensor(data)
    assert t.dtype == np.float32
    np.testing.assert_array_equal(t.data, np.asarray(data, dtype=np.float32))


def test_float64_on_request_and_explicit_dtypes_kept():
    assert gn.tensor([1, 2], dtype="float64").dtype == np.float64
    assert gn.tensor([1, 2], dtype=np.int64).dtype == np.int64
    t = gn.tensor(1.0, dtype="float64", requires_grad=True)
    (t * t).backward()
    assert t.grad.dtype == np.float64


def test_set_floatx_changes_the_default():
    try:
        gn.set_floatx("float64")
        assert gn.tensor([1, 2]).dtype == np.float64
    finally:
        gn.set_floatx("float32")
    assert gn.floatx() == np.float32
    with pytest.raises(ValueError, match="float32 or float64.*int32"):
        gn.set_floatx("int32")


def test_float32_array_is_not_copied():
    a = np.ones(3, np.float32)
    assert gn.tensor(a).data is a


def test_bad_data_raises_type_error():
    with pytest.raises(TypeError, match="numeric.*str"):
        gn.tensor("abc")
    with pytest.raises(TypeError, match="numeric"):
        gn.tensor(np.array(["a"]))
    with pytest.raises(TypeError, match="floating dtype.*int64"):
        gn.tensor([1, 2], dtype="int64", requires_grad=True)


def test_python_scalars_do_not_upcast():
    x = gn.tensor([1.0, 2.0])
    assert (x * 2.5).dtype == np.float32
    assert (3 - x).dtype == np.float32
    assert (x / np.float64(2.0)).dtype == np.float32


def test_grad_accumulates_and_zero_grad_clears():
    x = gn.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [5.0, 7.0])
    x.zero_grad()
    assert x.grad is None


def test_detach_cuts_the_graph_but_shares_data():
    x = gn.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    d = y.detach()
    assert not d.requires_grad and d._ctx is None and d.data is y.data
    (x * d).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])


def test_numpy_item_tolist_len_float():
    t = gn.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert isinstance(t.numpy(), np.ndarray)
    np.testing.assert_array_equal(t.numpy(), [[1, 2], [3, 4]])
    assert t.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert len(t) == 2 and t.shape == (2, 2) and t.ndim == 2 and t.size == 4
    assert gn.tensor([[7.0]]).item() == 7.0
    assert float(gn.tensor(2.5)) == 2.5 and int(gn.tensor(3.0)) == 3
    np.testing.assert_array_equal(np.asarray(t), t.data)
    with pytest.raises(ValueError, match=r"one-element.*\(2, 2\)"):
        t.item()
    with pytest.raises(TypeError, match="0-d"):
        len(gn.tensor(1.0))


def test_repr_shows_values_and_flags():
    assert repr(gn.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    x = gn.tensor(1.0, requires_grad=True, name="w")
    assert repr(x) == "tensor(1., requires_grad=True, name='w')"
    assert repr(x * 2.0) == "tensor(2., requires_grad=True, op=Mul)"
    assert "dtype=float64" in repr(gn.tensor([1.0], dtype="float64"))
    assert "..." in repr(gn.tensor(np.zeros(1000)))  # large tensors are abbreviated


def test_no_grad_as_context_manager_and_decorator():
    x = gn.tensor(1.0, requires_grad=True)
    with gn.no_grad():
        assert not (x * 2.0).requires_grad

    @gn.no_grad()
    def f(t):
        return t * 2.0

    assert not f(x).requires_grad
    assert (x * 2.0).requires_grad  # restored after both


def test_no_grad_restores_state_after_exception():
    with pytest.raises(KeyError), gn.no_grad():
        raise KeyError("boom")
    assert gn.is_grad_enabled()


def test_set_seed_makes_rng_reproducible():
    gn.set_seed(123)
    a = gn.backend.rng().standard_normal(5)
    gn.set_seed(123)
    b = gn.backend.rng().standard_normal(5)
    gn.set_seed(124)
    c = gn.backend.rng().standard_normal(5)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert gn.get_seed() == 124
    with pytest.raises(ValueError, match="non-negative int"):
        gn.set_seed(-1)


def test_dropout_uses_the_seeded_rng():
    x = gn.tensor(np.ones((4, 5)))
    gn.set_seed(7)
    a = gn.functional.dropout(x, 0.5).data
    gn.set_seed(7)
    b = gn.functional.dropout(x, 0.5).data
    np.testing.assert_array_equal(a, b)
    assert set(np.unique(a)) <= {0.0, 2.0}


def test_methods_mirror_functions():
    a = np.arange(6.0).reshape(2, 3)
    t = gn.tensor(a)
    np.testing.assert_array_equal(t.reshape(3, 2).data, a.reshape(3, 2))
    np.testing.assert_array_equal(t.reshape((3, 2)).data, a.reshape(3, 2))
    np.testing.assert_array_equal(t.transpose(1, 0).data, a.T)
    np.testing.assert_array_equal(t.flatten().data, a.ravel())
    np.testing.assert_allclose(t.exp().log().data, a, atol=1e-5)
    np.testing.assert_array_equal(t.clip(1, 4).data, np.clip(a, 1, 4))
    np.testing.assert_array_equal(abs(-t).data, a)
    np.testing.assert_array_equal((+t).data, a)
    assert t.is_leaf and not (gn.tensor(1.0, requires_grad=True) * 1.0).is_leaf


def test_ndarray_on_the_left_defers_to_tensor():
    x = gn.tensor([1.0, 2.0], requires_grad=True)
    y = np.array([3.0, 4.0]) * x
    assert isinstance(y, gn.Tensor) and y.dtype == np.float32
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])


def test_logical_and_bitwise_operators_as_keras_tensors():
    """``&``, ``|``, ``^`` and ``~`` as on Keras's (PyTorch's) tensors: logical on bool
    tensors (keras.io's NER metric masks with ``(y > 0) & (p > 0)``), bitwise on integers,
    refused on floats; the result indexes a tensor."""
    import glassnet as gn

    a = gn.ops.convert_to_tensor(np.array([1, 0, 3]))
    b = gn.ops.convert_to_tensor(np.array([1, 1, 0]))
    pa, pb = np.array([1, 0, 3]) > 0, np.array([1, 1, 0]) > 0
    np.testing.assert_array_equal(((a > 0) & (b > 0)).data, pa & pb)
    np.testing.assert_array_equal(((a > 0) | (b > 0)).data, pa | pb)
    np.testing.assert_array_equal(((a > 0) ^ (b > 0)).data, pa ^ pb)
    np.testing.assert_array_equal((~(a > 0)).data, ~pa)
    np.testing.assert_array_equal((a & b).data, [1, 0, 0])
    np.testing.assert_array_equal((2 | a).data, [3, 2, 3])
    np.testing.assert_array_equal((a ^ 5).data, [4, 5, 6])
    np.testing.assert_array_equal((~a).data, [-2, -1, -4])
    np.testing.assert_array_equal((pb & (a > 0)).data, pa & pb)  # an array on the left
    np.testing.assert_array_equal(a[(a > 0) & (b > 0)].data, [1])
    with pytest.raises(TypeError, match="'&' needs bool or integer"):
        gn.tensor([1.0]) & gn.tensor([1.0])
