"""`python -m checks.explore` on clusters of raft_ref nodes (the default target)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checks.engine.outcome import SearchOptions
from checks.engine.search import explore
from checks.explore import main
from checks.targets.impl_target import build_impl_target


def test_depth_eight_is_clean_and_elects_and_commits() -> None:
    outcome = explore(build_impl_target(), SearchOptions(max_depth=8, symmetry=False, workers=1))
    assert outcome.violations == []
    assert outcome.complete
    assert outcome.goals["LeaderElected"] == 3
    assert outcome.goals["ClientEntryCommitted"] == 8


def test_impl_is_the_default_target_and_prints_its_bounds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = tmp_path / "summary.json"
    status = main(["--depth", "4", "--workers", "1", "--no-progress", "--json", str(summary)])
    assert status == 0
    out = capsys.readouterr().out
    assert "target impl" in out and "max_membership_changes 1" in out
    document = json.loads(summary.read_text())
    assert document["target"] == "impl"


def test_a_mutant_exits_one_with_a_counterexample(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--mutant", "vote_not_persisted", "--max-crashes", "1", "--depth", "3"]
    status = main([*argv, "--workers", "1", "--no-progress", "--out", str(tmp_path)])
    assert status == 1
    assert "RefinesModel" in capsys.readouterr().out
    assert list(tmp_path.glob("*.json"))


def test_unknown_mutant_is_bad_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--mutant", "nope", "--no-progress"]) == 2
    assert "unknown --variant" in capsys.readouterr().err


@pytest.mark.slow
def test_default_run_is_exhaustive_clean_and_reaches_every_goal(tmp_path: Path) -> None:
    summary = tmp_path / "summary.json"
    assert main(["--nodes", "3", "--depth", "12", "--no-progress", "--json", str(summary)]) == 0
    document = json.loads(summary.read_text())
    assert document["complete"]
    assert all(depth is not None for depth in document["goals"].values())
