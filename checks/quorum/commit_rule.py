"""The commit rule and the inductive step behind Leader Completeness, on bounded logs.

The claim (Raft paper, section 5.4.3): a leader of term T commits index i, whose
entry has term t, once a quorum of every active configuration stores that entry.
Then every server that wins an election of a later term U already holds the entry.

The query describes one moment, the election of term U, by the logs every server
has then, and assumes only facts true of every reachable state plus the
induction hypothesis (every leader of a term between T and U holds the entry):

- logs are well formed: terms never decrease along a log, all are below U;
- log matching, in its strong form: two logs holding an entry of term s at
  indexes j1 <= j2 agree up to j1 (all entries of term s copy its leader's log);
- the quorum that stored the entry still stores it (only leaders of terms >= T
  could overwrite it there, and they hold it);
- an entry of a term in (T, U) lies after index i in a log that holds the entry,
  and so does an entry of term T at an index >= i (its leader, of term T, holds
  it; when the entry is older than T, all entries of term T come after it);
- the winner is a voter; its votes come from a quorum of every active
  configuration, each granted only to a log at least as up to date as the voter's.

Raft's rule (t == T) makes the query unsatisfiable. Counting replicas of an entry
of an earlier term (t < T) leaves entries of terms between t and T unconstrained,
and Z3 finds the situation of Figure 8 of the paper.
"""

from __future__ import annotations

import functools
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
from checks.quorum.spec import BoolExpr, IdSet, IntExpr, Rules, Variant, joint_quorum_of, quorum_of

__all__ = ["FAMILY", "LogBounds", "decide", "properties"]

FAMILY = "commit_rule"


@dataclass(frozen=True)
class LogBounds:
    """How large the checked situations are."""

    servers: int = 5
    entries: int = 4
    terms: int = 6


