"""raft_ref as an adapter process: `python -m checks.conformance.adapters.raft_ref_adapter`.

Reads one JSON request per line on stdin and writes one JSON answer per line on stdout.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any, TextIO

from checks.conformance.raft_ref_host import RaftRefHost


def serve(lines: Iterable[str], out: TextIO) -> None:
    host = RaftRefHost()
    for line in lines:
        if not line.strip():
            continue
        try:
            request: Any = json.loads(line)
        except json.JSONDecodeError as exc:
            answer: dict[str, Any] = {
                "ok": False,
                "error": "BadRequest",
                "detail": f"not JSON: {exc}",
            }
        else:
            if isinstance(request, dict):
                answer = host.handle(request)
            else:
                answer = {"ok": False, "error": "BadRequest", "detail": "not a JSON object"}
        out.write(json.dumps(answer, separators=(",", ":")) + "\n")
        out.flush()


def main() -> None:
    serve(sys.stdin, sys.stdout)


if __name__ == "__main__":
    main()
