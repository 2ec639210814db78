"""Checkpoints: a search saved level by level and resumed gives the uninterrupted result."""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from checks.engine.checkpoint import CheckpointError
from checks.engine.outcome import SearchOptions, SearchOutcome
from checks.engine.search import explore
from checks.targets.model_target import ModelTarget
from tests.test_engine_stopping import ROOT, wait_for_progress
from tests.test_engine_toys import CounterTarget, TokensTarget

IDENTITY = "model, 3 nodes"


def same_result(one: SearchOutcome, other: SearchOutcome, coverage: bool = True) -> None:
    assert other.distinct_states == one.distinct_states
    assert other.transitions == one.transitions
    assert other.depth_reached == one.depth_reached
    assert other.invariants == one.invariants
    assert other.goals == one.goals
    assert [v.property_name for v in other.violations] == [v.property_name for v in one.violations]
    assert [v.depth for v in other.violations] == [v.depth for v in one.violations]
    if coverage:
        assert other.coverage == one.coverage


@pytest.mark.parametrize("workers", [1, 2])
def test_resuming_a_shallower_search_gives_the_deeper_result(tmp_path: Path, workers: int):
    target = ModelTarget(nodes=3)
    plain = explore(target, SearchOptions(max_depth=8, workers=1))
    options = SearchOptions(max_depth=5, checkpoint=str(tmp_path), identity=IDENTITY)
    first = explore(target, options)
    assert first.depth_reached == 5
    resumed = explore(
        target,
        SearchOptions(max_depth=8, resume=str(tmp_path), identity=IDENTITY, workers=workers),
    )
    assert resumed.resumed_at == 5
    # Two workers may credit a new state to another same-level parent's action kind.
    same_result(plain, resumed, coverage=workers == 1)


def test_a_violation_found_after_resuming_has_a_real_shortest_path(tmp_path: Path):
    plain = explore(CounterTarget(3), SearchOptions(max_depth=20))
    explore(CounterTarget(3), SearchOptions(max_depth=3, checkpoint=str(tmp_path)))
    resumed = explore(CounterTarget(3), SearchOptions(max_depth=20, resume=str(tmp_path)))
    same_result(plain, resumed)
    assert resumed.violations[0].path == plain.violations[0].path


def test_a_checkpoint_of_another_run_is_refused(tmp_path: Path):
    explore(TokensTarget(3, 2), SearchOptions(max_depth=2, checkpoint=str(tmp_path), identity="a"))
    with pytest.raises(CheckpointError, match="saved by another run"):
        explore(TokensTarget(3, 2), SearchOptions(max_depth=4, resume=str(tmp_path), identity="b"))
    with pytest.raises(CheckpointError, match="saved with symmetry on"):
        options = SearchOptions(max_depth=4, resume=str(tmp_path), identity="a", symmetry=False)
        explore(TokensTarget(3, 2), options)
    with pytest.raises(CheckpointError, match="no checkpoint there"):
        explore(TokensTarget(3, 2), SearchOptions(resume=str(tmp_path / "none"), identity="a"))


