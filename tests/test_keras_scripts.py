"""Tutorial scripts from keras.io and tensorflow.org run on glassnet with only their imports
changed, and, where real Keras 3 is installed, reach Keras's numbers.

Every ``tests/keras_scripts/*.py`` is written as its tutorial writes it (smaller data, fewer
epochs, said in its docstring). The runner rewrites only the import lines (``keras`` ->
``glassnet``), runs the script in a fresh process and reads the lines it prints as
``Name: number``. Each script has an entry in ``SCRIPTS``: the numbers that must show it
learned (``checks``) and, for the comparison with Keras (PyTorch backend, same script
unmodified), how far glassnet's final numbers may lie from Keras's (``band``, absolute):
against the numbers recorded from Keras in ``keras_scripts/keras_results.json`` on every
run (``tools/record_keras_scripts.py`` writes them), and against a live Keras run in the slow
test. Both libraries' runs start from the same seed (``RUN_SEED``), so each comparison is
between two fixed draws, not two fresh ones on every run.
The bands are wide because both runs train a few hundred samples for one or two epochs
from different random initialisations; they catch a broken model, not a 1 % difference.

A script whose dataset Keras would download gets the same local arrays in the Keras run
(``keras.datasets.mnist.load_data`` is pointed at glassnet's loader over the shared copy);
tests never download.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent / "keras_scripts"
ROOT = Path(__file__).parent.parent

# name -> checks on glassnet's numbers ({metric: (op, value)}), band vs Keras ({metric: abs}),
# and why a run is expected to fail today (None = must pass)
SCRIPTS: dict[str, dict] = {
    "mnist_convnet": {"checks": {"Test accuracy": (">", 0.4)},
                      "band": {"Test accuracy": 0.25}},
    "text_classification": {"checks": {"Validation accuracy": (">", 0.8)},
                            "band": {"Validation accuracy": 0.2}},
    "bidirectional_lstm": {"checks": {"Validation accuracy": (">", 0.7)},
                           "band": {"Validation accuracy": 0.25}},
    "timeseries_forecasting": {
        "checks": {"Final validation loss": ("<", 1.0)},
        "band": {"Final validation loss": 0.5},
        # Keras's timeseries_dataset_from_array is tf.data
        "keras_needs": "tensorflow"},
    "subclassing_quickstart": {"checks": {"Test accuracy": (">", 0.6)},
                               "band": {"Test accuracy": 0.2}},
    "callbacks_tour": {"checks": {"Test mean absolute error": ("<", 3.0)},
                       "band": {"Test mean absolute error": 1.0}},
    "save_load_from_config": {"checks": {"Custom layer factor": ("==", 0.5),
                                         "Second layer is dense": ("==", 1.0),
                                         "Layers": ("==", 3.0), "Test loss": ("<", 0.5)},
                              "band": {"Layers": 0.0, "Test loss": 0.3}},
    # the tutorial seeds only NumPy's noise: unseeded, 2 epochs land anywhere in 0.55-0.60
    # here and 0.56-0.65 on Keras (ten runs each), hence the runner's seed; an untrained
    # decoder gives ln 2 = 0.69
    "conv_autoencoder": {"checks": {"Reconstruction loss": ("<", 0.65)},
                         "band": {"Reconstruction loss": 0.1}},
    "custom_training_loop_torch": {
        "checks": {"Validation acc": (">", 0.6)}, "band": {"Validation acc": 0.15},
        "keras_needs": "torch"},
    "transfer_learning": {"checks": {"trainable_weights": ("==", 0.0),
                                     "non_trainable_weights": ("==", 2.0),
                                     "Frozen base unchanged": ("==", 1.0),
                                     # below ln 2: the head learned from frozen features (the
                                     # guide's BinaryAccuracy thresholds logits at 0.5, so its
                                     # accuracy stays at the negatives' share in both runs)
                                     "Test loss": ("<", 0.69)},
                          "band": {"Frozen base unchanged": 0.0, "Test loss": 0.05,
                                   "Test accuracy": 0.25}},
    "custom_train_step_torch": {
        # Keras: 0.285 and 0.417 after the guide's 3 epochs (the data are uniform noise)
        "checks": {"First model final loss": ("<", 0.5), "Second model final mae": ("<", 0.6)},
        "band": {"First model final loss": 0.15, "Second model final mae": 0.15},
        "keras_needs": "torch"},
    "regression_normalization": {
        "checks": {"Test mean absolute error": ("<", 55.0)},  # the mean predictor: 71
        "band": {"Test mean absolute error": 8.0}},
    "lstm_sine": {"checks": {"Test loss": ("<", 0.05)}, "band": {"Test loss": 0.05}},
    "basic_classification": {"checks": {"Test accuracy": (">", 0.8),
                                        "First prediction sums to": ("~", 1.0)},
                             "band": {"Test accuracy": 0.08}},
    # 16 steps leave a VAE on the edge of its early plateau, so the init draw decides how
    # far it gets: Keras 0.61 and 0.58 (seeds 3, 5), glassnet 0.46 and 0.53; started from
    # Keras's own weights, glassnet's run gives Keras's numbers (0.6101 vs 0.6105). An
    # untrained decoder gives ln 2 = 0.69
    "vae_train_step_torch": {
        "checks": {"Test reconstruction loss": ("<", 0.66)},
        "band": {"Test reconstruction loss": 0.2}, "keras_needs": "torch"},
    # 4 steps of a GAN: both losses sit near ln 2 (where a GAN starts), set by the init draw
    "gan_train_step_torch": {
        "checks": {"Final d_loss": ("<", 1.0), "Final g_loss": ("<", 1.5)},
        "band": {"Final d_loss": 0.1, "Final g_loss": 0.15}, "keras_needs": "torch"},
    "functional_multi_io": {
        "checks": {"Priority loss": ("<", 0.69), "Department loss": ("<", 1.386),  # ln 2, ln 4
                   "Loss minus weighted sum": ("~", 0.0)},  # loss_weights at work
        "band": {"Priority loss": 0.05, "Department loss": 0.1}},
    "structured_data_classification": {
        "checks": {"Validation accuracy": (">", 0.6)},
        # Keras's StringLookup/IntegerLookup need TensorFlow
        "band": {"Validation accuracy": 0.15}, "keras_needs": "tensorflow"},
    "text_vectorization_classifier": {
        "checks": {"Test accuracy": (">", 0.8)},
        # Keras's TextVectorization needs TensorFlow
        "band": {"Test accuracy": 0.2}, "keras_needs": "tensorflow"},
    # BatchNormalization's moving statistics are still far from the data after 3 short
    # epochs, so inference lags training in both runs (the tutorial trains 500 epochs)
    "timeseries_classification": {"checks": {"Test loss": ("<", 0.69)},
                                  "band": {"Test loss": 0.15, "Test accuracy": 0.3}},
    # as above: after 3 epochs the BatchNormalization statistics leave the validation logits
    # near 0 in both runs (Keras: val_loss 0.6924, val accuracy 0.484), so training accuracy
    # is what shows learning
    # keras.io's "Introduction to Keras for engineers": checkpoints as .keras files, a saved
    # and reloaded model, a subclassed model whose own dropout keeps a SeedGenerator (its
    # state is the 11th variable), and a PyTorch DataLoader as the data
    "intro_for_engineers": {
        "checks": {"Test loss": ("<", 2.2), "Checkpoints": ("==", 6.0),  # ln 10 = 2.303
                   "Subclassed model variables": ("==", 11.0),
                   "Subclassed model weights": ("==", 10.0), "DataLoader epochs": ("==", 1.0)},
        "band": {"Test loss": 0.3, "Test accuracy": 0.15, "Reloaded accuracy": 0.15,
                 "Subclassed model variables": 0.0, "DataLoader validation loss": 0.1},
        "keras_needs": "torch"},
    # keras.io's character-level seq2seq: the decoder LSTM takes the encoder's states as
    # initial_state, the model goes through a .keras file, and the inference models are
    # rebuilt from the loaded model's layers and their multi-output .output
    "lstm_seq2seq": {
        # predicting the padding everywhere scores 0.47
        "checks": {"Validation accuracy": (">", 0.55), "Step matches": ("==", 1.0)},
        "band": {"Validation accuracy": 0.1, "Step matches": 0.0}},
    "image_classification_augmentation": {
        "checks": {"Training accuracy": (">", 0.6)},
        "band": {"Training accuracy": 0.15, "Validation loss": 0.02}},
    # a Lambda layer of ops between two towers of one shared model, and a loss function
    # whose (N,) labels must meet the (N, 1) predictions as (N, 1): broadcast to (N, N)
    # instead, the run reached 0.72 where Keras reaches 0.82 (chance: 0.5)
    "siamese_contrastive": {
        "checks": {"Test accuracy": (">", 0.75)},
        "band": {"Test accuracy": 0.1, "Test loss": 0.05}},
    # Conv1D / Conv1DTranspose autoencoder on pandas data, anomalies as windows whose
    # reconstruction error passes the training windows' largest
    "timeseries_anomaly_detection": {
        "checks": {"Final validation loss": ("<", 0.1),
                   "Flagged windows holding the burst": (">", 0.7)},
        "band": {"Final validation loss": 0.02}},
    # a subclassed model of four Embeddings; the tutorial's ops.tensordot(u, m, 2) sums the
    # whole batch into one number, so neither run gets below predicting 0.5 (0.69) on this
    # stand-in: the band is what compares
    "collaborative_filtering": {
        "checks": {"Recommendations": ("==", 10.0)},
        "band": {"Final validation loss": 0.05, "Final training loss": 0.05}},
    # an activity regularizer written with ops, a Constant initializer given an array,
    # Dot(axes=(2, 1)), BatchNormalization(momentum=0.0); chance is 1/3
    "pointnet": {
        "checks": {"Training accuracy": (">", 0.5)},
        "band": {"Training accuracy": 0.25, "Final training loss": 0.4}},
    # SeparableConv2D, UpSampling2D and layers.add residuals, a per-pixel sparse
    # cross-entropy, the best model saved by ModelCheckpoint and loaded back. Real Keras
    # fails this script on its PyTorch backend (RuntimeError "grad_input must be
    # contiguous" in the backward pass), so its comparison needs the TensorFlow backend
    "unet_segmentation": {
        "checks": {"Final training loss": ("<", 1.0986),  # ln 3: three classes at chance
                   "Reloaded output matches": ("==", 1.0)},
        "band": {}, "keras_needs": "tensorflow"},
    # MultiHeadAttention blocks over a one-feature series, pooled channels-first; the
    # dropouts make the 8-epoch test loss vary with the draw: Keras 0.44-0.53 (seeds 7-9),
    # glassnet 0.48-0.68; started from the same weights without dropout, the two give the
    # same losses epoch for epoch (the one_feature case of _keras_fit_cases.py)
    "timeseries_transformer_classification": {
        "checks": {"Test loss": ("<", 0.693)},  # ln 2: two classes at chance
        "band": {"Test loss": 0.2, "Test accuracy": 0.2}},
    # keras.io's RNN guide: the models' sizes, a stateful LSTM's states reused as another's
    # initial_state, Bidirectional stacks, and LSTM against RNN(LSTMCell) on MNIST rows
    # (one SGD epoch on 640 images: barely above chance, 0.1, in both)
    "rnn_guide": {
        "checks": {"State reuse output shape": ("==", 64.0),
                   "Cell model accuracy": (">", 0.12)},
        "band": {"Simple model parameters": 0.0, "GRU model parameters": 0.0,
                 "Seq2seq model parameters": 0.0, "Bidirectional model parameters": 0.0,
                 "Cell model accuracy": 0.15}},
    # LSTM encoder, RepeatVector, LSTM decoder, a softmax per output character, boolean
    # one-hot inputs; 12 characters: chance is 0.08
    "addition_rnn": {"checks": {"Validation accuracy": (">", 0.35)},
                     "band": {"Validation accuracy": 0.12}},
    # keras.io's guide to fit/evaluate/predict: function and class losses, a Metric of
    # one's own with add_variable/assign_add, add_loss from a layer and an endpoint layer
    # (compile without a loss), validation_split, PyDataset, class and sample weights,
    # dict inputs/outputs with loss_weights and None losses, EarlyStopping, a batch
    # callback, ModelCheckpoint (best-only, and every 10 batches: save_freq), a restored
    # checkpoint, ExponentialDecay. The guide's own metric broadcasts (batch, 1) against
    # (batch,): both libraries count the same way (13,517 and 13,693 "true positives")
    "training_with_built_in_methods": {
        "checks": {"Test accuracy": (">", 0.6), "Endpoint loss is finite": ("==", 1.0),
                   "Per batch losses": ("==", 32.0), "Checkpoints": ("==", 2.0),
                   "Restored accuracy": (">", 0.6)},
        "band": {"Test accuracy": 0.1, "Custom function loss": 0.02,
                 "Custom class loss": 0.02, "Categorical true positives": 1000.0,
                 "Activity regularized loss": 2.5, "Validation split accuracy": 0.1,
                 "PyDataset validation accuracy": 0.1, "Sample weighted accuracy": 0.1,
                 "Multi output logs": 0.0, "Class only loss is finite": 0.0,
                 "Per batch losses": 0.0, "Checkpoints": 0.0, "Restored accuracy": 0.1,
                 "Schedule accuracy": 0.15}},
    # keras.io's masking guide: pad_sequences, Embedding/Masking masks, a mask passed by
    # hand, custom layers that split, make and read masks, supports_masking, and a symbolic
    # tensor's _keras_mask. Its TemporalSoftmax divides 0 by 0 on padded steps in both
    "masking_and_padding": {
        "checks": {"Embedding mask kept": ("==", 14.0), "First half kept": ("==", 9.0)},
        "band": {"MyLayer output shape": 0.0, "Padded first row length": 0.0,
                 "Embedding mask kept": 0.0, "Masking layer kept": 0.0,
                 "First half kept": 0.0, "Model output rows": 0.0,
                 "Temporal softmax has NaN rows": 0.0}},
    # an LSTM over one-hot characters, RMSprop, sampling with a temperature from predict's
    # probabilities; predicting the letters' frequencies alone scores 2.91 (their entropy)
    "lstm_text_generation": {"checks": {"Final loss": ("<", 2.0)},
                             "band": {"Final loss": 0.25}},
    # MLP-Mixer, FNet (keras.ops.fft2 over (real, imag) pairs) and gMLP on patches from
    # ops.image.extract_patches, after Normalization.adapt, Resizing, RandomFlip and
    # RandomZoom; AdamW, top-5 accuracy, ReduceLROnPlateau, EarlyStopping. Chance: 0.1
    # keras.io's ViT: its Patches layer (ops.image.extract_patches on a symbolic batch),
    # a PatchEncoder holding a Dense and an Embedding (saved by ModelCheckpoint to a
    # .weights.h5 at Keras's attribute paths, then loaded back), AdamW and top-5 accuracy
    "vision_transformer": {
        "checks": {"Test accuracy": (">", 40.0), "Test top 5 accuracy": (">", 80.0)},
        "band": {"Test accuracy": 20.0, "Final val loss": 0.5}},
    # keras.io's CCT: a tokenizer layer holding a Sequential of convolutions, a position
    # embedding of its own (ops.slice, broadcast_to), StochasticDepth drawing from a
    # SeedGenerator, sequence pooling, label smoothing from logits, a weights checkpoint
    "compact_convolutional_transformers": {
        "checks": {"Test accuracy": (">", 60.0), "Final val loss": ("<", 1.5)},
        "band": {"Test accuracy": 25.0, "Final val loss": 0.4, "Parameters": 0.0}},
    # keras.io's knowledge distillation: a Distiller with its own compile signature and
    # compute_loss (the teacher called inside it, its softened predictions the KL
    # divergence's y_true: Keras differentiates the loss in y_true too, so distilling also
    # moves the teacher's weights, in both runs)
    "knowledge_distillation": {
        "checks": {"Distilled student test accuracy": (">", 0.5),
                   "Teacher weights unchanged by distillation": ("==", 0.0)},
        "band": {"Distilled student test accuracy": 0.15, "Distilled student test loss": 0.15,
                 "Teacher weights unchanged by distillation": 0.0}},
    # keras.io's ConvMixer: DepthwiseConv2D blocks with GELU and BatchNormalization, AdamW,
    # a whole-model .keras checkpoint reloaded, and the depthwise layer found by comparing
    # its config's kernel_size with the tuple (3, 3), as Keras returns it. Few steps for
    # BatchNormalization's moving statistics: test accuracy swings 23-63 % with the seed in
    # both libraries (chance 10 %), hence the wide band
    "convmixer": {
        "checks": {"Test accuracy": (">", 15.0), "Depthwise kernel size": ("==", 3.0),
                   "Reloaded checkpoint predicts the same": ("==", 1.0)},
        "band": {"Test accuracy": 45.0, "Patch embedding kernel size": 0.0,
                 "Depthwise kernel size": 0.0, "Reloaded checkpoint predicts the same": 0.0}},
    # keras.io's credit-card fraud example: a CSV read by hand, class_weight of 1/count,
    # the four confusion counts with precision and recall, a .keras file per epoch
    "imbalanced_classification": {
        "checks": {"Final val recall": (">", 0.1),
                   "Last checkpoint predicts the same": ("==", 1.0)},
        "band": {"Final val recall": 0.45, "Validation positives": 0.0,
                 "Last checkpoint predicts the same": 0.0}},
    # tensorflow.org's overfit-and-underfit tutorial in Keras 3: an InverseTimeDecay
    # schedule, EarlyStopping on a metric named by the user, L2 penalties (model.losses)
    # and dropout; the large model overfits, the regularized ones less
    "overfit_and_underfit": {
        "checks": {"large final train binary crossentropy": ("<", 0.3),
                   "Tiny best val binary crossentropy": ("<", 0.69),
                   "L2 penalty terms": ("==", 4.0),
                   "Learning rate after ten epochs": ("==", 0.0005)},
        "band": {"Tiny best val binary crossentropy": 0.08,
                 "large best val binary crossentropy": 0.08,
                 "l2 best val binary crossentropy": 0.08,
                 "combined best val binary crossentropy": 0.08,
                 "L2 penalty terms": 0.0, "Learning rate after ten epochs": 0.0}},
    # keras.io's Antirectifier recipe: a custom layer with add_weight in build, an in-place
    # `inputs -= mean` in call, ops.concatenate/matmul, RMSprop, from_config
    "antirectifier": {
        "checks": {"Test accuracy": (">", 0.5),
                   "Config round trip keeps the initializer": ("==", 1.0)},
        "band": {"Test accuracy": 0.15, "Config round trip keeps the initializer": 0.0}},
    "mlp_image_classification": {
        "checks": {"MLP Mixer test accuracy": (">", 0.5), "FNet test accuracy": (">", 0.4),
                   "gMLP test accuracy": (">", 0.5)},
        "band": {"MLP Mixer test accuracy": 0.15, "FNet test accuracy": 0.25,
                 "gMLP test accuracy": 0.15}},
    # a subclassed Transformer tagger (positions from ops.arange of ops.shape), a Loss
    # subclass calling SparseCategoricalCrossentropy(reduction=None) and masking the
    # padding itself, and a metric loop that masks with (y > 0) & (p > 0) and indexes
    # tensors with that mask
    "ner_transformers": {
        "checks": {"Validation tag accuracy": (">", 0.9), "Sample prediction length": ("==", 24.0)},
        "band": {"Final training loss": 0.1, "Validation tag accuracy": 0.1}},
    # Conv2D subclasses: one overrides convolution_op (ops.moments, ops.conv), one call.
    # No band: Keras's run saturates (test loss 8.1, accuracy 0.48). Its first layer drops
    # the ReLU (the recipe's call adds no activation) and the standardized kernels push the
    # softmax to 0/1, where Keras's clipped cross-entropy has no gradient on its PyTorch
    # backend; glassnet takes the cross-entropy from the logits (exact value and gradient,
    # the logits contract) and trains on. Started from the same weights, the two models
    # predict the same (test_weight_standardized_model_predicts_as_keras)
    "subclassing_conv_layers": {"checks": {"Test accuracy": (">", 0.7)}, "band": {}},
    # keras.io's packaging recipe: functional subclassing (a Model subclass whose __init__
    # builds the graph and passes inputs/outputs up), uint8 images of any size (Input
    # (None, None, 1), Rescaling), model surgery at get_layer(...).input, a walk over
    # model.layers, and a model whose inputs are a dict fed by dicts. Chance: 0.1; the
    # binary head's 0.92 is the share of non-zero digits, reached by both libraries. Seeds
    # 0-2: test accuracy 0.41-0.47 on Keras, 0.50-0.60 here (dict model 0.45-0.51, 0.53-0.58)
    "functional_subclassing": {
        "checks": {"Test accuracy": (">", 0.3), "Dict model test accuracy": (">", 0.3),
                   "Layers walked": ("==", 9.0), "Crop prediction rows": ("==", 4.0),
                   "Binary test accuracy": (">", 0.85)},
        "band": {"Test accuracy": 0.3, "Dict model test accuracy": 0.3,
                 "Binary test accuracy": 0.05, "Layers walked": 0.0,
                 "Crop prediction rows": 0.0, "Dict model parameters": 0.0}},
    # a layer's files of its own in the .keras zip (save_assets/load_assets) and a layer
    # whose build takes an initializer (get_build_config/build_from_config)
    "customizing_saving": {
        "checks": {"Asset restored": ("==", 1.0), "Build config restored": ("==", 1.0),
                   "Restored predictions match": ("==", 1.0)},
        "band": {"Asset restored": 0.0, "Build config restored": 0.0,
                 "Restored predictions match": 0.0}},
}

# what each script printed on real Keras 3 (see the file's "_about")
RECORDED: dict[str, dict[str, float]] = json.loads((HERE / "keras_results.json").read_text())

_NUMBER = re.compile(r"^\s*([A-Za-z][\w ]*?):\s*(-?[0-9.]+(?:e-?[0-9]+)?)\s*$", re.M)

# Both runs go through a boot that seeds every generator the script may draw from (the
# library's, Python's, NumPy's: ``utils.set_random_seed``, the same call in both libraries)
# and then runs the script given as argv[1] as __main__. Unseeded, the comparison was
# between two fresh draws on every CI run: the tutorial autoencoder alone lands anywhere in
# 0.56-0.65 on Keras and 0.55-0.60 on glassnet, so a fixed band failed now and then. Seeded,
# each side is one fixed draw; a script's own set_random_seed still takes over after.
RUN_SEED = 0
_BOOT = """
import runpy, sys
import {lib} as _lib
{patch}
_lib.utils.set_random_seed({seed})
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""
# the Keras run only: its MNIST download pointed at the local copy (glassnet reads
# GLASSNET_DATA_DIR itself)
_KERAS_BOOT = _BOOT.format(lib="keras", seed=RUN_SEED, patch=(
    "import glassnet.datasets.mnist as _m\n_lib.datasets.mnist.load_data = _m.load_data"))
