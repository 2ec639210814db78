"""Ports of raft-rs's harness/tests/integration_cases/test_raft.rs (first half).

Every test keeps its upstream name; table-driven upstream tests stay table-driven. The
module-level helpers at the top are shared with tests/integration/test_raft_2.py, which
ports the second half of the same upstream file.

Storage built with `MemStorage.new_with_conf_state` starts from a snapshot at index 1,
term 1, so the first elected leader has term 2 and its empty entry sits at index 2.
"""

from __future__ import annotations

import copy
import math

from raft_ref.eraftpb import ConfState, Entry, HardState, Message, MessageType, Snapshot
from raft_ref.errors import RaftPanic
from raft_ref.progress import Progress, ProgressState
from raft_ref.raft import INVALID_ID, INVALID_INDEX, StateRole, vote_resp_msg_type
from raft_ref.raft_log import RaftLog
from raft_ref.read_only import ReadOnlyOption, ReadState
from raft_ref.storage import MemStorage
from tests.harness import Interface, Network
from tests.harness.setups import (
    elected_network,
    leader_cut_off_with,
    propose,
    read_index,
)
from tests.test_util import (
    NOP_STEPPER,
    empty_entry,
    new_entry,
    new_message,
    new_message_with_entries,
    new_snapshot,
    new_storage,
    new_test_config,
    new_test_raft,
    new_test_raft_with_config,
    new_test_raft_with_logs,
    new_test_raft_with_prevote,
)

# --- Helpers shared by both halves of the port --------------------------------------------


def new_progress(
    state: ProgressState, matched: int, next_idx: int, pending_snapshot: int, ins_size: int
) -> Progress:
    """A progress record put directly into the given state, bypassing the transitions."""
    p = Progress(next_idx, ins_size)
    p.state = state
    p.matched = matched
    p.pending_snapshot = pending_snapshot
    return p


def read_messages(raft: Interface) -> list[Message]:
    """Take every message the node has queued, leaving its outbox empty."""
    msgs = list(raft.msgs)
    raft.msgs.clear()
    return msgs


def _clone(m: Message) -> Message:
    """An independent copy, as upstream's `clone()`: a node may change what it is given."""
    return copy.deepcopy(m)


def _drain_read_states(node: Interface) -> list[ReadState]:
    """Take the read states the node has produced, leaving none behind."""
    states = list(node.read_states)
    node.read_states.clear()
    return states


def _check_read_indexes(nt: Network, tests: list[tuple[int, int, int, str]]) -> None:
    """For each (node asked, proposals first, want read index, context): the proposals
    go to node 1, then the node asks for a read index and gets exactly that one."""
    for i, (id, proposals, wri, wctx) in enumerate(tests):
        propose(nt, 1, proposals)
        read_index(nt, id, wctx)

        read_states = _drain_read_states(nt.peers[id])
        assert read_states, f"#{i}: read_states is empty, want non-empty"
        rs = read_states[0]
        assert rs.index == wri, f"#{i}: read_index = {rs.index}, want {wri}"
        assert rs.request_ctx == wctx.encode(), (
            f"#{i}: request_ctx = {rs.request_ctx!r}, want {wctx!r}"
        )


def ents_with_config(terms: list[int], pre_vote: bool, id: int, peers: list[int]) -> Interface:
    """A node whose log holds one entry per term in `terms`, from index 2 on.

    Index 1 is taken by the initial snapshot of the storage.
    """
    store = MemStorage.new_with_conf_state(ConfState(list(peers), []))
    for offset, term in enumerate(terms):
        store.wl().append([Entry(term=term, index=offset + 2)])
    raft = new_test_raft_with_prevote(id, peers, 5, 1, store, pre_vote)
    raft.reset(terms[-1])
    return raft


def assert_raft_log(prefix: str, raft_log: RaftLog, want: tuple[int, int, int]) -> None:
    """Check (committed, applied, last index) of a log."""
    committed, applied, last = want
    assert raft_log.committed == committed, (
        f"{prefix}committed = {raft_log.committed}, want = {committed}"
    )
    assert raft_log.applied == applied, f"{prefix}applied = {raft_log.applied}, want = {applied}"
    assert raft_log.last_index() == last, (
        f"{prefix}last_index = {raft_log.last_index()}, want = {last}"
    )


def voted_with_config(vote: int, term: int, pre_vote: bool, id: int, peers: list[int]) -> Interface:
    """A node that voted for `vote` in `term` but has received no entries."""
    store = MemStorage.new_with_conf_state(ConfState(list(peers), []))
    hs = store.wl().mut_hard_state()
    hs.vote = vote
    hs.term = term
    raft = new_test_raft_with_prevote(id, peers, 5, 1, store, pre_vote)
    raft.reset(term)
    return raft


def next_ents(r: Interface, s: MemStorage) -> list[Entry]:
    """Persist the unstable entries, then apply and return what is committed."""
    unstable = r.raft_log.unstable_entries()
    if unstable:
        s.wl().append(list(unstable))
    r.raft_log.stable_to(r.raft_log.last_index(), r.raft_log.last_term())
    ents = r.raft_log.next_entries()
    r.commit_apply(r.raft_log.committed)
    return list(ents) if ents else []


def do_send_append(raft: Interface, to: int) -> None:
    """Make the node send an append to `to` using that peer's current progress."""
    raft.send_append(to, raft.prs().get(to))


def check_leader_transfer_state(r: Interface, state: StateRole, lead: int) -> None:
    """After a leadership transfer, the node has this role and leader and no transferee."""
    assert r.state == state and r.leader_id == lead, (
        f"after transferring, node has state {r.state} lead {r.leader_id}, "
        f"want state {state} lead {lead}"
    )
    assert r.lead_transferee is None


def new_test_learner_raft(  # noqa: PLR0917 (the upstream signature)
    id: int,
    peers: list[int],
    learners: list[int],
    election: int,
    heartbeat: int,
    storage: MemStorage,
) -> Interface:
    """Like `new_test_raft`, but the initial configuration also lists `learners`."""
    initialized = storage.initial_state().initialized()
    if initialized and not peers:
        raise RaftPanic("new_test_raft with empty peers on initialized store")
    if peers and not initialized:
        storage.initialize_with_conf_state(ConfState(list(peers), list(learners)))
    cfg = new_test_config(id, election, heartbeat)
    return new_test_raft_with_config(cfg, storage)


def new_prevote_migration_cluster() -> Network:
    """A cluster in the middle of a rolling restart that turns pre-vote on.

    n1 leads at term 2 and n2 follows; n3 was partitioned without pre-vote, campaigned up
    to term 4 with a shorter log, and stays a candidate. Then pre-vote is switched on for
    n3 and the partition heals.
    """
    n1 = new_test_raft_with_prevote(1, [1, 2, 3], 10, 1, new_storage(), True)
    n2 = new_test_raft_with_prevote(2, [1, 2, 3], 10, 1, new_storage(), True)
    # n3 starts without pre-vote: a mixed-version cluster during the upgrade.
    n3 = new_test_raft_with_prevote(3, [1, 2, 3], 10, 1, new_storage(), False)
    n1.become_follower(1, INVALID_ID)
    n2.become_follower(1, INVALID_ID)
    n3.become_follower(1, INVALID_ID)

    nt = Network.new([n1, n2, n3])
    nt.send([new_message(1, 1, MessageType.MsgHup, 0)])

    nt.isolate(3)
    nt.send([new_message(1, 1, MessageType.MsgPropose, 1)])
    nt.send([new_message(3, 3, MessageType.MsgHup, 0)])
    nt.send([new_message(3, 3, MessageType.MsgHup, 0)])

    assert nt.peers[1].state == StateRole.Leader
    assert nt.peers[2].state == StateRole.Follower
    assert nt.peers[3].state == StateRole.Candidate
    assert nt.peers[1].term == 2
    assert nt.peers[2].term == 2
    assert nt.peers[3].term == 4

    nt.peers[3].pre_vote = True
    nt.recover()
    return nt


def prepare_request_snapshot() -> tuple[Network, Snapshot]:
    """Three nodes restored from a snapshot at index 11, term 11, with node 1 leading.

    Node 1 commits two proposals (up to index 14), persists them in its storage, then
    commits one more. Returns the network and node 1's storage snapshot (at index 14).
    """

    def index_term_11(id: int, ids: list[int]) -> Interface:
        store = MemStorage()
        store.wl().apply_snapshot(new_snapshot(11, 11, list(ids)))
        raft = new_test_raft(id, ids, 5, 1, store)
        raft.reset(11)
        return raft

    nt = Network.new(
        [
            index_term_11(1, [1, 2, 3]),
            index_term_11(2, [1, 2, 3]),
            index_term_11(3, [1, 2, 3]),
        ]
    )
    nt.send([new_message(1, 1, MessageType.MsgHup, 0)])

    msg = new_message_with_entries(1, 1, MessageType.MsgPropose, [Entry(data=b"testdata")])
    nt.send([_clone(msg), _clone(msg)])
    assert nt.peers[1].raft_log.committed == 14
    assert nt.peers[2].raft_log.committed == 14

    leader = nt.peers[1]
    ents = list(leader.raft_log.unstable_entries() or [])
    nt.storage[1].wl().append(ents)
    nt.storage[1].wl().commit_to(14)
    leader.raft_log.applied = 14

    # Commit one more entry, beyond the snapshot taken below.
    msg = new_message_with_entries(1, 1, MessageType.MsgPropose, [Entry(data=b"testdata")])
    nt.send([msg])

    s = nt.storage[1].snapshot(0)
    return nt, s


# --- Progress ------------------------------------------------------------------------------


