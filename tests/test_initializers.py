"""Initializers: statistics vs the Keras formulas, seeding, orthogonality, name table."""

import json
import math

import numpy as np
import pytest

import glassnet as gn
from glassnet import initializers as I

SHAPE = (200, 300)  # fan_in 200, fan_out 300
CONV = (3, 3, 16, 32)  # receptive 9: fan_in 144, fan_out 288


def test_compute_fans_like_keras():
    assert I.compute_fans((200, 300)) == (200, 300)
    assert I.compute_fans(CONV) == (144, 288)
    assert I.compute_fans((7,)) == (7, 7)
    assert I.compute_fans(()) == (1, 1)


@pytest.mark.parametrize(
    "name, limit",
    [
        ("glorot_uniform", math.sqrt(6 / 500)),
        ("he_uniform", math.sqrt(6 / 200)),
        ("lecun_uniform", math.sqrt(3 / 200)),
        ("uniform", 0.05),
    ],
)
def test_uniform_families_bounds_and_std(name, limit):
    w = I.get(name)(SHAPE)
    assert w.dtype == np.float32 and w.shape == SHAPE
    assert np.abs(w).max() <= limit
    assert np.abs(w).max() > 0.98 * limit
    np.testing.assert_allclose(w.std(), limit / math.sqrt(3), rtol=0.02)
    assert abs(w.mean()) < 0.01 * limit


@pytest.mark.parametrize(
    "name, std",
    [
        ("glorot_normal", math.sqrt(2 / 500)),
        ("he_normal", math.sqrt(2 / 200)),
        ("lecun_normal", math.sqrt(1 / 200)),
    ],
)
def test_truncated_normal_families_keep_the_target_variance(name, std):
    w = I.get(name)(SHAPE)
    np.testing.assert_allclose(w.std(), std, rtol=0.02)
    # truncation at 2 stddev of the *untruncated* normal, stddev std/0.8796
    assert np.abs(w).max() <= 2 * std / 0.87962566103423978 + 1e-6


def test_conv_kernel_fans():
    w = I.get("he_uniform")(CONV)
    assert np.abs(w).max() <= math.sqrt(6 / 144)
    np.testing.assert_allclose(w.std(), math.sqrt(6 / 144) / math.sqrt(3), rtol=0.05)


def test_random_normal_truncated_constant():
    w = I.get("normal")(SHAPE)
    np.testing.assert_allclose([w.mean(), w.std()], [0, 0.05], atol=2e-3)
    w = I.RandomNormal(mean=1.0, stddev=0.2)(SHAPE)
    np.testing.assert_allclose([w.mean(), w.std()], [1.0, 0.2], atol=5e-3)
    t = I.TruncatedNormal(mean=0.5, stddev=0.1)(SHAPE)
    assert t.min() >= 0.3 - 1e-6 and t.max() <= 0.7 + 1e-6
    u = I.RandomUniform(2.0, 3.0)(SHAPE)
    assert u.min() >= 2.0 and u.max() < 3.0
    np.testing.assert_array_equal(I.get("zeros")((2, 3)), np.zeros((2, 3)))
    np.testing.assert_array_equal(I.get("ones")((2,)), np.ones(2))
    np.testing.assert_array_equal(I.Constant(7)((2, 2)), np.full((2, 2), 7.0))


def test_orthogonal_and_identity():
    for shape in [(30, 30), (50, 20), (20, 50)]:
        q = I.get("orthogonal")(shape, dtype="float64")
        small = min(shape)
        gram = q.T @ q if shape[0] >= shape[1] else q @ q.T
        np.testing.assert_allclose(gram, np.eye(small), atol=1e-10)
    q = I.Orthogonal(gain=2.0)((3, 3, 4, 8), dtype="float64").reshape(-1, 8)
    np.testing.assert_allclose(q.T @ q, 4 * np.eye(8), atol=1e-10)
    np.testing.assert_array_equal(I.Identity(gain=3)((2, 3)), 3 * np.eye(2, 3))
    with pytest.raises(ValueError, match="2-D"):
        I.Identity()((2, 2, 2))


def test_seeding_reproduces_and_differs():
    gn.set_seed(123)
    a = I.get("glorot_uniform")((5, 4))
    b = I.get("glorot_uniform")((5, 4))
    gn.set_seed(123)
    a2 = I.get("glorot_uniform")((5, 4))
    np.testing.assert_array_equal(a, a2)
    assert not np.array_equal(a, b)
    # a per-initializer seed gives the same draw every call
    s = I.RandomNormal(seed=4)
    np.testing.assert_array_equal(s((3,)), s((3,)))


def test_dtype_and_float64():
    assert I.get("he_normal")((3, 3), dtype="float64").dtype == np.float64
    gn.set_floatx("float64")
    try:
        assert I.get("uniform")((2, 2)).dtype == np.float64
    finally:
        gn.set_floatx("float32")


def test_get_serialize_roundtrip_and_errors():
    for name in I._TABLE:
        init = I.get(name)
        cfg = I.serialize(init)
        assert json.loads(json.dumps(cfg)) == cfg
        back = I.deserialize(cfg)
        assert type(back) is type(init) and back.get_config() == init.get_config()
    assert I.get("uniform").get_config() == {"minval": -0.05, "maxval": 0.05, "seed": None}
    assert isinstance(I.get(None), I.GlorotUniform)
    assert isinstance(I.get("GlorotUniform"), I.GlorotUniform)
    with pytest.raises(ValueError, match="glorot_uniform"):
        I.get("glorot_unifrom")
    with pytest.raises(ValueError, match="minval"):
        I.RandomUniform(1, 0)
    with pytest.raises(ValueError, match="shape"):
        I.get("zeros")((2, -1))
