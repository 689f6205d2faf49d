"""MkDocs hooks (mkdocs.yml ``hooks:``): the notebooks join the site, repo links are checked.

- The course notebooks live in ``notebooks/`` at the repository root (where ``make lab``
  opens them), outside ``docs/``; they are added to the site as ``notebooks/*.ipynb``.
  With ``GLASSNET_DOCS_NOTEBOOKS=DIR`` (a folder named ``notebooks``) they are taken from
  DIR instead: already executed copies, from which the tests build the site with
  ``GLASSNET_DOCS_EXECUTE=false``.
- A guide's link to a file of the repository outside ``docs/`` (``../examples/churn.py``)
  becomes a link to that file in the repository on the web, and a link to a file that does
  not exist is reported as a warning, which fails the strict build.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[1]
log = logging.getLogger("mkdocs.hooks.glassnet")
_LINK = re.compile(r"\]\((\.\./[^)#\s]+)(#[^)\s]*)?\)")


@event_priority(100)  # before mkdocs-jupyter wraps the notebook files
def on_files(files, config):
    src = Path(os.environ.get("GLASSNET_DOCS_NOTEBOOKS") or ROOT / "notebooks").resolve()
    if src.name != "notebooks":
        raise ValueError(f"GLASSNET_DOCS_NOTEBOOKS must be a folder named 'notebooks'. "
                         f"Received: {src}")
    for nb in sorted(src.glob("*.ipynb")):
        # a real file under <parent>/notebooks/ (mkdocs-jupyter reads it through src_dir)
        files.append(File(f"notebooks/{nb.name}", str(src.parent), config["site_dir"],
                          config["use_directory_urls"]))
    return files


def on_page_markdown(markdown, page, config, files):
    base = config["repo_url"].rstrip("/") + "/blob/main/"
    here = Path(page.file.src_uri).parent

    def repl(m):
        target = (Path("docs") / here / m.group(1)).as_posix()
        resolved = os.path.normpath(target)
        if resolved.startswith(".."):
            log.warning("%s: link %s leaves the repository", page.file.src_uri, m.group(1))
            return m.group(0)
        if not (ROOT / resolved).exists():
            log.warning("%s: link %s points to %s, which does not exist", page.file.src_uri,
                        m.group(1), resolved)
            return m.group(0)
        return f"]({base}{resolved}{m.group(2) or ''})"

    return _LINK.sub(repl, markdown)
