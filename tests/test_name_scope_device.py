"""gn.name_scope (weight and layer paths, as Keras 3 on the PyTorch backend gives them) and
gn.device (CPU always; a GPU only through CuPy)."""

import threading

import numpy as np
import pytest

import glassnet as gn
from glassnet import layers as L


def _paths(layer):
    return [w.path for w in layer.weights]


# ------------------------------------------------------------------ name_scope by hand
def test_paths_inside_nested_scopes_by_hand():
    with gn.name_scope("outer") as outer:
        assert isinstance(outer, gn.name_scope) and outer.name == "outer"
        d = L.Dense(2, name="d")
        d.build((None, 3))
        with gn.name_scope("inner"):
            v = gn.Variable(np.ones(2), name="v")
            e = L.Dense(2, name="e")
            e(np.ones((1, 3), "float32"))
    assert _paths(d) == ["outer/d/kernel", "outer/d/bias"] and d.path == "outer/d"
    assert _paths(e) == ["outer/inner/e/kernel", "outer/inner/e/bias"]
    assert e.path == "outer/inner/e" and v.path == "outer/inner/v"
    assert [w.name for w in d.weights] == ["d/kernel", "d/bias"]  # names stay as they were
    after = gn.Variable(1.0, name="after")
    assert after.path == "after"


def test_build_time_decides_not_construction_time():
    made = L.Dense(2, name="made_outside")
    with gn.name_scope("s"):
        made(np.ones((1, 3), "float32"))
        built = L.Dense(2, name="built_before")
    built.build((None, 3))
    assert _paths(made) == ["s/made_outside/kernel", "s/made_outside/bias"]
    assert _paths(built) == ["built_before/kernel", "built_before/bias"]
    assert L.Dense(2, name="never").path is None  # not built: no path, as Keras


def test_override_parent_caller_and_manual_enter_exit():
    with gn.name_scope("a", override_parent="p/q"):
        assert gn.Variable(1.0, name="x").path == "p/q/a/x"
    with gn.name_scope("out"):
        with gn.name_scope("a", override_parent="p"):
            assert gn.Variable(1.0, name="x").path == "p/a/x"
        with gn.name_scope("a", override_parent=""):
            assert gn.Variable(1.0, name="x").path == "a/x"
    owner = object()
    with gn.name_scope("s", caller=owner):
        with gn.name_scope("s", caller=owner):  # the same caller again: not nested twice
            assert gn.Variable(1.0, name="x").path == "s/x"
        with gn.name_scope("s", caller=owner, deduplicate=False):
            assert gn.Variable(1.0, name="x").path == "s/s/x"
        with gn.name_scope("s"):
            assert gn.Variable(1.0, name="x").path == "s/s/x"
    scope = gn.name_scope("manual")
    scope.__enter__()
    try:
        assert gn.Variable(1.0, name="x").path == "manual/x"
    finally:
        scope.__exit__(None, None, None)
    assert gn.Variable(1.0, name="x").path == "x"


def test_bad_names_and_exceptions_leave_no_scope_behind():
    for bad in ("a/b", 3, None):
        with pytest.raises(ValueError, match=r"name_scope: argument `name` must be a string.*"
                                             r"Received: name="):
            gn.name_scope(bad)
    with pytest.raises(RuntimeError, match="boom"), gn.name_scope("failing"):
        raise RuntimeError("boom")
    assert gn.Variable(1.0, name="x").path == "x"


def test_scopes_are_per_thread():
    seen = []
    with gn.name_scope("main_thread"):
        t = threading.Thread(target=lambda: seen.append(gn.Variable(1.0, name="x").path))
        t.start()
        t.join()
    assert seen == ["x"]


def test_model_built_in_a_scope_saves_and_loads(tmp_path):
    with gn.name_scope("top"):
        m = gn.Sequential([gn.Input((3,)), L.Dense(2, name="scoped_dense")])
    assert _paths(m) == ["top/scoped_dense/kernel", "top/scoped_dense/bias"]
    m.save(tmp_path / "m.glassnet")
    back = gn.models.load_model(tmp_path / "m.glassnet")
    x = np.ones((2, 3), "float32")
    np.testing.assert_array_equal(back.predict(x, verbose=0), m.predict(x, verbose=0))
    assert _paths(back) == ["scoped_dense/kernel", "scoped_dense/bias"]  # loaded outside


