"""ops.dot_product_attention (multi-head, grouped-query, masks, bias, causal, scale),
ops.layer_normalization and ops.batch_normalization: equal to real Keras 3 on the same
inputs, gradient-checked, and to a NumPy formula."""

import numpy as np
import pytest
from _keras_reference import assert_same_results

import glassnet as gn
from glassnet import ops


def test_matches_real_keras():
    assert_same_results("_keras_nn_ops_ref.py", rtol=1e-5, atol=2e-6)


def test_attention_equals_the_numpy_formula_and_its_gradient_checks():
    rs = np.random.default_rng(0)
    q, k, v = (rs.normal(size=s) for s in ((2, 3, 4, 2), (2, 5, 1, 2), (2, 5, 1, 2)))
    got = ops.dot_product_attention(*(gn.tensor(a, dtype="float64") for a in (q, k, v))).data
    kk, vv = np.repeat(k, 4, axis=2), np.repeat(v, 4, axis=2)  # one key head for four
    logits = np.einsum("btnh,bsnh->bnts", q, kk) / np.sqrt(2)
    p = np.exp(logits - logits.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    np.testing.assert_allclose(got, np.einsum("bnts,bsnh->btnh", p, vv), rtol=1e-10)
    m = rs.random((2, 1, 3, 5)) > 0.4
    m[..., 0] = True
    gn.gradcheck(lambda a, b, c: ops.dot_product_attention(a, b, c, mask=m), q, k, v)
    gn.gradcheck(lambda a: ops.layer_normalization(a, axis=[-2, -1]), rs.normal(size=(2, 3, 4)))
    with pytest.raises(ValueError, match="only one of `bias` and `mask`"):
        ops.dot_product_attention(q, k, v, bias=np.zeros((1, 4, 3, 5)), mask=m)
    with pytest.raises(ValueError, match="multiple of key heads"):
        ops.dot_product_attention(q, rs.normal(size=(2, 5, 3, 2)), rs.normal(size=(2, 5, 3, 2)))
