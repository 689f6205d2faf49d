"""Odd inputs to fit/evaluate are one clear error (issue #20 item 8, the data items).

A Dense with 10^8-10^12 units fails fast in ``Layer.add_weight`` (the last test here); a
model file that declares such a layer is refused before allocating
(tests/test_hostile_files.py, the units bomb).
"""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet.layers import Dense


def _model(loss="binary_crossentropy", units=1, activation="sigmoid"):
    m = gn.Sequential([Dense(units, activation=activation, input_dim=2)])
    m.compile("adam", loss)
    return m


X = np.zeros((4, 2), np.float32)


def test_float64_beyond_float32_is_refused_not_turned_into_inf():
    x = np.full((4, 2), 1e39)  # finite in float64, inf in float32
    assert np.isfinite(x).all()
    with pytest.raises(ValueError, match="too large for float32"):
        _model().fit(x, np.zeros(4), verbose=0)
    with pytest.raises(ValueError, match="too large"):
        _model().predict(x, verbose=0)
    _model().fit(np.full((4, 2), 1e30), np.zeros(4), verbose=0)  # large but representable


def test_binary_crossentropy_refuses_labels_outside_0_1():
    with pytest.raises(ValueError, match=r"targets in \[0, 1\].*from 0 to 2"):
        _model().fit(X, np.array([0, 1, 2, 0]), verbose=0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        _model().evaluate(X, np.array([0, -1, 1, 0]), verbose=0)
    _model().fit(X, np.array([0, 0.3, 1, 0.7]), verbose=0)  # soft labels are fine
    # another loss is not held to it
    _model("mse").fit(X, np.array([0, 1, 2, 0]), verbose=0)


def test_negative_sample_weight_is_refused():
    with pytest.raises(ValueError, match="sample_weight must be >= 0"):
        _model().fit(X, np.zeros(4), sample_weight=np.array([1, -1, 1, 1.0]), verbose=0)
    with pytest.raises(ValueError, match="sample_weight must be >= 0"):
        _model().evaluate(X, np.zeros(4), sample_weight=np.array([1, -1, 1, 1.0]), verbose=0)


@pytest.mark.parametrize("cw", [{5: 2.0}, {-1: 2.0}, {0.5: 2.0}, {"a": 1.0}])
def test_class_weight_naming_an_unknown_class_is_refused(cw):
    with pytest.raises(ValueError, match="unknown class"):
        _model().fit(X, np.array([0, 1, 1, 0]), class_weight=cw, verbose=0)


def test_class_weight_on_one_hot_targets_knows_the_class_count():
    m = _model("categorical_crossentropy", units=3, activation="softmax")
    y = np.eye(3)[[0, 1, 2, 0]]
    m.fit(X, y, class_weight={2: 3.0}, verbose=0)
    with pytest.raises(ValueError, match="0..2"):
        m.fit(X, y, class_weight={3: 3.0}, verbose=0)


def test_a_generator_or_dict_as_x_is_supported_or_one_clear_error():
    # generators of (x, y) batches are taken as Keras takes them; anything else that is not
    # an array is one clear error naming the problem, never "dtype object"
    def batches():
        for _ in range(2):
            yield X, np.zeros(4)

    _model().fit(batches(), epochs=1, verbose=0)
    calls = [
        (lambda m: m.fit((r for r in X), np.zeros(4), verbose=0), "generator"),
        (lambda m: m.fit(X, (r for r in np.zeros(4)), verbose=0), "generator or iterator"),
        (lambda m: m.fit({"a": X}, np.zeros(4), verbose=0), "dict"),
    ]
    for call, match in calls:
        with pytest.raises((TypeError, ValueError), match=match) as e:
            call(_model())
        assert "dtype object" not in str(e.value)


def test_evaluate_and_predict_on_empty_input_do_not_talk_about_training():
    for call in (lambda m: m.evaluate(np.zeros((0, 2)), np.zeros(0), verbose=0),
                 lambda m: m.fit(np.zeros((0, 2)), np.zeros(0), verbose=0)):
        with pytest.raises(ValueError, match="no samples") as e:
            call(_model())
        assert "train" not in str(e.value)


def test_a_weight_larger_than_memory_fails_fast_naming_the_layer():
    """A Dense with 10**12 units is refused before anything is allocated (issue #20 item 8)."""
    import resource

    import glassnet as gn

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    layer = gn.layers.Dense(10**12, name="huge")
    with pytest.raises(MemoryError, match=r"Layer 'huge': weight 'kernel' of shape \(4, "
                                          r"1000000000000\) needs 14901\.2 GiB"):
        layer(np.ones((2, 4), np.float32))
    # nothing near the size was touched (peak RSS grew by less than 100 MB)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100 * 1024
