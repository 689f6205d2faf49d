"""A small model loads numba once it has trained long enough (``_optimizer_kernels.long_run``).

By default a model too small to pay for numba's import trains on NumPy; after
``AUTO_STEPS`` replayed training steps it loads numba and records its step again, so its ops
(Adam's update, LayerNormalization) choose their compiled kernels. Each case runs in a fresh
process (numba's presence is per process), with ``AUTO_STEPS`` lowered to keep it short.
Skipped only where the optional ``numba`` extra is not installed (CI installs it).
"""

import os

import pytest

pytest.importorskip("numba")

SCRIPT = r"""
import json, sys
import numpy as np
import glassnet as gn
from glassnet import layers as L
from glassnet.models import step

step.AUTO_STEPS = 30
gn.set_seed(0)
r = np.random.default_rng(0)
x = r.standard_normal((32, 20)).astype("f4")
y = (x[:, 0] > 0).astype(int)
m = gn.Sequential([L.Dense(16, activation="relu", input_dim=20), L.LayerNormalization(),
                   L.Dense(2, activation="softmax")])
m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
loaded, layer_kernel = [], []
for i in range(60):
    m.train_on_batch(x, y)
    loaded.append("numba" in sys.modules)
    ops = [p[0] for p in m._stepper.programs.values() if p]
    progs = [op for prog in ops for op, _, _ in prog.forward_nodes]
    layer_kernel.append(any(getattr(getattr(op, "plan", None), "layer", None) is not None
                            for op in progs))
print(json.dumps({"loaded": loaded, "layer_kernel": layer_kernel,
                  "replays": m._stepper.replays,
                  "w": [w.tolist() for w in m.get_weights()]}))
"""


def _env(**env):
    """This process's environment without GLASSNET_NUMBA (the default policy), plus env."""
    e = {k: v for k, v in os.environ.items() if k != "GLASSNET_NUMBA"}
    e.update(env)
    return e


def test_a_small_model_loads_numba_after_auto_steps_and_records_again(run_script):
    r = run_script(SCRIPT, _env())
    # step 1 records; replays 1..29 on NumPy; the 30th replay loads numba
    first = r["loaded"].index(True)
    assert first == 30
    assert not any(r["layer_kernel"][:first + 1])  # the NumPy LayerNorm until then
    # the next step records again: its LayerNormalization now runs the compiled kernel
    assert all(r["layer_kernel"][first + 1:])
    assert r["replays"] == 58  # 60 steps, two of them recorded


def test_the_switch_happens_at_the_same_step_in_every_run(run_script):
    # the step count decides, not the time: two runs end with the same bits
    a, b = run_script(SCRIPT, _env()), run_script(SCRIPT, _env())
    assert a["loaded"] == b["loaded"]
    assert a["w"] == b["w"]


def test_glassnet_numba_0_keeps_a_long_run_on_numpy(run_script):
    r = run_script(SCRIPT, _env(GLASSNET_NUMBA="0"))
    assert not any(r["loaded"]) and not any(r["layer_kernel"])
    assert r["replays"] == 59


SECOND = r"""
import json, sys
import numpy as np
import glassnet as gn
from glassnet import layers as L
from glassnet.models import step

step.AUTO_STEPS = 30
x = np.random.default_rng(0).standard_normal((32, 20)).astype("f4")
y = (x[:, 0] > 0).astype(int)

def model():
    m = gn.Sequential([L.Dense(16, activation="relu", input_dim=20),
                       L.LayerNormalization(), L.Dense(2, activation="softmax")])
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return m

def compiled_norm(m):
    ops = [op for p in m._stepper.programs.values() if p for op, _, _ in p[0].forward_nodes]
    return any(getattr(getattr(op, "plan", None), "layer", None) is not None for op in ops)

a, b = model(), model()
for _ in range(10):
    b.train_on_batch(x, y)  # b starts first, without numba
for _ in range(35):
    a.train_on_batch(x, y)  # a crosses AUTO_STEPS: numba loads
before = compiled_norm(b)
for _ in range(30):
    b.train_on_batch(x, y)  # b crosses too: its programs were recorded without numba
print(json.dumps({"loaded": "numba" in sys.modules, "a": compiled_norm(a),
                  "b_before": before, "b_after": compiled_norm(b)}))
"""


def test_a_model_started_before_numba_loaded_records_again_at_its_count(run_script):
    r = run_script(SECOND, _env())
    assert r == {"loaded": True, "a": True, "b_before": False, "b_after": True}
