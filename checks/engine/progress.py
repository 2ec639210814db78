"""Live progress on stderr while a search runs.

Strategies call `update` often (every few hundred states); it prints at most once per
`interval` seconds, so searching stays apart from reporting and nearly free of it.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class SearchProgress:
    """Prints `depth, distinct, queue, states/s` lines at a steady pace."""

    def __init__(
        self, stream: TextIO | None = None, interval: float = 2.0, enabled: bool = True
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.interval = interval
        self.enabled = enabled
        self.started = time.monotonic()
        self.next_report = self.started + interval

    def restart(self) -> None:
        self.started = time.monotonic()
        self.next_report = self.started + self.interval

    def update(self, depth: int, distinct: int, queue: int, transitions: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now < self.next_report:
            return
        self.next_report = now + self.interval
        elapsed = now - self.started
        rate = distinct / elapsed if elapsed > 0 else 0.0
        print(
            f"  [{elapsed:6.1f}s] depth {depth:>3}  distinct {distinct:>11,}  "
            f"queue {queue:>10,}  transitions {transitions:>12,}  {rate:>9,.0f} states/s",
            file=self.stream,
            flush=True,
        )


def quiet() -> SearchProgress:
    """A reporter that never prints."""
    return SearchProgress(enabled=False)
