"""Fused backprop-through-time kernels of the recurrent layers (one ``Function`` per call).

Each kernel's forward projects the inputs of all steps with one GEMM, loops over time with
one GEMM per step for all gates, and saves the gate activations; its backward walks back
over time and finishes with one GEMM each for the kernel, recurrent kernel and input
gradients. The layers in :mod:`glassnet.layers.recurrent` build and call them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import activations, backend
from ..autograd import Function
from . import _gru_numba, _lstm_numba

__all__: list[str] = []


# ------------------------------------------------------------------ activations (in place)
def _sigmoid_(a: Any, xp: Any) -> Any:
    # 0.5·tanh(0.5·a)+0.5: never overflows, unlike 1/(1+exp(-a))
    a *= 0.5
    xp.tanh(a, out=a)
    a *= 0.5
    a += 0.5
    return a


def _tanh_(a: Any, xp: Any) -> Any:
    return xp.tanh(a, out=a)


def _relu_(a: Any, xp: Any) -> Any:
    return xp.maximum(a, 0, out=a)


def _linear_(a: Any, xp: Any) -> Any:
    return a


def _hard_sigmoid_(a: Any, xp: Any) -> Any:
    a *= activations.HARD_SIGMOID_SLOPE
    a += 0.5
    return xp.clip(a, 0.0, 1.0, out=a)


# derivative expressed through the activation's OUTPUT y (what the forward saves)
_FUSED: dict[str, tuple[Callable[[Any, Any], Any], Callable[[Any], Any]]] = {
    "sigmoid": (_sigmoid_, lambda y: y * (1.0 - y)),
    "tanh": (_tanh_, lambda y: 1.0 - y * y),
    "relu": (_relu_, lambda y: (y > 0).astype(y.dtype)),
    "linear": (_linear_, lambda y: np.ones_like(y)),
    "hard_sigmoid": (_hard_sigmoid_, lambda y: ((y > 0) & (y < 1)).astype(y.dtype)
                     * activations.HARD_SIGMOID_SLOPE),
}


def _fused_name(layer: str, arg: str, ident: Any) -> str:
    name = activations.serialize(activations.get(ident))
    if not isinstance(name, str) or name.lower() not in _FUSED:
        raise ValueError(
            f"Layer '{layer}': {arg} must be one of {sorted(_FUSED)} (the fused recurrent "
            f"kernel knows their derivatives). Received: {arg}={ident!r}"
        )
    return name.lower()


# ------------------------------------------------------------------ one CUDA kernel per LSTM step
_LSTM_FWD = """
    const int b = i / n, j = i - b * n, k = b * 4 * n + j;
    const T ig = 1 / (1 + exp(-(g[k] + rec[k])));
    const T fg = 1 / (1 + exp(-(g[k + n] + rec[k + n])));
    const T cg = tanh(g[k + 2 * n] + rec[k + 2 * n]);
    const T og = 1 / (1 + exp(-(g[k + 3 * n] + rec[k + 3 * n])));
    g[k] = ig; g[k + n] = fg; g[k + 2 * n] = cg; g[k + 3 * n] = og;
    const T cn = fg * cprev[i] + ig * cg;
    const T t = tanh(cn);
    c[i] = cn; tc[i] = t; h[i] = og * t;
"""
_LSTM_BWD = """
    const int b = i / n, j = i - b * n, k = b * 4 * n + j;
    const T ig = g[k], fg = g[k + n], cg = g[k + 2 * n], og = g[k + 3 * n], t = tc[i];
    const T dhv = dh[i];
    const T dct = dhv * og * (1 - t * t) + dc[i];
    d[k] = dct * cg * ig * (1 - ig);
    d[k + n] = dct * cprev[i] * fg * (1 - fg);
    d[k + 2 * n] = dct * ig * (1 - cg * cg);
    d[k + 3 * n] = dhv * t * og * (1 - og);
    dc[i] = dct * fg;
