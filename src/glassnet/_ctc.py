"""Connectionist temporal classification: the loss of a label sequence under per-step class
scores (summed over every alignment, by the forward-backward recursion) and greedy or
beam-search decoding, as Keras 3's ``ops.ctc_loss`` / ``ops.ctc_decode`` and
``losses.CTC`` (the loss of keras.io's OCR and speech-recognition examples).

Shapes: scores (batch, T, classes), logits (Keras applies ``log_softmax`` itself); targets
(batch, L) integer labels, the blank (``mask_index``) never a label; lengths (batch,).

The recursion runs over the extended label sequence ``b l1 b l2 ... b`` (S = 2L + 1
states) in log space, one time step at a time for the whole batch; α and β both include
the step's own log-probability, so the posterior of state s at step t is
``α + β − log p(l'_s)``. The gradient for the logits is ``softmax − posterior(class)`` on
each sample's first ``output_length`` steps and 0 after (Graves et al., 2006).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from . import backend
from .autograd import Function
from .tensor import Tensor

if TYPE_CHECKING:
    from ._typing import TensorLike

__all__ = ["ctc_loss", "ctc_decode"]

_NEG = -np.inf


def _lse(*terms: np.ndarray) -> np.ndarray:
    """log Σ exp over the given arrays, -inf where all are -inf."""
    m = terms[0]
    for t in terms[1:]:
        m = np.maximum(m, t)
    safe = np.where(np.isfinite(m), m, 0.0)
    acc = np.zeros_like(safe)
    for t in terms:
        acc += np.exp(t - safe)
    with np.errstate(divide="ignore"):
        return np.log(acc) + safe


def _log_softmax(z: np.ndarray) -> np.ndarray:
    zs = z - z.max(axis=-1, keepdims=True)
    return zs - np.log(np.exp(zs).sum(axis=-1, keepdims=True))


class CTCLoss(Function):
    """Per-sample CTC loss −log p(target | logits) of ``log_softmax(logits)``.

    Inputs: logits (B, T, C) float, target (B, L) int, target_length (B,), output_length
    (B,); the last three take no gradient. An alignment that cannot exist (a target longer
    than its steps allow) has loss ``inf`` and gradient 0, as PyTorch with
    ``zero_infinity=False`` reports the loss.
    """

    def __init__(self, blank: int = 0) -> None:
        self.blank = int(blank)

    def forward(self, z: Any, target: Any, target_length: Any, output_length: Any) -> Any:
        xp = backend.get_array_module(z)
        logits = backend.asnumpy(z).astype(np.float64)
        lab = np.asarray(backend.asnumpy(target)).astype(np.int64)
        tl = np.asarray(backend.asnumpy(target_length)).astype(np.int64).reshape(-1)
        ol = np.asarray(backend.asnumpy(output_length)).astype(np.int64).reshape(-1)
        b, steps, c = logits.shape
        if lab.ndim != 2 or lab.shape[0] != b or tl.shape != (b,) or ol.shape != (b,):
            raise ValueError(
                "ctc_loss: expected target (batch, max_label_length) and lengths (batch,) "
                f"for output (batch={b}, steps={steps}, classes={c}). Received: target "
                f"shape {lab.shape}, target_length {tl.shape}, output_length {ol.shape}")
        if (tl < 0).any() or (tl > lab.shape[1]).any() or (ol < 1).any() or (ol > steps).any():
            raise ValueError(
                f"ctc_loss: target_length must lie in [0, {lab.shape[1]}] and output_length "
                f"in [1, {steps}]. Received: target_length {tl.tolist()}, output_length "
                f"{ol.tolist()}")
        if not 0 <= self.blank < c:
            raise ValueError(f"ctc_loss: mask_index must lie in [0, {c}). "
                             f"Received: {self.blank}")
        logp = _log_softmax(logits)
        n_s = 2 * lab.shape[1] + 1
        ext = np.full((b, n_s), self.blank, np.int64)  # b l1 b l2 ... b
        ext[:, 1::2] = lab
        s_idx = np.arange(n_s)
        s_len = 2 * tl + 1  # each sample's own number of states
        valid = s_idx[None, :] < s_len[:, None]
        # a skip from s-2 to s: s a label, not a repeat of the label two states back
        skip = np.zeros((b, n_s), bool)
        skip[:, 2:] = (ext[:, 2:] != self.blank) & (ext[:, 2:] != ext[:, :-2])
        lp = np.take_along_axis(logp, np.broadcast_to(ext[:, None, :], (b, steps, n_s)), 2)
        lp = np.where(valid[:, None, :], lp, _NEG)
        alpha = np.full((b, steps, n_s), _NEG)
        alpha[:, 0, 0] = lp[:, 0, 0]
        if n_s > 1:
            alpha[:, 0, 1] = np.where(tl > 0, lp[:, 0, 1], _NEG)
        neg = np.full((b, 1), _NEG)
        for t in range(1, steps):
            a = alpha[:, t - 1]
            a1 = np.concatenate([neg, a[:, :-1]], axis=1)
            a2 = np.where(skip, np.concatenate([neg, neg, a[:, :-2]], axis=1), _NEG)
            alpha[:, t] = _lse(a, a1, a2) + lp[:, t]
        rows = np.arange(b)
        last = alpha[rows, ol - 1]  # (B, S) at each sample's last step
        end = _lse(last[rows, s_len - 1], np.where(tl > 0, last[rows, np.maximum(s_len - 2, 0)],
                                                   _NEG))
        self.logp, self.lp, self.alpha, self.ext = logp, lp, alpha, ext
        self.skip, self.ol, self.s_len, self.tl, self.end = skip, ol, s_len, tl, end
        self.xp, self.dtype, self.n_classes = xp, z.dtype, c
        return xp.asarray(-end, dtype=z.dtype)

    def backward(self, gy: Any) -> tuple[Any, None, None, None]:
        lp, alpha, ext, skip = self.lp, self.alpha, self.ext, self.skip
        b, steps, n_s = lp.shape
        rows = np.arange(b)
        beta = np.full((b, steps, n_s), _NEG)
        neg = np.full((b, 1), _NEG)
        for t in range(steps - 1, -1, -1):
            start = self.ol - 1 == t  # each sample's last step starts its recursion
            nxt = beta[:, t + 1] if t + 1 < steps else np.full((b, n_s), _NEG)
            b1 = np.concatenate([nxt[:, 1:], neg], axis=1)
            # a skip into s+2 is allowed where s+2 may be reached from s
            s2 = np.concatenate([skip[:, 2:], np.zeros((b, 2), bool)], axis=1)
            b2 = np.where(s2, np.concatenate([nxt[:, 2:], neg, neg], axis=1), _NEG)
            cur = _lse(nxt, b1, b2) + lp[:, t]
            init = np.full((b, n_s), _NEG)
            init[rows, self.s_len - 1] = lp[rows, t, self.s_len - 1]
            two = np.maximum(self.s_len - 2, 0)
            init[rows, two] = np.where(self.tl > 0, lp[rows, t, two], init[rows, two])
            beta[:, t] = np.where(start[:, None], init,
                                  np.where((t < self.ol - 1)[:, None], cur, _NEG))
        feasible = np.isfinite(self.end)
        end = np.where(feasible, self.end, 0.0)
        with np.errstate(invalid="ignore"):
            post = np.exp(alpha + beta - lp - end[:, None, None])  # (B, T, S)
        post = np.where(np.isfinite(post), post, 0.0)
        occ = np.zeros((b, steps, self.n_classes))
        onehot = np.zeros((b, n_s, self.n_classes))
        onehot[rows[:, None], np.arange(n_s)[None, :], ext] = 1.0
        occ = post @ onehot  # each class's posterior occupancy
        kept = (np.arange(steps)[None, :] < self.ol[:, None]) & feasible[:, None]
        g = np.where(kept[..., None], np.exp(self.logp) - occ, 0.0)
        g = g * np.asarray(backend.asnumpy(gy), np.float64).reshape(b, 1, 1)
        return self.xp.asarray(g, dtype=self.dtype), None, None, None


def _as_tensor(a: Any, dtype: Any = None) -> Tensor:
    if isinstance(a, Tensor):
        return a
    return Tensor._make(np.asarray(a) if dtype is None else np.asarray(a, dtype))


def _beside(a: Any, out: Tensor) -> Tensor:
    """Labels or lengths (no gradient) on the output's device: NumPy labels with a model on
    the GPU are the common case."""
    t = _as_tensor(a)
    xp = backend.get_array_module(out.data)
    if backend.get_array_module(t.data) is not xp:
        t = Tensor._make(xp.asarray(backend.asnumpy(t.data)))
    return t


def ctc_loss(target: TensorLike, output: TensorLike, target_length: TensorLike,
             output_length: TensorLike, mask_index: int = 0) -> Tensor:
    """Per-sample CTC loss (Keras 3's ``ops.ctc_loss``): −log p(target | output).

    Args:
        target: (batch, max_label_length) integer labels (entries past each
            ``target_length`` are ignored).
        output: (batch, steps, classes) logits; ``log_softmax`` is applied here.
        target_length: (batch,) label counts.
        output_length: (batch,) steps to use of each output.
        mask_index: the blank class.

    Returns:
        A (batch,) tensor; differentiable in ``output``.

    Example:
        >>> z = np.zeros((1, 2, 2), "float32")   # two steps, uniform over {blank, 1}
        >>> round(float(ctc_loss([[1]], z, [1], [2]).data[0]), 4)   # -log(3/4)
        0.2877
    """
    out = _as_tensor(output)
    if out.dtype.kind != "f":
        out = Tensor._make(out.data.astype(np.float32))
    return CTCLoss(mask_index)(out, _beside(target, out), _beside(target_length, out),
                               _beside(output_length, out))


def ctc_decode(inputs: TensorLike, sequence_lengths: TensorLike, strategy: str = "greedy",
               beam_width: int = 100, top_paths: int = 1, merge_repeated: bool = True,
               mask_index: int | None = 0) -> tuple[np.ndarray, np.ndarray]:
    """Decode per-step class scores into label sequences (Keras 3's ``ops.ctc_decode``).

    ``"greedy"``: each step's best class, repeats merged (``merge_repeated``), blanks
    dropped; ``"beam_search"``: the ``top_paths`` most probable label sequences, summing the
    probability of every alignment that yields a prefix (prefix beam search over
    ``log_softmax(inputs)``, ``beam_width`` prefixes kept per step).

    Args:
        inputs: (batch, steps, classes) scores (probabilities or logits).
        sequence_lengths: (batch,) steps to decode of each sample.
        strategy: ``"greedy"`` or ``"beam_search"``.
        beam_width, top_paths: beam search's width and number of results.
        merge_repeated: greedy: merge a class repeated on consecutive steps.
        mask_index: the blank class (None: the last class).

    Returns:
        ``(decoded, scores)``: decoded (top_paths, batch, steps) int32 labels, each row's
        sequence first and -1 after; scores (batch, top_paths): greedy, minus the sum of
        each step's best score; beam search, each sequence's log-probability.

    Example:
        >>> p = np.array([[[0.1, 0.9], [0.2, 0.8], [0.9, 0.1], [0.3, 0.7]]], "float32")
        >>> ctc_decode(p, [4])[0][0]   # 1 1 blank 1 -> 1 1
        array([[ 1,  1, -1, -1]], dtype=int32)
    """
    x = np.asarray(backend.asnumpy(inputs.data if isinstance(inputs, Tensor) else inputs),
                   np.float64)
    lengths = np.asarray(backend.asnumpy(
        sequence_lengths.data if isinstance(sequence_lengths, Tensor) else sequence_lengths)
    ).astype(np.int64).reshape(-1)
    if x.ndim != 3 or lengths.shape != (x.shape[0],):
        raise ValueError("ctc_decode: expected inputs (batch, steps, classes) and "
                         f"sequence_lengths (batch,). Received: {x.shape}, {lengths.shape}")
    b, steps, c = x.shape
    blank = c - 1 if mask_index is None else int(mask_index)
    if strategy == "greedy":
        return _greedy(x, lengths, merge_repeated, blank)
    if strategy == "beam_search":
        if int(top_paths) < 1 or int(beam_width) < int(top_paths):
            raise ValueError("ctc_decode: need 1 <= top_paths <= beam_width. Received: "
                             f"top_paths={top_paths}, beam_width={beam_width}")
        return _beam(x, lengths, int(beam_width), int(top_paths), blank)
    raise ValueError('ctc_decode: strategy must be "greedy" or "beam_search". '
                     f"Received: strategy={strategy!r}")


def _greedy(x: np.ndarray, lengths: np.ndarray, merge: bool, blank: int
            ) -> tuple[np.ndarray, np.ndarray]:
    b, steps, _ = x.shape
    idx = x.argmax(-1)
    best = x.max(-1)
    past = np.arange(steps)[None, :] >= lengths[:, None]
    idx = np.where(past, blank, idx)
    best = np.where(past, 0.0, best)
    if merge:
        rep = np.zeros_like(past)
        rep[:, 1:] = idx[:, 1:] == idx[:, :-1]
        idx = np.where(rep, blank, idx)
    out = np.full((b, steps), -1, np.int32)
    for i in range(b):
        seq = idx[i][idx[i] != blank]
        out[i, :seq.size] = seq
    return out[None], (-best.sum(axis=1))[:, None]


def _beam(x: np.ndarray, lengths: np.ndarray, width: int, top: int, blank: int
          ) -> tuple[np.ndarray, np.ndarray]:
    b, steps, c = x.shape
    logp = _log_softmax(x)
    out = np.full((top, b, steps), -1, np.int32)
    scores = np.full((b, top), _NEG)
    for i in range(b):
        # prefix -> (log p ending in blank, log p ending in its last label)
        beams: dict[tuple[int, ...], tuple[float, float]] = {(): (0.0, _NEG)}
        for t in range(int(lengths[i])):
            lp = logp[i, t]
            nxt: dict[tuple[int, ...], list[float]] = {}

            def add(prefix: tuple[int, ...], pb: float, pnb: float,
                    nxt: dict[tuple[int, ...], list[float]] = nxt) -> None:
                cur = nxt.setdefault(prefix, [_NEG, _NEG])
                cur[0] = float(np.logaddexp(cur[0], pb))
                cur[1] = float(np.logaddexp(cur[1], pnb))

            for prefix, (pb, pnb) in beams.items():
                total = np.logaddexp(pb, pnb)
                add(prefix, total + lp[blank], _NEG)  # a blank keeps the prefix
                for k in range(c):
                    if k == blank:
                        continue
                    if prefix and prefix[-1] == k:
                        add(prefix, _NEG, pnb + lp[k])  # the repeat merges
                        add((*prefix, k), _NEG, pb + lp[k])  # after a blank: a new label
                    else:
                        add((*prefix, k), _NEG, total + lp[k])
            kept = sorted(nxt.items(), key=lambda kv: -np.logaddexp(kv[1][0], kv[1][1]))
            beams = {p: (v[0], v[1]) for p, v in kept[:width]}
        best = sorted(beams.items(), key=lambda kv: -np.logaddexp(kv[1][0], kv[1][1]))[:top]
        for j, (prefix, (pb, pnb)) in enumerate(best):
            out[j, i, :len(prefix)] = prefix
            scores[i, j] = np.logaddexp(pb, pnb)
    return out, scores
