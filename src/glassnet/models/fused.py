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

from .. import activations
from ..autograd import Function
from ..backend import get_array_module

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
            z = h @ wb[2 * i]
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

    def backward(self, gy):
        hs, masks, wb, need = self.hs, self.masks, self.wb, self.needs_input_grad
        grads = [None] * (1 + len(wb))
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
                grads[1 + 2 * i] = hs[i].T @ g
            if need[2 + 2 * i]:
                grads[2 + 2 * i] = g.sum(axis=0)
            if i == 0 and not need[0]:
                break  # the data needs no gradient: skip the last GEMM
            g, own = g @ w.T, True
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
