"""raft-rs `harness/tests/integration_cases/test_membership_changes.rs`, ported: joint
consensus (Begin/FinalizeMembershipChange) driven step by step through a test network.

Naming: upstream groups these tests in Rust modules; the upstream test `module::name`
is the module-level function `test_<module>__<name>` here (double underscore between
module and test name), e.g. `three_peers_add_voter::stable` is
`test_three_peers_add_voter__stable`.

Most tests follow one pattern: elect node 1 in the old configuration, create the nodes
the new configuration adds, propose the Begin entry (index 3), let it commit, apply it
on each node (entering the joint configuration), then let the leader's Finalize entry
(index 4, or 5 after a re-election) commit and apply it everywhere. The `Scenario`
helper below does the hand-driving: it reads messages from named peers in a chosen
order and applies conf-change entries the way the upstream harness does (on commit).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

import pytest

from raft_ref.config import Config
from raft_ref.eraftpb import (
    ConfChange,
    ConfChangeType,
    ConfState,
    Entry,
    EntryType,
    Message,
    MessageType,
    Snapshot,
    decode_conf_change,
    encode_conf_change,
)
from raft_ref.errors import Error
from raft_ref.progress import Configuration
from raft_ref.raft import INVALID_ID, Raft
from raft_ref.storage import MemStorage
from tests.harness import Interface, Network
from tests.test_util import new_message

Membership = tuple[list[int], list[int]]


# --- Building conf changes and proposals ---------------------------------------------


def conf_state(voters: Iterable[int], learners: Iterable[int]) -> ConfState:
    return ConfState(list(voters), list(learners))


def begin_conf_change(voters: Iterable[int], learners: Iterable[int], index: int) -> ConfChange:
    """A Begin change to (voters, learners), as if proposed at log index `index`."""
    return ConfChange(
        change_type=ConfChangeType.BeginMembershipChange,
        configuration=conf_state(voters, learners),
        start_index=index,
    )


def finalize_conf_change() -> ConfChange:
    return ConfChange(change_type=ConfChangeType.FinalizeMembershipChange)


def conf_change_entry(cc: ConfChange, index: int) -> Entry:
    return Entry(entry_type=EntryType.EntryConfChange, data=encode_conf_change(cc), index=index)


def build_propose_change_message(
    recipient: int, voters: Iterable[int], learners: Iterable[int], index: int
) -> Message:
    entry = conf_change_entry(begin_conf_change(voters, learners, index), index)
    return Message(msg_type=MessageType.MsgPropose, to=recipient, index=index, entries=[entry])


def build_propose_add_node_message(recipient: int, added_id: int, index: int) -> Message:
    cc = ConfChange(change_type=ConfChangeType.AddNode, node_id=added_id)
    entry = conf_change_entry(cc, index)
    return Message(msg_type=MessageType.MsgPropose, to=recipient, index=index, entries=[entry])


def new_raft(node_id: int, store: MemStorage, applied: int = 0) -> Raft[MemStorage]:
    """A node with raft-rs's default configuration (election 20 ticks, heartbeat 2)."""
    return Raft(Config(id=node_id, tag=str(node_id), applied=applied), store)


# --- The scenario helper -------------------------------------------------------------


