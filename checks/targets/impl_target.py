"""Clusters of real `raft_ref` nodes as an exploration target, checked against the model.

Every state is a `checks.cluster.Cluster`. Checked on every state: no node failed (a
`RaftPanic`, a broken `raft_ref` contract, any exception) and the model's invariants
hold on the abstract state (`checks.refinement.abstract`); on every transition: the
step refines the model (`RefinesModel`) and the model's step invariants hold; goals are
the model's goals on abstract states.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, fields, replace
from functools import partial
from typing import Any

from checks.cluster.actions import Bounds, ImplAction, enabled_actions, perform
from checks.cluster.cluster import Cluster, ClusterSettings, initial_cluster
from checks.engine.target import Expectation, Property
from checks.mutants import MUTANTS, apply_mutant
from checks.refinement import (
    Event,
    Refinement,
    abstract,
    abstract_message,
    refinement_params,
)
from checks.targets import model_target
from model.invariants import GOALS, INVARIANTS, STEP_INVARIANTS
from model.params import Params
from model.state import State, mask_of

# The default bounds of `python -m checks.explore` (target impl). With 3 voters and one
# spare they reach every goal within depth 12: a leader is elected (depth 3), a client
# entry commits (8), a joint configuration is entered (8) and left, and a removed leader
# steps down (10, by a change that keeps one voter of three).
DEFAULT_BOUNDS = Bounds()

_MASK64 = (1 << 64) - 1


class ImplTarget:
    """A cluster of `raft_ref` nodes with its settings, bounds and (optionally) a mutant."""

    def __init__(
        self,
        nodes: int = 3,
        pre_vote: bool = False,
        check_quorum: bool = False,
        mutant: str | None = None,
        spares: int = 1,
        **bounds: Any,
    ) -> None:
        known = {f.name for f in fields(Bounds)}
        unknown = set(bounds) - known
        if unknown:
            raise ValueError(f"unknown impl bounds: {', '.join(sorted(unknown))}")
        if nodes < 1 or nodes + spares > 8:
            raise ValueError("need 1..8 servers, at least one initial voter")
        if mutant is not None and mutant not in MUTANTS:
            raise ValueError(f"unknown mutant {mutant!r}; known: {', '.join(MUTANTS)}")
        self.settings = ClusterSettings(
            nodes=nodes, spares=spares, pre_vote=pre_vote, check_quorum=check_quorum
        )
        self.limits = replace(DEFAULT_BOUNDS, **bounds)
        self.limits.validate()
        self.params: Params = refinement_params(self.settings)
        self.refinement = Refinement(self.params)
        self.mutant = mutant
        self.undo_mutant = apply_mutant(mutant) if mutant is not None else None
        self.name = "impl" if mutant is None else f"impl[{mutant}]"
        self.bounds: dict[str, Any] = {"spares": spares, **asdict(self.limits)}
        if check_quorum:
            self.bounds["check_quorum"] = True
        # Node ids are baked into raft_ref's state (and ids break ties in message
        # order): no symmetric canonical form of a cluster is computed.
        self.symmetry_sound = False
        self._properties = self._build_properties()

    def _abstract(self, c: Cluster) -> State:
        return abstract(self.params, c)

    def _build_properties(self) -> list[Property[Cluster, ImplAction]]:
        p = self.params
        props: list[Property[Cluster, ImplAction]] = [
            Property(
                "NoImplementationError",
                Expectation.ALWAYS,
                _no_error,
                "no node panics, raises or breaks a raft_ref contract",
            )
        ]
        for name, check in INVARIANTS.items():
            props.append(
                Property(name, Expectation.ALWAYS, partial(_on_abstract, self, check), _doc(check))
            )
        props.append(
            Property(
                "RefinesModel",
                Expectation.ALWAYS_STEP,
                self._refines,
                "every implementation step is a short sequence of model steps (or none)",
            )
        )
        for name, step in STEP_INVARIANTS.items():
            props.append(
                Property(
                    name,
                    Expectation.ALWAYS_STEP,
                    partial(_on_abstract_step, self, step),
                    _doc(step),
                )
            )
        for name, goal in GOALS.items():
            props.append(
                Property(name, Expectation.SOMETIMES, partial(_on_abstract, self, goal), _doc(goal))
            )
        del p
        return props

    def _refines(self, before: Cluster, action: ImplAction, after: Cluster) -> bool:
        return self.refinement.holds(before, model_event(before, action), after)

    # --- the Target interface -------------------------------------------------------

    def initial_states(self) -> Sequence[Cluster]:
        return [initial_cluster(self.settings)]

    def successors(self, state: Cluster) -> Iterator[tuple[ImplAction, Cluster]]:
        settings, limits = self.settings, self.limits
        own = state.fingerprint()
        for action in enabled_actions(settings, limits, state):
            after = perform(settings, limits, state, action)
            if after is not None and after.fingerprint() != own:
                yield action, after

    def fingerprint(self, state: Cluster) -> int:
        return state.fingerprint() & _MASK64

    def symmetric_fingerprint(self, state: Cluster) -> int:
        return state.fingerprint() & _MASK64

    def properties(self) -> Sequence[Property[Cluster, ImplAction]]:
        return self._properties

    def action_kind(self, action: ImplAction) -> str:
        return action.name

    def format_action(self, action: ImplAction) -> str:
        return format_action(action)

    def describe_state(self, state: Cluster) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if state.error is not None:
            out["error"] = state.error
        out["nodes"] = {str(slot.node.raft.id): _describe_node(slot.node) for slot in state.slots}
        out["network"] = [
            {"message": _format_message(m), "copies": n} for m, n in state.net.values()
        ]
        out["used"] = state.used._asdict()
        abstract_state = self._abstract(state)
        out["abstract"] = model_target.describe_state(abstract_state)
        return out

    def explain_divergence(self, before: Cluster, after: Cluster) -> dict[str, Any]:
        """The abstract states around a step that does not refine the model, and the
        model actions that were possible before it."""
        d = self.refinement.explain(before, after)
        return {
            "abstract_before": model_target.describe_state(d.before),
            "abstract_after": model_target.describe_state(d.after),
            "model_actions_possible": [model_target.format_action(a) for a in d.possible],
        }


_EVENT_KINDS = {
    "Deliver": "deliver",
    "Drop": "drop",
    "Duplicate": "duplicate",
    "Timeout": "timeout",
    "Heartbeat": "heartbeat",
    "ClientRequest": "client",
    "ProposeMembershipChange": "propose",
    "Restart": "restart",
}


def model_event(before: Cluster, action: ImplAction) -> Event:
    """What `action` is in model terms (see `checks.refinement.Event`)."""
    name, args = action
    kind = _EVENT_KINDS.get(name, "other")
    if kind in ("deliver", "drop", "duplicate"):
        key = args[0]
        assert isinstance(key, tuple)
        m, _ = before.net[key]
        return Event(kind, m.to if kind == "deliver" else 0, abstract_message(m))
    node_id = args[0]
    assert isinstance(node_id, int)
    if kind == "propose":
        voters, learners = args[1], args[2]
        assert isinstance(voters, tuple) and isinstance(learners, tuple)
        return Event(kind, node_id, None, (mask_of(voters), mask_of(learners)))
    return Event(kind, node_id)


def _no_error(state: Cluster) -> bool:
    return state.error is None


def _on_abstract(target: ImplTarget, check: Any, state: Cluster) -> bool:
    return bool(check(target.params, abstract(target.params, state)))


def _on_abstract_step(
    target: ImplTarget, check: Any, before: Cluster, action: ImplAction, after: Cluster
) -> bool:
    if after.error is not None:
        return True
    p = target.params
    return bool(check(p, abstract(p, before), action, abstract(p, after)))


def _doc(check: Any) -> str:
    return (check.__doc__ or "").strip().split("\n\n")[0].replace("\n    ", " ")


def build_impl_target(
    nodes: int = 3,
    pre_vote: bool = False,
    check_quorum: bool = False,
    mutant: str | None = None,
    **bounds: Any,
) -> ImplTarget:
    """What `python -m checks.explore --target impl` builds."""
    return ImplTarget(
        nodes=nodes, pre_vote=pre_vote, check_quorum=check_quorum, mutant=mutant, **bounds
    )


# --- human-readable forms ---------------------------------------------------------------


def format_action(action: ImplAction) -> str:
    name, args = action
    if name in ("Deliver", "Drop", "Duplicate"):
        key = args[0]
        assert isinstance(key, tuple)
        return f"{name}({_format_key(key)})"
    if name == "ProposeMembershipChange":
        leader, voters, learners = args
        return f"{name}({leader}, voters={list(voters)}, learners={list(learners)})"  # type: ignore[call-overload]
    return f"{name}({', '.join(str(a) for a in args)})"


def _format_key(key: tuple[Any, ...]) -> str:
    from raft_ref.eraftpb import MessageType  # noqa: PLC0415

    kind, to, frm, term, log_term, index, entries, commit = key[:8]
    reject, hint = key[10], key[11]
    text = f"{MessageType(kind).name} {frm}->{to} term {term}"
    if entries or kind in (MessageType.MsgAppend,):
        text += f" prev ({index}, term {log_term}) entries {len(entries)} commit {commit}"
    elif kind in (MessageType.MsgRequestVote, MessageType.MsgRequestPreVote):
        text += f" last ({index}, term {log_term})"
    elif kind == MessageType.MsgAppendResponse:
        text += f" index {index}" + (f" reject hint {hint}" if reject else "")
    elif kind == MessageType.MsgHeartbeat:
        text += f" commit {commit}"
    elif reject:
        text += " reject"
    return text


def _format_message(m: Any) -> str:
    msg = abstract_message(m)
    if msg is not None:
        return model_target.format_msg(msg)
    return f"{m.msg_type.name} {m.from_}->{m.to} term {m.term}"


def _describe_node(node: Any) -> dict[str, Any]:
    raft = node.raft
    log = raft.raft_log
    prs = raft.prs()
    out: dict[str, Any] = {
        "role": raft.state.name,
        "term": raft.term,
        "vote": raft.vote,
        "leader": raft.leader_id,
        "last_index": log.last_index(),
        "commit": log.committed,
        "applied": log.applied,
        "voters": sorted(prs.configuration.voters),
        "learners": sorted(prs.configuration.learners),
    }
    nxt = prs.next_configuration
    if nxt is not None:
        out["next_voters"] = sorted(nxt.voters)
    if raft.state.name == "Leader":
        out["progress"] = {
            str(i): {"matched": pr.matched, "next": pr.next_idx, "state": pr.state.name}
            for i, pr in prs.iter()
        }
    return out
