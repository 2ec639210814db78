"""The quorum proofs (checks/quorum): every proof, the negative controls, the tie to
raft_ref's quorum code, and the command line."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from checks.quorum import code_tie, commit_rule, model_tie, pictures, report
from checks.quorum.__main__ import main
from checks.quorum.code_tie import Membership, QuorumOracle, optimal_committed_index
from checks.quorum.properties import Expectation, Obligation, Outcome, Result, check
from checks.quorum.runner import all_properties, run
from checks.quorum.spec import Rules, Variant
from model.params import Params
from model.variants import VARIANTS
from raft_ref.progress import CandidacyStatus, ProgressSet, majority

# Bounded proofs at the command's default size; the code tie exhaustive over 4 ids
# by default (over 5, the command's size, in the slow run).
PROOF_IDS = 9
TIE_IDS_FAST = 4
TIE_IDS_FULL = 5
CONTROL_IDS = 3


def _by_key(props: list[Obligation]) -> dict[str, Obligation]:
    return {f"{p.family}.{p.name}": p for p in props}


PROOFS = _by_key([p for p in all_properties(Variant.RAFT, PROOF_IDS) if p.family != "code_tie"])
TIES_FAST = _by_key(code_tie.properties(Variant.RAFT, TIE_IDS_FAST))
TIES_FULL = _by_key(code_tie.properties(Variant.RAFT, TIE_IDS_FULL))
MODEL_TIES = _by_key(model_tie.properties(Variant.RAFT, TIE_IDS_FULL))
CONTROLS = {
    f"{variant.value}:{key}": prop
    for variant in Variant
    if variant is not Variant.RAFT
    for key, prop in _by_key(all_properties(variant, CONTROL_IDS)).items()
}


@functools.cache
def _proved(key: str) -> Result:
    """The result of one of PROOFS, decided once per test process."""
    return check(PROOFS[key])


def _assert_as_expected(result: Result) -> None:
    verdict = result.verdict
    assert result.as_expected, (result.prop.expected, verdict.outcome, verdict)
    if result.prop.expected is Expectation.FAILS:
        assert verdict.counterexample is not None


# --- every proof ------------------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(PROOFS))
def test_proof(key: str) -> None:
    _assert_as_expected(_proved(key))


def test_raft_rules_fail_only_where_raft_says_so() -> None:
    failing = {k for k, p in PROOFS.items() if p.expected is Expectation.FAILS}
    assert failing == {
        "unbounded.two_voter_change_keeps_intersection",
        "bounded.two_voter_change_keeps_intersection",
        "commit_rule.commit_without_current_term_is_safe",
    }


# --- counterexamples are real -----------------------------------------------------------


def _quorum_of(members: set[int], voters: set[int], majority_of: object = majority) -> bool:
    assert callable(majority_of)
    return len(members & voters) >= majority_of(len(voters))


@pytest.mark.parametrize("family", ["unbounded", "bounded"])
def test_two_voter_change_counterexample_is_two_disjoint_quorums(family: str) -> None:
    result = _proved(f"{family}.two_voter_change_keeps_intersection")
    assert result.verdict.counterexample is not None
    data = result.verdict.counterexample.data
    old, new = (set(data["configurations"][k]) for k in ("old", "new"))
    a, b = (set(ids) for ids in data["quorums"].values())
    assert len(old ^ new) == 2
    assert _quorum_of(a, old)
    assert _quorum_of(b, new)
    assert not a & b


def _up_to_date(log: list[int], than: list[int]) -> bool:
    last = (log[-1] if log else 0, len(log))
    other = (than[-1] if than else 0, len(than))
    return last >= other


def test_figure8_counterexample_tells_the_story_of_figure8() -> None:
    result = _proved("commit_rule.commit_without_current_term_is_safe")
    assert result.verdict.counterexample is not None
    data = result.verdict.counterexample.data
    logs = {int(s): log for s, log in data["logs"].items()}
    voters = set(data["configurations"]["old"])
    committed, election = data["committed"], data["election"]
    index, term = committed["index"], committed["entry_term"]
    # The entry is older than the term that counted it, and a majority stored it ...
    assert term < committed["commit_term"] < election["term"]
    stored = set(committed["stored_by"])
    assert _quorum_of(stored, voters)
    assert all(len(logs[s]) >= index and logs[s][index - 1] == term for s in stored)
    # ... yet a majority elects a server without it, each voter's log no more up to date.
    winner, votes = election["winner"], set(election["votes_from"])
    assert _quorum_of(votes, voters)
    assert all(_up_to_date(logs[winner], logs[v]) for v in votes)
    winner_log = logs[winner]
    assert len(winner_log) < index or winner_log[index - 1] != term


# --- negative controls ------------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(CONTROLS))
def test_negative_control(key: str) -> None:
    _assert_as_expected(check(CONTROLS[key]))


def test_wrong_majority_counterexample_is_two_disjoint_half_quorums() -> None:
    result = check(
        _by_key(all_properties(Variant.WRONG_MAJORITY, 6))["bounded.majorities_intersect"]
    )
    assert result.verdict.counterexample is not None
    data = result.verdict.counterexample.data
    voters = set(data["configurations"]["voters"])
    a, b = (set(ids) for ids in data["quorums"].values())

    def half(n: int) -> int:
        return n // 2

    assert _quorum_of(a, voters, half)
    assert _quorum_of(b, voters, half)
    assert not a & b & voters


# --- the tie to raft_ref ----------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(TIES_FAST))
def test_code_tie(key: str) -> None:
    _assert_as_expected(check(TIES_FAST[key]))


@pytest.mark.slow
@pytest.mark.parametrize("key", sorted(TIES_FULL))
def test_code_tie_exhaustive_over_five_ids(key: str) -> None:
    _assert_as_expected(check(TIES_FULL[key]))


@pytest.mark.parametrize("key", sorted(MODEL_TIES))
def test_model_tie(key: str) -> None:
    _assert_as_expected(check(MODEL_TIES[key]))


@pytest.mark.parametrize(
    "prop",
    model_tie.properties(Variant.RAFT, TIE_IDS_FAST, Params(**VARIANTS["small_majority"]).majority),
    ids=lambda p: p.name,
)
def test_model_tie_catches_the_small_majority_variant(prop: Obligation) -> None:
    result = check(prop)
    assert result.verdict.outcome is Outcome.REFUTED
    assert result.verdict.counterexample is not None


def test_code_tie_catches_a_commit_index_that_ignores_the_next_configuration(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def old_configuration_only(self: ProgressSet) -> int:
        matched = sorted((self.get(i).matched for i in self.configuration.voters), reverse=True)
        return matched[len(matched) // 2]

    monkeypatch.setattr(ProgressSet, "maximal_committed_index", old_configuration_only)
    result = check(TIES_FAST["code_tie.maximal_committed_index_matches_spec"])
    assert result.verdict.outcome is Outcome.REFUTED
    assert result.verdict.counterexample is not None
    assert "next_voters" in result.verdict.counterexample.data["cluster"]


def test_code_tie_catches_a_wrong_majority(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(code_tie, "majority", lambda total: total // 2)
    result = check(TIES_FAST["code_tie.majority_matches_spec"])
    assert result.verdict.outcome is Outcome.REFUTED


def _having(ids: list[int], roles: list[str], role: str) -> frozenset[int]:
    return frozenset(i for i, r in zip(ids, roles, strict=True) if r == role)


@st.composite
def clusters_with_matches(draw: st.DrawFn, max_ids: int = 12) -> tuple[Membership, dict[int, int]]:
    """A membership of up to `max_ids` ids, single or joint, with learners and match indexes."""
    ids = list(range(1, draw(st.integers(1, max_ids)) + 1))
    roles = st.lists(
        st.sampled_from(["voter", "learner", "absent"]), min_size=len(ids), max_size=len(ids)
    )
    old_roles = draw(roles)
    old = _having(ids, old_roles, "voter") or frozenset({1})
    learners = _having(ids, old_roles, "learner") - old
    if draw(st.booleans()):
        membership = Membership(old, learners)
    else:
        new_roles = draw(roles)
        new = _having(ids, new_roles, "voter") or frozenset({ids[-1]})
        # raft-rs refuses to turn a voter into a learner.
        new_learners = _having(ids, new_roles, "learner") - new - old
        membership = Membership(old, learners, new, new_learners)
    values = draw(st.lists(st.integers(0, 9), min_size=len(ids), max_size=len(ids)))
    matched = {i: v for i, v in zip(ids, values, strict=True) if i in membership.members}
    return membership, matched


@given(clusters_with_matches())
def test_maximal_committed_index_is_the_z3_optimum_on_larger_clusters(
    case: tuple[Membership, dict[int, int]],
) -> None:
    membership, matched = case
    prs = membership.progress_set()
    for id, value in matched.items():
        prs.get(id).matched = value
    assert prs.maximal_committed_index() == optimal_committed_index(Rules(), membership, matched)


@given(clusters_with_matches(), st.data())
def test_quorum_decisions_match_the_spec_on_larger_clusters(
    case: tuple[Membership, dict[int, int]], data: st.DataObject
) -> None:
    membership, _ = case
    prs = membership.progress_set()
    oracle = QuorumOracle(Rules())
    members = membership.members
    nodes = data.draw(st.sets(st.sampled_from([*members, max(members) + 1])))
    assert prs.has_quorum(nodes) == oracle.quorum(nodes, membership)
    answers = data.draw(st.dictionaries(st.sampled_from(membership.voters), st.booleans()))
    granted = {i for i, a in answers.items() if a}
    rejected = {i for i, a in answers.items() if not a}
    if oracle.quorum(granted, membership):
        expected = CandidacyStatus.Elected
    elif any(oracle.quorum_of(rejected, conf) for conf in membership.active):
        expected = CandidacyStatus.Ineligible
    else:
        expected = CandidacyStatus.Eligible
    assert prs.candidacy_status(answers) is expected


def test_memberships_cover_every_configuration_over_three_ids() -> None:
    found = list(code_tie.memberships(3))
    singles = [c for c in found if c.new is None]
    joints = [c for c in found if c.new is not None]
    assert len(singles) == 7
    assert len(joints) == 49
    assert len({(c.old, c.new) for c in found}) == 56


# --- the command ------------------------------------------------------------------------

FAST_ARGS = ["--max-ids", "3", "--jobs", "1"]


def test_command_proves_everything_and_writes_json_and_pictures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "pictures"
    status = main([*FAST_ARGS, "--json", str(tmp_path / "r.json"), "--out", str(out)])
    printed = capsys.readouterr().out
    assert status == 0
    assert "every outcome as expected" in printed
    assert "counterexample: old={1} new={2}" in printed
    document = json.loads((tmp_path / "r.json").read_text())
    assert document["as_expected"] is True
    assert document["variant"] == "raft"
    by_name = {(p["family"], p["name"]): p for p in document["properties"]}
    fig8 = by_name["commit_rule", "commit_without_current_term_is_safe"]
    assert (fig8["expected"], fig8["result"]) == ("fails", "refuted")
    assert fig8["counterexample"]["data"]["election"]["winner"] == 3
    assert all(Path(p).exists() for p in fig8["pictures"])
    assert (out / "commit_rule.commit_without_current_term_is_safe.dot").exists()
    assert (out / "bounded.two_voter_change_keeps_intersection.dot").exists()
    if pictures.dot_available():
        assert (out / "commit_rule.commit_without_current_term_is_safe.svg").exists()
        assert (out / "commit_rule.commit_without_current_term_is_safe.png").exists()


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(Variant.WRONG_MAJORITY.value, marks=pytest.mark.slow),
        Variant.JOINT_NEW_ONLY.value,
        pytest.param(Variant.COMMIT_ANY_TERM.value, marks=pytest.mark.slow),
    ],
)
def test_command_variant_refutes_and_exits_zero(
    variant: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        [
            *FAST_ARGS,
            "--variant",
            variant,
            "--json",
            str(tmp_path / "r.json"),
            "--out",
            str(tmp_path),
        ]
    )
    capsys.readouterr()
    assert status == 0
    document = json.loads((tmp_path / "r.json").read_text())
    refuted = [p for p in document["properties"] if p["result"] == "refuted"]
    assert len(refuted) > 3  # more than Raft's own three (plus the candidacy tie gap)
    assert all(p["counterexample"] for p in refuted)


def test_command_exits_one_when_an_outcome_is_unexpected_and_hints_at_graphviz(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(code_tie, "majority", lambda total: total // 2)
    monkeypatch.setattr(pictures.shutil, "which", lambda program: None)
    status = main([*FAST_ARGS, "--out", str(tmp_path)])
    printed = capsys.readouterr().out
    assert status == 1
    assert "NOT AS EXPECTED" in printed
    assert "code_tie.majority_matches_spec" in printed
    # Without the dot program: DOT files only, and one line saying how to get more.
    assert printed.count("apt-get install graphviz") == 1
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".dot", ".dot", ".dot"]


def test_pictures_are_rendered_when_the_dot_program_exists(tmp_path: Path) -> None:
    result = _proved("unbounded.two_voter_change_keeps_intersection")
    written = pictures.draw(result, tmp_path)
    expected = [".dot", ".svg", ".png"] if pictures.dot_available() else [".dot"]
    assert [p.suffix for p in written] == expected
    assert all(p.stat().st_size > 0 for p in written)
    assert "old majority" in written[0].read_text()


@pytest.mark.parametrize(
    "args",
    [
        ["--max-ids", "2"],
        ["--max-ids", "13"],
        ["--max-ids", "many"],
        ["--variant", "no_such_variant"],
        ["--jobs", "0"],
        ["--json", "/no/such/directory/r.json"],
        ["--frobnicate"],
    ],
)
def test_command_bad_usage_is_one_line_and_exit_two(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("python -m checks.quorum: error:")


def test_command_bad_usage_prints_no_traceback_as_a_process() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "checks.quorum", "--max-ids", "0"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 2
    assert completed.stdout == ""
    assert completed.stderr.count("\n") == 1
    assert "Traceback" not in completed.stderr


@pytest.mark.slow
def test_command_default_run_in_two_processes(tmp_path: Path) -> None:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "checks.quorum",
            "--json",
            str(tmp_path / "r.json"),
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    document = json.loads((tmp_path / "r.json").read_text())
    assert document["max_ids"] == 9
    assert document["as_expected"] is True


def test_parallel_run_returns_results_in_order() -> None:
    props = [*commit_rule.properties(Variant.RAFT, 3)][:1] + list(
        code_tie.properties(Variant.RAFT, 3)
    )[:2]
    results = run(props, jobs=2)
    assert [r.prop.name for r in results] == [p.name for p in props]
    assert all(r.as_expected for r in results)
    assert report.all_as_expected(results)


class _PoolBrokenDuringSubmit:
    """A pool whose worker died while `submit` was starting another one."""

    def __init__(self, *_: object, **__: object) -> None:
        self._broken: str | bool = False
        self._processes: dict[int, object] = {}

    def submit(self, *_: object) -> object:
        self._broken = "A child process terminated abruptly"
        raise OSError("handle is closed")

    def shutdown(self, wait: bool, cancel_futures: bool) -> None:
        pass


class _PoolFailingWhole(_PoolBrokenDuringSubmit):
    def submit(self, *_: object) -> object:
        raise OSError("too many open files")


def test_a_worker_that_dies_while_another_starts_is_reported_as_a_dead_worker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from checks.quorum import runner

    monkeypatch.setattr(runner, "ProcessPoolExecutor", _PoolBrokenDuringSubmit)
    with pytest.raises(runner.WorkerDied):
        run(all_properties()[:4], jobs=2)
    # An error of the machine itself, with the pool intact, is not dressed up as one.
    monkeypatch.setattr(runner, "ProcessPoolExecutor", _PoolFailingWhole)
    with pytest.raises(OSError, match="too many open files"):
        run(all_properties()[:4], jobs=2)