def test_progress_become_probe() -> None:
    matched = 1
    tests = [
        (new_progress(ProgressState.Replicate, matched, 5, 0, 256), 2),
        # A snapshot that finished: probing resumes after the snapshot index.
        (new_progress(ProgressState.Snapshot, matched, 5, 10, 256), 11),
        # A snapshot that failed: probing resumes after the match index.
        (new_progress(ProgressState.Snapshot, matched, 5, 0, 256), 2),
    ]
    for i, (p, wnext) in enumerate(tests):
        p.become_probe()
        assert p.state == ProgressState.Probe, f"#{i}: state = {p.state}"
        assert p.matched == matched, f"#{i}: match = {p.matched}, want {matched}"
        assert p.next_idx == wnext, f"#{i}: next = {p.next_idx}, want {wnext}"


def test_progress_become_replicate() -> None:
    p = new_progress(ProgressState.Probe, 1, 5, 0, 256)
    p.become_replicate()
    assert p.state == ProgressState.Replicate
    assert p.matched == 1
    assert p.next_idx == p.matched + 1


def test_progress_become_snapshot() -> None:
    p = new_progress(ProgressState.Probe, 1, 5, 0, 256)
    p.become_snapshot(10)
    assert p.state == ProgressState.Snapshot
    assert p.matched == 1
    assert p.pending_snapshot == 10


def test_progress_update() -> None:
    prev_m, prev_n = 3, 5
    tests = [
        # (update, want match, want next, want ok)
        (prev_m - 1, prev_m, prev_n, False),
        (prev_m, prev_m, prev_n, False),
        (prev_m + 1, prev_m + 1, prev_n, True),
        (prev_m + 2, prev_m + 2, prev_n + 1, True),
    ]
    for i, (update, wm, wn, wok) in enumerate(tests):
        p = Progress(prev_n, 256)
        p.matched = prev_m
        ok = p.maybe_update(update)
        assert ok == wok, f"#{i}: ok = {ok}, want {wok}"
        assert p.matched == wm, f"#{i}: match = {p.matched}, want {wm}"
        assert p.next_idx == wn, f"#{i}: next = {p.next_idx}, want {wn}"


def test_progress_maybe_decr() -> None:
    tests = [
        # (state, match, next, rejected, last, want decreased, want next)
        # Replicate, rejected not above match: stale.
        (ProgressState.Replicate, 5, 10, 5, 5, False, 10),
        (ProgressState.Replicate, 5, 10, 4, 4, False, 10),
        # Replicate, rejected above match: next drops to match + 1.
        (ProgressState.Replicate, 5, 10, 9, 9, True, 6),
        # Probe, next - 1 differs from rejected: stale.
        (ProgressState.Probe, 0, 0, 0, 0, False, 0),
        (ProgressState.Probe, 0, 10, 5, 5, False, 10),
        # Probe, next > 1: decreased by one.
        (ProgressState.Probe, 0, 10, 9, 9, True, 9),
        (ProgressState.Probe, 0, 2, 1, 1, True, 1),
        # Probe, next <= 1: reset to 1.
        (ProgressState.Probe, 0, 1, 0, 0, True, 1),
        # Probe: next becomes min(rejected, last + 1).
        (ProgressState.Probe, 0, 10, 9, 2, True, 3),
        # Probe: never below 1.
        (ProgressState.Probe, 0, 10, 9, 0, True, 1),
    ]
    for i, (state, m, n, rejected, last, w, wn) in enumerate(tests):
        p = new_progress(state, m, n, 0, 0)
        got = p.maybe_decr_to(rejected, last, 0)
        assert got == w, f"#{i}: maybe_decr_to = {got}, want {w}"
        assert p.matched == m, f"#{i}: match = {p.matched}, want {m}"
        assert p.next_idx == wn, f"#{i}: next = {p.next_idx}, want {wn}"


def test_progress_is_paused() -> None:
    tests = [
        (ProgressState.Probe, False, False),
        (ProgressState.Probe, True, True),
        (ProgressState.Replicate, False, False),
        (ProgressState.Replicate, True, False),
        (ProgressState.Snapshot, False, True),
        (ProgressState.Snapshot, True, True),
    ]
    for i, (state, paused, w) in enumerate(tests):
        p = new_progress(state, 0, 0, 0, 256)
        p.paused = paused
        assert p.is_paused() == w, f"#{i}: is_paused = {p.is_paused()}, want {w}"


# Both maybe_update and maybe_decr_to clear the paused flag.
def test_progress_resume() -> None:
    p = Progress(2, 256)
    p.paused = True
    p.maybe_decr_to(1, 1, INVALID_INDEX)
    assert not p.paused, "paused after maybe_decr_to"
    p.paused = True
    p.maybe_update(2)
    assert not p.paused, "paused after maybe_update"


def test_progress_leader() -> None:
    raft = new_test_raft(1, [1, 2], 5, 1, new_storage())
    raft.become_candidate()
    raft.become_leader()
    raft.mut_prs().get(2).become_replicate()

    prop_msg = new_message(1, 1, MessageType.MsgPropose, 1)
    for i in range(5):
        pr = raft.prs().get(1)
        assert pr.state == ProgressState.Replicate
        # The leader's own match is its last index: snapshot at 1, empty entry at 2, then
        # one entry per proposal.
        assert pr.matched == i + 2
        assert pr.next_idx == pr.matched + 1
        raft.step(_clone(prop_msg))


# A heartbeat response clears the paused flag of the responding peer.
def test_progress_resume_by_heartbeat_resp() -> None:
    raft = new_test_raft(1, [1, 2], 5, 1, new_storage())
    raft.become_candidate()
    raft.become_leader()
    raft.mut_prs().get(2).paused = True

    raft.step(new_message(1, 1, MessageType.MsgBeat, 0))
    assert raft.prs().get(2).paused

    raft.mut_prs().get(2).become_replicate()
    raft.step(new_message(2, 1, MessageType.MsgHeartbeatResponse, 0))
    assert not raft.prs().get(2).paused


def test_progress_paused() -> None:
    raft = new_test_raft(1, [1, 2], 5, 1, new_storage())
    raft.become_candidate()
    raft.become_leader()
    m = Message(msg_type=MessageType.MsgPropose, from_=1, to=1, entries=[Entry(data=b"some_data")])
    raft.step(_clone(m))
    raft.step(_clone(m))
    raft.step(_clone(m))
    # The probing follower gets one append; the others wait for its answer.
    assert len(read_messages(raft)) == 1


# --- Elections -----------------------------------------------------------------------------


def test_leader_election() -> None:
    _check_leader_election(pre_vote=False)


def test_leader_election_pre_vote() -> None:
    _check_leader_election(pre_vote=True)


def _check_leader_election(pre_vote: bool) -> None:
    config = Network.default_config()
    config.pre_vote = pre_vote
    peers5 = [1, 2, 3, 4, 5]
    tests = [
        (Network.new_with_config([None, None, None], config), StateRole.Leader, 2),
        (Network.new_with_config([None, None, NOP_STEPPER], config), StateRole.Leader, 2),
        (
            Network.new_with_config([None, NOP_STEPPER, NOP_STEPPER], config),
            StateRole.Candidate,
            2,
        ),
        (
            Network.new_with_config([None, NOP_STEPPER, NOP_STEPPER, None], config),
            StateRole.Candidate,
            2,
        ),
        (
            Network.new_with_config([None, NOP_STEPPER, NOP_STEPPER, None, None], config),
            StateRole.Leader,
            2,
        ),
        # Three logs are further along than node 1's, in the same term, so node 1 gets
        # rejections rather than ignored votes.
        (
            Network.new_with_config(
                [
                    None,
                    ents_with_config([2], pre_vote, 2, peers5),
                    ents_with_config([2], pre_vote, 3, peers5),
                    ents_with_config([2, 2], pre_vote, 4, peers5),
                    None,
                ],
                config,
            ),
            StateRole.Follower,
            2,
        ),
    ]
    for i, (network, state, term) in enumerate(tests):
        network.send([new_message(1, 1, MessageType.MsgHup, 0)])
        raft = network.peers[1]
        if state == StateRole.Candidate and pre_vote:
            # A pre-vote election that cannot complete leaves the node a pre-candidate
            # at its old term.
            exp_state, exp_term = StateRole.PreCandidate, 1
        else:
            exp_state, exp_term = state, term
        assert raft.state == exp_state, f"#{i}: state = {raft.state}, want {exp_state}"
        assert raft.term == exp_term, f"#{i}: term = {raft.term}, want {exp_term}"


def test_leader_cycle() -> None:
    _check_leader_cycle(pre_vote=False)


def test_leader_cycle_pre_vote() -> None:
    _check_leader_cycle(pre_vote=True)


# Every node of a cluster can campaign and win in turn, so elections (pre-vote included)
# also work from a state that is not fresh.
def _check_leader_cycle(pre_vote: bool) -> None:
    config = Network.default_config()
    config.pre_vote = pre_vote
    network = Network.new_with_config([None, None, None], config)
    for campaigner_id in range(1, 4):
        network.send([new_message(campaigner_id, campaigner_id, MessageType.MsgHup, 0)])
        for sm in network.peers.values():
            if sm.id == campaigner_id:
                assert sm.state == StateRole.Leader, (
                    f"pre_vote={pre_vote}: campaigning node {sm.id} state = {sm.state}"
                )
            else:
                assert sm.state == StateRole.Follower, (
                    f"pre_vote={pre_vote}: after campaign of node {campaigner_id}, "
                    f"node {sm.id} had state = {sm.state}, want Follower"
                )


