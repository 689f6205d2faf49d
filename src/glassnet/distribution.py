"""Data-parallel training over MPI (mpi4py), under Keras 3's names.

The same script runs on one process or on many::

    import glassnet as gn
    gn.distribution.set_distribution(gn.distribution.DataParallel())
    model.fit(x, y, batch_size=128, epochs=5)       # mpiexec -n 4 python train.py

Semantics (details and the cost model: ``docs/distributed.md``):

- ``batch_size`` is the *global* batch; each process ("rank") takes its contiguous share of
  every global batch (``np.array_split`` of the batch's indices: sizes differ by at most 1).
- Weights start identical: rank 0's are broadcast when ``fit`` starts. The shuffling order is
  rank 0's, broadcast every epoch.
- After each backward pass the optimizer's flat gradient buffer is averaged over the ranks,
  weighted by each rank's number of samples (so the step equals one process on the whole
  global batch, to float32 rounding). Ranks on one machine meet in shared memory (an MPI-3
  window) and each updates only its own slice of the weights (ZeRO stage 1), then every
  rank applies the whole step; across machines, a ring all-reduce of our own over
  ``Sendrecv`` and the whole update on every rank; GPU ranks with a GPU each, NCCL. Sums are
  taken in a fixed order, never in whatever order MPI's reduction picks, so two runs with
  the same N give the same bits, and every rank holds the same weights.
- The loss and the metrics in ``History`` are global: every rank sees every rank's
  predictions and targets of the step (an ``Allgather`` of the outputs, only when metrics
  are compiled) and updates its metrics with all of them.
- Only rank 0 prints progress and runs the callbacks that write files (checkpoints, CSV,
  TensorBoard, backups, live plots); other callbacks run everywhere on the global logs, so
  early stopping stops every rank at the same epoch.
- ``evaluate`` and ``predict`` shard the data and gather the results, in order, on every rank.

Without mpi4py, or in a single process, everything here is a no-op: ``rank()`` is 0 and
``size()`` is 1.
"""

from __future__ import annotations

import os
from typing import Any, Literal, cast

import numpy as np

from . import backend

__all__ = ["DataParallel", "set_distribution", "distribution", "initialize", "rank", "size",
           "is_root", "Distribution", "launch", "find_mpiexec", "mpiexec_flags",
           "launcher_env", "local"]

_current = None
_comm = None
# elements in each block of a flat buffer dealt to the ranks of one machine (see
# DataParallel.owned): the optimizer's cache blocks (_optimizer_base._BLOCK) halved
OWN_BLOCK = 1 << 15

# callbacks that print or write files: rank 0 only (by class name: glassnet's own classes)
ROOT_ONLY_CALLBACKS = frozenset({"ProgbarLogger", "ModelCheckpoint", "CSVLogger",
                                 "BackupAndRestore", "TensorBoard", "LivePlot", "SampleGrid"})


def _launched_by_mpi() -> bool:
    env = os.environ
    return any(k in env for k in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK",
                                  "MPI_LOCALNRANKS", "SLURM_STEP_NUM_TASKS"))


def initialize() -> Any:
    """Start MPI (through mpi4py) and return the world communicator, or None in one process.

    Called by :func:`set_distribution`; safe to call more than once. Under ``mpiexec`` with
    more than one process and no mpi4py, raises a ``RuntimeError`` that says how to install
    it (``pip install "glassnet[mpi]"``).
    """
    global _comm
    if _comm is not None:
        return _comm
    try:
        from mpi4py import MPI
    except ImportError:
        n = int(os.environ.get("OMPI_COMM_WORLD_SIZE", os.environ.get("PMI_SIZE", "1")))
        if n > 1:
            raise RuntimeError(
                f"glassnet.distribution: this process is one of {n} started by mpiexec, but "
                "mpi4py is not installed; install it with `pip install \"glassnet[mpi]\"`"
            ) from None
        return None
    _comm = MPI.COMM_WORLD
    return _comm


def rank() -> int:
    """This process's rank (0 without MPI)."""
    c = _comm if _comm is not None else (initialize() if _launched_by_mpi() else None)
    return 0 if c is None else c.Get_rank()


