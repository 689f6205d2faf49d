"""Optimizers: trajectories vs torch.optim (or the Keras formula in NumPy), clipping,
schedules, exact resume from get_state/set_state, errors."""

import json
import math

import numpy as np
import pytest

import glassnet as gn
from glassnet import optimizers as O
from glassnet import schedules as S

R = np.random.default_rng(1)
INIT = [R.normal(size=(4, 3)), R.normal(size=(3,))]
TARGET = [R.normal(size=(4, 3)), R.normal(size=(3,))]
STEPS = 6


def _grad(w, t):
    # a non-quadratic gradient so each step's gradient differs in direction and scale
    return 2 * (w - t) + 0.5 * np.sin(3 * w)


def _run_ours(opt, steps=STEPS, params=None):
    params = params or [gn.tensor(w.copy(), requires_grad=True, dtype="float64") for w in INIT]
    for _ in range(steps):
        for p, t in zip(params, TARGET):
            p.grad = _grad(p.data, t)
        opt.step(params)
        opt.zero_grad(params)
    return [p.data for p in params]


def _run_torch(make, steps=STEPS):
    torch = pytest.importorskip("torch")
    params = [torch.tensor(w.copy(), requires_grad=True) for w in INIT]
    opt = make(params)
    for _ in range(steps):
        for p, t in zip(params, TARGET):
            p.grad = torch.tensor(_grad(p.detach().numpy(), t))
        opt.step()
    return [p.detach().numpy() for p in params]


def _torch_cases():
    torch = pytest.importorskip("torch")
    T = torch.optim
    tiny = 1e-12  # Keras and torch put epsilon in different places; a tiny one hides that
    return [
        (O.SGD(0.05), lambda p: T.SGD(p, lr=0.05)),
        (O.SGD(0.05, momentum=0.9), lambda p: T.SGD(p, lr=0.05, momentum=0.9)),
        (O.SGD(0.05, weight_decay=0.2), lambda p: _DecayedSGD(p, lr=0.05, wd=0.2)),
        (O.SGD(0.05, momentum=0.8, nesterov=True),
         lambda p: T.SGD(p, lr=0.05, momentum=0.8, nesterov=True)),
        (O.Adam(0.01, epsilon=tiny), lambda p: T.Adam(p, lr=0.01, eps=tiny)),
        (O.Adam(0.01, beta_1=0.5, beta_2=0.9, epsilon=tiny, amsgrad=True),
         lambda p: T.Adam(p, lr=0.01, betas=(0.5, 0.9), eps=tiny, amsgrad=True)),
        (O.AdamW(0.01, weight_decay=0.1, epsilon=tiny),
         lambda p: T.AdamW(p, lr=0.01, weight_decay=0.1, eps=tiny)),
        (O.RMSprop(0.01, rho=0.8, epsilon=tiny), lambda p: T.RMSprop(p, lr=0.01, alpha=0.8,
                                                                     eps=tiny)),
        (O.RMSprop(0.01, momentum=0.5, centered=True, epsilon=tiny),
         lambda p: T.RMSprop(p, lr=0.01, alpha=0.9, momentum=0.5, centered=True, eps=tiny)),
        (O.Adagrad(0.1, epsilon=tiny),
         lambda p: T.Adagrad(p, lr=0.1, initial_accumulator_value=0.1, eps=tiny)),
        # Keras 3's schedule 0.96^t is torch's with momentum_decay=1 (its default: 0.004)
        (O.Nadam(0.01), lambda p: T.NAdam(p, lr=0.01, eps=1e-7, momentum_decay=1.0)),
        (O.Adadelta(1.0, rho=0.9), lambda p: T.Adadelta(p, lr=1.0, rho=0.9, eps=1e-7)),
    ]


class _DecayedSGD:
    """Decoupled decay then plain SGD, in torch (torch's SGD decay is coupled L2 instead)."""

    def __init__(self, params, lr, wd):
        self.params, self.lr, self.wd = params, lr, wd

    def step(self):
        import torch

        with torch.no_grad():
            for p in self.params:
                p.mul_(1 - self.lr * self.wd).sub_(self.lr * p.grad)


