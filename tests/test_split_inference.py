"""An inference program runs its batch in slices, one recorded program per thread
(glassnet._split), only where every op computes each sample alone; the joined outputs
equal the whole batch's, and every call of one signature gives the same bits."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet import _parallel, _split, ops
from glassnet import layers as L
from glassnet.functional import Linear, LogSoftmax, Softmax
from glassnet.layers._conv_kernels import Conv2DKernel
from glassnet.layers.embedding import EmbeddingLookup
from glassnet.layers.normalization import BatchNormalize, Normalize
from glassnet.models import Model, Sequential


@pytest.fixture
def threads3(region, monkeypatch):
    """Three threads for every batch (no size floor); the slices run on libgomp's team
    ("openmp", where it loads) or one after the other ("serial")."""
    monkeypatch.setattr(_split, "MIN_ELEMENTS", 0)
    monkeypatch.setattr(_split, "MIN_ROWS", 1)
    # inside a region a kernel sees one thread, as the real threads() says
    monkeypatch.setattr(_parallel, "threads",
                        lambda: 1 if getattr(_parallel._inside, "on", False) else 3)
    return region


def _entry(model, kind="predict"):
    (entry,) = [v for k, v in model._stepper.programs.items() if k[0] == kind]
    return entry[0]


# ------------------------------------------------------------------ the ops' answers
class _Random(ops.Neg):
    random = True


ROWS = [
    # (op, input shapes, batched, output shape, rows apart?)
    (ops.Add(), [(8, 3), (3,)], [True, False], (8, 3), True),  # a bias
    (ops.Add(), [(8, 3), (1, 3)], [True, False], (8, 3), True),
    (ops.Add(), [(8, 3), (8, 3)], [True, False], (8, 3), False),  # another batch's array
    (ops.Mul(), [(8, 3), (8, 3)], [True, True], (8, 3), True),
    (ops.Relu(), [(8, 3)], [True], (8, 3), True),
    (_Random(), [(8, 3)], [True], (8, 3), False),
    (ops.Sum(axis=0), [(8, 3)], [True], (3,), False),
    (ops.Sum(axis=None), [(8, 3)], [True], (), False),
    (ops.Mean(axis=(1, 2)), [(8, 3, 4)], [True], (8,), True),
    (ops.Mean(axis=-2), [(8, 3, 4)], [True], (8, 4), True),
    (ops.Max(axis=-3), [(8, 3, 4)], [True], (3, 4), False),
    (ops.Reshape((8, 6)), [(8, 2, 3)], [True], (8, 6), True),
    (ops.Reshape((16, 3)), [(8, 6)], [True], (16, 3), False),
    (ops.Transpose((0, 2, 1)), [(8, 2, 3)], [True], (8, 3, 2), True),
    (ops.Transpose((1, 0)), [(8, 3)], [True], (3, 8), False),
    (ops.Transpose(None), [(8, 3)], [True], (3, 8), False),
    (ops.GetItem((slice(None), slice(1, None))), [(8, 3)], [True], (8, 2), True),
    (ops.GetItem((Ellipsis, 0)), [(8, 3)], [True], (8,), True),
    (ops.GetItem((Ellipsis, 0, 0)), [(8, 3)], [True], (), False),
    (ops.GetItem(0), [(8, 3)], [True], (3,), False),
    (ops.GetItem(slice(0, 4)), [(8, 3)], [True], (4, 3), False),
    (ops.GetItem((slice(None), np.array([0, 2]))), [(8, 3)], [True], (8, 2), False),
    (ops.GetItem((slice(None), True)), [(8, 3)], [True], (8, 1, 3), False),
    (ops.MatMul(), [(8, 3), (3, 5)], [True, False], (8, 5), True),
    (ops.MatMul(), [(5, 8), (8, 3)], [False, True], (5, 3), False),  # mixes samples
    (ops.MatMul(), [(8, 2, 3), (8, 3, 4)], [True, True], (8, 2, 4), True),
    (ops.MatMul(), [(8, 3), (8, 3, 4)], [True, True], (8, 8, 4), False),
    (ops.Concatenate(axis=-1), [(8, 3), (8, 2)], [True, True], (8, 5), True),
    (ops.Concatenate(axis=0), [(8, 3), (8, 3)], [True, True], (16, 3), False),
    (ops.Concatenate(axis=1), [(8, 3), (8, 2)], [True, False], (8, 5), False),
    (ops.Stack(axis=1), [(8, 3), (8, 3)], [True, True], (8, 2, 3), True),
    (ops.Stack(axis=0), [(8, 3), (8, 3)], [True, True], (2, 8, 3), False),
    (ops.Pad(((0, 0), (1, 1))), [(8, 3)], [True], (8, 5), True),
    (ops.Pad(((1, 0), (0, 0))), [(8, 3)], [True], (9, 3), False),
    (Softmax(-1), [(8, 3)], [True], (8, 3), True),
    (Softmax(0), [(8, 3)], [True], (8, 3), False),
    (LogSoftmax(1), [(8, 3)], [True], (8, 3), True),
    (Linear("relu"), [(8, 3), (3, 4), (4,)], [True, False, False], (8, 4), True),
    (Linear(), [(8, 3), (3, 4)], [True, True], (8, 4), False),  # a batch's own weights
    (Conv2DKernel(), [(8, 5, 5, 2), (3, 3, 2, 4)], [True, False], (8, 3, 3, 4), True),
    (EmbeddingLookup(), [(10, 4), (8, 6)], [False, True], (8, 6, 4), True),
    (Normalize((-1,), 1e-3), [(8, 3), (3,), (3,)], [True, False, False], (8, 3), True),
    (BatchNormalize((0,), 1e-3, True, True, (None, None), 0.99), [(8, 3), (3,), (3,)],
     [True, False, False], (8, 3), False),
]


@pytest.mark.parametrize("op, shapes, batched, out, expected", ROWS,
                         ids=[f"{r[0].describe()}-{i}" for i, r in enumerate(ROWS)])
def test_rows_apart(op, shapes, batched, out, expected):
    got = bool(op.rows_apart(shapes, batched, out)) and not op.random
    assert got is expected


def test_batch_rows_follows_the_batch_through_the_ops():
    shapes = {0: (8, 3), 1: (3, 4), 2: (8, 4), 3: (4,), 4: (4,), 5: (8, 4)}
    lin = [(ops.MatMul(), (0, 1), 2)]
    # a matrix product threads inside the BLAS: not counted as work to cut
    assert _split.batch_rows(lin, [0], [2], shapes.__getitem__) == (8, 0)
    # an op on weights alone (a kernel constraint) is not a batch op
    both = [(ops.Neg(), (3,), 4), (ops.MatMul(), (0, 1), 2), (ops.Add(), (2, 4), 5)]
    assert _split.batch_rows(both, [0], [5], shapes.__getitem__) == (8, 32)
    # an output made of weights alone has no rows to join
    assert _split.batch_rows(both, [0], [5, 4], shapes.__getitem__) == (0, 0)
    # one op that mixes the samples keeps the program whole
    shapes[6] = (4,)
    mixed = [*lin, (ops.Sum(axis=0), (2,), 6)]
    assert _split.batch_rows(mixed, [0], [6], shapes.__getitem__) == (0, 0)
    # feeds of two batch sizes
    shapes[7] = (5, 3)
    assert _split.batch_rows(lin, [0, 7], [2], shapes.__getitem__) == (0, 0)


def test_cut_is_one_slice_a_thread(monkeypatch):
    monkeypatch.setattr(_parallel, "threads", lambda: 2)
    assert _split.cut(128, _split.MIN_ELEMENTS) == [slice(0, 64), slice(64, 128)]
    assert _split.cut(129, _split.MIN_ELEMENTS) == [slice(0, 65), slice(65, 129)]
    assert _split.cut(128, _split.MIN_ELEMENTS - 1) == []  # small: whole
    assert _split.cut(2 * _split.MIN_ROWS - 1, 1 << 30) == []  # too few samples
    monkeypatch.setattr(_parallel, "threads", lambda: 1)
    assert _split.cut(1 << 12, 1 << 30) == []


# ------------------------------------------------------------------ models
def _convnet():
    gn.set_seed(3)
    m = Sequential([gn.Input((8, 8, 2)), L.Conv2D(4, 3, activation="relu"),
                    L.MaxPooling2D(2), L.BatchNormalization(), L.Flatten(), L.Dropout(0.5),
                    L.Dense(5, activation="softmax")])
    m.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


def _data(n, seed=0):
    r = np.random.default_rng(seed)
    return r.normal(size=(n, 8, 8, 2)).astype("float32"), r.integers(0, 5, n)


@pytest.mark.parametrize("n", [12, 10, 3])  # three equal slices; 4, 4, 2; one sample each
def test_convnet_predict_in_slices_equals_the_whole_batch(threads3, n):
    x, _ = _data(2 * n)
    m = _convnet()
    ref = m(x[:n], training=False).numpy()
    first = m.predict(x, batch_size=n, verbose=0)
    prog = _entry(m)
    assert isinstance(prog, _split.SplitProgram)
    assert [s.stop - s.start for s in prog.slices] == [len(range(n)[s]) for s in prog.slices]
    assert len(prog.slices) == min(3, n)
    np.testing.assert_allclose(first[:n], ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(first[n:], m(x[n:], training=False).numpy(),
                               rtol=1e-5, atol=1e-6)
    # the recording call's values come from the slices too: every call the same bits
    again = m.predict(x, batch_size=n, verbose=0)
    np.testing.assert_array_equal(first, again)


def test_evaluate_in_slices_equals_the_eager_loss_and_metric(threads3):
    x, y = _data(24, seed=1)
    m = _convnet()
    loss, acc = m.evaluate(x, y, batch_size=12, verbose=0)
    assert isinstance(_entry(m, "test"), _split.SplitProgram)
    m.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"],
              jit_compile=False)
    loss0, acc0 = m.evaluate(x, y, batch_size=12, verbose=0)
    assert loss == pytest.approx(loss0, rel=1e-5)
    assert acc == acc0


def test_a_model_that_mixes_samples_runs_whole(threads3):
    gn.set_seed(0)
    inp = gn.Input((4,))
    h = L.Dense(3)(inp)
    out = L.Lambda(lambda t: t - ops.mean(t, axis=0, keepdims=True))(h)
    m = Model(inp, out)
    x = np.random.default_rng(2).normal(size=(12, 4)).astype("float32")
    got = m.predict(x, batch_size=12, verbose=0)
    assert not isinstance(_entry(m), _split.SplitProgram)
    np.testing.assert_allclose(got, m(x).numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(m.predict(x, batch_size=12, verbose=0), got)


def test_two_inputs_two_outputs_and_a_mask(threads3):
    gn.set_seed(1)
    ids = gn.Input((6,), dtype="int64")
    num = gn.Input((3,))
    e = L.Embedding(20, 4, mask_zero=True)(ids)
    pooled = L.GlobalAveragePooling1D()(e)
    both = L.Concatenate()([pooled, L.Dense(4, activation="tanh")(num)])
    out1 = L.Dense(2, activation="softmax", name="cls")(both)
    out2 = L.Dense(1, name="reg")(both)
    m = Model([ids, num], [out1, out2])
    m.compile("sgd", ["sparse_categorical_crossentropy", "mse"])
    r = np.random.default_rng(3)
    xi = r.integers(0, 20, (12, 6)) * (np.arange(6) < r.integers(1, 7, (12, 1)))
    xn = r.normal(size=(12, 3)).astype("float32")
    got = m.predict([xi, xn], batch_size=12, verbose=0)
    assert isinstance(_entry(m), _split.SplitProgram)
    ref = m([xi, xn])
    for g, w in zip(got, ref):
        np.testing.assert_allclose(g, w.numpy(), rtol=1e-5, atol=1e-6)
    y = [r.integers(0, 2, 12), r.normal(size=(12, 1)).astype("float32")]
    total = m.evaluate([xi, xn], y, batch_size=12, verbose=0)
    m.compile("sgd", ["sparse_categorical_crossentropy", "mse"], jit_compile=False)
    np.testing.assert_allclose(total, m.evaluate([xi, xn], y, batch_size=12, verbose=0),
                               rtol=1e-5)


def test_without_the_threads_the_whole_program_runs(threads3, monkeypatch):
    x, _ = _data(12)
    m = _convnet()
    first = m.predict(x, batch_size=12, verbose=0)
    assert isinstance(_entry(m), _split.SplitProgram)
    monkeypatch.setattr(_parallel, "threads", lambda: 1)  # (a forked child process)
    np.testing.assert_allclose(m.predict(x, batch_size=12, verbose=0), first,
                               rtol=1e-5, atol=1e-6)


def test_a_frozen_weight_records_the_slices_again(threads3):
    x, _ = _data(12)
    m = _convnet()
    m.predict(x, batch_size=12, verbose=0)
    old = _entry(m)
    m.layers[-1].trainable = False
    m.predict(x, batch_size=12, verbose=0)
    assert _entry(m) is not old and isinstance(_entry(m), _split.SplitProgram)
