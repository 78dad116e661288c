# Two set-up commands, both self-contained on a fresh machine with Python 3.11:
#   make demo   create .venv, install, run the main job on an embedded default
#   make test   create .venv, install, lint, type-check and run the tests
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint types pytest bench clean

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) on PATH (or: make PYTHON=python3 ...)"; exit 2; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# constraints.txt pins the whole set verified together
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[train,worker,ops,dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/catalog demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(STAMP)
	$(BIN)/mypy .

pytest: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test: lint types pytest

# e.g. make bench BENCH_IMAGES=../shared/datasets/clothing-small BENCH_MODEL=clothing
BENCH_IMAGES ?= ../shared/datasets/clothing-small
BENCH_MODEL  ?= clothing
bench: $(STAMP)
	$(BIN)/catalog bench --images $(BENCH_IMAGES) --model $(BENCH_MODEL)

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache
