"""Recipes from the keras.io guides that must run with only the imports changed: a layer's
add_loss (compile without a loss, fit on x alone), a Metric with its own state variables,
Tensor.assign*, and the older on_batch_* callback names."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import glassnet as gn
from glassnet import layers as L
from glassnet import ops


class _L2Out(L.Layer):
    def call(self, x):
        self.add_loss(ops.mean(ops.square(x)))
        return x


def _add_loss_model():
    inp = gn.Input(shape=(4,))
    return gn.Model(inp, _L2Out()(L.Dense(3)(inp)))


@pytest.mark.parametrize("jit", ["auto", False])
def test_a_layer_add_loss_is_the_whole_loss_and_fit_needs_no_targets(jit):
    x = np.random.default_rng(0).standard_normal((32, 4)).astype(np.float32)
    runs = []
    for j in (jit, False):
        gn.set_seed(1)
        m = _add_loss_model()
        m.compile(optimizer=gn.optimizers.SGD(0.1), jit_compile=j)
        h = m.fit(x, epochs=3, batch_size=8, verbose=0)
        runs.append((h.history["loss"], m.get_weights()))
    loss = runs[0][0]
    assert loss[-1] < loss[0]
    assert runs[0][0] == runs[1][0]  # replayed (its loss an output of the program) = eager
    assert all(np.array_equal(a, b) for a, b in zip(runs[0][1], runs[1][1]))
    # the epoch's loss is the mean of the layer's value over the batches
    gn.set_seed(1)
    m = _add_loss_model()
    m.compile(optimizer=gn.optimizers.SGD(0.0), jit_compile=jit)
    h = m.fit(x, epochs=1, batch_size=32, verbose=0)
    y = m.layers[1](x).numpy()
    assert h.history["loss"][0] == pytest.approx(float(np.mean(y * y)), rel=1e-6)
    assert m.evaluate(x, verbose=0) == pytest.approx(float(np.mean(y * y)), rel=1e-6)
    assert len(m.losses) == 1 and len(m.layers[-1].losses) == 1


def test_add_loss_adds_to_a_compiled_loss_and_no_loss_at_all_is_refused_by_the_step():
    r = np.random.default_rng(2)
    x, y = r.standard_normal((16, 4)).astype(np.float32), r.standard_normal((16, 3))
    m = _add_loss_model()
    m.compile(optimizer=gn.optimizers.SGD(0.0), loss="mse")
    got = m.evaluate(x, y.astype(np.float32), verbose=0)
    out = m.layers[1](x).numpy()
    want = np.mean((out - y) ** 2) + np.mean(out * out)
    assert got == pytest.approx(float(want), rel=1e-5)
    plain = gn.Sequential([gn.Input(shape=(4,)), L.Dense(3)])
    plain.compile(optimizer="sgd")
    with pytest.raises(ValueError, match="without a loss.*add_loss"):
        plain.fit(x, y, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="scalar"):
        _L2Out().add_loss(np.ones(3))


def test_tensor_assign_updates_in_place_and_a_step_that_assigns_is_not_replayed():
    t = gn.tensor(np.zeros((2, 2), np.float32))
    data = t.data
    t.assign(np.ones((2, 2))).assign_add(2.0).assign_sub(gn.tensor([[0.5, 0.5], [1.0, 1.0]]))
    assert t.data is data  # the same array: an optimizer's view of it stays valid
    np.testing.assert_array_equal(t.numpy(), [[2.5, 2.5], [2.0, 2.0]])
    with pytest.raises(ValueError, match=r"shape \(3,\).*shape \(2, 2\)"):
        t.assign(np.ones(3))

    class Count(L.Layer):  # keras.io's ComputeSum: a running total updated in call
        def build(self, shape):
            self.total = self.add_weight(shape=(shape[-1],), initializer="zeros",
                                         trainable=False)

        def call(self, x):
            self.total.assign_add(ops.sum(x, axis=0))
            return x

    x = np.ones((4, 3), np.float32)
    totals = []
    for jit in ("auto", False):
        m = gn.Sequential([gn.Input(shape=(3,)), Count(), L.Dense(1)])
        m.compile(optimizer="sgd", loss="mse", jit_compile=jit)
        m.fit(x, np.zeros((4, 1), np.float32), epochs=3, batch_size=2, verbose=0)
        totals.append(m.layers[0].total.numpy())
    # 6 steps of 2 rows (and no build pass counted): every step ran the assign
    np.testing.assert_array_equal(totals[0], totals[1])
    np.testing.assert_array_equal(totals[0] - totals[0].min(), 0)
    assert totals[0][0] >= 12


class _TruePositives(gn.metrics.Metric):
    """keras.io's CategoricalTruePositives, as the training guide writes it."""

    def __init__(self, name="categorical_true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_variable(shape=(), name="ctp", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.reshape(ops.argmax(y_pred, axis=1), (-1, 1))
        values = ops.cast(ops.cast(y_true, "int32") == ops.cast(y_pred, "int32"), "float32")
        if sample_weight is not None:
            values = ops.multiply(values, ops.cast(sample_weight, "float32"))
        self.true_positives.assign_add(ops.sum(values))

    def result(self):
        return self.true_positives

    def reset_state(self):
        self.true_positives.assign(0.0)


def test_a_metric_with_its_own_state_variables_as_the_keras_guide_writes_it():
    r = np.random.default_rng(3)
    # labels as a column: the guide's `y_true == y_pred` compares (n, 1) with (n, 1)
    x, y = r.standard_normal((40, 5)).astype(np.float32), r.integers(0, 3, (40, 1))
    m = gn.Sequential([gn.Input(shape=(5,)), L.Dense(3, activation="softmax")])
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
              metrics=[_TruePositives()])
    h = m.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert "categorical_true_positives" in h.history
    got = m.evaluate(x, y, verbose=0, return_dict=True)["categorical_true_positives"]
    hits = int((m.predict(x, verbose=0).argmax(1) == y[:, 0]).sum())
    assert got == hits  # a count over the whole evaluation, reset before it
    met = _TruePositives()
    met.update_state(np.array([[1]]), np.array([[0.1, 0.9]]))
    assert float(met.result()) == 1.0 and len(met.variables) == 1
    met.reset_state()
    assert float(met.result()) == 0.0

    class Plain(gn.metrics.Metric):  # no reset_state of its own: the variables' initials
        def __init__(self):
            super().__init__(name="plain")
            self.n = self.add_weight(name="n", initializer="ones")

        def update_state(self, y_true, y_pred, sample_weight=None):
            self.n.assign_add(1.0)

        def result(self):
            return self.n

    p = Plain()
    p.update_state(None, None)
    assert float(p.result()) == 2.0
    p.reset_state()
    assert float(p.result()) == 1.0


