"""Autoencoders on MNIST (seed 004): reconstructions, a 2-D code map, test reconstruction error.

Trains, on the first --n-train MNIST images:
  * a dense autoencoder 784-256-{code}-256-784 (binary cross-entropy, Adam), compared with
    PCA keeping the same number of components (the best *linear* code of that size);
  * a dense autoencoder with a 2-D code, whose codes of the test set are plotted by digit;
  * a denoising variant (GaussianNoise(0.5) on the input while training), evaluated on
    test images with added noise;
  * with --conv, a convolutional autoencoder (Conv2D/MaxPooling2D/UpSampling2D).

Writes docs/img/autoencoder_{reconstructions,latent,denoising[,conv]}.png and prints the
per-pixel mean squared reconstruction error on the whole test set.

Run:
    GLASSNET_DATA_DIR=/path/to/datasets python examples/autoencoder_mnist.py
    python examples/autoencoder_mnist.py --n-train 60000 --epochs 20 --conv   # full run
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

import glassnet as gn
from glassnet.models import conv_autoencoder, dense_autoencoder


def train(ae, x, epochs, batch_size, loss="binary_crossentropy"):
    ae.compile(gn.optimizers.Adam(1e-3), loss)
    t0 = time.perf_counter()
    ae.fit(x, x, epochs=epochs, batch_size=batch_size, verbose=0)
    return time.perf_counter() - t0


def dense(x, code: int = 32, hidden=(256,), epochs: int = 10, batch_size: int = 128,
          seed: int = 0, noise_stddev: float = 0.0):
    """A dense autoencoder 784-hidden…-code-…-784 trained on ``x`` from seed ``seed``;
    returns (model, seconds of training)."""
    gn.set_seed(seed)
    ae = dense_autoencoder(784, hidden=hidden, code_dim=code, noise_stddev=noise_stddev)
    return ae, train(ae, x, epochs, batch_size)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-train", type=int, default=20000)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--code", type=int, default=32)
    ap.add_argument("--conv", action="store_true", help="also train the conv autoencoder")
    ap.add_argument("--conv-only", action="store_true", help="train only the conv autoencoder")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="docs/img")
    args = ap.parse_args(argv)
    os.environ.setdefault("MPLBACKEND", "Agg")
    from glassnet import plot
    from glassnet.datasets import mnist

    (x, _), (xt, yt) = mnist.load_data()
    x = x[: args.n_train].reshape(-1, 784).astype(np.float32) / 255.0
    xt = xt.reshape(-1, 784).astype(np.float32) / 255.0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ep, bs = args.epochs, args.batch_size
    print(f"MNIST: {len(x)} training images, {len(xt)} test images, {ep} epochs")

    if not args.conv_only:
        dense_models(args, x, xt, yt, out)
    if args.conv or args.conv_only:
        gn.set_seed(args.seed)
        cae = conv_autoencoder((28, 28, 1), filters=(16, 8))
        xi, xti = x.reshape(-1, 28, 28, 1), xt.reshape(-1, 28, 28, 1)
        took = train(cae, xi, ep, bs)
        print(f"conv AE, code (7, 7, 8) = 392 numbers: test MSE "
              f"{cae.reconstruction_error(xti).mean():.4f}; {took:.0f} s")
        plot.reconstructions(cae, xti, n=10, save=out / "autoencoder_conv.png")
    print(f"wrote {out}/autoencoder_*.png")


def dense_models(args, x, xt, yt, out):
    """The dense, 2-D-code and denoising autoencoders with their pictures and numbers."""
    from sklearn.decomposition import PCA

    from glassnet import plot

    ep, bs = args.epochs, args.batch_size
    ae, took = dense(x, args.code, (256,), ep, bs, args.seed)
    mse = ae.reconstruction_error(xt).mean()
    pca = PCA(args.code, random_state=0).fit(x)
    mse_pca = ((pca.inverse_transform(pca.transform(xt)) - xt) ** 2).mean()
    print(f"dense AE, {args.code}-d code: test MSE {mse:.4f} (PCA with {args.code} "
          f"components: {mse_pca:.4f}); {took:.0f} s")
    plot.reconstructions(ae, xt, n=10, save=out / "autoencoder_reconstructions.png")

    ae2, took = dense(x, 2, (256, 64), ep, bs, args.seed)
    mse2 = ae2.reconstruction_error(xt).mean()
    pca2 = PCA(2, random_state=0).fit(x)
    mse2_pca = ((pca2.inverse_transform(pca2.transform(xt)) - xt) ** 2).mean()
    print(f"dense AE, 2-d code: test MSE {mse2:.4f} (PCA with 2 components: "
          f"{mse2_pca:.4f}); {took:.0f} s")
    plot.latent_scatter(ae2.encode(xt[:5000]), yt[:5000], save=out / "autoencoder_latent.png")

    den, took = dense(x, args.code, (256,), ep, bs, args.seed, noise_stddev=0.5)
    rng = np.random.default_rng(0)
    noisy = np.clip(xt + 0.5 * rng.standard_normal(xt.shape), 0, 1).astype(np.float32)
    clean_err = {name: ((m.predict(noisy, batch_size=512) - xt) ** 2).mean()
                 for name, m in (("plain", ae), ("denoising", den))}
    given = ((noisy - xt) ** 2).mean()
    print(f"noisy test images (noise std 0.5): MSE to the clean image {given:.4f} as given,"
          f" {clean_err['plain']:.4f} after the plain AE, "
          f"{clean_err['denoising']:.4f} after the denoising AE; {took:.0f} s")
    imgs = np.concatenate([noisy[:10], ae.predict(noisy[:10]), den.predict(noisy[:10])])
    plot.tiles(imgs.reshape(-1, 28, 28), ncols=10,
               title="noisy input / plain AE / denoising AE",
               save=out / "autoencoder_denoising.png")


if __name__ == "__main__":
    main()
