"""Log compaction and snapshots: the model's rules (model/server.py), the cluster's
`Compact` action and the abstraction of compacted logs, checked on a path that ends
with raft-rs 0.6.0-alpha losing a committed entry through its snapshot labels (#408)."""

from __future__ import annotations

from checks.cluster import Cluster
from checks.engine.outcome import SearchOptions
from checks.engine.search import explore
from checks.refinement import abstract, refines
from checks.targets.impl_target import ImplTarget, build_impl_target
from model import server as srv
from model.actions import enabled
from model.invariants import INVARIANTS
from model.params import SNAPSHOT_LABEL_QUIRK, SNAPSHOT_REQUEST_QUIRK, Params
from model.state import (
    COMPACTED,
    SNAPSHOT_ENTRY,
    Config,
    Entry,
    Kind,
    Msg,
    MsgType,
    Role,
    State,
    agree,
    initial_state,
)

V, VR, A, AR = MsgType.VOTE, MsgType.VOTE_RESP, MsgType.APPEND, MsgType.APPEND_RESP


def _target(*left_out: str) -> ImplTarget:
    return build_impl_target(
        max_term=5,
        max_log=4,
        max_msgs=10,
        max_compactions=1,
        max_client_requests=1,
        max_membership_changes=0,
        spares=0,
        left_out=left_out,
    )


def _step(target: ImplTarget, c: Cluster, name: str, node: int = 0, **want: int) -> Cluster:
    """Carries out the enabled model action `name` (at `node`, or on the message with the
    given type, src, dst and term) on the cluster; every step must refine the model."""
    p = target.params
    before = abstract(p, c)
    for action in enabled(p, before):
        if action.name != name:
            continue
        if name == "Deliver":
            m = action.args[0]
            if any(getattr(m, field) != value for field, value in want.items()):
                continue
        elif node and action.args[0] != node:
            continue
        after = target.carry_out(c, action)
        assert after is not None and after.error is None
        assert refines(p, before, action, abstract(p, after)), action
        return after
    raise AssertionError(f"no enabled {name} {node or ''} {want}")


def _until_snapshot_restored(target: ImplTarget) -> Cluster:
    """Server 1 leads term 2 and commits (2, 2) and (3, 2) with server 2; server 2 leads
    term 3 and commits (4, 3) with server 1, which never learns that commit; server 1
    leads term 4 with server 3's vote, compacts to its applied index 3 and sends server
    3, which holds nothing, a snapshot of index 3."""
    c = target.initial_states()[0]
    c = _step(target, c, "Timeout", 1)
    c = _step(target, c, "Deliver", type=V, src=1, dst=2)
    c = _step(target, c, "Deliver", type=VR, src=2, dst=1)
    c = _step(target, c, "ClientRequest", 1)
    for _ in range(3):
        c = _step(target, c, "Deliver", type=A, src=1, dst=2)
        c = _step(target, c, "Deliver", type=AR, src=2, dst=1)
    c = _step(target, c, "Timeout", 2)
    c = _step(target, c, "Deliver", type=V, src=2, dst=1)
    c = _step(target, c, "Deliver", type=VR, src=1, dst=2)
    c = _step(target, c, "Deliver", type=A, src=2, dst=1)
    c = _step(target, c, "Deliver", type=AR, src=1, dst=2)
    c = _step(target, c, "Timeout", 1)
    c = _step(target, c, "Deliver", type=V, src=1, dst=3, term=4)
    c = _step(target, c, "Deliver", type=VR, src=3, dst=1)
    c = _step(target, c, "Compact", 1)
    c = _step(target, c, "Deliver", type=A, src=1, dst=3)
    c = _step(target, c, "Deliver", type=AR, src=3, dst=1)
    return _step(target, c, "Deliver", type=MsgType.SNAPSHOT, src=1, dst=3)


def _server_3_campaigns(target: ImplTarget, c: Cluster) -> State:
    c = _step(target, c, "Timeout", 3)
    c = _step(target, c, "Deliver", type=V, src=3, dst=2)
    c = _step(target, c, "Deliver", type=VR, src=2, dst=3)
    return abstract(target.params, c)


