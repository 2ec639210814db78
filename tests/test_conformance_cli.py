"""`python -m checks.conformance`: exit codes, messages and the JSON summary."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from checks.conformance import __main__ as cli
from checks.conformance import runner

ROOT = Path(__file__).resolve().parents[1]
FAKES = Path(__file__).parent / "conformance_fakes"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "checks.conformance", *args]
    return subprocess.run(
        command, check=False, capture_output=True, text=True, cwd=ROOT, timeout=300
    )


def test_bad_flag_is_a_one_line_usage_error() -> None:
    done = _cli("--impl", "raft_ref", "--bogus")
    assert done.returncode == 2
    assert done.stderr.startswith(
        "python -m checks.conformance: error: unrecognized arguments: --bogus"
    )
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "python -m checks.conformance: error: give --impl, --adapter or --check-adapter"),
        (
            ["--impl", "raft_ref", "--scenario", "no_such"],
            "python -m checks.conformance: error: no scenario 'no_such'",
        ),
        (
            ["--impl", "raft_ref", "--random", "-1"],
            "python -m checks.conformance: error: --random must be >= 0",
        ),
        (
            ["--impl", "nope"],
            "python -m checks.conformance: error: argument --impl: invalid choice",
        ),
    ],
)
def test_usage_errors_exit_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and len(err.strip().splitlines()) == 1


def test_malformed_scenario_file_exits_2_naming_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.scn"
    bad.write_text("cluster\ncampaign one\n")
    assert cli.main(["--impl", "raft_ref", "--scenario", str(bad)]) == 2
    assert capsys.readouterr().err.startswith("python -m checks.conformance: error: bad:2:")


def test_passing_run_exits_0_and_writes_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "summary.json"
    args = [
        "--impl",
        "raft_ref",
        "--scenario",
        "election_basic",
        "--random",
        "2",
        "--json",
        str(out),
    ]
    assert cli.main(args) == 0
    summary = json.loads(out.read_text())
    assert summary["counts"] == {
        "pass": 3,
        "diverged": 0,
        "failed": 0,
        "error": 0,
        "run": 3,
        "panicked": 0,
    }
    assert summary["mode"] == "strict"
    assert "raft_ref (strict): 3 scenarios, 3 passed" in capsys.readouterr().out


def test_divergence_exits_1_and_writes_a_trace(tmp_path: Path) -> None:
    adapter = f"{sys.executable} {FAKES / 'lying_adapter.py'}"
    traces = tmp_path / "traces"
    done = _cli("--adapter", adapter, "--scenario", "election_basic", "--traces", str(traces))
    assert done.returncode == 1
    assert "diverged  election_basic" in done.stdout
    trace = json.loads((traces / "election_basic.json").read_text())
    assert trace["outcome"]["status"] == "diverged"
    assert trace["exchanges"][-1]["answers"][0] != trace["exchanges"][-1]["answers"][1]


def _without_raft_rs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "RAFT_RS_BINARY", runner.ADAPTERS_DIR / "raft-rs" / "absent")
    monkeypatch.setattr(runner.shutil, "which", lambda tool: None)


def test_a_missing_adapter_is_an_error_naming_the_reason(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _without_raft_rs(monkeypatch)
    assert cli.main(["--impl", "raft-rs", "--scenario", "election_basic"]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(
        "python -m checks.conformance: error: raft-rs: 'cargo' is not installed"
    )
    assert "--skip-missing" in captured.err
    assert len(captured.err.strip().splitlines()) == 1 and captured.out == ""


def test_skip_missing_skips_a_missing_adapter_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _without_raft_rs(monkeypatch)
    args = ["--impl", "raft-rs", "--scenario", "election_basic", "--skip-missing"]
    assert cli.main(args) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("skipping raft-rs: 'cargo' is not installed")
    assert len(out.splitlines()) == 1