def test_callbacks_defining_the_older_on_batch_names_run_on_training_batches():
    class LossHistory(gn.callbacks.Callback):
        def on_train_begin(self, logs):
            self.per_batch_losses, self.begins = [], 0

        def on_batch_begin(self, batch, logs):
            self.begins += 1

        def on_batch_end(self, batch, logs):
            self.per_batch_losses.append(logs.get("loss"))

    class Both(gn.callbacks.Callback):  # the newer name wins, as in Keras
        def on_train_batch_end(self, batch, logs):
            self.new = getattr(self, "new", 0) + 1

        def on_batch_end(self, batch, logs):
            raise AssertionError("on_batch_end runs only where on_train_batch_end is not "
                                 "defined")

    x = np.random.default_rng(4).standard_normal((20, 3)).astype(np.float32)
    m = gn.Sequential([gn.Input(shape=(3,)), L.Dense(1)])
    m.compile(optimizer="sgd", loss="mse")
    lh, both = LossHistory(), Both()
    m.fit(x, x[:, :1], epochs=2, batch_size=5, verbose=0, callbacks=[lh, both])
    assert len(lh.per_batch_losses) == 8 and lh.begins == 8 and both.new == 8
    assert all(isinstance(v, float) for v in lh.per_batch_losses)


def test_masks_read_and_set_as_keras_mask_as_the_masking_guide_does():
    padded = gn.utils.pad_sequences([[711, 632, 71], [73, 8, 3215, 55, 927]], padding="post")
    out = L.Embedding(input_dim=5000, output_dim=4, mask_zero=True)(padded)
    np.testing.assert_array_equal(np.asarray(out._keras_mask), padded != 0)
    t = gn.tensor(np.ones((2, 3, 1), np.float32))
    assert t._keras_mask is None
    t._keras_mask = np.array([[True, False, False], [True, True, False]])
    from glassnet.layers.embedding import get_mask
    assert get_mask(t) is t._keras_mask  # the layers read the same mask
    seq = gn.Sequential([L.Embedding(5000, 4, mask_zero=True), L.LSTM(3)])
    full = seq(padded).numpy()
    cut = seq(padded[:1, :3]).numpy()
    np.testing.assert_allclose(full[:1], cut, rtol=1e-5)  # padded steps skipped


def test_a_model_adding_a_loss_in_its_own_call_counts_it_once_a_step():
    """keras.io's subclassing guide: a model's call does ``self.add_loss(kl)`` (the VAE)."""

    class Net(gn.Model):
        def __init__(self):
            super().__init__()
            self.enc, self.dec = L.Dense(2), L.Dense(4)

        def call(self, x):
            z = self.enc(x)
            self.add_loss(0.5 * ops.mean(ops.square(z)))
            return self.dec(z)

    x = np.random.default_rng(5).standard_normal((16, 4)).astype(np.float32)
    runs = []
    for jit in ("auto", False):
        gn.set_seed(6)
        m = Net()
        m.compile(optimizer=gn.optimizers.SGD(0.0), loss="mse", jit_compile=jit)
        h = m.fit(x, x, epochs=3, batch_size=16, verbose=0)
        z = m.enc(x).numpy()
        want = np.mean((m.dec(z).numpy() - x) ** 2) + 0.5 * np.mean(z * z)
        assert h.history["loss"] == pytest.approx([float(want)] * 3, rel=1e-5)
        runs.append(h.history["loss"])
    assert runs[0] == runs[1]


