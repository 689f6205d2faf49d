"""``layers.InputSpec``: a layer of one's own declares what it takes and every call checks
it (eager and functional), with Keras 3's rules and messages."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.layers import InputSpec


def _layer(spec):
    class Own(gn.layers.Layer):
        def __init__(self):
            super().__init__(name="own")
            self.input_spec = spec

        def call(self, x):
            return x[0] if isinstance(x, list) else x

    return Own()


@pytest.mark.parametrize("spec,good,bad,words", [
    (InputSpec(ndim=3), (2, 4, 5), (2, 4), "expected ndim=3, found ndim=2"),
    (InputSpec(min_ndim=3), (2, 4, 5, 1), (2, 4), "expected min_ndim=3, found ndim=2"),
    (InputSpec(max_ndim=2), (2, 4), (2, 4, 5), "expected max_ndim=2, found ndim=3"),
    (InputSpec(axes={-1: 5}), (2, 3, 5), (2, 3, 4), "expected axis -1 of input shape to "
                                                    "have value 5"),
    (InputSpec(shape=(None, 4, 1), allow_last_axis_squeeze=True), (2, 4), (2, 5),
     "expected shape=(None, 4, 1)"),
    (InputSpec(dtype="float64"), (2, 3), (2, 3), "expected dtype=float64, found dtype=float32"),
], ids=["ndim", "min_ndim", "max_ndim", "axes", "shape-squeeze", "dtype"])
def test_a_call_that_does_not_fit_is_refused_naming_the_layer(spec, good, bad, words):
    layer = _layer(spec)
    ok = np.zeros(good, "float64" if spec.dtype else "float32")
    assert layer(ok).shape == good
    with pytest.raises(ValueError, match="Input 0 of layer 'own' is incompatible") as e:
        layer(np.zeros(bad, "float32"))
    assert words in str(e.value)


def test_functional_graphs_check_it_when_the_layer_is_placed():
    layer = _layer(InputSpec(ndim=3))
    with pytest.raises(ValueError, match="expected ndim=3, found ndim=2"):
        layer(gn.Input((4,)))
    assert layer(gn.Input((4, 2))).shape == (None, 4, 2)


def test_one_spec_per_input_and_their_count():
    layer = _layer([InputSpec(ndim=2), InputSpec(ndim=3, name="context")])
    layer([np.zeros((2, 3)), np.zeros((2, 3, 4))])
    with pytest.raises(ValueError, match="Input 1 with name 'context'.*ndim=3, found ndim=2"):
        layer([np.zeros((2, 3)), np.zeros((2, 3))])
    with pytest.raises(ValueError, match="expects 2 input"):
        layer([np.zeros((2, 3))])


def test_bad_specs_are_refused_at_once():
    with pytest.raises(TypeError, match="integer keys"):
        InputSpec(axes={"last": 3})
    with pytest.raises(ValueError, match="greater than the maximum"):
        InputSpec(ndim=2, axes={2: 3})
    assert "ndim=3" in repr(InputSpec(ndim=3))
    assert InputSpec.from_config(InputSpec(min_ndim=2).get_config()).min_ndim == 2