_GLASSNET_BOOT = _BOOT.format(lib="glassnet", seed=RUN_SEED, patch="")


def to_glassnet(src: str) -> str:
    """Rewrite only the import lines, the way a user switching libraries would."""
    src = re.sub(r"^import (tensorflow\.)?keras$", "import glassnet as keras", src, flags=re.M)
    src = re.sub(r"^from tensorflow import keras$", "import glassnet as keras", src, flags=re.M)
    src = re.sub(r"^from (tensorflow\.)?keras import", "from glassnet import", src, flags=re.M)
    src = re.sub(r"^from (tensorflow\.)?keras\.", "from glassnet.", src, flags=re.M)
    return src


def _env(**extra) -> dict:
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0", **extra}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    env.setdefault("GLASSNET_DATA_DIR", str(ROOT.parent / "shared" / "datasets"))
    return env


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _numbers(out: str) -> dict[str, float]:
    # a progress bar redrawn with carriage returns (and colored, as Keras's) may share a
    # line with the next print: each redraw counts as a line of its own
    out = _ANSI.sub("", out).replace("\r", "\n")
    return {k.strip(): float(v) for k, v in _NUMBER.findall(out)}


def _run(cmd, cwd, env, what) -> dict[str, float]:
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    if r.returncode:
        raise AssertionError(f"{what} failed (exit {r.returncode}):\n{r.stderr[-4000:]}")
    return _numbers(r.stdout)


