"""The sweep benchmark stays runnable: unique names, the issue's table present, and a few
specs build and step in both frameworks (nothing is timed here)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout's benchmarks/
from benchmarks.sweep import configs, markdown, summary  # noqa: E402


def test_config_names_unique_and_the_table_present():
    specs = configs()
    names = [s.name for s in specs]
    assert len(names) == len(set(names)) and len(names) >= 90
    table = {s.group for s in specs if s.table}
    assert {"embedding", "conv", "evaluate", "batch", "activation", "recurrent",
            "predict"} <= table


@pytest.mark.parametrize("name", ["opt-sgd_momentum", "functional-residual-mlp-b128",
                                  "conv1d32-3ch-b64"])
def test_spec_builds_and_steps_in_both_frameworks(name):
    pytest.importorskip("torch", reason="PyTorch is the sweep's reference")
    from benchmarks._sweep_models import build_glassnet
    from benchmarks._sweep_torch import build_torch

    spec = {s.name: s for s in configs()}[name]
    build_glassnet(spec)()
    build_torch(spec)()


def test_report_formats():
    recs = [{"config": "a", "group": "g", "table": True, "glassnet_per_s": 2.0,
             "torch_per_s": 1.0, "ratio": 2.0, "ratio_min": 1.5, "ratio_max": 2.5,
             "threads": 1},
            {"config": "b", "group": "g", "table": False, "glassnet_per_s": 1.0,
             "torch_per_s": 2.0, "ratio": 0.5, "ratio_min": 0.4, "ratio_max": 0.6,
             "threads": 1}]
    assert "| **a** | 1 |" in markdown(recs)
    assert "median ratio 1.25×, below 0.9×: 1" in summary(recs)
