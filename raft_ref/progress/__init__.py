"""The leader's bookkeeping of its peers: per-peer progress, inflight windows,
and the configuration(s) that decide quorums."""

from raft_ref.progress.inflights import Inflights
from raft_ref.progress.progress import Progress, ProgressState
from raft_ref.progress.progress_set import (
    CandidacyStatus,
    Configuration,
    IdSet,
    ProgressSet,
    majority,
)

__all__ = [
    "CandidacyStatus",
    "Configuration",
    "IdSet",
    "Inflights",
    "Progress",
    "ProgressSet",
    "ProgressState",
    "majority",
]
