"""The contracts of the log and storage: they name the rule they guard, and switch off."""

import os
import subprocess
import sys
import textwrap

import pytest

from raft_ref import contracts
from raft_ref.eraftpb import Entry
from raft_ref.errors import RaftPanic
from raft_ref.log_unstable import Unstable
from raft_ref.raft_log import RaftLog
from raft_ref.storage import MemStorage

pytestmark = pytest.mark.skipif(not contracts.ENABLED, reason="needs RAFT_REF_CONTRACTS on")


def entries(*pairs: tuple[int, int]) -> list[Entry]:
    return [Entry(index=i, term=t) for i, t in pairs]


def three_entry_log() -> RaftLog[MemStorage]:
    log = RaftLog(MemStorage(), "")
    log.append(entries((1, 1), (2, 1), (3, 2)))
    return log


def test_commit_past_last_index_breaks_precondition() -> None:
    log = three_entry_log()
    with pytest.raises(contracts.ViolationError, match="commits only entries it has in its log"):
        log.commit_to(4)
    assert log.committed == 0


def test_append_with_a_gap_breaks_precondition() -> None:
    log = three_entry_log()
    with pytest.raises(contracts.ViolationError, match="consecutive indexes"):
        log.append(entries((4, 2), (6, 2)))
    with pytest.raises(contracts.ViolationError, match="consecutive indexes"):
        Unstable.new(1, "").truncate_and_append(entries((1, 1), (3, 1)))
    with pytest.raises(contracts.ViolationError, match="consecutive indexes"):
        MemStorage().wl().append(entries((1, 1), (3, 1)))


def test_non_contiguous_storage_breaks_invariant() -> None:
    store = MemStorage()
    store.wl().entries = entries((1, 1), (3, 1))
    with pytest.raises(contracts.ViolationError, match="stored entries are contiguous"):
        store.wl().compact(1)


def test_storage_before_its_snapshot_breaks_invariant() -> None:
    store = MemStorage.new_with_conf_state(([1], []))
    store.wl().entries = entries((1, 1))
    with pytest.raises(contracts.ViolationError, match="starts after the last applied snapshot"):
        store.wl().commit_to(1)


def test_applied_past_committed_is_a_panic_not_a_contract() -> None:
    # raft-rs's own check fires before the postcondition could.
    log = three_entry_log()
    with pytest.raises(RaftPanic):
        log.applied_to(2)


def run_without_contracts(code: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, RAFT_REF_CONTRACTS="0")
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        timeout=60,
    )


def test_contracts_switch_off() -> None:
    result = run_without_contracts(
        """
        from raft_ref import contracts
        from raft_ref.eraftpb import Entry
        from raft_ref.errors import RaftPanic
        from raft_ref.raft_log import RaftLog
        from raft_ref.storage import MemStorage

        assert not contracts.ENABLED
        log = RaftLog(MemStorage(), "")
        log.append([Entry(index=1, term=1), Entry(index=2, term=1), Entry(index=3, term=2)])
        try:
            log.commit_to(4)
        except RaftPanic:
            print("commit_to: raft panic")
        # Without the precondition a batch with a gap goes in unchecked.
        log.append([Entry(index=4, term=2), Entry(index=6, term=2)])
        print("append with gap: accepted")
        store = MemStorage()
        store.wl().entries = [Entry(index=1, term=1), Entry(index=3, term=1)]
        store.wl().compact(1)
        print("invariant: not checked")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "commit_to: raft panic",
        "append with gap: accepted",
        "invariant: not checked",
    ]
