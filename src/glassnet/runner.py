"""Run a recipe: seed, data, model, fit with checkpoints, evaluate, figures, report.

This is what ``glassnet train`` calls; it is also usable from Python::

    from glassnet.runner import train_recipe
    result = train_recipe("digits", out_dir="runs/digits")

Checkpoints: after every epoch the model (weights + optimizer state) and the run state
(epoch, history, RNG state) are written atomically into ``<run>/checkpoint/``. A run that
was interrupted (Ctrl-C, or even ``kill -9``) resumes with ``resume=True`` from the last
complete epoch and ends with exactly the weights of an uninterrupted run.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import platform
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import backend
from .models.saving import ModelFileError
from .recipes import Recipe
from .recipes import get as get_recipe

if TYPE_CHECKING:
    from .callbacks import Callback
    from .models import Model

CKPT_DIR = "checkpoint"
STATE_FILE = "state.json"


class RunError(Exception):
    """A problem the CLI reports as one line (bad recipe, data, directory...)."""


class CheckpointError(RunError, ModelFileError):
    """A checkpoint that is corrupted, inconsistent or from another run (also a
    ``ModelFileError``, so one ``except`` covers the model file and its state)."""


def _atomic_write_text(path: Path, text: str) -> None:
    from .models.saving import _atomic_write

    _atomic_write(path, text)


def _jsonable(o: object) -> Any:
    if isinstance(o, dict):
        return {str(k): _jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_jsonable(v) for v in o]
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (str, int, float, bool)) or o is None:
        return o
    return repr(o)


# ------------------------------------------------------------------ checkpoints
def save_checkpoint(run_dir: Path, model: Model, epoch: int, history: dict,
                    recipe: str | None = None) -> None:
    """Write model+optimizer, then the state file that points at it (each atomic)."""
    ck = run_dir / CKPT_DIR
    ck.mkdir(parents=True, exist_ok=True)
    name = f"epoch-{epoch:05d}.glassnet"
    from .models.saving import _atomic_write, model_bytes

    data = model_bytes(model)
    _atomic_write(ck / name, data)
    state = {
        "epoch": epoch,
        "model_file": name,
        "model_sha256": hashlib.sha256(data).hexdigest(),
        "recipe": recipe,
        "history": _jsonable(history),
        "rng_state": _jsonable(backend.get_rng_state()),
    }
    state["digest"] = _state_digest(state)
    _atomic_write_text(ck / STATE_FILE, json.dumps(state))
    for old in ck.glob("epoch-*.glassnet"):
        if old.name != name:
            old.unlink(missing_ok=True)


_STATE_KEYS = {"epoch", "model_file", "model_sha256", "recipe", "history", "rng_state",
               "digest"}


def _state_digest(state: dict) -> str:
    """SHA-256 of the state without its digest: a flipped bit anywhere in state.json (or a
    model file from another checkpoint) is refused, not resumed from."""
    body = json.dumps({k: v for k, v in state.items() if k != "digest"}, sort_keys=True)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def load_checkpoint(run_dir: Path) -> tuple[dict[str, Any], Path] | None:
    """Return ``(state dict, model path)`` of the last complete checkpoint, or None.

    The state is checked field by field (epoch, model file, history, RNG state); anything
    wrong raises :class:`CheckpointError`.
    """
    st = run_dir / CKPT_DIR / STATE_FILE
    if not st.exists():
        return None
    try:
        state = json.loads(st.read_bytes().decode("utf-8"))
    except (ValueError, RecursionError, OSError) as e:
        raise CheckpointError(f"checkpoint state {st} is unreadable ({type(e).__name__})"
                              ) from None
    if not isinstance(state, dict):
        raise CheckpointError(f"checkpoint state {st} is not an object")
    unknown = set(state) - _STATE_KEYS
    if unknown:
        raise CheckpointError(f"checkpoint state {st} has unknown fields "
                              f"{sorted(unknown)[:3]} (corrupted)")
    # checkpoints written before the digest have neither field; both or neither, else refused
    if ("digest" in state or "model_sha256" in state) and \
            state.get("digest") != _state_digest(state):
        raise CheckpointError(f"checkpoint state {st} does not match its digest (corrupted)")
    epoch = state.get("epoch")
    if type(epoch) is not int or not 1 <= epoch <= 10_000_000:
        raise CheckpointError(f"checkpoint state {st}: epoch must be a positive integer. "
                              f"Received: {epoch!r}")
    if state.get("model_file") != f"epoch-{epoch:05d}.glassnet":
        raise CheckpointError(f"checkpoint state {st}: model_file must be "
                              f"'epoch-{epoch:05d}.glassnet'. Received: "
                              f"{str(state.get('model_file'))[:80]!r}")
    hist = state.get("history")
    if not isinstance(hist, dict) or not all(
            isinstance(k, str) and isinstance(v, list) and len(v) <= epoch
            and all(type(x) in (int, float) for x in v) for k, v in hist.items()):
        raise CheckpointError(f"checkpoint state {st}: history must map each metric to a "
                              f"list of at most {epoch} numbers")
    rec = state.get("recipe")
    if rec is not None and not isinstance(rec, str):
        raise CheckpointError(f"checkpoint state {st}: recipe must be a name")
    try:
        state["rng_state"] = _rng_state_from_json(state["rng_state"])
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise CheckpointError(f"checkpoint state {st}: bad rng_state ({type(e).__name__}: "
                              f"{e})") from None
    mf = run_dir / CKPT_DIR / state["model_file"]
    if not mf.is_file():
        raise CheckpointError(f"checkpoint state {st} names a missing model file {mf.name}")
    if "model_sha256" in state:
        h = hashlib.sha256()
        with open(mf, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        if h.hexdigest() != state["model_sha256"]:
            raise CheckpointError(f"checkpoint model file {mf} is not the one its state "
                                  "recorded (corrupted or replaced)")
    return state, mf


def _rng_state_from_json(s: dict) -> dict:
    out = {
        "bit_generator": s["bit_generator"],
        "state": {"state": int(s["state"]["state"]), "inc": int(s["state"]["inc"])},
        "has_uint32": int(s["has_uint32"]),
        "uinteger": int(s["uinteger"]),
    }
    if out["bit_generator"] != "PCG64":
        raise ValueError(f"unknown bit generator {str(out['bit_generator'])[:40]!r}")
    np.random.Generator(np.random.PCG64()).bit_generator.state = out  # validates it
    return out


def _checkpoint_callback(run_dir: Path, history_so_far: dict,
                         recipe: str | None = None) -> Callback:
    from .callbacks import Callback

    class _Checkpoint(Callback):
        """Saves weights, optimizer and RNG state after every epoch (for --resume)."""

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            from .distribution import is_root

            for k, v in (logs or {}).items():
                history_so_far.setdefault(k, []).append(float(v))
            if is_root():  # data-parallel: one writer (the logs are global on every rank)
                save_checkpoint(run_dir, self.model, epoch + 1, history_so_far, recipe)

    return _Checkpoint()


def _every_nth_epoch(every: int) -> Callback:
    """The epoch summary line (as ``fit(verbose=2)`` prints it) every ``every`` epochs and
    for the last one, so long runs of tiny models print a screenful, not one line each."""
    from .callbacks import Callback, _fmt

    class _EveryNth(Callback):
        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            total = self.params.get("epochs")
            if (epoch + 1) % every and epoch + 1 != total and not self.model.stop_training:
                return
            shown = " - ".join(f"{k}: {_fmt(v)}" for k, v in (logs or {}).items())
            print(f"Epoch {epoch + 1}/{total} - {time.perf_counter() - self.t0:.1f}s - "
                  f"{shown}", flush=True)

    return _EveryNth()


# ------------------------------------------------------------------ the run
def _versions() -> dict:
    v = {"glassnet": __import__("glassnet").__version__, "numpy": np.__version__,
         "python": platform.python_version()}
    for mod in ("sklearn", "matplotlib"):
        try:
            v[mod] = __import__(mod).__version__
        except ImportError:
            pass
    return v


_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def check_run_name(name: str) -> str:
    """``name`` if it is a safe slug for a run directory under ``runs/``, else RunError."""
    if not isinstance(name, str) or not _SLUG.fullmatch(name) or ".." in name:
        raise RunError(f"recipe name must be 1-64 letters, digits, '-', '_' or '.', starting "
                       f"with a letter or digit (it names the run directory). Received: "
                       f"{str(name)[:80]!r}")
    return name


def prepare_run_dir(out: str | os.PathLike | None, recipe: str, resume: bool) -> Path:
    check_run_name(recipe)
    if out is None:
        base = Path("runs")
        if resume:
            cands = sorted(base.glob(f"{recipe}-*")) if base.exists() else []
            if not cands:
                raise RunError(f"--resume: no earlier run of {recipe!r} under {base}/")
            return cands[-1]
        out = base / f"{recipe}-{time.strftime('%Y%m%d-%H%M%S')}"
    run = Path(out)
    if resume and not run.is_dir():
        raise RunError(f"--resume: {run} does not exist; start the run without --resume")
    try:
        run.mkdir(parents=True, exist_ok=True)
        probe = run / f".write-test-{os.getpid()}"
        probe.write_text("ok")
        probe.unlink()
    except OSError as e:
        raise RunError(f"output directory {run} is not writable ({e.strerror or e})") from None
    return run


def _resume_state(run: Path, rec: Recipe) -> tuple[dict[str, Any], Path]:
    """The checkpoint to resume ``rec`` from in ``run``; refuses another recipe's run."""
    owner = None
    metrics = run / "metrics.json"
    ck = load_checkpoint(run)
    if ck is not None:
        owner = ck[0].get("recipe")
    if owner is None and metrics.is_file():
        try:
            owner = json.loads(metrics.read_text(encoding="utf-8")).get("recipe")
        except (ValueError, OSError, AttributeError):
            owner = None
    if owner is not None and owner != rec.name:
        raise RunError(f"--resume: {run} holds a run of recipe {owner!r}, not {rec.name!r}; "
                       "refusing to overwrite it (choose another --out)")
    if rec.kind != "keras":
        raise RunError(f"--resume: recipe {rec.name!r} trains in one go and keeps no "
                       "checkpoints; run it again without --resume")
    if ck is None:
        raise RunError(f"--resume: no checkpoint in {run / CKPT_DIR}; start the run without "
                       "--resume")
    return ck