def explore_cli(
    *argv: str, target: str = "model", hash_seed: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if hash_seed is not None:
        env["PYTHONHASHSEED"] = hash_seed
    return subprocess.run(
        [sys.executable, "-m", "checks.explore", "--target", target, *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
    )


def figures(path: Path) -> dict[str, object]:
    document = json.loads(path.read_text())
    keys = ("distinct_states", "transitions", "depth_reached", "invariants", "goals", "complete")
    return {key: document[key] for key in keys}


def test_an_interrupted_run_resumed_gives_the_uninterrupted_result(tmp_path: Path):
    # Deep enough to be stopped mid-run on a quiet machine too.
    depth = ["--depth", "16", "--workers", "2"]
    plain = explore_cli(*depth, "--json", str(tmp_path / "plain.json"), "--no-progress")
    assert plain.returncode == 0, plain.stderr
    saved = tmp_path / "saved"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "checks.explore",
            "--target",
            "model",
            *depth,
            "--checkpoint",
            str(saved),
            "--checkpoint-every",
            "0",
            "--progress-every",
            "0.2",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for_progress(process)
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=30)
    assert process.returncode == 130
    resumed = explore_cli(*depth, "--resume", str(saved), "--json", str(tmp_path / "resumed.json"))
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed           from the checkpoint of depth" in resumed.stdout
    assert "from the checkpoint of depth 0" not in resumed.stdout  # a level saved mid-run
    assert figures(tmp_path / "resumed.json") == figures(tmp_path / "plain.json")


@pytest.mark.parametrize("symmetry", ["--symmetry", "--no-symmetry"])
def test_the_implementation_resumed_in_another_process_gives_the_uninterrupted_result(
    tmp_path: Path, symmetry: str
):
    """Its fingerprints hash bytes and None, whose Python hashes change between
    processes: the fingerprints must not."""
    quiet = ("--no-progress", symmetry)
    plain = explore_cli(
        "--depth", "9", *quiet, "--json", str(tmp_path / "plain.json"), target="impl"
    )
    assert plain.returncode == 0, plain.stderr
    saved = str(tmp_path / "saved")
    first = explore_cli("--depth", "6", *quiet, "--checkpoint", saved, target="impl", hash_seed="1")
    assert first.returncode == 0, first.stderr
    resumed = explore_cli(
        *("--depth", "9", *quiet, "--resume", saved, "--json", str(tmp_path / "resumed.json")),
        target="impl",
        hash_seed="2",
    )
    assert resumed.returncode == 0, resumed.stderr
    assert figures(tmp_path / "resumed.json") == figures(tmp_path / "plain.json")


def test_resuming_with_other_bounds_is_a_one_line_usage_error(tmp_path: Path):
    first = explore_cli("--depth", "3", "--checkpoint", str(tmp_path), "--no-progress")
    assert first.returncode == 0, first.stderr
    other = explore_cli("--depth", "4", "--max-term", "2", "--resume", str(tmp_path))
    assert other.returncode == 2
    [line] = other.stderr.strip().splitlines()
    assert "saved by another run" in line


def test_a_checkpoint_without_its_parent_log_is_refused(tmp_path: Path):
    explore(TokensTarget(3, 2), SearchOptions(max_depth=2, checkpoint=str(tmp_path)))
    (tmp_path / "parents.bin").write_bytes(b"")
    with pytest.raises(CheckpointError, match="damaged checkpoint"):
        explore(TokensTarget(3, 2), SearchOptions(max_depth=4, resume=str(tmp_path)))


def _cut_to_a_whole_slot(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: 8 * 1009])  # a prime count of slots


def _cut_mid_slot(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-3])


def _another_table(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[:8] = bytes(8) if any(data[:8]) else (12345).to_bytes(8, "little")
    path.write_bytes(bytes(data))


def _garbage(path: Path) -> None:
    path.write_bytes(bytes(range(256)) * 7)


@pytest.mark.parametrize(
    ("name", "damage"),
    [
        ("visited.bin", _cut_to_a_whole_slot),
        ("visited.bin", _cut_mid_slot),
        ("visited.bin", _another_table),
        ("level.pickle", _cut_mid_slot),
        ("level.pickle", _garbage),
    ],
)
def test_a_damaged_checkpoint_is_refused(tmp_path: Path, name: str, damage: Any):
    """A visited table cut short or changed would make the resumed search explore other
    states than it says: it is refused, as a damaged level file is."""
    options = SearchOptions(max_depth=6, checkpoint=str(tmp_path), identity=IDENTITY)
    explore(ModelTarget(nodes=3), options)
    damage(tmp_path / name)
    resume = SearchOptions(max_depth=7, resume=str(tmp_path), identity=IDENTITY)
    with pytest.raises(CheckpointError, match="damaged checkpoint"):
        explore(ModelTarget(nodes=3), resume)


def test_a_checkpoint_of_an_older_format_is_refused(tmp_path: Path):
    """Format 1 held implementation fingerprints that changed with the process."""
    explore(TokensTarget(3, 2), SearchOptions(max_depth=2, checkpoint=str(tmp_path)))
    level = tmp_path / "level.pickle"
    saved = pickle.loads(level.read_bytes())
    saved.format = 1
    level.write_bytes(pickle.dumps(saved))
    with pytest.raises(CheckpointError, match="not a checkpoint of this version"):
        explore(TokensTarget(3, 2), SearchOptions(max_depth=4, resume=str(tmp_path)))


def test_a_checkpoint_with_sleep_sets_is_resumed_with_them_only(tmp_path: Path):
    """A frontier saved with partial-order reduction holds sleep sets: resuming without
    the reduction (or the other way round) would not give either run's result."""
    options = SearchOptions(max_depth=3, checkpoint=str(tmp_path), identity=IDENTITY)
    assert explore(ModelTarget(nodes=3), options).por
    resume = SearchOptions(max_depth=5, resume=str(tmp_path), identity=IDENTITY, por=False)
    with pytest.raises(CheckpointError, match="saved with partial-order reduction on"):
        explore(ModelTarget(nodes=3), resume)
