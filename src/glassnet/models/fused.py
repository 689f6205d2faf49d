"""A run of plain ``Dense`` layers as ONE autograd node (``compile(jit_compile=...)``).

Small models are decided by per-op overhead, not arithmetic: the churn network (11-6-6-1)
records six nodes per forward pass (three ``Linear``, three activations) and the engine
visits each again in ``backward``. :class:`DenseChain` computes the whole run in one
``forward`` and one ``backward`` with exactly the arithmetic of the unfused ops (same
operations in the same order, so results are bitwise identical — a test checks it), the way
XLA fuses a Keras model under ``jit_compile``.

A layer joins a chain only when its behaviour is fully known: an exact ``Dense`` (not a
subclass) with a bias, no activity regularizer, and activation linear/relu/tanh/sigmoid
(softmax too for the model's output layer, applied after the chain), on 2-D inputs.
Anything else runs through the ordinary layer call.
"""

from __future__ import annotations

import numpy as np

from .. import activations
from ..autograd import Function, no_grad
from ..backend import get_array_module, rsum
from ..tensor import Tensor

__all__: list[str] = []

_ACTS = {activations.linear: "linear", activations.relu: "relu", activations.tanh: "tanh",
         activations.sigmoid: "sigmoid"}


def fusable(layer, output_activation: bool = False) -> bool:
    """True when ``layer`` is a plain Dense whose call DenseChain reproduces exactly.

    ``output_activation``: also accept a softmax, for the model's last layer, whose
    activation :func:`run_chain` applies after the chain (``last_apart``).
    """
    from ..layers.core import Dense

    acts = (*_ACTS, activations.softmax) if output_activation else _ACTS
    return (type(layer) is Dense and layer.built and layer.use_bias
            and layer.activity_regularizer is None and layer.activation in acts)


class DenseChain(Function):
    """``act_k(... act_1(x @ W1 + b1) ...)`` for 2-D ``x``; inputs ``x, W1, b1, W2, b2, ...``."""

    def __init__(self, acts: tuple):
        self.acts = acts

    def forward(self, x, *wb):
        xp = get_array_module(x)
        hs, masks, h = [x], [], x
        for i, act in enumerate(self.acts):
            z = xp.dot(h, wb[2 * i])  # the BLAS call h @ W makes, with less overhead
            z += wb[2 * i + 1]
            mask = None
            if act == "relu":
                mask = z > 0
                z *= mask  # z is this layer's own buffer: in place, same values as z * mask
            elif act == "tanh":
                z = xp.tanh(z)
            elif act == "sigmoid":
                z = 0.5 * (xp.tanh(0.5 * z) + 1)
            masks.append(mask)
            hs.append(z)
            h = z
        self.hs, self.masks, self.wb = hs, masks, wb
        return h

    def backward(self, gy, out=None):
        """Gradients for ``x, W1, b1, ...``; ``out`` (one array or None per weight) receives
        the weight gradients in place of new arrays — same values, no copy afterwards."""
        hs, masks, wb, need = self.hs, self.masks, self.wb, self.needs_input_grad
        xp = get_array_module(gy)
        grads = [None] * (1 + len(wb))
        out = out or [None] * len(wb)
        g, own = gy, False  # gy belongs to the engine: never modified in place
        for i in range(len(self.acts) - 1, -1, -1):
            act, y = self.acts[i], hs[i + 1]
            if act == "relu":
                if own:
                    g *= masks[i]
                else:
                    g = g * masks[i]
            elif act == "tanh":
                g = g * (1 - y * y)
            elif act == "sigmoid":
                g = g * y * (1 - y)
            w = wb[2 * i]
            if need[1 + 2 * i]:
                grads[1 + 2 * i] = xp.dot(hs[i].T, g, out=out[2 * i])
            if need[2 + 2 * i]:
                grads[2 + 2 * i] = rsum(g, axis=0, out=out[2 * i + 1])
            if i == 0 and not need[0]:
                break  # the data needs no gradient: skip the last GEMM
            g, own = xp.dot(g, w.T), True
        if need[0]:
            grads[0] = g
        self.hs = self.masks = self.wb = None  # free activations once used
        return tuple(grads)


def run_chain(layers, x, last_apart: bool = False):
    """Apply fusable Dense ``layers`` to 2-D tensor ``x`` as one node.

    ``last_apart``: the last layer's activation runs as its own op after the node (the
    model's output sigmoid, whose logits a cross-entropy loss uses).
    """
    n_in = layers[0].kernel.shape[0]
    if x.ndim != 2 or x.shape[1] != n_in:
        raise ValueError(f"Layer '{layers[0].name}': expected input shape (None, {n_in}). "
                         f"Received: input shape {tuple(x.shape)}")
    args = []
    for ly in layers:
        args += (ly.kernel, ly.bias)
    acts = [_ACTS.get(ly.activation, "linear") for ly in layers]
    if last_apart:
        acts[-1] = "linear"  # the output activation follows as its own op
    y = DenseChain(tuple(acts))(x, *args)
    return layers[-1].activation(y) if last_apart else y


