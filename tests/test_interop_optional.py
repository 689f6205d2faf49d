"""The interop doors without their optional packages: `import glassnet` needs none of them,
and a missing one is an ImportError that names the extra to install (runs everywhere)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import glassnet as gn
from glassnet import layers as L
from glassnet.interop import keras_format


def test_import_glassnet_loads_no_interop_package():
    code = ("import sys, glassnet, glassnet.models, glassnet.interop; "
            "print([m for m in ('h5py', 'onnx', 'onnxruntime', 'keras') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


@pytest.mark.parametrize("name,fmt", [("m.keras", "keras"), ("M.KERAS", "keras"),
                                      ("w.weights.h5", "weights_h5"), ("model.h5", "h5"),
                                      ("model.hdf5", "h5"), ("m.glassnet", None),
                                      ("m.npz", None), ("keras", None)])
def test_file_name_picks_the_format(name, fmt):
    assert keras_format(name) == fmt


def _model():
    return gn.models.Sequential([L.Input((4,)), L.Dense(2)])


def test_missing_h5py_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)  # import h5py now raises ImportError
    model = _model()
    for call in (lambda: model.save(tmp_path / "m.keras"),
                 lambda: model.save_weights(tmp_path / "m.weights.h5"),
                 lambda: gn.models.load_model(tmp_path / "m.keras")):
        with pytest.raises(ImportError, match=r"glassnet\[keras\]"):
            call()
    assert not (tmp_path / "m.keras").exists()
    model.save(tmp_path / "m.glassnet")  # glassnet's own format needs nothing
    assert gn.models.load_model(tmp_path / "m.glassnet").count_params() == 10


def test_missing_onnx_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r"glassnet\[onnx\]"):
        _model().export(tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()
