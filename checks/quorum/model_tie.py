"""The model's quorum code against answers computed from the Z3 specification.

As `code_tie` does for raft_ref, this family shows that `model.quorum` computes what
`Rules` (checks/quorum/spec.py) says, so the proofs speak about the model the explorer
runs. The functions are called with the majority rule the model uses (`Params.majority`),
so a broken variant that changes it is caught here too:

- `Params.majority` is, for every size up to a bound, the least count `Rules` calls a
  quorum (one Z3 query);
- `joint_has_quorum`, `joint_committed_index` and `joint_vote_result` are run on every
  configuration over the ids 1..5, joint ones included (a learner of the old
  configuration may be a voter of the new), for every set of servers, every match index
  of each voter from a small range and every set of answers, and compared with the
  specification's answer.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable, Sequence

from checks.quorum.code_tie import (
    LEARNER_MATCH,
    MAJORITY_TOTALS,
    MATCH_RANGE,
    QUORUM_VARIANTS,
    Membership,
    QuorumOracle,
    answers_so_far,
    committed_by_spec,
    exhaustive_scope,
    majority_matches,
    memberships,
    mismatch,
    status_by_spec,
)
from checks.quorum.properties import Obligation, Outcome, Verdict, expectation
from checks.quorum.spec import Rules, Variant
from model.params import Params
from model.quorum import (
    LOST,
    PENDING,
    WON,
    Majority,
    joint_committed_index,
    joint_has_quorum,
    joint_vote_result,
)
from model.state import Config, mask_of

__all__ = ["FAMILY", "model_config", "properties"]

FAMILY = "model_tie"

# The specification's candidacy statuses, as the model's vote results.
_STATUS_OF = {WON: "Elected", PENDING: "Eligible", LOST: "Ineligible"}


def model_config(membership: Membership) -> Config:
    """The membership as a model configuration (voter and learner masks)."""
    new = membership.new
    return Config(
        mask_of(sorted(membership.old)),
        mask_of(sorted(membership.learners)),
        mask_of(sorted(new)) if new is not None else 0,
        mask_of(sorted(membership.new_learners)),
    )


def _subsets(ids: Sequence[int]) -> list[frozenset[int]]:
    return [frozenset(c) for size in range(len(ids) + 1) for c in itertools.combinations(ids, size)]


def _has_quorum_matches(rules: Rules, max_ids: int, quorum: Majority) -> Verdict:
    oracle = QuorumOracle(rules)
    subsets = _subsets([*range(1, max_ids + 1), max_ids + 1])  # a stranger included
    for membership in memberships(max_ids):
        config = model_config(membership)
        for subset in subsets:
            code = joint_has_quorum(config, mask_of(sorted(subset)), quorum)
            spec = oracle.quorum(subset, membership)
            if code != spec:
                return mismatch(
                    membership, "has_quorum", nodes=sorted(subset), model=code, spec=spec
                )
    return Verdict(Outcome.PROVED)


def _committed_index_matches(rules: Rules, max_ids: int, quorum: Majority) -> Verdict:
    oracle = QuorumOracle(rules)
    for membership in memberships(max_ids):
        config = model_config(membership)
        voters = membership.voters
        # Learners sit above every voter's index: counting one would change the answer.
        matched = dict.fromkeys(range(1, max_ids + 1), LEARNER_MATCH)
        for values in itertools.product(MATCH_RANGE, repeat=len(voters)):
            matched.update(zip(voters, values, strict=True))
            match = tuple(matched[id] for id in range(1, max_ids + 1))
            code = joint_committed_index(config, match, quorum)
            members = {id: matched[id] for id in membership.members}
            spec = committed_by_spec(oracle, membership, members)
            if code != spec:
                return mismatch(
                    membership, "committed_index", matched=members, model=code, spec=spec
                )
    return Verdict(Outcome.PROVED)


def _vote_result_matches(rules: Rules, max_ids: int, quorum: Majority) -> Verdict:
    oracle = QuorumOracle(rules)
    for membership in memberships(max_ids):
        config = model_config(membership)
        for votes in answers_so_far(membership):
            granted = mask_of(sorted(id for id, accepted in votes.items() if accepted))
            rejected = mask_of(sorted(id for id, accepted in votes.items() if not accepted))
            code = _STATUS_OF[joint_vote_result(config, granted, rejected, quorum)]
            spec = status_by_spec(oracle, membership, votes)
            if code != spec:
                return mismatch(membership, "vote_result", votes=votes, model=code, spec=spec)
    return Verdict(Outcome.PROVED)


def properties(variant: Variant, max_ids: int, quorum: Majority | None = None) -> list[Obligation]:
    """The family; `quorum` is the majority rule under test (the model's by default)."""
    rules = Rules(variant)
    rule: Callable[[int], int] = quorum or Params().majority
    ids, scope = exhaustive_scope(max_ids)

    def prop(
        name: str, statement: str, decide: Callable[[], Verdict], fails_under: Iterable[Variant]
    ) -> Obligation:
        return Obligation(name, FAMILY, statement, expectation(variant, fails_under), decide)

    return [
        prop(
            "majority_matches_spec",
            f"the model's Params.majority(n) is the least quorum size, for every n <= "
            f"{MAJORITY_TOTALS}",
            functools.partial(majority_matches, rules, MAJORITY_TOTALS, rule, "model"),
            {Variant.WRONG_MAJORITY},
        ),
        prop(
            "joint_has_quorum_matches_spec",
            f"model.quorum.joint_has_quorum answers as the specification, {scope}, for every "
            "set of servers (a stranger included)",
            functools.partial(_has_quorum_matches, rules, ids, rule),
            QUORUM_VARIANTS,
        ),
        prop(
            "joint_committed_index_matches_spec",
            "model.quorum.joint_committed_index is the largest index matched by a quorum of "
            f"every active configuration, {scope}, match indexes in "
            f"{MATCH_RANGE.start}..{MATCH_RANGE.stop - 1}",
            functools.partial(_committed_index_matches, rules, ids, rule),
            QUORUM_VARIANTS,
        ),
        prop(
            "joint_vote_result_matches_spec",
            "model.quorum.joint_vote_result: won with a quorum of every active configuration "
            f"granting, lost once some configuration's majority refused, {scope}, for every "
            "set of answers",
            functools.partial(_vote_result_matches, rules, ids, rule),
            QUORUM_VARIANTS,
        ),
    ]
