"""The protocol model: raft-rs behaviours, action guards, invariants that can fail, goals."""

from dataclasses import replace

import pytest

from model import invariants as inv
from model.actions import Action, apply_action, membership_targets, successors
from model.params import Params
from model.state import (
    Config,
    Entry,
    Kind,
    Msg,
    MsgType,
    Role,
    State,
    bit,
    initial_state,
    mask_of,
)

P = Params(heartbeats=True)
VOTE_REQ = MsgType.VOTE


def start(p: Params = P) -> State:
    return initial_state(p.nodes, p.spares)


def step(state: State, name: str, *args: object, p: Params = P) -> State:
    after = apply_action(p, state, Action(name, args))
    assert after is not None, f"{name}{args} is not enabled"
    return after


def deliver(state: State, mtype: int, src: int, dst: int, p: Params = P) -> State:
    """Delivers the (single) message of `mtype` from `src` to `dst`."""
    found = [m for m, _ in state.network if (m.type, m.src, m.dst) == (mtype, src, dst)]
    assert len(found) == 1, f"expected one {mtype} {src}->{dst} in {state.network}"
    m = found[0]
    names = {
        MsgType.VOTE: "HandleRequestVoteRequest",
        MsgType.VOTE_RESP: "HandleRequestVoteResponse",
        MsgType.PRE_VOTE: "HandlePreVoteRequest",
        MsgType.PRE_VOTE_RESP: "HandlePreVoteResponse",
        MsgType.APPEND: "HandleAppendEntriesRequest",
        MsgType.APPEND_RESP: "HandleAppendEntriesResponse",
        MsgType.HEARTBEAT: "HandleHeartbeat",
        MsgType.HEARTBEAT_RESP: "HandleHeartbeatResponse",
    }
    return step(state, names[m.type], m, p=p)


def elect_1(p: Params = P) -> State:
    """Server 1 wins term 2 with server 2's vote."""
    s = step(start(p), "Timeout", 1, p=p)
    s = deliver(s, MsgType.VOTE, 1, 2, p=p)
    return deliver(s, MsgType.VOTE_RESP, 2, 1, p=p)


def replicate_to_2(s: State, p: Params = P) -> State:
    """Server 2 gets the appends in flight to it, then everything it still lacks, and
    its answers reach leader 1."""
    for m in [m for m, _ in s.network if (m.type, m.src, m.dst) == (MsgType.APPEND, 1, 2)]:
        s = step(s, "HandleAppendEntriesRequest", m, p=p)
        s = deliver(s, MsgType.APPEND_RESP, 2, 1, p=p)
    leader = s.servers[0]
    count = len(leader.log) + 1 - leader.next[1]
    if count:
        s = step(s, "AppendEntries", 1, 2, count, p=p)
        s = deliver(s, MsgType.APPEND, 1, 2, p=p)
        s = deliver(s, MsgType.APPEND_RESP, 2, 1, p=p)
    return s


# --- raft-rs behaviours ---------------------------------------------------------------


def test_initial_state_is_memstorage_with_conf_state():
    s = start()
    assert len(s.servers) == 4
    for server in s.servers:
        assert server.term == 1 and server.role == Role.FOLLOWER
        assert server.log == (Entry(1, Kind.SNAPSHOT),)  # snapshot index 1, term 1
        assert server.commit == server.applied == 1
        assert server.config == Config(mask_of([1, 2, 3]), 0)


def test_first_leader_is_at_term_2_with_empty_entry_at_index_2_sent_to_every_peer():
    s = elect_1()
    leader = s.servers[0]
    assert (leader.role, leader.term, leader.vote) == (Role.LEADER, 2, 1)
    assert leader.log[1] == Entry(2, Kind.EMPTY)
    sent = [m for m, _ in s.network if m.type == MsgType.APPEND]
    assert {m.dst for m in sent} == {2, 3}  # not the spare: it is not in the configuration
    assert all((m.idx, m.log_term, m.entries) == (1, 1, (Entry(2, Kind.EMPTY),)) for m in sent)


