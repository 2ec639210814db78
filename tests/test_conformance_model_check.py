"""Protocol mode's model check: each delivery to a follower is a step the model allows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from checks.conformance import __main__ as cli
from checks.conformance import model_check
from checks.conformance.itf_trace import RunSpec
from checks.conformance.model_check import model_checked_by_default, params_of
from checks.conformance.protocol import b64, decode_message_b64
from checks.conformance.raft_ref_host import RaftRefHost
from checks.conformance.random_scenarios import random_scenario
from checks.conformance.runner import ScenarioResult, run_scenarios
from checks.conformance.scenario import load_scenario, parse_scenario
from checks.conformance.sessions import InProcessSession
from checks.trace import cli as trace_cli
from checks.trace.document import read_trace
from model.params import SNAPSHOT_LABEL_QUIRK
from raft_ref.eraftpb import MessageType, encode_message
from raft_ref.raft_log import RaftLog

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "checks" / "conformance" / "scenarios"
CORPUS = sorted(SCENARIOS.glob("*.scn"))
ETCD_DERIVED = sorted((SCENARIOS / "etcd").glob("*.scn"))

# Node 3 misses the entry 1 proposes, then campaigns; node 2 holds the longer log.
STALE_CANDIDATE = """\
cluster voters=1,2,3
campaign 1
stabilize
isolate 3
propose 1 a
stabilize
heal
campaign 3
process 3
deliver from=3 to=2
process 2
"""


def _run(text: str, host: RaftRefHost | None = None) -> ScenarioResult:
    session = InProcessSession(host if host is not None else RaftRefHost())
    (result,) = run_scenarios([parse_scenario("scenario", text)], session, "protocol").results
    return result


@pytest.mark.parametrize("which", ["corpus", "etcd-derived", "random"])
def test_raft_ref_refines_the_model_on_every_delivery_it_checks(which: str) -> None:
    if which == "random":
        scenarios = [random_scenario(5, n) for n in range(30)]
    else:
        scenarios = [load_scenario(p) for p in (CORPUS if which == "corpus" else ETCD_DERIVED)]
    summary = run_scenarios(scenarios, InProcessSession(), "protocol")
    assert [(r.name, r.detail) for r in summary.results if r.status != "pass"] == []
    deliveries = summary.deliveries()
    assert deliveries is not None
    # Most deliveries to followers are checked; those to leaders never are.
    assert deliveries.checked > 300
    assert deliveries.skipped[model_check.NOT_FOLLOWER] > 0
    if which != "random":
        # Every snapshot installed was seen: the logs starting after one are checked.
        assert deliveries.skipped[model_check.UNKNOWN_LABEL] == 0


def test_a_vote_granted_to_a_stale_log_breaks_refines_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert _run(STALE_CANDIDATE).status == "pass"
    # A mutated raft_ref: every candidate's log counts as up to date.
    monkeypatch.setattr(RaftLog, "is_up_to_date", lambda self, index, term: True)
    result = _run(STALE_CANDIDATE)
    assert (result.status, result.failure) == ("failed", "refines-model")
    assert result.detail == (
        "line 11 'process 2': node 2 in state Follower term 2 vote 1 commit 3 log 2..3 "
        "terms [2,2] received RequestVote 3->2 term 3 last (2, term 2): it reached Follower "
        "term 3 vote 3 commit 3 log 2..3 terms [2,2] sending [RequestVoteResponse 2->3 "
        "term 3]; the model allows Follower term 3 vote 0 commit 3 log 2..3 terms [2,2] "
        "sending [RequestVoteResponse 2->3 term 3 reject]"
    )


class _OverclaimingHost(RaftRefHost):
    """raft_ref, except that node 2's append responses claim one index more."""

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        answer = super().handle(request)
        ready = answer.get("ready")
        if request.get("node") == 2 and isinstance(ready, dict):
            ready["messages"] = [_overclaim(m) for m in ready["messages"]]
        return answer


def _overclaim(encoded: str) -> str:
    m = decode_message_b64(encoded)
    if m.msg_type == MessageType.MsgAppendResponse and not m.reject:
        m.index += 1
    return b64(encode_message(m))


def test_a_wrong_answer_is_reported_with_what_the_model_allows() -> None:
    result = _run("cluster voters=1,2\ncampaign 1\nstabilize\n", _OverclaimingHost())
    assert (result.status, result.failure) == ("failed", "refines-model")
    assert result.detail.startswith(
        "line 3 'stabilize': node 2 in state Follower term 2 vote 1 commit 1 log 2..1 terms [] "
        "received AppendEntries 1->2 term 2 prev (1, term 1) [2:Data] commit 1: it reached "
        "Follower term 2 vote 1 commit 1 log 2..2 terms [2] sending [AppendEntriesResponse "
        "2->1 term 2 index 3]; the model allows"
    )
    assert result.detail.endswith("sending [AppendEntriesResponse 2->1 term 2 index 2]")