class Scenario:
    """A network of nodes moving from `old_configuration` to `new_configuration`.

    Creating one elects `leader` in the old configuration. Everything else is driven
    by the test: which peer's messages are delivered when, which node applies which
    conf-change entry, who is isolated or restarted.
    """

    def __init__(self, leader: int, old: Membership, new: Membership) -> None:
        self.old_leader = leader
        self.old_configuration = Configuration(*old)
        self.new_configuration = Configuration(*new)
        # Peers are positional in the network, so the old members must be 1..n.
        starting_ids = [*old[0], *old[1]]
        starting: list[Interface | None] = [
            Interface(new_raft(node_id, MemStorage.new_with_conf_state(old)))
            for node_id in starting_ids
        ]
        self.network = Network.new(starting)
        self.network.send([new_message(leader, leader, MessageType.MsgHup, 0)])

    # Network pass-throughs, so the tests read like the upstream ones.

    @property
    def peers(self) -> dict[int, Interface]:
        return self.network.peers

    def send(self, msgs: list[Message]) -> None:
        self.network.send(msgs)

    def dispatch(self, msgs: list[Message]) -> None:
        self.network.dispatch(msgs)

    def read_messages(self) -> list[Message]:
        return self.network.read_messages()

    def isolate(self, node_id: int) -> None:
        self.network.isolate(node_id)

    def recover(self) -> None:
        self.network.recover()

    # Setting up.

    def new_peers(self) -> Configuration:
        """The members of the new configuration that are not in the old one."""
        old = self.old_configuration
        existing = old.voters | old.learners
        new = self.new_configuration
        return Configuration(new.voters - existing, new.learners - existing)

    def spawn_new_peers(self) -> None:
        """Creates the nodes the change adds. Each one knows only the leader and itself;
        it learns the rest from the leader's snapshot."""
        fresh = self.new_peers()
        for node_id in sorted(fresh.voters):
            store = MemStorage.new_with_conf_state(([self.old_leader, node_id], []))
            self.peers[node_id] = Interface(new_raft(node_id, store))
        for node_id in sorted(fresh.learners):
            store = MemStorage.new_with_conf_state(([self.old_leader], [node_id]))
            self.peers[node_id] = Interface(new_raft(node_id, store))

    def peer_leaders(self) -> dict[int, int]:
        """Who each peer believes the leader is."""
        return {node_id: peer.leader_id for node_id, peer in self.peers.items()}

    # Proposing.

    def propose_add_node_message(self, node_id: int) -> None:
        """Proposes a one-node AddNode change to the leader (raises what stepping raises)."""
        index = self.peers[node_id].raft_log.last_index() + 1
        self.dispatch([build_propose_add_node_message(self.old_leader, node_id, index)])

    def propose_change_message(self) -> None:
        """Proposes the Begin entry of the change to the leader."""
        new = self.new_configuration
        index = self.peers[1].raft_log.last_index() + 1
        msg = build_propose_change_message(
            self.old_leader, sorted(new.voters), sorted(new.learners), index
        )
        self.dispatch([msg])

    # Checking the joint state.

    def assert_not_in_membership_change(self, ids: Iterable[int]) -> None:
        for node_id in ids:
            assert not self.peers[node_id].is_in_membership_change(), (
                f"peer {node_id} should not be in a membership change"
            )

    def assert_in_membership_change(self, ids: Iterable[int]) -> None:
        for node_id in ids:
            assert self.peers[node_id].is_in_membership_change(), (
                f"peer {node_id} should be in a membership change"
            )

    # Driving.

    def expect_apply_membership_change_entry(
        self, ids: Iterable[int], entry_type: ConfChangeType
    ) -> None:
        """On each peer: persist its committed-but-unapplied entries, find the first
        conf change of `entry_type` among them and apply it, then mark everything up to
        that entry stable, committed and applied and tick once."""
        for node_id in ids:
            peer = self.peers[node_id]
            entries = peer.raft_log.next_entries()
            assert entries is not None, f"peer {node_id} had no entries to apply"
            peer.mut_store().wl().append(entries)
            applied_at = None
            for entry in entries:
                if entry.entry_type != EntryType.EntryConfChange:
                    continue
                cc = decode_conf_change(entry.data)
                if cc.change_type != entry_type:
                    continue
                apply_conf_change(peer, cc)
                applied_at = entry
                break
            assert applied_at is not None, (
                f"{entry_type.name} not found for peer {node_id}; got {entries}"
            )
            peer.raft_log.stable_to(applied_at.index, applied_at.term)
            peer.raft_log.commit_to(applied_at.index)
            peer.commit_apply(applied_at.index)
            peer.mut_store().wl().set_hardstate(peer.hard_state())
            peer.tick()

    def expect_read_and_dispatch_messages_from(self, ids: Iterable[int]) -> None:
        """For each peer in turn: take its outbox (which must not be empty) and deliver
        it, without collecting the replies (they wait in the receivers' outboxes)."""
        for step, node_id in enumerate(ids):
            msgs = self.peers[node_id].read_messages()
            assert msgs, f"expected peer {node_id} to have messages at step {step}"
            self.dispatch(msgs)

    def power_cycle(self, ids: Iterable[int], snapshot: Snapshot | None) -> None:
        """Restarts the nodes from their storage (nothing else survives), restoring
        `snapshot` into each restarted node when given."""
        for node_id in ids:
            old = self.peers.pop(node_id)
            applied = old.raft_log.applied
            # The new node shares the old one's storage (raft-rs clones a shared handle).
            peer = new_raft(node_id, old.mut_store(), applied)
            if snapshot is not None:
                peer.restore(snapshot)
            self.peers[node_id] = Interface(peer)

    def assert_membership_change_entry_at(
        self, ids: Iterable[int], index: int, entry_type: ConfChangeType
    ) -> None:
        for node_id in ids:
            entry = self.peers[node_id].raft_log.slice(index, index + 1, None)[0]
            assert entry.entry_type == EntryType.EntryConfChange
            assert decode_conf_change(entry.data).change_type == entry_type

    def assert_can_apply_transition_entry_at_index(
        self, ids: Iterable[int], index: int, entry_type: ConfChangeType
    ) -> None:
        ids = list(ids)
        self.expect_apply_membership_change_entry(ids, entry_type)
        self.assert_membership_change_entry_at(ids, index, entry_type)


