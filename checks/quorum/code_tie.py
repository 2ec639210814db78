"""raft_ref's quorum code against answers computed from the Z3 specification.

The proofs are about `Rules` (checks/quorum/spec.py). This family shows that
`raft_ref.progress` computes exactly what `Rules` says, so the proofs speak about
the code that runs:

- `majority` is, for every size up to a bound, the least count `Rules` calls a
  quorum (one Z3 query);
- `has_quorum`, `maximal_committed_index`, `candidacy_status` and
  `quorum_recently_active` are run on every configuration over the ids 1..5,
  joint ones included, with every vote, activity flag and match index drawn from a
  small range, and compared with the specification's answer. The specification
  only counts (how many voters of each configuration a set holds), so Z3 decides
  each distinct count once and the answers are cached;
- on a seeded sample of larger clusters, `maximal_committed_index` is compared
  with the index `z3.Optimize` finds when it maximises "a quorum of every active
  configuration matched this index".
"""

from __future__ import annotations

import functools
import itertools
import random
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import z3

from checks.quorum.properties import (
    Counterexample,
    Obligation,
    Outcome,
    Verdict,
    expectation,
    prove,
)
from checks.quorum.spec import IdSet, Rules, Variant
from raft_ref.progress import CandidacyStatus, Configuration, Progress, ProgressSet, majority

__all__ = [
    "EXHAUSTIVE_IDS",
    "FAMILY",
    "LEARNER_MATCH",
    "MAJORITY_TOTALS",
    "MATCH_RANGE",
    "QUORUM_VARIANTS",
    "Membership",
    "QuorumOracle",
    "answers_so_far",
    "committed_by_spec",
    "exhaustive_scope",
    "majority_matches",
    "memberships",
    "mismatch",
    "optimal_committed_index",
    "outcome_of",
    "properties",
    "status_by_spec",
]

FAMILY = "code_tie"

# Exhaustive checks cover every configuration over at most this many ids.
EXHAUSTIVE_IDS = 5
# Match indexes of voters are drawn from this range; learners sit above it, so a
# learner wrongly counted as a voter would change the answer.
MATCH_RANGE = range(3)
LEARNER_MATCH = len(MATCH_RANGE)
# `majority` is compared with the specification for every total up to this.
MAJORITY_TOTALS = 200
# Size of the seeded sample of larger clusters checked with z3.Optimize.
OPTIMUM_SAMPLES = 24

_INFLIGHT = 256


@dataclass(frozen=True)
class Membership:
    """A configuration, joint when `new` is set, with the learners of each side."""

    old: frozenset[int]
    learners: frozenset[int]
    new: frozenset[int] | None = None
    new_learners: frozenset[int] = frozenset()

    @property
    def voters(self) -> list[int]:
        """The voters of either configuration, ascending."""
        return sorted(self.old | (self.new or frozenset()))

    @property
    def active(self) -> list[frozenset[int]]:
        """The voter sets of the configurations in force: one, or two while joint."""
        return [self.old] if self.new is None else [self.old, self.new]

    @property
    def members(self) -> list[int]:
        return sorted(self.old | self.learners | (self.new or frozenset()) | self.new_learners)

    def progress_set(self) -> ProgressSet:
        """The membership as raft_ref builds it: members added, then the change begun."""
        prs = ProgressSet()
        for id in sorted(self.old):
            prs.insert_voter(id, Progress(1, _INFLIGHT))
        for id in sorted(self.learners):
            prs.insert_learner(id, Progress(1, _INFLIGHT))
        if self.new is not None:
            prs.begin_membership_change(
                Configuration(self.new, self.new_learners), Progress(1, _INFLIGHT)
            )
        return prs

    def describe(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"voters": sorted(self.old), "learners": sorted(self.learners)}
        if self.new is not None:
            shown["next_voters"] = sorted(self.new)
            shown["next_learners"] = sorted(self.new_learners)
        return shown


def memberships(max_ids: int, *, with_learners: bool = True) -> Iterator[Membership]:
    """Every configuration over the ids 1..max_ids, single and joint.

    With learners, every id that is not a voter is a learner (a learner of the old
    configuration may become a voter of the new one, as raft-rs allows); without,
    the membership holds only voters and the new configuration adds nodes afresh.
    """
    ids = range(1, max_ids + 1)
    voter_sets = [
        frozenset(c) for size in range(1, max_ids + 1) for c in itertools.combinations(ids, size)
    ]
    everyone = frozenset(ids)

    def learners_of(voters: frozenset[int]) -> frozenset[int]:
        return everyone - voters if with_learners else frozenset()

    # Single configurations first: their counterexamples are the simplest to read.
    for old in voter_sets:
        yield Membership(old, learners_of(old))
    for old in voter_sets:
        for new in voter_sets:
            yield Membership(old, learners_of(old), new, learners_of(old | new))


