"""PyTorch side of the sweep: the model, loss and optimizer a PyTorch user writes for a
:class:`~benchmarks._sweep_models.Spec`, and its ``step()``. Channels-first images; class
scores as logits into ``CrossEntropyLoss`` (what PyTorch users write; glassnet's spec keeps
Keras's softmax + cross-entropy); Keras's default hyper-parameters."""

from __future__ import annotations

import numpy as np

from benchmarks._sweep_models import Spec, _classes, make_data


def _act(name: str):
    import torch
    from torch import nn

    class Fn(nn.Module):
        def __init__(self, f):
            super().__init__()
            self.f = f

        def forward(self, x):
            return self.f(x)

    table = {
        "relu": nn.ReLU, "leaky_relu": lambda: nn.LeakyReLU(0.2), "elu": nn.ELU,
        "selu": nn.SELU, "gelu": nn.GELU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid,
        "softplus": nn.Softplus, "softsign": nn.Softsign, "swish": nn.SiLU, "silu": nn.SiLU,
        "hard_sigmoid": nn.Hardsigmoid, "arctan": lambda: Fn(torch.atan),
        "linear": nn.Identity, None: nn.Identity, "softmax": lambda: nn.Softmax(-1),
    }
    return table[name]()


def _optimizer(name: str, params):
    import torch

    o = torch.optim
    table = {
        "sgd": lambda: o.SGD(params, lr=0.01),
        "sgd_momentum": lambda: o.SGD(params, lr=0.01, momentum=0.9, nesterov=True),
        "adam": lambda: o.Adam(params, lr=1e-3, eps=1e-7),
        "adamw": lambda: o.AdamW(params, lr=1e-3, weight_decay=0.004, eps=1e-7),
        "rmsprop": lambda: o.RMSprop(params, lr=1e-3, alpha=0.9, eps=1e-7),
        "adagrad": lambda: o.Adagrad(params, lr=1e-3, initial_accumulator_value=0.1,
                                     eps=1e-7),
        "adadelta": lambda: o.Adadelta(params, lr=1e-3, rho=0.95, eps=1e-7),
        "adamax": lambda: o.Adamax(params, lr=1e-3, eps=1e-7),
        "nadam": lambda: o.NAdam(params, lr=1e-3, eps=1e-7),
    }
    if name == "adafactor" and hasattr(o, "Adafactor"):
        return o.Adafactor(params, lr=1e-3)
    return table[name]() if name in table else None


def _loss(spec: Spec):
    """(final activation name or None, loss(out, target)) in PyTorch."""
    import torch
    import torch.nn.functional as F

    name, logits = spec.loss, spec.from_logits
    out_act = None if spec.out.startswith("linear") else spec.out.rstrip("0123456789")
    if name in ("sparse_categorical_crossentropy", "categorical_crossentropy"):
        def ce(o, t):
            if o.ndim > 2:  # per-step logits (B, T, C): PyTorch wants rows of classes
                c = o.shape[-1]
                return F.cross_entropy(o.reshape(-1, c),
                                       t.reshape(-1) if t.ndim < o.ndim else t.reshape(-1, c))
            return F.cross_entropy(o, t)
        return None, ce
    if name == "binary_crossentropy":
        return (None, F.binary_cross_entropy_with_logits) if logits else (
            "sigmoid", F.binary_cross_entropy)
    eps = 1e-7

    def focal_b(o, t):
        if logits:
            o = torch.sigmoid(o)
        bce = F.binary_cross_entropy(o, t, reduction="none")
        p_t = t * o + (1 - t) * (1 - o)
        return ((1 - p_t) ** 2 * bce).mean()

    def focal_c(o, t):
        p = torch.softmax(o, -1) if logits else o
        return -(t * (1 - p) ** 2 * torch.log(p.clamp_min(eps))).sum(-1).mean()

    table = {
        "mean_squared_error": F.mse_loss, "mse": F.mse_loss,
        "mean_absolute_error": F.l1_loss, "mae": F.l1_loss,
        "huber": F.huber_loss,
        "log_cosh": lambda o, t: torch.log(torch.cosh(o - t)).mean(),
        "mean_squared_logarithmic_error": lambda o, t: F.mse_loss(
            torch.log1p(o.clamp_min(0)), torch.log1p(t)),
        "mean_absolute_percentage_error": lambda o, t: 100 * (
            (t - o).abs() / t.abs().clamp_min(eps)).mean(),
        "poisson": lambda o, t: F.poisson_nll_loss(o, t, log_input=False),
        "kl_divergence": lambda o, t: F.kl_div(o.clamp_min(eps).log(), t,
                                               reduction="batchmean"),
        "cosine_similarity": lambda o, t: -F.cosine_similarity(o, t).mean(),
        "hinge": lambda o, t: (1 - t * o).clamp_min(0).mean(),
        "squared_hinge": lambda o, t: ((1 - t * o).clamp_min(0) ** 2).mean(),
        "categorical_hinge": lambda o, t: ((o * (1 - t)).amax(-1) - (o * t).sum(-1) + 1
                                           ).clamp_min(0).mean(),
        "binary_focal_crossentropy": focal_b,
        "categorical_focal_crossentropy": focal_c,
        "dice": lambda o, t: (1 - (2 * (o * t).sum(-1) + 1) / (o.sum(-1) + t.sum(-1) + 1)
                              ).mean(),
        "tversky": lambda o, t: (1 - ((o * t).sum(-1) + 1) / (
            (o * t).sum(-1) + 0.5 * (o * (1 - t)).sum(-1) + 0.5 * ((1 - o) * t).sum(-1) + 1)
        ).mean(),
    }
    if name in ("binary_focal_crossentropy", "categorical_focal_crossentropy") and logits:
        out_act = None
    return out_act, table[name]


