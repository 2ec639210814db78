"""Stateful property test: a cluster of raft_ref RawNodes under an adversarial network.

Hypothesis drives 3 to 5 nodes (ids from 1; later additions up to id 6), each a
`RawNode` over its own `MemStorage`, through ticks, proposals, elections, message
delivery in any order, loss, duplication, partitions, restarts from storage, log
compaction and membership changes (one node at a time, and joint consensus through
`propose_membership_change`). Each node runs the application loop a correct user
writes, the explorer's own (`checks/cluster/app.py`), over the explorer's in-memory
network (`checks/cluster/network.py`): persist the Ready's snapshot, entries and hard
state, put its messages in the network, apply committed entries (conf changes
included, as raft-rs's tests do: `apply_conf_change` for single-node changes,
`raft.begin_membership_change` / `raft.finalize_membership_change` for joint
consensus), persist the new membership, then `advance`.

After every step the model's safety invariants are checked on what each node reports
of itself (role, term, vote, commit, log), through the checker the conformance
protocol mode uses (checks/conformance/safety.py), so a failure names the model's
rule: ElectionSafety (over the whole run), LogMatching, StateMachineSafety,
CommitMonotonic, CommittedEntriesStable, and TermMonotonic and OneVotePerTerm per
node. Beside them, every node applies exactly the one history of committed entries,
in order, without gaps.

Everything is deterministic: the nodes' election timeouts come from `Config.seed`
(drawn by hypothesis), and the CI run is derandomized.

raft_ref reproduces raft-rs 0.6.0-alpha, and some paths of that version panic or
stall for reasons outside these properties. The machine steers around each with a
comment naming it (learner promotion by joint consensus; campaigning while not a
voter; MemStorage's snapshot term label, #408; finished membership changes that
storage and snapshot restore never forget), and the `test_quirk_*` tests at the end
pin down that each one does fail that way.
"""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from checks.cluster import app as app_loop
from checks.cluster.network import MessageKey, Network, Partition
from checks.conformance.safety import Observation, SafetyChecker
from raft_ref.config import Config
from raft_ref.eraftpb import (
    ConfChange,
    ConfChangeType,
    ConfState,
    Entry,
    Message,
    MessageType,
    Snapshot,
    SnapshotMetadata,
    decode_conf_change,
)
from raft_ref.errors import Error, NoPendingMembershipChange, RaftPanic, SnapshotOutOfDate
from raft_ref.raft import Raft, StateRole
from raft_ref.raw_node import RawNode
from raft_ref.storage import MemStorage
from tests import harness
from tests.test_util import new_message

# Node ids the cluster may ever use; the initial members are 1..size.
MAX_ID = 6
ID_POOL = list(range(1, MAX_ID + 1))
# Deliveries one `deliver_all` step makes at most (replies included).
FLUSH_BUDGET = 150
EntryKey = tuple[int, int, int, bytes, bytes, bool]


class LogTermMemStorage(MemStorage):
    """MemStorage whose snapshots carry the term of the entry at their index.

    Known raft-rs 0.6.0-alpha bug (#408, fixed by #409), worked around: MemStorage
    labels a snapshot with the hard state's term. A node can then be sent a second
    snapshot at the index it already holds but with another label; the label does
    not match its log, so Raft installs it again and `MemStorage::apply_snapshot`
    refuses it with SnapshotOutOfDate (an `unwrap` panic in the raft-rs examples).
    """

    def snapshot(self, request_index: int) -> Snapshot:
        snap = super().snapshot(request_index)
        snap.metadata.term = self.term(snap.metadata.index)
        return snap


class AppNode:
    """One machine: a RawNode, its storage, and the application state beside it."""

    def __init__(self, node_id: int, store: MemStorage, config: Config) -> None:
        self.id = node_id
        self.store = store
        self.config = config
        self.node: RawNode[MemStorage] = RawNode(config, store)
        # The application's applied index survives restarts, as its state machine would.
        self.applied_index = config.applied or store.rl().snapshot_metadata.index

    def restart(self) -> None:
        """Crash and restart: only the storage and the applied state survive."""
        config = self.config.clone()
        config.applied = self.node.raft.raft_log.applied
        self.node = RawNode(config, self.store)


