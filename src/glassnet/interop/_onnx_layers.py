"""One converter per glassnet layer class: ONNX nodes for its inference computation.

Images are channels-last in glassnet (as in Keras) and channels-first in ONNX's Conv/Pool
ops, so those are wrapped in Transposes. Every converter gets the probe values glassnet
computed (inputs and output), so static sizes (padding, crops) come from real shapes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import backend

if TYPE_CHECKING:
    from .onnx_export import Graph

_INT64_MAX = np.iinfo(np.int64).max
IDENTITY = ("InputLayer", "Dropout", "SpatialDropout1D", "SpatialDropout2D",
            "GaussianDropout", "GaussianNoise", "AlphaDropout", "ActivityRegularization",
            "Identity", "RandomFlip", "RandomRotation", "RandomTranslation", "RandomZoom",
            "RandomContrast", "RandomCrop", "RandomBrightness", "RandomGrayscale",
            "RandomInvert")


def _w(layer: Any) -> dict[str, np.ndarray]:
    return {w.name.rpartition("/")[2]: backend.asnumpy(w.data).astype(np.float32)
            for w in layer._weights}


def activation(g: Graph, x: str, spec: Any) -> str:
    """ONNX nodes for a glassnet activation given by name or ``{"class_name", "config"}``."""
    from .. import activations as A

    cfg = {}
    if isinstance(spec, dict):
        spec, cfg = spec.get("class_name"), dict(spec.get("config") or {})
    name = (spec or "linear").lower()
    if name in ("linear", "identity"):
        return x
    simple = {"relu": "Relu", "tanh": "Tanh", "softplus": "Softplus", "softsign": "Softsign",
              "arctan": "Atan", "exponential": "Exp"}
    if name in simple:
        return g.op(simple[name], [x])
    if name in ("sigmoid", "logistic"):
        c = cfg.get("c", 1.0)
        return g.op("Sigmoid", [x if c == 1.0 else g.op("Mul", [x, g.const(np.float32(c))])])
    if name in ("softmax", "log_softmax"):
        return g.op("Softmax" if name == "softmax" else "LogSoftmax", [x],
                    axis=int(cfg.get("axis", -1)))
    if name == "elu":
        return g.op("Elu", [x], alpha=float(cfg.get("alpha", 1.0)))
    if name == "selu":
        return g.op("Selu", [x], alpha=float(A._SELU_ALPHA), gamma=float(A._SELU_SCALE))
    if name == "leaky_relu":
        return g.op("LeakyRelu", [x], alpha=float(cfg.get("alpha", 0.2)))
    if name == "hard_sigmoid":
        return g.op("HardSigmoid", [x], alpha=float(A.HARD_SIGMOID_SLOPE), beta=0.5)
    if name in ("swish", "silu"):
        return g.op("Mul", [x, g.op("Sigmoid", [x])])
    if name == "gelu":
        if cfg.get("approximate"):
            inner = g.op("Mul", [g.op("Add", [x, g.op("Mul", [g.op("Pow", [
                x, g.const(np.float32(3))]), g.const(np.float32(0.044715))])]),
                g.const(np.float32(math.sqrt(2 / math.pi)))])
            t = g.op("Tanh", [inner])
        else:
            t = g.op("Erf", [g.op("Mul", [x, g.const(np.float32(1 / math.sqrt(2)))])])
        half = g.op("Mul", [x, g.const(np.float32(0.5))])
        return g.op("Mul", [half, g.op("Add", [t, g.const(np.float32(1))])])
    if name in ("binary_step", "heaviside", "step", "sign"):
        ge = g.op("GreaterOrEqual", [x, g.const(np.float32(0))])
        lo = -1.0 if name == "sign" else 0.0
        return g.op("Where", [ge, g.const(np.float32(1)), g.const(np.float32(lo))])
    raise ValueError(f"activation {name!r} has no ONNX form in glassnet's exporter")


def _spatial_pads(in_sizes: Sequence[int], kernel: Sequence[int], strides: Sequence[int],
                  dilation: Sequence[int], padding: str) -> list[int]:
    """ONNX pads [begins..., ends...] reproducing Keras's valid/same/causal padding."""
    begins, ends = [], []
    for n, k, s, d in zip(in_sizes, kernel, strides, dilation):
        keff = (k - 1) * d + 1
        if padding == "same":
            total = max((math.ceil(n / s) - 1) * s + keff - n, 0)
            begins.append(total // 2)
            ends.append(total - total // 2)
        elif padding == "causal":
            begins.append(keff - 1)
            ends.append(0)
        else:
            begins.append(0)
            ends.append(0)
    return begins + ends


def _chw(g: Graph, x: str, nd: int) -> str:
    return g.op("Transpose", [x], perm=[0, nd + 1, *range(1, nd + 1)])


def _hwc(g: Graph, x: str, nd: int) -> str:
    return g.op("Transpose", [x], perm=[0, *range(2, nd + 2), 1])


def _tuple(v: Any, nd: int) -> list[int]:
    return [int(v)] * nd if isinstance(v, (int, np.integer)) else [int(a) for a in v]


def _conv(g: Graph, layer: Any, x: str, xv: np.ndarray, nd: int) -> str:
    cfg, w = layer.get_config(), _w(layer)
    k = w["kernel"]
    ks, st = _tuple(cfg["kernel_size"], nd), _tuple(cfg["strides"], nd)
    dl = _tuple(cfg.get("dilation_rate", 1), nd)
    pads = _spatial_pads(xv.shape[1:-1], ks, st, dl, cfg.get("padding", "valid"))
    wt = np.transpose(k, (nd + 1, nd, *range(nd)))  # (k..., in, out) -> (out, in, k...)
    ins = [_chw(g, x, nd), g.const(wt, "W")]
    if "bias" in w:
        ins.append(g.const(w["bias"], "B"))
    y = g.op("Conv", ins, kernel_shape=ks, strides=st, dilations=dl, pads=pads,
             group=int(cfg.get("groups", 1) or 1))
    return activation(g, _hwc(g, y, nd), cfg.get("activation"))


def _conv_transpose(g: Graph, layer: Any, x: str, xv: np.ndarray, yv: np.ndarray,
                    nd: int) -> str:
    cfg, w = layer.get_config(), _w(layer)
    k = w["kernel"]  # (k..., out, in) -> ONNX (in, out, k...)
    ks, st = _tuple(cfg["kernel_size"], nd), _tuple(cfg["strides"], nd)
    dl = _tuple(cfg.get("dilation_rate", 1), nd)
    begins, ends, opad = [], [], []
    for n, kk, s, d, want in zip(xv.shape[1:1 + nd], ks, st, dl, yv.shape[1:1 + nd]):
        full = s * (n - 1) + (kk - 1) * d + 1
        extra = max(want - full, 0)
        total = full + extra - want
        opad.append(extra)
        begins.append(total // 2)
        ends.append(total - total // 2)
    ins = [_chw(g, x, nd), g.const(np.transpose(k, (nd + 1, nd, *range(nd))), "W")]
    if "bias" in w:
        ins.append(g.const(w["bias"], "B"))
    y = g.op("ConvTranspose", ins, kernel_shape=ks, strides=st, dilations=dl,
             pads=begins + ends, output_padding=opad)
    return activation(g, _hwc(g, y, nd), cfg.get("activation"))


def _pool(g: Graph, layer: Any, x: str, xv: np.ndarray, nd: int, op: str) -> str:
    cfg = layer.get_config()
    ks = _tuple(cfg["pool_size"], nd)
    st = _tuple(cfg.get("strides") or cfg["pool_size"], nd)
    pads = _spatial_pads(xv.shape[1:-1], ks, st, [1] * nd, cfg.get("padding", "valid"))
    extra: dict[str, Any] = {"count_include_pad": 0} if op == "AveragePool" else {}
    y = g.op(op, [_chw(g, x, nd)], kernel_shape=ks, strides=st, pads=pads, **extra)
    return _hwc(g, y, nd)


def _batchnorm(g: Graph, layer: Any, x: str, xv: np.ndarray) -> str:
    cfg, w = layer.get_config(), _w(layer)
    axis = cfg.get("axis", -1)
    axis = axis[0] if isinstance(axis, (list, tuple)) and len(axis) == 1 else axis
    axis = int(axis) % xv.ndim
    c = xv.shape[axis]
    gamma = w.get("gamma", np.ones(c, np.float32))
    beta = w.get("beta", np.zeros(c, np.float32))
    scale = gamma / np.sqrt(w["moving_variance"] + np.float32(cfg.get("epsilon", 1e-3)))
    shift = beta - w["moving_mean"] * scale
    shape = [1] * (xv.ndim - 1)
    shape[axis - 1] = c
    y = g.op("Mul", [x, g.const(scale.reshape(shape).astype(np.float32), "bn_scale")])
    return g.op("Add", [y, g.const(shift.reshape(shape).astype(np.float32), "bn_shift")])


def _layernorm(g: Graph, layer: Any, x: str, xv: np.ndarray) -> str:
    cfg, w = layer.get_config(), _w(layer)
    axis = cfg.get("axis", -1)
    axes = sorted(int(a) % xv.ndim for a in (axis if isinstance(axis, (list, tuple))
                                            else [axis]))
    if axes != list(range(axes[0], xv.ndim)):
        raise ValueError(f"layer {layer.name!r} (LayerNormalization): only trailing axes "
                         f"export to ONNX. Received: axis={axis}")
    shape = xv.shape[axes[0]:]
    gamma = w.get("gamma", np.ones(shape, np.float32))
    beta = w.get("beta", np.zeros(shape, np.float32))
    return g.op("LayerNormalization", [x, g.const(gamma, "ln_scale"), g.const(beta, "ln_b")],
                axis=axes[0], epsilon=float(cfg.get("epsilon", 1e-3)))


def _merge(g: Graph, cls: str, layer: Any, ins: list[str]) -> str:
    if cls == "Add":
        return g.op("Sum", ins)
    if cls == "Average":
        return g.op("Mul", [g.op("Sum", ins), g.const(np.float32(1 / len(ins)))])
    if cls in ("Multiply", "Maximum", "Minimum"):
        op = {"Multiply": "Mul", "Maximum": "Max", "Minimum": "Min"}[cls]
        y = ins[0]
        for other in ins[1:]:
            y = g.op(op, [y, other]) if op == "Mul" else g.op(op, [y, other])
        return y
    if cls == "Subtract":
        return g.op("Sub", ins)
    return g.op("Concat", ins, axis=int(layer.get_config().get("axis", -1)))


def _resize(g: Graph, x: str, scales: Sequence[float], linear: bool) -> str:
    mode: dict[str, Any] = {
        "mode": "linear", "coordinate_transformation_mode": "half_pixel"} if linear else {
        "mode": "nearest", "coordinate_transformation_mode": "asymmetric",
        "nearest_mode": "floor"}
    return g.op("Resize", [x, "", g.const(np.asarray(scales, np.float32), "scales")], **mode)


def _reshape(g: Graph, x: str, yv: np.ndarray) -> str:
    return g.op("Reshape", [x, g.ints([-1, *yv.shape[1:]])])


def convert(g: Graph, layer: Any, ins: list[str], vals: list[np.ndarray],
            yv: np.ndarray) -> str:
    """ONNX nodes for ``layer`` applied to graph values ``ins`` (probe values ``vals``)."""
    from . import _onnx_rnn as R

    cls = type(layer).__name__
    cfg = layer.get_config()
    x, xv = ins[0], np.asarray(vals[0])
    if cls in IDENTITY and tuple(yv.shape) == tuple(xv.shape):
        return g.op("Identity", [x])
    if cls in ("Dense", "Maxout"):
        w = _w(layer)
        y = g.op("MatMul", [x, g.const(w["kernel"], "kernel")])
        if "bias" in w:
            y = g.op("Add", [y, g.const(w["bias"], "bias")])
        if cls == "Maxout":
            y = g.op("Reshape", [y, g.ints([0] * (xv.ndim - 1) + [layer.units, layer.pieces])])
            return g.reduce("ReduceMax", y, [-1], keepdims=0)
        return activation(g, y, cfg.get("activation"))
    if cls in ("Conv1D", "Conv2D", "Conv3D"):
        return _conv(g, layer, x, xv, int(cls[-2]))
    if cls in ("Conv1DTranspose", "Conv2DTranspose"):
        return _conv_transpose(g, layer, x, xv, yv, int(cls[4]))
    if cls[:-2] in ("MaxPooling", "AveragePooling"):
        return _pool(g, layer, x, xv, int(cls[-2]),
                     "MaxPool" if cls.startswith("Max") else "AveragePool")
    if cls.startswith("Global") and "Pooling" in cls:
        nd = int(cls[-2])
        op = "ReduceMax" if "Max" in cls else "ReduceMean"
        first = int(cfg.get("data_format") == "channels_first")  # the channels lead
        return g.reduce(op, x, list(range(1 + first, nd + 1 + first)),
                        keepdims=int(bool(cfg.get("keepdims"))))
    if cls == "Flatten":
        return g.op("Flatten", [x], axis=1)
    if cls in ("Reshape", "Permute", "RepeatVector") or cls.startswith(("Cropping",
                                                                         "ZeroPadding",
                                                                         "UpSampling")):
        return _shape_layer(g, cls, layer, cfg, x, xv, yv)
    if cls == "BatchNormalization":
        return _batchnorm(g, layer, x, xv)
    if cls == "LayerNormalization":
        return _layernorm(g, layer, x, xv)
    if cls == "RMSNormalization":
        nd = xv.ndim
        axes = sorted(a % nd for a in (cfg["axis"] if isinstance(cfg["axis"], list)
                                       else [cfg["axis"]]))
        ms = g.reduce("ReduceMean", g.op("Mul", [x, x]), axes, keepdims=1)
        y = g.op("Div", [x, g.op("Sqrt", [g.op("Add", [ms, g.const(
            np.asarray(cfg["epsilon"], xv.dtype))])])])
        scale = _w(layer)["scale"].reshape((1, *layer._bshape))
        return g.op("Mul", [y, g.const(scale, "scale")])
    if cls.startswith("Adaptive") and "Pooling" in cls:
        from ..layers.adaptive import _bins

        op = "ReduceMax" if "Max" in cls else "ReduceMean"
        for ax, n in zip(range(1, xv.ndim - 1), layer.output_size):
            parts = [g.reduce(op, g.op("Slice", [x, g.ints([a]), g.ints([b]), g.ints([ax])]),
                              [ax], keepdims=1) for a, b in _bins(xv.shape[ax], n)]
            x = parts[0] if n == 1 else g.op("Concat", parts, axis=ax)
        return x
    if cls == "UnitNormalization":
        ss = g.reduce("ReduceSumSquare", x, [-1], keepdims=1)
        return g.op("Div", [x, g.op("Sqrt", [g.op("Max", [ss, g.const(np.float32(1e-12))])])])
    if cls == "Embedding":
        if cfg.get("mask_zero"):
            raise ValueError(f"layer {layer.name!r} (Embedding): mask_zero=True masks later "
                             "layers, which ONNX export does not reproduce")
        idx = g.op("Cast", [x], to=g.onnx.TensorProto.INT64)
        return g.op("Gather", [g.const(_w(layer)["embeddings"], "embeddings"), idx], axis=0)
    if cls == "Activation":
        return activation(g, x, cfg.get("activation"))
    if cls in ("ReLU", "LeakyReLU", "ELU", "Softmax", "PReLU"):
        return _activation_layer(g, cls, layer, cfg, x)
    if cls in ("Add", "Average", "Multiply", "Maximum", "Minimum", "Subtract", "Concatenate"):
        return _merge(g, cls, layer, ins)
    if cls in ("LSTM", "GRU", "SimpleRNN"):
        return R.convert_rnn(g, layer, x)
    if cls == "Bidirectional":
        return R.convert_bidirectional(g, layer, x)
    if cls == "JordanRNN":
        return R.convert_jordan(g, layer, x, xv.shape[1])
    if cls == "TimeDistributed":
        inner = layer.layer
        flat = g.op("Reshape", [x, g.ints([-1, *xv.shape[2:]])])
        fv = xv.reshape(-1, *xv.shape[2:])
        from ..autograd import no_grad

        with no_grad():
            iv = np.asarray(inner(fv, training=False).data)
        y = convert(g, inner, [flat], [fv], iv)
        return g.op("Reshape", [y, g.ints([-1, *yv.shape[1:]])])
    if cls == "Rescaling":
        y = g.op("Mul", [x, g.const(np.float32(cfg["scale"]))])
        return g.op("Add", [y, g.const(np.float32(cfg.get("offset", 0.0)))])
    from ._onnx_more import convert_more

    out = convert_more(g, layer, cls, cfg, ins, vals, yv)
    if out is not None:
        return out
    raise ValueError(f"layer {layer.name!r} ({cls}) has no ONNX export in glassnet; "
                     "supported: Dense, Conv1D/2D(Transpose), pooling, normalization, "
                     "Embedding, SimpleRNN/LSTM/GRU/Bidirectional/JordanRNN, merges, "
                     "reshaping, padding, cropping, upsampling, dropout/noise/augmentation")


def _activation_layer(g: Graph, cls: str, layer: Any, cfg: dict, x: str) -> str:
    if cls == "Softmax":
        return g.op("Softmax", [x], axis=int(cfg.get("axis", -1)))
    if cls == "ELU":
        return g.op("Elu", [x], alpha=float(cfg.get("alpha", 1.0)))
    if cls == "LeakyReLU":
        return g.op("LeakyRelu", [x], alpha=float(cfg.get("negative_slope", 0.3)))
    if cls == "PReLU":
        return g.op("PRelu", [x, g.const(_w(layer)["alpha"], "alpha")])
    if cfg.get("threshold", 0.0):
        raise ValueError(f"layer {layer.name!r} (ReLU): threshold != 0 has no ONNX export")
    slope = float(cfg.get("negative_slope", 0.0) or 0.0)
    y = g.op("LeakyRelu", [x], alpha=slope) if slope else g.op("Relu", [x])
    if cfg.get("max_value") is not None:
        y = g.op("Min", [y, g.const(np.float32(cfg["max_value"]))])
    return y


def _shape_layer(g: Graph, cls: str, layer: Any, cfg: dict, x: str, xv: np.ndarray,
                 yv: np.ndarray) -> str:
    if cls == "Reshape":
        return _reshape(g, x, yv)
    if cls == "Permute":
        return g.op("Transpose", [x], perm=[0, *(int(d) for d in cfg["dims"])])
    if cls == "RepeatVector":
        y = g.op("Unsqueeze", [x, g.ints([1])])
        return g.op("Tile", [y, g.ints([1, int(cfg["n"]), 1])])
    nd = int(cls[-2])
    if cls.startswith("Cropping"):
        crop = cfg["cropping"]
        pairs = [crop] if nd == 1 else crop
        pairs = [(int(p), int(p)) if isinstance(p, (int, np.integer)) else (int(p[0]),
                                                                           int(p[1]))
                 for p in pairs]
        starts = [a for a, _ in pairs]
        ends = [-b if b else _INT64_MAX for _, b in pairs]
        return g.op("Slice", [x, g.ints(starts), g.ints(ends), g.ints(range(1, nd + 1))])
    if cls.startswith("ZeroPadding"):
        pad = cfg["padding"]
        pairs = [pad] if nd == 1 else pad
        pairs = [(int(p), int(p)) if isinstance(p, (int, np.integer)) else (int(p[0]),
                                                                           int(p[1]))
                 for p in pairs]
        begins = [0, *(a for a, _ in pairs), 0]
        ends = [0, *(b for _, b in pairs), 0]
        return g.op("Pad", [x, g.ints(begins + ends)], mode="constant")
    size = _tuple(cfg["size"], nd)
    linear = cfg.get("interpolation", "nearest") == "bilinear"
    return _resize(g, x, [1, *size, 1], linear)
