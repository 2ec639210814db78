"""The cluster under test (checks/cluster) and its refinement check (checks/refinement)."""

from __future__ import annotations

import json
from pathlib import Path

from checks import refinement
from checks.cluster import Cluster, initial_cluster, perform
from checks.cluster.node_key import message_key
from checks.engine.counterexample import explain_violation
from checks.engine.outcome import SearchOptions
from checks.engine.search import explore
from checks.engine.summary import RunInfo
from checks.refinement import abstract, implementation_ignores, refines, retire_ignored
from checks.targets.impl_target import ImplTarget, build_impl_target
from checks.trace.write import write_counterexample
from model.actions import Action, enabled
from model.state import MsgType, Role
from raft_ref.eraftpb import Message, MessageType
from raft_ref.raft import Raft, StateRole
from raft_ref.storage import MemStorage

TARGET = build_impl_target(max_term=2, changes=("shrink_to_one",), max_msgs=6)


def _step(target: ImplTarget, c: Cluster, name: str, **want: int) -> tuple[Action, Cluster]:
    """Performs the first enabled model action called `name` whose message (for
    deliveries) goes `to` and comes `from_` the given nodes, or whose first argument is
    `node`; checks that the step refines the model."""
    p = target.params
    before = abstract(p, c)
    keys = c.message_keys
    assert isinstance(keys, dict)
    for action in enabled(p, before):
        if action.name != name:
            continue
        if name == "Deliver":
            m = action.args[0]
            if m.dst != want.get("to", m.dst) or m.src != want.get("from_", m.src):
                continue
        elif "node" in want and action.args[0] != want["node"]:
            continue
        if "voters" in want and action.args[1] != want["voters"]:
            continue
        after = target.carry_out(c, action)
        assert after is not None and after.error is None
        assert refines(p, before, action, abstract(p, after)), action
        return action, after
    raise AssertionError(f"no enabled {name} {want}")


def _removed_leader_path(target: ImplTarget) -> Cluster:
    c = target.initial_states()[0]
    steps: list[tuple[str, dict[str, int]]] = [
        ("Timeout", {"node": 1}),
        ("Deliver", {"to": 2}),
        ("Deliver", {"to": 1}),
        ("ProposeMembershipChange", {"node": 1, "voters": 0b10}),
    ]
    for name, want in steps:
        _, c = _step(target, c, name, **want)
    # Replicate Begin and Finalize between 1 and 2 until the old leader steps down.
    for _ in range(12):
        if c.node(1).raft.state is not StateRole.Leader:
            break
        for to, from_ in ((2, 1), (1, 2)):
            if any(m.to == to and m.from_ == from_ for m, _ in c.net.values()):
                _, c = _step(target, c, "Deliver", to=to, from_=from_)
    return c


def test_removed_leader_steps_down_and_every_step_refines_the_model() -> None:
    last = _removed_leader_path(TARGET)
    old_leader = last.node(1).raft
    assert old_leader.state is StateRole.Follower
    assert sorted(old_leader.prs().configuration.voters) == [2]
    assert old_leader.raft_log.committed == 4  # Begin at 3, Finalize at 4
    servers = abstract(TARGET.params, last).servers
    assert servers[0].role == Role.FOLLOWER and servers[0].config.voters == 0b10


def test_successors_share_untouched_nodes_and_leave_the_parent_unchanged() -> None:
    c = initial_cluster(TARGET.settings)
    fingerprint = c.fingerprint()
    _, after = _step(TARGET, c, "Timeout", node=1)
    assert c.fingerprint() == fingerprint
    assert c.node(1).raft.state is StateRole.Follower
    assert after.node(1).raft.state is StateRole.Candidate
    assert all(after.slots[k] is c.slots[k] for k in (1, 2, 3))


def test_restart_keeps_the_persisted_vote() -> None:
    target = build_impl_target(max_term=2, max_crashes=1)
    c = target.initial_states()[0]
    _, c = _step(target, c, "Timeout", node=1)
    _, c = _step(target, c, "Deliver", to=2)
    _, after = _step(target, c, "Restart", node=2)
    assert after.used.crashes == 1
    raft = after.node(2).raft
    assert (raft.term, raft.vote, raft.state) == (2, 1, StateRole.Follower)