class FusedStep:
    """A whole training step of a plain-Dense ``Sequential``, replayed without a graph.

    When a model is one fused chain whose output sigmoid/softmax feeds a cross-entropy (the
    loss then works on the logits), its training step is always the same calls:
    ``DenseChain.forward``, the fused loss's ``forward`` and ``backward``,
    ``DenseChain.backward``, then the optimizer. This class makes exactly those calls — the
    same kernels and the same arithmetic as the recorded path, so the weights come out
    bitwise identical (a test checks it) — without recording nodes, sorting them and walking
    them back, which is most of a step's cost for a network as small as the course's.

    ``TrainingMixin._train_step`` uses it when :meth:`for_model` finds the model eligible;
    ``compile(jit_compile=False)`` turns it off with the rest of the fusion.
    """

    def __init__(self, model, layers):
        self.model = model
        self.acts = tuple([_ACTS[ly.activation] for ly in layers[:-1]] + ["linear"])
        self.out_act = layers[-1].activation
        self.wb = [t for ly in layers for t in (ly.kernel, ly.bias)]
        w0 = self.wb[0].data
        xp = get_array_module(w0)
        # the loss's seed gradient; a NumPy scalar divides and scales faster than a 0-d array
        self._one = w0.dtype.type(1) if xp is np else xp.ones((), w0.dtype)

    @classmethod
    def for_model(cls, model):
        """A FusedStep for ``model``; False when its step needs the general path; None while
        that cannot be known yet (a layer is still unbuilt)."""
        from ..functional import Softmax
        from ..ops import Sigmoid

        if not hasattr(model, "_make_plan") or not model.jit_compile:
            return False
        if not all(ly.built for ly in model._layers):
            return None
        plan = model._make_plan()
        if not plan or model._logits_loss is None or model._penalty_layers():
            return False
        chains = [chain for _, chain in plan if chain]
        others = [ly for ly, chain in plan if not chain]
        if (len(chains) != 1 or chains[0] is not model._last_chain
                or any(type(ly).__name__ not in ("Input", "InputLayer") for ly in others)):
            return False
        op = {activations.softmax: Softmax, activations.sigmoid: Sigmoid}[
            chains[0][-1].activation]
        if op not in model._logits_loss[1] or not model._logits_loss[0].has_kernel(2):
            return False  # the loss would take its general path: so does the step
        return cls(model, chains[0])

    def __call__(self, x, y, sw):
        """One step on arrays already on the model's device; returns (loss, outputs or None).

        Returns None (nothing done) for inputs the chain does not take, so the general path
        raises its error naming the layer and the shapes.
        """
        wb, model = self.wb, self.model
        data = [w.data for w in wb]
        if x.ndim != 2 or x.shape[1] != data[0].shape[0] or x.dtype != data[0].dtype:
            return None  # the general path: its error for the shapes, or mixed precision
        need = [w.requires_grad for w in wb]
        chain = DenseChain(self.acts)
        chain.needs_input_grad = (False, *need)
        z = chain.forward(x, *data)
        # the loss's own node (its label checks included), called without recording it
        fn = model._logits_loss[0].kernel(y, Tensor._make(z), sw)
        if fn is None:
            return None
        loss = fn.forward(z)
        gz = fn.backward(self._one if self._one.dtype == loss.dtype
                         else get_array_module(z).ones((), loss.dtype))
        opt = model.optimizer
        params = wb if all(need) else [w for w, nd in zip(wb, need) if nd]
        if params and opt.clipnorm is None and opt.clipvalue is None and not opt.global_clipnorm:
            # each gradient lands in its slot of the optimizer's flat buffer
            views = opt._grad_views(params)
            if params is not wb:
                it = iter(views)
                views = [next(it) if nd else None for nd in need]
            chain.backward(gz, views)
            opt._update(params)
        else:  # clipping reads each gradient whole: hand them over as the recorded path does
            for w, gw in zip(wb, chain.backward(gz)[1:]):
                w.grad = gw
            opt.step(params)
            for w in params:
                w.grad = None
        out = None
        if model.compiled_metrics:  # the probabilities, only when a metric reads them
            with no_grad():
                out = self.out_act(Tensor._make(z))
        return Tensor._make(loss), out