_GLASSNET_RESULTS: dict[str, dict] = {}


def run_glassnet(name: str, tmp: Path) -> dict[str, float]:
    if name not in _GLASSNET_RESULTS:
        script = tmp / f"{name}.py"
        script.write_text(to_glassnet((HERE / f"{name}.py").read_text()))
        boot = tmp / "_glassnet_boot.py"
        boot.write_text(_GLASSNET_BOOT)
        _GLASSNET_RESULTS[name] = _run([sys.executable, str(boot), str(script)], tmp, _env(),
                                       f"{name} on glassnet")
    return _GLASSNET_RESULTS[name]


def _check(op: str, got: float, want: float) -> bool:
    return {">": got > want, "<": got < want, "==": got == want,
            "~": abs(got - want) < 1e-4}[op]


def _params(keras_run: bool = False):
    out = []
    for name, spec in sorted(SCRIPTS.items()):
        marks = [pytest.mark.xfail(strict=True, reason=spec["xfail"])] if spec.get("xfail") \
            else []
        out.append(pytest.param(name, marks=marks, id=name))
    return out


def test_every_script_is_in_the_table():
    on_disk = {p.stem for p in HERE.glob("*.py")}
    assert set(SCRIPTS) <= on_disk
    missing = sorted(on_disk - set(SCRIPTS) - _OTHER_RUNNERS)
    assert not missing, f"add these scripts to SCRIPTS in {__file__}: {missing}"


