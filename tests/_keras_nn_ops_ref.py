"""ops.dot_product_attention / layer_normalization / batch_normalization on fixed random
inputs, under Keras 3 (PyTorch backend) or glassnet; prints the results as JSON
(``python _keras_nn_ops_ref.py keras|glassnet``, for test_keras_ops_nn)."""

import json

import numpy as np
from _ops_ref_common import library

r = np.random.default_rng(0)
q = r.normal(size=(2, 5, 4, 3)).astype("f4")
k = r.normal(size=(2, 6, 2, 3)).astype("f4")  # 2 key heads for 4 query heads
v = r.normal(size=(2, 6, 2, 3)).astype("f4")
k4 = r.normal(size=(2, 5, 4, 3)).astype("f4")
v4 = r.normal(size=(2, 5, 4, 3)).astype("f4")
mask = r.random((2, 1, 5, 6)) > 0.3
mask[..., 0] = True
bias = r.normal(size=(1, 4, 5, 6)).astype("f4")
x = r.normal(size=(3, 4, 5)).astype("f4")
g = r.normal(size=(5,)).astype("f4")
b = r.normal(size=(5,)).astype("f4")
g2 = r.normal(size=(4, 5)).astype("f4")
_, ops, conv = library()
out = {
  "gqa": conv(ops.dot_product_attention(q, k, v)),
  "mask_scale": conv(ops.dot_product_attention(q, k, v, mask=mask, scale=0.3)),
  "bias": conv(ops.dot_product_attention(q, k, v, bias=bias)),
  "causal": conv(ops.dot_product_attention(q, k4, v4, is_causal=True)),
  "ln": conv(ops.layer_normalization(x, g, b)),
  "ln_axes": conv(ops.layer_normalization(x, g2, None, axis=[-2, -1], epsilon=1e-3)),
  "ln_rms": conv(ops.layer_normalization(x, g, None, rms_scaling=True)),
  "bn": conv(ops.batch_normalization(x, b, np.abs(g), axis=-1, offset=b, scale=g)),
  "bn_axis1": conv(ops.batch_normalization(x, b[:4], np.abs(g[:4]), axis=1)),
}
print(json.dumps(out))
