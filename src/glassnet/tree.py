"""Nested structures (lists, tuples, dicts, namedtuples) under Keras 3's names (``keras.tree``).

A *structure* is a leaf or a container of structures. The containers are ``list``,
``tuple``, ``collections.deque``, namedtuples (and C struct sequences such as
``os.stat_result``), ``dict``, ``collections.OrderedDict`` and ``collections.defaultdict``;
everything else is a leaf, ``None``, strings, arrays, tensors and subclasses of the
containers included (as in Keras, which uses optree with only these types registered).

Order: a ``dict``'s (and ``defaultdict``'s) values come in sorted-key order, an
``OrderedDict``'s in insertion order, so that :func:`flatten` and :func:`pack_sequence_as`
undo each other. A rebuilt dict keeps the key order of the structure it was built from.

``dict``, ``OrderedDict`` and ``defaultdict`` match each other when their keys are the same;
``list``, ``tuple``, ``deque`` and two different namedtuple classes never match (use
:func:`assert_same_paths` for a check that ignores container types).

Pure Python, as Keras's optree-based implementation behaves (where Keras's PyTorch-backend
implementation differs, e.g. the paths of namedtuples, this follows optree and the
documentation).

Example:
    >>> import glassnet as gn
    >>> gn.tree.flatten({"b": [1, 2], "a": 3})
    [3, 1, 2]
    >>> gn.tree.map_structure(lambda v: v * 10, {"b": [1, 2], "a": 3})
    {'b': [10, 20], 'a': 30}
"""

from __future__ import annotations

import collections
import warnings
from collections.abc import Callable, Iterable
from typing import Any

__all__ = [
    "MAP_TO_NONE", "assert_same_paths", "assert_same_structure", "flatten",
    "flatten_with_path", "is_nested", "lists_to_tuples", "map_shape_structure",
    "map_structure", "map_structure_up_to", "pack_sequence_as", "traverse",
]


class MAP_TO_NONE:  # noqa: N801 - Keras's name
    """Special value for :func:`traverse`: a function returning this class replaces the
    sub-structure with ``None`` (returning ``None`` itself means "unchanged" there).

    Example:
        >>> traverse(lambda x: MAP_TO_NONE if x == 2 else None, [1, 2])
        [1, None]
    """


_DICTS = (dict, collections.OrderedDict, collections.defaultdict)
_SEQS = (list, tuple, collections.deque)


def _is_namedtuple(x: Any) -> bool:
    t = type(x)
    return isinstance(x, tuple) and t is not tuple and isinstance(
        getattr(t, "_fields", None), tuple)


def _is_structseq(x: Any) -> bool:
    # C struct sequences (os.stat_result, time.struct_time): optree treats them as nodes
    t = type(x)
    return (isinstance(x, tuple) and t is not tuple
            and isinstance(getattr(t, "n_sequence_fields", None), int))


def _kind(x: Any, none_is_leaf: bool = True) -> Any:
    """The node kind of ``x`` (its class, or "dict" for the three dict types), or None
    for a leaf. Only exact container types count: a subclass of ``list`` is a leaf."""
    t = type(x)
    if t in _DICTS:
        return "dict"
    if t in _SEQS or _is_namedtuple(x) or _is_structseq(x):
        return t
    if x is None and not none_is_leaf:
        return type(None)
    return None


def _sorted_keys(d: dict) -> list:
    if type(d) is collections.OrderedDict:
        return list(d)
    try:
        return sorted(d)
    except TypeError:  # mixed key types: optree's fallback, by type name first, then key
        try:
            return sorted(d, key=lambda k: (type(k).__module__, type(k).__qualname__, k))
        except TypeError:
            return list(d)


def _items(x: Any) -> list[tuple[Any, Any]]:
    """A node's (path entry, child) pairs in flattening order."""
    if isinstance(x, dict):
        return [(k, x[k]) for k in _sorted_keys(x)]
    if x is None:
        return []
    if _is_structseq(x):
        return list(enumerate(tuple(x)[:type(x).n_sequence_fields]))
    return list(enumerate(x))