def test_leader_election_overwrite_newer_logs() -> None:
    _check_leader_election_overwrite_newer_logs(pre_vote=False)


def test_leader_election_overwrite_newer_logs_pre_vote() -> None:
    _check_leader_election_overwrite_newer_logs(pre_vote=True)


# A newly elected leader whose log lacks the highest-term entries overwrites the newer
# entries of the others with its own lower-term ones.
def _check_leader_election_overwrite_newer_logs(pre_vote: bool) -> None:
    # The history this network stands for:
    # - node 1 won term 1 and replicated one entry to node 2 only, then died;
    # - node 3 won term 2 (votes of 4 and 5), wrote an entry locally, then died.
    # Nodes 1, 2 and 3 all hold uncommitted entries and could win term 3.
    peers = [1, 2, 3, 4, 5]
    config = Network.default_config()
    config.pre_vote = pre_vote
    network = Network.new_with_config(
        [
            ents_with_config([1], pre_vote, 1, peers),
            ents_with_config([1], pre_vote, 2, peers),
            ents_with_config([2], pre_vote, 3, peers),
            voted_with_config(3, 2, pre_vote, 4, peers),
            voted_with_config(3, 2, pre_vote, 5, peers),
        ],
        config,
    )

    # The first campaign fails: a quorum knows of term 2. Node 1 learns that term.
    network.send([new_message(1, 1, MessageType.MsgHup, 0)])
    assert network.peers[1].state == StateRole.Follower
    assert network.peers[1].term == 2

    # With the higher term, the second campaign succeeds.
    network.send([new_message(1, 1, MessageType.MsgHup, 0)])
    assert network.peers[1].state == StateRole.Leader
    assert network.peers[1].term == 3

    # Everyone now has the term-1 entry at index 2 and the term-3 entry at index 3.
    for id, sm in network.peers.items():
        entries = sm.raft_log.all_entries()
        assert len(entries) == 2, f"node {id}: {len(entries)} entries, want 2"
        assert entries[0].term == 1, f"node {id}: first entry term {entries[0].term}"
        assert entries[1].term == 3, f"node {id}: second entry term {entries[1].term}"


def test_vote_from_any_state() -> None:
    _check_vote_from_any_state(MessageType.MsgRequestVote)


def test_prevote_from_any_state() -> None:
    _check_vote_from_any_state(MessageType.MsgRequestPreVote)


def _check_vote_from_any_state(vt: MessageType) -> None:
    for state in [
        StateRole.Follower,
        StateRole.Candidate,
        StateRole.PreCandidate,
        StateRole.Leader,
    ]:
        r = new_test_raft(1, [1, 2, 3], 10, 1, new_storage())
        r.term = 1
        if state == StateRole.Follower:
            r.become_follower(r.term, 3)
        elif state == StateRole.PreCandidate:
            r.become_pre_candidate()
        elif state == StateRole.Candidate:
            r.become_candidate()
        else:
            r.become_candidate()
            r.become_leader()

        # Taking the role above may have moved the term on.
        orig_term = r.term
        new_term = r.term + 1

        msg = new_message(2, 1, vt, 0)
        msg.term = new_term
        msg.log_term = new_term
        msg.index = 42
        r.step(msg)

        assert len(r.msgs) == 1, f"{vt.name},{state}: {len(r.msgs)} responses: {r.msgs}"
        resp = r.msgs[0]
        assert resp.msg_type == vote_resp_msg_type(vt), (
            f"{vt.name},{state}: response {resp.msg_type.name}"
        )
        assert not resp.reject, f"{vt.name},{state}: unexpected rejection"

        if vt == MessageType.MsgRequestVote:
            # A real vote resets role and term.
            assert r.state == StateRole.Follower, f"{vt.name},{state}: state {r.state}"
            assert r.term == new_term, f"{vt.name},{state}: term {r.term}, want {new_term}"
            assert r.vote == 2, f"{vt.name},{state}: vote {r.vote}, want 2"
        else:
            # A pre-vote changes nothing.
            assert r.state == state, f"{vt.name},{state}: state {r.state}"
            assert r.term == orig_term, f"{vt.name},{state}: term {r.term}, want {orig_term}"
            # Followers and pre-candidates have not voted; candidates and leaders voted
            # for themselves.
            assert r.vote in (INVALID_ID, 1), f"{vt.name},{state}: vote {r.vote}"


# --- Replication and commit ----------------------------------------------------------------


def test_log_replicatioin() -> None:
    tests = [
        (
            Network.new([None, None, None]),
            [new_message(1, 1, MessageType.MsgPropose, 1)],
            3,
        ),
        (
            Network.new([None, None, None]),
            [
                new_message(1, 1, MessageType.MsgPropose, 1),
                new_message(1, 2, MessageType.MsgHup, 0),
                new_message(1, 2, MessageType.MsgPropose, 1),
            ],
            5,
        ),
    ]
    for i, (network, msgs, wcommitted) in enumerate(tests):
        network.send([new_message(1, 1, MessageType.MsgHup, 0)])
        for m in msgs:
            network.send([_clone(m)])

        for j, x in network.peers.items():
            assert x.raft_log.committed == wcommitted, (
                f"#{i}.{j}: committed = {x.raft_log.committed}, want {wcommitted}"
            )
            ents = [e for e in next_ents(x, network.storage[j]) if e.data]
            proposals = [m for m in msgs if m.msg_type == MessageType.MsgPropose]
            for k, m in enumerate(proposals):
                assert ents[k].data == m.entries[0].data, (
                    f"#{i}.{j}: data = {ents[k].data!r}, want {m.entries[0].data!r}"
                )


def test_single_node_commit() -> None:
    tt = Network.new([None])
    assert tt.peers[1].raft_log.first_index() == 2
    tt.send([new_message(1, 1, MessageType.MsgHup, 0)])
    tt.send([new_message(1, 1, MessageType.MsgPropose, 1)])
    tt.send([new_message(1, 1, MessageType.MsgPropose, 1)])
    assert tt.peers[1].raft_log.committed == 4


# After a leader change, entries of an earlier term are not committed until an entry of
# the new leader's term is committed (the new leader's empty entry is held back here).
def test_cannot_commit_without_new_term_entry() -> None:
    tt = Network.new([None, None, None, None, None])
    assert tt.peers[1].raft_log.committed == 1
    tt.send([new_message(1, 1, MessageType.MsgHup, 0)])
    assert tt.peers[1].raft_log.committed == 2  # the empty entry of the new term

    # Node 1 reaches only node 2: no quorum.
    leader_cut_off_with(tt, 1, [2])
    propose(tt, 1, count=2)
    assert tt.peers[1].raft_log.committed == 2

    tt.recover()
    # Keep the new leader's empty entry from being replicated.
    tt.ignore(MessageType.MsgAppend)

    # Node 2 wins the next term.
    tt.send([new_message(2, 2, MessageType.MsgHup, 0)])
    # Nothing from the earlier term commits.
    assert tt.peers[2].raft_log.committed == 2

    tt.recover()
    # A heartbeat resumes the probing followers.
    tt.send([new_message(2, 2, MessageType.MsgBeat, 0)])
    # An entry of the current term commits, and everything before it with it.
    tt.send([new_message(2, 2, MessageType.MsgPropose, 1)])
    assert tt.peers[2].raft_log.committed == 6


# After a leader change, the new leader's empty entry commits the earlier entries.
def test_commit_without_new_term_entry() -> None:
    tt = elected_network(5)

    # Node 1 reaches only node 2: no quorum.
    leader_cut_off_with(tt, 1, [2])
    propose(tt, 1, count=2)
    assert tt.peers[1].raft_log.committed == 2

    tt.recover()

    # Node 2 wins; its empty entry of the new term commits everything before it.
    tt.send([new_message(2, 2, MessageType.MsgHup, 0)])
    assert tt.peers[1].raft_log.committed == 5


def test_dueling_candidates() -> None:
    a = new_test_raft(1, [1, 2, 3], 10, 1, new_storage())
    b = new_test_raft(2, [1, 2, 3], 10, 1, new_storage())
    c = new_test_raft(3, [1, 2, 3], 10, 1, new_storage())

    nt = Network.new([a, b, c])
    nt.cut(1, 3)

    nt.send([new_message(1, 1, MessageType.MsgHup, 0)])
    nt.send([new_message(3, 3, MessageType.MsgHup, 0)])

    # Node 1 has its own vote and node 2's.
    assert nt.peers[1].state == StateRole.Leader
    # Node 3 has its own vote and node 2's rejection.
    assert nt.peers[3].state == StateRole.Candidate

    nt.recover()

    # Node 3 campaigns at a higher term and disrupts leader 1, but both others reject it
    # for its shorter log, so everyone ends up a follower at term 3.
    nt.send([new_message(3, 3, MessageType.MsgHup, 0)])

    raft_logs = [
        # (committed, applied, last index)
        (2, 1, 2),
        (2, 1, 2),
        (1, 1, 1),
    ]
    tests = [
        (StateRole.Follower, 3),
        (StateRole.Follower, 3),
        (StateRole.Follower, 3),
    ]
    for i, (state, term) in enumerate(tests):
        id = i + 1
        assert nt.peers[id].state == state, f"#{i}: state = {nt.peers[id].state}"
        assert nt.peers[id].term == term, f"#{i}: term = {nt.peers[id].term}, want {term}"
        assert_raft_log(f"#{i}: ", nt.peers[id].raft_log, raft_logs[i])