def apply_conf_change(peer: Interface, cc: ConfChange) -> None:
    t = cc.change_type
    if t == ConfChangeType.BeginMembershipChange:
        peer.begin_membership_change(cc)
    elif t == ConfChangeType.FinalizeMembershipChange:
        peer.finalize_membership_change(cc)
    elif t == ConfChangeType.AddNode:
        peer.add_node(cc.node_id)
    else:
        raise AssertionError(f"unexpected conf change {cc}")


BEGIN = ConfChangeType.BeginMembershipChange
FINALIZE = ConfChangeType.FinalizeMembershipChange


def tick_times(peer: Interface, times: int) -> None:
    for _ in range(times):
        peer.tick()


def tick_past_election_timeout(peer: Interface) -> None:
    """Ticks from the current elapsed count to one past the randomized timeout."""
    tick_times(peer, peer.randomized_election_timeout + 2 - peer.election_elapsed)


def tick_past_heartbeat_timeout(peer: Interface) -> None:
    """Ticks from the current heartbeat count to one past the heartbeat timeout."""
    tick_times(peer, peer.heartbeat_timeout + 2 - peer.heartbeat_elapsed)


def enter_joint_on_leader_and_followers(s: Scenario, followers: list[int]) -> None:
    """The opening every test shares: the Begin entry (index 3) commits with the old
    voters, the leader applies it, replicates the commit, and `followers` apply it."""
    s.expect_read_and_dispatch_messages_from([1, 2, 3])
    s.assert_can_apply_transition_entry_at_index([1], 3, BEGIN)
    s.assert_in_membership_change([1])
    s.expect_read_and_dispatch_messages_from([1])
    s.assert_can_apply_transition_entry_at_index(followers, 3, BEGIN)
    s.assert_in_membership_change([1, *followers])


# --- api -------------------------------------------------------------------------------


def test_api__can_transition() -> None:
    """A single node moves to a larger configuration and back out of the joint state."""
    raft = new_raft(1, MemStorage.new_with_conf_state(([1], [])))
    begin = begin_conf_change([1, 2, 3], [4], raft.raft_log.last_index() + 1)
    raft.begin_membership_change(begin)
    assert raft.is_in_membership_change()
    raft.finalize_membership_change(finalize_conf_change())
    assert not raft.is_in_membership_change()
    assert raft.prs().configuration == Configuration([1, 2, 3], [4])


def test_api__checks_for_overlapping_membership() -> None:
    raft = new_raft(1, MemStorage.new_with_conf_state(([1], [])))
    begin = begin_conf_change([1, 2, 3], [1, 2, 3], raft.raft_log.last_index() + 1)
    with pytest.raises(Error):
        raft.begin_membership_change(begin)


def test_api__checks_for_voter_demotion() -> None:
    raft = new_raft(1, MemStorage.new_with_conf_state(([1, 2, 3], [4])))
    begin = begin_conf_change([1, 2], [3, 4], raft.raft_log.last_index() + 1)
    with pytest.raises(Error):
        raft.begin_membership_change(begin)


def test_api__finalize_before_begin_fails_gracefully() -> None:
    raft = new_raft(1, MemStorage.new_with_conf_state(([1, 2, 3], [4])))
    with pytest.raises(Error):
        raft.finalize_membership_change(finalize_conf_change())


# --- three_peers_add_voter ------------------------------------------------------------


