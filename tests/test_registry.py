"""The one registry behind every family's get / serialize / deserialize (glassnet._registry).

First the helper itself on a toy family (each kind of identifier, the unknown-name message,
registered names and their refusal, no import of anything a config names); then every
family's ``get(serialize(obj))`` round trip for every name in its table, through JSON.
"""

import builtins
import importlib
import json

import pytest

import glassnet as gn
from glassnet._config import Configurable
from glassnet._registry import Registry, unknown


class Thing(Configurable):
    def __init__(self, k=1):
        self.k = k

    def get_config(self):
        return {"k": self.k}


class Big(Thing):
    pass


class Stray(Thing):  # a Thing whose class the registry does not list
    pass


class Wrapped(Thing):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn


def thing_fn(x):
    return x


def _registry(**kw):
    table = {"thing": Thing, "big": Big, "large": Big}
    by_class = {"Thing": Thing, "Big": Big}
    return Registry("thing", table, by_class, Thing, **kw)


# ------------------------------------------------------------------ get: each identifier kind
def test_names_resolve_case_insensitively_then_by_class_name():
    reg = _registry()
    assert type(reg.get("thing")) is Thing
    assert type(reg.get("LARGE")) is Big
    assert type(reg.get("Big")) is Big
    assert reg.get("big").k == 1


def test_config_dicts_build_with_their_config():
    reg = _registry()
    b = reg.get({"class_name": "Big", "config": {"k": 3}})
    assert type(b) is Big and b.k == 3
    assert type(reg.get({"class_name": "large"})) is Big          # a table name, no config
    assert reg.get({"class_name": "Thing", "config": None}).k == 1
    assert reg.deserialize({"class_name": "big", "config": {"k": 5}}).k == 5


def test_a_dict_without_class_name_is_refused_by_name():
    with pytest.raises(ValueError, match=r"thing config must have a 'class_name' key.*'k': 2"):
        _registry().get({"config": {"k": 2}})


def test_instances_are_returned_as_is_and_classes_instantiated():
    reg = _registry()
    t = Big(7)
    assert reg.get(t) is t
    assert type(reg.get(Big)) is Big
    s = Stray()  # an instance of the base is the caller's own: kept even when not listed
    assert reg.get(s) is s


def test_functions_map_to_their_class_and_other_callables_wrap_or_are_refused():
    reg = _registry(fn_to_class={thing_fn: Big}, wrap=Wrapped)
    assert type(reg.get(thing_fn)) is Big

    def mine(x):
        return x

    w = reg.get(mine)
    assert type(w) is Wrapped and w.fn is mine
    with pytest.raises(TypeError, match=r"thing must be a name, config dict or instance\. "
                                        r"Received: function .*mine"):
        _registry().get(mine)


def test_none_resolves_to_the_default_or_is_refused():
    assert _registry(default=lambda: Big(9)).get(None).k == 9
    assert _registry(default=lambda: None).get(None) is None
    with pytest.raises(TypeError, match="Received: NoneType None"):
        _registry().get(None)


def test_other_types_are_refused_with_what_was_expected():
    with pytest.raises(TypeError, match=r"^thing must be one of mine\. Received: int 5$"):
        _registry(expected="one of mine").get(5)


def test_strings_can_be_refused_for_config_only_families():
    reg = _registry(strings=False)
    with pytest.raises(TypeError, match="Received: str 'thing'"):
        reg.get("thing")
    assert type(reg.get({"class_name": "Big"})) is Big


def test_build_decides_what_an_entry_becomes():
    reg = Registry("act", {"id": thing_fn}, None, None, wrap=lambda f: f,
                   build=lambda fn, cfg: (fn, cfg))
    assert reg.get("ID") == (thing_fn, {})
    assert reg.get({"class_name": "id", "config": {"a": 1}}) == (thing_fn, {"a": 1})


def test_the_tables_are_read_live():
    table, by_class = {"thing": Thing}, {"Thing": Thing}
    reg = Registry("thing", table, by_class, Thing)
    table["big"] = Big
    by_class["Big"] = Big
    assert type(reg.get("big")) is Big and type(reg.get({"class_name": "Big"})) is Big


