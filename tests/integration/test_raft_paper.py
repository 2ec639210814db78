"""raft-rs `harness/tests/integration_cases/test_raft_paper.rs`, ported.

Each test checks one statement of the Raft paper (section numbers in the docstrings)
against a single node driven by hand, or a small `Network`.
"""

from __future__ import annotations

from raft_ref.eraftpb import ConfState, Entry, Message, MessageType
from raft_ref.raft import INVALID_ID, StateRole
from raft_ref.storage import MemStorage
from tests.harness import Interface, Network
from tests.test_util import (
    NOP_STEPPER,
    SOME_DATA,
    empty_entry,
    hard_state,
    ltoa,
    new_entry,
    new_message,
    new_storage,
    new_test_config,
    new_test_raft,
    new_test_raft_with_config,
)


def commit_noop_entry(r: Interface, s: MemStorage) -> None:
    """Have every follower acknowledge the new leader's empty entry, then persist and
    apply everything, so that later proposals start from a clean, committed log."""
    assert r.state == StateRole.Leader
    r.bcast_append()
    for m in r.read_messages():
        assert m.msg_type == MessageType.MsgAppend
        assert len(m.entries) == 1
        assert m.entries[0].data == b""
        r.step(accept_and_reply(m))
    # The commit broadcast that follows is not needed here.
    r.read_messages()
    s.wl().append(r.raft_log.unstable_entries() or [])
    r.commit_apply(r.raft_log.committed)
    r.raft_log.stable_to(r.raft_log.last_index(), r.raft_log.last_term())


def accept_and_reply(m: Message) -> Message:
    """The append response a follower that accepts every entry of `m` would send."""
    assert m.msg_type == MessageType.MsgAppend
    reply = new_message(m.to, m.from_, MessageType.MsgAppendResponse, 0)
    reply.term = m.term
    reply.index = m.index + len(m.entries)
    return reply


def sorted_by_debug(msgs: list[Message]) -> list[Message]:
    # raft-rs sorts by the Debug text of each message; repr plays that part here.
    return sorted(msgs, key=repr)


def new_raft_with_entries(id: int, voters: list[int], ents: list[Entry]) -> Interface:
    """Node `id` of a cluster of `voters` whose storage already holds `ents`."""
    store = MemStorage.new_with_conf_state(ConfState(list(voters), []))
    store.wl().append(ents)
    return new_test_raft_with_config(new_test_config(id, 10, 1), store)


def test_follower_update_term_from_message() -> None:
    check_update_term_from_message(StateRole.Follower)


def test_candidate_update_term_from_message() -> None:
    check_update_term_from_message(StateRole.Candidate)


def test_leader_update_term_from_message() -> None:
    check_update_term_from_message(StateRole.Leader)


def check_update_term_from_message(state: StateRole) -> None:
    """A server seeing a larger term adopts it; a candidate or leader that learns its
    term is stale reverts to follower (section 5.1)."""
    r = new_test_raft(1, [1, 2, 3], 10, 1, new_storage())
    if state == StateRole.Follower:
        r.become_follower(1, 2)
    elif state == StateRole.PreCandidate:
        r.become_pre_candidate()
    elif state == StateRole.Candidate:
        r.become_candidate()
    else:
        r.become_candidate()
        r.become_leader()

    m = new_message(0, 0, MessageType.MsgAppend, 0)
    m.term = 3
    r.step(m)

    assert r.term == 3
    assert r.state == StateRole.Follower


def test_start_as_follower() -> None:
    """Servers start as followers (section 5.2)."""
    r = new_test_raft(1, [1, 2, 3], 10, 1, new_storage())
    assert r.state == StateRole.Follower


