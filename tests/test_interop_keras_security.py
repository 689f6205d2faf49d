"""Hostile Keras files: none executes code or allocates more than 200 MB; each is a
ModelFileError that says what was refused (the defences of .glassnet files, for .keras/.h5)."""

from __future__ import annotations

import io
import json
import os
import tracemalloc
import zipfile

import numpy as np
import pytest

h5py = pytest.importorskip("h5py", reason="Keras files need h5py (pip install 'glassnet[keras]')")

import glassnet as gn  # noqa: E402
from glassnet import layers as L  # noqa: E402
from glassnet.models.saving import ModelFileError  # noqa: E402

MB = 1 << 20


def _good_file(tmp_path, name="good.keras"):
    model = gn.models.Sequential([L.Input((4,)), L.Dense(3, activation="relu"), L.Dense(2)])
    path = tmp_path / name
    model.save(path)
    return path, model


def _members(path) -> dict:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def _write(path, members: dict, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as z:
        for n, data in members.items():
            z.writestr(n, data)


def _with_config(tmp_path, edit, name="evil.keras"):
    good, _ = _good_file(tmp_path)
    members = _members(good)
    cfg = json.loads(members["config.json"])
    edit(cfg)
    members["config.json"] = json.dumps(cfg).encode()
    path = tmp_path / name
    _write(path, members)
    return path


def _load_refused(path, *match):
    """Load must raise ModelFileError (matching each regex) with a bounded peak allocation."""
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError) as err:
            gn.models.load_model(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 200 * MB, f"peak allocation {peak / MB:.0f} MB"
    for m in match:
        assert m.lower() in str(err.value).lower(), str(err.value)
    return err.value


def test_lambda_layer_written_by_real_keras_is_refused(tmp_path):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras", reason="real Keras writes the Lambda file")
    marker = tmp_path / "pwned"
    fn = eval(f"lambda x: (open({str(marker)!r}, 'w').close(), x)[1]")  # noqa: S307
    model = keras.Sequential([keras.Input((4,)), keras.layers.Lambda(fn, name="evil"),
                              keras.layers.Dense(2)])
    if marker.exists():
        marker.unlink()  # Keras ran the lambda while building; glassnet must not
    path = tmp_path / "lambda.keras"
    model.save(path)
    err = _load_refused(path, "lambda", "evil")
    assert "code" in str(err)
    assert not marker.exists()


def test_lambda_entry_with_marshalled_code_is_refused_without_running(tmp_path):
    def edit(cfg):
        cfg["config"]["layers"].insert(1, {
            "module": "keras.layers", "class_name": "Lambda", "registered_name": None,
            "config": {"name": "payload", "function": {
                "class_name": "__lambda__", "config": {"code": "4wEAAAA=", "defaults": None,
                                                       "closure": None}}}})
    _load_refused(_with_config(tmp_path, edit), "lambda", "payload")


@pytest.mark.parametrize("where", ["layer", "activation", "initializer", "registered"])
def test_module_or_registered_name_pointing_at_os_system_is_refused(where, tmp_path):
    marker = tmp_path / "pwned"
    evil = {"module": "os", "class_name": "system", "registered_name": "system",
            "config": {"command": f"touch {marker}"}}

    def edit(cfg):
        dense = cfg["config"]["layers"][1]
        if where == "layer":
            cfg["config"]["layers"][1] = {**evil, "name": "dense"}
        elif where == "activation":
            dense["config"]["activation"] = evil
        elif where == "initializer":
            dense["config"]["kernel_initializer"] = evil
        else:
            dense["registered_name"] = "os>system"
            dense["module"] = "keras.layers"

    err = _load_refused(_with_config(tmp_path, edit))
    assert "os" in str(err) or "custom" in str(err)
    assert not marker.exists()


def test_unknown_layer_is_named_with_the_supported_list(tmp_path):
    def edit(cfg):
        cfg["config"]["layers"][1]["class_name"] = "MelSpectrogram"

    _load_refused(_with_config(tmp_path, edit), "MelSpectrogram", "Supported Keras layers",
                  "Dense", "LSTM")


def test_zip_bomb_weights_member_is_refused_before_inflating(tmp_path):
    good, _ = _good_file(tmp_path)
    members = _members(good)
    path = tmp_path / "bomb.keras"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("config.json", members["config.json"])
        z.writestr("metadata.json", members["metadata.json"])
        with z.open("model.weights.h5", "w", force_zip64=True) as f:
            zeros = bytes(16 * MB)
            for _ in range(16):  # 256 MB of zeros, ~0.25 MB on disk
                f.write(zeros)
    assert path.stat().st_size < 8 * MB
    _load_refused(path, "zip bomb")


def test_huge_config_member_is_refused(tmp_path):
    good, _ = _good_file(tmp_path)
    members = _members(good)
    path = tmp_path / "bigcfg.keras"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("config.json", "w", force_zip64=True) as f:
            for _ in range(5):
                f.write(b" " * (16 * MB))
        z.writestr("model.weights.h5", members["model.weights.h5"])
    _load_refused(path)


def test_declared_shape_1e5_by_1e5_in_config_is_refused_before_allocating(tmp_path):
    def edit(cfg):
        cfg["config"]["layers"][0]["config"]["batch_shape"] = [None, 100_000]
        cfg["config"]["layers"][1]["config"]["units"] = 100_000

    _load_refused(_with_config(tmp_path, edit), "(100000, 100000)")


def test_declared_shape_1e5_by_1e5_in_hdf5_is_refused_before_reading(tmp_path):
    good, _ = _good_file(tmp_path)
    members = _members(good)
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:  # a dataset that declares 40 GB and stores nothing
        f.create_dataset("layers/dense/vars/0", shape=(100_000, 100_000), dtype="f4")
        f.create_dataset("layers/dense/vars/1", data=np.zeros(3, "f4"))
    members["model.weights.h5"] = buf.getvalue()
    path = tmp_path / "sparse.keras"
    _write(path, members)
    _load_refused(path, "declare")


@pytest.mark.parametrize("fraction", [0.02, 0.1, 0.3, 0.5, 0.7, 0.9, 0.97])
def test_corrupted_byte_anywhere_is_a_model_file_error(fraction, tmp_path):
    good, _ = _good_file(tmp_path)
    data = bytearray(good.read_bytes())
    i = int(len(data) * fraction)
    data[i] ^= 0xFF
    path = tmp_path / "corrupt.keras"
    path.write_bytes(bytes(data))
    try:
        model = gn.models.load_model(path)
    except ModelFileError:
        return
    # a flipped byte that zip's CRC cannot see (e.g. in a header's spare field) must at
    # least not change the model
    raise AssertionError(f"byte {i} flipped and the file still loaded: {model}")


def test_truncated_and_empty_files(tmp_path):
    good, _ = _good_file(tmp_path)
    data = good.read_bytes()
    for n, cut in enumerate((0, 10, len(data) // 2, len(data) - 10)):
        path = tmp_path / f"cut{n}.keras"
        path.write_bytes(data[:cut])
        _load_refused(path)


def test_extra_zip_member_and_missing_member(tmp_path):
    good, _ = _good_file(tmp_path)
    members = _members(good)
    _write(tmp_path / "extra.keras", {**members, "evil.py": b"import os"})
    _load_refused(tmp_path / "extra.keras", "evil.py")
    del members["model.weights.h5"]
    _write(tmp_path / "missing.keras", members)
    _load_refused(tmp_path / "missing.keras", "model.weights.h5")


def test_hdf5_external_link_and_string_dataset_are_refused(tmp_path):
    good, _ = _good_file(tmp_path)
    for kind in ("link", "string"):
        members = _members(good)
        src = io.BytesIO(members["model.weights.h5"])
        with h5py.File(src, "a") as f:
            if kind == "link":
                f["layers/dense/vars/extra"] = h5py.ExternalLink("/etc/passwd", "/")
            else:
                del f["layers/dense/vars/1"]
                f.create_dataset("layers/dense/vars/1", data=np.array([b"rm -rf /"]))
        members["model.weights.h5"] = src.getvalue()
        path = tmp_path / f"{kind}.keras"
        _write(path, members)
        _load_refused(path, "ExternalLink" if kind == "link" else "dtype")


def test_shape_mismatch_between_config_and_weights(tmp_path):
    def edit(cfg):
        cfg["config"]["layers"][1]["config"]["units"] = 5

    _load_refused(_with_config(tmp_path, edit), "(4, 5)", "(4, 3)")


def test_unsupported_keras_argument_is_named(tmp_path):
    def edit(cfg):  # LoRA adapters: glassnet has none
        cfg["config"]["layers"][1]["config"]["lora_rank"] = 4

    _load_refused(_with_config(tmp_path, edit), "lora_rank")


def test_legacy_h5_with_lambda_and_corruption(tmp_path):
    cfg = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 4],
                                                "name": "in"}},
        {"class_name": "Lambda", "config": {"name": "evil", "function": ["4wEA", None,
                                                                        None]}}]}}
    path = tmp_path / "lambda.h5"
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(cfg)
        f.create_group("model_weights").attrs["layer_names"] = [b"evil"]
        f["model_weights"].create_group("evil").attrs["weight_names"] = np.array([],
                                                                                  dtype="S1")
    _load_refused(path, "lambda", "evil")
    model = gn.models.Sequential([L.Input((4,)), L.Dense(3)])
    model.save(tmp_path / "ok.h5")
    data = bytearray((tmp_path / "ok.h5").read_bytes())
    (tmp_path / "trunc.h5").write_bytes(bytes(data[: len(data) // 3]))
    _load_refused(tmp_path / "trunc.h5")


def test_saving_never_leaves_half_a_file(tmp_path):
    path, model = _good_file(tmp_path)
    before = path.read_bytes()
    broken = gn.models.Sequential([L.Input((3, 4)), L.JordanRNN(2)])
    with pytest.raises(ValueError, match="JordanRNN"):
        broken.save(path)  # no Keras counterpart: refused, the old file stays intact
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


# peak memory of a load measured in a fresh process (HDF5's and zlib's C allocations too)
_PROBE = r"""
import json, resource, sys
import glassnet as gn
err = None
try:
    gn.models.load_model(sys.argv[1])
except Exception as e:
    err = f"{type(e).__name__}: {e}"
print(json.dumps({"error": err,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""
# Linux carries a process's peak RSS across fork+exec into the child's getrusage: a small
# launcher process first keeps the pytest process's peak out of the measurement
_LAUNCH = "import subprocess, sys; sys.exit(subprocess.run(sys.argv[1:]).returncode)"


def _rss_probe(path) -> dict:
    import subprocess
    import sys

    res = subprocess.run([sys.executable, "-c", _LAUNCH, sys.executable, "-c", _PROBE,
                          str(path)], capture_output=True, text=True, timeout=300)
    return json.loads(res.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("kind", ["zip_bomb", "config_units", "hdf5_declared", "upsampling",
                                  "repeat_vector"])
def test_bombs_stay_under_200_mb_of_resident_memory(kind, tmp_path):
    good, _ = _good_file(tmp_path)
    members = _members(good)
    path = tmp_path / f"{kind}.keras"
    if kind == "zip_bomb":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("config.json", members["config.json"])
            with z.open("model.weights.h5", "w", force_zip64=True) as f:
                for _ in range(16):
                    f.write(bytes(16 * MB))
    elif kind == "hdf5_declared":
        buf = io.BytesIO()
        with h5py.File(buf, "w") as f:
            f.create_dataset("layers/dense/vars/0", shape=(100_000, 100_000), dtype="f4")
        members["model.weights.h5"] = buf.getvalue()
        _write(path, members)
    else:
        cfg = json.loads(members["config.json"])
        layers = cfg["config"]["layers"]
        if kind == "config_units":
            layers[0]["config"]["batch_shape"] = [None, 100_000]
            layers[1]["config"]["units"] = 100_000
        else:  # a weightless layer that multiplies the activation, after the first Dense
            extra = ({"class_name": "Reshape", "config": {"name": "r", "target_shape": [3, 1]}},
                     {"class_name": "UpSampling1D", "config": {"name": "up",
                                                               "size": 10_000_000}})
            if kind == "repeat_vector":
                extra = ({"class_name": "RepeatVector", "config": {"name": "rv",
                                                                   "n": 10_000_000}},)
            layers[2:2] = [{"module": "keras.layers", "registered_name": None, **e}
                           for e in extra]
        members["config.json"] = json.dumps(cfg).encode()
        _write(path, members)
    out = _rss_probe(path)
    assert out["error"] and out["error"].startswith("ModelFileError"), out
    assert out["rss_mb"] < 200, out


def _same(a, b) -> bool:
    return all(np.array_equal(u, v) for u, v in zip(a.get_weights(), b.get_weights()))


def test_every_single_byte_flip_of_a_keras_file_loads_identically_or_raises(tmp_path):
    """The zip's CRCs guard every member: a flipped byte anywhere is refused, or (in a spare
    header field) changes nothing."""
    from glassnet.interop.keras_file import load_keras

    path, model = _good_file(tmp_path)
    data = path.read_bytes()
    errors = 0
    for i in range(len(data)):
        b = bytearray(data)
        b[i] ^= 0xFF
        try:
            got = load_keras(f"flip@{i}", data=bytes(b))
        except ModelFileError:
            errors += 1
            continue
        assert _same(got, model), f"flipping byte {i} loaded a different model"
    assert errors > 0.9 * len(data)


def test_random_bit_flips_of_a_keras_file(tmp_path):
    from glassnet.interop.keras_file import load_keras

    path, model = _good_file(tmp_path)
    data = path.read_bytes()
    rng = np.random.default_rng(1)
    for _ in range(500):
        b = bytearray(data)
        for i in rng.integers(0, len(b), size=rng.integers(1, 4)):
            b[i] ^= 1 << int(rng.integers(0, 8))
        try:
            got = load_keras("flip", data=bytes(b))
        except ModelFileError:
            continue
        assert _same(got, model)


@pytest.mark.parametrize("name", ["model.h5", "w.weights.h5", "w.h5"])
def test_byte_flips_of_hdf5_files_load_or_raise_model_file_error(name, tmp_path):
    """HDF5 has no checksums (as in Keras, a flipped weight byte loads a changed value);
    every structural corruption must still be a ModelFileError, never another exception."""
    model = gn.models.Sequential([L.Input((4,)), L.Dense(3, activation="relu"), L.Dense(2)])
    good = tmp_path / name
    if name == "model.h5":
        model.save(good)
    else:
        model.save_weights(good)
    data = good.read_bytes()
    bad = tmp_path / f"bad-{name}"
    for i in range(0, len(data), max(len(data) // 400, 1)):
        b = bytearray(data)
        b[i] ^= 0xFF
        bad.write_bytes(bytes(b))
        try:
            if name == "model.h5":
                gn.models.load_model(bad)
            else:
                model.load_weights(bad)
        except ModelFileError:
            pass
