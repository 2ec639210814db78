"""A cluster of real `raft_ref` nodes under test: N `RawNode`s on `MemStorage`, the
network between them, and the application loop a correct user writes around each node.

`Cluster` is one state of that system (copied cheaply, copy-on-write per node);
`actions.perform` carries out one of the model's actions on it.
"""

from checks.cluster.actions import perform
from checks.cluster.cluster import Cluster, ClusterSettings, initial_cluster

__all__ = ["Cluster", "ClusterSettings", "initial_cluster", "perform"]