def test_leader_bcast_beat() -> None:
    """On a heartbeat tick the leader sends an empty heartbeat to every follower
    (section 5.2)."""
    hi = 1  # heartbeat interval
    r = new_test_raft(1, [1, 2, 3], 10, hi, new_storage())
    r.become_candidate()
    r.become_leader()
    for i in range(10):
        r.append_entry([empty_entry(0, i + 1)])

    for _ in range(hi):
        r.tick()

    msgs = sorted_by_debug(r.read_messages())

    def heartbeat(from_: int, to: int) -> Message:
        m = new_message(from_, to, MessageType.MsgHeartbeat, 0)
        m.term = 2
        m.commit = 0
        return m

    assert msgs == [heartbeat(1, 2), heartbeat(1, 3)]


def test_follower_start_election() -> None:
    check_nonleader_start_election(StateRole.Follower)


def test_candidate_start_new_election() -> None:
    check_nonleader_start_election(StateRole.Candidate)


def check_nonleader_start_election(state: StateRole) -> None:
    """A follower hearing nothing for an election timeout, or a candidate failing to
    win in one, starts an election: next term, votes for itself, asks every other
    server for its vote (section 5.2)."""
    et = 10  # election timeout
    r = new_test_raft(1, [1, 2, 3], et, 1, new_storage())
    if state == StateRole.Follower:
        r.become_follower(2, 2)
    elif state == StateRole.Candidate:
        r.become_candidate()
    else:
        raise AssertionError("only a non-leader role is accepted")

    for _ in range(1, 2 * et):
        r.tick()

    assert r.term == 3
    assert r.state == StateRole.Candidate
    assert r.votes[r.id]
    msgs = sorted_by_debug(r.read_messages())

    def vote_request(from_: int, to: int) -> Message:
        m = new_message(from_, to, MessageType.MsgRequestVote, 0)
        m.term = 3
        m.log_term = 1
        m.index = 1
        return m

    assert msgs == [vote_request(1, 2), vote_request(1, 3)]


def test_leader_election_in_one_round_rpc() -> None:
    """One round of RequestVote: the candidate wins, loses, or stays undecided
    (section 5.2)."""
    tests: list[tuple[int, dict[int, bool], StateRole]] = [
        # a majority of votes wins the election
        (1, {}, StateRole.Leader),
        (3, {2: True, 3: True}, StateRole.Leader),
        (3, {2: True}, StateRole.Leader),
        (5, {2: True, 3: True, 4: True, 5: True}, StateRole.Leader),
        (5, {2: True, 3: True, 4: True}, StateRole.Leader),
        (5, {2: True, 3: True}, StateRole.Leader),
        # a majority of denials sends the candidate back to follower
        (3, {2: False, 3: False}, StateRole.Follower),
        (5, {2: False, 3: False, 4: False, 5: False}, StateRole.Follower),
        (5, {2: True, 3: False, 4: False, 5: False}, StateRole.Follower),
        # neither: it stays a candidate
        (3, {}, StateRole.Candidate),
        (5, {2: True}, StateRole.Candidate),
        (5, {2: False, 3: False}, StateRole.Candidate),
        (5, {}, StateRole.Candidate),
    ]
    for i, (size, votes, state) in enumerate(tests):
        r = new_test_raft(1, list(range(1, size + 1)), 10, 1, new_storage())

        r.step(new_message(1, 1, MessageType.MsgHup, 0))
        for id, vote in votes.items():
            m = new_message(id, 1, MessageType.MsgRequestVoteResponse, 0)
            m.term = r.term
            m.reject = not vote
            r.step(m)

        assert r.state == state, f"#{i}: state = {r.state}, want {state}"
        assert r.term == 2, f"#{i}: term = {r.term}, want 2"


