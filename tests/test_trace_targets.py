"""Traces of any target: the explorer's counterexample files read, replayed and rendered;
a target known only through `describe_state` written and replayed generically; and
`write_all`, the call that writes every format of an explorer's violation."""

import pytest

from checks import explore
from checks.engine.outcome import SearchOptions
from checks.engine.search import explore as search
from checks.engine.summary import RunInfo
from checks.trace import cli, write_all
from checks.trace.document import Trace, TraceMeta, TraceStep, read_trace
from checks.trace.encoding import ABSENT
from checks.trace.graphviz_output import dot_available
from checks.trace.itf import ItfMap
from checks.trace.replay import load_trace, replay
from checks.trace.text import show_text
from checks.trace.view import build_view
from tests.test_engine_toys import CounterTarget


def test_explorer_writes_every_format_and_both_files_replay(tmp_path, capsys):
    argv = ["--target", "model", "--variant", "small_majority", "--out", str(tmp_path)]
    assert explore.main([*argv, "--no-progress"]) == 1
    capsys.readouterr()
    stem = "model-small_majority-ElectionSafety"
    written = {path.name for path in tmp_path.iterdir()}
    expected = {f"{stem}{suffix}" for suffix in (".json", ".itf.json", ".msc.dot", ".html")}
    if dot_available():
        expected.add(f"{stem}.msc.svg")
    assert written == expected
    assert cli.main(["replay", str(tmp_path / f"{stem}.itf.json")]) == 0
    found = tmp_path / f"{stem}.json"
    trace = load_trace(found)
    assert trace.meta.property.name == "ElectionSafety"
    assert trace.meta.property.description  # filled in from the target
    assert cli.main(["replay", str(found)]) == 0
    assert cli.main(["render", str(found), "--format", "html", "--out", str(tmp_path / "r")]) == 0
    assert (tmp_path / "r" / f"{stem}.html").read_bytes() == (
        tmp_path / f"{stem}.html"
    ).read_bytes()


def test_write_all_writes_every_format_and_the_trace_replays(tmp_path):
    run = explore.parse_run(["--target", "model", "--variant", "small_majority"], explore.TARGETS)
    outcome = search(run.target, run.options)
    written = write_all(tmp_path, run.target, run.info, outcome.violations[0])
    names = sorted(path.name for path in written.files)
    stem = "model-small_majority-ElectionSafety"
    expected = [f"{stem}.html", f"{stem}.itf.json", f"{stem}.msc.dot"]
    if dot_available():
        expected.append(f"{stem}.msc.svg")
        assert written.note is None
    else:
        assert "apt-get install graphviz" in written.note
    assert names == sorted(expected)
    result = replay(read_trace(written.itf))
    assert result.reproduced, result.message


class ServerCounter(CounterTarget):
    """The counter toy described as two servers whose terms are x and y."""

    name = "servers"

    def describe_state(self, state):
        x, y = state
        return {
            "servers": {"1": {"term": x, "role": "Follower"}, "2": {"term": y, "role": "Leader"}},
            "network": [],
        }


@pytest.fixture
def toy_target(monkeypatch):
    def build(request):
        return ServerCounter(limit=2)

    monkeypatch.setitem(explore.TARGETS, "servers", explore.TargetChoice("toy", build))
    return ServerCounter(limit=2)


def test_a_target_known_by_describe_state_is_traced_and_replayed(toy_target, tmp_path):
    outcome = search(toy_target, SearchOptions(max_depth=6))
    violation = next(v for v in outcome.violations if v.property_name == "not_both_full")
    info = RunInfo(target="servers", nodes=2, bounds={"limit": 2})
    written = write_all(tmp_path, toy_target, info, violation)
    trace = read_trace(written.itf)
    assert dict(trace.steps[-1].state["servers"].pairs)[1] == {"term": 2, "role": "Follower"}
    view = build_view(trace)
    assert view.server_ids == ["1", "2"]
    assert view.steps[1].changed["1"] == ["term"] or view.steps[1].changed["2"] == ["term"]
    result = replay(trace)
    assert result.reproduced, result.message
    assert result.failed_at == 4


class SometimesFailing(ServerCounter):
    """Describes an `error` field only in the states where both counters are full."""

    name = "flaky"

    def describe_state(self, state):
        described = super().describe_state(state)
        if state == (self.limit, self.limit):
            described["error"] = "both full"
        return described


def test_a_variable_some_states_lack_is_written_as_absent_and_replays(monkeypatch, tmp_path):
    monkeypatch.setitem(
        explore.TARGETS, "flaky", explore.TargetChoice("toy", lambda r: SometimesFailing(limit=2))
    )
    target = SometimesFailing(limit=2)
    outcome = search(target, SearchOptions(max_depth=6))
    violation = next(v for v in outcome.violations if v.property_name == "not_both_full")
    written = write_all(tmp_path, target, RunInfo(target="flaky", nodes=2), violation)
    trace = read_trace(written.itf)  # valid ITF: every state has every variable
    assert [step.state["error"] for step in trace.steps[-2:]] == [ABSENT, "both full"]
    assert replay(trace).reproduced
    assert "error: both full" in show_text(trace)


def test_messages_described_as_text_get_their_route_and_fate():
    """A trace built by hand (as the conformance harness can), messages as text."""
    servers = ItfMap.of([(1, {"term": 1}), (2, {"term": 1})])
    ping = {"message": "Ping 1->2 term 1", "copies": 1}
    steps = [
        TraceStep("init", "init", {}, {"nodes": servers, "network": []}),
        TraceStep("Send(1)", "Send", {}, {"nodes": servers, "network": [ping]}),
        TraceStep("Deliver(Ping 1->2)", "Deliver", {}, {"nodes": servers, "network": []}),
        TraceStep("Send(1)", "Send", {}, {"nodes": servers, "network": [ping]}),
        TraceStep("Drop(Ping 1->2)", "Drop", {}, {"nodes": servers, "network": []}),
    ]
    view = build_view(Trace(TraceMeta(target="by hand"), steps))
    assert view.server_ids == ["1", "2"]
    fates = [(m.sender, m.receiver, m.sent_step, m.fate, m.end_step) for m in view.messages]
    assert fates == [("1", "2", 1, "delivered", 2), ("1", "2", 3, "dropped", 4)]
