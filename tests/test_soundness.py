"""The soundness gate's quick part: the unmodified code passes explorations beyond the
main command's bounds (the whole gate is `make soundness`)."""

from __future__ import annotations

import pytest

from checks.soundness import gate_runs, main


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
