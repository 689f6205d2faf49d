"""StringLookup and IntegerLookup take output_mode="binary", Keras 3's deprecated name for
"multi_hot" (keras.io's structured-data tutorial passes it), and store it as "multi_hot"."""

import numpy as np
import pytest

import glassnet as gn


@pytest.mark.parametrize("cls, vocab, data", [
    (gn.layers.StringLookup, ["a", "b", "c"], np.array([["a"], ["c"], ["z"]])),
    (gn.layers.IntegerLookup, [3, 5, 7], np.array([[3], [7], [9]])),
])
def test_binary_is_multi_hot(cls, vocab, data):
    binary = cls(vocabulary=vocab, output_mode="binary")
    multi_hot = cls(vocabulary=vocab, output_mode="multi_hot")
    got = np.asarray(binary(data).numpy())
    # index 0 is the OOV bucket, then the vocabulary in order: first, third, unknown
    want = np.array([[0, 1, 0, 0], [0, 0, 0, 1], [1, 0, 0, 0]], dtype=got.dtype)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got, np.asarray(multi_hot(data).numpy()))
    assert binary.get_config()["output_mode"] == "multi_hot"
    assert cls.from_config(binary.get_config()).output_mode == "multi_hot"


def test_unknown_mode_still_refused():
    with pytest.raises(ValueError, match="output_mode"):
        gn.layers.StringLookup(vocabulary=["a"], output_mode="bits")
