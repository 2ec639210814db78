"""The visited-state store: 64-bit fingerprints, never the states themselves.

BFS keeps a `FingerprintTable`: one array of 8-byte slots, open addressing with double
hashing, grown to keep it 52-80 % full, so 10-16 bytes a state (TLC keeps 8 bytes a
state the same way). The parent of each state, needed only to rebuild a counterexample,
goes to a `ParentLog` on disk. DFS keeps the least depth each was met at beside it
(`DepthTable`), random walks a dict of first finds (its size measured: `store_bytes`).

Two different states share a fingerprint with a small probability; a search that meets
such a pair takes the second for the first and explores less than it says.
`collision_probability` gives the odds as TLC reports them.
"""

from __future__ import annotations

import os
import struct
import sys
import tempfile
from array import array
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any, BinaryIO

MASK = (1 << 64) - 1
EMPTY = 0
ZERO_STANDS_FOR = 0x5A5A_C3C3_0F0F_9669  # fingerprint 0 is stored as this (slot 0 = empty)
MAX_LOAD = 0.8  # grow past this share of slots in use ...
GROWN_LOAD = 0.52  # ... to a table this full: 8 / 0.52 < 16 bytes a state
FIRST_SIZE = 4093  # 32 KiB to start with


def next_prime(n: int) -> int:
    """The least prime >= n (table sizes are prime, so every probe step visits all)."""
    candidate = max(n, 3) | 1
    while any(candidate % d == 0 for d in range(3, int(candidate**0.5) + 1, 2)):
        candidate += 2
    return candidate


def table_key(fp: int) -> int:
    """The slot value of fingerprint `fp`: its low 64 bits, never the empty mark."""
    key = fp & MASK
    return key if key != EMPTY else ZERO_STANDS_FOR