def test_a_compacted_leader_sends_a_snapshot_that_replaces_the_follower_log() -> None:
    target = _target()
    c = _until_snapshot_restored(target)
    leader, follower = c.node(1).raft, c.node(3).raft
    assert leader.raft_log.first_index() == 3
    assert follower.raft_log.first_index() == 4 and follower.raft_log.committed == 3
    state = abstract(target.params, c)
    assert state.servers[0].log[:2] == (COMPACTED, COMPACTED)
    # raft-rs 0.6 labels the snapshot with the leader's term 4, not the entry's term 2.
    assert state.servers[2].log == (COMPACTED, COMPACTED, Entry(4, Kind.SNAPSHOT))
    assert state.servers[2].applied == 3  # the application applied the snapshot


def test_a_snapshot_labelled_with_the_hard_state_term_loses_a_committed_entry() -> None:
    """The quirk, pinned: the restored server claims last entry (3, 4), wins term 5 with
    the vote of server 2, which holds the committed (4, 3), and leads without it."""
    target = _target()
    state = _server_3_campaigns(target, _until_snapshot_restored(target))
    assert state.servers[2].role == Role.LEADER and state.servers[2].term == 5
    assert state.servers[1].commit == 4 and len(state.servers[2].log) == 4
    assert not INVARIANTS["LeaderCompleteness"](target.params, state)
    properties = {p.name: p for p in target.properties()}
    assert "LeaderCompleteness" in properties


def test_with_the_label_quirk_left_out_the_restored_server_is_refused() -> None:
    target = _target(SNAPSHOT_LABEL_QUIRK)
    c = _until_snapshot_restored(target)
    assert abstract(target.params, c).servers[2].log[-1] == Entry(2, Kind.SNAPSHOT)
    state = _server_3_campaigns(target, c)
    assert state.servers[2].role == Role.CANDIDATE
    assert all(check(target.params, state) for check in INVARIANTS.values())


# --- the model's rules, one at a time ----------------------------------------------


P = Params(max_compactions=1)


def _snapshot(index: int, label: int, config: Config, src: int = 1, dst: int = 2) -> Msg:
    return Msg(MsgType.SNAPSHOT, src, dst, 3, index, label, config=config)


def _follower(log: tuple[Entry, ...], commit: int) -> srv.Server:
    s = initial_state(3, 0).servers[1]
    return s._replace(term=3, log=log, commit=commit, applied=commit)


VOTERS = Config(0b111, 0)
LOG = (SNAPSHOT_ENTRY, Entry(2, Kind.EMPTY), Entry(2, Kind.DATA), Entry(3, Kind.EMPTY))


def test_compaction_keeps_the_applied_entry_and_the_length_of_the_log() -> None:
    s = _follower(LOG, 3)
    assert srv.can_compact(s)
    compacted = srv.compact(s)
    assert compacted.log == (COMPACTED, COMPACTED, *LOG[2:])
    assert not srv.can_compact(compacted)  # nothing before the applied entry is left
    assert not srv.can_compact(_follower(LOG, 2))  # only the initial snapshot before it


def test_a_snapshot_behind_the_commit_index_is_answered_with_the_commit_index() -> None:
    s = _follower(LOG, 3)
    after, sent = srv.handle_snapshot(s, _snapshot(2, 2, VOTERS))
    assert after == s and sent == [Msg(AR, 2, 1, 3, 3)]


def test_a_snapshot_the_log_already_holds_only_moves_commit() -> None:
    s = _follower(LOG, 2)
    after, sent = srv.handle_snapshot(s, _snapshot(3, 2, VOTERS))
    assert after.log == LOG and after.commit == 3 and sent == [Msg(AR, 2, 1, 3, 3)]


