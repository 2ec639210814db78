"""A simulated network of Raft nodes, as raft-rs's test harness has it.

No real I/O happens: `send` delivers messages to the addressed peers and keeps
delivering the replies until the network is quiet. Messages can be dropped per
connection with a probability, or dropped by type; black-hole peers swallow
everything. Probabilistic drops draw from a `random.Random` the network owns, seeded
at construction, so every run of a test makes the same choices (raft-rs uses the
thread's random generator here).

raft-rs keeps peers in a `HashMap` and collects messages in hash order; this port
walks peers in ascending id, a documented difference in message order only.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterable

from raft_ref.config import Config
from raft_ref.eraftpb import ConfState, Message, MessageType
from raft_ref.errors import Error
from raft_ref.raft import Raft
from raft_ref.storage import MemStorage
from raft_ref.util import NO_LIMIT
from tests.harness.interface import Interface

# Far more reply rounds than any ported test needs (a few dozen at most).
MAX_DELIVERY_ROUNDS = 10_000


class Network:
    """A set of peers (ids 1..n) and the rules for which messages get through."""

    def __init__(
        self,
        peers: list[Interface | None],
        config: Config | None = None,
        seed: int = 0,
    ) -> None:
        """Peers get ids 1..len(peers) by position. A `None` entry becomes a fresh node
        whose storage holds a configuration of all peers as voters; an `Interface`
        is used as given (its node must have the id of its position)."""
        base = config if config is not None else Network.default_config()
        self.peers: dict[int, Interface] = {}
        self.storage: dict[int, MemStorage] = {}
        # (from, to) -> probability of dropping a message on that connection.
        self.dropm: dict[tuple[int, int], float] = {}
        # Message types dropped whatever their connection.
        self.ignorem: set[MessageType] = set()
        self.rng = random.Random(seed)

        peer_addrs = list(range(1, len(peers) + 1))
        for p, node_id in zip(peers, peer_addrs, strict=True):
            if p is None:
                store = MemStorage.new_with_conf_state(ConfState(list(peer_addrs), []))
                self.storage[node_id] = store
                cfg = base.clone()
                cfg.id = node_id
                cfg.tag = str(node_id)
                self.peers[node_id] = Interface(Raft(cfg, store))
            else:
                if p.raft is not None:
                    if p.raft.id != node_id:
                        raise AssertionError(f"peer {p.raft.id} in peers has a wrong position")
                    self.storage[node_id] = p.raft.raft_log.store
                self.peers[node_id] = p

    @staticmethod
    def default_config() -> Config:
        """The configuration `Network.new` gives the nodes it creates."""
        return Config(
            election_tick=10,
            heartbeat_tick=1,
            max_size_per_msg=NO_LIMIT,
            max_inflight_msgs=256,
        )

    @classmethod
    def new(cls, peers: list[Interface | None], seed: int = 0) -> Network:
        return cls(peers, None, seed)

    @classmethod
    def new_with_config(
        cls, peers: list[Interface | None], config: Config, seed: int = 0
    ) -> Network:
        return cls(peers, config, seed)

    def ignore(self, t: MessageType) -> None:
        """Drop every message of type `t` from now on (until `recover`)."""
        self.ignorem.add(t)

    def filter(self, msgs: Iterable[Message]) -> list[Message]:
        """The messages that get through the `ignore` and `drop` rules."""
        kept = []
        for m in msgs:
            if m.msg_type in self.ignorem:
                continue
            # A hup is a local message; one on the network means a broken test.
            if m.msg_type == MessageType.MsgHup:
                raise AssertionError("unexpected msgHup")
            perc = self.dropm.get((m.from_, m.to), 0.0)
            if self.rng.random() >= perc:
                kept.append(m)
        return kept

    def read_messages(self) -> list[Message]:
        """Take the outgoing messages of every peer, in ascending peer id."""
        out: list[Message] = []
        for node_id in sorted(self.peers):
            out.extend(self.peers[node_id].read_messages())
        return out

    def send(self, msgs: list[Message]) -> None:
        """Deliver `msgs`, then the replies they cause, until no message is left.

        Errors a node returns from `step` are ignored, as in raft-rs. Unlike raft-rs,
        a conversation that never ends fails the test instead of hanging it."""
        pending = list(msgs)
        rounds = 0
        while pending:
            rounds += 1
            if rounds > MAX_DELIVERY_ROUNDS:
                raise AssertionError(f"messages still flowing after {rounds - 1} rounds")
            replies: list[Message] = []
            for m in pending:
                p = self.peers[m.to]
                with contextlib.suppress(Error):
                    p.step(m)
                replies.extend(self.filter(p.read_messages()))
            pending = replies

    def dispatch(self, messages: Iterable[Message]) -> None:
        """Deliver the messages that pass the filter, without collecting replies.
        Unlike `send`, an error from a node is raised."""
        for m in self.filter(messages):
            self.peers[m.to].step(m)

    def drop(self, from_: int, to: int, perc: float) -> None:
        """Drop messages from `from_` to `to` with probability `perc` (1.0: always)."""
        self.dropm[(from_, to)] = perc

    def cut(self, one: int, other: int) -> None:
        """Drop every message between the two nodes, both ways."""
        self.drop(one, other, 1.0)
        self.drop(other, one, 1.0)

    def isolate(self, node_id: int) -> None:
        """Drop every message to and from `node_id` (peers are taken as ids 1..n)."""
        for nid in range(1, len(self.peers) + 1):
            if nid != node_id:
                self.drop(node_id, nid, 1.0)
                self.drop(nid, node_id, 1.0)

    def recover(self) -> None:
        """Forget every rule set by `drop`, `cut`, `isolate` and `ignore`."""
        self.dropm = {}
        self.ignorem = set()
