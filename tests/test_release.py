"""What a user installs: the version in one place, the typed marker, and, in CI, the wheel itself.

`.ci/run` installs the built wheel into a fresh virtual environment and sets
``GLASSNET_TEST_INSTALLED=1``; the suite then has to be testing that install, not ``src/``.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import sysconfig
from pathlib import Path

import glassnet

ROOT = Path(__file__).resolve().parents[1]
INSTALLED = os.environ.get("GLASSNET_TEST_INSTALLED") == "1"


def test_version_is_written_once_and_matches_the_installed_metadata():
    ns: dict = {}
    exec((Path(glassnet.__file__).parent / "_version.py").read_text(encoding="utf-8"), ns)
    assert glassnet.__version__ == ns["__version__"]
    # a stale install (the version bumped, the checkout not reinstalled) fails here: `make`
    assert importlib.metadata.version("glassnet") == glassnet.__version__
    major, minor, *_ = glassnet.__version__.split(".")
    assert major.isdigit() and minor.isdigit()


def test_package_is_typed():
    assert (Path(glassnet.__file__).parent / "py.typed").is_file()


def test_suite_tests_the_install_it_was_told_to():
    """In CI (the flag set), the installed wheel; otherwise the developers' editable checkout."""
    here = Path(glassnet.__file__).resolve()
    direct = json.loads(importlib.metadata.distribution("glassnet").read_text("direct_url.json")
                        or "{}")
    editable = direct.get("dir_info", {}).get("editable", False)
    if INSTALLED:
        site = {Path(sysconfig.get_paths()[k]).resolve() for k in ("purelib", "platlib")}
        assert any(here.is_relative_to(s) for s in site), (here, site)
        assert not here.is_relative_to(ROOT / "src"), here
        assert not editable, direct
    else:
        assert here.is_relative_to(ROOT / "src"), (
            f"glassnet is imported from {here}, not this checkout's src/: set "
            "GLASSNET_TEST_INSTALLED=1 to test an installed wheel")


def test_distribution_carries_licence_typed_marker_and_metadata():
    dist = importlib.metadata.distribution("glassnet")
    if not INSTALLED:  # the checkout: what the wheel is built from
        assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
        assert (ROOT / "src" / "glassnet" / "py.typed").is_file()
        return
    files = {str(f) for f in dist.files or ()}
    assert "glassnet/py.typed" in files
    assert any(f.endswith("licenses/LICENSE") for f in files), sorted(files)[:20]
    meta = dist.metadata
    assert meta["License-Expression"] == "MIT"
    assert meta["Requires-Python"] == ">=3.10"
    assert "Typing :: Typed" in meta.get_all("Classifier")
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL"))
    assert {"Homepage", "Source", "Changelog"} <= set(urls)
