"""The losses added for [keras-layers] item 6: values against real Keras 3 (torch backend,
float64, in a subprocess) where installed, against PyTorch and NumPy formulas, numeric
gradients, config round trips, names and the lowercase forms."""

import importlib.util
import json
import subprocess
import sys

import numpy as np
import pytest
from _keras_reference import keras_json

import glassnet as gn
from glassnet import losses as L

R = np.random.default_rng(5)
N, C = 6, 4
Y01 = R.integers(0, 2, (N, C)).astype(float)
PROB = R.uniform(0.05, 0.95, (N, C))
LOGIT = R.normal(size=(N, C)) * 2
ONEHOT = np.eye(C)[R.integers(0, C, N)]
SOFT = R.uniform(0.1, 1.0, (N, C))
POS_T = R.uniform(0.0, 3.0, (N, C))
POS_P = R.uniform(0.1, 3.0, (N, C))
REAL_T = R.normal(size=(N, C))
REAL_P = R.normal(size=(N, C))
PM1 = np.where(Y01 > 0, 1.0, -1.0)
IMG_T = R.integers(0, 2, (N, 3, 3, 2)).astype(float)
IMG_P = R.uniform(0.0, 1.0, (N, 3, 3, 2))
SW = R.uniform(0.2, 2.0, N)

CASES = [
    ("BinaryFocalCrossentropy", {}, Y01, PROB),
    ("BinaryFocalCrossentropy", {"apply_class_balancing": True, "alpha": 0.4, "gamma": 1.5,
                                 "label_smoothing": 0.1}, Y01, PROB),
    ("BinaryFocalCrossentropy", {"from_logits": True, "gamma": 3.0}, Y01, LOGIT),
    ("CategoricalFocalCrossentropy", {}, ONEHOT, SOFT),
    ("CategoricalFocalCrossentropy", {"alpha": [0.1, 0.2, 0.3, 0.4], "gamma": 1.0,
                                      "label_smoothing": 0.2}, ONEHOT, SOFT),
    ("CategoricalFocalCrossentropy", {"from_logits": True}, ONEHOT, LOGIT),
    ("Poisson", {}, POS_T, POS_P),
    ("CosineSimilarity", {}, REAL_T, REAL_P),
    ("CosineSimilarity", {"axis": 0}, REAL_T, REAL_P),
    ("CategoricalHinge", {}, ONEHOT, REAL_P),
    ("Hinge", {}, Y01, REAL_P),
    ("SquaredHinge", {}, PM1, REAL_P),
    ("KLDivergence", {}, SOFT / SOFT.sum(1, keepdims=True), PROB),
    ("LogCosh", {}, REAL_T, REAL_P),
    ("MeanSquaredLogarithmicError", {}, POS_T, POS_P),
    ("MeanAbsolutePercentageError", {}, REAL_T, REAL_P),
    ("Tversky", {}, Y01, PROB),
    ("Tversky", {"alpha": 0.7, "beta": 0.3, "axis": [1]}, Y01, PROB),
    ("Tversky", {"alpha": 0.2, "beta": 0.8, "axis": [1, 2, 3]}, IMG_T, IMG_P),
    ("Dice", {}, Y01, PROB),
    ("Dice", {"axis": [1, 2, 3]}, IMG_T, IMG_P),
    ("CategoricalGeneralizedCrossEntropy", {}, ONEHOT.argmax(1).astype(float),
     SOFT / SOFT.sum(1, keepdims=True)),
    ("CategoricalGeneralizedCrossEntropy", {"q": 0.2}, ONEHOT.argmax(1).astype(float),
     SOFT / SOFT.sum(1, keepdims=True)),
    # metric learning: labels, unit embeddings; samples without a positive pair are masked
    ("Circle", {}, np.array([0.0, 1, 0, 2, 1, 0]), REAL_P / np.linalg.norm(REAL_P, axis=1,
                                                                           keepdims=True)),
    ("Circle", {"gamma": 2.0, "margin": 0.25}, np.array([0.0, 1, 0, 2, 1, 0]),
     REAL_P / np.linalg.norm(REAL_P, axis=1, keepdims=True)),
]
IDS = [f"{c}-{i}" for i, (c, *_) in enumerate(CASES)]


def _weighted(case):
    cls, cfg, *_ = case   # a whole-batch Tversky/Dice (axis None) takes no per-sample weight
    return not (cls in ("Tversky", "Dice") and cfg.get("axis") is None)


@pytest.fixture(scope="module")
def keras_values():
    if importlib.util.find_spec("keras") is None:
        pytest.skip("keras is not installed (optional reference)")
    spec = {"cases": [{"cls": c, "config": k, "y_true": t.tolist(), "y_pred": p.tolist(),
                       "sample_weight": SW.tolist() if _weighted((c, k)) and k.get("axis") != 0
                       else None}
                      for c, k, t, p in CASES]}
    return keras_json("_keras_loss_ref.py", json.dumps(spec), 300)


def _ours(i):
    cls, cfg, t, p = CASES[i]
    cfg = {k: tuple(v) if k == "axis" and isinstance(v, list) else v for k, v in cfg.items()}
    return getattr(L, cls)(**cfg), t, p


@pytest.mark.parametrize("i", range(len(CASES)), ids=IDS)
def test_matches_real_keras(keras_values, i):
    loss, t, p = _ours(i)
    ref = keras_values[i]
    per = loss.call(t, gn.tensor(p, dtype="float64")).data
    # Keras's torch backend computes these in float32 precision even on float64 tensors
    # (Circle's gamma of 80 multiplies that rounding into the 6th digit)
    rtol = 1e-5 if CASES[i][0] == "Circle" else 1e-6
    np.testing.assert_allclose(per, np.asarray(ref["per"]), rtol=rtol, atol=1e-7)
    use_sw = _weighted(CASES[i][:2]) and CASES[i][1].get("axis") != 0
    red = loss(t, gn.tensor(p, dtype="float64"), sample_weight=SW if use_sw else None).data
    # Keras reduces in float32
    np.testing.assert_allclose(red, np.asarray(ref["reduced"]), rtol=rtol, atol=1e-7)


@pytest.mark.parametrize("i", range(len(CASES)), ids=IDS)
def test_gradients_numeric(i):
    loss, t, p = _ours(i)
    gn.gradcheck(lambda q: loss(t, q), p)


# ------------------------------------------------------------------ PyTorch and NumPy
def test_focal_gamma_zero_is_bce_and_torch_formula():
    torch = pytest.importorskip("torch")
    bce = L.BinaryCrossentropy()(Y01, gn.tensor(PROB, dtype="float64")).data
    got = L.BinaryFocalCrossentropy(gamma=0.0)(Y01, gn.tensor(PROB, dtype="float64")).data
    np.testing.assert_allclose(got, bce, rtol=1e-12)
    # torchvision's sigmoid_focal_loss written out: alpha_t·(1−p_t)^γ·BCE-with-logits
    z, y = torch.tensor(LOGIT, requires_grad=True), torch.tensor(Y01)
    p = torch.sigmoid(z)
    ce = torch.nn.functional.binary_cross_entropy_with_logits(z, y, reduction="none")
    p_t = p * y + (1 - p) * (1 - y)
    a_t = 0.25 * y + 0.75 * (1 - y)
    ref = (a_t * ce * (1 - p_t) ** 2).mean()
    ref.backward()
    x = gn.tensor(LOGIT, requires_grad=True, dtype="float64")
    ours = L.BinaryFocalCrossentropy(apply_class_balancing=True, from_logits=True)(Y01, x)
    ours.backward()
    np.testing.assert_allclose(ours.data, ref.item(), rtol=1e-9)
    np.testing.assert_allclose(x.grad, z.grad.numpy(), rtol=1e-6, atol=1e-12)


