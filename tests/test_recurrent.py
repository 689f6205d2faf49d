"""Recurrent layers: fused BPTT kernels gradient-checked, forward compared with PyTorch."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.layers import (
    GRU,
    LSTM,
    Bidirectional,
    Embedding,
    JordanRNN,
    SimpleRNN,
    TimeDistributed,
)
from glassnet.layers.recurrent import LSTMSeq

MASK = np.array([[1, 1, 0, 1], [1, 0, 1, 1]], bool)


def _x(shape=(2, 4, 3), seed=1):
    return np.random.default_rng(seed).normal(size=shape)


def _weight_attrs(layer):
    return [w.name.split("/")[-1] for w in layer.weights]


def _check_layer(layer, x, **call_kw):
    """gradcheck the layer's output wrt its input and every weight (float64)."""
    layer(gn.tensor(x, dtype="float64"), **call_kw)
    names = _weight_attrs(layer)
    # contiguous copies: gradcheck perturbs through a flat view
    ws = [np.ascontiguousarray(getattr(layer, n).data, dtype=np.float64) for n in names]

    def fn(xx, *wts):
        for n, w in zip(names, wts):
            setattr(layer, n, w)
        y = layer(xx, **call_kw)
        if isinstance(y, list):
            y = gn.ops.concatenate([t.reshape(t.shape[0], -1) for t in y], axis=1)
        return y

    return gn.gradcheck(fn, x, *ws)


LAYERS = {
    "simple": lambda **k: SimpleRNN(5, **k),
    "simple_relu": lambda **k: SimpleRNN(5, activation="relu", **k),
    "lstm": lambda **k: LSTM(5, bias_initializer="uniform", **k),
    "gru": lambda **k: GRU(5, bias_initializer="uniform", **k),
    "jordan": lambda **k: JordanRNN(5, output_units=2, **k),
}


@pytest.mark.parametrize("kind", sorted(LAYERS))
@pytest.mark.parametrize("opts", [
    {},
    {"return_sequences": True},
    {"go_backwards": True, "return_sequences": True},
    {"return_state": True},
])
def test_gradcheck_layers(kind, opts):
    assert _check_layer(LAYERS[kind](**opts), _x()).ok


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_gradcheck_masked(kind):
    assert _check_layer(LAYERS[kind](return_sequences=True, return_state=True), _x(),
                        mask=MASK).ok


@pytest.mark.parametrize("kind", ["simple", "lstm", "gru"])
def test_gradcheck_initial_state_and_recurrent_dropout(kind):
    layer = LAYERS[kind](return_sequences=True, recurrent_dropout=0.3)
    n = 2 if kind == "lstm" else 1
    states = [_x((2, 5), seed=7 + i) for i in range(n)]
    layer(gn.tensor(_x(), dtype="float64"))
    names = _weight_attrs(layer)
    ws = [np.ascontiguousarray(getattr(layer, k).data, dtype=np.float64) for k in names]

    def fn(xx, *rest):
        st, wts = rest[:n], rest[n:]
        for k, w in zip(names, wts):
            setattr(layer, k, w)
        gn.set_seed(3)  # same dropout mask on every evaluation
        return layer(xx, initial_state=list(st), training=True)

    assert gn.gradcheck(fn, _x(), *states, *ws).ok


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_gradcheck_bidirectional(kind):
    for merge in ("concat", "sum", "mul", "ave"):
        layer = Bidirectional(LAYERS[kind](return_sequences=True), merge_mode=merge)
        x = gn.tensor(_x(), dtype="float64")
        layer(x)
        ws = [np.ascontiguousarray(w.data, dtype=np.float64) for w in layer.weights]
        subs = [layer.forward_layer, layer.backward_layer]
        names = [(s, n) for s in subs for n in _weight_attrs(s)]

        def fn(xx, *wts, layer=layer, names=names):
            for (s, n), w in zip(names, wts):
                setattr(s, n, w)
            return layer(xx, mask=MASK)

        assert gn.gradcheck(fn, _x(), *ws).ok


def test_gradcheck_stateful_second_call():
    layer = LSTM(4, stateful=True, return_sequences=True)
    x1, x2 = _x((2, 3, 3), 1), _x((2, 3, 3), 2)
    layer(gn.tensor(x1, dtype="float64"))
    saved = [s.copy() for s in layer.states]
    names = _weight_attrs(layer)
    ws = [np.ascontiguousarray(getattr(layer, n).data, dtype=np.float64) for n in names]

    def fn(xx, *wts):
        for n, w in zip(names, wts):
            setattr(layer, n, w)
        layer.reset_states(saved)  # the context from the first call, a constant
        return layer(xx)

    assert gn.gradcheck(fn, x2, *ws).ok


