"""The LSTM's numba kernel against its reference, the NumPy kernel (itself gradient-checked
in float64 in test_recurrent.py): same outputs and gradients to float32 rounding, for every
option the numba path takes, and the NumPy path wherever it must not be taken.

Skipped only where the optional ``numba`` extra is not installed (CI installs it).
"""

import numpy as np
import pytest

pytest.importorskip("numba")
pytest.importorskip("scipy")
pytest.importorskip("threadpoolctl")

import glassnet as gn  # noqa: E402
from glassnet.layers import LSTM, _lstm_numba  # noqa: E402
from glassnet.layers._recurrent_kernels import LSTMSeq  # noqa: E402

F32 = np.float32
NAMES = ["x", "h0", "c0", "W", "U", "b"]  # LSTMSeq's inputs, in the order of its gradients


class _W:  # what Function.backward reads from its saved kernel input
    def __init__(self, data):
        self.data = data


def _case(bsz, steps, d, n, seed=0):
    r = np.random.default_rng(seed)
    return dict(
        x=r.standard_normal((bsz, steps, d), dtype=F32),
        h0=(0.5 * r.standard_normal((bsz, n))).astype(F32),
        c0=(0.5 * r.standard_normal((bsz, n))).astype(F32),
        w=(0.3 * r.standard_normal((d, 4 * n))).astype(F32),
        u=(0.3 * r.standard_normal((n, 4 * n))).astype(F32),
        b=(0.3 * r.standard_normal(4 * n)).astype(F32),
    )


def _run(c, sequences, need_dx, numba: bool, monkeypatch, gy_seed=1, mask=None, rmask=None):
    """Forward + backward of one LSTMSeq call on the chosen path."""
    monkeypatch.setattr(_lstm_numba, "available", lambda: numba)
    f = LSTMSeq(sequences=sequences, mask=mask, rmask=rmask)
    f.needs_input_grad = (need_dx, True, True, True, True, True)
    out = f.forward(c["x"], c["h0"], c["c0"], c["w"], c["u"], c["b"])
    f.inputs = [None, None, None, _W(c["w"])]
    gy = np.random.default_rng(gy_seed).standard_normal(out.shape, dtype=F32)
    grads = f.backward(gy)
    return f, out, grads


def _rel(a, b):
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))


@pytest.mark.parametrize("sequences", [True, False])
@pytest.mark.parametrize("need_dx", [True, False])
@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("bsz", [8, 29, 64])  # blocks of equal and unequal sizes
def test_matches_numpy_kernel(sequences, need_dx, threads, bsz, monkeypatch):
    c = _case(bsz, 7, 5, 16)
    monkeypatch.setattr(_lstm_numba, "threads", lambda: threads)
    fn, out_n, g_n = _run(c, sequences, need_dx, True, monkeypatch)
    fr, out_r, g_r = _run(c, sequences, need_dx, False, monkeypatch)
    assert fn.numba and not fr.numba
    assert out_n.dtype == F32 and out_n.shape == out_r.shape
    assert _rel(out_n, out_r) < 1e-5
    for name, a, r in zip(NAMES, g_n, g_r):
        if name == "x" and not need_dx:
            assert a is None and r is None
            continue
        assert a.dtype == F32 and a.shape == r.shape, name
        assert _rel(a, r) < 1e-5, (name, _rel(a, r))


@pytest.mark.parametrize("sequences", [True, False])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("bsz", [8, 29])
@pytest.mark.parametrize("extra", ["mask", "recurrent_dropout", "both"])
def test_masks_and_recurrent_dropout_match_numpy_kernel(sequences, threads, bsz, extra,
                                                        monkeypatch):
    c = _case(bsz, 7, 5, 16, seed=2)
    r = np.random.default_rng(5)
    mask = rmask = None
    if extra in ("mask", "both"):  # padding at the end and holes inside, some rows all kept
        mask = r.random((bsz, 7)) < 0.7
        mask[:, -2:] &= r.random((bsz, 1)) < 0.5
        mask[0] = True
    if extra in ("recurrent_dropout", "both"):
        rmask = ((r.random((bsz, 16)) < 0.7) / 0.7).astype(F32)
    monkeypatch.setattr(_lstm_numba, "threads", lambda: threads)
    fn, out_n, g_n = _run(c, sequences, True, True, monkeypatch, mask=mask, rmask=rmask)
    fr, out_r, g_r = _run(c, sequences, True, False, monkeypatch, mask=mask, rmask=rmask)
    assert fn.numba and not fr.numba
    # masked steps' outputs are the carried h on both paths (the layer zeroes them after)
    assert _rel(out_n, out_r) < 1e-5
    for name, a, b in zip(NAMES, g_n, g_r):
        assert _rel(a, b) < 1e-5, (name, _rel(a, b))


