"""What must always hold (invariants), what must hold for every step (step invariants),
and what should sometimes happen (goals showing the bounds explore something).

Each function takes the model parameters first; `check` functions return True when the
property holds.
"""

from __future__ import annotations

from itertools import combinations

from model.params import Params
from model.state import Config, Kind, Log, Role, Server, State, agree, bit, is_plain, mask_of

# --- invariants -----------------------------------------------------------------------


def election_safety(p: Params, state: State) -> bool:
    """At most one leader per term."""
    terms = [s.term for s in state.servers if s.role == Role.LEADER]
    return len(terms) == len(set(terms))


def log_matching(p: Params, state: State) -> bool:
    """Two logs with an entry of the same index and term are identical up to it
    (wherever both still hold entries)."""
    for a, b in combinations(state.servers, 2):
        la, lb = a.log, b.log
        if la is lb:
            continue
        k = min(len(la), len(lb))
        while k > 1 and (la[k - 1].term != lb[k - 1].term or la[k - 1].kind == Kind.SNAPSHOT):
            k -= 1
        if not agree(la, lb, k):
            return False
    return True


def state_machine_safety(p: Params, state: State) -> bool:
    """No two servers hold different entries at an index both have committed."""
    for a, b in combinations(state.servers, 2):
        if a.log is not b.log and not agree(a.log, b.log, min(a.commit, b.commit)):
            return False
    return True


def leader_completeness(p: Params, state: State) -> bool:
    """A leader's log holds every entry committed at any server of its term or older."""
    for leader in state.servers:
        if leader.role != Role.LEADER:
            continue
        for s in state.servers:
            if s.log is leader.log or s.term > leader.term:
                continue
            if not agree(leader.log, s.log, s.commit):
                return False
    return True


def commit_within_log(p: Params, state: State) -> bool:
    """applied <= commit <= last index (raft-rs panics otherwise)."""
    return all(s.applied <= s.commit <= len(s.log) for s in state.servers)


def configuration_safety(p: Params, state: State) -> bool:
    """At most one membership change in progress in any log (a Begin only after the
    previous one's Finalize), and each server's configuration is what its applied entries
    say: between an applied Begin and an applied Finalize it is joint, so elections and
    commits need majorities of both configurations."""
    initial = Config(mask_of(range(1, p.nodes + 1)), 0)
    for s in state.servers:
        key = (s.log, s.applied, s.config, initial)
        verdict = _configuration_verdicts.get(key)
        if verdict is None:
            # A log compacted or restored from a snapshot no longer says which
            # configuration it started from: only the one-at-a-time rule is checked.
            verdict = _one_change_at_a_time(s.log) and (
                not is_plain(s.log)
                or s.config == expected_configuration(initial, s.log[: s.applied])
            )
            if len(_configuration_verdicts) > 100_000:
                _configuration_verdicts.clear()
            _configuration_verdicts[key] = verdict
        if not verdict:
            return False
    return True


# Verdicts of configuration_safety per (log, applied, configuration, initial): logs are
# shared by many states, and this check walks them.
_configuration_verdicts: dict[tuple[Log, int, Config, Config], bool] = {}


def _one_change_at_a_time(log: Log) -> bool:
    in_progress = False
    for entry in log:
        if entry.kind == Kind.BEGIN:
            if in_progress:
                return False
            in_progress = True
        elif entry.kind == Kind.FINALIZE:
            in_progress = False
    return True


def expected_configuration(initial: Config, applied: Log) -> Config:
    """The configuration joint consensus prescribes after applying `applied`."""
    config = initial
    for index, entry in enumerate(applied, start=1):
        if entry.kind == Kind.BEGIN:
            config = Config(config.voters, config.learners, entry.voters, entry.learners, index)
        elif entry.kind == Kind.FINALIZE and config.joint:
            config = Config(config.next_voters, config.next_learners)
    return config


def read_linearizable(p: Params, state: State) -> bool:
    """A read is answered at an index no lower than any index committed anywhere before
    it was asked (LeaseBased reads rely on bounded clock drift, which the model does not
    assume: there they may break this)."""
    return all(index >= required for s in state.servers for _, index, required in s.served)


# --- step invariants: (before, action, after) ----------------------------------------


def leader_append_only(p: Params, before: State, action: object, after: State) -> bool:
    """A leader never overwrites or deletes entries of its log during its term."""
    for a, b in zip(before.servers, after.servers, strict=True):
        if a is b or a.log is b.log or a.role != Role.LEADER or b.role != Role.LEADER:
            continue
        if a.term == b.term and not agree(a.log, b.log, len(a.log)):
            return False
    return True


def commit_monotonic(p: Params, before: State, action: object, after: State) -> bool:
    """A server's commit index never decreases (raft-rs persists it in HardState, so not
    even across a restart)."""
    for a, b in zip(before.servers, after.servers, strict=True):
        if a is not b and b.commit < a.commit:
            return False
    return True


def committed_entries_stable(p: Params, before: State, action: object, after: State) -> bool:
    """State machine safety over time: an entry a server has committed never changes."""
    for a, b in zip(before.servers, after.servers, strict=True):
        if a.log is not b.log and not agree(a.log, b.log, a.commit):
            return False
    return True


# --- goals ----------------------------------------------------------------------------


def leader_elected(p: Params, state: State) -> bool:
    return any(s.role == Role.LEADER for s in state.servers)


def client_entry_committed(p: Params, state: State) -> bool:
    """A client's entry (not only a leader's empty entry) is committed somewhere."""
    if not state.budget.client_requests:
        return False
    return any(e.kind == Kind.DATA for s in state.servers for e in s.log[: s.commit])


def joint_entered(p: Params, state: State) -> bool:
    if not state.budget.membership_changes:
        return False
    return any(s.config.joint for s in state.servers)


def joint_left(p: Params, state: State) -> bool:
    """Some server has applied a Finalize (which ends the joint phase)."""
    if not state.budget.membership_changes:
        return False
    return any(
        e.kind == Kind.FINALIZE for s in state.servers if s.applied > 2 for e in s.log[: s.applied]
    )


def removed_leader_steps_down(p: Params, state: State) -> bool:
    """A leader applied the Finalize of its own term that removed it, and stepped down:
    a follower outside its configuration that voted for itself in this term."""
    if not state.budget.membership_changes:
        return False
    return any(_stepped_down(i, s) for i, s in enumerate(state.servers, start=1))


def _stepped_down(i: int, s: Server) -> bool:
    if s.applied < 3 or s.role == Role.LEADER or s.vote != i or s.config.members() & bit(i):
        return False
    return any(e.kind == Kind.FINALIZE and e.term == s.term for e in s.log[: s.applied])


INVARIANTS = {
    "ElectionSafety": election_safety,
    "LogMatching": log_matching,
    "LeaderCompleteness": leader_completeness,
    "StateMachineSafety": state_machine_safety,
    "CommitWithinLog": commit_within_log,
    "ConfigurationSafety": configuration_safety,
    "ReadLinearizable": read_linearizable,
}
STEP_INVARIANTS = {
    "LeaderAppendOnly": leader_append_only,
    "CommitMonotonic": commit_monotonic,
    "CommittedEntriesStable": committed_entries_stable,
}
GOALS = {
    "LeaderElected": leader_elected,
    "ClientEntryCommitted": client_entry_committed,
    "JointEntered": joint_entered,
    "JointLeft": joint_left,
    "RemovedLeaderStepsDown": removed_leader_steps_down,
}
