"""The cyclic garbage collector during a search.

A search allocates tuples by the million (states, messages, keys) and keeps many of them
(the frontier), while freeing almost all of them by reference counting: a model state
holds no reference cycles, and the implementation's nodes make few. At CPython's default
thresholds every tenth young collection also collects the middle generation, whose
survivors soon trigger full collections over the whole live frontier: that cost a fifth
of a model search and a quarter of an implementation search. A search keeps the young
collections (cheap, and they stop tracking tuples of atomic values) and collects the
older generations a hundred times less often, so the cycles the nodes leave are still
freed; peak memory stayed the same where measured (the default implementation search
to depth 17).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

SEARCH_THRESHOLDS = (700, 1000, 10)  # CPython's default: (700, 10, 10)


def collect_less_often() -> None:
    """For a process that does nothing but search (a worker, a Ray actor)."""
    gc.set_threshold(*SEARCH_THRESHOLDS)


@contextmanager
def searching() -> Iterator[None]:
    """The search thresholds for the duration of a search, then the caller's again."""
    before = gc.get_threshold()
    collect_less_often()
    try:
        yield
    finally:
        gc.set_threshold(*before)
