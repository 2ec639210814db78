"""Connections to adapters: raft_ref in-process, or any adapter program over a pipe.

A session sends one protocol request and returns the adapter's answer. Anything an
adapter does wrong — exits, stays silent past the per-command timeout, prints
something that is not a JSON object, or speaks another protocol version — becomes an
`AdapterFailure` naming what happened, so the runner can report it for the scenario
at hand and carry on with a fresh process.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import tempfile
from typing import IO, Any, Protocol

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


class AdapterFailure(Exception):
    """The adapter broke the protocol; `kind` is crashed, timeout, malformed or version."""

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


class SubprocessSession:
    """An adapter program speaking JSON lines on its stdin and stdout."""

    def __init__(self, command: list[str], timeout: float = 10.0, cwd: str | None = None) -> None:
        self.command = command
        self.timeout = timeout
        self.cwd = cwd
        self.name = " ".join(command)
        self._process: subprocess.Popen[bytes] | None = None
        self._buffer = bytearray()
        self._stderr: IO[bytes] | None = None

    def start(self) -> None:
        self.close()
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the process)
        try:
            self._process = subprocess.Popen(
                self.command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                bufsize=0,
                cwd=self.cwd,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        except OSError as exc:
            raise AdapterFailure("crashed", f"cannot start {self.name!r}: {exc}") from None
        self._buffer = bytearray()
        # Starting (loading a runtime, imports) may take longer than one command.
        command_timeout, self.timeout = self.timeout, max(self.timeout, _STARTUP_TIMEOUT)
        try:
            hello = self.request({"cmd": "hello", "version": PROTOCOL_VERSION})
        finally:
            self.timeout = command_timeout
        self.name = _check_hello(hello)

    def _stderr_tail(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        text = self._stderr.read().decode("utf-8", "replace").strip().splitlines()
        return f"; stderr: {text[-1][:200]}" if text else ""

    def _read_line(self, process: subprocess.Popen[bytes], what: str) -> bytes | None:
        """The next line of output, None at end of output; raises on timeout."""
        assert process.stdout is not None
        fd = process.stdout.fileno()
        while True:
            newline = self._buffer.find(b"\n")
            if newline >= 0:
                line = bytes(self._buffer[:newline])
                del self._buffer[: newline + 1]
                return line
            ready, _, _ = select.select([fd], [], [], self.timeout)
            if not ready:
                # A hung adapter gets no grace period.
                process.kill()
                self.close()
                raise AdapterFailure("timeout", f"no answer to {what!r} within {self.timeout:g} s")
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return None
            self._buffer += chunk

    def request(self, request: dict[str, Any]) -> Answer:
        process = self._process
        if process is None or process.stdin is None:
            raise AdapterFailure("crashed", "adapter not running")
        what = str(request.get("cmd"))
        try:
            data = (json.dumps(request, separators=(",", ":")) + "\n").encode()
            process.stdin.write(data)
        except OSError:
            raise AdapterFailure(
                "crashed", f"adapter exited (status {process.poll()}){self._stderr_tail()}"
            ) from None
        line = self._read_line(process, what)
        if line is None:
            status = process.wait()
            raise AdapterFailure(
                "crashed", f"adapter exited (status {status}) during {what!r}{self._stderr_tail()}"
            )
        try:
            answer = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise AdapterFailure("malformed", f"not JSON: {line.strip()[:120]!r}") from None
        if not isinstance(answer, dict) or not isinstance(answer.get("ok"), bool):
            raise AdapterFailure("malformed", f"not an answer object: {line.strip()[:120]!r}")
        return answer

    def close(self) -> None:
        process = self._process
        self._process = None
        if process is not None:
            if process.stdin is not None:
                with contextlib.suppress(OSError):
                    process.stdin.close()
            try:
                process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
