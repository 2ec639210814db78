"""Readable renderings of protocol answers and a side-by-side diff of two of them."""

from __future__ import annotations

import difflib
import json
from typing import Any

from checks.conformance.protocol import (
    ProtocolError,
    canonical_ready,
    decode_entry_b64,
    decode_message_b64,
    decode_snapshot_b64,
)
from raft_ref.eraftpb import Entry, Message

__all__ = ["describe_answer", "side_by_side"]


def _entry(e: Entry) -> str:
    kind = "conf" if e.entry_type.value == 1 else "normal"
    data = e.data if len(e.data) <= 12 else e.data[:12] + b"..."
    return f"{e.index}/{e.term} {kind} {data!r}"


def _message(m: Message) -> str:
    parts = [f"{m.msg_type.name} {m.from_}->{m.to} term={m.term}"]
    for name in ("log_term", "index", "commit", "reject_hint", "request_snapshot"):
        value = getattr(m, name)
        if value:
            parts.append(f"{name}={value}")
    if m.reject:
        parts.append("reject")
    if m.context:
        parts.append(f"context={m.context!r}")
    if m.entries:
        parts.append("entries=[" + ", ".join(_entry(e) for e in m.entries) + "]")
    if m.snapshot is not None:
        meta = m.snapshot.metadata
        parts.append(f"snapshot={meta.index}/{meta.term} conf={meta.conf_state.nodes}")
    return " ".join(parts)


def _decoded(decode: Any, render: Any, value: object) -> str:
    try:
        return str(render(decode(value)))
    except ProtocolError as exc:
        return f"<undecodable: {exc}>"


def describe_answer(answer: dict[str, Any]) -> list[str]:
    """One line per fact of an answer; a Ready's messages and entries decoded."""
    lines: list[str] = []
    for key, value in sorted(answer.items()):
        if key == "ready" and isinstance(value, dict):
            ready = canonical_ready(value)
            for field in ("ss", "hs", "must_sync", "read_states"):
                lines.append(f"ready.{field}: {json.dumps(ready.get(field), sort_keys=True)}")
            snap = ready.get("snapshot")
            if snap is not None:
                meta = _decoded(decode_snapshot_b64, lambda s: s.metadata, snap)
                lines.append(f"ready.snapshot: {meta}")
            for field in ("entries", "committed_entries"):
                for e in ready.get(field, []):
                    lines.append(f"ready.{field}: {_decoded(decode_entry_b64, _entry, e)}")
            for m in ready.get("messages", []):
                lines.append(f"ready.message: {_decoded(decode_message_b64, _message, m)}")
        elif key == "state" and isinstance(value, dict):
            for field, v in sorted(value.items()):
                lines.append(f"state.{field}: {json.dumps(v)}")
        else:
            lines.append(f"{key}: {json.dumps(value, sort_keys=True)}")
    return lines


def side_by_side(
    left: list[str], right: list[str], titles: tuple[str, str], width: int = 64
) -> str:
    """Two columns; `|` marks lines that differ, `<` and `>` lines on one side only."""
    out = [f"{titles[0][:width]:<{width}}   {titles[1][:width]}", "-" * (2 * width + 3)]
    matcher = difflib.SequenceMatcher(a=left, b=right, autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            for line in left[a0:a1]:
                out.append(f"{line[:width]:<{width}}   {line[:width]}")
            continue
        for i in range(max(a1 - a0, b1 - b0)):
            a = left[a0 + i] if a0 + i < a1 else ""
            b = right[b0 + i] if b0 + i < b1 else ""
            mark = "|" if a and b else ("<" if a else ">")
            out.append(f"{a[:width]:<{width}} {mark} {b[:width]}")
    return "\n".join(out)
