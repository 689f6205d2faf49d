"""DBN pretraining: each RBM trains on the previous one's hidden probabilities."""

import numpy as np
import pytest

from glassnet.models import DBN, RBM


def test_greedy_stack_equals_manual_rbms():
    X = (np.random.default_rng(0).random((60, 12)) < 0.3).astype(float)
    dbn = DBN([8, 4], epochs=2, batch_size=10, random_state=5).pretrain(X)
    r1 = RBM(8, epochs=2, batch_size=10, learning_rate=0.1, random_state=5).fit(X)
    r2 = RBM(4, epochs=2, batch_size=10, learning_rate=0.1, random_state=6).fit(r1.transform(X))
    np.testing.assert_allclose(dbn.rbms_[0].components_, r1.components_)
    np.testing.assert_allclose(dbn.rbms_[1].components_, r2.components_)
    np.testing.assert_allclose(dbn.transform(X), r2.transform(r1.transform(X)), rtol=1e-6)
    assert dbn.transform(X).shape == (60, 4)


def test_unlabelled_data_is_used_and_errors():
    X = np.random.default_rng(0).random((20, 5))
    U = np.random.default_rng(1).random((30, 5))
    a = DBN([3], epochs=1, random_state=0).fit(X, X_unlabelled=U)
    b = DBN([3], epochs=1, random_state=0).pretrain(np.concatenate([X, U]))
    np.testing.assert_array_equal(a.rbms_[0].components_, b.rbms_[0].components_)
    with pytest.raises(ValueError, match="hidden_sizes"):
        DBN([])
    with pytest.raises(RuntimeError, match="not pretrained"):
        DBN([3]).transform(X)
