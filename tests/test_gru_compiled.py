"""The GRU's compiled step (numba extra, layers/_gru_numba.py) against the NumPy step it
stands in for: outputs and every gradient bit for bit, over batch sizes, lengths, widths,
dtypes, masks and recurrent dropout; other activations keep the NumPy step."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet import _optimizer_kernels as opk
from glassnet.layers import _gru_numba as gk
from glassnet.layers import _recurrent_kernels as rk

pytest.importorskip("numba", reason="the optional numba extra is not installed")


def _mode(monkeypatch, compiled):
    monkeypatch.setenv("GLASSNET_NUMBA", "1" if compiled else "0")
    monkeypatch.setattr(opk, "_STATE", {})


def _run(monkeypatch, compiled, b, t, d, n, dtype, **kw):
    _mode(monkeypatch, compiled)
    rng = np.random.default_rng(0)
    arrs = (rng.standard_normal((b, t, d)), rng.standard_normal((b, n)) * 0.5,
            rng.standard_normal((d, 3 * n)) * 0.4, rng.standard_normal((n, 3 * n)) * 0.3,
            rng.standard_normal((2, 3 * n)) * 0.2)
    ts = [gn.tensor(a.astype(dtype), requires_grad=True) for a in arrs]
    fn = rk.GRUSeq(**kw)
    y = fn(*ts)
    gy = rng.standard_normal(y.shape).astype(dtype)
    (y * gn.tensor(gy)).sum().backward()
    return fn.fast, y.data, [x.grad for x in ts]


@pytest.mark.parametrize("b,t,d,n", [(32, 20, 16, 128), (1, 5, 3, 8), (7, 1, 4, 16),
                                     (3, 9, 1, 1)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_compiled_gru_step_matches_numpy_bit_for_bit(monkeypatch, b, t, d, n, dtype):
    f0, y0, g0 = _run(monkeypatch, False, b, t, d, n, dtype)
    f1, y1, g1 = _run(monkeypatch, True, b, t, d, n, dtype)
    assert not f0 and f1  # each path ran
    assert y1.tobytes() == y0.tobytes()
    for a, r in zip(g1, g0):
        assert a.dtype == r.dtype and a.tobytes() == r.tobytes()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_masked_steps_match_numpy_bit_for_bit(monkeypatch, dtype):
    b, t, n = 5, 7, 16
    mask = np.ones((b, t), bool)
    mask[1, 4:] = False  # end padding
    mask[2, 2] = False  # a hole
    mask[3, :] = False  # a row with no step at all
    f0, y0, g0 = _run(monkeypatch, False, b, t, 3, n, dtype, mask=mask)
    f1, y1, g1 = _run(monkeypatch, True, b, t, 3, n, dtype, mask=mask)
    assert not f0 and f1
    assert y1.tobytes() == y0.tobytes()
    for a, r in zip(g1, g0):
        assert a.tobytes() == r.tobytes()


def test_recurrent_dropout_matches_numpy_bit_for_bit(monkeypatch):
    b, t, n = 4, 6, 8
    rmask = (np.random.default_rng(2).random((b, n)) > 0.3).astype(np.float32) / 0.7
    mask = np.ones((b, t), bool)
    mask[0, 3:] = False
    for kw in ({"rmask": rmask}, {"rmask": rmask, "mask": mask}):
        f0, y0, g0 = _run(monkeypatch, False, b, t, 3, n, "float32", **kw)
        f1, y1, g1 = _run(monkeypatch, True, b, t, 3, n, "float32", **kw)
        assert not f0 and f1
        assert y1.tobytes() == y0.tobytes()
        for a, r in zip(g1, g0):
            assert a.tobytes() == r.tobytes()


def test_other_activations_keep_the_numpy_step(monkeypatch):
    for kw in ({"act": "relu"}, {"ract": "hard_sigmoid"}):
        fast, _, _ = _run(monkeypatch, True, 4, 6, 3, 8, "float32", **kw)
        assert not fast, kw


def test_gru_layer_trains_the_same_with_the_compiled_step(monkeypatch):
    x = np.random.default_rng(3).standard_normal((16, 12, 5)).astype(np.float32)
    y = np.random.default_rng(4).integers(0, 3, 16)
    weights, calls = [], []
    real = gk.forward_step
    monkeypatch.setattr(gk, "forward_step", lambda *a: calls.append(1) or real(*a))
    for compiled in (False, True):
        _mode(monkeypatch, compiled)
        gn.set_seed(0)
        m = gn.Sequential([gn.Input((12, 5)), gn.layers.GRU(24),
                           gn.layers.Dense(3, activation="softmax")])
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        m.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)
        assert bool(calls) is compiled  # the NumPy step first, then the compiled one
        weights.append(m.get_weights())
    for a, r in zip(*weights):
        assert a.tobytes() == r.tobytes()


def test_applies_only_to_float_numpy_gates(monkeypatch):
    _mode(monkeypatch, True)
    assert gk.applies(np.zeros((2, 3, 6), np.float32))
    assert not gk.applies(np.zeros((2, 3, 6), np.int32))
    _mode(monkeypatch, False)
    assert not gk.applies(np.zeros((2, 3, 6), np.float32))


def test_a_small_gru_takes_the_compiled_step_by_default(monkeypatch):
    """GLASSNET_NUMBA unset: like the LSTM's kernel, the GRU's loads numba whatever the
    gates' size (it saves Python per time step, not per element)."""
    import sys

    monkeypatch.delenv("GLASSNET_NUMBA", raising=False)
    monkeypatch.setattr(opk, "_STATE", {})
    monkeypatch.delitem(sys.modules, "numba", raising=False)  # as in a fresh process
    assert not opk.fused_available(36)  # a small optimizer buffer does not load it...
    assert gk.applies(np.zeros((2, 3, 6), np.float32))  # ...a GRU of 36 gate values does


def test_masked_gru_text_model_trains_the_same_with_the_compiled_step(monkeypatch):
    """Embedding(mask_zero=True) → GRU on end-padded sequences: the same weights."""
    rng = np.random.default_rng(5)
    x = rng.integers(1, 50, (16, 10))
    for i, k in enumerate(rng.integers(3, 10, 16)):
        x[i, k:] = 0  # padding
    y = rng.integers(0, 2, 16)
    weights = []
    for compiled in (False, True):
        _mode(monkeypatch, compiled)
        gn.set_seed(0)
        m = gn.Sequential([gn.Input((10,), dtype="int32"),
                           gn.layers.Embedding(50, 8, mask_zero=True), gn.layers.GRU(12),
                           gn.layers.Dense(1, activation="sigmoid")])
        m.compile(optimizer="adam", loss="binary_crossentropy")
        m.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)
        weights.append(m.get_weights())
    for a, r in zip(*weights):
        assert a.tobytes() == r.tobytes()
