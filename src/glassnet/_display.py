"""Jupyter display through IPython's protocol (``_repr_html_``, ``_repr_svg_``), and progress.

Nothing here imports IPython, ipywidgets or matplotlib at ``import glassnet``: the classes
only gain methods that IPython calls when it is the one displaying. ``text/plain`` stays each
object's ``repr``. The methods are attached where the classes live (one line each):

- ``Model._repr_html_`` = :func:`model_repr_html` (layers, output shapes, parameters);
- ``Tensor._repr_html_`` = :func:`tensor_repr_html` (shape, dtype, value and gradient);
- ``History._repr_html_`` = :func:`history_repr_html` and ``History.plot`` (loss and metrics);
- ``GradcheckReport._repr_html_`` = :func:`gradcheck_repr_html`.

:func:`in_notebook` and :func:`progress_bar` decide how training reports progress: a widget
bar in a notebook with ipywidgets, nothing but the per-epoch text lines in a notebook
without it (tqdm would warn there and draw on stderr), tqdm's text bar on a terminal.
"""

from __future__ import annotations

import html
import sys
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import os
    from collections.abc import Iterable

    from matplotlib.figure import Figure

    from .callbacks import History
    from .gradcheck import GradcheckReport
    from .layers.base import Layer
    from .models.model import Model
    from .tensor import Tensor

__all__ = ["in_notebook", "progress_bar", "model_repr_html", "tensor_repr_html",
           "history_repr_html", "history_plot", "gradcheck_repr_html", "LayerGradientReport",
           "show_figures_inline"]

_STYLE = ("<style>.gn-table{border-collapse:collapse;font-family:monospace;font-size:12px}"
          ".gn-table th,.gn-table td{padding:2px 10px;border-bottom:1px solid #ddd;"
          "text-align:left}.gn-table td.num{text-align:right}"
          ".gn-table caption{text-align:left;font-weight:bold;padding:4px 0}</style>")


def _e(x: object) -> str:
    return html.escape(str(x))


def in_notebook() -> bool:
    """True inside a Jupyter kernel (IPython already imported by the kernel, never by us)."""
    ip_mod = sys.modules.get("IPython")
    if ip_mod is None or "ipykernel" not in sys.modules:
        return False
    try:
        shell = ip_mod.get_ipython()
    except Exception:  # a half-initialised IPython: not a notebook we can draw into
        return False
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def _has_widgets() -> bool:
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


def progress_bar(**kwargs: Any) -> Any:
    """A tqdm bar for the training loop, or None where only text lines should appear.

    In a notebook: tqdm's widget bar when ipywidgets is installed, else None (so no
    ``TqdmWarning`` and no stderr output). Elsewhere: tqdm's text bar when stderr is a
    terminal, else None (a pipe or log file gets the per-epoch lines only).
    """
    if in_notebook():
        if not _has_widgets():
            return None
        from tqdm.notebook import tqdm as tqdm_nb

        return tqdm_nb(unit="step", leave=False, **kwargs)
    stream = sys.stderr
    if not (hasattr(stream, "isatty") and stream.isatty()):
        return None
    from tqdm import tqdm

    return tqdm(unit="step", leave=False, dynamic_ncols=True, **kwargs)


# ------------------------------------------------------------------ models
def _summary_rows(model: Model) -> tuple[list[tuple[Any, ...]], bool]:
    if hasattr(model, "summary_rows"):
        return [tuple(r) for r in model.summary_rows()], True
    rows = []
    shape = getattr(model, "input_shape", None)
    for ly in model.layers:
        if shape is not None:
            try:
                shape = tuple(ly.compute_output_shape(shape))
            except Exception:  # shape inference is best-effort for display
                shape = None
        rows.append((f"{ly.name} ({type(ly).__name__})", str(shape) if shape else "?",
                     _params(ly)))
    return rows, False


def _params(layer: Layer) -> int:
    try:
        return int(layer.count_params())
    except Exception:  # an unbuilt layer has no weights yet
        return 0


