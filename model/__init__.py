"""An explicit-state model of the protocol raft-rs 0.6.0-alpha implements.

In the spirit of ongardie/raft.tla, in Python: immutable states (`state.py`), one pure
function per raft-rs step of a server (`server.py`), the system's named actions
(`actions.py`), safety invariants and reachability goals (`invariants.py`), broken
variants as negative controls (`variants.py`), symmetry over server ids (`symmetry.py`),
and the parameters and bounds (`params.py`).

Choices, where raft-rs leaves room or the model abstracts:

- Granularity: one action per environment event (a timer firing, a message delivered,
  lost or duplicated, a client's or operator's request, a crash). Everything raft-rs
  does in answer, and the application loop after it (apply every committed entry,
  `advance`, a joint leader's Finalize again on each advance that applied entries:
  raft-rs #349), is inside that action.
- raft-rs's own choices are followed where they depend on state the model keeps: one
  entry per append (raft-rs's default `max_size_per_msg`), probes paused after one
  append, commit broadcast unless `skip_bcast_commit`. Where they depend on what it
  does not keep (ticks since a leader was heard from, which peers were recently
  active), an action has several outcomes: the leader lease, check quorum's step-down,
  a leader transfer abandoned at an election timeout.
- A leader's knowledge of each peer is raft-rs's `Progress`: match, next, Probe or
  Replicate, paused. Inflight windows never fill (a slot per entry, fewer than 256).
- Restart keeps HardState (term, vote, commit), the log, and the applied index and
  configuration (the application's persisted state); a joint phase resumes pending.
- Leader transfer and ReadIndex (Safe and LeaseBased) are raft-rs's, and so are log
  compaction (up to the applied index) and snapshots: sent only to recently active
  peers (`Server.active`, kept when logs may be compacted), labelled as raft-rs 0.6's
  `MemStorage` labels them (a named quirk), asked for by `request_snapshot` and reported
  by the application. A compacted log keeps its length: compacted indexes hold
  `COMPACTED`, a restored snapshot's index its label (`state.py`).
- The network is a bag. A message its receiver ignores now and for ever is retired in
  the step that makes it so (`server.ignored_forever`); every other message stays until
  it is delivered, dropped or duplicated.
"""
