"""The visited-state store: 64-bit fingerprints, never the states themselves.

BFS keeps a dict from each visited fingerprint to its parent's fingerprint (the parent's
own key object, so the value costs no extra int); DFS keeps fingerprint -> least depth
seen; random walks a plain set. With symmetry, a set of exact fingerprints comes on top
(`skipping_exact_repeats`). Sizes are measured, not estimated: the hash table plus the
int objects it holds.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Collection
from typing import Any


def store_bytes(store: Collection[int]) -> int:
    """Bytes held by `store`: its table and its key ints (dict values are either the
    parent's key object or small cached ints, so they cost nothing more)."""
    return sys.getsizeof(store) + sum(map(sys.getsizeof, store))


def skipping_exact_repeats(
    exact: Callable[[Any], int], symmetric: Callable[[Any], int], seen: set[int]
) -> Callable[[Any], int | None]:
    """A symmetric fingerprint that answers None, without computing it, for a state whose
    exact fingerprint is in `seen` (that state was met before, so its class is known).

    Canonicalising a state under renaming costs many times an exact hash, and about half
    of all successors repeat a state exactly; this filter skips that half, at the price
    of one more fingerprint per state in `seen`.
    """
    add = seen.add

    def fingerprint(state: Any) -> int | None:
        key = exact(state)
        if key in seen:
            return None
        add(key)
        return symmetric(state)

    return fingerprint
