"""Clusters of real `raft_ref` nodes as an exploration target, checked against the model.

Every state is a `checks.cluster.Cluster`. Checked on every state: no node failed (a
`RaftPanic`, a broken `raft_ref` contract, any exception) and the model's invariants
hold on the abstract state (`checks.refinement.abstract`); on every transition: the
step refines the model (`RefinesModel`) and the model's step invariants hold; goals are
the model's goals on abstract states.
"""

from __future__ import annotations

import random
from collections.abc import Container, Iterator, Sequence
from functools import partial
from typing import Any

from checks.cluster.actions import StepMemo, perform
from checks.cluster.cluster import Cluster, ClusterSettings, initial_cluster
from checks.cluster.symmetry import first_asymmetry, symmetric_fingerprint
from checks.engine.target import BaseTarget, Expectation, Property
from checks.mutants import MUTANTS, apply_mutant
from checks.refinement import (
    NotAbstractable,
    abstract,
    abstract_message,
    abstract_servers,
    concrete_key,
    divergence,
    forget_cached_abstractions,
    refines,
    retire_ignored,
)
from checks.targets import model_target
from model.actions import (
    MESSAGE_ACTIONS,
    Action,
    action_kind,
    enabled,
    outcomes,
    servers_within_bounds,
    within_bounds,
)
from model.independence import Footprint, SleepFilter, footprint, spent, still_asleep
from model.invariants import GOALS, INVARIANTS, STEP_INVARIANTS
from model.params import SNAPSHOT_LABEL_QUIRK, Params, for_cluster
from model.symmetry import canonical_perms

_MASK64 = (1 << 64) - 1
# raft-rs `max_size_per_msg` for "no limit".
_NO_LIMIT = (1 << 64) - 1


def cluster_settings(p: Params) -> ClusterSettings:
    """The node configuration that makes raft_ref do what the model's options say."""
    if p.entries_per_append not in (0, 1):
        raise ValueError("the implementation target sends one entry per append, or all (0)")
    return ClusterSettings(
        nodes=p.nodes,
        spares=p.spares,
        pre_vote=p.pre_vote,
        check_quorum=p.check_quorum,
        skip_bcast_commit=p.skip_bcast_commit,
        read_lease_based=p.read_lease_based,
        max_size_per_msg=0 if p.entries_per_append == 1 else _NO_LIMIT,
        snapshot_term_of_entry=p.left_out_quirk(SNAPSHOT_LABEL_QUIRK),
    )


