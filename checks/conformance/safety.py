"""Protocol mode: Raft's safety properties checked on observed node states.

After every scenario step the runner hands over each live node's `state` answer
(role, term, vote, commit, the terms of its log entries). The checker keeps what it
has seen and raises PropertyViolation as soon as one of these breaks:

- election safety: at most one node is leader in any term;
- term monotonic and commit monotonic, per node;
- one vote per term: a node's vote does not change within a term;
- log matching: two logs with an entry of the same term at the same index agree on
  every earlier index both hold;
- state machine safety: once an index is committed anywhere, every node that holds
  that index committed holds the same entry (entries are identified by their term,
  which log matching makes sound).

These are checked directly on the states, not through model/: the model's
invariants are written over its own abstract state, and an etcd node exposes too
little (no messages in flight, no progress) to build one.
"""

from __future__ import annotations

from typing import Any

from checks.conformance.driver import PropertyViolation
from checks.conformance.properties import (
    COMMIT_MONOTONIC,
    ELECTION_SAFETY,
    LOG_MATCHING,
    ONE_VOTE_PER_TERM,
    STATE_MACHINE_SAFETY,
    TERM_MONOTONIC,
)
from checks.conformance.scenario import Step

__all__ = ["SafetyChecker"]


def _log(state: dict[str, Any]) -> dict[int, int]:
    first = int(state["first_index"])
    return {first + i: int(t) for i, t in enumerate(state["log_terms"])}


class SafetyChecker:
    def __init__(self) -> None:
        self.leaders: dict[int, int] = {}
        self.last: dict[int, dict[str, Any]] = {}
        self.committed: dict[int, int] = {}

    def __call__(self, step: Step, states: dict[int, dict[str, Any]]) -> None:
        where = f"line {step.line} '{step.text()}'"
        logs = {node: _log(s) for node, s in states.items()}
        for node, state in states.items():
            self._per_node(where, node, state)
        self._log_matching(where, logs)
        self._state_machine_safety(where, states, logs)
        self.last = dict(states)

    def _per_node(self, where: str, node: int, state: dict[str, Any]) -> None:
        term, commit = int(state["term"]), int(state["commit"])
        if state["role"] == "Leader":
            leader = self.leaders.setdefault(term, node)
            if leader != node:
                raise PropertyViolation(
                    ELECTION_SAFETY,
                    f"{where}: election safety: nodes {leader} and {node} lead term {term}",
                )
        before = self.last.get(node)
        if before is None:
            return
        if term < int(before["term"]):
            raise PropertyViolation(
                TERM_MONOTONIC, f"{where}: node {node} term went {before['term']} -> {term}"
            )
        if commit < int(before["commit"]):
            raise PropertyViolation(
                COMMIT_MONOTONIC, f"{where}: node {node} commit went {before['commit']} -> {commit}"
            )
        same_term = term == int(before["term"])
        if same_term and before["vote"] not in (0, state["vote"]):
            raise PropertyViolation(
                ONE_VOTE_PER_TERM,
                f"{where}: node {node} voted {before['vote']} then {state['vote']} in term {term}",
            )

    @staticmethod
    def _log_matching(where: str, logs: dict[int, dict[int, int]]) -> None:
        nodes = sorted(logs)
        for i, a in enumerate(nodes):
            for b in nodes[i + 1 :]:
                la, lb = logs[a], logs[b]
                common = sorted(set(la) & set(lb))
                matched = [idx for idx in common if la[idx] == lb[idx]]
                if not matched:
                    continue
                top = matched[-1]
                for idx in common:
                    if idx < top and la[idx] != lb[idx]:
                        raise PropertyViolation(
                            LOG_MATCHING,
                            f"{where}: log matching: nodes {a} and {b} agree at {top} "
                            f"but differ at {idx}",
                        )

    def _state_machine_safety(
        self, where: str, states: dict[int, dict[str, Any]], logs: dict[int, dict[int, int]]
    ) -> None:
        for node, state in states.items():
            log = logs[node]
            for idx in range(int(state["first_index"]), int(state["commit"]) + 1):
                term = log.get(idx)
                if term is None:
                    continue
                known = self.committed.setdefault(idx, term)
                if known != term:
                    raise PropertyViolation(
                        STATE_MACHINE_SAFETY,
                        f"{where}: state machine safety: index {idx} committed with term "
                        f"{known}, node {node} committed term {term}",
                    )
