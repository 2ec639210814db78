"""The protocol model: raft-rs behaviours, action guards, invariants that can fail, goals."""

import random
from dataclasses import replace

import pytest

from model import invariants as inv
from model.actions import Action, enabled, membership_targets, outcomes, successors
from model.params import Params
from model.server import ignored_forever as inv_ignored
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
    """The (first) outcome of an enabled action."""
    action = Action(name, args)
    assert action in enabled(p, state), f"{name}{args} is not enabled"
    return outcomes(p, state, action)[0]


def deliver(state: State, mtype: int, src: int, dst: int, p: Params = P) -> State:
    """Delivers the (single) message of `mtype` from `src` to `dst`."""
    found = [m for m, _ in state.network if (m.type, m.src, m.dst) == (mtype, src, dst)]
    assert len(found) == 1, f"expected one {mtype} {src}->{dst} in {state.network}"
    return step(state, "Deliver", found[0], p=p)


def elect_1(p: Params = P) -> State:
    """Server 1 wins term 2 with server 2's vote."""
    s = step(start(p), "Timeout", 1, p=p)
    s = deliver(s, MsgType.VOTE, 1, 2, p=p)
    return deliver(s, MsgType.VOTE_RESP, 2, 1, p=p)


def replicate_to_2(s: State, p: Params = P) -> State:
    """Server 2 gets the appends in flight to it and its answers reach leader 1, until
    nothing more goes between them."""
    for _ in range(20):
        between = [m for m, _ in s.network if (m.src, m.dst) in ((1, 2), (2, 1))]
        if not between:
            return s
        s = step(s, "Deliver", between[0], p=p)
    raise AssertionError("replication between 1 and 2 does not settle")


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
    assert s.servers[0].commit == 3 and s.servers[1].commit >= 2
    leader, follower = s.servers[0], s.servers[1]
    stale = Msg(MsgType.APPEND, 1, 2, 2, 1, 1, leader.log[1:2], 1)
    s = State(s.servers, ((stale, 1),), s.budget)
    s = step(s, "Deliver", stale)
    (answer,) = [m for m, _ in s.network]
    assert (answer.type, answer.idx, answer.reject) == (MsgType.APPEND_RESP, follower.commit, 0)


def test_mismatch_is_rejected_with_hint_and_the_leader_probes_lower():
    s = elect_1()
    s = step(s, "ClientRequest", 1)
    leader = s.servers[0]
    # Pretend 2's next index is 3 (prev 2), which 2 does not have, and let a heartbeat
    # response resume it: the leader sends from index 3.
    nxt = list(leader.next)
    nxt[1] = 3
    leader = leader._replace(next=tuple(nxt), paused=0)
    ack = Msg(MsgType.HEARTBEAT_RESP, 2, 1, 2)
    s = State((leader, *s.servers[1:]), ((ack, 1),), s.budget)
    s = deliver(s, MsgType.HEARTBEAT_RESP, 2, 1)
    s = deliver(s, MsgType.APPEND, 1, 2)
    (answer,) = [m for m, _ in s.network]
    assert (answer.reject, answer.idx, answer.hint) == (1, 2, 1)
    s = deliver(s, MsgType.APPEND_RESP, 2, 1)
    assert s.servers[0].next[1] == 2  # min(rejected 2, hint 1 + 1)


def test_messages_ignored_for_ever_are_retired_when_they_become_so():
    p = replace(P, max_msgs=8)
    s = step(start(p), "Timeout", 1, p=p)
    s = deliver(s, VOTE_REQ, 1, 3, p=p)  # 3 grants 1 at term 2
    s = step(s, "Timeout", 3, p=p)  # 3 moves to term 3: the grant still counts at 1
    assert any(m.type == MsgType.VOTE_RESP and m.term == 2 for m, _ in s.network)
    s = deliver(s, VOTE_REQ, 3, 1, p=p)  # 1 moves to term 3: the term-2 grant never counts
    assert not any(m.type == MsgType.VOTE_RESP and m.term == 2 for m, _ in s.network)
    # A stale append is kept where the receiver answers stale leaders (pre-vote).
    pv = replace(p, pre_vote=True)
    stale = Msg(MsgType.APPEND, 1, 2, 1, 1, 1, (), 1)
    assert not inv_ignored(pv, s.servers[1]._replace(term=2), stale)
    assert inv_ignored(p, s.servers[1]._replace(term=2), stale)


