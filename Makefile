# The README's commands. Each creates .venv on first use (Python 3.11, pip, torch pinned to the CPU wheel).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: run test bench index lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## run: build the index from knowledge/, then serve the web chat on http://$(HOST):$(PORT) and run the
## worker (IT's replies, tickets to the service desk) until Ctrl-C stops both
run: $(STAMP)
	$(BIN)/itbot index
	$(BIN)/itbot run --host $(HOST) --port $(PORT)

index: $(STAMP)
	$(BIN)/itbot index

## test: lint, type-check and run the whole test suite
test: $(STAMP)
	$(BIN)/ruff check bot indexer tests benchmarks
	$(BIN)/mypy
	$(BIN)/pytest -q

## bench: the quality and speed benchmarks (print tables; not tests)
bench: $(STAMP)
	$(BIN)/python benchmarks/quality.py --split test
	$(BIN)/python benchmarks/hospital.py --split test4
	$(BIN)/python benchmarks/speed.py

clean:
	rm -rf $(VENV) var