def test_timeout_sends_vote_requests_to_voters_with_last_index_and_term():
    s = step(start(), "Timeout", 1)
    c = s.servers[0]
    assert (c.role, c.term, c.vote, c.granted) == (Role.CANDIDATE, 2, 1, bit(1))
    assert sorted((m.dst, m.term, m.idx, m.log_term) for m, _ in s.network) == [
        (2, 2, 1, 1),
        (3, 2, 1, 1),
    ]


def test_vote_grant_carries_the_request_term_and_a_refusal_the_receivers_term():
    s = step(start(), "Timeout", 1)
    s = step(s, "Timeout", 2)  # 2 is now a candidate of term 2: it voted for itself
    s = deliver(s, VOTE_REQ, 1, 2)
    (answer,) = [m for m, _ in s.network if m.type == MsgType.VOTE_RESP]
    assert (answer.reject, answer.term) == (1, 2)


def test_pre_vote_keeps_term_and_vote_until_a_quorum_grants():
    p = replace(P, pre_vote=True)
    s = step(start(p), "Timeout", 1, p=p)
    pre = s.servers[0]
    assert (pre.role, pre.term, pre.vote) == (Role.PRE_CANDIDATE, 1, 0)
    assert all(m.type == MsgType.PRE_VOTE and m.term == 2 for m, _ in s.network)
    s = deliver(s, MsgType.PRE_VOTE, 1, 2, p=p)
    assert s.servers[1].term == 1 and s.servers[1].vote == 0  # a pre-vote changes nothing
    s = deliver(s, MsgType.PRE_VOTE_RESP, 2, 1, p=p)
    c = s.servers[0]
    assert (c.role, c.term, c.vote) == (Role.CANDIDATE, 2, 1)


def test_commit_needs_a_majority_and_an_entry_of_the_current_term():
    s = replicate_to_2(elect_1())
    leader = s.servers[0]
    assert leader.match[:2] == (2, 2) and leader.commit == 2


def test_follower_behind_commit_is_answered_with_the_commit_index():
    s = replicate_to_2(elect_1())
    # A stale copy of the first append reaches 2 after 2 learned commit 2.
    s = step(s, "ClientRequest", 1)
    s = replicate_to_2(s)
    assert s.servers[0].commit == 3 and s.servers[1].commit == 2
    leader = s.servers[0]
    stale = Msg(MsgType.APPEND, 1, 2, 2, 1, 1, leader.log[1:2], 1)
    s = State(s.servers, ((stale, 1),), s.budget)
    s = step(s, "HandleAppendEntriesRequest", stale)
    (answer,) = [m for m, _ in s.network]
    assert (answer.type, answer.idx, answer.reject) == (MsgType.APPEND_RESP, 2, 0)


def test_mismatch_is_rejected_with_hint_and_the_leader_probes_lower():
    s = elect_1()
    s = step(s, "ClientRequest", 1)
    leader = s.servers[0]
    # Pretend 2's next index is 3 (prev 2), which 2 does not have.
    nxt = list(leader.next)
    nxt[1] = 3
    s = State((leader._replace(next=tuple(nxt)), *s.servers[1:]), (), s.budget)
    s = step(s, "AppendEntries", 1, 2, 1)
    s = deliver(s, MsgType.APPEND, 1, 2)
    (answer,) = [m for m, _ in s.network]
    assert (answer.reject, answer.idx, answer.hint) == (1, 2, 1)
    s = deliver(s, MsgType.APPEND_RESP, 2, 1)
    assert s.servers[0].next[1] == 2  # min(rejected 2, hint 1 + 1)


def test_stale_messages_are_forgotten_by_the_network():
    p = replace(P, max_msgs=8)
    s = step(start(p), "Timeout", 1, p=p)
    s = step(s, "Timeout", 2, p=p)
    s = deliver(s, VOTE_REQ, 1, 3, p=p)  # 3 grants 1 at term 2
    s = step(s, "Timeout", 3, p=p)  # 3 moves to term 3: the grant still counts at 1
    assert any(m.type == MsgType.VOTE_RESP for m, _ in s.network)
    s = deliver(s, VOTE_REQ, 3, 1, p=p)  # 1 moves to term 3: the term-2 grant never counts
    assert not any(m.type == MsgType.VOTE_RESP and m.term == 2 for m, _ in s.network)
    # 2's term-2 request to 1 would be ignored by 1 (term 3) too.
    assert not any(m.type == VOTE_REQ and (m.src, m.dst) == (2, 1) for m, _ in s.network)


