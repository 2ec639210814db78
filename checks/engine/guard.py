"""When a search must stop before its end: a signal (Ctrl-C, SIGTERM) or a memory limit.

Searches poll `Guard.should_stop()` where they report progress (every few hundred
states): a flag test, and a memory sample at most every `SAMPLE_EVERY` seconds. The
memory measured is the resident set of this process and of the worker processes it
watches, added up (pages shared after a fork count once per process: an overestimate,
so a limit stops early rather than late). A search that stops keeps what it has and
returns a partial outcome marked with the reason.

Worker processes call `become_worker()` first: they leave signals to the parent (which
kills them when it stops) and die with it if it dies without cleaning up.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from types import FrameType

SAMPLE_EVERY = 0.1  # seconds between two memory samples
# Stop when the measured memory reaches this fraction of the limit: the summary, the
# JSON and a counterexample still need room after the search has stopped.
MEMORY_MARGIN = 0.9
INTERRUPTED = "interrupted"
MEMORY = "memory limit"
_PAGE = os.sysconf("SC_PAGE_SIZE")
_PR_SET_PDEATHSIG = 1


class ForcedStop(Exception):
    """A second signal arrived while the search was stopping: stop at once."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"signal {signum}")
        self.signum = signum


def rss_of(pid: int | None = None) -> int:
    """Resident memory of process `pid` (this one by default) in bytes; 0 if gone."""
    try:
        with open(f"/proc/{pid or 'self'}/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


def own_peak_rss() -> int:
    """The highest resident memory this process has had, in bytes: the kernel's
    high-water mark of its memory map (`ru_maxrss` would count a parent's before exec)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def parse_size(text: str) -> int:
    """Bytes in `text`: a number with an optional K, M, G or T suffix (powers of 1024)."""
    units = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    cleaned = text.strip().upper().removesuffix("B").removesuffix("I")
    number, unit = (cleaned[:-1], cleaned[-1]) if cleaned[-1:] in units else (cleaned, "")
    try:
        value = float(number)
    except ValueError:
        raise ValueError(f"expected a size such as 500M or 2G, got {text!r}") from None
    if value <= 0:
        raise ValueError(f"a size must be positive, got {text!r}")
    return int(value * units[unit])


class Guard:
    """Says when a search should stop, and measures the memory it uses meanwhile."""

    def __init__(self, max_memory: int | None = None) -> None:
        self.max_memory = max_memory
        self.reason: str | None = None  # INTERRUPTED or MEMORY once a stop is asked
        self.signal: int | None = None  # the signal that asked, if one did
        self.peak_rss = 0  # the highest sampled memory of this process and its workers
        self._workers: tuple[int, ...] = ()
        self._next_sample = 0.0
        # Bytes the search is about to allocate at once (its store's next growth).
        self._reserved: Callable[[], int] = _nothing

    def should_stop(self) -> bool:
        """True once the search should stop (cheap: call it every few hundred states)."""
        if self.reason is not None:
            return True
        now = time.monotonic()
        if now >= self._next_sample:
            self._next_sample = now + SAMPLE_EVERY
            self.sample_memory()
        return self.reason is not None

    def sample_memory(self) -> int:
        """Measures memory now, records the peak, and asks to stop above the limit."""
        used = rss_of() + sum(rss_of(pid) for pid in self._workers)
        self.peak_rss = max(self.peak_rss, used)
        if self.max_memory is not None:
            upcoming = self._reserved()
            if used + upcoming >= self.max_memory * MEMORY_MARGIN:
                self.request_stop(MEMORY)
        return used

    def reserve(self, upcoming: Callable[[], int]) -> None:
        """`upcoming()` says how much memory the search may allocate in one go (a table
        growing): the limit stops the search before such a step would cross it."""
        self._reserved = upcoming

    def request_stop(self, reason: str, signum: int | None = None) -> None:
        if self.reason is None:
            self.reason = reason
            self.signal = signum

    def watch(self, pids: Iterable[int]) -> None:
        """Counts these worker processes' memory too (until `watch(())`)."""
        if self._workers:
            self.sample_memory()  # the workers' last figures count for the peak
        self._workers = tuple(pids)

    def final_peak_rss(self) -> int:
        """The peak over the run: samples taken, and this process's own high mark."""
        return max(self.peak_rss, own_peak_rss())

    @contextlib.contextmanager
    def signals(self) -> Iterator[None]:
        """While active, SIGINT and SIGTERM ask the search to stop; a second one forces
        it (ForcedStop). The previous handlers come back afterwards."""

        def handle(signum: int, _frame: FrameType | None) -> None:
            if self.reason is not None:
                raise ForcedStop(signum)
            self.request_stop(INTERRUPTED, signum)

        previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _nothing() -> int:
    return 0


def never_stops() -> Guard:
    """A guard with no limit and no signal handlers: the search runs to its end."""
    return Guard()


def exit_status(signum: int) -> int:
    """The shell's status for a process ended by `signum`: 128 + its number."""
    return 128 + signum


def become_worker(parent: int) -> None:
    """Called first in a worker process forked by `parent`: signals are the parent's
    business (it kills its workers when it stops), and the worker dies with the parent,
    even a killed one."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        import ctypes  # noqa: PLC0415 (only workers need it)

        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)
