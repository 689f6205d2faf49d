"""gn.tree: Keras 3's keras.tree, checked against hand-written values and against Keras
itself (its optree implementation, which the TensorFlow and JAX backends use, and the public
keras.tree of the PyTorch backend where the two agree)."""

import collections
import doctest
import os

import numpy as np
import pytest

import glassnet as gn
from glassnet import tree

Point = collections.namedtuple("Point", ["y", "x"])
Other = collections.namedtuple("Point", ["y", "x"])  # same name and fields, another class


def _structures():
    """Structures covering every container kind, None, empty containers and deep nesting."""
    return [
        1, None, "text", np.arange(3), [], (), {}, [None], (None,), [1, None, 2],
        {"b": None, "a": 1}, {"b": 1, "a": (2, 3), "c": [4, {"z": 5, "y": 6}]},
        collections.OrderedDict([("b", 1), ("a", [2, 3])]),
        collections.defaultdict(list, {"b": 1, "a": 2}),
        collections.deque([1, [2, 3]]), Point(1, [2, 3]), [Point(y={"q": 1, "p": 2}, x=3)],
        {2: "two", 1: "one"}, [[[[1]]], [[2, 3]]], ((1, 2), [3], {"a": 4}),
        {"shape": (None, 3), "other": [(1, 2), 4.0]},
    ]


def _show(x):
    """repr with dict key order visible (dict equality ignores order)."""
    return repr(x)


# ------------------------------------------------------------------ hand-written values
def test_flatten_and_is_nested_by_hand():
    assert tree.flatten([[1, 2, 3], [4, [5], [[6]]]]) == [1, 2, 3, 4, 5, 6]
    assert tree.flatten(None) == [None] and tree.flatten(1) == [1]
    assert tree.flatten({100: "world!", 6: "Hello"}) == ["Hello", "world!"]
    assert tree.flatten(collections.OrderedDict([("b", 1), ("a", 2)])) == [1, 2]
    assert tree.flatten(collections.defaultdict(int, {"b": 1, "a": 2})) == [2, 1]
    assert tree.flatten([None, [None]]) == [None, None]
    assert tree.flatten(Point(y=1, x=2)) == [1, 2]  # field order, not sorted
    assert tree.flatten("ab") == ["ab"]
    assert tree.is_nested({"foo": 42}) and tree.is_nested([]) and tree.is_nested(Point(1, 2))
    assert not tree.is_nested(42) and not tree.is_nested(None)
    assert not tree.is_nested(np.zeros(3)) and not tree.is_nested({1, 2})

    class MyList(list):
        pass

    assert not tree.is_nested(MyList([1]))  # subclasses are leaves, as with optree


def test_flatten_with_path_by_hand():
    assert tree.flatten_with_path([{"foo": 42}]) == [((0, "foo"), 42)]
    assert tree.flatten_with_path(7) == [((), 7)]
    assert tree.flatten_with_path(Point(y=1, x=[2])) == [((0,), 1), ((1, 0), 2)]
    assert tree.flatten_with_path({"b": 1, "a": (2,)}) == [(("a", 0), 2), (("b",), 1)]


def test_map_structure_by_hand():
    assert tree.map_structure(lambda v: v ** 2, [[1], [2], [3]]) == [[1], [4], [9]]
    s = [[1], [2], [3]]
    assert tree.map_structure(lambda x, y: x * y, s, s) == [[1], [4], [9]]
    out = tree.map_structure(lambda v: v * 2, Point(y=1, x=2))
    assert type(out) is Point and out == Point(2, 4)
    assert tree.map_structure(lambda v: v, None, none_is_leaf=False) is None
    assert tree.map_structure(lambda v: (v,), [None, 1], none_is_leaf=False) == [None, (1,)]
    assert tree.map_structure(lambda v: (v,), [None, 1]) == [(None,), (1,)]
    # the result keeps the first structure's type and order; the others match by key
    od = collections.OrderedDict([("b", 1), ("a", 2)])
    out = tree.map_structure(lambda x, y: (x, y), od, {"a": 20, "b": 10})
    assert type(out) is collections.OrderedDict and list(out.items()) == [
        ("b", (1, 10)), ("a", (2, 20))]
    d = collections.deque([1, 2], maxlen=5)
    assert tree.map_structure(lambda v: -v, d).maxlen == 5