def test_follower_vote() -> None:
    """A follower votes for at most one candidate per term, first come first served
    (section 5.2)."""
    tests = [
        (INVALID_ID, 1, False),
        (INVALID_ID, 2, False),
        (1, 1, False),
        (2, 2, False),
        (1, 2, True),
        (2, 1, True),
    ]
    for i, (vote, nvote, wreject) in enumerate(tests):
        r = new_test_raft(1, [1, 2, 3], 10, 1, new_storage())
        r.load_state(hard_state(1, 1, vote))

        m = new_message(nvote, 1, MessageType.MsgRequestVote, 0)
        m.term = 1
        m.log_term = 1
        m.index = 1
        r.step(m)

        msgs = r.read_messages()
        want = new_message(1, nvote, MessageType.MsgRequestVoteResponse, 0)
        want.term = 1
        want.reject = wreject
        assert msgs == [want], f"#{i}: msgs = {msgs}, want {[want]}"


def test_candidate_fallback() -> None:
    """A candidate receiving an append from a leader of at least its term recognises
    that leader and becomes a follower (section 5.2)."""

    def append(from_: int, to: int, term: int) -> Message:
        m = new_message(from_, to, MessageType.MsgAppend, 0)
        m.term = term
        return m

    for i, m in enumerate([append(2, 1, 2), append(2, 1, 3)]):
        r = new_test_raft(1, [1, 2, 3], 10, 1, new_storage())
        r.step(new_message(1, 1, MessageType.MsgHup, 0))
        assert r.state == StateRole.Candidate

        term = m.term
        r.step(m)

        assert r.state == StateRole.Follower, f"#{i}: state = {r.state}, want Follower"
        assert r.term == term, f"#{i}: term = {r.term}, want {term}"


def test_follower_election_timeout_randomized() -> None:
    check_non_leader_election_timeout_randomized(StateRole.Follower)


def test_candidate_election_timeout_randomized() -> None:
    check_non_leader_election_timeout_randomized(StateRole.Candidate)


def check_non_leader_election_timeout_randomized(state: StateRole) -> None:
    """Election timeouts of followers and candidates are randomized (section 5.2)."""
    et = 10
    r = new_test_raft(1, [1, 2, 3], et, 1, new_storage())
    timeouts: set[int] = set()
    for _ in range(1000 * et):
        term = r.term
        if state == StateRole.Follower:
            r.become_follower(term + 1, 2)
        elif state == StateRole.Candidate:
            r.become_candidate()
        else:
            raise AssertionError("only a non-leader role is accepted")

        time = 0
        while not r.read_messages():
            r.tick()
            time += 1
        timeouts.add(time)

    assert et - 1 <= len(timeouts) <= et
    for d in range(et + 1, 2 * et):
        assert d in timeouts


def test_follower_election_timeout_nonconflict() -> None:
    check_nonleaders_election_timeout_nonconfict(StateRole.Follower)


def test_candidates_election_timeout_nonconf() -> None:
    check_nonleaders_election_timeout_nonconfict(StateRole.Candidate)


def check_nonleaders_election_timeout_nonconfict(state: StateRole) -> None:
    """Usually a single follower or candidate times out first, which makes split
    votes unlikely (section 5.2)."""
    et = 10
    size = 5
    ids = list(range(1, size + 1))
    # Each node's generator is seeded from its id as well, so the timeouts differ.
    rs = [new_test_raft(id, ids, et, 1, new_storage()) for id in ids]
    conflicts = 0
    for _ in range(1000):
        for r in rs:
            term = r.term
            if state == StateRole.Follower:
                r.become_follower(term + 1, INVALID_ID)
            elif state == StateRole.Candidate:
                r.become_candidate()
            else:
                raise AssertionError("only a non-leader role is accepted")

        timeout_num = 0
        while timeout_num == 0:
            for r in rs:
                r.tick()
                if r.read_messages():
                    timeout_num += 1
        # several nodes timed out in the same tick
        if timeout_num > 1:
            conflicts += 1

    assert conflicts / 1000.0 <= 0.3