# ------------------------------------------------------------------ unknown names
def test_unknown_names_list_the_closest_and_all_known_names():
    msg = ("Unknown thing 'thingg'. Did you mean: thing? Known: big, large, thing. "
           "Received: 'thingg'")
    with pytest.raises(ValueError) as e:
        _registry().get("thingg")
    assert str(e.value) == msg == str(unknown("thing", "thingg", ["thing", "big", "large"]))
    with pytest.raises(ValueError, match=r"^Unknown thing 'Nope'\. Known: big, large, thing\."):
        _registry().get({"class_name": "Nope"})


# ------------------------------------------------------------------ registered names
def test_registered_names_resolve_from_the_objects_passed_in_code():
    reg = _registry(wrap=Wrapped)

    def my_metric(x):
        return x

    with gn.saving.custom_object_scope({"pkg>Mine": Big, "pkg>my_metric": my_metric}):
        assert type(reg.get({"registered_name": "pkg>Mine"})) is Big
        w = reg.get({"registered_name": "pkg>my_metric"})
        assert type(w) is Wrapped and w.fn is my_metric


def test_an_unregistered_name_is_refused_and_says_how_to_pass_it():
    with pytest.raises(ValueError, match=r"Unknown thing 'pkg>Gone': it is the user's own.*"
                                         r"custom_objects"):
        _registry().get({"registered_name": "pkg>Gone"})


def test_a_config_never_imports_what_it_names(monkeypatch):
    evil = "glassnet_registry_evil_module"
    seen = []
    real_import, real_import_module = builtins.__import__, importlib.import_module

    def spy(name, *args, **kw):
        seen.append(name)
        return real_import(name, *args, **kw)

    def spy_module(name, *args, **kw):
        seen.append(name)
        return real_import_module(name, *args, **kw)

    monkeypatch.setattr(builtins, "__import__", spy)
    monkeypatch.setattr(importlib, "import_module", spy_module)
    reg = _registry()
    configs = [
        {"registered_name": f"{evil}>system", "module": evil},
        {"registered_name": f"{evil}.system"},
        {"class_name": f"{evil}.System", "module": evil, "registered_name": f"{evil}>x"},
        {"class_name": "system", "module": "os"},
        f"{evil}.system",
    ]
    for cfg in configs:
        with pytest.raises(ValueError, match="Unknown thing"):
            reg.get(cfg)
    for fam in (gn.losses, gn.metrics, gn.optimizers, gn.initializers, gn.regularizers,
                gn.activations, gn.schedules):
        with pytest.raises(ValueError):
            fam.get({"class_name": "system", "module": "os", "registered_name": "os>system"})
        with pytest.raises(ValueError):
            fam.get({"registered_name": f"{evil}>system", "module": evil})
    assert not [n for n in seen if evil in n or n in ("os", "subprocess")]


# ------------------------------------------------------------------ serialize
def test_serialize_writes_class_name_and_config():
    reg = _registry(fn_to_class={thing_fn: Big})
    assert reg.serialize(Big(4)) == {"class_name": "Big", "config": {"k": 4}}
    assert reg.serialize("large") == {"class_name": "Big", "config": {"k": 1}}
    assert reg.serialize(thing_fn) == {"class_name": "Big", "config": {"k": 1}}
    assert _registry(keep_names=True).serialize("LARGE") == "LARGE"
    with pytest.raises(ValueError, match="Unknown thing"):
        _registry(keep_names=True).serialize("nope")


def test_serialize_refuses_what_the_family_does_not_list():
    for obj in (Stray(), Wrapped(thing_fn), thing_fn, 3):
        with pytest.raises(ValueError, match=r"^Only glassnet things can be serialized\. "
                                             r"Received: "):
            _registry().serialize(obj)
    reg = Registry("loss", {}, {}, Thing, refusal="; custom functions are not")
    with pytest.raises(ValueError, match=r"Only glassnet losses can be serialized; custom"):
        reg.serialize(Thing())


# ------------------------------------------------------------------ every family uses it
FAMILIES = [gn.activations, gn.losses, gn.metrics, gn.optimizers, gn.initializers,
            gn.regularizers, gn.schedules]


@pytest.mark.parametrize("mod", FAMILIES, ids=lambda m: m.__name__)
def test_every_family_resolves_through_one_registry_over_its_own_table(mod):
    assert isinstance(mod._REGISTRY, Registry)
    assert mod._REGISTRY.table is mod._TABLE
    assert mod.deserialize is mod.get


