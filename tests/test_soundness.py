"""The soundness gate's quick part: the unmodified code passes explorations beyond the
main command's bounds (the whole gate is `make soundness`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.soundness import GateRun, gate_runs, main, run_one


def test_the_gate_covers_every_kind_of_run() -> None:
    names = [run.name for run in gate_runs() if not run.quick]
    assert sum("walks" in name for name in names) == 40  # seeds 0-9, 3 and 5 nodes, 2 targets
    assert any("check quorum" in name for name in names)
    assert any("learners" in name for name in names)


@pytest.mark.parametrize("name", [run.name for run in gate_runs() if run.quick])
def test_quick_gate_run_passes(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--quick", "--only", name]) == 0
    out = capsys.readouterr().out
    assert out.startswith("pass") and "no violation" in out


def test_a_run_that_reaches_a_quirk_passes_only_on_the_properties_it_breaks(
    tmp_path: Path,
) -> None:
    for name in "abcd":
        (tmp_path / name).mkdir()
    argv = ("--target", "model", "--variant", "small_majority", "--depth", "8")
    broken = ("ElectionSafety", "LeaderCompleteness", "StateMachineSafety", "LogMatching")
    assert run_one(GateRun("all of them", argv, breaks=broken), tmp_path / "a").status == 0
    fewer = run_one(GateRun("fewer", argv, breaks=broken[:1]), tmp_path / "b")
    assert fewer.status != 0 and "not as expected" in fewer.verdict
    other = run_one(GateRun("other", argv, breaks=("NoImplementationError",)), tmp_path / "c")
    assert other.status != 0
    clean = ("--target", "model", "--depth", "4")
    assert run_one(GateRun("clean", clean, breaks=broken), tmp_path / "d").status != 0


def test_the_gate_explores_snapshot_requests_up_to_their_quirk() -> None:
    runs = [run for run in gate_runs() if "--request-snapshot" in run.argv]
    assert runs and all(run.breaks == ("NoImplementationError",) for run in runs)
