"""DBN pretraining: each RBM trains on the previous one's hidden probabilities."""

import numpy as np
import pytest

import glassnet as gn
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


@pytest.fixture(scope="module")
def digits_split():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    X = (d.data / 16.0).astype(np.float32)
    return train_test_split(X, d.target, train_size=500, test_size=500, random_state=0,
                            stratify=d.target)


@pytest.fixture(scope="module")
def pretrained(digits_split):
    Xtr = digits_split[0]
    return DBN([64, 32], epochs=20, learning_rate=0.1, random_state=0).pretrain(Xtr)


def test_to_sequential_copies_the_rbms_and_matches_transform(pretrained, digits_split):
    import glassnet as gn

    gn.set_seed(0)
    model = pretrained.to_sequential(10)
    dense = model.layers
    assert [ly.units for ly in dense] == [64, 32, 10]
    for ly, rbm in zip(dense, pretrained.rbms_):
        kernel, bias = ly.get_weights()
        np.testing.assert_array_equal(kernel, rbm.components_.T)
        np.testing.assert_array_equal(bias, rbm.intercept_hidden_)
    # the hidden part of the network computes exactly the DBN's upward pass
    X = digits_split[1][:50]
    hidden = gn.models.Sequential(dense[:-1])
    np.testing.assert_allclose(hidden.predict(X), pretrained.transform(X), rtol=1e-5,
                               atol=1e-6)
    probs = model.predict(X)
    assert probs.shape == (50, 10)
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-5)


def _train_head(dbn, Xtr, ytr, Xte, yte, fine_tune: bool) -> float:
    import glassnet as gn

    gn.set_seed(1)
    model = dbn.to_sequential(10)
    if not fine_tune:
        for ly in model.layers[:-1]:
            ly.trainable = False
    model.compile(gn.optimizers.Adam(1e-2), "sparse_categorical_crossentropy", ["accuracy"])
    model.fit(Xtr, ytr, epochs=15, batch_size=32, verbose=0)
    return model.evaluate(Xte, yte, verbose=0, return_dict=True)["accuracy"]


def test_fine_tuning_beats_the_frozen_features(pretrained, digits_split):
    Xtr, Xte, ytr, yte = digits_split
    frozen = _train_head(pretrained, Xtr, ytr, Xte, yte, fine_tune=False)
    tuned = _train_head(pretrained, Xtr, ytr, Xte, yte, fine_tune=True)
    assert frozen > 0.5  # the pretrained features carry class information ...
    assert tuned > frozen + 0.05  # ... and backprop through every layer improves on them
    assert tuned > 0.85


def test_fit_predict_score_and_saved_classifier(tmp_path, digits_split):
    import glassnet as gn

    Xtr, Xte, ytr, yte = digits_split
    gn.set_seed(2)
    dbn = DBN([64], epochs=10, learning_rate=0.1, fine_tune_epochs=10,
              fine_tune_learning_rate=1e-2, random_state=0).fit(Xtr, ytr, X_unlabelled=Xte)
    pred = dbn.predict(Xte)
    assert pred.shape == (500,) and set(np.unique(pred)) <= set(range(10))
    assert dbn.score(Xte, yte) == pytest.approx((pred == yte).mean())
    assert dbn.score(Xte, yte) > 0.85
    dbn.model_.save(tmp_path / "dbn.glassnet")
    back = gn.models.load_model(tmp_path / "dbn.glassnet")
    np.testing.assert_array_equal(back.predict(Xte), dbn.model_.predict(Xte))
    with pytest.raises(ValueError, match="lengths differ"):
        DBN([4], epochs=1).fit(Xtr, ytr[:10])
    with pytest.raises(RuntimeError, match="fine-tuned"):
        DBN([4], epochs=1).pretrain(Xtr).predict(Xte)


def test_device_argument_is_checked():
    with pytest.raises(ValueError, match="device must be 'cpu' or 'gpu'"):
        DBN([4], device="tpu")
    if not gn.backend.gpu_available():
        with pytest.raises(RuntimeError, match="needs CuPy"):
            DBN([4], device="gpu")
