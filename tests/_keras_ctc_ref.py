"""CTC under Keras 3 (PyTorch backend) or glassnet: ops.ctc_loss, losses.CTC / ctc and
ops.ctc_decode (greedy, beam search) on fixed random logits; prints the results as JSON
(``python _keras_ctc_ref.py keras|glassnet``, for test_ctc)."""

import json

import numpy as np
from _ops_ref_common import library

r = np.random.default_rng(0)
B, T, C = 4, 9, 5
z = r.normal(size=(B, T, C)).astype("f4")
y = r.integers(1, C, (B, 3))
y[1, 2] = 0  # shorter label sequences, padded with 0
y[2, 1:] = 0
lens = np.array([9, 6, 9, 4])
keras, ops, conv = library()
out = {}
out["loss"] = conv(ops.ctc_loss(y, z, np.array([3, 2, 1, 3]), lens, mask_index=0))
out["CTC"] = conv(keras.losses.CTC()(y, z))
out["ctc_fn"] = conv(keras.losses.ctc(y, z))
d, s = ops.ctc_decode(z, lens, strategy="greedy")
out["greedy"] = [conv(d), conv(s)]
d, s = ops.ctc_decode(z, lens, strategy="greedy", mask_index=None, merge_repeated=False)
out["greedy2"] = [conv(d), conv(s)]
d, s = ops.ctc_decode(z, lens, strategy="beam_search", beam_width=10, top_paths=3)
out["beam"] = [conv(d), conv(s)]
print(json.dumps(out))
