"""The in-memory network between `raft_ref` nodes: the messages in flight.

A multiset of `Message`s: each distinct message is held once, under its canonical key
(`node_key.message_key`), with its number of copies, in the order it was first sent.
The explorer takes messages by key and fingerprints the multiset; the stateful test
takes them by position in sending order and partitions the network. A message, once
sent, is never mutated, so copies of a network share the messages and copying one is a
dict copy.
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterable, Iterator, KeysView, ValuesView

from checks.cluster.node_key import message_hash, message_key
from raft_ref.eraftpb import Message

MessageKey = tuple[object, ...]


class Partition:
    """Node ids split into groups, the ids named in no group forming one more group
    together; a message between two groups is lost."""

    __slots__ = ("groups",)

    def __init__(self, groups: Iterable[Iterable[int]]) -> None:
        self.groups = tuple(frozenset(group) for group in groups)

    def _group_of(self, node_id: int) -> int:
        return next((i for i, group in enumerate(self.groups) if node_id in group), -1)

    def separates(self, a: int, b: int) -> bool:
        return self._group_of(a) != self._group_of(b)

    def key(self) -> tuple[tuple[int, ...], ...]:
        return tuple(tuple(sorted(group)) for group in self.groups)


class Network:
    """Messages in flight (key -> (message, copies)) and the partition, if any.

    Reads like a mapping from key to (message, copies); `in_flight` counts copies."""

    __slots__ = ("_held", "partition")

    def __init__(
        self, messages: Iterable[Message] = (), partition: Partition | None = None
    ) -> None:
        self._held: dict[MessageKey, tuple[Message, int]] = {}
        self.partition = partition
        self.send(messages)

    def copy(self) -> Network:
        twin = Network.__new__(Network)
        twin._held = self._held.copy()
        twin.partition = self.partition
        return twin

    def __reduce__(self) -> tuple[object, ...]:
        # Plainer than the default for slots: states cross to worker processes often.
        return (_restored, (self._held, self.partition))

    # --- changing it -----------------------------------------------------------------

    def send(self, messages: Iterable[Message]) -> None:
        self.send_keyed((message_key(m), m) for m in messages)

    def send_keyed(self, messages: Iterable[tuple[MessageKey, Message]]) -> None:
        """`send`, for messages whose keys are known already."""
        held = self._held
        for key, m in messages:
            known = held.get(key)
            held[key] = (m, 1) if known is None else (known[0], known[1] + 1)

    def take(self, key: MessageKey) -> Message:
        """Takes one copy of the message off the network (to deliver or drop it)."""
        m, count = self._held[key]
        if count > 1:
            self._held[key] = (m, count - 1)
        else:
            del self._held[key]
        return m

    def duplicate(self, key: MessageKey) -> None:
        """One more copy of a message in flight (it keeps its place in sending order)."""
        m, count = self._held[key]
        self._held[key] = (m, count + 1)

    def retire(self, keys: Iterable[MessageKey]) -> None:
        """Takes every copy of these messages off the network."""
        for key in keys:
            del self._held[key]

    # --- reading it ------------------------------------------------------------------

    def key_at(self, position: int) -> MessageKey:
        """The key of the copy at `position` (from 0) in sending order, where the copies
        of one message stand together at the place it was first sent."""
        for key, (_, count) in self._held.items():
            if position < count:
                return key
            position -= count
        raise IndexError(f"no message at position {position} of the network")

    def in_flight(self) -> int:
        """The number of copies in flight."""
        return sum(count for _, count in self._held.values())

    def blocked(self, m: Message) -> bool:
        """Whether the partition keeps `m` from its destination."""
        partition = self.partition
        return partition is not None and partition.separates(m.from_, m.to)

    def state_key(self) -> object:
        """A hashable value of the network, independent of sending order, of ints only
        (its hash is the same in every process)."""
        bag = tuple(sorted((message_hash(k), n) for k, (_, n) in self._held.items()))
        return bag if self.partition is None else (bag, self.partition.key())

    def __getitem__(self, key: MessageKey) -> tuple[Message, int]:
        return self._held[key]

    def __contains__(self, key: object) -> bool:
        return key in self._held

    def __len__(self) -> int:
        """The number of distinct messages in flight."""
        return len(self._held)

    def __iter__(self) -> Iterator[MessageKey]:
        return iter(self._held)

    def keys(self) -> KeysView[MessageKey]:
        return self._held.keys()

    def items(self) -> ItemsView[MessageKey, tuple[Message, int]]:
        return self._held.items()

    def values(self) -> ValuesView[tuple[Message, int]]:
        return self._held.values()


def _restored(held: dict[MessageKey, tuple[Message, int]], partition: Partition | None) -> Network:
    net = Network(partition=partition)
    net._held = held
    return net
