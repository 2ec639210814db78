"""What every command does at its edges, so that no result is lost there.

- Usage mistakes: `OneLineParser` raises `UsageError` instead of printing a usage block
  and exiting; the command prints it with `print_error` (one line, `PROG: error: ...`)
  and exits with status 2.
- Result files: `probe_writable` refuses an unwritable path before a run starts;
  `write_result` turns a failed write after the run into `OutputError`, one line that
  names the path (the summary has been printed by then).
- A closed stdout (`| head -1`): `emit` stops printing and the run goes on, so the
  verdict (exit status) and the files asked for are the same as with a reader.
- SIGINT and SIGTERM: inside `interruptible()` both raise `Interrupted`, which carries
  the conventional exit status (130, 143), so `finally` blocks run (adapters and worker
  processes are stopped) and the command can print what it has so far.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import NoReturn

__all__ = [
    "Interrupted",
    "OneLineParser",
    "OutputError",
    "UsageError",
    "emit",
    "interruptible",
    "print_error",
    "probe_writable",
    "probe_writable_dir",
    "write_result",
]


class UsageError(Exception):
    """A user's mistake on the command line: reported in one line, exit status 2."""


class OneLineParser(argparse.ArgumentParser):
    """argparse with its errors raised as UsageError: no usage block, no exit of its own."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def print_error(prog: str, error: object) -> None:
    """The one line on stderr that reports a mistake or a failure of command `prog`."""
    print(f"{prog}: error: {error}", file=sys.stderr)


class OutputError(Exception):
    """A result file or directory could not be written; the message names the path."""


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived; a BaseException so that no `except Exception` eats it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_status(self) -> int:
        return 128 + self.signum


def _describe(error: OSError) -> str:
    return error.strerror or str(error)


def probe_writable(path: Path, flag: str) -> None:
    """Raises OutputError unless a file can be written at `path` (tried, then removed
    if it did not exist before): access bits lie to root and about /proc."""
    if path.is_dir():
        raise OutputError(f"{flag}: {str(path)!r} is a directory")
    existed = path.exists()
    try:
        with path.open("a", encoding="utf-8"):
            pass
    except OSError as error:
        raise OutputError(f"{flag}: cannot write {str(path)!r}: {_describe(error)}") from None
    if not existed:
        with contextlib.suppress(OSError):
            path.unlink()


def probe_writable_dir(path: Path, flag: str) -> None:
    """Raises OutputError unless `path` is, or can be made, a directory to write in."""
    if path.exists() and not path.is_dir():
        raise OutputError(f"{flag}: {str(path)!r} is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"{flag}: cannot create {str(path)!r}: {_describe(error)}") from None


def write_result(path: Path, text: str) -> None:
    """Writes a result file; OutputError naming the path when that fails."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise OutputError(f"cannot write {str(path)!r}: {_describe(error)}") from None


def emit(text: str = "") -> None:
    """Prints a line on stdout; once the reader has gone, prints nothing more."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        _silence_stdout()


def _silence_stdout() -> None:
    # Point fd 1 at /dev/null, so that the flush at exit does not fail a second time
    # (Python would then exit with status 120).
    devnull = os.open(os.devnull, os.O_WRONLY)
    with contextlib.suppress(OSError):
        os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _raise_interrupted(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signum)


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """SIGINT and SIGTERM raise Interrupted while inside; the handlers are restored after."""
    previous = {
        signum: signal.signal(signum, _raise_interrupted)
        for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