def test_restart_keeps_hard_state_log_and_applied_configuration():
    p = replace(P, max_crashes=1)
    s = replicate_to_2(elect_1(p), p)
    s = step(s, "Restart", 1, p=p)
    r = s.servers[0]
    assert (r.role, r.term, r.vote, r.commit, len(r.log)) == (Role.FOLLOWER, 2, 1, 2, 2)
    assert r.match == (0, 0, 0, 0) and r.leader == 0
    assert s.budget.crashes == 1


def test_joint_consensus_enter_commit_with_both_majorities_and_leave():
    s = replicate_to_2(elect_1())
    target = (mask_of([1, 2, 3, 4]), 0)
    s = step(s, "ProposeMembershipChange", 1, *target)
    s = replicate_to_2(s)
    assert s.servers[0].commit == 3  # the Begin entry, by the old majority {1, 2}
    s = step(s, "ApplyEntries", 1)  # applies 2 (empty) and 3 (Begin), then stops
    leader = s.servers[0]
    assert leader.config == Config(mask_of([1, 2, 3]), 0, mask_of([1, 2, 3, 4]), 0, 3)
    assert leader.log[-1] == Entry(2, Kind.FINALIZE)  # appended once Begin is applied
    assert leader.next[3] == len(leader.log)  # the added server got fresh progress
    s = replicate_to_2(s)
    # {1, 2} is a majority of {1, 2, 3} but not of {1, 2, 3, 4}: no commit while joint.
    assert s.servers[0].commit == 3
    s = deliver(s, MsgType.APPEND, 1, 3)  # the election's append, still in flight
    s = deliver(s, MsgType.APPEND_RESP, 3, 1)
    s = step(s, "AppendEntries", 1, 3, 2)
    s = deliver(s, MsgType.APPEND, 1, 3)
    s = deliver(s, MsgType.APPEND_RESP, 3, 1)
    assert s.servers[0].commit == 4
    s = step(s, "ApplyEntries", 1)
    assert s.servers[0].config == Config(mask_of([1, 2, 3, 4]), 0)
    assert inv.joint_left(P, s)


def test_removed_leader_steps_down_when_it_applies_finalize():
    s = replicate_to_2(elect_1())
    s = step(s, "ProposeMembershipChange", 1, bit(2), 0)
    s = replicate_to_2(s)
    s = step(s, "ApplyEntries", 1)  # Begin: joint {1,2,3} & {2}; Finalize appended
    s = replicate_to_2(s)
    assert s.servers[0].commit == 4
    s = step(s, "ApplyEntries", 1)
    leader = s.servers[0]
    assert leader.role == Role.FOLLOWER and leader.term == 2
    assert leader.config == Config(bit(2), 0)
    assert inv.removed_leader_steps_down(P, s)
    assert not any(a.name == "Timeout" and a.args == (1,) for a, _ in successors(P, s))


def test_a_proposal_while_a_change_is_pending_becomes_an_empty_entry():
    s = elect_1()
    p = replace(P, max_membership_changes=2)
    s = step(s, "ProposeMembershipChange", 1, bit(2), 0, p=p)
    proposals = [a for a, _ in successors(p, s) if a.name == "ProposeMembershipChange"]
    assert [a.args for a in proposals] == [(1, 0, 0)]
    s = step(s, "ProposeMembershipChange", 1, 0, 0, p=p)
    assert s.servers[0].log[-1] == Entry(2, Kind.EMPTY)


def test_membership_targets_follow_the_rules():
    leader = elect_1().servers[0]
    p = replace(P, changes=("add_voter", "add_learner", "remove_voter", "shrink_to_one"))
    targets = set(membership_targets(p, leader))
    assert (mask_of([1, 2, 3, 4]), 0) in targets
    assert (mask_of([1, 2, 3]), bit(4)) in targets
    assert (mask_of([2, 3]), 0) in targets
    assert (bit(2), 0) in targets
    assert len(targets) == 2 + 3 + 3