"""
_CUDA_KERNELS: dict[str, Any] = {}


def _cuda_kernel(name: str) -> Any:
    """The LSTM step as one CuPy ``ElementwiseKernel`` (compiled once, on first GPU use).

    The math is the NumPy path's, written per (row, unit): on a GPU a step is bounded by
    kernel launches, and this replaces the ~10 forward / ~18 backward elementwise launches.
    """
    if name not in _CUDA_KERNELS:
        cp = backend.cupy_module()
        if name == "lstm_fwd":
            _CUDA_KERNELS[name] = cp.ElementwiseKernel(
                "raw T rec, raw T cprev, int32 n", "raw T g, raw T c, raw T tc, raw T h",
                _LSTM_FWD, "glassnet_lstm_fwd")
        else:
            _CUDA_KERNELS[name] = cp.ElementwiseKernel(
                "raw T g, raw T cprev, raw T tc, raw T dh, int32 n", "raw T d, raw T dc",
                _LSTM_BWD, "glassnet_lstm_bwd")
    return _CUDA_KERNELS[name]


# ------------------------------------------------------------------ fused kernels
class _SeqBase(Function):
    """Shared set-up: inputs in time-major order, masks, recurrent dropout."""

    w_index: int  # the position of the input kernel W among forward's inputs

    def __init__(self, act: str = "tanh", ract: str = "sigmoid", mask: Any = None,
                 rmask: Any = None) -> None:
        self.act, self.dact = _FUSED[act]
        self.ract, self.dract = _FUSED[ract]
        self.mask = mask  # (B, T) bool or None; masked steps keep the previous state
        self.rmask = rmask  # (B, units) recurrent-dropout mask (already scaled) or None

    def _project(self, x: Any, w: Any, b: Any) -> Any:
        xp = backend.get_array_module(x)
        bsz, steps, d = x.shape
        self.xt = xp.ascontiguousarray(x.transpose(1, 0, 2))  # (T, B, D)
        xw = backend.matmul(self.xt.reshape(steps * bsz, d), w).reshape(steps, bsz, w.shape[1])
        if b is not None:
            xw += b
        return xw

    def _m(self, t: int) -> Any:
        return None if self.mask is None else self.mask[:, t : t + 1]

    def _input_grads(self, dzx: Any, w: Any) -> tuple[Any, Any, Any]:
        """gx, gW, gb from the per-step pre-activation gradients of the input path."""
        steps, bsz, k = dzx.shape
        d = self.xt.shape[2]
        flat = dzx.reshape(steps * bsz, k)
        gx = gw = gb = None
        if self.needs_input_grad[0]:
            gx = backend.matmul(flat, w.T).reshape(steps, bsz, d).transpose(1, 0, 2)
        if self.needs_input_grad[self.w_index]:
            gw = backend.matmul(self.xt.reshape(steps * bsz, d).T, flat)
        gb = backend.sum_rows(flat)
        return gx, gw, gb


class SimpleRNNSeq(_SeqBase):
    """Elman recurrence over a whole sequence: ``h_t = act(x_t W + h_{t-1} U + b)``.

    Inputs: x (B, T, D), h0 (B, u), W (D, u), U (u, u), b (u,). Output: h_t for all t (B, T, u).
    """

    w_index = 2

    def forward(self, x: Any, h0: Any, w: Any, u: Any, b: Any) -> Any:
        self.w = w  # for backward (kept here: a replay has no input tensors)
        xp = backend.get_array_module(x)
        steps, bsz = x.shape[1], x.shape[0]
        a = self._project(x, w, b)  # becomes the activations in place
        hs = xp.empty((steps + 1, bsz, u.shape[0]), dtype=x.dtype)
        hs[0] = h0
        for t in range(steps):
            hp = hs[t] if self.rmask is None else hs[t] * self.rmask
            a[t] += backend.matmul(hp, u)
            self.act(a[t], xp)
            m = self._m(t)
            hs[t + 1] = a[t] if m is None else xp.where(m, a[t], hs[t])
        self.a, self.hs, self.u = a, hs, u
        return xp.ascontiguousarray(hs[1:].transpose(1, 0, 2))

    def backward(self, gy: Any) -> tuple[Any, ...]:
        xp = backend.get_array_module(gy)
        gyt = gy.transpose(1, 0, 2)
        steps = gyt.shape[0]
        dz = xp.empty_like(self.a)
        dh = xp.zeros_like(self.hs[0])
        for t in range(steps - 1, -1, -1):
            dh += gyt[t]
            m = self._m(t)
            dnew = dh if m is None else dh * m
            dz[t] = dnew * self.dact(self.a[t])
            dprev = backend.matmul(dz[t], self.u.T)
            if self.rmask is not None:
                dprev *= self.rmask
            dh = dprev if m is None else dprev + dh * ~m
        w = self.w
        gx, gw, gb = self._input_grads(dz, w)
        hp = self.hs[:-1] if self.rmask is None else self.hs[:-1] * self.rmask
        gu = backend.matmul(hp.reshape(-1, hp.shape[2]).T, dz.reshape(-1, dz.shape[2]))
        return gx, dh, gw, gu, gb


class LSTMSeq(_SeqBase):
    """LSTM over a whole sequence (gates i, f, c, o as Keras).

    Inputs: x (B, T, D), h0, c0 (B, u), W (D, 4u), U (u, 4u), b (4u,).
    Output (B, T+1, u): h_t for t < T, and the final cell state at index T; with
    ``sequences=False`` only (B, 2, u): the final h and c (no copy of every step's h, and a
    backward without per-step output gradients).
    """

    w_index = 3

    def __init__(self, act: str = "tanh", ract: str = "sigmoid", mask: Any = None,
                 rmask: Any = None, sequences: bool = True) -> None:
        super().__init__(act, ract, mask, rmask)
        self.sequences = sequences

    def _gates_(self, gt: Any, n: int, xp: Any) -> None:
        if self.fast:
            # σ(x) = 1/(1+e^-x) and tanh(x) = 2σ(2x)-1: one exp over all four gates, whose
            # pre-activations arrive already multiplied by -1 (-2 for c) through the scaled
            # weights (NumPy's float32 exp is faster than its tanh)
            xp.exp(gt, out=gt)
            gt += 1.0
            xp.reciprocal(gt, out=gt)
            cg = gt[:, 2 * n : 3 * n]
            cg *= 2.0
            cg -= 1.0
        else:
            self.ract(gt[:, : 2 * n], xp)
            self.act(gt[:, 2 * n : 3 * n], xp)
            self.ract(gt[:, 3 * n :], xp)

    def _cell_tanh(self, c: Any, out: Any, xp: Any) -> None:
        if self.fast:
            xp.tanh(c, out=out)
        else:
            out[...] = c
            self.act(out, xp)

    def forward(self, x: Any, h0: Any, c0: Any, w: Any, u: Any, b: Any) -> Any:
        self.w = w  # for backward (kept here: a replay has no input tensors)
        xp = backend.get_array_module(x)
        bsz, steps = x.shape[0], x.shape[1]
        n = u.shape[0]
        self.u = u
        default_acts = self.act is _tanh_ and self.ract is _sigmoid_
        # both CPU cores on one LSTM (optional numba extra; this NumPy kernel is its reference)
        self.numba = default_acts and xp is np and x.dtype == np.float32 and _lstm_numba.available()
        if self.numba:
            return self._forward_numba(x, h0, c0, w, u, b)
        self.cuda = default_acts and xp is not np  # one fused kernel per step on the GPU
        self.fast = default_acts and xp is np
        if self.fast:
            scale = xp.full(4 * n, -1.0, dtype=x.dtype)
            scale[2 * n : 3 * n] = -2.0
            w, u, b = w * scale, u * scale, b * scale
        g = self._project(x, w, b)  # (T, B, 4u) -> gate activations in place
        hs = xp.empty((steps + 1, bsz, n), dtype=x.dtype)
        cs = xp.empty((steps + 1, bsz, n), dtype=x.dtype)
        tc = xp.empty((steps, bsz, n), dtype=x.dtype)
        hs[0], cs[0] = h0, c0
        buf = xp.empty((bsz, 4 * n), dtype=x.dtype)
        tmp = xp.empty((bsz, n), dtype=x.dtype)
        with np.errstate(over="ignore"):  # exp(-x) → inf gives the right limit σ = 0
            for t in range(steps):
                hp = hs[t] if self.rmask is None else hs[t] * self.rmask
                gt, c, h = g[t], cs[t + 1], hs[t + 1]
                xp.matmul(hp, u, out=buf)
                if self.cuda:
                    _cuda_kernel("lstm_fwd")(buf, cs[t], n, gt, c, tc[t], h, size=bsz * n)
                else:
                    gt += buf
                    self._gates_(gt, n, xp)
                    xp.multiply(gt[:, n : 2 * n], cs[t], out=c)
                    xp.multiply(gt[:, :n], gt[:, 2 * n : 3 * n], out=tmp)
                    c += tmp
                    self._cell_tanh(c, tc[t], xp)
                    xp.multiply(gt[:, 3 * n :], tc[t], out=h)
                m = self._m(t)
                if m is not None:
                    hs[t + 1] = xp.where(m, h, hs[t])
                    cs[t + 1] = xp.where(m, c, cs[t])
        self.g, self.hs, self.cs, self.tc = g, hs, cs, tc
        if not self.sequences:
            return xp.stack([hs[steps], cs[steps]], axis=1)
        out = xp.empty((bsz, steps + 1, n), dtype=x.dtype)
        out[:, :steps] = hs[1:].transpose(1, 0, 2)
        out[:, steps] = cs[steps]
        return out

    def _forward_numba(self, x: np.ndarray, h0: np.ndarray, c0: np.ndarray, w: np.ndarray,
                       u: np.ndarray, b: np.ndarray) -> np.ndarray:
        bsz, steps = x.shape[0], x.shape[1]
        n = u.shape[0]
        # with sequences the kernel writes every h_t and the final c into the output itself
        out = np.empty((bsz, steps + 1, n), np.float32) if self.sequences else None
        hout, c_last, self.saved = _lstm_numba.lstm_forward(x, w, u, b, h0, c0, self.mask,
                                                            self.rmask, out=out)
        if out is not None:
            return out
        return np.stack([hout[:, steps - 1], c_last], axis=1)

    def backward(self, gy: Any) -> tuple[Any, ...]:
        if self.numba:
            if self.sequences:  # gy (B, T+1, n) whole: the kernel reads its first T steps
                steps = gy.shape[1] - 1
                gh, dh, dc = gy, np.zeros_like(gy[:, 0]), gy[:, steps]
            else:
                gh, dh, dc = None, gy[:, 0], gy[:, 1]
            return _lstm_numba.lstm_backward(self.saved, gh, dh, dc, self.needs_input_grad[0])
        xp = backend.get_array_module(gy)
        n = self.u.shape[0]
        if self.sequences:
            steps = gy.shape[1] - 1
            gyt = gy[:, :steps].transpose(1, 0, 2)
            dh = xp.zeros_like(self.hs[0])
            dc = gy[:, steps].copy()
        else:  # only the final h and c reach the loss
            gyt = None
            dh = gy[:, 0].copy()
            dc = gy[:, 1].copy()
        dct = xp.empty_like(dh)
        ut = self.u.T
        dz = self._backward_loop(gyt, dh, dc, dct, ut, xp)
        w = self.w
        gx, gw, gb = self._input_grads(dz, w)
        hp = self.hs[:-1] if self.rmask is None else self.hs[:-1] * self.rmask
        gu = backend.matmul(hp.reshape(-1, n).T, dz.reshape(-1, 4 * n))
        return gx, dh, dc, gw, gu, gb

    def _backward_loop(self, gyt: Any, dh: Any, dc: Any, dct: Any, ut: Any, xp: Any) -> Any:
        """Walk back over time; dh and dc are updated in place (their final values are the
        gradients of h0 and c0). Returns the pre-activation gradients dz (T, B, 4u)."""
        steps = self.g.shape[0]
        n = self.u.shape[0]
        dz = xp.empty_like(self.g)
        dg = xp.empty_like(self.g[0])  # derivative of each gate's activation, one step
        tmp = xp.empty_like(dh)
        for t in range(steps - 1, -1, -1):
            if gyt is not None:
                dh += gyt[t]
            m = self._m(t)
            if m is not None:  # masked rows carry dh and dc past this step unchanged
                dh_keep, dc_keep = dh * ~m, dc * ~m
                dh *= m
                dc *= m
            d = dz[t]
            if self.cuda:
                _cuda_kernel("lstm_bwd")(self.g[t], self.cs[t], self.tc[t], dh, n, d, dc,
                                         size=dh.size)
            else:
                self._cell_back(t, dh, dc, dct, dg, tmp, d, xp)
            xp.matmul(d, ut, out=dh)
            if self.rmask is not None:
                dh *= self.rmask
            if m is not None:
                dh += dh_keep
                dc += dc_keep
        return dz

    def _cell_back(self, t: int, dh: Any, dc: Any, dct: Any, dg: Any, tmp: Any, d: Any,
                   xp: Any) -> None:
        """One step's gate gradients into ``d`` and the cell gradient carried back in ``dc``."""
        n = self.u.shape[0]
        gt = self.g[t]
        i, f, cc, o = gt[:, :n], gt[:, n : 2 * n], gt[:, 2 * n : 3 * n], gt[:, 3 * n :]
        if self.fast:  # σ' = σ(1-σ) for all four, then tanh' = 1-y² for the c block
            xp.subtract(1.0, gt, out=dg)
            dg *= gt
            xp.multiply(cc, cc, out=dg[:, 2 * n : 3 * n])
            xp.subtract(1.0, dg[:, 2 * n : 3 * n], out=dg[:, 2 * n : 3 * n])
        else:
            dg[:, : 2 * n] = self.dract(gt[:, : 2 * n])
            dg[:, 2 * n : 3 * n] = self.dact(cc)
            dg[:, 3 * n :] = self.dract(o)
        tct = self.tc[t]
        if self.fast:  # tanh'(c) = 1 - tanh², without temporaries
            xp.multiply(tct, tct, out=tmp)
            xp.subtract(1.0, tmp, out=tmp)
            xp.multiply(dh, o, out=dct)
            dct *= tmp
        else:
            xp.multiply(dh, o, out=dct)
            dct *= self.dact(tct)
        dct += dc
        xp.multiply(dh, tct, out=d[:, 3 * n :])
        xp.multiply(dct, cc, out=d[:, :n])
        xp.multiply(dct, self.cs[t], out=d[:, n : 2 * n])
        xp.multiply(dct, i, out=d[:, 2 * n : 3 * n])
        d *= dg
        xp.multiply(dct, f, out=dc)


