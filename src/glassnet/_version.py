"""glassnet's version, written once: pyproject.toml and ``glassnet.__version__`` read it."""

__version__ = "0.1.0"
