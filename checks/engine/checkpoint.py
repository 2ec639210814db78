"""Saving a breadth-first search after each finished level, and going on from there.

A checkpoint directory holds three files: `parents.bin`, the parent log (appended to as
the search goes: a resumed search cuts it back to the saved length), `visited.bin`,
the fingerprint table's slots, and `level.pickle`: the depth, the figures so far, what
is known of each property, and the frontier's states. The last two are written to a
temporary name and renamed, so a search killed while saving leaves the previous level's
checkpoint whole. Resuming it, with any depth bound and number of workers, gives the
result an uninterrupted search would have given.
"""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass
from pathlib import Path

from checks.engine.outcome import FrontierItem, SearchOptions, SearchOutcome
from checks.engine.visited import FingerprintTable

# 2: fingerprints of the implementation target are the same in every process, and
# symmetric; a format 1 checkpoint of it holds fingerprints no process can reproduce.
# 3: each frontier state is saved with its sleep set (partial-order reduction).
FORMAT = 3
LEVEL = "level.pickle"
VISITED = "visited.bin"
PARENTS = "parents.bin"


class CheckpointError(ValueError):
    """A checkpoint directory that cannot be resumed (missing, damaged, or another run's)."""


@dataclass
class Checkpoint:
    """A search saved after level `depth` was accepted and checked."""

    identity: str
    symmetry: bool
    por: bool  # partial-order reduction: the frontier holds sleep sets
    depth: int
    log_entries: int
    table_count: int
    outcome: SearchOutcome
    goal_depth: dict[str, int | None]
    violated: set[str]
    frontiers: list[list[FrontierItem]]
    format: int = FORMAT


def parents_path(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    return directory / PARENTS


def save(directory: Path, saved: Checkpoint, table: FingerprintTable) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    table.save(directory / f"{VISITED}.new")
    with (directory / f"{LEVEL}.new").open("wb") as file:
        pickle.dump(saved, file, pickle.HIGHEST_PROTOCOL)
    # The level file names the table's count: rename the table first, the level last.
    os.replace(directory / f"{VISITED}.new", directory / VISITED)
    os.replace(directory / f"{LEVEL}.new", directory / LEVEL)


def load(directory: Path, options: SearchOptions) -> tuple[Checkpoint, FingerprintTable]:
    """The checkpoint in `directory` and its table; CheckpointError if it does not fit."""
    try:
        with (directory / LEVEL).open("rb") as file:
            saved = pickle.load(file)
        if not isinstance(saved, Checkpoint) or getattr(saved, "format", None) != FORMAT:
            raise CheckpointError(f"{directory}: not a checkpoint of this version")
        table = FingerprintTable.load(directory / VISITED, saved.table_count)
    except CheckpointError:
        raise
    except FileNotFoundError as error:
        raise CheckpointError(f"{directory}: no checkpoint there ({error.filename})") from None
    except Exception as error:  # damaged bytes make pickle raise almost anything
        raise CheckpointError(f"{directory}: damaged checkpoint ({error})") from None
    if saved.identity != options.identity:
        raise CheckpointError(
            f"{directory}: saved by another run ({saved.identity or 'unnamed'}), "
            f"not {options.identity or 'unnamed'}"
        )
    if saved.symmetry != options.symmetry:
        saved_with = "on" if saved.symmetry else "off"
        raise CheckpointError(f"{directory}: saved with symmetry {saved_with}")
    return saved, table