def test_an_answer_of_its_term_is_kept_for_a_candidate_that_may_still_lead():
    """Under check quorum a server answers a stale append with its own term; when that
    reaches the old leader as a candidate of the same term, the candidate may still win
    and handle it as leader, so it stays in flight (a follower or pre-candidate of that
    term never leads it: the answer is retired)."""
    p = replace(P, check_quorum=True, max_msgs=8)

    def of_term(state: State, mtype: int, dst: int, term: int) -> Msg:
        (found,) = [m for m, _ in state.network if (m.type, m.dst, m.term) == (mtype, dst, term)]
        return found

    s = elect_1(p)  # leader of term 2; its append to 3 is in flight
    # No quorum heard from at the heartbeat tick: 1 steps down.
    heartbeat = outcomes(p, s, Action("Heartbeat", (1,)))
    s = next(x for x in heartbeat if x.servers[0].role == Role.FOLLOWER)
    s = step(s, "Timeout", 1, p=p)  # candidate of term 3
    s = step(s, "Deliver", of_term(s, VOTE_REQ, 3, 3), p=p)  # 3 moves to term 3
    # The term-2 append reaches 3, which answers with its own term.
    s = step(s, "Deliver", of_term(s, MsgType.APPEND, 3, 2), p=p)
    answer = [m for m, _ in s.network if m.type == MsgType.APPEND_RESP and m.dst == 1]
    assert [m.term for m in answer] == [3]
    candidate = s.servers[0]
    assert candidate.role == Role.CANDIDATE and candidate.term == 3
    assert not inv_ignored(p, candidate, answer[0])
    assert inv_ignored(p, candidate._replace(role=Role.FOLLOWER), answer[0])
    assert inv_ignored(p, candidate._replace(role=Role.PRE_CANDIDATE), answer[0])


def test_restart_keeps_hard_state_log_and_applied_configuration():
    p = replace(P, max_crashes=1)
    s = replicate_to_2(elect_1(p), p)
    s = step(s, "Restart", 1, p=p)
    r = s.servers[0]
    assert (r.role, r.term, r.vote, r.commit, len(r.log)) == (Role.FOLLOWER, 2, 1, 2, 2)
    assert r.match == (0, 0, 0, 0) and r.leader == 0
    assert s.budget.crashes == 1


def settle(s: State, p: Params = P) -> State:
    """Delivers messages (the first in flight each time) until none is left, then lets
    leader 1 heartbeat (which resumes the peers it paused), until a heartbeat round
    changes nothing."""
    for _ in range(10):
        before = s.servers
        s = step(s, "Heartbeat", 1, p=p)
        for _ in range(200):
            if not s.network:
                break
            s = step(s, "Deliver", s.network[0][0], p=p)
        if s.servers == before:
            return s
    raise AssertionError("the cluster does not settle")


def test_joint_consensus_enter_commit_with_both_majorities_and_leave():
    p = replace(P, max_msgs=20)
    s = replicate_to_2(elect_1(p), p)
    s = step(s, "ProposeMembershipChange", 1, mask_of([1, 2, 3, 4]), 0, p=p)
    s = replicate_to_2(s, p)
    leader = s.servers[0]
    # Begin is committed by the old majority {1, 2} and applied at once: joint, and a
    # Finalize appended; the added server got fresh progress.
    assert leader.config == Config(mask_of([1, 2, 3]), 0, mask_of([1, 2, 3, 4]), 0, 3)
    assert Entry(2, Kind.FINALIZE) in leader.log
    assert leader.next[3] == 4
    # {1, 2} is a majority of {1, 2, 3} but not of {1, 2, 3, 4}: no Finalize commit yet.
    assert leader.commit == 3
    s = settle(s, p)
    assert s.servers[0].config == Config(mask_of([1, 2, 3, 4]), 0)
    assert inv.joint_left(p, s)