def test_learner_receives_entries_but_does_not_count_for_commit():
    p = replace(P, changes=("add_learner",))
    s = replicate_to_2(elect_1(p), p)
    s = step(s, "ProposeMembershipChange", 1, mask_of([1, 2, 3]), bit(4), p=p)
    s = replicate_to_2(s, p)
    s = step(s, "ApplyEntries", 1, p=p)
    assert s.servers[0].config.next_learners == bit(4)
    # The learner is sent entries...
    assert any(a.args[:2] == (1, 4) for a, _ in successors(p, s) if a.name == "AppendEntries")
    # ...but as a learner it never campaigns once it has applied the change.
    learner = s.servers[3]._replace(config=Config(mask_of([1, 2, 3]), bit(4)))
    s = State((*s.servers[:3], learner), s.network, s.budget)
    assert not any(a.name == "Timeout" and a.args == (4,) for a, _ in successors(p, s))


# --- guards -----------------------------------------------------------------------------


def enabled(state: State, name: str, p: Params = P) -> list[tuple[object, ...]]:
    return [a.args for a, _ in successors(p, state) if a.name == name]


def test_timeout_guards():
    assert enabled(start(), "Timeout") == [(1,), (2,), (3,)]  # not the spare
    s = elect_1()
    assert (1,) not in enabled(s, "Timeout")  # a leader does not time out
    assert enabled(s, "Timeout", replace(P, max_term=2)) == []  # term bound


def test_no_campaign_while_committed_conf_change_is_unapplied():
    s = replicate_to_2(elect_1())
    s = step(s, "ProposeMembershipChange", 1, bit(2), 0)
    s = replicate_to_2(s)
    s = step(s, "Heartbeat", 1, p=replace(P, max_msgs=8))
    s = deliver(s, MsgType.HEARTBEAT, 1, 2)
    follower = s.servers[1]
    assert follower.commit == 3 and follower.applied == 2  # normal entries apply at once
    assert (2,) not in enabled(s, "Timeout")
    s = step(s, "ApplyEntries", 2)
    assert (2,) in enabled(s, "Timeout", replace(P, max_msgs=8))


def test_client_requests_only_at_a_leader_within_budget():
    assert enabled(start(), "ClientRequest") == []
    s = elect_1()
    assert enabled(s, "ClientRequest") == [(1,)]
    s = step(s, "ClientRequest", 1)
    assert enabled(s, "ClientRequest") == []  # max_client_requests 1


def test_append_entries_guards_and_counts():
    s = step(elect_1(), "ClientRequest", 1)
    # 2's next index is 2: one entry (the empty one, already in flight: left to
    # DuplicateMessage) or both.
    assert sorted(a for a in enabled(s, "AppendEntries") if a[1] == 2) == [(1, 2, 2)]
    assert enabled(s, "AppendEntries", replace(P, partial_appends=False)) == [
        (1, 2, 2),
        (1, 3, 2),
    ]
    assert enabled(start(), "AppendEntries") == []


def test_message_bound_disables_a_step():
    s = elect_1()  # 3 messages in flight; a heartbeat adds 2
    assert enabled(s, "Heartbeat", replace(P, max_msgs=5)) == [(1,)]
    assert enabled(s, "Heartbeat", replace(P, max_msgs=4)) == []


def test_restart_drop_duplicate_budgets():
    p = replace(P, max_crashes=1, max_drops=1, max_duplicates=1)
    s = step(start(p), "Timeout", 1, p=p)
    assert enabled(s, "Restart", p) == [(1,)]  # the others have nothing volatile to lose
    m = next(iter(s.network))[0]
    assert enabled(s, "DropMessage", p) and enabled(s, "DuplicateMessage", p)
    s = step(s, "DropMessage", m, p=p)
    assert enabled(s, "DropMessage", p) == []
    # The defaults allow no crash, drop or duplicate.
    assert enabled(s, "Restart") == enabled(s, "DuplicateMessage") == []


# --- invariants can fail ----------------------------------------------------------------


def with_servers(state: State, **changes: dict[str, object]) -> State:
    servers = list(state.servers)
    for key, fields in changes.items():
        k = int(key[1:]) - 1
        servers[k] = servers[k]._replace(**fields)
    return State(tuple(servers), state.network, state.budget)


