"""Recurrent layers as ONNX's RNN/LSTM/GRU ops (Keras gate order mapped to ONNX's)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .. import backend

if TYPE_CHECKING:
    from .onnx_export import Graph

_ONNX_ACT = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu"}
_INT64_MIN = np.iinfo(np.int64).min


def _w(layer: Any) -> dict[str, np.ndarray]:
    return {w.name.rpartition("/")[2]: backend.asnumpy(w.data).astype(np.float32)
            for w in layer._weights}


def _act_name(layer: Any, key: str) -> str:
    cfg = layer.get_config().get(key, "tanh")
    name = cfg if isinstance(cfg, str) else (cfg or {}).get("class_name")
    if name not in _ONNX_ACT:
        raise ValueError(f"layer {layer.name!r} ({type(layer).__name__}): {key}={name!r} has "
                         f"no ONNX recurrent form (supported: {sorted(_ONNX_ACT)})")
    return _ONNX_ACT[name]


def _params(layer: Any, kind: str | None = None,
            ) -> tuple[str, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
    """(op type, W, R, B, attributes) for one direction of a glassnet recurrent layer
    (``kind``: LSTM/GRU/SimpleRNN when ``layer`` is a cell standing for one)."""
    cls = kind or type(layer).__name__
    w = _w(layer)
    k, rk = w["kernel"], w["recurrent_kernel"]
    units = rk.shape[0]
    if cls == "LSTM":
        def order(m: np.ndarray) -> np.ndarray:  # Keras i, f, c, o  ->  ONNX i, o, f, c
            i, f, c, o = np.split(m, 4, axis=-1)
            return np.concatenate([i, o, f, c], axis=-1)
        b = order(w["bias"]) if "bias" in w else np.zeros(4 * units, np.float32)
        bias = np.concatenate([b, np.zeros_like(b)])
        acts = [_act_name(layer, "recurrent_activation"), _act_name(layer, "activation"),
                _act_name(layer, "activation")]
        return "LSTM", order(k).T, order(rk).T, bias, {"activations": acts}
    if cls == "GRU":  # Keras z, r, h is ONNX's z, r, h; reset_after = linear_before_reset
        if "bias" in w:
            b = w["bias"]
            bias = b.reshape(-1) if b.ndim == 2 else np.concatenate([b, np.zeros_like(b)])
        else:
            bias = np.zeros(6 * units, np.float32)
        acts = [_act_name(layer, "recurrent_activation"), _act_name(layer, "activation")]
        return "GRU", k.T, rk.T, bias, {"activations": acts,
                                        "linear_before_reset": int(layer.reset_after)}
    if cls == "SimpleRNN":
        b = w.get("bias", np.zeros(units, np.float32))
        return "RNN", k.T, rk.T, np.concatenate([b, np.zeros_like(b)]), {
            "activations": [_act_name(layer, "activation")]}
    raise ValueError(f"layer {layer.name!r} ({cls}) has no ONNX recurrent op")


def _check(layer: Any, every: bool = False) -> None:
    """Refuse what has no ONNX form: ``stateful``; ``return_state`` where only one output
    is taken (``every``: the caller takes the states too)."""
    cfg = layer.get_config()
    for key in ("stateful",) + (() if every else ("return_state",)):
        if cfg.get(key):
            raise ValueError(f"layer {layer.name!r} ({type(layer).__name__}): {key}=True has no "
                             "ONNX export")


def _reverse_time(g: Graph, x: str) -> str:
    return g.op("Slice", [x, g.ints([-1]), g.ints([_INT64_MIN]), g.ints([0]), g.ints([-1])])


def _run(g: Graph, op: str, x: str, params: list, direction: str, units: int,
         n_dir: int, initial: list[str] | None = None) -> list[str]:
    """One ONNX RNN/GRU/LSTM node: its outputs Y, Y_h (and Y_c for an LSTM); ``initial``:
    the (batch, units) initial states, [h] or [h, c] (one direction)."""
    ws = [p[1] for p in params]
    rs = [p[2] for p in params]
    bs = [p[3] for p in params]
    attrs = dict(params[0][4])
    if n_dir == 2:
        attrs["activations"] = attrs["activations"] * 2
    inputs = [x, g.const(np.stack(ws), "W"), g.const(np.stack(rs), "R"),
              g.const(np.stack(bs), "B")]
    if initial:  # ONNX: X, W, R, B, sequence_lens (none), initial_h[, initial_c]
        inputs += [""] + [g.op("Unsqueeze", [s, g.ints([0])]) for s in initial]
    outs = g.op(op, inputs, n_out=3 if op == "LSTM" else 2, hidden_size=int(units),
                direction=direction, **attrs)
    return list(outs)


def convert_rnn(g: Graph, layer: Any, x: str, kind: str | None = None,
                initial: list[str] | None = None, every: bool = False) -> Any:
    """LSTM/GRU/SimpleRNN on (batch, time, features) channels-last input, from the zero
    state or from ``initial`` ([h], or [h, c] for an LSTM). Returns the output's name, or
    with ``every`` Keras's ``return_state`` list: the output, then the final states."""
    _check(layer, every)
    op, *_ = params = _params(layer, kind)
    units = params[2].shape[1]
    if initial is not None and len(initial) != (2 if op == "LSTM" else 1):
        raise ValueError(f"layer {layer.name!r} ({type(layer).__name__}): initial_state "
                         f"needs {2 if op == 'LSTM' else 1} tensors. Received: {len(initial)}")
    xt = g.op("Transpose", [x], perm=[1, 0, 2])
    if layer.go_backwards:  # Keras reverses the input and runs forward
        xt = _reverse_time(g, xt)
    y, y_h, *y_c = _run(g, op, xt, [params], "forward", units, 1, initial)
    h = g.op("Squeeze", [y_h, g.ints([0])])
    if layer.return_sequences:
        y = g.op("Squeeze", [y, g.ints([1])])
        out = g.op("Transpose", [y], perm=[1, 0, 2])
    else:
        out = h
    if not every or not layer.return_state:
        return out
    return [out, h] + ([g.op("Squeeze", [y_c[0], g.ints([0])])] if op == "LSTM" else [])