def test_a_heartbeat_committing_beyond_the_log_is_reported_not_raised() -> None:
    """Once the request quirk has dropped entries a follower acknowledged, its leader's
    heartbeat can carry a commit index beyond the follower's log. raft-rs's `commit_to`
    panics there; the model keeps the state, applying nothing, for `CommitWithinLog`
    to report, and goes on computing what can follow it."""
    p = Params()
    s = _follower(LOG[:2], 2)
    [outcome] = srv.receive(p, s, Msg(MsgType.HEARTBEAT, 1, 2, 3, commit=3))
    after, _ = srv.apply_committed(p, 2, *outcome)
    assert after.commit == 3 and after.applied == 2
    assert not srv.unapplied_conf_committed(after)
    state = initial_state(3, 0)
    broken = state._replace(servers=(state.servers[0], after, state.servers[2]))
    assert not INVARIANTS["CommitWithinLog"](p, broken)


def test_a_snapshot_that_would_make_a_voter_a_learner_is_refused() -> None:
    s = _follower(LOG, 2)
    after, sent = srv.handle_snapshot(s, _snapshot(5, 3, Config(0b101, 0b010)))
    assert after == s and sent == [Msg(AR, 2, 1, 3, 2)]


def test_an_installed_snapshot_replaces_the_log_and_the_configuration() -> None:
    s = _follower(LOG, 2)
    joint = Config(0b111, 0, 0b011, 0, 4)
    after, sent = srv.handle_snapshot(s, _snapshot(5, 3, joint))
    assert after.log == (COMPACTED,) * 4 + (Entry(3, Kind.SNAPSHOT),)
    assert (after.commit, after.config) == (5, joint) and sent == [Msg(AR, 2, 1, 3, 5)]


def test_logs_are_compared_only_where_both_hold_entries() -> None:
    compacted = (COMPACTED, COMPACTED, *LOG[2:])
    assert agree(LOG, compacted, 4)
    assert not agree(LOG, (*compacted[:3], Entry(4, Kind.EMPTY)), 4)
    assert not agree(LOG[:3], compacted, 4)  # one log does not reach index 4


def test_a_snapshot_goes_only_to_a_peer_heard_from() -> None:
    leader = _follower(LOG, 3)._replace(
        role=Role.LEADER, leader=2, log=(COMPACTED, COMPACTED, *LOG[2:])
    )
    leader = leader._replace(match=(0, 4, 0), next=(2, 5, 2), replicate=0b010)
    quiet, sent = srv.send_append(P, 2, leader, 1)
    assert sent == [] and quiet.snapshot == ()
    heard = leader._replace(active=0b001)
    after, sent = srv.send_append(P, 2, heard, 1)
    assert sent == [Msg(MsgType.SNAPSHOT, 2, 1, 3, 3, 3, config=VOTERS)]
    assert after.snapshot == (3, 0, 0)
    # A peer in Snapshot state is sent nothing more until it answers.
    assert srv.send_append(P, 2, after, 1) == (after, [])


def test_a_next_index_past_the_log_sends_no_entries_and_term_zero() -> None:
    """Only after the request quirk has lost a committed entry can a peer answer for
    entries its leader no longer holds; raft-rs then probes with `RaftLog::term`'s 0
    past the log and no entries, and so does the model (rather than failing)."""
    leader = _follower(LOG[:2], 2)._replace(role=Role.LEADER, leader=2)
    leader = leader._replace(match=(0, 2, 0), next=(5, 3, 3))
    after, sent = srv.send_append(P, 2, leader, 1)
    assert sent == [Msg(A, 2, 1, 3, 4, 0, (), 2)]
    assert after == leader  # nothing sent to wait for: not paused


# --- snapshot requests and reports ----------------------------------------------------


def _requests_target(*left_out: str, compactions: int = 1, crashes: int = 0) -> ImplTarget:
    return build_impl_target(
        max_term=3,
        max_msgs=6,
        max_snapshot_requests=1,
        max_compactions=compactions,
        max_crashes=crashes,
        left_out=left_out,
    )


def _follower_requests_a_snapshot(target: ImplTarget) -> Cluster:
    """Server 1 leads term 2; server 2, which has its first append, asks it for a
    snapshot at its commit index 1."""
    c = target.initial_states()[0]
    c = _step(target, c, "Timeout", 1)
    c = _step(target, c, "Deliver", type=V, src=1, dst=2)
    c = _step(target, c, "Deliver", type=VR, src=2, dst=1)
    c = _step(target, c, "Deliver", type=A, src=1, dst=2)
    return _step(target, c, "RequestSnapshot", 2)


