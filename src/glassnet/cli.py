"""The ``glassnet`` command (also ``python -m glassnet``): thin over the public API.

    glassnet train [RECIPE] [--epochs N] [--batch-size N] [--seed N] [--out DIR]
                   [--data-dir DIR] [--resume]
    glassnet recipes | evaluate MODEL --recipe R | predict MODEL INPUT [--out preds.csv]
    glassnet summary MODEL | graph MODEL --out model.svg | export MODEL --format onnx | info

Every expected failure (unknown recipe, missing data, bad model file, wrong CSV, unwritable
directory) prints one line ``error: ...`` and exits non-zero; set ``GLASSNET_DEBUG=1`` for
the traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer

if TYPE_CHECKING:
    import numpy as np

    from .models import Model
    from .recipes import Recipe

_T = TypeVar("_T")

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="glassnet: train the course's networks and get a report.")


def _fail(msg: str, code: int = 2) -> NoReturn:
    typer.echo(f"error: {msg}", err=True)
    raise typer.Exit(code)


def _guard(fn: Callable[..., _T], *a: Any, **k: Any) -> _T:
    """Run ``fn``; turn expected errors into one-line messages."""
    from .runner import RunError

    expected = (RunError, LookupError, FileNotFoundError, ValueError, TypeError, OSError,
                RuntimeError, MemoryError, RecursionError)
    try:
        return fn(*a, **k)
    except typer.Exit:
        raise
    except Exception as e:
        if os.environ.get("GLASSNET_DEBUG"):
            raise
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if isinstance(e, KeyError):
            msg = f"missing {msg}"
        if isinstance(e, MemoryError):
            msg = f"out of memory ({msg})"
        if not isinstance(e, expected):  # a bug: still one line, the traceback on request
            _fail(f"unexpected {type(e).__name__}: {msg} (GLASSNET_DEBUG=1 shows the "
                  "traceback)", code=1)
        _fail(msg)


@app.command()
def train(
    recipe: str | None = typer.Argument(None, help="Recipe name (see `glassnet recipes`)."),
    epochs: int | None = typer.Option(None, help="Epochs (default: the recipe's)."),
    batch_size: int | None = typer.Option(None, "--batch-size", help="Batch size."),
    seed: int = typer.Option(0, help="One seed for init, shuffling, dropout, augmentation."),
    out: Path | None = typer.Option(None, help="Run directory (default runs/<recipe>-<time>)."),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="Dataset cache directory."),
    resume: bool = typer.Option(False, help="Continue from the last checkpoint in --out."),
    fast: bool = typer.Option(False, help="Tiny settings for a smoke run (tests use it)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    workers: int = typer.Option(1, "--workers", min=1,
                                help="Data-parallel processes: starts mpiexec with N ranks "
                                     "(the mpi extra; see docs/distributed.md)."),
) -> None:
    """Train RECIPE (default: digits, no download) and write a run directory with a report."""
    from .recipes import DEFAULT
    from .runner import train_recipe

    if workers > 1:
        from . import distribution

        if distribution.size() == 1:  # not yet under MPI: start N copies of this command
            argv = _without_workers(sys.argv[1:])
            code = _guard(distribution.launch, workers, ["-m", "glassnet", *argv])
            raise typer.Exit(code)

    name = recipe or DEFAULT
    user_file = Path(name).suffix.lower() in (".toml", ".json")
    rec: str | Recipe
    if user_file:
        from .recipes.user import load_user_recipe

        rec = _guard(load_user_recipe, Path(name))
    else:
        rec = name

    def run() -> dict:
        return train_recipe(rec, out_dir=out, epochs=epochs, batch_size=batch_size, seed=seed,
                            data_dir=data_dir, resume=resume, fast=fast,
                            verbose=0 if quiet else 1)

    _guard(run)


def _without_workers(args: list) -> list:
    """The command line without ``--workers N`` (the ranks must not launch again)."""
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
            continue
        if a == "--workers":
            skip = True
            continue
        if a.startswith("--workers="):
            continue
        out.append(a)
    return out


@app.command()
def recipes() -> None:
    """List the recipes with one-line descriptions."""
    from . import recipes as R

    for n in R.names():
        typer.echo(f"{n:<16} {R.get(n).description}")


def _load(model_path: Path) -> Model:
    from .models import load_model

    if not model_path.exists():
        _fail(f"model file {model_path} does not exist")
    return _guard(load_model, model_path)


@app.command()
def evaluate(model: Path, recipe: str = typer.Option(..., help="Recipe whose test data to use."),
             fast: bool = typer.Option(False, help="The recipe's small data.")) -> None:
    """Evaluate a saved MODEL on a recipe's test data."""
    from .recipes import get

    m = _load(model)
    rec = _guard(get, recipe)
    data = _guard(rec.load_data, {"recipe": rec.name, "seed": 0, "fast": fast,
                                  **(rec.fast if fast else {})})
    res = _guard(m.evaluate, data["x_test"], data["y_test"], verbose=0, return_dict=True)
    for k, v in res.items():
        typer.echo(f"{k}: {v:.4f}")


