"""The protocol model (`model/`) as an exploration target."""

from __future__ import annotations

from collections.abc import Container, Sequence
from functools import partial
from typing import Any

from checks.broken import of_target
from checks.engine.target import BaseTarget, Expectation, Property
from model.actions import Action, action_kind, successors
from model.independence import Footprint, SleepFilter, reduced_successors, still_asleep
from model.invariants import GOALS, INVARIANTS, STEP_INVARIANTS
from model.params import BOUND_NAMES as PARAM_BOUNDS
from model.params import Params, for_cluster
from model.state import (
    Config,
    Kind,
    Msg,
    MsgType,
    Role,
    Server,
    State,
    bag_size,
    ids,
    initial_state,
)
from model.symmetry import symmetric_hash
from model.variants import VARIANT_BOUNDS, with_variant
from model.variants import VARIANTS as VARIANT_RULES

BOUND_NAMES = frozenset(PARAM_BOUNDS)
DEFAULT_BOUNDS: dict[str, Any] = {name: getattr(Params(), name) for name in sorted(BOUND_NAMES)}


def bounds_of(params: Params) -> dict[str, Any]:
    """The bounds and options of a run, as printed at its start and written to reports."""
    out = {name: getattr(params, name) for name in sorted(BOUND_NAMES)}
    if params.check_quorum:
        out["check_quorum"] = True
    return out


# Broken variants: name -> what it breaks (for --help and reports), from the table.
VARIANTS: dict[str, str] = {name: b.breaks for name, b in of_target("model").items()}
assert set(VARIANTS) == set(VARIANT_RULES)

_MASK64 = (1 << 64) - 1


class ModelTarget(BaseTarget[State, Action]):
    """The model with its parameters, bounds and (optionally) a broken variant."""

    def __init__(
        self,
        nodes: int = 3,
        pre_vote: bool = False,
        variant: str | None = None,
        check_quorum: bool = False,
        **bounds: Any,
    ) -> None:
        unknown = set(bounds) - BOUND_NAMES
        if unknown:
            raise ValueError(f"unknown model bounds: {', '.join(sorted(unknown))}")
        if variant is not None and variant not in VARIANT_RULES:
            raise ValueError(f"unknown variant {variant!r}; known: {', '.join(sorted(VARIANTS))}")
        # A variant's own bounds (model.variants.VARIANT_BOUNDS) replace the defaults;
        # bounds given here replace both.
        chosen = {**VARIANT_BOUNDS.get(variant or "", {}), **bounds}
        params = for_cluster(nodes, pre_vote=pre_vote, check_quorum=check_quorum, **chosen)
        self.params = with_variant(params, variant)
        self.variant = variant
        self.name = "model" if variant is None else f"model[{variant}]"
        self.bounds = bounds_of(self.params)
        # Every rule and property treats server ids alike (see model/symmetry.py).
        self.symmetry_sound = True
        self._properties = self._build_properties()

    def _build_properties(self) -> list[Property[State, Action]]:
        p = self.params
        props: list[Property[State, Action]] = []
        for name, check in INVARIANTS.items():
            props.append(Property(name, Expectation.ALWAYS, partial(check, p), _doc(check)))
        for name, step in STEP_INVARIANTS.items():
            props.append(Property(name, Expectation.ALWAYS_STEP, partial(step, p), _doc(step)))
        for name, goal in GOALS.items():
            props.append(Property(name, Expectation.SOMETIMES, partial(goal, p), _doc(goal)))
        return props

    def initial_states(self) -> Sequence[State]:
        return [initial_state(self.params.nodes, self.params.spares)]

    def successors(self, state: State) -> list[tuple[Action, State]]:
        return successors(self.params, state)

    def reduced_successors(
        self, state: State, asleep: Container[Action]
    ) -> list[tuple[Action, list[State], Footprint | None]]:
        return reduced_successors(self.params, state, asleep)

    def sleep_filter(self, state: State) -> SleepFilter:
        return partial(still_asleep, self.params, bag_size(state.network))

    def symmetric_fingerprint(self, state: State) -> int:
        return symmetric_hash(state) & _MASK64

    def properties(self) -> Sequence[Property[State, Action]]:
        return self._properties

    def action_kind(self, action: Action) -> str:
        return action_kind(action)

    def format_action(self, action: Action) -> str:
        return format_action(action)

    def describe_state(self, state: State) -> dict[str, Any]:
        return describe_state(state)


