# One entry point for everything: each target creates the virtual environment
# and installs the project into it when needed.
PY      := .venv/bin/python
STAMP   := .venv/.installed
ARGS    ?= --nodes 3 --depth 12

.PHONY: all venv test test-slow lint typecheck pytest bench explore quorum proto clean \
        conformance conformance-adapters examples-traces soundness fast

all: test

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,dev,cluster]'
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

## The slow tests, then the whole soundness gate (its quick part is in `test`).
test-slow: $(STAMP)
	HYPOTHESIS_PROFILE=dev $(PY) -m pytest -n 2 -m slow
	$(PY) -m checks.soundness

## The main job: the bounded state explorer, run from the compiled tree (`make fast`;
## the sources themselves where it cannot be built, and with --engine ray).
explore: $(STAMP)
	@case " $(ARGS) " in \
	  *" --engine ray "*|*" --engine=ray "*) tree= ;; \
	  *) tree=$$($(PY) -m checks.fast_build build/fast --or-nothing) ;; \
	esac; \
	PYTHONPATH=$$tree $(PY) -P -m checks.explore $(ARGS)

## The explorer's hot path compiled with mypyc into build/fast (reused until a source changes).
fast: $(STAMP)
	$(PY) -m checks.fast_build build/fast

## Z3 proofs of quorum intersection and the commit rule, tied to raft_ref's code.
quorum: $(STAMP)
	$(PY) -m checks.quorum

## Builds the conformance adapters: the raft crate 0.6.0-alpha and 0.7.0 (cargo), etcd's raft (go).
conformance-adapters:
	@if command -v cargo >/dev/null; then cd checks/conformance/adapters/raft-rs && cargo build --release --locked; else echo "skipping raft-rs adapter: cargo not installed"; fi
	@if command -v cargo >/dev/null; then cd checks/conformance/adapters/raft-rs-0.7 && cargo build --release --locked; else echo "skipping raft-rs-0.7 adapter: cargo not installed"; fi
	@if command -v go >/dev/null; then cd checks/conformance/adapters/etcd && go build -mod=readonly -o etcd-conformance-adapter .; else echo "skipping etcd adapter: go not installed"; fi

## Corpus + 10,000 seeded random scenarios vs raft-rs (strict); corpus + 1,000 vs raft-rs 0.7 and etcd (protocol).
conformance: $(STAMP) conformance-adapters
	$(PY) -m checks.conformance --impl raft-rs --random 10000 --seed 0 --quiet --skip-missing
	$(PY) -m checks.conformance --impl raft-rs-0.7 --random 1000 --seed 0 --quiet --skip-missing
	$(PY) -m checks.conformance --impl etcd --random 1000 --seed 0 --quiet --skip-missing

## Regenerates the example traces in traces/examples (byte-identical on rerun).
examples-traces: $(STAMP)
	$(PY) -m checks.trace examples --out traces/examples

bench: $(STAMP)
	$(PY) -m checks.bench

## The soundness gate: the unmodified code passes explorations far beyond the defaults.
soundness: $(STAMP)
	$(PY) -m checks.soundness

## Regenerates raft_ref/eraftpb_pb2.py and its type stub from the schema.
proto: $(STAMP)
	$(PY) -m grpc_tools.protoc -Iraft_ref --python_out=raft_ref --pyi_out=raft_ref raft_ref/eraftpb.proto

clean:
	rm -rf .venv .mypy_cache .ruff_cache .pytest_cache .hypothesis build
