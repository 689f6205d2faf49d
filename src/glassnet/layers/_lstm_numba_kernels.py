"""numba kernels of the LSTM (imported only when the numba path runs; see _lstm_numba).

Module-level functions, not closures, so that numba's on-disk cache (``cache=True``) finds
them again in the next process instead of compiling for ~15 s.

Three things keep them fast, each measured (2-vCPU Xeon, u128 b32 T100, one thread):

- the element-wise loops vectorise: ``error_model="numpy"`` (numba's default checks every
  float division for zero and raises, a branch that stops LLVM's vectoriser), and gate
  slices are taken as 1-D row views indexed from 0 (``g[q, 2*n + j]`` makes numba test the
  column for a negative index on every element): the gate loop 59 → 7 µs a step;
- the GEMMs are BLAS calls with leading dimensions (:func:`sgemm`), so a block's
  ``h_{t-1}`` and ``x_t`` rows can live side by side in one saved array (one weight-gradient
  GEMM ``[h | x]ᵀ · dz`` instead of two, the thin ``xᵀ · dz`` one ran at half speed) without
  a copy per step, and the library can be Intel MKL where the backend chose it (1.3-2×
  OpenBLAS's speed on these thin products);
- the input projection and the weight gradient run a chunk of steps at a time, while its
  gate values are in L2 cache: the backward keeps no (B·T, 4n) gradient array (9.6 → 8.6
  ms).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from llvmlite import ir  # type: ignore[import-untyped,import-not-found,unused-ignore]
from numba import prange
from numba.core import cgutils, types
from numba.extending import intrinsic

from .._numba import njit


@intrinsic
def i32_as_f32(typingctx: Any, x: Any) -> Any:
    sig = types.float32(types.int32)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.bitcast(args[0], context.get_value_type(types.float32))

    return sig, codegen


def _sgemm(typingctx: Any, addr: Any, ta: Any, tb: Any, m: Any, n: Any, k: Any, a: Any,
          lda: Any, b: Any, ldb: Any, beta: Any, c: Any, ldc: Any) -> Any:
    """Row-major ``C (m×n) = op(A) · op(B) + beta·C`` through the Fortran ``sgemm`` at the
    address ``addr`` (SciPy's BLAS, the one numba's ``np.dot`` calls, or MKL's). ``ta``/
    ``tb`` true: the operand is stored transposed (A as k×m, B as n×k). A, B, C are arrays
    whose first element is the matrix's top-left one; lda/ldb/ldc their row strides in
    elements, so row ranges and column ranges of larger arrays work without copies.

    The address is an argument, not a constant, so that the compiled code can be cached.
    """
    sig = types.void(addr, ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        tys = signature.args
        i8, f32 = ir.IntType(8), ir.FloatType()
        vp = ir.IntType(8).as_pointer()

        def data(i: int) -> Any:
            arr = context.make_array(tys[i])(context, builder, args[i])
            return builder.bitcast(arr.data, vp)

        def int_slot(i: int) -> Any:
            v = context.cast(builder, args[i], tys[i], types.int32)
            return builder.bitcast(cgutils.alloca_once_value(builder, v), vp)

        def trans_slot(i: int) -> Any:
            flag = context.cast(builder, args[i], tys[i], types.boolean)
            ch = builder.select(flag, ir.Constant(i8, ord("T")), ir.Constant(i8, ord("N")))
            return cgutils.alloca_once_value(builder, ch)

        one = builder.bitcast(cgutils.alloca_once_value(builder, ir.Constant(f32, 1.0)), vp)
        bv = context.cast(builder, args[10], tys[10], types.float32)
        beta_p = builder.bitcast(cgutils.alloca_once_value(builder, bv), vp)
        fnty = ir.FunctionType(ir.VoidType(), [vp] * 13)
        fn = builder.inttoptr(args[0], fnty.as_pointer())
        # column-major: Cᵀ (n×m) = op(B)ᵀ · op(A)ᵀ, so B goes first
        builder.call(fn, [trans_slot(2), trans_slot(1), int_slot(4), int_slot(3), int_slot(5),
                          one, data(8), int_slot(9), data(6), int_slot(7), beta_p, data(11),
                          int_slot(12)])
        return context.get_dummy_value()

    return sig, codegen


sgemm: Any = intrinsic(_sgemm)  # Any: mypy would count numba's typingctx as an argument


def _call_int(typingctx: Any, addr: Any, v: Any) -> Any:
    """``int f(int)`` at the address ``addr`` (0: nothing called, 0 returned)."""
    sig = types.int32(addr, v)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(i32, [i32])
        arg = context.cast(builder, args[1], signature.args[1], types.int32)
        res = cgutils.alloca_once_value(builder, ir.Constant(i32, 0))
        with builder.if_then(builder.icmp_unsigned("!=", args[0], ir.Constant(args[0].type, 0))):
            fn = builder.inttoptr(args[0], fnty.as_pointer())
            builder.store(builder.call(fn, [arg]), res)
        return builder.load(res)

    return sig, codegen


call_int: Any = intrinsic(_call_int)

f32 = np.float32
one, two = f32(1.0), f32(2.0)
# LLVM may fuse multiply-adds and approximate reciprocals, but not assume away NaN/Inf:
# a diverging model must still show NaN, as on the NumPy path
fast = {"contract", "afn", "arcp"}
_OPTS: dict[str, Any] = {"fastmath": fast, "error_model": "numpy", "cache": True}
# below this many multiply-adds a product goes to the second BLAS of the pair: MKL's set-up
# outweighs its speed there (4×32×128: 0.58 µs against OpenBLAS's 0.23 µs); from ~100k up
# MKL is 1.2-2.3× faster on the LSTM's shapes (2-vCPU Xeon, one thread)
SMALL_WORK = 1 << 15


@njit(inline="always", **_OPTS)
def pick(blas: tuple[int, int, int], m: int, n: int, k: int) -> int:
    """The sgemm address for an m×k by k×n product: blas[0] unless it is tiny."""
    return blas[0] if m * n * k >= SMALL_WORK else blas[1]


@njit(inline="always", **_OPTS)
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


@njit(**_OPTS)
def gates(z: np.ndarray, g: np.ndarray, p: int, b: np.ndarray, n: int, nr: int) -> None:
    """Rows p.. of g: the activations of ``z + g + b`` (h·U, x·W, bias): σ for i, f, o,
    tanh(a) = 2σ(2a) - 1 for c."""
    for r in range(nr):
        zr, gr = z[r], g[p + r]
        for j in range(2 * n):
            gr[j] = one / (one + vexp(-(zr[j] + gr[j] + b[j])))
        gc, zc, bc = gr[2 * n : 3 * n], zr[2 * n : 3 * n], b[2 * n : 3 * n]
        for j in range(n):
            gc[j] = two / (one + vexp(-two * (zc[j] + gc[j] + bc[j]))) - one
        go, zo, bo = gr[3 * n :], zr[3 * n :], b[3 * n :]
        for j in range(n):
            go[j] = one / (one + vexp(-(zo[j] + go[j] + bo[j])))


@njit(**_OPTS)
def cell(g: np.ndarray, cs: np.ndarray, tc: np.ndarray, hout: np.ndarray, p: int, ps: int,
         r0: int, t: int, n: int, nr: int) -> None:
    """c_t = f·c_{t-1} + i·c̃ (c_{t-1} in cs[ps + r], c_t into cs[ps + nr + r]), tanh c_t,
    h_t = o·tanh c_t into hout[r0 + r, t]."""
    for r in range(nr):
        gr = g[p + r]
        gi, gf, gc, go = gr[:n], gr[n : 2 * n], gr[2 * n : 3 * n], gr[3 * n :]
        cp, cn, tr, ho = cs[ps + r], cs[ps + nr + r], tc[p + r], hout[r0 + r, t]
        for j in range(n):
            c = gf[j] * cp[j] + gi[j] * gc[j]
            th = two / (one + vexp(-two * c)) - one
            cn[j] = c
            tr[j] = th
            ho[j] = go[j] * th


@njit(**_OPTS)
def cell_back(g: np.ndarray, cs: np.ndarray, tc: np.ndarray, dz: np.ndarray, st: np.ndarray,
              p: int, ps: int, pd: int, n: int, ra: int, rb: int) -> None:
    """Rows ra..rb of one step (at p in g and tc, ps in cs, pd in dz): the pre-activation
    gradients dz from dh (st[:, :n]) and dc
    (st[:, n:], replaced by the gradient of c_{t-1}). dh and dc share one array so that
    LLVM's overlap checks stay few enough for it to vectorise."""
    for r in range(ra, rb):
        gr, dr = g[p + r], dz[pd + r]
        gi, gf, gc, go = gr[:n], gr[n : 2 * n], gr[2 * n : 3 * n], gr[3 * n :]
        di, df, dcc, do = dr[:n], dr[n : 2 * n], dr[2 * n : 3 * n], dr[3 * n :]
        cp, tr, dh, dc = cs[ps + r], tc[p + r], st[r, :n], st[r, n:]
        for j in range(n):
            i, f, cc, o, th, dhj = gi[j], gf[j], gc[j], go[j], tr[j], dh[j]
            dct = dhj * o * (one - th * th) + dc[j]
            di[j] = dct * cc * (i * (one - i))
            df[j] = dct * cp[j] * (f * (one - f))
            dcc[j] = dct * i * (one - cc * cc)
            do[j] = dhj * th * (o * (one - o))
            dc[j] = dct * f


@njit(**_OPTS)
def forward_block(k: int, x: np.ndarray, w: np.ndarray, u: np.ndarray, b: np.ndarray,
                  h0: np.ndarray, c0: np.ndarray, mask: np.ndarray, rmask: np.ndarray,
                  nblocks: int, blas: tuple[int, int, int], chunk_floats: int, hx: np.ndarray,
                  g: np.ndarray, cs: np.ndarray, tc: np.ndarray, hout: np.ndarray,
                  c_last: np.ndarray) -> None:
    """Block k of :func:`forward`; called on its own when there is one block, so that no
    thread pool wakes: with numba's idle OpenMP thread spinning on the other vCPU, a
    one-block training step ran 2.5× slower (OMP_NUM_THREADS=1 alone, 2-vCPU Xeon)."""
    bsz, steps, d = x.shape
    n = h0.shape[1]
    m = n + d
    masked, dropped = mask.shape[1] > 0, rmask.shape[1] > 0
    r0, r1 = k * bsz // nblocks, (k + 1) * bsz // nblocks
    nr, base, sb = r1 - r0, r0 * steps, r0 * (steps + 1)
    prev = call_int(blas[2], 1)  # MKL sequential in this thread (see _lstm_numba)
    for r in range(nr):
        hr, cr = hx[base + r, :n], cs[sb + r]
        for j in range(n):
            hr[j] = h0[r0 + r, j] * rmask[r0 + r, j] if dropped else h0[r0 + r, j]
            cr[j] = c0[r0 + r, j]
    z = np.empty((nr, 4 * n), np.float32)
    bu = pick(blas, nr, 4 * n, n)
    chunk = max(1, chunk_floats // (nr * 4 * n))
    for t in range(steps):
        p, ps = base + t * nr, sb + t * nr
        if t % chunk == 0:
            # the input projection of the next steps in one GEMM, into the gate buffer:
            # a chunk at a time, so that the gates read it back from cache
            t1 = min(steps, t + chunk)
            for tt in range(t, t1):
                for r in range(nr):
                    hx[base + tt * nr + r, n:] = x[r0 + r, tt]
            rows = (t1 - t) * nr
            sgemm(pick(blas, rows, 4 * n, d), False, False, rows, 4 * n, d, hx[p:, n:], m, w,
                  4 * n, 0.0, g[p:], 4 * n)
        sgemm(bu, False, False, nr, 4 * n, n, hx[p:], m, u, 4 * n, 0.0, z, 4 * n)
        gates(z, g, p, b, n, nr)
        cell(g, cs, tc, hout, p, ps, r0, t, n, nr)
        if masked:
            for r in range(nr):
                if mask[r0 + r, t]:
                    continue
                # h and c carried through the step
                gr, tr, ho = g[p + r], tc[p + r], hout[r0 + r, t]
                cp, cn = cs[ps + r], cs[ps + nr + r]
                for j in range(4 * n):
                    gr[j] = 0.0
                for j in range(n):
                    tr[j] = 0.0
                    cn[j] = cp[j]
                    ho[j] = hout[r0 + r, t - 1, j] if t > 0 else h0[r0 + r, j]
        if t + 1 < steps:  # h_t as the next step's GEMM sees it
            for r in range(nr):
                hn, ho = hx[p + nr + r, :n], hout[r0 + r, t]
                if dropped:
                    rm = rmask[r0 + r]
                    for j in range(n):
                        hn[j] = ho[j] * rm[j]
                else:
                    for j in range(n):
                        hn[j] = ho[j]
    for r in range(nr):
        c_last[r0 + r] = cs[sb + steps * nr + r]
    call_int(blas[2], prev)


@njit(parallel=True, **_OPTS)
def forward(x: np.ndarray, w: np.ndarray, u: np.ndarray, b: np.ndarray, h0: np.ndarray,
            c0: np.ndarray, mask: np.ndarray, rmask: np.ndarray, nblocks: int,
            blas: tuple[int, int, int], chunk_floats: int, hx: np.ndarray, g: np.ndarray,
            cs: np.ndarray, tc: np.ndarray, hout: np.ndarray, c_last: np.ndarray) -> None:
    """x (B,T,D), w (D,4n), u (n,4n), b (4n,), h0/c0 (B,n); mask (B,T) bool (False: the row
    keeps its state through the step) and rmask (B,n) recurrent-dropout factors, each empty,
    (B,0), when absent; blas: the addresses of two Fortran sgemm (see :func:`pick`) and
    of MKL's ``MKL_Set_Num_Threads_Local`` (0 without MKL);
    chunk_floats: gate values per chunk of steps (the input projection runs a chunk at a
    time, so that the gates read it back from cache).

    Saved, in block layout (block k's rows r0..r1 for step t at r0·T + t·nr + r): hx
    [h_{t-1} | x_t] (h after recurrent dropout: what the GEMM saw), g the gate activations
    i, f, c, o, tc tanh(c_t); cs holds c_t for t = 0..T, T+1 slots a block (from r0·(T+1)).
    Returned: hout (B,T,n) every h_t, c_last (B,n)."""
    for k in prange(nblocks):
        forward_block(k, x, w, u, b, h0, c0, mask, rmask, nblocks, blas, chunk_floats, hx, g,
                      cs, tc, hout, c_last)


@njit(**_OPTS)
def backward_block(k: int, g: np.ndarray, cs: np.ndarray, tc: np.ndarray, hx: np.ndarray,
                   wbt: np.ndarray, gh: np.ndarray, dh_last: np.ndarray, dc_last: np.ndarray,
                   mask: np.ndarray, rmask: np.ndarray, nblocks: int, blas: tuple[int, int, int],
                   chunk_floats: int, dx: np.ndarray, dh0: np.ndarray, dc0: np.ndarray,
                   dwu: np.ndarray, db: np.ndarray) -> None:
    """Block k of :func:`backward` (on its own when there is one block, as forward_block)."""
    bsz, steps = dh_last.shape[0], g.shape[0] // dh_last.shape[0]
    n = g.shape[1] // 4
    m, mw = hx.shape[1], wbt.shape[1]
    seq = gh.shape[1] > 0
    masked, dropped = mask.shape[1] > 0, rmask.shape[1] > 0
    r0, r1 = k * bsz // nblocks, (k + 1) * bsz // nblocks
    nr, base, sb = r1 - r0, r0 * steps, r0 * (steps + 1)
    prev = call_int(blas[2], 1)
    st = np.empty((nr, 2 * n), np.float32)  # dh | dc of the rows
    for r in range(nr):
        st[r, :n] = dh_last[r0 + r]
        st[r, n:] = dc_last[r0 + r]
    # without dx, masks or dropout the GEMM writes dh in place
    direct = mw == n and not masked and not dropped
    dhx = np.empty((nr, mw), np.float32)
    bw = pick(blas, nr, mw, 4 * n)
    # dz of a chunk of steps only: the chunk's share of the weight gradient is taken while
    # it is in cache, and no (B·T, 4n) array goes to and from memory
    chunk = max(1, chunk_floats // (nr * 4 * n))
    dz = np.empty((chunk * nr, 4 * n), np.float32)
    dwk, dbk = dwu[k], db[k]
    for j in range(4 * n):
        dbk[j] = 0.0
    for t in range(steps - 1, -1, -1):
        p, ps = base + t * nr, sb + t * nr
        t0 = t - t % chunk  # the chunk holding step t: steps t0..
        pd = (t - t0) * nr
        if seq:
            for r in range(nr):
                dh, ghr = st[r, :n], gh[r0 + r, t]
                for j in range(n):
                    dh[j] += ghr[j]
        if masked:
            for r in range(nr):
                if mask[r0 + r, t]:
                    cell_back(g, cs, tc, dz, st, p, ps, pd, n, r, r + 1)
                else:  # dh and dc pass the step unchanged
                    dr = dz[pd + r]
                    for j in range(4 * n):
                        dr[j] = 0.0
        else:
            cell_back(g, cs, tc, dz, st, p, ps, pd, n, 0, nr)
        if direct:
            sgemm(bw, False, False, nr, n, 4 * n, dz[pd:], 4 * n, wbt, n, 0.0, st, 2 * n)
        else:
            sgemm(bw, False, False, nr, mw, 4 * n, dz[pd:], 4 * n, wbt, mw, 0.0, dhx, mw)
            for r in range(nr):
                if mw > n:
                    dx[r0 + r, t] = dhx[r, n:]
                if masked and not mask[r0 + r, t]:
                    continue
                dh, dr = st[r, :n], dhx[r, :n]
                if dropped:
                    rm = rmask[r0 + r]
                    for j in range(n):
                        dh[j] = dr[j] * rm[j]
                else:
                    for j in range(n):
                        dh[j] = dr[j]
        if t == t0:  # the chunk done: its [h_{t-1} | x_t]ᵀ · dz and bias sums
            rows = (min(t0 + chunk, steps) - t0) * nr
            beta = 0.0 if t0 + chunk >= steps else 1.0  # the first chunk (the last steps)
            sgemm(pick(blas, m, 4 * n, rows), True, False, m, 4 * n, rows, hx[p:], m, dz,
                  4 * n, beta, dwk, 4 * n)
            for q in range(rows):
                dq = dz[q]
                for j in range(4 * n):
                    dbk[j] += dq[j]
    for r in range(nr):
        dh0[r0 + r] = st[r, :n]
        dc0[r0 + r] = st[r, n:]
    call_int(blas[2], prev)


@njit(parallel=True, **_OPTS)
def backward(g: np.ndarray, cs: np.ndarray, tc: np.ndarray, hx: np.ndarray, wbt: np.ndarray,
             gh: np.ndarray, dh_last: np.ndarray, dc_last: np.ndarray, mask: np.ndarray,
             rmask: np.ndarray, nblocks: int, blas: tuple[int, int, int], chunk_floats: int,
             dx: np.ndarray, dh0: np.ndarray, dc0: np.ndarray, dwu: np.ndarray,
             db: np.ndarray) -> None:
    """Gradients back through time. ``wbt`` is [U; W]ᵀ (4n, n+D; dx wanted) or Uᵀ (4n, n),
    contiguous (BLAS runs the product with the transposed copy ~1.4× faster than with a
    transposed view); ``gh`` (B,T,n) the per-step h gradients or an empty (B,0,n) array;
    dh_last/dc_last (B,n) those of the final h and c; mask, rmask, blas, chunk_floats as
    in ``forward`` (the weight gradient is taken a chunk of steps at a time). Writes
    dx (B,T,D), dh0/dc0 (B,n), and each block's share of the [U; W] and bias gradients
    into dwu[k] (n+D, 4n), db[k]."""
    for k in prange(nblocks):
        backward_block(k, g, cs, tc, hx, wbt, gh, dh_last, dc_last, mask, rmask, nblocks,
                       blas, chunk_floats, dx, dh0, dc0, dwu, db)
