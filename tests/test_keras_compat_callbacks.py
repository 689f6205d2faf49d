"""Callbacks print and log what Keras's do (issue keras-compat, item 8).

The expected messages are Keras 3's own text (keras/src/callbacks/*.py), so a user reading
glassnet's output sees what the Keras tutorial shows.
"""

from __future__ import annotations

import csv
import re
import time

import numpy as np

import glassnet as gn
from glassnet import callbacks as C
from glassnet import layers as L


def _model(lr=1e-6):
    gn.set_seed(0)
    m = gn.Sequential([gn.Input(shape=(3,)), L.Dense(4, activation="relu"),
                       L.Dense(1, activation="sigmoid")])
    m.compile(optimizer=gn.optimizers.SGD(learning_rate=lr), loss="binary_crossentropy")
    return m


def _data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((100, 3)).astype("float32")
    return x, (x[:, 0] > 0).astype("float32")


class _Slow(C.Callback):
    def on_train_batch_end(self, batch, logs=None):
        time.sleep(0.05)


def test_epoch_time_is_not_restarted_by_the_validation_pass(capsys):
    x, y = _data()
    _model().fit(x, y, epochs=1, batch_size=25, validation_split=0.2, verbose=2,
                 callbacks=[_Slow()])
    line = [s for s in capsys.readouterr().out.splitlines() if s.startswith("Epoch 1/1")][0]
    seconds = float(re.search(r" - ([0-9.]+)s - ", line).group(1))
    assert seconds >= 0.1, line  # 4 batches x 0.05 s; the bug printed 0.0s


def test_early_stopping_checkpoint_and_plateau_say_what_they_did(tmp_path, capsys):
    x, y = _data()
    path = str(tmp_path / "best.glassnet")
    cbs = [C.EarlyStopping(patience=1, min_delta=1, verbose=1, restore_best_weights=True),
           C.ModelCheckpoint(path, save_best_only=True, verbose=1),
           C.ReduceLROnPlateau(patience=1, min_delta=1, verbose=1)]
    _model().fit(x, y, epochs=6, validation_split=0.2, verbose=0, callbacks=cbs)
    out = capsys.readouterr().out
    assert re.search(r"Epoch 1: val_loss improved from None to \d\.\d{5}, saving model to "
                     + re.escape(path), out)
    assert re.search(r"Epoch 2: val_loss (did not improve from|improved from) \d\.\d{5}", out)
    assert "Epoch 2: ReduceLROnPlateau reducing learning rate to 1e-07." in out
    assert "Epoch 2: early stopping\nRestoring model weights from the end of the best epoch: 1." \
        in out


def test_checkpoint_every_epoch_and_scheduler_messages(tmp_path, capsys):
    x, y = _data()
    path = str(tmp_path / "m-{epoch}.glassnet")
    _model().fit(x, y, epochs=2, verbose=0,
                 callbacks=[C.ModelCheckpoint(path, verbose=1),
                            C.LearningRateScheduler(lambda e, lr: 0.5 ** e, verbose=1)])
    out = capsys.readouterr().out
    assert f"Epoch 2: saving model to {tmp_path / 'm-2.glassnet'}" in out
    assert "Epoch 2: LearningRateScheduler setting learning rate to 0.5." in out


def test_quiet_callbacks_print_nothing(capsys):
    x, y = _data()
    _model().fit(x, y, epochs=4, validation_split=0.2, verbose=0,
                 callbacks=[C.EarlyStopping(patience=1, min_delta=1),
                            C.ReduceLROnPlateau(patience=1, min_delta=1)])
    assert capsys.readouterr().out == ""


def test_csv_logger_has_the_learning_rate_column_from_reduce_lr(tmp_path):
    x, y = _data()
    f = tmp_path / "log.csv"
    _model(lr=0.01).fit(x, y, epochs=3, validation_split=0.2, verbose=0,
                        callbacks=[C.ReduceLROnPlateau(patience=1, min_delta=1, factor=0.5),
                                   C.CSVLogger(str(f))])
    rows = list(csv.DictReader(open(f)))
    # the rate each epoch ran at (set before the callback lowers it), as Keras logs it
    assert [float(r["learning_rate"]) for r in rows] == [0.01, 0.01, 0.005]


def test_tiny_values_are_printed_in_e_notation_as_keras(capsys):
    x, y = _data()
    _model().fit(x, y, epochs=1, verbose=2, callbacks=[C.ReduceLROnPlateau()])
    assert "learning_rate: 1.0000e-06" in capsys.readouterr().out


def test_xor_recipe_prints_a_screenful_not_one_line_per_epoch(tmp_path, capsys):
    from glassnet.runner import train_recipe

    train_recipe("xor", out_dir=tmp_path / "run", epochs=400, report=False)
    lines = [s for s in capsys.readouterr().out.splitlines() if s.startswith("Epoch ")]
    assert len(lines) == 20  # every 20th of 400 epochs; it printed 400 lines before
    assert lines[0].startswith("Epoch 20/400 - ") and lines[-1].startswith("Epoch 400/400 - ")
    assert "loss: " in lines[-1] and "accuracy: " in lines[-1]


def test_model_checkpoint_every_n_batches_as_keras(tmp_path):
    """save_freq=N saves every N batches counted across epochs, naming {epoch} and {batch}
    (Keras's counting, the names Keras 3.15 writes for this run: 4 batches an epoch, N=3 ->
    after batches 3, 6 (epoch 2, batch 2), 9 (epoch 3, batch 1) and 12); the written model
    loads and predicts."""
    import os

    import pytest

    x, y = _data()
    m = _model(lr=0.1)
    path = str(tmp_path / "m-{epoch}-{batch}.keras")
    seen = []

    class Watch(C.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(sorted(os.listdir(tmp_path)))

    m.fit(x, y, batch_size=25, epochs=3, verbose=0,
          callbacks=[C.ModelCheckpoint(path, save_freq=3), Watch()])
    assert sorted(os.listdir(tmp_path)) == ["m-1-3.keras", "m-2-2.keras", "m-3-1.keras",
                                            "m-3-4.keras"]
    assert seen[2] == ["m-1-3.keras"]  # written at the batch's end, before later hooks
    last = gn.models.load_model(str(tmp_path / "m-3-1.keras"))
    assert last.predict(x[:4], verbose=0).shape == (4, 1)
    with pytest.raises(ValueError, match="save_freq"):
        C.ModelCheckpoint(path, save_freq=0)


def test_model_checkpoint_initial_value_threshold(tmp_path, capsys):
    x, y = _data()
    m = _model()
    path = str(tmp_path / "best.keras")
    m.fit(x, y, batch_size=50, epochs=1, verbose=0, validation_split=0.2,
          callbacks=[C.ModelCheckpoint(path, save_best_only=True, verbose=1,
                                       initial_value_threshold=0.0)])
    import os

    assert not os.path.exists(path)  # no loss beats 0
    assert "val_loss did not improve from 0.00000" in capsys.readouterr().out