class QuorumOracle:
    """Whether a set is a quorum, decided by Z3 from `Rules`; each distinct count once."""

    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self._decided: dict[tuple[int, ...], bool] = {}

    def _decide(self, counts: tuple[int, ...]) -> bool:
        answer = self._decided.get(counts)
        if answer is None:
            values = [z3.IntVal(c) for c in counts]
            if len(values) == 2:
                formula = self.rules.is_quorum(*values)
            else:
                formula = self.rules.is_joint_quorum(*values)
            answer = z3.is_true(z3.simplify(formula))
            self._decided[counts] = answer
        return answer

    def quorum_of(self, members: frozenset[int] | set[int], voters: frozenset[int]) -> bool:
        """`members` hold a majority of `voters` (one configuration)."""
        return self._decide((len(voters & members), len(voters)))

    def quorum(self, members: frozenset[int] | set[int], membership: Membership) -> bool:
        """`members` are a quorum of every active configuration of `membership`."""
        if membership.new is None:
            return self.quorum_of(members, membership.old)
        return self._decide(
            (
                len(membership.old & members),
                len(membership.old),
                len(membership.new & members),
                len(membership.new),
            )
        )


def mismatch(membership: Membership, what: str, **details: Any) -> Verdict:
    data = {"cluster": membership.describe(), **details}
    shown = ", ".join(f"{k}={v}" for k, v in data.items())
    return Verdict(Outcome.REFUTED, Counterexample(f"{what}: {shown}", data))


def outcome_of(call: Callable[[], Any]) -> Any:
    """The code's answer, or the exception it raised (a mismatch in itself)."""
    try:
        return call()
    except Exception as error:
        return f"raised {type(error).__name__}: {error}"


# --- majority -------------------------------------------------------------------------


def majority_matches(
    rules: Rules, totals: int, code: Callable[[int], int], code_name: str = "raft_ref"
) -> Verdict:
    """One query: for every total, the code's majority is the least count that is a quorum."""
    total = z3.Int("total")
    code_majority = z3.Function(f"{code_name}_majority", z3.IntSort(), z3.IntSort())
    answers = [code_majority(n) == code(n) for n in range(totals + 1)]
    claim = z3.And(
        rules.is_quorum(code_majority(total), total),
        z3.Not(rules.is_quorum(code_majority(total) - 1, total)),
    )

    def explain(model: z3.ModelRef) -> Counterexample:
        n = model.eval(total, model_completion=True).as_long()
        data = {"total": n, code_name: code(n), "spec": _least_quorum(rules, n)}
        return Counterexample(
            f"majority({n}) = {data[code_name]}, the least quorum is {data['spec']}", data
        )

    return prove([*answers, total >= 0, total <= totals], claim, explain)


def _raft_ref_majority_matches(rules: Rules, totals: int) -> Verdict:
    # `majority` is read when deciding, so that a test can replace it.
    return majority_matches(rules, totals, majority)


def _least_quorum(rules: Rules, total: int) -> int:
    optimizer = z3.Optimize()
    size = z3.Int("size")
    # As a Z3 integer: the majority divides it as an integer.
    optimizer.add(size >= 0, rules.is_quorum(size, z3.IntVal(total)))
    optimizer.minimize(size)
    optimizer.check()
    return int(optimizer.model().eval(size).as_long())


# --- has_quorum -----------------------------------------------------------------------


def _has_quorum_matches(rules: Rules, max_ids: int) -> Verdict:
    oracle = QuorumOracle(rules)
    outsider = max_ids + 1  # a node the membership does not know
    candidates = [*range(1, max_ids + 1), outsider]
    subsets = [
        frozenset(c)
        for size in range(len(candidates) + 1)
        for c in itertools.combinations(candidates, size)
    ]
    for with_learners in (True, False):
        for membership in memberships(max_ids, with_learners=with_learners):
            prs = membership.progress_set()
            for subset in subsets:
                code = outcome_of(functools.partial(prs.has_quorum, set(subset)))
                spec = oracle.quorum(subset, membership)
                if code != spec:
                    return mismatch(
                        membership, "has_quorum", nodes=sorted(subset), raft_ref=code, spec=spec
                    )
    return Verdict(Outcome.PROVED)


