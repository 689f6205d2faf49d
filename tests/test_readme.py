"""The README's Python snippets run as written (a newcomer copies them first)."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_readme_has_python_examples():
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("i", range(len(BLOCKS)))
def test_readme_python_block_runs(i, capsys, tmp_path, monkeypatch):
    pytest.importorskip("sklearn")
    monkeypatch.chdir(tmp_path)  # a snippet that saves a file writes it here
    namespace: dict = {}
    exec(compile(BLOCKS[i], f"README.md block {i}", "exec"), namespace)  # noqa: S102
    out = capsys.readouterr().out
    if "evaluate(" in BLOCKS[i]:
        acc = float(re.search(r"'accuracy': ([0-9.]+)", out).group(1))
        assert acc > 0.9, out
