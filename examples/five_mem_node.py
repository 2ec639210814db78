"""Five Raft nodes in memory growing into one cluster, then committing 100 proposals.

After raft-rs's `examples/five_mem_node`. Node 1 starts as a one-node cluster; nodes
2 to 5 start empty and are added one at a time by AddNode conf changes, each catching
up from the leader by a snapshot. A client then puts 100 key-value pairs, waiting for
each to commit. raft-rs runs each node on a thread with channels and the wall clock;
here the nodes take turns in one loop (a "round" stands for 10 ms, a tick for ten
rounds), mailboxes are queues and node timeouts come from seeded generators, so every
run prints the same story, in a few seconds at most.

Run with `.venv/bin/python -m examples.five_mem_node`.
"""

from __future__ import annotations

import contextlib
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from raft_ref.config import Config
from raft_ref.eraftpb import (
    ConfChange,
    ConfChangeType,
    ConfState,
    EntryType,
    Message,
    MessageType,
    decode_conf_change,
)
from raft_ref.errors import Error
from raft_ref.raft import StateRole
from raft_ref.raw_node import RawNode, is_empty_snap
from raft_ref.storage import MemStorage

NUM_NODES = 5
NUM_PROPOSALS = 100
ROUNDS_PER_TICK = 10
# Generous: the whole run needs a few thousand rounds.
MAX_ROUNDS = 100_000
SEED = 7

PUT = re.compile(rb"put ([0-9]+) (.+)")


def example_config(id: int) -> Config:
    return Config(id=id, election_tick=10, heartbeat_tick=3, tag=f"peer_{id}", seed=SEED)


def is_initial_msg(msg: Message) -> bool:
    """Whether `msg` may create a node that does not exist yet: only a leader's first
    heartbeat (commit 0) or a vote request can come to a node nobody has told about."""
    t = msg.msg_type
    if t in (MessageType.MsgRequestVote, MessageType.MsgRequestPreVote):
        return True
    return t == MessageType.MsgHeartbeat and msg.commit == 0


@dataclass
class Proposal:
    """A client request and its outcome: `result` stays None until the cluster answers."""

    normal: tuple[int, str] | None = None
    conf_change: ConfChange | None = None
    # Index of the proposed entry; 0 until a leader has taken the proposal.
    proposed: int = 0
    result: bool | None = None


@dataclass
class Node:
    """A machine: its mailbox, its Raft node once it has one, and its key-value store."""

    id: int
    raft_group: RawNode | None = None
    mailbox: deque[Message] = field(default_factory=deque)
    kv_pairs: dict[int, str] = field(default_factory=dict)

    @classmethod
    def create_raft_leader(cls, id: int) -> Node:
        """A node whose storage holds a configuration of itself alone: it will elect
        itself."""
        storage = MemStorage.new_with_conf_state(ConfState([id], []))
        return cls(id, RawNode(example_config(id), storage))

    @classmethod
    def create_raft_follower(cls, id: int) -> Node:
        """A machine with no Raft node yet: it gets one when the leader contacts it."""
        return cls(id)

    def step(self, msg: Message) -> None:
        if self.raft_group is None:
            if not is_initial_msg(msg):
                return
            # An empty storage: the leader will send the configuration in a snapshot.
            self.raft_group = RawNode(example_config(msg.to), MemStorage())
            print(f"node {self.id} starts, first contacted by node {msg.from_}")
        # A message the node refuses is dropped, as in raft-rs's example.
        with contextlib.suppress(Error):
            self.raft_group.step(msg)