def model_repr_html(self: Model) -> str:
    """A model's summary as an HTML table: layer (type), output shape, parameters, totals.

    Examples:
        >>> from glassnet.layers import Dense
        >>> m = gn.models.Sequential([Dense(2, input_dim=3, name="d")])
        >>> "<td>d (Dense)</td><td>(None, 2)</td><td class=\\"num\\">8</td>" in m._repr_html_()
        True
    """
    rows, conn = _summary_rows(self)
    head = ["Layer (type)", "Output Shape", "Param #"] + (["Connected to"] if conn else [])
    out = [_STYLE, '<table class="gn-table">',
           f'<caption>Model: "{_e(getattr(self, "name", "?"))}"</caption>',
           "<tr>" + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr>"]
    for r in rows:
        cells = [f"<td>{_e(r[0])}</td>", f"<td>{_e(r[1])}</td>",
                 f'<td class="num">{int(r[2]):,}</td>']
        if conn:
            cells.append(f"<td>{_e(r[3])}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    total = _params(self)
    try:
        trainable = sum(int(w.size) for w in self.trainable_weights)
    except Exception:  # unbuilt
        trainable = 0
    out.append("</table>")
    out.append(f'<p style="font-family:monospace;font-size:12px">Total params: {total:,}<br>'
               f"Trainable params: {trainable:,}<br>"
               f"Non-trainable params: {total - trainable:,}</p>")
    return "".join(out)


# ------------------------------------------------------------------ tensors
def _preview(a: np.ndarray) -> str:
    return np.array2string(a, precision=4, separator=", ", threshold=30, edgeitems=3)


def tensor_repr_html(self: Tensor) -> str:
    """A tensor as HTML: shape, dtype, name, the op that made it, value and gradient.

    Examples:
        >>> t = gn.tensor([1.0, 2.0], requires_grad=True, name="w")
        >>> "<b>w</b>" in t._repr_html_() and "float32" in t._repr_html_()
        True
    """
    from . import backend

    value = backend.asnumpy(self.data)
    facts = [f"shape {_e(tuple(self.shape))}", _e(value.dtype)]
    if self.requires_grad:
        facts.append("requires_grad")
    ctx = getattr(self, "_ctx", None)
    if ctx is not None:
        facts.append(f"op {_e(ctx.describe())}")
    name = f"<b>{_e(self.name)}</b> · " if getattr(self, "name", None) else ""
    out = ['<div style="font-family:monospace;font-size:12px">',
           f"tensor · {name}{' · '.join(facts)}",
           f'<pre style="margin:2px 0">{_e(_preview(value))}</pre>']
    if self.grad is not None:
        out.append(f'grad<pre style="margin:2px 0">'
                   f"{_e(_preview(backend.asnumpy(self.grad)))}</pre>")
    out.append("</div>")
    return "".join(out)


# ------------------------------------------------------------------ History
def history_repr_html(self: History) -> str:
    """A History as an HTML table: one row per epoch, one column per logged value.

    Examples:
        >>> h = gn.callbacks.History(); h.on_train_begin()
        >>> h.on_epoch_end(0, {"loss": 0.5}); "<td class=\\"num\\">0.5000</td>" in h._repr_html_()
        True
    """
    hist = getattr(self, "history", {}) or {}
    if not hist:
        return "<p><i>History: no epochs recorded yet</i></p>"
    keys = list(hist)
    epochs = list(getattr(self, "epoch", [])) or list(range(len(hist[keys[0]])))
    n = max(len(v) for v in hist.values())
    out = [_STYLE, '<table class="gn-table"><caption>History</caption><tr><th>epoch</th>']
    out += [f"<th>{_e(k)}</th>" for k in keys]
    out.append("</tr>")
    # long runs: the first and last epochs, the middle elided
    shown = list(range(n)) if n <= 20 else [*range(10), None, *range(n - 10, n)]
    for i in shown:
        if i is None:
            out.append(f'<tr><td colspan="{len(keys) + 1}">…</td></tr>')
            continue
        ep = epochs[i] + 1 if i < len(epochs) else i + 1
        cells = "".join(
            f'<td class="num">{_num(hist[k][i]) if i < len(hist[k]) else ""}</td>' for k in keys)
        out.append(f"<tr><td>{ep}</td>{cells}</tr>")
    out.append("</table>")
    return "".join(out)


def _num(v: Any) -> str:
    try:
        return f"{float(v):.4f}"
    except (TypeError, ValueError):
        return _e(v)


def history_plot(self: History, metrics: str | Iterable[str] | None = None,
                 save: str | os.PathLike[str] | None = None) -> Figure:
    """Loss and each metric by epoch, train against validation (a matplotlib Figure).

    Args:
        metrics: names to draw (default: every logged name without ``val_``).
        save: optional path of a PNG to write.

    Returns:
        The matplotlib ``Figure``; in Jupyter it displays as a PNG.
    """
    from .plot import history as plot_history

    hist = getattr(self, "history", {}) or {}
    if not hist:
        raise ValueError("History.plot: no epochs recorded yet; call model.fit(...) first")
    if metrics is not None:
        names = [metrics] if isinstance(metrics, str) else list(metrics)
        unknown = [m for m in names if m not in hist]
        if unknown:
            raise ValueError(f"History.plot: unknown metric(s) {unknown}. Logged: {list(hist)}")
        hist = {k: v for k, v in hist.items()
                if k in names or (k.startswith("val_") and k[4:] in names)}
    show_figures_inline()
    return plot_history(hist, save=save)


# ------------------------------------------------------------------ gradcheck
def gradcheck_repr_html(self: GradcheckReport) -> str:
    """A :class:`GradcheckReport` as HTML: passed/failed and each input's errors."""
    ok = "passed" if self.ok else "FAILED"
    color = "#1a7f37" if self.ok else "#cf222e"
    out = [_STYLE, f'<table class="gn-table"><caption style="color:{color}">gradcheck {ok}'
           "</caption><tr><th>input</th><th>mode</th><th>max |abs err|</th>"
           "<th>max rel err</th></tr>"]
    for i, (a, r, m) in enumerate(zip(self.max_abs, self.max_rel, self.mode)):
        out.append(f'<tr><td>{i}</td><td>{_e(m)}</td><td class="num">{a:.3e}</td>'
                   f'<td class="num">{r:.3e}</td></tr>')
    out.append("</table>")
    return "".join(out)


class LayerGradientReport(dict):
    """``model.check_gradients``'s result: layer name → worst |backprop − numeric| error.

    A plain ``dict`` everywhere; in Jupyter an HTML table.

    Examples:
        >>> r = LayerGradientReport({"dense": 3.2e-09})
        >>> r["dense"] < 1e-6 and "<td>dense</td>" in r._repr_html_()
        True
    """

    def _repr_html_(self) -> str:
        out = [_STYLE, '<table class="gn-table"><caption>check_gradients: every weight '
               "agrees with finite differences</caption><tr><th>layer</th>"
               "<th>max |backprop − numeric|</th></tr>"]
        for name, err in self.items():
            out.append(f'<tr><td>{_e(name)}</td><td class="num">{float(err):.3e}</td></tr>')
        out.append("</table>")
        return "".join(out)


# ------------------------------------------------------------------ figures
def _figure_png(fig: Figure) -> bytes:
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def show_figures_inline() -> None:
    """In a notebook, let a returned matplotlib ``Figure`` display as PNG.

    glassnet's pictures are ``matplotlib.figure.Figure`` objects (no pyplot, no GUI); IPython
    shows them only when a PNG formatter knows the class, which matplotlib's inline backend
    registers only once pyplot is in use. This registers one if none is there. Outside a
    notebook it does nothing.
    """
    if not in_notebook():
        return
    from matplotlib.figure import Figure

    shell = sys.modules["IPython"].get_ipython()
    fmt = shell.display_formatter.formatters["image/png"]
    try:
        fmt.lookup_by_type(Figure)
    except KeyError:
        fmt.for_type(Figure, _figure_png)
