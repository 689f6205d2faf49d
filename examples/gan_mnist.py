"""GANs on MNIST (seed 004): an MLP GAN and a small DCGAN that learn to draw digits.

The generator maps 64 standard-normal numbers to a 28×28 image in [-1, 1] (tanh); the
discriminator outputs one logit ("real"?). Both train with Adam(2e-4, beta_1=0.5), the
non-saturating generator loss and one-sided label smoothing (0.9 for real images) — the
usual recipe of Radford et al. (DCGAN).

Writes (default --out docs/img):
    gan_<arch>_samples.png   16 samples from fixed noise after the last epoch
    gan_<arch>_losses.png    discriminator and generator loss per epoch
    gan_<arch>_epochs.png    the same fixed noise after selected epochs (progress)

Run:
    GLASSNET_DATA_DIR=/path/to/datasets python examples/gan_mnist.py --arch mlp
    python examples/gan_mnist.py --arch dcgan --width 16 --n-train 10000 --epochs 8
    python examples/gan_mnist.py --arch mlp --n-train 60000 --epochs 50   # the full run
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

import glassnet as gn
from glassnet.layers import Dense, Dropout, Flatten, Reshape
from glassnet.models import GAN, Sequential

LATENT = 64


def mlp_gan(latent: int = LATENT, hidden=(256, 512), dropout: float = 0.3):
    """Generator latent → hidden… → 784 (tanh); discriminator 784 → hidden reversed → 1 logit,
    ``Dropout(dropout)`` after each of its hidden layers (none when ``dropout`` is 0)."""
    lrelu = {"class_name": "leaky_relu", "config": {"alpha": 0.2}}
    g = Sequential([Dense(hidden[0], activation=lrelu, input_shape=(latent,)),
                    *[Dense(h, activation=lrelu) for h in hidden[1:]],
                    Dense(784, activation="tanh"), Reshape((28, 28, 1))])
    d_layers = [Flatten(input_shape=(28, 28, 1))]
    for h in reversed(hidden):
        d_layers += [Dense(h, activation=lrelu), *([Dropout(dropout)] if dropout > 0 else [])]
    d = Sequential([*d_layers, Dense(1)])
    return g, d


def make_gan(g, d, latent: int = LATENT, learning_rate: float = 2e-4) -> GAN:
    """The GAN of ``g`` and ``d``, compiled with the DCGAN recipe: Adam(learning_rate,
    beta_1=0.5) for both, the discriminator's logit, one-sided label smoothing 0.1."""
    gan = GAN(g, d, latent_dim=latent)
    gan.compile(gn.optimizers.Adam(learning_rate, beta_1=0.5),
                gn.optimizers.Adam(learning_rate, beta_1=0.5),
                from_logits=True, label_smoothing=0.1)
    return gan


def dcgan(width: int = 32):
    """Small DCGAN: 7×7×(2·width) → transposed convs to 14×14×width and 28×28×1."""
    from glassnet.layers import Activation, BatchNormalization, Conv2D, Conv2DTranspose

    lrelu = {"class_name": "leaky_relu", "config": {"alpha": 0.2}}
    g = Sequential([Dense(7 * 7 * 2 * width, input_shape=(LATENT,)), BatchNormalization(),
                    Activation("relu"), Reshape((7, 7, 2 * width)),
                    Conv2DTranspose(width, 4, strides=2, padding="same"), BatchNormalization(),
                    Activation("relu"),
                    Conv2DTranspose(1, 4, strides=2, padding="same", activation="tanh")])
    d = Sequential([Conv2D(width, 4, strides=2, padding="same", activation=lrelu,
                           input_shape=(28, 28, 1)),
                    Conv2D(2 * width, 4, strides=2, padding="same", activation=lrelu),
                    Dropout(0.3), Flatten(), Dense(1)])
    return g, d


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", choices=["mlp", "dcgan"], default="mlp")
    ap.add_argument("--n-train", type=int, default=10000)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--width", type=int, default=32, help="DCGAN base filter count")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="docs/img")
    ap.add_argument("--device", choices=["cpu", "gpu"], default="cpu",
                    help="gpu needs CuPy and a CUDA device")
    args = ap.parse_args(argv)
    os.environ.setdefault("MPLBACKEND", "Agg")
    from glassnet import plot
    from glassnet.datasets import mnist
    from glassnet.models.gan import SampleGrid

    (x, _), _ = mnist.load_data()
    x = (x[: args.n_train].astype(np.float32) / 127.5 - 1.0)[..., None]  # [-1, 1] like tanh
    gn.set_seed(args.seed)
    g, d = mlp_gan() if args.arch == "mlp" else dcgan(args.width)
    gan = make_gan(g, d)
    gan.to(args.device)
    out = Path(args.out)
    frames = Path(f"/tmp/glassnet-gan-{args.arch}-{os.getpid()}")
    grid = SampleGrid(frames, n=16, image_shape=(28, 28), seed=1234)
    snaps = []

    class Snapshot(gn.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):  # keep the fixed-noise samples per epoch
            snaps.append((epoch + 1, gan.sample(8, z=grid.z[:8])))

    t0 = time.perf_counter()
    hist = gan.fit(x, epochs=args.epochs, batch_size=args.batch_size, verbose=1,
                   callbacks=[grid, Snapshot()])
    took = time.perf_counter() - t0
    print(f"{args.arch}: {args.epochs} epochs on {len(x)} images in {took:.0f} s; final "
          f"d_loss {hist.history['d_loss'][-1]:.3f}, "
          f"g_loss {hist.history['g_loss'][-1]:.3f}")

    out.mkdir(parents=True, exist_ok=True)
    last = (gan.sample(16, z=grid.z) + 1) / 2
    plot.image_grid(last, ncols=8).savefig(out / f"gan_{args.arch}_samples.png", dpi=80)
    plot.gan_losses(hist).savefig(out / f"gan_{args.arch}_losses.png", dpi=80)
    picks = sorted({1, max(1, len(snaps) // 4), max(1, len(snaps) // 2), len(snaps)})
    rows = np.concatenate([(snaps[e - 1][1] + 1) / 2 for e in picks])
    labels = [f"ep {e}" if i == 0 else "" for e in picks for i in range(8)]
    plot.image_grid(rows, labels, ncols=8).savefig(out / f"gan_{args.arch}_epochs.png", dpi=80)
    print(f"wrote {out}/gan_{args.arch}_{{samples,losses,epochs}}.png")


if __name__ == "__main__":
    main()
