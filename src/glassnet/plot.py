"""Course pictures with matplotlib (optional extra, imported lazily inside each function).

Every function builds a ``matplotlib.figure.Figure`` (no pyplot global state, safe under
Agg), optionally saves it with ``save=path`` and returns the figure. One function per picture.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from numpy.typing import ArrayLike

    from glassnet._typing import TensorLike
    from glassnet.callbacks import History
    from glassnet.layers.base import Layer
    from glassnet.tensor import Tensor

__all__ = ["activations", "errors", "costs", "history", "decision_regions", "image_grid",
           "confusion_matrix", "graph"]


def _figure(figsize: tuple[float, float] = (5, 4)) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, dpi=100)


def _finish(fig: Figure, save: str | os.PathLike[str] | None) -> Figure:
    fig.tight_layout()
    if save is not None:
        fig.savefig(save, dpi=100)
    return fig


_ZOO = ("binary_step", "linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "swish",
        "softplus")


def activations(names: Sequence[str] = _ZOO, save: str | None = None) -> Figure:
    """The course's 3x3 activation zoo: each function and its derivative by glassnet autograd.

    Example:
        >>> fig = gn.plot.activations(save="activations.png")
    """
    from glassnet import activations as acts
    from glassnet.tensor import tensor

    x = np.linspace(-5, 5, 201)
    fig = _figure(figsize=(10, 9))
    ncols = 3
    for i, name in enumerate(names):
        fn = acts.get(name)
        t = tensor(x, requires_grad=True, dtype="float64")
        y = fn(t)
        y.sum().backward()  # elementwise, so d(sum)/dx is the pointwise derivative
        ax = fig.add_subplot(-(-len(names) // ncols), ncols, i + 1)
        ax.plot(x, y.data, label=name)
        ax.plot(x, cast("np.ndarray", t.grad), "--", label="derivative")  # set by backward
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return _finish(fig, save)


def errors(model: Any, save: str | None = None) -> Figure:
    """Misclassifications per epoch of a fitted classic learner (``model.errors_``).

    Example:
        >>> fig = gn.plot.errors(gn.classic.Perceptron().fit(X, y), save="errors.png")
    """
    errs = getattr(model, "errors_", None)
    if errs is None:
        raise ValueError(
            f"plot.errors: model must have an errors_ attribute (a fitted Perceptron). "
            f"Received: {type(model).__name__}"
        )
    fig = _figure()
    ax = fig.add_subplot()
    ax.plot(range(1, len(errs) + 1), errs, marker="o")
    ax.set_xlabel("Epochs")
    ax.set_ylabel("Number of updates")
    return _finish(fig, save)


def costs(*curves: Any, labels: Sequence[str] | None = None, log: bool = True,
          save: str | None = None) -> Figure:
    """One or several cost curves (sequences or fitted models with ``cost_``), log scale.

    Example:
        >>> fig = gn.plot.costs(ada1, ada2, labels=["lr 0.01", "lr 0.0001"])
    """
    if not curves:
        raise ValueError("plot.costs: need at least one cost curve. Received: none")
    if labels is not None and len(labels) != len(curves):
        raise ValueError(
            f"plot.costs: labels must match the curves ({len(curves)}). "
            f"Received: {len(labels)} labels"
        )
    fig = _figure(figsize=(5 * len(curves) if len(curves) <= 3 else 10, 4))
    for i, c in enumerate(curves):
        values = np.asarray(getattr(c, "cost_", c), dtype=float)
        ax = fig.add_subplot(1, len(curves), i + 1)
        y = np.log10(values) if log else values
        ax.plot(range(1, len(values) + 1), y, marker="o")
        ax.set_xlabel("Epochs")
        ax.set_ylabel("log10(cost)" if log else "cost")
        if labels is not None:
            ax.set_title(labels[i])
    return _finish(fig, save)


def history(h: History | dict[str, Any],
            save: str | os.PathLike[str] | None = None) -> Figure:
    """Loss and metric curves, train vs validation; h is a History or its ``.history`` dict.

    Example:
        >>> fig = gn.plot.history(model.fit(x, y, validation_split=0.2))
    """
    hist = getattr(h, "history", h)
    if not isinstance(hist, dict) or not hist:
        raise ValueError(
            f"plot.history: expected a History or a non-empty dict of curves. "
            f"Received: {type(h).__name__}"
        )
    names = [k for k in hist if not k.startswith("val_")]
    fig = _figure(figsize=(4.5 * len(names), 3.5))
    for i, name in enumerate(names):
        ax = fig.add_subplot(1, len(names), i + 1)
        ax.plot(range(1, len(hist[name]) + 1), hist[name], label="train")
        if "val_" + name in hist:
            ax.plot(range(1, len(hist["val_" + name]) + 1), hist["val_" + name],
                    label="validation")
        ax.set_xlabel("Epoch")
        ax.set_ylabel(name)
        ax.legend()
    return _finish(fig, save)


def _predict_labels(model: Any, grid: np.ndarray) -> np.ndarray:
    pred = model.predict(grid)  # once: a glassnet Tensor, a NumPy array or a list
    out = np.asarray(getattr(pred, "data", pred))
    if out.ndim == 2 and out.shape[1] > 1:
        return out.argmax(axis=1)  # class probabilities
    out = out.reshape(len(grid))
    if np.issubdtype(out.dtype, np.floating) and out.min() >= 0 and out.max() <= 1:
        return (out >= 0.5).astype(int)  # sigmoid probabilities
    return out


def decision_regions(model: Any, X: ArrayLike, y: ArrayLike, resolution: float = 0.02,
                     save: str | None = None) -> Figure:
    """Decision regions of any 2-feature classifier (glassnet model, classic learner, sklearn).

    Args:
        model: object with ``predict(X)``; probabilities are thresholded at 0.5 / argmaxed.
        X: features, shape (n, 2). y: labels, shape (n,).
        resolution: grid step.

    Example:
        >>> fig = gn.plot.decision_regions(perceptron, X, y)
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(
            f"plot.decision_regions: X must have shape (n, 2). Received: shape {X.shape}"
        )
    x1, x2 = X[:, 0], X[:, 1]
    xx1, xx2 = np.meshgrid(np.arange(x1.min() - 1, x1.max() + 1, resolution),
                           np.arange(x2.min() - 1, x2.max() + 1, resolution))
    grid = np.c_[xx1.ravel(), xx2.ravel()]
    z = _predict_labels(model, grid)
    classes = np.unique(np.concatenate([np.unique(y), np.unique(z)]))
    zi = np.searchsorted(classes, z).reshape(xx1.shape)
    fig = _figure()
    ax = fig.add_subplot()
    ax.contourf(xx1, xx2, zi, alpha=0.3, levels=np.arange(len(classes) + 1) - 0.5,
                cmap="coolwarm")
    markers = "so^vD"
    for i, c in enumerate(np.unique(y)):
        ax.scatter(X[y == c, 0], X[y == c, 1], marker=markers[i % 5], label=str(c),
                   edgecolor="black")
    ax.legend(loc="upper left")
    return _finish(fig, save)


