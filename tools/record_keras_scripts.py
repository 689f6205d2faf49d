"""Record what the tutorial scripts print on real Keras 3 (tests/keras_scripts/keras_results.json).

    python tools/record_keras_scripts.py                          # every script
    python tools/record_keras_scripts.py mnist_convnet lstm_sine  # some of them

Each script runs the way ``test_script_matches_real_keras`` runs it (the same seeded boot,
the same environment), so the recorded numbers are the ones the live comparison sees. The
scripts whose Keras run needs a package that is not installed (``keras_needs``) are left as
they are. The file is written to a temporary name and renamed: an interrupted recording
never leaves half a file.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import test_keras_scripts as ks  # noqa: E402


def record(name: str, tmp: Path) -> dict[str, float]:
    """Run one script on Keras; the numbers its band compares (all it printed if none)."""
    boot = tmp / "_keras_boot.py"
    boot.write_text(ks._KERAS_BOOT)
    got = ks._run([sys.executable, str(boot), str(ks.HERE / f"{name}.py")], tmp,
                  ks._env(KERAS_BACKEND="torch"), f"{name} on Keras")
    wanted = list(ks.SCRIPTS[name]["band"]) or list(got)
    missing = [m for m in wanted if m not in got]
    if missing:
        raise SystemExit(f"{name} on Keras printed no line for {missing}; it printed {got}")
    return {m: got[m] for m in wanted}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="scripts to record (default: all)")
    ap.add_argument("--jobs", type=int, default=2, help="Keras runs at once (default 2)")
    args = ap.parse_args(argv)
    unknown = sorted(set(args.names) - set(ks.SCRIPTS))
    if unknown:
        ap.error(f"no such script in SCRIPTS: {unknown}")
    names = args.names or sorted(ks.SCRIPTS)
    names = [n for n in names if not (ks.SCRIPTS[n].get("keras_needs")
                                      and importlib.util.find_spec(ks.SCRIPTS[n]["keras_needs"])
                                      is None)]

    def one(name: str) -> tuple[str, dict[str, float]]:
        with tempfile.TemporaryDirectory() as tmp:
            out = record(name, Path(tmp))
        print(f"{name}: {out}", flush=True)
        return name, out

    with ThreadPoolExecutor(args.jobs) as pool:
        results = dict(pool.map(one, names))
    path = ks.HERE / "keras_results.json"
    write(path, results)
    print(f"wrote {len(results)} scripts' numbers to {path}")


def write(path: Path, results: dict[str, dict[str, float]]) -> None:
    """Merge ``results`` into the record at ``path`` (other scripts' entries and the
    ``_about`` line kept, one line per script), through a temporary file and a rename."""
    data = json.loads(path.read_text())
    about = data.pop("_about")
    data.update(results)
    lines = [f'  "_about": {json.dumps(about)}']
    lines += [f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in data.items()]
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, suffix=".json")
    try:
        with os.fdopen(fd, "w") as f:
            f.write("{\n" + ",\n".join(lines) + "\n}\n")
        os.replace(tmp_name, path)
    except BaseException:
        os.unlink(tmp_name)
        raise


if __name__ == "__main__":
    main()
