"""The Informal Trace Format (ITF, Apalache ADR-015): values, their JSON encoding, and a
strict check of a document against the format's rules.

Python side of ITF values:
    bool, str, int        booleans, strings, integers (written as {"#bigint": "..."})
    list                  a list (JSON array)
    dict with str keys    a record (JSON object; field names must not start with "#")
    tuple                 a tuple {"#tup": [...]}
    ItfSet                a set {"#set": [...]}
    ItfMap                a map {"#map": [[key, value], ...]}
    Unserializable        {"#unserializable": "..."}, a value a tool could not write

Sets and maps are written with their elements in a canonical order (sorted by their JSON
text), so equal values always give equal files.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

ADR_URL = "https://apalache-mc.org/docs/adr/015adr-trace.html"

# Integers JSON parsers read exactly (RFC 7159): ADR-015 allows them as plain numbers.
SAFE_INTEGER = 2**53 - 1
_BIGINT = re.compile(r"-?[0-9]+\Z")
_SPECIAL_KEYS = ("#bigint", "#tup", "#set", "#map", "#unserializable")


@dataclass(frozen=True)
class ItfSet:
    items: tuple[Value, ...]

    @classmethod
    def of(cls, items: Iterable[Value]) -> ItfSet:
        return cls(tuple(sorted(items, key=canonical_text)))


@dataclass(frozen=True)
class ItfMap:
    pairs: tuple[tuple[Value, Value], ...]

    @classmethod
    def of(cls, pairs: Iterable[tuple[Value, Value]]) -> ItfMap:
        return cls(tuple(sorted(pairs, key=lambda kv: canonical_text(kv[0]))))

    def get(self, key: Value, default: Value | None = None) -> Value | None:
        for k, v in self.pairs:
            if k == key:
                return v
        return default


@dataclass(frozen=True)
class Unserializable:
    text: str


Value: TypeAlias = (
    bool
    | int
    | str
    | list["Value"]
    | dict[str, "Value"]
    | tuple["Value", ...]
    | ItfSet
    | ItfMap
    | Unserializable
)


class ItfError(ValueError):
    """A document breaks a rule of the format; the message names where."""


# --- values <-> JSON ------------------------------------------------------------------


def encode(value: Value) -> Any:
    """The ITF JSON form of a Python value (see the module docstring)."""
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return {"#bigint": str(value)}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, tuple):
        return {"#tup": [encode(v) for v in value]}
    if isinstance(value, ItfSet):
        return {"#set": [encode(v) for v in value.items]}
    if isinstance(value, ItfMap):
        return {"#map": [[encode(k), encode(v)] for k, v in value.pairs]}
    if isinstance(value, Unserializable):
        return {"#unserializable": value.text}
    if isinstance(value, dict):
        for name in value:
            if not isinstance(name, str) or name.startswith("#"):
                raise ItfError(f"record field {name!r}: must be a string not starting with '#'")
        return {name: encode(v) for name, v in value.items()}
    raise ItfError(f"no ITF form for a Python {type(value).__name__}")


def decode(data: Any, where: str = "value") -> Value:
    """The Python value of ITF JSON `data`; raises ItfError naming `where` it is wrong."""
    if isinstance(data, bool | str):
        return data
    if isinstance(data, int):
        if abs(data) > SAFE_INTEGER:
            raise ItfError(f"{where}: integer {data} out of the JSON-safe range; use #bigint")
        return data
    if isinstance(data, float):
        raise ItfError(f"{where}: {data} is not an integer (ITF has no fractions)")
    if data is None:
        raise ItfError(f"{where}: null is not an ITF value")
    if isinstance(data, list):
        return [decode(v, f"{where}[{k}]") for k, v in enumerate(data)]
    if isinstance(data, dict):
        special = [key for key in data if key.startswith("#")]
        if not special:
            return {name: decode(v, f"{where}.{name}") for name, v in data.items()}
        if len(data) != 1 or special[0] not in _SPECIAL_KEYS:
            raise ItfError(
                f"{where}: an object with a '#' field must be exactly one of "
                f"{', '.join(_SPECIAL_KEYS)} (got {', '.join(sorted(data))})"
            )
        return _decode_special(special[0], data[special[0]], where)
    raise ItfError(f"{where}: not a JSON value")


def _decode_special(key: str, body: Any, where: str) -> Value:
    if key == "#bigint":
        if not isinstance(body, str) or not _BIGINT.match(body):
            raise ItfError(f"{where}: #bigint needs a string of digits, got {body!r}")
        return int(body)
    if key == "#unserializable":
        if not isinstance(body, str):
            raise ItfError(f"{where}: #unserializable needs a string")
        return Unserializable(body)
    if not isinstance(body, list):
        raise ItfError(f"{where}: {key} needs an array")
    if key == "#tup":
        return tuple(decode(v, f"{where}#tup[{k}]") for k, v in enumerate(body))
    if key == "#set":
        return ItfSet(tuple(decode(v, f"{where}#set[{k}]") for k, v in enumerate(body)))
    pairs: list[tuple[Value, Value]] = []
    for k, pair in enumerate(body):
        if not isinstance(pair, list) or len(pair) != 2:
            raise ItfError(f"{where}#map[{k}]: each entry must be a [key, value] array")
        pairs.append(
            (decode(pair[0], f"{where}#map[{k}][0]"), decode(pair[1], f"{where}#map[{k}][1]"))
        )
    return ItfMap(tuple(pairs))


def canonical_text(value: Value) -> str:
    """A text equal for equal values: the sort key of set elements and map keys."""
    return json.dumps(encode(value), sort_keys=True, separators=(",", ":"))


def plain(value: Value) -> Any:
    """A JSON-ready view for display (sets and tuples as arrays, maps as objects with
    string keys), losing the ITF kind: for viewers, never for files read back."""
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, ItfSet):
        return [plain(v) for v in value.items]
    if isinstance(value, ItfMap):
        return {display(k): plain(v) for k, v in value.pairs}
    if isinstance(value, dict):
        return {name: plain(v) for name, v in value.items()}
    if isinstance(value, Unserializable):
        return value.text
    return value


def display(value: Value) -> str:
    """A short human form: 3, "a", {1, 2}, [x, y], (a, b), {1 -> a}, {f: v}."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | str):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(display(v) for v in value) + "]"
    if isinstance(value, tuple):
        return "(" + ", ".join(display(v) for v in value) + ")"
    if isinstance(value, ItfSet):
        return "{" + ", ".join(display(v) for v in value.items) + "}"
    if isinstance(value, ItfMap):
        return "{" + ", ".join(f"{display(k)} -> {display(v)}" for k, v in value.pairs) + "}"
    if isinstance(value, Unserializable):
        return f"<{value.text}>"
    return "{" + ", ".join(f"{name}: {display(v)}" for name, v in value.items()) + "}"


