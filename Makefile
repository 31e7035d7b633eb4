# nanfix: `make run` (install + probe a recipe) and `make test` (install + test suite).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# CPU TensorFlow unless an NVIDIA GPU answers (override: make install NANFIX_TF=gpu|cpu).
NANFIX_TF ?= $(shell command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 && echo gpu || echo cpu)
RECIPE ?= recipes/seed002_linear_mnist
STAMP  := $(VENV)/.installed-$(NANFIX_TF)

export TF_CPP_MIN_LOG_LEVEL ?= 3

.PHONY: install run recipes test lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[$(NANFIX_TF),dev,ray]"
	rm -f $(VENV)/.installed-*
	touch $@

run: install
	$(BIN)/nanfix probe $(RECIPE)/train.py --exit-zero $(RUN_ARGS)

recipes: install
	@for s in recipes/*/train.py; do \
	  echo "=== $$s"; \
	  $(BIN)/nanfix probe $$s --exit-zero --no-progress $$(cat $$(dirname $$s)/nanfix-args 2>/dev/null) || exit $$?; \
	done

# Tests run on up to 4 processes (most wait on a worker process's TensorFlow start); a module
# whose fixture probes once stays on one of them (xdist_group).
PYTEST_ARGS ?= -n auto --maxprocesses 4 --dist loadgroup

test: install
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check nanfix tests benchmarks

bench: install
	$(BIN)/python benchmarks/bench.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/corpus_bench.py $(CORPUS_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