@pytest.mark.parametrize("i", range(12))
def test_trajectory_matches_torch(i):
    ours, make = _torch_cases()[i]
    ref = _run_torch(make)
    got = _run_ours(ours)
    moved = max(np.abs(r - w).max() for r, w in zip(ref, INIT))
    assert moved > 1e-3  # the run actually went somewhere
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-9, err_msg=type(ours).__name__)


def _keras_adam(lr, b1, b2, eps, steps=STEPS):
    ws = [w.copy() for w in INIT]
    ms = [np.zeros_like(w) for w in ws]
    vs = [np.zeros_like(w) for w in ws]
    for t in range(1, steps + 1):
        alpha = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
        for w, m, v, tg in zip(ws, ms, vs, TARGET):
            g = _grad(w, tg)
            m += (g - m) * (1 - b1)
            v += (g * g - v) * (1 - b2)
            w -= alpha * m / (np.sqrt(v) + eps)
    return ws


def _keras_rmsprop(lr, rho, eps, steps=STEPS):
    ws = [w.copy() for w in INIT]
    vs = [np.zeros_like(w) for w in ws]
    for _ in range(steps):
        for w, v, tg in zip(ws, vs, TARGET):
            g = _grad(w, tg)
            v[...] = rho * v + (1 - rho) * g * g
            w -= lr * g / np.sqrt(v + eps)
    return ws


def test_keras_epsilon_placement():
    # a large epsilon makes Keras's formula differ measurably from torch's; we follow Keras
    for got, ref in [
        (_run_ours(O.Adam(0.01, epsilon=0.1)), _keras_adam(0.01, 0.9, 0.999, 0.1)),
        (_run_ours(O.RMSprop(0.01, epsilon=0.1)), _keras_rmsprop(0.01, 0.9, 0.1)),
    ]:
        for a, b in zip(got, ref):
            np.testing.assert_allclose(a, b, rtol=1e-12)


def test_float32_params_stay_float32_and_in_place():
    p = gn.tensor(np.ones((3, 2), dtype=np.float32), requires_grad=True)
    buf = p.data
    opt = O.Adam()
    p.grad = np.full((3, 2), 0.5, dtype=np.float32)
    opt.step([p])
    assert p.data is buf and p.data.dtype == np.float32
    np.testing.assert_allclose(p.data, 1 - 0.001, rtol=1e-5)  # first Adam step = lr·sign(g)


def test_skips_params_without_grad_and_counts_iterations():
    a = gn.tensor([1.0], requires_grad=True)
    b = gn.tensor([1.0], requires_grad=True)
    a.grad = np.array([1.0], dtype=np.float32)
    opt = O.SGD(0.5)
    opt.step([a, b])
    np.testing.assert_allclose([a.data[0], b.data[0]], [0.5, 1.0])
    assert opt.iterations == 1


@pytest.mark.parametrize("make", [
    lambda: O.Adam(0.01, amsgrad=True), lambda: O.SGD(0.01, momentum=0.9, nesterov=True),
    lambda: O.RMSprop(0.01, momentum=0.3, centered=True), lambda: O.Nadam(0.01),
    lambda: O.Adagrad(0.1), lambda: O.Adadelta(1.0), lambda: O.AdamW(0.01),
])
def test_exact_resume_from_state(make):
    straight = _run_ours(make(), steps=5)
    first = make()
    mid = _run_ours(first, steps=3)
    state = first.get_state()
    assert all(isinstance(v, np.ndarray) for v in state.values())
    resumed = make()
    resumed.set_state({k: v.copy() for k, v in state.items()})  # before the first step
    params = [gn.tensor(w.copy(), requires_grad=True, dtype="float64") for w in mid]
    end = _run_ours(resumed, steps=2, params=params)
    for a, b in zip(end, straight):
        np.testing.assert_array_equal(a, b)
    assert resumed.iterations == 5


def test_set_state_after_steps_overwrites_slots():
    opt = O.Adam(0.01)
    _run_ours(opt, steps=2)
    st = opt.get_state()
    opt2 = O.Adam(0.01)
    _run_ours(opt2, steps=4)
    opt2.set_state(st)
    np.testing.assert_array_equal(opt2.get_state()["0/m"], st["0/m"])
    bad = dict(st, **{"0/m": np.zeros((9,))})
    with pytest.raises(ValueError, match="shape"):
        opt2.set_state(bad)


def test_clipping():
    g = np.array([3.0, -4.0])  # norm 5
    for kw, expected in [
        ({"clipnorm": 1.0}, g / 5),
        ({"clipvalue": 2.0}, np.array([2.0, -2.0])),
        ({"global_clipnorm": 2.5}, g / 2),
        ({"clipnorm": 10.0}, g),
    ]:
        p = gn.tensor([0.0, 0.0], requires_grad=True, dtype="float64")
        p.grad = g.copy()
        O.SGD(1.0, **kw).step([p])
        np.testing.assert_allclose(-p.data, expected, err_msg=str(kw))
    # the global norm runs over all parameters together
    a = gn.tensor([0.0], requires_grad=True, dtype="float64")
    b = gn.tensor([0.0], requires_grad=True, dtype="float64")
    a.grad, b.grad = np.array([3.0]), np.array([4.0])
    O.SGD(1.0, global_clipnorm=1.0).step([a, b])
    np.testing.assert_allclose([a.data[0], b.data[0]], [-0.6, -0.8])


def test_schedule_as_learning_rate():
    sched = S.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    p = gn.tensor([0.0], requires_grad=True, dtype="float64")
    opt = O.SGD(sched)
    for _ in range(3):
        p.grad = np.array([1.0])
        opt.step([p])
    np.testing.assert_allclose(p.data, [-(0.1 + 0.05 + 0.025)])
    opt2 = O.SGD(lambda step: 1.0 / (step + 1))
    p.grad = np.array([1.0])
    opt2.step([p])
    assert opt2.current_learning_rate == 0.5


def test_schedule_values():
    e = S.ExponentialDecay(1.0, 10, 0.5)
    np.testing.assert_allclose([e(0), e(5), e(10), e(20)], [1, 0.5**0.5, 0.5, 0.25])
    es = S.ExponentialDecay(1.0, 10, 0.5, staircase=True)
    assert es(9) == 1.0 and es(10) == 0.5
    pc = S.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])
    assert [pc(0), pc(10), pc(11), pc(20), pc(21)] == [1.0, 1.0, 0.5, 0.5, 0.1]
    c = S.CosineDecay(1.0, 100, alpha=0.1)
    np.testing.assert_allclose([c(0), c(50), c(100), c(200)], [1.0, 0.55, 0.1, 0.1])
    cw = S.CosineDecay(0.0, 100, warmup_target=1.0, warmup_steps=10)
    np.testing.assert_allclose([cw(5), cw(10), cw(60)], [0.5, 1.0, 0.5])
    it = S.InverseTimeDecay(1.0, 10, 0.5)
    np.testing.assert_allclose([it(0), it(10), it(20)], [1, 1 / 1.5, 0.5])
    for s in (e, pc, c, it):
        cfg = S.serialize(s)
        assert S.get(json.loads(json.dumps(cfg))).get_config() == s.get_config()
    with pytest.raises(ValueError, match="len"):
        S.PiecewiseConstantDecay([1, 2], [1.0])