def test_three_peers_add_voter__stable() -> None:
    s = Scenario(1, ([1, 2, 3], []), ([1, 2, 3, 4], []))
    s.spawn_new_peers()
    s.propose_change_message()
    enter_joint_on_leader_and_followers(s, [2, 3])

    # The new voter catches up: snapshot, then the entries after it.
    s.expect_read_and_dispatch_messages_from([4, 1, 4, 1])
    s.assert_can_apply_transition_entry_at_index([4], 3, BEGIN)
    s.assert_in_membership_change([1, 2, 3, 4])

    # Leaving the joint configuration.
    s.expect_read_and_dispatch_messages_from([3, 2, 1])
    s.assert_can_apply_transition_entry_at_index([1, 2, 3, 4], 4, FINALIZE)
    s.assert_not_in_membership_change([1, 2, 3, 4])


# --- three_peers_add_learner ----------------------------------------------------------


def test_three_peers_add_learner__stable() -> None:
    s = Scenario(1, ([1, 2, 3], []), ([1, 2, 3], [4]))
    s.spawn_new_peers()
    s.propose_change_message()
    enter_joint_on_leader_and_followers(s, [2, 3])

    s.expect_read_and_dispatch_messages_from([4, 1, 4, 1])
    s.assert_can_apply_transition_entry_at_index([4], 3, BEGIN)
    s.assert_in_membership_change([1, 2, 3, 4])

    s.expect_read_and_dispatch_messages_from([3, 2, 1])
    s.assert_can_apply_transition_entry_at_index([1, 2, 3, 4], 4, FINALIZE)
    s.assert_not_in_membership_change([1, 2, 3, 4])


# --- remove_learner -------------------------------------------------------------------


def test_remove_learner__stable() -> None:
    s = Scenario(1, ([1, 2, 3], [4]), ([1, 2, 3], []))
    s.spawn_new_peers()
    s.propose_change_message()

    s.expect_read_and_dispatch_messages_from([1, 2, 3, 4])
    s.assert_can_apply_transition_entry_at_index([1], 3, BEGIN)
    s.assert_in_membership_change([1])

    s.expect_read_and_dispatch_messages_from([1])
    s.assert_can_apply_transition_entry_at_index([2, 3, 4], 3, BEGIN)
    s.assert_in_membership_change([1, 2, 3])

    s.expect_read_and_dispatch_messages_from([4, 3, 2, 1])
    s.assert_can_apply_transition_entry_at_index([1, 2, 3, 4], 4, FINALIZE)
    s.assert_not_in_membership_change([1, 2, 3, 4])


# --- remove_voter ---------------------------------------------------------------------


def test_remove_voter__stable() -> None:
    s = Scenario(1, ([1, 2, 3], []), ([1, 2], []))
    s.spawn_new_peers()
    s.propose_change_message()
    enter_joint_on_leader_and_followers(s, [2, 3])

    s.expect_read_and_dispatch_messages_from([2, 1])
    s.assert_can_apply_transition_entry_at_index([1, 2], 4, FINALIZE)
    s.assert_not_in_membership_change([1, 2])


# --- remove_leader --------------------------------------------------------------------


def test_remove_leader__stable() -> None:
    new_configuration: Membership = ([2, 3], [])
    s = Scenario(1, ([1, 2, 3], []), new_configuration)
    s.spawn_new_peers()
    s.propose_change_message()
    enter_joint_on_leader_and_followers(s, [2, 3])

    s.expect_read_and_dispatch_messages_from([2, 3, 1])
    s.assert_can_apply_transition_entry_at_index([1, 2, 3], 4, FINALIZE)
    s.assert_not_in_membership_change([1, 2, 3])
    # The removed leader stepped down, and nobody follows it any more.
    leaders = s.peer_leaders()
    for node_id in (1, 2, 3):
        assert leaders[node_id] == INVALID_ID, f"peer {node_id}"

    # A new election among the remaining voters.
    tick_past_election_timeout(s.peers[2])
    s.send(s.read_messages())

    for peer in s.peers.values():
        assert peer.prs().configuration == Configuration(*new_configuration)

    # The old leader's ticks must not disturb the cluster.
    tick_past_heartbeat_timeout(s.peers[1])
    s.send(s.read_messages())


