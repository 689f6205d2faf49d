"""The numba LSTM kernel's fast paths against the NumPy kernel (its reference), at edge shapes.

The kernel calls BLAS's sgemm directly (MKL's where the backend chose it, SciPy's OpenBLAS
otherwise, and OpenBLAS for tiny products), runs one block without numba's thread pool,
and writes dh straight from the GEMM when there is no dx, mask or dropout: each of those
branches is compared here with the NumPy kernel for values and gradients, at batch 1, one
input channel, one unit and one time step, and checked to repeat bit for bit.
"""

import numpy as np
import pytest

pytest.importorskip("numba")
pytest.importorskip("scipy")
pytest.importorskip("threadpoolctl")

# the cases and the saved-input stand-in of the kernel's own tests (one copy)
from test_lstm_numba import _W, F32, NAMES, _case  # noqa: E402

from glassnet.layers import _lstm_numba  # noqa: E402
from glassnet.layers._recurrent_kernels import LSTMSeq  # noqa: E402


def _run(c, sequences, need_dx, numba, monkeypatch, mask=None, rmask=None):
    monkeypatch.setattr(_lstm_numba, "available", lambda: numba)
    f = LSTMSeq(sequences=sequences, mask=mask, rmask=rmask)
    f.needs_input_grad = (need_dx, True, True, True, True, True)
    out = f.forward(c["x"], c["h0"], c["c0"], c["w"], c["u"], c["b"])
    f.inputs = [None, None, None, _W(c["w"])]
    gy = np.random.default_rng(1).standard_normal(out.shape, dtype=F32)
    return f, out, f.backward(gy)


def _rel(a, b):
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))


def _compare(c, sequences, need_dx, monkeypatch, mask=None, rmask=None, tol=1e-5):
    fn, out_n, g_n = _run(c, sequences, need_dx, True, monkeypatch, mask, rmask)
    fr, out_r, g_r = _run(c, sequences, need_dx, False, monkeypatch, mask, rmask)
    assert fn.numba and not fr.numba
    assert out_n.dtype == F32 and out_n.shape == out_r.shape
    assert _rel(out_n, out_r) < tol
    for name, a, r in zip(NAMES, g_n, g_r):
        if name == "x" and not need_dx:
            assert a is None and r is None
            continue
        assert a.dtype == F32 and a.shape == r.shape, name
        assert _rel(a, r) < tol, (name, _rel(a, r))
    return out_n, g_n


SHAPES = [
    (1, 1, 1, 1),     # batch 1, one step, one channel, one unit
    (1, 6, 3, 5),     # batch 1
    (5, 1, 4, 8),     # one time step
    (9, 4, 1, 12),    # one input channel
    (32, 5, 8, 64),   # per-step products large enough for MKL (where the backend has it)
    (40, 3, 16, 33),  # odd units: vector loops with remainders
]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("sequences", [True, False])
@pytest.mark.parametrize("need_dx", [True, False])
@pytest.mark.parametrize("threads", [1, 2])
def test_edge_shapes_match_numpy_kernel(shape, sequences, need_dx, threads, monkeypatch):
    monkeypatch.setattr(_lstm_numba, "threads", lambda: threads)
    _compare(_case(*shape), sequences, need_dx, monkeypatch)


@pytest.mark.parametrize("shape", [(1, 3, 2, 4), (24, 1, 3, 16), (32, 5, 8, 64)])
@pytest.mark.parametrize("extra", ["mask", "recurrent_dropout", "both"])
@pytest.mark.parametrize("need_dx", [True, False])
def test_edge_shapes_with_masks_and_dropout(shape, extra, need_dx, monkeypatch):
    bsz, steps, _, n = shape
    r = np.random.default_rng(7)
    mask = rmask = None
    if extra in ("mask", "both"):  # one row masked at every step, the others with holes
        mask = r.random((bsz, steps)) < 0.6
        mask[0] = False
        if bsz > 1:
            mask[1] = True
    if extra in ("recurrent_dropout", "both"):
        rmask = ((r.random((bsz, n)) < 0.7) / 0.7).astype(F32)
    monkeypatch.setattr(_lstm_numba, "threads", lambda: 2)
    _compare(_case(*shape, seed=3), True, need_dx, monkeypatch, mask, rmask)


def test_openblas_only_pair_matches(monkeypatch):
    """The kernel with SciPy's OpenBLAS for every product (as without MKL) agrees with the
    kernel as configured here, and both with the NumPy kernel."""
    c = _case(32, 5, 8, 64)
    out_a, g_a = _compare(c, True, True, monkeypatch)
    _lstm_numba._kernels()
    ob = _lstm_numba._scipy_sgemm()
    monkeypatch.setitem(_lstm_numba._STATE, "sgemm", (ob, ob, 0))
    out_b, g_b = _compare(c, True, True, monkeypatch)
    assert _rel(out_b, out_a) < 1e-5
    for a, b in zip(g_a, g_b):
        assert _rel(b, a) < 1e-5


