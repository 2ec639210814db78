"""Speed of the raft_ref node: committing proposals, copying a node, fingerprinting it.

A 3-node cluster of `RawNode`s over `MemStorage`, driven by the usual Ready loop
(persist entries and hard state, deliver messages, apply committed entries, advance),
commits 10,000 proposals made in rounds of 100. Copy and node-key times are measured
on an explorer-sized node (a leader with a few entries) and on the leader after the
10,000 proposals. Contracts are on unless `RAFT_REF_CONTRACTS=0` is set.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable

from checks.benchmarks import Report
from checks.cluster.node_key import node_state_key
from raft_ref import contracts
from raft_ref.config import Config
from raft_ref.eraftpb import Message
from raft_ref.raft import StateRole
from raft_ref.raw_node import RawNode
from raft_ref.storage import MemStorage

PROPOSALS = 10_000
ROUND = 100


def _cluster(size: int) -> dict[int, RawNode[MemStorage]]:
    ids = list(range(1, size + 1))
    nodes = {}
    for node_id in ids:
        store = MemStorage.new_with_conf_state((ids, []))
        config = Config(id=node_id, election_tick=10, heartbeat_tick=1, max_size_per_msg=1 << 20)
        nodes[node_id] = RawNode(config, store)
    return nodes


def _handle_ready(node: RawNode[MemStorage], outbox: list[Message]) -> int:
    """Processes one Ready; returns the number of committed entries it applied."""
    rd = node.ready()
    core = node.raft.raft_log.store.wl()
    if rd.snapshot.metadata.index != 0:
        core.apply_snapshot(rd.snapshot)
    if rd.entries:
        core.append(rd.entries)
    if rd.hs is not None:
        core.set_hardstate(rd.hs)
    outbox.extend(rd.messages)
    applied = len(rd.committed_entries or [])
    node.advance(rd)
    return applied


def _run_until_quiet(nodes: dict[int, RawNode[MemStorage]]) -> None:
    outbox: list[Message] = []
    while True:
        for node in nodes.values():
            if node.has_ready():
                _handle_ready(node, outbox)
        if not outbox:
            return
        batch, outbox = outbox, []
        for m in batch:
            nodes[m.to].step(m)


def _elect(nodes: dict[int, RawNode[MemStorage]]) -> RawNode[MemStorage]:
    nodes[1].campaign()
    _run_until_quiet(nodes)
    leader = nodes[1]
    assert leader.raft.state is StateRole.Leader
    return leader


def _per_call_us(fn: Callable[[], object], calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - started) / calls * 1e6


def run(report: Report) -> None:
    mode = "contracts on" if contracts.ENABLED else "contracts off"

    # Explorer-sized node: a leader with a handful of entries.
    small = _cluster(3)
    small_leader = _elect(small)
    for i in range(4):
        small_leader.propose(b"", b"x%d" % i)
    _run_until_quiet(small)
    report(
        f"clone of a small node, 6 log entries ({mode})",
        _per_call_us(small_leader.clone, 20_000),
        "us",
    )
    report(
        f"node_state_key of a small node ({mode})",
        _per_call_us(functools.partial(node_state_key, small_leader), 20_000),
        "us",
    )

    nodes = _cluster(3)
    leader = _elect(nodes)
    started = time.perf_counter()
    for start in range(0, PROPOSALS, ROUND):
        for i in range(start, start + ROUND):
            leader.propose(b"", b"proposal %d" % i)
        _run_until_quiet(nodes)
    elapsed = time.perf_counter() - started
    committed = leader.raft.raft_log.committed
    # Index 1 is the initial snapshot and index 2 the leader's empty entry.
    assert committed == PROPOSALS + 2, committed
    assert all(n.raft.raft_log.applied == committed for n in nodes.values())
    report(f"proposals committed per second, 3 nodes ({mode})", PROPOSALS / elapsed, "1/s")

    report(
        f"clone of the leader after {PROPOSALS} proposals ({mode})",
        _per_call_us(leader.clone, 200),
        "us",
    )
    report(
        f"node_state_key of the leader after {PROPOSALS} proposals ({mode})",
        _per_call_us(functools.partial(node_state_key, leader), 50),
        "us",
    )