def build_model_target(
    nodes: int = 3,
    pre_vote: bool = False,
    variant: str | None = None,
    check_quorum: bool = False,
    **bounds: Any,
) -> ModelTarget:
    """What `python -m checks.explore --target model` builds."""
    return ModelTarget(
        nodes=nodes, pre_vote=pre_vote, variant=variant, check_quorum=check_quorum, **bounds
    )


def _doc(check: Any) -> str:
    return (check.__doc__ or "").strip().split("\n\n")[0].replace("\n    ", " ")


# --- human-readable forms ---------------------------------------------------------------


def format_action(action: Action) -> str:
    name, args = action.name, action.args
    if args and isinstance(args[0], Msg):
        return f"{name}({format_msg(args[0])})"
    if name == "ProposeMembershipChange":
        i, voters, learners = args
        if not voters:
            return f"{name}({i}, refused: change pending)"
        return f"{name}({i}, voters={ids(voters)}, learners={ids(learners)})"
    return f"{name}({', '.join(str(a) for a in args)})"


def format_msg(m: Msg) -> str:
    kind = MsgType.NAMES[m.type]
    text = f"{kind} {m.src}->{m.dst} term {m.term}"
    if m.type in (MsgType.VOTE, MsgType.PRE_VOTE):
        return f"{text} last ({m.idx}, term {m.log_term}){' transfer' if m.context else ''}"
    if m.type == MsgType.APPEND:
        entries = ", ".join(_format_entry(e) for e in m.entries)
        return f"{text} prev ({m.idx}, term {m.log_term}) [{entries}] commit {m.commit}"
    if m.type == MsgType.APPEND_RESP:
        asks = f" asks snapshot {m.context}" if m.context else ""
        if m.reject:
            return f"{text} reject {m.idx} hint {m.hint}{asks}"
        return f"{text} index {m.idx}"
    if m.type == MsgType.SNAPSHOT:
        return f"{text} at ({m.idx}, term {m.log_term}) {_format_config(m.config)}"
    read = f" read {m.context}" if m.context else ""
    if m.type == MsgType.HEARTBEAT:
        return f"{text} commit {m.commit}{read}"
    if m.type == MsgType.HEARTBEAT_RESP:
        return f"{text}{read}"
    if m.type == MsgType.READ_INDEX:
        return f"{kind} {m.src}->{m.dst} read {m.context}"
    if m.type == MsgType.READ_INDEX_RESP:
        return f"{text} read {m.context} index {m.idx}"
    return f"{text}{' reject' if m.reject else ''}"


def _format_config(c: Config) -> str:
    text = f"voters={ids(c.voters)}, learners={ids(c.learners)}"
    if c.joint:
        text += f", next voters={ids(c.next_voters)}, next learners={ids(c.next_learners)}"
    return text


def _format_entry(e: Any) -> str:
    if e.kind == Kind.BEGIN:
        return f"{e.term}:Begin(voters={ids(e.voters)}, learners={ids(e.learners)})"
    return f"{e.term}:{Kind.NAMES[e.kind]}"


def describe_state(state: State) -> dict[str, Any]:
    return {
        "servers": {str(i): _describe_server(i, s) for i, s in enumerate(state.servers, start=1)},
        "network": [{"message": format_msg(m), "copies": n} for m, n in state.network],
        "budget": state.budget._asdict(),
    }


def _describe_server(i: int, s: Server) -> dict[str, Any]:
    c = s.config
    out: dict[str, Any] = {
        "role": Role.NAMES[s.role],
        "term": s.term,
        "vote": s.vote,
        "leader": s.leader,
        "log": [_format_entry(e) for e in s.log],
        "commit": s.commit,
        "applied": s.applied,
        "voters": ids(c.voters),
        "learners": ids(c.learners),
    }
    if c.joint:
        out["next_voters"] = ids(c.next_voters)
        out["next_learners"] = ids(c.next_learners)
    if s.role in (Role.CANDIDATE, Role.PRE_CANDIDATE):
        out["granted"] = ids(s.granted)
        out["rejected"] = ids(s.rejected)
    if s.role == Role.LEADER:
        members = ids(c.members())
        out["match"] = {str(j): s.match[j - 1] for j in members}
        out["next"] = {str(j): s.next[j - 1] for j in members}
        out["replicate"] = ids(s.replicate)
        out["paused"] = ids(s.paused)
        out["pending_conf_index"] = s.pending_conf
        if s.transferee:
            out["transferee"] = s.transferee
        if s.reads:
            out["pending_reads"] = [
                {"read": r, "index": i, "acks": ids(a), "from": o} for r, i, a, _, o in s.reads
            ]
    if s.served:
        out["reads_served"] = [{"read": r, "index": i, "required": q} for r, i, q in s.served]
    return out
