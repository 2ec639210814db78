"""Quorum intersection for any number of servers, by counting Venn regions.

The sets in a claim (two configurations, two quorums) cut the servers into the
regions of their Venn diagram. Majority and intersection only depend on how many
servers each region holds, so one non-negative integer per region describes every
cluster of every size at once, and linear integer arithmetic decides the claim.
A counterexample's region counts are turned back into concrete server ids.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence

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
from checks.quorum.spec import BoolExpr, IntExpr, Rules, Variant

__all__ = ["FAMILY", "VennCounts", "decide", "properties"]

FAMILY = "unbounded"

Pattern = tuple[bool, ...]


class VennCounts:
    """How many servers lie in each region of the Venn diagram of some named sets.

    Only regions inside at least one of the `configurations` exist: a server that
    is a voter nowhere counts towards no quorum, so leaving it out only makes the
    claims stronger (the quorums must share a voter, not just any server).
    """

    def __init__(self, names: Sequence[str], configurations: Sequence[str]) -> None:
        self.names = tuple(names)
        positions = [self.names.index(c) for c in configurations]
        self.patterns: list[Pattern] = [
            p
            for p in itertools.product((False, True), repeat=len(self.names))
            if any(p[k] for k in positions)
        ]
        self.region = {p: z3.Int("servers_in_" + self._label(p)) for p in self.patterns}

    def _label(self, pattern: Pattern) -> str:
        return "_".join(n for n, inside in zip(self.names, pattern, strict=True) if inside)

    def well_formed(self) -> list[BoolExpr]:
        return [r >= 0 for r in self.region.values()]

    def size(self, *names: str) -> IntExpr:
        """The number of servers inside every one of `names`."""
        positions = [self.names.index(n) for n in names]
        return z3.Sum([r for p, r in self.region.items() if all(p[k] for k in positions)])

    def total(self) -> IntExpr:
        return z3.Sum(list(self.region.values()))

    def servers(self, model: z3.ModelRef) -> dict[str, list[int]]:
        """Numbers the servers 1, 2, ... region by region and lists each set's members."""
        members: dict[str, list[int]] = {n: [] for n in self.names}
        next_id = 1
        for pattern in sorted(self.patterns, key=lambda p: tuple(not x for x in p)):
            howmany = model.eval(self.region[pattern], model_completion=True).as_long()
            for server in range(next_id, next_id + howmany):
                for name, inside in zip(self.names, pattern, strict=True):
                    if inside:
                        members[name].append(server)
            next_id += howmany
        return {n: sorted(ids) for n, ids in members.items()}


def _majorities_intersect(rules: Rules) -> Verdict:
    venn = VennCounts(("voters", "a", "b"), ("voters",))
    assumptions = [
        *venn.well_formed(),
        venn.size("voters") >= 1,
        rules.is_quorum(venn.size("voters", "a"), venn.size("voters")),
        rules.is_quorum(venn.size("voters", "b"), venn.size("voters")),
    ]

    def explain(model: z3.ModelRef) -> Counterexample:
        sets = venn.servers(model)
        return quorum_counterexample(
            {"voters": sets["voters"]}, {"majority A": sets["a"], "majority B": sets["b"]}
        )

    return prove(assumptions, venn.size("voters", "a", "b") >= 1, explain, minimize=venn.total())


def _joint_against(rules: Rules, other: str) -> Verdict:
    """A joint quorum against a majority of `other` ("old" or "new") or another joint quorum."""
    venn = VennCounts(("old", "new", "a", "b"), ("old", "new"))

    def joint(q: str) -> BoolExpr:
        return rules.is_joint_quorum(
            venn.size("old", q), venn.size("old"), venn.size("new", q), venn.size("new")
        )

    if other == "joint":
        second = joint("b")
    else:
        second = rules.is_quorum(venn.size(other, "b"), venn.size(other))
    assumptions = [
        *venn.well_formed(),
        venn.size("old") >= 1,
        venn.size("new") >= 1,
        joint("a"),
        second,
    ]

    def explain(model: z3.ModelRef) -> Counterexample:
        sets = venn.servers(model)
        label = "joint quorum B" if other == "joint" else f"{other} majority"
        return quorum_counterexample(
            {"old": sets["old"], "new": sets["new"]},
            {"joint quorum A": sets["a"], label: sets["b"]},
            joint=True,
        )

    return prove(assumptions, venn.size("a", "b") >= 1, explain, minimize=venn.total())


def _voter_change(rules: Rules, changed: int) -> Verdict:
    """Old majority against new majority when `changed` voters differ, no joint phase."""
    venn = VennCounts(("old", "new", "a", "b"), ("old", "new"))
    difference = venn.size("old") + venn.size("new") - 2 * venn.size("old", "new")
    assumptions = [
        *venn.well_formed(),
        venn.size("old") >= 1,
        venn.size("new") >= 1,
        difference == changed,
        rules.is_quorum(venn.size("old", "a"), venn.size("old")),
        rules.is_quorum(venn.size("new", "b"), venn.size("new")),
    ]

    def explain(model: z3.ModelRef) -> Counterexample:
        sets = venn.servers(model)
        return quorum_counterexample(
            {"old": sets["old"], "new": sets["new"]},
            {"old majority": sets["a"], "new majority": sets["b"]},
        )

    return prove(assumptions, venn.size("a", "b") >= 1, explain, minimize=venn.total())


def decide(claim: QuorumClaim, rules: Rules) -> Verdict:
    if claim.name == "majorities_intersect":
        return _majorities_intersect(rules)
    if claim.name == "joint_quorum_meets_old_majority":
        return _joint_against(rules, "old")
    if claim.name == "joint_quorum_meets_new_majority":
        return _joint_against(rules, "new")
    if claim.name == "joint_quorums_intersect":
        return _joint_against(rules, "joint")
    if claim.name == "one_voter_change_keeps_intersection":
        return _voter_change(rules, 1)
    if claim.name == "two_voter_change_keeps_intersection":
        return _voter_change(rules, 2)
    raise ValueError(f"no counting encoding for claim {claim.name!r}")


def properties(variant: Variant) -> list[Obligation]:
    rules = Rules(variant)
    return [
        Obligation(
            name=claim.name,
            family=FAMILY,
            statement=claim.statement + ", for any number of servers",
            expected=expectation(variant, claim.fails_under, always_fails=claim.always_fails),
            decide=functools.partial(decide, claim, rules),
        )
        for claim in CLAIMS
    ]
