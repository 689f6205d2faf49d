"""gn.dtype_policies (and gn.mixed_precision): Keras 3's dtype policies for the two dtypes
glassnet computes in, checked by hand and against Keras; everything else is refused."""

import doctest
import json

import numpy as np
import pytest

import glassnet as gn
from glassnet import dtype_policies as D
from glassnet import layers as L


@pytest.fixture
def restore_floatx():
    before = gn.config.floatx()
    yield
    gn.config.set_floatx(before)


# ------------------------------------------------------------------ by hand
@pytest.mark.parametrize("name", ["float32", "float64"])
def test_policy_attributes(name):
    p = D.DTypePolicy(name)
    assert (p.name, p.compute_dtype, p.variable_dtype, p.quantization_mode) == (
        name, name, name, None)
    assert p.get_config() == {"name": name}
    assert D.DTypePolicy.from_config(p.get_config()) == p
    assert repr(p) == f'<DTypePolicy "{name}">'
    assert repr(D.FloatDTypePolicy(name)) == f'<DTypePolicy "{name}">'
    assert D.FloatDTypePolicy(name) == p and p != name and hash(p) == hash(D.DTypePolicy(name))
    assert D.DTypePolicy("float32") != D.DTypePolicy("float64")


def test_default_is_the_global_policy(restore_floatx):
    assert D.DTypePolicy().name == "float32" and D.get(None).name == "float32"
    gn.config.set_floatx("float64")
    assert D.DTypePolicy().name == "float64" and D.get(None) == D.DTypePolicy("float64")


@pytest.mark.parametrize("name", ["mixed_float16", "mixed_bfloat16", "float16", "bfloat16",
                                  "int8_from_float32", "float8_from_mixed_bfloat16",
                                  "int4_from_float32"])
def test_half_precision_and_quantized_policies_are_refused(name):
    with pytest.raises(ValueError, match=rf"DTypePolicy: glassnet computes in 'float32' or "
                                         rf"'float64'.*Received: name='{name}'"):
        D.DTypePolicy(name)
    with pytest.raises(ValueError, match=rf"dtype_policies.get.*Received: identifier='{name}'"):
        D.get(name)
    with pytest.raises(ValueError, match=rf"set_dtype_policy.*Received: policy='{name}'"):
        gn.config.set_dtype_policy(name)
    with pytest.raises(ValueError, match=r"Received: name="):
        L.Dense(2, dtype={"class_name": "DTypePolicy", "config": {"name": name}})
    assert gn.config.floatx() == "float32"


def test_other_bad_identifiers():
    with pytest.raises(ValueError, match=r"supports are 'float32' and 'float64'. Received: "
                                         r"name='int32'"):
        D.DTypePolicy("int32")
    with pytest.raises(TypeError, match=r"'name' must be a string.*Received: name=3"):
        D.DTypePolicy(3)
    with pytest.raises(ValueError, match=r"cannot interpret.*Received: 3"):
        D.get(3)
    with pytest.raises(ValueError, match="Received: identifier='int64'"):
        D.get(np.int64)
    with pytest.raises(ValueError, match=r"quantized.*Received: class_name='QuantizedDTypePol"):
        D.deserialize({"class_name": "QuantizedDTypePolicy",
                       "config": {"mode": "int8", "source_name": "float32"}})
    with pytest.raises(ValueError, match=r"unknown dtype policy class.*Received: "
                                         r"class_name='os.system'"):
        D.deserialize({"class_name": "os.system", "config": {}})
    with pytest.raises(ValueError, match="set_dtype_policy: expected"):
        gn.config.set_dtype_policy(3)


def test_get_serialize_deserialize_round_trip():
    p = D.get("float64")
    assert D.get(p) is p and D.get(np.float64) == p and D.get(np.dtype("float32")).name == (
        "float32")
    s = D.serialize(p)
    assert s == {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float64"},
                 "registered_name": None}
    assert D.deserialize(json.loads(json.dumps(s))) == p and D.get(s) == p
    assert D.deserialize("float32") == D.DTypePolicy("float32")
    assert D.serialize(D.FloatDTypePolicy("float32"))["class_name"] == "FloatDTypePolicy"
    assert type(D.deserialize(D.serialize(D.FloatDTypePolicy("float32")))) is (
        D.FloatDTypePolicy)

    class Mine(D.DTypePolicy):
        pass

    got = D.deserialize({"class_name": "Mine", "config": {"name": "float64"}},
                        custom_objects={"Mine": Mine})
    assert type(got) is Mine and got.name == "float64"


