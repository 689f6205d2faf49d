"""Embedding: lookup forward, scatter-add gradient, masks, errors."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.layers import Embedding
from glassnet.layers.embedding import EmbeddingLookup, get_mask


def test_forward_is_row_lookup():
    emb = Embedding(10, 4)
    ids = np.array([[1, 2, 2], [9, 0, 1]])
    y = emb(ids)
    assert y.shape == (2, 3, 4) and y.dtype == np.float32
    np.testing.assert_array_equal(y.data, emb.embeddings.data[ids])
    w = emb.embeddings.data
    assert w.min() >= -0.05 and w.max() <= 0.05  # Keras's "uniform"


@pytest.mark.parametrize("n_ids", [3, 200])  # sparse (add.at) and dense (reduceat) paths
def test_gradient_is_scatter_add(n_ids):
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 20, size=(n_ids,))
    gy = rng.normal(size=(n_ids, 3))
    fn = EmbeddingLookup()
    fn.forward(np.zeros((20, 3)), ids)
    want = np.zeros((20, 3))
    np.add.at(want, ids, gy)
    gw, gids = fn.backward(gy)
    assert gids is None  # ids are integers: no gradient
    np.testing.assert_allclose(gw, want, atol=1e-12)


def test_gradcheck_with_repeats():
    ids = np.array([[1, 1, 3], [0, 3, 3]])
    table = np.random.default_rng(1).normal(size=(5, 2))
    idt = gn.Tensor(ids, dtype="int64")
    assert gn.gradcheck(lambda w: EmbeddingLookup()(w, idt) ** 2, table).ok


def test_torch_embedding_gradient():
    torch = pytest.importorskip("torch")
    ids = np.array([[4, 1, 1, 0], [2, 4, 4, 4]])
    emb = Embedding(6, 3)
    y = emb(ids)
    (y * y).sum().backward()
    t = torch.nn.Embedding(6, 3)
    with torch.no_grad():
        t.weight.copy_(torch.tensor(emb.embeddings.data))
    ty = t(torch.tensor(ids))
    (ty * ty).sum().backward()
    np.testing.assert_allclose(emb.embeddings.grad, t.weight.grad.numpy(), atol=1e-6)


def test_mask_zero_attaches_mask():
    ids = np.array([[3, 0], [0, 1]])
    y = Embedding(4, 2, mask_zero=True)(ids)
    np.testing.assert_array_equal(get_mask(y), ids != 0)
    assert get_mask(Embedding(4, 2)(ids)) is None


def test_errors_name_the_layer():
    with pytest.raises(ValueError, match=r"ids must lie in \[0, 4\).*\[0, 7\]"):
        Embedding(4, 2, name="tok")(np.array([[0, 7]]))
    with pytest.raises(ValueError, match="integer ids"):
        Embedding(4, 2)(np.array([[0.5]]))
    with pytest.raises(ValueError, match="output_dim must be a positive int"):
        Embedding(4, 0)


def test_config_roundtrip():
    emb = Embedding(8, 3, mask_zero=True)
    cfg = emb.get_config()
    clone = Embedding.from_config(cfg)
    assert clone.mask_zero and clone.input_dim == 8 and clone.output_dim == 3
