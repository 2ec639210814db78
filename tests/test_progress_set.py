"""Ports of raft-rs's unit tests in src/progress/progress_set.rs, and ProgressSet behaviour
that raft.rs relies on (errors, ascending iteration, snapshots, joint consensus)."""

import pytest

from raft_ref.eraftpb import ConfState, SnapshotMetadata
from raft_ref.errors import (
    ConfigInvalid,
    Error,
    Exists,
    NoPendingMembershipChange,
    NotExists,
    RaftPanic,
    ViolatesContract,
)
from raft_ref.progress import (
    CandidacyStatus,
    Configuration,
    Progress,
    ProgressSet,
    ProgressState,
    majority,
)

CANARY = 123


def canary_progress() -> Progress:
    pr = Progress(0, 256)
    pr.matched = CANARY
    return pr


def test_insert_redundant_voter():
    s = ProgressSet()
    default_progress = Progress(0, 256)
    s.insert_voter(1, default_progress.clone())
    with pytest.raises(Error):
        s.insert_voter(1, canary_progress())
    assert s.get(1) == default_progress


def test_insert_redundant_learner():
    s = ProgressSet()
    default_progress = Progress(0, 256)
    s.insert_learner(1, default_progress.clone())
    with pytest.raises(Error):
        s.insert_learner(1, canary_progress())
    assert s.get(1) == default_progress


def test_insert_learner_that_is_voter():
    s = ProgressSet()
    default_progress = Progress(0, 256)
    s.insert_voter(1, default_progress.clone())
    with pytest.raises(Error):
        s.insert_learner(1, canary_progress())
    assert s.get(1) == default_progress


def test_insert_voter_that_is_learner():
    s = ProgressSet()
    default_progress = Progress(0, 256)
    s.insert_learner(1, default_progress.clone())
    with pytest.raises(Error):
        s.insert_voter(1, canary_progress())
    assert s.get(1) == default_progress


def test_promote_learner():
    s = ProgressSet()
    s.insert_voter(1, Progress(0, 256))
    pre = s.get(1).clone()
    with pytest.raises(Error):
        s.promote_learner(1)
    with pytest.raises(Error):
        s.promote_learner(2)
    assert s.get(1) == pre


def check_membership_change_configuration(start, end):
    start_voters, start_learners = set(start[0]), set(start[1])
    end_voters, end_learners = set(end[0]), set(end[1])
    s = ProgressSet()
    default_progress = Progress(0, 10)
    for id in start_voters:
        s.insert_voter(id, default_progress.clone())
    for id in start_learners:
        s.insert_learner(id, default_progress.clone())
    s.begin_membership_change(Configuration.new(end_voters, end_learners), default_progress)
    assert s.is_in_membership_change()
    assert s.voter_ids() == start_voters | end_voters, "Transition state voters inaccurate"
    assert s.learner_ids() == start_learners | end_learners, "Transition state learners inaccurate"

    s.finalize_membership_change()
    assert not s.is_in_membership_change()
    assert s.voter_ids() == end_voters, "End state voters inaccurate"
    assert s.learner_ids() == end_learners, "End state learners inaccurate"


def test_membership_change_configuration_remove_voter():
    check_membership_change_configuration(([1, 2], []), ([1], []))


def test_membership_change_configuration_remove_learner():
    check_membership_change_configuration(([1], [2]), ([1], []))


def test_membership_change_configuration_conflicting_sets():
    with pytest.raises(Error):
        check_membership_change_configuration(([1], []), ([1], [1]))


def test_membership_change_configuration_empty_sets():
    with pytest.raises(Error):
        check_membership_change_configuration(([], []), ([], []))


def test_membership_change_configuration_empty_voters():
    with pytest.raises(Error):
        check_membership_change_configuration(([1], []), ([], []))


def test_membership_change_configuration_add_voter():
    check_membership_change_configuration(([1], []), ([1, 2], []))


def test_membership_change_configuration_add_learner():
    check_membership_change_configuration(([1], []), ([1], [2]))


def test_membership_change_configuration_promote_learner():
    check_membership_change_configuration(([1], [2]), ([1, 2], []))


# --- Beyond the upstream unit tests ----------------------------------------------------


def progress_set(voters, learners=(), matched=None) -> ProgressSet:
    s = ProgressSet()
    for id in voters:
        s.insert_voter(id, Progress(1, 256))
    for id in learners:
        s.insert_learner(id, Progress(1, 256))
    for id, m in (matched or {}).items():
        s.get(id).matched = m
    return s


def test_majority():
    assert [majority(n) for n in range(8)] == [1, 1, 2, 2, 3, 3, 4, 4]


