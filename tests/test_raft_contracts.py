"""The protocol contracts of Raft and RawNode fire when their rule is broken.

Each test breaks one rule from inside a handler (the real code never does) and checks
that the postcondition names the rule.
"""

from __future__ import annotations

import pytest

from raft_ref import contracts
from raft_ref.config import Config
from raft_ref.eraftpb import Entry, Message, MessageType
from raft_ref.raft import Raft, StateRole
from raft_ref.raft_log import RaftLog
from raft_ref.raw_node import RawNode, Ready
from raft_ref.storage import MemStorage

pytestmark = pytest.mark.skipif(not contracts.ENABLED, reason="contracts are switched off")

_MT = MessageType


def new_raft(node_id: int = 1) -> Raft[MemStorage]:
    store = MemStorage.new_with_conf_state(([1, 2, 3], []))
    return Raft(Config(id=node_id, election_tick=10, heartbeat_tick=1), store)


def new_leader() -> Raft[MemStorage]:
    r = new_raft()
    r.become_candidate()
    r.become_leader()
    return r


def heartbeat_from_leader(r: Raft[MemStorage]) -> Message:
    return Message(msg_type=_MT.MsgHeartbeat, from_=2, to=r.id, term=r.term)


def test_term_never_decreases(monkeypatch: pytest.MonkeyPatch) -> None:
    r = new_raft()
    r.become_follower(5, 2)

    def handler(self: Raft[MemStorage], m: Message) -> None:
        self.term -= 1

    monkeypatch.setattr(Raft, "_step_follower", handler)
    with pytest.raises(contracts.ViolationError, match="term never decreases"):
        r.step(heartbeat_from_leader(r))


def test_one_vote_per_term(monkeypatch: pytest.MonkeyPatch) -> None:
    r = new_raft()
    r.become_follower(5, 0)
    r.vote = 2

    def handler(self: Raft[MemStorage], m: Message) -> None:
        self.vote = 3

    monkeypatch.setattr(Raft, "_step_follower", handler)
    with pytest.raises(contracts.ViolationError, match="at most one candidate per term"):
        r.step(heartbeat_from_leader(r))


def test_a_first_vote_in_a_term_is_allowed() -> None:
    r = new_raft()
    r.become_follower(5, 0)
    m = Message(msg_type=_MT.MsgRequestVote, from_=2, to=1, term=5, index=1, log_term=1)
    r.step(m)
    assert r.vote == 2


def test_commit_never_decreases(monkeypatch: pytest.MonkeyPatch) -> None:
    r = new_raft()
    r.become_follower(5, 2)

    def handler(self: Raft[MemStorage], m: Message) -> None:
        self.raft_log.committed -= 1

    monkeypatch.setattr(Raft, "_step_follower", handler)
    with pytest.raises(contracts.ViolationError, match="commit index never decreases"):
        r.step(heartbeat_from_leader(r))


def test_commit_never_passes_last_index(monkeypatch: pytest.MonkeyPatch) -> None:
    r = new_raft()
    r.become_follower(5, 2)

    def handler(self: Raft[MemStorage], m: Message) -> None:
        self.raft_log.committed = self.raft_log.last_index() + 1

    monkeypatch.setattr(Raft, "_step_follower", handler)
    with pytest.raises(contracts.ViolationError, match="never passes the last log index"):
        r.step(heartbeat_from_leader(r))


def test_leader_only_appends_entries_of_its_term(monkeypatch: pytest.MonkeyPatch) -> None:
    r = new_leader()

    def propose(self: Raft[MemStorage], m: Message) -> None:
        last = self.raft_log.last_index()
        self.raft_log.append([Entry(term=self.term - 1, index=last + 1)])

    monkeypatch.setattr(Raft, "_leader_propose", propose)
    propose_msg = Message(msg_type=_MT.MsgPropose, from_=1, entries=[Entry(data=b"x")])
    with pytest.raises(contracts.ViolationError, match="only appends entries of its own term"):
        r.step(propose_msg)


def test_leader_never_commits_an_older_term_by_counting(monkeypatch: pytest.MonkeyPatch) -> None:
    r = new_raft()
    r.raft_log.append([Entry(term=1, index=2)])
    r.become_candidate()
    r.become_candidate()  # term 3, so that the leader's own entry is of term 3
    r.become_leader()
    # Peers 2 and 3 hold index 2 (term 1) only: a quorum by count, but an older term.
    for peer in (2, 3):
        pr = r.prs().get(peer)
        assert pr is not None
        pr.matched = 2

    def commit_ignoring_term(self: RaftLog[MemStorage], max_index: int, term: int) -> bool:
        if max_index > self.committed:
            self.committed = max_index
            return True
        return False

    monkeypatch.setattr(RaftLog, "maybe_commit", commit_ignoring_term)
    with pytest.raises(contracts.ViolationError, match="only an entry of its current term"):
        r.maybe_commit()


def test_real_commit_rule_refuses_the_older_term_entry() -> None:
    r = new_raft()
    r.raft_log.append([Entry(term=1, index=2)])
    r.become_candidate()
    r.become_candidate()
    r.become_leader()
    for peer in (2, 3):
        pr = r.prs().get(peer)
        assert pr is not None
        pr.matched = 2
    assert not r.maybe_commit()
    assert r.raft_log.committed == 1
    assert r.state is StateRole.Leader


def test_ready_entries_are_contiguous(monkeypatch: pytest.MonkeyPatch) -> None:
    store = MemStorage.new_with_conf_state(([1], []))
    node = RawNode(Config(id=1, election_tick=10, heartbeat_tick=1), store)
    original = Ready.new

    def gappy(*args: object) -> Ready:
        rd = original(*args)  # type: ignore[arg-type]
        rd.entries = [Entry(term=1, index=2), Entry(term=1, index=4)]
        return rd

    monkeypatch.setattr(Ready, "new", gappy)
    with pytest.raises(contracts.ViolationError, match="contiguous indexes"):
        node.ready()
