"""Quorum intersection over real server ids, with sets as symbolic membership vectors.

Every configuration, pair of configurations and quorum over the ids 1..N is one
assignment of the Booleans "id i is a member", so a single query covers all of
them and a counterexample names the actual ids. This repeats the unbounded claims
in the vocabulary of `raft_ref` (sets of ids), which the code tie then uses.

Renaming ids maps a counterexample to a counterexample (the rules only count), so
each query also asks the ids to be sorted by the sets they belong to. That keeps
one representative of every renaming and spares the solver the factorial search
that otherwise makes the proofs time out around 12 ids.
"""

from __future__ import annotations

import functools
import itertools

import z3

from checks.quorum.claims import CLAIMS, QuorumClaim
from checks.quorum.properties import (
    Counterexample,
    Obligation,
    Verdict,
    expectation,
    prove,
    quorum_counterexample,
)
from checks.quorum.spec import (
    BoolExpr,
    IdSet,
    IntExpr,
    Rules,
    Variant,
    count,
    joint_quorum_of,
    quorum_of,
)

__all__ = ["FAMILY", "decide", "properties"]

FAMILY = "bounded"


def _members_used(*sets: IdSet) -> z3.ArithRef:
    """A size to minimise for readable counterexamples.

    Foremost the sum of the ids used by any set (few and small ids), then the
    sum of the ids of the first set (so that it takes the smallest ones).
    """
    ids = sets[0].ids
    weight = sum(ids) + 1
    used = [z3.If(z3.Or([s.member[i] for s in sets]), weight * i, 0) for i in ids]
    first = [z3.If(sets[0].member[i], i, 0) for i in ids]
    return z3.Sum(used + first)


def _sorted_by_membership(*sets: IdSet) -> list[BoolExpr]:
    """Ids in descending order of their membership pattern across `sets`."""
    ids = sets[0].ids

    def pattern(i: int) -> IntExpr:
        return z3.Sum([z3.If(s.member[i], 2**k, 0) for k, s in enumerate(reversed(sets))])

    return [pattern(i) >= pattern(j) for i, j in itertools.pairwise(ids)]


def _majorities_intersect(rules: Rules, ids: list[int]) -> Verdict:
    voters, a, b = IdSet("voters", ids), IdSet("a", ids), IdSet("b", ids)
    assumptions = [
        voters.is_nonempty(),
        quorum_of(rules, a, voters),
        quorum_of(rules, b, voters),
        *_sorted_by_membership(voters, a, b),
    ]
    shared_voter = z3.Or([z3.And(voters.member[i], a.member[i], b.member[i]) for i in ids])

    def explain(model: z3.ModelRef) -> Counterexample:
        return quorum_counterexample(
            {"voters": voters.members(model)},
            {"majority A": a.members(model), "majority B": b.members(model)},
        )

    return prove(assumptions, shared_voter, explain, minimize=_members_used(voters, a, b))


def _joint_against(rules: Rules, ids: list[int], other: str) -> Verdict:
    old, new = IdSet("old", ids), IdSet("new", ids)
    a, b = IdSet("a", ids), IdSet("b", ids)
    if other == "joint":
        second = joint_quorum_of(rules, b, old, new)
    else:
        second = quorum_of(rules, b, old if other == "old" else new)
    assumptions = [
        old.is_nonempty(),
        new.is_nonempty(),
        joint_quorum_of(rules, a, old, new),
        second,
        *_sorted_by_membership(old, new, a, b),
    ]

    def explain(model: z3.ModelRef) -> Counterexample:
        label = "joint quorum B" if other == "joint" else f"{other} majority"
        return quorum_counterexample(
            {"old": old.members(model), "new": new.members(model)},
            {"joint quorum A": a.members(model), label: b.members(model)},
            joint=True,
        )

    return prove(assumptions, a.meets(b), explain, minimize=_members_used(old, new, a, b))


def _voter_change(rules: Rules, ids: list[int], changed: int) -> Verdict:
    old, new = IdSet("old", ids), IdSet("new", ids)
    a, b = IdSet("a", ids), IdSet("b", ids)
    assumptions = [
        old.is_nonempty(),
        new.is_nonempty(),
        count([old.member[i] != new.member[i] for i in ids]) == changed,
        quorum_of(rules, a, old),
        quorum_of(rules, b, new),
        *_sorted_by_membership(old, new, a, b),
    ]

    def explain(model: z3.ModelRef) -> Counterexample:
        return quorum_counterexample(
            {"old": old.members(model), "new": new.members(model)},
            {"old majority": a.members(model), "new majority": b.members(model)},
        )

    return prove(assumptions, a.meets(b), explain, minimize=_members_used(old, new, a, b))


def decide(claim: QuorumClaim, rules: Rules, max_ids: int) -> Verdict:
    ids = list(range(1, max_ids + 1))
    if claim.name == "majorities_intersect":
        return _majorities_intersect(rules, ids)
    if claim.name == "joint_quorum_meets_old_majority":
        return _joint_against(rules, ids, "old")
    if claim.name == "joint_quorum_meets_new_majority":
        return _joint_against(rules, ids, "new")
    if claim.name == "joint_quorums_intersect":
        return _joint_against(rules, ids, "joint")
    if claim.name == "one_voter_change_keeps_intersection":
        return _voter_change(rules, ids, 1)
    if claim.name == "two_voter_change_keeps_intersection":
        return _voter_change(rules, ids, 2)
    raise ValueError(f"no membership-vector encoding for claim {claim.name!r}")


def properties(variant: Variant, max_ids: int) -> list[Obligation]:
    rules = Rules(variant)
    return [
        Obligation(
            name=claim.name,
            family=FAMILY,
            statement=f"{claim.statement}, for every set of the ids 1..{max_ids}",
            expected=expectation(variant, claim.fails_under, always_fails=claim.always_fails),
            decide=functools.partial(decide, claim, rules, max_ids),
        )
        for claim in CLAIMS
    ]
