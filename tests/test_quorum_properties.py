"""Quorum functions of ProgressSet against brute force, and Inflights against a list model.

The brute-force side never uses `majority` or sorting: a quorum of a voter set exists
when some subset holding more than half of the voters (enumerated) satisfies the
condition, and the committed index is found by trying every index.
"""

from functools import cache
from itertools import combinations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from raft_ref.errors import RaftPanic
from raft_ref.progress import (
    CandidacyStatus,
    Configuration,
    Inflights,
    Progress,
    ProgressSet,
)

IDS = range(1, 8)
ALL_VOTER_SETS = [frozenset(c) for size in range(1, len(IDS) + 1) for c in combinations(IDS, size)]


@cache
def smallest_majorities(voters: frozenset[int]) -> tuple[frozenset[int], ...]:
    """Every subset of `voters` of the smallest size that is more than half of them."""
    size = 0
    while 2 * size <= len(voters):
        size += 1
    return tuple(frozenset(c) for c in combinations(sorted(voters), size))


def some_majority(voters, holds) -> bool:
    return any(all(holds(id) for id in subset) for subset in smallest_majorities(voters))


def brute_committed(configs, matched) -> int:
    top = max(matched.values(), default=0)
    return max(
        index
        for index in range(top + 1)
        if all(some_majority(c, lambda id, i=index: matched[id] >= i) for c in configs)
    )


def brute_wins(configs, granted) -> bool:
    return all(some_majority(c, lambda id: id in granted) for c in configs)


def brute_candidacy(configs, votes) -> CandidacyStatus:
    granted = {id for id, v in votes.items() if v}
    rejected = {id for id, v in votes.items() if not v}
    if brute_wins(configs, granted):
        return CandidacyStatus.Elected
    # raft-rs gives up once a majority of some configuration refused; a tie in an
    # even-sized group stays Eligible although it can no longer be won.
    if any(some_majority(c, lambda id: id in rejected) for c in configs):
        return CandidacyStatus.Ineligible
    return CandidacyStatus.Eligible


def can_still_win(configs, votes) -> bool:
    granted = {id for id, v in votes.items() if v}
    undecided = sorted(set().union(*configs) - set(votes))
    return any(
        brute_wins(configs, granted | set(extra))
        for size in range(len(undecided) + 1)
        for extra in combinations(undecided, size)
    )


def brute_has_quorum(configs, ids) -> bool:
    return all(some_majority(c, lambda id: id in ids) for c in configs)


def build(voters, learners=(), next_voters=None, next_learners=(), matched=None) -> ProgressSet:
    prs = ProgressSet()
    for id in sorted(voters):
        prs.insert_voter(id, Progress(1, 4))
    for id in sorted(learners):
        prs.insert_learner(id, Progress(1, 4))
    if next_voters is not None:
        prs.begin_membership_change(Configuration(next_voters, next_learners), Progress(1, 4))
    for id, m in (matched or {}).items():
        prs.get(id).matched = m
    return prs


# --- Strategies ---------------------------------------------------------------------

voter_sets = st.sets(st.sampled_from(IDS), min_size=1).map(frozenset)


@st.composite
def memberships(draw):
    """(current voters, current learners, next voters or None, next learners)."""
    voters = draw(voter_sets)
    learners = draw(st.sets(st.sampled_from(IDS)).map(lambda s: frozenset(s - voters)))
    if not draw(st.booleans()):
        return voters, learners, None, frozenset()
    next_voters = draw(voter_sets)
    # A voter may not become a learner; a node is not both in one configuration.
    next_learners = draw(
        st.sets(st.sampled_from(IDS)).map(lambda s: frozenset(s - next_voters - voters))
    )
    return voters, learners, next_voters, next_learners


def active(voters, next_voters):
    return [voters] if next_voters is None else [voters, next_voters]


# --- majority / maximal_committed_index -----------------------------------------------


def test_maximal_committed_index_exhaustive_single_configuration():
    # Every voter set over 7 ids, every matched vector over {0, 1, 2}.
    for voters in ALL_VOTER_SETS:
        ordered = sorted(voters)
        prs = build(voters)
        for code in range(3 ** len(ordered)):
            matched, rest = {}, code
            for id in ordered:
                rest, matched[id] = divmod(rest, 3)
            for id, m in matched.items():
                prs.get(id).matched = m
            assert prs.maximal_committed_index() == brute_committed([voters], matched)


@pytest.mark.parametrize(
    "max_id", [6, pytest.param(7, marks=pytest.mark.slow)], ids=["6 ids", "7 ids"]
)
def test_maximal_committed_index_exhaustive_joint_configurations(max_id):
    # Every pair of voter sets, matched = id (all distinct) and = id mod 2 (ties).
    voter_sets = [s for s in ALL_VOTER_SETS if max(s) <= max_id]
    for voters in voter_sets:
        for next_voters in voter_sets:
            prs = build(voters, next_voters=next_voters)
            for rule in (lambda id: id, lambda id: id % 2):
                matched = {id: rule(id) for id, _ in prs.iter()}
                for id, m in matched.items():
                    prs.get(id).matched = m
                want = brute_committed([voters, next_voters], matched)
                assert prs.maximal_committed_index() == want


