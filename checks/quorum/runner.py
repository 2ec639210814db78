"""Collects the properties of every family and decides them, on one or more processes."""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

from checks.quorum import bounded, code_tie, commit_rule, unbounded
from checks.quorum.properties import Property, Result, check
from checks.quorum.spec import Variant

__all__ = ["DEFAULT_MAX_IDS", "FAMILIES", "all_properties", "run"]

DEFAULT_MAX_IDS = 9
FAMILIES = (unbounded.FAMILY, bounded.FAMILY, commit_rule.FAMILY, code_tie.FAMILY)


def all_properties(
    variant: Variant = Variant.RAFT, max_ids: int = DEFAULT_MAX_IDS
) -> list[Property]:
    return [
        *unbounded.properties(variant),
        *bounded.properties(variant, max_ids),
        *commit_rule.properties(variant, max_ids),
        *code_tie.properties(variant, max_ids),
    ]


def _check_all(props: Sequence[Property]) -> list[Result]:
    return [check(p) for p in props]


def run(props: Sequence[Property], jobs: int = 1) -> list[Result]:
    """Decides every property; results come back in the order of `props`.

    With several jobs, each group of properties (see `Property.group`) goes to a
    worker process as a unit; the slowest groups are submitted first.
    """
    if jobs <= 1:
        return _check_all(props)
    groups: dict[str, list[Property]] = {}
    for prop in props:
        groups.setdefault(prop.group or f"{prop.family}.{prop.name}", []).append(prop)
    batches = sorted(groups.values(), key=lambda batch: -_expected_cost(batch))
    # "spawn" and one batch per process: every batch starts in a fresh interpreter, so
    # Z3's answers (and the counterexamples drawn) do not depend on which batches a
    # worker happened to decide before.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context, max_tasks_per_child=1) as pool:
        futures = [pool.submit(_check_all, batch) for batch in batches]
        decided = {(r.prop.family, r.prop.name): r for future in futures for r in future.result()}
    return [decided[p.family, p.name] for p in props]


def _expected_cost(batch: Sequence[Property]) -> int:
    # The exhaustive code-tie checks take longest, the unbounded proofs least.
    weights = {code_tie.FAMILY: 3, commit_rule.FAMILY: 2, bounded.FAMILY: 1}
    return sum(weights.get(p.family, 0) for p in batch)