def test_map_structure_errors_say_expected_and_received():
    with pytest.raises(ValueError, match=r"Expected a list of 2 items.*Received: a list of "
                                         r"3 items"):
        tree.map_structure(lambda a, b: a, [1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match=r"different container types.*Expected a list.*"
                                         r"Received: a tuple"):
        tree.map_structure(lambda a, b: a, [1, 2], (1, 2))
    with pytest.raises(ValueError, match=r"at path \(1,\).*Expected a leaf 2.*Received: a "
                                         r"list of 1 item"):
        tree.map_structure(lambda a, b: a, [1, 2], [1, [2]])
    with pytest.raises(ValueError, match=r"missing keys \['a'\], extra keys \['b'\]"):
        tree.map_structure(lambda a, b: a, {"a": 1}, {"b": 1})
    with pytest.raises(ValueError, match="different namedtuple classes"):
        tree.map_structure(lambda a, b: a, Point(1, 2), Other(1, 2))
    with pytest.raises(ValueError, match=r"Expected None.*Received: a leaf 1"):
        tree.map_structure(lambda a, b: a, [None], [1], none_is_leaf=False)
    with pytest.raises(ValueError, match="at least one structure"):
        tree.map_structure(len)
    with pytest.raises(TypeError, match="callable"):
        tree.map_structure(3, [1])


def test_map_structure_up_to_by_hand():
    assert tree.map_structure_up_to([None, None], len, [[1, 1], [2, 2]]) == [2, 2]
    assert tree.map_structure_up_to([None, [None, None]], str, [[1, 1], [2, 2]]) == [
        "[1, 1]", ["2", "2"]]
    out = tree.map_structure_up_to({"a": None, "b": None}, lambda x, y: (x, y),
                                   {"a": [1], "b": 2}, {"a": 3, "b": (4,)})
    assert out == {"a": ([1], 3), "b": (2, (4,))}
    with pytest.raises(ValueError, match=r"at path \(1,\).*Expected a list"):
        tree.map_structure_up_to([None, [None, None]], str, [[1, 1], 2])
    with pytest.raises(ValueError, match="different lengths"):
        tree.map_structure_up_to([[None], None], str, [[1, 1], 2])
    with pytest.raises(ValueError, match="at least one structure"):
        tree.map_structure_up_to([None], len)


def test_assert_same_structure_and_paths_by_hand():
    tree.assert_same_structure([(0, 1)], [(2, 3)])
    tree.assert_same_structure({"a": 1}, collections.OrderedDict(a=[2]) and {"a": 3})
    tree.assert_same_structure({"a": 1}, collections.defaultdict(int, a=1))
    tree.assert_same_structure([None], [1])  # None is a leaf
    tree.assert_same_structure(Point(0, 1), Point(2, 3))
    for a, b in [(Point(0, 1), Other(2, 3)), ([0, 1], (2, 3)), ([0, 1], [2]),
                 ([0, 1], [2, [3]]), (None, [1]), ({"a": 1}, {"a": 1, "b": 2})]:
        with pytest.raises(ValueError, match="don't have the same nested structure"):
            tree.assert_same_structure(a, b)
    with pytest.warns(DeprecationWarning, match="check_types"):
        tree.assert_same_structure([1], [2], check_types=True)
    tree.assert_same_paths([0, 1], (2, 3))
    tree.assert_same_paths(Point(0, 1), [2, 3])
    with pytest.raises(ValueError, match=r"Paths in `a` missing in `b`:\n\{\('b',\)\}\n"
                                         r"Paths in `b` missing in `a`:\n\{\('c',\)\}"):
        tree.assert_same_paths({"a": 0, "b": 1}, {"a": 0, "c": 1})


def test_pack_sequence_as_by_hand():
    s = {"key3": "", "key1": "", "key2": ""}
    out = tree.pack_sequence_as(s, ["value1", "value2", "value3"])
    assert list(out.items()) == [("key3", "value3"), ("key1", "value1"), ("key2", "value2")]
    assert tree.pack_sequence_as((("a", "b"), ("c", "d", "e"), "f"),
                                 [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]) == (
        (1.0, 2.0), (3.0, 4.0, 5.0), 6.0)
    s = {"key3": {"c": ("alpha", "beta"), "a": ("gamma")}, "key1": {"e": "val1", "d": "val2"}}
    assert tree.pack_sequence_as(s, ["val2", "val1", 3.0, 1.0, 2.0]) == {
        "key3": {"c": (1.0, 2.0), "a": 3.0}, "key1": {"e": "val1", "d": "val2"}}
    assert tree.pack_sequence_as(1, [5]) == 5
    assert tree.pack_sequence_as([1, 2], (5, 6)) == [5, 6]
    assert tree.pack_sequence_as(Point(1, [2]), iter([5, 6])) == Point(5, [6])
    with pytest.raises(ValueError, match="must hold 2 items. Received: 1"):
        tree.pack_sequence_as([1, 2], [1])
    with pytest.raises(ValueError, match="must hold 2 items. Received: 3"):
        tree.pack_sequence_as([1, 2], [1, 2, 3])
    with pytest.raises(TypeError, match="iterable"):
        tree.pack_sequence_as(1, 5)


@pytest.mark.parametrize("structure", _structures(), ids=lambda s: type(s).__name__)
def test_flatten_then_pack_is_the_identity(structure):
    back = tree.pack_sequence_as(structure, tree.flatten(structure))
    assert _show(back) == _show(structure)
    tree.assert_same_structure(back, structure)


def test_traverse_lists_to_tuples_and_shapes_by_hand():
    v = []
    s = [(1, 2), [3], {"a": 4}]
    assert tree.traverse(v.append, s, top_down=True) == s
    assert v == [[(1, 2), [3], {"a": 4}], (1, 2), 1, 2, [3], 3, {"a": 4}, 4]
    v = []
    assert tree.traverse(v.append, s, top_down=False) == s
    assert v == [1, 2, (1, 2), 3, [3], 4, {"a": 4}, [(1, 2), [3], {"a": 4}]]
    assert tree.traverse(lambda x: tree.MAP_TO_NONE if x == 2 else None, [1, 2, (2,)]) == [
        1, None, (None,)]
    # top down, a replaced sub-tree is not entered
    assert tree.traverse(lambda x: "T" if isinstance(x, tuple) else None, [(1, [2]), 3]) == [
        "T", 3]
    with pytest.raises(TypeError, match="callable"):
        tree.traverse(3, [1])
    assert tree.lists_to_tuples([1, [2, {"a": [3]}], (4, [5])]) == (1, (2, {"a": (3,)}),
                                                                      (4, (5,)))
    out = tree.map_shape_structure(lambda s: ("S", s), [(1, None), {"b": [2, 3]}, 4, []])
    assert out == [("S", (1, None)), {"b": ("S", [2, 3])}, ("S", 4), ("S", [])]


def test_is_exposed_like_keras():
    assert gn.tree is tree and "tree" in dir(gn)
    names = ["MAP_TO_NONE", "assert_same_paths", "assert_same_structure", "flatten",
             "flatten_with_path", "is_nested", "lists_to_tuples", "map_shape_structure",
             "map_structure", "map_structure_up_to", "pack_sequence_as", "traverse"]
    assert sorted(tree.__all__) == names


def test_docstring_examples_run():
    import glassnet.tree as mod

    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = [t for t in doctest.DocTestFinder().find(mod, globs=vars(mod).copy()) if t.examples]
    assert len(tests) > 8
    report = []
    for t in tests:
        runner.run(t, out=report.append)
    assert runner.summarize(verbose=False).failed == 0, "".join(report)


# ------------------------------------------------------------------ against Keras
@pytest.fixture(scope="module")
def ktree():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    return keras.tree


@pytest.fixture(scope="module")
def optree_impl():
    """Keras's optree implementation (the TensorFlow and JAX backends'), callable on any
    backend: the reference for what the PyTorch one does differently (namedtuple paths,
    the key order of a packed dict, a deeper second structure in map_structure)."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    pytest.importorskip("keras")
    pytest.importorskip("optree")
    from keras.src.tree import optree_impl

    return optree_impl


def _tag(*xs):
    return ("leaf",) + xs


@pytest.mark.parametrize("structure", _structures(), ids=lambda s: type(s).__name__)
def test_matches_keras_optree(structure, optree_impl):
    k = optree_impl
    assert tree.is_nested(structure) == k.is_nested(structure)
    # np arrays compare elementwise: compare reprs
    assert _show(tree.flatten(structure)) == _show(k.flatten(structure))
    assert _show(tree.flatten_with_path(structure)) == _show(k.flatten_with_path(structure))
    assert _show(tree.map_structure(_tag, structure)) == _show(k.map_structure(_tag, structure))
    assert _show(tree.map_structure(_tag, structure, none_is_leaf=False)) == _show(
        k.map_structure(_tag, structure, none_is_leaf=False))
    assert _show(tree.map_structure(_tag, structure, structure)) == _show(
        k.map_structure(_tag, structure, structure))
    n = len(k.flatten(structure))
    assert _show(tree.pack_sequence_as(structure, list(range(n)))) == _show(
        k.pack_sequence_as(structure, list(range(n))))
    assert _show(tree.lists_to_tuples(structure)) == _show(k.lists_to_tuples(structure))
    assert _show(tree.map_shape_structure(_tag, structure)) == _show(
        k.map_shape_structure(_tag, structure))
    for top_down in (True, False):
        ours, theirs = [], []
        r1 = tree.traverse(lambda x, seen=ours: seen.append(_show(x)), structure,
                           top_down=top_down)
        r2 = k.traverse(lambda x, seen=theirs: seen.append(_show(x)), structure,
                        top_down=top_down)
        assert ours == theirs and _show(r1) == _show(r2)


@pytest.mark.parametrize("structure", _structures(), ids=lambda s: type(s).__name__)
def test_matches_public_keras_tree(structure, ktree):
    """The public keras.tree (PyTorch backend here) where it agrees with optree: the leaves,
    the mapped values, and the dict-order-free parts of the packed results. (Keras's
    PyTorch implementation sorts only the outermost dict's keys, so a dict inside a dict
    flattens in insertion order there; optree and the documentation sort every dict.)"""
    inner = []
    tree.traverse(lambda x: inner.append(x) if isinstance(x, dict) else None, structure)
    if isinstance(structure, dict) and len(inner) > 1:
        pytest.skip("a dict inside a dict: Keras's PyTorch tree leaves it unsorted")
    assert ktree.is_nested(structure) == tree.is_nested(structure)
    assert _show(ktree.flatten(structure)) == _show(tree.flatten(structure))
    assert _show(ktree.map_structure(_tag, structure)) == _show(
        tree.map_structure(_tag, structure))
    n = len(ktree.flatten(structure))
    packed = tree.pack_sequence_as(structure, list(range(n)))
    assert tree.flatten(packed) == ktree.flatten(ktree.pack_sequence_as(structure,
                                                                         list(range(n))))
    assert tree.flatten(ktree.lists_to_tuples(structure)) == tree.flatten(
        tree.lists_to_tuples(structure))


PAIRS = [
    ([0, 1], (2, 3)), ([0, 1], [2]), ([0, 1], [2, [3]]), ([0, [1]], [2, 3]),
    (Point(0, 1), Other(0, 1)), (Point(0, 1), Point(5, [6])), (None, [1]), ([1], None),
    ([None], [1]), ({"a": 1}, {"b": 1}), ({"a": 1}, collections.OrderedDict(a=2)),
    ({"a": 1, "b": 2}, collections.defaultdict(int, b=3, a=4)), ("ab", 1),
    (collections.deque([1]), [1]), ({"a": [1, 2]}, {"a": [3, 4]}), ([], ()), ({}, {}),
]


@pytest.mark.parametrize("a,b", PAIRS, ids=[f"pair{i}" for i in range(len(PAIRS))])
def test_structure_checks_match_keras(a, b, optree_impl):
    def outcome(fn):
        try:
            return _show(fn())
        except ValueError:
            return "ValueError"

    k = optree_impl
    assert outcome(lambda: tree.assert_same_structure(a, b)) == outcome(
        lambda: k.assert_same_structure(a, b))
    assert outcome(lambda: tree.assert_same_paths(a, b)) == outcome(
        lambda: k.assert_same_paths(a, b))
    for leaf in (True, False):
        assert outcome(lambda n=leaf: tree.map_structure(_tag, a, b, none_is_leaf=n)) == (
            outcome(lambda n=leaf: k.map_structure(_tag, a, b, none_is_leaf=n)))


UP_TO = [
    ([None, None], [[1, 1], [2, 2]]), ([None, [None, None]], [[1, 1], [2, 2]]),
    ([None, [None, None]], [[1, 1], 2]), ([[None], None], [[1, 1], 2]),
    ({"a": None, "b": None}, {"a": [1], "b": 2}), (1, [1, 2]), (None, [1, 2]),
    ((None, None), [1, 2]),
]


@pytest.mark.parametrize("shallow,structure", UP_TO, ids=[f"up{i}" for i in range(len(UP_TO))])
def test_map_structure_up_to_matches_keras(shallow, structure, ktree):
    """The public keras.tree's (Keras's optree one fails on every nested shallow structure:
    it checks the shallow leaves with None as a node)."""
    def outcome(fn):
        try:
            return _show(fn())
        except ValueError:
            return "ValueError"

    assert outcome(lambda: tree.map_structure_up_to(shallow, str, structure)) == outcome(
        lambda: ktree.map_structure_up_to(shallow, str, structure))


def test_traverse_map_to_none_from_keras_is_understood(ktree):
    assert tree.traverse(lambda x: ktree.MAP_TO_NONE if x == 1 else None, [1, 2]) == [None, 2]
