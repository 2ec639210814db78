"""Deliberately broken versions of the protocol (negative controls): each is the model
with one rule replaced by a known mistake. The explorer must find each one.

Each variant also names the bounds its bug needs to show (explorations use them unless
told otherwise): a forgotten vote needs a restart; committing an earlier term's entry
needs five terms, because raft-rs's new leader appends an entry of its own term and
sends every entry up to it, so the bug needs a leader that sends only the old entry
(the Raft paper's Figure 8, shortened to three servers).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from model.params import Params

VARIANTS: dict[str, dict[str, Any]] = {
    # A leader counts replicas to commit an entry of an earlier term (Raft paper, Fig. 8).
    "commit_previous_term": {"commit_only_current_term": False},
    # Votes are granted without checking that the candidate's log is up to date.
    "vote_without_log_check": {"vote_log_check": False},
    # Applying Begin switches straight to the target, which may be two servers away
    # (shrink_to_one removes two voters at once): no joint phase.
    "direct_membership_change": {"joint_consensus": False},
    # A restarted server forgets whom it voted for in its current term.
    "forget_vote_on_restart": {"persist_vote": False},
    # A majority is one vote too small (at least one).
    "small_majority": {"majority_offset": -1},
}

# Bounds under which each variant's bug shows, where the default bounds are not enough.
VARIANT_BOUNDS: dict[str, dict[str, Any]] = {
    "commit_previous_term": {
        "spares": 0,
        "max_term": 5,
        "max_log": 2,
        "max_msgs": 3,
        "changes": (),
        "max_client_requests": 0,
        "max_membership_changes": 0,
        "max_crashes": 0,
        "max_drops": 0,
        "max_duplicates": 0,
        "heartbeats": False,
    },
    # Two candidates' requests and the answers of the server that forgets its vote.
    "forget_vote_on_restart": {"max_crashes": 1, "max_msgs": 4},
}


def with_variant(params: Params, variant: str | None) -> Params:
    """`params` with the rule changes of `variant` (None: the correct protocol)."""
    if variant is None:
        return params
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; known: {', '.join(sorted(VARIANTS))}")
    return replace(params, **VARIANTS[variant])