def test_leader_start_replication() -> None:
    """A leader appends a proposal to its log and sends it to every follower with the
    index and term of the entry before it; the entry is kept for stable storage
    (section 5.3)."""
    s = new_storage()
    r = new_test_raft(1, [1, 2, 3], 10, 1, s)
    r.become_candidate()
    r.become_leader()
    commit_noop_entry(r, s)
    li = r.raft_log.last_index()

    r.step(new_message(1, 1, MessageType.MsgPropose, 1))

    assert r.raft_log.last_index() == li + 1
    assert r.raft_log.committed == li
    msgs = sorted_by_debug(r.read_messages())
    wents = [new_entry(2, li + 1, SOME_DATA)]

    def append(from_: int, to: int, ents: list[Entry]) -> Message:
        m = new_message(from_, to, MessageType.MsgAppend, 0)
        m.term = 2
        m.index = li
        m.log_term = 2
        m.commit = li
        m.entries = ents
        return m

    assert msgs == [append(1, 2, list(wents)), append(1, 3, list(wents))]
    assert r.raft_log.unstable_entries() == wents


def test_leader_commit_entry() -> None:
    """Once an entry is safely replicated the leader commits it, hands it out for
    applying, and tells the followers the new commit index (section 5.3)."""
    s = new_storage()
    r = new_test_raft(1, [1, 2, 3], 10, 1, s)
    r.become_candidate()
    r.become_leader()
    commit_noop_entry(r, s)
    li = r.raft_log.last_index()
    r.step(new_message(1, 1, MessageType.MsgPropose, 1))

    for m in r.read_messages():
        r.step(accept_and_reply(m))

    assert r.raft_log.committed == li + 1
    wents = [new_entry(2, li + 1, SOME_DATA)]
    assert r.raft_log.next_entries() == wents
    msgs = sorted_by_debug(r.read_messages())
    for i, m in enumerate(msgs):
        assert m.to == i + 2
        assert m.msg_type == MessageType.MsgAppend
        assert m.commit == li + 1


def test_leader_acknowledge_commit() -> None:
    """An entry commits once its leader has it replicated on a majority
    (section 5.3)."""
    tests: list[tuple[int, dict[int, bool], bool]] = [
        (1, {}, True),
        (3, {}, False),
        (3, {2: True}, True),
        (3, {2: True, 3: True}, True),
        (5, {}, False),
        (5, {2: True}, False),
        (5, {2: True, 3: True}, True),
        (5, {2: True, 3: True, 4: True}, True),
        (5, {2: True, 3: True, 4: True, 5: True}, True),
    ]
    for i, (size, acceptors, wack) in enumerate(tests):
        s = new_storage()
        r = new_test_raft(1, list(range(1, size + 1)), 10, 1, s)
        r.become_candidate()
        r.become_leader()
        commit_noop_entry(r, s)
        li = r.raft_log.last_index()
        r.step(new_message(1, 1, MessageType.MsgPropose, 1))

        for m in r.read_messages():
            if acceptors.get(m.to, False):
                r.step(accept_and_reply(m))

        g = r.raft_log.committed > li
        assert g == wack, f"#{i}: ack commit = {g}, want {wack}"


def test_leader_commit_preceding_entries() -> None:
    """Committing an entry commits every entry before it, including those of earlier
    leaders, and they are applied in log order (section 5.3)."""
    tests = [
        [],
        [empty_entry(2, 2)],
        [empty_entry(1, 2), empty_entry(2, 3)],
        [empty_entry(1, 2)],
    ]
    for i, tt in enumerate(tests):
        r = new_raft_with_entries(1, [1, 2, 3], tt)
        r.load_state(hard_state(2, 1, 0))
        r.become_candidate()
        r.become_leader()

        r.step(new_message(1, 1, MessageType.MsgPropose, 1))

        for m in r.read_messages():
            r.step(accept_and_reply(m))

        li = len(tt)
        wg = [*tt, empty_entry(3, li + 2), new_entry(3, li + 3, SOME_DATA)]
        g = r.raft_log.next_entries()
        assert g == wg, f"#{i}: ents = {g}, want {wg}"


