"""The LSTM's whole-sequence kernel compiled with numba: both cores of a CPU on one LSTM.

An optional second CPU path (the ``numba`` extra) behind :class:`LSTMSeq`, whose NumPy
kernel stays the reference: same inputs, same outputs, same gradients to float32 rounding,
tested against each other. NumPy runs one ufunc per gate operation on one core; here the
batch is split into one block of rows per thread for the whole sequence (rows never
interact) and each thread runs, per time step, one GEMM ``[h_{t-1} | x_t] · [U; W]`` and
one fused loop over its rows' gates. The backward mirrors it (``dz_t · [U; W]ᵀ`` gives the
gradients of ``h_{t-1}`` and ``x_t`` at once) and ends with each block's share of the
weight gradient as one GEMM, summed over the blocks afterwards.

Used for float32 on the CPU with the default activations (tanh, sigmoid) and no masks or
recurrent dropout, when numba (with SciPy, whose BLAS numba calls) is installed; set
``GLASSNET_NUMBA=0`` to keep the NumPy kernel. Threads: numba's (``NUMBA_NUM_THREADS``,
``numba.set_num_threads``). The BLAS inside the kernel is pinned to one thread for the
call (each block already has its core) and restored after, through threadpoolctl.

Layout of the saved arrays: ``(B·T, ·)`` rows in block order — block k's rows for step 0,
then step 1, … — so a block's step is one contiguous ``(rows, ·)`` GEMM operand and the
whole block one contiguous slab for its weight-gradient GEMM. Inputs and outputs stay
batch-major ``(B, T, ·)``.
"""

from __future__ import annotations

import importlib.util
import os

import numpy as np

_STATE: dict = {}


def available() -> bool:
    """Whether the numba path can run here (numba, SciPy, threadpoolctl importable; not
    switched off with ``GLASSNET_NUMBA=0``)."""
    if "ok" not in _STATE:
        off = os.environ.get("GLASSNET_NUMBA", "1").strip().lower() in ("0", "false", "no")
        _STATE["ok"] = not off and all(
            importlib.util.find_spec(m) is not None for m in ("numba", "scipy", "threadpoolctl"))
    return _STATE["ok"]


def _compile():
    from numba import njit, prange
    from numba.core import types
    from numba.extending import intrinsic

    @intrinsic
    def i32_as_f32(typingctx, x):
        sig = types.float32(types.int32)

        def codegen(context, builder, signature, args):
            return builder.bitcast(args[0], context.get_value_type(types.float32))

        return sig, codegen

    f32 = np.float32
    one, two = f32(1.0), f32(2.0)
    # LLVM may fuse multiply-adds and approximate reciprocals, but not assume away NaN/Inf:
    # a diverging model must still show NaN, as on the NumPy path
    fast = {"contract", "afn", "arcp"}

    @njit(fastmath=fast, inline="always", cache=True)
    def vexp(x):
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
        return p * i32_as_f32((np.int32(k) + np.int32(127)) << np.int32(23))

    @njit(parallel=True, fastmath=fast, cache=True)
    def forward(x, wu, b, h0, c0, nblocks, hx, g, cp, tc, hout, c_last):
        """x (B,T,D), wu (n+D, 4n) = [U; W], b (4n,), h0/c0 (B,n). Saved, block layout
        (B·T rows): hx [h_{t-1} | x_t], g gate activations i,f,c,o, cp c_{t-1}, tc tanh(c_t).
        Returned: hout (B,T,n) every h_t, c_last (B,n)."""
        bsz, steps, d = x.shape
        n = h0.shape[1]
        u, w = wu[:n], wu[n:]
        for k in prange(nblocks):
            r0, r1 = k * bsz // nblocks, (k + 1) * bsz // nblocks
            nr, base = r1 - r0, r0 * steps
            # the block's input projection for all steps in one GEMM (thin per-step ones
            # run OpenBLAS at a fraction of its speed); rows in (row, step) order
            xw = np.empty((nr * steps, 4 * n), np.float32)
            np.dot(x[r0:r1].reshape(nr * steps, d), w, xw)
            h = h0[r0:r1].copy()
            c = c0[r0:r1].copy()
            z = np.empty((nr, 4 * n), np.float32)
            for t in range(steps):
                p = base + t * nr
                for r in range(nr):
                    hx[p + r, :n] = h[r]
                    hx[p + r, n:] = x[r0 + r, t]
                    cp[p + r] = c[r]
                np.dot(h, u, z)
                for r in range(nr):
                    zr, xr, gr, tr = z[r], xw[r * steps + t], g[p + r], tc[p + r]
                    hr, cr, ho = h[r], c[r], hout[r0 + r, t]
                    for j in range(n):
                        i = one / (one + vexp(-(zr[j] + xr[j] + b[j])))
                        f = one / (one + vexp(-(zr[n + j] + xr[n + j] + b[n + j])))
                        cc = two / (one + vexp(-two * (zr[2 * n + j] + xr[2 * n + j]
                                                       + b[2 * n + j]))) - one
                        o = one / (one + vexp(-(zr[3 * n + j] + xr[3 * n + j] + b[3 * n + j])))
                        cn = f * cr[j] + i * cc
                        th = two / (one + vexp(-two * cn)) - one
                        gr[j], gr[n + j], gr[2 * n + j], gr[3 * n + j] = i, f, cc, o
                        cr[j], tr[j] = cn, th
                        ho[j] = hr[j] = o * th
            c_last[r0:r1] = c

    @njit(parallel=True, fastmath=fast, cache=True)
    def backward(g, cp, tc, hx, wb, gh, dh_last, dc_last, nblocks, dz, dx, dh0, dc0,
                 dwu, db):
        """Gradients back through time. ``wb`` is [U; W] (dx wanted) or U alone; ``gh``
        (B,T,n) the per-step h gradients or an empty (B,0,n) array; dh_last/dc_last (B,n)
        those of the final h and c. Writes dz (B·T, 4n, block layout), dx (B,T,D),
        dh0/dc0 (B,n), and each block's share of the [U; W] and bias gradients into
        dwu[k], db[k]."""
        bsz, steps = gh.shape[0], g.shape[0] // gh.shape[0]
        n = g.shape[1] // 4
        m = wb.shape[0]
        seq = gh.shape[1] > 0
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
                    dh[r] = dhx[r, :n]
                    if m > n:
                        dx[r0 + r, t] = dhx[r, n:]
            dh0[r0:r1] = dh
            dc0[r0:r1] = dc
            blk = dz[base : base + nr * steps]
            np.dot(hx[base : base + nr * steps].T, blk, dwu[k])
            db[k] = 0.0
            for q in range(nr * steps):
                db[k] += blk[q]

    import scipy.linalg.cython_blas  # noqa: F401  (numba's BLAS: loaded before the scan)
    from threadpoolctl import ThreadpoolController

    _STATE["kernels"] = forward, backward
    _STATE["blas"] = ThreadpoolController().select(user_api="blas")