def test_a_node_that_panics_leaves_an_error_state() -> None:
    c = initial_cluster(TARGET.settings).derive()
    # raft-rs panics on an append whose log term is 0.
    bad = Message(msg_type=MessageType.MsgAppend, to=2, from_=1, term=1, index=1, log_term=0)
    c.net.send([bad])
    key = message_key(bad)
    m = abstract(TARGET.params, c).network[0][0]
    after = perform(TARGET.settings, c, Action("Deliver", (m,)), key)
    assert after.error is not None and "log term can't be 0" in after.error
    assert list(TARGET.successors(after)) == []
    no_error = next(p for p in TARGET.properties() if p.name == "NoImplementationError")
    assert no_error.check(c) and not no_error.check(after)


def test_a_message_the_model_lacks_is_abstracted_as_unknown() -> None:
    c = initial_cluster(TARGET.settings).derive()
    c.net.send([Message(msg_type=MessageType.MsgReadIndexResp, to=2, from_=1, term=1)])
    ((m, count),) = abstract(TARGET.params, c).network
    assert m.type == MsgType.UNKNOWN and m.idx == int(MessageType.MsgReadIndexResp) and count == 1


def test_abstraction_maps_messages_and_the_leader_progress() -> None:
    c = initial_cluster(TARGET.settings)
    for name, want in [("Timeout", {"node": 1}), ("Deliver", {"to": 2}), ("Deliver", {"to": 1})]:
        _, c = _step(TARGET, c, name, **want)
    state = abstract(TARGET.params, c)
    leader = state.servers[0]
    assert leader.role == Role.LEADER and leader.term == 2
    assert leader.match[:3] == (2, 0, 0) and leader.next[:3] == (3, 2, 2)
    assert leader.paused == 0b110  # each probed peer got one append and waits
    appends = [m for m, _ in state.network if m.src == 1 and m.entries]
    assert sorted(m.dst for m in appends) == [2, 3]


def test_a_repeated_heartbeat_puts_a_second_copy_in_flight() -> None:
    target = build_impl_target(max_term=2, max_msgs=10)
    c = target.initial_states()[0]
    for name, want in [("Timeout", {"node": 1}), ("Deliver", {"to": 2}), ("Deliver", {"to": 1})]:
        _, c = _step(target, c, name, **want)
    _, once = _step(target, c, "Heartbeat", node=1)
    _, twice = _step(target, once, "Heartbeat", node=1)
    assert twice.net.in_flight() == once.net.in_flight() + 2


def test_a_divergence_report_names_the_action_the_outcomes_and_the_differing_fields(
    tmp_path: Path,
) -> None:
    target = build_impl_target(
        mutant="reject_hint_too_high", max_client_requests=0, max_membership_changes=0
    )
    try:
        outcome = explore(target, SearchOptions(strategy="bfs", max_depth=12, workers=1))
    finally:
        target.close()
    (violation,) = outcome.violations
    assert violation.property_name == "RefinesModel"
    explanation = explain_violation(target, violation)
    assert explanation is not None
    assert explanation["action"].startswith("Deliver(AppendEntries")
    (allowed,) = explanation["model_outcomes"]
    assert any("hint" in line for line in allowed["differences"]), allowed["differences"]
    assert explanation["abstract_before"]["servers"] and explanation["abstract_after"]["servers"]


def test_a_message_is_retired_only_when_the_implementation_ignores_it(monkeypatch) -> None:
    c = initial_cluster(TARGET.settings)
    _, c = _step(TARGET, c, "Timeout", node=1)  # node 1 at term 2 asks 2 and 3
    stale = Message(msg_type=MessageType.MsgRequestVoteResponse, to=1, from_=2, term=1)
    c = c.derive()
    c.net.send([stale])
    key = message_key(stale)
    assert implementation_ignores(c, key)
    retire_ignored(TARGET.params, c)
    assert key not in c.net  # a vote answer of an older term: ignored for ever
    # An implementation that answers it keeps it in flight (and that step diverges).
    c = c.derive()
    c.net.send([stale])
    original = Raft.step

    def chatty(self: Raft[MemStorage], m: Message) -> None:
        original(self, m)
        self.msgs.append(Message(msg_type=MessageType.MsgHeartbeat, to=m.from_, from_=self.id))

    monkeypatch.setattr(Raft, "step", chatty)
    monkeypatch.setattr(refinement, "_ignores", {})  # forget the verdicts of raft_ref
    retire_ignored(TARGET.params, c)
    assert key in c.net