class ImplTarget(BaseTarget[Cluster, Action]):
    """A cluster of `raft_ref` nodes with the model's parameters (shape, protocol
    options and bounds: `model.params.Params`) and, optionally, a mutant."""

    def __init__(
        self,
        nodes: int = 3,
        pre_vote: bool = False,
        check_quorum: bool = False,
        mutant: str | None = None,
        **bounds: Any,
    ) -> None:
        known = model_target.BOUND_NAMES
        unknown = set(bounds) - known
        if unknown:
            raise ValueError(f"unknown impl bounds: {', '.join(sorted(unknown))}")
        if mutant is not None and mutant not in MUTANTS:
            raise ValueError(f"unknown mutant {mutant!r}; known: {', '.join(MUTANTS)}")
        params = for_cluster(nodes, pre_vote=pre_vote, check_quorum=check_quorum, **bounds)
        self.params = params
        self.settings = cluster_settings(params)
        self.mutant = mutant
        # Patches raft_ref for the whole process, until `close`.
        self._undo_mutant = apply_mutant(mutant) if mutant is not None else None
        self.name = "impl" if mutant is None else f"impl[{mutant}]"
        self.bounds: dict[str, Any] = model_target.bounds_of(params)
        # raft_ref and the environment treat node ids alike (checks/cluster/symmetry.py);
        # `asymmetry` probes that the code in use (a mutant, a patch) still does.
        self.symmetry_sound = True
        self._asymmetry: tuple[str | None] | None = None
        self._properties = self._build_properties()
        self.memo: StepMemo | None = StepMemo()
        forget_cached_abstractions()

    def close(self) -> None:
        """Undoes the mutant, if any, and forgets what was learnt from stepping its
        code; the target is not to be explored after."""
        if self._undo_mutant is not None:
            self._undo_mutant()
            self._undo_mutant = None
        self.memo = None
        forget_cached_abstractions()

    def _build_properties(self) -> list[Property[Cluster, Action]]:
        props: list[Property[Cluster, Action]] = [
            Property(
                "NoImplementationError",
                Expectation.ALWAYS,
                _no_error,
                "no node panics, raises or breaks a raft_ref contract, and every state is "
                "one the model can express",
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
                "every implementation step ends in a state the model allows for that action",
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
        return props

    def _refines(self, before: Cluster, action: Action, after: Cluster) -> bool:
        if after.error is not None:
            return True  # reported by NoImplementationError
        p = self.params
        return refines(p, abstract(p, before), action, abstract(p, after))

    # --- the Target interface -------------------------------------------------------

    def initial_states(self) -> Sequence[Cluster]:
        return [initial_cluster(self.settings)]

    def successors(self, state: Cluster) -> Iterator[tuple[Action, Cluster]]:
        """The model's enabled actions on the cluster's abstract state, each carried out
        on the nodes; results beyond the bounds are not explored."""
        if state.error is not None or not self._within_bounds(state):
            return
        for action in enabled(self.params, abstract(self.params, state)):
            after = self.carry_out(state, action)
            if after is not None:
                yield action, after

    def reduced_successors(
        self, state: Cluster, asleep: Container[Action]
    ) -> list[tuple[Action, list[Cluster], Footprint | None]]:
        """`successors` without the actions in `asleep` (never carried out), each with its
        footprint (`model.independence`: a node's step depends only on the node and the
        event, as the step memo has it, so the model's relation holds here too)."""
        if state.error is not None or not self._within_bounds(state):
            return []
        out: list[tuple[Action, list[Cluster], Footprint | None]] = []
        in_flight = state.net.in_flight()
        for action in enabled(self.params, abstract(self.params, state)):
            if action in asleep:
                continue
            after = self.carry_out(state, action)
            if after is None:
                continue
            foot = None
            if after.error is None:
                changed = _changed_slots(state, after)
                budgets = spent(state.used, after.used)
                foot = footprint(action, changed, budgets, after.net.in_flight() - in_flight)
            out.append((action, [after], foot))
        return out

    def sleep_filter(self, state: Cluster) -> SleepFilter:
        return partial(still_asleep, self.params, state.net.in_flight())

    def sample_successor(self, state: Cluster, rng: random.Random) -> tuple[Action, Cluster] | None:
        """One successor drawn at random (for random walks): enabled actions are tried
        in a random order until one stays within the bounds."""
        if state.error is not None or not self._within_bounds(state):
            return None
        actions = enabled(self.params, abstract(self.params, state))
        for action in rng.sample(actions, len(actions)):
            after = self.carry_out(state, action)
            if after is not None:
                return action, after
        return None

    def carry_out(self, state: Cluster, action: Action) -> Cluster | None:
        """The cluster after the environment takes model action `action`, with the
        messages retired that the model retires and the nodes ignore. None beyond the
        bounds, unless the model can stay within them on that action and the step is
        not one it allows: then the cluster is returned, so that the divergence is
        reported (an implementation that does more than the model must not hide behind
        the bounds), and it has no successors."""
        p = self.params
        key = concrete_key(p, state, action.args[0]) if action.name in MESSAGE_ACTIONS else None
        after = perform(self.settings, state, action, key, self.memo)
        if after.error is not None:
            return after
        try:
            retire_ignored(p, after, state, _changed_node(action))
            if self._within_bounds(after) or self._diverges_into_bounds(state, action, after):
                return after
            return None
        except NotAbstractable as error:
            failed = state.derive()
            failed.error = f"NotAbstractable: {error}"
            return failed

    def _diverges_into_bounds(self, before: Cluster, action: Action, after: Cluster) -> bool:
        p = self.params
        start = abstract(p, before)
        allowed = outcomes(p, start, action)
        if not any(within_bounds(p, s) for s in allowed):
            return False  # the model leaves the bounds too
        return not refines(p, start, action, abstract(p, after), allowed)

    def _within_bounds(self, state: Cluster) -> bool:
        # On the servers and the count in flight: the whole abstract state is built only
        # for states explored.
        p = self.params
        return servers_within_bounds(p, abstract_servers(p, state), state.net.in_flight())

    def fingerprint(self, state: Cluster) -> int:
        return state.fingerprint() & _MASK64

    def asymmetry(self) -> str | None:
        """Where the code in use was seen to treat node ids differently (then symmetry
        reduction would be unsound), or None; probed once, along seeded walks."""
        if self._asymmetry is None:
            try:
                found = first_asymmetry(self)
            except Exception as error:  # the search reports it with its path
                found = f"the probe raised {type(error).__name__}: {error}"
            self._asymmetry = (found,)
        return self._asymmetry[0]

    def symmetric_fingerprint(self, state: Cluster) -> int:
        if state.error is not None:
            return self.fingerprint(state)  # a violation, never explored further
        perms = canonical_perms(abstract(self.params, state))
        return symmetric_fingerprint(state, perms) & _MASK64

    def properties(self) -> Sequence[Property[Cluster, Action]]:
        return self._properties

    def action_kind(self, action: Action) -> str:
        return action_kind(action)

    def format_action(self, action: Action) -> str:
        return model_target.format_action(action)

    def describe_state(self, state: Cluster) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if state.error is not None:
            out["error"] = state.error
        out["nodes"] = {str(slot.node.raft.id): _describe_node(slot.node) for slot in state.slots}
        out["network"] = [
            {"message": _format_message(m), "copies": n} for m, n in state.net.values()
        ]
        out["used"] = state.used._asdict()
        try:
            out["abstract"] = model_target.describe_state(abstract(self.params, state))
        except NotAbstractable as error:
            out["abstract"] = {"error": str(error)}
        return out

    def explain_step(
        self, property_name: str, before: Cluster, action: Action, after: Cluster
    ) -> dict[str, Any] | None:
        """For a divergence: the abstract states around the step, every outcome the model
        allows for its action, and where the implementation differs from each."""
        if property_name != "RefinesModel":
            return None
        p = self.params
        d = divergence(p, abstract(p, before), action, abstract(p, after))
        return {
            "action": model_target.format_action(d.action),
            "abstract_before": model_target.describe_state(d.before),
            "abstract_after": model_target.describe_state(d.after),
            "model_outcomes": [
                {"state": model_target.describe_state(s), "differences": diff}
                for s, diff in zip(d.allowed, d.differences, strict=True)
            ],
        }


def _changed_slots(before: Cluster, after: Cluster) -> int:
    """The mask of the nodes `after` holds anew (a step replaces only its node's slot)."""
    mask = 0
    for k, (was, now) in enumerate(zip(before.slots, after.slots, strict=True)):
        if was is not now:
            mask |= 1 << k
    return mask


def _changed_node(action: Action) -> int:
    """The node an action changes (0: none, for a lost or duplicated message)."""
    name, args = action
    if name == "Deliver":
        dst: int = args[0].dst
        return dst
    return 0 if name in MESSAGE_ACTIONS else int(args[0])


def _no_error(state: Cluster) -> bool:
    return state.error is None


def _on_abstract(target: ImplTarget, check: Any, state: Cluster) -> bool:
    if state.error is not None:
        return True
    return bool(check(target.params, abstract(target.params, state)))


def _on_abstract_step(
    target: ImplTarget, check: Any, before: Cluster, action: Action, after: Cluster
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


def _format_message(m: Any) -> str:
    return model_target.format_msg(abstract_message(m))


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
