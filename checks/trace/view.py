"""What every rendering of a trace shows, computed once: each step's server table with
the cells that changed, the messages in flight, and the life of each message (sent at
one step; delivered, dropped, duplicated or discarded at a later one, or still in
flight at the end).

Works on any trace whose states have `servers` (a map or record from server id to a
record) and `network` (a map from message record to copies, or a list of messages);
messages are records with `type`, `from`, `to` and `term` for the chart's arrows.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field

from checks.trace.document import Trace
from checks.trace.encoding import ABSENT
from checks.trace.itf import ItfMap, ItfSet, Value, canonical_text, display

# The server fields a message-sequence chart annotates where they change.
ANNOTATED = ("term", "role", "commit")
CONFIG_FIELDS = ("voters", "learners", "next_voters", "next_learners")
NETWORK_KINDS = {"Drop": "dropped", "Duplicate": "duplicated"}


@dataclass
class MessageLife:
    """One copy of a message: where it was sent and what became of it."""

    label: str
    sender: str
    receiver: str
    sent_step: int
    fate: str = "in flight"  # delivered | dropped | discarded | in flight
    end_step: int | None = None
    duplicate: bool = False  # a copy the network made (Duplicate)


@dataclass
class StepView:
    index: int
    action: str
    kind: str
    servers: dict[str, dict[str, str]]  # server id -> field -> shown value
    changed: dict[str, list[str]]  # server id -> fields that changed at this step
    annotations: dict[str, str]  # server id -> term/role/commit/config where they changed
    messages: list[str]  # in flight after this step, "label" or "label (x2)"
    others: dict[str, str]  # further state variables (e.g. the model's budget)


@dataclass
class TraceView:
    steps: list[StepView]
    server_ids: list[str]
    columns: list[str]  # server fields shown, in order
    messages: list[MessageLife] = field(default_factory=list)
    duplications: list[tuple[int, str]] = field(default_factory=list)  # (step, label)


def build_view(trace: Trace) -> TraceView:
    servers = [_servers(_server_variable(step.state)) for step in trace.steps]
    server_ids = sorted({i for s in servers for i in s}, key=_id_order)
    columns = _columns(servers)
    steps: list[StepView] = []
    for index, step in enumerate(trace.steps):
        shown = {
            i: {c: _show(c, record.get(c)) for c in columns if c in record}
            for i, record in servers[index].items()
        }
        previous = steps[-1].servers if steps else {}
        changed = {
            i: [c for c in cells if index > 0 and previous.get(i, {}).get(c) != cells[c]]
            for i, cells in shown.items()
        }
        annotations = {
            i: _annotation(servers[index][i], servers[index - 1].get(i) if index else None)
            for i in servers[index]
        }
        bag = _bag(step.state.get("network"))
        messages = [label + (f" (x{n})" if n > 1 else "") for label, n in _labelled(bag)]
        others = {
            name: _shorten(display(value))
            for name, value in step.state.items()
            if name not in (*SERVER_VARIABLES, "network") and value != ABSENT
        }
        steps.append(
            StepView(
                index, step.action, step.kind, shown, changed,
                {i: a for i, a in annotations.items() if a}, messages, others,
            )
        )  # fmt: skip
    view = TraceView(steps, server_ids, columns)
    _follow_messages(trace, view)
    return view


SERVER_VARIABLES = ("servers", "nodes")
OTHERS_LIMIT = 300  # characters of a further variable's value shown


def _server_variable(state: dict[str, Value]) -> Value | None:
    for name in SERVER_VARIABLES:
        if name in state:
            return state[name]
    return None


def _shorten(text: str) -> str:
    return text if len(text) <= OTHERS_LIMIT else text[: OTHERS_LIMIT - 3] + "..."


def _id_order(server_id: str) -> tuple[int, str]:
    return (int(server_id), "") if server_id.isdigit() else (1 << 30, server_id)


def _servers(value: Value | None) -> dict[str, dict[str, Value]]:
    pairs: list[tuple[Value, Value]] = []
    if isinstance(value, ItfMap):
        pairs = list(value.pairs)
    elif isinstance(value, dict):
        pairs = list(value.items())
    return {display(k): v for k, v in pairs if isinstance(v, dict)}


def _columns(servers: list[dict[str, dict[str, Value]]]) -> list[str]:
    """Every server field, in first-seen order, except those empty everywhere."""
    order: dict[str, None] = {}
    used: set[str] = set()
    for records in servers:
        for record in records.values():
            for name, value in record.items():
                order.setdefault(name)
                if not _empty(value):
                    used.add(name)
    return [name for name in order if name in used]


def _empty(value: Value) -> bool:
    if isinstance(value, ItfSet):
        return not value.items
    if isinstance(value, ItfMap):
        return not value.pairs
    return isinstance(value, list | tuple | dict) and not value


def _show(column: str, value: Value | None) -> str:
    if value is None:
        return ""
    if column == "log" and isinstance(value, list):
        return " ".join(entry_label(e) for e in value)
    return display(value)


def entry_label(entry: Value) -> str:
    """`2:Data`, or `3:Begin{1,2}` for a configuration entry with its target voters."""
    if isinstance(entry, dict) and "term" in entry and "kind" in entry:
        text = f"{display(entry['term'])}:{display(entry['kind'])}"
        voters = entry.get("voters")
        if voters is not None and not _empty(voters):
            text += display(voters).replace(" ", "")
            learners = entry.get("learners")
            if learners is not None and not _empty(learners):
                text += "+L" + display(learners).replace(" ", "")
        return text
    return display(entry)


def config_label(record: dict[str, Value]) -> str:
    """`{1,2,3}`, with learners `+L{4}`, and while joint `{1,2,3} -> {1,2}`."""

    def part(voters: str, learners: str) -> str:
        text = display(record.get(voters, ItfSet(()))).replace(" ", "")
        extra = record.get(learners)
        if extra is not None and not _empty(extra):
            text += "+L" + display(extra).replace(" ", "")
        return text

    text = part("voters", "learners")
    if not _empty(record.get("next_voters", ItfSet(()))):
        text += " -> " + part("next_voters", "next_learners")
    return text


def _annotation(record: dict[str, Value], before: dict[str, Value] | None) -> str:
    parts = []
    for name in ANNOTATED:
        if name in record and (before is None or before.get(name) != record[name]):
            value = display(record[name])
            parts.append(value if name == "role" else f"{name} {value}")
    if any(name in record for name in CONFIG_FIELDS):
        config = config_label(record)
        if before is None or config_label(before) != config:
            parts.append(f"config {config}")
    return ", ".join(parts)


def _bag(value: Value | None) -> list[tuple[Value, int]]:
    """The network as (message, copies) pairs."""
    if isinstance(value, ItfMap):
        return [(m, n if isinstance(n, int) else 1) for m, n in value.pairs]
    if isinstance(value, list | ItfSet):
        items = value.items if isinstance(value, ItfSet) else value
        out = []
        for item in items:
            if isinstance(item, dict) and "message" in item:
                copies = item.get("copies", 1)
                out.append((item["message"], copies if isinstance(copies, int) else 1))
            else:
                out.append((item, 1))
        return out
    return []


def _labelled(bag: list[tuple[Value, int]]) -> list[tuple[str, int]]:
    return [(message_label(m), n) for m, n in bag]


def message_label(message: Value) -> str:
    """`AppendEntries 1->2 t2 index 1 log_term 1 [2:Empty] commit 1`: type, sender,
    receiver and term first, then the fields that are set."""
    if not isinstance(message, dict):
        return display(message)
    head = " ".join(
        part
        for part in (
            display(message.get("type", "")),
            _route(message),
            f"t{display(message['term'])}" if "term" in message else "",
        )
        if part
    )
    details = []
    for name, value in message.items():
        if name in ("type", "from", "to", "term") or _empty(value):
            continue
        if value is False or (
            isinstance(value, int) and not isinstance(value, bool) and value == 0
        ):
            continue
        if value is True:
            details.append(name)
        elif name == "entries" and isinstance(value, list):
            details.append("[" + " ".join(entry_label(e) for e in value) + "]")
        else:
            details.append(f"{name} {display(value)}")
    return " ".join([head, *details])


def _route(message: dict[str, Value]) -> str:
    if "from" in message and "to" in message:
        return f"{display(message['from'])}->{display(message['to'])}"
    return ""


def _follow_messages(trace: Trace, view: TraceView) -> None:
    """Pairs each copy's sending with its delivery, drop or discard by comparing the
    network before and after every step."""
    copies: dict[str, deque[MessageLife]] = {}
    before: dict[str, int] = {}
    for index, step in enumerate(trace.steps):
        bag = _bag(step.state.get("network"))
        after = {canonical_text(m): n for m, n in bag}
        records = {canonical_text(m): m for m, _ in bag}
        expected = dict(before)
        subject = step.params.get("message")
        # A copy gone without being the step's message: stale, forgotten by the network.
        # Targets that do not name the message of a step: it went the way the step says.
        unexplained = "discarded" if subject is not None else _fate_of_kind(step.kind)
        if index > 0 and subject is not None:
            key = canonical_text(subject)
            fate = NETWORK_KINDS.get(step.kind, "delivered")
            queue = copies.get(key)
            if fate == "duplicated":
                if queue:
                    first = queue[0]
                    copy = MessageLife(first.label, first.sender, first.receiver, first.sent_step)
                    copy.duplicate = True
                    queue.append(copy)
                    view.messages.append(copy)
                view.duplications.append((index, message_label(subject)))
                expected[key] = expected.get(key, 0) + 1
            elif queue:
                life = queue.popleft()
                life.fate, life.end_step = fate, index
                expected[key] = expected.get(key, 0) - 1
        for key in sorted(set(expected) | set(after)):
            delta = after.get(key, 0) - expected.get(key, 0)
            queue = copies.setdefault(key, deque())
            for _ in range(max(delta, 0)):
                record = records[key]
                life = _new_life(record, index)
                queue.append(life)
                view.messages.append(life)
            for _ in range(max(-delta, 0)):
                if queue:
                    life = queue.pop()
                    life.fate, life.end_step = unexplained, index
        before = after


# "RequestVote 1->3 term 2 ...": the route of a message a target describes as text.
_ROUTE = re.compile(r"\b(\w+)->(\w+)\b")


def _fate_of_kind(kind: str) -> str:
    return "dropped" if "drop" in kind.lower() else "delivered"


def _new_life(record: Value, index: int) -> MessageLife:
    sender = receiver = ""
    if isinstance(record, dict):
        sender = display(record["from"]) if "from" in record else ""
        receiver = display(record["to"]) if "to" in record else ""
    elif isinstance(record, str) and (route := _ROUTE.search(record)):
        sender, receiver = route.group(1), route.group(2)
    return MessageLife(message_label(record), sender, receiver, index)
