"""Attention layers against PyTorch (forward and gradients, weights mapped) and real Keras 3."""

from __future__ import annotations

import os

import numpy as np
import pytest

import glassnet as gn
from glassnet.layers import (
    AdditiveAttention,
    Attention,
    Embedding,
    GlobalAveragePooling1D,
    LayerNormalization,
    Masking,
    MultiHeadAttention,
)
from glassnet.layers.embedding import get_mask


def _t64(a, grad=True):
    torch = pytest.importorskip("torch")
    return torch.tensor(np.asarray(a, np.float64), requires_grad=grad)


def _gn64(a):
    return gn.tensor(np.asarray(a, np.float64), dtype="float64", requires_grad=True)


# ------------------------------------------------------------------ PyTorch
def _mha_case(kdim=12, vdim=10, heads=2, head=4, t=5, s=6, seed=0):
    rng = np.random.default_rng(seed)
    e = heads * head  # torch needs embed_dim = heads * head_dim and output = embed_dim
    q = rng.normal(size=(3, t, e))
    k = rng.normal(size=(3, s, kdim))
    v = rng.normal(size=(3, s, vdim))
    layer = MultiHeadAttention(num_heads=heads, key_dim=head, dtype="float64")
    layer(q, v, k)  # build
    ws = [rng.normal(size=w.shape) * 0.5 for w in layer.get_weights()]
    layer.set_weights(ws)
    return q, k, v, layer, ws


def _torch_mha(ws, e, kdim, vdim, heads):
    torch = pytest.importorskip("torch")
    m = torch.nn.MultiheadAttention(e, heads, kdim=kdim, vdim=vdim, batch_first=True,
                                    dtype=torch.float64)
    qk, qb, kk, kb, vk, vb, ok, ob = ws
    with torch.no_grad():
        m.q_proj_weight.copy_(torch.tensor(qk.reshape(e, -1).T))
        m.k_proj_weight.copy_(torch.tensor(kk.reshape(kdim, -1).T))
        m.v_proj_weight.copy_(torch.tensor(vk.reshape(vdim, -1).T))
        m.in_proj_bias.copy_(torch.tensor(np.concatenate([qb.ravel(), kb.ravel(), vb.ravel()])))
        m.out_proj.weight.copy_(torch.tensor(ok.reshape(-1, e).T))
        m.out_proj.bias.copy_(torch.tensor(ob))
    return m


@pytest.mark.parametrize("masked", [False, True])
def test_multi_head_attention_matches_torch_forward_and_gradients(masked):
    torch = pytest.importorskip("torch")
    q, k, v, layer, ws = _mha_case()
    e, kdim, vdim, heads = 8, 12, 10, 2
    rng = np.random.default_rng(1)
    t, s = q.shape[1], k.shape[1]
    amask = rng.random((3, t, s)) > 0.3 if masked else None
    if masked:
        amask[:, :, 0] = True  # no fully masked rows (Keras and torch differ there)
    gq, gk, gv = _gn64(q), _gn64(k), _gn64(v)
    y, w = layer(gq, gv, gk, attention_mask=amask, return_attention_scores=True)
    r = rng.normal(size=y.shape)
    (y * gn.tensor(r, dtype="float64")).sum().backward()

    m = _torch_mha(ws, e, kdim, vdim, heads)
    tq, tk, tv = _t64(q), _t64(k), _t64(v)
    tm = None
    if masked:  # torch: True = NOT allowed, one (T, S) mask per batch*head
        tm = torch.tensor(~np.repeat(amask, heads, axis=0))
    ty, tw = m(tq, tk, tv, attn_mask=tm, need_weights=True, average_attn_weights=False)
    (ty * torch.tensor(r)).sum().backward()

    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(w.data, tw.detach().numpy(), rtol=1e-9, atol=1e-9)
    for g, tg in ((gq, tq), (gk, tk), (gv, tv)):
        np.testing.assert_allclose(g.grad, tg.grad.numpy(), rtol=1e-8, atol=1e-9)
    # weight gradients, mapped back to Keras's layout
    qk, qb, kk, kb, vk, vb, ok, ob = layer.weights
    tgrads = [m.q_proj_weight.grad.numpy().T.reshape(qk.shape),
              m.in_proj_bias.grad.numpy()[:e].reshape(qb.shape),
              m.k_proj_weight.grad.numpy().T.reshape(kk.shape),
              m.in_proj_bias.grad.numpy()[e:2 * e].reshape(kb.shape),
              m.v_proj_weight.grad.numpy().T.reshape(vk.shape),
              m.in_proj_bias.grad.numpy()[2 * e:].reshape(vb.shape),
              m.out_proj.weight.grad.numpy().T.reshape(ok.shape),
              m.out_proj.bias.grad.numpy()]
    for wt, tg in zip(layer.weights, tgrads):
        np.testing.assert_allclose(wt.grad, tg, rtol=1e-8, atol=1e-9, err_msg=wt.name)


