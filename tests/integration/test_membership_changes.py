"""raft-rs `harness/tests/integration_cases/test_membership_changes.rs`, ported: joint
consensus (Begin/FinalizeMembershipChange) driven step by step through a test network.

Naming: upstream groups these tests in Rust modules; the upstream test `module::name`
is the module-level function `test_<module>__<name>` here (double underscore between
module and test name), e.g. `three_peers_add_voter::stable` is
`test_three_peers_add_voter__stable`.

Most tests follow one pattern: elect node 1 in the old configuration, create the nodes
the new configuration adds, propose the Begin entry (index 3), let it commit, apply it
on each node (entering the joint configuration), then let the leader's Finalize entry
(index 4, or 5 after a re-election) commit and apply it everywhere. The `Scenario` of
tests/harness/membership.py does the hand-driving: it reads messages from named peers in
a chosen order and applies conf-change entries the way the upstream harness does (on
commit).
"""

from __future__ import annotations

import contextlib

import pytest

from raft_ref.eraftpb import EntryType
from raft_ref.errors import Error
from raft_ref.progress import Configuration
from raft_ref.raft import INVALID_ID
from raft_ref.storage import MemStorage
from tests.harness.membership import (
    BEGIN,
    FINALIZE,
    Scenario,
    begin_conf_change,
    enter_joint_on_leader_and_followers,
    finalize_conf_change,
    new_raft,
    spin_heartbeats,
    tick_past_election_timeout,
    tick_past_heartbeat_timeout,
    tick_times,
)

Membership = tuple[list[int], list[int]]


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
    s.propose_change()
    enter_joint_on_leader_and_followers(s, [2, 3])

    # The new voter catches up: snapshot, then the entries after it.
    s.deliver_and_apply([4, 1, 4, 1], [4], 3, BEGIN, [1, 2, 3, 4])

    # Leaving the joint configuration.
    s.deliver_and_apply([3, 2, 1], [1, 2, 3, 4], 4, FINALIZE, [1, 2, 3, 4])


# --- three_peers_add_learner ----------------------------------------------------------


def test_three_peers_add_learner__stable() -> None:
    s = Scenario(1, ([1, 2, 3], []), ([1, 2, 3], [4]))
    s.propose_change()
    enter_joint_on_leader_and_followers(s, [2, 3])

    s.deliver_and_apply([4, 1, 4, 1], [4], 3, BEGIN, [1, 2, 3, 4])

    s.deliver_and_apply([3, 2, 1], [1, 2, 3, 4], 4, FINALIZE, [1, 2, 3, 4])


# --- remove_learner -------------------------------------------------------------------


def test_remove_learner__stable() -> None:
    s = Scenario(1, ([1, 2, 3], [4]), ([1, 2, 3], []))
    s.propose_change()

    s.deliver_and_apply([1, 2, 3, 4], [1], 3, BEGIN, [1])

    s.deliver_and_apply([1], [2, 3, 4], 3, BEGIN, [1, 2, 3])

    s.deliver_and_apply([4, 3, 2, 1], [1, 2, 3, 4], 4, FINALIZE, [1, 2, 3, 4])


# --- remove_voter ---------------------------------------------------------------------


def test_remove_voter__stable() -> None:
    s = Scenario(1, ([1, 2, 3], []), ([1, 2], []))
    s.propose_change()
    enter_joint_on_leader_and_followers(s, [2, 3])

    s.deliver_and_apply([2, 1], [1, 2], 4, FINALIZE, [1, 2])


# --- remove_leader --------------------------------------------------------------------


def test_remove_leader__stable() -> None:
    new_configuration: Membership = ([2, 3], [])
    s = Scenario(1, ([1, 2, 3], []), new_configuration)
    s.propose_change()
    enter_joint_on_leader_and_followers(s, [2, 3])

    s.deliver_and_apply([2, 3, 1], [1, 2, 3], 4, FINALIZE, [1, 2, 3])
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
    s.propose_change()
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
    s.propose_change()
    enter_joint_on_leader_and_followers(s, [2])

    s.deliver_and_apply([4, 1, 4, 1], [4], 3, BEGIN, [1, 2, 4])

    s.deliver_and_apply([2, 1, 4], [1, 2, 4], 4, FINALIZE, [1, 2, 4])