class ClusterMachine(RuleBasedStateMachine):
    """Rules are the environment's moves; invariants are Raft's safety properties."""

    def __init__(self) -> None:
        super().__init__()
        self.nodes: dict[int, AppNode] = {}
        # The messages in flight, and the partition (one side named), if any.
        self.network = Network()
        self.safety = SafetyChecker()
        # The history of committed entries, as the applications applied them.
        self.committed: dict[int, EntryKey] = {}
        self.proposals = 0
        self.config_template = Config()

    # --- The application loop ------------------------------------------------------

    def handle_ready(self, node_id: int) -> None:
        """One turn of the application loop on `node_id`: handle one Ready, if any,
        through the shared loop (`checks.cluster.app.process_ready`).

        One Ready per event, as an application's event loop does, each reported applied
        (`RawNode::advance`): a leader in the joint state appends another Finalize on
        every `advance` until one is applied (raft-rs #349), so "until nothing is ready"
        would never end. A finished membership change is forgotten (by the storage at
        Finalize, by the node after a snapshot without one), which raft-rs never does
        (QUIRKS.md section 5).
        """
        app = self.nodes[node_id]
        node = app.node
        if not node.has_ready():
            return
        rd = node.ready()
        refused = app_loop.process_ready(node, rd, advance_every_ready=True)
        self.network.send(rd.messages)
        if not rd.snapshot.is_empty():
            self.install_snapshot(app, rd.snapshot.metadata.index)
        committed = rd.committed_entries or []
        for entry in committed:
            self.record_applied(app, entry)
        self.judge_refused(committed, refused)

    def install_snapshot(self, app: AppNode, index: int) -> None:
        # The snapshot stands for the state machine at `index`: entries up to it are
        # committed, so the application's state jumps there.
        assert index >= app.applied_index, (
            f"node {app.id} installed a snapshot at {index} behind its applied "
            f"index {app.applied_index}"
        )
        app.applied_index = index

    def record_applied(self, app: AppNode, entry: Entry) -> None:
        assert entry.index == app.applied_index + 1, (
            f"node {app.id} applies entry {entry.index} after {app.applied_index}"
        )
        self.record_committed(app.id, entry.index, entry.key())
        app.applied_index = entry.index

    def judge_refused(self, committed: list[Entry], refused: list[tuple[int, Error]]) -> None:
        # A refused Begin is refused by every node alike (same configuration at the
        # same index), so the application may skip it; a repeated Finalize finds
        # nothing pending (raft-rs #349): harmless. Any other refused Finalize fails.
        by_index = {entry.index: entry for entry in committed}
        for index, error in refused:
            cc = decode_conf_change(by_index[index].data)
            finalize = cc.change_type == ConfChangeType.FinalizeMembershipChange
            if finalize and not isinstance(error, NoPendingMembershipChange):
                raise error

    # --- Setting up ----------------------------------------------------------------

    @initialize(
        size=st.integers(3, 5),
        seed=st.integers(0, 2**32 - 1),
        pre_vote=st.booleans(),
        check_quorum=st.booleans(),
        elect_first=st.booleans(),
    )
    def start_cluster(
        self, size: int, seed: int, pre_vote: bool, check_quorum: bool, elect_first: bool
    ) -> None:
        self.config_template = Config(
            election_tick=4,
            heartbeat_tick=1,
            pre_vote=pre_vote,
            check_quorum=check_quorum,
            seed=seed,
        )
        members = list(range(1, size + 1))
        for node_id in members:
            self.spawn(node_id, LogTermMemStorage.new_with_conf_state((members, [])))
        if elect_first:
            # Half of the runs start from a settled leader, so that the steps go to
            # replication and membership changes rather than to the first election.
            self.campaign(0)
            self.deliver_all()

    def spawn(self, node_id: int, store: MemStorage) -> None:
        config = self.config_template.clone()
        config.id = node_id
        config.tag = str(node_id)
        self.nodes[node_id] = AppNode(node_id, store, config)

    def ensure_exists(self, node_id: int) -> None:
        """A machine joining the cluster starts with empty storage, knowing nobody;
        the leader catches it up with a snapshot."""
        if node_id not in self.nodes:
            self.spawn(node_id, LogTermMemStorage())

    def leaders(self) -> list[int]:
        return [i for i, a in sorted(self.nodes.items()) if a.node.raft.state is StateRole.Leader]

    def pick(self, ids: list[int], choice: int) -> int:
        return ids[choice % len(ids)]

    # --- Time and elections --------------------------------------------------------

    @rule(choice=st.integers(0, MAX_ID), ticks=st.integers(1, 8))
    def tick(self, choice: int, ticks: int) -> None:
        node_id = self.pick(sorted(self.nodes), choice)
        for _ in range(ticks):
            self.nodes[node_id].node.tick()
            self.handle_ready(node_id)

    @rule()
    def tick_everyone(self) -> None:
        for node_id in sorted(self.nodes):
            self.nodes[node_id].node.tick()
            self.handle_ready(node_id)

    @rule(choice=st.integers(0, MAX_ID))
    def campaign(self, choice: int) -> None:
        """The node's election timer fires (as if it ticked long enough)."""
        node_id = self.pick(sorted(self.nodes), choice)
        # Only voters have an election timer (`tick_election` checks `promotable`).
        # Known raft-rs 0.6.0-alpha quirk, excluded: `RawNode::campaign` (MsgHup) does
        # not check it, so a removed node can campaign, win the votes of its stale
        # configuration and panic in `become_leader` on its own missing progress.
        if not self.nodes[node_id].node.raft.promotable():
            return
        with contextlib.suppress(Error):
            self.nodes[node_id].node.campaign()
        self.handle_ready(node_id)

    # --- Proposals -----------------------------------------------------------------

    @rule(choice=st.integers(0, MAX_ID))
    def propose(self, choice: int) -> None:
        node_id = self.pick(sorted(self.nodes), choice)
        self.proposals += 1
        with contextlib.suppress(Error):
            self.nodes[node_id].node.propose(b"", b"value %d" % self.proposals)
        self.handle_ready(node_id)

    @precondition(lambda self: bool(self.leaders()))
    @rule(
        choice=st.integers(0, MAX_ID),
        subject=st.sampled_from(ID_POOL),
        change=st.sampled_from(
            [ConfChangeType.AddNode, ConfChangeType.AddLearnerNode, ConfChangeType.RemoveNode]
        ),
    )
    def propose_single_change(self, choice: int, subject: int, change: ConfChangeType) -> None:
        """A leader proposes adding a voter or learner, or removing a node."""
        leader_id = self.pick(self.leaders(), choice)
        conf = self.nodes[leader_id].node.raft.prs().configuration
        members = conf.voters | conf.learners
        if change == ConfChangeType.RemoveNode:
            if subject not in members or len(conf.voters - {subject}) == 0:
                return
        elif change == ConfChangeType.AddLearnerNode:
            # A voter is never turned into a learner.
            if subject in members:
                return
        elif subject in conf.voters:
            return
        self.ensure_exists(subject)
        cc = ConfChange(change_type=change, node_id=subject)
        with contextlib.suppress(Error):
            self.nodes[leader_id].node.propose_conf_change(b"", cc)
        self.handle_ready(leader_id)

    @precondition(lambda self: bool(self.leaders()))
    @rule(
        choice=st.integers(0, MAX_ID),
        voters=st.sets(st.sampled_from(ID_POOL), min_size=1),
        learners=st.sets(st.sampled_from(ID_POOL)),
    )
    def propose_joint_change(self, choice: int, voters: set[int], learners: set[int]) -> None:
        """A leader proposes moving the whole membership to (voters, learners)."""
        leader_id = self.pick(self.leaders(), choice)
        raft = self.nodes[leader_id].node.raft
        conf = raft.prs().configuration
        learners = learners - voters
        # A correct user never asks to turn a voter into a learner (refused on apply).
        if conf.voters & learners:
            return
        # Known raft-rs 0.6.0-alpha bug, excluded here: a learner promoted to voter by
        # joint consensus loses its progress when Finalize is applied
        # (ProgressSet::finalize_membership_change drops every node that is not in the
        # same role in both configurations), and the leader's next commit panics on
        # the missing progress. raft_ref keeps the upstream behaviour.
        if conf.learners & voters:
            return
        for node_id in sorted(voters | learners):
            self.ensure_exists(node_id)
        with contextlib.suppress(Error):
            raft.propose_membership_change((sorted(voters), sorted(learners)))
        self.handle_ready(leader_id)

    # --- The network ---------------------------------------------------------------

    def reachable(self, m: Message) -> bool:
        return m.to in self.nodes and not self.network.blocked(m)

    def pick_message(self, choice: int) -> MessageKey:
        """The message at position `choice` (modulo the copies in flight)."""
        return self.network.key_at(choice % self.network.in_flight())

    def deliver_at(self, position: int) -> None:
        m = self.network.take(self.network.key_at(position))
        if not self.reachable(m):
            return
        # Errors (a response from an unknown peer, a dropped proposal) are the
        # node refusing the message; the application carries on.
        with contextlib.suppress(Error):
            self.nodes[m.to].node.step(m)
        self.handle_ready(m.to)

    @precondition(lambda self: bool(self.network))
    @rule(choice=st.integers(0, 10_000))
    def deliver(self, choice: int) -> None:
        self.deliver_at(choice % self.network.in_flight())

    @rule()
    def deliver_all(self) -> None:
        """Deliver in-flight messages in order, replies included, up to a budget."""
        for _ in range(FLUSH_BUDGET):
            if not self.network:
                return
            self.deliver_at(0)

    @precondition(lambda self: bool(self.network))
    @rule(choice=st.integers(0, 10_000))
    def drop(self, choice: int) -> None:
        self.network.take(self.pick_message(choice))

    @precondition(lambda self: bool(self.network))
    @rule(choice=st.integers(0, 10_000))
    def duplicate(self, choice: int) -> None:
        self.network.duplicate(self.pick_message(choice))

    @rule(side=st.frozensets(st.sampled_from(ID_POOL), min_size=1, max_size=MAX_ID - 1))
    def partition_network(self, side: frozenset[int]) -> None:
        self.network.partition = Partition([side])

    @rule()
    def heal(self) -> None:
        self.network.partition = None

    # --- Machines ------------------------------------------------------------------

    @rule(choice=st.integers(0, MAX_ID))
    def restart(self, choice: int) -> None:
        node_id = self.pick(sorted(self.nodes), choice)
        # A crash between two events may lose a Ready not yet handled (one Ready is
        # handled per event): the node's history goes on from what it persisted.
        self.safety.restarted(node_id, durable_observation(self.nodes[node_id].store))
        self.nodes[node_id].restart()
        self.handle_ready(node_id)

    @rule(choice=st.integers(0, MAX_ID))
    def compact(self, choice: int) -> None:
        """The application compacts its log up to what it has applied."""
        node_id = self.pick(sorted(self.nodes), choice)
        app = self.nodes[node_id]
        applied = app.node.raft.raft_log.applied
        if applied > app.store.rl().first_index():
            app.store.wl().compact(applied)

    # --- Safety --------------------------------------------------------------------

    def record_committed(self, node_id: int, index: int, key: EntryKey) -> None:
        """What the application applies is the one history of committed entries."""
        known = self.committed.setdefault(index, key)
        assert known == key, (
            f"state machine safety: node {node_id} applied {key} at {index}, "
            f"but {known} was committed there"
        )

    @invariant()
    def raft_safety_rules(self) -> None:
        """The model's safety invariants, on what every node reports of itself."""
        observed = {node_id: observation(app.node.raft) for node_id, app in self.nodes.items()}
        self.safety.observe("after the last step", observed)


