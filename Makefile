# Two entry points for a fresh machine (see README): `make serve` and `make test`.
# Everything runs from a local virtualenv; torch is pinned to the CPU build on this machine.
VENV ?= .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_HUB_DISABLE_TELEMETRY := 1
export GRADIO_ANALYTICS_ENABLED := False
export TOKENIZERS_PARALLELISM := false

.PHONY: install serve test test-fast browser lint

$(BIN)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev,ray]'
	@if $(BIN)/pip list 2>/dev/null | grep -qi '^nvidia-'; then echo "error: a CUDA package was installed" >&2; exit 1; fi
	touch $@

install: $(BIN)/.installed

# The main job: the web chat on the bundled report at http://127.0.0.1:7860 (builds the index if needed).
serve: install
	$(BIN)/verbatim serve

# Headless Chromium from Debian for the browser tests (Playwright's own download cannot work here).
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

# Every test, the real-model and browser ones included.
test: install browser
	$(BIN)/ruff check app tests
	$(BIN)/python -m pytest

# Unit tests only (fake embedder, no browser, no load test): about 20 seconds.
test-fast: install
	$(BIN)/python -m pytest -m "not model and not browser and not load"

lint: install
	$(BIN)/ruff check app tests