def test_a_registered_activation_function_saves_by_its_name(tmp_path):
    @gn.saving.register_keras_serializable(package="guides_test", name="cubed")
    def cubed(x):
        return x * x * x

    x = np.random.default_rng(7).standard_normal((3, 4)).astype(np.float32)
    m = gn.Sequential([gn.Input(shape=(4,)), L.Dense(2, activation=cubed)])
    assert gn.activations.serialize(cubed) == {"registered_name": "guides_test>cubed"}
    # .keras files need the keras extra's h5py
    for ext in ("glassnet", "keras") if importlib.util.find_spec("h5py") else ("glassnet",):
        m.save(tmp_path / f"m.{ext}")
        back = gn.saving.load_model(tmp_path / f"m.{ext}")
        np.testing.assert_array_equal(back.predict(x, verbose=0), m.predict(x, verbose=0))
    with pytest.raises(ValueError, match="register"):
        gn.activations.serialize(lambda t: t)


def test_an_end_to_end_text_model_as_the_preprocessing_guide_builds_it():
    """Input((1,), dtype="string") -> TextVectorization -> a model with a GRU: the string
    trace gives the token axis a variable length (None) and the GRU a step; a 1-D array of
    strings fits the (None, 1) input by Keras's rank rule."""
    texts = np.array(["The Brain is wider than the Sky", "For put them side by side",
                      "The one the other will contain", "With ease and You beside"])
    vec = L.TextVectorization(output_mode="int")
    vec.adapt(texts)
    ids_in = gn.Input(shape=(None,), dtype="int64")
    h = L.GRU(8)(L.Embedding(vec.vocabulary_size(), 16)(ids_in))
    model = gn.Model(ids_in, L.Dense(1)(h))
    model.compile(optimizer="rmsprop", loss="mse")
    model.fit(np.asarray(vec(texts)), np.array([0.0, 1.0, 1.0, 0.0]), verbose=0)
    text_in = gn.Input(shape=(1,), dtype="string")
    tokens = vec(text_in)
    assert tokens.shape == (None, None)
    end_to_end = gn.Model(text_in, model(tokens))
    got = end_to_end(np.array(["The one the other will absorb"])).numpy()
    want = model(np.asarray(vec(np.array(["The one the other will absorb"])))).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert got.shape == (1, 1)
    np.testing.assert_allclose(end_to_end(texts[:, None]).numpy(),
                               model(np.asarray(vec(texts))).numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="expected input shape"):
        end_to_end(np.array([["a", "b"]]))  # neither the rank nor the width of (None, 1)


