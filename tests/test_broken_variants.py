"""Every broken variant in the table (checks/broken.py) is caught as the table says: the
explorer's BFS finds its first check at exactly the stated depth (and nothing one step
shallower), seeded random walks find the same check, and a Z3 variant refutes every
proof named."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from checks.broken import BROKEN, BrokenVariant, of_target
from checks.engine.outcome import SearchOptions, SearchOutcome
from checks.engine.search import explore
from checks.mutants import MUTANTS
from checks.quorum.properties import Expectation as ProofExpectation
from checks.quorum.properties import Outcome, check
from checks.quorum.runner import all_properties
from checks.quorum.spec import Variant
from checks.targets.impl_target import build_impl_target
from checks.targets.model_target import VARIANTS, ModelTarget
from model.variants import VARIANTS as MODEL_SWITCHES
from tests.test_quorum_proofs import CONTROL_IDS, _by_key

EXPLORED = [b for b in BROKEN if b.target in ("impl", "model")]


def _marks(b: BrokenVariant) -> Any:
    return pytest.param(b, id=b.name, marks=[pytest.mark.slow] if b.slow else [])


def _search(b: BrokenVariant, options: SearchOptions) -> SearchOutcome:
    if b.target == "model":
        return explore(ModelTarget(variant=b.name), options)
    target = build_impl_target(mutant=b.name, **b.bounds)
    try:
        return explore(target, options)
    finally:
        target.close()


def test_the_table_names_every_mechanism_once() -> None:
    assert set(of_target("impl")) == set(MUTANTS)
    assert set(of_target("model")) == set(VARIANTS) == set(MODEL_SWITCHES)
    assert set(of_target("quorum")) == {v.value for v in Variant if v is not Variant.RAFT}
    assert len({b.name for b in BROKEN}) == len(BROKEN)


@pytest.mark.parametrize("b", [_marks(b) for b in EXPLORED])
def test_bfs_finds_it_at_its_depth(b: BrokenVariant) -> None:
    """With symmetry and partial-order reduction (the default), and without each: the
    reductions must miss nothing."""
    assert b.depth is not None
    reductions = [(True, True), (True, False)]
    if b.target == "impl":
        reductions.append((False, True))
    for symmetry, por in reductions:
        how = f"symmetry {symmetry}, por {por}"
        options = SearchOptions(max_depth=b.depth, symmetry=symmetry, por=por, workers=1)
        found = _search(b, options)
        first = [(v.property_name, v.depth) for v in found.violations][:1]
        assert first == [(b.caught_by[0], b.depth)], how
        # Shortest: one step less finds nothing.
        shallower = _search(b, replace(options, max_depth=b.depth - 1))
        assert shallower.violations == [], how


@pytest.mark.parametrize("b", [_marks(b) for b in EXPLORED])
def test_random_walks_find_it(b: BrokenVariant) -> None:
    assert b.walks is not None
    options = SearchOptions(strategy="random", max_depth=40, walks=b.walks, seed=0, workers=1)
    found = _search(b, options)
    assert found.violations, f"{b.name} not found by {b.walks} walks"
    assert found.violations[0].property_name == b.caught_by[0]


@pytest.mark.parametrize("b", list(of_target("quorum").values()), ids=lambda b: b.name)
def test_a_quorum_variant_refutes_the_proofs_it_names(b: BrokenVariant) -> None:
    props = _by_key(all_properties(Variant(b.name), CONTROL_IDS))
    expected_to_fail = {k for k, p in props.items() if p.expected is ProofExpectation.FAILS}
    assert set(b.caught_by) <= expected_to_fail
    for key in b.caught_by:
        result = check(props[key])
        assert result.verdict.outcome is Outcome.REFUTED, key
        assert result.verdict.counterexample is not None