# ------------------------------------------------------------------ name_scope vs Keras
def test_paths_match_keras(keras):
    def run(lib, layers, suffix):
        out = {}
        with lib.name_scope("outer"):
            d = layers.Dense(2, name=f"d{suffix}")
            d.build((None, 3))
            out["built"] = ([w.path for w in d.weights], d.path)
            with lib.name_scope("inner"):
                out["var"] = lib.Variable(np.ones(2), name="v").path
                e = layers.Dense(2, name=f"e{suffix}")
                e(np.ones((1, 3), "float32"))
                out["called"] = ([w.path for w in e.weights], e.path)
        late = layers.Dense(2, name=f"late{suffix}")
        with lib.name_scope("callscope"):
            late(np.ones((1, 3), "float32"))
        out["late"] = [w.path for w in late.weights]
        with lib.name_scope("a", override_parent="p/q"):
            out["override"] = lib.Variable(1.0, name="x").path
        owner = object()
        with lib.name_scope("s", caller=owner):
            with lib.name_scope("s", caller=owner):
                out["dedup"] = lib.Variable(1.0, name="x").path
            with lib.name_scope("s"):
                out["nocaller"] = lib.Variable(1.0, name="x").path
        return out

    ours = run(gn, L, "_g")
    theirs = run(keras, keras.layers, "_g")  # the same layer names: the same paths
    assert ours == theirs
    for bad in ("a/b", 3):
        with pytest.raises(ValueError, match="must be a string"):
            keras.name_scope(bad)
        with pytest.raises(ValueError, match="must be a string"):
            gn.name_scope(bad)


# ------------------------------------------------------------------ device
@pytest.mark.parametrize("name", ["cpu", "CPU", "cpu:0", "CPU:0", "/device:CPU:0", "/cpu:0"])
def test_cpu_device_runs_on_numpy(name):
    with gn.device(name) as d:
        t = gn.tensor([1.0, 2.0])
        y = L.Dense(2)(np.ones((1, 3), "float32"))
    assert (d.name, d.type, d.index) == ("cpu:0", "cpu", 0)
    assert t.device == "cpu" and isinstance(y.data, np.ndarray)


@pytest.mark.parametrize("name", ["tpu", "foo", "cpu:x", "gpu0", "", "mps:0"])
def test_unknown_device_names_raise(name):
    with pytest.raises(ValueError, match=rf"device: invalid value for argument `device_name`."
                                         rf".*Received: device_name='{name}'"):
        gn.device(name)


def test_non_string_and_second_cpu_raise():
    with pytest.raises(ValueError, match="Received: device_name=3"):
        gn.device(3)
    with pytest.raises(ValueError, match="one CPU device, 'cpu:0'.*Received: "
                                         "device_name='cpu:1'"):
        gn.device("cpu:1")


@pytest.mark.parametrize("name", ["gpu", "gpu:0", "GPU:1", "cuda:0", "/device:GPU:0"])
def test_gpu_without_cupy_says_so(name):
    if gn.gpu_available():
        pytest.skip("CuPy and a GPU are here: see test_gpu_block_places_cupy_arrays")
    with pytest.raises(RuntimeError, match=rf"CuPy/CUDA is not available.*Received: "
                                           rf"device_name='{name}'"):
        gn.device(name)


def test_gpu_block_places_cupy_arrays(monkeypatch):
    if not gn.gpu_available():
        pytest.skip("needs CuPy and a CUDA GPU")
    import cupy

    from glassnet import _scopes

    monkeypatch.setattr(_scopes, "_gpu_note_shown", False)  # the note is shown once

    with pytest.warns(UserWarning, match="where the data lives"), gn.device("gpu:0") as d:
        m = gn.Sequential([gn.Input((3,)), L.Dense(2)]).to("gpu")
        assert cupy.cuda.Device().id == 0
    assert d.name == "gpu:0" and m.weights[0].device.startswith("gpu")
    with pytest.raises(ValueError, match="GPU"):
        gn.device(f"gpu:{cupy.cuda.runtime.getDeviceCount()}")


def test_device_matches_keras_where_both_run(keras):
    with keras.device("cpu:0"):
        k = keras.ops.ones((2,))
    with gn.device("cpu:0"):
        g = gn.ops.ones((2,))
    assert str(k.device) == "cpu" and g.device == "cpu"
    for lib in (keras, gn):
        with pytest.raises(ValueError, match="device_name"):
            with lib.device(3):
                pass


def test_exposed_at_the_top_level():
    for name in ("name_scope", "device"):
        assert name in dir(gn) and callable(getattr(gn, name))