def image_grid(images: ArrayLike, labels: Sequence[Any] | np.ndarray | None = None,
               ncols: int = 8, save: str | None = None) -> Figure:
    """Grid of images (n, h, w) or (n, h, w, c) with optional titles.

    Example:
        >>> fig = gn.plot.image_grid(x_train[:16], y_train[:16], ncols=8)
    """
    images = np.asarray(images)
    if images.ndim not in (3, 4):
        raise ValueError(
            f"plot.image_grid: images must be (n, h, w) or (n, h, w, c). "
            f"Received: shape {images.shape}"
        )
    n = len(images)
    nrows = -(-n // ncols)
    fig = _figure(figsize=(1.4 * min(n, ncols), 1.6 * nrows))
    for i in range(n):
        ax = fig.add_subplot(nrows, min(n, ncols), i + 1)
        img = images[i]
        ax.imshow(img.squeeze(-1) if img.ndim == 3 and img.shape[-1] == 1 else img,
                  cmap="gray")
        ax.axis("off")
        if labels is not None:
            ax.set_title(str(labels[i]), fontsize=11)
    return _finish(fig, save)


def confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike,
                     labels: Sequence[Any] | np.ndarray | None = None,
                     display_labels: Sequence[Any] | None = None,
                     normalize: str | None = None, save: str | None = None) -> Figure:
    """Confusion matrix (computed by scikit-learn) with counts in the cells.

    Args:
        y_true, y_pred: class ids or labels, shape (n,).
        labels: the label values to index the matrix by (scikit-learn's ``labels``);
            default: the sorted union of the values in ``y_true`` and ``y_pred``.
        display_labels: names to show on the axes, one per entry of ``labels``
            (e.g. ``class_names`` when the ids are 0..k-1).
        normalize: ``None``, ``"true"``, ``"pred"`` or ``"all"`` (scikit-learn's meaning).

    Example:
        >>> fig = gn.plot.confusion_matrix(y_test, model.predict(x_test).argmax(1))
    """
    from sklearn.metrics import confusion_matrix as sk_confusion

    y_true, y_pred = np.asarray(y_true).reshape(-1), np.asarray(y_pred).reshape(-1)
    if labels is None:
        labels = np.unique(np.concatenate([y_true, y_pred]))
    if display_labels is not None and len(display_labels) != len(labels):
        raise ValueError(
            f"confusion_matrix: display_labels needs one name per label ({len(labels)}). "
            f"Received: {len(display_labels)} names"
        )
    cm = sk_confusion(y_true, y_pred, labels=labels, normalize=normalize)
    fig = _figure()
    ax = fig.add_subplot()
    ax.imshow(cm, cmap="Blues")
    dark = cm.max() / 2 if cm.size else 0
    for (i, j), v in np.ndenumerate(cm):  # white on dark cells, as scikit-learn draws it
        ax.text(j, i, f"{v:.2f}" if normalize else str(v), ha="center", va="center",
                color="white" if v > dark else "black")
    names = display_labels if display_labels is not None else labels
    ax.set_xticks(range(len(names)), [str(t) for t in names])
    ax.set_yticks(range(len(names)), [str(t) for t in names])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    return _finish(fig, save)