def test_remove_leader__leader_fails_and_recovers() -> None:
    """The leader is cut off after Begin and comes back after Finalize: the group
    ignores it."""
    s = Scenario(1, ([1, 2, 3], []), ([2, 3], []))
    s.spawn_new_peers()
    s.propose_change_message()
    enter_joint_on_leader_and_followers(s, [2, 3])

    s.expect_read_and_dispatch_messages_from([2, 3, 1])

    s.isolate(1)  # the leader fails
    s.assert_can_apply_transition_entry_at_index([2, 3], 4, FINALIZE)
    s.assert_not_in_membership_change([2, 3])
    # Node 1 has not applied Finalize, so it still believes it leads.

    tick_past_election_timeout(s.peers[2])
    s.send(s.read_messages())
    s.recover()

    # A removed leader must not disrupt the cluster (Raft paper, section 6).
    tick_past_heartbeat_timeout(s.peers[1])
    s.send(s.read_messages())

    leaders = s.peer_leaders()
    assert leaders[2] != 1
    assert leaders[3] != 1


# --- three_peers_replace_voter --------------------------------------------------------


def test_three_peers_replace_voter__stable() -> None:
    s = Scenario(1, ([1, 2, 3], []), ([1, 2, 4], []))
    s.spawn_new_peers()
    s.propose_change_message()
    enter_joint_on_leader_and_followers(s, [2])

    s.expect_read_and_dispatch_messages_from([4, 1, 4, 1])
    s.assert_can_apply_transition_entry_at_index([4], 3, BEGIN)
    s.assert_in_membership_change([1, 2, 4])

    s.expect_read_and_dispatch_messages_from([2, 1, 4])
    s.assert_can_apply_transition_entry_at_index([1, 2, 4], 4, FINALIZE)
    s.assert_not_in_membership_change([1, 2, 4])


def test_three_peers_replace_voter__leader_power_cycles_no_compaction() -> None:
    """The leader restarts from storage in the joint state and is re-elected by hand;
    its new term's Finalize lands at index 5."""
    s = Scenario(1, ([1, 2, 3], []), ([1, 2, 4], []))
    s.spawn_new_peers()
    s.propose_change_message()
    enter_joint_on_leader_and_followers(s, [2, 3])

    assert s.peers[1].began_membership_change_at() == 3
    # Persist the joint state, as an application would, so that the restart resumes it.
    leader = s.peers[1]
    current = leader.prs().configuration.to_conf_state()
    nxt = leader.prs().next_configuration
    assert nxt is not None
    leader.mut_store().wl().set_conf_state(current, (nxt.to_conf_state(), 3))

    s.power_cycle([1], None)
    assert s.peers[1].began_membership_change_at() == 3
    s.assert_in_membership_change([1])
    peer = s.peers[1]
    peer.become_candidate()
    peer.become_leader()
    tick_past_heartbeat_timeout(peer)

    s.expect_read_and_dispatch_messages_from([4, 1, 4, 1, 4, 1])
    s.assert_can_apply_transition_entry_at_index([4], 3, BEGIN)
    s.assert_in_membership_change([1, 2, 3, 4])

    s.expect_read_and_dispatch_messages_from([4, 3, 2, 1, 4, 3, 2, 1])
    assert s.peers[1].began_membership_change_at() == 3
    s.assert_can_apply_transition_entry_at_index([1, 2, 3, 4], 5, FINALIZE)
    s.assert_not_in_membership_change([1, 2, 4])


