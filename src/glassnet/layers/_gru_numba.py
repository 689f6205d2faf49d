"""The GRU's gate arithmetic of one time step as one compiled loop (the ``numba`` extra).

:class:`glassnet.layers._recurrent_kernels.GRUSeq` runs one GEMM per step for the
recurrent products, then about ten NumPy passes over the (batch, units) gates forward and
fifteen backward: on a GRU of 128 units over 100 steps at batch 32 those passes, 30-50 us a
step each way, were most of the layer's time (2-vCPU Xeon). Here each step's gate math is
a few compiled loops over the rows, with the NumPy kernel's operations in its order (the
sigmoid as ``0.5·tanh(0.5·a) + 0.5``, the tanh passes NumPy's own), so both paths give the
same bits (tested); the GEMMs stay where they were.

Used for the default activations (tanh, and sigmoid for the gates), masks and recurrent
dropout included, on float NumPy arrays, where
:func:`glassnet._optimizer_kernels.fused_available` says so (numba installed and loaded,
or gates of 2^18+ elements; ``GLASSNET_NUMBA=0`` never).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._optimizer_kernels import AUTO_WORK, compiled, fused_available


def _fwd_gates(g: np.ndarray, rec: np.ndarray, b1: np.ndarray, rh: np.ndarray,
               half: Any) -> None:  # pragma: no cover - compiled by numba
    # g (B, 3n): the step's input projections; rec (B, 3n) = h_{t-1} U. z and r get half
    # their pre-activation (the sigmoid's tanh comes next, in NumPy), rh = h U_h + b'_h
    rows, n = rh.shape
    for b in range(rows):
        for j in range(2 * n):
            g[b, j] = (g[b, j] + (rec[b, j] + b1[j])) * half
        for j in range(n):
            rh[b, j] = rec[b, 2 * n + j] + b1[2 * n + j]


def _fwd_candidate(g: np.ndarray, rh: np.ndarray,
                   half: Any) -> None:  # pragma: no cover - compiled by numba
    # after tanh(z|r / 2): the sigmoids, then the candidate's pre-activation x W_h + r ⊙ rh
    rows, n = rh.shape
    for b in range(rows):
        for j in range(2 * n):
            g[b, j] = g[b, j] * half + half
        for j in range(n):
            g[b, 2 * n + j] += g[b, n + j] * rh[b, j]


def _fwd_state(g: np.ndarray, hp: np.ndarray, h: np.ndarray,
               mk: Any) -> None:  # pragma: no cover - compiled by numba
    # after tanh of the candidate: h_t = ĥ + z ⊙ (h_{t-1} − ĥ); a masked row (mk 0) keeps
    # h_{t-1}
    rows, n = hp.shape
    for b in range(rows):
        if mk is not None and mk[b] == 0:
            for j in range(n):
                h[b, j] = hp[b, j]
            continue
        for j in range(n):
            hh = g[b, 2 * n + j]
            h[b, j] = hh + g[b, j] * (hp[b, j] - hh)


def _bwd(dh: np.ndarray, gy: np.ndarray, g: np.ndarray, hp: np.ndarray, rh: np.ndarray,
         dx: np.ndarray, dr: np.ndarray, dz: np.ndarray, mk: Any, keep: Any,
         one: Any) -> None:  # pragma: no cover - compiled by numba
    # dh (B, n) += gy; then the pre-activation gradients of both paths and dh·z; with a
    # mask (mk: 1 a step taken, 0 one skipped), dh·(1 − mk) goes to ``keep`` and dh·mk on
    rows, n = hp.shape
    for b in range(rows):
        for j in range(n):
            d = dh[b, j] + gy[b, j]
            if mk is not None:
                keep[b, j] = d * (one - mk[b])
                d = d * mk[b]
            z, r, hh = g[b, j], g[b, n + j], g[b, 2 * n + j]
            dah = d * (one - z) * (one - hh * hh)
            dzg = d * (hp[b, j] - hh) * (z * (one - z))
            drg = dah * rh[b, j] * (r * (one - r))
            dx[b, j] = dzg
            dx[b, n + j] = drg
            dx[b, 2 * n + j] = dah
            dr[b, j] = dzg
            dr[b, n + j] = drg
            dr[b, 2 * n + j] = dah * r
            dz[b, j] = d * z


def _kernel(name: str) -> Any:
    return compiled(globals()[name])


def applies(g: Any) -> bool:
    """Whether the compiled step runs for gates ``g`` (T, B, 3n).

    Whenever numba is installed, whatever the size (as the LSTM's kernel): it saves
    Python per time step, not per element — a GRU(32) over 50 steps, batch 32, trains in
    1.4 ms a step against 3.1 ms with the NumPy loop (2-vCPU AMD EPYC, one thread), so
    loading numba (half a second) pays within a few hundred steps."""
    return type(g) is np.ndarray and g.dtype.char in "fd" and fused_available(AUTO_WORK)


def forward_step(g: np.ndarray, rec: np.ndarray, b1: np.ndarray, hp: np.ndarray,
                 rh: np.ndarray, h: np.ndarray, mk: np.ndarray | None = None) -> None:
    """One step forward, in place: ``g`` (B, 3n) becomes the gates z | r | ĥ, ``rh`` (B, n)
    ``h_{t-1} U_h + b'_h`` and ``h`` (B, n) the new state (``h_{t-1}`` on rows where the
    step's mask ``mk`` (B,), 1/0 in g's dtype, is 0). The two tanh passes are NumPy's (a
    compiled scalar ``tanh`` is 10x slower than NumPy's vectorised one), the rest three
    compiled loops."""
    n = hp.shape[1]
    half = g.dtype.type(0.5)
    _kernel("_fwd_gates")(g, rec, b1, rh, half)
    zr = g[:, :2 * n]
    np.tanh(zr, out=zr)
    _kernel("_fwd_candidate")(g, rh, half)
    hh = g[:, 2 * n:]
    np.tanh(hh, out=hh)
    _kernel("_fwd_state")(g, hp, h, mk)


def backward_step(dh: np.ndarray, gy: np.ndarray, g: np.ndarray, hp: np.ndarray,
                  rh: np.ndarray, dx: np.ndarray, dr: np.ndarray, dz: np.ndarray,
                  mk: np.ndarray | None = None, keep: np.ndarray | None = None) -> None:
    """One step back: with ``d = dh + gy``, the input-path (``dx``) and recurrent-path
    (``dr``) pre-activation gradients (B, 3n), and ``dz`` = d·z (B, n), the part of the
    previous state's gradient that skips the recurrent GEMM. With the step's mask ``mk``
    (B,), ``d`` is first split: ``keep`` = d·(1 − mk) passes to the previous state as is,
    d·mk goes through the step (the NumPy kernel's ``dh * ~m`` and ``dh * m``)."""
    _kernel("_bwd")(dh, gy, g, hp, rh, dx, dr, dz, mk, keep, g.dtype.type(1))
