"""raft-rs `harness/tests/failpoints_cases/mod.rs`, ported.

raft-rs builds these tests with the `fail` crate and configures its `before_step` fail
point to panic. That point sits in `Raft::step` after the term checks and before the
message is dispatched by type, so a test passes only if `step` returns before
dispatching. raft_ref has no fail points; the same code path is instrumented here by
replacing, for the duration of a test, every handler `Raft.step` dispatches to
(`_hup`, `_handle_vote_request`, `_step_leader`, `_step_candidate`, `_step_follower`)
with one that panics, as the configured fail point would.
"""

from __future__ import annotations

from typing import NoReturn

import pytest

from raft_ref.eraftpb import MessageType
from raft_ref.errors import RaftPanic
from raft_ref.raft import Raft
from tests.test_util import hard_state, new_message, new_storage, new_test_raft

# The handlers `Raft.step` reaches only after passing the `before_step` fail point.
DISPATCH_TARGETS = (
    "_hup",
    "_handle_vote_request",
    "_step_leader",
    "_step_candidate",
    "_step_follower",
)


@pytest.fixture
def before_step_panics(monkeypatch: pytest.MonkeyPatch) -> None:
    """The equivalent of `fail::cfg("before_step", "panic")`; undone after the test."""

    def fail_point(*_args: object) -> NoReturn:
        raise RaftPanic("fail point before_step reached")

    for name in DISPATCH_TARGETS:
        assert hasattr(Raft, name), f"Raft.step no longer dispatches through {name}"
        monkeypatch.setattr(Raft, name, fail_point)


@pytest.mark.usefixtures("before_step_panics")
def test_reject_stale_term_message() -> None:
    """A request with a stale term is not acted on; raft-rs (like etcd) ignores it
    rather than rejecting it (section 5.1)."""
    r = new_test_raft(1, [1, 2, 3], 10, 1, new_storage())
    r.load_state(hard_state(2, 1, 0))

    m = new_message(0, 0, MessageType.MsgAppend, 0)
    m.term = r.term - 1
    r.step(m)


@pytest.mark.usefixtures("before_step_panics")
def test_step_ignore_old_term_msg() -> None:
    """`step` drops a message of an old term before passing it to a role's handler."""
    sm = new_test_raft(1, [1], 10, 1, new_storage())
    sm.term = 2
    m = new_message(0, 0, MessageType.MsgAppend, 0)
    m.term = 1
    sm.step(m)


@pytest.mark.usefixtures("before_step_panics")
def test_before_step_fail_point_fires() -> None:
    """Not in raft-rs: shows the instrumented path is live, so the two tests above
    would fail if a stale message reached dispatch."""
    sm = new_test_raft(1, [1], 10, 1, new_storage())
    m = new_message(0, 0, MessageType.MsgAppend, 0)
    m.term = sm.term
    with pytest.raises(RaftPanic, match="before_step"):
        sm.step(m)
