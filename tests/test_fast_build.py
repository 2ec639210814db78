"""The compiled tree (`make fast`, checks/fast_build.py) behaves as the sources do, and
refuses to run once they have changed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from checks.fast_build import COMPILED, BuildError, build
from checks.fast_tree import INFO, read_info, source_digest

ROOT = Path(__file__).resolve().parent.parent

needs_compiler = pytest.mark.skipif(
    shutil.which("cc") is None and shutil.which("gcc") is None, reason="no C compiler"
)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    out = tmp_path_factory.mktemp("fast") / "tree"
    assert build(out, ROOT)
    yield out


def _explore(tree: Path | None, tmp: Path, *argv: str) -> tuple[int, dict[str, object]]:
    summary = tmp / f"summary-{'fast' if tree else 'sources'}.json"
    env = {**os.environ, "PYTHONPATH": str(tree) if tree else ""}
    quiet = ("--no-progress", "--workers", "1", "--json", str(summary), "--out", str(tmp))
    done = subprocess.run(
        [sys.executable, "-P", "-m", "checks.explore", *argv, *quiet],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp,
        timeout=600,
        check=False,
    )
    document = json.loads(summary.read_text())
    keys = ("distinct_states", "transitions", "depth_reached", "invariants", "goals", "coverage")
    figures = {key: document[key] for key in keys}
    figures["violations"] = [(v["property"], v["depth"]) for v in document.get("violations", [])]
    return done.returncode, figures


@needs_compiler
def test_the_tree_holds_compiled_modules_and_records_its_sources(tree: Path) -> None:
    for module in COMPILED:
        stem = (tree / module).with_suffix("")
        assert list(stem.parent.glob(f"{stem.name}.*.so")), module
    info = read_info(tree)
    assert info == {"root": str(ROOT), "digest": source_digest(ROOT)}
    assert not build(tree, ROOT), "an up-to-date tree is reused"


@needs_compiler
@pytest.mark.parametrize(
    "argv",
    [
        ("--depth", "10"),
        ("--depth", "9", "--no-symmetry", "--max-crashes", "1", "--pre-vote"),
        ("--target", "model", "--depth", "11", "--no-symmetry"),
        ("--depth", "8", "--mutant", "vote_without_up_to_date_check", "--max-crashes", "1"),
    ],
    ids=["impl", "impl-crashes", "model", "mutant"],
)
def test_a_compiled_run_gives_the_sources_result(
    tree: Path, tmp_path: Path, argv: tuple[str, ...]
) -> None:
    status, compiled = _explore(tree, tmp_path, *argv)
    expected_status, expected = _explore(None, tmp_path, *argv)
    assert (status, compiled) == (expected_status, expected)


def test_a_tree_whose_sources_changed_refuses_to_run(tmp_path: Path) -> None:
    """The guard alone: a tree recording other sources than those at its root."""
    fake = tmp_path / "tree"
    (fake / "checks").mkdir(parents=True)
    for name in ("__init__.py", "fast_tree.py"):
        shutil.copy2(ROOT / "checks" / name, fake / "checks" / name)
    (fake / INFO).write_text(json.dumps({"root": str(ROOT), "digest": "0" * 64}))
    done = subprocess.run(
        [sys.executable, "-P", "-c", "import checks"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(fake)},
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert "is older than its sources" in line and "make fast" in line


@pytest.mark.parametrize(
    ("argv", "status", "text"),
    [
        ([], 2, "usage:"),
        (["--bogus"], 2, "usage:"),
        ([str(ROOT / "checks" / "inside")], 1, "inside the sources"),
        ([str(ROOT / "checks" / "inside"), "--or-nothing"], 0, "running the sources"),
    ],
)
def test_bad_usage_is_one_line(argv: list[str], status: int, text: str) -> None:
    """Each a line on stderr and the right status, nothing on stdout."""
    done = subprocess.run(
        [sys.executable, "-m", "checks.fast_build", *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == status
    [line] = done.stderr.strip().splitlines()
    assert text in line
    assert done.stdout == ""


def test_a_directory_that_is_not_a_tree_is_never_replaced(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(BuildError, match="is not a compiled tree"):
        build(tmp_path, ROOT)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_without_a_working_compiler_the_sources_run(tmp_path: Path) -> None:
    """`--or-nothing` (what `make explore` uses): one line, no tree, nothing printed for
    the PYTHONPATH, and exit 0, so that the explorer runs from the sources."""
    out = tmp_path / "tree"
    done = subprocess.run(
        [sys.executable, "-m", "checks.fast_build", str(out), "--or-nothing"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "CC": "/bin/false"},
        timeout=600,
        check=False,
    )
    assert (done.returncode, done.stdout) == (0, "")
    [line] = done.stderr.strip().splitlines()
    assert "not built, running the sources: mypyc failed" in line and len(line) < 300
    assert not out.exists()


@needs_compiler
def test_the_ray_engine_is_refused_from_a_compiled_tree(tree: Path, tmp_path: Path) -> None:
    """Ray's workers import the sources (it puts the driver's directory first on their
    path), which cannot run the compiled tree's objects."""
    done = subprocess.run(
        [sys.executable, "-P", "-m", "checks.explore", "--engine", "ray", "--depth", "2"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(tree)},
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert "--engine ray runs from the sources" in line