def _rebuild(x: Any, values: dict[Any, Any] | list[Any]) -> Any:
    """A node of ``x``'s type holding ``values`` (a dict by key for the dict types, a list
    in flattening order otherwise); dicts keep ``x``'s own key order."""
    t = type(x)
    if isinstance(values, dict):
        pairs = [(k, values[k]) for k in x]
        if t is collections.defaultdict:
            return collections.defaultdict(x.default_factory, pairs)
        return t(pairs)
    if x is None:
        return None
    if t is list:
        return list(values)
    if t is tuple:
        return tuple(values)
    if t is collections.deque:
        return collections.deque(values, maxlen=x.maxlen)
    if _is_namedtuple(x):
        return t(*values)
    return t(values)  # a struct sequence


def _describe(x: Any) -> str:
    k = _kind(x)
    text = repr(x)
    if len(text) > 80:
        text = text[:77] + "..."
    if k is None:
        return f"a leaf {text}" if x is not None else "None"
    name = "dict" if k == "dict" else _type_name(type(x))
    n = len(_items(x))
    unit = "key" if k == "dict" else "item"
    return f"a {name} of {n} {unit}{'s' if n != 1 else ''}: {text}"


def _type_name(t: type) -> str:
    return t.__name__ if t.__module__ in ("builtins", "collections") else (
        f"{t.__module__}.{t.__qualname__}")


def _mismatch(where: str, path: tuple, expected: Any, received: Any, why: str = "") -> ValueError:
    at = f" at path {path}" if path else ""
    extra = f" ({why})" if why else ""
    return ValueError(f"{where}: the structures don't have the same nested structure{at}"
                      f"{extra}. Expected {_describe(expected)}. Received: "
                      f"{_describe(received)}")


def _check_node(where: str, path: tuple, ref: Any, other: Any, none_is_leaf: bool) -> None:
    """Raise unless ``other`` is a node that matches the node ``ref`` (same kind, same
    namedtuple class, same length or the same keys)."""
    k, ko = _kind(ref, none_is_leaf), _kind(other, none_is_leaf)
    if k != ko:
        why = "different namedtuple classes" if (
            _is_namedtuple(ref) and _is_namedtuple(other)) else "different container types"
        raise _mismatch(where, path, ref, other, why)
    if k == "dict":
        if set(ref) != set(other):
            missing = sorted(map(repr, set(ref) - set(other)))
            extra = sorted(map(repr, set(other) - set(ref)))
            raise _mismatch(where, path, ref, other,
                            f"missing keys [{', '.join(missing)}], "
                            f"extra keys [{', '.join(extra)}]")
    elif len(_items(ref)) != len(_items(other)):
        raise _mismatch(where, path, ref, other, "different lengths")


def is_nested(structure: Any) -> bool:
    """Whether ``structure`` is a container (list, tuple, deque, namedtuple, dict,
    OrderedDict, defaultdict) rather than a leaf.

    Args:
        structure: anything.

    Returns:
        True for a container (even an empty one), False for a leaf (``None`` included).

    Example:
        >>> is_nested(42), is_nested({"foo": 42}), is_nested(None)
        (False, True, False)
    """
    return _kind(structure) is not None


def flatten(structure: Any) -> list[Any]:
    """The leaves of ``structure``, depth first, as a list (a leaf gives ``[leaf]``).

    Args:
        structure: a nested structure; ``dict`` values come in sorted-key order,
            ``OrderedDict`` values in insertion order.

    Returns:
        A list of the leaves; ``None`` is a leaf: ``flatten(None) == [None]``.

    Example:
        >>> flatten([[1, 2, 3], [4, [5], [[6]]]])
        [1, 2, 3, 4, 5, 6]
        >>> flatten({100: "world!", 6: "Hello"})
        ['Hello', 'world!']
    """
    out: list[Any] = []

    def walk(x: Any) -> None:
        if _kind(x) is None:
            out.append(x)
        else:
            for _, c in _items(x):
                walk(c)

    walk(structure)
    return out