def test_three_peers_replace_voter__leader_power_cycles_compacted_log() -> None:
    """As above, but the leader compacts its log to a snapshot before restarting and
    restores that snapshot; the new voter is caught up from it."""
    s = Scenario(1, ([1, 2, 3], []), ([1, 2, 4], []))
    s.spawn_new_peers()
    s.propose_change_message()
    enter_joint_on_leader_and_followers(s, [2, 3])

    leader = s.peers[1]
    core = leader.raft_log.store.wl()
    core.commit_to_and_set_conf_states(
        3, leader.prs().configuration.to_conf_state(), leader.pending_membership_change
    )
    # MemStorage labels this snapshot with the hard state's term (raft-rs #408).
    snapshot = leader.raft_log.snapshot(0)
    core.compact(3)

    assert s.peers[1].began_membership_change_at() == 3
    s.power_cycle([1], snapshot)
    peer = s.peers[1]
    peer.become_candidate()
    peer.become_leader()
    assert s.peers[1].began_membership_change_at() == 3
    s.assert_in_membership_change([1])

    s.expect_read_and_dispatch_messages_from([1, 4, 1])
    s.assert_in_membership_change([1, 2, 3, 4])

    # Node 4 received the snapshot: persist it as the application would.
    new_peer = s.peers[4]
    assert new_peer.raft_log.unstable.offset == 4
    snap = new_peer.raft_log.snapshot(0)
    new_peer.raft_log.store.wl().apply_snapshot(snap)
    new_peer.raft_log.stable_snap_to(snapshot.metadata.index)

    s.expect_read_and_dispatch_messages_from([4, 1, 4, 3, 2, 1, 3, 2, 1])
    assert s.peers[1].began_membership_change_at() == 3
    s.assert_can_apply_transition_entry_at_index([1, 2, 3, 4], 5, FINALIZE)
    s.assert_not_in_membership_change([1, 2, 3, 4])


def test_three_peers_replace_voter__pending_delete_fails_after_begin() -> None:
    """The voter being removed fails after Begin: the other two old voters are a quorum."""
    s = Scenario(1, ([1, 2, 3], []), ([1, 2, 4], []))
    s.spawn_new_peers()
    s.propose_change_message()

    s.expect_read_and_dispatch_messages_from([1, 2, 3])
    s.assert_can_apply_transition_entry_at_index([1], 3, BEGIN)
    s.assert_in_membership_change([1])

    s.isolate(3)

    s.expect_read_and_dispatch_messages_from([1])
    s.assert_can_apply_transition_entry_at_index([2], 3, BEGIN)
    s.assert_in_membership_change([1, 2])

    s.expect_read_and_dispatch_messages_from([4, 1, 4, 1])
    s.assert_can_apply_transition_entry_at_index([4], 3, BEGIN)
    s.assert_in_membership_change([1, 2, 4])

    s.expect_read_and_dispatch_messages_from([2, 1, 4])
    s.assert_can_apply_transition_entry_at_index([1, 2, 4], 4, FINALIZE)
    s.assert_not_in_membership_change([1, 2, 4])


def test_three_peers_replace_voter__pending_create_with_quorum_fails_after_begin() -> None:
    """The voter being added fails after Begin: 1 and 2 are a quorum of both."""
    s = Scenario(1, ([1, 2, 3], []), ([1, 2, 4], []))
    s.spawn_new_peers()
    s.propose_change_message()

    s.expect_read_and_dispatch_messages_from([1, 2, 3])
    s.assert_can_apply_transition_entry_at_index([1], 3, BEGIN)
    s.assert_in_membership_change([1])

    s.isolate(4)

    s.expect_read_and_dispatch_messages_from([1])
    s.assert_can_apply_transition_entry_at_index([2, 3], 3, BEGIN)
    s.assert_in_membership_change([1, 2, 3])

    s.expect_read_and_dispatch_messages_from([2, 1])
    s.assert_can_apply_transition_entry_at_index([1, 2, 3], 4, FINALIZE)
    s.assert_not_in_membership_change([1, 2, 3])


def test_three_peers_replace_voter__pending_create_and_destroy_both_fail() -> None:
    """The voters being added and removed both fail: 1 and 2 still form both quorums."""
    s = Scenario(1, ([1, 2, 3], []), ([1, 2, 4], []))
    s.spawn_new_peers()
    s.propose_change_message()

    s.expect_read_and_dispatch_messages_from([1, 2, 3])
    s.assert_can_apply_transition_entry_at_index([1], 3, BEGIN)
    s.assert_in_membership_change([1])

    s.isolate(3)
    s.isolate(4)

    s.expect_read_and_dispatch_messages_from([1])
    s.assert_can_apply_transition_entry_at_index([2], 3, BEGIN)
    s.assert_in_membership_change([1, 2])

    s.expect_read_and_dispatch_messages_from([2, 1])
    s.assert_can_apply_transition_entry_at_index([1, 2], 4, FINALIZE)
    s.assert_not_in_membership_change([1, 2])


