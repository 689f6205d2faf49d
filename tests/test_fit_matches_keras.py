"""``fit`` and ``evaluate`` reach Keras 3's numbers step for step: the same model started from
Keras's initial weights, trained 3 epochs without shuffling, reports the same history
(validation included), the same evaluation and the same final weights. Every optimizer
(SGD with momentum, Nesterov, weight decay and a schedule; Adam with AMSGrad and EMA,
AdamW, RMSprop, Adagrad with clipnorm, Adadelta, Ftrl, Lion, Adafactor, Nadam, Adamax),
clipvalue, global_clipnorm and gradient accumulation), sample weights, class weights with a
validation split, BatchNormalization, LayerNormalization, weight and activity penalties,
Conv1D/2D, transposed, depthwise and separable convolutions, pooling, padding, cropping and
upsampling, LSTM, GRU, SimpleRNN, Bidirectional and TimeDistributed, MultiHeadAttention,
Attention and AdditiveAttention, Embedding, GRU(reset_after=False),
PReLU/LeakyReLU/elu/selu/gelu/swish, two-output models (per-output losses as a list or a
dict, loss weights, per-output metrics), class weights on one-hot and binary targets,
PyDatasets, generators, steps_per_epoch, validation_steps/freq, initial_epoch,
ReduceLROnPlateau and EarlyStopping(restore_best_weights), from_logits, label smoothing,
Huber, KL divergence, hinge and Poisson losses and threshold metrics, and masks from
Embedding(mask_zero=True) and Masking through LSTM/GRU/SimpleRNN sequences, Bidirectional,
TimeDistributed, LayerNormalization, Add and GlobalAveragePooling1D to the loss (with
ignore_class and per-step sample weights) and the metrics (Keras on its PyTorch backend is
the reference)."""

from __future__ import annotations

import numpy as np
import pytest
from _keras_fit_cases import CASES, run
from _keras_reference import keras_json

import glassnet as gn


@pytest.fixture(scope="module")
def keras_runs():
    return keras_json("_keras_fit_cases.py")


@pytest.mark.parametrize("name", sorted(CASES))
def test_fit_and_evaluate_match_keras_step_for_step(keras_runs, name):
    start, hist, ev, final = keras_runs[name]
    _, ours, our_ev, our_final = run(gn, name, initial=start)
    assert sorted(ours) == sorted(hist)
    for key, values in hist.items():
        np.testing.assert_allclose(ours[key], values, rtol=2e-4, atol=1e-6, err_msg=key)
    assert our_ev == pytest.approx(ev, rel=2e-4, abs=1e-6)
    # attention's key bias has no gradient (a constant added to each query's scores leaves
    # the softmax as it is) but rounding noise, which Adam scales up to steps of about its
    # learning rate in either library: its values depend on the BLAS (OpenBLAS or MKL)
    # summing the products, so it is held to the noise's size, not to Keras's values
    for i, (a, b) in enumerate(zip(our_final, final)):
        noise = name == "mha_adam" and i == 3  # query kernel, query bias, key kernel, key bias
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-3 if noise else 1e-4)
