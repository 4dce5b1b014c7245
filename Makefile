# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
# Each creates .venv if missing and installs what it needs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The CPU wheel is taken from the local index here; override for a CUDA build elsewhere.
TORCH_SPEC ?= torch==2.13.0
OUT ?= out/demo

.PHONY: demo test lint install dev clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH_SPEC)"
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

install: $(VENV)/.installed

dev: $(VENV)/.dev-installed

demo: $(VENV)/.installed
	$(VENV)/bin/deepclust demo --out $(OUT)

# pytest exits 5 when it collects no test; that is not a failure of the code.
test: $(VENV)/.dev-installed
	$(PY) -m pytest -q -p no:cacheprovider tests; rc=$$?; if [ $$rc -eq 5 ]; then rc=0; fi; exit $$rc

lint: $(VENV)/.dev-installed
	$(PY) -m ruff check deepclust tests benchmarks

clean:
	rm -rf $(VENV) out .pytest_cache