class _Situation:
    """The symbolic state at the election of term U, with the commit that preceded it."""

    def __init__(self, rules: Rules, bounds: LogBounds, current_term_only: bool) -> None:
        self.rules = rules
        self.bounds = bounds
        self.servers = list(range(1, bounds.servers + 1))
        self.indexes = list(range(1, bounds.entries + 1))
        self.length = {s: z3.Int(f"length_{s}") for s in self.servers}
        # Term 0 marks "no entry at this index".
        self.term = {(s, j): z3.Int(f"term_{s}_{j}") for s in self.servers for j in self.indexes}
        self.old = IdSet("old", self.servers)
        self.new = IdSet("new", self.servers)
        self.joint = z3.Bool("joint")
        self.acked = IdSet("acked", self.servers)
        self.voters = IdSet("granted", self.servers)
        self.index = z3.Int("committed_index")
        self.entry_term = z3.Int("committed_entry_term")
        self.commit_term = z3.Int("commit_term")
        self.election_term = z3.Int("election_term")
        # Servers are interchangeable (configurations are symbolic), so the winner can
        # be fixed as the last one, like S5 in Figure 8.
        self.winner = self.servers[-1]
        self.current_term_only = current_term_only

    def term_at(self, s: int, index: IntExpr) -> IntExpr:
        """The term of server s's entry at a symbolic index (0 when absent)."""
        return z3.Sum([z3.If(index == j, self.term[s, j], 0) for j in self.indexes])

    def last_term(self, s: int) -> IntExpr:
        return self.term_at(s, self.length[s])

    def holds_entry(self, s: int) -> BoolExpr:
        return z3.And(self.length[s] >= self.index, self.term_at(s, self.index) == self.entry_term)

    def quorum_of_active(self, members: IdSet) -> BoolExpr:
        return z3.If(
            self.joint,
            joint_quorum_of(self.rules, members, self.old, self.new),
            quorum_of(self.rules, members, self.old),
        )

    def well_formed_logs(self) -> list[BoolExpr]:
        facts: list[BoolExpr] = []
        for s in self.servers:
            facts.append(z3.And(self.length[s] >= 0, self.length[s] <= self.bounds.entries))
            for j in self.indexes:
                present = j <= self.length[s]
                term = self.term[s, j]
                facts.append(
                    z3.If(present, z3.And(term >= 1, term < self.election_term), term == 0)
                )
                if j > 1:
                    facts.append(z3.Implies(present, self.term[s, j - 1] <= term))
        return facts

    def log_matching(self) -> list[BoolExpr]:
        facts: list[BoolExpr] = []
        for s in self.servers:
            for r in self.servers:
                if s == r:
                    continue
                for j1 in self.indexes:
                    for j2 in self.indexes[j1 - 1 :]:
                        same_term = z3.And(
                            self.term[s, j1] >= 1, self.term[s, j1] == self.term[r, j2]
                        )
                        agree = z3.And(
                            [self.term[s, k] == self.term[r, k] for k in range(1, j1 + 1)]
                        )
                        facts.append(z3.Implies(same_term, agree))
        return facts

    def commit(self) -> list[BoolExpr]:
        facts = [
            self.index >= 1,
            self.index <= self.bounds.entries,
            self.entry_term >= 1,
            self.commit_term < self.election_term,
            self.election_term <= self.bounds.terms,
            self.old.is_nonempty(),
            z3.Implies(self.joint, self.new.is_nonempty()),
            self.quorum_of_active(self.acked),
        ]
        if self.current_term_only:
            facts.append(self.entry_term == self.commit_term)
        else:
            facts.append(self.entry_term <= self.commit_term)
        facts += [z3.Implies(self.acked.member[s], self.holds_entry(s)) for s in self.servers]
        return facts

    def later_leaders_hold_entry(self) -> list[BoolExpr]:
        """The induction hypothesis, as it shows in the logs."""
        facts: list[BoolExpr] = []
        for s in self.servers:
            entry_kept = self.term_at(s, self.index) == self.entry_term
            for j in self.indexes:
                term = self.term[s, j]
                between = z3.And(term > self.commit_term, term < self.election_term)
                facts.append(z3.Implies(between, z3.And(j > self.index, entry_kept)))
                of_commit_term = term == self.commit_term
                facts.append(z3.Implies(z3.And(of_commit_term, j >= self.index), entry_kept))
                # A leader of term T that commits an older entry held it when elected,
                # so it appends entries of term T only after it.
                older_entry = self.entry_term < self.commit_term
                facts.append(z3.Implies(z3.And(of_commit_term, older_entry), j > self.index))
        return facts

    def election(self) -> list[BoolExpr]:
        w = self.winner
        # Only a voter campaigns (of either configuration while joint); it votes for itself.
        is_voter = z3.Or(self.old.member[w], z3.And(self.joint, self.new.member[w]))
        facts = [is_voter, self.voters.member[w], self.quorum_of_active(self.voters)]
        for v in self.servers:
            at_least_as_up_to_date = z3.Or(
                self.last_term(w) > self.last_term(v),
                z3.And(self.last_term(w) == self.last_term(v), self.length[w] >= self.length[v]),
            )
            facts.append(z3.Implies(self.voters.member[v], at_least_as_up_to_date))
        return facts

    def assumptions(self) -> list[BoolExpr]:
        return [
            *self.well_formed_logs(),
            *self.log_matching(),
            *self.commit(),
            *self.later_leaders_hold_entry(),
            *self.election(),
        ]

    def size(self) -> IntExpr:
        """Small situations draw well: few terms, short logs."""
        return self.election_term * 100 + z3.Sum(list(self.length.values()))

    def explain(self, model: z3.ModelRef) -> Counterexample:
        def value(e: IntExpr) -> int:
            return int(model.eval(e, model_completion=True).as_long())

        logs = {
            str(s): [value(self.term[s, j]) for j in self.indexes if j <= value(self.length[s])]
            for s in self.servers
        }
        joint = z3.is_true(model.eval(self.joint, model_completion=True))
        configurations = {"old": self.old.members(model)}
        if joint:
            configurations["new"] = self.new.members(model)
        data: dict[str, Any] = {
            "logs": logs,
            "configurations": configurations,
            "joint": joint,
            "committed": {
                "index": value(self.index),
                "entry_term": value(self.entry_term),
                "commit_term": value(self.commit_term),
                "stored_by": self.acked.members(model),
            },
            "election": {
                "term": value(self.election_term),
                "winner": self.winner,
                "votes_from": self.voters.members(model),
            },
        }
        c, e = data["committed"], data["election"]
        voters = " ".join(f"{name}={ids}" for name, ids in configurations.items())
        summary = (
            f"voters {voters}: "
            f"entry (index {c['index']}, term {c['entry_term']}) counted as committed in term "
            f"{c['commit_term']} on {c['stored_by']}; server {e['winner']} with log "
            f"{logs[str(e['winner'])]} wins term {e['term']} with votes {e['votes_from']} "
            "without it"
        )
        return Counterexample(summary, data, "logs")