class _LeaderlessHost(RaftRefHost):
    """raft_ref, except that its `state` answers leave out the optional `leader_id`."""

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        answer = super().handle(request)
        state = answer.get("state")
        if isinstance(state, dict):
            del state["leader_id"]
        return answer


def test_deliveries_to_a_node_whose_state_lacks_a_field_are_skipped() -> None:
    result = _run("cluster voters=1,2,3\ncampaign 1\nstabilize\n", _LeaderlessHost())
    assert result.status == "pass"
    assert result.deliveries is not None and result.deliveries.checked == 0
    assert result.deliveries.skipped[model_check.STATE_LACKS] > 0


def test_a_delivery_followed_by_another_event_is_skipped_not_checked() -> None:
    text = "cluster voters=1,2,3\nprocess\ncampaign 1\nprocess 1\ndeliver to=2\ntick 2\nprocess\n"
    result = _run(text)
    assert result.status == "pass"
    assert result.deliveries is not None
    assert result.deliveries.checked == 0
    assert result.deliveries.skipped == {model_check.OTHER_EVENT_AFTER: 1}


def test_several_deliveries_before_one_ready_are_checked_together() -> None:
    # Node 2 grants its vote, then gets an append and a heartbeat before its next ready.
    text = (
        "cluster voters=1,2,3\nprocess\ncampaign 1\nprocess 1\ndeliver to=2\nprocess 2\n"
        "deliver to=1\nprocess 1\ntick 1\nprocess 1\ndeliver to=2\nprocess 2\n"
    )
    result = _run(text)
    assert result.status == "pass"
    assert result.deliveries is not None
    assert result.deliveries.checked == 3
    assert result.deliveries.skipped == {model_check.NOT_FOLLOWER: 1}  # the vote, at 1


def test_a_refines_model_failure_leaves_a_trace_that_replays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(RaftLog, "is_up_to_date", lambda self, index, term: True)
    scenario = tmp_path / "stale_vote.scn"
    scenario.write_text(STALE_CANDIDATE, encoding="utf-8")
    traces = tmp_path / "traces"
    args = ["--impl", "raft_ref", "--mode", "protocol", "--scenario", str(scenario)]
    assert cli.main([*args, "--traces", str(traces)]) == 1
    trace = read_trace(traces / "stale_vote.itf.json")
    assert trace.meta.property is not None and trace.meta.property.name == "refines-model"
    capsys.readouterr()
    assert trace_cli.main(["replay", str(traces / "stale_vote.itf.json")]) == 0
    assert capsys.readouterr().out.startswith("reproduced: refines-model fails at step 11")


def test_the_summary_counts_deliveries_and_the_flag_switches_the_check_off(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "summary.json"
    args = ["--impl", "raft_ref", "--mode", "protocol", "--scenario", "election_basic"]
    assert cli.main([*args, "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    summary = json.loads(out.read_text())
    checked = summary["counts"]["deliveries_checked"]
    skipped = summary["counts"]["deliveries_skipped"]
    assert checked > 0 and skipped == sum(summary["deliveries_skipped"].values())
    assert f"model check: {checked} deliveries checked, {skipped} skipped (" in printed
    assert cli.main([*args, "--no-model-check", "--json", str(out)]) == 0
    assert "model check" not in capsys.readouterr().out
    assert "deliveries_checked" not in json.loads(out.read_text())["counts"]


def test_the_model_check_flag_is_refused_in_strict_mode(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["--impl", "raft_ref", "--mode", "strict", "--model-check"]) == 2
    assert capsys.readouterr().err == (
        "python -m checks.conformance: error: "
        "--model-check and --no-model-check apply to protocol mode only\n"
    )


def test_on_by_default_only_where_the_models_rules_apply() -> None:
    impls = ("raft_ref", "raft-rs", "raft-rs-0.7", "etcd")
    defaults = {i: model_checked_by_default(i) for i in impls}
    assert defaults == {"raft_ref": True, "raft-rs": True, "raft-rs-0.7": False, "etcd": False}
    assert model_checked_by_default(None) is False  # --adapter: someone else's rules
    # A trace's replay command says so where a run differed from the default.
    assert (
        RunSpec("raft-rs", None, "protocol")
        .command("x")
        .endswith("--impl raft-rs --no-model-check --mode protocol --scenario x")
    )
    assert "--model-check" in RunSpec("etcd", None, "protocol", model_check=True).command("x")
    assert "model-check" not in RunSpec("etcd", None, "protocol").command("x")


def test_params_come_from_the_nodes_configuration() -> None:
    p = params_of({"pre_vote": True, "check_quorum": True, "max_size_per_msg": 0}, False)
    assert (p.pre_vote, p.check_quorum, p.entries_per_append, p.left_out) == (True, True, 1, ())
    p = params_of({"max_size_per_msg": 100, "skip_bcast_commit": True}, True)
    assert (p.entries_per_append, p.skip_bcast_commit) == (0, True)
    assert p.left_out == (SNAPSHOT_LABEL_QUIRK,)
