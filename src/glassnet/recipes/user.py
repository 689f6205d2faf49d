"""User recipes: a TOML or JSON file of configuration only — never code.

Example ``my.toml``::

    name = "my-csv"
    [data]
    path = "data.csv"        # numeric CSV with a header row
    target = "label"         # target column name
    test_size = 0.2
    [[layers]]
    class_name = "Dense"
    config = { units = 16, activation = "relu" }
    [[layers]]
    class_name = "Dense"
    config = { units = 1, activation = "sigmoid" }
    [compile]
    optimizer = "adam"
    loss = "binary_crossentropy"
    metrics = ["accuracy"]
    [fit]
    epochs = 20
    batch_size = 16

Layer classes come from glassnet's fixed table; anything else is rejected.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import Recipe

if TYPE_CHECKING:
    from ..layers import Layer
    from ..models import Sequential

_ALLOWED_TOP = {"name", "description", "data", "layers", "compile", "fit", "figures"}
_ALLOWED_FIT = {"epochs", "batch_size", "validation_split", "shuffle"}


def _read(path: Path) -> dict:
    if not path.exists():
        raise FileNotFoundError(f"recipe file {path} does not exist")
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        try:
            cfg = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"recipe {path.name} is not valid JSON ({e})") from None
    else:
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # Python 3.10
            import tomli as tomllib
        try:
            cfg = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise ValueError(f"recipe {path.name} is not valid TOML ({e})") from None
    if not isinstance(cfg, dict):
        raise ValueError(f"recipe {path.name} must be a table/object at the top level")
    unknown = set(cfg) - _ALLOWED_TOP
    if unknown:
        raise ValueError(f"recipe {path.name}: unknown keys {sorted(unknown)}; "
                         f"allowed: {sorted(_ALLOWED_TOP)}")
    for key in ("data", "layers", "compile"):
        if key not in cfg:
            raise ValueError(f"recipe {path.name}: missing [{key}]")
    _check_types(cfg, path.name)
    return cfg


_TYPES: dict[str, tuple[type, ...]] = {
    "name": (str,), "description": (str,), "data": (dict,), "layers": (list,),
    "compile": (dict,), "fit": (dict,), "figures": (list,)}
_FIT_TYPES: dict[str, tuple[type, ...]] = {
    "epochs": (int,), "batch_size": (int,), "validation_split": (int, float),
    "shuffle": (bool,)}
_DATA_TYPES: dict[str, tuple[type, ...]] = {
    "path": (str,), "target": (str,), "test_size": (int, float)}


def _type_error(where: str, key: str, want: tuple[type, ...], got: object) -> ValueError:
    names = " or ".join({"str": "a string", "dict": "a table", "list": "a list",
                         "int": "an integer", "float": "a number",
                         "bool": "true/false"}[t.__name__] for t in want)
    return ValueError(f"{where}: '{key}' must be {names}. Received: {type(got).__name__} "
                      f"{str(got)[:60]!r}")


def _check_types(cfg: dict, fname: str) -> None:
    """Every value of the right type, so a typo is one line, not an AttributeError."""
    from ..runner import RunError, check_run_name

    for key, want in _TYPES.items():
        if key in cfg and (not isinstance(cfg[key], want) or isinstance(cfg[key], bool)):
            raise _type_error(f"recipe {fname}", key, want, cfg[key])
    for key, want in _DATA_TYPES.items():
        v = cfg["data"].get(key)
        if v is not None and (not isinstance(v, want) or isinstance(v, bool)):
            raise _type_error(f"recipe {fname} [data]", key, want, v)
    ts = cfg["data"].get("test_size", 0.2)
    if not 0 < ts < 1:
        raise ValueError(f"recipe {fname} [data]: test_size must be between 0 and 1. "
                         f"Received: {ts}")
    for key, v in cfg.get("fit", {}).items():
        fit_want = _FIT_TYPES.get(key)
        if fit_want is not None and (not isinstance(v, fit_want)
                                     or (isinstance(v, bool) and bool not in fit_want)):
            raise _type_error(f"recipe {fname} [fit]", key, fit_want, v)
    for i, spec in enumerate(cfg["layers"]):
        if not isinstance(spec, dict) or not isinstance(spec.get("class_name"), str):
            raise ValueError(f"recipe {fname}: layers[{i}] must be a table with a class_name "
                             f"string. Received: {str(spec)[:60]!r}")
        if not isinstance(spec.get("config", {}), dict):
            raise ValueError(f"recipe {fname}: layers[{i}].config must be a table")
    if not all(isinstance(f, str) for f in cfg.get("figures", [])):
        raise ValueError(f"recipe {fname}: figures must be a list of names")
    if "name" in cfg:
        try:
            check_run_name(cfg["name"])
        except RunError as e:
            raise ValueError(f"recipe {fname}: {e}") from None


def load_user_recipe(path: Path) -> Recipe:
    """Build a :class:`Recipe` from a TOML/JSON file (configuration only)."""
    path = Path(path)
    cfg = _read(path)
    data_cfg = cfg["data"]
    csv_path = Path(data_cfg.get("path", ""))
    if not csv_path.is_absolute():
        csv_path = path.parent / csv_path
    target = data_cfg.get("target")
    if not target:
        raise ValueError(f"recipe {path.name}: [data] needs 'target' (the label column)")

    def load_data(_c: dict) -> dict:
        import pandas as pd
        from sklearn.model_selection import train_test_split

        if not csv_path.exists():
            raise FileNotFoundError(f"data file {csv_path} does not exist")
        df = pd.read_csv(csv_path)
        if target not in df.columns:
            raise ValueError(f"data file {csv_path.name} has no column {target!r}")
        y = df.pop(target).to_numpy()
        x = df.to_numpy(dtype=np.float32)
        x_tr, x_te, y_tr, y_te = train_test_split(
            x, y, test_size=float(data_cfg.get("test_size", 0.2)), random_state=0)
        return {"x_train": x_tr, "y_train": y_tr, "x_test": x_te, "y_test": y_te}

    def build(data: dict, _c: dict) -> Sequential:
        from ..layers import get_layer_class
        from ..models import Sequential

        layers = []
        for i, spec in enumerate(cfg["layers"]):
            if not isinstance(spec, dict) or "class_name" not in spec:
                raise ValueError(f"recipe {path.name}: layers[{i}] needs class_name")
            cls: type[Layer] = get_layer_class(str(spec["class_name"]))
            conf = dict(spec.get("config", {}))
            if i == 0 and "input_shape" not in conf and "input_dim" not in conf:
                conf["input_shape"] = list(data["x_train"].shape[1:])
            layers.append(cls.from_config(conf))
        return Sequential(layers)

    fit = dict(cfg.get("fit", {}))
    bad = set(fit) - _ALLOWED_FIT
    if bad:
        raise ValueError(f"recipe {path.name}: unknown [fit] keys {sorted(bad)}")
    name = cfg.get("name")
    if name is None:  # the file's stem, made a safe slug
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", path.stem).strip("-.") or "user"
    return Recipe(
        name=name[:64],
        description=str(cfg.get("description", f"user recipe {path.name}")),
        load_data=load_data, build=build, compile=dict(cfg["compile"]), fit=fit,
        fast={"epochs": 1}, figures=tuple(cfg.get("figures", ("history",))),
    )
