"""Set-ups many ported tests share, named after what they leave behind.

Each is a sequence the upstream tests write out again and again; the tests keep their
own assertions about the state the set-up reaches.
"""

from __future__ import annotations

from raft_ref.eraftpb import MessageType
from tests.harness.network import Network
from tests.test_util import new_entry, new_message, new_message_with_entries


def campaign(nt: Network, node_id: int) -> None:
    """`node_id` campaigns (MsgHup); the network delivers until quiet."""
    nt.send([new_message(node_id, node_id, MessageType.MsgHup, 0)])


def elected_network(size: int = 3, leader: int = 1) -> Network:
    """A network of `size` default peers after `leader` campaigned (and won)."""
    nt = Network.new([None] * size)
    campaign(nt, leader)
    return nt


def propose(nt: Network, leader: int = 1, count: int = 1) -> None:
    """`count` proposals of one entry each, given to `leader`, each delivered until quiet."""
    for _ in range(count):
        nt.send([new_message(leader, leader, MessageType.MsgPropose, 1)])


def read_index(nt: Network, node_id: int, context: str) -> None:
    """`node_id` asks for a read index, tagged with `context`."""
    entry = new_entry(0, 0, context)
    nt.send([new_message_with_entries(node_id, node_id, MessageType.MsgReadIndex, [entry])])


def request_leader_transfer(nt: Network, transferee: int, leader: int = 1) -> None:
    """Asks `leader` to hand leadership over to `transferee`."""
    nt.send([new_message(transferee, leader, MessageType.MsgTransferLeader, 0)])


def pending_leader_transfer(nt: Network, transferee: int, leader: int = 1) -> None:
    """Isolates `transferee`, then asks `leader` to hand over to it: the transfer cannot
    finish and stays pending."""
    nt.isolate(transferee)
    request_leader_transfer(nt, transferee, leader)


def leader_cut_off_with(nt: Network, leader: int, reachable: list[int]) -> None:
    """Cuts `leader` off from every peer but `reachable`."""
    for node_id in sorted(nt.peers):
        if node_id != leader and node_id not in reachable:
            nt.cut(leader, node_id)
