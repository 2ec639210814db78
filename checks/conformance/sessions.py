"""Connections to adapters: raft_ref in-process, or any adapter program over a pipe.

A session sends one protocol request and returns the adapter's answer. Anything an
adapter does wrong — exits or closes its output, does not finish its answer line
within the per-command deadline (however slowly it trickles), writes an answer line
or a stderr stream above the caps, prints something that is not a JSON object, or
speaks another protocol version — becomes an `AdapterFailure` naming what happened,
so the runner can report it for the scenario at hand and carry on with a fresh
process. An adapter runs in a process group of its own, and the whole group is
killed when it fails or the session ends (an adapter started through a shell script
leaves nothing behind).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import time
from typing import Any, NoReturn, Protocol

from checks.conformance.protocol import PROTOCOL_VERSION
from checks.conformance.raft_ref_host import RaftRefHost

__all__ = [
    "AdapterFailure",
    "InProcessSession",
    "Session",
    "SubprocessSession",
]

Answer = dict[str, Any]

_STARTUP_TIMEOUT = 30.0
# One answer line: a Ready of a long random scenario is well below 1 MiB.
MAX_ANSWER_BYTES = 64 << 20
# What an adapter may write on stderr while answering one command (logging included).
MAX_STDERR_BYTES = 4 << 20
# The end of stderr quoted in a failure.
_STDERR_TAIL_BYTES = 4096
# How long a closing adapter may take to exit before its group is killed.
_EXIT_GRACE = 2.0


class AdapterFailure(Exception):
    """The adapter broke the protocol; `kind` is crashed, timeout, oversized, malformed
    or version."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"adapter {kind}: {message}")
        self.kind = kind
        self.message = message


class Session(Protocol):
    name: str

    def start(self) -> None: ...

    def request(self, request: dict[str, Any]) -> Answer: ...

    def close(self) -> None: ...


def _check_hello(answer: Answer) -> str:
    if answer.get("ok") is not True:
        raise AdapterFailure("version", f"hello refused: {answer}")
    version = answer.get("version")
    if version != PROTOCOL_VERSION:
        raise AdapterFailure(
            "version", f"speaks protocol version {version!r}, the runner {PROTOCOL_VERSION}"
        )
    return str(answer.get("name", "?"))


class InProcessSession:
    """raft_ref called directly, without JSON or processes in between."""

    def __init__(self, host: RaftRefHost | None = None) -> None:
        self.host = host if host is not None else RaftRefHost()
        self.name = self.host.name

    def start(self) -> None:
        self.name = _check_hello(self.host.handle({"cmd": "hello", "version": PROTOCOL_VERSION}))

    def request(self, request: dict[str, Any]) -> Answer:
        return self.host.handle(request)

    def close(self) -> None:
        self.host = self.host.fresh()


def _size(n: int) -> str:
    return f"{n >> 20} MiB" if n >= 1 << 20 and n % (1 << 20) == 0 else f"{n:,} bytes"


