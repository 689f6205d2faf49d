"""ONNX export checked by onnxruntime: every exportable layer, functional multi-I/O models,
the course's recipe models, RBM/DBN; outputs equal ``predict`` to 1e-5 at batch 1 and 7."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="ONNX export needs onnx (pip install 'glassnet[onnx]')")
ort = pytest.importorskip("onnxruntime", reason="the export is checked by onnxruntime")

import glassnet as gn  # noqa: E402
from glassnet import layers as L  # noqa: E402
from glassnet.interop.onnx_export import export_onnx  # noqa: E402

TOL = 1e-5


def _randomize(model, seed=1):
    rng = np.random.default_rng(seed)
    ws = []
    for w in model.weights:
        a = rng.normal(size=w.shape).astype("f") * 0.5
        if "variance" in w.name:
            a = np.abs(a) + 0.5
        ws.append(a)
    model.set_weights(ws)
    return model


def _data(shape, integer, n, seed=0):
    rng = np.random.default_rng(seed + n)
    if integer:
        return rng.integers(0, 10, size=(n, *shape)).astype("int64")
    return rng.normal(size=(n, *shape)).astype("float32")


def _check(model, path, shapes, integer=False, opset=17):
    export_onnx(model, path, opset=opset)
    proto = onnx.load(path)
    onnx.checker.check_model(proto, full_check=True)
    assert proto.opset_import[0].version == opset
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    for n in (1, 7):
        xs = [_data(s, integer, n, seed=i) for i, s in enumerate(shapes)]
        got = sess.run(None, dict(zip(names, xs)))
        want = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
        want = want if isinstance(want, list) else [want]
        assert len(got) == len(want)
        for a, b in zip(got, want):
            assert a.shape == b.shape
            np.testing.assert_allclose(a, b, atol=TOL, rtol=TOL)


CASES = [
    ("Dense", lambda: L.Dense(3, activation="relu"), (4,)),
    ("Dense-3d", lambda: L.Dense(3, activation="softmax"), (2, 4)),
    ("EinsumDense", lambda: L.EinsumDense("abc,cde->abde", (2, 3, 2), bias_axes="de",
                                          activation="tanh"), (2, 4)),
    ("EinsumDense-ellipsis", lambda: L.EinsumDense("...b,bc->...c", 3, bias_axes="c"), (2, 4)),
    ("Conv1D", lambda: L.Conv1D(2, 3, padding="same", activation="tanh"), (6, 3)),
    ("Conv1D-causal", lambda: L.Conv1D(2, 2, padding="causal", dilation_rate=2), (6, 3)),
    ("Conv2D", lambda: L.Conv2D(2, 3, strides=2, padding="same", activation="relu"),
     (7, 7, 3)),
    ("Conv2D-groups", lambda: L.Conv2D(4, 2, groups=2, use_bias=False), (5, 5, 4)),
    ("Conv2DTranspose", lambda: L.Conv2DTranspose(2, 3, strides=2), (4, 4, 3)),
    ("Conv2DTranspose-same", lambda: L.Conv2DTranspose(2, 3, strides=2, padding="same"),
     (4, 4, 3)),
    ("Conv1DTranspose", lambda: L.Conv1DTranspose(2, 3, strides=2), (5, 3)),
    ("Conv1DTranspose-same", lambda: L.Conv1DTranspose(2, 4, strides=3, padding="same",
                                                       activation="relu"), (5, 3)),
    ("MaxPooling1D", lambda: L.MaxPooling1D(2), (6, 3)),
    ("AveragePooling1D", lambda: L.AveragePooling1D(2, padding="same"), (5, 3)),
    ("MaxPooling2D", lambda: L.MaxPooling2D(2, padding="same"), (5, 5, 2)),
    ("AveragePooling2D", lambda: L.AveragePooling2D(3, strides=2), (7, 7, 2)),
    ("GlobalAveragePooling1D", lambda: L.GlobalAveragePooling1D(), (5, 3)),
    ("GlobalMaxPooling1D", lambda: L.GlobalMaxPooling1D(), (5, 3)),
    ("GlobalAveragePooling2D", lambda: L.GlobalAveragePooling2D(keepdims=True), (4, 4, 3)),
    ("GlobalMaxPooling2D", lambda: L.GlobalMaxPooling2D(), (4, 4, 3)),
    ("GlobalAveragePooling1D-channels-first",
     lambda: L.GlobalAveragePooling1D(data_format="channels_first"), (5, 3)),
    ("GlobalMaxPooling2D-channels-first",
     lambda: L.GlobalMaxPooling2D(data_format="channels_first", keepdims=True), (3, 4, 5)),
    ("Flatten", lambda: L.Flatten(), (3, 4, 2)),
    ("Reshape", lambda: L.Reshape((2, -1)), (3, 4)),
    ("Permute", lambda: L.Permute((2, 1)), (3, 4)),
    ("RepeatVector", lambda: L.RepeatVector(3), (4,)),
    ("Cropping1D", lambda: L.Cropping1D((1, 2)), (6, 3)),
    ("Cropping2D", lambda: L.Cropping2D(((1, 0), (0, 2))), (5, 5, 2)),
    ("ZeroPadding1D", lambda: L.ZeroPadding1D(2), (3, 2)),
    ("ZeroPadding2D", lambda: L.ZeroPadding2D(((1, 0), (2, 1))), (3, 3, 2)),
    ("UpSampling1D", lambda: L.UpSampling1D(3), (3, 2)),
    ("UpSampling2D", lambda: L.UpSampling2D((2, 3)), (3, 3, 2)),
    ("UpSampling2D-bilinear", lambda: L.UpSampling2D(2, interpolation="bilinear"),
     (3, 3, 2)),
    ("Dropout", lambda: L.Dropout(0.5), (4,)),
    ("SpatialDropout1D", lambda: L.SpatialDropout1D(0.5), (5, 3)),
    ("SpatialDropout2D", lambda: L.SpatialDropout2D(0.5), (4, 4, 3)),
    ("GaussianDropout", lambda: L.GaussianDropout(0.3), (4,)),
    ("GaussianNoise", lambda: L.GaussianNoise(0.3), (4,)),
    ("RandomFlip", lambda: L.RandomFlip(), (4, 4, 3)),
    ("RandomRotation", lambda: L.RandomRotation(0.2), (4, 4, 3)),
    ("RandomTranslation", lambda: L.RandomTranslation(0.2, 0.2), (4, 4, 3)),
    ("RandomZoom", lambda: L.RandomZoom(0.2), (4, 4, 3)),
    ("RandomContrast", lambda: L.RandomContrast(0.3), (4, 4, 3)),
    ("RandomBrightness", lambda: L.RandomBrightness(0.3), (4, 4, 3)),
    ("RandomGrayscale", lambda: L.RandomGrayscale(0.5), (4, 4, 3)),
    ("RandomInvert", lambda: L.RandomInvert(0.5), (4, 4, 3)),
    ("BatchNormalization", lambda: L.BatchNormalization(), (3, 3, 2)),
    ("BatchNormalization-noscale", lambda: L.BatchNormalization(scale=False), (4,)),
    ("LayerNormalization", lambda: L.LayerNormalization(), (5, 4)),
    ("Embedding", lambda: L.Embedding(10, 3), (5,)),
    ("SimpleRNN", lambda: L.SimpleRNN(3), (5, 4)),
    ("SimpleRNN-seq-back", lambda: L.SimpleRNN(3, return_sequences=True, go_backwards=True),
     (5, 4)),
    ("LSTM", lambda: L.LSTM(3), (5, 4)),
    ("LSTM-seq", lambda: L.LSTM(3, return_sequences=True), (5, 4)),
    ("LSTM-back", lambda: L.LSTM(3, go_backwards=True, use_bias=False), (5, 4)),
    ("GRU", lambda: L.GRU(3), (5, 4)),
    ("GRU-reset-before", lambda: L.GRU(3, reset_after=False, go_backwards=True), (5, 4)),
    ("GRU-seq-back", lambda: L.GRU(3, return_sequences=True, go_backwards=True), (5, 4)),
    ("Bidirectional-LSTM", lambda: L.Bidirectional(L.LSTM(3, return_sequences=True)),
     (5, 4)),
    ("Bidirectional-GRU-sum", lambda: L.Bidirectional(L.GRU(3), merge_mode="sum"), (5, 4)),
    ("Bidirectional-RNN-ave", lambda: L.Bidirectional(L.SimpleRNN(2), merge_mode="ave"),
     (5, 4)),
    ("Bidirectional-LSTM-mul", lambda: L.Bidirectional(L.LSTM(2, return_sequences=True),
                                                       merge_mode="mul"), (5, 4)),
    ("JordanRNN", lambda: L.JordanRNN(3, output_units=2), (5, 4)),
    ("JordanRNN-seq", lambda: L.JordanRNN(3, output_units=2, return_sequences=True,
                                          go_backwards=True), (5, 4)),
    ("TimeDistributed", lambda: L.TimeDistributed(L.Dense(2, activation="tanh")), (5, 4)),
    ("TimeDistributed-conv", lambda: L.TimeDistributed(L.Conv2D(2, 2)), (3, 4, 4, 1)),
    ("Maxout", lambda: L.Maxout(3, pieces=4), (4,)),
    ("PReLU", lambda: L.PReLU(), (4,)),
    ("Conv3D", lambda: L.Conv3D(2, 2, padding="same"), (4, 4, 4, 2)),
    ("MaxPooling3D", lambda: L.MaxPooling3D(2), (4, 4, 4, 2)),
    ("AveragePooling3D", lambda: L.AveragePooling3D(2), (4, 4, 4, 2)),
    ("UpSampling3D", lambda: L.UpSampling3D(2), (2, 2, 2, 2)),
    ("GlobalAveragePooling3D", lambda: L.GlobalAveragePooling3D(), (3, 3, 3, 2)),
    ("RMSNormalization", lambda: L.RMSNormalization(), (5, 4)),
    ("RMSNormalization-axes", lambda: L.RMSNormalization(axis=[-2, -1]), (3, 4)),
    ("AdaptiveAveragePooling1D", lambda: L.AdaptiveAveragePooling1D(4), (6, 2)),
    ("AdaptiveMaxPooling1D", lambda: L.AdaptiveMaxPooling1D(3), (7, 2)),
    ("AdaptiveAveragePooling2D", lambda: L.AdaptiveAveragePooling2D((2, 3)), (5, 7, 2)),
    ("AdaptiveMaxPooling2D", lambda: L.AdaptiveMaxPooling2D(1), (4, 4, 2)),
    ("AdaptiveAveragePooling3D", lambda: L.AdaptiveAveragePooling3D(2), (3, 4, 5, 2)),
    ("AdaptiveMaxPooling3D", lambda: L.AdaptiveMaxPooling3D((1, 2, 3)), (3, 4, 5, 2)),
    ("GlobalMaxPooling3D", lambda: L.GlobalMaxPooling3D(keepdims=True), (3, 3, 3, 2)),
    ("Cropping3D", lambda: L.Cropping3D(((1, 0), (0, 1), (1, 1))), (4, 4, 4, 2)),
    ("ZeroPadding3D", lambda: L.ZeroPadding3D(((1, 0), (0, 1), (2, 1))), (2, 2, 2, 2)),
    ("DepthwiseConv1D", lambda: L.DepthwiseConv1D(3), (6, 3)),
    ("DepthwiseConv2D", lambda: L.DepthwiseConv2D(3, depth_multiplier=2, padding="same"),
     (5, 5, 3)),
    ("SeparableConv1D", lambda: L.SeparableConv1D(4, 3), (6, 3)),
    ("SeparableConv2D", lambda: L.SeparableConv2D(4, 3, depth_multiplier=2,
                                                  activation="relu"), (5, 5, 3)),
    ("RNN-LSTMCell", lambda: L.RNN(L.LSTMCell(3)), (5, 4)),
    ("RNN-GRUCell", lambda: L.RNN(L.GRUCell(3), return_sequences=True, go_backwards=True),
     (5, 4)),
    ("ConvLSTM2D", lambda: L.ConvLSTM2D(2, 3, padding="same"), (3, 5, 5, 1)),
    ("ConvLSTM1D", lambda: L.ConvLSTM1D(2, 3, padding="same"), (3, 6, 2)),
    ("ConvLSTM1D-seq-back", lambda: L.ConvLSTM1D(2, 2, strides=2, return_sequences=True,
                                                 go_backwards=True), (3, 7, 1)),
    ("ConvLSTM2D-seq-back", lambda: L.ConvLSTM2D(2, 3, strides=2, return_sequences=True,
                                                 go_backwards=True), (3, 6, 6, 2)),
    ("RNN-Stacked", lambda: L.RNN(L.StackedRNNCells([L.SimpleRNNCell(3), L.LSTMCell(2)])),
     (5, 4)),
    ("GroupNormalization", lambda: L.GroupNormalization(2), (3, 4)),
    ("Normalization", lambda: L.Normalization(mean=0.5, variance=2.0), (4,)),
    ("Normalization-invert", lambda: L.Normalization(mean=0.5, variance=2.0, invert=True),
     (4,)),
    ("Rescaling", lambda: L.Rescaling(1 / 255, offset=-0.5), (4, 4, 3)),
    ("CenterCrop", lambda: L.CenterCrop(2, 3), (5, 5, 3)),
    ("RandomCrop", lambda: L.RandomCrop(3, 2), (5, 5, 3)),
    ("Resizing", lambda: L.Resizing(3, 6), (4, 4, 3)),
    ("Resizing-nearest", lambda: L.Resizing(8, 6, interpolation="nearest"), (4, 4, 3)),
    ("Discretization", lambda: L.Discretization(bin_boundaries=[0.0, 1.0]), (4,)),
    ("CategoryEncoding", lambda: L.CategoryEncoding(10, output_mode="multi_hot"), (3,)),
    ("CategoryEncoding-count", lambda: L.CategoryEncoding(10, output_mode="count"), (3,)),
]
ACTIVATIONS = ["linear", "relu", "sigmoid", "tanh", "softmax", "log_softmax", "elu", "selu",
               "softplus", "softsign", "leaky_relu", "hard_sigmoid", "swish", "gelu",
               "arctan", "sign", "binary_step"]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_layer_exports_and_onnxruntime_matches_predict(case, tmp_path):
    _, make, shape = case
    model = _randomize(gn.models.Sequential([L.Input(shape), make()]))
    _check(model, tmp_path / "m.onnx", [shape],
           integer=case[0] == "Embedding" or case[0].startswith("Category"))


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_every_activation(act, tmp_path):
    model = _randomize(gn.models.Sequential([L.Input((6,)), L.Dense(5, activation=act)]))
    _check(model, tmp_path / "m.onnx", [(6,)])


def test_activation_layers(tmp_path):
    layers = [L.Activation("tanh"), L.ReLU(max_value=1.0, negative_slope=0.05),
              L.LeakyReLU(negative_slope=0.1), L.ELU(alpha=0.5), L.Softmax(), L.Identity(),
              L.AlphaDropout(0.1), L.ActivityRegularization(l1=0.01), L.UnitNormalization()]
    model = _randomize(gn.models.Sequential([L.Input((5,)), L.Dense(6), *layers]))
    _check(model, tmp_path / "m.onnx", [(5,)])


MERGES = {"Concatenate": lambda: L.Concatenate(), "Add": lambda: L.Add(),
          "Average": lambda: L.Average(), "Multiply": lambda: L.Multiply(),
          "Subtract": lambda: L.Subtract(), "Maximum": lambda: L.Maximum(),
          "Minimum": lambda: L.Minimum()}


@pytest.mark.parametrize("merge", sorted(MERGES))
def test_functional_multi_input_multi_output(merge, tmp_path):
    a, b = gn.Input((5, 4)), gn.Input((3,))
    h = L.Bidirectional(L.GRU(3))(L.LSTM(3, return_sequences=True)(a))
    d = L.Dense(6, activation="tanh")(b)
    m = MERGES[merge]()([h, d])
    shared = L.Dense(2, name="shared")
    o1 = L.Dense(1, activation="sigmoid")(shared(m))
    o2 = shared(L.Dense(m.shape[-1])(m))
    model = _randomize(gn.Model([a, b], [o1, o2]))
    _check(model, tmp_path / "m.onnx", [(5, 4), (3,)])


@pytest.mark.parametrize("kind", ["Dot", "Attention", "Attention-concat",
                                  "AdditiveAttention", "MultiHeadAttention",
                                  "GroupedQueryAttention"])
def test_two_input_layers(kind, tmp_path):
    a, b = gn.Input((5, 4)), gn.Input((5, 4))
    if kind == "Dot":
        y = L.Dot(axes=(2, 2), normalize=True)([a, b])
    elif kind == "Attention":
        y = L.Attention(use_scale=True)([a, b])
    elif kind == "Attention-concat":
        y = L.Attention(score_mode="concat")([a, b])
    elif kind == "AdditiveAttention":
        y = L.AdditiveAttention()([a, b])
    elif kind == "GroupedQueryAttention":  # key/value heads repeated, and the gate
        y = L.GroupedQueryAttention(head_dim=3, num_query_heads=4, num_key_value_heads=2,
                                    use_gate=True)(a, b)
    else:
        y = L.MultiHeadAttention(num_heads=2, key_dim=3)(a, b)
    _check(_randomize(gn.Model([a, b], y)), tmp_path / "m.onnx", [(5, 4), (5, 4)])


def test_layers_without_onnx_form_are_refused_by_name(tmp_path):
    for layer, shape, why in ((L.Masking(), (3, 4), "mask"),
                              (L.Lambda(lambda t: t * 2), (4,), "code"),
                              (L.Hashing(num_bins=4), (3,), "hash"),
                              (L.ReversibleEmbedding(10, 4), (3,), "reverse call"),
                              (L.SpectralNormalization(L.Dense(2)), (4,), "wrapper")):
        ids = isinstance(layer, L.ReversibleEmbedding)
        model = gn.models.Sequential([L.Input(shape, dtype="int64" if ids else None), layer])
        with pytest.raises(ValueError, match=f"{layer.name}.*{why}"):
            export_onnx(model, tmp_path / "m.onnx")


def _recipes():
    return {
        "churn": ([L.Dense(6, activation="relu", kernel_initializer="uniform"),
                   L.Dense(6, activation="relu"), L.Dense(1, activation="sigmoid")], (11,),
                  False),
        "mnist_mlp": ([L.Dense(64, activation="relu"), L.Dropout(0.2),
                       L.Dense(10, activation="softmax")], (784,), False),
        "mnist_cnn": ([L.Conv2D(8, 3, activation="relu"), L.MaxPooling2D(2),
                       L.Conv2D(8, 3, activation="relu"), L.MaxPooling2D(2), L.Flatten(),
                       L.Dense(32, activation="relu"), L.Dropout(0.5),
                       L.Dense(10, activation="softmax")], (28, 28, 1), False),
        "char_rnn": ([L.Embedding(40, 8), L.LSTM(16, return_sequences=True), L.LSTM(16),
                      L.Dense(40, activation="softmax")], (12,), True),
        "augmented_cnn": ([L.RandomFlip(), L.RandomRotation(0.1), L.Conv2D(4, 3),
                           L.BatchNormalization(), L.GlobalAveragePooling2D(),
                           L.Dense(3, activation="softmax")], (8, 8, 1), False),
    }


@pytest.mark.parametrize("name", sorted(_recipes()))
def test_recipe_models(name, tmp_path):
    layers, shape, integer = _recipes()[name]
    model = _randomize(gn.models.Sequential([L.Input(shape), *layers]), seed=2)
    _check(model, tmp_path / "m.onnx", [shape], integer=integer)


def test_autoencoder_rbm_and_dbn(tmp_path):
    from glassnet.models import DBN, RBM, Autoencoder

    enc = gn.models.Sequential([L.Input((20,)), L.Dense(8, activation="relu"), L.Dense(3)])
    dec = gn.models.Sequential([L.Input((3,)), L.Dense(8, activation="relu"),
                                L.Dense(20, activation="sigmoid")])
    ae = _randomize(Autoencoder(enc, dec))
    _check(ae, tmp_path / "ae.onnx", [(20,)])
    rng = np.random.default_rng(0)
    x = (rng.random((64, 20)) > 0.5).astype("f")
    rbm = RBM(n_hidden=6, epochs=2, random_state=0).fit(x)
    export_onnx(rbm, tmp_path / "rbm.onnx")
    sess = ort.InferenceSession(str(tmp_path / "rbm.onnx"))
    np.testing.assert_allclose(sess.run(None, {"input": x[:7]})[0], rbm.transform(x[:7]),
                               atol=TOL, rtol=TOL)
    y = rng.integers(0, 3, 64)
    dbn = DBN(hidden_sizes=(8, 4), epochs=1, fine_tune_epochs=1, random_state=0)
    dbn.fit(x, y)
    export_onnx(dbn, tmp_path / "dbn.onnx")
    sess = ort.InferenceSession(str(tmp_path / "dbn.onnx"))
    got = sess.run(None, {"input": x[:7]})[0]
    np.testing.assert_allclose(got, dbn.model_.predict(x[:7], verbose=0), atol=TOL, rtol=TOL)
    assert (got.argmax(1) == dbn.predict(x[:7])).all()


def test_model_export_method_cli_and_opset_18(tmp_path):
    from typer.testing import CliRunner

    from glassnet.cli import app

    model = _randomize(gn.models.Sequential([L.Input((4,)), L.Dense(3, activation="relu"),
                                             L.BatchNormalization(), L.Dense(2)]))
    assert model.export(tmp_path / "m.onnx", format="onnx") == str(tmp_path / "m.onnx")
    with pytest.raises(ValueError, match="format"):
        model.export(tmp_path / "m.tflite", format="tflite")
    _check(model, tmp_path / "m18.onnx", [(4,)], opset=18)
    # the IR version opset 18 needs (onnx 1.13's), not the installed onnx's newest: a
    # runtime a release behind the onnx package refuses a newer IR
    assert onnx.load(str(tmp_path / "m18.onnx")).ir_version == 8
    with pytest.raises(ValueError, match="opset"):
        export_onnx(model, tmp_path / "old.onnx", opset=13)
    model.save(tmp_path / "m.keras")
    res = CliRunner().invoke(app, ["export", str(tmp_path / "m.keras"), "--format", "onnx"])
    assert res.exit_code == 0, res.output
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"))
    x = _data((4,), False, 7)
    np.testing.assert_allclose(sess.run(None, {"input": x})[0], model.predict(x), atol=TOL,
                               rtol=TOL)
    res = CliRunner().invoke(app, ["info"])
    assert "onnxruntime:" in res.output and "h5py:" in res.output


def test_layer_without_onnx_form_is_named(tmp_path):
    model = gn.models.Sequential([L.Input((5,)), L.Embedding(10, 3, mask_zero=True),
                                  L.LSTM(2)])
    with pytest.raises(ValueError, match="embedding.*mask_zero"):
        export_onnx(model, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()

    class Sub(gn.models.Model):
        def __init__(self):
            super().__init__()
            self.d = L.Dense(2)

        def call(self, x, training=False):
            return self.d(x) * 2

    sub = Sub()
    sub.predict(np.zeros((1, 3), "f"))
    with pytest.raises(ValueError, match="subclassed"):
        export_onnx(sub, tmp_path / "s.onnx")


@pytest.mark.slow
def test_mnist_cnn_same_test_accuracy_through_onnxruntime(tmp_path):
    try:
        (x, y), (xt, yt) = gn.datasets.mnist.load_data()
    except Exception as e:  # pragma: no cover - needs GLASSNET_DATA_DIR
        pytest.skip(f"MNIST not available offline: {e}")
    gn.set_seed(0)
    x = x[:4000, ..., None].astype("f") / 255
    xt = xt[..., None].astype("f") / 255
    layers, shape, _ = _recipes()["mnist_cnn"]
    model = gn.models.Sequential([L.Input(shape), *layers])
    model.compile(optimizer=gn.optimizers.Adam(0.003), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y[:4000], epochs=1, batch_size=32, verbose=0)
    model.export(tmp_path / "cnn.onnx")
    sess = ort.InferenceSession(str(tmp_path / "cnn.onnx"))
    p_onnx = np.concatenate([sess.run(None, {"input": xt[i:i + 2000]})[0]
                             for i in range(0, len(xt), 2000)])
    p_gn = model.predict(xt, verbose=0)
    np.testing.assert_allclose(p_onnx, p_gn, atol=TOL, rtol=TOL)
    acc_onnx = float((p_onnx.argmax(1) == yt).mean())
    acc_gn = float((p_gn.argmax(1) == yt).mean())
    assert acc_onnx == acc_gn and acc_gn > 0.8


# layers with no ONNX form, each refused by name with its reason (see _onnx_more.NO_ONNX)
REFUSED = {"Masking", "Lambda", "Hashing", "IntegerLookup", "StringLookup",
           "TextVectorization", "SymbolicOp", "ReversibleEmbedding", "SpectralNormalization",
           "Wrapper"}  # a subclass's call is Python of one's own, as Lambda's
# exported only inside another layer (cells) or standing for the model input
INSIDE = {"InputLayer", "SimpleRNNCell", "LSTMCell", "GRUCell", "StackedRNNCells",
          "ConvLSTM2DCell", "ConvLSTM1DCell"}


def test_every_layer_class_is_exported_or_refused_by_a_test():
    """Each class of glassnet's layer table appears in a test above (exported and compared
    with onnxruntime) or is knowingly refused; a new layer fails here until it is either."""
    import inspect
    import sys

    from glassnet.layers import LAYER_CLASSES

    source = inspect.getsource(sys.modules[__name__])
    missing = sorted(name for name in LAYER_CLASSES
                     if name not in REFUSED | INSIDE and f"L.{name}(" not in source)
    assert not missing, f"layers with neither an ONNX test nor a refusal: {missing}"


def _recipe_names():
    from glassnet import recipes as R

    return list(R.names())


@pytest.mark.parametrize("name", _recipe_names())
def test_every_cli_recipe_model_exports(name, tmp_path):
    """The model of each `glassnet train` recipe (fast settings) exports and onnxruntime
    gives its predictions: Keras-style models, Autoencoder, Perceptron/Adaline (classes),
    RBM (transform), DBN (class probabilities), GAN (its generator)."""
    from glassnet import recipes as R

    rec = R.get(name)
    cfg = {"recipe": name, "seed": 0, "fast": True, **(rec.fast or {})}
    cfg["fit"] = {**(rec.fit or {}), **(rec.fast or {})}
    try:
        data = rec.load_data(cfg)
    except Exception as e:  # pragma: no cover - needs GLASSNET_DATA_DIR
        pytest.skip(f"recipe data not available offline: {e}")
    model = rec.build(data, cfg)
    kind = type(model).__name__
    if kind in ("Perceptron", "Adaline", "AdalineSGD", "DBN"):
        model.fit(data["x_train"], data["y_train"])
    elif kind == "RBM":
        model.fit(data["x_train"])
    export_onnx(model, tmp_path / "m.onnx")
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"))
    if kind == "GAN":
        x = np.random.default_rng(0).normal(size=(7, model.latent_dim)).astype("f")
        want = model.generator.predict(x, verbose=0)
    elif isinstance(data["x_test"], dict):  # churn: one input per raw CSV column, strings too
        cols = {k: np.asarray(v[:7]) for k, v in data["x_test"].items()}
        feeds = {}
        for inp, col in zip(sess.get_inputs(), model.input_names):
            a = cols[col].reshape(7, -1)
            feeds[inp.name] = a.astype(object) if a.dtype.kind in "OU" else a.astype("f")
        np.testing.assert_allclose(sess.run(None, feeds)[0], model.predict(cols, verbose=0),
                                   atol=TOL, rtol=TOL)
        return
    else:
        x = np.asarray(data["x_test"][:7])
        x = x.astype("f") if x.dtype.kind == "f" else x.astype("int64")
        want = (model.transform(x) if kind == "RBM" else
                model.model_.predict(x, verbose=0) if kind == "DBN" else
                model.predict(x) if kind in ("Perceptron", "Adaline", "AdalineSGD") else
                model.predict(x, verbose=0))
    got = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    if kind in ("Perceptron", "Adaline", "AdalineSGD"):
        assert (got == want).all()
    else:
        np.testing.assert_allclose(got, want, atol=TOL, rtol=TOL)


@pytest.mark.parametrize("mode", ["int", "one_hot"])
def test_string_lookup_exports_as_label_encoder(mode, tmp_path):
    """Raw text inputs: StringLookup becomes ONNX-ML's LabelEncoder (unknown -> the OOV index)
    and, for one_hot, OneHot; onnxruntime gives glassnet's outputs (unseen words included)."""
    import glassnet as gn

    lookup = L.StringLookup(vocabulary=["France", "Spain", "Germany"], output_mode=mode)
    i = gn.Input(shape=(1,), dtype="string")
    o = lookup(i)
    if mode == "one_hot":
        o = L.Dense(2)(o)
    m = gn.Model(i, o)
    x = np.array([["Spain"], ["Narnia"], ["France"], ["Germany"], [""]], dtype=object)
    export_onnx(m, tmp_path / "s.onnx")
    sess = ort.InferenceSession(str(tmp_path / "s.onnx"))
    got = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(got, m.predict(x, verbose=0), atol=TOL, rtol=TOL)


