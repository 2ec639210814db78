"""An explicit-state model of the protocol raft-rs 0.6.0-alpha implements.

In the spirit of ongardie/raft.tla, in Python: immutable states (`state.py`), one pure
function per raft-rs step of a server (`server.py`), the system's named actions
(`actions.py`), safety invariants and reachability goals (`invariants.py`), broken
variants as negative controls (`variants.py`), symmetry over server ids (`symmetry.py`),
and the parameters and bounds (`params.py`).

Choices, where raft-rs leaves room or the model abstracts:

- Granularity: one action per raft-rs step. Receiving a message does all raft-rs does
  with it: the winning vote response makes the leader, which appends its empty entry and
  sends it to every peer; an append response advances the commit index. Sending entries
  (`AppendEntries`) and heartbeats (`Heartbeat`) are actions of their own, allowed at
  any time and with any number of entries (raft-rs decides by timers, pauses and
  `max_size_per_msg`), so every raft-rs send is a model send.
- A leader's knowledge of each peer is raft-rs's `Progress` without inflight windows:
  match index, next index, and Probe/Replicate (which decides whether sending moves next).
- Applying is the application's step (`ApplyEntries`): committed entries up to the next
  configuration entry, which takes effect then (Begin: joint; Finalize: the target alone).
  A joint leader that has applied Begin appends Finalize in that step, and may append it
  again later (`AppendFinalize`: raft-rs does so on every `advance` until Finalize is
  applied, issue #349).
- Restart keeps HardState (term, vote, commit: raft-rs persists commit), the log, and the
  applied index and configuration (the application's persisted state). So commit never
  decreases, not even across a restart.
- check_quorum, leadership transfer, ReadIndex, snapshots and log compaction are not
  modelled (the log is never compacted, so raft-rs never sends a snapshot).
- The network is a bag; a step whose messages would exceed `max_msgs` is not explored,
  and messages their receiver will certainly ignore are forgotten (see `actions.py`).
"""