def graph(t: Tensor, save: str | None = None) -> Figure:
    """Computational graph of tensor ``t``: one box per node (op, shape), arrows input → op.

    Nodes come from ``gn.graph(t).nodes``; the depth of a node (longest path from an input)
    sets its column. Example:
        >>> fig = gn.plot.graph((x * w).sum())
    """
    from glassnet.graph import graph as build

    nodes = build(t).nodes
    depth: dict[int, int] = {}
    for n in nodes:  # nodes are topologically ordered, inputs first
        depth[n.id] = 1 + max((depth[i] for i in n.inputs), default=-1)
    rows: dict[int, int] = {}
    pos = {}
    for n in nodes:
        d = depth[n.id]
        pos[n.id] = (d, rows.get(d, 0))
        rows[d] = rows.get(d, 0) + 1
    fig = _figure(figsize=(2 + 1.8 * (max(depth.values()) + 1), 1 + 1.0 * max(rows.values())))
    ax = fig.add_subplot()
    for n in nodes:
        x1, y1 = pos[n.id]
        for i in n.inputs:
            x0, y0 = pos[i]
            ax.annotate("", xy=(x1, -y1), xytext=(x0, -y0),
                        arrowprops={"arrowstyle": "->", "color": "gray"})
        label = f"{n.name or n.op}\n{tuple(n.shape)}"
        ax.text(x1, -y1, label, ha="center", va="center", fontsize=8,
                bbox={"boxstyle": "round", "fc": "lightblue" if n.inputs else "lightyellow"})
    ax.set_xlim(-0.7, max(depth.values()) + 0.7)
    ax.set_ylim(-max(rows.values()) + 0.3, 0.7)
    ax.axis("off")
    return _finish(fig, save)


# --- vision/recurrent/generative pictures (other helpers append below)