# --- maximal_committed_index ----------------------------------------------------------


def committed_by_spec(
    oracle: QuorumOracle, membership: Membership, matched: Mapping[int, int]
) -> int:
    """The largest index matched by a quorum of every active configuration."""
    best = 0
    for index in range(LEARNER_MATCH + 2):
        acknowledged = {id for id, m in matched.items() if m >= index}
        if oracle.quorum(acknowledged, membership):
            best = index
    return best


def _committed_index_matches(rules: Rules, max_ids: int) -> Verdict:
    oracle = QuorumOracle(rules)
    # The specification only counts, so its answer depends on the match indexes of
    # each configuration's voters as multisets: computed once per pair of multisets.
    spec_answers: dict[tuple[tuple[int, ...], ...], int] = {}
    for membership in memberships(max_ids):
        prs = membership.progress_set()
        voters = membership.voters
        matched = dict.fromkeys(membership.members, LEARNER_MATCH)
        for id in matched:
            _progress(prs, id).matched = LEARNER_MATCH
        for values in itertools.product(MATCH_RANGE, repeat=len(voters)):
            for id, value in zip(voters, values, strict=True):
                _progress(prs, id).matched = value
                matched[id] = value
            code = outcome_of(prs.maximal_committed_index)
            key = tuple(tuple(sorted(matched[id] for id in conf)) for conf in membership.active)
            spec = spec_answers.get(key)
            if spec is None:
                spec = spec_answers[key] = committed_by_spec(oracle, membership, matched)
            if code != spec:
                return mismatch(
                    membership,
                    "maximal_committed_index",
                    matched=dict(matched),
                    raft_ref=code,
                    spec=spec,
                )
    return Verdict(Outcome.PROVED)


def _progress(prs: ProgressSet, id: int) -> Progress:
    pr = prs.get(id)
    if pr is None:
        raise AssertionError(f"raft_ref built no progress for member {id}")
    return pr


# --- candidacy_status -----------------------------------------------------------------


def answers_so_far(membership: Membership) -> Iterator[dict[int, bool]]:
    """Every way the voters may have answered so far (no answer, granted, rejected)."""
    voters = membership.voters
    for answers in itertools.product((None, True, False), repeat=len(voters)):
        yield {id: a for id, a in zip(voters, answers, strict=True) if a is not None}


def status_by_spec(oracle: QuorumOracle, membership: Membership, votes: Mapping[int, bool]) -> str:
    """raft-rs's rule: won with a quorum of every configuration granting; lost once the
    rejections form a quorum of some configuration; open otherwise."""
    granted = {id for id, a in votes.items() if a}
    rejected = {id for id, a in votes.items() if not a}
    if oracle.quorum(granted, membership):
        return CandidacyStatus.Elected.name
    if any(oracle.quorum_of(rejected, voters) for voters in membership.active):
        return CandidacyStatus.Ineligible.name
    return CandidacyStatus.Eligible.name


def _can_still_win(oracle: QuorumOracle, membership: Membership, votes: Mapping[int, bool]) -> bool:
    """Some answers of the voters not heard from yet would elect the candidate."""
    hopeful = {id for id in membership.voters if votes.get(id, True)}
    return oracle.quorum(hopeful, membership)


@functools.cache
def _candidacy_answers(max_ids: int) -> list[tuple[Membership, dict[int, bool], str]]:
    """raft_ref's candidacy status for every membership and vote, computed once per bound."""
    answers = []
    for membership in memberships(max_ids):
        prs = membership.progress_set()
        for votes in answers_so_far(membership):
            status = outcome_of(functools.partial(prs.candidacy_status, votes))
            answers.append((membership, votes, getattr(status, "name", str(status))))
    return answers


def _candidacy_matches(rules: Rules, max_ids: int) -> Verdict:
    oracle = QuorumOracle(rules)
    for membership, votes, code in _candidacy_answers(max_ids):
        spec = status_by_spec(oracle, membership, votes)
        if code != spec:
            return mismatch(membership, "candidacy_status", votes=votes, raft_ref=code, spec=spec)
    return Verdict(Outcome.PROVED)


def _ineligible_means_lost(rules: Rules, max_ids: int) -> Verdict:
    oracle = QuorumOracle(rules)
    for membership, votes, code in _candidacy_answers(max_ids):
        if code == CandidacyStatus.Ineligible.name and _can_still_win(oracle, membership, votes):
            return mismatch(
                membership, "Ineligible, yet the missing votes could still elect", votes=votes
            )
    return Verdict(Outcome.PROVED)


