"""Which of Keras 3's public names glassnet lacks, checked against an explicit allowlist.

With real Keras installed (``pip install keras``; it runs here on the PyTorch backend), every
public name at Keras's top level and in ``keras.layers``, ``losses``, ``metrics``,
``optimizers``, ``callbacks``, ``ops``, ``random``, ``utils``, ``constraints``, ``tree``,
``dtype_policies`` and ``mixed_precision`` must either exist in the glassnet module of the
same name (``glassnet`` for the top level) or be listed in ``ALLOWED_MISSING`` with the
reason it is absent. The lists must match exactly: a name glassnet gains must leave the
allowlist too, so the list (and the coverage numbers in the README) stay true.

Regenerate the allowlist after adding names (keeps the reasons already written, proposes one
for new entries)::

    KERAS_BACKEND=torch python tests/test_keras_api_coverage.py > /tmp/allow.py
"""

from __future__ import annotations

import importlib
import os
import re
import sys

import pytest

# "keras": the top level itself (``keras.Sequential``, ``keras.tree``, ...) against ``glassnet``
NAMESPACES = ("keras", "layers", "losses", "metrics", "optimizers", "callbacks", "ops",
              "random", "utils", "constraints", "tree", "dtype_policies", "mixed_precision")

# Reasons, reused below.
TF = "needs TensorFlow (tf.data / SavedModel / TF ops)"
JAX = "wraps another framework's modules (JAX/Flax/PyTorch): not in scope"
D3 = "3-D (volumetric) variant: not in scope, glassnet does 1-D and 2-D"
AUG = "image augmentation beyond the course's (flip/rotate/zoom/translate/crop/contrast): " \
      "not in scope yet"
AUDIO = "audio/spectral processing: not in scope"
FFT = "short-time Fourier transforms: not in scope (use scipy.signal on the arrays)"
DIST = "distributed/mixed-precision machinery: glassnet has its own (gn.distribution)"
ALIAS2 = "legacy alias namespace (keras.legacy / tf.keras 2): not in scope"
QUANT = "quantization (int4/int8/float8 weights): glassnet computes in float32 or float64"
HALF = "loss scaling for float16 training: glassnet has no half precision"
SYMB = "Keras's own symbolic-op and scope machinery: glassnet's graph is its own (gn.graph)"
LATER = "not implemented yet"

ALLOWED_MISSING: dict[str, dict[str, str]] = {
    "layers": {
        "AugMix": AUG,
        "AutoContrast": AUG,
        "ContrastLimitedAdaptiveHistogramEqualization": AUG,
        "Conv3DTranspose": D3,
        "ConvLSTM3D": D3,
        "Convolution3DTranspose": D3,
        "CutMix": AUG,
        "Equalization": AUG,
        "FlaxLayer": JAX,
        "HashedCrossing": LATER,
        "JaxLayer": JAX,
        "MaxNumBoundingBoxes": AUG,
        "MelSpectrogram": AUDIO,
        "MixUp": AUG,
        "Pipeline": AUG,
        "RandAugment": AUG,
        "RandomColorDegeneration": AUG,
        "RandomColorJitter": AUG,
        "RandomElasticTransform": AUG,
        "RandomErasing": AUG,
        "RandomGaussianBlur": AUG,
        "RandomHue": AUG,
        "RandomPerspective": AUG,
        "RandomPosterization": AUG,
        "RandomSaturation": AUG,
        "RandomSharpness": AUG,
        "RandomShear": AUG,
        "STFTSpectrogram": AUDIO,
        "Solarization": AUG,
        "SpatialDropout3D": D3,
        "TFSMLayer": TF,
        "TorchModuleWrapper": JAX,
    },
    "losses": {
    },
    "metrics": {
    },
    "optimizers": {
        "LossScaleOptimizer": DIST,
        "legacy": ALIAS2,
    },
    "callbacks": {
        "OrbaxCheckpoint": JAX,
        "RemoteMonitor": 'posts logs to an HTTP server: not in scope',
    },
    "ops": {
        "angle": 'complex numbers: glassnet tensors are real',
        "conj": 'complex numbers: glassnet tensors are real',
        "conjugate": 'complex numbers: glassnet tensors are real',
        "eig": 'a real matrix\'s eigenvalues may be complex: glassnet tensors are real (eigh '
               'covers symmetric matrices)',
        "imag": 'complex numbers: glassnet tensors are real',
        "isreal": 'complex numbers: glassnet tensors are real',
        "istft": FFT,
        "jvp": 'forward-mode autodiff: glassnet is reverse-mode only',
        "polar": 'complex numbers: glassnet tensors are real',
        "real": 'complex numbers: glassnet tensors are real',
        "stft": FFT,
        "view_as_complex": 'complex numbers: glassnet tensors are real',
        "view_as_real": 'complex numbers: glassnet tensors are real',
    },
    "random": {
    },
    "utils": {
        "FeatureSpace": TF,
        "audio_dataset_from_directory": TF,
        "bounding_boxes": AUG,
        "legacy": ALIAS2,
        "model_to_dot": LATER,
        "split_dataset": TF,
        "text_dataset_from_directory": TF,
    },
    "constraints": {
    },
    "tree": {
    },
    "dtype_policies": {
        "AWQDTypePolicy": QUANT,
        "GPTQDTypePolicy": QUANT,
        "Int4DTypePolicy": QUANT,
        "QuantizedDTypePolicy": QUANT,
        "QuantizedFloat8DTypePolicy": QUANT,
    },
    "mixed_precision": {
        "LossScaleOptimizer": HALF,
    },
    "keras": {
        "Function": SYMB,
        "Operation": SYMB,
        "Quantizer": QUANT,
        "RematScope": "gradient rematerialisation (recompute activations): not in scope",
        "StatelessScope": SYMB,
        "SymbolicScope": SYMB,
        "applications": "pretrained ImageNet models (downloads of large weights): not in "
                        "scope",
        "distillation": LATER,
        "export": TF,
        "legacy": ALIAS2,
        "preprocessing": ALIAS2,
        "quantizers": QUANT,
        "remat": "gradient rematerialisation (recompute activations): not in scope",
        "src": "Keras's private implementation package",
        "visualization": LATER,
    },
}