def convert_bidirectional(g: Graph, layer: Any, x: str) -> str:
    """Bidirectional(LSTM/GRU/SimpleRNN) as one ONNX op with direction="bidirectional"."""
    fwd, bwd = layer.forward_layer, layer.backward_layer
    _check(fwd)
    _check(bwd)
    if type(fwd) is not type(bwd) or fwd.go_backwards or not bwd.go_backwards:
        raise ValueError(f"layer {layer.name!r} (Bidirectional): only a forward layer with its "
                         "mirrored backward layer exports to ONNX")
    if layer.merge_mode not in ("concat", "sum", "ave", "mul"):
        raise ValueError(f"layer {layer.name!r} (Bidirectional): merge_mode="
                         f"{layer.merge_mode!r} gives several outputs; ONNX export needs one")
    pf, pb = _params(fwd), _params(bwd)
    units = pf[2].shape[1]
    xt = g.op("Transpose", [x], perm=[1, 0, 2])
    y, y_h, *_ = _run(g, pf[0], xt, [pf, pb], "bidirectional", units, 2)
    if fwd.return_sequences:  # (T, 2, B, H) -> (B, T, 2, H); ONNX keeps backward in time order
        both, axis = g.op("Transpose", [y], perm=[2, 0, 1, 3]), 2
    else:  # (2, B, H) -> (B, 2, H)
        both, axis = g.op("Transpose", [y_h], perm=[1, 0, 2]), 1
    if layer.merge_mode == "concat":
        return g.op("Reshape", [both, g.ints([0] * axis + [-1])])
    op = {"sum": "ReduceSum", "ave": "ReduceMean", "mul": "ReduceProd"}[layer.merge_mode]
    return g.reduce(op, both, [axis], keepdims=0)