def test_a_model_overriding_compute_loss_trains_and_evaluates_with_it():
    """keras.io's knowledge distillation: compile(...) overridden to take extra arguments,
    compute_loss(x, y, y_pred, sample_weight) overridden to add a teacher's term; the default
    steps call it, as Keras's default train_step/test_step do."""

    class Distiller(gn.Model):
        def __init__(self, student, teacher):
            super().__init__()
            self.student, self.teacher = student, teacher

        def compile(self, optimizer, metrics, alpha):
            super().compile(optimizer=optimizer, metrics=metrics)
            self.alpha = alpha
            self.student_loss = gn.losses.SparseCategoricalCrossentropy(from_logits=True)

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None,
                         allow_empty=False):
            t = self.teacher(x, training=False)
            kl = gn.losses.KLDivergence()(ops.softmax(t, axis=1), ops.softmax(y_pred, axis=1))
            return self.alpha * self.student_loss(y, y_pred) + (1 - self.alpha) * kl

        def call(self, x):
            return self.student(x)

    r = np.random.default_rng(9)
    x, y = r.standard_normal((24, 5)).astype(np.float32), r.integers(0, 3, 24)
    gn.set_seed(1)
    teacher = gn.Sequential([gn.Input(shape=(5,)), L.Dense(3)])
    student = gn.Sequential([gn.Input(shape=(5,)), L.Dense(3)])
    d = Distiller(student, teacher)
    d.compile(optimizer=gn.optimizers.SGD(0.0), metrics=["sparse_categorical_accuracy"],
              alpha=0.3)
    h = d.fit(x, y, epochs=2, batch_size=24, verbose=0)
    t, s = teacher(x).numpy(), student(x).numpy()

    def softmax(z):
        e = np.exp(z - z.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    ps, pt = softmax(s), softmax(t)
    ce = -np.mean(np.log(ps[np.arange(24), y]))
    kl = np.mean(np.sum(pt * np.log(pt / ps), axis=1))
    want = 0.3 * ce + 0.7 * kl
    assert h.history["loss"] == pytest.approx([want, want], rel=1e-4)
    ev = d.evaluate(x, y, verbose=0, return_dict=True)
    assert ev["loss"] == pytest.approx(want, rel=1e-4)
    assert ev["sparse_categorical_accuracy"] == pytest.approx(np.mean(s.argmax(1) == y))


def test_a_metric_keeping_plain_attributes_made_in_reset_state_still_works():
    class Hits(gn.metrics.Metric):  # glassnet's own style: state made by reset_state
        def reset_state(self):
            self.n = 0

        def update_state(self, y_true, y_pred, sample_weight=None):
            self.n += int(np.sum(np.asarray(y_true) == np.asarray(y_pred)))

        def result(self):
            return float(self.n)

    h = Hits(name="hits")
    h.update_state([1, 2, 3], [1, 0, 3])
    assert h.result() == 2.0


class _LogisticEndpoint(L.Layer):
    """The functional-API guide's endpoint layer: called as ``layer(targets, logits, sw)``."""

    def __init__(self, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.loss_fn = gn.losses.BinaryCrossentropy(from_logits=True)

    def call(self, targets, logits, sample_weights=None):
        self.add_loss(self.loss_fn(targets, logits, sample_weights))
        return gn.ops.softmax(logits)


def _endpoint_model():
    inputs = gn.Input(shape=(3,), name="inputs")
    targets = gn.Input(shape=(10,), name="targets")
    sample_weights = gn.Input(shape=(1,), name="sample_weights")
    dense = L.Dense(10)
    preds = _LogisticEndpoint(name="predictions")(targets, dense(inputs), sample_weights)
    return gn.Model(inputs=[inputs, targets, sample_weights], outputs=preds), dense


@pytest.mark.parametrize("jit", ["auto", False])
def test_a_layer_called_with_several_positional_tensors_as_the_functional_guide_does(jit):
    r = np.random.default_rng(0)
    data = {"inputs": r.random((6, 3)).astype("f4"), "targets": r.random((6, 10)).astype("f4"),
            "sample_weights": r.random((6, 1)).astype("f4")}
    model, dense = _endpoint_model()
    w, b = r.standard_normal((3, 10)).astype("f4"), r.standard_normal(10).astype("f4")
    dense.set_weights([w, b])
    model.compile(optimizer=gn.optimizers.SGD(0.0), jit_compile=jit)
    h = model.fit(data, epochs=1, batch_size=6, verbose=0)
    # Keras's value (checked against Keras 3 on PyTorch: 0.403795): the mean over classes of
    # the logits' binary cross-entropy, times each sample's weight, over the batch
    z = data["inputs"].astype(np.float64) @ w + b
    t = data["targets"]
    per = np.mean(np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z))), axis=1)
    want = np.mean(per * data["sample_weights"][:, 0])
    np.testing.assert_allclose(h.history["loss"][0], want, rtol=1e-5)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(model.predict(data, verbose=0), e / e.sum(axis=1, keepdims=True),
                               rtol=1e-5, atol=1e-6)
    # the graph's config keeps the extra inputs: a rebuilt model computes the same
    again = gn.Model.from_config(model.get_config(),
                                 custom_objects={"_LogisticEndpoint": _LogisticEndpoint})
    again.set_weights(model.get_weights())
    np.testing.assert_array_equal(again.predict(data, verbose=0), model.predict(data, verbose=0))


def test_positional_inputs_outside_a_graph_and_the_old_positional_training_flag():
    ep = _LogisticEndpoint()
    t, z = np.ones((2, 10), "f4"), np.zeros((2, 10), "f4")
    np.testing.assert_allclose(ep(t, z).data, np.full((2, 10), 0.1), rtol=1e-6)
    drop = L.Dropout(0.5, seed=1)
    x = np.ones((4, 50), "f4")
    assert (drop(x, True).data == 0).any()  # layer(x, True): training by position, as before
    np.testing.assert_array_equal(drop(x, False).data, x)
    with pytest.raises(TypeError, match=r"takes 3 positional inputs \(inputs, logits, "
                                        r"sample_weights\)\. Received: 4"):
        ep(t, z, np.ones((2, 1), "f4"), z)
    with pytest.raises(TypeError, match="two values for 'logits'"):
        ep(t, z, logits=z)


def test_layers_with_their_own_call_entry_take_the_training_flag_or_refuse_inputs_by_position():
    x, ids = np.ones((1, 5, 5, 1), "f4"), np.array([[1, 2]])
    for layer, a in ((L.Conv2D(2, 3), x), (L.Embedding(5, 2), ids), (L.MaxPooling2D(), x),
                     (L.Flatten(), x)):
        np.testing.assert_array_equal(layer(a, True).data, layer(a, training=True).data)
        with pytest.raises(TypeError, match=rf"Layer '{layer.name}'.*takes 1 positional"):
            layer(a, a)
    inp = gn.Input((3,))
    m = gn.Model(inp, L.Dense(2)(inp))
    np.testing.assert_array_equal(m(np.ones((1, 3), "f4"), False).data,
                                  m(np.ones((1, 3), "f4")).data)


