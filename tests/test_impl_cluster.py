"""The cluster under test (checks/cluster) and its refinement check (checks/refinement)."""

from __future__ import annotations

from checks.cluster import Cluster, ClusterSettings, enabled_actions, initial_cluster, perform
from checks.cluster.actions import Bounds, ImplAction
from checks.cluster.cluster import message_key
from checks.refinement import abstract, refinement_params
from checks.targets.impl_target import build_impl_target, model_event
from model.state import Role
from raft_ref.eraftpb import Message, MessageType
from raft_ref.raft import StateRole

SETTINGS = ClusterSettings()
BOUNDS = Bounds(max_term=2, changes=("shrink_to_one",), max_msgs=6)


def _step(c: Cluster, name: str, **want: int) -> tuple[ImplAction, Cluster]:
    """Performs the first enabled action called `name` whose message (for deliveries)
    goes `to` and comes `from_` the given nodes, or whose first argument is `node`."""
    for action in enabled_actions(SETTINGS, BOUNDS, c):
        if action.name != name:
            continue
        if name == "Deliver":
            m, _ = c.net[action.args[0]]  # type: ignore[index]
            if m.to != want.get("to", m.to) or m.from_ != want.get("from_", m.from_):
                continue
        elif "node" in want and action.args[0] != want["node"]:
            continue
        if "voters" in want and action.args[1] != (want["voters"],):
            continue
        after = perform(SETTINGS, BOUNDS, c, action)
        assert after is not None
        return action, after
    raise AssertionError(f"no enabled {name} {want}")


def _removed_leader_path() -> list[tuple[ImplAction, Cluster]]:
    c = initial_cluster(SETTINGS)
    path = []
    steps: list[tuple[str, dict[str, int]]] = [
        ("Timeout", {"node": 1}),
        ("Deliver", {"to": 2}),
        ("Deliver", {"to": 1}),
        ("ProposeMembershipChange", {"node": 1, "voters": 2}),
    ]
    steps += [("Deliver", {"to": 2, "from_": 1}), ("Deliver", {"to": 1, "from_": 2})] * 3
    for name, want in steps:
        action, c = _step(c, name, **want)
        path.append((action, c))
    return path


def test_removed_leader_steps_down_after_ten_steps() -> None:
    last = _removed_leader_path()[-1][1]
    old_leader = last.node(1).raft
    assert old_leader.state is StateRole.Follower
    assert sorted(old_leader.prs().configuration.voters) == [2]
    assert old_leader.raft_log.committed == 4  # Begin at 3, Finalize at 4


def test_every_step_of_the_path_refines_the_model() -> None:
    target = build_impl_target(max_term=2, changes=("shrink_to_one",), max_msgs=6)
    before = target.initial_states()[0]
    for action, after in _removed_leader_path():
        assert target.refinement.holds(before, model_event(before, action), after)
        before = after
    servers = abstract(target.params, before).servers
    assert servers[0].role == Role.FOLLOWER and servers[0].config.voters == 0b10


def test_successors_share_untouched_nodes_and_leave_the_parent_unchanged() -> None:
    c = initial_cluster(SETTINGS)
    fingerprint = c.fingerprint()
    _, after = _step(c, "Timeout", node=1)
    assert c.fingerprint() == fingerprint
    assert c.node(1).raft.state is StateRole.Follower
    assert after.node(1).raft.state is StateRole.Candidate
    assert all(after.slots[k] is c.slots[k] for k in (1, 2, 3))


def test_restart_keeps_the_persisted_vote() -> None:
    bounds = Bounds(max_term=2, max_crashes=1)
    c = initial_cluster(SETTINGS)
    _, c = _step(c, "Timeout", node=1)
    _, c = _step(c, "Deliver", to=2)
    restart = ImplAction("Restart", (2,))
    after = perform(SETTINGS, bounds, c, restart)
    assert after is not None and after.used.crashes == 1
    raft = after.node(2).raft
    assert (raft.term, raft.vote, raft.state) == (2, 1, StateRole.Follower)


def test_a_node_that_panics_leaves_an_error_state() -> None:
    c = initial_cluster(SETTINGS).derive()
    # raft-rs panics on an append whose log term is 0.
    bad = Message(msg_type=MessageType.MsgAppend, to=2, from_=1, term=1, index=1, log_term=0)
    c.send([bad])
    after = perform(SETTINGS, BOUNDS, c, ImplAction("Deliver", (message_key(bad),)))
    assert after is not None and after.error is not None
    assert "log term can't be 0" in after.error
    assert enabled_actions(SETTINGS, BOUNDS, after) == []
    target = build_impl_target()
    no_error = next(p for p in target.properties() if p.name == "NoImplementationError")
    assert no_error.check(c) and not no_error.check(after)


def test_abstraction_maps_messages_and_the_leader_progress() -> None:
    c = initial_cluster(SETTINGS)
    for name, want in [("Timeout", {"node": 1}), ("Deliver", {"to": 2}), ("Deliver", {"to": 1})]:
        _, c = _step(c, name, **want)
    state = abstract(refinement_params(SETTINGS), c)
    leader = state.servers[0]
    assert leader.role == Role.LEADER and leader.term == 2
    assert leader.match[:3] == (2, 0, 0) and leader.next[:3] == (3, 2, 2)
    appends = [m for m, _ in state.network if m.src == 1 and m.entries]
    assert sorted(m.dst for m in appends) == [2, 3]


def test_a_repeated_heartbeat_refines_the_model_by_duplicates() -> None:
    # The model's Heartbeat refuses to resend heartbeats all still in flight; the
    # implementation sends them again: the model's DuplicateMessage explains that.
    target = build_impl_target(max_term=2, max_msgs=10)
    c = target.initial_states()[0]
    for name, want in [("Timeout", {"node": 1}), ("Deliver", {"to": 2}), ("Deliver", {"to": 1})]:
        _, c = _step(c, name, **want)
    heartbeat = ImplAction("Heartbeat", (1,))
    once = perform(target.settings, target.limits, c, heartbeat)
    assert once is not None
    twice = perform(target.settings, target.limits, once, heartbeat)
    assert twice is not None
    assert twice.messages_in_flight() == once.messages_in_flight() + 2
    assert target.refinement.holds(once, model_event(once, heartbeat), twice)