def test_policy_map_by_hand():
    m = D.DTypePolicyMap(default_policy="float32")
    m["encoder/layer_0/dense"] = "float64"
    m["encoder/.*"] = D.DTypePolicy("float64")
    m["decoder"] = "float64"
    assert m["encoder/layer_0/dense"].name == "float64"
    assert m["encoder/attention/query"].name == "float64"
    assert m["decoder/attention"].name == "float32"  # no prefix matching
    assert (m.name, m.compute_dtype, m.variable_dtype, m.quantization_mode) == (
        "map_float32", "float32", "float32", None)
    assert len(m) == 3 and "decoder" in m and list(m) == [
        "encoder/layer_0/dense", "encoder/.*", "decoder"]
    m["encoder/attention/.*"] = "float32"
    with pytest.raises(ValueError, match="matches multiple dtype policy"):
        m["encoder/attention/query"]
    with pytest.raises(ValueError, match="already exists"):
        m["decoder"] = "float32"
    del m["decoder"]
    assert "decoder" not in m
    with pytest.raises(ValueError, match="Received: identifier='mixed_float16'"):
        m["x"] = "mixed_float16"
    with pytest.raises(ValueError, match="cannot be a DTypePolicyMap"):
        D.DTypePolicyMap(default_policy=m)
    with pytest.raises(TypeError, match="must be a dict"):
        D.DTypePolicyMap(policy_map=[1])
    back = D.deserialize(json.loads(json.dumps(D.serialize(m))))
    assert type(back) is D.DTypePolicyMap and back == m and back["encoder/x"].name == "float64"


def test_layers_take_a_policy_or_its_config(restore_floatx):
    for dtype in (D.DTypePolicy("float64"), D.serialize(D.DTypePolicy("float64")),
                  {"class_name": "FloatDTypePolicy", "config": {"name": "float64"}}):
        d = L.Dense(2, dtype=dtype)
        d.build((None, 3))
        assert d.kernel.data.dtype == np.float64 and d.dtype == np.float64
        assert d.dtype_policy == D.DTypePolicy("float64")
        assert (d.compute_dtype, d.variable_dtype) == ("float64", "float64")
        assert d.get_config()["dtype"] == "float64"  # unchanged: the dtype's name
        assert L.Dense.from_config(d.get_config()).dtype == np.float64
    m = D.DTypePolicyMap(default_policy="float32")
    m["wide"] = "float64"
    assert L.Dense(2, dtype=m, name="wide").dtype == np.float64
    assert L.Dense(2, dtype=m, name="narrow").dtype == np.float32
    assert L.Dense(2, dtype="float64").dtype_policy.name == "float64"  # a string as before
    d = L.Dense(2)
    assert d.dtype is None and d.dtype_policy.name == "float32"
    gn.config.set_dtype_policy(D.DTypePolicy("float64"))
    assert d.dtype_policy.name == "float64" and gn.config.floatx() == "float64"
    y = gn.Sequential([gn.Input((3,)), L.Dense(2, dtype=D.DTypePolicy("float64"))])(
        np.ones((1, 3)))
    assert y.dtype == np.float64


def test_config_and_mixed_precision_share_one_class(restore_floatx):
    assert gn.config.DTypePolicy is D.DTypePolicy is gn.DTypePolicy
    assert gn.FloatDTypePolicy is D.FloatDTypePolicy
    assert gn.config.dtype_policy() == D.DTypePolicy("float32")
    mp = gn.mixed_precision
    assert mp.Policy is mp.DTypePolicy is D.DTypePolicy
    mp.set_global_policy("float64")
    assert mp.global_policy() == D.DTypePolicy("float64") == gn.config.dtype_policy()
    assert gn.config.floatx() == "float64"
    with pytest.raises(ValueError, match="mixed precision"):
        mp.set_global_policy("mixed_float16")
    assert gn.config.floatx() == "float64"
    for name in ("dtype_policies", "mixed_precision", "DTypePolicy", "FloatDTypePolicy"):
        assert name in dir(gn)