def test_follower_commit_entry() -> None:
    """A follower that learns an entry is committed applies it, in log order
    (section 5.3)."""
    tests = [
        ([new_entry(1, 2, SOME_DATA)], 2),
        ([new_entry(1, 2, SOME_DATA), new_entry(1, 3, "somedata2")], 3),
        ([new_entry(1, 2, "somedata2"), new_entry(1, 3, SOME_DATA)], 3),
        ([new_entry(1, 2, SOME_DATA), new_entry(1, 3, "somedata2")], 2),
    ]
    for i, (ents, commit) in enumerate(tests):
        r = new_test_raft(1, [1, 2, 3], 10, 1, new_storage())
        r.become_follower(1, 2)

        m = new_message(2, 1, MessageType.MsgAppend, 0)
        m.term = 1
        m.log_term = 1
        m.index = 1
        m.commit = commit
        m.entries = list(ents)
        r.step(m)

        assert r.raft_log.committed == commit, (
            f"#{i}: committed = {r.raft_log.committed}, want {commit}"
        )
        wents = ents[: commit - 1]
        g = r.raft_log.next_entries()
        assert g == wents, f"#{i}: next_ents = {g}, want {wents}"


def test_follower_check_msg_append() -> None:
    """A follower rejects an append whose previous index and term it does not have,
    and accepts it otherwise (section 5.3)."""
    ents = [empty_entry(1, 2), empty_entry(2, 3)]
    tests = [
        # matches a committed entry
        (1, 2, 2, False, 0),
        (ents[0].term, ents[0].index, 2, False, 0),
        # matches an uncommitted entry
        (ents[1].term, ents[1].index, 3, False, 0),
        # differs from the entry at that index
        (ents[0].term, ents[1].index, ents[1].index, True, 3),
        # no entry at that index
        (ents[1].term + 1, ents[1].index + 1, ents[1].index + 1, True, 3),
    ]
    for i, (term, index, windex, wreject, wreject_hint) in enumerate(tests):
        r = new_raft_with_entries(1, [1, 2, 3], ents)
        r.load_state(hard_state(1, 1, 0))
        r.become_follower(2, 2)

        m = new_message(2, 1, MessageType.MsgAppend, 0)
        m.term = 2
        m.log_term = term
        m.index = index
        r.step(m)

        msgs = r.read_messages()
        wm = new_message(1, 2, MessageType.MsgAppendResponse, 0)
        wm.term = 2
        wm.index = windex
        if wreject:
            wm.reject = wreject
            wm.reject_hint = wreject_hint
        assert msgs == [wm], f"#{i}: msgs = {msgs}, want {[wm]}"


def test_follower_append_entries() -> None:
    """On a valid append a follower deletes a conflicting entry and everything after
    it, appends the new entries, and keeps them for stable storage (section 5.3)."""
    tests = [
        (
            3,
            2,
            [empty_entry(3, 4)],
            [empty_entry(1, 2), empty_entry(2, 3), empty_entry(3, 4)],
            [empty_entry(3, 4)],
        ),
        (
            2,
            1,
            [empty_entry(3, 3), empty_entry(4, 4)],
            [empty_entry(1, 2), empty_entry(3, 3), empty_entry(4, 4)],
            [empty_entry(3, 3), empty_entry(4, 4)],
        ),
        (1, 1, [empty_entry(1, 2)], [empty_entry(1, 2), empty_entry(2, 3)], []),
        (1, 1, [empty_entry(3, 2)], [empty_entry(3, 2)], [empty_entry(3, 2)]),
    ]
    for i, (index, term, ents, wents, wunstable) in enumerate(tests):
        r = new_raft_with_entries(1, [1, 2, 3], [empty_entry(1, 2), empty_entry(2, 3)])
        r.become_follower(2, 2)

        m = new_message(2, 1, MessageType.MsgAppend, 0)
        m.term = 2
        m.log_term = term
        m.index = index
        m.entries = ents
        r.step(m)

        g = r.raft_log.all_entries()
        assert g == wents, f"#{i}: ents = {g}, want {wents}"
        gu = r.raft_log.unstable_entries()
        want_unstable = wunstable if wunstable else None
        assert gu == want_unstable, f"#{i}: unstable_entries = {gu}, want {want_unstable}"


