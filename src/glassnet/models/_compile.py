"""How ``compile`` reads its loss, metric and weight structures (Keras's rules).

One value for every output, a list in output order, or a dict keyed by output name; and how
those structures are written to a model file (by config or registered name, never as code).
"""

from __future__ import annotations

from typing import Any


def _is_config(d: Any) -> bool:
    """A serialized loss/metric (``{"class_name", "config"}`` or a user's registered name),
    as opposed to a dict keyed by output names."""
    return isinstance(d, dict) and ("class_name" in d or "registered_name" in d)


def _per_output(value: Any, what: str, names: list[str]) -> list[Any]:
    """``value`` as one entry per output: the same for all, a list in output order, or a dict
    keyed by output name (Keras's structure rules)."""
    n = len(names)
    if isinstance(value, dict) and not _is_config(value):
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise ValueError(f"compile: {what} names outputs the model does not have: "
                             f"{unknown}. Expected keys among: {names}")
        return [value.get(k) for k in names]
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"compile: {what} must have one entry per output ({n}: {names}). "
                             f"Received: {len(value)} entries")
        return list(value)
    return [value] * n


def _metric_slots(metrics: Any, names: list[str], M: Any) -> list[tuple[int, Any, str]]:
    """(output index, metric object, log name) for each compiled metric.

    One output: each metric as written, logged under the name the user wrote (``"mae"`` is
    logged as ``mae``, as Keras does). Several outputs: a dict by output name, a list with
    one entry (a metric or a list of them) per output, or a flat list applied to every
    output; logged as ``<output>_<name>``.
    """
    if not metrics:
        return []
    n = len(names)
    if isinstance(metrics, dict) and not _is_config(metrics):
        per = _per_output(metrics, "metrics", names)
    elif n > 1 and isinstance(metrics, (list, tuple)) and len(metrics) == n and any(
            isinstance(m, (list, tuple)) or m is None for m in metrics):
        per = list(metrics)
    elif isinstance(metrics, (list, tuple)):
        per = [list(metrics)] * n
    else:
        raise TypeError(f"compile: metrics must be a list or a dict. Received: "
                        f"{type(metrics).__name__}")
    slots = []
    for i, entry in enumerate(per):
        if entry is None:
            continue
        for m in entry if isinstance(entry, (list, tuple)) else [entry]:
            obj = M.get(m)
            if isinstance(m, str) and isinstance(getattr(obj, "name", None), str):
                obj.name = m  # Keras names a metric as written: "mae", not its class's name
            name = m if isinstance(m, str) else obj.name
            slots.append((i, obj, name if n == 1 else f"{names[i]}_{name}"))
    return slots


def _serialize_structure(value: Any, family: Any) -> Any:
    """A loss/metric structure for the model file: glassnet's objects by config, a user's
    by its registered name (``load_model(..., custom_objects=...)`` resolves it; files never
    name code to import)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict):
        return {k: _serialize_structure(v, family) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_serialize_structure(v, family) for v in value]
    try:
        return family.serialize(value)
    except (ValueError, TypeError):
        from ..saving import get_registered_name

        return {"registered_name": get_registered_name(value)}