def test_dueling_pre_candidates() -> None:
    a = new_test_raft_with_prevote(1, [1, 2, 3], 10, 1, new_storage(), True)
    b = new_test_raft_with_prevote(2, [1, 2, 3], 10, 1, new_storage(), True)
    c = new_test_raft_with_prevote(3, [1, 2, 3], 10, 1, new_storage(), True)

    config = Network.default_config()
    config.pre_vote = True
    nt = Network.new_with_config([a, b, c], config)
    nt.cut(1, 3)

    nt.send([new_message(1, 1, MessageType.MsgHup, 0)])
    nt.send([new_message(3, 3, MessageType.MsgHup, 0)])

    # Node 1 has its own vote and node 2's.
    assert nt.peers[1].state == StateRole.Leader
    # Node 3's pre-vote is rejected, so it falls back to follower.
    assert nt.peers[3].state == StateRole.Follower

    nt.recover()

    # With pre-vote, node 3's new campaign does not disrupt the leader.
    nt.send([new_message(3, 3, MessageType.MsgHup, 0)])

    expects = [(2, 1, 2), (2, 1, 2), (1, 1, 1)]  # (committed, applied, last index)
    tests = [
        (1, StateRole.Leader, 2),
        (2, StateRole.Follower, 2),
        (3, StateRole.Follower, 2),
    ]
    for i, (id, state, term) in enumerate(tests):
        assert nt.peers[id].state == state, f"#{i}: state = {nt.peers[id].state}"
        assert nt.peers[id].term == term, f"#{i}: term = {nt.peers[id].term}, want {term}"
        assert_raft_log(f"#{i}: ", nt.peers[id].raft_log, expects[i])


def test_candidate_concede() -> None:
    tt = Network.new([None, None, None])
    tt.isolate(1)

    tt.send([new_message(1, 1, MessageType.MsgHup, 0)])
    tt.send([new_message(3, 3, MessageType.MsgHup, 0)])

    # Heal the partition, then a heartbeat resumes the followers.
    tt.recover()
    tt.send([new_message(3, 3, MessageType.MsgBeat, 0)])

    # A proposal to node 3 sends an append to node 1.
    m = new_message(3, 3, MessageType.MsgPropose, 0)
    m.entries = [new_entry(0, 0, "force follower")]
    tt.send([m])
    # A heartbeat carries the commit index.
    tt.send([new_message(3, 3, MessageType.MsgBeat, 0)])

    assert tt.peers[1].state == StateRole.Follower
    assert tt.peers[1].term == 2

    for p in tt.peers.values():
        assert p.raft_log.committed == 3  # every entry is committed
        assert p.raft_log.applied == 1  # nothing applied beyond the initial snapshot
        assert p.raft_log.last_index() == 3


def test_single_node_candidate() -> None:
    tt = Network.new([None])
    tt.send([new_message(1, 1, MessageType.MsgHup, 0)])
    assert tt.peers[1].state == StateRole.Leader


def test_sinle_node_pre_candidate() -> None:
    config = Network.default_config()
    config.pre_vote = True
    tt = Network.new_with_config([None], config)
    tt.send([new_message(1, 1, MessageType.MsgHup, 0)])
    assert tt.peers[1].state == StateRole.Leader


def test_old_messages() -> None:
    tt = Network.new([None, None, None])
    # Node 1 leads at term 4 (terms 2, 3 and 4 were won by 1, 2 and 1).
    tt.send([new_message(1, 1, MessageType.MsgHup, 0)])
    tt.send([new_message(2, 2, MessageType.MsgHup, 0)])
    tt.send([new_message(1, 1, MessageType.MsgHup, 0)])
    # An append from a stale leader of term 2 is ignored.
    m = new_message(2, 1, MessageType.MsgAppend, 0)
    m.term = 2
    m.entries = [empty_entry(2, 3)]
    tt.send([m])
    # Commit a new entry.
    tt.send([new_message(1, 1, MessageType.MsgPropose, 1)])

    for p in tt.peers.values():
        raft = p.raft
        assert raft is not None
        assert raft.raft_log.committed == 5
        assert raft.raft_log.applied == 1
        assert raft.raft_log.last_index() == 5


def test_proposal() -> None:
    tests = [
        (Network.new([None, None, None]), True),
        (Network.new([None, None, NOP_STEPPER]), True),
        (Network.new([None, NOP_STEPPER, NOP_STEPPER]), False),
        (Network.new([None, NOP_STEPPER, NOP_STEPPER, None]), False),
        (Network.new([None, NOP_STEPPER, NOP_STEPPER, None, None]), True),
    ]
    for j, (nw, success) in enumerate(tests):

        def send(m: Message, nw: Network = nw, success: bool = success) -> None:
            # Without a quorum the proposal may fail; with one it must not.
            try:
                nw.send([m])
            except RaftPanic:
                assert not success

        # Node 1 campaigns, then proposes.
        send(new_message(1, 1, MessageType.MsgHup, 0))
        send(new_message(1, 1, MessageType.MsgPropose, 1))

        want_log = (3, 1, 3) if success else (1, 1, 1)  # (committed, applied, last)
        for p in nw.peers.values():
            if p.raft is not None:
                assert_raft_log(f"#{j}: ", p.raft.raft_log, want_log)
        assert nw.peers[1].term == 2, f"#{j}: term = {nw.peers[1].term}, want 2"


def test_proposal_by_proxy() -> None:
    tests = [
        Network.new([None, None, None]),
        Network.new([None, None, NOP_STEPPER]),
    ]
    for j, tt in enumerate(tests):
        # Node 1 becomes leader.
        tt.send([new_message(1, 1, MessageType.MsgHup, 0)])
        # A follower forwards a proposal to it.
        tt.send([new_message(2, 2, MessageType.MsgPropose, 1)])

        for p in tt.peers.values():
            if p.raft is None:
                continue
            assert_raft_log(f"#{j}: ", p.raft.raft_log, (3, 1, 3))
        assert tt.peers[1].term == 2, f"#{j}: term = {tt.peers[1].term}, want 2"


def test_commit() -> None:
    tests = [
        # (match index of each node, log entries, term, want commit)
        # single
        ([2], [empty_entry(2, 2)], 2, 2),
        # odd
        ([2, 1, 1], [empty_entry(2, 2)], 1, 1),
        ([2, 1, 1], [empty_entry(1, 2)], 2, 1),
        ([2, 1, 2], [empty_entry(2, 2)], 2, 2),
        ([2, 1, 2], [empty_entry(1, 2)], 2, 1),
        # even
        ([2, 1, 1, 1], [empty_entry(2, 2)], 1, 1),
        ([2, 1, 1, 1], [empty_entry(1, 2)], 2, 1),
        ([2, 1, 1, 2], [empty_entry(2, 2)], 1, 1),
        ([2, 1, 1, 2], [empty_entry(1, 2)], 2, 1),
        ([2, 1, 2, 2], [empty_entry(2, 2)], 2, 2),
        ([2, 1, 2, 2], [empty_entry(1, 2)], 2, 1),
    ]
    for i, (matches, logs, sm_term, w) in enumerate(tests):
        store = MemStorage.new_with_conf_state(ConfState([1], []))
        store.wl().append(logs)
        cfg = new_test_config(1, 10, 1)
        sm = new_test_raft_with_config(cfg, store)
        sm.raft_log.store.wl().set_hardstate(HardState(term=sm_term))
        sm.term = sm_term

        for j, v in enumerate(matches):
            id = j + 1
            pr = sm.mut_prs().get(id)
            if pr is not None:
                pr.matched = v
                pr.next_idx = v + 1
            else:
                sm.set_progress(id, v, v + 1, False)
        sm.maybe_commit()
        assert sm.raft_log.committed == w, f"#{i}: committed = {sm.raft_log.committed}, want {w}"


def test_pass_election_timeout() -> None:
    tests = [
        # (election elapsed, want probability, round to one decimal)
        (5, 0.0, False),
        (10, 0.1, True),
        (13, 0.4, True),
        (15, 0.6, True),
        (18, 0.9, True),
        (20, 1.0, False),
    ]
    for i, (elapse, wprobability, round_it) in enumerate(tests):
        sm = new_test_raft(1, [1], 10, 1, new_storage())
        sm.election_elapsed = elapse
        c = 0
        for _ in range(10_000):
            sm.reset_randomized_election_timeout()
            if sm.pass_election_timeout():
                c += 1
        got = c / 10_000
        if round_it:
            got = math.floor(got * 10 + 0.5) / 10
        assert abs(got - wprobability) <= 0.000_001, (
            f"#{i}: probability = {got}, want {wprobability}"
        )


