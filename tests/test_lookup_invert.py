"""StringLookup and IntegerLookup with ``invert=True`` return a tensor holding the tokens as
an array, for array and tensor inputs alike (it held the array's memoryview, so ``dtype``
and ``repr`` failed)."""

import numpy as np
import pytest

import glassnet as gn


@pytest.mark.parametrize("cls, vocab, want", [
    (gn.layers.StringLookup, ["a", "b", "c"], [["a", "c", "[UNK]"]]),
    (gn.layers.IntegerLookup, [12, 36, 1138], [[12, 1138, -1]]),
])
@pytest.mark.parametrize("as_tensor", [False, True])
def test_invert_gives_a_tensor_of_tokens(cls, vocab, want, as_tensor):
    ids = np.array([[1, 3, 0]])
    y = cls(vocabulary=vocab, invert=True)(gn.Tensor(ids) if as_tensor else ids)
    assert isinstance(y, gn.Tensor) and isinstance(y.data, np.ndarray)
    assert y.shape == (1, 3) and y.dtype == np.asarray(want).dtype
    assert y.data.tolist() == want and y.tolist() == want
    assert repr(y).startswith("tensor(")