# --- generative models: autoencoders and GANs
__all__ += ["reconstructions", "latent_scatter", "gan_losses", "tiles"]


def _as_images(a: ArrayLike, image_shape: Sequence[int] | None) -> np.ndarray:
    a = np.asarray(a)
    if image_shape is not None:
        return a.reshape((len(a), *image_shape))
    if a.ndim == 2:  # flattened square images such as MNIST's 784
        side = int(round(np.sqrt(a.shape[1])))
        if side * side != a.shape[1]:
            raise ValueError(f"plot: cannot draw samples of {a.shape[1]} features as square "
                             "images; pass image_shape")
        return a.reshape(len(a), side, side)
    return a


def reconstructions(model: Any, x: ArrayLike, n: int = 8,
                    image_shape: Sequence[int] | None = None,
                    save: str | None = None) -> Figure:
    """Originals (top row) above their reconstructions by ``model`` (bottom row).

    Args:
        model: an autoencoder (anything with ``predict(x)`` returning x's shape).
        x: images (N, h, w[, c]) or flattened (N, h*w).
        n: how many columns. image_shape: shape to draw one sample as (default: as given,
            flattened square images are unflattened).

    Example:
        >>> fig = gn.plot.reconstructions(ae, x_test, n=10)
    """
    x = np.asarray(x)[:n]
    if len(x) == 0:
        raise ValueError("plot.reconstructions: x is empty")
    pred = np.asarray(model.predict(x))
    top, bottom = _as_images(x, image_shape), _as_images(pred, image_shape)
    k = len(top)
    fig = _figure(figsize=(1.1 * k, 2.5))
    for row, (imgs, title) in enumerate(((top, "input"), (bottom, "reconstruction"))):
        for i in range(k):
            ax = fig.add_subplot(2, k, row * k + i + 1)
            img = imgs[i]
            ax.imshow(img.squeeze(-1) if img.ndim == 3 and img.shape[-1] == 1 else img,
                      cmap="gray", vmin=0, vmax=1 if img.max() <= 1 else None)
            ax.axis("off")
            if i == 0:
                ax.set_title(title, fontsize=8, loc="left")
    return _finish(fig, save)


def latent_scatter(codes: Any, labels: ArrayLike | None = None,
                   save: str | None = None) -> Figure:
    """2-D codes (N, 2) as a scatter plot coloured by label (e.g. digit class).

    Codes with more than 2 dimensions are projected on their first two principal axes.

    Example:
        >>> fig = gn.plot.latent_scatter(ae.encode(x_test), y_test)
    """
    z = np.asarray(codes, dtype=float).reshape(len(codes), -1)
    if z.shape[1] < 2:
        raise ValueError(f"plot.latent_scatter: codes need at least 2 dimensions. "
                         f"Received: shape {np.shape(codes)}")
    projected = z.shape[1] > 2
    if projected:
        zc = z - z.mean(0)
        z = zc @ np.linalg.svd(zc, full_matrices=False)[2][:2].T
    fig = _figure(figsize=(5.5, 4.5))
    ax = fig.add_subplot()
    if labels is None:
        ax.scatter(z[:, 0], z[:, 1], s=4)
    else:
        lab = np.asarray(labels).reshape(-1)
        sc = ax.scatter(z[:, 0], z[:, 1], c=lab, cmap="tab10", s=4)
        fig.colorbar(sc, ax=ax, ticks=np.unique(lab) if len(np.unique(lab)) <= 10 else None)
    ax.set_xlabel("PC 1" if projected else "code 1")
    ax.set_ylabel("PC 2" if projected else "code 2")
    return _finish(fig, save)