def test_multi_head_attention_causal_matches_torch():
    torch = pytest.importorskip("torch")
    q, k, v, layer, ws = _mha_case(t=5, s=5)
    gq, gk, gv = _gn64(q), _gn64(k), _gn64(v)
    y = layer(gq, gv, gk, use_causal_mask=True)
    y.sum().backward()
    m = _torch_mha(ws, 8, 12, 10, 2)
    tq, tk, tv = _t64(q), _t64(k), _t64(v)
    causal = torch.triu(torch.ones(5, 5, dtype=torch.bool), diagonal=1)  # True = blocked
    ty, _ = m(tq, tk, tv, attn_mask=causal)
    ty.sum().backward()
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-9, atol=1e-9)
    for g, tg in ((gq, tq), (gk, tk), (gv, tv)):
        np.testing.assert_allclose(g.grad, tg.grad.numpy(), rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("use_mask", [False, True])
def test_attention_layer_is_scaled_dot_product_attention(use_mask):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(2)
    q, v = rng.normal(size=(2, 4, 6)), rng.normal(size=(2, 7, 6))
    vmask = np.ones((2, 7), bool)
    if use_mask:
        vmask[0, 5:] = False
        vmask[1, 0] = False
    gq, gv = _gn64(q), _gn64(v)
    y = Attention(dtype="float64")([gq, gv], mask=[None, vmask] if use_mask else None)
    r = rng.normal(size=y.shape)
    (y * gn.tensor(r, dtype="float64")).sum().backward()
    tq, tv = _t64(q), _t64(v)
    tm = torch.tensor(vmask[:, None, :]) if use_mask else None
    ty = F.scaled_dot_product_attention(tq, tv, tv, attn_mask=tm, scale=1.0)
    (ty * torch.tensor(r)).sum().backward()
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(gq.grad, tq.grad.numpy(), rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(gv.grad, tv.grad.numpy(), rtol=1e-8, atol=1e-9)


def test_additive_attention_gradients_match_numeric():
    rng = np.random.default_rng(3)
    layer = AdditiveAttention(dtype="float64")
    q, v, k = (rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 5, 4)),
               rng.normal(size=(2, 5, 4)))
    layer([q, v, k])

    def f(a, b, c):
        return layer([a, b, c])

    gn.gradcheck(f, _gn64(q), _gn64(v), _gn64(k))


# ------------------------------------------------------------------ real Keras 3
def _to_keras(layer, klayer):
    klayer.set_weights(layer.get_weights())


@pytest.mark.parametrize("kwargs", [{}, {"use_scale": True}, {"score_mode": "concat"},
                                    {"score_mode": "concat", "use_scale": True}])
def test_attention_matches_keras(keras, kwargs):
    rng = np.random.default_rng(4)
    q, v, k = (rng.normal(size=(2, 3, 4)).astype("float32"),
               rng.normal(size=(2, 5, 4)).astype("float32"),
               rng.normal(size=(2, 5, 4)).astype("float32"))
    qm = np.array([[1, 1, 0], [1, 1, 1]], bool)
    vm = np.array([[1, 1, 1, 0, 0], [1, 0, 1, 1, 1]], bool)
    layer = Attention(**kwargs)
    layer([q, v, k])
    layer.set_weights([w * 1.3 for w in layer.get_weights()])
    kl = keras.layers.Attention(**kwargs)
    kl([q, v, k])
    _to_keras(layer, kl)
    for causal in (False, True):
        y, w = layer([q, v, k], mask=[qm, vm], return_attention_scores=True,
                     use_causal_mask=causal)
        ky, kw = kl([q, v, k], mask=[qm, vm], return_attention_scores=True,
                    use_causal_mask=causal)
        np.testing.assert_allclose(y.data, keras.ops.convert_to_numpy(ky), atol=1e-5)
        np.testing.assert_allclose(w.data, keras.ops.convert_to_numpy(kw), atol=1e-5)