class SubprocessSession:
    """An adapter program speaking JSON lines on its stdin and stdout."""

    def __init__(
        self,
        command: list[str],
        timeout: float = 10.0,
        cwd: str | None = None,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
        max_stderr_bytes: int = MAX_STDERR_BYTES,
    ) -> None:
        if not command:
            raise ValueError("the adapter command is empty")
        self.command = command
        self.timeout = timeout
        self.cwd = cwd
        self.max_answer_bytes = max_answer_bytes
        self.max_stderr_bytes = max_stderr_bytes
        self.name = " ".join(command)
        self._process: subprocess.Popen[bytes] | None = None
        self._buffer = bytearray()
        self._scanned = 0  # the buffer holds no newline before this offset
        self._stderr_tail = bytearray()
        self._stderr_bytes = 0  # written on stderr during the current command
        self._stderr_open = False

    def start(self) -> None:
        self.close()
        try:
            self._process = subprocess.Popen(
                self.command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                bufsize=0,
                cwd=self.cwd,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                start_new_session=True,
            )
        except OSError as exc:
            raise AdapterFailure("crashed", f"cannot start {self.name!r}: {exc}") from None
        for pipe in (self._process.stdin, self._process.stdout, self._process.stderr):
            assert pipe is not None
            os.set_blocking(pipe.fileno(), False)
        self._buffer = bytearray()
        self._scanned = 0
        self._stderr_tail = bytearray()
        self._stderr_open = True
        # Starting (loading a runtime, imports) may take longer than one command.
        command_timeout, self.timeout = self.timeout, max(self.timeout, _STARTUP_TIMEOUT)
        try:
            hello = self.request({"cmd": "hello", "version": PROTOCOL_VERSION})
        finally:
            self.timeout = command_timeout
        self.name = _check_hello(hello)

    def request(self, request: dict[str, Any]) -> Answer:
        if self._process is None:
            raise AdapterFailure("crashed", "adapter not running")
        what = str(request.get("cmd"))
        data = (json.dumps(request, separators=(",", ":")) + "\n").encode()
        line = self._exchange(self._process, data, what)
        try:
            answer = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise AdapterFailure("malformed", f"not JSON: {line.strip()[:120]!r}") from None
        if not isinstance(answer, dict) or not isinstance(answer.get("ok"), bool):
            raise AdapterFailure("malformed", f"not an answer object: {line.strip()[:120]!r}")
        return answer

    def _exchange(self, process: subprocess.Popen[bytes], data: bytes, what: str) -> bytes:
        """Writes `data` and reads one answer line, all within one deadline."""
        assert process.stdin is not None and process.stdout is not None
        assert process.stderr is not None
        stdin, stdout, stderr = process.stdin, process.stdout.fileno(), process.stderr.fileno()
        deadline = time.monotonic() + self.timeout
        unsent = memoryview(data)
        self._stderr_bytes = 0
        while True:
            if not unsent:
                line = self._take_line(what)
                if line is not None:
                    return line
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                # A hung (or trickling) adapter gets no grace period.
                self._fail("timeout", f"no answer to {what!r} within {self.timeout:g} s")
            writers = [stdin.fileno()] if unsent else []
            # A closed stderr stays readable (at its end): watch it only while open.
            readers = [stdout, stderr] if self._stderr_open else [stdout]
            readable, writable, _ = select.select(readers, writers, [], remaining)
            if writable:
                unsent = unsent[self._write(process, unsent, what) :]
            if stderr in readable:
                self._read_stderr(stderr, what)
            if stdout in readable:
                chunk = _read_chunk(stdout)
                if chunk == b"":
                    self._output_closed(process, what)
                self._buffer += chunk or b""

    def _write(self, process: subprocess.Popen[bytes], data: memoryview, what: str) -> int:
        assert process.stdin is not None
        try:
            return os.write(process.stdin.fileno(), data)
        except BlockingIOError:
            return 0
        except OSError:
            ended = self._ended(process, "input")
            self._fail("crashed", f"adapter {ended} before reading {what!r}{self._stderr_text()}")

    def _take_line(self, what: str) -> bytes | None:
        """The next complete line of output, or None; fails above the size cap."""
        newline = self._buffer.find(b"\n", self._scanned)
        if newline < 0:
            self._scanned = len(self._buffer)
            if self._scanned > self.max_answer_bytes:
                self._oversized_answer(what)
            return None
        if newline > self.max_answer_bytes:
            self._oversized_answer(what)
        line = bytes(self._buffer[:newline])
        del self._buffer[: newline + 1]
        self._scanned = 0
        return line

    def _oversized_answer(self, what: str) -> NoReturn:
        self._fail(
            "oversized",
            f"answer to {what!r} is longer than the cap of "
            f"{_size(self.max_answer_bytes)} on one answer line",
        )

    def _read_stderr(self, fd: int, what: str) -> None:
        chunk = _read_chunk(fd)
        if chunk == b"":
            self._stderr_open = False
        if not chunk:
            return
        self._stderr_bytes += len(chunk)
        self._stderr_tail = (self._stderr_tail + chunk)[-_STDERR_TAIL_BYTES:]
        if self._stderr_bytes > self.max_stderr_bytes:
            self._fail(
                "oversized",
                f"wrote more than the cap of {_size(self.max_stderr_bytes)} on stderr "
                f"while answering {what!r}",
            )

    def _output_closed(self, process: subprocess.Popen[bytes], what: str) -> NoReturn:
        ended = self._ended(process, "output")
        self._fail("crashed", f"adapter {ended} during {what!r}{self._stderr_text()}")

    @staticmethod
    def _ended(process: subprocess.Popen[bytes], pipe: str) -> str:
        """How an adapter that closed a pipe ended: it gets a moment to exit, else its
        group is killed."""
        try:
            return f"exited (status {process.wait(timeout=_EXIT_GRACE)})"
        except subprocess.TimeoutExpired:
            _kill_group(process)
            return f"closed its {pipe} but kept running (killed)"

    def _stderr_text(self) -> str:
        process = self._process
        if process is not None and process.stderr is not None:
            # What the adapter wrote last, up to the cap, once it has gone.
            while (chunk := _read_chunk(process.stderr.fileno())) and len(chunk) > 0:
                self._stderr_tail = (self._stderr_tail + chunk)[-_STDERR_TAIL_BYTES:]
                self._stderr_bytes += len(chunk)
                if self._stderr_bytes > self.max_stderr_bytes:
                    break
        text = self._stderr_tail.decode("utf-8", "replace").strip().splitlines()
        return f"; stderr: {text[-1][:200]}" if text else ""

    def _fail(self, kind: str, message: str) -> NoReturn:
        process = self._process
        if process is not None:
            _kill_group(process)
        self.close()
        raise AdapterFailure(kind, message)

    def close(self) -> None:
        process = self._process
        self._process = None
        if process is None:
            return
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=_EXIT_GRACE)
        # Whatever the adapter started goes too, whether or not it has exited itself.
        _kill_group(process)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=_EXIT_GRACE)
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()


def _read_chunk(fd: int) -> bytes | None:
    """Up to 64 KiB from a non-blocking pipe; b"" at its end, None when nothing is there."""
    try:
        return os.read(fd, 1 << 16)
    except BlockingIOError:
        return None
    except OSError:
        return b""


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    # The adapter leads its own process group (start_new_session), whose id is its pid.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
