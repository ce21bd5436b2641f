# Two commands on a fresh machine: `make demo` and `make test`.
# Everything else (venv, FerretDB, Ollama and llama.cpp builds, the models) is set up on the way.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SERVICES := $(BIN)/python scripts/services.py
# The local services, unless the caller points us elsewhere.
export MONGODB_URI ?= mongodb://127.0.0.1:$(or $(SIM_MONGO_PORT),27017)
export OLLAMA_HOST ?= http://127.0.0.1:$(or $(SIM_OLLAMA_PORT),11434)
export SIM_LLAMACPP_URL ?= http://127.0.0.1:$(or $(SIM_LLAMACPP_PORT),8088)/v1

.PHONY: setup build services services-down status demo test bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

build: setup
	$(SERVICES) build

services: setup
	$(SERVICES) up

services-down:
	@if [ -x $(BIN)/python ]; then $(SERVICES) down; else $(PYTHON) scripts/services.py down; fi

status:
	@$(PYTHON) scripts/services.py status

demo: services
	$(BIN)/python scripts/demo.py

test: build
	@command -v tmux >/dev/null || (echo "installing tmux for the terminal test" && apt-get update -qq && apt-get install -y -qq tmux)
	@test -x /usr/bin/chromium || (echo "installing Debian's chromium for the browser tests" && apt-get update -qq && apt-get install -y -qq chromium)
	$(BIN)/python -m pytest

clean: services-down
	rm -rf .data

bench: build
	$(BIN)/python benchmarks/run_all.py
