"""Progress: state transitions, the rejection rule (maybe_decr_to), is_paused per state."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from raft_ref.errors import RaftPanic
from raft_ref.progress import Progress, ProgressState


def progress(state, matched, next_idx, pending_snapshot=0, ins_size=256) -> Progress:
    pr = Progress(next_idx, ins_size)
    pr.matched = matched
    pr.state = state
    pr.pending_snapshot = pending_snapshot
    return pr


def test_new_progress_starts_probing_unpaused():
    pr = Progress.new(5, 8)
    assert (pr.matched, pr.next_idx, pr.state, pr.paused) == (0, 5, ProgressState.Probe, False)
    assert (pr.pending_snapshot, pr.pending_request_snapshot, pr.recent_active) == (0, 0, False)
    assert pr.ins.cap() == 8 and pr.ins.count == 0


@pytest.mark.parametrize(
    ("pr", "want_next"),
    [
        (progress(ProgressState.Replicate, 1, 5), 2),
        # The snapshot arrived: probe after it.
        (progress(ProgressState.Snapshot, 1, 5, pending_snapshot=10), 11),
        # The snapshot failed (pending index cleared): probe after the match.
        (progress(ProgressState.Snapshot, 1, 5, pending_snapshot=0), 2),
    ],
)
def test_become_probe(pr, want_next):
    pr.paused = True
    pr.ins.add(3)
    pr.become_probe()
    assert pr.state is ProgressState.Probe
    assert pr.matched == 1 and pr.next_idx == want_next
    assert not pr.paused and pr.pending_snapshot == 0 and pr.ins.count == 0


def test_become_replicate_streams_after_match():
    pr = progress(ProgressState.Probe, 1, 5)
    pr.paused = True
    pr.become_replicate()
    assert pr.state is ProgressState.Replicate
    assert (pr.matched, pr.next_idx, pr.paused) == (1, 2, False)


def test_become_snapshot_records_index():
    pr = progress(ProgressState.Probe, 1, 5)
    pr.become_snapshot(10)
    assert pr.state is ProgressState.Snapshot
    assert (pr.matched, pr.next_idx, pr.pending_snapshot) == (1, 5, 10)
    pr.snapshot_failure()
    assert pr.pending_snapshot == 0


def test_maybe_snapshot_abort_once_matched_past_snapshot():
    pr = progress(ProgressState.Snapshot, 9, 10, pending_snapshot=10)
    assert not pr.maybe_snapshot_abort()
    pr.matched = 10
    assert pr.maybe_snapshot_abort()
    pr.become_probe()
    assert not pr.maybe_snapshot_abort(), "only a progress in Snapshot state aborts"


@pytest.mark.parametrize(
    ("update", "want_matched", "want_next", "want_ok"),
    [(2, 3, 5, False), (3, 3, 5, False), (4, 4, 5, True), (5, 5, 6, True)],
)
def test_maybe_update(update, want_matched, want_next, want_ok):
    pr = Progress(5, 256)
    pr.matched = 3
    pr.paused = True
    assert pr.maybe_update(update) is want_ok
    assert (pr.matched, pr.next_idx) == (want_matched, want_next)
    assert pr.paused is not want_ok, "news from the peer resumes a paused probe"


@pytest.mark.parametrize(
    ("state", "matched", "next_idx", "rejected", "last", "want_ok", "want_next"),
    [
        # Replicate: a rejection at or below the match is stale.
        (ProgressState.Replicate, 5, 10, 5, 5, False, 10),
        (ProgressState.Replicate, 5, 10, 4, 4, False, 10),
        # Replicate: otherwise fall back to just after the match.
        (ProgressState.Replicate, 5, 10, 9, 9, True, 6),
        # Probe: only a rejection of the last append sent (next - 1) counts.
        (ProgressState.Probe, 0, 0, 0, 0, False, 0),
        (ProgressState.Probe, 0, 10, 5, 5, False, 10),
        # Probe: step back to the rejected index ...
        (ProgressState.Probe, 0, 10, 9, 9, True, 9),
        (ProgressState.Probe, 0, 2, 1, 1, True, 1),
        # ... but never below 1 ...
        (ProgressState.Probe, 0, 1, 0, 0, True, 1),
        # ... or past the peer's last index + 1 (the hint).
        (ProgressState.Probe, 0, 10, 9, 2, True, 3),
        (ProgressState.Probe, 0, 10, 9, 0, True, 1),
    ],
)
def test_maybe_decr_to(*, state, matched, next_idx, rejected, last, want_ok, want_next):
    pr = progress(state, matched, next_idx, ins_size=0)
    pr.paused = state is ProgressState.Probe
    assert pr.maybe_decr_to(rejected, last, 0) is want_ok
    assert pr.matched == matched
    assert pr.next_idx == want_next
    if state is ProgressState.Probe:
        assert pr.paused is not want_ok, "an accepted rejection resumes probing"


def test_maybe_decr_to_with_snapshot_request_in_replicate():
    pr = progress(ProgressState.Replicate, 5, 10)
    # Equal to the match is not stale when a snapshot is requested.
    assert pr.maybe_decr_to(5, 5, 7)
    assert (pr.next_idx, pr.pending_request_snapshot) == (10, 7)
    # Below the match it is stale all the same.
    assert not pr.maybe_decr_to(4, 4, 8)
    assert pr.pending_request_snapshot == 7


def test_maybe_decr_to_with_snapshot_request_in_probe():
    pr = progress(ProgressState.Probe, 0, 10)
    pr.paused = True
    # Any rejected index counts; the next index stays.
    assert pr.maybe_decr_to(3, 3, 7)
    assert (pr.next_idx, pr.pending_request_snapshot, pr.paused) == (10, 7, False)
    # A second request does not replace the pending one.
    assert pr.maybe_decr_to(4, 4, 9)
    assert pr.pending_request_snapshot == 7


@pytest.mark.parametrize(
    ("state", "paused", "want"),
    [
        (ProgressState.Probe, False, False),
        (ProgressState.Probe, True, True),
        (ProgressState.Replicate, False, False),
        (ProgressState.Replicate, True, False),
        (ProgressState.Snapshot, False, True),
        (ProgressState.Snapshot, True, True),
    ],
)
def test_is_paused_per_state(state, paused, want):
    pr = progress(state, 0, 0)
    pr.paused = paused
    assert pr.is_paused() is want


def test_replicate_pauses_when_window_full():
    pr = progress(ProgressState.Replicate, 0, 1, ins_size=2)
    pr.update_state(1)
    assert not pr.is_paused() and pr.next_idx == 2
    pr.update_state(3)
    assert pr.is_paused() and pr.next_idx == 4
    pr.ins.free_to(1)
    assert not pr.is_paused()


def test_update_state_per_state():
    pr = progress(ProgressState.Probe, 0, 1)
    pr.update_state(5)
    assert pr.paused and pr.next_idx == 1, "a probe waits for the answer"
    pr.become_snapshot(4)
    with pytest.raises(RaftPanic, match="unhandled state"):
        pr.update_state(5)


def test_reset_forgets_the_peer():
    pr = progress(ProgressState.Snapshot, 4, 5, pending_snapshot=9)
    pr.pending_request_snapshot = 3
    pr.recent_active = True
    pr.paused = True
    pr.reset(12)
    assert pr == Progress(12, 256)


def test_resume_and_pause():
    pr = Progress(2, 256)
    pr.pause()
    assert pr.is_paused()
    pr.resume()
    assert not pr.is_paused()


def test_clone_is_independent():
    pr = progress(ProgressState.Replicate, 3, 4, ins_size=4)
    pr.update_state(6)
    copy = pr.clone()
    assert copy == pr and copy is not pr
    copy.update_state(8)
    copy.maybe_update(7)
    assert pr.ins.count == 1 and pr.matched == 3 and pr.next_idx == 7


states = st.sampled_from(list(ProgressState))


@given(
    state=states,
    matched=st.integers(0, 20),
    gap=st.integers(1, 5),
    rejected=st.integers(0, 30),
    last=st.integers(0, 30),
    request_snapshot=st.sampled_from([0, 0, 7]),
)
def test_rejection_never_moves_forward(*, state, matched, gap, rejected, last, request_snapshot):
    pr = progress(state, matched, matched + gap)
    before = pr.clone()
    ok = pr.maybe_decr_to(rejected, last, request_snapshot)
    assert pr.matched == before.matched
    assert pr.next_idx <= before.next_idx
    if not ok:
        assert pr == before, "a stale rejection changes nothing"
    elif request_snapshot == 0:
        assert pr.next_idx >= 1


@given(matched=st.integers(0, 20), gap=st.integers(1, 5), n=st.integers(0, 30))
def test_acknowledgement_keeps_match_below_next(matched, gap, n):
    pr = progress(ProgressState.Probe, matched, matched + gap)
    pr.maybe_update(n)
    assert pr.matched == max(matched, n)
    assert pr.matched < pr.next_idx
