"""The properties protocol mode checks, by name.

`safety.SafetyChecker` raises a `PropertyViolation` carrying one of the safety
properties' names; a scenario's `expect-violation NAME` header names one; a
conformance trace records it. `model_check.DeliveryChecker` raises `refines-model`.
"""

from __future__ import annotations

__all__ = [
    "COMMIT_MONOTONIC",
    "ELECTION_SAFETY",
    "LOG_MATCHING",
    "ONE_VOTE_PER_TERM",
    "REFINES_MODEL",
    "REFINES_MODEL_RULE",
    "SAFETY_PROPERTIES",
    "STATE_MACHINE_SAFETY",
    "TERM_MONOTONIC",
]

ELECTION_SAFETY = "election-safety"
TERM_MONOTONIC = "term-monotonic"
COMMIT_MONOTONIC = "commit-monotonic"
ONE_VOTE_PER_TERM = "one-vote-per-term"
LOG_MATCHING = "log-matching"
STATE_MACHINE_SAFETY = "state-machine-safety"

SAFETY_PROPERTIES: dict[str, str] = {
    ELECTION_SAFETY: "at most one node is leader in any term",
    TERM_MONOTONIC: "a node's term never decreases",
    COMMIT_MONOTONIC: "a node's commit index never decreases",
    ONE_VOTE_PER_TERM: "a node's vote does not change within a term",
    LOG_MATCHING: "two logs with an entry of the same term at an index agree before it",
    STATE_MACHINE_SAFETY: "an index committed anywhere holds the same entry on every node "
    "that has committed it",
}

# Not a safety property: a step of the implementation that the model does not allow.
REFINES_MODEL = "refines-model"
REFINES_MODEL_RULE = (
    "every message delivered to a follower takes it to a state the model allows, and "
    "it answers as the model does"
)
