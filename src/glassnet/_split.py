"""An inference program's batch on several threads: one recorded program per slice.

A convolution or a pooling already cuts its own batch over the threads
(:mod:`glassnet._parallel`), but each such region costs ~50 us and leaves the cheap ops
between them (a pooling below its threshold, the classifier's narrow product) on one
thread. Where every op of an inference program computes each sample alone, the whole
forward can run per slice instead: thread ``t`` replays its own program, recorded on
slice ``t`` of the batch, from the input to the outputs, and the outputs are joined.
One region a batch, every op on every thread (the MNIST convnet's ``predict`` at two
threads on a 2-vCPU Xeon: 35.0 -> 33.0 ms per 1,024 samples at batch 128, 41-47 -> 29.6
ms at batch 256).

Which programs qualify is decided from the recording, op by op
(:meth:`glassnet.autograd.Function.rows_apart`): an output row may depend on the same row
of the batch's inputs and on weights, nothing else. An op that mixes samples (a batch
statistic, a reshape across the batch, an integer-array index, a random draw) or that
does not say (a user's own ``Function``) keeps the program whole. Each slice's program is
a recording of its own (the ops keep per-shape plans and buffers, so two threads never
share one op). The cut depends on the batch size, the thread count and the program's
size only; a slice's arithmetic may differ from the whole batch's in the last bits (a
GEMM blocks rows by their count), as a different thread count's already does, so the
recording call returns the slices' values too: every call of one signature agrees.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import _parallel

__all__ = ["batch_rows", "cut", "SplitProgram"]

# the size, in elements of the outputs of the ops that are not matrix products, from which
# a batch runs in slices: below it the slices' Python calls take turns on the GIL for too
# little work, and a matrix product threads inside MKL already (the MNIST MLP's
# predict_on_batch at batch 1024, all products, 4.3 -> 4.5 ms cut). MNIST convnet's
# predict of 1,024 samples, 2-vCPU Xeon, two threads, whole -> cut: batch 32 (1.2M
# elements) 49.9 -> 55.3 ms, 64 (2.4M) 42.8 -> 41.5 ms, 128 (4.9M) 35.0 -> 33.0 ms, 256
# (9.7M) 41-47 -> 29.6 ms
MIN_ELEMENTS = 1 << 21
MIN_ROWS = 8  # samples a slice


def batch_rows(nodes: Sequence[tuple[Any, tuple[int, ...], int]], feeds: Sequence[int],
               outs: Sequence[int], shape_of: Callable[[int], tuple[int, ...]]
               ) -> tuple[int, int]:
    """(batch size, elements the batch's ops other than matrix products make) of a
    program whose every output row depends only on the same row of its feeds, else (0, 0).

    Args:
        nodes: the forward ops in order, as (Function, input slots, output slot).
        feeds: the slots fed with the batch's arrays. outs: the output slots.
        shape_of: a slot's shape as recorded.

    Example:
        >>> from glassnet import ops
        >>> shapes = {0: (8, 3), 1: (3,), 2: (8, 3)}
        >>> batch_rows([(ops.Add(), (0, 1), 2)], [0], [2], shapes.__getitem__)
        (8, 24)
    """
    n = -1
    batched: set[int] = set()
    for s in feeds:
        sh = shape_of(s)
        if not sh or (n >= 0 and sh[0] != n):
            return 0, 0
        n = sh[0]
        batched.add(s)
    elements = 0
    for fn, ins, out in nodes:
        b = [i in batched for i in ins]
        if not any(b):
            continue  # computed from weights alone
        o = shape_of(out)
        if (fn.random or not o or o[0] != n
                or not fn.rows_apart([shape_of(i) for i in ins], b, o)):
            return 0, 0
        batched.add(out)
        if not fn.gemm:  # (a product threads inside the BLAS: no gain from slices)
            elements += int(np.prod(o))
    if n < 0 or not all(s in batched for s in outs):
        return 0, 0
    return n, elements


def cut(rows: int, elements: int) -> list[slice]:
    """The slices a batch of ``rows`` samples whose ops make ``elements`` elements runs in:
    one per thread, or none (it runs whole).

    Example:
        >>> cut(4, 100)
        []
    """
    if elements < MIN_ELEMENTS:
        return []
    t = min(_parallel.threads(), rows // MIN_ROWS)
    if t <= 1:
        return []
    step = -(-rows // t)
    return [slice(s, min(s + step, rows)) for s in range(0, rows, step)]


class SplitProgram:
    """Several recorded inference programs run as one: program ``t`` on rows
    ``slices[t]`` of the feeds, on thread ``t``; each output is the slices' outputs
    joined along axis 0. ``whole`` (the full batch's recording) runs where the threads
    are not there any more (a forked child process).

    Example (two threads, MKL on GNU OpenMP; a hypothetical model)::

        split = SplitProgram(whole, [p0, p1], [slice(0, 64), slice(64, 128)])
        probs, = split.forward([x128])
    """

    def __init__(self, whole: Any, parts: Sequence[Any], slices: Sequence[slice]) -> None:
        self.whole, self.parts, self.slices = whole, list(parts), list(slices)

    def valid(self) -> bool:
        """False when a weight's ``requires_grad`` changed since the recordings."""
        return self.whole.valid() and all(p.valid() for p in self.parts)

    def forward(self, feeds: Sequence[Any]) -> list[Any]:
        """The programs on their slices of ``feeds``, outputs joined."""
        if _parallel.threads() < len(self.parts):
            return self.whole.forward(feeds)
        parts, slices = self.parts, self.slices
        outs = _parallel.run(lambda i: parts[i].forward([f[slices[i]] for f in feeds]),
                             range(len(parts)))
        return [np.concatenate(o) for o in zip(*outs)]