def test_poisson_and_cosine_vs_torch():
    torch = pytest.importorskip("torch")
    got = L.Poisson()(POS_T, gn.tensor(POS_P, dtype="float64")).data
    ref = torch.nn.PoissonNLLLoss(log_input=False, eps=1e-7)(torch.tensor(POS_P),
                                                             torch.tensor(POS_T))
    # torch adds ε inside the log the same way; its mean is over all elements
    np.testing.assert_allclose(got, ref.item(), rtol=1e-10)
    got = L.CosineSimilarity()(REAL_T, gn.tensor(REAL_P, dtype="float64")).data
    ref = -torch.nn.functional.cosine_similarity(torch.tensor(REAL_T), torch.tensor(REAL_P))
    np.testing.assert_allclose(got, ref.mean().item(), rtol=1e-10)


def _f64(a):
    return gn.tensor(a, dtype="float64")


def test_dice_tversky_numpy():
    inter = (IMG_T * IMG_P).sum((1, 2, 3))
    want = 1 - 2 * inter / (IMG_T.sum((1, 2, 3)) + IMG_P.sum((1, 2, 3)) + 1e-7)
    np.testing.assert_allclose(L.dice(IMG_T, _f64(IMG_P), axis=(1, 2, 3)).data, want)
    # alpha = beta = 1/2 is Dice
    np.testing.assert_allclose(L.tversky(IMG_T, _f64(IMG_P), axis=(1, 2, 3)).data,
                               want, rtol=1e-7)  # ε sits differently


def test_categorical_hinge_and_msle_mape_numpy():
    pos = (ONEHOT * REAL_P).sum(1)
    neg = ((1 - ONEHOT) * REAL_P).max(1)
    np.testing.assert_allclose(L.categorical_hinge(ONEHOT, _f64(REAL_P)).data,
                               np.maximum(neg - pos + 1, 0))
    np.testing.assert_allclose(L.msle(POS_T, _f64(POS_P)).data,
                               ((np.log1p(POS_P) - np.log1p(np.maximum(POS_T, 1e-7))) ** 2)
                               .mean(1))
    np.testing.assert_allclose(L.mape(REAL_T, _f64(REAL_P)).data,
                               100 * (np.abs(REAL_T - REAL_P) / np.abs(REAL_T)).mean(1))


# ------------------------------------------------------------------ names, configs, fit
NAMES = ["binary_focal_crossentropy", "categorical_focal_crossentropy", "poisson",
         "cosine_similarity", "categorical_hinge", "mean_squared_logarithmic_error", "msle",
         "mean_absolute_percentage_error", "mape", "tversky", "dice"]


@pytest.mark.parametrize("name", NAMES)
def test_names_functions_and_config_roundtrip(name):
    loss = L.get(name)
    s = json.loads(json.dumps(L.serialize(loss)))
    back = L.deserialize(s)
    assert type(back) is type(loss) and back.get_config() == loss.get_config()
    fn = getattr(L, name)
    assert type(L.get(fn)) is type(loss)   # the function form resolves to its class


@pytest.mark.parametrize("i", range(len(CASES)), ids=IDS)
def test_configured_roundtrip(i):
    loss, *_ = _ours(i)
    back = L.deserialize(json.loads(json.dumps(L.serialize(loss))))
    assert back.get_config() == loss.get_config()


def test_compile_and_fit_with_new_losses_float32():
    x = R.normal(size=(64, 4)).astype("float32")
    y = (x[:, :1] > 0).astype("float32")
    for loss in ("binary_focal_crossentropy", "dice", L.Tversky(axis=(1,)), "poisson"):
        gn.set_seed(0)
        m = gn.models.Sequential([gn.layers.Input((4,)),
                                  gn.layers.Dense(1, activation="sigmoid")])
        m.compile(optimizer=gn.optimizers.Adam(0.05), loss=loss)
        h = m.fit(x, y, epochs=8, batch_size=16, verbose=0)
        assert h.history["loss"][-1] < h.history["loss"][0], loss


def test_errors():
    with pytest.raises(ValueError, match="gamma"):
        L.BinaryFocalCrossentropy(gamma=-1)
    with pytest.raises(ValueError, match=r"\(6, 4\)"):
        L.Poisson()(np.zeros((6, 3)), np.ones((6, 4)))


