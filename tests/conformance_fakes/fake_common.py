"""A raft_ref-backed adapter loop whose answers a fake can spoil."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from checks.conformance.raft_ref_host import RaftRefHost

Spoiler = Callable[[dict[str, Any], dict[str, Any], int], dict[str, Any] | None]


def serve(spoil: Spoiler) -> None:
    """Answers like raft_ref, except where `spoil(request, answer, n)` returns None
    (then the fake writes nothing itself) or another answer."""
    host = RaftRefHost()
    for n, line in enumerate(sys.stdin):
        request = json.loads(line)
        answer = spoil(request, host.handle(request), n)
        if answer is not None:
            sys.stdout.write(json.dumps(answer) + "\n")
            sys.stdout.flush()
