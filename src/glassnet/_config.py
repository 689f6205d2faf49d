"""``Configurable``: the get_config / from_config / repr trio shared by family objects."""

from __future__ import annotations

from typing import Any


class Configurable:
    """Objects rebuilt from ``get_config()`` (JSON-able constructor arguments) when loading."""

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict) -> Any:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"
