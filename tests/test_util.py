"""Helpers shared by the ported raft-rs tests (raft-rs `harness/tests/test_util`).

Names and arguments follow raft-rs so that a ported test reads like its original.
"""

from __future__ import annotations

from raft_ref.config import Config
from raft_ref.eraftpb import ConfState, Entry, HardState, Message, MessageType, Snapshot
from raft_ref.raft import Raft
from raft_ref.raft_log import RaftLog
from raft_ref.storage import MemStorage
from raft_ref.util import NO_LIMIT
from tests.harness import Interface

# A peer that swallows every message: a crashed or unreachable machine.
NOP_STEPPER = Interface(None)

# The payload `new_message` puts in each of its entries.
SOME_DATA = "somedata"


def ltoa(raft_log: RaftLog) -> str:
    """A readable dump of a log, for assertion messages."""
    lines = [f"committed: {raft_log.committed}", f"applied: {raft_log.applied}"]
    lines += [f"#{i}: {e}" for i, e in enumerate(raft_log.all_entries())]
    return "\n".join(lines) + "\n"


def new_storage() -> MemStorage:
    return MemStorage()


def new_test_config(id: int, election_tick: int, heartbeat_tick: int) -> Config:
    return Config(
        id=id,
        election_tick=election_tick,
        heartbeat_tick=heartbeat_tick,
        max_size_per_msg=NO_LIMIT,
        max_inflight_msgs=256,
        tag=str(id),
    )


def _prepare_storage(storage: MemStorage, peers: list[int]) -> None:
    # An initialized store keeps its configuration; an empty one gets `peers` as voters.
    initialized = storage.initial_state().initialized()
    if initialized and not peers:
        raise AssertionError("new_test_raft with empty peers on initialized store")
    if peers and not initialized:
        storage.initialize_with_conf_state(ConfState(list(peers), []))


def new_test_raft(
    id: int, peers: list[int], election: int, heartbeat: int, storage: MemStorage
) -> Interface:
    config = new_test_config(id, election, heartbeat)
    _prepare_storage(storage, peers)
    return new_test_raft_with_config(config, storage)


def new_test_raft_with_prevote(  # noqa: PLR0917 (raft-rs's signature)
    id: int,
    peers: list[int],
    election: int,
    heartbeat: int,
    storage: MemStorage,
    pre_vote: bool,
) -> Interface:
    config = new_test_config(id, election, heartbeat)
    config.pre_vote = pre_vote
    _prepare_storage(storage, peers)
    return new_test_raft_with_config(config, storage)


def new_test_raft_with_logs(  # noqa: PLR0917 (raft-rs's signature)
    id: int,
    peers: list[int],
    election: int,
    heartbeat: int,
    storage: MemStorage,
    logs: list[Entry],
) -> Interface:
    config = new_test_config(id, election, heartbeat)
    _prepare_storage(storage, peers)
    storage.wl().append(logs)
    return new_test_raft_with_config(config, storage)


def new_test_raft_with_config(config: Config, storage: MemStorage) -> Interface:
    return Interface(Raft(config, storage))


def hard_state(t: int, c: int, v: int) -> HardState:
    """A hard state with term `t`, commit `c` and vote `v` (raft-rs's argument order)."""
    return HardState(term=t, vote=v, commit=c)


def new_message_with_entries(from_: int, to: int, t: MessageType, ents: list[Entry]) -> Message:
    return Message(msg_type=t, to=to, from_=from_, entries=list(ents))


def new_message(from_: int, to: int, t: MessageType, n: int) -> Message:
    """A message with `n` entries carrying `SOME_DATA` (term and index 0)."""
    ents = [new_entry(0, 0, SOME_DATA) for _ in range(n)]
    return new_message_with_entries(from_, to, t, ents)


def new_entry(term: int, index: int, data: str | bytes | None) -> Entry:
    if data is None:
        payload = b""
    elif isinstance(data, str):
        payload = data.encode()
    else:
        payload = data
    return Entry(term=term, index=index, data=payload)


def empty_entry(term: int, index: int) -> Entry:
    return new_entry(term, index, None)


def new_snapshot(index: int, term: int, nodes: list[int]) -> Snapshot:
    snap = Snapshot()
    snap.metadata.index = index
    snap.metadata.term = term
    snap.metadata.conf_state.nodes = list(nodes)
    return snap