# Handling an append, a follower:
# 1. rejects it when its log has no entry at the previous index with the previous term;
# 2. on a conflict (same index, different term) drops its entry and everything after it,
#    then appends the new entries it lacks;
# 3. advances its commit to min(leader commit, index of the last new entry).
def test_handle_msg_append() -> None:
    def nm(
        term: int,
        log_term: int,
        index: int,
        commit: int,
        ents: list[tuple[int, int]] | None,
    ) -> Message:
        m = Message(
            msg_type=MessageType.MsgAppend,
            term=term,
            log_term=log_term,
            index=index,
            commit=commit,
        )
        if ents is not None:
            m.entries = [empty_entry(t, i) for (i, t) in ents]
        return m

    tests = [
        # (message, want last index, want commit, want reject)
        # Rule 1
        (nm(2, 3, 3, 3, None), 3, 1, True),  # previous entry has another term
        (nm(2, 3, 4, 3, None), 3, 1, True),  # previous entry missing
        # Rule 2
        (nm(2, 1, 2, 2, None), 3, 2, False),
        (nm(2, 1, 1, 2, [(2, 2)]), 2, 2, False),
        (nm(2, 2, 3, 4, [(4, 2), (5, 2)]), 5, 4, False),
        (nm(2, 2, 3, 5, [(4, 2)]), 4, 4, False),
        (nm(2, 1, 2, 5, [(3, 2)]), 3, 3, False),
        # Rule 3
        (nm(1, 1, 2, 4, None), 3, 2, False),  # commit up to the matched entry
        (nm(1, 1, 2, 4, [(3, 2)]), 3, 3, False),  # commit up to the last new entry
        (nm(2, 2, 3, 4, None), 3, 3, False),  # commit up to the matched entry
        (nm(2, 2, 3, 5, None), 3, 3, False),  # commit up to the last index
    ]
    for j, (m, w_index, w_commit, w_reject) in enumerate(tests):
        sm = new_test_raft_with_logs(
            1, [1], 10, 1, MemStorage(), [empty_entry(1, 2), empty_entry(2, 3)]
        )
        sm.become_follower(2, INVALID_ID)
        sm.handle_append_entries(m)
        assert sm.raft_log.last_index() == w_index, (
            f"#{j}: last_index = {sm.raft_log.last_index()}, want {w_index}"
        )
        assert sm.raft_log.committed == w_commit, (
            f"#{j}: committed = {sm.raft_log.committed}, want {w_commit}"
        )
        msgs = read_messages(sm)
        assert len(msgs) == 1, f"#{j}: msg count = {len(msgs)}, want 1"
        assert msgs[0].reject == w_reject, f"#{j}: reject = {msgs[0].reject}, want {w_reject}"


# A follower commits to the commit index a heartbeat carries, never backwards.
def test_handle_heartbeat() -> None:
    commit = 2

    def nw(from_: int, to: int, term: int, commit: int) -> Message:
        m = new_message(from_, to, MessageType.MsgHeartbeat, 0)
        m.term = term
        m.commit = commit
        return m

    tests = [
        (nw(2, 1, 2, commit + 1), commit + 1),
        (nw(2, 1, 2, commit - 1), commit),  # commit never decreases
    ]
    for i, (m, w_commit) in enumerate(tests):
        store = MemStorage.new_with_conf_state(ConfState([1, 2], []))
        store.wl().append([empty_entry(1, 2), empty_entry(2, 3), empty_entry(3, 4)])
        cfg = new_test_config(1, 10, 1)
        sm = new_test_raft_with_config(cfg, store)
        sm.become_follower(2, 2)
        sm.raft_log.commit_to(commit)
        sm.handle_heartbeat(m)
        assert sm.raft_log.committed == w_commit, (
            f"#{i}: committed = {sm.raft_log.committed}, want {w_commit}"
        )
        msgs = read_messages(sm)
        assert len(msgs) == 1, f"#{i}: msg count = {len(msgs)}, want 1"
        assert msgs[0].msg_type == MessageType.MsgHeartbeatResponse, (
            f"#{i}: type = {msgs[0].msg_type.name}"
        )


# A leader re-sends entries when a heartbeat response shows the follower is behind.
def test_handle_heartbeat_resp() -> None:
    store = new_storage()
    store.wl().append([empty_entry(1, 1), empty_entry(2, 2), empty_entry(3, 3)])
    sm = new_test_raft(1, [1, 2], 5, 1, store)
    sm.become_candidate()
    sm.become_leader()
    sm.raft_log.commit_to(sm.raft_log.last_index())

    # A heartbeat response from a follower that is behind: an append goes out.
    sm.step(new_message(2, 0, MessageType.MsgHeartbeatResponse, 0))
    msgs = read_messages(sm)
    assert len(msgs) == 1
    assert msgs[0].msg_type == MessageType.MsgAppend

    # Another heartbeat response, another append.
    sm.step(new_message(2, 0, MessageType.MsgHeartbeatResponse, 0))
    msgs = read_messages(sm)
    assert len(msgs) == 1
    assert msgs[0].msg_type == MessageType.MsgAppend

    # Once the follower acknowledges the append, heartbeat responses send nothing.
    m = new_message(2, 0, MessageType.MsgAppendResponse, 0)
    m.index = msgs[0].index + len(msgs[0].entries)
    sm.step(m)
    # Drop whatever the append response itself caused.
    read_messages(sm)

    sm.step(new_message(2, 0, MessageType.MsgHeartbeatResponse, 0))
    assert read_messages(sm) == []


# A served read request leaves neither the read-index queue nor the pending map behind
# (etcd issue 7571).
def test_raft_frees_read_only_mem() -> None:
    sm = new_test_raft(1, [1, 2], 5, 1, new_storage())
    sm.become_candidate()
    sm.become_leader()
    sm.raft_log.commit_to(sm.raft_log.last_index())

    ctx = b"ctx"

    # The leader starts a linearizable read (Raft dissertation 6.4, step 2).
    m = new_message_with_entries(2, 1, MessageType.MsgReadIndex, [new_entry(0, 0, "ctx")])
    sm.step(m)
    msgs = read_messages(sm)
    assert len(msgs) == 1
    assert msgs[0].msg_type == MessageType.MsgHeartbeat
    assert msgs[0].context == ctx
    assert len(sm.read_only.read_index_queue) == 1
    assert len(sm.read_only.pending_read_index) == 1
    assert ctx in sm.read_only.pending_read_index

    # A quorum of heartbeat acks (here one follower) confirms the leadership (step 3).
    m = new_message(2, 1, MessageType.MsgHeartbeatResponse, 0)
    m.context = ctx
    sm.step(m)
    assert len(sm.read_only.read_index_queue) == 0
    assert len(sm.read_only.pending_read_index) == 0
    assert ctx not in sm.read_only.pending_read_index


# An append response takes the follower out of the wait (probe) state.
def test_msg_append_response_wait_reset() -> None:
    sm = new_test_raft(1, [1, 2, 3], 5, 1, new_storage())
    sm.become_candidate()
    sm.become_leader()

    # Drop the messages announcing the new leader's empty entry.
    sm.bcast_append()
    read_messages(sm)

    # Node 2 acknowledges the empty entry, which commits it.
    m = new_message(2, 0, MessageType.MsgAppendResponse, 0)
    m.index = 2
    sm.step(m)
    assert sm.raft_log.committed == 2
    # Drop the appends that carry the new commit index.
    read_messages(sm)

    # A new proposal on node 1.
    m = new_message(1, 0, MessageType.MsgPropose, 0)
    m.entries = [empty_entry(0, 0)]
    sm.step(m)

    # It goes only to node 2: node 3 is still waiting for an answer.
    msgs = read_messages(sm)
    assert len(msgs) == 1
    assert msgs[0].msg_type == MessageType.MsgAppend
    assert msgs[0].to == 2
    assert len(msgs[0].entries) == 1
    assert msgs[0].entries[0].index == 3

    # Node 3 answers; the wait ends and it gets entries from index 2 on.
    m = new_message(3, 0, MessageType.MsgAppendResponse, 0)
    m.index = 1
    sm.step(m)
    msgs = read_messages(sm)
    assert len(msgs) == 1
    assert msgs[0].msg_type == MessageType.MsgAppend
    assert msgs[0].to == 3
    assert len(msgs[0].entries) == 2
    assert msgs[0].entries[0].index == 2


def test_recv_msg_request_vote() -> None:
    _check_recv_msg_request_vote(MessageType.MsgRequestVote)


def _check_recv_msg_request_vote(msg_type: MessageType) -> None:
    tests = [
        # (role, candidate's last index, candidate's last term, voted for, want reject)
        (StateRole.Follower, 1, 1, INVALID_ID, True),
        (StateRole.Follower, 1, 2, INVALID_ID, True),
        (StateRole.Follower, 1, 3, INVALID_ID, False),
        (StateRole.Follower, 2, 1, INVALID_ID, True),
        (StateRole.Follower, 2, 2, INVALID_ID, True),
        (StateRole.Follower, 2, 3, INVALID_ID, False),
        (StateRole.Follower, 3, 1, INVALID_ID, True),
        (StateRole.Follower, 3, 2, INVALID_ID, False),
        (StateRole.Follower, 3, 3, INVALID_ID, False),
        (StateRole.Follower, 4, 1, INVALID_ID, True),
        (StateRole.Follower, 4, 2, INVALID_ID, False),
        (StateRole.Follower, 4, 3, INVALID_ID, False),
        (StateRole.Follower, 4, 2, 2, False),
        (StateRole.Follower, 4, 2, 1, True),
        (StateRole.Leader, 4, 3, 1, True),
        (StateRole.PreCandidate, 4, 3, 1, True),
        (StateRole.Candidate, 4, 3, 1, True),
    ]
    for j, (state, index, log_term, vote_for, w_reject) in enumerate(tests):
        store = MemStorage.new_with_conf_state(ConfState([1], []))
        store.wl().append([empty_entry(2, 2), empty_entry(2, 3)])
        sm = new_test_raft(1, [1], 10, 1, store)
        sm.state = state
        sm.vote = vote_for

        m = new_message(2, 0, msg_type, 0)
        m.index = index
        m.log_term = log_term
        # Both sides share the term: this checks how the logs compare and how an earlier
        # vote counts, not how a different term is handled.
        term = max(sm.raft_log.last_term(), log_term)
        m.term = term
        sm.term = term
        sm.step(m)

        msgs = read_messages(sm)
        assert len(msgs) == 1, f"#{j}: msgs count = {len(msgs)}, want 1"
        assert msgs[0].msg_type == vote_resp_msg_type(msg_type), (
            f"#{j}: m.type = {msgs[0].msg_type.name}"
        )
        assert msgs[0].reject == w_reject, f"#{j}: reject = {msgs[0].reject}, want {w_reject}"