def _check(
    rules: Rules,
    bounds: LogBounds,
    current_term_only: bool,
    figure8_cluster: bool,
    minimize: bool,
) -> Verdict:
    situation = _Situation(rules, bounds, current_term_only)
    assumptions = situation.assumptions()
    if figure8_cluster:
        assumptions += [z3.Not(situation.joint), *situation.old.member.values()]
    winner_holds_entry = situation.holds_entry(situation.winner)
    size = situation.size() if minimize else None
    return prove(assumptions, winner_holds_entry, situation.explain, minimize=size)


def decide(
    rules: Rules, bounds: LogBounds, current_term_only: bool, *, figure8_cluster: bool = False
) -> Verdict:
    """Proves the step, or finds a winner without the committed entry.

    With `figure8_cluster` the search is narrowed to the cluster of Figure 8 (every
    server a voter of one configuration), so that its counterexample reads like the
    paper's; a refutation in a narrower search is still a refutation.
    """
    verdict = _check(rules, bounds, current_term_only, figure8_cluster, minimize=False)
    if verdict.outcome is not Outcome.REFUTED:
        return verdict
    # For a readable counterexample, search again in growing boxes (fewest terms, then
    # shortest logs): small boxes are quick to search, unlike shrinking in the big one.
    for terms in range(2, bounds.terms + 1):
        for entries in range(1, bounds.entries + 1):
            box = LogBounds(bounds.servers, entries, terms)
            small = _check(rules, box, current_term_only, figure8_cluster, minimize=True)
            if small.outcome is Outcome.REFUTED:
                return small
    return verdict


def properties(variant: Variant, max_ids: int) -> list[Obligation]:
    rules = Rules(variant)
    # Figure 8 needs three servers: two to store the entry, one to win without it.
    bounds = LogBounds(servers=min(max_ids, LogBounds.servers))
    scope = (
        f"up to {bounds.servers} servers, {bounds.entries} entries, terms up to {bounds.terms}, "
        "single or joint configurations"
    )
    return [
        Obligation(
            name="leader_completeness_step",
            family=FAMILY,
            statement="an entry committed by the rule of the commit variant is held by every "
            f"later election winner ({scope})",
            expected=expectation(variant, {Variant.WRONG_MAJORITY, Variant.COMMIT_ANY_TERM}),
            decide=functools.partial(decide, rules, bounds, rules.commit_needs_current_term),
        ),
        Obligation(
            name="commit_without_current_term_is_safe",
            family=FAMILY,
            statement="counting replicas of an entry of an earlier term also commits safely "
            f"(Figure 8 of the Raft paper; {scope})",
            expected=expectation(variant, always_fails=True),
            decide=functools.partial(decide, rules, bounds, False, figure8_cluster=True),
        ),
    ]
