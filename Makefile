# Two entry points for a fresh machine (see README): `make serve` and `make test`. `make help` lists every target.
# Everything runs from a local virtualenv; torch is pinned to the CPU build on this machine.
VENV ?= .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_HUB_DISABLE_TELEMETRY := 1
export GRADIO_ANALYTICS_ENABLED := False
export TOKENIZERS_PARALLELISM := false

.PHONY: help install serve test test-fast browser shelf-docs lint span-weights

help: ## List the targets (this text)
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(BIN)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev,eval,ray]'
	@if $(BIN)/pip list 2>/dev/null | grep -qi '^nvidia-'; then echo "error: a CUDA package was installed" >&2; exit 1; fi
	touch $@

install: $(BIN)/.installed ## Create .venv: the CPU torch, Verbatim and its dev, eval and ray extras (again when pyproject.toml changes)

serve: install ## The web chat on the bundled report at http://127.0.0.1:7860 (builds the index if needed)
	$(BIN)/verbatim serve

# Headless Chromium from Debian for the browser tests (Playwright's own download cannot work here).
browser: ## Install Debian's headless chromium for the browser tests (needs root and apt)
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

# Debian documentation packages for the shelf test (tests/answer/test_shelf.py; tests/data/shelf/documents.json).
SHELF_PACKAGES = bash-doc libgcrypt20-doc debian-policy libtasn1-doc libidn2-doc gsasl-doc diffutils-doc aspell-doc \
	developers-reference gettext-doc git libglib2.0-0 maint-guide
shelf-docs: ## Install the Debian documentation packages of the shelf test (needs root and apt)
	@dpkg -s $(SHELF_PACKAGES) >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq $(SHELF_PACKAGES) >/dev/null)

test: install browser shelf-docs ## Lint, then every test: real model, browser, load (what CI runs)
	$(BIN)/ruff check app tests training
	$(BIN)/python -m pytest

test-fast: install ## Unit tests only: hash embedder, no real model, browser, load or Ray test
	$(BIN)/python -m pytest -m "not model and not browser and not load and not ray"

lint: install ## ruff over app/, tests/ and training/
	$(BIN)/ruff check app tests training

span-weights: install ## Train the answer-span scorer on ../shared/benchmarks (SQuAD 2.0 dev half) into app/answer/span_weights.json
	OMP_NUM_THREADS=1 $(BIN)/python -m training.train_spans --write
