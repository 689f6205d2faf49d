# Two commands are all the set-up there is: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck bench clean api lab docs docs-serve

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || \
		{ echo "glassnet needs Python >= 3.10 (found $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/glassnet train
	@echo "Also try: $(BIN)/python examples/quickstart.py  (the course graph + a net from tensor ops)"

# one BLAS/OpenMP thread per test worker: two workers on two cores with two BLAS threads each
# spin against each other (a small GEMM took 7.5 ms instead of 0.05 under that load)
test: $(STAMP)
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
		$(BIN)/python -m pytest -q -n 2 --dist loadfile

# the public API on record (docs/api.txt); tests/test_api_record.py fails until it is current
api: $(STAMP)
	$(BIN)/python tools/api_record.py

# mypy as CI runs it (pinned in the dev extra; configuration in pyproject.toml)
typecheck: $(STAMP)
	$(BIN)/mypy

lint: $(STAMP)
	$(BIN)/ruff check src tests examples benchmarks tools

bench: $(STAMP)
	$(BIN)/python -m benchmarks.bench_models --interleaved
	$(BIN)/python -m benchmarks.bench_models --threads 1 --rounds 3
	$(BIN)/python -m benchmarks.bench_cnn
	$(BIN)/python -m benchmarks.bench_lstm --rounds 3

# the course notebooks in JupyterLab (the `notebooks` extra: jupyterlab, ipywidgets)
lab: $(STAMP)
	$(BIN)/python -m pip install -q -e ".[notebooks]"
	$(BIN)/jupyter lab notebooks/

# the documentation site (the `docs` extra): a strict build into site/ that runs the
# notebooks, or a live preview on http://127.0.0.1:8000
docs: $(STAMP)
	$(BIN)/python -m pip install -q -e ".[docs]"
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

docs-serve: $(STAMP)
	$(BIN)/python -m pip install -q -e ".[docs]"
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
