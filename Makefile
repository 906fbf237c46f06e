# Two commands do all set-up:  `make run` (install, ingest the bundled records, serve the chat)
# and `make test` (install with test extras, run the whole suite). Both create .venv if missing.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: run test install lint format bench load eval clean

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --progress-bar off -c requirements.lock -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	@start=$$(date +%s); $(BIN)/irchat ingest data/records; echo "ingest took $$(( $$(date +%s) - start )) s"
	$(BIN)/irchat records
	$(BIN)/irchat serve

test: $(STAMP)
	bash scripts/test.sh $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python benchmarks/ingest.py

# Load the running app (make run in another terminal): 20 clients through the Gradio API for 60 s.
load: $(STAMP)
	$(BIN)/python benchmarks/load.py --clients 20 --seconds 60

clean:
	rm -rf $(VENV) .irchat-test