def _modules(spec: Spec):
    """The PyTorch modules of the spec's layers (and the final Dense), channels-first."""
    from torch import nn

    class Rnn(nn.Module):
        def __init__(self, kind, n_in, units, seq):
            super().__init__()
            cls = {"simple": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[kind]
            self.rnn, self.seq = cls(n_in, units, batch_first=True), seq

        def forward(self, x):
            y = self.rnn(x)[0]
            return y if self.seq else y[:, -1]

    class MaskedEmbedding(nn.Module):  # (vectors, ids != 0): what mask_zero carries
        def __init__(self, vocab, dim):
            super().__init__()
            self.emb = nn.Embedding(vocab, dim, padding_idx=0)

        def forward(self, ids):
            return self.emb(ids), ids != 0

    class MaskedMean(nn.Module):  # the mean over the kept steps
        def forward(self, xm):
            x, m = xm
            w = m.unsqueeze(-1).to(x.dtype)
            return (x * w).sum(1) / w.sum(1).clamp(min=1)

    class PackedRnn(nn.Module):  # PyTorch's way with padded batches: packed sequences
        def __init__(self, kind, n_in, units):
            super().__init__()
            cls = {"simple": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[kind]
            self.rnn = cls(n_in, units, batch_first=True)

        def forward(self, xm):
            x, m = xm
            packed = nn.utils.rnn.pack_padded_sequence(x, m.sum(1).cpu(), batch_first=True,
                                                       enforce_sorted=False)
            h = self.rnn(packed)[1]
            return (h[0] if isinstance(h, tuple) else h)[-1]

    class Mean(nn.Module):
        def __init__(self, dim, op="mean"):
            super().__init__()
            self.dim, self.op = dim, op

        def forward(self, x):
            return x.mean(self.dim) if self.op == "mean" else x.amax(self.dim)

    shape = list(spec.input_shape)
    if len(shape) == 3:
        shape = [shape[2], shape[0], shape[1]]  # (C, H, W)
    elif len(shape) == 2 and any(lay[0] == "conv1d" for lay in spec.layers):
        shape = [shape[1], shape[0]]  # (C, L)
    cf1d = len(shape) == 2 and any(lay[0] == "conv1d" for lay in spec.layers)
    mods = []
    masked = False  # after a masked embedding: modules take (x, mask)
    for lay in spec.layers:
        kind = lay[0]
        if kind == "dense":
            mods += [nn.Linear(shape[-1], lay[1]), _act(lay[2])]
            shape[-1] = lay[1]
        elif kind == "dropout":
            mods.append(nn.Dropout(lay[1]))
        elif kind == "bn":
            mods.append(nn.BatchNorm1d(shape[0]) if len(shape) == 1 else
                        nn.BatchNorm2d(shape[0]))
        elif kind == "ln":
            mods.append(nn.LayerNorm(shape[-1]))
        elif kind in ("conv2d", "conv1d"):
            cls = nn.Conv2d if kind == "conv2d" else nn.Conv1d
            k = lay[2]
            mods += [cls(shape[0], lay[1], k, padding=lay[3]), _act(lay[4])]
            shape[0] = lay[1]
            if lay[3] == "valid":
                shape[1:] = [s - k + 1 for s in shape[1:]]
        elif kind == "conv2dT":
            k, s = lay[2], lay[3]
            mods += [nn.ConvTranspose2d(shape[0], lay[1], k, stride=s, padding=(k - 1) // 2,
                                        output_padding=s - 1), _act(lay[4])]
            shape = [lay[1], shape[1] * s, shape[2] * s]
        elif kind in ("maxpool2d", "avgpool2d", "maxpool1d"):
            cls = {"maxpool2d": nn.MaxPool2d, "avgpool2d": nn.AvgPool2d,
                   "maxpool1d": nn.MaxPool1d}[kind]
            mods.append(cls(lay[1]))
            shape[1:] = [s // lay[1] for s in shape[1:]]
        elif kind == "gap1d" and masked:
            mods.append(MaskedMean())
            shape, masked = [shape[-1]], False
        elif kind in ("gap1d", "gmp1d"):
            dim = 2 if cf1d else 1
            mods.append(Mean(dim, "mean" if kind == "gap1d" else "max"))
            shape = [shape[0]] if cf1d else [shape[-1]]
        elif kind == "flatten":
            mods.append(nn.Flatten())
            shape = [int(np.prod(shape))]
        elif kind == "embedding":
            mods.append(nn.Embedding(lay[1], lay[2]))
            shape = shape + [lay[2]]
        elif kind == "embedding_masked":
            mods.append(MaskedEmbedding(lay[1], lay[2]))
            shape, masked = shape + [lay[2]], True
        elif kind == "rnn" and masked:  # the last state at each sequence's length
            mods.append(PackedRnn(lay[1], shape[-1], lay[2]))
            shape, masked = [lay[2]], False
        elif kind == "rnn":
            mods.append(Rnn(lay[1], shape[-1], lay[2], lay[3]))
            shape = [shape[0], lay[2]] if lay[3] else [lay[2]]
        else:
            raise ValueError(f"unknown layer spec {lay!r}")
    out_act, loss = _loss(spec)
    if spec.out != "image":
        mods += [nn.Linear(shape[-1], _classes(spec)), _act(out_act)]
    return mods, loss


def build_torch(spec: Spec):
    """``step()`` of the PyTorch equivalent, or None where PyTorch has no equivalent."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    mods, loss_fn = _modules(spec)

    class Residual(nn.Module):  # the functional spec: skip from the first block to the last
        def __init__(self, mods):
            super().__init__()
            self.first, self.mid = nn.Sequential(*mods[:2]), nn.Sequential(*mods[2:-2])
            self.last = nn.Sequential(*mods[-2:])

        def forward(self, x):
            h0 = self.first(x)
            return self.last(self.mid(h0) + h0)

    model = Residual(mods) if spec.functional else nn.Sequential(*mods)
    opt = _optimizer(spec.optimizer, model.parameters())
    if opt is None:
        return None
    x, y = make_data(spec, channels_first=True)
    xt = torch.from_numpy(x)
    if spec.out == "image":
        with torch.no_grad():
            y = np.random.default_rng(1).random(tuple(model(xt[:1]).shape[1:]),
                                                dtype=np.float32)
            y = np.broadcast_to(y, (x.shape[0], *y.shape)).copy()
    yt = torch.from_numpy(y)
    b = spec.batch
    if spec.loss == "sparse_categorical_crossentropy":
        yt = yt.long()

    def train(xb, yb):
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        return loss

    if spec.mode == "train":
        model.train()
        return lambda: train(xt, yt)
    if spec.mode == "fit":
        model.train()

        def fit():
            perm = torch.randperm(xt.shape[0])
            for s in range(0, xt.shape[0], b):
                idx = perm[s:s + b]
                train(xt[idx], yt[idx])
        return fit
    model.eval()
    if spec.mode == "evaluate":
        def evaluate():
            with torch.no_grad():
                tot = acc = 0.0
                for s in range(0, xt.shape[0], b):
                    o = model(xt[s:s + b])
                    tot += float(loss_fn(o, yt[s:s + b])) * o.shape[0]
                    acc += float((o.argmax(-1) == yt[s:s + b]).sum())
                return tot / xt.shape[0], acc / xt.shape[0]
        return evaluate
    if spec.mode == "predict":
        def predict():
            with torch.no_grad():
                return torch.cat([model(xt[s:s + b]) for s in range(0, xt.shape[0], b)]
                                 ).numpy()
        return predict

    def predict_on_batch():
        with torch.no_grad():
            return model(xt).numpy()
    return predict_on_batch