class GRUSeq(_SeqBase):
    """GRU over a whole sequence, Keras's ``reset_after=True`` form (gates z, r, h).

    ``z = σ(x Wz + bz + h Uz + b'z)``, ``r`` likewise, ``ĥ = act(x Wh + bh + r ⊙ (h Uh + b'h))``,
    ``h_t = z ⊙ h_{t-1} + (1 - z) ⊙ ĥ``. Inputs: x, h0, W (D, 3u), U (u, 3u), b (2, 3u).
    """

    w_index = 2

    def forward(self, x: Any, h0: Any, w: Any, u: Any, b: Any) -> Any:
        self.w = w  # for backward (kept here: a replay has no input tensors)
        xp = backend.get_array_module(x)
        bsz, steps = x.shape[0], x.shape[1]
        n = u.shape[0]
        g = self._project(x, w, b[0])  # (T, B, 3u): input parts, then activations in place
        rh = xp.empty((steps, bsz, n), dtype=x.dtype)  # h U_h + b'_h, needed by backward
        hs = xp.empty((steps + 1, bsz, n), dtype=x.dtype)
        hs[0] = h0
        # the default activations without masks: each step's gate math as one compiled
        # loop (the numba extra; layers/_gru_numba.py), the GEMMs as here
        self.fast = fast = (self.act is _tanh_ and self.ract is _sigmoid_
                            and _gru_numba.applies(g)
                            and all(type(a) is np.ndarray and a.dtype == g.dtype
                                    for a in (hs, u, b)))
        rm = self.rmask
        # the mask as 1/0 per (step, row), contiguous per step, for the compiled loops
        self.mk = mk = (None if not fast or self.mask is None
                        else np.ascontiguousarray(self.mask.T, dtype=g.dtype))
        for t in range(steps):
            if fast:
                hp = hs[t] if rm is None else hs[t] * rm  # recurrent dropout: the GEMM's input
                _gru_numba.forward_step(g[t], backend.matmul(hp, u), b[1], hs[t], rh[t],
                                        hs[t + 1], None if mk is None else mk[t])
                continue
            hp = hs[t] if self.rmask is None else hs[t] * self.rmask
            rec = backend.matmul(hp, u)
            rec += b[1]
            gt = g[t]
            gt[:, : 2 * n] += rec[:, : 2 * n]
            self.ract(gt[:, : 2 * n], xp)
            rh[t] = rec[:, 2 * n :]
            gt[:, 2 * n :] += gt[:, n : 2 * n] * rh[t]
            self.act(gt[:, 2 * n :], xp)
            z, hh = gt[:, :n], gt[:, 2 * n :]
            h = hh + z * (hs[t] - hh)
            m = self._m(t)
            hs[t + 1] = h if m is None else xp.where(m, h, hs[t])
        self.g, self.rh, self.hs, self.u = g, rh, hs, u
        return xp.ascontiguousarray(hs[1:].transpose(1, 0, 2))

    def backward(self, gy: Any) -> tuple[Any, ...]:
        xp = backend.get_array_module(gy)
        gyt = gy.transpose(1, 0, 2)
        steps = gyt.shape[0]
        n = self.u.shape[0]
        dx = xp.empty_like(self.g)  # input-path pre-activation gradients
        dr = xp.empty_like(self.g)  # recurrent-path pre-activation gradients
        dh = xp.zeros_like(self.hs[0])
        ut = xp.ascontiguousarray(self.u.T)  # a C-ordered operand: (32, 384, 128) 33 -> 26 us
        dz = xp.empty_like(dh) if self.fast and gy.dtype == dh.dtype else None
        mk = self.mk if dz is not None else None
        keep = None if mk is None else xp.empty_like(dh)
        for t in range(steps - 1, -1, -1):
            if dz is not None:
                mt = None if mk is None else mk[t]
                _gru_numba.backward_step(dh, gyt[t], self.g[t], self.hs[t], self.rh[t], dx[t],
                                         dr[t], dz, mt, keep)
                dh = backend.matmul(dr[t], ut)
                if self.rmask is not None:
                    dh *= self.rmask
                dh += dz
                if mt is not None:
                    dh += keep
                continue
            dh += gyt[t]
            m = self._m(t)
            if m is not None:
                dh_keep = dh * ~m
                dh = dh * m
            gt = self.g[t]
            z, r, hh = gt[:, :n], gt[:, n : 2 * n], gt[:, 2 * n :]
            hp = self.hs[t]
            dah = dh * (1.0 - z) * self.dact(hh)
            dx[t, :, :n] = dh * (hp - hh) * self.dract(z)
            dx[t, :, n : 2 * n] = dah * self.rh[t] * self.dract(r)
            dx[t, :, 2 * n :] = dah
            dr[t, :, : 2 * n] = dx[t, :, : 2 * n]
            dr[t, :, 2 * n :] = dah * r
            dprev = backend.matmul(dr[t], ut)
            if self.rmask is not None:
                dprev *= self.rmask
            dprev += dh * z
            dh = dprev if m is None else dprev + dh_keep
        w = self.w
        gx, gw, gbx = self._input_grads(dx, w)
        hp = self.hs[:-1] if self.rmask is None else self.hs[:-1] * self.rmask
        gu = backend.matmul(hp.reshape(-1, n).T, dr.reshape(-1, 3 * n))
        gb = xp.stack([gbx, backend.sum_rows(dr.reshape(-1, 3 * n))])
        return gx, dh, gw, gu, gb
