"""Memory that lives as long as the model stays out of the heap a step's temporaries use.

``backend.long_lived_empty`` gives the optimizer's flat weights, gradients and slots pages
of their own (a private anonymous mapping) from ``LONG_LIVED_MMAP`` bytes, and glassnet
turns MKL's buffer cache off where it loads MKL (``GLASSNET_MALLOC_TUNING=0`` keeps both
glibc's and MKL's defaults). Neither may change a single number, and a forked child's
writes must stay in the child.
"""

from __future__ import annotations

import mmap
import os
import subprocess
import sys

import numpy as np
import pytest

import glassnet as gn
from glassnet import backend

L = gn.layers


def _mapped(a: np.ndarray) -> bool:
    base = a
    while isinstance(base, np.ndarray):
        base = base.base
    if isinstance(base, memoryview):
        base = base.obj
    return isinstance(base, mmap.mmap)


def test_small_buffers_are_ordinary_and_large_ones_have_pages_of_their_own():
    small = backend.long_lived_empty(10, "float32")
    assert small.shape == (10,) and small.dtype == np.float32 and not _mapped(small)
    n = backend.LONG_LIVED_MMAP // 8 + 3  # just past the threshold, not a page multiple
    big = backend.long_lived_empty(n, np.float64)
    assert big.shape == (n,) and big.dtype == np.float64 and _mapped(big)
    assert big.flags.writeable and big.flags.c_contiguous
    big[:] = np.arange(n)
    assert big[-1] == n - 1 and big.sum() == n * (n - 1) / 2


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_childs_writes_stay_in_the_child():
    a = backend.long_lived_empty(backend.LONG_LIVED_MMAP // 4, np.float32)
    a[:] = 1.0
    pid = os.fork()
    if pid == 0:  # the child: writes, then leaves without running the parent's cleanup
        a[:] = 7.0
        os._exit(0 if a[0] == 7.0 else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    assert np.all(a == 1.0)


def _train(monkeypatch, threshold):
    monkeypatch.setattr(backend, "LONG_LIVED_MMAP", threshold)
    gn.set_seed(4)
    model = gn.Sequential([L.Dense(640, activation="relu", input_dim=512),
                           L.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    rs = np.random.default_rng(0)
    x = rs.standard_normal((64, 512)).astype(np.float32)
    y = rs.integers(0, 10, 64)
    losses = [model.train_on_batch(x, y) for _ in range(4)]
    return model, losses


def test_an_optimizer_keeps_its_state_in_mapped_pages_with_the_same_numbers(monkeypatch):
    ref, ref_losses = _train(monkeypatch, 1 << 62)  # every buffer from the heap
    model, losses = _train(monkeypatch, 1 << 20)
    opt = model.optimizer
    assert all(_mapped(f) for f in opt._flats) and _mapped(opt._gflat)
    assert opt._wflat is not None and _mapped(opt._wflat[0])
    for w in model.weights:  # the weights are views of the flat, mapped weights
        assert _mapped(w.data)
    for slots in opt._slots.values():
        assert all(_mapped(s) for s in slots)
    assert not any(_mapped(f) for f in ref.optimizer._flats)
    assert losses == ref_losses
    for a, b in zip(model.get_weights(), ref.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_mapped_state_saves_and_loads(monkeypatch, tmp_path):
    model, _ = _train(monkeypatch, 1 << 20)
    path = tmp_path / "m.glassnet"
    model.save(path)
    back = gn.models.load_model(path)
    for a, b in zip(back.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    x = np.ones((2, 512), np.float32)
    np.testing.assert_array_equal(back.predict(x, verbose=0), model.predict(x, verbose=0))
    # the optimizer's moments came back too: one more step agrees
    y = np.zeros(2, np.int64)
    assert back.train_on_batch(x, y) == model.train_on_batch(x, y)


MKL = backend._resolve_gemm()["kind"] == "mkl"

_KEPT = """
import ctypes, numpy as np
from glassnet import backend
lib = backend._resolve_gemm()["lib"]
a = np.ones((128, 10), np.float32)
b = np.ones((32768, 10), np.float32).T  # MKL packs a transposed operand into a buffer
backend.matmul(a, b)
n = ctypes.c_int(0)
print(lib.MKL_Mem_Stat(ctypes.byref(n)), n.value)
"""


@pytest.mark.skipif(not MKL, reason="the mkl extra's GEMM does not run here")
@pytest.mark.parametrize("tuning", ["1", "0"])
def test_mkl_keeps_no_buffers_between_products_unless_tuning_is_off(tuning):
    env = {**os.environ, "GLASSNET_MALLOC_TUNING": tuning}
    out = subprocess.run([sys.executable, "-c", _KEPT], env=env, capture_output=True,
                         text=True, check=True, timeout=120).stdout.split()
    kept, buffers = int(out[0]), int(out[1])
    if tuning == "1":
        assert (kept, buffers) == (0, 0)
    else:  # MKL's default: its memory manager keeps the packing buffers
        assert kept > 0 and buffers > 0

