"""``LivePlot``: a callback that redraws the training curves after every epoch.

Like livelossplot: in a Jupyter notebook one figure is shown and replaced in place each epoch
(an IPython display handle, so the epoch lines above it stay); outside a notebook the same
figure is written to a PNG file after each epoch (atomically), for a viewer that reloads it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .callbacks import Callback

__all__ = ["LivePlot"]


class LivePlot(Callback):
    """Redraw loss and metrics (train vs validation) at the end of every ``every`` epochs.

    Args:
        metrics: names to draw (default: every logged name; ``val_*`` go with their name).
        path: the PNG written outside a notebook (default ``"liveplot.png"``).
        every: redraw every this many epochs (the last epoch is always drawn).

    Examples:
        >>> model.fit(x, y, epochs=20, validation_split=0.2,
        ...           callbacks=[gn.callbacks.LivePlot()])   # doctest: +SKIP
    """

    def __init__(self, metrics: list[str] | None = None, path: str | os.PathLike = "liveplot.png",
                 every: int = 1) -> None:
        super().__init__()
        if isinstance(every, bool) or int(every) != every or every < 1:
            raise ValueError(f"LivePlot: every must be a positive int. Received: {every!r}")
        self.metrics = [metrics] if isinstance(metrics, str) else metrics
        self.path = Path(path)
        self.every = int(every)
        self.logs: dict = {}
        self.figure: Any = None  # a matplotlib Figure once drawn
        self._handle = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.logs, self._handle = {}, None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        for k, v in (logs or {}).items():
            self.logs.setdefault(k, []).append(float(v))
        last = epoch + 1 == self.params.get("epochs")
        if (epoch + 1) % self.every == 0 or last:
            self._draw()

    def _curves(self) -> dict:
        if self.metrics is None:
            return dict(self.logs)
        return {k: v for k, v in self.logs.items()
                if k in self.metrics or (k.startswith("val_") and k[4:] in self.metrics)}

    def _draw(self) -> None:
        from . import _display
        from .plot import history

        curves = self._curves()
        if not curves:
            return
        self.figure = history(curves)
        if _display.in_notebook():
            from IPython.display import display

            _display.show_figures_inline()
            if self._handle is None:
                self._handle = display(self.figure, display_id=True)
            else:
                self._handle.update(self.figure)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        self.figure.savefig(tmp, format="png", dpi=100)
        os.replace(tmp, self.path)