def test_callbacks_see_what_the_callbacks_guide_prints():
    """keras.io's "Writing your own callbacks": the batch logs hold the running loss and
    metrics of the epoch so far, validation runs in batches of batch_size, and
    on_train_end gets the last epoch's logs (hook order and keys as Keras 3 on PyTorch)."""
    r = np.random.default_rng(0)
    x, y = r.random((1000, 20)).astype("f4"), r.random(1000).astype("f4")
    calls = []

    class Record(gn.callbacks.Callback):
        def __getattribute__(self, name):
            if name.startswith("on_") and name not in ("on_batch_begin", "on_batch_end"):
                def hook(*args, logs=None, _n=name):
                    calls.append((_n, *args[:1], dict(args[1] if len(args) > 1 else
                                                      (logs or {}))))
                return hook
            return super().__getattribute__(name)

    gn.set_seed(0)
    m = gn.Sequential([L.Dense(1)])
    m.compile(optimizer=gn.optimizers.RMSprop(0.1), loss="mean_squared_error",
              metrics=["mean_absolute_error"])
    m.fit(x, y, batch_size=128, epochs=1, verbose=0, validation_split=0.5, callbacks=[Record()])
    names = [c[0] for c in calls]
    assert names[:2] == ["on_train_begin", "on_epoch_begin"]
    assert names.count("on_train_batch_end") == 4  # 500 samples, batches of 128
    assert names.count("on_test_batch_end") == 4  # validation: batches of 128 too
    train_ends = [c for c in calls if c[0] == "on_train_batch_end"]
    assert all(sorted(c[2]) == ["loss", "mean_absolute_error"] for c in train_ends)
    test_ends = [c for c in calls if c[0] == "on_test_batch_end"]
    assert all(sorted(c[2]) == ["loss", "mean_absolute_error"] for c in test_ends)
    epoch_end = next(c for c in calls if c[0] == "on_epoch_end")[2]
    assert calls[-1][0] == "on_train_end" and calls[-1][1] == epoch_end  # the last epoch's
    assert sorted(epoch_end) == ["loss", "mean_absolute_error", "val_loss",
                                 "val_mean_absolute_error"]
    # the last batch's running values are the epoch's
    assert train_ends[-1][2]["loss"] == pytest.approx(epoch_end["loss"], rel=1e-6)
    assert test_ends[-1][2]["loss"] == pytest.approx(epoch_end["val_loss"], rel=1e-6)
    # running means: batch b's loss is the sample-weighted mean of batches 0..b
    calls.clear()
    m.evaluate(x[:300], y[:300], batch_size=128, verbose=0, callbacks=[Record()])
    ends = [c[2]["loss"] for c in calls if c[0] == "on_test_batch_end"]
    xs, ys = x[:300], y[:300]
    per = [float(np.mean((m.predict(xs[i:i + 128], verbose=0)[:, 0] - ys[i:i + 128]) ** 2))
           for i in (0, 128, 256)]
    sizes = [128, 128, 44]
    want = [np.dot(per[:k + 1], sizes[:k + 1]) / sum(sizes[:k + 1]) for k in range(3)]
    np.testing.assert_allclose(ends, want, rtol=1e-5)


class _WithVariable(L.Dense):
    """The customizing-saving guide's layer: a Variable of its own, saved by its hooks."""

    def __init__(self, units, **kwargs):
        super().__init__(units, **kwargs)
        self.my_variable = gn.Variable(np.random.default_rng(3).random((units,)),
                                       name="my_variable", dtype="float32")

    def save_own_variables(self, store):
        super().save_own_variables(store)
        store["variables"] = self.my_variable.numpy()

    def load_own_variables(self, store):
        self.my_variable.assign(store["variables"])
        super().load_own_variables(store)