@app.command()
def predict(model: Path, input: Path = typer.Argument(..., help="Input .csv or .npy"),
            out: Path | None = typer.Option(None, help="Write predictions to this CSV.")
            ) -> None:
    """Predict with a saved MODEL on INPUT (.csv or .npy).

    A model with several named inputs (the churn recipe's raw columns) reads a .csv with a
    header and takes each input from the column of that name; other columns are ignored. A
    single-input model reads a .csv of numbers without a header, or a .npy array.
    """
    import numpy as np

    m = _load(model)
    if not input.exists():
        _fail(f"input file {input} does not exist")
    names = _input_names(m)
    x: Any
    if names is not None:
        if input.suffix.lower() != ".csv":
            _fail(f"this model takes named inputs {names}: give a .csv with a header row "
                  f"naming them. Received: {input.name}")
        x = _named_columns(m, names, input)
    elif input.suffix.lower() == ".npy":
        x = _guard(np.load, input, allow_pickle=False)
    elif input.suffix.lower() == ".csv":
        x = _guard(np.loadtxt, input, delimiter=",", ndmin=2, dtype=np.float32)
    else:
        _fail(f"input must be .csv or .npy. Received: {input.name}")
    want = None if names is not None else _input_features(m)
    if want is not None and x.ndim == 2 and x.shape[1] != want:
        _fail(f"{input.name} has {x.shape[1]} columns but the model expects {want} features")
    p = _guard(m.predict, x, verbose=0)
    p = np.asarray(p)
    if out is None:
        for row in p.reshape(len(p), -1):
            typer.echo(",".join(f"{v:.6g}" for v in row))
    else:
        if out.is_dir():
            _fail(f"--out {out} is a directory; give a file name such as {out / 'preds.csv'}")

        def write() -> None:
            import io

            from .models.saving import _atomic_write

            buf = io.StringIO()
            np.savetxt(buf, p.reshape(len(p), -1), delimiter=",", fmt="%.6g")
            _atomic_write(out, buf.getvalue())

        _guard(write)
        typer.echo(f"wrote {len(p)} predictions to {out}")


def _input_names(model: object) -> list | None:
    """The input names of a model with several inputs (fed by CSV column), else None."""
    inputs = getattr(model, "inputs", None)
    names = getattr(model, "input_names", None)
    if not isinstance(inputs, (list, tuple)) or len(inputs) < 2 or not names:
        return None
    return list(names)


def _named_columns(model: Any, names: list, path: Path) -> dict:
    """Read ``path`` (CSV with a header) into ``{input name: (n, 1) array}``; one-line errors."""
    import numpy as np

    try:
        import pandas as pd
    except ImportError:
        _fail("reading a CSV for a model with named inputs needs pandas: "
              "pip install 'glassnet[data]'")
    df = _guard(pd.read_csv, path)
    missing = [n for n in names if n not in df.columns]
    if missing:
        _fail(f"{path.name} lacks the column(s) {missing} that the model takes as inputs "
              f"{names}. Received columns: {list(df.columns)}")
    x: dict[str, np.ndarray] = {}
    for name, t in zip(names, model.inputs):
        shape = tuple(getattr(t, "shape", (None, 1)))
        if len(shape) != 2 or shape[1] != 1:
            _fail(f"input {name!r} takes shape {shape}; a CSV column gives one value per row")
        col = df[name]
        if _numeric(getattr(t, "dtype", None)):
            num = pd.to_numeric(col, errors="coerce")
            bad = np.flatnonzero(num.isna().to_numpy())
            if len(bad):
                _fail(f"{path.name}: column {name!r} must hold numbers. Received "
                      f"{col.iloc[bad[0]]!r} on data row {bad[0] + 1}")
            x[name] = num.to_numpy(np.float32).reshape(-1, 1)
        else:
            x[name] = col.astype(str).to_numpy().astype(str).reshape(-1, 1)
    return x


def _numeric(dtype: Any) -> bool:
    """True for an input dtype of numbers (None: float32); False for strings/object."""
    import numpy as np

    try:
        return dtype is None or np.dtype(dtype).kind in "biuf"
    except TypeError:  # "string" and other non-NumPy names
        return False


def _input_features(model: object) -> int | None:
    shape = getattr(model, "input_shape", None)
    if shape is None:
        layers = getattr(model, "layers", [])
        spec = getattr(layers[0], "input_spec_shape", None) if layers else None
        return spec[-1] if spec and len(spec) == 1 else None
    return shape[-1] if len(shape) == 2 else None


@app.command()
def summary(model: Path) -> None:
    """Print a saved MODEL's layers, output shapes and parameter counts."""
    m = _load(model)
    _guard(m.summary)


