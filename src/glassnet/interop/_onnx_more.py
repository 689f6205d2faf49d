"""ONNX converters for the rest of ``glassnet.layers``: depthwise/separable convolutions,
RNN(cell), attention, group/feature normalization, resizing and cropping, category and
bucket encodings. Each returns the output name, or None when it does not handle the class."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import backend
from ._onnx_layers import _chw, _hwc, _spatial_pads, _tuple, _w, activation

if TYPE_CHECKING:
    from .onnx_export import Graph

# layers whose results depend on strings, hashes or masks: named when refused
NO_ONNX = {
    "Masking": "masks change later layers, which ONNX export does not reproduce",
    "Hashing": "hashing has no ONNX operator",
    "IntegerLookup": "vocabulary lookups are not exported",
    "TextVectorization": "string inputs are not exported",
    "Lambda": "a Lambda layer is Python code",
    "SymbolicOp": "operations recorded from ops calls in a functional graph are not "
                  "exported yet",
    "ReversibleEmbedding": "its reverse call (vectors to logits) is not exported",
    "SpectralNormalization": "a training-time wrapper: export a model of the layer it wraps",
}


def _string_lookup(g: Graph, layer: Any, x: str, yv: np.ndarray) -> str:
    """StringLookup as ONNX-ML's LabelEncoder (string -> index, unknown -> the OOV index),
    then OneHot for ``output_mode="one_hot"``. One OOV index, no mask token."""
    if layer.num_oov_indices != 1 or layer.mask_token is not None or \
            layer.output_mode not in ("int", "one_hot") or getattr(layer, "invert", False):
        raise ValueError(f"layer {layer.name!r} (StringLookup): only one OOV index, no mask "
                         "token and output_mode 'int' or 'one_hot' export to ONNX")
    start = layer._token_start()
    tokens = [str(t) for t in layer.get_vocabulary(include_special_tokens=False)]
    g.ml_domain = True  # the model imports the ai.onnx.ml operator set
    idx = g.op("LabelEncoder", [x], domain="ai.onnx.ml", keys_strings=tokens,
               values_int64s=list(range(start, start + len(tokens))),
               default_int64=start - 1)
    if layer.output_mode == "int":
        return idx
    depth = layer.vocabulary_size()
    hot = g.op("OneHot", [idx, g.ints([depth], "depth"),
                          g.const(np.array([0.0, 1.0], np.float32), "onoff")], axis=-1)
    return g.op("Reshape", [hot, g.ints([-1, *yv.shape[1:]])])


def convert_more(g: Graph, layer: Any, cls: str, cfg: dict, ins: list[str],
                 vals: list[np.ndarray], yv: np.ndarray) -> str | None:
    x, xv = ins[0], np.asarray(vals[0])
    if cls in NO_ONNX:
        raise ValueError(f"layer {layer.name!r} ({cls}) has no ONNX export: {NO_ONNX[cls]}")
    if cls in ("DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D"):
        return _depthwise(g, layer, cls, cfg, x, xv)
    if cls == "RNN":
        return _rnn_of_cells(g, layer, x)
    if cls == "EinsumDense":  # ONNX's Einsum takes the equation as written ('...' too)
        from ._onnx_layers import _w, activation

        arrays = _w(layer)
        y = g.op("Einsum", [x, g.const(arrays["kernel"], "kernel")],
                 equation=layer.equation.replace(" ", ""))
        if "bias" in arrays:
            y = g.op("Add", [y, g.const(arrays["bias"], "bias")])
        return activation(g, y, cfg.get("activation"))
    if cls in ("ConvLSTM1D", "ConvLSTM2D"):
        from ._onnx_rnn import convert_conv_lstm

        return convert_conv_lstm(g, layer, x, xv)
    if cls == "StringLookup":
        return _string_lookup(g, layer, x, yv)
    if cls == "GroupNormalization":
        return _groupnorm(g, layer, cfg, x, xv)
    if cls == "Normalization":
        mean = backend.asnumpy(layer.mean).astype(np.float32)
        std = np.maximum(np.sqrt(backend.asnumpy(layer.variance).astype(np.float32)), 1e-7)
        if cfg.get("invert"):
            return g.op("Add", [g.op("Mul", [x, g.const(std, "std")]), g.const(mean, "mean")])
        return g.op("Div", [g.op("Sub", [x, g.const(mean, "mean")]), g.const(std, "std")])
    if cls in ("CenterCrop", "RandomCrop"):  # RandomCrop infers as the centre crop
        h, w = int(cfg["height"]), int(cfg["width"])
        if h > xv.shape[1] or w > xv.shape[2]:
            raise ValueError(f"layer {layer.name!r} ({cls}): a target larger than the "
                             "image (Keras resizes then) has no ONNX export")
        top, left = (xv.shape[1] - h) // 2, (xv.shape[2] - w) // 2
        return g.op("Slice", [x, g.ints([top, left]), g.ints([top + h, left + w]),
                              g.ints([1, 2])])
    if cls == "Resizing":
        if cfg.get("crop_to_aspect_ratio") or cfg.get("pad_to_aspect_ratio") or \
                cfg.get("interpolation", "bilinear") not in ("bilinear", "nearest"):
            raise ValueError(f"layer {layer.name!r} (Resizing): only plain bilinear/nearest "
                             "resizing exports to ONNX")
        scales = [1.0, yv.shape[1] / xv.shape[1], yv.shape[2] / xv.shape[2], 1.0]
        mode: dict[str, Any] = {
            "mode": "linear", "coordinate_transformation_mode": "half_pixel"} if \
            cfg.get("interpolation", "bilinear") == "bilinear" else {
            "mode": "nearest", "coordinate_transformation_mode": "half_pixel",
            "nearest_mode": "round_prefer_ceil"}
        return g.op("Resize", [x, "", g.const(np.asarray(scales, np.float32), "scales")],
                    **mode)
    if cls == "CategoryEncoding":
        return _category(g, layer, cfg, x, xv, yv)
    if cls == "Discretization":
        bounds = np.asarray(layer.bin_boundaries if getattr(layer, "bin_boundaries", None)
                            is not None else cfg["bin_boundaries"], np.float32)
        if cfg.get("output_mode", "int") != "int":
            raise ValueError(f"layer {layer.name!r} (Discretization): only output_mode='int' "
                             "exports to ONNX")
        xf = g.op("Unsqueeze", [g.op("Cast", [x], to=1), g.ints([-1])])
        ge = g.op("Cast", [g.op("GreaterOrEqual", [xf, g.const(bounds, "bounds")])], to=7)
        y = g.op("ReduceSum", [ge, g.ints([-1])], keepdims=0)
        return g.op("Cast", [y], to=g.helper.np_dtype_to_tensor_dtype(yv.dtype))
    if cls == "Dot":
        return _dot(g, layer, cfg, ins, vals)
    if cls in ("Attention", "AdditiveAttention"):
        return _attention(g, layer, cls, cfg, ins)
    if cls in ("MultiHeadAttention", "GroupedQueryAttention"):
        return _mha(g, layer, ins, vals)
    return None


def _depthwise(g: Graph, layer: Any, cls: str, cfg: dict, x: str, xv: np.ndarray) -> str:
    nd = 1 if cls.endswith("1D") else 2
    w = _w(layer)
    k = w["depthwise_kernel"]  # (k..., in, mult)
    cin, mult = k.shape[-2], k.shape[-1]
    ks, st = _tuple(cfg["kernel_size"], nd), _tuple(cfg["strides"], nd)
    dl = _tuple(cfg.get("dilation_rate", 1), nd)
    pads = _spatial_pads(xv.shape[1:-1], ks, st, dl, cfg.get("padding", "valid"))
    wt = np.moveaxis(k.reshape(*ks, cin * mult), -1, 0)[:, None]  # (in*mult, 1, k...)
    sep = cls.startswith("Separable")
    ins = [_chw(g, x, nd), g.const(wt, "W")]
    if "bias" in w and not sep:
        ins.append(g.const(w["bias"], "B"))
    y = g.op("Conv", ins, kernel_shape=ks, strides=st, dilations=dl, pads=pads, group=cin)
    if sep:  # then the pointwise 1x1 convolution (bias after it)
        pk = w["pointwise_kernel"].reshape(cin * mult, -1).T  # (filters, in*mult)
        pins = [y, g.const(pk.reshape(*pk.shape, *([1] * nd)), "Wp")]
        if "bias" in w:
            pins.append(g.const(w["bias"], "B"))
        y = g.op("Conv", pins, kernel_shape=[1] * nd)
    return activation(g, _hwc(g, y, nd), cfg.get("activation"))


class _CellAsLayer:
    """A cell seen as the fused layer of the same kind, for ``_onnx_rnn``."""

    _KIND = {"SimpleRNNCell": "SimpleRNN", "LSTMCell": "LSTM", "GRUCell": "GRU"}

    def __init__(self, cell: Any, rnn: Any, return_sequences: bool) -> None:
        self.cell, self.name = cell, cell.name
        self._weights = cell._weights
        self.reset_after = getattr(cell, "reset_after", True)
        self.go_backwards, self.return_sequences = False, return_sequences
        self._cls = self._KIND.get(type(cell).__name__)
        if self._cls is None:
            raise ValueError(f"layer {rnn.name!r} (RNN): cell {type(cell).__name__} has no "
                             "ONNX recurrent op")

    def get_config(self) -> dict:
        return {**self.cell.get_config(), "stateful": False, "return_state": False}


def _rnn_of_cells(g: Graph, layer: Any, x: str) -> str:
    from . import _onnx_rnn as R

    cfg = layer.get_config()
    for key in ("stateful", "return_state"):
        if cfg.get(key):
            raise ValueError(f"layer {layer.name!r} (RNN): {key}=True has no ONNX export")
    cells = list(getattr(layer.cell, "cells", [layer.cell]))
    if cfg.get("go_backwards"):
        xt = g.op("Transpose", [x], perm=[1, 0, 2])
        x = g.op("Transpose", [R._reverse_time(g, xt)], perm=[1, 0, 2])
    for i, cell in enumerate(cells):
        last = i == len(cells) - 1
        view = _CellAsLayer(cell, layer, return_sequences=not last or
                            bool(cfg.get("return_sequences")))
        x = R.convert_rnn(g, view, x, kind=view._cls)
    return x


def _groupnorm(g: Graph, layer: Any, cfg: dict, x: str, xv: np.ndarray) -> str:
    w = _w(layer)
    if int(cfg.get("axis", -1)) % xv.ndim != xv.ndim - 1:
        raise ValueError(f"layer {layer.name!r} (GroupNormalization): only axis=-1 exports")
    groups, c = int(cfg["groups"]), xv.shape[-1]
    y = g.op("Reshape", [x, g.ints([0, -1, groups, c // groups])])
    mean = g.reduce("ReduceMean", y, [1, 3], keepdims=1)
    d = g.op("Sub", [y, mean])
    var = g.reduce("ReduceMean", g.op("Mul", [d, d]), [1, 3], keepdims=1)
    eps = g.const(np.float32(cfg.get("epsilon", 1e-3)))
    y = g.op("Div", [d, g.op("Sqrt", [g.op("Add", [var, eps])])])
    y = g.op("Reshape", [y, g.ints([-1, *xv.shape[1:]])])
    if "gamma" in w:
        y = g.op("Mul", [y, g.const(w["gamma"], "gamma")])
    if "beta" in w:
        y = g.op("Add", [y, g.const(w["beta"], "beta")])
    return y


def _category(g: Graph, layer: Any, cfg: dict, x: str, xv: np.ndarray,
              yv: np.ndarray) -> str:
    n = int(cfg["num_tokens"])
    mode = cfg.get("output_mode", "multi_hot")
    idx = g.op("Cast", [x], to=7)
    oh = g.op("OneHot", [idx, g.const(np.asarray(n, np.int64)),
                         g.const(np.asarray([0, 1], np.float32))], axis=-1)
    if mode == "one_hot":
        y = oh if xv.ndim == 1 or xv.shape[-1] != 1 else g.op("Squeeze", [oh, g.ints([-2])])
    elif mode in ("multi_hot", "count") and xv.ndim == 2:
        y = g.reduce("ReduceMax" if mode == "multi_hot" else "ReduceSum", oh, [1], keepdims=0)
    else:
        raise ValueError(f"layer {layer.name!r} (CategoryEncoding): output_mode={mode!r} on "
                         f"inputs of rank {xv.ndim} has no ONNX export")
    return g.op("Cast", [y], to=g.helper.np_dtype_to_tensor_dtype(yv.dtype))


def _l2n(g: Graph, x: str, axis: int) -> str:
    ss = g.reduce("ReduceSumSquare", x, [axis], keepdims=1)
    return g.op("Div", [x, g.op("Sqrt", [g.op("Max", [ss, g.const(np.float32(1e-12))])])])


def _dot(g: Graph, layer: Any, cfg: dict, ins: list[str], vals: list[np.ndarray]) -> str:
    a, b = ins
    na, nb = np.asarray(vals[0]).ndim, np.asarray(vals[1]).ndim
    axes = cfg["axes"]
    axes = [axes, axes] if isinstance(axes, int) else list(axes)
    axes = [int(axes[0]) % na, int(axes[1]) % nb]
    if cfg.get("normalize"):
        a, b = _l2n(g, a, axes[0]), _l2n(g, b, axes[1])
    if na == nb == 2:
        return g.op("ReduceSum", [g.op("Mul", [a, b]), g.ints([1])], keepdims=1)
    if na == nb == 3:
        if axes[0] == 1:
            a = g.op("Transpose", [a], perm=[0, 2, 1])
        if axes[1] == 2:
            b = g.op("Transpose", [b], perm=[0, 2, 1])
        return g.op("MatMul", [a, b])
    raise ValueError(f"layer {layer.name!r} (Dot): only rank-2 or rank-3 inputs export")


def _attention(g: Graph, layer: Any, cls: str, cfg: dict, ins: list[str]) -> str:
    q, v = ins[0], ins[1]
    k = ins[2] if len(ins) > 2 else v
    w = _w(layer)
    if cls == "Attention" and cfg.get("score_mode", "dot") == "dot":
        scores = g.op("MatMul", [q, g.op("Transpose", [k], perm=[0, 2, 1])])
        if "scale" in w:
            scores = g.op("Mul", [scores, g.const(w["scale"], "scale")])
    else:  # additive / concat: sum(scale * tanh(q_i + k_j))
        t = g.op("Tanh", [g.op("Add", [g.op("Unsqueeze", [q, g.ints([2])]),
                                       g.op("Unsqueeze", [k, g.ints([1])])])])
        if cls == "AdditiveAttention" and "scale" in w:
            t = g.op("Mul", [t, g.const(w["scale"], "scale")])
        scores = g.op("ReduceSum", [t, g.ints([-1])], keepdims=0)
        if cls == "Attention" and "concat_score_weight" in w:
            scores = g.op("Mul", [scores, g.const(w["concat_score_weight"], "csw")])
        if cls == "Attention" and "scale" in w:
            scores = g.op("Mul", [scores, g.const(w["scale"], "scale")])
    return g.op("MatMul", [g.op("Softmax", [scores], axis=-1), v])


def _mha(g: Graph, layer: Any, ins: list[str], vals: list[np.ndarray]) -> str:
    w = {"/".join(t.name.split("/")[-2:]): backend.asnumpy(t.data).astype(np.float32)
         for t in layer._weights}  # query/kernel, ..., attention_output/bias
    q, v = ins[0], ins[1]
    k = ins[2] if len(ins) > 2 else v
    heads = int(layer.num_heads)
    if getattr(layer, "sliding_window", None) is not None:
        raise ValueError(f"layer {layer.name!r} (GroupedQueryAttention): a sliding_window "
                         "does not export to ONNX")
    # GroupedQueryAttention: each key/value head serves a group of query heads, so its
    # projection is repeated into one per query head (the same numbers as the layer's repeat)
    groups = heads // int(getattr(layer, "num_key_value_heads", heads))

    def proj(x: str, part: str, rep: int = 1) -> str:
        kern, bias = w[f"{part}/kernel"], w.get(f"{part}/bias")
        if rep > 1:
            kern = np.repeat(kern, rep, axis=1)
            bias = None if bias is None else np.repeat(bias, rep, axis=0)
        y = g.op("MatMul", [x, g.const(kern.reshape(kern.shape[0], -1), f"{part}_W")])
        if bias is not None:
            y = g.op("Add", [y, g.const(bias.reshape(-1), f"{part}_b")])
        y = g.op("Reshape", [y, g.ints([0, 0, heads, kern.shape[-1]])])
        return g.op("Transpose", [y], perm=[0, 2, 1, 3])  # (B, heads, T, dim)

    qh = proj(q, "query")
    qh = g.op("Mul", [qh, g.const(np.float32(1 / math.sqrt(layer.key_dim)))])
    scores = g.op("MatMul", [qh, g.op("Transpose", [proj(k, "key", groups)],
                                      perm=[0, 1, 3, 2])])
    att = g.op("MatMul", [g.op("Softmax", [scores], axis=-1), proj(v, "value", groups)])
    if "gate/kernel" in w:  # GQA's gate: sigmoid(query · gate) times the heads' outputs
        att = g.op("Mul", [att, g.op("Sigmoid", [proj(q, "gate")])])
    att = g.op("Reshape", [g.op("Transpose", [att], perm=[0, 2, 1, 3]), g.ints([0, 0, -1])])
    ko = w["attention_output/kernel"]
    y = g.op("MatMul", [att, g.const(ko.reshape(-1, ko.shape[-1]), "out_W")])
    if "attention_output/bias" in w:
        y = g.op("Add", [y, g.const(w["attention_output/bias"], "out_b")])
    return y
