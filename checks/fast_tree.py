"""Whether this copy of the code is a compiled tree (`checks.fast_build`), and whether
its sources have changed since it was built. Imported by `checks/__init__.py`: light."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "INFO",
    "PACKAGES",
    "compiled_tree",
    "read_info",
    "source_digest",
    "sources",
    "verify_build",
]

PACKAGES = ("raft_ref", "model", "checks")
INFO = "FAST_BUILD.json"
_SKIPPED_DIRS = {"__pycache__", "target", "build", "node_modules"}


def sources(root: Path) -> Iterator[Path]:
    """The packages' Python sources under `root`, in a fixed order."""
    for package in PACKAGES:
        for directory, subdirs, files in os.walk(root / package):
            subdirs[:] = sorted(d for d in subdirs if d not in _SKIPPED_DIRS)
            for name in sorted(files):
                if name.endswith(".py"):
                    yield Path(directory) / name


def source_digest(root: Path) -> str:
    """A digest of every source file's path and content (and of the mypy settings)."""
    digest = hashlib.sha256()
    for path in [*sources(root), root / "pyproject.toml"]:
        digest.update(str(path.relative_to(root)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def read_info(tree: Path) -> dict[str, str] | None:
    """What a compiled tree records of its build, or None (not a compiled tree)."""
    try:
        info = json.loads((tree / INFO).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def compiled_tree() -> Path | None:
    """The compiled tree this code runs from, or None (the sources)."""
    tree = Path(__file__).resolve().parent.parent
    return tree if read_info(tree) is not None else None


def verify_build() -> None:
    """In a compiled tree: stop, in one line, when its sources have changed since the
    build (the tree would run old code). Outside one (the sources): nothing."""
    tree = Path(__file__).resolve().parent.parent
    info = read_info(tree)
    if info is None:
        return
    root = Path(info.get("root", ""))
    if not root.is_dir() or source_digest(root) != info.get("digest"):
        print(
            f"checks: the compiled tree {tree} is older than its sources {root}: "
            "rebuild it (make fast) or run the sources",
            file=sys.stderr,
        )
        raise SystemExit(2)