# scripts another runner owns (e.g. the transformer scripts): listed so the check above
# does not claim them
_OTHER_RUNNERS: set[str] = {p.stem for p in HERE.glob("transformer*.py")}


def test_import_rewrite_touches_only_import_lines():
    for path in HERE.glob("*.py"):
        src = path.read_text()
        changed = [b for a, b in zip(src.splitlines(), to_glassnet(src).splitlines()) if a != b]
        assert all(line.startswith(("import glassnet", "from glassnet")) for line in changed)


@pytest.mark.parametrize("name", _params())
def test_script_runs_on_glassnet(name, tmp_path):
    got = run_glassnet(name, tmp_path)
    for metric, (op, want) in SCRIPTS[name]["checks"].items():
        assert metric in got, f"{name} printed no '{metric}: ...' line; it printed {got}"
        assert _check(op, got[metric], want), f"{name}: {metric} = {got[metric]}, want {op} " \
                                              f"{want}"
    # and within the band of what the same script printed on real Keras (recorded)
    keras_numbers = RECORDED.get(name)
    if keras_numbers is None:
        assert SCRIPTS[name].get("keras_needs") == "tensorflow", f"record {name} on Keras"
        return
    for metric, band in SCRIPTS[name]["band"].items():
        assert abs(got[metric] - keras_numbers[metric]) <= band, \
            f"{name}: {metric} glassnet {got[metric]:.4f} vs Keras {keras_numbers[metric]:.4f}" \
            f" (recorded; band ±{band})"


