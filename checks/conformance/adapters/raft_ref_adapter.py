"""raft_ref as an adapter process: `python -m checks.conformance.adapters.raft_ref_adapter`.

Reads one JSON request per line on stdin and writes one JSON answer per line on stdout.
`--snapshot-term-of-entry` labels snapshots as upstream's fix of #408 does.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any, TextIO

from checks.conformance.raft_ref_host import SNAPSHOT_TERM_OF_ENTRY_FLAG, RaftRefHost


def serve(lines: Iterable[str], out: TextIO, host: RaftRefHost | None = None) -> None:
    host = host if host is not None else RaftRefHost()
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
    flags = sys.argv[1:]
    unknown = [f for f in flags if f != SNAPSHOT_TERM_OF_ENTRY_FLAG]
    if unknown:
        print(f"raft_ref_adapter: unknown argument {unknown[0]!r}", file=sys.stderr)
        sys.exit(2)
    serve(sys.stdin, sys.stdout, RaftRefHost(snapshot_term_of_entry=bool(flags)))


if __name__ == "__main__":
    main()