def train_recipe(recipe: str | Recipe, out_dir: str | os.PathLike | None = None,
                 epochs: int | None = None, batch_size: int | None = None, seed: int = 0,
                 data_dir: str | os.PathLike | None = None,
                 resume: bool = False, fast: bool = False, verbose: int = 1,
                 report: bool = True) -> dict:
    """Train a recipe end to end and write its run directory. Returns ``metrics.json``'s dict.

    Args:
        recipe: a name from ``glassnet recipes`` or a :class:`Recipe`.
        out_dir: run directory (default ``runs/<recipe>-<time>``).
        epochs, batch_size: override the recipe's defaults.
        seed: one seed for init, shuffling, dropout, augmentation.
        data_dir: where datasets are cached (sets ``GLASSNET_DATA_DIR``).
        resume: continue from the last checkpoint in ``out_dir``.
        fast: the recipe's small settings (used by tests).
    """
    rec = get_recipe(recipe) if isinstance(recipe, str) else recipe
    from . import distribution

    dist = None
    if distribution.size() > 1:  # started by mpiexec (`glassnet train --workers N`)
        if distribution.active() is None:
            distribution.set_distribution(distribution.DataParallel())
        dist = distribution.active()
        if dist is not None and dist.rank != 0:  # rank 0 prints and writes the run dir
            verbose, report = 0, False
    if data_dir is not None:
        os.environ["GLASSNET_DATA_DIR"] = str(data_dir)
    if epochs is not None and epochs < 0:
        raise RunError(f"--epochs must be >= 0. Received: {epochs}")
    if batch_size is not None and batch_size <= 0:
        raise RunError(f"--batch-size must be > 0. Received: {batch_size}")
    if dist is None or dist.rank == 0:
        run = prepare_run_dir(out_dir, rec.name, resume)
    if dist is not None:  # one run directory for all ranks: rank 0's
        run = Path(dist.broadcast(str(run) if dist.rank == 0 else None))
    ck = _resume_state(run, rec) if resume else None
    cfg = {"recipe": rec.name, "seed": seed, "fast": fast, **(rec.fast if fast else {})}
    fit_kw = dict(rec.fit)
    if fast:
        fit_kw.update({k: v for k, v in rec.fast.items() if k in ("epochs", "batch_size")})
    if epochs is not None:
        fit_kw["epochs"] = epochs
    if batch_size is not None:
        fit_kw["batch_size"] = batch_size
    cfg["fit"] = fit_kw

    backend.set_seed(seed)
    t0 = time.perf_counter()
    data = rec.load_data(cfg)
    model = rec.build(data, cfg)
    history: dict = {}
    start_epoch = 0
    timings = {}
    if rec.kind == "keras":
        model.compile(**rec.compile)
        if ck is not None:
            state, mf = ck
            from .models import load_model

            loaded = load_model(mf)
            try:
                model.set_weights(loaded.get_weights())
                model.optimizer.set_state(loaded.optimizer.get_state())  # type: ignore[union-attr]  # None -> AttributeError, caught below
            except (ValueError, AttributeError) as e:
                raise CheckpointError(f"checkpoint {mf} does not fit recipe {rec.name!r}'s "
                                      f"model ({e})") from None
            total = int(fit_kw.get("epochs", 1))
            if state["epoch"] > total:
                raise CheckpointError(f"--resume: the checkpoint is at epoch {state['epoch']}"
                                      f", past the run's {total} epochs")
            backend.set_rng_state(state["rng_state"])
            history = {k: list(v) for k, v in state["history"].items()}
            start_epoch = state["epoch"]
            if verbose:
                print(f"Resuming {rec.name} from epoch {start_epoch} in {run}")
        cbs = [_checkpoint_callback(run, history, rec.name)] + list(cfg.get("callbacks", []))
        fit_verbose, epochs = verbose, int(fit_kw.get("epochs", 1))
        if verbose and epochs - start_epoch > 100:  # xor's 1,000 epochs: 20 lines, not 1,000
            cbs.append(_every_nth_epoch(max(1, epochs // 20)))
            fit_verbose = 0
        t_fit = time.perf_counter()
        try:
            model.fit(data["x_train"], data["y_train"], callbacks=cbs,
                      initial_epoch=start_epoch, verbose=fit_verbose,
                      **{k: v for k, v in fit_kw.items()})
        except KeyboardInterrupt:
            ck = load_checkpoint(run)
            done = ck[0]["epoch"] if ck else 0
            raise RunError(
                f"interrupted; checkpoint of epoch {done} is in {run / CKPT_DIR}. "
                f"Continue with: glassnet train {rec.name} --resume --out {run}"
            ) from None
        timings["fit_s"] = time.perf_counter() - t_fit
    else:
        if rec.train is None:
            raise RunError(f"recipe {rec.name!r} is of kind {rec.kind!r} but has no train step")
        t_fit = time.perf_counter()
        history = rec.train(model, data, cfg) or {}
        timings["fit_s"] = time.perf_counter() - t_fit

    metrics = _evaluate(rec, model, data)
    timings["total_s"] = time.perf_counter() - t0
    if dist is None or dist.rank == 0:
        if dist is not None:
            cfg["workers"] = dist.size
        with distribution.local():  # rank 0 alone: the figures' predictions gather nothing
            _write_outputs(run, rec, model, data, history, metrics, cfg, timings, report,
                           verbose)
    return {"run_dir": str(run), **metrics}


def _evaluate(rec: Recipe, model: Any, data: dict) -> dict:
    if rec.evaluate is not None:
        return rec.evaluate(model, data)
    out = {}
    if rec.kind == "keras":
        for split in ("train", "test"):
            x, y = data.get(f"x_{split}"), data.get(f"y_{split}")
            if x is None:
                continue
            r = model.evaluate(x, y, verbose=0, return_dict=True)
            out.update({f"{split}_{k}": float(v) for k, v in r.items()})
    else:
        for split in ("train", "test"):
            x, y = data.get(f"x_{split}"), data.get(f"y_{split}")
            if x is not None and hasattr(model, "score"):
                out[f"{split}_accuracy"] = float(model.score(x, y))
    return out


def _write_outputs(run: Path, rec: Recipe, model: Any, data: dict, history: dict,
                   metrics: dict, cfg: dict, timings: dict[str, float], report: bool,
                   verbose: int) -> None:
    from . import __version__

    if hasattr(model, "save"):
        model.save(run / "model.glassnet")
    keys = list(history)
    n = max((len(v) for v in history.values()), default=0)
    with open(run / "history.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["epoch", *keys])
        for i in range(n):
            w.writerow([i + 1, *[history[k][i] if i < len(history[k]) else "" for k in keys]])
    info = {
        "recipe": rec.name,
        "description": rec.description,
        "metrics": metrics,
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
        "versions": _versions(),
        "seed": cfg["seed"],
        "config": _jsonable({k: v for k, v in cfg.items() if k != "callbacks"}),
        "compile": _jsonable(rec.compile),
        "glassnet": __version__,
        "command": " ".join(sys.argv),
    }
    _atomic_write_text(run / "metrics.json", json.dumps(info, indent=2))
    figs = {}
    try:
        from .report import make_figures, write_report

        figs = make_figures(run, rec, model, data, history)
        if report:
            write_report(run, info, history, figs)
    except ImportError as e:  # matplotlib missing: numbers only
        if verbose:
            print(f"(no figures: {e}; install glassnet[plot])")
    if verbose:
        shown = ", ".join(f"{k}={v:.4f}" for k, v in metrics.items())
        print(f"{rec.name}: {shown}")
        print(f"Report: {run / 'report.html'}")