def test_get_config_roundtrip_and_errors():
    for name in O._TABLE:
        opt = O.get(name)
        cfg = O.serialize(opt)
        assert json.loads(json.dumps(cfg)) == cfg
        back = O.deserialize(cfg)
        assert type(back) is type(opt) and back.get_config() == opt.get_config()
    assert O.get("adam").learning_rate == 0.001 and O.get("sgd").learning_rate == 0.01
    assert O.get("adam").epsilon == 1e-7
    cfg = O.serialize(O.SGD(S.CosineDecay(0.1, 10)))
    back = O.get(json.loads(json.dumps(cfg)))
    assert back.get_config() == O.SGD(S.CosineDecay(0.1, 10)).get_config()
    # Keras 3: learning_rate is the schedule's value at the current step
    back.iterations = 5
    assert back.learning_rate == pytest.approx(float(S.CosineDecay(0.1, 10)(5)))
    with pytest.raises(TypeError, match="schedule"):
        back.learning_rate = 0.01  # as Keras: a schedule's optimizer takes no number
    plain = O.SGD(0.1)
    plain.learning_rate = 0.05
    assert plain.learning_rate == 0.05 and plain.get_config()["learning_rate"] == 0.05
    with pytest.raises(ValueError, match="learning_rate"):
        plain.learning_rate = -1.0
    with pytest.raises(ValueError, match=r"learning_rate.*-0.1"):
        O.SGD(learning_rate=-0.1)
    with pytest.raises(ValueError, match="adam"):
        O.get("adma")
    with pytest.raises(ValueError, match="beta_1"):
        O.Adam(beta_1=1.0)
    with pytest.raises(ValueError, match="clipnorm"):
        O.SGD(clipnorm=1.0, global_clipnorm=1.0)
    opt = O.SGD(lambda step: -1.0)
    p = gn.tensor([0.0], requires_grad=True)
    p.grad = np.array([1.0], dtype=np.float32)
    with pytest.raises(ValueError, match="learning rate"):
        opt.step([p])


def test_trains_through_autograd():
    gn.set_seed(0)
    x = np.random.default_rng(0).normal(size=(64, 3))
    y = x @ np.array([1.0, -2.0, 0.5]) + 0.3
    w = gn.tensor(np.zeros(3), requires_grad=True, dtype="float64")
    b = gn.tensor(0.0, requires_grad=True, dtype="float64")
    opt = O.Adam(0.1)
    for _ in range(300):
        loss = (((gn.tensor(x, dtype="float64") @ w + b) - gn.tensor(y, dtype="float64")) ** 2
                ).mean()
        loss.backward()
        opt.step([w, b])
        opt.zero_grad([w, b])
    np.testing.assert_allclose(w.data, [1.0, -2.0, 0.5], atol=1e-3)
    np.testing.assert_allclose(b.data, 0.3, atol=1e-3)


def test_state_survives_changing_parameter_sets():
    # step 2 has no gradient for `a`: the flat buffers are rebuilt, a's moments are kept and
    # a is not moved; the step count is global, as Keras's iterations
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-7
    a = gn.tensor(INIT[0].copy(), requires_grad=True, dtype="float64")
    b = gn.tensor(INIT[1].copy(), requires_grad=True, dtype="float64")
    opt = O.Adam(lr)
    ref = {"a": INIT[0].copy(), "b": INIT[1].copy()}
    mom = {k: [np.zeros_like(v), np.zeros_like(v)] for k, v in ref.items()}
    plan = [("a", "b"), ("b",), ("a", "b"), ("a",)]
    for t, active in enumerate(plan, start=1):
        alpha = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
        for k, p, tg in (("a", a, TARGET[0]), ("b", b, TARGET[1])):
            p.grad = _grad(p.data, tg) if k in active else None
            if k in active:
                m, v = mom[k]
                g = _grad(ref[k], tg)
                m += (g - m) * (1 - b1)
                v += (g * g - v) * (1 - b2)
                ref[k] -= alpha * m / (np.sqrt(v) + eps)
        opt.step([a, b])
    np.testing.assert_allclose(a.data, ref["a"], rtol=1e-12)
    np.testing.assert_allclose(b.data, ref["b"], rtol=1e-12)
    assert [k for k in opt.get_state() if k != "iterations"] == ["0/m", "0/v", "1/m", "1/v"]


@pytest.mark.parametrize("make", [
    lambda: gn.optimizers.SGD(0.1), lambda: gn.optimizers.SGD(0.1, momentum=0.9, nesterov=True),
    lambda: gn.optimizers.Adam(0.01), lambda: gn.optimizers.Adam(0.01, amsgrad=True),
    lambda: gn.optimizers.AdamW(0.01), lambda: gn.optimizers.RMSprop(0.01, momentum=0.5),
    lambda: gn.optimizers.RMSprop(0.01, centered=True), lambda: gn.optimizers.Adagrad(0.1),
    lambda: gn.optimizers.Adadelta(1.0), lambda: gn.optimizers.Nadam(0.01),
    lambda: gn.optimizers.Adamax(0.01), lambda: gn.optimizers.Lion(0.01)])
