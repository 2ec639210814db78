"""The leader's progress for every peer, the cluster configuration, and quorums.

A configuration is a set of voters and a set of learners. Outside a membership
change one configuration decides everything that needs a quorum (commit, election,
leader check, ReadIndex). During a joint-consensus change (between applying a
Begin entry and a Finalize entry) there is also a next configuration, and each of
those decisions needs a majority of voters in both.

Differences from raft-rs 0.6.0-alpha:
- Node ids are iterated in ascending order everywhere (`iter()`, `voters()`,
  `learners()`, `voter_ids()`, ...): raft-rs iterates hash sets in hash order, so
  the order of the messages a leader sends differs, never their content. Where
  raft-rs reports "the first" offending id of a set, raft_ref reports the smallest.
- Configurations are immutable and shared between copies; the progress set
  replaces them instead of mutating them.
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterable, Iterator, Mapping, Set

from raft_ref.contracts import ensure, snapshot
from raft_ref.eraftpb import ConfState, SnapshotMetadata
from raft_ref.errors import (
    ConfigInvalid,
    Exists,
    NoPendingMembershipChange,
    NotExists,
    RaftPanic,
    ViolatesContract,
)
from raft_ref.progress.progress import Progress
from raft_ref.progress.quorum import (
    CandidacyStatus,
    joint_committed_index,
    joint_has_quorum,
    joint_vote_result,
    majority,
)
from raft_ref.progress.quorum import has_quorum as _has_quorum

__all__ = ["CandidacyStatus", "Configuration", "IdSet", "ProgressSet", "majority"]

_PENDING_CHANGE = "There is a pending membership change."


class IdSet(frozenset[int]):
    """An immutable set of node ids that iterates in ascending order.

    It is a frozenset in every other respect (membership, comparison, hashing, set
    operations, which return plain frozensets).
    """

    __slots__ = ("_ascending",)

    _ascending: tuple[int, ...]

    def __new__(cls, ids: Iterable[int] = ()) -> IdSet:
        ids_set = super().__new__(cls, ids)
        ids_set._ascending = tuple(sorted(frozenset.__iter__(ids_set)))
        return ids_set

    def __iter__(self) -> Iterator[int]:
        return iter(self._ascending)

    def __repr__(self) -> str:
        return f"IdSet({list(self._ascending)})"


_NO_IDS = IdSet()


class Configuration:
    """The voters and learners of a cluster; immutable."""

    __slots__ = ("learners", "voters")

    voters: IdSet
    learners: IdSet

    def __init__(self, voters: Iterable[int] = (), learners: Iterable[int] = ()) -> None:
        self.voters = voters if isinstance(voters, IdSet) else IdSet(voters)
        self.learners = learners if isinstance(learners, IdSet) else IdSet(learners)

    @classmethod
    def new(cls, voters: Iterable[int], learners: Iterable[int]) -> Configuration:
        return cls(voters, learners)

    @classmethod
    def from_conf_state(cls, conf_state: ConfState) -> Configuration:
        return cls(conf_state.nodes, conf_state.learners)

    def to_conf_state(self) -> ConfState:
        """The wire form, ids in ascending order."""
        return ConfState(nodes=list(self.voters), learners=list(self.learners))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Configuration):
            return NotImplemented
        return self.voters == other.voters and self.learners == other.learners

    def __hash__(self) -> int:
        return hash((self.voters, self.learners))

    def __repr__(self) -> str:
        return f"Configuration(voters={self.voters!r}, learners={self.learners!r})"

    def valid(self) -> None:
        """Raises unless no node is both voter and learner and there is a voter."""
        both = self.voters & self.learners
        if both:
            raise Exists(min(both), "learners")
        if not self.voters:
            raise ConfigInvalid("There must be at least one voter.")

    def has_quorum(self, potential_quorum: Iterable[int]) -> bool:
        """True when the given nodes include a majority of the voters."""
        return _has_quorum(self.voters, potential_quorum)

    def contains(self, id: int) -> bool:
        return id in self.voters or id in self.learners

    def _disjoint(self) -> bool:
        return self.voters.isdisjoint(self.learners)


_DISJOINT = "no node is both a voter and a learner of the same configuration"
_MEMBERS = "every member has a progress and every progress belongs to a member"


class ProgressSet:
    """The progress of every voter and learner, with the configuration(s) in force."""

    __slots__ = (
        "_configuration",
        "_learner_ids",
        "_next_configuration",
        "_progress",
        "_voter_ids",
    )

    _progress: dict[int, Progress]
    _configuration: Configuration
    _next_configuration: Configuration | None
    _voter_ids: IdSet
    _learner_ids: IdSet

    def __init__(self) -> None:
        # Kept in ascending id order so that iterating it is deterministic.
        self._progress = {}
        self._set_configurations(Configuration(_NO_IDS, _NO_IDS), None)

    @classmethod
    def new(cls) -> ProgressSet:
        return cls()

    @classmethod
    def with_capacity(cls, voters: int, learners: int) -> ProgressSet:
        """As `new()`: Python needs no reservation; kept for raft-rs's call sites."""
        return cls()

    @classmethod
    def restore_snapmeta(
        cls, meta: SnapshotMetadata, next_idx: int, max_inflight: int
    ) -> ProgressSet:
        """The progress set a node adopts from a snapshot: every member of the
        snapshot's configuration(s) starts from `next_idx` with nothing matched."""
        prs = cls()
        template = Progress(next_idx, max_inflight)
        conf_state = meta.conf_state
        current = Configuration(conf_state.nodes, conf_state.learners)
        for id in (*conf_state.nodes, *conf_state.learners):
            prs._progress[id] = template.rust_clone()
        nxt = None
        # raft-rs tests the index, not the presence of the pending configuration.
        if meta.pending_membership_change_index != 0:
            pending = meta.pending_membership_change or ConfState()
            nxt = Configuration(pending.nodes, pending.learners)
            for id in (*pending.nodes, *pending.learners):
                prs._progress[id] = template.rust_clone()
        prs._sort_progress()
        prs._set_configurations(current, nxt)
        prs._assert_progress_and_configuration_consistent()
        return prs

    def clone(self) -> ProgressSet:
        """An independent copy; the immutable configurations are shared."""
        copy = ProgressSet.__new__(ProgressSet)
        copy._progress = {id: pr.clone() for id, pr in self._progress.items()}
        copy._configuration = self._configuration
        copy._next_configuration = self._next_configuration
        copy._voter_ids = self._voter_ids
        copy._learner_ids = self._learner_ids
        return copy

    def __repr__(self) -> str:
        return (
            f"ProgressSet(configuration={self._configuration!r}, "
            f"next_configuration={self._next_configuration!r}, progress={self._progress!r})"
        )

    @property
    def configuration(self) -> Configuration:
        """The configuration in force."""
        return self._configuration

    @property
    def next_configuration(self) -> Configuration | None:
        """The configuration being moved to, during a joint-consensus change."""
        return self._next_configuration

    # --- Reading ----------------------------------------------------------------

    def voters(self) -> Iterator[tuple[int, Progress]]:
        """(id, progress) of every voter of either configuration, ascending.

        Not for quorum decisions: while joint there are two quorums; use `has_quorum`.
        """
        progress = self._progress
        return ((id, progress[id]) for id in self._voter_ids if id in progress)

    def learners(self) -> Iterator[tuple[int, Progress]]:
        """(id, progress) of every learner of either configuration, ascending."""
        progress = self._progress
        return ((id, progress[id]) for id in self._learner_ids if id in progress)

    def voter_ids(self) -> IdSet:
        """The voters of either configuration (their union while joint)."""
        return self._voter_ids

    def learner_ids(self) -> IdSet:
        """The learners of either configuration (their union while joint)."""
        return self._learner_ids

    def get(self, id: int) -> Progress | None:
        return self._progress.get(id)

    def iter(self) -> ItemsView[int, Progress]:
        """(id, progress) of every node, ascending; `len()` gives their number."""
        return self._progress.items()

    # Python has no separate mutable borrow; these keep raft-rs's call sites readable.
    get_mut = get
    iter_mut = iter
    voters_mut = voters
    learners_mut = learners

    def is_in_membership_change(self) -> bool:
        """True between applying a Begin and a Finalize membership change."""
        return self._next_configuration is not None

    # --- Changing membership one node at a time ---------------------------------

    @ensure(lambda self: self._configurations_disjoint(), _DISJOINT)
    @ensure(lambda self: self._progress_matches_members(), _MEMBERS)
    def insert_voter(self, id: int, pr: Progress) -> None:
        """Adds a voter; raises if the node is already a member or a change is pending."""
        self._check_insertable(id, _PENDING_CHANGE)
        conf = self._configuration
        self._set_configurations(Configuration(conf.voters | {id}, conf.learners), None)
        self._insert_progress(id, pr)
        self._assert_progress_and_configuration_consistent()

    @ensure(lambda self: self._configurations_disjoint(), _DISJOINT)
    @ensure(lambda self: self._progress_matches_members(), _MEMBERS)
    def insert_learner(self, id: int, pr: Progress) -> None:
        """Adds a learner; raises if the node is already a member or a change is pending."""
        # raft-rs's message differs from insert_voter's by the final full stop.
        self._check_insertable(id, _PENDING_CHANGE[:-1])
        conf = self._configuration
        self._set_configurations(Configuration(conf.voters, conf.learners | {id}), None)
        self._insert_progress(id, pr)
        self._assert_progress_and_configuration_consistent()

    @ensure(lambda self: self._configurations_disjoint(), _DISJOINT)
    @ensure(lambda self: self._progress_matches_members(), _MEMBERS)
    @ensure(lambda self, id: self.get(id) is None, "a removed node has no progress")
    def remove(self, id: int) -> Progress | None:
        """Removes a voter or learner and returns its progress (None if unknown)."""
        if self.is_in_membership_change():
            raise ViolatesContract(_PENDING_CHANGE)
        conf = self._configuration
        self._set_configurations(Configuration(conf.voters - {id}, conf.learners - {id}), None)
        removed = self._progress.pop(id, None)
        self._assert_progress_and_configuration_consistent()
        return removed

    @ensure(lambda self: self._configurations_disjoint(), _DISJOINT)
    @ensure(lambda self: self._progress_matches_members(), _MEMBERS)
    @ensure(lambda self, id: id in self.configuration.voters, "a promoted learner is a voter")
    def promote_learner(self, id: int) -> None:
        """Makes a learner a voter, keeping its progress."""
        if self.is_in_membership_change():
            raise ViolatesContract(_PENDING_CHANGE)
        conf = self._configuration
        if id not in conf.learners:
            raise NotExists(id, "learners")
        learners = conf.learners - {id}
        if id in conf.voters:
            # raft-rs has already dropped the learner role when it finds this.
            self._set_configurations(Configuration(conf.voters, learners), None)
            raise Exists(id, "voters")
        self._set_configurations(Configuration(conf.voters | {id}, learners), None)
        self._assert_progress_and_configuration_consistent()

    # --- Joint consensus --------------------------------------------------------

    @ensure(lambda self: self._configurations_disjoint(), _DISJOINT)
    @ensure(lambda self: self._progress_matches_members(), _MEMBERS)
    @ensure(lambda self: self.is_in_membership_change(), "a begun change is pending")
    def begin_membership_change(self, next: Configuration | ConfState, pr: Progress) -> None:
        """Enters the joint configuration of the current one and `next`.

        Nodes new to the cluster get a copy of `pr`, marked recently active and
        unpaused, so a quorum check right away does not count them as lost.
        Allowed: a node joins (as voter or learner), a learner becomes a voter, a
        node leaves. Refused: a voter becoming a learner, a node in both sets of
        `next`, a `next` without voters.
        """
        if isinstance(next, ConfState):
            next = Configuration.from_conf_state(next)
        next.valid()
        demoted = self._configuration.voters & next.learners
        if demoted:
            raise Exists(min(demoted), "learners")
        template = pr.clone()
        template.recent_active = True
        template.paused = False
        added = False
        for id in (*next.voters, *next.learners):
            if id not in self._progress:
                self._progress[id] = template.rust_clone()
                added = True
        if added:
            self._sort_progress()
        self._set_configurations(self._configuration, next)

    @ensure(lambda self: self._configurations_disjoint(), _DISJOINT)
    @ensure(lambda self: not self.is_in_membership_change(), "no change is pending once finalized")
    def finalize_membership_change(self) -> None:
        """Leaves the joint configuration for the next one, dropping departed nodes.

        As in raft-rs, "departed" means a voter that is not a voter of the next
        configuration or a learner that is not a learner of it: a learner promoted
        by the change therefore loses its progress here.
        """
        nxt = self._next_configuration
        if nxt is None:
            raise NoPendingMembershipChange()
        current = self._configuration
        for id in (current.voters - nxt.voters) | (current.learners - nxt.learners):
            self._progress.pop(id, None)
        self._set_configurations(nxt, None)

    # --- Quorums ----------------------------------------------------------------

    @ensure(
        lambda self, result: self._acknowledged_by_all(result),
        "the committed index is matched by a majority of every active configuration",
    )
    @ensure(
        lambda self, result: not self._acknowledged_by_all(result + 1),
        "no larger index is matched by a majority of every active configuration",
    )
    def maximal_committed_index(self) -> int:
        """The largest index matched by a majority of voters (of both configurations
        while joint, taking the smaller of the two)."""
        current = self._configuration.voters
        return joint_committed_index(current, self._next_voters(), self._progress)

    @ensure(
        lambda self, votes, result: self._candidacy_consistent(votes, result),
        "elected by a majority of every active configuration; lost once a majority "
        "of some configuration refused",
    )
    def candidacy_status(self, votes: Mapping[int, bool]) -> CandidacyStatus:
        """Whether the votes so far win the election, lose it, or leave it open."""
        return joint_vote_result(self._configuration.voters, self._next_voters(), votes)

    @snapshot(
        lambda self, perspective_of: {
            id for id, pr in self.voters() if pr.recent_active or id == perspective_of
        },
        name="active",
    )
    @ensure(
        lambda self, result, OLD: result == self.has_quorum(OLD.active),
        "the leader is backed by a majority of every active configuration heard from",
    )
    @ensure(
        lambda self, perspective_of: all(
            not pr.recent_active
            for id, pr in (*self.voters(), *self.learners())
            if id != perspective_of
        ),
        "a quorum check starts a new activity period for every peer",
    )
    def quorum_recently_active(self, perspective_of: int) -> bool:
        """Whether a quorum has been heard from since the last check (the leader
        `perspective_of` counts itself); clears every peer's `recent_active`."""
        active = set()
        for id, pr in self.voters():
            if id == perspective_of:
                active.add(id)
                continue
            if pr.recent_active:
                active.add(id)
            pr.recent_active = False
        for _, pr in self.learners():
            pr.recent_active = False
        return self.has_quorum(active)

    def has_quorum(self, potential_quorum: Set[int]) -> bool:
        """True when the nodes include a majority of voters of every active configuration.

        The only correct quorum test for the whole group.
        """
        return joint_has_quorum(self._configuration.voters, self._next_voters(), potential_quorum)

    # --- Internals --------------------------------------------------------------

    def _next_voters(self) -> IdSet | None:
        # The second configuration of the joint quorum; absent outside a change.
        nxt = self._next_configuration
        return None if nxt is None else nxt.voters

    def _check_insertable(self, id: int, pending_message: str) -> None:
        if id in self._learner_ids:
            raise Exists(id, "learners")
        if id in self._voter_ids:
            raise Exists(id, "voters")
        if self.is_in_membership_change():
            raise ViolatesContract(pending_message)

    def _insert_progress(self, id: int, pr: Progress) -> None:
        progress = self._progress
        needs_sort = bool(progress) and id < next(reversed(progress))
        progress[id] = pr
        if needs_sort:
            self._sort_progress()

    def _sort_progress(self) -> None:
        # In place, so that views handed out by `iter()` stay valid.
        items = sorted(self._progress.items())
        self._progress.clear()
        self._progress.update(items)

    def _set_configurations(self, current: Configuration, nxt: Configuration | None) -> None:
        self._configuration = current
        self._next_configuration = nxt
        if nxt is None:
            self._voter_ids = current.voters
            self._learner_ids = current.learners
        else:
            self._voter_ids = IdSet(current.voters | nxt.voters)
            self._learner_ids = IdSet(current.learners | nxt.learners)

    # --- Contract helpers -------------------------------------------------------

    def _configurations_disjoint(self) -> bool:
        nxt = self.next_configuration
        return self.configuration._disjoint() and (nxt is None or nxt._disjoint())

    def _progress_matches_members(self) -> bool:
        members = set(self.configuration.voters | self.configuration.learners)
        if self.next_configuration is not None:
            members |= self.next_configuration.voters | self.next_configuration.learners
        return members == self._progress.keys()

    def _acknowledged_by_all(self, index: int) -> bool:
        # Whether the voters that matched `index` are a quorum (of both configurations
        # while joint).
        acknowledged = {id for id, pr in self._progress.items() if pr.matched >= index}
        return self.has_quorum(acknowledged)

    def _candidacy_consistent(self, votes: Mapping[int, bool], result: CandidacyStatus) -> bool:
        granted = {id for id, accepted in votes.items() if accepted}
        rejected = {id for id, accepted in votes.items() if not accepted}
        configurations = (self.configuration, self.next_configuration)
        if self.has_quorum(granted):
            return result is CandidacyStatus.Elected
        if any(c is not None and c.has_quorum(rejected) for c in configurations):
            return result is CandidacyStatus.Ineligible
        return result is CandidacyStatus.Eligible

    def _assert_progress_and_configuration_consistent(self) -> None:
        # raft-rs asserts this even in release builds: a node counted as both voter
        # and learner (e.g. promoted by a pending change in a snapshot) panics.
        if len(self._voter_ids) + len(self._learner_ids) != len(self._progress):
            raise RaftPanic(
                f"{len(self._voter_ids)} voters + {len(self._learner_ids)} learners "
                f"!= {len(self._progress)} progresses"
            )