def spin_heartbeats(s: Scenario, leader: int, deliver: bool) -> None:
    """Ticks every peer through one heartbeat period of `leader`, delivering the
    messages after each tick when `deliver` is set."""
    lead = s.peers[leader]
    for _ in range(lead.heartbeat_timeout + 1 - lead.heartbeat_elapsed):
        for node_id in sorted(s.peers):
            s.peers[node_id].tick()
        if deliver:
            s.dispatch(s.read_messages())


def test_three_peers_replace_voter__old_quorum_fails() -> None:
    """Two old voters fail in the joint state: nothing commits until they return."""
    leader = 1
    s = Scenario(leader, ([1, 2, 3], []), ([1, 2, 4], []))
    s.spawn_new_peers()
    s.propose_change_message()

    s.expect_read_and_dispatch_messages_from([1, 2, 3])
    s.assert_can_apply_transition_entry_at_index([1], 3, BEGIN)
    s.assert_in_membership_change([1])

    s.isolate(3)
    s.isolate(2)

    s.expect_read_and_dispatch_messages_from([1, 4, 1, 4, 1, 4])
    s.assert_can_apply_transition_entry_at_index([4], 3, BEGIN)
    s.assert_in_membership_change([1, 4])
    s.assert_not_in_membership_change([2, 3])

    # Nothing spectacular happens while the old quorum is gone.
    spin_heartbeats(s, leader, deliver=True)
    s.assert_in_membership_change([1, 4])
    s.assert_not_in_membership_change([2, 3])

    s.recover()
    spin_heartbeats(s, leader, deliver=False)

    s.expect_read_and_dispatch_messages_from([1, 2, 3, 4, 1, 2, 3, 1])
    s.assert_can_apply_transition_entry_at_index([2, 3], 3, BEGIN)
    s.assert_in_membership_change([1, 2, 3, 4])

    # The recovered peers acknowledge what they now hold.
    s.expect_read_and_dispatch_messages_from([2, 3])

    s.expect_read_and_dispatch_messages_from([1])
    s.assert_can_apply_transition_entry_at_index([1, 2, 3, 4], 4, FINALIZE)
    s.assert_not_in_membership_change([1, 2, 3, 4])


def test_three_peers_replace_voter__new_quorum_fails() -> None:
    """Two voters of the new configuration fail in the joint state: the leader waits."""
    leader = 1
    s = Scenario(leader, ([1, 2, 3], []), ([1, 2, 4], []))
    s.spawn_new_peers()
    s.propose_change_message()

    s.expect_read_and_dispatch_messages_from([1, 2, 3])
    s.assert_can_apply_transition_entry_at_index([1], 3, BEGIN)
    s.assert_in_membership_change([1])

    s.isolate(4)
    s.isolate(2)

    s.expect_read_and_dispatch_messages_from([1, 3])
    # Without a quorum of the new configuration nobody else learns Begin committed.
    s.assert_in_membership_change([1])
    s.assert_not_in_membership_change([2, 3, 4])

    spin_heartbeats(s, leader, deliver=True)
    s.assert_in_membership_change([1])
    s.assert_not_in_membership_change([2, 3, 4])

    s.recover()
    spin_heartbeats(s, leader, deliver=False)

    s.expect_read_and_dispatch_messages_from([1, 2, 3, 4, 1, 2, 4, 1, 4, 1])
    s.assert_can_apply_transition_entry_at_index([2, 3, 4], 3, BEGIN)
    s.assert_in_membership_change([1, 2, 3, 4])

    s.expect_read_and_dispatch_messages_from([2, 4])

    s.expect_read_and_dispatch_messages_from([1])
    s.assert_can_apply_transition_entry_at_index([1, 2, 3, 4], 4, FINALIZE)
    s.assert_not_in_membership_change([1, 2, 3, 4])


# --- three_peers_to_five_with_learner -------------------------------------------------


def test_three_peers_to_five_with_learner__stable() -> None:
    s = Scenario(1, ([1, 2, 3], []), ([1, 2, 3, 4, 5], [6]))
    s.spawn_new_peers()
    s.propose_change_message()
    enter_joint_on_leader_and_followers(s, [2, 3])

    s.expect_read_and_dispatch_messages_from([4, 5, 6, 1, 4, 5, 6, 1, 4])
    s.assert_can_apply_transition_entry_at_index([4, 5, 6], 3, BEGIN)
    s.assert_in_membership_change([1, 2, 3, 4, 5, 6])

    s.expect_read_and_dispatch_messages_from([3, 2, 1])
    s.assert_can_apply_transition_entry_at_index([1, 2, 3, 4, 5, 6], 4, FINALIZE)
    s.assert_not_in_membership_change([1, 2, 3, 4, 5, 6])