def _keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras", reason="real Keras 3 not installed (pip install keras)")
    return keras


def missing_names(keras) -> dict[str, set[str]]:
    """Public names per Keras namespace that the glassnet module of that name lacks."""
    import glassnet as gn

    out = {}
    for ns in NAMESPACES:
        theirs = {n for n in dir(_ns(keras, ns)) if not n.startswith("_")}
        ours = gn if ns == "keras" else gn.ops if ns == "ops" else importlib.import_module(
            f"glassnet.{ns}")
        out[ns] = {n for n in theirs if not hasattr(ours, n)}
    return out


def _ns(keras, ns):
    return keras if ns == "keras" else getattr(keras, ns)


def coverage(keras) -> dict[str, tuple[int, int]]:
    """(names glassnet has, names Keras has) per namespace."""
    miss = missing_names(keras)
    return {ns: (len([n for n in dir(_ns(keras, ns)) if not n.startswith("_")])
                 - len(miss[ns]),
                 len([n for n in dir(_ns(keras, ns)) if not n.startswith("_")]))
            for ns in NAMESPACES}


@pytest.mark.parametrize("ns", NAMESPACES)
def test_missing_keras_names_match_the_allowlist(ns):
    keras = _keras()
    miss = missing_names(keras)[ns]
    allowed = set(ALLOWED_MISSING[ns])
    unexplained = sorted(miss - allowed)
    now_present = sorted(allowed - miss)
    assert not unexplained, (f"keras.{ns} names glassnet lacks, not in ALLOWED_MISSING "
                             f"(implement them or add them with a reason): {unexplained}")
    assert not now_present, (f"glassnet.{ns} now has these; remove them from "
                             f"ALLOWED_MISSING: {now_present}")


def test_every_allowlist_entry_has_a_reason():
    for ns, entries in ALLOWED_MISSING.items():
        assert ns in NAMESPACES
        for name, reason in entries.items():
            assert isinstance(reason, str) and len(reason) > 8, (ns, name)


def test_readme_states_the_coverage_numbers():
    keras = _keras()
    readme = open(os.path.join(os.path.dirname(__file__), "..", "README.md")).read()
    cov = coverage(keras)
    for ns, (have, total) in cov.items():
        pat = rf"`{ns}`\s*\|\s*{have}\s*/\s*{total}"
        assert re.search(pat, readme), (f"README's Keras coverage table must say "
                                        f"`{ns}` | {have} / {total}")


def _regenerate() -> str:  # pragma: no cover - a maintenance helper
    keras = _keras()
    miss = missing_names(keras)
    named = {v: k for k, v in globals().items() if k.isupper() and isinstance(v, str)}
    lines = ["ALLOWED_MISSING: dict[str, dict[str, str]] = {"]
    for ns in NAMESPACES:
        lines.append(f'    "{ns}": {{')
        for n in sorted(miss[ns]):
            reason = ALLOWED_MISSING.get(ns, {}).get(n, LATER)
            lines.append(f'        "{n}": {named.get(reason, repr(reason))},')
        lines.append("    },")
    lines.append("}")
    cov = coverage(keras)
    lines.append("\n# README table:\n# | namespace | glassnet / Keras 3 |\n# |---|---|")
    lines += [f"# | `{ns}` | {h} / {t} |" for ns, (h, t) in cov.items()]
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
    print(_regenerate())