def test_three_peers_replace_voter__leader_power_cycles_no_compaction() -> None:
    """The leader restarts from storage in the joint state and is re-elected by hand;
    its new term's Finalize lands at index 5."""
    s = Scenario(1, ([1, 2, 3], []), ([1, 2, 4], []))
    s.propose_change()
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

    s.deliver_and_apply([4, 1, 4, 1, 4, 1], [4], 3, BEGIN, [1, 2, 3, 4])

    s.expect_read_and_dispatch_messages_from([4, 3, 2, 1, 4, 3, 2, 1])
    assert s.peers[1].began_membership_change_at() == 3
    s.assert_can_apply_transition_entry_at_index([1, 2, 3, 4], 5, FINALIZE)
    s.assert_not_in_membership_change([1, 2, 4])


def test_three_peers_replace_voter__leader_power_cycles_compacted_log() -> None:
    """As above, but the leader compacts its log to a snapshot before restarting and
    restores that snapshot; the new voter is caught up from it."""
    s = Scenario(1, ([1, 2, 3], []), ([1, 2, 4], []))
    s.propose_change()
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
    s.propose_change()

    s.leader_applies_begin()

    s.isolate(3)

    s.deliver_and_apply([1], [2], 3, BEGIN, [1, 2])

    s.deliver_and_apply([4, 1, 4, 1], [4], 3, BEGIN, [1, 2, 4])

    s.deliver_and_apply([2, 1, 4], [1, 2, 4], 4, FINALIZE, [1, 2, 4])


def test_three_peers_replace_voter__pending_create_with_quorum_fails_after_begin() -> None:
    """The voter being added fails after Begin: 1 and 2 are a quorum of both."""
    s = Scenario(1, ([1, 2, 3], []), ([1, 2, 4], []))
    s.propose_change()

    s.leader_applies_begin()

    s.isolate(4)

    s.deliver_and_apply([1], [2, 3], 3, BEGIN, [1, 2, 3])

    s.deliver_and_apply([2, 1], [1, 2, 3], 4, FINALIZE, [1, 2, 3])


def test_three_peers_replace_voter__pending_create_and_destroy_both_fail() -> None:
    """The voters being added and removed both fail: 1 and 2 still form both quorums."""
    s = Scenario(1, ([1, 2, 3], []), ([1, 2, 4], []))
    s.propose_change()

    s.leader_applies_begin()

    s.isolate(3)
    s.isolate(4)

    s.deliver_and_apply([1], [2], 3, BEGIN, [1, 2])

    s.deliver_and_apply([2, 1], [1, 2], 4, FINALIZE, [1, 2])


def test_three_peers_replace_voter__old_quorum_fails() -> None:
    """Two old voters fail in the joint state: nothing commits until they return."""
    leader = 1
    s = Scenario(leader, ([1, 2, 3], []), ([1, 2, 4], []))
    s.propose_change()

    s.leader_applies_begin()

    s.isolate(3)
    s.isolate(2)

    s.deliver_and_apply([1, 4, 1, 4, 1, 4], [4], 3, BEGIN, [1, 4])
    s.assert_not_in_membership_change([2, 3])

    # Nothing spectacular happens while the old quorum is gone.
    spin_heartbeats(s, leader, deliver=True)
    s.assert_in_membership_change([1, 4])
    s.assert_not_in_membership_change([2, 3])

    s.recover()
    spin_heartbeats(s, leader, deliver=False)

    s.deliver_and_apply([1, 2, 3, 4, 1, 2, 3, 1], [2, 3], 3, BEGIN, [1, 2, 3, 4])

    # The recovered peers acknowledge what they now hold.
    s.expect_read_and_dispatch_messages_from([2, 3])

    s.deliver_and_apply([1], [1, 2, 3, 4], 4, FINALIZE, [1, 2, 3, 4])