def _follower_asks_for_a_snapshot(target: ImplTarget) -> Cluster:
    """`_follower_requests_a_snapshot`, and the leader receives the request and sends one."""
    c = _follower_requests_a_snapshot(target)
    return _step(target, c, "Deliver", type=AR, src=2, dst=1, reject=1)


def test_a_snapshot_request_puts_the_peer_in_snapshot_state() -> None:
    target = _requests_target()
    c = _follower_asks_for_a_snapshot(target)
    leader = abstract(target.params, c).servers[0]
    assert leader.snapshot[1] == 1 and leader.snap_requests[1] == 1
    assert any(
        m.type == MsgType.SNAPSHOT and m.dst == 2 for m, _ in abstract(target.params, c).network
    )


def test_without_compaction_a_requested_snapshot_is_sent_as_the_model_says() -> None:
    """Which peers were heard from decides whether a snapshot is sent: the model keeps
    it whenever snapshots can be sent, asked for as well as after a compaction."""
    target = _requests_target(compactions=0)
    assert target.params.sends_snapshots
    c = _follower_asks_for_a_snapshot(target)  # every step refines the model
    assert any(m.type == MsgType.SNAPSHOT for m, _ in abstract(target.params, c).network)


def test_a_restarted_follower_has_no_snapshot_request_pending() -> None:
    """raft-rs keeps `pending_request_snapshot` across `become_follower`, not across a
    restart: a new `Raft` starts without one."""
    target = _requests_target(crashes=1)
    c = _follower_requests_a_snapshot(target)
    assert abstract(target.params, c).servers[1].requested == 1
    c = _step(target, c, "Restart", 2)
    assert abstract(target.params, c).servers[1].requested == 0


def test_snapshot_requests_explored_break_only_the_request_quirk() -> None:
    """With snapshot requests (and no compaction), the one property broken is the
    documented request quirk: the implementation refuses the snapshot it is sent."""
    options = SearchOptions(max_depth=10, keep_going=True, workers=1)
    outcome = explore(_requests_target(compactions=0, crashes=1), options)
    assert [v.property_name for v in outcome.violations] == ["NoImplementationError"]


def test_a_reported_snapshot_returns_the_peer_to_probe_paused() -> None:
    target = _requests_target()
    c = _follower_asks_for_a_snapshot(target)
    p = target.params
    before = abstract(p, c)
    for delivered in (True, False):
        action = next(a for a in enabled(p, before) if a.args == (1, 2, delivered))
        after = target.carry_out(c, action)
        assert after is not None and refines(p, before, action, abstract(p, after))
        leader = abstract(p, after).servers[0]
        assert leader.snapshot == () and leader.snap_requests == () and leader.paused & 0b10


def test_a_snapshot_at_the_requesting_follower_commit_is_refused_by_its_storage() -> None:
    """The request quirk, pinned: the snapshot's index is the follower's own commit,
    which MemStorage refuses as out of date."""
    target = _requests_target()
    c = _follower_asks_for_a_snapshot(target)
    p = target.params
    before = abstract(p, c)
    action = next(
        a for a in enabled(p, before) if a.name == "Deliver" and a.args[0].type == MsgType.SNAPSHOT
    )
    after = target.carry_out(c, action)
    assert after is not None and after.error is not None and "SnapshotOutOfDate" in after.error
    no_error = next(prop for prop in target.properties() if prop.name == "NoImplementationError")
    assert not no_error.check(after)


def test_with_the_request_quirk_left_out_no_follower_asks() -> None:
    target = _requests_target(SNAPSHOT_REQUEST_QUIRK)
    c = target.initial_states()[0]
    for name, want in (("Timeout", {}), ("Deliver", {"dst": 2}), ("Deliver", {"dst": 1})):
        c = _step(target, c, name, 1 if name == "Timeout" else 0, **want)
    c = _step(target, c, "Deliver", type=A, src=1, dst=2)
    assert all(
        a.name != "RequestSnapshot" for a in enabled(target.params, abstract(target.params, c))
    )