# ------------------------------------------------------------------ vs PyTorch
def _to_torch_gates(a, order):
    parts = np.split(a, len(order), axis=-1)
    return np.concatenate([parts[i] for i in order], axis=-1)


def test_lstm_matches_torch():
    torch = pytest.importorskip("torch")
    x = _x((3, 7, 4)).astype(np.float32)
    layer = LSTM(6, return_sequences=True, return_state=True, bias_initializer="uniform")
    y, h, c = layer(x)
    w, u, b = layer.get_weights()
    t = torch.nn.LSTM(4, 6, batch_first=True)
    with torch.no_grad():  # Keras i,f,c,o == torch i,f,g,o
        t.weight_ih_l0.copy_(torch.tensor(w.T))
        t.weight_hh_l0.copy_(torch.tensor(u.T))
        t.bias_ih_l0.copy_(torch.tensor(b))
        t.bias_hh_l0.zero_()
        ty, (th, tc) = t(torch.tensor(x))
    np.testing.assert_allclose(y.data, ty.numpy(), atol=1e-5)
    np.testing.assert_allclose(h.data, th[0].numpy(), atol=1e-5)
    np.testing.assert_allclose(c.data, tc[0].numpy(), atol=1e-5)


def test_gru_matches_torch():
    torch = pytest.importorskip("torch")
    x = _x((3, 7, 4)).astype(np.float32)
    layer = GRU(6, return_sequences=True, bias_initializer="uniform")
    y = layer(x)
    w, u, b = layer.get_weights()
    zrh_to_rzn = [1, 0, 2]
    t = torch.nn.GRU(4, 6, batch_first=True)
    with torch.no_grad():
        t.weight_ih_l0.copy_(torch.tensor(_to_torch_gates(w, zrh_to_rzn).T))
        t.weight_hh_l0.copy_(torch.tensor(_to_torch_gates(u, zrh_to_rzn).T))
        t.bias_ih_l0.copy_(torch.tensor(_to_torch_gates(b[0], zrh_to_rzn)))
        t.bias_hh_l0.copy_(torch.tensor(_to_torch_gates(b[1], zrh_to_rzn)))
        ty, _ = t(torch.tensor(x))
    np.testing.assert_allclose(y.data, ty.numpy(), atol=1e-5)


