"""TensorBoard (event files read back with TensorBoard's own EventAccumulator) and
BackupAndRestore (the backed-up state restores weights, optimizer and RNG exactly)."""

import json

import numpy as np
import pytest

import glassnet as gn
from glassnet.callbacks import BackupAndRestore, Callback, TensorBoard

R = np.random.default_rng(0)
X = R.normal(size=(48, 3)).astype("float32")
Y = (X @ np.array([[1.0], [-1.0], [0.5]], dtype="float32") > 0).astype("float32")


def _model(opt="adam"):
    gn.set_seed(0)
    m = gn.models.Sequential([gn.layers.Input((3,)), gn.layers.Dense(4, activation="relu"),
                              gn.layers.Dense(1, activation="sigmoid")])
    m.compile(optimizer=opt, loss="binary_crossentropy", metrics=["accuracy"])
    return m


# ------------------------------------------------------------------ TensorBoard
def _accumulator(path):
    ea = pytest.importorskip(
        "tensorboard.backend.event_processing.event_accumulator")
    acc = ea.EventAccumulator(str(path), size_guidance={ea.SCALARS: 0, ea.HISTOGRAMS: 0})
    acc.Reload()
    return acc


def test_tensorboard_scalars_and_histograms_read_back(tmp_path):
    pytest.importorskip("tensorboard")
    m = _model()
    h = m.fit(X, Y, epochs=3, batch_size=16, validation_split=0.25, verbose=0,
              callbacks=[TensorBoard(tmp_path, histogram_freq=1)])
    train = _accumulator(tmp_path / "train")
    val = _accumulator(tmp_path / "validation")
    tags = train.Tags()
    assert {"epoch_loss", "epoch_accuracy", "epoch_learning_rate"} <= set(tags["scalars"])
    loss = train.Scalars("epoch_loss")
    assert [e.step for e in loss] == [0, 1, 2]
    np.testing.assert_allclose([e.value for e in loss], h.history["loss"], rtol=1e-6)
    vl = val.Scalars("epoch_loss")
    np.testing.assert_allclose([e.value for e in vl], h.history["val_loss"], rtol=1e-6)
    np.testing.assert_allclose([e.value for e in train.Scalars("epoch_learning_rate")],
                               [0.001] * 3, rtol=1e-6)
    names = [w.name for w in m.weights]
    assert sorted(tags["histograms"]) == sorted(f"{n}/histogram" for n in names)
    # the last epoch's histogram describes the final weights
    k = m.weights[0]
    hist = train.Histograms(f"{k.name}/histogram")
    assert [e.step for e in hist] == [0, 1, 2]
    last = hist[-1].histogram_value
    w = np.asarray(k.data, np.float64)
    assert last.num == w.size
    np.testing.assert_allclose([last.min, last.max, last.sum, last.sum_squares],
                               [w.min(), w.max(), w.sum(), (w * w).sum()], rtol=1e-6)
    assert sum(last.bucket) == w.size


def test_tensorboard_batch_scalars_and_histogram_freq(tmp_path):
    pytest.importorskip("tensorboard")
    m = _model()
    m.fit(X, Y, epochs=4, batch_size=16, verbose=0,
          callbacks=[TensorBoard(tmp_path, histogram_freq=2, update_freq=2)])
    train = _accumulator(tmp_path / "train")
    steps = [e.step for e in train.Scalars("batch_loss")]
    assert steps == [2, 4, 6, 8, 10, 12]   # 3 batches an epoch, every 2nd global batch
    hist = train.Histograms(f"{m.weights[0].name}/histogram")
    assert [e.step for e in hist] == [0, 2]
    assert not (tmp_path / "validation").exists()


def test_tensorboard_writes_the_layer_graph(tmp_path):
    pytest.importorskip("tensorboard")
    gn.set_seed(0)
    inp = gn.Input((3,))
    a = gn.layers.Dense(4, name="left")(inp)
    b = gn.layers.Dense(4, name="right")(inp)
    out = gn.layers.Dense(1, name="head")(gn.layers.Concatenate(name="join")([a, b]))
    m = gn.models.Model(inp, out)
    m.compile("adam", "mse")
    m.fit(X, Y, epochs=1, batch_size=16, verbose=0, callbacks=[TensorBoard(tmp_path)])
    graph = _accumulator(tmp_path / "train").Graph()
    nodes = {n.name: n for n in graph.node}
    assert {"left", "right", "join", "head"} <= set(nodes)
    assert sorted(nodes["join"].input) == ["left", "right"]
    assert list(nodes["head"].input) == ["join"] and nodes["head"].op == "Dense"
    assert nodes["head"].attr["output_shape"].s == b"(None, 1)"
    m.fit(X, Y, epochs=1, verbose=0,
          callbacks=[TensorBoard(tmp_path / "no_graph", write_graph=False)])
    with pytest.raises(ValueError):
        _accumulator(tmp_path / "no_graph" / "train").Graph()


