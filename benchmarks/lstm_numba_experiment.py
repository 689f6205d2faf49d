"""Experiment, not product code: an LSTM cell compiled with numba, for the next attempt at
lstm-seq's 2-thread target (docs/recurrent.md, "Speed").

The batch rows are split into one chunk per thread for the whole sequence (rows never
interact), each thread running its own per-step GEMM and a fused gate loop; ``exp`` is a
Cephes-style polynomial with the power of two built from exponent bits (an LLVM bitcast),
so LLVM can vectorise it — numba's own ``math.exp`` is a scalar libm call, 3× slower than
NumPy's SIMD ``exp``. The script checks the kernels against glassnet's NumPy LSTM kernel
(float32, same weights) and times LSTM forward+backward for numba, glassnet's NumPy path
and PyTorch. Needs numba (and torch for the comparison). Run:

    NUMBA_THREADING_LAYER=workqueue python -m benchmarks.lstm_numba_experiment --threads 1
    NUMBA_THREADING_LAYER=workqueue python -m benchmarks.lstm_numba_experiment --threads 2
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

B, T, D, H = 64, 50, 32, 128


def _kernels():
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

    @njit(fastmath=True, inline="always")
    def vexp(x):
        x = min(max(x, f32(-87.0)), f32(88.0))
        k = np.floor(x * f32(1.44269504) + f32(0.5))
        r = x - k * f32(0.693359375) + k * f32(2.12194440e-4)
        p = f32(1.9875691500e-4)
        p = p * r + f32(1.3981999507e-3)
        p = p * r + f32(8.3334519073e-3)
        p = p * r + f32(4.1665795894e-2)
        p = p * r + f32(1.6666665459e-1)
        p = p * r + f32(5.0000001201e-1)
        p = p * (r * r) + r + f32(1.0)
        return p * i32_as_f32((np.int32(k) + np.int32(127)) << np.int32(23))

    @njit(parallel=True, fastmath=True)
    def forward(xw, u, h0, c0, nchunks, g, hs, cs, tc):
        steps, bsz, four_n = xw.shape
        n = four_n // 4
        one, two = f32(1.0), f32(2.0)
        for k in prange(nchunks):
            r0, r1 = k * bsz // nchunks, (k + 1) * bsz // nchunks
            hs[0, r0:r1] = h0[r0:r1]
            cs[0, r0:r1] = c0[r0:r1]
            for t in range(steps):
                z = np.dot(hs[t, r0:r1], u)
                for r in range(r1 - r0):
                    row = r0 + r
                    zr, xr, gr = z[r], xw[t, row], g[t, row]
                    cp, cn, tr, hr = cs[t, row], cs[t + 1, row], tc[t, row], hs[t + 1, row]
                    for j in range(n):
                        i = one / (one + vexp(-(zr[j] + xr[j])))
                        f = one / (one + vexp(-(zr[n + j] + xr[n + j])))
                        cc = two / (one + vexp(-two * (zr[2 * n + j] + xr[2 * n + j]))) - one
                        o = one / (one + vexp(-(zr[3 * n + j] + xr[3 * n + j])))
                        c = f * cp[j] + i * cc
                        th = two / (one + vexp(-two * c)) - one
                        gr[j], gr[n + j], gr[2 * n + j], gr[3 * n + j] = i, f, cc, o
                        cn[j], tr[j], hr[j] = c, th, o * th

    @njit(parallel=True, fastmath=True)
    def backward(g, cs, tc, ut, dh_last, dc_last, nchunks, dz):
        steps, bsz, four_n = g.shape
        n = four_n // 4
        one = f32(1.0)
        for k in prange(nchunks):
            r0, r1 = k * bsz // nchunks, (k + 1) * bsz // nchunks
            dh = dh_last[r0:r1].copy()
            dc = dc_last[r0:r1].copy()
            for t in range(steps - 1, -1, -1):
                for r in range(r1 - r0):
                    row = r0 + r
                    gr, cp, tr, dr = g[t, row], cs[t, row], tc[t, row], dz[t, row]
                    dhr, dcr = dh[r], dc[r]
                    for j in range(n):
                        i, f, cc, o = gr[j], gr[n + j], gr[2 * n + j], gr[3 * n + j]
                        th = tr[j]
                        dct = dhr[j] * o * (one - th * th) + dcr[j]
                        dr[j] = dct * cc * (i * (one - i))
                        dr[n + j] = dct * cp[j] * (f * (one - f))
                        dr[2 * n + j] = dct * i * (one - cc * cc)
                        dr[3 * n + j] = dhr[j] * th * (o * (one - o))
                        dcr[j] = dct * f
                dh = np.dot(dz[t, r0:r1], ut)

    return forward, backward


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv)
    try:
        import numba
    except ImportError:
        raise SystemExit("this experiment needs numba: pip install numba") from None
    numba.set_num_threads(a.threads)
    from glassnet.layers._recurrent_kernels import LSTMSeq

    forward, backward = _kernels()
    r = np.random.default_rng(0)
    x = r.standard_normal((B, T, D), dtype=np.float32)
    w = (0.1 * r.standard_normal((D, 4 * H))).astype(np.float32)
    u = (0.1 * r.standard_normal((H, 4 * H))).astype(np.float32)
    b = (0.1 * r.standard_normal(4 * H)).astype(np.float32)
    h0 = np.zeros((B, H), np.float32)
    c0 = np.zeros((B, H), np.float32)
    gh = r.standard_normal((B, H), dtype=np.float32)  # dLoss/dh_T
    chunks = a.threads

    def numba_step():
        xt = np.ascontiguousarray(x.transpose(1, 0, 2))
        xw = (xt.reshape(T * B, D) @ w).reshape(T, B, 4 * H)
        xw += b
        g = np.empty_like(xw)
        hs = np.empty((T + 1, B, H), np.float32)
        cs = np.empty_like(hs)
        tc = np.empty((T, B, H), np.float32)
        forward(xw, u, h0, c0, chunks, g, hs, cs, tc)
        dz = np.empty_like(g)
        backward(g, cs, tc, np.ascontiguousarray(u.T), gh, np.zeros_like(gh), chunks, dz)
        flat = dz.reshape(T * B, 4 * H)
        return hs[T], hs[:-1].reshape(-1, H).T @ flat, xt.reshape(T * B, D).T @ flat

    def numpy_step():
        f = LSTMSeq(sequences=False)
        f.needs_input_grad = (False, False, False, True, True, True)
        out = f.forward(x, h0, c0, w, u, b)
        f.inputs = [None, None, None, type("W", (), {"data": w})()]
        gy = np.zeros_like(out)
        gy[:, 0] = gh
        _, _, _, gw, gu, _ = f.backward(gy)
        return out[:, 0], gu, gw

    a_h, a_gu, a_gw = numba_step()
    b_h, b_gu, b_gw = numpy_step()
    for name, p_, q in (("h_T", a_h, b_h), ("dU", a_gu, b_gu), ("dW", a_gw, b_gw)):
        err = float(np.abs(p_ - q).max() / np.abs(q).max())
        print(f"numba vs NumPy kernel, {name}: max error / max |value| = {err:.1e}")
    steps = {"numba": numba_step, "numpy": numpy_step}
    try:
        import torch

        torch.set_num_threads(a.threads)
        lstm = torch.nn.LSTM(D, H, batch_first=True)
        xt_ = torch.from_numpy(x)

        def torch_step():
            _, (h, _) = lstm(xt_)
            h.sum().backward()

        steps["torch"] = torch_step
    except ImportError:
        pass
    best = {}
    for _ in range(5):  # frameworks in turns, best of five 5-call windows each
        for name, step in steps.items():
            t0 = time.perf_counter()
            for _ in range(5):
                step()
            ms = (time.perf_counter() - t0) / 5 * 1e3
            best[name] = min(best.get(name, ms), ms)
    print(f"threads={a.threads} (OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')})"
          " LSTM forward+backward, ms:", {k: round(v, 2) for k, v in best.items()})


if __name__ == "__main__":
    main()