def test_recurrent_states_in_and_out_export_as_the_seq2seq_models_use_them(tmp_path):
    """keras.io's encoder-decoder: an LSTM's final states (return_state) fed to the next
    recurrent layer as initial_state, states as model outputs, a GRU and a backwards
    SimpleRNN started from given states; sequences of any length (onnxruntime, 1e-5)."""
    gn.set_seed(2)
    ei, di = gn.Input((None, 4)), gn.Input((None, 3))
    _, h, c = L.LSTM(5, return_state=True, name="enc")(ei)
    seq, h2, c2 = L.LSTM(5, return_sequences=True, return_state=True, name="dec")(
        di, initial_state=[h, c])
    g, gs = L.GRU(5, return_state=True, name="gru")(seq, initial_state=h2)
    r, rs = L.SimpleRNN(5, return_state=True, go_backwards=True, name="rnn")(
        seq, initial_state=[g])
    model = gn.Model([ei, di], [L.Dense(2, name="out")(seq), g, gs, c2, r, rs])
    path = tmp_path / "s2s.onnx"
    export_onnx(model, path)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for n, t_in, t_out in ((1, 2, 7), (4, 6, 3)):  # lengths other than the probe's
        xs = [_data((t_in, 4), False, n, seed=0), _data((t_out, 3), False, n, seed=1)]
        got = sess.run(None, {"input_0": xs[0], "input_1": xs[1]})
        for a, b in zip(got, model.predict(xs, verbose=0)):
            assert a.shape == b.shape
            np.testing.assert_allclose(a, b, atol=TOL, rtol=TOL)
    enc = gn.Model(ei, [h, c])  # the encoder of the inference models: states out
    _check(enc, tmp_path / "enc.onnx", [(6, 4)])


def test_a_keyword_tensor_other_than_initial_state_is_refused_by_name(tmp_path):
    class Scale(L.Layer):
        def call(self, x, factor=None):
            return x if factor is None else x * factor

    a, b = gn.Input(shape=(3,)), gn.Input(shape=(3,))
    model = gn.Model([a, b], Scale(name="scale")(a, factor=b))
    with pytest.raises(ValueError, match="'scale'.*factor.*ONNX"):
        export_onnx(model, tmp_path / "m.onnx")
