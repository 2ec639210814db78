# One entry point for everything: each target creates the virtual environment
# and installs the project into it when needed.
PY      := .venv/bin/python
STAMP   := .venv/.installed
ARGS    ?= --nodes 3 --depth 12

.PHONY: all venv test test-slow lint typecheck pytest bench explore proto clean

all: test

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,dev]'
	touch $(STAMP)

venv: $(STAMP)

## The test command: lint, type-check, then the default (not slow) test suite.
test: lint typecheck pytest

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: $(STAMP)
	$(PY) -m mypy

pytest: $(STAMP)
	$(PY) -m pytest -n 2

test-slow: $(STAMP)
	HYPOTHESIS_PROFILE=dev $(PY) -m pytest -n 2 -m slow

## The main job: the bounded state explorer.
explore: $(STAMP)
	$(PY) -m checks.explore $(ARGS)

bench: $(STAMP)
	$(PY) -m checks.bench

## Regenerates raft_ref/eraftpb_pb2.py and its type stub from the schema.
proto: $(STAMP)
	$(PY) -m grpc_tools.protoc -Iraft_ref --python_out=raft_ref --pyi_out=raft_ref raft_ref/eraftpb.proto

clean:
	rm -rf .venv .mypy_cache .ruff_cache .pytest_cache .hypothesis