@app.command()
def graph(model: Path,
          out: Path = typer.Option(Path("model.svg"), help=".svg or .dot")) -> None:
    """Draw a saved MODEL's layer graph with shapes (SVG written directly, or DOT)."""
    from .layer_graph import layer_graph_dot, layer_graph_svg

    m = _load(model)
    if out.suffix.lower() == ".dot":
        text = _guard(layer_graph_dot, m)
    elif out.suffix.lower() == ".svg":
        text = _guard(layer_graph_svg, m)
    else:
        _fail(f"--out must end in .svg or .dot. Received: {out.name}")

    def write() -> None:
        from .models.saving import _atomic_write

        _atomic_write(out, text)

    _guard(write)
    typer.echo(f"wrote {out}")


@app.command()
def export(model: Path,
           out: Path | None = typer.Option(None, help="Output file (default: MODEL.onnx)."),
           format: str = typer.Option("onnx", "--format", help="Export format: onnx."),
           opset: int = typer.Option(17, help="ONNX opset (17 or later).")) -> None:
    """Export a saved MODEL (.glassnet, .keras or .h5) to ONNX, checked by onnx.checker."""
    if format != "onnx":
        _fail(f"--format must be onnx. Received: {format}")
    m = _load(model)
    dest = out or model.with_suffix(".onnx")
    try:
        _guard(m.export, dest, format=format, opset=opset)
    except ImportError as e:
        _fail(str(e))
    typer.echo(f"wrote {dest} (ONNX opset {opset}, dynamic batch)")


@app.command()
def info() -> None:
    """Versions, threads, BLAS and GPU availability."""
    import platform

    import numpy as np

    from . import __version__, backend

    py = platform.python_version()
    typer.echo(f"glassnet {__version__}  python {py}  numpy {np.__version__}")
    try:
        from threadpoolctl import threadpool_info

        for p in threadpool_info():
            arch = f" {p['architecture']}" if p.get("architecture") else ""
            typer.echo(f"blas: {p.get('internal_api')} {p.get('version')}{arch} "
                       f"threads={p.get('num_threads')}")
    except ImportError:
        typer.echo(f"cpu threads: {os.cpu_count()}")
    for mod in ("sklearn", "matplotlib", "torch", "cupy"):
        try:
            typer.echo(f"{mod}: {__import__(mod).__version__}")
        except Exception:
            typer.echo(f"{mod}: not installed")
    from importlib import metadata

    for dist in ("h5py", "onnx", "onnxruntime", "keras"):  # interop extras, not imported here
        try:
            typer.echo(f"{dist}: {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            typer.echo(f"{dist}: not installed")
    gemm = backend.gemm_info()
    from . import _cpu

    if (gemm == "numpy" and _cpu.has_avx512()
            and backend.numpy_openblas_core() not in (None, *_cpu.AVX512_CORES)):
        gemm += (f" (OpenBLAS {backend.numpy_openblas_core()} kernels on an AVX-512 CPU: "
                 "`pip install glassnet[openblas]` runs the large products 1.4-1.9x faster)")
    typer.echo(f"gemm: {gemm}")
    typer.echo(f"gpu: {'available' if backend.gpu_available() else 'not available'}")
    from .layers import _lstm_numba

    if _lstm_numba.available():
        import numba

        typer.echo(f"lstm cpu kernel: numba {numba.__version__} "
                   f"threads={_lstm_numba.threads()}")
    else:
        typer.echo("lstm cpu kernel: numpy (pip install 'glassnet[numba]' for the compiled "
                   "one; GLASSNET_NUMBA=0 also selects numpy)")
    typer.echo("compiled kernels (Adam, pooling, BatchNorm, LayerNorm, ReLU, col2im, GRU step): "
               f"{_compiled_kernels_info()}")
    typer.echo(f"data dir: {os.environ.get('GLASSNET_DATA_DIR', '~/.cache/glassnet')}")


def _compiled_kernels_info() -> str:
    """Which kernels Adam, disjoint max pooling and BatchNormalization run: compiled
    (numba) or NumPy, and why."""
    from importlib.util import find_spec

    from . import _optimizer_kernels as opk

    mode = opk.numba_mode()
    if mode == "off":
        return "numpy (GLASSNET_NUMBA=0)"
    if find_spec("numba") is None:
        return "numpy (pip install 'glassnet[numba]' for the compiled ones)"
    if mode == "on" and opk.fused_available():
        return f"numba (GLASSNET_NUMBA=1), threads={opk.numba_threads()}"
    return (f"numba for buffers of {opk.AUTO_WORK} elements or more, or once numba is "
            f"loaded (an LSTM or a GRU loads it, and a model after {opk.AUTO_STEPS} "
            "training steps; about 70 MB of memory), numpy below; "
            "GLASSNET_NUMBA=1 for always, =0 for never")


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``glassnet`` console script."""
    try:
        app(args=argv, prog_name="glassnet", standalone_mode=True)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
