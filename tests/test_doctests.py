"""The docstrings' examples run as doctests, so the API reference (docs/api/) shows code that
works. Modules whose examples are sketches (they use a trained ``model`` or data that is not
there) mark those lines ``# doctest: +SKIP``; the modules below run every other line.
(``glassnet.layers.recurrent`` is left out: its examples compile the numba LSTM kernel,
≈ 30 s.)"""

import doctest
import importlib

import numpy as np
import pytest

import glassnet as gn

MODULES = [
    "glassnet.graph", "glassnet.layer_graph", "glassnet.utils", "glassnet._display",
    "glassnet.tensor", "glassnet.backend", "glassnet._reduce", "glassnet._epilogue",
    "glassnet._loss_inputs",
    "glassnet.initializers", "glassnet.schedules",
    "glassnet.layers.core", "glassnet.layers.conv", "glassnet.layers._conv_kernels",
    "glassnet.layers._conv_transpose", "glassnet.layers.pooling",
    "glassnet.layers.merging", "glassnet.layers.normalization",
    "glassnet.layers.embedding", "glassnet.models.model", "glassnet.layers.base",
    "glassnet.functional",
    # issue 22 items 4-10
    "glassnet.layers.conv_depthwise", "glassnet.layers.conv_volumetric",
    "glassnet.layers.reshaping3d", "glassnet.layers.recurrent_cells",
    "glassnet.layers.conv_lstm", "glassnet._optimizers_more", "glassnet._metrics_curves",
    "glassnet._metrics_more", "glassnet._metrics_losses", "glassnet._losses_more",
    "glassnet._callbacks_more",
    # masks, CTC, Keras 3's newer layers
    "glassnet._ctc", "glassnet.layers.adaptive", "glassnet.layers.input_spec",
    "glassnet._keras_ops_nn", "glassnet._ops_image", "glassnet.layers.wrapper",
    "glassnet._metric_base", "glassnet.layers.grouped_query_attention",
    "glassnet.layers._masks", "glassnet._keras_ops_more",
    "glassnet.layers.reversible_embedding", "glassnet.layers.spectral_normalization",
    "glassnet.config", "glassnet._dtypes", "glassnet.losses", "glassnet.layers._symbolic",
    "glassnet._keras_ops_fft", "glassnet._keras_ops_conv", "glassnet._keras_ops_index",
    "glassnet._keras_ops_math", "glassnet._keras_ops_grad", "glassnet.layers._file_hooks",
    "glassnet._keras_ops_linalg", "glassnet._keras_utils", "glassnet.layers.augmentation_color",
    "glassnet._optimizer_multi", "glassnet._keras_ops_windows",
    "glassnet.layers.einsum_dense",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    from glassnet.layers import Concatenate, Dense
    from glassnet.models import Model, Sequential

    mod = importlib.import_module(name)
    extra = {"gn": gn, "np": np, "Dense": Dense, "Concatenate": Concatenate,
             "Sequential": Sequential, "Model": Model}
    tests = [t for t in doctest.DocTestFinder().find(mod, name, globs={**vars(mod), **extra})
             if t.examples]
    assert tests, f"{name} has no docstring examples"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report = []
    for t in tests:
        runner.run(t, out=report.append)
    failed, attempted = runner.summarize(verbose=False)
    assert failed == 0, "".join(report)