def _first(target: ImplTarget, c: Cluster, name: str, **want: int) -> tuple[Action, Cluster]:
    """The first enabled action called `name` (with the given node or voters), performed
    without checking refinement."""
    p = target.params
    for action in enabled(p, abstract(p, c)):
        if action.name != name or ("node" in want and action.args[0] != want["node"]):
            continue
        if "voters" in want and action.args[1:] != (want["voters"], want["learners"]):
            continue
        after = target.carry_out(c, action)
        assert after is not None
        return action, after
    raise AssertionError(f"no enabled {name} {want}")


def test_a_promoted_learner_losing_its_progress_is_reported_as_a_divergence() -> None:
    # raft-rs 0.6 drops a learner's progress when joint consensus promotes it
    # (QUIRKS.md §6); the model keeps it.
    target = build_impl_target(
        changes=("add_learner", "promote"), max_membership_changes=2, max_msgs=20, max_log=8
    )
    p = target.params
    _, c = _first(target, target.initial_states()[0], "Timeout", node=1)
    proposals = [(0b111, 0b1000), (0b1111, 0)]  # add learner 4, then promote it
    for _ in range(300):
        leader = c.node(1).raft
        if c.net:
            step: tuple[str, dict[str, int]] = ("Deliver", {})
        elif leader.state is StateRole.Leader and not leader.has_pending_conf() and proposals:
            voters, learners = proposals.pop(0)
            step = ("ProposeMembershipChange", {"node": 1, "voters": voters, "learners": learners})
        else:
            step = ("Heartbeat", {"node": 1})
        before = c
        action, c = _first(target, c, step[0], **step[1])
        assert c.error is None, c.error
        if not refines(p, abstract(p, before), action, abstract(p, c)):
            break
    else:
        raise AssertionError("no divergence")
    assert not proposals, target.explain_step("RefinesModel", before, action, c)
    explanation = target.explain_step("RefinesModel", before, action, c)
    assert explanation is not None
    (outcome,) = explanation["model_outcomes"]
    # The leader (server 1) keeps no progress for the promoted server 4.
    assert any(line.startswith("server 1 match") for line in outcome["differences"])


def test_a_divergence_is_explained_in_the_json_and_the_viewer(tmp_path: Path) -> None:
    target = build_impl_target(
        mutant="reject_hint_too_high", max_client_requests=0, max_membership_changes=0
    )
    try:
        outcome = explore(target, SearchOptions(strategy="bfs", max_depth=12, workers=1))
        (violation,) = outcome.violations
        run = RunInfo(target="impl", nodes=3, variant="reject_hint_too_high", bounds=target.bounds)
        path = write_counterexample(tmp_path, target, run, violation)
    finally:
        target.close()
    document = json.loads(path.read_text())
    assert document["explanation"]["model_outcomes"][0]["differences"]
    html = (tmp_path / "impl-reject_hint_too_high-RefinesModel.html").read_text()
    assert "differs from the implementation in" in html


def test_a_leader_transfer_hands_over_and_refines_the_model() -> None:
    target = build_impl_target(max_transfers=1, max_client_requests=0, max_msgs=8)
    c = target.initial_states()[0]
    _, c = _step(target, c, "Timeout", node=1)
    for _ in range(12):  # elect 1 and replicate its entry everywhere
        if not c.net:
            break
        _, c = _step(target, c, "Deliver")
    assert c.node(1).raft.state is StateRole.Leader
    _, c = _step(target, c, "TransferLeader", node=1, voters=2)
    state = abstract(target.params, c)
    (timeout_now,) = [m for m, _ in state.network if m.type == MsgType.TIMEOUT_NOW]
    assert state.servers[0].transferee == timeout_now.dst
    _, c = _step(target, c, "Deliver", to=timeout_now.dst, from_=1)
    requests = [m for m, _ in abstract(target.params, c).network if m.type == MsgType.VOTE]
    assert requests and all(m.context for m in requests)
    for _ in range(12):
        if not c.net:
            break
        _, c = _step(target, c, "Deliver")
    assert c.node(timeout_now.dst).raft.state is StateRole.Leader


