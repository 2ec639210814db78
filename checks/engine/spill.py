"""Lists kept in a file: with `--disk DIR` an expander keeps each level's states there.

A breadth-first search holds two levels of states at a time: the frontier it expands,
and the successors it proposed, which wait for the visited store's verdict. Both are
written once and read back in order, so a `SpillList` pickles them in chunks to an
unnamed temporary file (gone when closed, or when the process dies) and reads the
chunks back one at a time: memory then holds one chunk, not a level. Items are read
back as copies: states that shared parts in memory are stored apart.
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

CHUNK = 256  # items pickled together


class SpillList:
    """Items appended to a file in `directory`, iterated back in the order appended."""

    def __init__(self, directory: str) -> None:
        # Unnamed: nothing is left behind, whatever ends the process.
        self._file = tempfile.TemporaryFile(dir=directory, prefix="raft-ref-level-")  # noqa: SIM115
        self._buffer: list[Any] = []
        self._length = 0

    def __len__(self) -> int:
        return self._length

    def append(self, item: Any) -> None:
        self._buffer.append(item)
        self._length += 1
        if len(self._buffer) >= CHUNK:
            self._write()

    def extend(self, items: Iterable[Any]) -> None:
        for item in items:
            self.append(item)

    def _write(self) -> None:
        if self._buffer:
            self._file.seek(0, 2)  # the end: a read may have moved the position
            pickle.dump(self._buffer, self._file, pickle.HIGHEST_PROTOCOL)
            self._buffer = []

    def __iter__(self) -> Iterator[Any]:
        self._write()
        file = self._file
        file.flush()
        end = file.tell()
        offset = 0
        while offset < end:
            file.seek(offset)
            chunk = pickle.load(file)
            offset = file.tell()
            yield from chunk

    def close(self) -> None:
        self._file.close()


Level = list[Any] | SpillList


def new_level(directory: str | None) -> Level:
    """An empty level: a list, or a `SpillList` in `directory`."""
    return [] if directory is None else SpillList(directory)


def close_level(level: Level) -> None:
    if isinstance(level, SpillList):
        level.close()


def picked(items: Level, indices: Sequence[int]) -> Iterator[Any]:
    """The items at `indices` (increasing), in that order; a file is read once through."""
    if isinstance(items, list):
        return (items[index] for index in indices)
    return _scan(items, indices)


def _scan(items: SpillList, indices: Sequence[int]) -> Iterator[Any]:
    wanted = iter(indices)
    next_index = next(wanted, None)
    if next_index is None:
        return
    for index, item in enumerate(items):
        if index == next_index:
            yield item
            next_index = next(wanted, None)
            if next_index is None:
                return


def labelled(
    keys: Sequence[int],
    kinds: Sequence[Any],
    indices: Sequence[int],
    items: Iterator[Any],
    awake: Any,
) -> Iterator[tuple[int, Any, Any, Any]]:
    """(key, kind, state, sleep set) of each proposal at `indices`, its (state, sleep)
    taken from `items` in turn; a proposal in `awake` gets no sleep set."""
    for index in indices:
        state, sleep = next(items)
        yield keys[index], kinds[index], state, () if index in awake else sleep