def test_state_transition() -> None:
    tests = [
        # (from, to, want allowed, want term, want leader)
        (StateRole.Follower, StateRole.Follower, True, 1, INVALID_ID),
        (StateRole.Follower, StateRole.PreCandidate, True, 1, INVALID_ID),
        (StateRole.Follower, StateRole.Candidate, True, 2, INVALID_ID),
        (StateRole.Follower, StateRole.Leader, False, 1, INVALID_ID),
        (StateRole.PreCandidate, StateRole.Follower, True, 1, INVALID_ID),
        (StateRole.PreCandidate, StateRole.PreCandidate, True, 1, INVALID_ID),
        (StateRole.PreCandidate, StateRole.Candidate, True, 2, INVALID_ID),
        (StateRole.PreCandidate, StateRole.Leader, True, 1, 1),
        (StateRole.Candidate, StateRole.Follower, True, 1, INVALID_ID),
        (StateRole.Candidate, StateRole.PreCandidate, True, 1, INVALID_ID),
        (StateRole.Candidate, StateRole.Candidate, True, 2, INVALID_ID),
        (StateRole.Candidate, StateRole.Leader, True, 1, 1),
        (StateRole.Leader, StateRole.Follower, True, 1, INVALID_ID),
        (StateRole.Leader, StateRole.PreCandidate, False, 1, INVALID_ID),
        (StateRole.Leader, StateRole.Candidate, False, 1, INVALID_ID),
        (StateRole.Leader, StateRole.Leader, True, 1, 1),
    ]
    for i, (from_, to, wallow, wterm, wlead) in enumerate(tests):
        sm = new_test_raft(1, [1], 10, 1, new_storage())
        sm.state = from_

        allowed = True
        try:
            if to == StateRole.Follower:
                sm.become_follower(wterm, wlead)
            elif to == StateRole.PreCandidate:
                sm.become_pre_candidate()
            elif to == StateRole.Candidate:
                sm.become_candidate()
            else:
                sm.become_leader()
        except RaftPanic:
            allowed = False
        assert allowed == wallow, f"#{i}: allow = {allowed}, want {wallow}"
        if not allowed:
            continue

        assert sm.term == wterm, f"#{i}: term = {sm.term}, want {wterm}"
        assert sm.leader_id == wlead, f"#{i}: lead = {sm.leader_id}, want {wlead}"


def test_all_server_stepdown() -> None:
    tests = [
        # (role, want role, want term, want last index, want entry count)
        (StateRole.Follower, StateRole.Follower, 3, 1, 0),
        (StateRole.PreCandidate, StateRole.Follower, 3, 1, 0),
        (StateRole.Candidate, StateRole.Follower, 3, 1, 0),
        (StateRole.Leader, StateRole.Follower, 3, 2, 1),
    ]
    tmsg_types = [MessageType.MsgRequestVote, MessageType.MsgAppend]
    tterm = 3

    for i, (state, wstate, wterm, windex, entries) in enumerate(tests):
        sm = new_test_raft(1, [1, 2, 3], 10, 1, new_storage())
        if state == StateRole.Follower:
            sm.become_follower(1, INVALID_ID)
        elif state == StateRole.PreCandidate:
            sm.become_pre_candidate()
        elif state == StateRole.Candidate:
            sm.become_candidate()
        else:
            sm.become_candidate()
            sm.become_leader()

        for j, msg_type in enumerate(tmsg_types):
            m = new_message(2, 0, msg_type, 0)
            m.term = tterm
            m.log_term = tterm
            sm.step(m)

            assert sm.state == wstate, f"{i}.{j} state = {sm.state}, want {wstate}"
            assert sm.term == wterm, f"{i}.{j} term = {sm.term}, want {wterm}"
            assert sm.raft_log.last_index() == windex, (
                f"{i}.{j} index = {sm.raft_log.last_index()}, want {windex}"
            )
            entry_count = len(sm.raft_log.all_entries())
            assert entry_count == entries, f"{i}.{j} ents count = {entry_count}, want {entries}"
            # A vote request leaves the leader unknown; an append names its sender.
            wlead = INVALID_ID if msg_type == MessageType.MsgRequestVote else 2
            assert sm.leader_id == wlead, f"{i}.{j} lead = {sm.leader_id}, want {wlead}"


def test_candidate_reset_term_msg_heartbeat() -> None:
    _check_candidate_reset_term(MessageType.MsgHeartbeat)


def test_candidate_reset_term_msg_append() -> None:
    _check_candidate_reset_term(MessageType.MsgAppend)


# A candidate receiving a heartbeat or append from the leader of its term takes the
# leader's term and becomes a follower.
def _check_candidate_reset_term(message_type: MessageType) -> None:
    a = new_test_raft(1, [1, 2, 3], 10, 1, new_storage())
    b = new_test_raft(2, [1, 2, 3], 10, 1, new_storage())
    c = new_test_raft(3, [1, 2, 3], 10, 1, new_storage())

    nt = Network.new([a, b, c])
    nt.send([new_message(1, 1, MessageType.MsgHup, 0)])
    assert nt.peers[1].state == StateRole.Leader
    assert nt.peers[2].state == StateRole.Follower
    assert nt.peers[3].state == StateRole.Follower

    # Isolate node 3 and raise the term of the others.
    nt.isolate(3)
    nt.send([new_message(2, 2, MessageType.MsgHup, 0)])
    nt.send([new_message(1, 1, MessageType.MsgHup, 0)])
    assert nt.peers[1].state == StateRole.Leader
    assert nt.peers[2].state == StateRole.Follower
    assert nt.peers[3].state == StateRole.Follower

    # The isolated node 3 times out and campaigns.
    nt.peers[3].reset_randomized_election_timeout()
    timeout = nt.peers[3].randomized_election_timeout
    for _ in range(timeout):
        nt.peers[3].tick()
    assert nt.peers[3].state == StateRole.Candidate

    nt.recover()

    # The leader's message turns the candidate back into a follower...
    msg = new_message(1, 3, message_type, 0)
    msg.term = nt.peers[1].term
    nt.send([msg])
    assert nt.peers[3].state == StateRole.Follower

    # ... at the leader's term.
    assert nt.peers[3].term == nt.peers[1].term, (
        f"follower term {nt.peers[3].term}, want the leader's {nt.peers[1].term}"
    )


# --- Check quorum --------------------------------------------------------------------------


def test_leader_stepdown_when_quorum_active() -> None:
    sm = new_test_raft(1, [1, 2, 3], 5, 1, new_storage())
    sm.check_quorum = True
    sm.become_candidate()
    sm.become_leader()

    for _ in range(sm.election_timeout + 1):
        m = new_message(2, 0, MessageType.MsgHeartbeatResponse, 0)
        m.term = sm.term
        sm.step(m)
        sm.tick()

    assert sm.state == StateRole.Leader


def test_leader_stepdown_when_quorum_lost() -> None:
    sm = new_test_raft(1, [1, 2, 3], 5, 1, new_storage())
    sm.check_quorum = True
    sm.become_candidate()
    sm.become_leader()

    for _ in range(sm.election_timeout + 1):
        sm.tick()

    assert sm.state == StateRole.Follower


def _three_nodes_with_check_quorum() -> Network:
    nodes = [new_test_raft(id, [1, 2, 3], 10, 1, new_storage()) for id in (1, 2, 3)]
    for node in nodes:
        node.check_quorum = True
    return Network.new(nodes)


def _let_election_elapse(nt: Network, id: int) -> None:
    """Tick node `id` for a full election timeout without letting it campaign.

    Its randomized timeout is set above the election timeout, so afterwards the node is
    out of its leader lease but has not started an election.
    """
    timeout = nt.peers[id].election_timeout
    nt.peers[id].set_randomized_election_timeout(timeout + 1)
    for _ in range(timeout):
        nt.peers[id].tick()


def test_leader_superseding_with_check_quorum() -> None:
    nt = _three_nodes_with_check_quorum()
    b_election_timeout = nt.peers[2].election_timeout

    # Keep b from campaigning.
    _let_election_elapse(nt, 2)
    nt.send([new_message(1, 1, MessageType.MsgHup, 0)])

    assert nt.peers[1].state == StateRole.Leader
    assert nt.peers[3].state == StateRole.Follower

    nt.send([new_message(3, 3, MessageType.MsgHup, 0)])

    # b rejects c's vote: its election timeout has not elapsed since hearing the leader.
    assert nt.peers[3].state == StateRole.Candidate

    # Let b's election timeout elapse.
    for _ in range(b_election_timeout):
        nt.peers[2].tick()
    nt.send([new_message(3, 3, MessageType.MsgHup, 0)])
    assert nt.peers[3].state == StateRole.Leader


def test_leader_election_with_check_quorum() -> None:
    nt = _three_nodes_with_check_quorum()

    # Fix the randomized timeouts above the election timeout so that the test does not
    # depend on the random draw.
    a_election_timeout = nt.peers[1].election_timeout
    b_election_timeout = nt.peers[2].election_timeout
    nt.peers[1].set_randomized_election_timeout(a_election_timeout + 1)
    nt.peers[2].set_randomized_election_timeout(b_election_timeout + 2)

    # Right after creation votes are granted whatever the election timeout.
    nt.send([new_message(1, 1, MessageType.MsgHup, 0)])
    assert nt.peers[1].state == StateRole.Leader
    assert nt.peers[3].state == StateRole.Follower

    # The role changes reset the randomized timeouts: fix them again.
    a_election_timeout = nt.peers[1].election_timeout
    b_election_timeout = nt.peers[2].election_timeout
    nt.peers[1].set_randomized_election_timeout(a_election_timeout + 1)
    nt.peers[2].set_randomized_election_timeout(b_election_timeout + 2)

    for _ in range(a_election_timeout):
        nt.peers[1].tick()
    for _ in range(b_election_timeout):
        nt.peers[2].tick()
    nt.send([new_message(3, 3, MessageType.MsgHup, 0)])

    assert nt.peers[1].state == StateRole.Follower
    assert nt.peers[3].state == StateRole.Leader