def convert_jordan(g: Graph, layer: Any, x: str, steps: int) -> str:
    """JordanRNN unrolled over its (static) time steps: h = act(x W + y_prev U + b),
    y = out_act(h V + c), the output fed back as context (Jordan 1986)."""
    from ._onnx_layers import activation

    _check(layer)
    w = _w(layer)
    cfg = layer.get_config()
    k, rk = g.const(w["kernel"], "W"), g.const(w["recurrent_kernel"], "U")
    v = g.const(w["output_kernel"], "V")
    b = g.const(w.get("bias", np.zeros(w["kernel"].shape[1], np.float32)), "b")
    c = g.const(w.get("output_bias", np.zeros(w["output_kernel"].shape[1], np.float32)), "c")
    order = range(steps - 1, -1, -1) if layer.go_backwards else range(steps)
    # y_prev starts at zeros shaped (batch, output_units): x[:, 0] @ 0-matrix keeps the batch
    zeros = g.const(np.zeros((w["kernel"].shape[0], w["output_kernel"].shape[1]), np.float32))
    first = g.op("Gather", [x, g.const(np.asarray(0, np.int64))], axis=1)
    y_prev = g.op("MatMul", [first, zeros])
    outs = []
    for t in order:
        xt = g.op("Gather", [x, g.const(np.asarray(t, np.int64))], axis=1)
        h = g.op("Add", [g.op("Add", [g.op("MatMul", [xt, k]), g.op("MatMul", [y_prev, rk])]),
                         b])
        h = activation(g, h, cfg.get("activation", "tanh"))
        y = activation(g, g.op("Add", [g.op("MatMul", [h, v]), c]),
                       cfg.get("output_activation", "linear"))
        outs.append(g.op("Unsqueeze", [y, g.ints([1])]))
        y_prev = y
    if layer.return_sequences:
        return g.op("Concat", outs, axis=1)
    return y_prev


def convert_conv_lstm(g: Graph, layer: Any, x: str, xv: np.ndarray) -> str:
    """ConvLSTM1D/2D unrolled over its (static) time steps, channels-first inside: per step
    z = Conv(x_t, kernel) + bias + Conv_same(h, recurrent_kernel); gates i, f, c, o."""
    from ._onnx_layers import _spatial_pads, activation

    _check(layer)
    cell = layer.cell
    cfg = cell.get_config()
    w = _w(cell)
    f, nd = int(cell.filters), int(cell.rank)
    ks, st = list(cell.kernel_size), list(cell.strides)
    dl = list(cell.dilation_rate)
    space = xv.shape[2:2 + nd]
    pads = _spatial_pads(space, ks, st, dl, cell.padding)
    rpads = _spatial_pads(cell.output_hw(*space), ks, [1] * nd, [1] * nd, "same")
    perm_w = (nd + 1, nd, *range(nd))  # (*k, in, out) → (out, in, *k)
    kx = g.const(np.transpose(w["kernel"], perm_w), "Wx")
    kh = g.const(np.transpose(w["recurrent_kernel"], perm_w), "Wh")
    bias = [g.const(w["bias"], "B")] if "bias" in w else []
    ract, act = cfg.get("recurrent_activation", "sigmoid"), cfg.get("activation", "tanh")
    first, last = [0, nd + 1, *range(1, nd + 1)], [0, *range(2, nd + 2), 1]

    def gate(z: str, k: int) -> str:
        return g.op("Slice", [z, g.ints([k * f]), g.ints([(k + 1) * f]), g.ints([1])])

    steps = range(xv.shape[1] - 1, -1, -1) if layer.go_backwards else range(xv.shape[1])
    h = c = None
    outs = []
    for t in steps:
        xt = g.op("Gather", [x, g.const(np.asarray(t, np.int64))], axis=1)
        xt = g.op("Transpose", [xt], perm=first)
        z = g.op("Conv", [xt, kx, *bias], kernel_shape=ks, strides=st, dilations=dl,
                 pads=pads)
        if h is None:  # zero states shaped like one gate's block
            h = c = g.op("Mul", [gate(z, 0), g.const(np.float32(0))])
        z = g.op("Add", [z, g.op("Conv", [h, kh], kernel_shape=ks, pads=rpads)])
        i, fg = activation(g, gate(z, 0), ract), activation(g, gate(z, 1), ract)
        cc, o = activation(g, gate(z, 2), act), activation(g, gate(z, 3), ract)
        c = g.op("Add", [g.op("Mul", [fg, c]), g.op("Mul", [i, cc])])
        h = g.op("Mul", [o, activation(g, c, act)])
        outs.append(g.op("Unsqueeze", [g.op("Transpose", [h], perm=last), g.ints([1])]))
    if layer.return_sequences:
        return g.op("Concat", outs, axis=1)
    return g.op("Transpose", [h], perm=last)
