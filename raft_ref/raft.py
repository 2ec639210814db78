"""The Raft state machine of raft-rs 0.6.0-alpha.

`Raft` holds one node's protocol state and reacts to two kinds of input: `tick()`
(logical time) and `step(message)` (a message from a peer or a local request).
Everything it wants to send is queued in `msgs`; the caller (usually `RawNode`)
persists the log and delivers the messages.

The handlers follow raft-rs one for one. Where raft-rs iterates a hash map, this
port iterates peers in ascending node id, so message order is deterministic.

The randomized election timeout is drawn from a small splitmix64 generator owned by
the node and seeded from `Config.seed` and the node id. Its whole state is one
integer, so copying a node for the explorer costs nothing extra; mixing in the id
keeps nodes of a cluster that share the default seed from timing out in lockstep.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from enum import Enum
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from raft_ref import contracts
from raft_ref.eraftpb import (
    ConfChange,
    ConfChangeType,
    ConfState,
    Entry,
    EntryType,
    HardState,
    Message,
    MessageType,
    Snapshot,
    encode_conf_change,
)
from raft_ref.errors import (
    Error,
    InvalidState,
    NoPendingMembershipChange,
    ProposalDropped,
    RaftPanic,
    RequestSnapshotDropped,
    SnapshotTemporarilyUnavailable,
    StorageError,
    ViolatesContract,
)
from raft_ref.fields import CLONE, field_copier
from raft_ref.progress import (
    CandidacyStatus,
    Configuration,
    Progress,
    ProgressSet,
    ProgressState,
)
from raft_ref.raft_log import RaftLog
from raft_ref.read_only import ReadOnly, ReadOnlyOption, ReadState
from raft_ref.storage import Storage
from raft_ref.util import is_continuous_ents

if TYPE_CHECKING:
    from raft_ref.config import Config

__all__ = [
    "CAMPAIGN_ELECTION",
    "CAMPAIGN_PRE_ELECTION",
    "CAMPAIGN_TRANSFER",
    "INVALID_ID",
    "INVALID_INDEX",
    "Raft",
    "SoftState",
    "StateRole",
    "vote_resp_msg_type",
]

# The first phase of an election when pre-vote is enabled.
CAMPAIGN_PRE_ELECTION = b"CampaignPreElection"
# A normal, timeout-driven election (the second phase when pre-vote is enabled).
CAMPAIGN_ELECTION = b"CampaignElection"
# An election started by a leader transfer; it bypasses the leader lease.
CAMPAIGN_TRANSFER = b"CampaignTransfer"

# Node id 0 means "nobody" (no vote, no leader).
INVALID_ID = 0
# Log index 0 means "none" (no pending snapshot request, ...).
INVALID_INDEX = 0

_MASK64 = (1 << 64) - 1
S = TypeVar("S", bound=Storage)
_MT = MessageType


class StateRole(Enum):
    """The role a node plays in its current term."""

    Follower = 0
    Candidate = 1
    Leader = 2
    PreCandidate = 3


class SoftState:
    """Volatile state worth showing to the application: the leader and our role."""

    __slots__ = ("leader_id", "raft_state")

    def __init__(self, leader_id: int = 0, raft_state: StateRole = StateRole.Follower) -> None:
        self.leader_id = leader_id
        self.raft_state = raft_state

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, SoftState)
            and self.leader_id == other.leader_id
            and self.raft_state is other.raft_state
        )

    def __hash__(self) -> int:
        return hash((self.leader_id, self.raft_state))

    def __repr__(self) -> str:
        return f"SoftState(leader_id={self.leader_id}, raft_state={self.raft_state.name})"


def vote_resp_msg_type(t: MessageType) -> MessageType:
    """The response type that answers a (pre-)vote request."""
    if t == _MT.MsgRequestVote:
        return _MT.MsgRequestVoteResponse
    if t == _MT.MsgRequestPreVote:
        return _MT.MsgRequestPreVoteResponse
    raise RaftPanic(f"Not a vote message: {t.name}")


def _new_message(to: int, msg_type: MessageType, from_: int | None = None) -> Message:
    m = Message(msg_type=msg_type, to=to)
    if from_ is not None:
        m.from_ = from_
    return m


def _splitmix64(state: int) -> tuple[int, int]:
    """One step of splitmix64: the next state and a 64-bit output."""
    state = (state + 0x9E3779B97F4A7C15) & _MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return state, z ^ (z >> 31)


def _initial_rng_state(seed: int, node_id: int) -> int:
    _, mixed_seed = _splitmix64(seed & _MASK64)
    _, mixed_id = _splitmix64((node_id * 0xD1B54A32D192ED03) & _MASK64)
    return mixed_seed ^ mixed_id


# --- Protocol rules checked around every transition ------------------------------
#
# Postconditions of tick and step, the entry points the explorer calls millions of
# times. They are written out by hand rather than as five `contracts.ensure` clauses:
# measured on a tick, the generic clauses cost 16-28 us against 5 us for this check
# (the tick itself is under 2 us). Each check is O(1); like every contract they vanish
# when RAFT_REF_CONTRACTS=0, and a broken rule raises contracts.ViolationError whose
# message starts with the rule.

TERM_NEVER_DECREASES = "a node's term never decreases"
ONE_VOTE_PER_TERM = "a node votes for at most one candidate per term"
COMMIT_NEVER_DECREASES = "the commit index never decreases"
COMMIT_WITHIN_LOG = "the commit index never passes the last log index"
LEADER_APPENDS_OWN_TERM = "a leader only appends entries of its own term"
COMMIT_BY_COUNTING_CURRENT_TERM = (
    "a leader commits by counting replicas only an entry of its current term"
)

_F = TypeVar("_F", bound=Callable[..., Any])


def _violation(rule: str, detail: str) -> contracts.ViolationError:
    return contracts.ViolationError(f"{rule}: {detail}")


def _check_transition(r: Raft[Any], old: tuple[int, int, int, int, bool]) -> None:
    old_term, old_vote, old_commit, old_last, was_leader = old
    term = r.term
    log = r.raft_log
    if term < old_term:
        raise _violation(TERM_NEVER_DECREASES, f"{old_term} -> {term}")
    if term == old_term and old_vote not in (INVALID_ID, r.vote):
        raise _violation(ONE_VOTE_PER_TERM, f"voted {old_vote} then {r.vote} in term {term}")
    committed = log.committed
    if committed < old_commit:
        raise _violation(COMMIT_NEVER_DECREASES, f"{old_commit} -> {committed}")
    last = log.last_index()
    if committed > last:
        raise _violation(COMMIT_WITHIN_LOG, f"commit {committed} > last index {last}")
    if (
        was_leader
        and r.state is StateRole.Leader
        and term == old_term
        and last > old_last
        and log.last_term() != term
    ):
        raise _violation(
            LEADER_APPENDS_OWN_TERM, f"leader of term {term} appended term {log.last_term()}"
        )


def _checked_transition(method: _F) -> _F:
    """Checks the term, vote, commit and append rules after `method` returns."""
    if not contracts.ENABLED:
        return method

    @functools.wraps(method)
    def checked(self: Raft[Any], *args: Any, **kwargs: Any) -> Any:
        log = self.raft_log
        old = (
            self.term,
            self.vote,
            log.committed,
            log.last_index(),
            self.state is StateRole.Leader,
        )
        result = method(self, *args, **kwargs)
        _check_transition(self, old)
        return result

    return cast(_F, checked)


def _committed_entry_of_current_term(self: Raft[Any], result: bool) -> bool:
    if not result:
        return True
    try:
        return self.raft_log.term(self.raft_log.committed) == self.term
    except StorageError:
        return False


class Raft(Generic[S]):
    """One Raft node: its term, vote, log, role and the progress of its peers."""

    # The fields, declared once: `__slots__` and `clone` are derived from this list.
    id: int
    term: int
    vote: int
    read_states: list[ReadState]
    raft_log: RaftLog[S]
    max_inflight: int
    max_msg_size: int
    pending_request_snapshot: int
    _prs: ProgressSet | None
    state: StateRole
    is_learner: bool
    votes: dict[int, bool]
    msgs: list[Message]
    leader_id: int
    lead_transferee: int | None
    pending_conf_index: int
    pending_membership_change: ConfChange | None
    read_only: ReadOnly
    election_elapsed: int
    heartbeat_elapsed: int
    check_quorum: bool
    pre_vote: bool
    skip_bcast_commit: bool
    batch_append: bool
    heartbeat_timeout: int
    election_timeout: int
    randomized_election_timeout: int
    min_election_timeout: int
    max_election_timeout: int
    tag: str
    _rng_state: int

    __slots__ = tuple(__annotations__)

    def __init__(self, c: Config, store: S) -> None:
        c.validate()
        raft_state = store.initial_state()
        peers = raft_state.conf_state.nodes
        learners = raft_state.conf_state.learners

        self.id = c.id
        self.read_states = []
        self.raft_log = RaftLog(store, c.tag)
        self.max_inflight = c.max_inflight_msgs
        self.max_msg_size = c.max_size_per_msg
        self._prs = ProgressSet.with_capacity(len(peers), len(learners))
        self.pending_request_snapshot = INVALID_INDEX
        self.state = StateRole.Follower
        self.is_learner = False
        self.check_quorum = c.check_quorum
        self.pre_vote = c.pre_vote
        self.read_only = ReadOnly(c.read_only_option)
        self.heartbeat_timeout = c.heartbeat_tick
        self.election_timeout = c.election_tick
        self.votes = {}
        self.msgs = []
        self.leader_id = INVALID_ID
        self.lead_transferee = None
        self.term = 0
        self.election_elapsed = 0
        self.pending_conf_index = 0
        self.pending_membership_change = None
        self.vote = INVALID_ID
        self.heartbeat_elapsed = 0
        self.randomized_election_timeout = 0
        self.min_election_timeout = c.min_election_tick or c.election_tick
        self.max_election_timeout = c.max_election_tick or 2 * c.election_tick
        self.skip_bcast_commit = c.skip_bcast_commit
        self.tag = c.tag
        self.batch_append = c.batch_append
        self._rng_state = _initial_rng_state(c.seed, c.id)

        prs = self.mut_prs()
        for p in peers:
            try:
                prs.insert_voter(p, Progress(1, self.max_inflight))
            except Error as e:
                raise RaftPanic(str(e)) from e
        for p in learners:
            try:
                prs.insert_learner(p, Progress(1, self.max_inflight))
            except Error as e:
                raise RaftPanic(str(e)) from e
            if p == self.id:
                self.is_learner = True

        if raft_state.hard_state != HardState():
            self.load_state(raft_state.hard_state)
        if c.applied > 0:
            self.commit_apply(c.applied)
        self.become_follower(self.term, INVALID_ID)

        # Resume a joint-consensus change that was in progress when the node stopped.
        pending_state = raft_state.pending_conf_state
        pending_index = raft_state.pending_conf_state_start_index
        if pending_state is not None and pending_index is not None:
            self.begin_membership_change(
                ConfChange(
                    change_type=ConfChangeType.BeginMembershipChange,
                    configuration=pending_state,
                    start_index=pending_index,
                )
            )
        elif (pending_state is None) != (pending_index is None):
            raise RaftPanic("Should never find pending_conf_change without an index.")

    @classmethod
    def new(cls, c: Config, store: S) -> Raft[S]:
        """raft-rs's `Raft::new`: the same as calling the class."""
        return cls(c, store)

    def clone(self) -> Raft[S]:
        """An independent copy of this node (log, storage, progress, timers, queues)."""
        return _copy_raft(self)

    # --- Accessors ----------------------------------------------------------------

    def get_store(self) -> S:
        return self.raft_log.store

    def mut_store(self) -> S:
        return self.raft_log.store

    def get_snap(self) -> Snapshot | None:
        """The snapshot received but not yet persisted, if any."""
        return self.raft_log.unstable.snapshot

    def pending_read_count(self) -> int:
        return self.read_only.pending_read_count()

    def ready_read_count(self) -> int:
        return len(self.read_states)

    def soft_state(self) -> SoftState:
        return SoftState(self.leader_id, self.state)

    def hard_state(self) -> HardState:
        return HardState(term=self.term, vote=self.vote, commit=self.raft_log.committed)

    def in_lease(self) -> bool:
        return self.state is StateRole.Leader and self.check_quorum

    def set_randomized_election_timeout(self, t: int) -> None:
        """Forces the election timeout (tests use it); it must lie in the configured range."""
        if not self.min_election_timeout <= t < self.max_election_timeout:
            raise RaftPanic(
                f"randomized election timeout {t} outside "
                f"[{self.min_election_timeout}, {self.max_election_timeout})"
            )
        self.randomized_election_timeout = t

    def set_batch_append(self, batch_append: bool) -> None:
        self.batch_append = batch_append

    def _set_pending_membership_change(self, change: ConfChange | None) -> None:
        # A Begin entry is also a pending conf change for the one-at-a-time rule.
        if change is not None:
            index = change.start_index
            if self.pending_membership_change is not None and index != self.pending_conf_index:
                raise RaftPanic("a second membership change began while one is pending")
            self.pending_conf_index = max(self.pending_conf_index, index)
        self.pending_membership_change = change

    def began_membership_change_at(self) -> int | None:
        change = self.pending_membership_change
        return change.start_index if change is not None else None

    def prs(self) -> ProgressSet:
        if self._prs is None:
            raise RaftPanic("the progress set was taken and not given back")
        return self._prs

    def mut_prs(self) -> ProgressSet:
        return self.prs()

    def take_prs(self) -> ProgressSet:
        prs = self.prs()
        self._prs = None
        return prs

    def set_prs(self, prs: ProgressSet) -> None:
        self._prs = prs

    # --- Sending --------------------------------------------------------------------

    def send(self, m: Message) -> None:
        """Stamps `m` with our id and (for most types) our term, and queues it."""
        m.from_ = self.id
        t = m.msg_type
        if t in (
            _MT.MsgRequestVote,
            _MT.MsgRequestPreVote,
            _MT.MsgRequestVoteResponse,
            _MT.MsgRequestPreVoteResponse,
        ):
            # Campaign messages carry the term they campaign for (or answer) explicitly.
            if m.term == 0:
                raise RaftPanic(f"{self.tag} term should be set when sending {t.name}")
        else:
            if m.term != 0:
                raise RaftPanic(
                    f"{self.tag} term should not be set when sending {t.name} (was {m.term})"
                )
            # Proposals and read requests forwarded to the leader travel without a term.
            if t not in (_MT.MsgPropose, _MT.MsgReadIndex):
                m.term = self.term
        self.msgs.append(m)

    def _prepare_send_snapshot(self, m: Message, pr: Progress, to: int) -> bool:
        # Snapshots are expensive: only send them to peers we recently heard from.
        if not pr.recent_active:
            return False
        m.msg_type = _MT.MsgSnapshot
        try:
            snapshot = self.raft_log.snapshot(pr.pending_request_snapshot)
        except SnapshotTemporarilyUnavailable:
            return False
        except Error as e:
            raise RaftPanic(f"{self.tag} unexpected error: {e!r}") from e
        if snapshot.metadata.index == 0:
            raise RaftPanic(f"{self.tag} need non-empty snapshot")
        m.snapshot = snapshot
        pr.become_snapshot(snapshot.metadata.index)
        return True

    def _prepare_send_entries(self, m: Message, pr: Progress, term: int, ents: list[Entry]) -> None:
        m.msg_type = _MT.MsgAppend
        m.index = pr.next_idx - 1
        m.log_term = term
        m.entries = ents
        m.commit = self.raft_log.committed
        if ents:
            pr.update_state(ents[-1].index)

    def _try_batching(self, to: int, pr: Progress, ents: list[Entry]) -> bool:
        # Merge into a MsgAppend to the same peer that is still queued, if it continues it.
        msgs = self.msgs
        for i, msg in enumerate(msgs):
            if msg.msg_type == _MT.MsgAppend and msg.to == to:
                if ents:
                    if not is_continuous_ents(msg, ents):
                        return False
                    merged = msg.entries + ents
                    pr.update_state(merged[-1].index)
                else:
                    merged = msg.entries
                # Queued messages may be shared with copies of this node: replace, not mutate.
                batched = _copy_message(msg)
                batched.entries = merged
                batched.commit = self.raft_log.committed
                msgs[i] = batched
                return True
        return False

    def send_append(self, to: int, pr: Progress) -> None:
        """Sends entries (or a snapshot when they are compacted) to peer `to`."""
        if pr.is_paused():
            return
        m = Message(to=to)
        if pr.pending_request_snapshot != INVALID_INDEX:
            # The follower asked for a snapshot: do not bother loading entries.
            if not self._prepare_send_snapshot(m, pr, to):
                return
        else:
            try:
                term = self.raft_log.term(pr.next_idx - 1)
                ents = self.raft_log.entries(pr.next_idx, self.max_msg_size)
            except StorageError:
                # The entries are compacted away: the peer needs a snapshot.
                if not self._prepare_send_snapshot(m, pr, to):
                    return
            else:
                if self.batch_append and self._try_batching(to, pr, ents):
                    return
                self._prepare_send_entries(m, pr, term, ents)
        self.send(m)

    def _send_heartbeat(self, to: int, pr: Progress, ctx: bytes | None) -> None:
        # Never tell a follower to commit beyond what it is known to have.
        m = Message(msg_type=_MT.MsgHeartbeat, to=to)
        m.commit = min(pr.matched, self.raft_log.committed)
        if ctx is not None:
            m.context = ctx
        self.send(m)

    def bcast_append(self) -> None:
        """Sends entries to every peer that is not up to date (ascending id)."""
        self_id = self.id
        for id_, pr in self.prs().iter_mut():
            if id_ != self_id:
                self.send_append(id_, pr)

    def ping(self) -> None:
        """Broadcasts heartbeats, if leader."""
        if self.state is StateRole.Leader:
            self.bcast_heartbeat()

    def bcast_heartbeat(self) -> None:
        """Sends heartbeats to all peers, carrying the newest pending read request."""
        self._bcast_heartbeat_with_ctx(self.read_only.last_pending_request_ctx())

    def _bcast_heartbeat_with_ctx(self, ctx: bytes | None) -> None:
        self_id = self.id
        for id_, pr in self.prs().iter():
            if id_ != self_id:
                self._send_heartbeat(id_, pr, ctx)

    # --- Commit and apply -----------------------------------------------------------

    @contracts.ensure(_committed_entry_of_current_term, COMMIT_BY_COUNTING_CURRENT_TERM)
    def maybe_commit(self) -> bool:
        """Advances commit to the quorum's matched index if that entry is of this term."""
        mci = self.prs().maximal_committed_index()
        return self.raft_log.maybe_commit(mci, self.term)

    def commit_apply(self, applied: int) -> None:
        """Records that the application applied up to `applied`.

        A leader whose pending Begin entry is now applied appends the Finalize entry.
        """
        self.raft_log.applied_to(applied)
        change = self.pending_membership_change
        if change is not None and applied >= change.start_index and self.state is StateRole.Leader:
            self._append_finalize_conf_change_entry()

    def _append_finalize_conf_change_entry(self) -> None:
        data = encode_conf_change(ConfChange(change_type=ConfChangeType.FinalizeMembershipChange))
        self.append_entry([Entry(entry_type=EntryType.EntryConfChange, data=data)])
        self.bcast_append()

    # --- Roles ----------------------------------------------------------------------

    def reset(self, term: int) -> None:
        """Resets the volatile state for `term` (the vote only if the term changes)."""
        if self.term != term:
            self.term = term
            self.vote = INVALID_ID
        self.leader_id = INVALID_ID
        self.reset_randomized_election_timeout()
        self.election_elapsed = 0
        self.heartbeat_elapsed = 0
        self.abort_leader_transfer()
        self.votes = {}
        self.pending_conf_index = 0
        self.read_only = ReadOnly(self.read_only.option)
        self.pending_request_snapshot = INVALID_INDEX

        last_index = self.raft_log.last_index()
        self_id = self.id
        for id_, pr in self.prs().iter_mut():
            pr.reset(last_index + 1)
            if id_ == self_id:
                pr.matched = last_index

    def append_entry(self, es: list[Entry]) -> None:
        """Appends `es` stamped with our term and the next indexes, then tries to commit.

        The given entries are not modified: stamped copies go into the log.
        """
        li = self.raft_log.last_index()
        term = self.term
        stamped = [
            Entry(e.entry_type, term, li + 1 + i, e.data, e.context, e.sync_log)
            for i, e in enumerate(es)
        ]
        li = self.raft_log.append(stamped)
        own = self.prs().get_mut(self.id)
        if own is None:
            raise RaftPanic(f"{self.tag} has no progress for itself")
        own.maybe_update(li)
        # The caller broadcasts whether or not this commits anything.
        self.maybe_commit()

    @_checked_transition
    def tick(self) -> bool:
        """Advances logical time by one tick; true when there is probably work to do."""
        if self.state is StateRole.Leader:
            return self._tick_heartbeat()
        return self.tick_election()

    def tick_election(self) -> bool:
        """A follower's or candidate's tick: campaign once the election timeout passes."""
        self.election_elapsed += 1
        if not self.pass_election_timeout() or not self.promotable():
            return False
        self.election_elapsed = 0
        self._step_ignoring_errors(_new_message(INVALID_ID, _MT.MsgHup, self.id))
        return True

    def _tick_heartbeat(self) -> bool:
        self.heartbeat_elapsed += 1
        self.election_elapsed += 1

        has_ready = False
        if self.election_elapsed >= self.election_timeout:
            self.election_elapsed = 0
            if self.check_quorum:
                has_ready = True
                self._step_ignoring_errors(_new_message(INVALID_ID, _MT.MsgCheckQuorum, self.id))
            # A transfer that did not finish within an election timeout is abandoned.
            if self.state is StateRole.Leader and self.lead_transferee is not None:
                self.abort_leader_transfer()

        if self.state is not StateRole.Leader:
            return has_ready

        if self.heartbeat_elapsed >= self.heartbeat_timeout:
            self.heartbeat_elapsed = 0
            has_ready = True
            self._step_ignoring_errors(_new_message(INVALID_ID, _MT.MsgBeat, self.id))
        return has_ready

    def _step_ignoring_errors(self, m: Message) -> None:
        with contextlib.suppress(Error):
            self.step(m)

    def become_follower(self, term: int, leader_id: int) -> None:
        pending_request_snapshot = self.pending_request_snapshot
        self.reset(term)
        self.leader_id = leader_id
        self.state = StateRole.Follower
        self.pending_request_snapshot = pending_request_snapshot

    def become_candidate(self) -> None:
        if self.state is StateRole.Leader:
            raise RaftPanic("invalid transition [leader -> candidate]")
        self.reset(self.term + 1)
        self.vote = self.id
        self.state = StateRole.Candidate

    def become_pre_candidate(self) -> None:
        if self.state is StateRole.Leader:
            raise RaftPanic("invalid transition [leader -> pre-candidate]")
        # A pre-candidate keeps its term and vote: pre-voting must not disturb anyone.
        self.state = StateRole.PreCandidate
        self.votes = {}
        # A leader cut off in a minority partition forgets it was leading.
        self.leader_id = INVALID_ID

    def become_leader(self) -> None:
        if self.state is StateRole.Follower:
            raise RaftPanic("invalid transition [follower -> leader]")
        self.reset(self.term)
        self.leader_id = self.id
        self.state = StateRole.Leader

        own = self.prs().get_mut(self.id)
        if own is None:
            raise RaftPanic(f"{self.tag} has no progress for itself")
        own.become_replicate()

        # Any entry in the log may be a conf change: hold new ones back until all commit.
        self.pending_conf_index = self.raft_log.last_index()
        self.append_entry([Entry()])

        # A leader elected in the middle of a joint change whose Begin is committed
        # re-appends Finalize, which the new term's entries may have replaced.
        change = self.pending_membership_change
        if change is not None and change.start_index <= self.raft_log.committed:
            self._append_finalize_conf_change_entry()

    @staticmethod
    def _num_pending_conf(ents: list[Entry]) -> int:
        return sum(1 for e in ents if e.entry_type == EntryType.EntryConfChange)

    def campaign(self, campaign_type: bytes) -> None:
        """Starts a pre-election, election or leader-transfer election."""
        if campaign_type == CAMPAIGN_PRE_ELECTION:
            self.become_pre_candidate()
            # Pre-votes ask about the next term without moving to it.
            vote_msg, term = _MT.MsgRequestPreVote, self.term + 1
        else:
            self.become_candidate()
            vote_msg, term = _MT.MsgRequestVote, self.term
        self_id = self.id
        self._register_vote(self_id, True)
        if self.prs().candidacy_status(self.votes) is CandidacyStatus.Elected:
            # Our own vote is a quorum: a single-voter cluster.
            if campaign_type == CAMPAIGN_PRE_ELECTION:
                self.campaign(CAMPAIGN_ELECTION)
            else:
                self.become_leader()
            return

        # Only voters are asked.
        last_index = self.raft_log.last_index()
        last_term = self.raft_log.last_term()
        for id_ in sorted(self.prs().voter_ids()):
            if id_ == self_id:
                continue
            m = Message(msg_type=vote_msg, to=id_, term=term, index=last_index, log_term=last_term)
            if campaign_type == CAMPAIGN_TRANSFER:
                m.context = campaign_type
            self.send(m)

    def _register_vote(self, id_: int, vote: bool) -> None:
        # The first answer from a peer counts; repeats are ignored.
        self.votes.setdefault(id_, vote)

    # --- Step -----------------------------------------------------------------------

    @_checked_transition
    def step(self, m: Message) -> None:
        """Handles one message; raises `ProposalDropped` and friends as raft-rs returns them."""
        t = m.msg_type
        if m.term == 0:
            pass  # a local message
        elif m.term > self.term:
            if t in (_MT.MsgRequestVote, _MT.MsgRequestPreVote):
                force = m.context == CAMPAIGN_TRANSFER
                in_lease = (
                    self.check_quorum
                    and self.leader_id != INVALID_ID
                    and self.election_elapsed < self.election_timeout
                )
                # Within the lease of a live leader, vote requests neither move our
                # term nor get a vote (unless a leader transfer asked for them).
                if not force and in_lease:
                    return
            if t == _MT.MsgRequestPreVote or (t == _MT.MsgRequestPreVoteResponse and not m.reject):
                # A pre-vote never changes our term; neither does a granted pre-vote
                # (its term is the one the candidate will campaign for).
                pass
            elif t in (_MT.MsgAppend, _MT.MsgHeartbeat, _MT.MsgSnapshot):
                self.become_follower(m.term, m.from_)
            else:
                self.become_follower(m.term, INVALID_ID)
        elif m.term < self.term:
            if (self.check_quorum or self.pre_vote) and (t in (_MT.MsgHeartbeat, _MT.MsgAppend)):
                # A stale leader: answer so that it learns our term and steps down.
                self.send(_new_message(m.from_, _MT.MsgAppendResponse))
            elif t == _MT.MsgRequestPreVote:
                # Reject stale pre-votes explicitly, or pre-vote clusters could deadlock.
                resp = _new_message(m.from_, _MT.MsgRequestPreVoteResponse)
                resp.term = self.term
                resp.reject = True
                self.send(resp)
            # Any other stale message is ignored.
            return

        if t == _MT.MsgHup:
            self._hup(False)
        elif t in (_MT.MsgRequestVote, _MT.MsgRequestPreVote):
            self._handle_vote_request(m)
        elif self.state is StateRole.Leader:
            self._step_leader(m)
        elif self.state is StateRole.Follower:
            self._step_follower(m)
        else:
            self._step_candidate(m)

    def _handle_vote_request(self, m: Message) -> None:
        if m.log_term == 0:
            raise RaftPanic(f"{m!r} log term can't be 0")
        # We can vote if this repeats a vote we cast, if we have neither voted nor
        # seen a leader this term, or if this is a pre-vote for a later term ...
        can_vote = (
            self.vote == m.from_
            or (self.vote == INVALID_ID and self.leader_id == INVALID_ID)
            or (m.msg_type == _MT.MsgRequestPreVote and m.term > self.term)
        )
        # ... and the candidate's log is at least as up to date as ours.
        if can_vote and self.raft_log.is_up_to_date(m.index, m.log_term):
            # A grant carries the request's term, so a pre-candidate can count it.
            resp = _new_message(m.from_, vote_resp_msg_type(m.msg_type))
            resp.term = m.term
            self.send(resp)
            if m.msg_type == _MT.MsgRequestVote:
                # Only real votes are recorded.
                self.election_elapsed = 0
                self.vote = m.from_
        else:
            resp = _new_message(m.from_, vote_resp_msg_type(m.msg_type))
            resp.reject = True
            resp.term = self.term
            self.send(resp)

    def _hup(self, transfer_leader: bool) -> None:
        if self.state is StateRole.Leader:
            return
        # No campaign while committed conf changes are unapplied: the configuration
        # we would campaign in is not settled yet. A pending snapshot already carries
        # its configuration, so the scan starts after it.
        first_index = self.raft_log.unstable.maybe_first_index()
        if first_index is None:
            first_index = self.raft_log.applied + 1
        try:
            ents = self.raft_log.slice(first_index, self.raft_log.committed + 1, None)
        except Error as e:
            raise RaftPanic(
                f"{self.tag} unexpected error getting unapplied entries "
                f"[{first_index}, {self.raft_log.committed + 1}): {e!r}"
            ) from e
        if self._num_pending_conf(ents) != 0:
            return
        if transfer_leader:
            self.campaign(CAMPAIGN_TRANSFER)
        elif self.pre_vote:
            self.campaign(CAMPAIGN_PRE_ELECTION)
        else:
            self.campaign(CAMPAIGN_ELECTION)

    # --- Joint consensus -------------------------------------------------------------

    def begin_membership_change(self, conf_change: ConfChange) -> None:
        """Applies a Begin entry: enter the joint configuration (old and new together)."""
        if conf_change.change_type != ConfChangeType.BeginMembershipChange:
            raise ViolatesContract(f"{conf_change.change_type.name} != BeginMembershipChange")
        if conf_change.configuration is None:
            raise ViolatesContract("!ConfChange::has_configuration()")
        if conf_change.start_index == 0:
            raise ViolatesContract("!ConfChange::has_start_index()")
        configuration = _configuration_from(conf_change.configuration)
        self._set_pending_membership_change(conf_change)
        pr = Progress(self.raft_log.last_index() + 1, self.max_inflight)
        self.mut_prs().begin_membership_change(configuration, pr)

    def finalize_membership_change(self, conf_change: ConfChange) -> None:
        """Applies a Finalize entry: leave the joint configuration for the new one."""
        if conf_change.change_type != ConfChangeType.FinalizeMembershipChange:
            raise ViolatesContract(f"{conf_change.change_type.name} != BeginMembershipChange")
        if conf_change.configuration is not None:
            raise ViolatesContract("ConfChange::has_configuration()")
        next_conf = self.prs().next_configuration
        if next_conf is None:
            raise NoPendingMembershipChange()
        # A leader removed by the change steps down (joint consensus, Raft paper §6).
        if not next_conf.contains(self.leader_id):
            if self.state is StateRole.Leader:
                self.become_follower(self.raft_log.last_term(), INVALID_ID)
            else:
                # The old leader's progress is about to disappear.
                self.leader_id = INVALID_ID
        self.mut_prs().finalize_membership_change()
        # Reset on every node, so that no later leader finalizes twice.
        self._set_pending_membership_change(None)

    # --- Leader ---------------------------------------------------------------------

    def _handle_append_response(self, m: Message, prs: ProgressSet) -> tuple[bool, bool, bool]:
        """Returns (old_paused, send_append, maybe_commit)."""
        pr = prs.get_mut(m.from_)
        assert pr is not None
        pr.recent_active = True

        if m.reject:
            if pr.maybe_decr_to(m.index, m.reject_hint, m.request_snapshot):
                if pr.state == ProgressState.Replicate:
                    pr.become_probe()
                return False, True, False
            return False, False, False

        old_paused = pr.is_paused()
        if not pr.maybe_update(m.index):
            return old_paused, False, False

        # The transfer target caught up: tell it to campaign now.
        lead_transferee = self.lead_transferee
        if (
            lead_transferee is not None
            and m.from_ == lead_transferee
            and pr.matched == self.raft_log.last_index()
        ):
            self.send_timeout_now(m.from_)

        if pr.state == ProgressState.Probe:
            pr.become_replicate()
        elif pr.state == ProgressState.Snapshot:
            if not pr.maybe_snapshot_abort():
                return old_paused, False, False
            pr.become_probe()
        else:
            pr.ins.free_to(m.index)
        return old_paused, False, True

    def _handle_heartbeat_response(
        self, m: Message, prs: ProgressSet, more_to_send: list[Message]
    ) -> bool:
        """Returns whether to send an append to the peer."""
        pr = prs.get_mut(m.from_)
        assert pr is not None
        pr.recent_active = True
        pr.resume()

        # Free one slot of a full window so that replication can make progress.
        if pr.state == ProgressState.Replicate and pr.ins.full():
            pr.ins.free_first_one()
        send_append = (
            pr.matched < self.raft_log.last_index() or pr.pending_request_snapshot != INVALID_INDEX
        )

        if self.read_only.option != ReadOnlyOption.Safe or not m.context:
            return send_append

        # A Safe read is served once a quorum acknowledged the heartbeat carrying it.
        if not prs.has_quorum(self.read_only.recv_ack(m)):
            return send_append

        for rs in self.read_only.advance(m):
            req = rs.req
            if req.from_ in (INVALID_ID, self.id):
                self.read_states.append(ReadState(rs.index, req.entries[0].data))
            else:
                resp = Message(msg_type=_MT.MsgReadIndexResp, to=req.from_, index=rs.index)
                resp.entries = req.entries
                more_to_send.append(resp)
        return send_append

    def _handle_transfer_leader(self, m: Message, prs: ProgressSet) -> None:
        from_ = m.from_
        # Learners cannot lead.
        if from_ in prs.learner_ids():
            return
        lead_transferee = from_
        last_lead_transferee = self.lead_transferee
        if last_lead_transferee is not None:
            if last_lead_transferee == lead_transferee:
                return  # already transferring to that node
            self.abort_leader_transfer()
        if lead_transferee == self.id:
            return  # already leader
        # The transfer must finish within one election timeout.
        self.election_elapsed = 0
        self.lead_transferee = lead_transferee
        pr = prs.get_mut(from_)
        if pr is None:
            raise RaftPanic(f"{self.tag} no progress for transfer target {from_}")
        if pr.matched == self.raft_log.last_index():
            self.send_timeout_now(lead_transferee)
        else:
            self.send_append(lead_transferee, pr)

    def _handle_snapshot_status(self, m: Message, pr: Progress) -> None:
        if m.reject:
            pr.snapshot_failure()
        pr.become_probe()
        # After success wait for the append response; after failure wait for a
        # heartbeat interval before trying again.
        pr.pause()
        pr.pending_request_snapshot = INVALID_INDEX

    def _step_leader(self, m: Message) -> None:
        t = m.msg_type
        # These messages need no progress of the sender.
        if t == _MT.MsgBeat:
            self.bcast_heartbeat()
            return
        if t == _MT.MsgCheckQuorum:
            # Step down when a quorum has not been heard from within an election timeout.
            if not self._check_quorum_active():
                self.become_follower(self.term, INVALID_ID)
            return
        if t == _MT.MsgPropose:
            self._leader_propose(m)
            return
        if t == _MT.MsgReadIndex:
            self._leader_read_index(m)
            return

        prs = self.prs()
        if prs.get(m.from_) is None:
            return

        send_append = False
        maybe_commit = False
        old_paused = False
        more_to_send: list[Message] = []
        if t == _MT.MsgAppendResponse:
            old_paused, send_append, maybe_commit = self._handle_append_response(m, prs)
        elif t == _MT.MsgHeartbeatResponse:
            send_append = self._handle_heartbeat_response(m, prs, more_to_send)
        elif t == _MT.MsgSnapStatus:
            pr = prs.get_mut(m.from_)
            assert pr is not None
            if pr.state == ProgressState.Snapshot:
                self._handle_snapshot_status(m, pr)
        elif t == _MT.MsgUnreachable:
            pr = prs.get_mut(m.from_)
            assert pr is not None
            # An unreachable peer in Replicate probably lost an append: probe again.
            if pr.state == ProgressState.Replicate:
                pr.become_probe()
        elif t == _MT.MsgTransferLeader:
            self._handle_transfer_leader(m, prs)

        if maybe_commit:
            if self.maybe_commit():
                if self.should_bcast_commit():
                    self.bcast_append()
            elif old_paused:
                # The peer was paused and is now resumed: send what was held back.
                send_append = True

        if send_append:
            pr = self.prs().get_mut(m.from_)
            if pr is None:
                raise RaftPanic(f"{self.tag} no progress for {m.from_}")
            self.send_append(m.from_, pr)
        for resp in more_to_send:
            self.send(resp)

    def _leader_propose(self, m: Message) -> None:
        if not m.entries:
            raise RaftPanic(f"{self.tag} stepped empty MsgProp")
        # A leader removed from the configuration takes no new proposals.
        if self.id not in self.prs().voter_ids():
            raise ProposalDropped()
        # Nor does a leader handing over leadership.
        if self.lead_transferee is not None:
            raise ProposalDropped()

        entries = list(m.entries)
        for i, e in enumerate(entries):
            if e.entry_type == EntryType.EntryConfChange:
                if self.has_pending_conf():
                    # One conf change at a time: the extra one becomes a no-op entry.
                    entries[i] = Entry()
                else:
                    self.pending_conf_index = self.raft_log.last_index() + i + 1
        self.append_entry(entries)
        self.bcast_append()

    def _leader_read_index(self, m: Message) -> None:
        # Until an entry of its own term commits, the leader does not know the
        # latest commit index: such reads are dropped.
        try:
            committed_term = self.raft_log.term(self.raft_log.committed)
        except StorageError:
            committed_term = 0
        if committed_term != self.term:
            return

        committed = self.raft_log.committed
        if self.read_only.option == ReadOnlyOption.Safe and not self.prs().has_quorum({self.id}):
            ctx = m.entries[0].data
            self.read_only.add_request(committed, m)
            self._bcast_heartbeat_with_ctx(ctx)
            return
        # LeaseBased reads, and any read when the leader alone is a quorum, are
        # answered at once with the commit index.
        if m.from_ in (INVALID_ID, self.id):
            self.read_states.append(ReadState(committed, m.entries[0].data))
        else:
            resp = Message(msg_type=_MT.MsgReadIndexResp, to=m.from_, index=committed)
            resp.entries = m.entries
            self.send(resp)

    # --- Candidate and follower -------------------------------------------------------

    def _step_candidate(self, m: Message) -> None:
        t = m.msg_type
        if t == _MT.MsgPropose:
            raise ProposalDropped()
        if t in (_MT.MsgAppend, _MT.MsgHeartbeat, _MT.MsgSnapshot):
            # A leader exists for our term: follow it.
            if self.term != m.term:
                raise RaftPanic(f"{self.tag} term {self.term} != message term {m.term}")
            self.become_follower(m.term, m.from_)
            if t == _MT.MsgAppend:
                self.handle_append_entries(m)
            elif t == _MT.MsgHeartbeat:
                self.handle_heartbeat(m)
            else:
                self._handle_snapshot(m)
        elif t in (_MT.MsgRequestPreVoteResponse, _MT.MsgRequestVoteResponse):
            # Count only answers to our current kind of candidacy; a candidate may
            # still get pre-vote answers from its pre-candidate phase.
            if (self.state is StateRole.PreCandidate and t != _MT.MsgRequestPreVoteResponse) or (
                self.state is StateRole.Candidate and t != _MT.MsgRequestVoteResponse
            ):
                return
            self._register_vote(m.from_, not m.reject)
            status = self.prs().candidacy_status(self.votes)
            if status is CandidacyStatus.Elected:
                if self.state is StateRole.PreCandidate:
                    self.campaign(CAMPAIGN_ELECTION)
                else:
                    self.become_leader()
                    self.bcast_append()
            elif status is CandidacyStatus.Ineligible:
                # A pre-vote response carries a future term: stay in ours.
                self.become_follower(self.term, INVALID_ID)
        # MsgTimeoutNow and everything else is ignored by candidates.

    def _step_follower(self, m: Message) -> None:
        t = m.msg_type
        if t == _MT.MsgPropose:
            if self.leader_id == INVALID_ID:
                raise ProposalDropped()
            self.send(_forward(m, self.leader_id))
        elif t == _MT.MsgAppend:
            self.election_elapsed = 0
            self.leader_id = m.from_
            self.handle_append_entries(m)
        elif t == _MT.MsgHeartbeat:
            self.election_elapsed = 0
            self.leader_id = m.from_
            self.handle_heartbeat(m)
        elif t == _MT.MsgSnapshot:
            self.election_elapsed = 0
            self.leader_id = m.from_
            self._handle_snapshot(m)
        elif t == _MT.MsgTransferLeader:
            if self.leader_id == INVALID_ID:
                return
            self.send(_forward(m, self.leader_id))
        elif t == _MT.MsgTimeoutNow:
            # Transfers skip pre-vote: we know the cluster is not partitioned from us.
            if self.promotable():
                self._hup(True)
        elif t == _MT.MsgReadIndex:
            if self.leader_id == INVALID_ID:
                return
            self.send(_forward(m, self.leader_id))
        elif t == _MT.MsgReadIndexResp:
            if len(m.entries) != 1:
                return  # malformed
            self.read_states.append(ReadState(m.index, m.entries[0].data))

    def request_snapshot(self, request_index: int) -> None:
        """Asks the leader for a snapshot covering at least `request_index`."""
        if (
            self.state is not StateRole.Leader
            and self.leader_id != INVALID_ID
            and self.get_snap() is None
            and self.pending_request_snapshot == INVALID_INDEX
        ):
            self.pending_request_snapshot = request_index
            self._send_request_snapshot()
            return
        raise RequestSnapshotDropped()

    def handle_append_entries(self, m: Message) -> None:
        """A follower's answer to MsgAppend: accept, reject with a hint, or report commit."""
        if self.pending_request_snapshot != INVALID_INDEX:
            self._send_request_snapshot()
            return
        committed = self.raft_log.committed
        if m.index < committed:
            # Everything up to our commit index is already known to match.
            resp = Message(msg_type=_MT.MsgAppendResponse, to=m.from_, index=committed)
            self.send(resp)
            return
        if m.log_term == 0:
            raise RaftPanic(f"{m!r} log term can't be 0")

        resp = Message(msg_type=_MT.MsgAppendResponse, to=m.from_)
        last_new_index = self.raft_log.maybe_append(m.index, m.log_term, m.commit, m.entries)
        if last_new_index is not None:
            resp.index = last_new_index
        else:
            # Log mismatch at m.index: reject, hinting where our log ends.
            resp.index = m.index
            resp.reject = True
            resp.reject_hint = self.raft_log.last_index()
        self.send(resp)

    def handle_heartbeat(self, m: Message) -> None:
        """A follower's answer to a heartbeat: commit as told and acknowledge."""
        self.raft_log.commit_to(m.commit)
        if self.pending_request_snapshot != INVALID_INDEX:
            self._send_request_snapshot()
            return
        resp = Message(msg_type=_MT.MsgHeartbeatResponse, to=m.from_, context=m.context)
        self.send(resp)

    def _handle_snapshot(self, m: Message) -> None:
        if m.term == 0:
            raise RaftPanic(f"{m!r} term can't be 0")
        snap = m.get_snapshot()
        resp = Message(msg_type=_MT.MsgAppendResponse, to=m.from_)
        if self.restore(snap):
            resp.index = self.raft_log.last_index()
        else:
            resp.index = self.raft_log.committed
        self.send(resp)

    def _restore_raft(self, snap: Snapshot) -> bool | None:
        meta = snap.metadata
        # Already have the snapshot's entry: just fast-forward commit (unless we
        # asked for a snapshot, in which case we want the real thing).
        if self.pending_request_snapshot == INVALID_INDEX and self.raft_log.match_term(
            meta.index, meta.term
        ):
            self.raft_log.commit_to(meta.index)
            return False

        # A voter never turns into a learner by snapshot. (No progress at all means
        # the node was just created by a conf change and takes any role.)
        prs_now = self.prs()
        has_members = bool(prs_now.voter_ids()) or bool(prs_now.learner_ids())
        if has_members and not self.is_learner and self.id in meta.conf_state.learners:
            return False

        next_idx = self.raft_log.last_index() + 1
        prs = ProgressSet.restore_snapmeta(meta, next_idx, self.max_inflight)
        own = prs.get_mut(self.id)
        if own is None:
            raise RaftPanic(f"{self.tag} restored a snapshot whose configuration lacks itself")
        own.matched = next_idx - 1
        if self.is_learner and self.id in prs.configuration.voters:
            self.is_learner = False
        self._prs = prs
        if meta.pending_membership_change_index > 0:
            cs = meta.pending_membership_change
            self.pending_membership_change = ConfChange(
                change_type=ConfChangeType.BeginMembershipChange,
                configuration=cs if cs is not None else ConfState(),
                start_index=meta.pending_membership_change_index,
            )
        self.pending_request_snapshot = INVALID_INDEX
        return None

    def restore(self, snap: Snapshot) -> bool:
        """Installs a snapshot into the log and configuration; false when ignored."""
        # A snapshot behind our commit index has nothing new.
        if snap.metadata.index < self.raft_log.committed:
            return False
        result = self._restore_raft(snap)
        if result is not None:
            return result
        self.raft_log.restore(snap)
        return True

    # --- Configuration --------------------------------------------------------------

    def has_pending_conf(self) -> bool:
        """Whether a conf change may still be unapplied (may be a false positive)."""
        return (
            self.pending_conf_index > self.raft_log.applied
            or self.pending_membership_change is not None
        )

    def should_bcast_commit(self) -> bool:
        return not self.skip_bcast_commit or self.has_pending_conf()

    def promotable(self) -> bool:
        """Whether this node may campaign: it is a voter."""
        return self.id in self.prs().voter_ids()

    def propose_membership_change(
        self, config: Configuration | ConfState | tuple[object, object]
    ) -> None:
        """The leader proposes a Begin entry moving the cluster to `config`."""
        if self.state is not StateRole.Leader:
            raise InvalidState(self.state)
        configuration = _configuration_from(config)
        configuration.valid()
        destination_index = self.raft_log.last_index() + 1
        cc = ConfChange(
            change_type=ConfChangeType.BeginMembershipChange,
            configuration=_conf_state_from(configuration),
            start_index=destination_index,
        )
        entry = Entry(entry_type=EntryType.EntryConfChange, data=encode_conf_change(cc))
        message = Message(
            msg_type=_MT.MsgPropose, from_=self.id, index=destination_index, entries=[entry]
        )
        self.step(message)

    def _add_voter_or_learner(self, id_: int, learner: bool) -> None:
        prs = self.mut_prs()
        if learner:
            prs.insert_learner(id_, Progress(self.raft_log.last_index() + 1, self.max_inflight))
        elif id_ in prs.learner_ids():
            prs.promote_learner(id_)
        else:
            prs.insert_voter(id_, Progress(self.raft_log.last_index() + 1, self.max_inflight))
        if self.id == id_:
            self.is_learner = learner
        # A new member counts as active, so that check quorum does not depose us
        # before it had a chance to answer.
        pr = prs.get_mut(id_)
        assert pr is not None
        pr.recent_active = True

    def add_node(self, id_: int) -> None:
        """Adds a voter, or promotes a learner to voter."""
        self._add_voter_or_learner(id_, False)

    def add_learner(self, id_: int) -> None:
        self._add_voter_or_learner(id_, True)

    def remove_node(self, id_: int) -> None:
        self.mut_prs().remove(id_)
        prs = self.prs()
        # Nothing to commit or transfer in an empty cluster.
        if not prs.voter_ids() and not prs.learner_ids():
            return
        # A smaller quorum may commit pending entries now.
        if self.maybe_commit():
            self.bcast_append()
        if self.state is StateRole.Leader and self.lead_transferee == id_:
            self.abort_leader_transfer()

    def set_progress(self, id_: int, matched: int, next_idx: int, is_learner: bool) -> None:
        """Replaces a peer's progress (tests use it)."""
        p = Progress(next_idx, self.max_inflight)
        p.matched = matched
        try:
            if is_learner:
                self.mut_prs().insert_learner(id_, p)
            else:
                self.mut_prs().insert_voter(id_, p)
        except Error as e:
            raise RaftPanic(str(e)) from e

    def load_state(self, hs: HardState) -> None:
        """Loads a persisted hard state; its commit must lie within the log."""
        log = self.raft_log
        if hs.commit < log.committed or hs.commit > log.last_index():
            raise RaftPanic(
                f"{self.tag} hs.commit {hs.commit} is out of range "
                f"[{log.committed}, {log.last_index()}]"
            )
        log.committed = hs.commit
        self.term = hs.term
        self.vote = hs.vote

    # --- Timers ---------------------------------------------------------------------

    def pass_election_timeout(self) -> bool:
        return self.election_elapsed >= self.randomized_election_timeout

    def reset_randomized_election_timeout(self) -> None:
        """Draws a new election timeout in [min_election_timeout, max_election_timeout)."""
        self._rng_state, value = _splitmix64(self._rng_state)
        span = self.max_election_timeout - self.min_election_timeout
        self.randomized_election_timeout = self.min_election_timeout + value % span

    def _check_quorum_active(self) -> bool:
        # Also clears every peer's recent_active for the next round.
        return self.mut_prs().quorum_recently_active(self.id)

    def send_timeout_now(self, to: int) -> None:
        self.send(_new_message(to, _MT.MsgTimeoutNow))

    def abort_leader_transfer(self) -> None:
        self.lead_transferee = None

    def is_in_membership_change(self) -> bool:
        return self.prs().is_in_membership_change()

    def _send_request_snapshot(self) -> None:
        m = Message(
            msg_type=_MT.MsgAppendResponse,
            to=self.leader_id,
            index=self.raft_log.committed,
            reject=True,
            reject_hint=self.raft_log.last_index(),
            request_snapshot=self.pending_request_snapshot,
        )
        self.send(m)


def _copy_message(m: Message) -> Message:
    return Message(
        m.msg_type,
        m.to,
        m.from_,
        m.term,
        m.log_term,
        m.index,
        m.entries,
        m.commit,
        m.snapshot,
        m.request_snapshot,
        m.reject,
        m.reject_hint,
        m.context,
    )


def _forward(m: Message, to: int) -> Message:
    # The received message may be shared (a copied cluster, a test's list): forward a copy.
    fwd = _copy_message(m)
    fwd.to = to
    return fwd


def _configuration_from(config: object) -> Configuration:
    if isinstance(config, Configuration):
        return config
    if isinstance(config, ConfState):
        return Configuration(config.nodes, config.learners)
    if isinstance(config, tuple) and len(config) == 2:
        voters, learners = config
        return Configuration(voters, learners)
    raise TypeError(f"cannot make a Configuration from {config!r}")


def _conf_state_from(configuration: Configuration) -> ConfState:
    return configuration.to_conf_state()


_copy_raft = field_copier(
    Raft,
    {
        "read_states": list,
        "raft_log": CLONE,
        "_prs": CLONE,
        "votes": dict,
        # Messages are never mutated once queued, so the copies can share them.
        "msgs": list,
        "read_only": CLONE,
    },
)