class FingerprintTable:
    """A set of 64-bit fingerprints in an `array('Q')`; `add` says whether one is new.

    Keys must come through `table_key` (callers in hot loops hold keys already)."""

    SLOT_BYTES = 8

    def __init__(self, size: int = FIRST_SIZE) -> None:
        self._allocate(size)
        self.count = 0

    def _allocate(self, size: int) -> None:
        self._size = next_prime(size)
        self._slots = array("Q", bytes(8 * self._size))
        self._limit = int(self._size * MAX_LOAD)

    def __len__(self) -> int:
        return self.count

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, int):
            return False
        slots = self._slots
        size = self._size
        index = key % size
        slot = slots[index]
        if slot == key:
            return True
        step = 1 + (key >> 17) % (size - 1)
        while slot != EMPTY:
            index += step
            if index >= size:
                index -= size
            slot = slots[index]
            if slot == key:
                return True
        return False

    def add(self, key: int) -> bool:
        """Stores `key`; True when it was not stored before."""
        slots = self._slots
        size = self._size
        index = key % size
        slot = slots[index]
        if slot == key:
            return False
        if slot != EMPTY:
            step = 1 + (key >> 17) % (size - 1)
            while True:
                index += step
                if index >= size:
                    index -= size
                slot = slots[index]
                if slot == key:
                    return False
                if slot == EMPTY:
                    break
        slots[index] = key
        self.count += 1
        if self.count > self._limit:
            self._grow()
        return True

    def _grow(self) -> None:
        old = self._slots
        self._allocate(int(self.count / GROWN_LOAD))
        self.count = 0
        add = self.add
        for key in old:
            if key != EMPTY:
                add(key)

    @property
    def growth_bytes(self) -> int:
        """Bytes the next growth allocates while the current slots are still held."""
        return int(self._limit / GROWN_LOAD) * self.SLOT_BYTES

    @property
    def nbytes(self) -> int:
        """Bytes held: the slot array and the object around it."""
        return sys.getsizeof(self._slots) + sys.getsizeof(self)

    def keys(self) -> list[int]:
        return [key for key in self._slots if key != EMPTY]

    def save(self, path: Path) -> None:
        with path.open("wb") as file:
            self._slots.tofile(file)

    @classmethod
    def load(cls, path: Path, count: int) -> FingerprintTable:
        """The table `save` wrote to `path`, holding `count` keys; ValueError if the file
        is not such a table (cut short, or another table's)."""
        table = cls.__new__(cls)
        table._slots = array("Q")
        size = path.stat().st_size
        with path.open("rb") as file:
            table._slots.fromfile(file, size // 8)
        table._size = len(table._slots)
        table._limit = int(table._size * MAX_LOAD)
        table.count = count
        if size % 8 or table._size < 3 or next_prime(table._size) != table._size:
            raise ValueError(f"{path.name} is not a whole table ({size:,} bytes)")
        keys = table.keys()
        if len(keys) != count or not all(key in table for key in keys):
            raise ValueError(f"{path.name} holds {len(keys):,} keys, not the {count:,} saved")
        return table


SEEN_NEARER, NEW, NEARER_NOW = 0, 1, 2  # what DepthTable.visit found


class DepthTable(FingerprintTable):
    """Fingerprint keys with the least depth each was met at (DFS): the key table and a
    parallel `array('H')` of depths, 10 bytes a slot (12-19 bytes a state)."""

    SLOT_BYTES = 10

    def _allocate(self, size: int) -> None:
        super()._allocate(size)
        self._depths = array("H", bytes(2 * self._size))

    def _slot(self, key: int) -> int:
        """The index of `key`'s slot, or of the empty slot where it would go."""
        slots = self._slots
        size = self._size
        index = key % size
        slot = slots[index]
        if slot in (key, EMPTY):
            return index
        step = 1 + (key >> 17) % (size - 1)
        while True:
            index += step
            if index >= size:
                index -= size
            slot = slots[index]
            if slot in (key, EMPTY):
                return index

    def visit(self, key: int, depth: int) -> int:
        """Meets `key` at `depth`: SEEN_NEARER (met before at no greater depth: nothing to
        do), NEW (never met), or NEARER_NOW (met deeper before); records the least depth."""
        slots = self._slots
        size = self._size
        index = key % size
        slot = slots[index]
        if slot != key and slot != EMPTY:  # noqa: PLR1714 (two cheap tests, not a tuple)
            step = 1 + (key >> 17) % (size - 1)
            while True:
                index += step
                if index >= size:
                    index -= size
                slot = slots[index]
                if slot in (key, EMPTY):
                    break
        depths = self._depths
        if slot == key:
            if depths[index] <= depth:
                return SEEN_NEARER
            depths[index] = depth
            return NEARER_NOW
        slots[index] = key
        depths[index] = depth
        self.count += 1
        if self.count > self._limit:
            self._grow()
        return NEW

    def record(self, key: int, depth: int) -> None:
        """Notes that `key` was met at `depth` (callers check it is less than before)."""
        index = self._slot(key)
        self._depths[index] = depth
        if self._slots[index] == EMPTY:
            self._slots[index] = key
            self.count += 1
            if self.count > self._limit:
                self._grow()

    def _grow(self) -> None:
        old_keys, old_depths = self._slots, self._depths
        self._allocate(int(self.count / GROWN_LOAD))
        self.count = 0
        record = self.record
        for key, depth in zip(old_keys, old_depths, strict=True):
            if key != EMPTY:
                record(key, depth)

    def deepest(self) -> int:
        return max(
            (d for k, d in zip(self._slots, self._depths, strict=True) if k != EMPTY), default=0
        )

    @property
    def nbytes(self) -> int:
        return super().nbytes + sys.getsizeof(self._depths)


# Pairs (key, parent key) read at once when a parent log is searched backwards.
SCAN_PAIRS = 1 << 16
BUFFER_PAIRS = 1 << 16  # pairs kept in memory before they are written (1 MiB)
_PAIR = 16


class ParentLog:
    """Each stored state's parent, as (key, parent key) pairs appended to a file in the
    order states were stored (an initial state is its own parent). Parents are stored
    before their children, so one backward pass over the file finds a whole chain."""

    def __init__(self, path: Path | None = None) -> None:
        # Open for the search's lifetime; `close` ends it.
        self._file: BinaryIO = path.open("a+b") if path else tempfile.TemporaryFile()  # noqa: SIM115
        self._file.seek(0, os.SEEK_END)
        self._written = self._file.tell() // _PAIR
        self._buffer = array("Q")

    def extend(self, pairs: array[int]) -> None:
        self._buffer.extend(pairs)
        if len(self._buffer) >= 2 * BUFFER_PAIRS:
            self.flush()

    def __len__(self) -> int:
        return self._written + len(self._buffer) // 2

    def flush(self) -> None:
        if self._buffer:
            self._file.seek(0, os.SEEK_END)
            self._buffer.tofile(self._file)
            self._written += len(self._buffer) // 2
            self._buffer = array("Q")
        self._file.flush()

    def truncate(self, entries: int) -> None:
        """Forgets every pair after the first `entries` (a resumed run's unfinished level)."""
        self.flush()
        self._file.truncate(entries * _PAIR)
        self._written = entries

    def chain(self, key: int) -> list[int]:
        """Keys from an initial state to `key`, found in one backward pass."""
        self.flush()
        chain = [key]
        end = self._written
        while True:
            end, parent = self._find(key, end)
            if parent == key:
                break
            chain.append(parent)
            key = parent
        chain.reverse()
        return chain

    def _find(self, key: int, end: int) -> tuple[int, int]:
        """The position and parent of the pair for `key`, searching before pair `end`."""
        pattern = struct.pack("=Q", key)
        while end > 0:
            start = max(0, end - SCAN_PAIRS)
            self._file.seek(start * _PAIR)
            block = self._file.read((end - start) * _PAIR)
            at = block.rfind(pattern)
            while at >= 0:
                if at % _PAIR == 0:  # a key, not a parent that happens to be equal
                    (parent,) = struct.unpack_from("=Q", block, at + 8)
                    return start + at // _PAIR, parent
                at = block.rfind(pattern, 0, at + 7)
            end = start
        raise KeyError(f"no stored state has fingerprint {key:#018x}")

    def close(self) -> None:
        self._file.close()


def collision_probability(distinct: int, generated: int) -> tuple[float, float]:
    """Odds that two different states shared a 64-bit fingerprint: TLC's "optimistic"
    estimate m(g - m) / 2^64 (m distinct states, g states generated: each new one
    compared against those stored), and the birthday bound m^2 / 2^65."""
    optimistic = distinct * max(0, generated - distinct) / 2.0**64
    return optimistic, distinct * distinct / 2.0**65


def store_bytes(store: Collection[int]) -> int:
    """Bytes held by a dict or set of int keys: its table and its key ints (dict values
    are small cached ints or shared objects, so they cost nothing more)."""
    return sys.getsizeof(store) + sum(map(sys.getsizeof, store))


def skipping_exact_repeats(
    exact: Callable[[Any], int], symmetric: Callable[[Any], int], seen: set[int]
) -> Callable[[Any], int | None]:
    """A symmetric fingerprint that answers None, without computing it, for a state whose
    exact fingerprint is in `seen` (that state was met before, so its class is known).

    Canonicalising a state under renaming costs many times an exact hash, and about half
    of all successors repeat a state exactly; this filter skips that half, at the price
    of one more fingerprint per state in `seen` (callers may empty it at any time).
    """
    add = seen.add

    def fingerprint(state: Any) -> int | None:
        key = exact(state)
        if key in seen:
            return None
        add(key)
        return symmetric(state)

    return fingerprint
