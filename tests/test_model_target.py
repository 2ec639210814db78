"""The model as an exploration target: symmetry, fingerprints, descriptions."""

import json
import random
import subprocess
import sys
from itertools import permutations

import pytest

from checks.engine.target import Expectation
from checks.targets.model_target import DEFAULT_BOUNDS, VARIANTS, ModelTarget, build_model_target
from model.actions import successors
from model.params import Params
from model.state import State, initial_state
from model.symmetry import rename, symmetric_hash


def random_states(count: int, seed: int, p: Params) -> list[State]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        state = initial_state(p.nodes, p.spares)
        for _ in range(rng.randint(3, 14)):
            nexts = successors(p, state)
            if not nexts:
                break
            state = rng.choice(nexts)[1]
        out.append(state)
    return out


P = Params(max_msgs=6, changes=("add_voter", "add_learner", "remove_voter", "shrink_to_one"))


def test_renaming_servers_commutes_with_every_transition():
    for state in random_states(60, seed=1, p=P):
        for perm in [(1, 0, 2, 3), (3, 2, 1, 0), (2, 3, 0, 1)]:
            renamed_successors = sorted(hash(s) for _, s in successors(P, rename(state, perm)))
            successors_renamed = sorted(hash(rename(s, perm)) for _, s in successors(P, state))
            assert renamed_successors == successors_renamed


def test_symmetric_hash_is_equal_across_an_orbit_and_tells_orbits_apart():
    states = random_states(60, seed=2, p=P)
    for state in states:
        assert {symmetric_hash(rename(state, perm)) for perm in permutations(range(4))} == {
            symmetric_hash(state)
        }
    # Different orbits (compared by brute force) get different symmetric hashes.
    orbits = {min(hash(rename(s, perm)) for perm in permutations(range(4))) for s in states}
    assert len({symmetric_hash(s) for s in states}) == len(orbits)


def test_fingerprint_is_the_same_in_another_process():
    target = ModelTarget()
    state = random_states(1, seed=3, p=target.params)[0]
    code = (
        "import random, sys\n"
        "from tests.test_model_target import random_states\n"
        "from checks.targets.model_target import ModelTarget\n"
        "t = ModelTarget()\n"
        "s = random_states(1, seed=3, p=t.params)[0]\n"
        "print(t.fingerprint(s), t.symmetric_fingerprint(s))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="."
    ).stdout.split()
    assert [int(x) for x in out] == [
        target.fingerprint(state),
        target.symmetric_fingerprint(state),
    ]
    assert 0 <= target.fingerprint(state) < 2**64


def test_target_interface_and_descriptions():
    target = build_model_target(nodes=3, max_term=2)
    assert target.params.max_term == 2 and target.bounds["max_term"] == 2
    assert set(DEFAULT_BOUNDS) <= set(target.bounds)
    kinds = {p.expectation for p in target.properties()}
    assert kinds == {Expectation.ALWAYS, Expectation.ALWAYS_STEP, Expectation.SOMETIMES}
    for state in random_states(20, seed=4, p=target.params):
        json.dumps(target.describe_state(state))
        for action, _ in target.successors(state):
            assert target.format_action(action).startswith(action.name)
            assert target.action_kind(action).startswith(action.name)


def test_bad_bounds_and_variants_are_refused():
    with pytest.raises(ValueError, match="unknown model bounds"):
        ModelTarget(max_terms=3)
    with pytest.raises(ValueError, match="unknown variant"):
        ModelTarget(variant="no_such_bug")
    assert set(VARIANTS) >= {
        "commit_previous_term",
        "vote_without_log_check",
        "direct_membership_change",
        "forget_vote_on_restart",
        "small_majority",
    }