@pytest.mark.parametrize("threads", [1, 2])
def test_repeats_bit_for_bit(threads, monkeypatch):
    """A seeded run repeats exactly: the same inputs give the same bits, call after call
    (blocks are summed in a fixed order; no BLAS threading inside the kernel)."""
    monkeypatch.setattr(_lstm_numba, "threads", lambda: threads)
    c = _case(33, 7, 6, 40)
    out0, g0 = _run(c, True, True, True, monkeypatch)[1:]
    for _ in range(3):
        out, g = _run(c, True, True, True, monkeypatch)[1:]
        assert np.array_equal(out, out0)
        for a, b in zip(g, g0):
            assert np.array_equal(a, b)


def test_sgemm_pair_falls_back_to_openblas_for_ilp64_mkl(monkeypatch):
    import ctypes

    from glassnet import backend

    fn = ctypes.CFUNCTYPE(None)(lambda: None)  # stands for MKL's entries: never called
    fake = type("MKL", (), {"sgemm": fn, "MKL_Set_Num_Threads_Local": fn})()
    monkeypatch.setattr(backend, "_gemm", {"lib": fake, "kind": "mkl", "pid": None})
    ob = _lstm_numba._scipy_sgemm()
    calls = _lstm_numba._blas_calls()
    assert calls[0] != ob  # MKL's, 32-bit integers, for the small products too
    assert calls[1] == calls[0]
    monkeypatch.setenv("MKL_INTERFACE_LAYER", "ILP64")
    assert _lstm_numba._blas_calls() == (ob, ob, 0)


def test_sgemm_pair_takes_the_openblas_extra_where_the_backend_chose_it(monkeypatch):
    import ctypes

    from glassnet import backend

    if not backend._openblas_candidates():
        pytest.skip("the optional 'openblas' extra is not installed")
    monkeypatch.setattr(backend, "_gemm", {})
    monkeypatch.setenv("GLASSNET_GEMM", "openblas")
    lib = backend._resolve_gemm()["lib"]
    ob = _lstm_numba._scipy_sgemm()
    assert _lstm_numba._blas_calls() == (
        ctypes.cast(lib.scipy_sgemm_, ctypes.c_void_p).value, ob, 0)
    # and the kernels give the NumPy kernel's values through it
    monkeypatch.setitem(_lstm_numba._STATE, "sgemm", _lstm_numba._blas_calls())
    _compare(_case(40, 5, 16, 128, seed=9), True, True, monkeypatch, None)


def test_lstm_beside_mkl_does_not_load_scipys_blas():
    """Where the kernels call MKL, SciPy's OpenBLAS (16 MB of memory) is never loaded."""
    import subprocess
    import sys

    from glassnet import backend

    if backend._resolve_gemm().get("kind") != "mkl":
        pytest.skip("the backend's GEMM is not MKL here (the mkl extra is not installed or "
                    "not chosen): the kernels call SciPy's OpenBLAS")
    code = (
        "import sys, numpy as np, glassnet as gn\n"
        "m = gn.Sequential([gn.Input((5, 3)), gn.layers.LSTM(8), gn.layers.Dense(1)])\n"
        "m.compile('sgd', 'mse')\n"
        "m.train_on_batch(np.ones((4, 5, 3), 'float32'), np.ones((4, 1), 'float32'))\n"
        "from glassnet.layers import _lstm_numba as L\n"
        "print(L.available(), 'scipy.linalg' in sys.modules, L._STATE['sgemm'][2] != 0)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "False", "True"]


@pytest.mark.parametrize("chunk_floats", [1, 2 * 9 * 4 * 12, 3 * 5 * 4 * 12])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("extra", [None, "mask"])
def test_chunks_of_steps_match_numpy_kernel(chunk_floats, threads, extra, monkeypatch):
    """The forward projects, and the backward sums the weight gradient over, a chunk of
    steps at a time: one step a chunk, and chunks that do not divide T (7 steps)."""
    monkeypatch.setattr(_lstm_numba, "CHUNK_FLOATS", chunk_floats)
    monkeypatch.setattr(_lstm_numba, "threads", lambda: threads)
    mask = None
    if extra == "mask":
        mask = np.random.default_rng(4).random((18, 7)) < 0.7
    for sequences in (True, False):
        _compare(_case(18, 7, 3, 12, seed=5), sequences, True, monkeypatch, mask)


@pytest.mark.parametrize("bsz", [4, 64])  # one block (the calling thread), two blocks
def test_mkl_thread_local_setting_is_restored(bsz, monkeypatch):
    """Each kernel block makes MKL sequential in its own thread for the call and restores
    the thread's setting after: the calling thread's MKL threads are as before."""
    import ctypes

    from glassnet import backend

    _lstm_numba._kernels()
    if _lstm_numba._STATE["sgemm"][2] == 0:
        pytest.skip("the LSTM kernels call OpenBLAS here, not MKL (the mkl extra is not "
                    "installed or not chosen): there is no MKL thread setting to restore")
    monkeypatch.setattr(_lstm_numba, "threads", lambda: 2)
    local = backend._resolve_gemm()["lib"].MKL_Set_Num_Threads_Local
    local.restype, local.argtypes = ctypes.c_int, [ctypes.c_int]
    before = local(0)  # reading it means setting it: put it back
    local(before)
    _compare(_case(bsz, 3, 4, 64), True, True, monkeypatch)
    assert local(before) == before  # the thread's setting as it was
