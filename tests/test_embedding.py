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


def test_reversible_embedding_ties_both_uses_and_trains_replayed():
    """ReversibleEmbedding: reverse=True is h · embeddingsᵀ (soft-capped), both uses train
    the one table, the logits carry no mask, bad vectors are refused by name, and a
    next-token model's step replays bit for bit."""
    from glassnet.layers import ReversibleEmbedding
    from glassnet.tensor import get_mask

    r = np.random.default_rng(0)
    e = ReversibleEmbedding(6, 3, mask_zero=True, logit_soft_cap=2.0)
    h = e(np.array([[1, 2, 0]]))
    w = e.embeddings.data.astype(np.float64)
    hv = r.normal(size=(1, 3, 3)).astype("float32")
    got = e(gn.tensor(hv), reverse=True)
    want = 2.0 * np.tanh(hv.astype(np.float64) @ w.T / 2.0)
    np.testing.assert_allclose(got.data, want, rtol=1e-5, atol=1e-6)
    assert get_mask(h) is not None and get_mask(got) is None
    with pytest.raises(ValueError, match="'reversible_embedding.*reverse=True takes vectors "
                                         "of size 3"):
        e(gn.tensor(np.ones((1, 2, 5), "float32")), reverse=True)
    x = r.integers(1, 6, (16, 5))
    runs = []
    for jit in ("auto", False):
        gn.set_seed(1)
        ids = gn.Input((5,), dtype="int64")
        emb = ReversibleEmbedding(6, 3)
        m = gn.Model(ids, emb(gn.layers.Dense(3, activation="tanh")(emb(ids)), reverse=True))
        m.compile("adam", gn.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=jit)
        start = m.get_weights()[0].copy()
        hist = m.fit(x, np.roll(x, -1, 1), epochs=2, batch_size=8, verbose=0).history
        runs.append((hist, m.get_weights()))
        assert not np.array_equal(m.get_weights()[0], start)  # the tied table trained
    assert runs[0][0] == runs[1][0]
    for a, b in zip(runs[0][1], runs[1][1]):
        np.testing.assert_array_equal(a, b)
