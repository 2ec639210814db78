"""Raft's safety rules checked on observed node states: the model's own invariants.

After every scenario step the runner hands over each live node's `state` answer (role,
term, vote, commit, the terms of its log entries); the stateful test hands over the same
of its raft_ref nodes. The checker turns what it has seen into states of the model and
asks the model's named invariants (model/invariants.py) whether they hold, so a failure
here names the rule the explorer would name:

- ElectionSafety, over every (node, term) ever seen leading: at most one leader a term;
- LogMatching and StateMachineSafety, over the latest observation of every node seen so
  far (a node that stopped answering keeps its last one: committed entries are
  committed forever, and log matching holds across time);
- CommitMonotonic and CommittedEntriesStable, per node, between its observations.

Entries are identified by their term (all an implementation reports; log matching makes
that sound). Compacted indexes are filled in from the entries seen committed there, so
that logs compacted to different points still line up index for index.

Two rules of a node's own history are not model invariants (the model's transitions
keep them by construction), so they are checked here: TermMonotonic, and OneVotePerTerm.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from itertools import combinations
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
from model.invariants import INVARIANTS, STEP_INVARIANTS
from model.params import Params
from model.state import Budget, Config, Entry, Kind, Log, Role, Server, State

__all__ = ["Observation", "SafetyChecker", "observation_from_state"]

_ROLES = {"Leader": Role.LEADER, "Candidate": Role.CANDIDATE, "PreCandidate": Role.PRE_CANDIDATE}
# An index compacted away before any node was seen holding it committed (the initial
# snapshot's): the same unknown entry on every node.
_UNKNOWN = Entry(0, Kind.SNAPSHOT)
_PARAMS = Params()
_NO_CONFIG = Config(0, 0)


@dataclass(frozen=True)
class Observation:
    """What a node reports of itself: its log holds `log_terms` from `first_index` on."""

    role: str
    term: int
    vote: int
    commit: int
    first_index: int
    log_terms: tuple[int, ...]


def observation_from_state(state: Mapping[str, Any]) -> Observation:
    """An observation from a conformance `state` answer."""
    return Observation(
        str(state["role"]),
        int(state["term"]),
        int(state["vote"]),
        int(state["commit"]),
        int(state["first_index"]),
        tuple(int(t) for t in state["log_terms"]),
    )


class SafetyChecker:
    """Keeps what it has seen and raises PropertyViolation as soon as a rule breaks."""

    def __init__(self) -> None:
        self.latest: dict[int, Observation] = {}
        # (term, node) of every leader seen, and the entry seen committed at each index.
        self.leaders: set[tuple[int, int]] = set()
        self.committed: dict[int, Entry] = {}
        # The entry some node holds at each index (compacted elsewhere, not yet seen
        # committed).
        self.held: dict[int, Entry] = {}

    def __call__(self, step: Step, states: dict[int, dict[str, Any]]) -> None:
        """The conformance driver's observer: one call per scenario step."""
        where = f"line {step.line} '{step.text()}'"
        self.observe(where, {node: observation_from_state(s) for node, s in states.items()})

    def observe(self, where: str, observations: Mapping[int, Observation]) -> None:
        for node, seen in sorted(observations.items()):
            if seen.role == "Leader":
                self.leaders.add((seen.term, node))
        self._check(where, "ElectionSafety", self._leader_servers(), _two_leaders)
        self._learn(observations.values())
        for node, seen in sorted(observations.items()):
            before = self.latest.get(node)
            if before is not None:
                self._node_history(where, node, before, seen)
        self.latest.update(observations)
        # An adapter may report a commit index beyond the entries it shows: only the
        # entries shown are compared across nodes.
        servers = {
            f"node {n}": _within_log(self._server(seen)) for n, seen in sorted(self.latest.items())
        }
        self._check(where, "LogMatching", servers, _two_nodes)
        self._check(where, "StateMachineSafety", servers, self._committed_differ)

    def restarted(self, node: int, durable: Observation) -> None:
        """`node` crashed: what it had not persisted yet is gone, so its own history goes
        on from what it had persisted (`durable`: its hard state and stored log), which
        its next observations must not go behind. Nothing it lost had been sent (an
        application sends a Ready's messages after persisting it), so the rules across
        nodes lose nothing."""
        self.latest[node] = durable

    # --- rules of one node over time ----------------------------------------------------

    def _node_history(self, where: str, node: int, before: Observation, now: Observation) -> None:
        if now.term < before.term:
            self._fail(where, "TermMonotonic", f"node {node} term went {before.term} -> {now.term}")
        if now.term == before.term and before.vote not in (0, now.vote):
            self._fail(
                where,
                "OneVotePerTerm",
                f"node {node} voted {before.vote} then {now.vote} in term {now.term}",
            )
        a, b = self._server(before), self._server(now)
        # Commit indexes as reported; entries only as far as they are shown.
        pairs = {"CommitMonotonic": (a, b), "CommittedEntriesStable": (_within_log(a), b)}
        for rule, (x, y) in pairs.items():
            if not STEP_INVARIANTS[rule](_PARAMS, _state([x]), None, _state([y])):
                self._fail(where, rule, f"node {node}: {_describe(a)} -> {_describe(b)}")

    # --- rules across nodes ---------------------------------------------------------------

    def _check(
        self, where: str, rule: str, servers: Mapping[str, Server], explain: _Explain
    ) -> None:
        """Asks the model's invariant `rule` about the labelled servers; on a failure,
        names the first pair that breaks it."""
        holds = INVARIANTS[rule]
        if holds(_PARAMS, _state(servers.values())):
            return
        for a, b in combinations(servers.items(), 2):
            if not holds(_PARAMS, _state([a[1], b[1]])):
                self._fail(where, rule, explain(a, b))
        self._fail(where, rule, ", ".join(servers))

    def _committed_differ(self, a: tuple[str, Server], b: tuple[str, Server]) -> str:
        """Where two nodes committed different entries, told against the entry first
        seen committed there."""
        (_, sa), (_, sb) = a, b
        index = next(
            k for k in range(1, min(sa.commit, sb.commit) + 1) if sa.log[k - 1] != sb.log[k - 1]
        )
        known = self.committed.get(index, sa.log[index - 1])
        label, other = b if sa.log[index - 1] == known else a
        return (
            f"index {index} committed with term {known.term}, {label} committed term "
            f"{other.log[index - 1].term} ({_two_nodes(a, b)})"
        )

    def _leader_servers(self) -> dict[str, Server]:
        # One leading server per (term, node) ever seen: the rule over the whole run.
        return {
            f"node {node} leading term {term}": Server(
                term, 0, Role.LEADER, node, (), 0, 0, _NO_CONFIG, 0, 0, (), (), 0
            )
            for term, node in sorted(self.leaders)
        }

    def _server(self, seen: Observation) -> Server:
        """The observed node as a model server: role, term, vote, commit and log."""
        prefix = [self._compacted_entry(index) for index in range(1, seen.first_index)]
        log: Log = (*prefix, *(Entry(term, Kind.DATA) for term in seen.log_terms))
        role = _ROLES.get(seen.role, Role.FOLLOWER)
        return Server(
            seen.term, seen.vote, role, 0, log, seen.commit, 0, _NO_CONFIG, 0, 0, (), (), 0
        )

    def _compacted_entry(self, index: int) -> Entry:
        # A compacted entry was committed: it is the one seen committed there, else (it
        # was committed and compacted between two observations) the one a node holds.
        entry = self.committed.get(index)
        if entry is None:
            entry = self.held.get(index, _UNKNOWN)
        return entry

    def _learn(self, observations: Iterable[Observation]) -> None:
        """Records the entries the nodes hold, and which of them are committed."""
        self.held = {}
        for seen in (*self.latest.values(), *observations):
            for index, term in enumerate(seen.log_terms, start=seen.first_index):
                entry = Entry(term, Kind.DATA)
                self.held.setdefault(index, entry)
                if index <= seen.commit:
                    self.committed.setdefault(index, entry)

    @staticmethod
    def _fail(where: str, rule: str, detail: str) -> None:
        name = _PROPERTY_OF[rule]
        raise PropertyViolation(name, f"{where}: {rule}, {_RULE_WORDS[rule]}: {detail}")


