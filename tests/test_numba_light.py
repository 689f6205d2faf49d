"""The light load of glassnet's cached numba kernels (glassnet/_numba.py).

A second process loads a kernel from the disk cache without numba's target refresh (the
lowering registries stay unimported), gets the same numbers as the process that compiled it,
and a user's own numba function keeps numba's own load. Skipped only where the optional
``numba`` extra is not installed (CI installs it).
"""

import os

import numpy as np
import pytest

pytest.importorskip("numba")

# a module the target refresh imports and a cached kernel does not need
REFRESH_ONLY = "numba.np.polynomial.polynomial_core"

SCRIPT = r"""
import json, sys
import numpy as np
from glassnet import _optimizer_numba as k
from glassnet._optimizer_kernels import compiled

g = np.linspace(-1, 1, 1000, dtype=np.float32)
m = np.linspace(0, 0.1, 1000, dtype=np.float32)
v = np.linspace(0, 0.01, 1000, dtype=np.float32)
d = np.empty_like(g)
f = np.float32
k.adam(g, m, v, d, f(0.1), f(0.001), f(1e-7), f(0.001), np.finfo(f).tiny)

def twice(a):
    for i in range(a.size):
        a[i] *= 2

w = np.arange(5, dtype=np.float64)
compiled(twice)(w)
disp = k.adam
from glassnet import _numba
print(json.dumps({"runtime": _numba._STATE.get("runtime"), "d": d.tolist(),
                  "m": m.tolist(), "v": v.tolist(), "w": w.tolist(),
                  "hits": sum(disp._cache_hits.values()),
                  "refreshed": REFRESH_ONLY in sys.modules}))
""".replace("REFRESH_ONLY", repr(REFRESH_ONLY))


def test_cached_kernels_load_without_the_target_refresh(run_script, tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"), GLASSNET_NUMBA="1")
    first = run_script(SCRIPT, env)  # an empty cache: compiles (the compiler refreshes the target)
    assert first["hits"] == 0 and first["refreshed"]
    second = run_script(SCRIPT, env)  # loads from the cache, lightly
    assert second["hits"] == 1
    assert not second["refreshed"]
    # numba's runtime: compiled by the first process (at its first cache lookup), kept, and
    # linked from its kept machine code after that
    assert first["runtime"] == "compiled" and second["runtime"] == "cached"
    assert len(list((tmp_path / "cache").rglob("glassnet-nrt-*.bin"))) == 1
    for key in ("d", "m", "v", "w"):
        assert second[key] == first[key]
    assert second["w"] == [0.0, 2.0, 4.0, 6.0, 8.0]
    # the loaded kernel computes Adam's formula (NumPy, float32)
    g = np.linspace(-1, 1, 1000, dtype=np.float32)
    m = np.linspace(0, 0.1, 1000, dtype=np.float32)
    v = np.linspace(0, 0.01, 1000, dtype=np.float32)
    f = np.float32
    m2 = m + (g - m) * f(0.1)
    v2 = v + (g * g - v) * f(0.001)
    np.testing.assert_allclose(second["m"], m2, rtol=1e-6)
    np.testing.assert_allclose(second["v"], v2, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(second["d"], m2 / (np.sqrt(v2) + f(1e-7)) * f(0.001),
                               rtol=1e-5)


@pytest.mark.parametrize("damage", ["flip", "truncate", "foreign"])
def test_a_damaged_runtime_file_is_compiled_again(run_script, tmp_path, damage):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"), GLASSNET_NUMBA="1")
    first = run_script(SCRIPT, env)  # writes the runtime file
    (path,) = (tmp_path / "cache").rglob("glassnet-nrt-*.bin")
    blob = path.read_bytes()
    if damage == "flip":  # one bit of the machine code: the checksum no longer matches
        i = len(blob) // 2
        blob = blob[:i] + bytes([blob[i] ^ 1]) + blob[i + 1:]
    elif damage == "truncate":
        blob = blob[:len(blob) // 3]
    else:
        blob = b"\x7fELF" + blob[4:]
    path.write_bytes(blob)
    again = run_script(SCRIPT, env)
    assert again["runtime"] == "compiled" and not again["refreshed"]
    assert again["d"] == first["d"]
    assert path.read_bytes() != blob  # rewritten whole
    assert run_script(SCRIPT, env)["runtime"] == "cached"


def test_only_glassnet_dispatchers_get_the_light_load():
    import numba
    from numba.core.caching import Cache

    from glassnet._numba import njit

    def f(a):
        return a + 1

    ours = njit(cache=True)(f)
    theirs = numba.njit(cache=True)(f)
    assert "load_overload" in vars(ours._cache)
    assert "load_overload" not in vars(theirs._cache)
    assert issubclass(type(theirs._cache), Cache)
    assert ours(np.float64(1.0)) == theirs(np.float64(1.0)) == 2.0


def test_uncached_dispatcher_is_left_as_numba_made_it():
    import numba

    from glassnet._numba import light

    disp = numba.njit(lambda a: a * 2)
    assert light(disp) is disp
    assert "load_overload" not in vars(disp._cache)