def test_variables_are_tracked_trained_and_saved_as_the_keras_guides_write_them(tmp_path):
    # a Variable assigned to an attribute is one of the layer's weights, trainable or not
    class Counter(L.Layer):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.count = gn.Variable(0.0, trainable=False, name="count")
            self.scale = gn.Variable("ones", shape=(2,), name="scale")

        def call(self, x):
            self.count.assign_add(1.0)
            return x * self.scale

    c = Counter()
    c(np.ones((1, 2), "f4"))
    c(np.ones((1, 2), "f4"))
    assert [w.name for w in c.trainable_weights] == [f"{c.name}/scale"]
    assert [w.name for w in c.non_trainable_weights] == [f"{c.name}/count"]
    assert float(c.count.numpy()) == 2.0 and c.scale.dtype == np.float32
    with pytest.raises(ValueError, match="an initializer needs a shape"):
        gn.Variable("zeros")
    with pytest.raises(ValueError, match=r"has shape \(3,\)\. Received: shape=\(2,\)"):
        gn.Variable(np.zeros(3), shape=(2,))
    # trained like any weight
    inp = gn.Input((2,))
    m = gn.Model(inp, L.Dense(1)(Counter()(inp)))
    m.compile(optimizer=gn.optimizers.SGD(0.1), loss="mse")
    before = m.layers[1].scale.numpy().copy()
    m.fit(np.ones((4, 2), "f4"), np.zeros((4, 1), "f4"), epochs=1, verbose=0)
    assert not np.array_equal(before, m.layers[1].scale.numpy())
    # .glassnet files and the guide's .keras save_own_variables / load_own_variables
    model = gn.Sequential([L.Input((10,)), _WithVariable(1)])
    x = np.random.default_rng(0).random((8, 10)).astype("f4")
    ref = model.predict(x, verbose=0)
    model.save(tmp_path / "m.glassnet")
    back = gn.models.load_model(tmp_path / "m.glassnet",
                                custom_objects={"_WithVariable": _WithVariable})
    np.testing.assert_array_equal(back.layers[0].my_variable.numpy(),
                                  model.layers[0].my_variable.numpy())
    np.testing.assert_array_equal(back.predict(x, verbose=0), ref)
    if importlib.util.find_spec("h5py") is None:
        return
    model.layers[0].my_variable.assign(np.full(1, 7.0, "f4"))
    model.save(tmp_path / "m.keras")
    back = gn.models.load_model(tmp_path / "m.keras",
                                custom_objects={"_WithVariable": _WithVariable})
    assert float(back.layers[0].my_variable.numpy()[0]) == 7.0  # through the hooks
    np.testing.assert_array_equal(back.predict(x, verbose=0), ref)


def test_a_layer_built_by_hand_stays_built():
    class TwoArgBuild(L.Layer):
        def build(self, input_shape, layer_init="ones"):
            self.w = self.add_weight(shape=(input_shape[-1], 2), initializer=layer_init)

        def call(self, x):
            return gn.ops.matmul(x, self.w)

    layer = TwoArgBuild()
    layer.build((None, 3), layer_init="zeros")  # as the customizing-saving guide does
    assert layer.built and layer.input_shape_built == (None, 3)
    np.testing.assert_array_equal(layer(np.ones((1, 3), "f4")).data, np.zeros((1, 2)))
    assert len(layer.weights) == 1  # not built a second time on the first call


def test_a_metric_keeps_its_variables_made_by_hand_as_state():
    class Total(gn.metrics.Metric):
        def __init__(self, **kw):
            super().__init__(name="total", **kw)
            self.total = gn.Variable(0.0, trainable=False, name="total")

        def update_state(self, y_true, y_pred, sample_weight=None):
            self.total.assign_add(float(np.sum(y_true)))

        def result(self):
            return self.total

    m = Total()
    m.update_state(np.ones(3), np.ones(3))
    assert float(m.result()) == 3.0 and m.variables == [m.total]
    m.reset_state()
    assert float(m.result()) == 0.0


def test_evaluate_runs_an_overridden_test_step_as_the_customizing_fit_guide_writes_it():
    class CustomModel(gn.Model):
        def test_step(self, data):
            x, y = data
            y_pred = self(x, training=False)
            loss = self.compute_loss(y=y, y_pred=y_pred)
            for metric in self.metrics:
                if metric.name == "loss":
                    metric.update_state(loss)
                else:
                    metric.update_state(y, y_pred)
            return {m.name: m.result() for m in self.metrics}

    inputs = gn.Input(shape=(32,))
    model = CustomModel(inputs, L.Dense(1)(inputs))
    model.compile(loss="mse", metrics=["mae"])
    r = np.random.default_rng(0)
    x, y = r.random((1000, 32)).astype("f4"), r.random((1000, 1)).astype("f4")
    model.layers[1].set_weights([np.full((32, 1), 0.01, "f4"), np.zeros(1, "f4")])
    calls = []

    class Count(gn.callbacks.Callback):
        def on_test_batch_end(self, batch, logs=None):
            calls.append(sorted(logs))

    res = model.evaluate(x, y, return_dict=True, verbose=0, callbacks=[Count()])
    # Keras 3 (PyTorch) gives loss 0.204750, mae 0.370009: the loss tracker is the mean of
    # the batch losses (31 batches of 32 and one of 8, weighted alike), not per sample
    p = x.astype(np.float64) @ np.full((32, 1), 0.01)
    per_batch = [np.mean((p[i:i + 32] - y[i:i + 32]) ** 2) for i in range(0, 1000, 32)]
    assert res["loss"] == pytest.approx(np.mean(per_batch), rel=1e-5)
    assert res["mae"] == pytest.approx(np.mean(np.abs(p - y)), rel=1e-5)
    assert len(calls) == 32 and calls[0] == ["loss", "mae"]


def _two_heads():
    gn.set_seed(4)
    i = gn.Input((3,), name="i")
    h = L.Dense(4, activation="relu")(i)
    return gn.Model(i, [L.Dense(1, name="score")(h), L.Dense(2, name="cls")(h)])


