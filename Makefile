# Two entry points: `make demo` (the main job) and `make test` (the test suite).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip

.PHONY: setup demo test lint bench clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install torch==2.13.0
	$(PIP) install -e ".[dev,cluster]"
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(PY) -m scripts.demo

test: setup
	$(PY) -m pytest -q

lint: setup
	$(PY) -m ruff check .
	$(PY) -m mypy

bench: setup
	$(PY) benchmarks/bench_sim.py
	$(PY) benchmarks/bench_surrogate.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .mypy_cache
