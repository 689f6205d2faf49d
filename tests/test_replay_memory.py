"""A node run again (as a replayed step runs every node) lets go of what its last call saved
before it makes the new state, so the step's peak memory holds one copy, not two
(``Function._forget``). Each test keeps a weak reference to an array the first call saved
and checks, inside the second call, at the moment the new state is made, that it is gone.
"""

import weakref

import numpy as np
import pytest

from glassnet.layers import _conv_kernels, _lstm_numba, _recurrent_kernels
from glassnet.layers._conv_kernels import Conv2DKernel
from glassnet.layers._recurrent_kernels import GRUSeq, LSTMSeq, SimpleRNNSeq

R = np.random.default_rng(0)
F32 = np.float32


def _spy(monkeypatch, module, name, ref):
    """Replace ``module.name`` by a wrapper recording whether ``ref`` was dead at each call."""
    seen = []
    orig = getattr(module, name)

    def wrapper(*a, **k):
        seen.append(ref() is None)
        return orig(*a, **k)

    monkeypatch.setattr(module, name, wrapper)
    return seen


def test_conv2d_drops_its_last_columns(monkeypatch):
    f = Conv2DKernel()
    x = R.standard_normal((4, 9, 9, 8), dtype=F32)
    w = R.standard_normal((3, 3, 8, 5), dtype=F32)
    y0 = f.forward(x, w)
    ref = weakref.ref(f.cols[0])
    seen = _spy(monkeypatch, _conv_kernels, "_cols", ref)
    y1 = f.forward(x, w)
    assert seen and all(seen)
    np.testing.assert_array_equal(y0, y1)
    f.needs_input_grad = (True, True)
    gx, gw = f.backward(np.ones_like(y1))  # the new columns serve backward
    assert gx.shape == x.shape and gw.shape == w.shape


def _seq_inputs(n, gates, d=3, bsz=4, steps=5, dtype=F32, bias_rows=None):
    x = R.standard_normal((bsz, steps, d)).astype(dtype)
    h0 = np.zeros((bsz, n), dtype)
    w = (0.3 * R.standard_normal((d, gates * n))).astype(dtype)
    u = (0.3 * R.standard_normal((n, gates * n))).astype(dtype)
    b = 0.1 * np.ones(gates * n if bias_rows is None else (bias_rows, gates * n), dtype)
    return x, h0, w, u, b


@pytest.mark.parametrize("cls,gates", [(SimpleRNNSeq, 1), (GRUSeq, 3), (LSTMSeq, 4)])
def test_recurrent_numpy_kernels_drop_their_last_sequences(cls, gates, monkeypatch):
    # float64: the NumPy kernels; the GRU's bias is (2, 3u): input and recurrent parts
    x, h0, w, u, b = _seq_inputs(6, gates, dtype=np.float64,
                                 bias_rows=2 if cls is GRUSeq else None)
    f = cls()
    args = (x, h0, h0, w, u, b) if cls is LSTMSeq else (x, h0, w, u, b)
    y0 = f.forward(*args)
    ref = weakref.ref(f.hs)
    seen = _spy(monkeypatch, _recurrent_kernels._SeqBase, "_project", ref)
    y1 = f.forward(*args)
    assert seen == [True]
    np.testing.assert_array_equal(y0, y1)


def test_lstm_numba_kernel_drops_its_last_state(monkeypatch):
    pytest.importorskip("numba")
    if not _lstm_numba.available():
        pytest.skip("the LSTM's numba kernel does not run here (GLASSNET_NUMBA=0 or no SciPy)")
    x, h0, w, u, b = _seq_inputs(8, 4)
    f = LSTMSeq()
    y0 = f.forward(x, h0, h0, w, u, b)
    assert f.numba
    ref = weakref.ref(f.saved[1])  # the gate activations, the largest array it keeps
    seen = _spy(monkeypatch, _lstm_numba, "lstm_forward", ref)
    y1 = f.forward(x, h0, h0, w, u, b)
    assert seen == [True]
    np.testing.assert_array_equal(y0, y1)
