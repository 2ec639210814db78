"""`--check-adapter`: every command of PROTOCOL.md, judged by the shape of its answers."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from checks.conformance import __main__ as cli
from checks.conformance.adapter_check import (
    COMMANDS,
    SUPPORTED,
    UNSUPPORTED,
    WRONG,
    check_adapter,
    passed,
)
from checks.conformance.runner import ETCD_BINARY, RAFT_RS_BINARY
from checks.conformance.sessions import InProcessSession, SubprocessSession

FAKES = Path(__file__).parent / "conformance_fakes"

# A raft_ref-backed adapter with one fault per command named in the comments.
BROKEN = """
import sys
sys.path.insert(0, {fakes!r})
from fake_common import serve


def spoil(request, answer, n):
    cmd = request.get("cmd")
    if cmd == "create" and answer.get("error") == "ConfigInvalid":
        return {{"ok": True}}  # accepts an invalid configuration
    if cmd == "compact":
        return {{"ok": False, "error": "Weird"}}  # not an error kind of the protocol
    if cmd == "report_snapshot":
        sys.stdout.write("garbage\\n")  # not JSON
        sys.stdout.flush()
        return None
    if cmd == "transfer_leader":
        sys.exit(3)  # crashes
    if cmd == "read_index":
        return {{"ok": False, "error": "Unsupported", "detail": "no ReadIndex here"}}
    return answer


serve(spoil)
"""


def _fake(tmp_path: Path, source: str) -> list[str]:
    path = tmp_path / "fake_adapter.py"
    path.write_text(source.format(fakes=str(FAKES)), encoding="utf-8")
    return [sys.executable, str(path)]


def test_raft_ref_passes_every_command_in_process_and_as_a_subprocess() -> None:
    subprocess = [sys.executable, "-m", "checks.conformance.adapters.raft_ref_adapter"]
    for session in (InProcessSession(), SubprocessSession(subprocess, timeout=30)):
        results = check_adapter(session)
        assert [r.command for r in results] == COMMANDS
        assert [r.verdict for r in results] == [SUPPORTED] * len(COMMANDS)


@pytest.mark.parametrize("binary", [RAFT_RS_BINARY, ETCD_BINARY], ids=["raft-rs", "etcd"])
def test_the_shipped_adapters_pass_the_self_test(
    binary: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if not binary.exists():
        pytest.skip(f"{binary.name} not built")
    assert cli.main(["--check-adapter", str(binary)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        f"{len(COMMANDS)} supported, 0 unsupported, 0 wrong answer shape, 0 not checked"
    )


def test_a_broken_adapter_is_reported_command_by_command(tmp_path: Path) -> None:
    results = check_adapter(SubprocessSession(_fake(tmp_path, BROKEN), timeout=10))
    found = {r.command: (r.verdict, r.detail) for r in results}
    assert found["create (invalid config)"][0] == WRONG
    assert "not ConfigInvalid" in found["create (invalid config)"][1]
    assert found["compact"] == (WRONG, "error 'Weird' is not a protocol error kind")
    assert found["report_snapshot"][0] == WRONG
    assert found["report_snapshot"][1].startswith("adapter malformed: not JSON")
    assert found["transfer_leader"][0] == WRONG
    assert found["transfer_leader"][1].startswith("adapter crashed: adapter exited (status 3)")
    # After the crash a fresh adapter carries on.
    assert found["read_index"] == (UNSUPPORTED, "")
    faulty = {"create (invalid config)", "compact", "report_snapshot", "transfer_leader"}
    others = [name for name in COMMANDS if name not in faulty | {"read_index"}]
    assert [found[name][0] for name in others] == [SUPPORTED] * len(others)


def test_the_command_line_prints_the_report_and_exits_1_on_a_fault(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    command = " ".join(_fake(tmp_path, BROKEN))
    assert cli.main(["--check-adapter", command, "--timeout", "10"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "14 supported, 1 unsupported, 4 wrong answer shape, 0 not checked"
    assert any(line.startswith("compact ") and "wrong answer shape" in line for line in out)


def test_an_unsupported_command_alone_passes(tmp_path: Path) -> None:
    source = BROKEN.replace('if cmd == "compact"', "if False").replace(
        'if cmd == "report_snapshot"', "if False"
    )
    source = source.replace('if cmd == "transfer_leader"', "if False").replace(
        'if cmd == "create" and', "if False and"
    )
    results = check_adapter(SubprocessSession(_fake(tmp_path, source), timeout=10))
    assert [r.command for r in results if r.verdict == UNSUPPORTED] == ["read_index"]
    assert passed(results)


def test_an_adapter_that_does_not_start_is_one_wrong_line_and_exit_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["--check-adapter", "/no/such/adapter"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("hello") and "cannot start the adapter" in out[0]
    assert all("not checked" in line for line in out[1:-1])


def test_an_empty_adapter_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--check-adapter", ""]) == 2
    assert (
        capsys.readouterr().err.strip()
        == "python -m checks.conformance: error: --check-adapter needs the adapter's command"
    )