# The conformance property (checks/conformance/properties.py) each rule reports as.
_PROPERTY_OF = {
    "ElectionSafety": ELECTION_SAFETY,
    "LogMatching": LOG_MATCHING,
    "StateMachineSafety": STATE_MACHINE_SAFETY,
    "CommitMonotonic": COMMIT_MONOTONIC,
    "CommittedEntriesStable": STATE_MACHINE_SAFETY,
    "TermMonotonic": TERM_MONOTONIC,
    "OneVotePerTerm": ONE_VOTE_PER_TERM,
}

# How each rule reads in words (the model's docstrings say it at length).
_RULE_WORDS = {
    "ElectionSafety": "election safety",
    "LogMatching": "log matching",
    "StateMachineSafety": "state machine safety",
    "CommitMonotonic": "commit never decreases",
    "CommittedEntriesStable": "state machine safety over time: committed entries never change",
    "TermMonotonic": "term went backwards",
    "OneVotePerTerm": "one vote per term: voted twice",
}


# How a failure names the pair of (label, server) that breaks a rule.
_Explain = Callable[[tuple[str, Server], tuple[str, Server]], str]


def _two_leaders(a: tuple[str, Server], b: tuple[str, Server]) -> str:
    return f"nodes {a[1].leader} and {b[1].leader} lead term {a[1].term}"


def _two_nodes(a: tuple[str, Server], b: tuple[str, Server]) -> str:
    return f"{a[0]} ({_describe(a[1])}) and {b[0]} ({_describe(b[1])})"


def _within_log(s: Server) -> Server:
    return s if s.commit <= len(s.log) else s._replace(commit=len(s.log))


def _state(servers: Iterable[Server]) -> State:
    return State(tuple(servers), (), Budget())


def _describe(s: Server) -> str:
    # "?" for an index compacted before any node was seen holding it committed.
    terms = ", ".join("?" if e is _UNKNOWN else str(e.term) for e in s.log)
    return f"{Role.NAMES[s.role]}, term {s.term}, commit {s.commit}, log terms from 1: [{terms}]"