def test_additive_attention_matches_keras(keras):
    rng = np.random.default_rng(5)
    q, v = rng.normal(size=(2, 3, 4)).astype("float32"), rng.normal(size=(2, 5, 4)).astype(
        "float32")
    for use_scale in (True, False):
        layer = AdditiveAttention(use_scale=use_scale)
        layer([q, v])
        kl = keras.layers.AdditiveAttention(use_scale=use_scale)
        kl([q, v])
        _to_keras(layer, kl)
        vm = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
        np.testing.assert_allclose(layer([q, v], mask=[None, vm]).data,
                                   keras.ops.convert_to_numpy(kl([q, v], mask=[None, vm])),
                                   atol=1e-5)


def test_multi_head_attention_matches_keras(keras):
    rng = np.random.default_rng(6)
    q = rng.normal(size=(2, 4, 6)).astype("float32")
    v = rng.normal(size=(2, 5, 3)).astype("float32")
    k = rng.normal(size=(2, 5, 7)).astype("float32")
    layer = MultiHeadAttention(num_heads=3, key_dim=2, value_dim=5, output_shape=9)
    layer(q, v, k)
    kl = keras.layers.MultiHeadAttention(num_heads=3, key_dim=2, value_dim=5, output_shape=9)
    kl(q, v, k)
    assert [w.shape for w in layer.get_weights()] == [tuple(w.shape) for w in kl.get_weights()]
    layer.set_weights([rng.normal(size=w.shape).astype("float32") for w in kl.get_weights()])
    _to_keras(layer, kl)
    am = rng.random((2, 4, 5)) > 0.4
    am[:, :, 2] = True
    y, w = layer(q, v, k, attention_mask=am, return_attention_scores=True)
    ky, kw = kl(q, v, k, attention_mask=am, return_attention_scores=True)
    np.testing.assert_allclose(y.data, keras.ops.convert_to_numpy(ky), atol=1e-5)
    np.testing.assert_allclose(w.data, keras.ops.convert_to_numpy(kw), atol=1e-5)


def test_multi_head_attention_uses_input_masks_like_keras(keras):
    # Keras's documented rule: the query mask (B, T, 1) & the value mask (B, 1, S) form the
    # attention mask. glassnet reads both from the Embedding's mask; Keras gets it explicitly.
    rng = np.random.default_rng(7)
    ids = np.array([[3, 5, 2, 0, 0], [1, 4, 4, 6, 0]])
    x = Embedding(8, 6, mask_zero=True)(ids)
    layer = MultiHeadAttention(num_heads=2, key_dim=3)
    y = layer(x, x)
    assert np.array_equal(get_mask(y), ids != 0)  # the query's mask travels on
    kl = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3)
    kl(x.data, x.data)
    kl.set_weights([rng.normal(size=w.shape).astype("float32") for w in kl.get_weights()])
    layer.set_weights(kl.get_weights())
    m = ids != 0
    ky, kw = kl(x.data, x.data, attention_mask=m[:, :, None] & m[:, None, :],
                return_attention_scores=True)
    y, w = layer(x, x, return_attention_scores=True)
    np.testing.assert_allclose(y.data, keras.ops.convert_to_numpy(ky), atol=1e-5)
    np.testing.assert_allclose(w.data, keras.ops.convert_to_numpy(kw), atol=1e-5)
    assert np.allclose(w.data[0, :, :3, 3:], 0.0)  # real queries ignore padded keys


def test_masking_layer_feeds_attention():
    x = np.random.default_rng(8).normal(size=(2, 4, 3)).astype("float32")
    x[0, 2:] = 0.0
    m = Masking()(x)
    np.testing.assert_array_equal(get_mask(m), [[True, True, False, False], [True] * 4])
    y, w = Attention()([m, m], return_attention_scores=True)
    assert np.allclose(w.data[0, :, 2:], 0.0)  # padded keys get no weight
    assert np.allclose(y.data[0, 2:], 0.0)  # padded queries give zeros


