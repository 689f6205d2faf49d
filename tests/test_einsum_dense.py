"""EinsumDense (Keras 3): kernel and bias shapes derived from the equation as Keras derives
them (so weights load both ways), values equal to NumPy's einsum and to Keras's, gradients
through the einsum (with '...' too), and errors that name the layer."""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest

import glassnet as gn
from glassnet import layers as L

HAS_KERAS = importlib.util.find_spec("keras") is not None
R = np.random.default_rng(0)

# equation, output_shape, bias_axes, input shape, kernel shape, bias shape, output shape
CASES = [
    ("ab,bc->ac", 4, None, (3, 5), (5, 4), None, (3, 4)),
    ("abc,cd->abd", (6, 4), "d", (3, 6, 5), (5, 4), (4,), (3, 6, 4)),
    ("abc,cde->abde", (6, 2, 3), "de", (3, 6, 5), (5, 2, 3), (2, 3), (3, 6, 2, 3)),
    ("...b,bc->...c", 4, "c", (3, 6, 5), (5, 4), (4,), (3, 6, 4)),
    ("ab...,bc->ac...", (4,), "c", (3, 5, 7), (5, 4), (4, 1), (3, 4, 7)),
    ("abc,cd->abd", (None, 4), None, (3, 6, 5), (5, 4), None, (3, 6, 4)),
    ("abcd,cde->abe", (6, 2), "e", (3, 6, 5, 4), (5, 4, 2), (2,), (3, 6, 2)),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] + str(c[1]) for c in CASES])
def test_shapes_and_values(case):
    eq, out, bias_axes, shape, kshape, bshape, yshape = case
    ly = L.EinsumDense(eq, output_shape=out, bias_axes=bias_axes, activation="tanh",
                       bias_initializer="random_normal")
    x = R.standard_normal(shape).astype("float32")
    y = ly(x)
    assert tuple(ly.kernel.shape) == kshape
    assert (ly.bias is None) == (bshape is None)
    if bshape is not None:
        assert tuple(ly.bias.shape) == bshape
    assert tuple(y.shape) == yshape
    if None not in np.atleast_1d(np.asarray(out, dtype=object)):  # (Keras keeps a None)
        assert ly.compute_output_shape(shape) == yshape
    want = np.einsum(eq, x, ly.kernel.data) + (0 if ly.bias is None else ly.bias.data)
    np.testing.assert_allclose(y.data, np.tanh(want), rtol=1e-5, atol=1e-6)
    w = R.standard_normal(yshape)
    gn.gradcheck(lambda a, k: (gn.ops.tanh(gn.ops.einsum(eq, a, k)) * gn.tensor(w)).sum(),
                 x.astype(float), ly.kernel.data.astype(float))


def test_trains_in_a_model_and_round_trips_its_config(tmp_path):
    gn.set_seed(0)
    i = gn.Input((6, 5))
    h = L.EinsumDense("abc,cde->abde", output_shape=(6, 2, 3), bias_axes="de",
                      activation="relu")(i)
    o = L.EinsumDense("...de,dec->...c", output_shape=1)(h)
    m = gn.Model(i, o)
    m.compile(optimizer=gn.optimizers.Adam(0.01), loss="mse")
    x = R.standard_normal((32, 6, 5)).astype("float32")
    y = x.sum(axis=-1, keepdims=True)
    h = m.fit(x, y, epochs=40, verbose=0)
    assert h.history["loss"][-1] < 0.5 * h.history["loss"][0]
    m.save(tmp_path / "m.keras")
    r = gn.models.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(r.predict(x, verbose=0), m.predict(x, verbose=0))
    cfg = m.layers[1].get_config()
    assert cfg["equation"] == "abc,cde->abde" and cfg["output_shape"] == (6, 2, 3)


def test_errors_name_the_layer():
    with pytest.raises(ValueError, match="'ed'.*equation must look like"):
        L.EinsumDense("ab->b", 3, name="ed")(np.ones((2, 3)))
    with pytest.raises(ValueError, match="'ed2'.*names 3 input axes; the input has shape"):
        L.EinsumDense("abc,cd->abd", (2, 4), name="ed2")(np.ones((2, 3)))
    with pytest.raises(ValueError, match="'ed3'.*output axis 'e' is in neither"):
        L.EinsumDense("ab,bc->ae", 3, name="ed3")(np.ones((2, 3)))
    with pytest.raises(ValueError, match="'ed4'.*bias_axes 'z'"):
        L.EinsumDense("ab,bc->ac", 3, bias_axes="z", name="ed4")(np.ones((2, 3)))
    with pytest.raises(ValueError, match="'ed5'.*axis 'b' is 3 in the input but 5"):
        L.EinsumDense("abc,cd->abd", (5, 4), name="ed5")(np.ones((2, 3, 4)))


@pytest.mark.skipif(not HAS_KERAS, reason="real Keras 3 is not installed")
@pytest.mark.parametrize("case", CASES, ids=[c[0] + str(c[1]) for c in CASES])
def test_matches_keras(case):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    eq, out, bias_axes, shape = case[:4]
    k = keras.layers.EinsumDense(eq, output_shape=out, bias_axes=bias_axes,
                                 activation="tanh")
    g = L.EinsumDense(eq, output_shape=out, bias_axes=bias_axes, activation="tanh")
    x = R.standard_normal(shape).astype("float32")
    want = keras.ops.convert_to_numpy(k(x))
    g.build(shape)
    g.set_weights([np.asarray(w) for w in k.get_weights()])
    np.testing.assert_allclose(g(x).data, want, rtol=1e-5, atol=1e-6)
    assert g.compute_output_shape((None,) + shape[1:]) == k.compute_output_shape(
        (None,) + shape[1:])


def test_einsum_gradients_with_ellipsis():
    """ops.einsum names each '...' with letters of its own for backward: explicit and
    implicit outputs, batched matmul; operands broadcasting their elided axes against each
    other keep '...' and backward says so."""
    a, b = R.standard_normal((2, 3, 4)), R.standard_normal((2, 4, 5))
    for eq, x, y in (("...ij,...jk->...ik", a, b), ("...ij,jk", a, b[0]),
                     ("i...,i->...", a[:, 0], a[:, 0, 0])):
        np.testing.assert_allclose(gn.ops.einsum(eq, x, y).data, np.einsum(eq, x, y),
                                   atol=1e-6)
        gn.gradcheck(lambda p, q, eq=eq: (gn.ops.einsum(eq, p, q) ** 2).sum(), x, y)
    t = gn.tensor(a[:1], requires_grad=True)
    out = gn.ops.einsum("...ij,...jk->...ik", t, gn.tensor(b, requires_grad=True))
    with pytest.raises(NotImplementedError, match="einsum gradient for operand"):
        out.sum().backward()