# --- documents ------------------------------------------------------------------------

_TRACE_FIELDS = ("#meta", "params", "vars", "states", "loop")


def validate(document: Any) -> None:
    """Checks `document` (parsed JSON) against ADR-015; raises ItfError on the first
    broken rule:
    - a trace is an object with `vars` (array of strings) and `states` (array), and
      optionally `#meta` (object), `params` (array of strings) and `loop` (an index
      into `states`); no other fields;
    - a state is an object with an optional `#meta` object and a value for every name
      in `vars`, and no other fields; the first state also sets every name in `params`;
    - every value is an ITF expression (see `decode`)."""
    if not isinstance(document, dict):
        raise ItfError("an ITF trace is a JSON object")
    unknown = sorted(set(document) - set(_TRACE_FIELDS))
    if unknown:
        raise ItfError(f"unknown trace field(s) {', '.join(unknown)} (ITF has {_TRACE_FIELDS})")
    if "#meta" in document and not isinstance(document["#meta"], dict):
        raise ItfError("#meta must be an object")
    names = _names(document, "vars", required=True)
    params = _names(document, "params", required=False)
    states = document.get("states")
    if not isinstance(states, list):
        raise ItfError("missing 'states' array")
    if "loop" in document:
        loop = document["loop"]
        if isinstance(loop, bool) or not isinstance(loop, int):
            raise ItfError("loop must be an integer index into 'states'")
        if not 0 <= loop < len(states):
            raise ItfError(f"loop {loop} is not an index of the {len(states)} states")
    for index, state in enumerate(states):
        if not isinstance(state, dict):
            raise ItfError(f"state {index} is not an object")
        if "#meta" in state and not isinstance(state["#meta"], dict):
            raise ItfError(f"state {index}: #meta must be an object")
        required = names + params if index == 0 else names
        missing = [name for name in required if name not in state]
        if missing:
            raise ItfError(f"state {index} has no value for {', '.join(missing)}")
        allowed = {"#meta", *names, *params}
        extra = sorted(set(state) - allowed)
        if extra:
            raise ItfError(f"state {index} has field(s) {', '.join(extra)} not in vars/params")
        for name in state:
            if name != "#meta":
                decode(state[name], f"state {index}.{name}")


def _names(document: Mapping[str, Any], field: str, required: bool) -> list[str]:
    if field not in document:
        if required:
            raise ItfError(f"missing '{field}' array")
        return []
    names = document[field]
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ItfError(f"'{field}' must be an array of strings")
    return names