# A candidate at a higher term can disrupt a leader that still holds its lease: the leader
# steps down and takes the candidate's term, which frees the stuck candidate.
def test_free_stuck_candidate_with_check_quorum() -> None:
    nt = _three_nodes_with_check_quorum()

    _let_election_elapse(nt, 2)
    nt.send([new_message(1, 1, MessageType.MsgHup, 0)])
    nt.isolate(1)
    nt.send([new_message(3, 3, MessageType.MsgHup, 0)])

    assert nt.peers[2].state == StateRole.Follower
    assert nt.peers[3].state == StateRole.Candidate
    assert nt.peers[3].term == nt.peers[2].term + 1

    # Campaign again.
    nt.send([new_message(3, 3, MessageType.MsgHup, 0)])

    assert nt.peers[2].state == StateRole.Follower
    assert nt.peers[3].state == StateRole.Candidate
    assert nt.peers[3].term == nt.peers[2].term + 2

    nt.recover()
    msg = new_message(1, 3, MessageType.MsgHeartbeat, 0)
    msg.term = nt.peers[1].term
    nt.send([msg])

    # The leader is disrupted and the stuck candidate freed.
    assert nt.peers[1].state == StateRole.Follower
    assert nt.peers[3].term == nt.peers[1].term

    # This campaign wins.
    nt.send([new_message(3, 3, MessageType.MsgHup, 0)])
    assert nt.peers[3].state == StateRole.Leader


def test_non_promotable_voter_which_check_quorum() -> None:
    a = new_test_raft(1, [1, 2], 10, 1, new_storage())
    b = new_test_raft(2, [1], 10, 1, new_storage())
    a.check_quorum = True
    b.check_quorum = True

    nt = Network.new([a, b])

    b_election_timeout = nt.peers[2].election_timeout
    nt.peers[2].set_randomized_election_timeout(b_election_timeout + 1)

    # Building the network reset some state: remove node 2 from its own progress set
    # again so that it cannot be promoted.
    nt.peers[2].mut_prs().remove(2)
    assert not nt.peers[2].promotable()

    for _ in range(b_election_timeout):
        nt.peers[2].tick()
    nt.send([new_message(1, 1, MessageType.MsgHup, 0)])

    assert nt.peers[1].state == StateRole.Leader
    assert nt.peers[2].state == StateRole.Follower
    assert nt.peers[2].leader_id == 1


def _three_followers_with_check_quorum(pre_vote: bool) -> Network:
    nodes = [
        new_test_raft_with_prevote(id, [1, 2, 3], 10, 1, new_storage(), pre_vote)
        for id in (1, 2, 3)
    ]
    for node in nodes:
        node.check_quorum = True
        node.become_follower(1, INVALID_ID)
    return Network.new(nodes)


# An isolated follower whose leader's messages are late times out and campaigns at a
# higher term; its answer to the late heartbeat then makes the leader step down.
def test_disruptive_follower() -> None:
    nt = _three_followers_with_check_quorum(pre_vote=False)
    nt.send([new_message(1, 1, MessageType.MsgHup, 0)])

    assert nt.peers[1].state == StateRole.Leader
    assert nt.peers[2].state == StateRole.Follower
    assert nt.peers[3].state == StateRole.Follower

    # Ticks elapse on n3 while the leader's messages are delayed (etcd's
    # "advanceTicksForElection" on restart has the same effect).
    timeout = nt.peers[3].election_timeout
    nt.peers[3].set_randomized_election_timeout(timeout + 2)
    timeout = nt.peers[3].randomized_election_timeout
    for _ in range(timeout - 1):
        nt.peers[3].tick()

    # The last tick elapses before any message from the leader arrives: n3 campaigns.
    nt.peers[3].tick()

    # n1 still leads; its heartbeat to n3 is delayed.
    assert nt.peers[1].state == StateRole.Leader
    assert nt.peers[2].state == StateRole.Follower
    assert nt.peers[3].state == StateRole.Candidate
    assert nt.peers[1].term == 2
    assert nt.peers[2].term == 2
    assert nt.peers[3].term == 3

    # The delayed heartbeat arrives at n3 with a term below n3's.
    msg = new_message(1, 3, MessageType.MsgHeartbeat, 0)
    msg.term = nt.peers[1].term
    nt.send([msg])

    # n3 answers with an append response at its higher term and the leader steps down,
    # so that a later election can free n3.
    assert nt.peers[1].state == StateRole.Follower
    assert nt.peers[2].state == StateRole.Follower
    assert nt.peers[3].state == StateRole.Candidate
    assert nt.peers[1].term == 3
    assert nt.peers[2].term == 2
    assert nt.peers[3].term == 3


# With pre-vote, an isolated follower with a shorter log only becomes a pre-candidate, and
# the leader is not disrupted.
def test_disruptive_follower_pre_vote() -> None:
    nt = _three_followers_with_check_quorum(pre_vote=True)
    nt.send([new_message(1, 1, MessageType.MsgHup, 0)])

    assert nt.peers[1].state == StateRole.Leader
    assert nt.peers[2].state == StateRole.Follower
    assert nt.peers[3].state == StateRole.Follower

    nt.isolate(3)
    nt.send([new_message(1, 1, MessageType.MsgPropose, 1)])
    nt.send([new_message(1, 1, MessageType.MsgPropose, 1)])
    nt.send([new_message(1, 1, MessageType.MsgPropose, 1)])

    nt.recover()
    nt.send([new_message(3, 3, MessageType.MsgHup, 0)])

    assert nt.peers[1].state == StateRole.Leader
    assert nt.peers[2].state == StateRole.Follower
    assert nt.peers[3].state == StateRole.PreCandidate
    assert nt.peers[1].term == 2
    assert nt.peers[2].term == 2
    assert nt.peers[3].term == 2

    # The delayed heartbeat does not make the leader step down.
    msg = new_message(1, 3, MessageType.MsgHeartbeat, 0)
    msg.term = nt.peers[1].term
    nt.send([msg])
    assert nt.peers[1].state == StateRole.Leader


# --- Read-only requests --------------------------------------------------------------------


def test_read_only_option_safe() -> None:
    a = new_test_raft(1, [1, 2, 3], 10, 1, new_storage())
    b = new_test_raft(2, [1, 2, 3], 10, 1, new_storage())
    c = new_test_raft(3, [1, 2, 3], 10, 1, new_storage())
    nt = Network.new([a, b, c])

    # Keep b from campaigning, independently of the random draw.
    _let_election_elapse(nt, 2)
    nt.send([new_message(1, 1, MessageType.MsgHup, 0)])
    assert nt.peers[1].state == StateRole.Leader

    tests = [
        # (node asked, proposals first, want read index, contexts, held pending)
        (1, 10, 12, ["ctx1", "ctx11"], False),
        (2, 10, 22, ["ctx2", "ctx22"], False),
        (3, 10, 32, ["ctx3", "ctx33"], False),
        (1, 10, 42, ["ctx4", "ctx44"], True),
        (2, 10, 52, ["ctx5", "ctx55"], True),
        (3, 10, 62, ["ctx6", "ctx66"], True),
    ]
    for i, (id, proposals, wri, wctx, pending) in enumerate(tests):
        for _ in range(proposals):
            nt.send([new_message(1, 1, MessageType.MsgPropose, 1)])

        msg1 = new_message_with_entries(
            id, id, MessageType.MsgReadIndex, [new_entry(0, 0, wctx[0])]
        )
        msg2 = new_message_with_entries(
            id, id, MessageType.MsgReadIndex, [new_entry(0, 0, wctx[1])]
        )

        if pending:
            # Without heartbeat responses the requests cannot pass the quorum check and
            # stay queued.
            nt.ignore(MessageType.MsgHeartbeatResponse)
            nt.send([_clone(msg1), _clone(msg1), _clone(msg2)])
            nt.recover()
            # A request with the last context makes the leader serve the queued ones.
            nt.send([_clone(msg2)])
        else:
            nt.send([_clone(msg1), _clone(msg1), _clone(msg2)])

        read_states = _drain_read_states(nt.peers[id])
        assert read_states, f"#{i}: read_states is empty, want non-empty"
        assert len(read_states) == len(wctx)
        for rs, ctx in zip(read_states, wctx, strict=True):
            assert rs.index == wri, f"#{i}: read_index = {rs.index}, want {wri}"
            assert rs.request_ctx == ctx.encode(), (
                f"#{i}: request_ctx = {rs.request_ctx!r}, want {ctx!r}"
            )


def test_read_only_with_learner() -> None:
    a = new_test_learner_raft(1, [1], [2], 10, 1, new_storage())
    b = new_test_learner_raft(2, [1], [2], 10, 1, new_storage())
    nt = Network.new([a, b])

    _let_election_elapse(nt, 2)
    nt.send([new_message(1, 1, MessageType.MsgHup, 0)])

    assert nt.peers[1].state == StateRole.Leader
    assert nt.peers[2].state == StateRole.Follower

    tests = [
        # (node asked, proposals first, want read index, context)
        (1, 10, 12, "ctx1"),
        (2, 10, 22, "ctx2"),
        (1, 10, 32, "ctx3"),
        (2, 10, 42, "ctx4"),
    ]
    _check_read_indexes(nt, tests)