# ------------------------------------------------------------------ functional API, saving
def test_attention_layers_in_a_functional_model_save_and_load(tmp_path):
    gn.set_seed(0)
    inp = gn.Input((6, 8))
    h = MultiHeadAttention(num_heads=2, key_dim=4, name="mha")(inp, inp)
    h = LayerNormalization()(gn.layers.add([inp, h]))
    h = Attention(use_scale=True)([h, inp])
    h = AdditiveAttention()([h, inp, inp])
    out = gn.layers.Dense(2, activation="softmax")(GlobalAveragePooling1D()(h))
    model = gn.Model(inp, out)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(0).normal(size=(16, 6, 8)).astype("float32")
    y = (x[:, :, 0].sum(axis=1) > 0).astype("int64")
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    p = tmp_path / "att.glassnet"
    model.save(p)
    back = gn.models.load_model(p)
    np.testing.assert_allclose(back.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-6)
    mha = [ly for ly in back.layers if ly.name == "mha"][0]
    assert isinstance(mha, MultiHeadAttention) and mha.num_heads == 2


def test_attention_errors_name_the_layer():
    x = np.ones((2, 3, 4), "float32")
    with pytest.raises(ValueError, match="attention.*list"):
        Attention(name="attention")(x)
    with pytest.raises(ValueError, match="mha.*num_heads"):
        MultiHeadAttention(num_heads=0, key_dim=2, name="mha")
    with pytest.raises(ValueError, match="mha2.*query"):
        MultiHeadAttention(2, 2, name="mha2")(np.ones((2, 4), "float32"),
                                              np.ones((2, 4), "float32"))
    layer = MultiHeadAttention(2, 2, name="mha3")
    layer(x, x)
    with pytest.raises(ValueError, match="mha3.*attention_mask"):
        layer(x, x, attention_mask=np.ones((2, 3, 5), bool))


def test_attention_dropout_only_in_training():
    x = np.random.default_rng(9).normal(size=(2, 3, 4)).astype("float32")
    layer = MultiHeadAttention(2, 2, dropout=0.5, seed=1)
    a = layer(x, x).data
    np.testing.assert_array_equal(a, layer(x, x).data)
    assert not np.allclose(a, layer(x, x, training=True).data)
    att = Attention(dropout=0.5, seed=1)
    np.testing.assert_array_equal(att([x, x]).data, att([x, x]).data)
    assert not np.allclose(att([x, x]).data, att([x, x], training=True).data)


# ------------------------------------------------------------------ keras.io's Transformer
def _to_glassnet(src: str) -> str:
    """Rewrite only the import lines (as tests/test_keras_scripts.py does)."""
    import re

    src = re.sub(r"^import (tensorflow\.)?keras$", "import glassnet as keras", src, flags=re.M)
    return re.sub(r"^from (tensorflow\.)?keras import", "from glassnet import", src, flags=re.M)


