"""Figures and the self-contained ``report.html`` of a training run."""

from __future__ import annotations

import base64
import html
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .recipes import Recipe


def _predict_labels(model: Any, x: Any) -> np.ndarray:
    p = np.asarray(model.predict(x, verbose=0) if _takes_verbose(model) else model.predict(x))
    if p.ndim == 2 and p.shape[1] > 1:
        return p.argmax(axis=1)
    if p.dtype.kind == "f":
        return (p.reshape(-1) > 0.5).astype(int)
    return p.reshape(-1)


def _takes_verbose(model: Any) -> bool:
    import inspect

    try:
        return "verbose" in inspect.signature(model.predict).parameters
    except (TypeError, ValueError):
        return False


def make_figures(run: Path, rec: Recipe, model: Any, data: dict,
                 history: dict) -> dict[str, Path]:
    """Save the figures that fit ``rec`` as PNGs in ``run``; returns {title: path}."""
    from . import plot

    out: dict[str, Path] = {}

    def save(fig: Figure, name: str, title: str) -> None:
        p = run / f"{name}.png"
        fig.savefig(p, dpi=90, bbox_inches="tight")
        out[title] = p

    x_te, y_te = data.get("x_test"), data.get("y_test")
    for kind in rec.figures:
        # a figure that cannot be drawn is reported, never fails a run whose model is saved
        try:
            _figure(kind, save, model, data, history, x_te, y_te)
        except Exception as e:  # noqa: BLE001 - any plotting failure is reported, not fatal
            print(f"warning: figure {kind!r} skipped ({type(e).__name__}: {str(e)[:120]})",
                  file=sys.stderr)
    for title, arr in data.get("extra_images", {}).items():
        save(plot.image_grid(arr), title.replace(" ", "_").lower(), title)
    for title, fig in data.get("extra_figures", {}).items():
        save(fig, title.replace(" ", "_").lower(), title)
    return out


def _figure(kind: str, save: Callable[[Figure, str, str], None], model: Any, data: dict,
            history: dict, x_te: Any, y_te: Any) -> None:
    """Draw one figure of ``rec.figures`` (if it fits the data) and ``save`` it."""
    from . import plot

    if kind == "history" and history:
        save(plot.history(history), "history", "Loss and metrics per epoch")
    elif kind == "confusion_matrix" and x_te is not None:
        y_true = np.asarray(y_te)
        y_true = y_true.reshape(len(y_true), -1)
        y_true = y_true.argmax(1) if y_true.shape[1] > 1 else y_true.reshape(-1)
        names = data.get("class_names")
        ids = None if names is None else np.arange(len(names))
        fig = plot.confusion_matrix(y_true, _predict_labels(model, x_te), labels=ids,
                                    display_labels=names)
        save(fig, "confusion_matrix", "Confusion matrix (test set)")
    elif kind == "decision_regions":
        x, y = data.get("x_plot", data["x_train"]), data.get("y_plot", data["y_train"])
        save(plot.decision_regions(model, np.asarray(x), np.asarray(y).reshape(-1)),
             "decision_regions", "Decision regions")
    elif kind == "samples" and x_te is not None:
        k = min(16, len(x_te))
        imgs = np.asarray(data.get("images_test", x_te))[:k]
        if imgs.ndim not in (3, 4):  # tabular rows are not pictures
            return
        pred = _predict_labels(model, x_te[:k])
        names = data.get("class_names")
        labels = [str(names[i]) if names is not None else str(i) for i in pred]
        save(plot.image_grid(imgs, labels), "samples", "Sample predictions")
    elif kind == "errors" and hasattr(model, "errors_"):
        save(plot.errors(model), "errors", "Misclassifications per epoch")
    elif kind == "costs" and hasattr(model, "cost_"):
        save(plot.costs(model.cost_), "costs", "Cost per epoch (log scale)")
    elif kind == "filters" and hasattr(plot, "filters"):
        conv = [ly for ly in getattr(model, "layers", []) if type(ly).__name__ == "Conv2D"]
        if conv:
            save(plot.filters(conv[0]), "filters", "First-layer filters")


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:980px;color:#222;padding:0 1rem}
h1{margin-bottom:.2rem} .sub{color:#666;margin-top:0}
table{border-collapse:collapse;margin:1rem 0} td,th{border:1px solid #ddd;padding:.3rem .6rem;
text-align:right} th{background:#f5f5f5} td:first-child,th:first-child{text-align:left}
figure{display:inline-block;margin:1rem;vertical-align:top} figcaption{text-align:center;
color:#444} img{max-width:440px;border:1px solid #eee}
pre{background:#f7f7f7;padding:1rem;overflow-x:auto;font-size:.85rem}
"""

# Marks the page as fully rendered only when every figure decoded (the browser test reads it).
_JS = """
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  document.title = document.title + ' [figures ' + ok + '/' + imgs.length + ']';
  document.getElementById('figstatus').textContent = ok + ' of ' + imgs.length + ' figures';
});
"""


def write_report(run: Path, info: dict, history: dict, figs: dict) -> Path:
    """Write ``report.html``: one page, images embedded as data URIs, no external files."""
    esc = html.escape
    rows = "".join(
        f"<tr><td>{esc(k)}</td><td>{v:.4f}</td></tr>" for k, v in info["metrics"].items()
    )
    keys = [k for k in history if not k.startswith("_")]
    n = max((len(history[k]) for k in keys), default=0)
    hist_head = "".join(f"<th>{esc(k)}</th>" for k in keys)
    hist_rows = "".join(
        "<tr><td>" + str(i + 1) + "</td>" + "".join(
            f"<td>{history[k][i]:.4f}</td>" if i < len(history[k]) else "<td></td>" for k in keys
        ) + "</tr>" for i in range(n)
    )
    fig_html = ""
    for title, path in figs.items():
        b64 = base64.b64encode(Path(path).read_bytes()).decode("ascii")
        fig_html += (f'<figure><img alt="{esc(title)}" src="data:image/png;base64,{b64}">'
                     f"<figcaption>{esc(title)}</figcaption></figure>")
    t = info["timings_s"]
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>glassnet run: {esc(info['recipe'])}</title><style>{_CSS}</style></head>
<body><h1>glassnet · {esc(info['recipe'])}</h1>
<p class="sub">{esc(info['description'])} · seed {info['seed']} ·
trained in {t.get('fit_s', 0):.1f} s · <span id="figstatus"></span></p>
<h2>Results</h2><table><tr><th>metric</th><th>value</th></tr>{rows}</table>
<h2>Figures</h2>{fig_html or '<p>No figures for this recipe.</p>'}
<h2>History</h2><table><tr><th>epoch</th>{hist_head}</tr>{hist_rows}</table>
<h2>Run</h2><pre>{esc(json.dumps({k: info[k] for k in ('config', 'compile', 'versions',
'timings_s')}, indent=2))}</pre>
<script>{_JS}</script></body></html>
"""
    out = run / "report.html"
    tmp = run / ".report.html.tmp"
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)
    return out