def test_read_only_option_lease() -> None:
    nodes = [new_test_raft(id, [1, 2, 3], 10, 1, new_storage()) for id in (1, 2, 3)]
    for node in nodes:
        node.read_only.option = ReadOnlyOption.LeaseBased
        node.check_quorum = True
    nt = Network.new(nodes)

    _let_election_elapse(nt, 2)
    nt.send([new_message(1, 1, MessageType.MsgHup, 0)])
    assert nt.peers[1].state == StateRole.Leader

    tests = [
        # (node asked, proposals first, want read index, context)
        (1, 10, 12, "ctx1"),
        (2, 10, 22, "ctx2"),
        (3, 10, 32, "ctx3"),
        (1, 10, 42, "ctx4"),
        (2, 10, 52, "ctx5"),
        (3, 10, 62, "ctx6"),
    ]
    _check_read_indexes(nt, tests)


def test_read_only_option_lease_without_check_quorum() -> None:
    nodes = [new_test_raft(id, [1, 2, 3], 10, 1, new_storage()) for id in (1, 2, 3)]
    for node in nodes:
        node.read_only.option = ReadOnlyOption.LeaseBased
    nt = Network.new(nodes)
    nt.send([new_message(1, 1, MessageType.MsgHup, 0)])

    ctx = "ctx1"
    e = new_entry(0, 0, ctx)
    nt.send([new_message_with_entries(2, 2, MessageType.MsgReadIndex, [e])])

    read_states = nt.peers[2].read_states
    assert read_states
    rs = read_states[0]
    assert rs.index == 2
    assert rs.request_ctx == ctx.encode()


# A leader accepts read requests only once it has committed an entry of its own term.
def test_read_only_for_new_leader() -> None:
    heartbeat_ticks = 1
    node_configs = [
        # (id, committed, applied, compact index)
        (1, 2, 2, 1),
        (2, 3, 3, 3),
        (3, 3, 3, 3),
    ]
    peers = []
    for id, committed, applied, compact_index in node_configs:
        cfg = new_test_config(id, 10, heartbeat_ticks)
        cfg.applied = applied
        storage = MemStorage.new_with_conf_state(ConfState([1, 2, 3], []))
        storage.wl().append([empty_entry(1, 2), empty_entry(1, 3)])
        storage.wl().set_hardstate(HardState(term=1, commit=committed))
        if compact_index != 0:
            storage.wl().compact(compact_index)
        peers.append(new_test_raft_with_config(cfg, storage))
    nt = Network.new(peers)

    # Drop appends so that node 1 cannot commit an entry of its term once it leads.
    nt.ignore(MessageType.MsgAppend)
    nt.send([new_message(1, 1, MessageType.MsgHup, 0)])
    assert nt.peers[1].state == StateRole.Leader

    # The read request is dropped.
    windex = 5
    wctx = "ctx"
    nt.send([new_message_with_entries(1, 1, MessageType.MsgReadIndex, [new_entry(0, 0, wctx)])])
    assert len(nt.peers[1].read_states) == 0

    nt.recover()

    # Node 1 commits an entry of its term.
    for _ in range(heartbeat_ticks):
        nt.peers[1].tick()
    nt.send([new_message(1, 1, MessageType.MsgPropose, 1)])
    leader = nt.peers[1]
    assert leader.raft_log.committed == 5
    assert leader.raft_log.term(leader.raft_log.committed) == leader.term

    # Now the read request is served.
    nt.send([new_message_with_entries(1, 1, MessageType.MsgReadIndex, [new_entry(0, 0, wctx)])])
    read_states = _drain_read_states(nt.peers[1])
    assert len(read_states) == 1
    rs = read_states[0]
    assert rs.index == windex
    assert rs.request_ctx == wctx.encode()


# --- Leader bookkeeping --------------------------------------------------------------------


def test_leader_append_response() -> None:
    # Followers start with match 0 and next 4.
    tests = [
        # (index, reject, want match, want next, want msg count, want msg index,
        #  want msg commit)
        # A stale response: nothing is sent.
        (4, True, 0, 4, 0, 0, 0),
        # A rejection: next decreases and a probe goes out.
        (3, True, 0, 3, 1, 2, 1),
        # An acceptance: the leader commits 3 and broadcasts the commit index.
        (3, False, 3, 5, 2, 3, 3),
        (0, False, 0, 4, 0, 0, 0),
    ]
    for i, (index, reject, wmatch, wnext, wmsg_num, windex, wcommitted) in enumerate(tests):
        # The log: last index 3, committed 1.
        store = MemStorage.new_with_conf_state(ConfState([1, 2, 3], []))
        store.wl().append([empty_entry(1, 2), empty_entry(2, 3)])
        sm = new_test_raft(1, [1, 2, 3], 10, 1, store)

        # Leading at term 2.
        sm.become_candidate()
        sm.become_leader()
        read_messages(sm)

        m = new_message(2, 0, MessageType.MsgAppendResponse, 0)
        m.index = index
        m.term = sm.term
        m.reject = reject
        m.reject_hint = index
        sm.step(m)

        pr = sm.prs().get(2)
        assert pr.matched == wmatch, f"#{i}: match = {pr.matched}, want {wmatch}"
        assert pr.next_idx == wnext, f"#{i}: next = {pr.next_idx}, want {wnext}"

        msgs = read_messages(sm)
        assert len(msgs) == wmsg_num, f"#{i}: msg_num = {len(msgs)}, want {wmsg_num}"
        for j, msg in enumerate(msgs):
            assert msg.index == windex, f"#{i}.{j}: index = {msg.index}, want {windex}"
            assert msg.commit == wcommitted, f"#{i}.{j}: commit = {msg.commit}, want {wcommitted}"


# On a heartbeat tick the leader sends heartbeats: no entries, index 0, log term 0, and
# commit = min(committed, the follower's match).
def test_bcast_beat() -> None:
    store = new_storage()
    sm = new_test_raft(1, [1, 2, 3], 10, 1, store)

    # Move the log to start after a snapshot at index 1000.
    offset = 1000
    s = new_snapshot(offset, 1, [1, 2, 3])
    sm.restore(s)
    sm.raft_log.store.wl().apply_snapshot(s)

    sm.become_candidate()
    sm.become_leader()
    for i in range(10):
        sm.append_entry([empty_entry(0, i + 1)])

    def set_progress(node: int, matched: int, next_idx: int) -> None:
        pr = sm.mut_prs().get(node)
        pr.matched = matched
        pr.next_idx = next_idx

    # A slow follower...
    set_progress(2, 5, 6)
    # ... and one that is up to date.
    last_index = sm.raft_log.last_index()
    set_progress(3, last_index, last_index + 1)

    sm.step(new_message(0, 0, MessageType.MsgBeat, 0))
    msgs = read_messages(sm)
    assert len(msgs) == 2

    want_commit_map = {
        2: min(sm.raft_log.committed, sm.prs().get(2).matched),
        3: min(sm.raft_log.committed, sm.prs().get(3).matched),
    }
    for i, m in enumerate(msgs):
        assert m.msg_type == MessageType.MsgHeartbeat, f"#{i}: type = {m.msg_type.name}"
        assert m.index == 0, f"#{i}: prev_index = {m.index}, want 0"
        assert m.log_term == 0, f"#{i}: prev_term = {m.log_term}, want 0"
        assert want_commit_map.get(m.to, 0) != 0, f"#{i}: unexpected to {m.to}"
        assert m.commit == want_commit_map[m.to], (
            f"#{i}: commit = {m.commit}, want {want_commit_map[m.to]}"
        )
        del want_commit_map[m.to]
        assert not m.entries, f"#{i}: entries count = {len(m.entries)}, want 0"


# Only a leader answers MsgBeat.
def test_recv_msg_beat() -> None:
    tests = [
        (StateRole.Leader, 2),
        # Candidates and followers ignore it.
        (StateRole.Candidate, 0),
        (StateRole.Follower, 0),
    ]
    for i, (state, w_msg) in enumerate(tests):
        store = MemStorage.new_with_conf_state(ConfState([1, 2, 3], []))
        store.wl().append([empty_entry(1, 2), empty_entry(1, 3)])
        sm = new_test_raft(1, [1, 2, 3], 10, 1, store)
        sm.state = state
        sm.step(new_message(1, 1, MessageType.MsgBeat, 0))

        msgs = read_messages(sm)
        assert len(msgs) == w_msg, f"#{i}: msg count = {len(msgs)}, want {w_msg}"
        for m in msgs:
            assert m.msg_type == MessageType.MsgHeartbeat, f"#{i}: type = {m.msg_type.name}"


def test_leader_increase_next() -> None:
    previous_ents = [empty_entry(1, 2), empty_entry(1, 3), empty_entry(1, 4)]
    tests = [
        # Replicate: next advances optimistically past the previous entries, the empty
        # entry and the proposal.
        (ProgressState.Replicate, 2, len(previous_ents) + 1 + 1 + 2),
        # Probe: next stays.
        (ProgressState.Probe, 2, 2),
    ]
    for i, (state, next_idx, wnext) in enumerate(tests):
        sm = new_test_raft(1, [1, 2], 10, 1, new_storage())
        sm.raft_log.append(previous_ents)
        sm.become_candidate()
        sm.become_leader()
        sm.mut_prs().get(2).state = state
        sm.mut_prs().get(2).next_idx = next_idx
        sm.step(new_message(1, 1, MessageType.MsgPropose, 1))

        got = sm.prs().get(2).next_idx
        assert got == wnext, f"#{i}: next = {got}, want {wnext}"