def test_keras_io_transformer_text_classifier_runs_with_imports_swapped(tmp_path):
    # the same script on real Keras 3 (torch backend) reached validation accuracy 1.0; that
    # run takes minutes on two cores, so it is not repeated here
    import subprocess
    import sys
    from pathlib import Path

    src = (Path(__file__).parent / "keras_scripts" / "transformer_text_classification.py")
    text = src.read_text()
    swapped = _to_glassnet(text)
    changed = [b for a, b in zip(text.splitlines(), swapped.splitlines()) if a != b]
    assert changed == ["import glassnet as keras", "from glassnet import layers, ops"]
    script = tmp_path / "transformer.py"
    script.write_text(swapped)
    root = Path(__file__).parent.parent
    env = {**os.environ, "PYTHONPATH": str(root / "src"), "MPLBACKEND": "Agg",
           # numba's OpenMP workers (Adam kernel) spinning next to OpenBLAS's threads make
           # each small GEMM ~50x slower on 2 cores; one OpenMP thread keeps this test short
           "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    acc = float(r.stdout.strip().splitlines()[-1].split(":")[1])
    assert acc > 0.9, r.stdout[-2000:]


# ------------------------------------------------------------------ GPU rows (issue 22 layers)
def _gpu_rows():
    L = gn.layers
    rng = np.random.default_rng(11)
    seq = rng.normal(size=(2, 5, 8)).astype("float32")
    img = rng.random((2, 7, 9, 4)).astype("float32")
    x2 = rng.normal(size=(6, 3)).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    return [
        ("mha", lambda: L.MultiHeadAttention(2, 4), lambda lay, t: lay(t, t,
                                                                        use_causal_mask=True),
         seq),
        ("mha_mask", lambda: L.MultiHeadAttention(2, 4),
         lambda lay, t: lay(t, t, attention_mask=mask[:, None, :] & mask[:, :, None]), seq),
        ("attention", lambda: L.Attention(use_scale=True, score_mode="concat"),
         lambda lay, t: lay([t, t], mask=[mask, mask]), seq),
        ("additive", lambda: L.AdditiveAttention(), lambda lay, t: lay([t, t]), seq),
        ("softmax_mask", lambda: L.Softmax(), lambda lay, t: lay(t, mask=mask[:, None, :5]),
         seq[:, :, :5]),
        ("relu", lambda: L.ReLU(6.0, 0.1, 0.5), None, seq),
        ("leaky", lambda: L.LeakyReLU(), None, seq),
        ("elu", lambda: L.ELU(), None, seq),
        ("masking", lambda: L.Masking(), None, seq),
        ("alpha_dropout", lambda: L.AlphaDropout(0.2, seed=0),
         lambda lay, t: lay(t, training=True), seq),
        ("unit_norm", lambda: L.UnitNormalization(), None, seq),
        ("group_norm", lambda: L.GroupNormalization(groups=2), None, seq),
        ("dot", lambda: L.Dot(axes=2, normalize=True), lambda lay, t: lay([t, t]), seq),
        ("subtract", lambda: L.Subtract(), lambda lay, t: lay([t, t * 2.0]), seq),
        ("normalization", lambda: L.Normalization(mean=[1.0, 2.0, 3.0],
                                                  variance=[1.0, 4.0, 9.0]), None, x2),
        ("rescaling", lambda: L.Rescaling(0.5, 1.0), None, img),
        ("resizing", lambda: L.Resizing(4, 5), None, img),
        ("resizing_nearest_crop", lambda: L.Resizing(5, 5, "nearest",
                                                     crop_to_aspect_ratio=True), None, img),
        ("center_crop", lambda: L.CenterCrop(3, 4), None, img),
        ("discretization", lambda: L.Discretization([-0.5, 0.5], output_mode="one_hot"),
         None, x2),
        ("category", lambda: L.CategoryEncoding(4, "count"),
         lambda lay, t: lay(np.array([[0, 1, 1], [3, 2, 2]])), x2),
    ]


@pytest.mark.parametrize("row", _gpu_rows(), ids=lambda r: r[0])
def test_new_layers_on_gpu_match_cpu(row):
    from glassnet import backend

    if not backend.gpu_available():
        pytest.skip("needs CuPy and a CUDA GPU")
    import cupy as cp

    name, make, call, x = row
    call = call or (lambda lay, t: lay(t))
    outs, grads = [], []
    for dev in ("cpu", "gpu"):
        gn.set_seed(0)
        layer = make()
        data = cp.asarray(x) if dev == "gpu" else x
        t = gn.tensor(data, requires_grad=True)
        y = call(layer, t)
        y = y[0] if isinstance(y, tuple) else y
        if y.data.dtype.kind == "f" and t.requires_grad and y.requires_grad:
            y.sum().backward()
            # (a lookup such as Discretization passes no gradient on either device)
            grads.append(None if t.grad is None else backend.asnumpy(t.grad))
        outs.append(backend.asnumpy(y.data))
    np.testing.assert_allclose(outs[1], outs[0], rtol=1e-4, atol=1e-5)
    if len(grads) == 2:
        assert (grads[1] is None) == (grads[0] is None)
        if grads[0] is not None:
            np.testing.assert_allclose(grads[1], grads[0], rtol=1e-4, atol=1e-5)


def test_functional_calls_take_causal_mask_scores_and_a_mask_input(tmp_path):
    gn.set_seed(0)
    rng = np.random.default_rng(12)
    x = rng.normal(size=(3, 5, 8)).astype("float32")
    m = rng.random((3, 5, 5)) > 0.3
    m[:, :, 0] = True
    inp, mask_in = gn.Input((5, 8)), gn.Input((5, 5))
    mha = MultiHeadAttention(2, 4, name="mha_f")
    y, scores = mha(inp, inp, use_causal_mask=True, return_attention_scores=True)
    y2 = MultiHeadAttention(2, 4, name="mha_m")(y, inp, attention_mask=mask_in)
    att_out, att_w = Attention(name="att_f")([y2, inp], return_attention_scores=True,
                                             use_causal_mask=True)
    model = gn.Model([inp, mask_in], [att_out, scores, att_w])
    outs = model.predict([x, m.astype("float32")], verbose=0)
    # the same calls made eagerly
    e1, es = mha(x, x, use_causal_mask=True, return_attention_scores=True)
    e2 = [ly for ly in model.layers if ly.name == "mha_m"][0](e1, x, attention_mask=m)
    ea, ew = [ly for ly in model.layers if ly.name == "att_f"][0](
        [e2, x], return_attention_scores=True, use_causal_mask=True)
    for got, want in zip(outs, (ea, es, ew)):
        np.testing.assert_allclose(got, want.data, rtol=1e-5, atol=1e-6)
    assert np.allclose(np.triu(outs[1][0, 0], 1), 0.0)  # causal: nothing from the future
    p = tmp_path / "f.glassnet"
    model.save(p)
    back = gn.models.load_model(p)
    for got, want in zip(back.predict([x, m.astype("float32")], verbose=0), outs):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_token_and_position_embedding_pattern():
    from glassnet import layers, ops

    class TokenAndPositionEmbedding(layers.Layer):  # keras.io's, verbatim
        def __init__(self, maxlen, vocab_size, embed_dim):
            super().__init__()
            self.token_emb = layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)
            self.pos_emb = layers.Embedding(input_dim=maxlen, output_dim=embed_dim)

        def call(self, x):
            maxlen = ops.shape(x)[-1]
            positions = ops.arange(start=0, stop=maxlen, step=1)
            positions = self.pos_emb(positions)
            x = self.token_emb(x)
            return x + positions

    ids = np.array([[3, 1, 4, 1], [5, 9, 2, 6]])
    emb = TokenAndPositionEmbedding(maxlen=6, vocab_size=10, embed_dim=3)
    y = emb(ids)
    tok, pos = emb.token_emb.embeddings, emb.pos_emb.embeddings
    np.testing.assert_allclose(y.data, tok.data[ids] + pos.data[:4][None], rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(pos.grad, np.r_[np.full((4, 3), 2.0), np.zeros((2, 3))])
    counts = np.bincount(ids.ravel(), minlength=10)[:, None] * np.ones((1, 3))
    np.testing.assert_allclose(tok.grad, counts)
    # the same layer in a functional model on gn.Input
    inp = gn.Input((4,), dtype="int64")
    model = gn.Model(inp, gn.layers.GlobalAveragePooling1D()(emb(inp)))
    assert model.predict(ids, verbose=0).shape == (2, 3)
    assert len(model.weights) == 2


def test_a_keras_file_with_the_new_layers_loads_and_predicts_the_same(keras, tmp_path):
    rng = np.random.default_rng(13)
    x = rng.normal(size=(4, 6, 8)).astype("float32")
    kl = keras.layers
    inp = keras.Input((6, 8))
    h = kl.MultiHeadAttention(2, 4)(inp, inp)
    h = kl.LayerNormalization()(kl.add([inp, h]))
    h = kl.Attention(use_scale=True)([h, inp])
    h = kl.AdditiveAttention()([h, inp])
    h = kl.ReLU(max_value=3.0)(kl.GroupNormalization(groups=2)(h))
    norm = kl.Normalization()
    norm.adapt(rng.normal(size=(20, 8)).astype("float32"))
    h = norm(kl.GlobalAveragePooling1D()(h))
    out = kl.Dense(2, activation="softmax")(kl.UnitNormalization()(h))
    model = keras.Model(inp, out)
    path = tmp_path / "m.keras"
    model.save(path)
    want = keras.ops.convert_to_numpy(model(x))
    back = gn.models.load_model(path)
    np.testing.assert_allclose(back.predict(x, verbose=0), want, atol=1e-5)


@pytest.mark.parametrize("name", ["mha_dropout_causal", "attention_causal", "alpha_group",
                                  "fixed_norm_relu_threshold", "rescale_resize"])
def test_replayed_training_steps_equal_the_ordinary_ones(name):
    L = gn.layers

    def build():
        gn.set_seed(3)
        inp = gn.Input((6, 8))
        if name == "mha_dropout_causal":
            h = L.MultiHeadAttention(2, 4, dropout=0.2)(inp, inp, use_causal_mask=True)
        elif name == "attention_causal":
            h = L.Attention(use_scale=True, dropout=0.2)([inp, inp], use_causal_mask=True)
        elif name == "alpha_group":
            h = L.AlphaDropout(0.2)(L.GroupNormalization(2)(inp))
        elif name == "fixed_norm_relu_threshold":
            h = L.ReLU(threshold=0.3, negative_slope=0.1)(L.Normalization(mean=0.5,
                                                                          variance=2.0)(inp))
        else:
            h = L.Reshape((6, 8))(L.Resizing(6, 8)(L.Rescaling(0.5, 0.1)(
                L.Reshape((3, 16, 1))(inp))))
        h = L.Dense(8)(h)
        model = gn.Model(inp, L.Dense(2, activation="softmax")(L.GlobalAveragePooling1D()(h)))
        return model

    x = np.random.default_rng(4).normal(size=(32, 6, 8)).astype("float32")
    y = np.random.default_rng(5).integers(0, 2, 32)
    import warnings

    finals = []
    for jit in (False, True):
        model = build()
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", jit_compile=jit)
        gn.set_seed(9)  # the same dropout draws in both runs
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
        assert not [w for w in caught if "ordinary way" in str(w.message)]  # it replayed
        finals.append(model.get_weights())
    for a, b in zip(*finals):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("kind", ["mha", "gqa"])
@pytest.mark.parametrize("scores", [False, True])
def test_activity_regularizer_penalises_the_four_projections_as_keras(kind, scores):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    pytest.importorskip("torch")
    k = pytest.importorskip("keras")
    if k.config.backend() != "torch":
        pytest.skip("the Keras oracle runs on its PyTorch backend")
    r = np.random.default_rng(0)
    q = r.standard_normal((3, 4, 6)).astype("f4")
    v = r.standard_normal((3, 5, 6)).astype("f4")

    def make(mod):
        reg = mod.regularizers.L2(0.1)
        if kind == "mha":
            return mod.layers.MultiHeadAttention(2, 3, activity_regularizer=reg)
        return mod.layers.GroupQueryAttention(head_dim=3, num_query_heads=4,
                                              num_key_value_heads=2, activity_regularizer=reg)

    km, gm = make(k), make(gn)
    km(q, v), gm(q, v)
    gm.set_weights([np.asarray(w) for w in km.get_weights()])
    km(q, v, return_attention_scores=scores)
    gm(q, v, return_attention_scores=scores)
    want = [float(np.asarray(loss.detach())) for loss in km.losses]
    got = [float(np.asarray(loss.data)) for loss in gm.losses]
    # query, key, value and output projections, each over the batch size; Keras's
    # GroupQueryAttention also its own outputs (the scores too), which it lists first
    assert len(want) == {"mha": 4, "gqa": 5 + scores}[kind]
    np.testing.assert_allclose(sorted(got), sorted(want), rtol=1e-5)
    np.testing.assert_allclose(got[:4], want[-4:], rtol=1e-5)
    back = type(gm).from_config(gm.get_config())
    assert gn.regularizers.serialize(back.projection_activity) == \
        gn.regularizers.serialize(gm.projection_activity)
    # by hand, for the output: 0.1 * sum(y^2) / batch
    y = gm(q, v)
    np.testing.assert_allclose(got[3] if not scores else float(gm.losses[3].data),
                               0.1 * float((np.asarray(y.data) ** 2).sum()) / 3, rtol=1e-5)
