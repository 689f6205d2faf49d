"""glassnet.utils: Keras's helpers, checked against Keras's documented examples and NumPy."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.utils import normalize, pad_sequences, set_random_seed, to_categorical


def test_to_categorical_is_an_identity_row_per_label():
    y = np.array([3, 0, 2, 2, 1])
    np.testing.assert_array_equal(to_categorical(y), np.eye(4, dtype=np.float32)[y])
    assert to_categorical(y, 6).shape == (5, 6)
    assert to_categorical(y.reshape(5, 1)).shape == (5, 4)  # Keras drops a trailing 1
    assert to_categorical(y.reshape(5, 1, 1)).shape == (5, 1, 4)
    assert to_categorical(np.array([1.0, 0.0])).dtype == np.float32
    assert to_categorical([1, 0], dtype="int64").dtype == np.int64


@pytest.mark.parametrize(("y", "k", "err", "msg"), [
    ([0, 3], 3, ValueError, r"\[0, 3\)"),
    ([-1], None, ValueError, "class ids"),
    ([0.5], None, ValueError, "integer"),
    (["a"], None, TypeError, "integer"),
    ([1], 0, ValueError, "num_classes"),
])
def test_to_categorical_rejects_bad_labels(y, k, err, msg):
    with pytest.raises(err, match=msg):
        to_categorical(y, k)


def test_pad_sequences_matches_kerass_documented_examples():
    seq = [[1], [2, 3], [4, 5, 6]]
    np.testing.assert_array_equal(pad_sequences(seq), [[0, 0, 1], [0, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(pad_sequences(seq, value=-1),
                                  [[-1, -1, 1], [-1, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(pad_sequences(seq, padding="post"),
                                  [[1, 0, 0], [2, 3, 0], [4, 5, 6]])
    np.testing.assert_array_equal(pad_sequences(seq, maxlen=2), [[0, 1], [2, 3], [5, 6]])
    np.testing.assert_array_equal(pad_sequences(seq, maxlen=2, truncating="post"),
                                  [[0, 1], [2, 3], [4, 5]])
    assert pad_sequences(seq).dtype == np.int32
    assert pad_sequences([[], [1]]).tolist() == [[0], [1]]


def test_pad_sequences_keeps_feature_axes_and_agrees_with_torch():
    rs = np.random.default_rng(0)
    seqs = [rs.standard_normal((n, 3)).astype(np.float32) for n in (4, 1, 6)]
    out = pad_sequences(seqs, dtype="float32", padding="post")
    assert out.shape == (3, 6, 3)
    torch = pytest.importorskip("torch")
    ref = torch.nn.utils.rnn.pad_sequence([torch.tensor(s) for s in seqs], batch_first=True)
    np.testing.assert_array_equal(out, ref.numpy())


def test_pad_sequences_errors():
    with pytest.raises(ValueError, match="'pre' or 'post'"):
        pad_sequences([[1]], padding="middle")
    with pytest.raises(ValueError, match="same shape"):
        pad_sequences([np.zeros((2, 3)), np.zeros((2, 4))])
    with pytest.raises(ValueError, match="scalar"):
        pad_sequences([1, 2])
    with pytest.raises(ValueError, match="maxlen"):
        pad_sequences([[1]], maxlen=-1)


def test_normalize_and_seed():
    x = np.array([[3.0, 4.0], [0.0, 0.0]])
    np.testing.assert_allclose(normalize(x), [[0.6, 0.8], [0.0, 0.0]])
    np.testing.assert_allclose(normalize(x, axis=0, order=1), x / np.array([3.0, 4.0]))
    set_random_seed(5)
    a = gn.backend.rng().random(3)
    gn.set_seed(5)
    np.testing.assert_array_equal(a, gn.backend.rng().random(3))


def test_set_random_seed_seeds_python_and_numpy_as_keras_does():
    import random
    set_random_seed(7)
    first = (random.random(), np.random.rand(3), gn.backend.rng().random(3))
    set_random_seed(7)
    again = (random.random(), np.random.rand(3), gn.backend.rng().random(3))
    assert first[0] == again[0]
    np.testing.assert_array_equal(first[1], again[1])
    np.testing.assert_array_equal(first[2], again[2])
    np.random.seed(7)
    np.testing.assert_array_equal(first[1], np.random.rand(3))  # the same draw as NumPy's
    with pytest.raises(ValueError, match="seed"):
        set_random_seed(-1)
