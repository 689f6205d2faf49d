"""``layers.Wrapper``: a layer of one's own around another trains (beside Keras in
test_fit_matches_keras), owns the wrapped layer's weights, and saves and loads by its config
(the wrapped layer's inside it)."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import layers as L


@gn.saving.register_keras_serializable(package="tests")
class Doubled(L.Wrapper):
    def call(self, x):
        return self.layer(x) * 2.0


def test_a_wrapper_owns_the_wrapped_weights_and_round_trips(tmp_path):
    gn.set_seed(0)
    m = gn.Sequential([gn.Input((4,)), Doubled(L.Dense(3, activation="tanh")), L.Dense(1)])
    m.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(0).normal(size=(8, 4)).astype("float32")
    inner = m.layers[0].layer
    assert [w.shape for w in m.layers[0].weights] == [(4, 3), (3,)]
    assert m.layers[0].weights[0] is inner.kernel
    np.testing.assert_allclose(m.layers[0](x).data, 2 * inner(x).data, rtol=1e-6)
    m.save(tmp_path / "m.glassnet")
    back = gn.saving.load_model(tmp_path / "m.glassnet")
    np.testing.assert_allclose(back.predict(x, verbose=0), m.predict(x, verbose=0), rtol=1e-6)
    cfg = m.layers[0].get_config()
    again = Doubled.from_config(cfg)
    assert again.layer.get_config()["units"] == 3 and again.layer is not inner
    with pytest.raises(ValueError, match="isn't a supported layer"):
        Doubled("dense")
    pytest.importorskip("onnx")
    from glassnet.interop.onnx_export import export_onnx

    with pytest.raises(ValueError, match="Doubled"):  # ONNX never holds Python of one's own
        export_onnx(m, tmp_path / "m.onnx")