def test_leader_sync_follower_log() -> None:
    """A leader brings a follower's log into agreement with its own (section 5.3,
    figure 7)."""
    ents = [
        empty_entry(1, 2),
        empty_entry(1, 3),
        empty_entry(4, 4),
        empty_entry(4, 5),
        empty_entry(5, 6),
        empty_entry(5, 7),
        empty_entry(6, 8),
        empty_entry(6, 9),
        empty_entry(6, 10),
    ]
    term = 8
    tests = [
        [
            empty_entry(1, 2),
            empty_entry(1, 3),
            empty_entry(4, 4),
            empty_entry(4, 5),
            empty_entry(5, 6),
            empty_entry(5, 7),
            empty_entry(6, 8),
            empty_entry(6, 9),
        ],
        [empty_entry(1, 2), empty_entry(1, 3), empty_entry(4, 4)],
        [
            empty_entry(1, 2),
            empty_entry(1, 3),
            empty_entry(4, 4),
            empty_entry(4, 5),
            empty_entry(5, 6),
            empty_entry(5, 7),
            empty_entry(6, 8),
            empty_entry(6, 9),
            empty_entry(6, 10),
            empty_entry(6, 11),
        ],
        [
            empty_entry(1, 2),
            empty_entry(1, 3),
            empty_entry(4, 4),
            empty_entry(4, 5),
            empty_entry(5, 6),
            empty_entry(5, 7),
            empty_entry(6, 8),
            empty_entry(6, 9),
            empty_entry(6, 10),
            empty_entry(7, 11),
            empty_entry(7, 12),
        ],
        [
            empty_entry(1, 2),
            empty_entry(1, 3),
            empty_entry(4, 4),
            empty_entry(4, 5),
            empty_entry(4, 6),
            empty_entry(4, 7),
        ],
        [
            empty_entry(1, 2),
            empty_entry(1, 3),
            empty_entry(2, 4),
            empty_entry(2, 5),
            empty_entry(2, 6),
            empty_entry(3, 7),
            empty_entry(3, 8),
            empty_entry(3, 9),
            empty_entry(3, 10),
            empty_entry(3, 11),
        ],
    ]
    for i, tt in enumerate(tests):
        lead = new_raft_with_entries(1, [1, 2, 3], ents)
        last_index = lead.raft_log.last_index()
        lead.load_state(hard_state(term, last_index, 0))

        follower = new_raft_with_entries(2, [1, 2, 3], tt)
        follower.load_state(hard_state(term - 1, 1, 0))

        # Three nodes are needed: the follower may have the longer log, so the leader
        # needs the third node's vote to win.
        n = Network.new([lead, follower, NOP_STEPPER])
        n.send([new_message(1, 1, MessageType.MsgHup, 0)])
        # The election happens in the term after the one loaded above.
        m = new_message(3, 1, MessageType.MsgRequestVoteResponse, 0)
        m.term = term + 1
        n.send([m])

        m = new_message(1, 1, MessageType.MsgPropose, 0)
        m.entries = [Entry()]
        n.send([m])
        lead_str = ltoa(n.peers[1].raft_log)
        follower_str = ltoa(n.peers[2].raft_log)
        assert lead_str == follower_str, f"#{i}: lead: {lead_str}, follower: {follower_str}"