def flatten_with_path(structure: Any) -> list[tuple[tuple[Any, ...], Any]]:
    """Like :func:`flatten`, with each leaf's path: the tuple of indices (sequences,
    namedtuples) and keys (dicts) that leads to it.

    Args:
        structure: a nested structure.

    Returns:
        A list of ``(path, leaf)`` pairs; a leaf on its own has the path ``()``.

    Example:
        >>> flatten_with_path([{"foo": 42}])
        [((0, 'foo'), 42)]
    """
    out: list[tuple[tuple[Any, ...], Any]] = []

    def walk(x: Any, path: tuple[Any, ...]) -> None:
        if _kind(x) is None:
            out.append((path, x))
        else:
            for k, c in _items(x):
                walk(c, (*path, k))

    walk(structure, ())
    return out


def _check_callable(where: str, func: Any) -> None:
    if not callable(func):
        raise TypeError(f"{where}: func must be callable. Received: func={func!r}")


def map_structure(func: Callable[..., Any], *structures: Any, none_is_leaf: bool = True) -> Any:
    """Apply ``func`` to the leaves of one or more structures of the same layout.

    Args:
        func: called with one leaf from each structure, in order.
        *structures: one or more structures; all must match the first (see
            :func:`assert_same_structure`; the result takes the first one's types and
            dict key order).
        none_is_leaf: True (default): ``func`` is called on ``None`` leaves too. False:
            ``None`` stays ``None`` in the result and must be ``None`` in every structure.

    Returns:
        A structure like the first with ``func``'s results as its leaves.

    Raises:
        ValueError: no structure was given, or the structures differ.
        TypeError: ``func`` is not callable.

    Example:
        >>> map_structure(lambda v: v ** 2, [[1], [2], [3]])
        [[1], [4], [9]]
        >>> map_structure(lambda x, y: x * y, {"a": 2, "b": 3}, {"b": 10, "a": 1})
        {'a': 2, 'b': 30}
    """
    if not structures:
        raise ValueError("map_structure: must provide at least one structure. Received: "
                         "no structures")
    _check_callable("map_structure", func)

    def walk(xs: tuple[Any, ...], path: tuple[Any, ...]) -> Any:
        ref = xs[0]
        kind = _kind(ref, none_is_leaf)
        if kind is None:
            for other in xs[1:]:
                if _kind(other, none_is_leaf) is not None:
                    raise _mismatch("map_structure", path, ref, other,
                                    "a leaf where the other is a container")
            return func(*xs)
        for other in xs[1:]:
            _check_node("map_structure", path, ref, other, none_is_leaf)
        if kind == "dict":
            return _rebuild(ref, {k: walk(tuple(x[k] for x in xs), (*path, k))
                                  for k, _ in _items(ref)})
        columns = zip(*(_items(x) for x in xs))
        return _rebuild(ref, [walk(tuple(c for _, c in col), (*path, col[0][0]))
                              for col in columns])

    return walk(structures, ())


def map_structure_up_to(shallow_structure: Any, func: Callable[..., Any],
                        *structures: Any) -> Any:
    """Like :func:`map_structure`, but only down to the leaves of ``shallow_structure``:
    whatever the structures hold there (containers included) is passed to ``func``.

    Args:
        shallow_structure: the layout to follow; its leaves (``None`` included) mark where
            ``func`` is called. Its values are not passed to ``func``.
        func: called with one sub-structure from each of ``structures``.
        *structures: structures that match ``shallow_structure`` down to its leaves; they
            may be nested deeper there, not shallower.

    Returns:
        A structure like ``shallow_structure`` holding ``func``'s results.

    Example:
        >>> map_structure_up_to([None, None], len, [[1, 1], [2, 2]])
        [2, 2]
        >>> map_structure_up_to([None, [None, None]], str, [[1, 1], [2, 2]])
        ['[1, 1]', ['2', '2']]
    """
    if not structures:
        raise ValueError("map_structure_up_to: must provide at least one structure. "
                         "Received: no structures")
    _check_callable("map_structure_up_to", func)

    def walk(shallow: Any, xs: tuple[Any, ...], path: tuple[Any, ...]) -> Any:
        kind = _kind(shallow)
        if kind is None:
            return func(*xs)
        for other in xs:
            _check_node("map_structure_up_to", path, shallow, other, True)
        if kind == "dict":
            return _rebuild(shallow, {k: walk(v, tuple(x[k] for x in xs), (*path, k))
                                      for k, v in _items(shallow)})
        items = [_items(x) for x in xs]
        return _rebuild(shallow, [walk(v, tuple(it[i][1] for it in items), (*path, k))
                                  for i, (k, v) in enumerate(_items(shallow))])

    return walk(shallow_structure, structures, ())


