"""Benchmarks run by `make bench` (`python -m checks.bench`).

Each module here defines `run(report: Report) -> None` and calls `report(name,
value, unit)` for every figure it measures. Figures that compare two things are
measured in the same run and reported as ratios.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from checks.fast_build import ROOT, BuildError, build

Report = Callable[[str, float, str], None]


def explore_command(*argv: str, tree: Path | None = None) -> dict[str, Any]:
    """The JSON summary of `python -m checks.explore ARGV` (one worker, its own process),
    from the sources or from the compiled tree `tree`."""
    with tempfile.TemporaryDirectory() as tmp:
        summary = Path(tmp) / "summary.json"
        command = [sys.executable, "-P", "-m", "checks.explore", *argv, "--workers", "1"]
        command += ["--no-progress", "--json", str(summary), "--out", tmp]
        env = {**os.environ, "PYTHONPATH": "" if tree is None else str(tree)}
        subprocess.run(command, check=True, capture_output=True, env=env, cwd=tmp)
        document: dict[str, Any] = json.loads(summary.read_text())
        return document


def compiled_tree() -> Path | None:
    """The compiled tree (`make fast`), built if needed; None where it cannot be built."""
    out = ROOT / "build" / "fast"
    try:
        build(out)
    except (BuildError, OSError) as error:
        print(f"bench: no compiled tree ({error}): its figures are left out", file=sys.stderr)
        return None
    return out
