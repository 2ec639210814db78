"""`--disk DIR`: levels kept in files give the result levels kept in memory give."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from checks.engine.outcome import SearchOptions, SearchOutcome
from checks.engine.search import UnsupportedOptions, explore
from checks.engine.spill import SpillList, picked
from checks.targets.impl_target import build_impl_target
from checks.targets.model_target import ModelTarget
from tests.test_engine_checkpoint import IDENTITY, same_result


@given(st.lists(st.integers()), st.data())
def test_a_spill_list_gives_back_what_was_appended_in_order(
    items: list[int], data: st.DataObject
) -> None:
    directory = os.environ.get("TMPDIR", "/tmp")
    spilled = SpillList(directory)
    cut = data.draw(st.integers(0, len(items)))
    spilled.extend(items[:cut])
    assert list(spilled) == items[:cut]
    spilled.extend(items[cut:])  # appending after a read
    assert len(spilled) == len(items)
    assert list(spilled) == items
    chosen = sorted(data.draw(st.sets(st.integers(0, max(len(items) - 1, 0)))))
    chosen = [index for index in chosen if index < len(items)]
    assert list(picked(spilled, chosen)) == [items[index] for index in chosen]
    assert list(picked(list(items), chosen)) == [items[index] for index in chosen]
    spilled.close()


def test_a_spill_list_read_halfway_and_closed_leaves_no_error(tmp_path: Path) -> None:
    spilled = SpillList(str(tmp_path))
    spilled.extend(range(2000))
    first = next(picked(spilled, [3, 1500]))
    assert first == 3
    spilled.close()  # the generator is dropped unfinished
    assert list(tmp_path.iterdir()) == []


def _pair(target: Any, tmp_path: Path, **options: Any) -> tuple[SearchOutcome, SearchOutcome]:
    in_memory = explore(target(), SearchOptions(**options))
    on_disk = explore(target(), SearchOptions(disk=str(tmp_path), **options))
    return in_memory, on_disk


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("por", [True, False])
@pytest.mark.parametrize("symmetry", [True, False])
def test_the_model_on_disk_gives_the_result_in_memory(
    tmp_path: Path, workers: int, por: bool, symmetry: bool
) -> None:
    in_memory, on_disk = _pair(
        ModelTarget, tmp_path, max_depth=10, workers=workers, por=por, symmetry=symmetry
    )
    same_result(in_memory, on_disk)
    assert on_disk.por == in_memory.por == por
    assert list(tmp_path.iterdir()) == []  # the level files are unnamed


@pytest.mark.parametrize("workers", [1, 2])
def test_the_implementation_on_disk_gives_the_result_in_memory(
    tmp_path: Path, workers: int
) -> None:
    in_memory, on_disk = _pair(build_impl_target, tmp_path, max_depth=9, workers=workers)
    same_result(in_memory, on_disk)


def test_a_violation_found_on_disk_is_the_one_found_in_memory(tmp_path: Path) -> None:
    def broken() -> ModelTarget:
        return ModelTarget(nodes=3, variant="small_majority")

    in_memory, on_disk = _pair(broken, tmp_path, max_depth=8)
    assert in_memory.violations
    same_result(in_memory, on_disk)
    assert [step[0] for step in on_disk.violations[0].path] == [
        step[0] for step in in_memory.violations[0].path
    ]


def test_a_checkpoint_saved_on_disk_resumes_in_memory_and_the_other_way(tmp_path: Path) -> None:
    plain = explore(ModelTarget(), SearchOptions(max_depth=10, identity=IDENTITY))
    levels = tmp_path / "levels"
    levels.mkdir()
    for saved_on, resumed_on in ((str(levels), None), (None, str(levels))):
        saved = tmp_path / f"saved-{saved_on is None}"
        first = SearchOptions(max_depth=6, checkpoint=str(saved), identity=IDENTITY, disk=saved_on)
        explore(ModelTarget(), first)
        then = SearchOptions(max_depth=10, resume=str(saved), identity=IDENTITY, disk=resumed_on)
        same_result(plain, explore(ModelTarget(), then))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"strategy": "dfs"}, "bfs only"),
        ({"strategy": "random"}, "bfs only"),
        ({"engine": "ray"}, "--engine local only"),
    ],
)
def test_disk_is_refused_where_it_does_not_apply(
    tmp_path: Path, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(UnsupportedOptions, match=message):
        explore(ModelTarget(), SearchOptions(max_depth=3, disk=str(tmp_path), **options))


def test_disk_needs_an_existing_directory(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedOptions, match="no directory"):
        explore(ModelTarget(), SearchOptions(max_depth=3, disk=str(tmp_path / "none")))