def _kernels():
    if "kernels" not in _STATE:
        _compile()
    return _STATE["kernels"]


def threads() -> int:
    """Threads the kernel uses: numba's count, capped by ``OMP_NUM_THREADS`` when that is
    set and ``NUMBA_NUM_THREADS`` is not (numba ignores it; users set it to mean "this many
    cores for the maths", and the NumPy path's BLAS obeys it)."""
    import numba

    n = numba.get_num_threads()
    omp = os.environ.get("OMP_NUM_THREADS", "")
    if "NUMBA_NUM_THREADS" not in os.environ and omp.strip().isdigit() and int(omp) > 0:
        n = min(n, int(omp))
    return n


def _blocks(bsz: int) -> int:
    # ≥ 8 rows per block: below that a thread's GEMM is too thin to pay for the hand-off
    return max(1, min(threads(), bsz // 8))


class _OneBlasThread:
    """The kernels' GEMMs already run one per core; nested BLAS threads would oversubscribe."""

    def __enter__(self):
        self.limiter = _STATE["blas"].limit(limits=1)

    def __exit__(self, *exc):
        self.limiter.restore_original_limits()


def lstm_forward(x, w, u, b, h0, c0):
    """Run the recurrence; returns h_t for all t (B,T,n), the final cell state (B,n) and
    the state ``lstm_backward`` needs."""
    forward, _ = _kernels()
    bsz, steps, d = x.shape
    n = u.shape[0]
    f32 = np.float32
    wu = np.concatenate([u, w]).astype(f32, copy=False)
    hx = np.empty((bsz * steps, n + d), f32)
    g = np.empty((bsz * steps, 4 * n), f32)
    cp = np.empty((bsz * steps, n), f32)
    tc = np.empty((bsz * steps, n), f32)
    hout = np.empty((bsz, steps, n), f32)
    c_last = np.empty((bsz, n), f32)
    bias = np.zeros(4 * n, f32) if b is None else np.ascontiguousarray(b, dtype=f32)
    blocks = _blocks(bsz)
    with _OneBlasThread():
        forward(np.ascontiguousarray(x), wu, bias, np.ascontiguousarray(h0, dtype=f32),
                np.ascontiguousarray(c0, dtype=f32), blocks, hx, g, cp, tc, hout, c_last)
    return hout, c_last, (hx, g, cp, tc, wu, blocks)


def lstm_backward(saved, gh, dh_last, dc_last, need_dx: bool):
    """Gradients of x (or None), h0, c0, W, U, b from those of every h_t (``gh`` (B,T,n) or
    None) and of the final h and c."""
    _, backward = _kernels()
    hx, g, cp, tc, wu, blocks = saved
    bsz, n = dh_last.shape
    steps, m = hx.shape[0] // bsz, hx.shape[1]
    f32 = np.float32
    wb = wu if need_dx else wu[:n]
    gh = np.empty((bsz, 0, n), f32) if gh is None else np.ascontiguousarray(gh, dtype=f32)
    dz = np.empty_like(g)
    dx = np.empty((bsz, steps, m - n) if need_dx else (bsz, 0, 0), f32)
    dh0 = np.empty((bsz, n), f32)
    dc0 = np.empty((bsz, n), f32)
    dwu = np.empty((blocks, m, 4 * n), f32)
    db = np.empty((blocks, 4 * n), f32)
    with _OneBlasThread():
        backward(g, cp, tc, hx, wb, gh, np.ascontiguousarray(dh_last, dtype=f32),
                 np.ascontiguousarray(dc_last, dtype=f32), blocks, dz, dx, dh0, dc0, dwu, db)
    gwu = dwu.sum(axis=0) if blocks > 1 else dwu[0]
    return (dx if need_dx else None), dh0, dc0, gwu[n:], gwu[:n], db.sum(axis=0)
