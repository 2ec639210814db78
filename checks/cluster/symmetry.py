"""Symmetry over node ids for clusters of `raft_ref` nodes.

raft_ref treats node ids alike: no rule singles out an id, and every collection of ids
is iterated in ascending order (raft-rs iterates in hash order), which decides only the
order of the messages a node sends, never what they say. The explorer's environment is
id-free too: actions come from the model (`model/symmetry.py`: its rules and properties
are symmetric), every node has the same configuration but its id, and the network is a
multiset. So renaming the nodes of a cluster maps its behaviours onto the behaviours of
the renamed cluster, and one cluster per class of renamings is enough to explore.

A cluster's symmetric fingerprint is the least hash of the cluster renamed by each of
the renamings that sort its model state's servers (`model.symmetry.canonical_perms`,
ties tried in every order): equal fingerprints mean clusters equal up to renaming, and
clusters equal up to renaming get equal fingerprints. `tests/test_cluster_symmetry.py`
checks, along random executions, that a renamed cluster's successors are the renamed
successors.
"""

from __future__ import annotations

from collections.abc import Sequence

from checks.cluster.cluster import Cluster, NodeSlot
from checks.cluster.network import MessageKey
from checks.cluster.node_key import Renaming, message_key, node_state_key, stable_hash
from model.symmetry import Perm, id_table
from raft_ref.eraftpb import Message

__all__ = ["renamed_key", "symmetric_fingerprint"]

_CACHE_LIMIT = 200_000
# Keyed by the node's (or message's) hash and the renaming: both are immutable once in
# a cluster, and a node state is known by its 64-bit hash, as in the step memo.
_node_hashes: dict[tuple[int, Renaming], int] = {}
_message_hashes: dict[tuple[MessageKey, Renaming], int] = {}


def _renamed_node_hash(slot: NodeSlot, ids: Renaming) -> int:
    key = (slot.key_hash, ids)
    known = _node_hashes.get(key)
    if known is None:
        if len(_node_hashes) >= _CACHE_LIMIT:
            _node_hashes.clear()
        known = _node_hashes[key] = stable_hash(node_state_key(slot.node, ids))
    return known


def _renamed_message_hash(key: MessageKey, message: Message, ids: Renaming) -> int:
    memo_key = (key, ids)
    known = _message_hashes.get(memo_key)
    if known is None:
        if len(_message_hashes) >= _CACHE_LIMIT:
            _message_hashes.clear()
        known = _message_hashes[memo_key] = stable_hash(message_key(message, ids))
    return known


def renamed_key(c: Cluster, perm: Perm) -> tuple[object, ...]:
    """A hashable value of `c` with node `k + 1` renamed `perm[k] + 1`: equal for two
    clusters exactly when one renamed is the other (node states by their hashes). Ints
    only, so that its hash is the same in every process."""
    ids, inverse = id_table(perm)
    nodes = tuple(_renamed_node_hash(c.slots[old], ids) for old in inverse)
    bag = tuple(sorted((_renamed_message_hash(key, m, ids), n) for key, (m, n) in c.net.items()))
    partition = c.net.partition
    groups = (
        ()
        if partition is None
        else tuple(sorted(tuple(sorted(ids[i] for i in group)) for group in partition.groups))
    )
    served = tuple(c.served[old] for old in inverse)
    error = 0 if c.error is None else stable_hash(c.error)
    return (nodes, bag, groups, c.used, error, c.read_required, served)


def symmetric_fingerprint(c: Cluster, perms: Sequence[Perm]) -> int:
    """The least hash of `c` renamed by each of `perms`."""
    return min(hash(renamed_key(c, perm)) for perm in perms)
