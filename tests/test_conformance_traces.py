"""A failing conformance scenario writes the files of an explorer counterexample, and
`python -m checks.trace` shows and replays them."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from checks.conformance import __main__ as conformance_cli
from checks.trace import cli as trace_cli
from checks.trace.document import read_trace
from checks.trace.itf import ItfMap

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT_LABEL = ROOT / "checks" / "conformance" / "scenarios" / "snapshot_label_term.scn"
LYING = ROOT / "tests" / "conformance_fakes" / "lying_adapter.py"


def _without_header(tmp_path: Path) -> Path:
    """The snapshot-label scenario as an ordinary one, so that it fails."""
    text = SNAPSHOT_LABEL.read_text(encoding="utf-8").split("\n", 1)[1]
    path = tmp_path / "lost_entry.scn"
    path.write_text(text, encoding="utf-8")
    return path


def _fail(tmp_path: Path, *args: str) -> Path:
    traces = tmp_path / "traces"
    assert conformance_cli.main([*args, "--traces", str(traces)]) == 1
    return traces


def test_a_safety_violation_writes_itf_chart_and_viewer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    traces = _fail(tmp_path, "--impl", "raft_ref", "--mode", "protocol", "--scenario",
                   str(_without_header(tmp_path)))  # fmt: skip
    names = sorted(p.name for p in traces.iterdir())
    assert {"lost_entry.itf.json", "lost_entry.msc.dot", "lost_entry.html"} <= set(names)
    assert "trace: " + str(traces / "lost_entry.itf.json") in capsys.readouterr().out
    trace = read_trace(traces / "lost_entry.itf.json")
    assert trace.meta.property is not None
    assert (trace.meta.source, trace.meta.property.name) == ("checks.conformance",
                                                             "state-machine-safety")  # fmt: skip
    assert trace.meta.violation_step == len(trace.steps) - 1 == 19
    final = trace.steps[-1].state["nodes"]
    assert isinstance(final, ItfMap)
    node3 = final.get(3)
    assert isinstance(node3, dict) and node3["log"] == [7]


def test_checks_trace_replays_and_shows_a_conformance_trace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    traces = _fail(tmp_path, "--impl", "raft_ref", "--mode", "protocol", "--scenario",
                   str(_without_header(tmp_path)))  # fmt: skip
    capsys.readouterr()
    itf = traces / "lost_entry.itf.json"
    assert trace_cli.main(["replay", str(itf)]) == 0
    assert capsys.readouterr().out.strip() == "reproduced: state-machine-safety fails at step 19"
    assert trace_cli.main(["show", str(itf)]) == 0
    shown = capsys.readouterr().out
    assert "step 19: stabilize   <-- state-machine-safety VIOLATED" in shown
    assert "conformance (variant raft_ref)" in shown


def test_shrinking_a_conformance_trace_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    traces = _fail(tmp_path, "--impl", "raft_ref", "--mode", "protocol", "--scenario",
                   str(_without_header(tmp_path)))  # fmt: skip
    capsys.readouterr()
    assert trace_cli.main(["shrink", str(traces / "lost_entry.itf.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("python -m checks.trace: error: a conformance trace has no explorer")
    assert len(err.splitlines()) == 1


def test_a_strict_divergence_trace_replays_on_its_adapter(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    adapter = f"{sys.executable} {LYING}"
    traces = _fail(tmp_path, "--adapter", adapter, "--scenario", "election_basic")
    capsys.readouterr()
    trace = read_trace(traces / "election_basic.itf.json")
    assert trace.meta.property is not None
    assert trace.meta.property.name == "strict-agreement"
    assert trace_cli.main(["replay", str(traces / "election_basic.itf.json")]) == 0
    assert "reproduced: strict-agreement fails at step" in capsys.readouterr().out


def test_a_trace_that_no_longer_fails_is_not_reproduced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    traces = _fail(tmp_path, "--impl", "raft_ref", "--mode", "protocol", "--scenario",
                   str(_without_header(tmp_path)))  # fmt: skip
    itf = traces / "lost_entry.itf.json"
    # The same trace, as if recorded with the fix of #408 switched on.
    fixed = itf.read_text(encoding="utf-8").replace(
        '"snapshot_term_of_entry": false', '"snapshot_term_of_entry": true'
    )
    itf.write_text(fixed, encoding="utf-8")
    capsys.readouterr()
    assert trace_cli.main(["replay", str(itf)]) == 1
    assert "not reproduced: state-machine-safety holds" in capsys.readouterr().out


def test_replaying_on_an_adapter_that_is_gone_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    adapter = f"{sys.executable} {LYING}"
    traces = _fail(tmp_path, "--adapter", adapter, "--scenario", "election_basic")
    itf = traces / "election_basic.itf.json"
    itf.write_text(itf.read_text(encoding="utf-8").replace(str(LYING), "/gone.py"), "utf-8")
    capsys.readouterr()
    assert trace_cli.main(["replay", str(itf)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("python -m checks.trace: error: adapter crashed")
    assert len(err.splitlines()) == 1
