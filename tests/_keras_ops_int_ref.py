"""Keras 3's integer and composed ops (bitwise, shifts, gcd/lcm, nextafter, digitize,
unravel_index, glu, kron, trapezoid, ldexp, vander, corrcoef) on fixed inputs, under Keras
(PyTorch backend) or glassnet; prints the results as JSON (``python _keras_ops_int_ref.py
keras|glassnet``, for test_keras_ops_more)."""

import json

import numpy as np
from _ops_ref_common import library

r = np.random.default_rng(0)
a = r.integers(0, 64, (3, 4)).astype("int32")
b = r.integers(1, 6, (3, 4)).astype("int32")
f = r.normal(size=(3, 4)).astype("float32")
g = r.normal(size=(2, 3)).astype("float32")
bins = np.array([-1.0, 0.0, 0.5, 2.0], "float32")
_, ops, conv = library()
out = {
    "bitwise_and": conv(ops.bitwise_and(a, b)),
    "bitwise_or": conv(ops.bitwise_or(a, b)),
    "bitwise_xor": conv(ops.bitwise_xor(a, b)),
    "bitwise_invert": conv(ops.bitwise_invert(a)),
    "bitwise_not": conv(ops.bitwise_not(a)),
    "bitwise_left_shift": conv(ops.bitwise_left_shift(a, b)),
    "bitwise_right_shift": conv(ops.bitwise_right_shift(a, b)),
    "left_shift": conv(ops.left_shift(a, b)),
    "right_shift": conv(ops.right_shift(a, b)),
    "gcd": conv(ops.gcd(a, b)),
    "lcm": conv(ops.lcm(a, b)),
    "nextafter": conv(ops.nextafter(f, np.zeros_like(f))),
    "digitize": conv(ops.digitize(f, bins)),
    "unravel_index": [conv(t) for t in ops.unravel_index(np.array([1, 7, 11]), (3, 4))],
    "glu": conv(ops.glu(f)),
    "glu_axis0": conv(ops.glu(np.concatenate([f, f * 2]), axis=0)),
    "kron": conv(ops.kron(f[:2, :2], g)),
    "trapezoid": conv(ops.trapezoid(f)),
    "trapezoid_x": conv(ops.trapezoid(f, x=np.array([0.0, 0.5, 2.0, 3.0], "float32"))),
    "trapezoid_dx_axis0": conv(ops.trapezoid(f, dx=0.25, axis=0)),
    "ldexp": conv(ops.ldexp(f, b)),
    "vander": conv(ops.vander(f[0])),
    "vander_n_increasing": conv(ops.vander(f[0], N=3, increasing=True)),
    "corrcoef": conv(ops.corrcoef(f)),
}
print(json.dumps(out))
