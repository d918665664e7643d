# MNIST Lab: `make run` opens the dashboard, `make test` runs the whole test suite.
# Both create .venv and install what they need on first use.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8501
HOST = 0.0.0.0

.PHONY: run serve test test-fast lint browser-deps model bench clean

$(VENV)/.run-deps: requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "MNIST Lab needs Python >= 3.11 (Streamlit 1.67 requires it); found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.dev-deps: $(VENV)/.run-deps requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

## Open the dashboard at http://localhost:8501 on the bundled MNIST: this computer only, nothing sent out.
run: $(VENV)/.run-deps
	@$(PY) scripts/open_browser.py http://localhost:$(PORT) &
	$(PY) scripts/serve.py --port $(PORT)

## Serve a class: listen on HOST (default every interface) and print the addresses students open.
serve: $(VENV)/.run-deps
	$(PY) scripts/serve.py --host $(HOST) --port $(PORT)

## Run the linters and the whole test suite: unit, page (AppTest) and browser (headless Chromium) tests.
test: lint browser-deps
	$(PY) -m pytest

## The quick loop (under a minute): linters, then every test that neither trains on MNIST,
## starts a process or server, nor drives a browser.
test-fast: lint
	$(PY) -m pytest -m "not browser and not slow"

## ruff (style and common bugs) on the whole project; mypy (type hints) on nnlib.
lint: $(VENV)/.dev-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

## Debian's Chromium for the browser tests, when missing and when we may install it.
browser-deps:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "Chromium not found: browser tests will be skipped (sudo apt-get install chromium)"; \
	fi

## Run every benchmark as users get it (PyTorch for the comparisons only: pip install torch==2.13.0 into .venv;
## page_speed and classroom drive Debian's chromium: make browser-deps), then print one table of their headline figures (benchmarks/results/summary.md).
bench: $(VENV)/.dev-deps browser-deps
	$(PY) benchmarks/run_all.py

## Retrain the bundled models: the default MLP (data/models/default.npz, preset mlp-record) and the
## CNN (data/models/cnn.npz, preset cnn-best), each with 10% held out for validation (calibrate needs it).
## One BLAS thread and OpenBLAS's own choice of kernels, as they were made (see data/models/README.md).
model: $(VENV)/.run-deps
	OPENBLAS_NUM_THREADS=1 env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) -m nnlib train --preset mlp-record \
		--val-split 0.1 --seed 0 --out data/models/default.npz
	OPENBLAS_NUM_THREADS=1 env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) -m nnlib train --preset cnn-best \
		--val-split 0.1 --seed 0 --out data/models/cnn.npz

clean:
	rm -rf $(VENV) .pytest_cache
