"""The joint-consensus test scenario of raft-rs's membership-change tests, ported.

A `Scenario` is a test network moving from an old configuration to a new one, driven by
hand: which peer's messages are delivered when, which node applies which conf-change
entry (the upstream harness applies them on commit), who is isolated or restarted.
"""

from __future__ import annotations

from collections.abc import Iterable

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
from raft_ref.progress import Configuration
from raft_ref.raft import Raft
from raft_ref.storage import MemStorage
from tests.harness.interface import Interface
from tests.harness.network import Network
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

    # The steps most tests repeat.

    def propose_change(self) -> None:
        """Creates the nodes the change adds and proposes the Begin entry (index 3)."""
        self.spawn_new_peers()
        self.propose_change_message()

    def deliver_and_apply(
        self,
        senders: Iterable[int],
        appliers: Iterable[int],
        index: int,
        entry_type: ConfChangeType,
        members: Iterable[int],
    ) -> None:
        """Delivers the outboxes of `senders` in turn, has `appliers` apply the
        `entry_type` entry at `index`, and checks that `members` are then in the joint
        state (after a Begin) or out of it (after a Finalize)."""
        self.expect_read_and_dispatch_messages_from(senders)
        self.assert_can_apply_transition_entry_at_index(appliers, index, entry_type)
        if entry_type == BEGIN:
            self.assert_in_membership_change(members)
        else:
            self.assert_not_in_membership_change(members)

    def leader_applies_begin(self) -> None:
        """The Begin entry (index 3) commits with the old voters 1, 2, 3 and the leader
        (node 1) applies it."""
        self.deliver_and_apply([1, 2, 3], [1], 3, BEGIN, [1])


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
    """The opening most tests share: the leader applies the Begin entry, replicates the
    commit, and `followers` apply it."""
    s.leader_applies_begin()
    s.deliver_and_apply([1], followers, 3, BEGIN, [1, *followers])


def spin_heartbeats(s: Scenario, leader: int, deliver: bool) -> None:
    """Ticks every peer through one heartbeat period of `leader`, delivering the
    messages after each tick when `deliver` is set."""
    lead = s.peers[leader]
    for _ in range(lead.heartbeat_timeout + 1 - lead.heartbeat_elapsed):
        for node_id in sorted(s.peers):
            s.peers[node_id].tick()
        if deliver:
            s.dispatch(s.read_messages())
