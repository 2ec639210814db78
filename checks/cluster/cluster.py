"""One state of a cluster of `raft_ref` nodes: the nodes, the messages in flight, and
how much of each bounded event (crashes, drops, ...) has been used.

Copies are copy-on-write: a successor shares every node it does not change with its
parent and clones only the node an action touches (an action changes one node). A
node, once in a cluster, is never mutated again, so its fingerprint is computed once.
The messages in flight are a `Network`, copied with the cluster (one dict copy: the
messages themselves are shared).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from checks.cluster.network import MessageKey, Network
from checks.cluster.node_key import node_state_key, stable_hash
from model.state import Budget, Msg, Server, State
from raft_ref.config import Config
from raft_ref.eraftpb import ConfState
from raft_ref.raw_node import RawNode
from raft_ref.read_only import ReadOnlyOption
from raft_ref.storage import MemStorage

__all__ = ["Cluster", "ClusterSettings", "MessageKey", "NodeSlot", "initial_cluster"]


@dataclass(frozen=True)
class ClusterSettings:
    """How the nodes are configured (the same for every node but its id)."""

    nodes: int = 3  # initial voters, ids 1..nodes
    spares: int = 1  # started outside the configuration, for membership changes to add
    pre_vote: bool = False
    check_quorum: bool = False
    skip_bcast_commit: bool = False
    read_lease_based: bool = False
    # Ticks. The randomized election timeout is drawn from [election_tick,
    # election_tick + 1): one value, so it is the same for every seed and node.
    election_tick: int = 2
    heartbeat_tick: int = 1
    seed: int = 0
    # raft-rs's default: one entry per append message.
    max_size_per_msg: int = 0
    # MemStorage labels snapshots with their last entry's term (raft-rs's fix of #408)
    # instead of the hard state's.
    snapshot_term_of_entry: bool = False
    extra: dict[str, object] = field(default_factory=dict, compare=False)

    @property
    def servers(self) -> int:
        return self.nodes + self.spares

    def node_config(self, node_id: int, applied: int = 0) -> Config:
        config = Config(
            id=node_id,
            election_tick=self.election_tick,
            heartbeat_tick=self.heartbeat_tick,
            min_election_tick=self.election_tick,
            max_election_tick=self.election_tick + 1,
            max_size_per_msg=self.max_size_per_msg,
            pre_vote=self.pre_vote,
            check_quorum=self.check_quorum,
            skip_bcast_commit=self.skip_bcast_commit,
            read_only_option=ReadOnlyOption.LeaseBased
            if self.read_lease_based
            else ReadOnlyOption.Safe,
            seed=self.seed,
        )
        config.applied = applied
        return config


class NodeSlot:
    """A node as stored in a cluster: never mutated, with its fingerprint and (filled in
    by the refinement check) its abstract state."""

    __slots__ = ("abstract", "key_hash", "node")

    def __init__(self, node: RawNode[MemStorage], key_hash: int | None = None) -> None:
        self.node = node
        # `key_hash` when the caller knows it already (a node shared between clusters).
        self.key_hash = node_key_hash(node) if key_hash is None else key_hash
        self.abstract: object = None


def node_key_hash(node: RawNode[MemStorage]) -> int:
    """A hash of the node's whole state (`node_state_key`: without the election timeout
    generator's state, which cannot influence behaviour here)."""
    return stable_hash(node_state_key(node))


Served = tuple[tuple[int, int, int], ...]


class Cluster:
    """Nodes (`slots[id - 1]`), the network, the budget used, and the error that
    stopped the cluster, if any."""

    __slots__ = (
        "_fingerprint",
        "abstract_servers",
        "abstract_state",
        "error",
        "message_keys",
        "net",
        "read_required",
        "served",
        "slots",
        "used",
    )

    def __init__(
        self,
        slots: list[NodeSlot],
        net: Network,
        used: Budget,
        error: str | None = None,
        *,
        read_required: tuple[int, ...] = (),
        served: tuple[Served, ...] = (),
    ) -> None:
        self.slots = slots
        self.net = net
        self.used = used
        self.error = error
        # ReadIndex requests, by number - 1: the highest index committed anywhere when
        # each was made; and each node's answered reads (request, index, that index),
        # which the application keeps (raft-rs hands them over in `Ready.read_states`).
        self.read_required = read_required
        self.served = served or ((),) * len(slots)
        self._fingerprint: int | None = None
        # Filled in by `checks.refinement.abstract`: the model state and, for each model
        # message, the key of the implementation message standing for it.
        self.abstract_state: State | None = None
        # The model servers of the nodes alone (filled in by the refinement check too).
        self.abstract_servers: tuple[Server, ...] | None = None
        self.message_keys: dict[Msg, MessageKey] | None = None

    def derive(self) -> Cluster:
        """A successor to modify: shares the nodes, copies the containers."""
        return Cluster(
            list(self.slots),
            self.net.copy(),
            self.used,
            read_required=self.read_required,
            served=self.served,
        )

    def node(self, node_id: int) -> RawNode[MemStorage]:
        return self.slots[node_id - 1].node

    def put_node(self, node_id: int, node: RawNode[MemStorage], key_hash: int) -> None:
        """Puts in a node (a stepped copy, never mutated again) whose key hash is known;
        the node may be shared with other clusters."""
        self.slots[node_id - 1] = NodeSlot(node, key_hash)
        self.abstract_servers = None

    def retire(self, keys: list[MessageKey]) -> None:
        """Takes every copy of these messages off the network (before the cluster is
        fingerprinted or abstracted)."""
        self.net.retire(keys)
        self._fingerprint = None
        self.abstract_state = None
        self.message_keys = None

    def fingerprint(self) -> int:
        fp = self._fingerprint
        if fp is None:
            nodes = tuple(slot.key_hash for slot in self.slots)
            network = self.net.state_key()
            error = 0 if self.error is None else stable_hash(self.error)
            # Ints only, so that Python's tuple hash is the same in every process.
            fp = hash((nodes, network, self.used, error, self.read_required, self.served))
            self._fingerprint = fp
        return fp

    def __reduce__(self) -> tuple[object, ...]:
        # For worker processes: the caches are rebuilt on the other side. (A reduce
        # function rather than __getstate__: it also serves the compiled tree.)
        nodes = [s.node for s in self.slots]
        state = (nodes, self.net, self.used, self.error, self.read_required, self.served)
        return (_restored_cluster, (state,))


def _restored_cluster(state: tuple[Any, ...]) -> Cluster:
    nodes, net, used, error, read_required, served = state
    slots = [NodeSlot(node) for node in nodes]
    return Cluster(slots, net, used, error, read_required=read_required, served=served)


def initial_cluster(settings: ClusterSettings, voters: Sequence[int] = ()) -> Cluster:
    """Voters (1..nodes unless given) that know each other and the other servers as
    spares outside the configuration, all followers at term 1 on
    `MemStorage::new_with_conf_state` (snapshot index 1, term 1)."""
    voters = sorted(voters) if voters else list(range(1, settings.nodes + 1))
    slots = []
    for node_id in range(1, settings.servers + 1):
        store = MemStorage.new_with_conf_state(
            ConfState(list(voters), []), snapshot_term_of_entry=settings.snapshot_term_of_entry
        )
        slots.append(NodeSlot(RawNode(settings.node_config(node_id), store)))
    return Cluster(slots, Network(), Budget())
