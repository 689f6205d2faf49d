"""The compiled col2im (numba extra, layers/_col2im_numba.py) against the NumPy col2im it
stands in for: a transposed convolution's output and a convolution's input gradient, over
strides, dilations, paddings and output paddings, bit for bit (up to a zero's sign)."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet import _optimizer_kernels as opk
from glassnet.layers import _col2im_numba as cn
from glassnet.layers import _conv_kernels as ck

pytest.importorskip("numba", reason="the optional numba extra is not installed")


def _mode(monkeypatch, compiled):
    monkeypatch.setenv("GLASSNET_NUMBA", "1" if compiled else "0")
    monkeypatch.setattr(opk, "_STATE", {})


def _calls(monkeypatch, name="col2im_into"):
    seen = []
    real = getattr(cn, name)
    monkeypatch.setattr(cn, name, lambda *a, **k: seen.append(1) or real(*a, **k))
    return seen


def _run(fn_make, args, monkeypatch, compiled):
    _mode(monkeypatch, compiled)
    seen = _calls(monkeypatch)
    few = _calls(monkeypatch, "scatter_into")
    ts = [gn.tensor(a, requires_grad=True) for a in args]
    y = fn_make()(*ts)
    gy = np.random.default_rng(9).standard_normal(y.shape).astype(y.data.dtype)
    (y * gn.tensor(gy)).sum().backward()
    return y.data, [t.grad for t in ts], len(seen) + len(few)


def _same(a, b):
    np.testing.assert_array_equal(a, b)  # equal values: 0.0 == -0.0
    assert a.dtype == b.dtype and a.shape == b.shape


CASES = [  # (n, h, w, cin, cout, k, strides, dilation, padding)
    (2, 8, 8, 16, 32, 3, (2, 2), (1, 1), "same"),
    (2, 7, 9, 8, 12, 3, (2, 2), (1, 1), "valid"),
    (3, 5, 6, 8, 9, 4, (3, 2), (1, 1), "same"),
    (2, 6, 6, 8, 10, 3, (1, 1), (2, 2), "same"),
    (1, 1, 1, 8, 8, 3, (2, 2), (1, 1), "valid"),  # one pixel
    (2, 5, 5, 8, 8, 1, (2, 2), (1, 1), "valid"),  # 1x1 kernel with a stride
    (2, 4, 4, 8, 8, 2, (3, 3), (1, 1), "valid"),  # kernel smaller than the stride
]
# few output channels (an RGB or grey decoder's last layer): the compiled scatter of the
# channel-major product (scatter_into)
FEW = [
    (2, 8, 8, 16, 3, 3, (2, 2), (1, 1), "same"),
    (3, 7, 9, 8, 1, 3, (2, 2), (1, 1), "valid"),
    (2, 5, 6, 4, 3, 4, (3, 2), (1, 1), "same"),
    (2, 6, 6, 8, 2, 3, (1, 1), (2, 2), "same"),
    (1, 1, 1, 8, 3, 3, (2, 2), (1, 1), "valid"),
    (2, 4, 4, 8, 3, 2, (3, 3), (1, 1), "valid"),
]


@pytest.mark.parametrize("case", CASES + FEW)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_transposed_conv_forward_and_backward_match_numpy(monkeypatch, case, dtype):
    n, h, w, cin, cout, k, strides, dil, padding = case
    rng = np.random.default_rng(1)
    x = rng.standard_normal((n, h, w, cin)).astype(dtype)
    wk = rng.standard_normal((k, k, cout, cin)).astype(dtype)
    b = rng.standard_normal(cout).astype(dtype)

    def make():
        return lambda xt, wt, bt: ck.conv2d_transpose(xt, wt, bt, strides=strides,
                                                      padding=padding, dilation_rate=dil)
    y0, g0, c0 = _run(make, (x, wk, b), monkeypatch, False)
    y1, g1, c1 = _run(make, (x, wk, b), monkeypatch, True)
    assert c0 == 0 and c1 >= 1  # the compiled path ran
    _same(y1, y0)
    for a, r in zip(g1, g0):
        _same(a, r)


@pytest.mark.parametrize("case", CASES)
def test_conv_input_gradient_matches_numpy(monkeypatch, case):
    n, h, w, cin, cout, k, strides, dil, padding = case
    h, w = h * 2 + 3, w * 2 + 3  # room for the kernel
    rng = np.random.default_rng(2)
    x = rng.standard_normal((n, h, w, cin)).astype(np.float32)
    wk = rng.standard_normal((k, k, cin, cout)).astype(np.float32)
    b = rng.standard_normal(cout).astype(np.float32)

    def make():
        return lambda xt, wt, bt: ck.conv2d(xt, wt, bt, strides=strides, padding=padding,
                                            dilation_rate=dil)
    y0, g0, c0 = _run(make, (x, wk, b), monkeypatch, False)
    y1, g1, c1 = _run(make, (x, wk, b), monkeypatch, True)
    assert c0 == 0 and c1 >= 1
    _same(y1, y0)
    for a, r in zip(g1, g0):
        _same(a, r)


@pytest.mark.parametrize("strides,padding,op", [(2, "same", None), (2, "valid", 1),
                                                 ((3, 2), "same", (1, 0)), (3, "valid", None)])
def test_gradients_against_numeric_ones_on_the_compiled_path(monkeypatch, strides, padding,
                                                               op):
    _mode(monkeypatch, True)
    seen = _calls(monkeypatch)
    rng = np.random.default_rng(3)
    x, wk = rng.standard_normal((2, 3, 3, 8)), rng.standard_normal((3, 3, 8, 8)) * 0.5
    b = rng.standard_normal(8)
    gn.gradcheck(lambda x, w, b: ck.conv2d_transpose(x, w, b, strides=strides,
                                                     padding=padding, output_padding=op),
                 x, wk, b)
    x2 = rng.standard_normal((2, 7, 7, 8))
    gn.gradcheck(lambda x, w: ck.conv2d(x, w, strides=strides, padding=padding), x2, wk)
    assert seen


def test_layers_in_slices_and_few_channels_keep_their_paths(monkeypatch):
    # few output channels (an RGB decoder's last layer) keep the channel-major product,
    # scattered by the compiled loop
    _mode(monkeypatch, True)
    seen = _calls(monkeypatch)
    few = _calls(monkeypatch, "scatter_into")
    layer = gn.layers.Conv2DTranspose(3, 3, strides=2, padding="same")
    layer(gn.tensor(np.ones((2, 4, 4, 8), np.float32)))
    assert not seen and few
    layer = gn.layers.Conv2DTranspose(8, 3, strides=2, padding="same")
    layer(gn.tensor(np.ones((2, 4, 4, 8), np.float32)))
    assert seen


@pytest.mark.parametrize("shape,k,strides,dil,pads", [
    ((2, 8, 8, 16), (3, 3), (1, 1), (1, 1), ((1, 1), (1, 1))),
    ((3, 16, 16, 32), (3, 3), (2, 2), (1, 1), ((0, 1), (0, 1))),
    ((2, 7, 9, 8), (4, 2), (2, 3), (1, 1), ((2, 1), (0, 1))),
    ((1, 6, 6, 8), (3, 3), (1, 1), (2, 2), ((2, 2), (2, 2))),
    ((1, 1, 1, 8), (3, 3), (1, 1), (1, 1), ((1, 1), (1, 1))),  # one pixel, all padding
])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_padded_im2col_equals_numpy_pad_then_windows(monkeypatch, shape, k, strides, dil,
                                                      pads, dtype):
    x = np.random.default_rng(6).standard_normal(shape).astype(dtype)
    (pt, pb), (pl, pr) = pads
    oh = (shape[1] + pt + pb - (k[0] - 1) * dil[0] - 1) // strides[0] + 1
    ow = (shape[2] + pl + pr - (k[1] - 1) * dil[1] - 1) // strides[1] + 1
    _mode(monkeypatch, True)
    got = cn.im2col_padded(x, k, strides, dil, pads, (oh, ow))
    ref = ck._im2col(np.pad(x, ((0, 0), *pads, (0, 0))), *k, *strides, *dil, oh, ow)
    assert got is not None and got.flags.c_contiguous
    _same(got, ref)
    _mode(monkeypatch, False)  # without numba the caller takes the NumPy path
    assert cn.im2col_padded(x, k, strides, dil, pads, (oh, ow)) is None
    _same(ck._cols(x, *k, *strides, *dil, oh, ow, pads=pads), ref)


def test_a_same_padded_conv_trains_to_the_same_bits_on_the_compiled_im2col(monkeypatch):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((4, 10, 10, 8)).astype(np.float32)
    wk = rng.standard_normal((3, 3, 8, 16)).astype(np.float32)
    b = rng.standard_normal(16).astype(np.float32)
    runs = []
    real = cn.im2col_padded
    for compiled in (False, True):
        _mode(monkeypatch, compiled)
        made: list[bool] = []  # whether each call built the columns (else NumPy padded)

        def spy(*a, _made=made, **k):
            r = real(*a, **k)
            _made.append(r is not None)
            return r
        monkeypatch.setattr(cn, "im2col_padded", spy)
        ts = [gn.tensor(a, requires_grad=True) for a in (x, wk, b)]
        y = ck.conv2d(*ts, padding="same")
        (y * y).sum().backward()
        runs.append((y.data, [t.grad for t in ts], made))
    (y0, g0, made0), (y1, g1, made1) = runs
    assert made0 and not any(made0) and all(made1)
    _same(y1, y0)
    for a, r in zip(g1, g0):
        _same(a, r)