def _lost_means_ineligible(rules: Rules, max_ids: int) -> Verdict:
    oracle = QuorumOracle(rules)
    for membership, votes, code in _candidacy_answers(max_ids):
        if code != CandidacyStatus.Ineligible.name and not _can_still_win(
            oracle, membership, votes
        ):
            return mismatch(membership, f"{code}, yet no missing votes could elect", votes=votes)
    return Verdict(Outcome.PROVED)


# --- quorum_recently_active -----------------------------------------------------------


def _recently_active_matches(rules: Rules, max_ids: int) -> Verdict:
    oracle = QuorumOracle(rules)
    for membership in memberships(max_ids):
        prs = membership.progress_set()
        voters = membership.voters
        learners = sorted(set(membership.members) - set(voters))
        learner_ids = membership.learners | membership.new_learners
        leaders = voters + learners[:1]  # a learner asking shows it does not count itself
        for leader in leaders:
            # The leader's own flag stays set, so that clearing it by mistake shows.
            peers = [id for id in voters if id != leader]
            for flags in itertools.product((False, True), repeat=len(peers)):
                heard = {leader: True, **dict(zip(peers, flags, strict=True))}
                for id in membership.members:
                    _progress(prs, id).recent_active = heard.get(id, True)
                code = outcome_of(functools.partial(prs.quorum_recently_active, leader))
                active = {id for id in voters if heard[id]}
                spec = oracle.quorum(active, membership)
                # Every flag is cleared, except the leader's own while it is only a voter.
                kept = leader in voters and leader not in learner_ids
                after = {id: _progress(prs, id).recent_active for id in membership.members}
                expected_after = {id: kept and id == leader for id in membership.members}
                if code != spec or after != expected_after:
                    return mismatch(
                        membership,
                        "quorum_recently_active",
                        leader=leader,
                        recent_active=heard,
                        raft_ref=code,
                        spec=spec,
                        flags_after=after,
                    )
    return Verdict(Outcome.PROVED)


# --- larger clusters against z3.Optimize ----------------------------------------------


def optimal_committed_index(
    rules: Rules, membership: Membership, matched: Mapping[int, int]
) -> int:
    """The largest index that a quorum of every active configuration has matched,
    as z3.Optimize finds it over the cluster's ids."""
    ids = membership.members
    index = z3.Int("index")
    old = IdSet.constant("old", ids, set(membership.old))
    acks = IdSet("acknowledged", ids)
    optimizer = z3.Optimize()
    optimizer.add(index >= 0, index <= max(matched.values(), default=0) + 1)
    for id in ids:
        optimizer.add(acks.member[id] == (matched[id] >= index))
    constraints = [rules.is_quorum(acks.size_within(old), old.size())]
    if membership.new is not None:
        new = IdSet.constant("new", ids, set(membership.new))
        constraints = [
            rules.is_joint_quorum(
                acks.size_within(old), old.size(), acks.size_within(new), new.size()
            )
        ]
    optimizer.add(*constraints)
    optimizer.maximize(index)
    if optimizer.check() != z3.sat:
        raise AssertionError("no index is acknowledged, not even 0")
    return int(optimizer.model().eval(index).as_long())


def random_membership(rng: random.Random, max_ids: int) -> tuple[Membership, dict[int, int]]:
    """A membership over up to `max_ids` ids with random roles and match indexes."""
    size = rng.randint(1, max_ids)
    ids = list(range(1, size + 1))
    old = frozenset(i for i in ids if rng.random() < 0.6) or frozenset({ids[0]})
    learners = frozenset(i for i in ids if i not in old and rng.random() < 0.5)
    if rng.random() < 0.5:
        membership = Membership(old, learners)
    else:
        new = frozenset(i for i in ids if rng.random() < 0.6) or frozenset({ids[-1]})
        new_learners = frozenset(i for i in learners if i not in new and rng.random() < 0.5)
        membership = Membership(old, learners, new, new_learners)
    matched = {id: rng.randint(0, 6) for id in membership.members}
    return membership, matched


def committed_index_agrees(
    rules: Rules, membership: Membership, matched: Mapping[int, int]
) -> Verdict:
    """raft_ref's maximal_committed_index on one membership against z3.Optimize."""
    prs = membership.progress_set()
    for id, value in matched.items():
        _progress(prs, id).matched = value
    code = outcome_of(prs.maximal_committed_index)
    spec = optimal_committed_index(rules, membership, matched)
    if code != spec:
        return mismatch(
            membership, "maximal_committed_index", matched=dict(matched), raft_ref=code, spec=spec
        )
    return Verdict(Outcome.PROVED)