@given(memberships(), st.data())
def test_maximal_committed_index_matches_brute_force(membership, data):
    voters, learners, next_voters, next_learners = membership
    prs = build(voters, learners, next_voters, next_learners)
    matched = {id: data.draw(st.integers(0, 6)) for id, _ in prs.iter()}
    for id, m in matched.items():
        prs.get(id).matched = m
    want = brute_committed(active(voters, next_voters), matched)
    assert prs.maximal_committed_index() == want


# --- candidacy_status -------------------------------------------------------------------


def test_candidacy_status_exhaustive_single_configuration():
    # Every voter set over 7 ids; every voter votes yes, no, or not yet; plus a stray vote.
    for voters in ALL_VOTER_SETS:
        ordered = sorted(voters)
        prs = build(voters)
        for code in range(3 ** len(ordered)):
            votes, rest = {8: True}, code
            for id in ordered:
                rest, choice = divmod(rest, 3)
                if choice:
                    votes[id] = choice == 1
            status = prs.candidacy_status(votes)
            assert status is brute_candidacy([voters], votes)
            if status is CandidacyStatus.Ineligible:
                assert not can_still_win([voters], votes), "gave up an election still open"


@given(memberships(), st.data())
def test_candidacy_status_matches_brute_force(membership, data):
    voters, learners, next_voters, next_learners = membership
    prs = build(voters, learners, next_voters, next_learners)
    votes = data.draw(st.dictionaries(st.sampled_from(IDS), st.booleans()))
    configs = active(voters, next_voters)
    status = prs.candidacy_status(votes)
    assert status is brute_candidacy(configs, votes)
    if status is CandidacyStatus.Ineligible:
        assert not can_still_win(configs, votes), "gave up an election still open"


# --- has_quorum / quorum_recently_active ---------------------------------------------


def test_has_quorum_exhaustive_single_configuration():
    all_id_sets = [frozenset(), *ALL_VOTER_SETS]
    for voters in ALL_VOTER_SETS:
        prs = build(voters)
        for ids in all_id_sets:
            assert prs.has_quorum(set(ids)) == brute_has_quorum([voters], ids)


@given(memberships(), st.sets(st.sampled_from(IDS)))
def test_has_quorum_matches_brute_force(membership, ids):
    voters, learners, next_voters, next_learners = membership
    prs = build(voters, learners, next_voters, next_learners)
    assert prs.has_quorum(ids) == brute_has_quorum(active(voters, next_voters), ids)


@given(memberships(), st.sets(st.sampled_from(IDS)), st.sampled_from(IDS))
def test_quorum_recently_active_matches_brute_force(membership, heard_from, leader):
    voters, learners, next_voters, next_learners = membership
    prs = build(voters, learners, next_voters, next_learners)
    for id, pr in prs.iter():
        pr.recent_active = id in heard_from
    all_voters = voters | (next_voters or frozenset())
    all_learners = learners | next_learners
    counted = {id for id in all_voters if id in heard_from or id == leader}
    want = brute_has_quorum(active(voters, next_voters), counted)
    assert prs.quorum_recently_active(leader) == want
    for id, pr in prs.iter():
        # Only the leader, when it is a voter and not also a learner, keeps its flag.
        keeps = id == leader and id in all_voters and id not in all_learners
        assert pr.recent_active == (keeps and id in heard_from)


# --- Inflights against a list of the indexes in flight ---------------------------------

inflight_ops = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.integers(1, 3)),
        st.tuples(st.just("free_to"), st.integers(-2, 4)),
        st.tuples(st.just("free_first_one"), st.just(0)),
        st.tuples(st.just("reset"), st.just(0)),
    ),
    max_size=40,
)


def window_of(ins: Inflights) -> list[int]:
    return [ins.buffer[(ins.start + i) % ins.cap()] for i in range(ins.count)]


@given(st.integers(1, 6), inflight_ops)
def test_inflights_match_list_model(cap, ops):
    ins = Inflights(cap)
    model: list[int] = []
    last = 0
    for op, arg in ops:
        if op == "add":
            last += arg  # the leader adds ever larger indexes
            if len(model) == cap:
                with pytest.raises(RaftPanic):
                    ins.add(last)
            else:
                ins.add(last)
                model.append(last)
        elif op == "free_to":
            # Relative to the oldest inflight, so that frees land inside the window.
            to = (model[0] if model else last) + arg
            ins.free_to(to)
            model = [i for i in model if i > to]
        elif op == "free_first_one":
            if not model:
                continue  # raft-rs only frees the first one of a full window
            ins.free_first_one()
            model.pop(0)
        else:
            ins.reset()
            model.clear()
        assert window_of(ins) == model
        assert ins.full() == (len(model) == cap)
        assert len(ins.buffer) <= cap
        assert ins.clone() == ins
