"""The quorum rules of raft-rs 0.6.0-alpha, stated once as Z3 formulas.

Every proof family and the code tie read the rules from here, so a negative
control (a `Variant`) changes them everywhere at once. The rules only count:
a set of servers is a quorum of a configuration when the number of the
configuration's voters in it reaches the configuration's majority. How the
counts are obtained (Venn-region counts for any number of servers, or membership
vectors over named ids) is up to the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

import z3

from checks.broken import of_target

__all__ = [
    "BoolExpr",
    "IdSet",
    "IntExpr",
    "Rules",
    "Variant",
    "count",
    "joint_quorum_of",
    "quorum_of",
]

# z3 ships no type stubs; these aliases only document what an expression denotes.
BoolExpr = Any
IntExpr = Any


class Variant(Enum):
    """Which rules to check: Raft's own, or a deliberately broken negative control."""

    RAFT = "raft"
    WRONG_MAJORITY = "wrong_majority"
    JOINT_NEW_ONLY = "joint_new_only"
    COMMIT_ANY_TERM = "commit_any_term"

    @property
    def description(self) -> str:
        if self is Variant.RAFT:
            return "the rules of raft-rs 0.6.0-alpha"
        return of_target("quorum")[self.value].breaks  # the table of broken variants


@dataclass(frozen=True)
class Rules:
    """The quorum and commit rules under one variant."""

    variant: Variant = Variant.RAFT

    def majority(self, total: IntExpr) -> IntExpr:
        """The least number of a configuration's voters that forms a quorum."""
        if self.variant is Variant.WRONG_MAJORITY:
            return total / 2
        return total / 2 + 1

    def is_quorum(self, voters_in_set: IntExpr, voters: IntExpr) -> BoolExpr:
        """A set is a quorum of a configuration when it holds a majority of its voters."""
        return voters_in_set >= self.majority(voters)

    def is_joint_quorum(
        self,
        old_voters_in_set: IntExpr,
        old_voters: IntExpr,
        new_voters_in_set: IntExpr,
        new_voters: IntExpr,
    ) -> BoolExpr:
        """During joint consensus a quorum needs a majority of both configurations."""
        new_ok = self.is_quorum(new_voters_in_set, new_voters)
        if self.variant is Variant.JOINT_NEW_ONLY:
            return new_ok
        return z3.And(self.is_quorum(old_voters_in_set, old_voters), new_ok)

    @property
    def commit_needs_current_term(self) -> bool:
        """Raft commits only by counting replicas of an entry of the leader's own term."""
        return self.variant is not Variant.COMMIT_ANY_TERM


def count(conditions: Sequence[BoolExpr]) -> IntExpr:
    """How many of the conditions are true."""
    if not conditions:
        return z3.IntVal(0)
    return z3.Sum([z3.If(c, 1, 0) for c in conditions])


class IdSet:
    """A symbolic set of server ids: one Boolean "is a member" per id."""

    def __init__(self, name: str, ids: Sequence[int]) -> None:
        self.name = name
        self.ids = tuple(ids)
        self.member = {i: z3.Bool(f"{name}_{i}") for i in self.ids}

    @classmethod
    def constant(cls, name: str, ids: Sequence[int], members: set[int]) -> IdSet:
        """A set whose membership is fixed: Booleans replaced by true/false."""
        result = cls.__new__(cls)
        result.name = name
        result.ids = tuple(ids)
        result.member = {i: z3.BoolVal(i in members) for i in result.ids}
        return result

    def size(self) -> IntExpr:
        return count([self.member[i] for i in self.ids])

    def size_within(self, *others: IdSet) -> IntExpr:
        """The number of ids in this set and in every one of `others`."""
        return count([z3.And(self.member[i], *(o.member[i] for o in others)) for i in self.ids])

    def is_nonempty(self) -> BoolExpr:
        return z3.Or([self.member[i] for i in self.ids])

    def meets(self, other: IdSet) -> BoolExpr:
        """The two sets share at least one id."""
        return z3.Or([z3.And(self.member[i], other.member[i]) for i in self.ids])

    def members(self, model: z3.ModelRef) -> list[int]:
        """The ids a model puts in this set."""
        return [
            i for i in self.ids if z3.is_true(model.eval(self.member[i], model_completion=True))
        ]


def quorum_of(rules: Rules, candidate: IdSet, voters: IdSet) -> BoolExpr:
    """`candidate` holds a majority of `voters`."""
    return rules.is_quorum(candidate.size_within(voters), voters.size())


def joint_quorum_of(rules: Rules, candidate: IdSet, old: IdSet, new: IdSet) -> BoolExpr:
    """`candidate` is a quorum of the joint configuration (`old`, `new`)."""
    return rules.is_joint_quorum(
        candidate.size_within(old), old.size(), candidate.size_within(new), new.size()
    )