def gan_losses(history: History | dict[str, Any], save: str | None = None) -> Figure:
    """Discriminator and generator losses per epoch on one axis (``GAN.fit``'s history).

    Example:
        >>> fig = gn.plot.gan_losses(gan.fit(x, epochs=10))
    """
    h = getattr(history, "history", history)
    if not isinstance(h, dict) or "d_loss" not in h or "g_loss" not in h:
        raise ValueError("plot.gan_losses: expected a dict with 'd_loss' and 'g_loss'. "
                         f"Received: {type(history).__name__}")
    fig = _figure(figsize=(5, 3.5))
    ax = fig.add_subplot()
    for key, label in (("d_loss", "discriminator"), ("g_loss", "generator")):
        ax.plot(range(1, len(h[key]) + 1), h[key], marker="o", ms=3, label=label)
    ax.set_xlabel("Epoch")
    ax.set_ylabel("loss")
    ax.legend()
    return _finish(fig, save)


def tiles(images: ArrayLike, ncols: int = 8, title: str | None = None, pad: int = 1,
          normalize: bool = False, save: str | None = None) -> Figure:
    """Many small grey images (n, h, w) as one mosaic in one axes (fast for dozens).

    Args:
        images: (n, h, w), or (n, h*w) square images flattened.
        ncols: images per row. pad: pixels between tiles.
        normalize: scale each image to [0, 1] on its own (for weights such as RBM filters).

    Example:
        >>> fig = gn.plot.tiles(rbm.components_, ncols=8, normalize=True)
    """
    a = _as_images(np.asarray(images, dtype=float), None)
    if a.ndim == 4 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim != 3 or len(a) == 0:
        raise ValueError(f"plot.tiles: expected images (n, h, w). Received: shape "
                         f"{np.shape(images)}")
    if normalize:
        lo = a.min(axis=(1, 2), keepdims=True)
        a = (a - lo) / np.maximum(a.max(axis=(1, 2), keepdims=True) - lo, 1e-12)
    n, h, w = a.shape
    cols = min(ncols, n)
    rows = -(-n // cols)
    canvas = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad), np.nan)
    for i in range(n):
        r, c = divmod(i, cols)
        canvas[pad + r * (h + pad):pad + r * (h + pad) + h,
               pad + c * (w + pad):pad + c * (w + pad) + w] = a[i]
    fig = _figure(figsize=(0.6 * cols + 0.4, 0.6 * rows + (0.6 if title else 0.3)))
    ax = fig.add_subplot()
    ax.imshow(canvas, cmap="gray", interpolation="nearest")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=9)
    return _finish(fig, save)


# --- vision: convolution filters, feature maps, misclassified images
__all__ += ["filters", "feature_maps", "misclassified"]


