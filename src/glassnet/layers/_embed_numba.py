"""The embedding table's gradient compiled with numba: one pass over the ids, each id's
gradient row added into its table row, instead of one ``np.bincount`` pass per embedding
column. The NumPy kernel (:func:`glassnet.layers.embedding.embedding_grad`) stays the
reference; both give the same bits (tested): this kernel sums in the ids' order, in float64
where the reference's ``bincount`` does (per distinct id, not over the whole table) and in
the rows' dtype where it uses ``np.add.at``.

It runs when :func:`glassnet._optimizer_kernels.fused_available` says so: the numba extra
installed and either already loaded or the gradient large enough to pay for loading it
(about 70 MB of resident memory); ``GLASSNET_NUMBA=0`` keeps the NumPy kernel.

Measured on a 2-vCPU AMD EPYC (Zen 5), one thread: ``Embedding(10000, 64)`` after
``GlobalAveragePooling1D``, 6,400 ids, 650 µs for the 64 ``bincount`` passes against
(see ``benchmarks/RESULTS.md``) this kernel's single pass.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._optimizer_kernels import compiled, fused_available


def _scatter_rows(ids: Any, rows: Any, gw: Any) -> None:  # pragma: no cover - compiled
    # in the table's own dtype (the reference's np.add.at, for few ids)
    d = rows.shape[1]
    for i in range(ids.shape[0]):
        r = ids[i]
        for j in range(d):
            gw[r, j] += rows[i, j]


def _scatter_sum64(ids: Any, rows: Any, steps: int, slot: Any, uniq: Any, acc: Any,
                   gw: Any) -> None:  # pragma: no cover - compiled
    # float64 sums, in the ids' order, as bincount takes them; kept per distinct id in
    # ``acc`` (first come, first slot) rather than in a float64 table of the whole
    # vocabulary, whose zeroing and casting cost more than the sums (2.5 MB float32 table:
    # 1,720 steps/s against 1,070). Row i of ``rows`` serves ids[i*steps:(i+1)*steps]
    # (steps > 1: one gradient row broadcast over a sample's steps).
    d = rows.shape[1]
    k = 0
    for src in range(rows.shape[0]):
        for i in range(src * steps, (src + 1) * steps):
            r = ids[i]
            s = slot[r]
            if s < 0:
                s = k
                slot[r] = k
                uniq[k] = r
                k += 1
                for j in range(d):
                    acc[s, j] = 0.0
            for j in range(d):
                acc[s, j] += rows[src, j]
    for s in range(k):
        r = uniq[s]
        for j in range(d):
            gw[r, j] = acc[s, j]


def applies(ids: Any, gy: Any, vocab: int) -> bool:
    """Whether the compiled kernel computes this gradient (else the NumPy kernel runs)."""
    return (type(gy) is np.ndarray and gy.dtype.char in "fd" and type(ids) is np.ndarray
            and ids.dtype.kind in "iu"
            and fused_available(max(ids.size * gy.shape[-1], vocab * gy.shape[-1])))


def _sum(ids: np.ndarray, rows: np.ndarray, vocab: int, steps: int) -> np.ndarray:
    gw = np.zeros((vocab, rows.shape[1]), dtype=rows.dtype)
    if steps == 1 and ids.size * 4 < vocab:  # the reference's np.add.at, in the rows' dtype
        compiled(_scatter_rows)(ids, rows, gw)
        return gw
    distinct = min(ids.size, vocab)
    compiled(_scatter_sum64)(ids, rows, steps, np.full(vocab, -1, np.int64),
                             np.empty(distinct, np.int64),
                             np.empty((distinct, rows.shape[1]), np.float64), gw)
    return gw


def grad(ids: np.ndarray, rows: np.ndarray, vocab: int) -> np.ndarray:
    """``gw[ids[i]] += rows[i]``: the (vocab, D) table gradient of (N,) ids and (N, D) rows."""
    return _sum(np.ascontiguousarray(ids), np.ascontiguousarray(rows), vocab, 1)


def grad_broadcast(ids: np.ndarray, g: np.ndarray, vocab: int) -> np.ndarray:
    """``gw[ids[b, t]] += g[b]``: the (vocab, D) table gradient of (B, T) ids whose (B, D)
    output gradient is the same for every step."""
    return _sum(np.ascontiguousarray(ids).reshape(-1), np.ascontiguousarray(g), vocab,
                ids.shape[1])