def _same(a, b):
    assert type(a) is type(b)
    if hasattr(a, "get_config"):
        assert a.get_config() == b.get_config()


def _roundtrip(mod, obj):
    s = json.loads(json.dumps(mod.serialize(obj)))
    back = mod.get(s)
    _same(obj, back)
    assert mod.serialize(back) == s
    return back


def _cases(mod):
    return [(mod, name) for name in mod._TABLE]


@pytest.mark.parametrize(
    "mod,name",
    [c for m in FAMILIES if m is not gn.schedules for c in _cases(m)],
    ids=lambda v: v if isinstance(v, str) else v.__name__.split(".")[-1])
def test_get_serialize_round_trips_every_table_name(mod, name):
    obj = mod.get(name)
    if mod is gn.activations:
        assert mod.get(mod.serialize(obj)) is obj
        return
    _roundtrip(mod, obj)
    # the name itself serializes too (kept as written where the family keeps names)
    s = mod.serialize(name)
    assert s == name if mod._REGISTRY.keep_names else s == mod.serialize(obj)


SCHEDULES = [
    gn.schedules.ExponentialDecay(0.1, 100, 0.5, staircase=True),
    gn.schedules.PiecewiseConstantDecay([10, 20], [0.1, 0.05, 0.01]),
    gn.schedules.CosineDecay(0.1, 100, alpha=0.1, warmup_target=0.2, warmup_steps=5),
    gn.schedules.InverseTimeDecay(0.1, 10, 0.5),
]


@pytest.mark.parametrize("sched", SCHEDULES, ids=lambda s: type(s).__name__)
def test_schedules_round_trip_by_class_name(sched):
    assert set(gn.schedules._TABLE) >= {type(s).__name__ for s in SCHEDULES}
    back = _roundtrip(gn.schedules, sched)
    assert [back(s) for s in (0, 7, 15, 150)] == [sched(s) for s in (0, 7, 15, 150)]


def test_configured_objects_round_trip_with_their_settings():
    cases = [
        (gn.losses, gn.losses.Huber(delta=2.5, reduction="sum")),
        (gn.losses, gn.losses.get(gn.losses.dice)),                    # added by _losses_more
        (gn.metrics, gn.metrics.MeanIoU(num_classes=3)),               # needs an argument
        (gn.metrics, gn.metrics.get("acc")),
        (gn.optimizers, gn.optimizers.Adam(learning_rate=gn.schedules.InverseTimeDecay(
            0.1, 10, 0.5), beta_1=0.8)),
        (gn.initializers, gn.initializers.VarianceScaling(2.0, "fan_out", "uniform", seed=3)),
        (gn.regularizers, gn.regularizers.get("l1_l2")),
    ]
    for mod, obj in cases:
        _roundtrip(mod, obj)
    assert gn.regularizers.serialize("l1_l2")["config"] == {"l1": 0.01, "l2": 0.01}
    assert gn.activations.serialize(gn.activations.get(
        {"class_name": "leaky_relu", "config": {"alpha": 0.3}})) == {
        "class_name": "leaky_relu", "config": {"alpha": 0.3}}


def test_losses_and_schedules_take_the_configurable_trio():
    for obj in (gn.losses.Huber(delta=2.0), gn.schedules.InverseTimeDecay(0.1, 10, 0.5)):
        assert isinstance(obj, Configurable)
        again = type(obj).from_config(obj.get_config())
        assert again.get_config() == obj.get_config()
        assert repr(obj).startswith(type(obj).__name__ + "(")
        assert eval(repr(obj), {type(obj).__name__: type(obj)}).get_config() == obj.get_config()
    assert gn.losses.MeanSquaredError().get_config() == {
        "name": "mean_squared_error", "reduction": "sum_over_batch_size"}
    assert gn.schedules.InverseTimeDecay(0.1, 10, 0.5).get_config() == {
        "initial_learning_rate": 0.1, "decay_steps": 10.0, "decay_rate": 0.5,
        "staircase": False}


def test_the_helpers_docstring_examples_run():
    import doctest

    import glassnet._registry as R

    result = doctest.testmod(R, extraglobs={"gn": gn}, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 6 and result.failed == 0
