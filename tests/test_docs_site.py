"""The documentation site builds strictly, and its pages open in headless Chromium.

The quickstart notebook is executed in a real kernel first and the site is built from that
executed copy (``GLASSNET_DOCS_EXECUTE=false``, so the build itself runs no notebook); the
other notebooks are rendered as committed. ``--strict`` turns every warning (a broken link,
an unresolved API reference, a docstring griffe cannot parse) into a failure.
"""

import base64
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
for mod in ("mkdocs", "material", "mkdocstrings", "mkdocs_jupyter", "nbclient", "ipykernel"):
    pytest.importorskip(mod, reason=f"the `docs` extra is not installed ({mod})")
import nbclient  # noqa: E402
import nbformat  # noqa: E402


def _svgs(page: str) -> list[str]:
    """The SVG images of a rendered notebook page (mkdocs-jupyter embeds them as data URIs)."""
    return [base64.b64decode(b).decode() for b in
            re.findall(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', page)]


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name)
        if p:
            return p
    return None


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("docs")
    nbs = tmp / "notebooks"
    nbs.mkdir()
    for p in sorted((ROOT / "notebooks").glob("*.ipynb")):
        shutil.copy(p, nbs / p.name)
    quick = nbs / "00_quickstart.ipynb"
    nb = nbformat.read(quick, as_version=4)
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    nbformat.write(nb, quick)
    env = dict(os.environ, GLASSNET_DOCS_NOTEBOOKS=str(nbs), GLASSNET_DOCS_EXECUTE="false",
               NO_MKDOCS_2_WARNING="1")
    out = tmp / "site"
    res = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f",
                          str(ROOT / "mkdocs.yml"), "-d", str(out)], env=env, cwd=tmp,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-4000:]
    return out


def test_site_builds_strictly_with_api_reference_and_notebooks(site):
    index = (site / "index.html").read_text()
    assert "notebooks/00_quickstart/" in index and "api/" in index
    api = (site / "api" / "utils" / "index.html").read_text()
    assert "plot_model" in api and "show_layer_activations" in api
    for name in ("00_quickstart", "01_neurons_perceptron_adaline",
                 "05_deep_learning_with_keras_api"):
        assert (site / "notebooks" / name / "index.html").is_file()
    quick = (site / "notebooks" / "00_quickstart" / "index.html").read_text()
    graph, plot = _svgs(quick)[:2]
    assert 'class="glassnet-diagram"' in graph and "value -12" in graph
    assert "hidden (Dense)" in plot and "Total params: 4,810" in quick
    # a guide's link to a repository file outside docs/ points at the repository
    vision = (site / "vision" / "index.html").read_text()
    assert "https://github.com/glassnet/glassnet/blob/main/examples/mnist_cnn.py" in vision


def test_broken_link_fails_the_strict_build(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("[gone](../examples/no_such_example.py) [x](nope.md)\n")
    shutil.copy(ROOT / "docs" / "hooks.py", docs / "hooks.py")
    (tmp_path / "mkdocs.yml").write_text(
        "site_name: t\nrepo_url: https://github.com/glassnet/glassnet\nstrict: true\n"
        "exclude_docs: hooks.py\nhooks: [docs/hooks.py]\n")
    (tmp_path / "notebooks").mkdir()
    env = dict(os.environ, GLASSNET_DOCS_NOTEBOOKS=str(tmp_path / "notebooks"),
               NO_MKDOCS_2_WARNING="1")
    res = subprocess.run([sys.executable, "-m", "mkdocs", "build", "-f",
                          str(tmp_path / "mkdocs.yml")], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode != 0
    assert "no_such_example.py" in res.stderr and "nope.md" in res.stderr


def _dom(browser, url, tmp_path) -> subprocess.CompletedProcess:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0"]
    return subprocess.run([browser, *flags, "--virtual-time-budget=3000", "--dump-dom", url],
                          capture_output=True, text=True, timeout=120)


def test_index_and_quickstart_open_in_headless_chromium(site, tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("Chromium is not installed (CI installs Debian's chromium package)")
    index = _dom(browser, (site / "index.html").as_uri(), tmp_path)
    assert index.returncode == 0, index.stderr[-2000:]
    assert "<title>glassnet</title>" in index.stdout and "Quickstart" in index.stdout
    page = _dom(browser, (site / "notebooks" / "00_quickstart" / "index.html").as_uri(),
                tmp_path)
    assert page.returncode == 0, page.stderr[-2000:]
    dom = page.stdout
    # the course graph, drawn by glassnet, is in the page the browser built, as an SVG image
    svgs = [s for s in _svgs(dom) if 'class="glassnet-diagram"' in s]
    assert len(svgs) >= 2  # the graph and plot_model
    assert "value -12" in svgs[0] and "grad -3" in svgs[0] and "grad 4" in svgs[0]
    console_errors = [ln for ln in page.stderr.splitlines()
                      if "CONSOLE" in ln and ("ERROR" in ln or "Uncaught" in ln)]
    assert not console_errors, console_errors
