"""Regularizers: penalty values vs NumPy, gradients, configs."""

import json

import numpy as np
import pytest

import glassnet as gn
from glassnet import regularizers as R

W = np.array([[0.5, -1.5, 2.0], [-0.25, 0.75, -3.0]])


@pytest.mark.parametrize(
    "reg, expected",
    [
        ("l1", 0.01 * np.abs(W).sum()),
        ("l2", 0.01 * (W**2).sum()),
        ("l1_l2", 0.01 * np.abs(W).sum() + 0.01 * (W**2).sum()),
        (R.L1L2(l1=0.3, l2=0.2), 0.3 * np.abs(W).sum() + 0.2 * (W**2).sum()),
        (R.L2(0.5), 0.5 * (W**2).sum()),
        (R.L1L2(), 0.0),
    ],
)
def test_penalty_values(reg, expected):
    out = R.get(reg)(gn.tensor(W, dtype="float64"))
    assert out.shape == ()
    np.testing.assert_allclose(out.data, expected, rtol=1e-12)


def test_gradients():
    gn.gradcheck(R.L1L2(l1=0.3, l2=0.2), W)
    w = gn.tensor(W, requires_grad=True, dtype="float64")
    R.L2(0.5)(w).backward()
    np.testing.assert_allclose(w.grad, W)  # d/dw 0.5·Σw² = w


def test_get_serialize_and_errors():
    assert R.get(None) is None and R.serialize(None) is None
    for reg in (R.L1(0.2), R.L2(0.3), R.L1L2(0.1, 0.4)):
        cfg = R.serialize(reg)
        assert json.loads(json.dumps(cfg)) == cfg
        back = R.deserialize(cfg)
        assert type(back) is type(reg) and back.get_config() == reg.get_config()
    assert R.get("l1_l2").get_config() == {"l1": 0.01, "l2": 0.01}
    with pytest.raises(ValueError, match="l2"):
        R.get("l3")
    with pytest.raises(ValueError, match="l2"):
        R.L2(-1)