def assert_same_structure(a: Any, b: Any, check_types: bool | None = None) -> None:
    """Raise a ``ValueError`` unless ``a`` and ``b`` are nested the same way.

    At each level both must be the same kind of container (``list``, ``tuple``, ``deque``
    and each namedtuple class are different kinds; ``dict``, ``OrderedDict`` and
    ``defaultdict`` are one kind) with the same length or the same keys. Leaves may be
    anything, ``None`` included.

    Args:
        a: a nested structure.
        b: the structure to compare it with.
        check_types: deprecated, as in Keras: has no effect (warns when given).

    Example:
        >>> assert_same_structure([(0, 1)], [(2, 3)])
        >>> assert_same_structure([0, 1], (2, 3))
        Traceback (most recent call last):
        ValueError: assert_same_structure: the structures don't have the same nested ...
    """
    if check_types is not None:
        warnings.warn("The `check_types` argument is deprecated and no longer has any "
                      "effect" + ("" if check_types else "; for a looser check use "
                                  "glassnet.tree.assert_same_paths()"),
                      DeprecationWarning, stacklevel=2)

    def walk(x: Any, y: Any, path: tuple[Any, ...]) -> None:
        if _kind(x) is None:
            if _kind(y) is not None:
                raise _mismatch("assert_same_structure", path, x, y,
                                "a leaf where the other is a container")
            return
        _check_node("assert_same_structure", path, x, y, True)
        if isinstance(x, dict):
            for k, c in _items(x):
                walk(c, y[k], (*path, k))
        else:
            for (k, c), (_, d) in zip(_items(x), _items(y)):
                walk(c, d, (*path, k))

    walk(a, b, ())


def assert_same_paths(a: Any, b: Any) -> None:
    """Raise a ``ValueError`` unless ``a`` and ``b`` have the same leaf paths (see
    :func:`flatten_with_path`), whatever their container types: ``[0, 1]`` and ``(2, 3)``
    match; namedtuples use indices, not field names.

    Args:
        a: a nested structure.
        b: the structure to compare it with.

    Example:
        >>> assert_same_paths([0, 1], (2, 3))
        >>> assert_same_paths({"a": 0}, {"b": 0})
        Traceback (most recent call last):
        ValueError: `a` and `b` don't have the same paths. ...
    """
    a_paths = {p for p, _ in flatten_with_path(a)}
    b_paths = {p for p, _ in flatten_with_path(b)}
    if a_paths != b_paths:
        msg = "`a` and `b` don't have the same paths."
        if a_paths - b_paths:
            msg += f"\nPaths in `a` missing in `b`:\n{a_paths - b_paths}"
        if b_paths - a_paths:
            msg += f"\nPaths in `b` missing in `a`:\n{b_paths - a_paths}"
        raise ValueError(msg)


def pack_sequence_as(structure: Any, flat_sequence: Iterable[Any]) -> Any:
    """Put the items of ``flat_sequence`` into the layout of ``structure``: the inverse of
    :func:`flatten` (dict values are taken in sorted-key order, the result keeps
    ``structure``'s key order).

    Args:
        structure: the layout; its leaves' values are ignored.
        flat_sequence: an iterable with exactly as many items as ``structure`` has leaves.

    Returns:
        A structure like ``structure``; for a leaf ``structure``, ``flat_sequence[0]``.

    Raises:
        TypeError: ``flat_sequence`` is not iterable.
        ValueError: it has too few or too many items.

    Example:
        >>> pack_sequence_as((("a", "b"), ("c", "d", "e"), "f"), [1, 2, 3, 4, 5, 6])
        ((1, 2), (3, 4, 5), 6)
        >>> pack_sequence_as({"key3": "", "key1": ""}, ["value1", "value3"])
        {'key3': 'value3', 'key1': 'value1'}
    """
    try:
        flat = list(flat_sequence)
    except TypeError:
        raise TypeError("pack_sequence_as: flat_sequence must be an iterable (a list of the "
                        f"leaves). Received: {flat_sequence!r}") from None
    n = len(flatten(structure))
    if len(flat) != n:
        raise ValueError(f"pack_sequence_as: the structure has {n} leaves, so flat_sequence "
                         f"must hold {n} items. Received: {len(flat)} items")
    it = iter(flat)

    def walk(x: Any) -> Any:
        kind = _kind(x)
        if kind is None:
            return next(it)
        if kind == "dict":
            return _rebuild(x, {k: walk(c) for k, c in _items(x)})
        return _rebuild(x, [walk(c) for _, c in _items(x)])

    return walk(structure)