def test_removed_leader_steps_down_when_it_applies_finalize():
    p = replace(P, max_msgs=20)
    s = replicate_to_2(elect_1(p), p)
    s = step(s, "ProposeMembershipChange", 1, bit(2), 0, p=p)
    s = replicate_to_2(s, p)
    leader = s.servers[0]
    assert leader.role == Role.FOLLOWER and leader.term == 2
    assert leader.config == Config(bit(2), 0)
    assert inv.removed_leader_steps_down(p, s)
    assert not any(a.name == "Timeout" and a.args == (1,) for a, _ in successors(p, s))


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
    p = replace(P, changes=("add_learner",), max_msgs=20)
    s = replicate_to_2(elect_1(p), p)
    s = step(s, "ProposeMembershipChange", 1, mask_of([1, 2, 3]), bit(4), p=p)
    s = replicate_to_2(s, p)
    leader = s.servers[0]
    # The change is done without the learner: {1, 2} commits Begin and Finalize.
    assert leader.config == Config(mask_of([1, 2, 3]), bit(4)) and leader.commit == 4
    # The learner has progress and is sent entries...
    assert leader.next[3] > 0
    s = settle(s, p)
    assert s.servers[3].commit == 4
    # ...but as a learner it never campaigns once it has applied the change.
    learner = s.servers[3]._replace(config=Config(mask_of([1, 2, 3]), bit(4)))
    s = State((*s.servers[:3], learner), s.network, s.budget)
    assert not any(a.name == "Timeout" and a.args == (4,) for a, _ in successors(p, s))


# --- guards -----------------------------------------------------------------------------


def enabled_args(state: State, name: str, p: Params = P) -> list[tuple[object, ...]]:
    return [a.args for a, _ in successors(p, state) if a.name == name]


def test_timeout_guards():
    assert enabled_args(start(), "Timeout") == [(1,), (2,), (3,)]  # not the spare
    s = elect_1()
    assert (1,) not in enabled_args(s, "Timeout")  # a leader does not time out
    assert enabled_args(s, "Timeout", replace(P, max_term=2)) == []  # term bound


def test_no_campaign_while_committed_conf_change_is_unapplied():
    s = replicate_to_2(elect_1())
    follower = s.servers[1]
    unapplied = follower._replace(
        log=(*follower.log, Entry(2, Kind.BEGIN, bit(2), 0)), commit=3, applied=2
    )
    s = State((s.servers[0], unapplied, *s.servers[2:]), s.network, s.budget)
    assert (2,) not in enabled_args(s, "Timeout", replace(P, max_msgs=8))


def test_client_requests_only_at_a_leader_within_budget():
    assert enabled_args(start(), "ClientRequest") == []
    s = elect_1()
    assert enabled_args(s, "ClientRequest") == [(1,)]
    s = step(s, "ClientRequest", 1)
    assert enabled_args(s, "ClientRequest") == []  # max_client_requests 1


def test_one_entry_per_append_and_probes_pause():
    s = step(elect_1(), "ClientRequest", 1)
    leader = s.servers[0]
    # The election's appends are in flight, each carrying one entry; probed peers are
    # paused, so the client entry is not sent yet.
    appends = [m for m, _ in s.network if m.type == MsgType.APPEND]
    assert sorted(m.dst for m in appends) == [2, 3] and all(len(m.entries) == 1 for m in appends)
    assert leader.paused == mask_of([2, 3])
    everything = replace(P, entries_per_append=0)
    s = step(elect_1(everything), "ClientRequest", 1, p=everything)
    assert all(len(m.entries) == 1 for m, _ in s.network if m.type == MsgType.APPEND)


