# Two commands do all the set-up: `make demo` and `make test`.
# Both create .venv on first use and reinstall when pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean screenshots

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/fraisier demo

# Most tests wait on real processes (git, servers, health checks), so four in parallel on two
# cores finish in about half the time.
test: $(STAMP)
	$(VENV)/bin/python -m pytest -n 4

# The screenshots of docs/dashboard.md, from a seeded workspace, in Debian's chromium.
screenshots: $(STAMP)
	$(VENV)/bin/python scripts/screenshots.py docs/images

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) .pytest_cache
