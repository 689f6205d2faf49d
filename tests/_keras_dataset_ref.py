"""Helper for test_datasets_more: run Keras 3's own imdb/reuters/boston/california loaders
(KERAS_BACKEND=torch) on fixture files, with Keras's download step pointed at the fixture;
prints the results as JSON."""

import json
import os
import sys

os.environ["KERAS_BACKEND"] = "torch"
from keras.src.datasets import (  # noqa: E402
    boston_housing,
    california_housing,
    imdb,
    reuters,
)


def _plain(a):
    return [list(map(int, x)) for x in a] if a.dtype == object else a.tolist()


def main() -> None:
    spec = json.load(sys.stdin)
    out = []
    for case in spec["cases"]:
        mod = {"imdb": imdb, "reuters": reuters, "boston_housing": boston_housing,
               "california_housing": california_housing}[case["module"]]
        mod.get_file = lambda *a, _p=case["file"], **k: _p
        (x, y), (xt, yt) = mod.load_data(**case["kwargs"])
        out.append([_plain(x), y.tolist(), _plain(xt), yt.tolist()])
    print(json.dumps(out))


if __name__ == "__main__":
    main()