@pytest.mark.parametrize("first", ["glassnet._losses_more", "glassnet.losses"])
def test_either_module_can_be_imported_first(first):

    code = (f"import importlib; importlib.import_module({first!r}); import glassnet.losses as L;"
            " assert L.get('dice').name == 'dice' and 'Poisson' in L.__all__;"
            " assert L.get(L.tversky).name == 'tversky'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


_TWO_SIDED = [
    ("mse", lambda: gn.losses.MeanSquaredError()),
    ("mae", lambda: gn.losses.MeanAbsoluteError()),
    ("huber", lambda: gn.losses.Huber()),
    ("log_cosh", lambda: gn.losses.LogCosh()),
    ("bce", lambda: gn.losses.BinaryCrossentropy()),
    ("bce_logits_smoothed", lambda: gn.losses.BinaryCrossentropy(from_logits=True,
                                                                  label_smoothing=0.1)),
    ("cce", lambda: gn.losses.CategoricalCrossentropy()),
    ("cce_logits", lambda: gn.losses.CategoricalCrossentropy(from_logits=True)),
    ("kld", lambda: gn.losses.KLDivergence()),
    ("poisson", lambda: gn.losses.Poisson()),
    ("cosine", lambda: gn.losses.CosineSimilarity()),
    ("msle", lambda: gn.losses.MeanSquaredLogarithmicError()),
    ("mape", lambda: gn.losses.MeanAbsolutePercentageError()),
    ("categorical_hinge", lambda: gn.losses.CategoricalHinge()),
    ("tversky", lambda: gn.losses.Tversky()),
    ("dice", lambda: gn.losses.Dice()),
    ("binary_focal", lambda: gn.losses.BinaryFocalCrossentropy(apply_class_balancing=True)),
    ("categorical_focal", lambda: gn.losses.CategoricalFocalCrossentropy()),
]


@pytest.mark.parametrize("name,make", _TWO_SIDED, ids=[n for n, _ in _TWO_SIDED])
def test_losses_differentiate_in_y_true_too_as_keras_does(name, make):
    """A y_true that records gradients (a teacher's softened predictions in keras.io's
    knowledge distillation, the other tower of a two-branch model) gets its gradient, as
    Keras differentiates a loss in both arguments; the value is the one for the same
    targets as constants. Checked against central differences in float64."""
    r = np.random.default_rng(3)
    t = r.uniform(0.1, 0.9, (4, 3))
    p = r.uniform(0.1, 0.9, (4, 3))
    loss = make()
    const = float(loss(t, gn.tensor(p)).data)
    tt = gn.tensor(t, requires_grad=True)
    value = loss(tt, gn.tensor(p))
    assert float(value.data) == pytest.approx(const, rel=1e-6)
    value.backward()
    assert tt.grad is not None and np.abs(tt.grad).sum() > 0
    gn.gradcheck(lambda a, b: loss(a, b), t, p)


def test_a_distillers_teacher_trains_through_the_loss_as_in_keras():
    """keras.io's Distiller calls its teacher inside compute_loss and hands its softened
    predictions to KLDivergence as y_true: Keras trains the teacher's weights too (they
    are the model's trainable variables), and so does glassnet now."""
    class Distiller(gn.Model):
        def __init__(self, student, teacher):
            super().__init__()
            self.teacher, self.student = teacher, student

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None,
                         allow_empty=False):
            soft = gn.ops.softmax(self.teacher(x, training=False) / 3.0, axis=1)
            return gn.losses.KLDivergence()(soft, gn.ops.softmax(y_pred / 3.0, axis=1))

        def call(self, x):
            return self.student(x)

    gn.set_seed(0)
    teacher = gn.Sequential([gn.Input((4,)), gn.layers.Dense(3)])
    student = gn.Sequential([gn.Input((4,)), gn.layers.Dense(3)])
    d = Distiller(student, teacher)
    d.compile(optimizer=gn.optimizers.SGD(0.5))
    x = np.random.default_rng(0).random((16, 4)).astype("float32")
    before = teacher.get_weights()
    d.fit(x, np.zeros(16, int), epochs=2, batch_size=8, verbose=0)
    assert not np.allclose(before[0], teacher.get_weights()[0])