def test_metrics_names_label_evaluate_as_the_training_guide_zips_them():
    m = _two_heads()
    assert m.metrics_names == []  # Keras: nothing before compile
    m.compile("sgd", loss=["mse", "mse"], metrics={"cls": ["mae"]})
    x = np.random.default_rng(0).standard_normal((16, 3)).astype("f4")
    ys = [np.zeros((16, 1), "f4"), np.ones((16, 2), "f4")]
    m.fit(x, ys, epochs=1, verbose=0)
    res = m.evaluate(x, ys, verbose=0)
    named = dict(zip(m.metrics_names, res))
    assert list(named) == ["loss", "score_loss", "cls_loss", "cls_mae"]
    assert named == pytest.approx(m.evaluate(x, ys, verbose=0, return_dict=True))


def test_an_output_with_no_loss_and_no_metric_needs_no_targets():
    """The training guide's multi-output model with ``loss=[None, ...]``: its targets may
    be None (list) or left out (dict), and only ``loss`` is logged where one output has a
    loss (Keras 3 logs each output's loss only where several have one)."""
    m = _two_heads()
    x = np.random.default_rng(0).standard_normal((16, 3)).astype("f4")
    yc = np.ones((16, 2), "f4")
    m.compile("sgd", loss=[None, "mse"])
    h1 = m.fit(x, [None, yc], epochs=1, verbose=0, shuffle=False)
    assert sorted(h1.history) == ["loss"]
    w = m.get_weights()
    m.compile("sgd", loss={"cls": "mse"})
    m.set_weights(w)
    h2 = m.fit(x, {"cls": yc}, epochs=1, verbose=0, shuffle=False)
    assert sorted(h2.history) == ["loss"]
    # the score head's placeholder targets change nothing: the same step as a list of both
    m3 = _two_heads()
    m3.compile("sgd", loss=[None, "mse"])
    m3.set_weights(w)
    m3.fit(x, [np.full((16, 1), 7.0, "f4"), yc], epochs=1, verbose=0, shuffle=False)
    for a, b in zip(m3.get_weights(), m.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert np.isfinite(m.evaluate(x, [None, yc], verbose=0))
    with pytest.raises(ValueError, match="neither a loss nor a metric"):
        m.fit(x, [np.zeros((16, 1), "f4"), None], epochs=1, verbose=0)
    m.compile("sgd", loss=[None, "mse"], metrics=[["mae"], []])  # a metric needs targets
    with pytest.raises(ValueError, match="neither a loss nor a metric"):
        m.fit(x, [None, yc], epochs=1, verbose=0)


def test_the_learning_rate_reads_as_the_current_value_of_a_schedule():
    sched = gn.optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    opt = gn.optimizers.RMSprop(learning_rate=sched)
    m = gn.Sequential([gn.Input((2,)), L.Dense(1)])
    m.compile(optimizer=opt, loss="mse")
    assert float(ops.convert_to_numpy(opt.learning_rate)) == pytest.approx(0.1)
    m.fit(np.ones((8, 2), "f4"), np.ones((8, 1), "f4"), batch_size=4, epochs=1, verbose=0)
    assert opt.learning_rate == pytest.approx(0.1 * 0.5 ** 2)  # two steps taken


def test_summary_shows_keras_trainable_column():
    m = gn.Sequential([gn.Input((3,)), L.Dense(2, name="d1"), L.Dropout(0.1, name="drop"),
                       L.Dense(1, name="d2")])
    m.layers[0].trainable = False
    lines: list[str] = []
    m.summary(show_trainable=True, print_fn=lines.append)
    head = next(ln for ln in lines if ln.startswith("Layer (type)"))
    assert head.split()[-1] == "Trainable"
    flags = {ln.split()[0]: ln.split()[-1] for ln in lines if ln.split()[0] in ("d1", "drop",
                                                                            "d2")}
    assert flags == {"d1": "N", "drop": "-", "d2": "Y"}  # as Keras 3 marks them
    plain: list[str] = []
    m.summary(print_fn=plain.append)
    assert not any("Trainable" in ln.split()[-1:] for ln in plain if ln.startswith("Layer"))


def test_fit_visits_a_pydatasets_batches_in_a_new_order_each_epoch_when_shuffling():
    """Keras 3 shuffles the batch order of a PyDataset in fit (shuffle=True, the default);
    the order comes from gn.set_seed, and shuffle=False keeps the dataset's order."""
    seen: list[int] = []

    class Batches(gn.utils.PyDataset):
        def __len__(self):
            return 6

        def __getitem__(self, i):
            seen.append(i)
            return np.full((2, 3), i, "f4"), np.zeros((2, 1), "f4")

    def visits(**kw):
        gn.set_seed(7)
        m = gn.Sequential([gn.Input((3,)), L.Dense(1)])
        m.compile("sgd", "mse")
        seen.clear()
        m.fit(Batches(), epochs=2, verbose=0, **kw)
        return list(seen)

    shuffled = visits()
    assert sorted(shuffled[:6]) == list(range(6)) and sorted(shuffled[6:]) == list(range(6))
    assert shuffled[:6] != list(range(6)) and shuffled[:6] != shuffled[6:]
    assert visits() == shuffled  # seeded
    assert visits(shuffle=False) == list(range(6)) * 2


def test_compile_takes_kerass_run_eagerly_and_steps_per_execution():
    x = np.random.default_rng(0).standard_normal((32, 3)).astype("f4")
    y = x.sum(1, keepdims=True)

    def trained(**kw):
        gn.set_seed(2)
        m = gn.Sequential([gn.Input((3,)), L.Dense(4, activation="tanh"), L.Dense(1)])
        m.compile("adam", "mse", **kw)
        m.fit(x, y, batch_size=8, epochs=2, verbose=0)
        return m

    eager = trained(run_eagerly=True)
    assert eager.run_eagerly and eager.jit_compile is False  # every step the ordinary way
    for a, b in zip(eager.get_weights(), trained(jit_compile=False).get_weights()):
        np.testing.assert_array_equal(a, b)
    # one step per batch either way: the same training as the default
    for a, b in zip(trained(steps_per_execution=4, auto_scale_loss=False).get_weights(),
                    trained().get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="steps_per_execution"):
        gn.Sequential([gn.Input((3,)), L.Dense(1)]).compile("adam", "mse",
                                                            steps_per_execution=0)


def test_a_base_called_with_training_false_keeps_its_batchnorm_in_inference_when_unfrozen():
    """keras.io's transfer-learning guide: ``base_model(inputs, training=False)`` keeps the
    base's BatchNormalization in inference mode while fine-tuning (its statistics stay),
    while its weights train once ``base_model.trainable = True``."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 6, 6, 2)).astype("f4"), rng.random((32, 1)).astype("f4")
    gn.set_seed(1)
    base = gn.Sequential([gn.Input((6, 6, 2)), L.Conv2D(3, 3), L.BatchNormalization(),
                          L.GlobalAveragePooling2D()])
    inputs = gn.Input((6, 6, 2))
    model = gn.Model(inputs, L.Dense(1)(base(inputs, training=False)))
    bn = base.layers[1]
    base.trainable = True
    model.compile("adam", "mse")
    stats = [bn.moving_mean.numpy().copy(), bn.moving_variance.numpy().copy()]
    kernel = base.layers[0].kernel.numpy().copy()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    np.testing.assert_array_equal(bn.moving_mean.numpy(), stats[0])
    np.testing.assert_array_equal(bn.moving_variance.numpy(), stats[1])
    assert not np.array_equal(base.layers[0].kernel.numpy(), kernel)  # but it trains
    free = gn.Model(inputs, L.Dense(1)(base(inputs)))  # called without training=False
    free.compile("adam", "mse")
    free.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert not np.array_equal(bn.moving_mean.numpy(), stats[0])


def test_build_makes_a_subclassed_models_weights_so_its_weights_load(tmp_path):
    """The subclassing pattern ``model = Net(); model.build((None, 5));
    model.load_weights(path)``: build runs call once, so every layer has its weights."""
    class Net(gn.Model):
        def __init__(self):
            super().__init__()
            self.d1 = L.Dense(8, activation="relu")
            self.bn = L.BatchNormalization()
            self.d2 = L.Dense(2)

        def call(self, x, training=False):
            return self.d2(self.bn(self.d1(x), training=training))

    gn.set_seed(0)
    m = Net()
    m.build((None, 5))
    assert [tuple(w.shape) for w in m.weights][:2] == [(5, 8), (8,)]
    assert m.count_params() == 5 * 8 + 8 + 4 * 8 + 8 * 2 + 2
    stats = m.bn.moving_mean.numpy().copy()
    m.compile("adam", "mse")
    m.fit(np.ones((8, 5), "f4"), np.ones((8, 2), "f4"), verbose=0)
    assert not np.array_equal(m.bn.moving_mean.numpy(), stats)  # the build pass left none
    m.save_weights(tmp_path / "net.weights.h5")
    fresh = Net()
    fresh.build((None, 5))
    fresh.load_weights(tmp_path / "net.weights.h5")
    x = np.random.default_rng(0).normal(size=(3, 5)).astype("f4")
    np.testing.assert_array_equal(fresh.predict(x, verbose=0), m.predict(x, verbose=0))

    class TwoIn(gn.Model):
        def __init__(self):
            super().__init__()
            self.a, self.b = L.Dense(2), L.Dense(2)

        def call(self, inputs):
            return self.a(inputs[0]) + self.b(inputs[1])

    two = TwoIn()
    two.build([(None, 3), (None, 4)])
    assert [tuple(w.shape) for w in two.weights] == [(3, 2), (2,), (4, 2), (2,)]
