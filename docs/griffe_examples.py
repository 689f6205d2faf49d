"""Griffe extension (mkdocs.yml): a docstring's ``Example:`` section is read as ``Examples:``.

glassnet's docstrings write ``Example:`` above ``>>>`` lines. Griffe's Google-style parser
takes a singular ``Example:`` for an admonition, whose body is Markdown, so an example such
as ``h.history["loss"][-1]`` reads as a reference link and fails the strict build; the
plural is its examples section, rendered as code.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_EXAMPLE = re.compile(r"^(\s*)Example:\s*$", re.M)


class ExampleSections(griffe.Extension):
    """Rename ``Example:`` section headers to ``Examples:`` before docstrings are parsed."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        doc = obj.docstring
        if doc is not None and "Example:" in doc.value:
            doc.value = _EXAMPLE.sub(r"\1Examples:", doc.value)