class Cluster:
    """The five machines, their mailboxes and the clients' queue of proposals."""

    def __init__(self) -> None:
        self.nodes = {1: Node.create_raft_leader(1)}
        for id in range(2, NUM_NODES + 1):
            self.nodes[id] = Node.create_raft_follower(id)
        # Proposals wait here until the leader applies their entry.
        self.proposals: deque[Proposal] = deque()
        self.round = 0

    def run_until(self, done: Callable[[], bool]) -> None:
        while not done():
            if self.round >= MAX_ROUNDS:
                raise RuntimeError(f"no progress after {MAX_ROUNDS} rounds")
            self.run_round()

    def run_round(self) -> None:
        """Every node in turn: step its mail, tick on schedule, take proposals if
        leader, handle its Ready."""
        self.round += 1
        for node in self.nodes.values():
            while node.mailbox:
                node.step(node.mailbox.popleft())
            raft_group = node.raft_group
            if raft_group is None:
                continue
            if self.round % ROUNDS_PER_TICK == 0:
                raft_group.tick()
            if raft_group.raft.state == StateRole.Leader:
                for p in list(self.proposals):
                    if p.proposed == 0:
                        self.propose(raft_group, p)
            self.on_ready(node, raft_group)

    def propose(self, raft_group: RawNode, proposal: Proposal) -> None:
        last_index1 = raft_group.raft.raft_log.last_index() + 1
        # A dropped proposal leaves the log as it was; that is answered below.
        with contextlib.suppress(Error):
            if proposal.normal is not None:
                key, value = proposal.normal
                raft_group.propose(b"", f"put {key} {value}".encode())
            elif proposal.conf_change is not None:
                raft_group.propose_conf_change(b"", proposal.conf_change)
        last_index2 = raft_group.raft.raft_log.last_index() + 1
        if last_index2 == last_index1:
            # The proposal failed: tell the client.
            proposal.result = False
            self.proposals.remove(proposal)
        else:
            proposal.proposed = last_index1

    def on_ready(self, node: Node, raft_group: RawNode) -> None:
        if not raft_group.has_ready():
            return
        store = raft_group.raft.raft_log.store
        ready = raft_group.ready()

        # Persist before sending: the snapshot, then the new entries.
        if not is_empty_snap(ready.snapshot):
            store.wl().apply_snapshot(ready.snapshot)
        store.wl().append(ready.entries)

        for msg in ready.messages:
            self.nodes[msg.to].mailbox.append(msg)
        ready.messages = []

        committed = ready.committed_entries or []
        for entry in committed:
            if not entry.data:
                continue  # a new leader's empty entry
            if entry.entry_type == EntryType.EntryConfChange:
                self.apply_conf_change(node, raft_group, store, entry.data)
            else:
                match = PUT.fullmatch(entry.data)
                if match is not None:
                    node.kv_pairs[int(match[1])] = match[2].decode()
            if raft_group.raft.state == StateRole.Leader:
                # The leader answers the client whose proposal this was.
                proposal = self.proposals.popleft()
                proposal.result = True
        if committed:
            # As raft-rs's example does, persist only the commit position (the storage
            # builds snapshots from it); this in-memory node never restarts.
            hs = store.wl().mut_hard_state()
            hs.commit = committed[-1].index
            hs.term = committed[-1].term

        raft_group.advance(ready)

    @staticmethod
    def apply_conf_change(node: Node, raft_group: RawNode, store: MemStorage, data: bytes) -> None:
        cc = decode_conf_change(data)
        raft = raft_group.raft
        if cc.change_type == ConfChangeType.AddNode:
            raft.add_node(cc.node_id)
        elif cc.change_type == ConfChangeType.RemoveNode:
            raft.remove_node(cc.node_id)
        elif cc.change_type == ConfChangeType.AddLearnerNode:
            raft.add_learner(cc.node_id)
        else:
            raise NotImplementedError("this example does not use joint consensus")
        cs = raft.prs().configuration.to_conf_state()
        store.wl().set_conf_state(cs, None)
        if raft.state == StateRole.Leader:
            print(f"node {node.id} (leader) applied {cc.change_type.name} {cc.node_id}")


def add_all_followers(cluster: Cluster) -> None:
    """Add nodes 2..5 one conf change at a time, retrying one that fails."""
    for id in range(2, NUM_NODES + 1):
        cc = ConfChange(change_type=ConfChangeType.AddNode, node_id=id)
        while True:
            proposal = Proposal(conf_change=cc)
            cluster.proposals.append(proposal)
            cluster.run_until(lambda p=proposal: p.result is not None)
            if proposal.result:
                break
            # Wait a tick before retrying, as raft-rs's example sleeps 100 ms.
            start = cluster.round
            cluster.run_until(lambda start=start: cluster.round >= start + ROUNDS_PER_TICK)


def main() -> int:
    cluster = Cluster()
    add_all_followers(cluster)
    leader = cluster.nodes[1].raft_group
    assert leader is not None
    voters = sorted(leader.raft.prs().voter_ids())
    print(f"round {cluster.round}: a {len(voters)}-node Raft cluster {voters}")
    print(f"proposing {NUM_PROPOSALS} proposals")

    succeeded = 0
    for i in range(NUM_PROPOSALS):
        proposal = Proposal(normal=(i, "hello, world"))
        cluster.proposals.append(proposal)
        cluster.run_until(lambda p=proposal: p.result is not None)
        succeeded += bool(proposal.result)
    print(f"round {cluster.round}: {succeeded} of {NUM_PROPOSALS} proposals committed")
    if succeeded != NUM_PROPOSALS:
        return 1

    # Let the followers learn the last commit index from heartbeats and apply it.
    last = leader.raft.raft_log.last_index()

    def all_applied() -> bool:
        return all(
            n.raft_group is not None and n.raft_group.raft.raft_log.applied >= last
            for n in cluster.nodes.values()
        )

    cluster.run_until(all_applied)
    for node in cluster.nodes.values():
        assert node.raft_group is not None
        # A node that joined late got the earlier entries inside a snapshot; MemStorage
        # snapshots carry no application data, so those pairs are not in its store.
        print(
            f"node {node.id}: applied up to index {node.raft_group.raft.raft_log.applied}, "
            f"{len(node.kv_pairs)} key-value pairs applied from log entries"
        )
    print(f"Propose {NUM_PROPOSALS} proposals success!")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