def test_three_peers_to_five_with_learner__minority_old_followers_halt_at_start() -> None:
    """One old voter (3) is down for the whole change."""
    s = Scenario(1, ([1, 2, 3], []), ([1, 2, 3, 4, 5], [6]))
    s.spawn_new_peers()
    s.isolate(3)
    s.propose_change_message()

    s.expect_read_and_dispatch_messages_from([1, 2])
    s.assert_can_apply_transition_entry_at_index([1], 3, BEGIN)
    s.assert_in_membership_change([1])

    s.expect_read_and_dispatch_messages_from([1])
    s.assert_can_apply_transition_entry_at_index([2], 3, BEGIN)
    s.assert_in_membership_change([1, 2])
    s.assert_not_in_membership_change([3])

    s.expect_read_and_dispatch_messages_from([4, 5, 6, 1, 4, 5, 6, 1])
    s.assert_can_apply_transition_entry_at_index([4, 5, 6], 3, BEGIN)
    s.assert_in_membership_change([1, 2, 4, 5, 6])
    s.assert_not_in_membership_change([3])

    s.expect_read_and_dispatch_messages_from([4, 5, 6])

    leader = s.peers[1]
    tick_times(leader, leader.heartbeat_timeout + 1)
    s.expect_read_and_dispatch_messages_from([2, 1, 4, 5, 6, 1, 4, 5, 6, 1])
    s.assert_can_apply_transition_entry_at_index([1, 2, 4, 5], 4, FINALIZE)
    s.assert_not_in_membership_change([1, 2, 4, 5])
    s.assert_not_in_membership_change([3])


# --- intermingled_config_changes ------------------------------------------------------


def test_intermingled_config_changes__begin_then_add_node() -> None:
    """An AddNode proposed while the joint change is pending becomes an empty entry."""
    s = Scenario(1, ([1, 2, 3], []), ([1, 2, 3, 4], []))
    s.spawn_new_peers()
    s.propose_change_message()

    s.expect_read_and_dispatch_messages_from([1, 2, 3])
    s.assert_can_apply_transition_entry_at_index([1], 3, BEGIN)
    s.assert_in_membership_change([1])

    # Whether or not stepping reports an error, the entry must not be a conf change.
    with contextlib.suppress(Error):
        s.propose_add_node_message(4)
    entry = s.peers[s.old_leader].raft_log.entries(5, 1)[0]
    assert entry.entry_type == EntryType.EntryNormal

    s.expect_read_and_dispatch_messages_from([1])
    s.assert_can_apply_transition_entry_at_index([2, 3], 3, BEGIN)
    s.assert_in_membership_change([1, 2, 3])

    s.expect_read_and_dispatch_messages_from([4, 1, 4, 1, 4])
    s.assert_can_apply_transition_entry_at_index([4], 3, BEGIN)
    s.assert_in_membership_change([1, 2, 3, 4])

    s.expect_read_and_dispatch_messages_from([3, 2, 1])
    s.assert_can_apply_transition_entry_at_index([1, 2, 3, 4], 4, FINALIZE)
    s.assert_not_in_membership_change([1, 2, 3, 4])


# --- compaction -----------------------------------------------------------------------


def test_compaction__begin_compact_then_finalize() -> None:
    """The leader compacts its log in the joint state; finalizing still works."""
    s = Scenario(1, ([1, 2, 3], []), ([1, 2, 3], [4]))
    s.spawn_new_peers()
    s.propose_change_message()
    enter_joint_on_leader_and_followers(s, [2, 3])

    s.expect_read_and_dispatch_messages_from([4, 1, 4, 1])
    s.assert_can_apply_transition_entry_at_index([4], 3, BEGIN)
    s.assert_in_membership_change([1, 2, 3, 4])

    s.peers[1].raft_log.store.wl().compact(2)

    s.expect_read_and_dispatch_messages_from([3, 2, 1])
    s.assert_can_apply_transition_entry_at_index([1, 2, 3, 4], 4, FINALIZE)
    s.assert_not_in_membership_change([1, 2, 3, 4])
