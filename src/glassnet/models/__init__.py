"""Models: ``Sequential``, ``Model``, ``load_model``, and the RBM/DBN/GAN/autoencoder family."""

from . import autoencoder, cloning, dbn, functional, gan, model, rbm, saving, training
from .autoencoder import *  # noqa: F401,F403
from .cloning import *  # noqa: F401,F403
from .dbn import *  # noqa: F401,F403
from .functional import *  # noqa: F401,F403
from .gan import *  # noqa: F401,F403
from .model import *  # noqa: F401,F403
from .rbm import *  # noqa: F401,F403
from .saving import *  # noqa: F401,F403

__all__: list[str] = []
for _m in (autoencoder, cloning, dbn, functional, gan, model, rbm, saving):
    __all__ += list(getattr(_m, "__all__", []))