def test_a_safe_read_is_answered_once_a_quorum_confirms_and_refines_the_model() -> None:
    target = build_impl_target(max_reads=1, max_client_requests=0, max_msgs=8)
    c = target.initial_states()[0]
    _, c = _step(target, c, "Timeout", node=1)
    for _ in range(12):  # elect 1; its entry of term 2 commits
        if not c.net:
            break
        _, c = _step(target, c, "Deliver")
    assert c.node(1).raft.raft_log.committed == 2
    _, c = _step(target, c, "ReadIndex", node=1)
    leader = abstract(target.params, c).servers[0]
    assert leader.reads == ((1, 2, 0, 2, 1),) and leader.served == ()
    heartbeats = [m for m, _ in abstract(target.params, c).network if m.type == MsgType.HEARTBEAT]
    assert heartbeats and all(m.context == 1 for m in heartbeats)
    for _ in range(8):
        if not c.net:
            break
        _, c = _step(target, c, "Deliver")
    leader = abstract(target.params, c).servers[0]
    assert leader.reads == () and leader.served == ((1, 2, 2),)
    read_linearizable = next(p for p in target.properties() if p.name == "ReadLinearizable")
    assert read_linearizable.check(c)


def test_a_follower_passes_a_read_to_its_leader_and_gets_the_answer() -> None:
    target = build_impl_target(max_reads=1, max_client_requests=0, max_msgs=8)
    c = target.initial_states()[0]
    _, c = _step(target, c, "Timeout", node=1)
    for _ in range(12):  # elect 1; its entry commits and reaches the followers
        if not c.net:
            break
        _, c = _step(target, c, "Deliver")
    _, c = _step(target, c, "Heartbeat", node=1)
    for _ in range(8):
        if not c.net:
            break
        _, c = _step(target, c, "Deliver")
    assert c.node(2).raft.leader_id == 1
    _, c = _step(target, c, "ReadIndex", node=2)
    (forwarded,) = [m for m, _ in abstract(target.params, c).network]
    assert (forwarded.type, forwarded.src, forwarded.dst) == (MsgType.READ_INDEX, 2, 1)
    for _ in range(10):
        if not c.net:
            break
        _, c = _step(target, c, "Deliver")
    assert abstract(target.params, c).servers[1].served == ((1, 2, 2),)


def test_a_step_that_does_more_than_the_model_is_reported_beyond_the_bounds(monkeypatch) -> None:
    """An implementation that sends every message twice leaves `max_msgs` where the model
    stays within it: the step is still checked, and diverges, instead of being dropped
    as out of bounds."""
    from checks.cluster import actions

    target = build_impl_target(max_term=2, max_msgs=2, max_client_requests=0)
    real = actions.handle_ready

    def twice(node, reads=None):  # type: ignore[no-untyped-def]
        sent = real(node, reads)
        return [*sent, *sent]

    monkeypatch.setattr(actions, "handle_ready", twice)
    c = target.initial_states()[0]
    timeout = next(
        a for a in enabled(target.params, abstract(target.params, c)) if a.name == "Timeout"
    )
    after = target.carry_out(c, timeout)
    assert after is not None and after.net.in_flight() == 4  # beyond max_msgs 2
    refines_model = next(p for p in target.properties() if p.name == "RefinesModel")
    assert not refines_model.check(c, timeout, after)
    assert list(target.successors(after)) == []  # beyond the bounds: not explored further


def test_a_correct_step_beyond_the_bounds_is_not_explored() -> None:
    target = build_impl_target(max_term=2, max_msgs=2, max_client_requests=0)
    c = target.initial_states()[0]
    _, c = _step(target, c, "Timeout", node=1)
    # Node 2 times out too: two more vote requests, four in flight, as the model says.
    timeout = next(
        a
        for a in enabled(target.params, abstract(target.params, c))
        if a.name == "Timeout" and a.args[0] == 2
    )
    assert target.carry_out(c, timeout) is None