def test_three_peers_replace_voter__new_quorum_fails() -> None:
    """Two voters of the new configuration fail in the joint state: the leader waits."""
    leader = 1
    s = Scenario(leader, ([1, 2, 3], []), ([1, 2, 4], []))
    s.propose_change()

    s.leader_applies_begin()

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

    s.deliver_and_apply([1, 2, 3, 4, 1, 2, 4, 1, 4, 1], [2, 3, 4], 3, BEGIN, [1, 2, 3, 4])

    s.expect_read_and_dispatch_messages_from([2, 4])

    s.deliver_and_apply([1], [1, 2, 3, 4], 4, FINALIZE, [1, 2, 3, 4])


# --- three_peers_to_five_with_learner -------------------------------------------------


def test_three_peers_to_five_with_learner__stable() -> None:
    s = Scenario(1, ([1, 2, 3], []), ([1, 2, 3, 4, 5], [6]))
    s.propose_change()
    enter_joint_on_leader_and_followers(s, [2, 3])

    s.deliver_and_apply([4, 5, 6, 1, 4, 5, 6, 1, 4], [4, 5, 6], 3, BEGIN, [1, 2, 3, 4, 5, 6])

    s.deliver_and_apply([3, 2, 1], [1, 2, 3, 4, 5, 6], 4, FINALIZE, [1, 2, 3, 4, 5, 6])


def test_three_peers_to_five_with_learner__minority_old_followers_halt_at_start() -> None:
    """One old voter (3) is down for the whole change."""
    s = Scenario(1, ([1, 2, 3], []), ([1, 2, 3, 4, 5], [6]))
    s.spawn_new_peers()
    s.isolate(3)
    s.propose_change_message()

    s.deliver_and_apply([1, 2], [1], 3, BEGIN, [1])

    s.deliver_and_apply([1], [2], 3, BEGIN, [1, 2])
    s.assert_not_in_membership_change([3])

    s.deliver_and_apply([4, 5, 6, 1, 4, 5, 6, 1], [4, 5, 6], 3, BEGIN, [1, 2, 4, 5, 6])
    s.assert_not_in_membership_change([3])

    s.expect_read_and_dispatch_messages_from([4, 5, 6])

    leader = s.peers[1]
    tick_times(leader, leader.heartbeat_timeout + 1)
    s.deliver_and_apply([2, 1, 4, 5, 6, 1, 4, 5, 6, 1], [1, 2, 4, 5], 4, FINALIZE, [1, 2, 4, 5])
    s.assert_not_in_membership_change([3])


# --- intermingled_config_changes ------------------------------------------------------


def test_intermingled_config_changes__begin_then_add_node() -> None:
    """An AddNode proposed while the joint change is pending becomes an empty entry."""
    s = Scenario(1, ([1, 2, 3], []), ([1, 2, 3, 4], []))
    s.propose_change()

    s.leader_applies_begin()

    # Whether or not stepping reports an error, the entry must not be a conf change.
    with contextlib.suppress(Error):
        s.propose_add_node_message(4)
    entry = s.peers[s.old_leader].raft_log.entries(5, 1)[0]
    assert entry.entry_type == EntryType.EntryNormal

    s.deliver_and_apply([1], [2, 3], 3, BEGIN, [1, 2, 3])

    s.deliver_and_apply([4, 1, 4, 1, 4], [4], 3, BEGIN, [1, 2, 3, 4])

    s.deliver_and_apply([3, 2, 1], [1, 2, 3, 4], 4, FINALIZE, [1, 2, 3, 4])


# --- compaction -----------------------------------------------------------------------


def test_compaction__begin_compact_then_finalize() -> None:
    """The leader compacts its log in the joint state; finalizing still works."""
    s = Scenario(1, ([1, 2, 3], []), ([1, 2, 3], [4]))
    s.propose_change()
    enter_joint_on_leader_and_followers(s, [2, 3])

    s.deliver_and_apply([4, 1, 4, 1], [4], 3, BEGIN, [1, 2, 3, 4])

    s.peers[1].raft_log.store.wl().compact(2)

    s.deliver_and_apply([3, 2, 1], [1, 2, 3, 4], 4, FINALIZE, [1, 2, 3, 4])
