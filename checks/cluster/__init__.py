"""A cluster of real `raft_ref` nodes under test: N `RawNode`s on `MemStorage`, the
network between them, and the application loop a correct user writes around each node.

`Cluster` is one state of that system (copied cheaply, copy-on-write per node);
`actions` lists what may happen next (timeouts, proposals, deliveries, drops, restarts,
...) and performs it.
"""

from checks.cluster.actions import ImplAction, enabled_actions, perform
from checks.cluster.cluster import Cluster, ClusterSettings, initial_cluster

__all__ = [
    "Cluster",
    "ClusterSettings",
    "ImplAction",
    "enabled_actions",
    "initial_cluster",
    "perform",
]