def test_blocks_follow_threads_and_batch(monkeypatch):
    monkeypatch.setattr(_lstm_numba, "threads", lambda: 4)
    assert _lstm_numba._blocks(64) == 4
    assert _lstm_numba._blocks(20) == 2  # ≥ 8 rows per block
    assert _lstm_numba._blocks(3) == 1


def test_threads_honour_omp_num_threads_unless_numba_is_told(monkeypatch):
    import numba

    monkeypatch.delenv("NUMBA_NUM_THREADS", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert _lstm_numba.threads() == 1
    monkeypatch.setenv("NUMBA_NUM_THREADS", str(numba.get_num_threads()))
    assert _lstm_numba.threads() == numba.get_num_threads()


def test_threads_stay_within_the_cpus_this_process_may_use(monkeypatch):
    import os

    if not hasattr(os, "sched_getaffinity"):
        pytest.skip("no CPU affinity on this platform")
    monkeypatch.setenv("NUMBA_NUM_THREADS", "1")  # no OMP cap in play
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    assert _lstm_numba.threads() == 1


def test_env_switch_turns_it_off(monkeypatch):
    monkeypatch.setattr(_lstm_numba, "_STATE", {})
    monkeypatch.setenv("GLASSNET_NUMBA", "0")
    assert not _lstm_numba.available()
    monkeypatch.setattr(_lstm_numba, "_STATE", {})
    monkeypatch.setenv("GLASSNET_NUMBA", "1")
    assert _lstm_numba.available()


def test_a_broken_numba_install_warns_and_falls_back(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def broken(name, *a, **k):
        if name == "numba":
            raise ImportError("Numba needs NumPy 2.3 or less")
        return real_import(name, *a, **k)

    monkeypatch.setattr(_lstm_numba, "_STATE", {})
    monkeypatch.setattr(builtins, "__import__", broken)
    with pytest.warns(RuntimeWarning, match="cannot be imported.*NumPy kernel"):
        assert not _lstm_numba.available()
    monkeypatch.setattr(builtins, "__import__", real_import)
    x = np.random.default_rng(0).standard_normal((4, 3, 2)).astype(F32)
    assert LSTM(3)(x).shape == (4, 3)  # and the layer runs, on NumPy


def test_blas_thread_limit_is_restored():
    from threadpoolctl import threadpool_info

    before = [(p["filepath"], p["num_threads"]) for p in threadpool_info()]
    c = _case(16, 4, 3, 8)
    _lstm_numba.lstm_forward(c["x"], c["w"], c["u"], c["b"], c["h0"], c["c0"])
    after = [(p["filepath"], p["num_threads"]) for p in threadpool_info()]
    assert [a for a in after if a in before] == before


def test_nan_and_inf_propagate_as_on_the_numpy_path(monkeypatch):
    c = _case(16, 5, 3, 8)
    c["x"][2, 1, 0] = np.nan
    c["x"][5, 0, 0] = np.inf
    c["x"][6, 0, 0] = -np.inf
    _, out_n, _ = _run(c, True, True, True, monkeypatch)
    _, out_r, _ = _run(c, True, True, False, monkeypatch)
    assert np.array_equal(np.isnan(out_n), np.isnan(out_r))
    assert np.isnan(out_n[2]).any() and np.isfinite(out_n[5]).all()
    ok = ~np.isnan(out_r)
    assert _rel(out_n[ok], out_r[ok]) < 1e-5


@pytest.mark.parametrize("kwargs, why", [
    (dict(activation="relu"), "activation"),
    (dict(recurrent_activation="hard_sigmoid"), "recurrent_activation"),
])
def test_numpy_path_where_the_numba_kernel_does_not_apply(kwargs, why, monkeypatch):
    monkeypatch.setattr(_lstm_numba, "available", lambda: True)
    seen = []
    real = LSTMSeq.forward

    def spy(self, *a):
        out = real(self, *a)
        seen.append(self.numba)
        return out

    monkeypatch.setattr(LSTMSeq, "forward", spy)
    x = np.random.default_rng(0).standard_normal((4, 3, 2)).astype(F32)
    LSTM(5, **kwargs)(x, training=True)
    c = {k: v.astype(np.float64) for k, v in _case(4, 3, 2, 5).items()}
    LSTMSeq().forward(c["x"], c["h0"], c["c0"], c["w"], c["u"], c["b"])  # float64: NumPy
    LSTM(5)(x)  # float32 with the default activations takes the numba kernel, with masks
    LSTM(5)(x, mask=np.array([[1, 1, 0]] * 4, bool))
    LSTM(5, recurrent_dropout=0.3)(x, training=True)  # and with recurrent dropout
    assert seen == [False, False, True, True, True], why


def _train(numba: bool, monkeypatch, epochs=3):
    monkeypatch.setattr(_lstm_numba, "available", lambda: numba)
    gn.set_seed(3)
    r = np.random.default_rng(3)
    x = r.standard_normal((96, 12, 4)).astype(F32)
    y = (x[:, :, 0].sum(axis=1) > 0).astype(np.int64)
    model = gn.Sequential([gn.layers.Input((12, 4)), LSTM(16), gn.layers.Dense(2)])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    hist = model.fit(x, y, epochs=epochs, batch_size=32, verbose=0, shuffle=False)
    return hist.history["loss"], model.get_weights()


def test_training_follows_the_numpy_path_and_is_reproducible(monkeypatch):
    loss_n, w_n = _train(True, monkeypatch)
    loss_n2, w_n2 = _train(True, monkeypatch)
    loss_r, w_r = _train(False, monkeypatch)
    # one seed, one thread count: bitwise the same run again
    assert loss_n == loss_n2 and all(np.array_equal(a, b) for a, b in zip(w_n, w_n2))
    np.testing.assert_allclose(loss_n, loss_r, rtol=1e-4)
    for a, b in zip(w_n, w_r):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)
    assert loss_n[-1] < loss_n[0]


def test_a_forked_child_keeps_to_the_numpy_kernel():
    import os

    c = _case(16, 4, 3, 8)
    _lstm_numba.lstm_forward(c["x"], c["w"], c["u"], c["b"], c["h0"], c["c0"])  # pool started
    assert _lstm_numba.available()
    rd, wr = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: numba's OpenMP pool is gone; the LSTM must still run, on NumPy
        ok = False
        try:
            out = LSTM(4)(c["x"])
            ok = not _lstm_numba.available() and np.isfinite(out.data).all()
        finally:
            os.write(wr, b"1" if ok else b"0")
            os._exit(0)
    os.close(wr)
    got = os.read(rd, 1)
    os.waitpid(pid, 0)
    assert got == b"1"
    assert _lstm_numba.available()  # the parent keeps it


def test_vexp_is_float32_exp_within_two_ulp():
    from numba import njit

    from glassnet.layers import _lstm_numba_kernels as k

    @njit
    def many(a):
        out = np.empty_like(a)
        for i in range(a.size):
            out[i] = k.vexp(a[i])
        return out

    x = np.linspace(-87.0, 88.0, 200_001, dtype=F32)
    ref = np.exp(x.astype(np.float64))
    rel = np.abs(many(x).astype(np.float64) - ref) / ref
    assert rel.max() < 2.5e-7  # float32 spacing is 1.2e-7 relative: within about two ulp
    assert np.isnan(many(np.array([np.nan], F32)))[0]
    # ±inf clamp to the ends of the range, as σ(±inf) needs (0 and 1 after the division)
    np.testing.assert_allclose(many(np.array([-np.inf, np.inf], F32)),
                               np.exp(np.array([-87.0, 88.0])), rtol=2.5e-7)