def _optimum_sample_matches(rules: Rules, max_ids: int, samples: int) -> Verdict:
    rng = random.Random(max_ids)
    for _ in range(samples):
        membership, matched = random_membership(rng, max_ids)
        verdict = committed_index_agrees(rules, membership, matched)
        if verdict.outcome is not Outcome.PROVED:
            return verdict
    return Verdict(Outcome.PROVED)


# --- the family -----------------------------------------------------------------------

# The candidacy properties share raft_ref's answers (see _candidacy_answers).
_CANDIDACY = f"{FAMILY}.candidacy"


# The variants that change what a quorum is: every quorum function disagrees under them.
QUORUM_VARIANTS = frozenset({Variant.WRONG_MAJORITY, Variant.JOINT_NEW_ONLY})


def exhaustive_scope(max_ids: int) -> tuple[int, str]:
    """How many ids the exhaustive checks cover, and the words that say so."""
    ids = min(max_ids, EXHAUSTIVE_IDS)
    return ids, f"for every configuration over the ids 1..{ids}, joint ones included"


def properties(variant: Variant, max_ids: int) -> list[Obligation]:
    rules = Rules(variant)
    ids, scope = exhaustive_scope(max_ids)

    def prop(
        name: str,
        statement: str,
        decide: Callable[[], Verdict],
        fails_under: Iterable[Variant] = (),
        *,
        always_fails: bool = False,
        group: str | None = None,
    ) -> Obligation:
        expected = expectation(variant, fails_under, always_fails=always_fails)
        return Obligation(name, FAMILY, statement, expected, decide, group)

    return [
        prop(
            "majority_matches_spec",
            f"raft_ref.majority(n) is the least quorum size, for every n <= {MAJORITY_TOTALS}",
            functools.partial(_raft_ref_majority_matches, rules, MAJORITY_TOTALS),
            {Variant.WRONG_MAJORITY},
        ),
        prop(
            "has_quorum_matches_spec",
            f"ProgressSet.has_quorum answers as the specification, {scope}, for every set "
            "of nodes (a stranger included)",
            functools.partial(_has_quorum_matches, rules, ids),
            QUORUM_VARIANTS,
        ),
        prop(
            "maximal_committed_index_matches_spec",
            "ProgressSet.maximal_committed_index is the largest index matched by a quorum of "
            f"every active configuration, {scope}, match indexes in "
            f"{MATCH_RANGE.start}..{MATCH_RANGE.stop - 1}",
            functools.partial(_committed_index_matches, rules, ids),
            QUORUM_VARIANTS,
        ),
        prop(
            "maximal_committed_index_matches_z3_optimum",
            f"the same, against z3.Optimize, on {OPTIMUM_SAMPLES} seeded random clusters of up "
            f"to {max_ids} ids with match indexes 0..6",
            functools.partial(_optimum_sample_matches, rules, max_ids, OPTIMUM_SAMPLES),
            QUORUM_VARIANTS,
        ),
        prop(
            "candidacy_status_matches_spec",
            "ProgressSet.candidacy_status: Elected with a quorum of every active configuration "
            f"granting, Ineligible once some configuration's majority rejected, {scope}, "
            "for every set of answers",
            functools.partial(_candidacy_matches, rules, ids),
            QUORUM_VARIANTS,
            group=_CANDIDACY,
        ),
        prop(
            "ineligible_means_election_lost",
            "when candidacy_status says Ineligible, no answers still missing could elect the "
            f"candidate, {scope}",
            functools.partial(_ineligible_means_lost, rules, ids),
            QUORUM_VARIANTS,
            group=_CANDIDACY,
        ),
        prop(
            "lost_election_means_ineligible",
            "when no missing answers could elect the candidate, candidacy_status says "
            f"Ineligible, {scope} (raft-rs keeps even-sized configurations Eligible at a tie)",
            functools.partial(_lost_means_ineligible, rules, ids),
            # With n // 2 as the majority, defeat needs more than half of a configuration
            # to reject, which is already a (real) majority: the gap closes.
            always_fails=variant is not Variant.WRONG_MAJORITY,
            group=_CANDIDACY,
        ),
        prop(
            "quorum_recently_active_matches_spec",
            "ProgressSet.quorum_recently_active: true when the peers heard from, with the "
            f"leader, form a quorum of every active configuration; clears the flags, {scope}",
            functools.partial(_recently_active_matches, rules, ids),
            QUORUM_VARIANTS,
        ),
    ]
