"""An inference program lets a max pooling take over its convolution's ReLU
(``Program._fuse_inference``, ``Pool2DKernel.absorb``): ``max(relu(x)) == relu(max(x))``
bit for bit, on a quarter of the values. Only where nothing else reads the convolution's
output, only for max pooling, never in a training program."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.layers import _conv_kernels as ck
from glassnet.layers.pooling import Pool2DKernel


def _ops(prog, cls):
    return [fn for fn, _, _ in prog.forward_nodes if isinstance(fn, cls)]


def _convnet(pool="max"):
    P = gn.layers.MaxPooling2D if pool == "max" else gn.layers.AveragePooling2D
    gn.set_seed(0)
    m = gn.Sequential([gn.Input((12, 12, 2)), gn.layers.Conv2D(4, 3, activation="relu"),
                       P(2), gn.layers.Flatten(), gn.layers.Dense(3)])
    m.compile("sgd", gn.losses.SparseCategoricalCrossentropy(from_logits=True))
    return m


@pytest.mark.parametrize("numba", ["0", "1"])
def test_pooling_takes_the_relu_and_predictions_keep_their_bits(numba, monkeypatch,
                                                                recorded_programs):
    if numba == "1":
        pytest.importorskip("numba")
    monkeypatch.setenv("GLASSNET_NUMBA", numba)
    m = _convnet()
    x = np.random.default_rng(1).normal(size=(8, 12, 12, 2)).astype(np.float32)
    x[0, :3, :3] = -0.0  # windows of negative zeros and negatives only
    m.layers[0].set_weights([np.abs(m.layers[0].get_weights()[0]), np.zeros(4, np.float32)])
    progs = recorded_programs
    want = m.predict(x, verbose=0)  # recorded: the convolution's own ReLU
    got = [m.predict(x, verbose=0) for _ in range(2)]  # replayed: the pooling's
    (prog,) = progs
    (pool,) = _ops(prog, Pool2DKernel)
    # with numba and a CBLAS library the pooling takes the whole convolution too
    # (tests/test_conv_pool_fused.py); its ReLU is the pooling's either way
    (conv,) = [pool.conv] if pool.conv is not None else _ops(prog, ck.Conv2DKernel)
    assert not _ops(prog, ck.Conv2DKernel) or pool.conv is None
    assert not conv.relu and pool.relu
    for g in got:
        np.testing.assert_array_equal(g, want)
    eager = _convnet()
    eager.set_weights(m.get_weights())
    eager.compile("sgd", gn.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=False)
    np.testing.assert_array_equal(eager.predict(x, verbose=0), want)


def test_average_pooling_and_training_keep_the_convolutions_relu(recorded_programs):
    progs = recorded_programs
    x = np.random.default_rng(2).normal(size=(8, 12, 12, 2)).astype(np.float32)
    y = np.arange(8) % 3
    m = _convnet("avg")
    m.predict(x, verbose=0)
    m.train_on_batch(x, y)
    m2 = _convnet("max")
    m2.train_on_batch(x, y)
    assert len(progs) == 3
    for prog in progs:
        assert all(c.relu for c in _ops(prog, ck.Conv2DKernel))
        assert not any(p.relu for p in _ops(prog, Pool2DKernel))


def test_a_convolution_read_twice_keeps_its_relu(recorded_programs):
    gn.set_seed(0)
    i = gn.Input((12, 12, 2))
    c = gn.layers.Conv2D(4, 3, activation="relu")(i)
    a = gn.layers.Flatten()(gn.layers.MaxPooling2D(2)(c))
    b = gn.layers.GlobalAveragePooling2D()(c)  # a second reader of the ReLU's output
    m = gn.Model(i, gn.layers.Dense(3)(gn.layers.Concatenate()([a, b])))
    m.compile("sgd", "mse")
    progs = recorded_programs
    x = np.random.default_rng(3).normal(size=(4, 12, 12, 2)).astype(np.float32)
    want = m.predict(x, verbose=0)
    np.testing.assert_array_equal(m.predict(x, verbose=0), want)
    (prog,) = progs
    assert all(cv.relu for cv in _ops(prog, ck.Conv2DKernel))
    assert not any(p.relu for p in _ops(prog, Pool2DKernel))


@pytest.mark.parametrize("numba", ["0", "1"])
@pytest.mark.parametrize("pads", [((0, 0), (0, 0)), ((0, 1), (0, 1))])
def test_pooled_relu_is_the_relu_pooled_bit_for_bit(numba, pads, monkeypatch):
    if numba == "1":
        pytest.importorskip("numba")
    monkeypatch.setenv("GLASSNET_NUMBA", numba)
    x = np.random.default_rng(4).normal(size=(3, 7, 7, 5)).astype(np.float32)
    x[0, :2, :2] = -0.0
    x[1, :2, :2, 0] = [[-1.0, np.nan], [-2.0, 3.0]]  # NaN wins its window
    x[2, 2:4, 2:4, 1] = -np.inf
    with gn.no_grad():
        fused = Pool2DKernel("max", (2, 2), (2, 2), pads)
        conv = ck.Conv2DKernel(relu=True)
        fused.absorb(conv)
        assert fused.relu and not conv.relu
        got = fused.forward(x.copy())
        want = Pool2DKernel("max", (2, 2), (2, 2), pads).forward(np.maximum(x, 0))
    assert np.array_equal(got, want, equal_nan=True)
    assert np.array_equal(np.signbit(got), np.signbit(want))
