"""numba kernels of the LSTM (imported only when the numba path runs; see _lstm_numba).

Module-level functions, not closures, so that numba's on-disk cache (``cache=True``) finds
them again in the next process instead of compiling for ~15 s.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit, prange
from numba.core import types
from numba.extending import intrinsic


@intrinsic
def i32_as_f32(typingctx: Any, x: Any) -> Any:
    sig = types.float32(types.int32)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.bitcast(args[0], context.get_value_type(types.float32))

    return sig, codegen


f32 = np.float32
one, two = f32(1.0), f32(2.0)
# LLVM may fuse multiply-adds and approximate reciprocals, but not assume away NaN/Inf:
# a diverging model must still show NaN, as on the NumPy path
fast = {"contract", "afn", "arcp"}


@njit(fastmath=fast, inline="always", cache=True)
def vexp(x: np.float32) -> np.float32:
    # Cephes' expf: a polynomial on [-ln2/2, ln2/2] times 2^k built from exponent bits,
    # so LLVM vectorises it (numba's math.exp is a scalar libm call, 3× slower than
    # NumPy's SIMD exp); 1 ulp. The clamp keeps 2^k a normal float: σ(-88) ≈ 6e-39.
    x = f32(88.0) if x > f32(88.0) else x  # written so that NaN passes through
    x = f32(-87.0) if x < f32(-87.0) else x
    k = np.floor(x * f32(1.44269504) + f32(0.5))  # NaN stays NaN through r and p
    r = x - k * f32(0.693359375) + k * f32(2.12194440e-4)
    p = f32(1.9875691500e-4)
    p = p * r + f32(1.3981999507e-3)
    p = p * r + f32(8.3334519073e-3)
    p = p * r + f32(4.1665795894e-2)
    p = p * r + f32(1.6666665459e-1)
    p = p * r + f32(5.0000001201e-1)
    p = p * (r * r) + r + one
    return p * i32_as_f32((np.int32(k) + np.int32(127)) << np.int32(23))  # type: ignore[call-arg]  # intrinsic: numba passes typingctx


@njit(parallel=True, fastmath=fast, cache=True)
def forward(x: np.ndarray, wu: np.ndarray, b: np.ndarray, h0: np.ndarray, c0: np.ndarray,
            mask: np.ndarray, rmask: np.ndarray, nblocks: int, hx: np.ndarray, g: np.ndarray,
            cp: np.ndarray, tc: np.ndarray, hout: np.ndarray, c_last: np.ndarray) -> None:
    """x (B,T,D), wu (n+D, 4n) = [U; W], b (4n,), h0/c0 (B,n); mask (B,T) bool (False:
    the row keeps its state through the step) and rmask (B,n) recurrent-dropout factors,
    each empty, (B,0), when absent. Saved, block layout (B·T rows): hx [h_{t-1} | x_t]
    (h after recurrent dropout), g gate activations i,f,c,o, cp c_{t-1}, tc tanh(c_t).
    Returned: hout (B,T,n) every h_t, c_last (B,n)."""
    bsz, steps, d = x.shape
    n = h0.shape[1]
    u, w = wu[:n], wu[n:]
    masked, dropped = mask.shape[1] > 0, rmask.shape[1] > 0
    for k in prange(nblocks):
        r0, r1 = k * bsz // nblocks, (k + 1) * bsz // nblocks
        nr, base = r1 - r0, r0 * steps
        # the block's input projection for all steps in one GEMM (thin per-step ones
        # run OpenBLAS at a fraction of its speed), straight into the gate buffer: the
        # block's inputs first reordered to its (step, row) order
        xt = np.empty((nr * steps, d), np.float32)
        for t in range(steps):
            for r in range(nr):
                xt[t * nr + r] = x[r0 + r, t]
        np.dot(xt, w, g[base : base + nr * steps])
        h = h0[r0:r1].copy()
        c = c0[r0:r1].copy()
        z = np.empty((nr, 4 * n), np.float32)
        hp = np.empty((nr, n), np.float32) if dropped else h  # h as the GEMM sees it
        for t in range(steps):
            p = base + t * nr
            for r in range(nr):
                if dropped:
                    hp[r] = h[r] * rmask[r0 + r]
                hx[p + r, :n] = hp[r]
                hx[p + r, n:] = xt[t * nr + r]
                cp[p + r] = c[r]
            np.dot(hp, u, z)
            for r in range(nr):
                zr, gr, tr = z[r], g[p + r], tc[p + r]  # gr: x·W now, the gates after
                hr, cr, ho = h[r], c[r], hout[r0 + r, t]
                if masked and not mask[r0 + r, t]:  # h and c carried through the step
                    # explicit loops: a slice assignment here (gr[:] = 0) was silently
                    # dropped by numba's parfor pass (numba 0.68)
                    for j in range(4 * n):
                        gr[j] = 0.0
                    for j in range(n):
                        tr[j] = 0.0
                        ho[j] = hr[j]
                    continue
                for j in range(n):
                    i = one / (one + vexp(-(zr[j] + gr[j] + b[j])))
                    f = one / (one + vexp(-(zr[n + j] + gr[n + j] + b[n + j])))
                    cc = two / (one + vexp(-two * (zr[2 * n + j] + gr[2 * n + j]
                                                   + b[2 * n + j]))) - one
                    o = one / (one + vexp(-(zr[3 * n + j] + gr[3 * n + j] + b[3 * n + j])))
                    cn = f * cr[j] + i * cc
                    th = two / (one + vexp(-two * cn)) - one
                    gr[j], gr[n + j], gr[2 * n + j], gr[3 * n + j] = i, f, cc, o
                    cr[j], tr[j] = cn, th
                    ho[j] = hr[j] = o * th
        c_last[r0:r1] = c


@njit(parallel=True, fastmath=fast, cache=True)
def backward(g: np.ndarray, cp: np.ndarray, tc: np.ndarray, hx: np.ndarray, wb: np.ndarray,
             gh: np.ndarray, dh_last: np.ndarray, dc_last: np.ndarray, mask: np.ndarray,
             rmask: np.ndarray, nblocks: int, dz: np.ndarray, dx: np.ndarray,
             dh0: np.ndarray, dc0: np.ndarray, dwu: np.ndarray, db: np.ndarray) -> None:
    """Gradients back through time. ``wb`` is [U; W] (dx wanted) or U alone; ``gh``
    (B,T,n) the per-step h gradients or an empty (B,0,n) array; dh_last/dc_last (B,n)
    those of the final h and c; mask, rmask as in ``forward``. Writes dz (B·T, 4n, block
    layout), dx (B,T,D), dh0/dc0 (B,n), and each block's share of the [U; W] and bias
    gradients into dwu[k], db[k]."""
    bsz, steps = gh.shape[0], g.shape[0] // gh.shape[0]
    n = g.shape[1] // 4
    m = wb.shape[0]
    seq = gh.shape[1] > 0
    masked, dropped = mask.shape[1] > 0, rmask.shape[1] > 0
    for k in prange(nblocks):
        r0, r1 = k * bsz // nblocks, (k + 1) * bsz // nblocks
        nr, base = r1 - r0, r0 * steps
        dh = dh_last[r0:r1].copy()
        dc = dc_last[r0:r1].copy()
        dhx = np.empty((nr, m), np.float32)
        for t in range(steps - 1, -1, -1):
            p = base + t * nr
            for r in range(nr):
                gr, cr, tr, dr = g[p + r], cp[p + r], tc[p + r], dz[p + r]
                dhr, dcr = dh[r], dc[r]
                if seq:
                    dhr += gh[r0 + r, t]
                if masked and not mask[r0 + r, t]:  # dh and dc pass the step unchanged
                    for j in range(4 * n):
                        dr[j] = 0.0
                    continue
                for j in range(n):
                    i, f, cc, o = gr[j], gr[n + j], gr[2 * n + j], gr[3 * n + j]
                    th = tr[j]
                    dct = dhr[j] * o * (one - th * th) + dcr[j]
                    dr[j] = dct * cc * (i * (one - i))
                    dr[n + j] = dct * cr[j] * (f * (one - f))
                    dr[2 * n + j] = dct * i * (one - cc * cc)
                    dr[3 * n + j] = dhr[j] * th * (o * (one - o))
                    dcr[j] = dct * f
            np.dot(dz[p : p + nr], wb.T, dhx)
            for r in range(nr):
                if m > n:
                    dx[r0 + r, t] = dhx[r, n:]
                if masked and not mask[r0 + r, t]:
                    continue
                if dropped:
                    dh[r] = dhx[r, :n] * rmask[r0 + r]
                else:
                    dh[r] = dhx[r, :n]
        dh0[r0:r1] = dh
        dc0[r0:r1] = dc
        blk = dz[base : base + nr * steps]
        np.dot(hx[base : base + nr * steps].T, blk, dwu[k])
        db[k] = 0.0
        for q in range(nr * steps):
            db[k] += blk[q]
