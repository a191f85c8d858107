# The two commands of the README, and the pieces they are made of. Both install what they need
# into .venv first (PyPI only), so they work on a fresh machine.
PY ?= python3
VENV := .venv
PYRIGHT_VERSION := 1.1.414
PYRIGHT := .tools/node_modules/.bin/pyright
BIN := $(VENV)/bin
# No network beyond loopback here: keep litellm from fetching its price map or a tokenizer.
export LITELLM_LOCAL_MODEL_COST_MAP := True
export HF_HUB_OFFLINE := 1

.PHONY: install quickstart check check-min test test-unit lint typecheck bench emulator proxy live record

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25.1"

install: $(BIN)/python
	$(BIN)/python -m pip install --quiet --constraint .ci/constraints.txt -e ".[entra,litellm,tokenizers,proxy]" --group dev
	@# Pyright (npm; node ships with this machine's image) checks the README's documented calls
	@# too: tests/test_docs_typecheck.py runs it, and fails without it under CI.
	@if command -v npm >/dev/null; then \
		test -x $(PYRIGHT) || npm install --silent --no-audit --no-fund --prefix .tools pyright@$(PYRIGHT_VERSION); \
	else echo "npm not found: pyright is not installed (the README's blocks get mypy only)"; fi

## The main job: a chat and a stream against Azure if AZURE_INFERENCE_* are set, else the emulator.
quickstart: install
	$(BIN)/python cookbook/quickstart.py

## The README's benchmark: this library against its peers (installed from the `bench` extra), on a
## local server, same run; prints a markdown table and writes it to benchmarks/RESULTS.md.
## BENCH_QUICK=1 for a short run. Not part of check.
bench: install
	$(BIN)/python -m pip install --quiet --constraint .ci/constraints.txt -e ".[entra,litellm,tokenizers,proxy,bench]" --group dev
	@# pip byte-compiles an installed package, not an editable one: compiled here, not inside
	@# the first round's timed import (the peers' were compiled when pip installed them).
	$(BIN)/python -m compileall -q azure_llama_transport azure_llama_emulator langchain_azure_llama litellm_azure_llama benchmarks
	$(BIN)/python benchmarks/run.py --output benchmarks/RESULTS.md

## Everything CI runs: lint, types, then the whole test suite.
check: install lint typecheck test

## The LiteLLM and LangChain tests again with the lowest litellm and langchain-core pyproject
## allows (keep these equal to its lower bounds), in .venv-min; other packages as CI pins them.
LITELLM_MIN := 1.110.0
LANGCHAIN_CORE_MIN := 1.7.5
VENV_MIN := .venv-min

check-min:
	$(PY) -m venv $(VENV_MIN)
	$(VENV_MIN)/bin/python -m pip install --quiet --upgrade "pip>=25.1"
	grep -v -i -E '^(litellm|langchain-core|langchain)==' .ci/constraints.txt > $(VENV_MIN)/constraints.txt
	$(VENV_MIN)/bin/python -m pip install --quiet --constraint $(VENV_MIN)/constraints.txt \
		-e ".[entra,litellm,tokenizers]" --group dev "litellm==$(LITELLM_MIN)" "langchain-core==$(LANGCHAIN_CORE_MIN)"
	$(VENV_MIN)/bin/python -m pip list 2>/dev/null | grep -i -E '^(litellm|langchain-core|langchain) '
	$(VENV_MIN)/bin/pytest tests/litellm tests/langchain tests/unit/litellm tests/unit/langchain -q \
		--ignore=tests/litellm/test_proxy.py --ignore=tests/litellm/test_fleet.py

lint:
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

## The packages, then the documented calls: cookbook/ and README's ```python blocks (pyright
## is not run: it needs node from npm, which this PyPI-only install does not provide).
typecheck:
	$(BIN)/mypy
	$(BIN)/pytest -q tests/test_docs_typecheck.py

test:
	$(BIN)/pytest -q

## The unit layer only: tests/unit, sockets disabled, no server started (about 15 s on 2 cores).
test-unit:
	$(BIN)/pytest -q tests/unit

emulator: install
	$(BIN)/azure-llama-emulator

## A local fleet (README, "A fleet"): a redis-server, the emulator and two LiteLLM proxy instances
## on 127.0.0.1:4000 and :4001 sharing it (cookbook/litellm_proxy_fleet.yaml). Ctrl-C stops it.
## Needs Debian's redis-server package.
proxy: install
	BIN=$(BIN) cookbook/fleet.sh

## Maintainers with an Azure deployment: tests/live (LangChain's standard suite, LiteLLM, the proxy)
## against AZURE_INFERENCE_ENDPOINT + AZURE_INFERENCE_CREDENTIAL (+ AZURE_INFERENCE_MODEL when the
## endpoint needs `model`); skipped without them. RECORD=1 rewrites tests/live/cassettes from it.
live: install
	$(BIN)/pytest tests/live -m live --force-enable-socket \
		$(if $(RECORD),--record-mode=rewrite) $(LIVE_ARGS)

## Re-record the live cassettes from Azure (auth headers and the host are scrubbed).
record:
	$(MAKE) live RECORD=1
