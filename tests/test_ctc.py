"""CTC (glassnet._ctc): the loss against every alignment counted by brute force and against
PyTorch's ``ctc_loss`` (values and gradients), decoding against brute force, and
``ops.ctc_loss`` / ``losses.CTC`` / ``ops.ctc_decode`` against real Keras 3."""

import itertools

import numpy as np
import pytest
from _keras_reference import glassnet_json, keras_json

import glassnet as gn
from glassnet import ops


def _collapse(path, blank=0):
    out, prev = [], None
    for k in path:
        if k != prev and k != blank:
            out.append(k)
        prev = k
    return tuple(out)


def _brute(logits, blank=0):
    """{label sequence: probability}, summing every path of softmax(logits)."""
    p = np.exp(logits - logits.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    steps, c = p.shape
    seqs: dict = {}
    for path in itertools.product(range(c), repeat=steps):
        seqs[_collapse(path, blank)] = seqs.get(_collapse(path, blank), 0.0) + np.prod(
            p[np.arange(steps), path])
    return seqs


def test_loss_is_minus_log_of_every_alignment_summed():
    rs = np.random.default_rng(0)
    z = rs.normal(size=(3, 5, 3))
    targets = np.array([[1, 2], [1, 1], [2, 0]])
    lengths = np.array([2, 2, 1])
    out_len = np.array([5, 4, 5])
    got = ops.ctc_loss(targets, gn.tensor(z, dtype="float64"), lengths, out_len).data
    for i in range(3):
        seqs = _brute(z[i, :out_len[i]])
        want = -np.log(seqs[tuple(targets[i, :lengths[i]])])
        assert got[i] == pytest.approx(want, rel=1e-10)


def test_gradient_checks_and_an_impossible_alignment_costs_inf_with_no_gradient():
    rs = np.random.default_rng(1)
    z = rs.normal(size=(2, 6, 4))
    t, tl, ol = np.array([[1, 3, 3], [2, 1, 0]]), np.array([3, 2]), np.array([6, 5])
    gn.gradcheck(lambda x: ops.ctc_loss(t, x, tl, ol, mask_index=0), z)
    gn.gradcheck(lambda x: ops.ctc_loss(t, x, tl, ol, mask_index=3), z)  # another blank
    x = gn.tensor(z, dtype="float64", requires_grad=True)
    loss = ops.ctc_loss(np.array([[1, 1, 1], [2, 1, 0]]), x, np.array([3, 2]),
                        np.array([4, 5]))  # 1 1 1 needs 5 steps
    assert np.isinf(loss.data[0]) and np.isfinite(loss.data[1])
    (loss[1:]).sum().backward()
    assert not x.grad[0].any() and x.grad[1].any()


def test_loss_and_gradient_match_pytorch():
    torch = pytest.importorskip("torch")
    rs = np.random.default_rng(2)
    z = rs.normal(size=(5, 12, 6))
    t = rs.integers(1, 6, (5, 4))
    t[1, 1] = t[1, 0]
    tl, ol = np.array([4, 2, 0, 3, 4]), np.array([12, 7, 5, 12, 10])
    zt = torch.tensor(z, requires_grad=True)
    want = torch.nn.functional.ctc_loss(torch.log_softmax(zt, -1).transpose(0, 1),
                                        torch.tensor(t), torch.tensor(ol), torch.tensor(tl),
                                        blank=0, reduction="none")
    w = rs.random(5)
    (want * torch.tensor(w)).sum().backward()
    x = gn.tensor(z, dtype="float64", requires_grad=True)
    got = ops.ctc_loss(t, x, tl, ol)
    (got * gn.tensor(w, dtype="float64")).sum().backward()
    np.testing.assert_allclose(got.data, want.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(x.grad, zt.grad.numpy(), rtol=1e-8, atol=1e-12)


def test_decoders_find_the_sequences_brute_force_ranks_first():
    rs = np.random.default_rng(3)
    z = rs.normal(size=(2, 5, 3)) * 2
    decoded, scores = ops.ctc_decode(z, [5, 4], strategy="beam_search", beam_width=50,
                                     top_paths=3)
    for i, n in enumerate((5, 4)):
        seqs = sorted(_brute(z[i, :n]).items(), key=lambda kv: -kv[1])[:3]
        for j, (seq, prob) in enumerate(seqs):
            row = decoded[j, i]
            assert tuple(row[row >= 0]) == seq
            assert scores[i, j] == pytest.approx(np.log(prob), rel=1e-9)
    greedy, _ = ops.ctc_decode(z, [5, 4])
    for i, n in enumerate((5, 4)):
        row = greedy[0, i]
        assert tuple(row[row >= 0]) == _collapse(z[i, :n].argmax(-1))
    with pytest.raises(ValueError, match="strategy"):
        ops.ctc_decode(z, [5, 4], strategy="best")
    with pytest.raises(ValueError, match="target_length"):
        ops.ctc_loss([[1, 2]], z[:1], [3], [5])


def test_a_model_trains_with_the_ctc_loss():
    """A per-step classifier learns to emit short label sequences (keras.io's OCR example's
    loss, on toy data): the loss falls and greedy decoding recovers the labels."""
    rs = np.random.default_rng(4)
    labels = rs.integers(1, 4, (64, 2))
    x = np.zeros((64, 6, 4), "float32")
    x[:, 1, :] = np.eye(4)[labels[:, 0]]  # the labels' one-hots on steps 1 and 4
    x[:, 4, :] = np.eye(4)[labels[:, 1]]
    gn.set_seed(0)
    m = gn.Sequential([gn.Input((6, 4)), gn.layers.Dense(16, activation="tanh"),
                       gn.layers.Dense(4)])
    m.compile(optimizer=gn.optimizers.Adam(0.05), loss=gn.losses.CTC())
    h = m.fit(x, labels, epochs=30, batch_size=16, verbose=0)
    assert h.history["loss"][-1] < 0.2 * h.history["loss"][0]
    decoded, _ = ops.ctc_decode(m.predict(x, verbose=0), np.full(64, 6))
    assert (decoded[0, :, :2] == labels).all(axis=1).mean() > 0.9


def test_matches_real_keras():
    k, g = keras_json("_keras_ctc_ref.py"), glassnet_json("_keras_ctc_ref.py")
    for key in ("loss", "CTC", "ctc_fn"):
        np.testing.assert_allclose(g[key], k[key], rtol=2e-6, err_msg=key)
    for key in ("greedy", "greedy2", "beam"):
        np.testing.assert_array_equal(g[key][0], k[key][0], err_msg=key)
        np.testing.assert_allclose(g[key][1], k[key][1], rtol=1e-5, atol=1e-6, err_msg=key)