@pytest.mark.slow  # each Keras run starts torch and Keras: ~30-100 s on 2 busy cores
@pytest.mark.parametrize("name", _params())
def test_script_matches_real_keras(name, tmp_path):
    if importlib.util.find_spec("keras") is None:
        pytest.skip("real Keras 3 is not installed (pip install keras)")
    need = SCRIPTS[name].get("keras_needs")
    if need and importlib.util.find_spec(need) is None:
        pytest.skip(f"the Keras run of {name} needs {need}, which is not installed")
    ours = run_glassnet(name, tmp_path)
    boot = tmp_path / "_keras_boot.py"
    boot.write_text(_KERAS_BOOT)
    theirs = _run([sys.executable, str(boot), str(HERE / f"{name}.py")], tmp_path,
                  _env(KERAS_BACKEND="torch"), f"{name} on Keras")
    for metric, band in SCRIPTS[name]["band"].items():
        assert metric in theirs and metric in ours, (metric, theirs, ours)
        assert abs(ours[metric] - theirs[metric]) <= band, \
            f"{name}: {metric} glassnet {ours[metric]:.4f} vs Keras {theirs[metric]:.4f} " \
            f"(band ±{band})"


def _record_tool():
    spec = importlib.util.spec_from_file_location(
        "_record_keras_scripts", ROOT / "tools" / "record_keras_scripts.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_record_tool_keeps_the_band_numbers_and_rewrites_one_entry(tmp_path, monkeypatch):
    tool = _record_tool()
    calls = []

    def fake_run(cmd, cwd, env, what):
        calls.append((cmd, env["KERAS_BACKEND"]))
        return {"Reconstruction loss": 0.5, "Epoch": 2.0}

    monkeypatch.setattr(tool.ks, "_run", fake_run)
    got = tool.record("conv_autoencoder", tmp_path)
    assert got == {"Reconstruction loss": 0.5}  # the band's metrics only
    (cmd, backend), = calls
    assert backend == "torch" and cmd[-1].endswith("conv_autoencoder.py")
    assert f"set_random_seed({RUN_SEED})" in (tmp_path / "_keras_boot.py").read_text()
    monkeypatch.setattr(tool.ks, "_run", lambda *a: {"Epoch": 2.0})
    with pytest.raises(SystemExit, match="Reconstruction loss"):
        tool.record("conv_autoencoder", tmp_path)

    path = tmp_path / "keras_results.json"
    path.write_text((HERE / "keras_results.json").read_text())
    tool.write(path, {"conv_autoencoder": got})
    text = path.read_text()
    after = json.loads(text)
    assert after["conv_autoencoder"] == got
    assert {k: v for k, v in after.items() if k != "conv_autoencoder"} == \
        {k: v for k, v in json.loads((HERE / "keras_results.json").read_text()).items()
         if k != "conv_autoencoder"}
    assert text.splitlines()[1].startswith('  "_about"')  # one line per entry, _about first
    assert len(text.splitlines()) == len(after) + 2
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".json"] == [path.name]


def test_a_script_run_twice_prints_the_same_numbers(tmp_path):
    # the seeded boot makes each side of a comparison one fixed draw: two glassnet runs of
    # a tutorial that seeds only NumPy's noise (its weights come from the library's
    # generator) print the same bits
    runs = []
    for k in range(2):
        d = tmp_path / str(k)
        d.mkdir()
        _GLASSNET_RESULTS.pop("conv_autoencoder", None)
        runs.append(run_glassnet("conv_autoencoder", d))
    assert runs[0] == runs[1] and "Reconstruction loss" in runs[0]
