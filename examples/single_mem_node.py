"""One Raft node in memory, driven the way an application drives raft-rs's RawNode.

After raft-rs's `examples/single_mem_node`. The loop ticks the node, hands it the
client's proposals, and handles each `Ready`: persist the snapshot, entries and hard
state, send messages (there is no other node here), apply committed entries by
calling the proposal's callback, then `advance`. Time is a tick counter rather than
the wall clock, so every run prints the same story, in well under a second.

Run with `.venv/bin/python -m examples.single_mem_node`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from raft_ref.config import Config
from raft_ref.eraftpb import ConfState, EntryType
from raft_ref.raw_node import RawNode, is_empty_snap
from raft_ref.storage import MemStorage

# Each loop iteration stands for 100 ms of the raft-rs example.
MAX_TICKS = 200
# The client sends its requests after this many ticks (raft-rs's example waits 10 s).
PROPOSE_AT_TICK = 30
REQUEST_IDS = (1, 2, 3)


@dataclass
class Propose:
    """A client request: one byte of payload and what to do once it is applied."""

    id: int
    cb: Callable[[], None]


def on_ready(node: RawNode, store: MemStorage, cbs: dict[int, Callable[[], None]]) -> None:
    """Persist, send and apply what the node has ready, then advance it."""
    if not node.has_ready():
        return
    ready = node.ready()

    # A single node has nobody to send to; a leader could send before persisting.
    ready.messages = []

    if not is_empty_snap(ready.snapshot):
        store.wl().apply_snapshot(ready.snapshot)
    if ready.entries:
        store.wl().append(ready.entries)
    if ready.hs is not None:
        store.wl().set_hardstate(ready.hs)

    for entry in ready.committed_entries or []:
        # A new leader's empty entry carries no request.
        if not entry.data:
            continue
        if entry.entry_type == EntryType.EntryNormal:
            cb = cbs.pop(entry.data[0], None)
            if cb is not None:
                cb()

    node.advance(ready)


def main() -> int:
    # A memory storage that starts with a configuration of this one node.
    store = MemStorage.new_with_conf_state(ConfState([1], []))
    cfg = Config(
        id=1,
        # Ticks without a leader before a node campaigns.
        election_tick=10,
        # Ticks between a leader's heartbeats.
        heartbeat_tick=3,
        # Byte limit of one append message.
        max_size_per_msg=1024 * 1024 * 1024,
        # Appends in flight to a follower before it acknowledges any.
        max_inflight_msgs=256,
        # Set to the last applied index when restarting.
        applied=0,
        tag="[1]",
    )
    node = RawNode(cfg, store)

    inbox: deque[Propose] = deque()
    cbs: dict[int, Callable[[], None]] = {}
    applied: list[int] = []
    leader_reported = False

    for tick in range(MAX_TICKS):
        if tick == PROPOSE_AT_TICK:
            for request_id in REQUEST_IDS:
                print(f"tick {tick}: client proposes request {request_id}")

                def callback(request_id: int = request_id) -> None:
                    applied.append(request_id)

                inbox.append(Propose(request_id, callback))

        # Requests wait in the inbox until there is a leader to take them.
        while inbox and node.raft.leader_id == node.raft.id:
            p = inbox.popleft()
            cbs[p.id] = p.cb
            node.propose(b"", bytes([p.id]))

        node.tick()
        applied_before = len(applied)
        on_ready(node, store, cbs)
        for request_id in applied[applied_before:]:
            print(f"tick {tick}: request {request_id} committed and applied, callback called")

        if not leader_reported and node.raft.leader_id == node.raft.id:
            leader_reported = True
            print(f"tick {tick}: node 1 is leader at term {node.raft.term}")
        if len(applied) == len(REQUEST_IDS):
            break
    else:
        print(f"gave up after {MAX_TICKS} ticks")
        return 1

    print(
        f"all {len(REQUEST_IDS)} proposals committed: commit index "
        f"{node.raft.raft_log.committed}, last index {store.last_index()}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