def observation(raft: Raft[MemStorage]) -> Observation:
    log = raft.raft_log
    first, last = log.first_index(), log.last_index()
    terms = tuple(log.term(i) for i in range(first, last + 1))
    return Observation(raft.state.name, raft.term, raft.vote, log.committed, first, terms)


def durable_observation(store: MemStorage) -> Observation:
    """What a node has persisted: its hard state and the log in its storage."""
    core = store.rl()
    hs = core.raft_state.hard_state
    first, last = core.first_index(), core.last_index()
    terms = tuple(store.term(i) for i in range(first, last + 1))
    return Observation("Follower", hs.term, hs.vote, hs.commit, first, terms)


ClusterMachine.TestCase.settings = settings(stateful_step_count=40, derandomize=True)
TestClusterStateful = ClusterMachine.TestCase


@pytest.mark.slow
def test_cluster_stateful_long() -> None:
    run_state_machine_as_test(
        ClusterMachine, settings=settings(settings.get_profile("dev"), stateful_step_count=100)
    )


# --- The upstream quirks the machine steers around, pinned down -------------------------
# raft_ref keeps raft-rs 0.6.0-alpha's behaviour; these tests show that each path the
# machine excludes really does fail the way its comment says.


def test_quirk_campaign_of_a_removed_node_panics_when_it_wins() -> None:
    nt = harness.Network.new([None, None, None])
    nt.send([new_message(1, 1, MessageType.MsgHup, 0)])
    for node_id in (1, 2, 3):
        nt.peers[node_id].remove_node(3)
    assert not nt.peers[3].promotable()
    # MsgHup does not check `promotable`: node 3 asks 1 and 2, both grant, and it
    # becomes leader with no progress for itself.
    with pytest.raises(RaftPanic):
        nt.send([new_message(3, 3, MessageType.MsgHup, 0)])


