# Two entry points, each creating or reusing the project-local virtualenv by itself:
#   make demo   the main job on the embedded local Hub, no account and no internet
#   make test   the whole suite with its quality gates
#   make conformance   huggingface_hub's own tests against the local Hub
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
PYTEST_ARGS ?=

.PHONY: demo test test-lfs-client conformance lint typecheck unit venv clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python >= 3.11 is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/demo.py

lint: $(STAMP)
	$(BIN)/ruff check src tests examples benchmarks conformance scripts
	$(BIN)/ruff format --check src tests examples benchmarks conformance scripts

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

# The Hub's read, write and file tests again with the client's LFS path (hf_xet disabled), so
# both transfer paths stay covered: `make test` runs them with the default client (Xet).
test-lfs-client: $(STAMP)
	HF_HUB_DISABLE_XET=1 $(BIN)/python -m pytest -n 2 -m "not docker" $(PYTEST_ARGS) \
		tests/integration/test_hub_reads.py tests/integration/test_hub_writes.py \
		tests/integration/test_hub_files.py tests/integration/test_hub_protocol_edges.py

# huggingface_hub's own tests against the local Hub (downloads the pinned client's sdist).
conformance: $(STAMP)
	$(BIN)/python -m conformance.run --workers 2

unit: $(STAMP)
	$(BIN)/python -m pytest -m unit $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) build dist .demo .cache .pytest_cache .mypy_cache .ruff_cache src/*.egg-info
