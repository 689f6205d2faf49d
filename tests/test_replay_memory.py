"""A replayed step does not hold two copies of an op's saved state.

A big program (outputs, or what its ops save for backward, past 1 MB) drops each op's
per-step state after every replayed step, and after the recorded step too
(``Program._release``, ``models/step.py``'s ``_release_recorded``): otherwise the next step
makes an op's new state while the last one's is still held, doubling it at the peak. An
LSTM's outputs are small beside its saved sequences, so what the ops saved counts too.
Each test looks, at the moment an op's forward starts, at what the op still holds.
"""

import numpy as np
import pytest

import glassnet as gn
from glassnet import _program
from glassnet.layers._conv_kernels import Conv2DKernel
from glassnet.layers._recurrent_kernels import LSTMSeq


def _held_at_entry(monkeypatch, cls, names):
    """Wrap ``cls.forward``: record, per call, which of ``names`` the op still holds."""
    held = []
    orig = cls.forward

    def forward(self, *a, **k):
        held.append(sorted(n for n in names if n in self.__dict__))
        return orig(self, *a, **k)

    monkeypatch.setattr(cls, "forward", forward)
    return held


@pytest.mark.parametrize("numba", ["0", "1"])
def test_lstm_state_is_dropped_between_steps(numba, monkeypatch):
    if numba == "1":
        pytest.importorskip("numba")
    monkeypatch.setenv("GLASSNET_NUMBA", numba)
    held = _held_at_entry(monkeypatch, LSTMSeq, ("saved", "g", "hs", "cs", "tc", "xt"))
    gn.set_seed(0)
    # outputs (32, 2, 64) are 16 KB; the saved sequences (T=60) over 1 MB
    m = gn.Sequential([gn.Input((60, 8)), gn.layers.LSTM(64), gn.layers.Dense(1)])
    m.compile("adam", "mse")
    x = np.random.default_rng(0).normal(size=(32, 60, 8)).astype(np.float32)
    y = x[:, :, 0].mean(axis=1, keepdims=True)
    losses = [m.train_on_batch(x, y) for _ in range(4)]
    assert len(held) >= 4  # each step's forward (and a first call that builds)
    assert all(h == [] for h in held)  # the recorded step's state and each replay's: gone
    assert losses[-1] < losses[0]  # and training goes on, each step's state made afresh


def test_conv_columns_are_dropped_between_steps(monkeypatch):
    held = _held_at_entry(monkeypatch, Conv2DKernel, ("cols", "y"))
    gn.set_seed(0)
    m = gn.Sequential([gn.Input((16, 16, 3)),
                       gn.layers.Conv2D(16, 3, activation="relu"),
                       gn.layers.Flatten(), gn.layers.Dense(2)])
    m.compile("sgd", gn.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = np.random.default_rng(1).normal(size=(64, 16, 16, 3)).astype(np.float32)
    for _ in range(3):
        m.train_on_batch(x, np.arange(64) % 2)
    assert len(held) >= 3 and all(h == [] for h in held)


def test_saved_bytes_count_arrays_and_tuples_of_them_beyond_the_configuration():
    class Op:
        pass

    fn = Op()
    fn.scale = np.ones(1000)  # configuration (made in __init__): not counted
    fn.saved = (np.ones(10, np.float32), np.ones((2, 5)), 3)
    fn.x = np.ones(4, np.int8)
    fn.note = "text"
    assert _program._saved_nbytes(fn, frozenset({"scale"})) == 40 + 80 + 4


def test_a_small_program_keeps_its_ops_state(recorded_programs):
    """Below 1 MB nothing is dropped: ops keep what they decided once (their plans)."""
    gn.set_seed(0)
    m = gn.Sequential([gn.Input((4,)), gn.layers.Dense(8, activation="tanh"),
                       gn.layers.LayerNormalization(), gn.layers.Dense(3)])
    m.compile("sgd", gn.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = np.random.default_rng(2).normal(size=(16, 4)).astype(np.float32)
    progs = recorded_programs
    for _ in range(3):
        m.train_on_batch(x, np.arange(16) % 3)
    assert progs and progs[0].cleanup == []
    norms = [fn for fn, _, _ in progs[0].forward_nodes if type(fn).__name__ == "Normalize"]
    assert norms and "plan" in norms[0].__dict__


def test_a_big_program_drops_each_ops_state_right_after_its_backward(monkeypatch):
    """The second conv's columns are gone when the first conv's backward runs (the eager
    graph frees a node's saved arrays as it goes; the replay does the same)."""
    gn.set_seed(0)
    m = gn.Sequential([gn.Input((16, 16, 3)),
                       gn.layers.Conv2D(8, 3, activation="relu"),
                       gn.layers.Conv2D(8, 3, activation="relu"),
                       gn.layers.Flatten(), gn.layers.Dense(2)])
    m.compile("sgd", gn.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = np.random.default_rng(1).normal(size=(64, 16, 16, 3)).astype(np.float32)
    y = np.arange(64) % 2
    convs = []
    seen = []
    orig = Conv2DKernel.backward

    def backward(self, gy):
        if self not in convs:
            convs.append(self)
        # what every conv holds when this one's backward starts
        seen.append([sorted(k for k in ("cols", "y") if k in c.__dict__) for c in convs])
        return orig(self, gy)

    monkeypatch.setattr(Conv2DKernel, "backward", backward)  # before the program binds it
    m.train_on_batch(x, y)  # recorded
    seen.clear()
    ref = m.get_weights()
    m.train_on_batch(x, y)  # replayed: the second conv's backward first, then the first's
    assert len(seen) == 2
    # convs: [second, first] (the recording's backward order)
    assert seen[0] == [["cols", "y"], ["cols", "y"]]  # at the second's backward: both whole
    assert seen[1] == [[], ["cols", "y"]]  # the second's dropped before the first runs
    assert any(not np.array_equal(a, b) for a, b in zip(ref, m.get_weights()))


def test_weights_and_outputs_are_not_state_to_drop(recorded_programs):
    """A Linear's reference to its 1.6 MB kernel, the feeds and the ops' outputs live on
    anyway: only what dropping would free counts toward the 1 MB (a model with big
    weights and small batches keeps its ops' plans between steps)."""
    fn = type("Op", (), {})()
    w = np.ones((784, 512), np.float32)
    fn.w, fn.w2 = w, w.reshape(-1)  # a view counts as the array it views, once
    fn.mask = np.ones((32, 512), np.float32)
    assert _program._saved_nbytes(fn, frozenset()) == w.nbytes + fn.mask.nbytes
    assert _program._saved_nbytes(fn, frozenset(), {id(w)}) == fn.mask.nbytes

    gn.set_seed(0)
    m = gn.Sequential([gn.Input((784,)), gn.layers.Dense(512, activation="relu"),
                       gn.layers.Dense(10)])
    m.compile("sgd", gn.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = np.random.default_rng(3).normal(size=(64, 784)).astype(np.float32)
    y = np.arange(64) % 10
    progs = recorded_programs
    m.train_on_batch(x[:32], y[:32])
    m.evaluate(x, y, batch_size=32, verbose=0)
    assert len(progs) == 2 and all(p.cleanup == [] for p in progs)
    linear = progs[1].forward_nodes[0][0]
    assert "mm" in linear.__dict__  # its GEMM routine, chosen once, kept for the next batch
