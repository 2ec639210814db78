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
successors; `first_asymmetry` probes the same at the start of every run with symmetry,
so that code which singles out ids (a patch under test) turns the reduction off instead
of hiding behind it.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from checks.cluster.cluster import Cluster, ClusterSettings, NodeSlot, initial_cluster
from checks.cluster.network import MessageKey
from checks.cluster.node_key import Renaming, message_key, node_state_key, stable_hash
from model.symmetry import Perm, id_table
from raft_ref.eraftpb import Message

__all__ = ["first_asymmetry", "lockstep_difference", "renamed_key", "symmetric_fingerprint"]

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


# --- checking that the code treats ids alike ---------------------------------------------


class Explorable(Protocol):
    """What the check below needs of a target of clusters."""

    settings: ClusterSettings

    def initial_states(self) -> Sequence[Cluster]: ...

    def successors(self, state: Cluster) -> Iterator[tuple[Any, Cluster]]: ...

    def format_action(self, action: Any) -> str: ...


def _comparable(c: Cluster, perm: Perm) -> object:
    # A failed node ends a run; its message may name nodes, so only its kind counts.
    return renamed_key(c, perm) if c.error is None else ("error", c.error.split(":")[0])


def lockstep_difference(
    target: Explorable, perm: Perm, choose: Callable[[int], int], depth: int
) -> str | None:
    """Runs the target from its initial cluster and, in step, from that cluster renamed
    by `perm`, for up to `depth` steps (`choose(n)` picks one of the n successors of the
    first run); returns where the renamed successors of the first run are not the
    successors of the second, or None."""
    servers = len(perm)
    same = tuple(range(servers))
    a = target.initial_states()[0]
    nodes = target.settings.nodes
    b = initial_cluster(target.settings, [perm[v - 1] + 1 for v in range(1, nodes + 1)])
    renaming = ", ".join(f"{old + 1}->{new + 1}" for old, new in enumerate(perm) if old != new)
    for step in range(depth):
        from_a = list(target.successors(a))
        from_b = [after for _, after in target.successors(b)]
        got = Counter(_comparable(after, same) for after in from_b)
        expected = Counter(_comparable(after, perm) for _, after in from_a)
        if expected != got:
            missing = [act for act, after in from_a if _comparable(after, perm) not in got]
            what = target.format_action(missing[0]) if missing else "the number of successors"
            return f"renaming {renaming}, step {step + 1}: {what} differs from its renaming"
        live = [after for _, after in from_a if after.error is None]
        if not live:
            return None
        a = live[choose(len(live))]
        wanted = _comparable(a, perm)
        b = next(after for after in from_b if _comparable(after, same) == wanted)
    return None


def first_asymmetry(
    target: Explorable, walks: int = 16, depth: int = 16, seed: int = 0
) -> str | None:
    """`lockstep_difference` along seeded random walks, each under a random renaming of
    every server (voters and spares swapped too): None when the code behaved alike under
    every renaming tried, else what differed. A quick probe, not a proof: it guards the
    reduction against code (a patch under test, a mutant) that singles out ids."""
    rng = random.Random(seed)
    servers = target.settings.servers
    for _ in range(walks):
        perm = tuple(rng.sample(range(servers), servers))
        found = lockstep_difference(target, perm, rng.randrange, depth)
        if found is not None:
            return found
    return None
