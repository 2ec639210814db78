"""Writes the trace of a scenario that did not pass: JSON under traces/conformance/.

Kept apart from the runner so that the trace formats of the project (ITF, charts) can
take this output over without touching the harness.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from checks.conformance.driver import Exchange

__all__ = ["write_trace"]

# Enough context before the divergence to follow it, without megabyte files.
_LAST_EXCHANGES = 400


def write_trace(
    directory: Path,
    *,
    scenario_name: str,
    scenario_text: str,
    implementations: list[str],
    outcome: dict[str, Any],
    transcript: list[Exchange],
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", scenario_name)
    path = directory / f"{safe}.json"
    body = {
        "format": "raft-ref conformance trace 1",
        "scenario": scenario_name,
        "scenario_text": scenario_text,
        "implementations": implementations,
        "outcome": outcome,
        "exchanges_omitted": max(0, len(transcript) - _LAST_EXCHANGES),
        "exchanges": [
            {"step": ex.step, "request": ex.request, "answers": ex.answers}
            for ex in transcript[-_LAST_EXCHANGES:]
        ],
    }
    path.write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")
    return path
