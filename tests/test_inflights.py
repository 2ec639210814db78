"""Ports of raft-rs's unit tests in src/progress/inflights.rs, plus the Rust-clone quirk."""

import pytest

from raft_ref.contracts import ENABLED, ViolationError
from raft_ref.errors import RaftPanic
from raft_ref.progress import Inflights


def window(start: int, count: int, buffer: list[int]) -> Inflights:
    """An Inflights with exactly these positions (capacity is not compared)."""
    ins = Inflights(len(buffer))
    ins.start = start
    ins.count = count
    ins.buffer = list(buffer)
    return ins


def test_inflight_add():
    inflight = Inflights(10)
    for i in range(5):
        inflight.add(i)
    assert inflight == window(0, 5, [0, 1, 2, 3, 4])

    for i in range(5, 10):
        inflight.add(i)
    assert inflight == window(0, 10, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])

    # A window that starts in the middle of the buffer wraps around.
    inflight2 = Inflights(10)
    inflight2.start = 5
    inflight2.buffer.extend([0, 0, 0, 0, 0])
    for i in range(5):
        inflight2.add(i)
    assert inflight2 == window(5, 5, [0, 0, 0, 0, 0, 0, 1, 2, 3, 4])

    for i in range(5, 10):
        inflight2.add(i)
    assert inflight2 == window(5, 10, [5, 6, 7, 8, 9, 0, 1, 2, 3, 4])


def test_inflight_free_to():
    inflight = Inflights(10)
    for i in range(10):
        inflight.add(i)

    inflight.free_to(4)
    assert inflight == window(5, 5, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])

    inflight.free_to(8)
    assert inflight == window(9, 1, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])

    for i in range(10, 15):
        inflight.add(i)

    inflight.free_to(12)
    assert inflight == window(3, 2, [10, 11, 12, 13, 14, 5, 6, 7, 8, 9])

    inflight.free_to(14)
    assert inflight == window(5, 0, [10, 11, 12, 13, 14, 5, 6, 7, 8, 9])


def test_inflight_free_first_one():
    inflight = Inflights(10)
    for i in range(10):
        inflight.add(i)

    inflight.free_first_one()
    assert inflight == window(1, 9, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])


def test_add_to_full_window_panics():
    inflight = Inflights(2)
    inflight.add(1)
    inflight.add(2)
    assert inflight.full()
    with pytest.raises(RaftPanic, match="full"):
        inflight.add(3)


def test_free_first_one_on_never_used_window_panics():
    # raft-rs indexes an empty vector here; a capacity-0 window is always full.
    inflight = Inflights(0)
    assert inflight.full()
    with pytest.raises(RaftPanic, match="index out of bounds"):
        inflight.free_first_one()


def test_stale_free_to_changes_nothing():
    inflight = Inflights(4)
    for i in (5, 6, 7):
        inflight.add(i)
    inflight.free_to(4)
    assert inflight == window(0, 3, [5, 6, 7])


def test_reset_keeps_stale_buffer():
    inflight = Inflights(3)
    for i in (1, 2, 3):
        inflight.add(i)
    inflight.free_to(1)
    inflight.reset()
    assert inflight == window(0, 0, [1, 2, 3])
    assert not inflight.full()


def test_clone_is_independent_and_keeps_capacity():
    inflight = Inflights(10)
    for i in range(6):
        inflight.add(i)
    copy = inflight.clone()
    assert copy == inflight and copy.cap() == 10
    copy.add(6)
    copy.free_to(2)
    assert inflight == window(0, 6, [0, 1, 2, 3, 4, 5])


@pytest.mark.parametrize(
    ("cap", "filled", "cloned_cap"),
    [
        # Figures measured with rustc 1.95 on the same reserve-after-clone code.
        (0, 0, 0),
        (1, 0, 4),
        (2, 0, 4),
        (3, 0, 4),
        (4, 0, 4),
        (5, 0, 5),
        (256, 0, 256),
        (1, 1, 1),
        (2, 1, 4),
        (3, 2, 4),
        (5, 3, 6),
        (10, 6, 12),
        (256, 170, 340),
        (10, 10, 10),
    ],
)
def test_rust_clone_grows_capacity_like_vec_reserve(cap, filled, cloned_cap):
    inflight = Inflights(cap)
    for i in range(filled):
        inflight.add(i)
    copy = inflight.rust_clone()
    assert copy == inflight
    assert copy.cap() == cloned_cap


@pytest.mark.skipif(not ENABLED, reason="contracts are switched off")
def test_adding_out_of_order_breaks_contract():
    inflight = Inflights(4)
    inflight.add(5)
    with pytest.raises(ViolationError, match="increasing order"):
        inflight.add(5)
