"""GroupQueryAttention (layers/grouped_query_attention.py) against real Keras 3 (the
reference script tests/_keras_gqa_ref.py runs both sides on the same weights and inputs),
numeric gradients, its errors, its config and a training run."""

from __future__ import annotations

import numpy as np
import pytest
from _keras_reference import glassnet_json, keras_json

import glassnet as gn
from glassnet import layers as L


@pytest.fixture(scope="module")
def runs():
    return keras_json("_keras_gqa_ref.py"), glassnet_json("_keras_gqa_ref.py")


@pytest.mark.parametrize("name", ["grouped", "multi_query", "as_mha", "gate_causal",
                                  "window_causal", "window", "padding_masks",
                                  "attention_mask_scores"])
def test_matches_keras(runs, name):
    keras, ours = runs
    assert ours[name + "/shapes"] == keras[name + "/shapes"]  # weights: order and layout
    for a, b in zip(ours[name], keras[name]):
        a, b = np.asarray(a), np.asarray(b)
        if name == "padding_masks":
            # a padded query step sees no key: glassnet outputs the projection of zeros,
            # as Keras's MultiHeadAttention (and its GQA with dropout or scores) does; Keras's
            # GQA otherwise lets that step attend to every key. The kept steps agree.
            keep = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
            a, b = a[keep], b[keep]
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize("cfg,call", [
    ({"num_query_heads": 4, "num_key_value_heads": 2, "use_gate": True}, {}),
    ({"num_query_heads": 3, "num_key_value_heads": 1, "sliding_window": 2},
     {"use_causal_mask": True})])
def test_gradients_match_numeric(cfg, call):
    r = np.random.default_rng(0)
    layer = L.GroupQueryAttention(head_dim=2, dtype="float64", **cfg)
    q, v = r.standard_normal((2, 4, 3)), r.standard_normal((2, 5, 3))
    layer(q, v)
    layer.set_weights([r.standard_normal(w.shape) * 0.5 for w in layer.get_weights()])
    proj = gn.tensor(r.standard_normal((2, 4, 3)), dtype="float64")
    gn.gradcheck(lambda a, b: (layer(a, b, **call) * proj).sum(),
                 gn.tensor(q, dtype="float64", requires_grad=True),
                 gn.tensor(v, dtype="float64", requires_grad=True))


def test_one_key_value_head_per_group_of_query_heads():
    """Query head u reads key/value head u // (query heads / key-value heads): with the
    key/value heads made identical and query heads repeated, it equals MultiHeadAttention."""
    r = np.random.default_rng(2)
    q, v = r.standard_normal((1, 3, 4)).astype("f4"), r.standard_normal((1, 5, 4)).astype("f4")
    gqa = L.GroupQueryAttention(head_dim=2, num_query_heads=4, num_key_value_heads=2)
    mha = L.MultiHeadAttention(num_heads=4, key_dim=2)
    gqa(q, v)
    mha(q, v)
    qk, qb, kk, kb, vk, vb, ok, ob = [r.standard_normal(w.shape).astype("f4")
                                      for w in gqa.get_weights()]
    gqa.set_weights([qk, qb, kk, kb, vk, vb, ok, ob])
    rep = [np.repeat(a, 2, axis=-2) for a in (kk, kb, vk, vb)]  # heads 0,0,1,1
    mha.set_weights([qk, qb, rep[0], rep[1], rep[2], rep[3], ok, ob])
    np.testing.assert_allclose(gqa(q, v).data, mha(q, v).data, rtol=1e-5, atol=1e-6)


def test_errors_name_the_layer_and_the_argument():
    with pytest.raises(ValueError, match="'g'.*multiple of num_key_value_heads.*3"):
        L.GroupQueryAttention(2, 4, 3, name="g")
    with pytest.raises(ValueError, match="sliding_window must be None or a positive int"):
        L.GroupQueryAttention(2, 4, 2, sliding_window=0)
    with pytest.raises(ValueError, match="dropout is not supported with flash attention"):
        L.GroupQueryAttention(2, 4, 2, dropout=0.1, flash_attention=True)


def test_config_round_trip_and_keras_names():
    layer = L.GroupedQueryAttention(head_dim=4, num_query_heads=4, num_key_value_heads=2,
                                    use_gate=True, sliding_window=3, dropout=0.1, seed=1)
    cfg = layer.get_config()
    assert {k: cfg[k] for k in ("head_dim", "num_query_heads", "num_key_value_heads",
                                "use_gate", "sliding_window", "dropout")} == {
        "head_dim": 4, "num_query_heads": 4, "num_key_value_heads": 2, "use_gate": True,
        "sliding_window": 3, "dropout": 0.1}
    again = L.GroupQueryAttention.from_config(cfg)
    assert again.get_config() == cfg
    assert L.GroupQueryAttention is L.GroupedQueryAttention


def test_a_small_decoder_trains_replays_and_saves(tmp_path):
    """A causal GQA block on token ids: fit lowers the loss, the step replays bit for bit
    (jit_compile), and a saved model predicts the same after loading."""
    r = np.random.default_rng(3)
    x = r.integers(1, 20, (64, 8))
    y = np.roll(x, -1, axis=1)

    def build():
        gn.set_seed(0)
        ids = gn.Input(shape=(8,), dtype="int64")
        h = L.Embedding(20, 8)(ids)
        a = L.GroupQueryAttention(head_dim=4, num_query_heads=4, num_key_value_heads=1,
                                  dropout=0.1, use_gate=True)(h, h, use_causal_mask=True)
        h = L.LayerNormalization()(L.Add()([h, a]))
        return gn.Model(ids, L.Dense(20)(h))

    runs = []
    for jit in ("auto", False):
        m = build()
        m.compile("adam", gn.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=jit)
        h = m.fit(x, y, epochs=4, batch_size=16, verbose=0, shuffle=False)
        runs.append((h.history["loss"], m.get_weights(), m))
    assert runs[0][0] == runs[1][0] and runs[0][0][-1] < runs[0][0][0]
    for a, b in zip(runs[0][1], runs[1][1]):
        np.testing.assert_array_equal(a, b)
    m = runs[0][2]
    assert any(v is not False for v in m._stepper.programs.values())
    m.save(tmp_path / "gqa.keras")
    back = gn.models.load_model(tmp_path / "gqa.keras")
    np.testing.assert_array_equal(back.predict(x[:4], verbose=0), m.predict(x[:4], verbose=0))