def test_vote_request() -> None:
    """A vote request carries the candidate's last log index and term, and goes to
    every other server (section 5.4.1)."""
    tests = [
        ([empty_entry(1, 2)], 2),
        ([empty_entry(1, 2), empty_entry(2, 3)], 3),
    ]
    for j, (ents, wterm) in enumerate(tests):
        r = new_test_raft(1, [1, 2, 3], 10, 1, new_storage())
        m = new_message(2, 1, MessageType.MsgAppend, 0)
        m.term = wterm - 1
        m.log_term = 1  # a log term must be greater than 0
        m.index = 1
        m.entries = list(ents)
        r.step(m)
        r.read_messages()

        for _ in range(1, r.election_timeout * 2):
            r.tick_election()

        msgs = sorted_by_debug(r.read_messages())
        assert len(msgs) == 2, f"#{j}: msg count = {len(msgs)}, want 2"
        for i, m in enumerate(msgs):
            assert m.msg_type == MessageType.MsgRequestVote, f"#{j}.{i}: {m.msg_type}"
            assert m.to == i + 2, f"#{j}.{i}: to = {m.to}, want {i + 2}"
            assert m.term == wterm, f"#{j}.{i}: term = {m.term}, want {wterm}"
            windex = ents[-1].index
            wlogterm = ents[-1].term
            assert m.index == windex, f"#{j}.{i}: index = {m.index}, want {windex}"
            assert m.log_term == wlogterm, f"#{j}.{i}: log_term = {m.log_term}, want {wlogterm}"


def test_voter() -> None:
    """A voter denies its vote when its own log is more up to date than the
    candidate's (section 5.4.1)."""
    tests = [
        # same last term
        ([empty_entry(1, 2)], 1, 2, False),
        ([empty_entry(1, 2)], 1, 3, False),
        ([empty_entry(1, 2), empty_entry(1, 3)], 1, 1, True),
        # the candidate's last term is higher
        ([empty_entry(1, 2)], 2, 2, False),
        ([empty_entry(1, 2)], 2, 3, False),
        ([empty_entry(1, 2), empty_entry(1, 3)], 2, 2, False),
        # the voter's last term is higher
        ([empty_entry(2, 2)], 1, 2, True),
        ([empty_entry(2, 2)], 1, 3, True),
        ([empty_entry(2, 2), empty_entry(1, 3)], 1, 2, True),
    ]
    for i, (ents, log_term, index, wreject) in enumerate(tests):
        r = new_raft_with_entries(1, [1, 2], ents)

        m = new_message(2, 1, MessageType.MsgRequestVote, 0)
        m.term = 3
        m.log_term = log_term
        m.index = index
        r.step(m)

        msgs = r.read_messages()
        assert len(msgs) == 1, f"#{i}: msg count = {len(msgs)}, want 1"
        assert msgs[0].msg_type == MessageType.MsgRequestVoteResponse, f"#{i}"
        assert msgs[0].reject == wreject, f"#{i}: reject = {msgs[0].reject}, want {wreject}"


def test_leader_only_commits_log_from_current_term() -> None:
    """A leader commits by counting replicas only entries of its current term
    (section 5.4.2)."""
    ents = [empty_entry(1, 2), empty_entry(2, 3)]
    tests = [
        # entries of earlier terms are not committed
        (1, 1),
        (2, 1),
        # an entry of the current term is
        (4, 4),
    ]
    for i, (index, wcommit) in enumerate(tests):
        r = new_raft_with_entries(1, [1, 2], ents)
        r.load_state(hard_state(2, 1, 0))

        # leader at term 3
        r.become_candidate()
        r.become_leader()
        r.read_messages()

        # an entry of the current term
        r.step(new_message(1, 1, MessageType.MsgPropose, 1))

        m = new_message(2, 1, MessageType.MsgAppendResponse, 0)
        m.term = r.term
        m.index = index
        r.step(m)
        assert r.raft_log.committed == wcommit, (
            f"#{i}: commit = {r.raft_log.committed}, want {wcommit}"
        )