def test_errors_name_the_set_like_raft_rs():
    s = progress_set([1], [2])
    with pytest.raises(Exists) as err:
        s.insert_voter(2, Progress(1, 4))
    assert (err.value.id, err.value.set_name) == (2, "learners")
    with pytest.raises(Exists) as err:
        s.insert_learner(1, Progress(1, 4))
    assert (err.value.id, err.value.set_name) == (1, "voters")
    with pytest.raises(NotExists) as err:
        s.promote_learner(3)
    assert (err.value.id, err.value.set_name) == (3, "learners")
    with pytest.raises(Exists) as err:
        s.begin_membership_change(Configuration([2], [1]), Progress(1, 4))
    assert (err.value.id, err.value.set_name) == (1, "learners"), "a voter cannot be demoted"
    with pytest.raises(ConfigInvalid, match="at least one voter"):
        s.begin_membership_change(Configuration([], [1]), Progress(1, 4))
    with pytest.raises(NoPendingMembershipChange):
        s.finalize_membership_change()


def test_changes_refused_while_joint():
    s = progress_set([1, 2])
    s.begin_membership_change(Configuration([1, 2, 3]), Progress(5, 4))
    for change in (
        lambda: s.insert_voter(9, Progress(1, 4)),
        lambda: s.remove(2),
        lambda: s.promote_learner(2),
    ):
        with pytest.raises(ViolatesContract, match="pending membership change"):
            change()
    with pytest.raises(ViolatesContract) as err:
        s.insert_learner(9, Progress(1, 4))
    assert err.value.contract == "There is a pending membership change"


def test_remove_and_promote():
    s = progress_set([1, 2], [3])
    s.promote_learner(3)
    assert s.voter_ids() == {1, 2, 3} and s.learner_ids() == set()
    removed = s.remove(2)
    assert removed is not None and removed.next_idx == 1
    assert s.remove(7) is None
    assert s.voter_ids() == {1, 3} and s.get(2) is None


def test_iteration_is_in_ascending_id_order():
    s = ProgressSet()
    for id in (9, 3, 7, 1):
        s.insert_voter(id, Progress(1, 4))
    for id in (8, 2):
        s.insert_learner(id, Progress(1, 4))
    assert [id for id, _ in s.iter()] == [1, 2, 3, 7, 8, 9]
    assert [id for id, _ in s.voters()] == [1, 3, 7, 9]
    assert [id for id, _ in s.learners()] == [2, 8]
    assert list(s.voter_ids()) == [1, 3, 7, 9]
    assert len(s.iter()) == 6
    s.begin_membership_change(Configuration([16, 9, 8, 1], [5]), Progress(1, 4))
    assert [id for id, _ in s.iter()] == [1, 2, 3, 5, 7, 8, 9, 16]
    assert list(s.voter_ids()) == [1, 3, 7, 8, 9, 16]
    assert list(s.learner_ids()) == [2, 5, 8]
    assert s.configuration.to_conf_state() == ConfState(nodes=[1, 3, 7, 9], learners=[2, 8])


def test_begin_membership_change_marks_new_peers_active():
    s = progress_set([1, 2], matched={1: 4, 2: 4})
    template = Progress(5, 256)
    template.paused = True
    s.begin_membership_change(ConfState(nodes=[1, 2, 3], learners=[4]), template)
    assert template.paused and not template.recent_active, "the caller's progress is untouched"
    for id in (3, 4):
        pr = s.get(id)
        assert pr.recent_active and not pr.paused and pr.next_idx == 5 and pr.matched == 0
    assert s.get(1).matched == 4, "existing peers keep their progress"
    assert s.get(3) is not s.get(4)


def test_finalize_membership_change_drops_departed_peers():
    s = progress_set([1, 2, 3], [4])
    s.begin_membership_change(Configuration([1, 2, 5], []), Progress(1, 256))
    s.finalize_membership_change()
    assert [id for id, _ in s.iter()] == [1, 2, 5]
    assert s.configuration == Configuration.new([1, 2, 5], [])
    assert s.next_configuration is None


def test_finalize_of_promotion_loses_the_promoted_progress():
    # raft-rs removes the progress of every learner that is not a learner of the next
    # configuration, promoted ones included; the commit rule then has no progress to read.
    s = progress_set([1, 2], [3])
    s.begin_membership_change(Configuration([1, 2, 3], []), Progress(1, 256))
    s.finalize_membership_change()
    assert s.voter_ids() == {1, 2, 3}
    assert s.get(3) is None
    with pytest.raises(RaftPanic, match="no progress for voter 3"):
        s.maximal_committed_index()


def test_maximal_committed_index():
    s = progress_set([1, 2, 3, 4, 5], matched={1: 2, 2: 2, 3: 2, 4: 4, 5: 5})
    assert s.maximal_committed_index() == 2
    s = progress_set([1, 2, 3, 4], matched={1: 7, 2: 5, 3: 3, 4: 1})
    assert s.maximal_committed_index() == 3, "4 voters need 3 acknowledgements"


def test_maximal_committed_index_while_joint_is_the_smaller():
    s = progress_set([1, 2, 3], matched={1: 9, 2: 9, 3: 1})
    s.begin_membership_change(Configuration([1, 4, 5]), Progress(1, 256))
    assert s.maximal_committed_index() == 0
    s.get(4).matched = 6
    assert s.maximal_committed_index() == 6
    s.get(5).matched = 8
    assert s.maximal_committed_index() == 8