def test_quirk_mem_storage_keeps_a_finished_membership_change() -> None:
    store = MemStorage.new_with_conf_state(([1, 2, 3], []))
    core = store.wl()
    core.set_conf_state(ConfState([1, 2, 3], []), (ConfState([1, 2], []), 3))
    # Finalize applied: the application records the new membership, but cannot say
    # that nothing is pending any more.
    core.set_conf_state(ConfState([1, 2], []))
    assert store.initial_state().pending_conf_state == ConfState([1, 2], [])
    assert store.snapshot(0).metadata.pending_membership_change_index == 3
    restarted = Raft(Config(id=1), store)
    assert restarted.is_in_membership_change()
    assert restarted.began_membership_change_at() == 3


def test_quirk_relabelled_snapshot_at_a_held_index_is_refused_by_mem_storage() -> None:
    store = MemStorage.new_with_conf_state(([1, 2], []))
    held = Snapshot(metadata=SnapshotMetadata(conf_state=ConfState([1, 2], []), index=7, term=4))
    store.wl().apply_snapshot(held)
    raft = Raft(Config(id=1), store)
    # The same index under another term label (MemStorage labels snapshots with the
    # sender's current term, raft-rs #408): the label does not match the log, so
    # Raft installs it ...
    relabelled = Snapshot(
        metadata=SnapshotMetadata(conf_state=ConfState([1, 2], []), index=7, term=6)
    )
    assert raft.restore(relabelled)
    # ... and the storage refuses to persist it.
    with pytest.raises(SnapshotOutOfDate):
        store.wl().apply_snapshot(relabelled)


def test_quirk_snapshot_without_a_pending_change_keeps_the_old_one() -> None:
    raft = Raft(Config(id=1), MemStorage.new_with_conf_state(([1, 2, 3], [])))
    begin = ConfChange(
        change_type=ConfChangeType.BeginMembershipChange,
        configuration=ConfState([1, 2, 3, 4], []),
        start_index=2,
    )
    raft.begin_membership_change(begin)
    # The cluster finalized meanwhile; this node catches up by snapshot.
    meta = SnapshotMetadata(conf_state=ConfState([1, 2, 3, 4], []), index=10, term=2)
    assert raft.restore(Snapshot(metadata=meta))
    assert not raft.is_in_membership_change()
    assert raft.began_membership_change_at() == 2
    # So the cluster's next change trips the "one change at a time" assertion.
    begin.configuration = ConfState([1, 2, 3], [])
    begin.start_index = 11
    with pytest.raises(RaftPanic):
        raft.begin_membership_change(begin)
