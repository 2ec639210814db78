"""The committed example traces are what the tools produce today: regenerating them gives
the same bytes, and each replays to its violation."""

from pathlib import Path

import pytest

from checks.trace.examples import DEFAULT_OUT, EXAMPLES, write_examples
from checks.trace.itf import validate
from checks.trace.replay import load_trace, replay

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / DEFAULT_OUT


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    out = tmp_path_factory.mktemp("examples")
    written = write_examples(out, say=lambda line: None)
    return out, written


def test_every_example_writes_itf_chart_and_viewer(regenerated):
    _, written = regenerated
    names = {path.name for path in written}
    assert len([n for n in names if n.endswith(".itf.json")]) == len(EXAMPLES) + 1  # + shrunk
    for name in names:
        if name.endswith(".itf.json"):
            stem = name.removesuffix(".itf.json")
            assert {f"{stem}.msc.dot", f"{stem}.html"} <= names


@pytest.mark.parametrize("suffix", [".itf.json", ".dot", ".html"])
def test_regenerated_files_equal_the_committed_ones(regenerated, suffix):
    _, written = regenerated
    for path in written:
        if path.name.endswith(suffix):
            committed = COMMITTED / path.name
            assert committed.exists(), f"{committed} missing: run `make examples-traces`"
            assert path.read_bytes() == committed.read_bytes(), (
                f"{committed} is stale: run `make examples-traces`"
            )


def test_committed_examples_are_valid_itf_and_replay():
    import json

    files = sorted(COMMITTED.glob("*.itf.json"))
    assert files
    for path in files:
        validate(json.loads(path.read_text()))
        result = replay(load_trace(path))
        assert result.reproduced, f"{path.name}: {result.message}"


def test_shrunk_walk_is_shorter_than_the_walk():
    walk = load_trace(next(COMMITTED.glob("*.walk.itf.json")))
    shrunk = load_trace(next(COMMITTED.glob("*.walk.shrunk.itf.json")))
    assert len(shrunk.steps) < len(walk.steps)
    assert shrunk.meta.property == walk.meta.property