def test_simple_rnn_matches_torch_and_backward():
    torch = pytest.importorskip("torch")
    x = _x((3, 7, 4)).astype(np.float32)
    layer = SimpleRNN(6, return_sequences=True, bias_initializer="uniform")
    xt = gn.tensor(x, requires_grad=True)
    y = layer(xt)
    (y * y).sum().backward()
    w, u, b = layer.get_weights()
    t = torch.nn.RNN(4, 6, batch_first=True)
    with torch.no_grad():
        t.weight_ih_l0.copy_(torch.tensor(w.T))
        t.weight_hh_l0.copy_(torch.tensor(u.T))
        t.bias_ih_l0.copy_(torch.tensor(b))
        t.bias_hh_l0.zero_()
    tx = torch.tensor(x, requires_grad=True)
    ty, _ = t(tx)
    (ty * ty).sum().backward()
    np.testing.assert_allclose(y.data, ty.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(xt.grad, tx.grad.numpy(), atol=1e-4)
    np.testing.assert_allclose(layer.recurrent_kernel.grad, t.weight_hh_l0.grad.numpy().T,
                               atol=1e-4)


def test_jordan_matches_numpy_recurrence():
    x = _x((2, 5, 3)).astype(np.float32)
    layer = JordanRNN(4, output_units=2, return_sequences=True, bias_initializer="uniform")
    y = layer(x).data
    w, u, b, v, c = layer.get_weights()
    prev = np.zeros((2, 2), np.float32)
    for t in range(5):
        prev = np.tanh(x[:, t] @ w + prev @ u + b) @ v + c
        np.testing.assert_allclose(y[:, t], prev, atol=1e-5)


# ------------------------------------------------------------------ behaviour
def test_stateful_keeps_context_and_reset_clears_it():
    layer = SimpleRNN(3, stateful=True)
    x = _x((1, 2, 1)).astype(np.float32)
    y1 = layer(x).data.copy()
    y2 = layer(x).data.copy()
    assert not np.allclose(y1, y2)  # same input, different output: the context differs
    layer.reset_states()
    np.testing.assert_allclose(layer(x).data, y1)
    with pytest.raises(ValueError, match="same batch size"):
        layer(np.zeros((2, 2, 1), np.float32))


def test_stateful_equals_one_long_sequence():
    x = _x((2, 6, 3)).astype(np.float32)
    full = LSTM(4, return_sequences=True)
    y_full = full(x).data
    split = LSTM(4, return_sequences=True, stateful=True)
    split(x[:, :1])
    split.set_weights(full.get_weights())
    split.reset_states()
    parts = [split(x[:, i : i + 2]).data for i in range(0, 6, 2)]
    np.testing.assert_allclose(np.concatenate(parts, axis=1), y_full, atol=1e-6)


def test_mask_keeps_state_and_zeroes_outputs():
    x = _x((2, 4, 3)).astype(np.float32)
    layer = GRU(4, return_sequences=True, return_state=True)
    y, h = layer(x, mask=MASK)
    assert np.all(y.data[0, 2] == 0) and np.all(y.data[1, 1] == 0)
    # the final state equals running the sequence with the masked steps removed
    y0, h0 = layer(x[:1, [0, 1, 3]])
    np.testing.assert_allclose(h.data[:1], h0.data, atol=1e-6)


def test_embedding_mask_reaches_lstm():
    ids = np.array([[3, 5, 0, 0], [1, 2, 4, 0]])
    emb = Embedding(10, 4, mask_zero=True)
    lstm = LSTM(5)
    h = lstm(emb(ids))
    h_short = lstm(emb(ids[:1, :2]))
    np.testing.assert_allclose(h.data[:1], h_short.data, atol=1e-6)


def test_go_backwards_is_reversed_input():
    x = _x((2, 5, 3)).astype(np.float32)
    a = SimpleRNN(4, go_backwards=True)
    b = SimpleRNN(4)
    ya = a(x)
    b(x)
    b.set_weights(a.get_weights())
    np.testing.assert_allclose(ya.data, b(x[:, ::-1].copy()).data, atol=1e-6)


def test_bidirectional_shapes_and_states():
    x = _x((2, 5, 3)).astype(np.float32)
    assert Bidirectional(LSTM(4, return_sequences=True))(x).shape == (2, 5, 8)
    out = Bidirectional(GRU(4, return_state=True), merge_mode="sum")(x)
    assert len(out) == 3 and out[0].shape == (2, 4)
    both = Bidirectional(SimpleRNN(4), merge_mode=None)(x)
    assert [t.shape for t in both] == [(2, 4), (2, 4)]


def test_time_distributed_matches_per_step():
    x = _x((2, 5, 3)).astype(np.float32)
    inner = SimpleRNN(2)  # any layer; use a recurrent one on (B*T, 1, 3)
    td = TimeDistributed(inner)
    y = td(x.reshape(2, 5, 1, 3))
    assert y.shape == (2, 5, 2)
    np.testing.assert_allclose(y.data[1, 3], inner(x[1:2, 3:4]).data[0], atol=1e-6)


def test_config_roundtrip_and_weight_shapes():
    for layer in [LSTM(7, return_sequences=True, dropout=0.1), GRU(3), SimpleRNN(2),
                  JordanRNN(3, output_units=2), Bidirectional(LSTM(3), merge_mode="ave")]:
        layer(np.zeros((1, 2, 5), np.float32))
        clone = type(layer).from_config(layer.get_config())
        clone(np.zeros((1, 2, 5), np.float32))
        assert [w.shape for w in clone.weights] == [w.shape for w in layer.weights]
    lstm = LSTM(7)
    lstm(np.zeros((1, 2, 5), np.float32))
    assert [w.shape for w in lstm.weights] == [(5, 28), (7, 28), (28,)]
    gru = GRU(7)
    gru(np.zeros((1, 2, 5), np.float32))
    assert [w.shape for w in gru.weights] == [(5, 21), (7, 21), (2, 21)]


def test_bad_inputs_name_the_layer():
    with pytest.raises(ValueError, match="units must be a positive int"):
        LSTM(0)
    with pytest.raises(ValueError, match=r"3-D input.*Received: input shape \(None, 3\)"):
        LSTM(3, name="enc")(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="activation must be one of"):
        LSTM(3, activation="softmax")(np.zeros((2, 3, 1), np.float32))
    with pytest.raises(ValueError, match="mask must have shape"):
        GRU(3)(np.zeros((2, 3, 1), np.float32), mask=np.ones((2, 4), bool))
    with pytest.raises(ValueError, match="initial_state"):
        LSTM(3)(np.zeros((2, 3, 1), np.float32), initial_state=[np.zeros((2, 3))])
    for kind in (SimpleRNN, JordanRNN, LSTM, GRU):  # zero time steps, as PyTorch refuses too
        with pytest.raises(ValueError, match=r"at least one time step.*\(2, 0, 1\)"):
            kind(3, name="rnn")(np.zeros((2, 0, 1), np.float32))


def test_fused_lstm_float32_dtype_and_no_grad():
    x = gn.tensor(_x((2, 3, 4)).astype(np.float32))
    layer = LSTM(3)
    with gn.no_grad():
        y = layer(x)
    assert y.dtype == np.float32 and not y.requires_grad
    assert y._ctx is None
    yg = layer(gn.tensor(x.data, requires_grad=True))
    assert isinstance(yg._ctx, LSTMSeq) is False  # a slice of the fused kernel's output
    assert yg.requires_grad


def _lstm_composed(x, h, c, w, u, b, ract, act):
    """LSTM from tensor ops and the activations module (the reference for the fused kernel)."""
    n = u.shape[0]
    hs = []
    for t in range(x.shape[1]):
        z = x[:, t] @ w + h @ u + b
        i, f = ract(z[:, :n]), ract(z[:, n : 2 * n])
        g, o = act(z[:, 2 * n : 3 * n]), ract(z[:, 3 * n :])
        c = f * c + i * g
        h = o * act(c)
        hs.append(h)
    return gn.ops.stack(hs, axis=1)


def test_hard_sigmoid_is_one_definition_in_fused_kernels():
    from glassnet import activations

    rng = np.random.default_rng(4)
    # large inputs so that many gates sit in hard_sigmoid's saturated parts
    x = rng.normal(scale=3.0, size=(3, 5, 4))
    layer = LSTM(6, recurrent_activation="hard_sigmoid", return_sequences=True,
                 bias_initializer="uniform", dtype="float64")
    xt = gn.tensor(x, dtype="float64", requires_grad=True)
    y = layer(xt)
    gy = gn.tensor(rng.normal(size=y.shape), dtype="float64")
    (y * gy).sum().backward()
    ws = [gn.tensor(v.data, dtype="float64", requires_grad=True)
          for v in (layer.kernel, layer.recurrent_kernel, layer.bias)]
    xr = gn.tensor(x, dtype="float64", requires_grad=True)
    zeros = gn.tensor(np.zeros((3, 6)), dtype="float64")
    yr = _lstm_composed(xr, zeros, zeros, *ws, activations.hard_sigmoid, activations.tanh)
    (yr * gy).sum().backward()
    np.testing.assert_allclose(y.data, yr.data, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(xt.grad, xr.grad, rtol=1e-9, atol=1e-12)
    for v, r in zip((layer.kernel, layer.recurrent_kernel, layer.bias), ws):
        np.testing.assert_allclose(v.grad, r.grad, rtol=1e-9, atol=1e-12)
    # Keras 3 / PyTorch slope 1/6: hard_sigmoid(1.5) = 0.75 (Keras 2's 0.2 slope gives 0.8)
    assert float(activations.hard_sigmoid(gn.tensor(1.5)).data) == pytest.approx(0.75)
    rnn = SimpleRNN(4, activation="hard_sigmoid", use_bias=False, kernel_initializer="ones",
                    recurrent_initializer="zeros")
    np.testing.assert_allclose(rnn(np.full((1, 1, 1), 1.5)).data, 0.75, rtol=1e-6)


@pytest.mark.parametrize("opts", [{}, {"return_state": True}, {"go_backwards": True}])
def test_gradcheck_lstm_last_step_only_kernel_with_mask(opts):
    # without return_sequences the fused LSTM outputs only the final (h, c)
    layer = LSTM(4, bias_initializer="uniform", **opts)
    assert _check_layer(layer, _x(), mask=MASK).ok
    # same weights, every step returned: its final state must be the last-only output
    full = LSTM(4, return_sequences=True, return_state=True,
                go_backwards=opts.get("go_backwards", False))
    full.build((None, 4, 3))
    full.set_weights([np.asarray(w.data, np.float32) for w in layer.weights])
    x = _x().astype(np.float32)
    last = layer(x, mask=MASK)
    last = last if isinstance(last, list) else [last]
    _, h, c = full(x, mask=MASK)
    np.testing.assert_allclose(last[0].data, h.data, rtol=1e-5, atol=1e-6)
    if len(last) == 3:
        np.testing.assert_allclose(last[2].data, c.data, rtol=1e-5, atol=1e-6)