def test_tensorboard_errors():
    with pytest.raises(ValueError, match="update_freq"):
        TensorBoard(update_freq="sometimes")
    with pytest.raises(ValueError, match="histogram_freq"):
        TensorBoard(histogram_freq=-1)


# ------------------------------------------------------------------ BackupAndRestore
class _Crash(Callback):
    """Listed before BackupAndRestore: the crash hits before that epoch is backed up."""

    def __init__(self, at):
        super().__init__()
        self.at = at

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.at:
            raise KeyboardInterrupt("simulated crash")


def test_backup_written_each_epoch_and_restored_exactly(tmp_path):
    ref = _model()
    ref.fit(X, Y, epochs=5, batch_size=8, verbose=0)

    m = _model()
    cb = BackupAndRestore(tmp_path / "bk")
    with pytest.raises(KeyboardInterrupt):
        m.fit(X, Y, epochs=5, batch_size=8, verbose=0, callbacks=[_Crash(2), cb])
    meta = json.loads((tmp_path / "bk" / "training_metadata.json").read_text())
    assert meta["epoch"] == 2  # epochs 0 and 1 finished and backed up; epoch 2 crashed

    # a fresh process: same model, the callback restores weights, optimizer and RNG
    again = _model()
    cb2 = BackupAndRestore(tmp_path / "bk")
    again.fit(X, Y, epochs=5, initial_epoch=2, batch_size=8, verbose=0,
              callbacks=[cb2, _StopBeforeTraining()])
    assert cb2.restored_epoch == 2 and again._initial_epoch == 2
    # with the loop honouring the restored epoch (here: passed by hand), training is
    # bitwise the uninterrupted run
    again2 = _model()
    cb3 = BackupAndRestore(tmp_path / "bk2")
    m2 = _model()
    with pytest.raises(KeyboardInterrupt):
        m2.fit(X, Y, epochs=5, batch_size=8, verbose=0,
               callbacks=[_Crash(2), BackupAndRestore(tmp_path / "bk2")])
    again2.fit(X, Y, epochs=5, initial_epoch=2, batch_size=8, verbose=0, callbacks=[cb3])
    for a, b in zip(again2.get_weights(), ref.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not (tmp_path / "bk2").exists()  # deleted after a finished fit


class _StopBeforeTraining(Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.model.stop_training = True


def test_fit_resumes_at_the_restored_epoch_by_itself(tmp_path):
    m = _model()
    with pytest.raises(KeyboardInterrupt):
        m.fit(X, Y, epochs=5, batch_size=8, verbose=0,
              callbacks=[_Crash(2), BackupAndRestore(tmp_path / "bk")])
    again = _model()
    h = again.fit(X, Y, epochs=5, batch_size=8, verbose=0,
                  callbacks=[BackupAndRestore(tmp_path / "bk")])
    assert len(h.history["loss"]) == 3


def test_double_checkpoint_falls_back_to_previous(tmp_path):
    m = _model()
    with pytest.raises(KeyboardInterrupt):
        m.fit(X, Y, epochs=5, batch_size=8, verbose=0,
              callbacks=[_Crash(2),
                         BackupAndRestore(tmp_path / "bk", double_checkpoint=True)])
    assert (tmp_path / "bk" / "latest.weights.glassnet.bkp").exists()
    (tmp_path / "bk" / "latest.weights.glassnet").write_bytes(b"not a zip")
    cb = BackupAndRestore(tmp_path / "bk", double_checkpoint=True, delete_checkpoint=False)
    again = _model()
    again.fit(X, Y, epochs=1, batch_size=8, verbose=0,
              callbacks=[cb, _StopBeforeTraining()])
    assert cb.restored_epoch == 1   # the previous backup (after epoch 0)


def test_batch_frequency_and_errors(tmp_path):
    m = _model()
    cb = BackupAndRestore(tmp_path / "bk", save_freq=4, delete_checkpoint=False)
    m.fit(X, Y, epochs=1, batch_size=8, verbose=0, callbacks=[cb])
    meta = json.loads((tmp_path / "bk" / "training_metadata.json").read_text())
    assert meta["epoch"] == 0 and meta["batch"] == 3  # 6 batches: saved after the 4th
    with pytest.raises(ValueError, match="save_freq"):
        BackupAndRestore(tmp_path, save_freq="often")
    with pytest.raises(ValueError, match="backup_dir"):
        BackupAndRestore("")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "training_metadata.json").write_text('{"epoch": -3}')
    (tmp_path / "bad" / "latest.weights.glassnet").write_bytes(b"x")
    with pytest.raises(ValueError, match="cannot be restored"):
        _model().fit(X, Y, epochs=1, verbose=0, callbacks=[BackupAndRestore(tmp_path / "bad")])


class _Sub(gn.models.Model):
    def __init__(self):
        super().__init__()
        self.hidden = gn.layers.Dense(4, activation="relu")
        self.out = gn.layers.Dense(1, activation="sigmoid")

    def call(self, x, training=False):
        return self.out(self.hidden(x))


def test_subclassed_model_is_backed_up_and_restored(tmp_path):
    def make():
        gn.set_seed(0)
        m = _Sub()
        m(X[:2])   # built before fit, as Keras requires for restoring
        m.compile(optimizer="adam", loss="binary_crossentropy")
        return m

    ref = make()
    ref.fit(X, Y, epochs=4, batch_size=8, verbose=0)
    m = make()
    with pytest.raises(KeyboardInterrupt):
        m.fit(X, Y, epochs=4, batch_size=8, verbose=0,
              callbacks=[_Crash(1), BackupAndRestore(tmp_path / "bk")])
    again = make()
    again.fit(X, Y, epochs=4, initial_epoch=1, batch_size=8, verbose=0,
              callbacks=[BackupAndRestore(tmp_path / "bk")])
    for a, b in zip(again.get_weights(), ref.get_weights()):
        np.testing.assert_array_equal(a, b)
    # a backup of another architecture is refused, naming the file and both counts
    other = gn.models.Sequential([gn.layers.Input((3,)), gn.layers.Dense(1)])
    other.compile(optimizer="adam", loss="mse")
    with pytest.raises(KeyboardInterrupt):
        m.fit(X, Y, epochs=2, batch_size=8, verbose=0,
              callbacks=[_Crash(1), BackupAndRestore(tmp_path / "bk2")])
    with pytest.raises(ValueError, match=r"cannot be restored.*4 weight arrays.*has 2"):
        other.fit(X, Y, epochs=1, verbose=0, callbacks=[BackupAndRestore(tmp_path / "bk2")])


@pytest.mark.parametrize("first", ["glassnet._callbacks_more", "glassnet.callbacks"])
def test_either_module_can_be_imported_first(first):
    import subprocess
    import sys

    code = (f"import importlib; importlib.import_module({first!r});"
            " from glassnet.callbacks import BackupAndRestore, TensorBoard;"
            " import glassnet.callbacks as C; assert 'TensorBoard' in C.__all__")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_swap_ema_weights_evaluates_and_predicts_on_the_averages_then_trades_back():
    rs = np.random.default_rng(0)
    x, y = rs.normal(size=(64, 4)).astype("float32"), rs.integers(0, 2, 64)
    gn.set_seed(0)
    m = gn.Sequential([gn.Input((4,)), gn.layers.Dense(2, activation="softmax")])
    m.compile(optimizer=gn.optimizers.SGD(0.5, use_ema=True, ema_momentum=0.5),
              loss="sparse_categorical_crossentropy")
    for i in range(0, 64, 8):  # (fit would end by copying the averages into the weights)
        m.train_on_batch(x[i:i + 8], y[i:i + 8])
    opt = m.optimizer
    w = [p.data.copy() for p in m.trainable_weights]
    avg = [opt._slots[id(p)][opt._ema_index].copy() for p in m.trainable_weights]
    assert not np.allclose(w[0], avg[0])  # the average lags the weights
    cb = gn.callbacks.SwapEMAWeights()
    seen = []
    cb.on_predict_batch_end = lambda batch, logs=None: seen.append(
        m.trainable_weights[0].data.copy())
    p_avg = m.predict(x, verbose=0, callbacks=[cb])
    np.testing.assert_array_equal(seen[0], avg[0])  # predicted with the averages
    for p, a in zip(m.trainable_weights, w):  # and traded back after (Keras 3.15 does not)
        np.testing.assert_array_equal(p.data, a)
    m.set_weights(avg)
    np.testing.assert_allclose(m.predict(x, verbose=0), p_avg, rtol=1e-6)
    with pytest.raises(ValueError, match="use_ema=True"):
        m2 = gn.Sequential([gn.Input((4,)), gn.layers.Dense(2)])
        m2.compile(optimizer="sgd", loss="mse")
        m2.evaluate(x, np.zeros((64, 2)), verbose=0,
                    callbacks=[gn.callbacks.SwapEMAWeights()])
