"""What a checked property is, what checking it yields, and the Z3 call that proves one.

A property is a claim with an expectation: most claims must hold, a few must
fail (the two-voter change without joint consensus, Figure 8), and a negative
control (`Variant`) turns some holding claims into failing ones on purpose.
A run is good when every outcome matches its expectation.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import z3

from checks.quorum.spec import BoolExpr, IntExpr, Variant

__all__ = [
    "Counterexample",
    "Expectation",
    "Outcome",
    "Obligation",
    "Result",
    "Verdict",
    "check",
    "expectation",
    "prove",
    "quorum_counterexample",
]

# A single query that takes longer than this is reported as "unknown", never as proved.
SOLVER_TIMEOUT_MS = 60_000


class Expectation(Enum):
    HOLDS = "holds"
    FAILS = "fails"


class Outcome(Enum):
    PROVED = "proved"
    REFUTED = "refuted"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Counterexample:
    """A concrete witness against a claim.

    `summary` is one line for the table; `data` is plain JSON; `kind` names the
    picture that can draw it ("quorums" or "logs"), or is None.
    """

    summary: str
    data: dict[str, Any]
    kind: str | None = None


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    counterexample: Counterexample | None = None
    detail: str = ""


@dataclass(frozen=True)
class Obligation:
    """A proof obligation: a named claim of one family, with what we expect of it under
    the chosen variant (the explorer's checked predicates are `engine.target.Property`).

    Obligations with the same `group` share work (a cache) and are decided one
    after the other in one process.
    """

    name: str
    family: str
    statement: str
    expected: Expectation
    decide: Callable[[], Verdict] = field(repr=False)
    group: str | None = None


@dataclass(frozen=True)
class Result:
    prop: Obligation
    verdict: Verdict
    seconds: float

    @property
    def key(self) -> str:
        """`family.name`: unique within a run."""
        return f"{self.prop.family}.{self.prop.name}"

    @property
    def as_expected(self) -> bool:
        if self.prop.expected is Expectation.HOLDS:
            return self.verdict.outcome is Outcome.PROVED
        return self.verdict.outcome is Outcome.REFUTED


def expectation(
    variant: Variant, fails_under: Iterable[Variant] = (), *, always_fails: bool = False
) -> Expectation:
    """Fails when the claim is false for Raft itself, or the variant is meant to break it."""
    if always_fails or variant in set(fails_under):
        return Expectation.FAILS
    return Expectation.HOLDS


def check(prop: Obligation) -> Result:
    """Decides one property and times it."""
    start = time.perf_counter()
    verdict = prop.decide()
    return Result(prop, verdict, time.perf_counter() - start)


def prove(
    assumptions: Sequence[BoolExpr],
    claim: BoolExpr,
    explain: Callable[[z3.ModelRef], Counterexample],
    *,
    minimize: IntExpr | None = None,
) -> Verdict:
    """Proves `assumptions ⇒ claim` by showing that its negation is unsatisfiable.

    When the negation is satisfiable the model is a counterexample; with
    `minimize`, smaller ones are asked for until none is smaller, to print and draw
    a readable one.
    """
    solver = z3.Solver()
    solver.set("timeout", SOLVER_TIMEOUT_MS)
    solver.add(*assumptions)
    solver.add(z3.Not(claim))
    answer = solver.check()
    if answer == z3.unsat:
        return Verdict(Outcome.PROVED)
    if answer == z3.unknown:
        return Verdict(Outcome.UNKNOWN, detail=str(solver.reason_unknown()))
    model = solver.model()
    if minimize is not None:
        model = _shrink(solver, model, minimize)
    return Verdict(Outcome.REFUTED, explain(model))


def _shrink(solver: z3.Solver, model: z3.ModelRef, objective: IntExpr) -> z3.ModelRef:
    """Asks for ever smaller counterexamples until none is smaller (or the solver gives up).

    Incremental solving keeps what the solver learnt; on these problems it is faster
    than `z3.Optimize` (about 2.5 times on the Figure 8 search).
    """
    while True:
        bound = model.eval(objective, model_completion=True)
        solver.add(objective < bound)
        if solver.check() != z3.sat:
            return model
        model = solver.model()


def quorum_counterexample(
    configurations: dict[str, list[int]], quorums: dict[str, list[int]], *, joint: bool = False
) -> Counterexample:
    """Configurations and quorums that break an intersection claim, ready to print and draw."""
    configs = " ".join(f"{name}={_show(ids)}" for name, ids in configurations.items())
    sets = " and ".join(f"{name}={_show(ids)}" for name, ids in quorums.items())
    summary = f"{configs}: quorums {sets} share no server"
    data: dict[str, Any] = {"configurations": configurations, "quorums": quorums, "joint": joint}
    return Counterexample(summary, data, "quorums")


def _show(ids: Sequence[int]) -> str:
    return "{" + ",".join(str(i) for i in ids) + "}"
