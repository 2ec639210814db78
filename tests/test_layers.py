"""The layering the README describes, kept by reading the imports: raft_ref and model
know nothing of each other or of checks; inside checks, imports run one way (the
command lines, then targets and traces, then the engine); and the cluster under test
keeps no copy of a model rule."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, at top level or inside functions."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def sources(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize(
    ("folder", "forbidden"),
    [
        ("raft_ref", ("model", "checks")),
        ("model", ("raft_ref", "checks")),
        (
            "checks/engine",
            ("model", "raft_ref", "checks.targets", "checks.trace", "checks.explore"),
        ),
        ("checks/targets", ("checks.explore",)),
        ("checks/cluster", ("checks.targets", "checks.trace", "checks.explore")),
    ],
)
def test_imports_run_one_way(folder: str, forbidden: tuple[str, ...]) -> None:
    offending = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sources(folder)
        for name in imported_modules(path)
        if any(name == f or name.startswith(f + ".") for f in forbidden)
    ]
    assert offending == []


def test_the_cluster_keeps_no_copy_of_a_model_rule() -> None:
    # The cluster carries out the model's actions; which messages are stale, which
    # membership changes are allowed and the bounds are the model's to say.
    rules = ("ignored_forever", "membership_targets", "CHANGE_RULES", "max_msgs", "max_term")
    found = [
        f"{path.relative_to(ROOT)}: {rule}"
        for path in sources("checks/cluster")
        for rule in rules
        if rule in path.read_text(encoding="utf-8")
    ]
    assert found == []