def _grid_shape(n: int, ncols: int | None) -> tuple[int, int]:
    cols = min(n, ncols or int(np.ceil(np.sqrt(n))))
    return -(-n // cols), cols


def _mosaic(a: np.ndarray, cols: int, pad: int = 1, fill: float = np.nan) -> np.ndarray:
    """Tiles (n, h, w[, 3]) in one canvas, tile i at row i // cols, column i % cols.

    One image in one axes draws dozens of panels in a fraction of the time of one axes each.
    """
    n, h, w = a.shape[:3]
    rows = -(-n // cols)
    canvas = np.full((rows * (h + pad) - pad, cols * (w + pad) - pad) + a.shape[3:], fill,
                     dtype=np.float64)
    for i in range(n):  # one slice assignment per tile, not per pixel
        r, c = divmod(i, cols)
        canvas[r * (h + pad):r * (h + pad) + h, c * (w + pad):c * (w + pad) + w] = a[i]
    return canvas


def filters(layer_or_kernel: Layer | TensorLike, max_filters: int = 64,
            ncols: int | None = None, save: str | None = None) -> Figure:
    """Grid of a convolution layer's kernels, one tile per output filter.

    Tiles share one colour scale centred on 0 (red positive, blue negative) with a colour
    bar; filters over 3 input channels are drawn as RGB tiles (each scaled to [0, 1]),
    otherwise the first input channel is drawn. Tile ``i`` sits at row ``i // ncols``,
    column ``i % ncols`` of one image, 1-pixel gaps between tiles.

    Args:
        layer_or_kernel: a built ``Conv2D`` (its ``kernel``) or a kernel array
            (kh, kw, in, out) — Keras's layout — or (kh, kw, out) for one input channel.
        max_filters: draw at most this many (the first ones).
        ncols: tiles per row (default: a square grid).

    Example:
        >>> fig = gn.plot.filters(model.layers[0], save="filters.png")
    """
    from glassnet import backend
    from glassnet.layers.base import Layer

    if isinstance(layer_or_kernel, Layer) and not hasattr(layer_or_kernel, "kernel"):
        state = "is not built yet (call it or fit the model first)" if not \
            layer_or_kernel.built else "has no kernel"
        raise ValueError(f"plot.filters: layer '{layer_or_kernel.name}' {state}. "
                         f"Received: {layer_or_kernel!r}")
    k = getattr(layer_or_kernel, "kernel", layer_or_kernel)
    k = np.asarray(backend.asnumpy(getattr(k, "data", k)), dtype=np.float64)
    if k.ndim == 3:
        k = k[:, :, None, :]
    if k.ndim != 4 or k.shape[3] == 0:
        raise ValueError(
            "plot.filters: expected a Conv2D layer or a kernel (kh, kw, in, out). "
            f"Received: shape {k.shape}"
        )
    n = min(k.shape[3], int(max_filters))
    rows, cols = _grid_shape(n, ncols)
    fig = _figure(figsize=(0.55 * cols + 1.2, 0.55 * rows + 0.4))
    ax = fig.add_subplot()
    ax.axis("off")
    if k.shape[2] == 3:
        t = np.moveaxis(k[..., :n], 3, 0)
        lo = t.min(axis=(1, 2, 3), keepdims=True)
        t = (t - lo) / np.maximum(t.max(axis=(1, 2, 3), keepdims=True) - lo, 1e-12)
        ax.imshow(_mosaic(t, cols, fill=1.0), interpolation="nearest")
        return _finish(fig, save)
    import matplotlib as mpl

    lim = float(np.abs(k[:, :, 0, :n]).max()) or 1.0
    cmap = mpl.colormaps["bwr"].with_extremes(bad="white")
    im = ax.imshow(_mosaic(np.moveaxis(k[:, :, 0, :n], 2, 0), cols), cmap=cmap, vmin=-lim,
                   vmax=lim, interpolation="nearest")
    fig.colorbar(im, ax=ax, fraction=0.04, pad=0.03)
    return _finish(fig, save)


def _layer_index(model: Any, layer: Layer | str | int) -> int:
    layers = list(getattr(model, "layers", []))
    if isinstance(layer, (int, np.integer)) and not isinstance(layer, bool):
        if not -len(layers) <= layer < len(layers):
            raise ValueError(f"plot.feature_maps: layer index out of range for "
                             f"{len(layers)} layers. Received: layer={layer}")
        return int(layer) % len(layers)
    for i, ly in enumerate(layers):
        if ly is layer or (isinstance(layer, str) and ly.name == layer):
            return i
    raise ValueError(f"plot.feature_maps: no such layer in the model; known: "
                     f"{[ly.name for ly in layers]}. Received: layer={layer!r}")


def feature_maps(model: Any, x: TensorLike, layer: Layer | str | int, max_maps: int = 32,
                 ncols: int | None = None, save: str | None = None) -> Figure:
    """Activations of one layer for one image, one tile per channel (as :func:`filters`).

    The model's layers run in inference mode, in order, up to and including ``layer``.
    Each map is scaled to [0, 1] on its own before drawing.

    Args:
        model: a ``Sequential`` (anything with ``.layers`` applied in order).
        x: one image (h, w, c), or a batch of which the first image is used.
        layer: the layer object, its name or its index in ``model.layers``.
        max_maps: draw at most this many channels.

    Example:
        >>> fig = gn.plot.feature_maps(model, x_test[0], "conv2d")
    """
    from glassnet import backend
    from glassnet.autograd import no_grad

    a = np.asarray(backend.asnumpy(x))
    if a.ndim == 3:
        a = a[None]
    if a.ndim != 4:
        raise ValueError(f"plot.feature_maps: x must be one image (h, w, c) or a batch "
                         f"(n, h, w, c). Received: shape {np.shape(x)}")
    stop = _layer_index(model, layer)
    out = a[:1]
    with no_grad():
        for ly in model.layers[: stop + 1]:
            out = ly(out, training=False)
    fm = np.asarray(backend.asnumpy(getattr(out, "data", out)))[0]
    if fm.ndim != 3:
        raise ValueError(f"plot.feature_maps: layer '{model.layers[stop].name}' does not "
                         f"output feature maps (h, w, channels). Received: output shape "
                         f"{(1,) + fm.shape}")
    n = min(fm.shape[-1], int(max_maps))
    rows, cols = _grid_shape(n, ncols)
    maps = np.moveaxis(fm[..., :n], 2, 0).astype(np.float64)
    lo = maps.min(axis=(1, 2), keepdims=True)  # each map on its own scale, as imshow would
    maps = (maps - lo) / np.maximum(maps.max(axis=(1, 2), keepdims=True) - lo, 1e-12)
    fig = _figure(figsize=(0.9 * cols + 0.3, 0.9 * rows + 0.5))
    ax = fig.add_subplot()
    import matplotlib as mpl

    ax.imshow(_mosaic(maps, cols), cmap=mpl.colormaps["viridis"].with_extremes(bad="white"),
              interpolation="nearest")
    ax.axis("off")
    ax.set_title(f"{model.layers[stop].name}: {n} of {fm.shape[-1]} maps "
                 f"{fm.shape[0]}x{fm.shape[1]} (each scaled to its own range)", fontsize=9)
    return _finish(fig, save)


def misclassified(model: Any, x: ArrayLike, y: ArrayLike, n: int = 16, ncols: int = 8,
                  class_names: Sequence[Any] | None = None,
                  save: str | None = None) -> Figure:
    """Grid of the first ``n`` images the model gets wrong, titled ``true→pred``.

    Args:
        model: a classifier with ``predict``; softmax outputs use argmax, a single sigmoid
            output uses 0.5.
        x: images (N, h, w[, c]); y: integer labels (N,) or one-hot (N, classes).
        class_names: optional names indexed by class.

    Example:
        >>> fig = gn.plot.misclassified(model, x_test, y_test, n=16)
    """
    x = np.asarray(x)
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        y = cast("np.ndarray", y.argmax(1))  # NumPy's stubs: argmax(axis) is Any
    y = y.reshape(-1)
    if len(x) != len(y):
        raise ValueError(f"plot.misclassified: x and y differ in length. "
                         f"Received: {len(x)} images and {len(y)} labels")
    p = np.asarray(model.predict(x, verbose=0))
    pred = p.argmax(1) if p.ndim == 2 and p.shape[1] > 1 else (p.reshape(-1) > 0.5)
    wrong = np.flatnonzero(pred.astype(np.int64) != y.astype(np.int64))[: int(n)]

    def name(c: Any) -> str:
        return str(class_names[int(c)]) if class_names is not None else str(int(c))

    if len(wrong) == 0:
        fig = _figure(figsize=(3, 1))
        ax = fig.add_subplot()
        ax.text(0.5, 0.5, f"no misclassified images among {len(x)}", ha="center",
                va="center")
        ax.axis("off")
        return _finish(fig, save)
    rows, cols = _grid_shape(len(wrong), min(ncols, len(wrong)))
    fig = _figure(figsize=(1.2 * cols, 1.35 * rows))
    for i, j in enumerate(wrong):
        ax = fig.add_subplot(rows, cols, i + 1)
        img = x[j].reshape(x[j].shape[:2]) if x[j].ndim == 3 and x[j].shape[-1] == 1 else x[j]
        if img.ndim == 1:  # flattened square images (MNIST's 784)
            side = int(round(np.sqrt(img.size)))
            img = img.reshape(side, side) if side * side == img.size else img[None]
        ax.imshow(img, cmap="gray")
        ax.axis("off")
        ax.set_title(f"{name(y[j])}→{name(pred[j])}", fontsize=8, color="crimson")
    return _finish(fig, save)