@pytest.mark.parametrize("module", ["glassnet.dtype_policies", "glassnet.mixed_precision"])
def test_docstring_examples_run(module, restore_floatx):
    import importlib

    mod = importlib.import_module(module)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    globs = {**vars(mod), "gn": gn, "np": np}
    tests = [t for t in doctest.DocTestFinder().find(mod, globs=globs) if t.examples]
    assert tests
    report = []
    for t in tests:
        runner.run(t, out=report.append)
    assert runner.summarize(verbose=False).failed == 0, "".join(report)


# ------------------------------------------------------------------ against Keras
@pytest.mark.parametrize("name", ["float32", "float64"])
def test_policies_match_keras(name, keras):
    kd = keras.dtype_policies
    for ours, theirs in ((D.DTypePolicy(name), kd.DTypePolicy(name)),
                         (D.FloatDTypePolicy(name), kd.FloatDTypePolicy(name))):
        assert (ours.name, ours.compute_dtype, ours.variable_dtype, ours.quantization_mode) == (
            theirs.name, theirs.compute_dtype, theirs.variable_dtype, theirs.quantization_mode)
        assert repr(ours) == repr(theirs) and ours.get_config() == theirs.get_config()
        assert D.serialize(ours) == kd.serialize(theirs)
        assert kd.deserialize(D.serialize(ours)) == theirs  # Keras reads ours
        assert D.deserialize(kd.serialize(theirs)) == ours  # and we read Keras's
    assert D.get(name).name == kd.get(name).name
    assert D.get(np.dtype(name)).name == kd.get(np.dtype(name)).name
    k_layer = keras.layers.Dense(2, dtype=kd.DTypePolicy(name))
    g_layer = L.Dense(2, dtype=D.DTypePolicy(name))
    assert repr(g_layer.dtype_policy) == repr(k_layer.dtype_policy)
    assert (g_layer.compute_dtype, g_layer.variable_dtype) == (
        k_layer.compute_dtype, k_layer.variable_dtype)
    # a Keras layer's serialized dtype is accepted as is
    assert L.Dense(2, dtype=k_layer.get_config()["dtype"]).dtype == np.dtype(name)


def test_policy_map_matches_keras(keras):
    kd = keras.dtype_policies
    ours = D.DTypePolicyMap(default_policy="float64")
    theirs = kd.DTypePolicyMap(default_policy="float64")
    for key, value in [("encoder/layer_0/dense", "float32"), ("encoder/.*", "float64"),
                       ("decoder", "float32")]:
        ours[key] = value
        theirs[key] = value
    for path in ["encoder/layer_0/dense", "encoder/attention/query", "decoder",
                 "decoder/attention", "other"]:
        assert repr(ours[path]) == repr(theirs[path]), path
    assert (ours.name, ours.compute_dtype, ours.variable_dtype) == (
        theirs.name, theirs.compute_dtype, theirs.variable_dtype)
    assert D.serialize(ours) == json.loads(json.dumps(kd.serialize(theirs)))
    back = kd.deserialize(D.serialize(ours))  # Keras reads ours
    assert [(k, back[k].name) for k in back] == [(k, ours[k].name) for k in ours]
    # Keras writes a map made without a default with nameless entries: the global policy's
    k_none = kd.DTypePolicyMap()
    k_none["dense"] = "float32"
    got = D.deserialize(json.loads(json.dumps(kd.serialize(k_none))))
    assert got["dense"].name == gn.config.floatx() and got.default_policy.name == "float32"
    ours["encoder/attention/.*"] = "float32"
    theirs["encoder/attention/.*"] = "float32"
    for m in (ours, theirs):
        with pytest.raises(ValueError, match="matches multiple dtype policy"):
            m["encoder/attention/query"]


def test_names_match_keras(keras):
    quantized = {"AWQDTypePolicy", "GPTQDTypePolicy", "Int4DTypePolicy",
                 "QuantizedDTypePolicy", "QuantizedFloat8DTypePolicy"}
    public = {n for n in dir(keras.dtype_policies) if not n.startswith("_")}
    assert sorted(public - quantized) == sorted(D.__all__)
    mp = {n for n in dir(keras.mixed_precision) if not n.startswith("_")}
    assert sorted(mp - {"LossScaleOptimizer"}) == sorted(gn.mixed_precision.__all__)
