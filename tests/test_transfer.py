"""Transfer learning (examples/transfer_mnist.py) on a tiny MNIST slice: a saved CNN loads
with identical predictions; its frozen conv base stays bit-identical while dense layers learn."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
from glassnet.models import load_model

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "transfer_mnist.py"


@pytest.fixture(scope="module")
def tl():
    spec = importlib.util.spec_from_file_location("transfer_mnist", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_frozen_conv_base_stays_identical_while_dense_layers_learn(tl, datasets_dir, tmp_path):
    d = tl.split(base_subset=192, labels=40)
    xb, yb = d["base"]
    assert set(np.unique(yb)) <= set(range(5))
    assert set(np.unique(d["new"][1])) <= set(range(5))  # 5-9 relabelled 0-4
    base = tl.train_base(xb, yb, epochs=1)
    path = str(tmp_path / "base.glassnet")
    base.save(path)

    x_check = d["new_test"][0][:16]
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.predict(x_check, verbose=0),
                                  base.predict(x_check, verbose=0))

    gn.set_seed(1)
    model = tl.transfer(path, *d["new"], epochs=3)
    conv_base, dense, head = model.layers[:-2], model.layers[-2], model.layers[-1]
    assert head.name == "head_5_9" and head.trainable and dense.trainable
    assert [type(ly).__name__ for ly in conv_base] == [
        "Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Flatten"]
    assert all(not ly.trainable for ly in conv_base)
    # every frozen weight is bit-identical to the saved base's, in order
    before = [w for ly in base.layers[:-2] for w in ly.get_weights()]
    after = [w for ly in conv_base for w in ly.get_weights()]
    assert len(before) == len(after) == 4  # 2 conv layers: kernel, bias
    for b, a in zip(before, after):
        np.testing.assert_array_equal(a, b)
    assert [w.shape for w in model.trainable_weights] == [(1600, 128), (128,), (128, 5), (5,)]
    # the fine-tuned dense layer moved away from its pretrained values
    assert not np.array_equal(dense.get_weights()[0], base.layers[-2].get_weights()[0])
    # the new layers learned: the training loss fell epoch over epoch
    loss = model.history.history["loss"]
    assert len(loss) == 3 and loss[-1] < loss[0]
    # and the features the dense layers see are the base's: same conv-base outputs
    with gn.no_grad():
        f_base, f_tl = x_check, x_check
        for ly in base.layers[:-2]:
            f_base = ly(f_base)
        for ly in conv_base:
            f_tl = ly(f_tl)
    np.testing.assert_array_equal(f_tl.data, f_base.data)
    # the transferred model also survives a save/load round trip exactly
    model.save(str(tmp_path / "tl.glassnet"))
    again = load_model(str(tmp_path / "tl.glassnet"))
    np.testing.assert_array_equal(again.predict(x_check, verbose=0),
                                  model.predict(x_check, verbose=0))
    assert [ly.trainable for ly in again.layers] == [ly.trainable for ly in model.layers]


def test_freeze_all_trains_only_the_new_head(tl, datasets_dir, tmp_path):
    d = tl.split(base_subset=64, labels=32)
    base = tl.train_base(*d["base"], epochs=1)
    path = str(tmp_path / "base.glassnet")
    base.save(path)
    model = tl.transfer(path, *d["new"], epochs=1, freeze="all")
    assert [w.shape for w in model.trainable_weights] == [(128, 5), (5,)]
    np.testing.assert_array_equal(model.layers[-2].get_weights()[0],
                                  base.layers[-2].get_weights()[0])
    with pytest.raises(ValueError, match="freeze must be 'conv' or 'all'"):
        tl.transfer(path, *d["new"], freeze="dense")