E1 = Entry(1, Kind.SNAPSHOT)


def test_election_safety_fails_on_two_leaders_of_one_term():
    s = with_servers(start(), s1={"role": Role.LEADER, "term": 2}, s2={"term": 2})
    assert inv.election_safety(P, s)
    s = with_servers(s, s2={"role": Role.LEADER})
    assert not inv.election_safety(P, s)


def test_log_matching_fails_on_same_term_entry_with_different_prefix():
    a = (E1, Entry(2, Kind.EMPTY), Entry(3, Kind.EMPTY))
    b = (E1, Entry(2, Kind.DATA), Entry(3, Kind.EMPTY))
    assert not inv.log_matching(P, with_servers(start(), s1={"log": a}, s2={"log": b}))
    c = (E1, Entry(2, Kind.EMPTY), Entry(4, Kind.EMPTY))
    assert inv.log_matching(P, with_servers(start(), s1={"log": a}, s2={"log": c}))


def test_state_machine_safety_fails_on_different_committed_entries():
    a = (E1, Entry(2, Kind.EMPTY))
    b = (E1, Entry(3, Kind.EMPTY))
    s = with_servers(start(), s1={"log": a, "commit": 2}, s2={"log": b, "commit": 1})
    assert inv.state_machine_safety(P, s)
    s = with_servers(s, s2={"commit": 2})
    assert not inv.state_machine_safety(P, s)


def test_leader_completeness_fails_when_a_leader_lacks_a_committed_entry():
    a = (E1, Entry(2, Kind.EMPTY))
    s = with_servers(
        start(),
        s1={"log": a, "commit": 2, "term": 2},
        s3={"role": Role.LEADER, "term": 3},
    )
    assert not inv.leader_completeness(P, s)
    assert inv.leader_completeness(P, with_servers(s, s1={"term": 4}))


def test_commit_within_log_fails_beyond_last_index():
    assert not inv.commit_within_log(P, with_servers(start(), s1={"commit": 2}))
    assert not inv.commit_within_log(P, with_servers(start(), s1={"applied": 2}))


def test_configuration_safety_fails_on_two_changes_or_a_skipped_joint_phase():
    begin = Entry(2, Kind.BEGIN, bit(2), 0)
    two = (E1, begin, Entry(2, Kind.BEGIN, bit(3), 0))
    assert not inv.configuration_safety(P, with_servers(start(), s1={"log": two}))
    log = (E1, begin)
    joint = Config(mask_of([1, 2, 3]), 0, bit(2), 0, 2)
    s = with_servers(start(), s1={"log": log, "commit": 2, "applied": 2, "config": joint})
    assert inv.configuration_safety(P, s)
    direct = with_servers(s, s1={"config": Config(bit(2), 0)})
    assert not inv.configuration_safety(P, direct)


def test_step_invariants_fail_on_overwrite_commit_decrease_and_changed_committed_entry():
    a = (E1, Entry(2, Kind.EMPTY))
    before = with_servers(start(), s1={"role": Role.LEADER, "term": 2, "log": a, "commit": 2})
    overwritten = with_servers(before, s1={"log": (E1, Entry(2, Kind.DATA))})
    noop = Action("Test", ())
    assert not inv.leader_append_only(P, before, noop, overwritten)
    assert not inv.committed_entries_stable(P, before, noop, overwritten)
    assert not inv.commit_monotonic(P, before, noop, with_servers(before, s1={"commit": 1}))
    grown = with_servers(before, s1={"log": (*a, Entry(2, Kind.DATA))})
    assert inv.leader_append_only(P, before, noop, grown)
    assert inv.committed_entries_stable(P, before, noop, grown)


@pytest.mark.parametrize("name", sorted(inv.GOALS))
def test_goals_do_not_hold_initially(name):
    assert not inv.GOALS[name](P, start())


def test_client_entry_committed_goal_by_a_script():
    s = step(elect_1(), "ClientRequest", 1)
    assert not inv.client_entry_committed(P, s)
    s = replicate_to_2(s)
    assert inv.client_entry_committed(P, s)