def test_blocked_update_is_bitwise_the_whole_buffer_update(make, monkeypatch):
    # the element-wise rules run block by block over large buffers (cache blocking); a
    # block size that leaves a ragged last block must give the bits of one whole pass
    from glassnet import _optimizer_base

    def run(block):
        monkeypatch.setattr(_optimizer_base, "_BLOCK", block)
        r = np.random.default_rng(0)
        ws = [gn.tensor(r.standard_normal(s).astype("f4"), requires_grad=True)
              for s in ((13, 7), (7,), (5,))]
        opt = make()
        for _ in range(4):
            for w in ws:
                w.grad = r.standard_normal(w.shape).astype("f4")
            opt.step(ws)
        return [w.data.copy() for w in ws]

    for a, b in zip(run(5), run(1 << 40)):  # 107 elements: 21 blocks of 5 and one of 2
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("make", [lambda: gn.optimizers.Adam(0.01),
                                  lambda: gn.optimizers.SGD(0.01, momentum=0.9),
                                  lambda: gn.optimizers.RMSprop(0.01)])
def test_subnormal_slots_are_flushed_without_changing_a_weight(make, monkeypatch):
    # a slot decaying under a zero gradient (a dead unit) sticks at a subnormal value, and
    # every pass over it then takes a microcode assist; every _FLUSH_EVERY updates the
    # optimizer zeroes such values, and the weights come out the same bits
    from glassnet import _optimizer_base

    monkeypatch.setenv("GLASSNET_NUMBA", "0")  # the NumPy update, which does not flush itself
    tiny = np.finfo(np.float32).tiny
    rng = np.random.default_rng(2)
    g = np.where(rng.random(4000) < 0.5, 0, rng.standard_normal(4000)).astype(np.float32)

    def run(every):
        monkeypatch.setattr(_optimizer_base, "_FLUSH_EVERY", every)
        w = gn.tensor(np.random.default_rng(3).standard_normal(4000).astype(np.float32)
                      * 0.05, requires_grad=True)
        opt = make()
        w.grad = g.copy()
        opt.step([w])  # builds the slots
        for f in opt._flats[:-1]:
            f[::3] = tiny * 0.25  # subnormal slot values, as a long run leaves them
        for _ in range(32):
            w.grad = g * 0
            opt.step([w])
        return w.data.copy(), opt._flats[:-1]

    w_flushed, slots = run(32)
    for f in slots:
        assert not ((f != 0) & (np.abs(f) < tiny)).any()
    w_kept, slots = run(10**9)
    assert any(((f != 0) & (np.abs(f) < tiny)).any() for f in slots)  # without: they stay
    np.testing.assert_array_equal(w_flushed, w_kept)


def test_a_users_own_optimizer_class_compiles_saves_and_loads_by_name(tmp_path):
    """compile takes an optimizer subclass of one's own (its config cannot be written: the
    file names it, as it names a user's loss); load_model needs it in custom_objects."""
    class MyOpt(O.SGD):
        pass

    m = gn.Sequential([gn.layers.Input((3,)), gn.layers.Dense(1)])
    m.compile(optimizer=MyOpt(0.1), loss="mse")
    m.fit(np.ones((4, 3), "float32"), np.ones((4, 1), "float32"), verbose=0)
    m.save(tmp_path / "m.glassnet")
    with pytest.raises(Exception, match="custom_objects"):
        gn.models.load_model(tmp_path / "m.glassnet")
    back = gn.models.load_model(tmp_path / "m.glassnet", custom_objects={"MyOpt": MyOpt})
    assert type(back.optimizer) is MyOpt


def test_a_model_file_records_the_optimizer_as_it_is_when_saved(tmp_path):
    """A rate changed after compile (by hand or by a callback) is the one saved."""
    m = gn.Sequential([gn.layers.Input((3,)), gn.layers.Dense(1)])
    m.compile(optimizer=O.Adam(0.01), loss="mse")
    m.optimizer.learning_rate = 0.002
    m.save(tmp_path / "m.glassnet")
    assert gn.models.load_model(tmp_path / "m.glassnet").optimizer.learning_rate == \
        pytest.approx(0.002)
