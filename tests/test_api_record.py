"""The public API on record: docs/api.txt is what tools/api_record.py generates from the package.

A change to a public name, signature or default makes the first test fail until the record is
regenerated with `make api` (and the change shows up as a diff of docs/api.txt in review). The
other tests show, on a throwaway package, that the record catches such changes.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "docs" / "api.txt"


def _tool():
    spec = importlib.util.spec_from_file_location("_api_record", ROOT / "tools" / "api_record.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_committed_api_record_is_current():
    api = _tool()
    generated = api.record("glassnet")
    committed = COMMITTED.read_text(encoding="utf-8")
    d = api.diff(committed, generated)
    assert not d, (
        "the public API differs from docs/api.txt: if the change is intended, run `make api`, "
        "commit docs/api.txt and add a line to CHANGELOG.md\n" + d
    )


V1 = {
    "__init__.py": '''
        from ._impl import helper
        from .core import Scaler, scale
        LEVELS = (1, 2)
        ''',
    "_impl.py": '''
        def helper(a, b=3):
            return a + b
        ''',
    "core.py": '''
        __all__ = ["Scaler", "scale"]

        def scale(x, factor: float = 0.5):
            """Multiply."""
            return x * factor

        def unlisted(x):
            return x

        class _Base:
            def fit(self, x, epochs: int = 1):
                return self

        class Scaler(_Base):
            def __init__(self, factor: float = 0.5, *, clip=None):
                self.factor = factor

            def __call__(self, x):
                return x * self.factor

            @property
            def doubled(self) -> float:
                return 2 * self.factor

            def _private(self):
                pass
        ''',
}


def _write(root: Path, files: dict[str, str], name: str) -> None:
    pkg = root / name
    pkg.mkdir(parents=True)
    for fname, text in files.items():
        (pkg / fname).write_text(textwrap.dedent(text), encoding="utf-8")


def _record_of(api, tmp_path: Path, monkeypatch, files: dict[str, str], tag: str) -> str:
    name = "gn_api_throwaway"
    for mod in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        monkeypatch.delitem(sys.modules, mod)
    root = tmp_path / tag
    _write(root, files, name)
    monkeypatch.syspath_prepend(str(root))
    importlib.invalidate_caches()
    return api.record(name)


@pytest.fixture
def throwaway(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    api = _tool()
    return api, lambda files, tag: _record_of(api, tmp_path, monkeypatch, files, tag)


def test_record_lists_public_names_with_signatures_and_defaults(throwaway):
    api, record = throwaway
    text = record(V1, "v1")
    assert "\n## gn_api_throwaway\n" in text and "\n## gn_api_throwaway.core\n" in text
    # written in full at its home, pointed to from the package that re-exports it
    assert "def scale(x, factor: float = 0.5)\n" in text
    assert "scale -> gn_api_throwaway.core.scale\n" in text
    assert "    Scaler(factor: float = 0.5, *, clip=None)\n" in text
    assert "    def __call__(self, x)\n" in text
    assert "    property doubled -> float (read-only)\n" in text
    # inherited from a private base: listed on the public class
    assert "    def fit(self, x, epochs: int = 1)\n" in text
    # defined in a private module, re-exported: written in full where it is public
    assert "def helper(a, b=3)\n" in text
    assert "LEVELS: tuple = (1, 2)\n" in text
    # private: underscore names, private modules, names that __all__ keeps out
    assert "_private" not in text and "## gn_api_throwaway._impl" not in text
    assert "unlisted" not in text
    assert text == record(V1, "v1-again")  # stable


def test_record_fails_on_a_changed_default(throwaway, tmp_path):
    api, record = throwaway
    committed = tmp_path / "api.txt"
    committed.write_text(record(V1, "v1"), encoding="utf-8")
    assert api.main(["--package", "gn_api_throwaway", "--out", str(committed), "--check"]) == 0

    # one default changes: scale's factor, 0.5 -> 0.25 (Scaler's stays 0.5)
    core = V1["core.py"]
    assert core.count("factor: float = 0.5):") == 1
    v2 = dict(V1, **{"core.py": core.replace("factor: float = 0.5):", "factor: float = 0.25):")})
    d = api.diff(committed.read_text(encoding="utf-8"), record(v2, "v2"))
    assert "-def scale(x, factor: float = 0.5)" in d
    assert "+def scale(x, factor: float = 0.25)" in d
    # the class's own default did not change and is not in the diff
    assert "Scaler(factor" not in d
    assert api.main(["--package", "gn_api_throwaway", "--out", str(committed), "--check"]) == 1


def test_record_fails_on_a_removed_name_and_a_new_argument(throwaway):
    api, record = throwaway
    before = record(V1, "v1")
    v3 = dict(V1, **{"__init__.py": V1["__init__.py"].replace("LEVELS = (1, 2)", ""),
                     "_impl.py": V1["_impl.py"].replace("b=3)", "b=3, c=None)")})
    d = api.diff(before, record(v3, "v3"))
    assert "-LEVELS: tuple = (1, 2)" in d
    assert "-def helper(a, b=3)" in d and "+def helper(a, b=3, c=None)" in d


def test_update_writes_the_record_atomically(throwaway, tmp_path):
    api, record = throwaway
    out = tmp_path / "out" / "api.txt"
    out.parent.mkdir()
    record(V1, "v1")
    assert api.main(["--package", "gn_api_throwaway", "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == api.record("gn_api_throwaway")
    assert [p.name for p in out.parent.iterdir()] == ["api.txt"]  # no temp file left behind