def test_message_bound_disables_a_step():
    s = elect_1()  # 3 messages in flight; a heartbeat adds 2
    assert enabled_args(s, "Heartbeat", replace(P, max_msgs=5)) == [(1,)]
    assert enabled_args(s, "Heartbeat", replace(P, max_msgs=4)) == []


def test_restart_drop_duplicate_budgets():
    p = replace(P, max_crashes=1, max_drops=1, max_duplicates=1)
    s = step(start(p), "Timeout", 1, p=p)
    assert enabled_args(s, "Restart", p) == [(1,), (2,), (3,), (4,)]
    m = next(iter(s.network))[0]
    assert enabled_args(s, "Drop", p) and enabled_args(s, "Duplicate", p)
    s = step(s, "Drop", m, p=p)
    assert enabled_args(s, "Drop", p) == []
    # The defaults allow no crash, drop or duplicate.
    assert enabled_args(s, "Restart") == enabled_args(s, "Duplicate") == []


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


def test_read_linearizable_fails_on_a_read_answered_below_a_committed_index():
    s = start()
    ok = with_servers(s, s1={"served": ((1, 3, 3),)})
    assert inv.read_linearizable(P, ok)
    stale = with_servers(s, s1={"served": ((1, 2, 3),)})
    assert not inv.read_linearizable(P, stale)


def test_a_read_before_the_leader_commits_in_its_term_is_dropped():
    p = replace(P, max_reads=1)
    s = step(start(p), "Timeout", 1, p=p)
    s = deliver(s, VOTE_REQ, 1, 2, p=p)
    s = deliver(s, MsgType.VOTE_RESP, 2, 1, p=p)  # leader of term 2, nothing of it committed
    after = step(s, "ReadIndex", 1, p=p)
    assert after.servers[0].reads == () and after.servers[0].served == ()
    assert after.budget.reads == 1


# --- remembered outcomes ----------------------------------------------------------------

REMEMBERED = [
    replace(P, max_term=5, max_log=5, max_msgs=6, max_client_requests=3),
    replace(
        P,
        pre_vote=True,
        check_quorum=True,
        max_term=5,
        max_msgs=6,
        max_crashes=2,
        max_drops=2,
        max_duplicates=2,
        max_transfers=2,
        max_reads=3,
        changes=("add_voter", "add_learner", "promote", "remove_voter", "remove_learner"),
        max_membership_changes=3,
    ),
    replace(
        P,
        max_term=5,
        max_log=5,
        max_msgs=6,
        max_client_requests=3,
        max_compactions=3,
        max_snapshot_requests=2,
        max_crashes=1,
    ),
]


@pytest.mark.parametrize("p", REMEMBERED, ids=["plain", "faults-changes-reads", "snapshots"])
def test_remembered_outcomes_are_the_outcomes_computed_afresh(p: Params) -> None:
    """The model remembers each action's outcome for its server (for as long as it is
    given the same parameters). Random walks meet the same servers again and again;
    every action's outcomes met there equal those computed afresh, with nothing
    remembered (each from an equal parameters object that is not the same one)."""
    rng = random.Random(20261201)
    met: list[tuple[State, Action, list[State]]] = []
    for _walk in range(60):
        state = start(p)
        for _step in range(25):
            met += [(state, a, outcomes(p, state, a)) for a in enabled(p, state)]
            nexts = [after for _, after in successors(p, state)]
            if not nexts:
                break
            state = rng.choice(nexts)
    assert len(met) > 5_000
    for state, action, remembered in met:
        assert remembered == outcomes(replace(p), state, action), action


def test_outcomes_remembered_for_some_parameters_are_not_used_for_others() -> None:
    state = start(P)
    plain = outcomes(P, state, Action("Timeout", (1,)))
    pre_vote = outcomes(replace(P, pre_vote=True), state, Action("Timeout", (1,)))
    assert plain[0].servers[0].role == Role.CANDIDATE
    assert pre_vote[0].servers[0].role == Role.PRE_CANDIDATE
