"""Generative adversarial networks: a generator and a discriminator trained against each other.

The course's GAN: the discriminator learns to tell real images from generated ones, the
generator learns to fool it. glassnet trains both with the non-saturating loss
(Goodfellow et al.): D minimises BCE(D(x), 1) + BCE(D(G(z)), 0); G minimises BCE(D(G(z)), 1).

Example:
    >>> gan = GAN(generator, discriminator, latent_dim=32)
    >>> gan.compile(g_optimizer="adam", d_optimizer="adam")
    >>> history = gan.fit(x_train, epochs=5, batch_size=64)   # a History, as any model's
    >>> images = gan.sample(16)

``GAN`` is a ``Model`` whose :meth:`GAN.train_step` makes one discriminator and one
generator update (Keras 3's ``train_step`` override), so ``fit`` is the shared loop: callbacks,
``History``, the progress bar, checkpoints, like every other model.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import backend, optimizers
from ..autograd import no_grad
from ..callbacks import Callback
from ..functional import binary_cross_entropy, sigmoid_binary_cross_entropy
from ..tensor import Tensor
from .model import Model

if TYPE_CHECKING:
    from ..callbacks import History

__all__ = ["GAN", "SampleGrid"]


class GAN(Model):
    """A generator and a discriminator trained adversarially.

    Args:
        generator: model mapping noise (batch, latent_dim) to samples shaped like the data.
        discriminator: model mapping samples to one probability (sigmoid output) or one
            logit (linear output, with ``from_logits=True`` in :meth:`compile`).
        latent_dim: size of the noise vector.

    Shapes: data (N, ...) → discriminator output (N, 1).
    """

    def __init__(self, generator: Model, discriminator: Model, latent_dim: int,
                 name: str | None = None) -> None:
        if not isinstance(latent_dim, (int, np.integer)) or latent_dim <= 0:
            raise ValueError(f"GAN: latent_dim must be a positive int. Received: {latent_dim!r}")
        super().__init__(name=name)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(latent_dim)
        self.g_optimizer: Any = None
        self.d_optimizer: Any = None
        self.from_logits, self.label_smoothing = False, 0.0
        from ..metrics import Mean

        self.d_loss_tracker, self.g_loss_tracker = Mean(name="d_loss"), Mean(name="g_loss")

    def compile(  # type: ignore[override]  # Keras's GAN example: two optimizers, no loss
            self, g_optimizer: Any = "adam", d_optimizer: Any = "adam",
            from_logits: bool = False, label_smoothing: float = 0.0,
            jit_compile: Any = "auto") -> None:
        """Set the two optimizers, whether D outputs logits, and one-sided label smoothing.

        Args:
            label_smoothing: real labels become ``1 - label_smoothing`` for D (Salimans et
                al.'s one-sided smoothing); must be in [0, 0.5).
        """
        if not 0.0 <= label_smoothing < 0.5:
            raise ValueError(
                f"GAN.compile: label_smoothing must be in [0, 0.5). Received: {label_smoothing}"
            )
        self.g_optimizer = optimizers.get(g_optimizer)
        self.d_optimizer = optimizers.get(d_optimizer)
        if self.g_optimizer is self.d_optimizer:
            raise ValueError("GAN.compile: the generator and discriminator need two optimizers")
        self.from_logits = bool(from_logits)
        self.label_smoothing = float(label_smoothing)
        if jit_compile not in ("auto", True, False):
            raise ValueError(f"GAN.compile: jit_compile must be 'auto', True or False. "
                             f"Received: {jit_compile!r}")
        self.jit_compile = jit_compile  # replay both updates (models/step.py)
        self._stepper = None
        self.compiled = True

    @property
    def metrics(self) -> list:
        """The two loss trackers ``fit`` resets every epoch (their means are the logs)."""
        return [self.d_loss_tracker, self.g_loss_tracker]

    def call(self, z: Any, training: bool = False) -> Any:
        """Generate samples from latent vectors ``z`` (batch, latent_dim)."""
        return self.generator(z, training=training)

    # ------------------------------------------------------------------ steps
    def to(self, device: str) -> GAN:
        """Move the generator, the discriminator and both optimizers' state to a device.

        Noise is still drawn from the seeded CPU generator and then moved, so a seeded run
        samples the same latent vectors on either device.

        Args:
            device: ``'cpu'`` or ``'gpu'`` (needs CuPy and a CUDA device).

        Example:
            >>> gan.to("gpu")   # doctest: +SKIP
        """
        self.generator.to(device)
        self.discriminator.to(device)
        for opt in (self.g_optimizer, self.d_optimizer):
            if opt is not None:
                opt.to(device)
        self._device = "gpu" if device == "cuda" else device
        return self

    def _on_device(self, a: Any) -> Tensor:
        return Tensor._make(backend.to_device(a, self._device))

    def _bce(self, out: Tensor, target: float) -> Tensor:
        xp = backend.get_array_module(out.data)
        t = xp.full(out.shape, target, dtype=out.dtype)
        if self.from_logits:
            return sigmoid_binary_cross_entropy(out, t)
        return binary_cross_entropy(out, t)

    def noise(self, n: int) -> Tensor:
        """Standard-normal latent vectors from the seeded generator, shape (n, latent_dim)."""
        z = backend.rng().standard_normal((n, self.latent_dim)).astype(backend.floatx())
        return self._on_device(z)

    def train_step(self, data: Any) -> dict:
        """One discriminator update and one generator update on a batch of real samples.

        Returns the running means of both losses over the epoch so far (the trackers in
        :attr:`metrics`), as Keras's GAN example does.
        """
        real = data[0] if isinstance(data, tuple) else data
        real = backend.asnumpy(real.data if isinstance(real, Tensor) else real)
        n = len(real)
        g_w = self.generator.trainable_weights
        d_w = self.discriminator.trainable_weights
        st = self._step()  # both updates are recorded once and replayed (jit_compile)
        smooth = 1.0 - self.label_smoothing

        def d_outputs(real_t: Tensor, z_t: Tensor) -> list[Tensor]:
            with no_grad():  # D's step does not train G
                fake = self.generator(z_t, training=True)
            return [self.discriminator(real_t, training=True),
                    self.discriminator(fake, training=True)]

        d_loss = st.custom("d", [self._on_device(real).data, self.noise(n).data], d_outputs,
                           lambda o: self._bce(o[0], smooth) + self._bce(o[1], 0.0),
                           d_w, self.d_optimizer)
        # G's step backpropagates through D but must not compute D's weight gradients
        for w in d_w:
            w.requires_grad = False
        try:
            g_loss = st.custom(
                "g", [self.noise(n).data],
                lambda z_t: [self.discriminator(self.generator(z_t, training=True),
                                                training=True)],
                lambda o: self._bce(o[0], 1.0), g_w, self.g_optimizer)
        finally:
            for w in d_w:
                w.requires_grad = True
        self.d_loss_tracker.update_state(float(d_loss.data))
        self.g_loss_tracker.update_state(float(g_loss.data))
        return {"d_loss": self.d_loss_tracker.result(), "g_loss": self.g_loss_tracker.result()}

    def fit(  # type: ignore[override]  # the GAN's defaults (batch 64, quiet); **kwargs on
            self, x: Any = None, y: Any = None, batch_size: int = 64, epochs: int = 1,
            verbose: str | int = 0, callbacks: Sequence[Callback] | None = None,
            **kwargs: Any) -> History:
        """Train on unlabelled samples ``x`` (``y`` is ignored); returns a ``History``.

        The shared ``Model.fit`` loop calls :meth:`train_step` per batch: one D update, then
        one G update. ``history.history`` holds ``d_loss`` and ``g_loss`` per epoch (epoch
        means); callbacks, the progress bar (``verbose``) and checkpoints work as for any
        model, and may set ``gan.stop_training``.

        Example:
            >>> h = gan.fit(x, epochs=5, batch_size=64); h.history["g_loss"][-1]
        """
        if not self.compiled:
            raise RuntimeError("GAN: call compile() before fit()")
        xa = np.asarray(x)
        if xa.ndim < 2 or len(xa) == 0:
            raise ValueError(f"GAN.fit: x must be a non-empty batch of samples (N, ...). "
                             f"Received: shape {xa.shape}")
        if (isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer))
                or batch_size <= 0 or epochs < 0):
            raise ValueError(
                f"GAN.fit: batch_size must be > 0 and epochs >= 0. "
                f"Received: batch_size={batch_size}, epochs={epochs}"
            )
        for cb in callbacks or []:
            if not isinstance(cb, Callback):
                raise TypeError(f"GAN.fit: callbacks must be glassnet.callbacks.Callback "
                                f"objects. Received: {type(cb).__name__}")
        return super().fit(xa, None, batch_size=batch_size, epochs=epochs, verbose=verbose,
                           callbacks=callbacks, **kwargs)

    def sample(self, n: int, z: Any = None) -> np.ndarray:
        """``n`` generated samples as a NumPy array (generator in inference mode).

        Args:
            n: number of samples.
            z: optional latent vectors, shape (n, latent_dim); default: fresh noise from
                the seeded global generator.
        """
        if z is None:
            zt = self.noise(n)
        else:
            z = np.asarray(z, backend.floatx())
            if z.shape != (n, self.latent_dim):
                raise ValueError(f"GAN.sample: z must have shape ({n}, {self.latent_dim}). "
                                 f"Received: shape {z.shape}")
            zt = self._on_device(z)
        with no_grad():
            return backend.asnumpy(self.generator(zt, training=False).data)


    # ------------------------------------------------------------------ saving
    def save(  # type: ignore[override]  # one file, both networks
            self, path: str | os.PathLike[str]) -> None:
        """Write the whole GAN to one file: both networks, both optimizers' state, settings.

        The file is a zip of JSON and ``.npz`` members (the two networks as ordinary model
        files inside), written through a temp file and a rename; :meth:`load` reads it back
        without executing anything from it, and training resumes exactly.

        Example:
            >>> gan.save("gan.glassnet")   # doctest: +SKIP
        """
        from .saving import _atomic_write, _npz_bytes, model_bytes

        meta = {"format": GAN_FORMAT, "version": 1, "latent_dim": self.latent_dim,
                "compiled": self.compiled}
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("generator.glassnet", model_bytes(self.generator, False))
            z.writestr("discriminator.glassnet", model_bytes(self.discriminator, False))
            if self.compiled:
                meta.update(from_logits=self.from_logits, label_smoothing=self.label_smoothing)
                for part in ("g", "d"):
                    opt = getattr(self, f"{part}_optimizer")
                    meta[f"{part}_optimizer"] = optimizers.serialize(opt)
                    z.writestr(f"{part}_optimizer.npz", _npz_bytes(
                        {k: np.asarray(backend.asnumpy(v)) for k, v in opt.get_state().items()}))
            z.writestr("gan.json", json.dumps(meta))
        _atomic_write(Path(path), buf.getvalue())

    def __reduce__(self) -> tuple[Any, ...]:
        """``pickle``: through the file :meth:`save` writes (both networks, both
        optimizers' state), as a plain model pickles through its own."""
        import tempfile

        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / "gan.glassnet"
            self.save(p)
            data = p.read_bytes()
        return (_unpickle_gan, (type(self), data))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> GAN:
        """Read a file written by :meth:`save` (on the CPU; ``.to("gpu")`` moves it).

        Raises ``ModelFileError`` for a missing, truncated, corrupted or foreign file.
        """
        from .saving import _MAX_MEMBER, ModelFileError, _load_npz, load_model

        path = Path(path)
        if not path.exists():
            raise ModelFileError(f"{path}: no such GAN file")
        allowed = {"gan.json", "generator.glassnet", "discriminator.glassnet",
                   "g_optimizer.npz", "d_optimizer.npz"}
        try:
            with zipfile.ZipFile(path) as z:
                names = set(z.namelist())
                if not names <= allowed or not {"gan.json", "generator.glassnet",
                                                "discriminator.glassnet"} <= names:
                    raise ModelFileError(f"{path}: not a glassnet GAN file (members "
                                         f"{sorted(names)})")
                if any(z.getinfo(n).file_size > _MAX_MEMBER for n in names):
                    raise ModelFileError(f"{path}: a member is implausibly large")
                raw = {n: z.read(n) for n in names}
            meta = json.loads(raw["gan.json"].decode("utf-8"))
        except ModelFileError:
            raise
        except Exception as e:  # any bad byte the zip/zlib/json layers trip on (fuzzed)
            raise ModelFileError(f"{path}: corrupted GAN file ({type(e).__name__}: "
                                 f"{str(e)[:200]})") from None
        if not isinstance(meta, dict) or meta.get("format") != GAN_FORMAT:
            raise ModelFileError(f"{path}: not a glassnet GAN file (format marker missing)")
        gen = load_model(f"{path}:generator", compile=False, data=raw["generator.glassnet"])
        disc = load_model(f"{path}:discriminator", compile=False,
                          data=raw["discriminator.glassnet"])
        try:
            latent = meta.get("latent_dim")
            if not isinstance(latent, int):
                raise ValueError(f"latent_dim must be an int, not {latent!r}")
            gan = cls(gen, disc, latent_dim=latent)
            if meta.get("compiled"):
                gan.compile(optimizers.get(meta["g_optimizer"]),
                            optimizers.get(meta["d_optimizer"]),
                            from_logits=meta["from_logits"],
                            label_smoothing=meta["label_smoothing"])
        except (KeyError, TypeError, ValueError) as e:
            raise ModelFileError(f"{path}: invalid GAN settings ({e})") from None
        if gan.compiled:
            for part in ("g", "d"):
                if f"{part}_optimizer.npz" in raw:
                    try:
                        state = _load_npz(raw[f"{part}_optimizer.npz"], path)
                        getattr(gan, f"{part}_optimizer").set_state(state)
                    except ModelFileError:
                        raise
                    except Exception as e:
                        raise ModelFileError(f"{path}: corrupted {part}_optimizer.npz "
                                             f"({type(e).__name__}: {str(e)[:200]})") from None
        return gan


GAN_FORMAT = "glassnet-gan"


def _unpickle_gan(cls: type[GAN], data: bytes) -> GAN:
    """A pickled :class:`GAN` back from its file's bytes (see ``GAN.__reduce__``)."""
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "gan.glassnet"
        p.write_bytes(data)
        return cls.load(p)


class SampleGrid(Callback):
    """GAN callback: save a grid of samples from one fixed batch of noise after every epoch.

    The same latent vectors are decoded every epoch, so the pictures show how the generator's
    mapping evolves. The noise is drawn once, when training starts: from a private generator
    seeded with ``seed`` if given, else from glassnet's global generator — so ``gn.set_seed``
    before ``fit`` makes the grids reproducible.

    Args:
        out_dir: folder for ``epoch-001.png`` ... (created if needed).
        n: number of samples (a square number reads best).
        image_shape: reshape each sample to this (e.g. (28, 28)) before drawing.
        seed: optional int seed of the fixed noise.
        ncols: images per row of the grid.

    Example:
        >>> gn.set_seed(0)
        >>> grid = SampleGrid("runs/gan", n=16, image_shape=(28, 28))
        >>> gan.fit(x, epochs=5, callbacks=[grid]); grid.paths[-1]
        PosixPath('runs/gan/epoch-005.png')
    """

    def __init__(self, out_dir: str | os.PathLike[str], n: int = 16,
                 image_shape: Sequence[int] | None = None, seed: int | None = None,
                 ncols: int = 8) -> None:
        from pathlib import Path

        if not isinstance(n, (int, np.integer)) or n <= 0:
            raise ValueError(f"SampleGrid: n must be a positive int. Received: {n!r}")
        super().__init__()
        self.out_dir = Path(out_dir)
        self.n = int(n)
        self.image_shape = None if image_shape is None else tuple(image_shape)
        self.seed = seed
        self.ncols = ncols
        self.z: np.ndarray | None = None
        self.paths: list = []

    def set_model(self, model: Any) -> None:
        super().set_model(model)
        if isinstance(model, GAN):
            self.set_gan(model)

    def set_gan(self, gan: GAN) -> None:
        """Attach to ``gan`` and draw the fixed noise (only the first time)."""
        self.gan = gan
        if self.z is None:
            gen = backend.rng() if self.seed is None else np.random.default_rng(self.seed)
            self.z = gen.standard_normal((self.n, gan.latent_dim)).astype(backend.floatx())

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        from .. import plot

        imgs = self.gan.sample(self.n, z=self.z)
        if self.image_shape is not None:
            imgs = imgs.reshape((self.n, *self.image_shape))
        self.out_dir.mkdir(parents=True, exist_ok=True)
        p = self.out_dir / f"epoch-{epoch + 1:03d}.png"
        plot.image_grid(imgs, ncols=self.ncols).savefig(p, dpi=80)
        self.paths.append(p)
