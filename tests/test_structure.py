"""The package's layering ([step] item 4): lower modules never reach up to higher ones."""

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).parent.parent / "src" / "glassnet"


def _imports(path: Path) -> set:
    """Every module a file imports (relative imports resolved against glassnet)."""
    tree = ast.parse(path.read_text())
    pkg = path.relative_to(SRC.parent).with_suffix("").parts[:-1]
    out = set()
    for node in ast.walk(tree):  # imports for type checkers only never run: not counted
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING",
                                                                   "typing.TYPE_CHECKING"):
            node.body = [ast.Pass()]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = list(pkg[: len(pkg) - node.level + 1]) if node.level else []
            mod = ".".join(base + ([node.module] if node.module else []))
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def test_layers_never_import_models():
    for f in (SRC / "layers").glob("*.py"):
        bad = {m for m in _imports(f) if m.startswith("glassnet.models")}
        assert not bad, f"{f.name} imports {bad}"
    r = subprocess.run([sys.executable, "-c", "import sys, glassnet.layers; "
                        "print(sorted(m for m in sys.modules if m.startswith('glassnet.models')))"],
                       capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "[]"


def test_autograd_does_not_import_tensor():
    # tensor.py imports autograd and installs its class there (autograd._install_tensor)
    assert not {m for m in _imports(SRC / "autograd.py") if m.startswith("glassnet.tensor")}