def test_maximal_committed_index_without_voters_panics():
    with pytest.raises(RaftPanic):
        ProgressSet().maximal_committed_index()


def test_candidacy_status():
    s = progress_set([1, 2, 3])
    assert s.candidacy_status({1: True}) is CandidacyStatus.Eligible
    assert s.candidacy_status({1: True, 2: True}) is CandidacyStatus.Elected
    assert s.candidacy_status({1: True, 2: False, 3: False}) is CandidacyStatus.Ineligible
    s.begin_membership_change(Configuration([4, 5, 6]), Progress(1, 256))
    assert s.candidacy_status({1: True, 2: True}) is CandidacyStatus.Eligible
    assert s.candidacy_status({1: True, 2: True, 4: True, 5: True}) is CandidacyStatus.Elected
    assert s.candidacy_status({1: True, 2: True, 4: False, 5: False}) is (
        CandidacyStatus.Ineligible
    )


def test_quorum_recently_active_clears_activity():
    s = progress_set([1, 2, 3], [4])
    for _, pr in s.iter():
        pr.recent_active = True
    assert s.quorum_recently_active(1)
    assert [pr.recent_active for _, pr in s.iter()] == [True, False, False, False]
    assert not s.quorum_recently_active(1), "only the leader itself is active now"
    s.get(3).recent_active = True
    assert s.quorum_recently_active(1)


def test_has_quorum_while_joint_needs_both():
    s = progress_set([1, 2, 3])
    assert s.has_quorum({1, 2})
    s.begin_membership_change(Configuration([3, 4, 5]), Progress(1, 256))
    assert not s.has_quorum({1, 2})
    assert s.has_quorum({1, 3, 4})


def test_restore_snapmeta():
    meta = SnapshotMetadata(conf_state=ConfState(nodes=[3, 1, 2], learners=[5]), index=10)
    s = ProgressSet.restore_snapmeta(meta, 11, 256)
    assert [id for id, _ in s.iter()] == [1, 2, 3, 5]
    assert all(
        pr.next_idx == 11 and pr.matched == 0 and pr.state is ProgressState.Probe
        for _, pr in s.iter()
    )
    assert not s.is_in_membership_change()


def test_restore_snapmeta_with_pending_change():
    meta = SnapshotMetadata(
        conf_state=ConfState(nodes=[1, 2, 3]),
        pending_membership_change=ConfState(nodes=[2, 3, 4]),
        pending_membership_change_index=7,
        index=10,
    )
    s = ProgressSet.restore_snapmeta(meta, 11, 256)
    assert s.next_configuration == Configuration([2, 3, 4], [])
    assert s.voter_ids() == {1, 2, 3, 4}


def test_restore_snapmeta_gives_small_windows_rust_clone_capacity():
    meta = SnapshotMetadata(conf_state=ConfState(nodes=[1, 2]), index=3)
    s = ProgressSet.restore_snapmeta(meta, 4, 2)
    assert [pr.ins.cap() for _, pr in s.iter()] == [4, 4]


def test_restore_snapmeta_of_joint_promotion_panics():
    # raft-rs asserts voters + learners == progresses; a promoted learner counts twice.
    meta = SnapshotMetadata(
        conf_state=ConfState(nodes=[1], learners=[2]),
        pending_membership_change=ConfState(nodes=[1, 2]),
        pending_membership_change_index=5,
        index=6,
    )
    with pytest.raises(RaftPanic):
        ProgressSet.restore_snapmeta(meta, 7, 256)


def test_restore_snapmeta_pending_index_without_configuration():
    # raft-rs reads the absent pending configuration as an empty one.
    meta = SnapshotMetadata(
        conf_state=ConfState(nodes=[1]), pending_membership_change_index=3, index=4
    )
    s = ProgressSet.restore_snapmeta(meta, 5, 256)
    assert s.next_configuration == Configuration([], [])


def test_clone_is_independent():
    s = progress_set([1, 2, 3], [4], matched={1: 3})
    copy = s.clone()
    copy.get(1).matched = 9
    copy.get(2).become_replicate()
    copy.get(2).ins.add(5)
    copy.insert_voter(6, Progress(1, 256))
    assert s.get(1).matched == 3
    assert s.get(2).state is ProgressState.Probe and s.get(2).ins.count == 0
    assert s.voter_ids() == {1, 2, 3} and s.get(6) is None
    copy.begin_membership_change(Configuration([1, 2]), Progress(1, 256))
    assert not s.is_in_membership_change()


def test_configuration_valid_and_conversion():
    Configuration([1, 2], [3]).valid()
    with pytest.raises(Exists) as err:
        Configuration([1, 2, 3], [3, 2]).valid()
    assert err.value.id == 2
    cs = ConfState(nodes=[3, 1], learners=[2])
    conf = Configuration.from_conf_state(cs)
    assert conf == Configuration({1, 3}, {2})
    assert conf.to_conf_state() == ConfState(nodes=[1, 3], learners=[2])
    assert conf.contains(2) and not conf.contains(4)