def size() -> int:
    """The number of processes (1 without MPI)."""
    c = _comm if _comm is not None else (initialize() if _launched_by_mpi() else None)
    return 1 if c is None else c.Get_size()


def is_root() -> bool:
    """True on rank 0 (and in a single process): the rank that prints and writes files."""
    return rank() == 0


class Distribution:
    """Base of the distribution strategies (Keras 3's ``keras.distribution`` names)."""


class DataParallel(Distribution):
    """Replicate the model on every process; split every global batch between them.

    Args:
        devices: ignored on the CPU (one process per core or machine, as mpiexec starts
            them); on GPUs, rank ``r`` uses device ``r % device_count``.

    Example:
        >>> gn.distribution.set_distribution(gn.distribution.DataParallel())
    """

    def __init__(self, devices: Any = None) -> None:
        self.devices = devices
        self.comm = initialize()
        self.rank = 0 if self.comm is None else self.comm.Get_rank()
        self.size = 1 if self.comm is None else self.comm.Get_size()
        self.local_n = 1  # this rank's samples in the current step (set by fit)
        self._buf: np.ndarray | None = None
        self._split: np.random.Generator | None = None  # this rank's own generator, once derived
        self._windows: list = []  # MPI shared-memory windows: kept open while arrays use them
        self._xchg: Any = None  # (size, dtype, window, counts, gradients, step)
        self.local_size = 1 if self.comm is None else _ranks_on_this_machine(self.comm)
        # every rank shares this machine's memory: the sharded update (``GLASSNET_MPI_SHARED=0``
        # forces the ring all-reduce that spans machines)
        self.shared_memory = (1 < self.size == self.local_size and os.environ.get(
            "GLASSNET_MPI_SHARED", "1").strip().lower() not in ("0", "false", "no"))
        self._nccl_comm: Any = None
        self._dbuf: Any = None

    def __repr__(self) -> str:
        return f"DataParallel(rank={self.rank}, size={self.size})"

    # ---------------------------------------------------------------- collectives
    def gather_rows(self, a: np.ndarray) -> np.ndarray:
        """Concatenate every rank's rows of ``a`` in rank order (on every rank)."""
        a = np.ascontiguousarray(a)
        counts = self.comm.allgather(int(a.shape[0]))
        tail = a.shape[1:]
        out = np.empty((sum(counts), *tail), a.dtype)
        per = int(np.prod(tail, dtype=np.int64)) if tail else 1
        self.comm.Allgatherv(a, [out, [c * per for c in counts]])
        return out

    def sum_floats(self, values: Any) -> np.ndarray:
        """Element-wise sum of a small float vector over the ranks, in rank order."""
        v = np.asarray(values, np.float64).reshape(1, -1)
        out = np.empty((self.size, v.shape[1]), np.float64)
        self.comm.Allgather(v, out)  # one fixed-size collective
        acc = out[0].copy()
        for r in range(1, self.size):
            acc += out[r]
        return acc

    def average_gradients(self, gflat: Any) -> None:
        """In place: Σ_r n_r·g_r / Σ_r n_r over the ranks, by :meth:`ring_allreduce` (GPU
        buffers: by NCCL where each rank of a machine has its own GPU, else through host
        memory)."""
        if not isinstance(gflat, np.ndarray) and self._nccl() is not None:
            return self._nccl_average(gflat)
        host = backend.asnumpy(gflat)
        buf = self._buf
        if buf is None or buf.size != host.size + 1 or buf.dtype != host.dtype:
            buf = self._buf = np.empty(host.size + 1, host.dtype)
        np.multiply(host.reshape(-1), host.dtype.type(self.local_n), out=buf[:-1])
        buf[-1] = self.local_n  # the sample count rides along: one collective per step
        self.ring_allreduce(buf)
        total = buf[-1]
        res = buf[:-1]
        if total:
            res *= host.dtype.type(1) / total
        if host is gflat:
            gflat.reshape(-1)[...] = res
        else:  # a GPU buffer: staged through host memory
            gflat[...] = backend.get_array_module(gflat).asarray(res.reshape(gflat.shape))

    # ----------------------------------------------------------------------- GPUs
    def _nccl(self) -> Any:
        """NCCL's communicator (CuPy's ``cupy.cuda.nccl``), made on first use; None where
        NCCL is missing, switched off (``GLASSNET_NCCL=0``), or two ranks of one machine
        would share a GPU (NCCL refuses that)."""
        if self._nccl_comm is None:
            self._nccl_comm = False
            ok = os.environ.get("GLASSNET_NCCL", "1").strip().lower() not in ("0", "false",
                                                                                "no")
            try:
                import cupy
                from cupy.cuda import nccl
            except ImportError:
                ok = False
            ok = ok and bool(getattr(nccl, "available", True))
            if ok:
                ok = self.local_size <= cupy.cuda.runtime.getDeviceCount()
            # every rank must agree before the collective that makes the communicator
            if all(self.comm.allgather(ok)):
                uid = self.comm.bcast(nccl.get_unique_id() if self.rank == 0 else None, root=0)
                self._nccl_comm = nccl.NcclCommunicator(self.size, uid, self.rank)
        return self._nccl_comm or None

    def _nccl_average(self, gflat: Any) -> None:
        """:meth:`average_gradients` on the GPU: one NCCL all-reduce of ``n_r · g_r`` with
        the sample count riding along, on the current stream."""
        import cupy
        from cupy.cuda import nccl

        kinds = {"float16": nccl.NCCL_FLOAT16, "float32": nccl.NCCL_FLOAT32,
                 "float64": nccl.NCCL_FLOAT64}
        buf = self._dbuf
        if buf is None or buf.size != gflat.size + 1 or buf.dtype != gflat.dtype:
            buf = self._dbuf = cupy.empty(gflat.size + 1, gflat.dtype)
        t = gflat.dtype.type
        cupy.multiply(gflat.reshape(-1), t(self.local_n), out=buf[:-1])
        buf[-1] = self.local_n
        self._nccl_comm.allReduce(buf.data.ptr, buf.data.ptr, buf.size,
                                  kinds[gflat.dtype.name], nccl.NCCL_SUM,
                                  cupy.cuda.get_current_stream().ptr)
        res = buf[:-1]
        res *= t(1) / cupy.maximum(buf[-1], t(1))  # no division by zero samples, no sync
        gflat.reshape(-1)[...] = res.reshape(-1)

    def ring_allreduce(self, buf: np.ndarray) -> None:
        """Sum ``buf`` over the ranks, in place, with the ring algorithm.

        Reduce-scatter then all-gather around the ring, each rank sending ``2(N-1)/N`` of
        the buffer (the bandwidth-optimal cost the cost model in docs/distributed.md uses).
        Every chunk is summed in a fixed order around the ring, never in whatever order an
        MPI library's reduction picks: the same bits every run, on every rank.
        """
        n, r, comm = self.size, self.rank, self.comm
        if n == 1:
            return
        chunks = np.array_split(buf, n)  # views into buf
        right, left = (r + 1) % n, (r - 1) % n
        tmp = np.empty(max(c.size for c in chunks), buf.dtype)
        for step in range(n - 1):  # reduce-scatter: rank r ends owning chunk (r + 1) % n
            send, recv = chunks[(r - step) % n], chunks[(r - step - 1) % n]
            t = tmp[: recv.size]
            comm.Sendrecv(send, dest=right, recvbuf=t, source=left)
            recv += t
        for step in range(n - 1):  # all-gather the reduced chunks
            send, recv = chunks[(r + 1 - step) % n], chunks[(r - step) % n]
            comm.Sendrecv(send, dest=right, recvbuf=recv, source=left)

    # ---------------------------------------- one machine: sharded update in shared memory
    def shared_array(self, n: int, dtype: Any) -> np.ndarray:
        """A zeroed flat array of ``n`` elements that every rank maps (an MPI-3 shared
        window on this machine). Collective: every rank calls it at the same point."""
        from mpi4py import MPI

        dtype = np.dtype(dtype)
        nbytes = max(int(n), 1) * dtype.itemsize
        win = MPI.Win.Allocate_shared(nbytes if self.rank == 0 else 0, dtype.itemsize,
                                      comm=self.comm)
        self._windows.append(win)  # the memory lives as long as the window
        # ... and models may hold views of it (shared weights) after this object is gone:
        # such windows stay open until the process ends
        _OPEN_WINDOWS.append(win)
        buf, _ = win.Shared_query(0)
        a = np.ndarray((int(n),), dtype, buffer=cast(Any, buf))  # an MPI memory buffer
        if self.rank == 0:
            a[...] = 0
        self.comm.Barrier()
        return a

    def owned(self, n: int) -> list[tuple[int, int]]:
        """This rank's share of a flat buffer of ``n`` elements: ranges ``[lo, hi)`` of
        ``OWN_BLOCK`` elements (the last one shorter), dealt to the ranks in turn.

        Dealt, not one contiguous slice each: the flat buffer is laid out layer by layer and
        the backward pass writes the first layer's gradient last, so that part is still in
        cache at the update and the rest is not. With halves, the rank owning the second
        half (MNIST MLP, N=2) averaged and updated its 335k elements in 1.2 ms against
        0.8 ms for the other, which waited at the barrier; dealt blocks give each rank a
        share of both.
        """
        b, size, r = OWN_BLOCK, self.size, self.rank
        return [(lo, min(lo + b, int(n))) for lo in range(r * b, int(n), size * b)]

    def _exchange(self, n: int, dtype: Any) -> Any:
        """The shared buffers for flat buffers of ``n`` elements: (n, dtype, window,
        counts, gradients (one row per rank), step, this rank's row, scratch, scratch)."""
        x = self._xchg
        if x is None or x[0] != n or x[1] != dtype:
            counts = self.shared_array(self.size, np.float64)
            # each rank's row starts on its own page: a row of n elements would start
            # rank 1's gradients mid-cache-line (the MNIST MLP's 669,706 floats: 40 bytes
            # in), and its GEMMs write them unaligned
            per = max(4096 // np.dtype(dtype).itemsize, 1)
            stride = -(-n // per) * per
            grads = self.shared_array(self.size * stride, dtype).reshape(self.size, stride)
            win = self._windows[-1]
            k = min(n, OWN_BLOCK)  # the longest owned range
            x = self._xchg = (n, dtype, win, counts, grads, self.shared_array(n, dtype),
                              grads[self.rank, :n], np.empty(k, dtype), np.empty(k, dtype))
        return x

    def gradient_buffer(self, n: int, dtype: Any) -> np.ndarray:
        """This rank's row of the shared gradients: the optimizer's flat gradient buffer, so
        the backward pass writes where the other ranks read (no copy). Collective."""
        return self._exchange(n, dtype)[6]

    def fence(self) -> None:
        """Wait until every rank has reached this point (their shared writes visible)."""
        self._xchg[2].Fence()

    def step_buffer(self) -> np.ndarray:
        """The shared buffer each rank writes its slice of the update into."""
        return self._xchg[5]

    def reduce_owned(self, gflat: np.ndarray) -> None:
        """Average the ranks' flat gradients into this rank's share of ``gflat`` (in place):
        :meth:`publish`, then :meth:`reduce_range` over each owned range."""
        self.publish(gflat)
        for lo, hi in self.owned(gflat.size):
            self.reduce_range(gflat, lo, hi)

    def publish(self, gflat: np.ndarray) -> None:
        """Make this rank's flat gradient and sample count visible to the others, and wait
        for theirs (collective).

        ``gflat`` is this rank's row of the shared gradients (:meth:`gradient_buffer`), which
        the backward pass wrote; any other array is copied there first.
        """
        _, _, _, counts, _, _, row, _, _ = self._exchange(gflat.size, gflat.dtype)
        if gflat is not row:  # not laid out by the optimizer: publish a copy
            np.copyto(row, gflat)
        counts[self.rank] = self.local_n
        self.fence()  # every rank's gradient and count are written

    def reduction(self, gflat: np.ndarray) -> tuple[np.ndarray, np.ndarray, Any]:
        """After :meth:`publish`: the terms :meth:`reduce_range` combines, for a kernel that
        averages in the same sweep as it updates: (the ranks' gradients as rows, each
        rank's weight, the final factor), the average being ``(Σ_r rows[r] · weight[r]) ·
        factor`` summed in rank order (``factor`` 1 when no rank has samples)."""
        _, _, _, counts, grads, _, _, _, _ = self._exchange(gflat.size, gflat.dtype)
        t = gflat.dtype.type
        total = counts[0]
        for r in range(1, self.size):
            total += counts[r]
        scale = np.array([t(c) for c in counts], dtype=gflat.dtype)
        return grads, scale, (t(1) / t(total) if total else t(1))

    def reduce_range(self, gflat: np.ndarray, lo: int, hi: int) -> None:
        """After :meth:`publish`: ``gflat[lo:hi]`` (within this rank's slice) becomes the
        average of the ranks' ``n_r · g_r`` over the ranks, summed in rank order (fixed: the
        same bits every run, however the slice is cut into ranges). Only this rank reads
        or writes that range of its row."""
        _, _, _, counts, grads, _, _, acc, tmp = self._exchange(gflat.size, gflat.dtype)
        t = gflat.dtype.type
        k = hi - lo
        a, b = acc[:k], tmp[:k]
        np.multiply(grads[0, lo:hi], t(counts[0]), out=a)
        total = counts[0]
        for r in range(1, self.size):
            a += np.multiply(grads[r, lo:hi], t(counts[r]), out=b)
            total += counts[r]
        if total:
            a *= t(1) / t(total)
        gflat[lo:hi] = a

    def broadcast_weights(self, model: Any) -> None:
        """Rank 0's weights (and BatchNorm statistics) on every rank."""
        for w in model.weights:
            host = np.ascontiguousarray(backend.asnumpy(w.data))
            self.comm.Bcast(host, root=0)
            if host is not w.data:
                w.data[...] = backend.get_array_module(w.data).asarray(host)

    def split_random_stream(self) -> None:
        """Give every rank but 0 its own stream of the library's generator (dropout, noise,
        augmentation draw different numbers on different ranks' samples); rank 0 keeps the
        seeded stream, so its shuffling — broadcast to all — is the single process's."""
        if self.rank != 0 and backend._rng is not self._split:  # again after a set_seed
            seed = backend.get_seed()
            backend._rng = self._split = np.random.default_rng(
                [0 if seed is None else seed, self.rank])

    def broadcast(self, obj: Any) -> Any:
        return self.comm.bcast(obj, root=0)

    def check_setup(self, model: Any, x: Any, y: Any, batch_size: int) -> None:
        """One cheap collective at the start of fit: every rank must agree (one-line errors)."""
        n = len(x)
        shapes = [tuple(a.shape[1:]) for a in getattr(x, "arrays", [x])]
        yshapes = None if y is None else [tuple(a.shape[1:]) for a in getattr(y, "arrays", [y])]
        mine = (n, shapes, yshapes, [tuple(w.shape) for w in model.weights])
        all_ = self.comm.allgather(mine)
        if any(a != all_[0] for a in all_):
            bad = next(r for r, a in enumerate(all_) if a != all_[0])
            raise ValueError(
                f"glassnet.distribution: rank {bad} disagrees with rank 0 on the data or the "
                f"model (samples, input shapes, target shapes, weight shapes). Received: rank "
                f"0 {all_[0]}, rank {bad} {all_[bad]}")
        if n < self.size:
            raise ValueError(f"glassnet.distribution: {self.size} processes need at least "
                             f"{self.size} samples. Received: {n}")
        if batch_size < self.size:
            raise ValueError(f"glassnet.distribution: the global batch_size must be at least "
                             f"the number of processes ({self.size}). Received: "
                             f"batch_size={batch_size}")

    def shard(self, idx: Any) -> Any:
        """This rank's contiguous share of one global batch's indices (or a slice)."""
        if isinstance(idx, slice):  # np.array_split's sizes: the first `rem` get one more
            lo, hi = idx.start, idx.stop
            k, rem = divmod(hi - lo, self.size)
            start = lo + self.rank * k + min(self.rank, rem)
            return slice(start, start + k + (self.rank < rem))
        return np.array_split(idx, self.size)[self.rank]


_OPEN_WINDOWS: list[Any] = []  # every shared window made in this process (never freed)


# ------------------------------------------------------------------ launching
def find_mpiexec() -> str | None:
    """The ``mpiexec`` next to this Python (the ``mpi`` extra's Open MPI), else on PATH."""
    import shutil
    import sys

    return (shutil.which("mpiexec", path=os.path.dirname(sys.executable))
            or shutil.which("mpiexec"))


def mpiexec_flags(mpiexec: str | None = None) -> list[str]:
    """Flags for a local launch: Open MPI refuses more ranks than cores unless told."""
    import subprocess

    exe = mpiexec or find_mpiexec()
    if exe is None:
        return []
    try:
        v = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return []
    text = (v.stdout + v.stderr).lower()
    return ["--oversubscribe"] if ("open mpi" in text or "prrte" in text) else []


def launcher_env() -> dict:
    """Environment for ``mpiexec``: Open MPI refuses to run as root (containers, CI) unless
    these are set; elsewhere nothing."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}
    return {}


def launch(n: int, argv: list[str]) -> int:
    """Run ``python argv...`` as ``n`` MPI processes; returns mpiexec's exit code.

    Used by ``glassnet train RECIPE --workers N``. If a process dies, mpiexec ends the others
    and returns non-zero.
    """
    import subprocess
    import sys

    if not isinstance(n, int) or n < 1:
        raise ValueError(f"launch: the number of workers must be a positive int. "
                         f"Received: {n!r}")
    exe = find_mpiexec()
    if exe is None:
        raise RuntimeError("glassnet.distribution: no mpiexec found; install the mpi extra "
                           "with `pip install \"glassnet[mpi]\"` (mpi4py and Open MPI)")
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        raise RuntimeError("glassnet.distribution: mpi4py is not installed; install it with "
                           "`pip install \"glassnet[mpi]\"`") from None
    env = {**os.environ, **launcher_env()}
    cmd = [exe, *mpiexec_flags(exe), "-n", str(n), sys.executable, *argv]
    return subprocess.run(cmd, env=env).returncode


def _ranks_on_this_machine(comm: Any) -> int:
    """How many ranks share this process's machine (MPI's shared-memory split)."""
    from mpi4py import MPI

    node = comm.Split_type(MPI.COMM_TYPE_SHARED)
    try:
        return node.Get_size()
    finally:
        node.Free()


def set_distribution(value: Distribution | None) -> None:
    """Make ``value`` the distribution ``fit``/``evaluate``/``predict`` use (None: off).

    Example:
        >>> gn.distribution.set_distribution(gn.distribution.DataParallel())
    """
    global _current
    if value is not None and not isinstance(value, Distribution):
        raise TypeError(f"set_distribution: expected a glassnet.distribution.Distribution "
                        f"such as DataParallel(). Received: {type(value).__name__}")
    _current = value
    from . import _optimizer_base

    active = value is not None and getattr(value, "size", 1) > 1
    dp: Any = value  # a DataParallel when active (size > 1)
    _optimizer_base._grad_reducer = dp.average_gradients if active else None
    _optimizer_base._sharder = dp if active and dp.shared_memory else None
    if active and backend.gpu_available():
        import cupy

        n = cupy.cuda.runtime.getDeviceCount()
        if n:
            cupy.cuda.Device(dp.rank % n).use()


class local:  # noqa: N801 - used as a context manager, like no_grad
    """Within the block, this process computes alone (no collectives): for work one rank
    does by itself, e.g. rank 0 drawing a report's figures with ``predict``.

    Example:
        >>> if gn.distribution.is_root():
        ...     with gn.distribution.local():
        ...         preds = model.predict(x_test)
    """

    def __enter__(self) -> local:
        from . import _optimizer_base

        global _current
        self._saved = (_current, _optimizer_base._grad_reducer, _optimizer_base._sharder)
        _current, _optimizer_base._grad_reducer, _optimizer_base._sharder = None, None, None
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        from . import _optimizer_base

        global _current
        _current, _optimizer_base._grad_reducer, _optimizer_base._sharder = self._saved
        return False


def distribution() -> Distribution | None:
    """The distribution set by :func:`set_distribution` (None when off)."""
    return _current


def active() -> DataParallel | None:
    """The data-parallel distribution when more than one process takes part, else None."""
    d = _current
    return d if isinstance(d, DataParallel) and d.size > 1 else None