def traverse(func: Callable[[Any], Any], structure: Any, top_down: bool = True) -> Any:
    """Visit every sub-structure of ``structure`` (depth first, the structure itself
    included) and rebuild it with ``func``'s replacements.

    Top down (default), ``func(sub)`` is called on a parent before its children: ``None``
    means "go on into it"; anything else replaces ``sub`` and its children are not
    visited. Bottom up, children first: ``None`` keeps the (rebuilt) ``sub``, anything else
    replaces it. To replace with ``None``, return :class:`MAP_TO_NONE`.

    Args:
        func: called with each sub-structure.
        structure: a nested structure.
        top_down: the order described above.

    Returns:
        The rebuilt structure.

    Example:
        >>> v = []
        >>> traverse(v.append, [(1, 2), [3], {"a": 4}])
        [(1, 2), [3], {'a': 4}]
        >>> v
        [[(1, 2), [3], {'a': 4}], (1, 2), 1, 2, [3], 3, {'a': 4}, 4]
    """
    _check_callable("traverse", func)

    def children(x: Any) -> Any:
        kind = _kind(x)
        if kind is None:
            return x
        if kind == "dict":
            return _rebuild(x, {k: visit(c) for k, c in _items(x)})
        return _rebuild(x, [visit(c) for _, c in _items(x)])

    def visit(x: Any) -> Any:
        if top_down:
            ret = func(x)
            if ret is None:
                return children(x)
        else:
            x = children(x)
            ret = func(x)
            if ret is None:
                return x
        # by name as well: Keras's own MAP_TO_NONE works here too
        if ret is MAP_TO_NONE or (isinstance(ret, type) and ret.__name__ == "MAP_TO_NONE"):
            return None
        return ret

    return visit(structure)


def lists_to_tuples(structure: Any) -> Any:
    """``structure`` with every ``list`` turned into a ``tuple``, at every depth.

    Args:
        structure: a nested structure.

    Example:
        >>> lists_to_tuples([1, [2, {"a": [3]}]])
        (1, (2, {'a': (3,)}))
    """
    return traverse(lambda x: tuple(x) if isinstance(x, list) else None, structure,
                    top_down=False)


def _is_shape(x: Any) -> bool:
    return isinstance(x, (list, tuple)) and all(isinstance(e, (int, type(None))) for e in x)


def map_shape_structure(func: Callable[[Any], Any], structure: Any) -> Any:
    """Like :func:`map_structure`, but a list or tuple of ints and ``None`` (a shape, such
    as ``(None, 3)``) is a leaf: ``func`` gets the whole shape.

    Args:
        func: called with each shape (and each other leaf).
        structure: a nested structure of shapes.

    Example:
        >>> map_shape_structure(lambda s: s[1:], {"x": (None, 3), "y": [(None, 4, 5)]})
        {'x': (3,), 'y': [(4, 5)]}
    """
    _check_callable("map_shape_structure", func)

    def walk(x: Any) -> Any:
        if _is_shape(x):
            return func(x)
        kind = _kind(x)
        if kind is None:
            return func(x)
        if kind == "dict":
            return _rebuild(x, {k: walk(c) for k, c in _items(x)})
        return _rebuild(x, [walk(c) for _, c in _items(x)])

    return walk(structure)
