"""raft-rs `harness/tests/integration_cases/test_raw_node.rs`, ported: the `RawNode`
interface an application drives (propose, ready, advance, conf changes, read index)."""

from __future__ import annotations

import contextlib

from raft_ref.config import Config
from raft_ref.eraftpb import (
    ConfChange,
    ConfChangeType,
    Entry,
    EntryType,
    HardState,
    MessageType,
    Snapshot,
    decode_conf_change,
    encode_conf_change,
)
from raft_ref.errors import Error, StepLocalMsg
from raft_ref.raft import SoftState
from raft_ref.raw_node import RawNode, Ready
from raft_ref.read_only import ReadState
from raft_ref.storage import MemStorage
from tests.harness import Network
from tests.test_util import (
    empty_entry,
    hard_state,
    new_entry,
    new_message,
    new_message_with_entries,
    new_snapshot,
    new_storage,
    new_test_config,
    new_test_raft,
    new_test_raft_with_config,
)


def conf_change(t: ConfChangeType, node_id: int) -> ConfChange:
    return ConfChange(change_type=t, node_id=node_id)


def must_cmp_ready(  # noqa: PLR0917 (raft-rs's signature)
    r: Ready,
    ss: SoftState | None,
    hs: HardState | None,
    entries: list[Entry],
    committed_entries: list[Entry],
    must_sync: bool,
) -> None:
    assert r.ss == ss
    assert r.hs == hs
    assert r.entries == entries
    assert r.committed_entries == committed_entries
    assert r.must_sync == must_sync
    assert r.read_states == []
    assert r.snapshot == Snapshot()
    assert r.messages == []


def new_raw_node(
    id: int, peers: list[int], election: int, heartbeat: int, storage: MemStorage
) -> RawNode:
    config = new_test_config(id, election, heartbeat)
    initialized = storage.initial_state().initialized()
    if initialized and not peers:
        raise AssertionError("new_raw_node with empty peers on initialized store")
    if peers and not initialized:
        storage.initialize_with_conf_state((peers, []))
    return RawNode(config, storage)


def run_until_leader(raw_node: RawNode, s: MemStorage) -> None:
    """Persist and advance Readies until the node reports itself as leader."""
    while True:
        rd = raw_node.ready()
        s.wl().append(rd.entries)
        is_leader = rd.ss is not None and rd.ss.leader_id == raw_node.raft.id
        raw_node.advance(rd)
        if is_leader:
            return


def test_raw_node_step() -> None:
    """RawNode.step refuses local messages."""
    skipped = {
        # vote requests with term 0 make raft panic
        MessageType.MsgRequestVote,
        MessageType.MsgRequestPreVote,
        # appends and snapshots with log term 0 make the test code panic
        MessageType.MsgAppend,
        MessageType.MsgSnapshot,
    }
    local = {
        MessageType.MsgBeat,
        MessageType.MsgHup,
        MessageType.MsgUnreachable,
        MessageType.MsgSnapStatus,
    }
    for msg_t in MessageType:
        if msg_t in skipped:
            continue

        raw_node = new_raw_node(1, [1], 10, 1, new_storage())
        res: Error | None = None
        try:
            raw_node.step(new_message(0, 0, msg_t, 0))
        except Error as e:
            res = e
        # a local message is refused
        if msg_t in local:
            assert isinstance(res, StepLocalMsg), f"{msg_t.name}: {res!r}"


def test_raw_node_read_index_to_old_leader() -> None:
    """A ReadIndex reaching a follower is forwarded to the leader without a term."""
    r1 = new_test_raft(1, [1, 2, 3], 10, 1, new_storage())
    r2 = new_test_raft(2, [1, 2, 3], 10, 1, new_storage())
    r3 = new_test_raft(3, [1, 2, 3], 10, 1, new_storage())

    nt = Network.new([r1, r2, r3])

    # elect node 1
    nt.send([new_message(1, 1, MessageType.MsgHup, 0)])
    test_entries = Entry(data=b"testdata")

    # a read index request to follower 2...
    nt.peers[2].step(new_message_with_entries(2, 2, MessageType.MsgReadIndex, [test_entries]))

    # ...goes on to leader 1, with no term set
    assert len(nt.peers[2].msgs) == 1
    read_index_msg1 = new_message_with_entries(2, 1, MessageType.MsgReadIndex, [test_entries])
    assert read_index_msg1 == nt.peers[2].msgs[0]

    # the same through follower 3
    nt.peers[3].step(new_message_with_entries(3, 3, MessageType.MsgReadIndex, [test_entries]))

    assert len(nt.peers[3].msgs) == 1
    read_index_msg2 = new_message_with_entries(3, 1, MessageType.MsgReadIndex, [test_entries])
    assert nt.peers[3].msgs[0] == read_index_msg2

    # now elect node 3
    nt.send([new_message(3, 3, MessageType.MsgHup, 0)])

    # node 1 receives the two requests forwarded earlier...
    nt.peers[1].step(read_index_msg1)
    nt.peers[1].step(read_index_msg2)

    # ...and, now a follower, forwards both to the new leader 3
    assert len(nt.peers[1].msgs) == 2

    read_index_msg3 = new_message_with_entries(1, 3, MessageType.MsgReadIndex, [test_entries])

    assert nt.peers[1].msgs[0] == read_index_msg3
    assert nt.peers[1].msgs[1] == read_index_msg3


def test_raw_node_propose_and_conf_change() -> None:
    """propose and propose_conf_change reach the log as a normal and a conf-change
    entry."""
    s = new_storage()
    raw_node = new_raw_node(1, [1], 10, 1, s)
    raw_node.campaign()
    proposed = False
    ccdata = b""
    while True:
        rd = raw_node.ready()
        s.wl().append(rd.entries)
        # Once leader, propose a command and a conf change.
        if not proposed and rd.ss is not None and rd.ss.leader_id == raw_node.raft.id:
            raw_node.propose(b"", b"somedata")

            cc = conf_change(ConfChangeType.AddNode, 2)
            ccdata = encode_conf_change(cc)
            raw_node.propose_conf_change(b"", cc)

            proposed = True
        raw_node.advance(rd)

        # Stop at three entries: the initial configuration, the leader's empty entry
        # and the conf change.
        last_index = s.last_index()
        if last_index >= 3:
            break

    entries = s.entries(last_index - 1, last_index + 1, None)
    assert len(entries) == 2
    assert entries[0].data == b"somedata"
    assert entries[1].entry_type == EntryType.EntryConfChange
    assert entries[1].data == ccdata


def test_raw_node_propose_add_duplicate_node() -> None:
    """Adding the same node twice does not stop a later addition of another node."""
    s = new_storage()
    raw_node = new_raw_node(1, [1], 10, 1, s)
    raw_node.campaign()
    run_until_leader(raw_node, s)

    def propose_conf_change_and_apply(cc: ConfChange) -> None:
        raw_node.propose_conf_change(b"", cc)
        rd = raw_node.ready()
        s.wl().append(rd.entries)
        assert rd.committed_entries is not None
        for e in rd.committed_entries:
            if e.entry_type == EntryType.EntryConfChange:
                # raft-rs drops the result (`.ok()`): adding an existing node fails.
                with contextlib.suppress(Error):
                    raw_node.apply_conf_change(decode_conf_change(e.data))
        raw_node.advance(rd)

    cc1 = conf_change(ConfChangeType.AddNode, 1)
    ccdata1 = encode_conf_change(cc1)
    propose_conf_change_and_apply(cc1)

    # add the same node again
    propose_conf_change_and_apply(conf_change(ConfChangeType.AddNode, 1))

    # a new node still joins
    cc2 = conf_change(ConfChangeType.AddNode, 2)
    ccdata2 = encode_conf_change(cc2)
    propose_conf_change_and_apply(cc2)

    last_index = s.last_index()

    # the last three entries: cc1, cc1, cc2
    entries = s.entries(last_index - 2, last_index + 1, None)
    assert len(entries) == 3
    assert entries[0].data == ccdata1
    assert entries[2].data == ccdata2


def test_raw_node_propose_add_learner_node() -> None:
    s = new_storage()
    raw_node = new_raw_node(1, [1], 10, 1, s)
    rd = raw_node.ready()
    s.wl().append(rd.entries)
    raw_node.advance(rd)

    raw_node.campaign()
    run_until_leader(raw_node, s)

    # propose adding a learner, then apply it
    cc = conf_change(ConfChangeType.AddLearnerNode, 2)
    raw_node.propose_conf_change(b"", cc)

    rd = raw_node.ready()
    s.wl().append(rd.entries)

    assert rd.committed_entries is not None and len(rd.committed_entries) == 1, (
        "the conf change entry should be committed"
    )

    e = rd.committed_entries[0]
    conf_state = raw_node.apply_conf_change(decode_conf_change(e.data))
    assert conf_state.nodes == [1]
    assert conf_state.learners == [2]


def test_raw_node_read_index() -> None:
    """read_index reaches raft, and the ReadState comes out in the next Ready."""
    wrequest_ctx = b"somedata"
    wrs = [ReadState(index=2, request_ctx=wrequest_ctx)]

    s = new_storage()
    raw_node = new_raw_node(1, [1], 10, 1, s)
    raw_node.campaign()
    run_until_leader(raw_node, s)
    # Once leader, ask for a read index.
    raw_node.read_index(wrequest_ctx)

    # the read state is there to be read
    assert raw_node.raft.read_states
    assert raw_node.has_ready()
    rd = raw_node.ready()
    assert rd.read_states == wrs
    s.wl().append(rd.entries)
    raw_node.advance(rd)

    # and advance clears it
    assert not raw_node.has_ready()
    assert not raw_node.raft.read_states


def test_raw_node_start() -> None:
    """A node starts correctly."""
    store = new_storage()
    raw_node = new_raw_node(1, [1], 10, 1, store)

    rd = raw_node.ready()
    must_cmp_ready(rd, None, None, [], [], False)

    store.wl().append(rd.entries)
    raw_node.advance(rd)

    raw_node.campaign()
    rd = raw_node.ready()
    store.wl().append(rd.entries)
    raw_node.advance(rd)

    raw_node.propose(b"", b"foo")
    rd = raw_node.ready()
    must_cmp_ready(
        rd,
        None,
        hard_state(2, 3, 1),
        [new_entry(2, 3, "foo")],
        [new_entry(2, 3, "foo")],
        False,
    )
    store.wl().append(rd.entries)
    raw_node.advance(rd)
    assert not raw_node.has_ready()


def test_raw_node_restart() -> None:
    entries = [empty_entry(1, 1), new_entry(1, 2, "foo")]

    store = new_storage()
    store.wl().set_hardstate(hard_state(1, 1, 0))
    store.wl().append(entries)
    raw_node = new_raw_node(1, [], 10, 1, store)

    rd = raw_node.ready()
    must_cmp_ready(rd, None, None, [], entries[:1], False)
    raw_node.advance(rd)
    assert not raw_node.has_ready()


def test_raw_node_restart_from_snapshot() -> None:
    snap = new_snapshot(2, 1, [1, 2])
    entries = [new_entry(1, 3, "foo")]

    first = new_raw_node(1, [], 10, 1, new_storage())
    store = first.raft.raft_log.store
    store.wl().apply_snapshot(snap)
    store.wl().append(entries)
    store.wl().set_hardstate(hard_state(1, 3, 0))
    raw_node = RawNode(new_test_config(1, 10, 1), store)

    rd = raw_node.ready()
    must_cmp_ready(rd, None, None, [], list(entries), False)
    raw_node.advance(rd)
    assert not raw_node.has_ready()


def test_skip_bcast_commit() -> None:
    """With skip_bcast_commit a leader sends no append just to spread its commit."""
    config: Config = new_test_config(1, 10, 1)
    config.skip_bcast_commit = True
    s = MemStorage.new_with_conf_state(([1, 2, 3], []))
    r1 = new_test_raft_with_config(config, s)
    r2 = new_test_raft(2, [1, 2, 3], 10, 1, new_storage())
    r3 = new_test_raft(3, [1, 2, 3], 10, 1, new_storage())
    nt = Network.new([r1, r2, r3])

    # elect node 1
    nt.send([new_message(1, 1, MessageType.MsgHup, 0)])

    # Without the commit broadcast the followers' commit lags behind.
    test_entries = Entry(data=b"testdata")
    msg = new_message_with_entries(1, 1, MessageType.MsgPropose, [test_entries])
    nt.send([msg])
    assert nt.peers[1].raft_log.committed == 3
    assert nt.peers[2].raft_log.committed == 2
    assert nt.peers[3].raft_log.committed == 2

    # Heartbeats tell the followers the real commit index.
    for _ in range(nt.peers[1].randomized_election_timeout):
        nt.peers[1].tick()
    nt.send([new_message(1, 1, MessageType.MsgHup, 0)])
    assert nt.peers[2].raft_log.committed == 3
    assert nt.peers[3].raft_log.committed == 3

    # The setting can change at run time.
    nt.peers[1].skip_bcast_commit = False
    nt.send([msg])
    assert nt.peers[1].raft_log.committed == 4
    assert nt.peers[2].raft_log.committed == 4
    assert nt.peers[3].raft_log.committed == 4

    nt.peers[1].skip_bcast_commit = True

    # A later proposal carries the commit of the one before.
    nt.send([msg])
    nt.send([msg])
    assert nt.peers[1].raft_log.committed == 6
    assert nt.peers[2].raft_log.committed == 5
    assert nt.peers[3].raft_log.committed == 5

    # A committed conf change is always broadcast.
    cc = ConfChange(change_type=ConfChangeType.RemoveNode, node_id=3)
    cc_entry = Entry(entry_type=EntryType.EntryConfChange, data=encode_conf_change(cc))
    nt.send([new_message_with_entries(1, 1, MessageType.MsgPropose, [cc_entry])])
    assert nt.peers[1].should_bcast_commit()
    assert nt.peers[2].should_bcast_commit()
    assert nt.peers[3].should_bcast_commit()

    assert nt.peers[1].raft_log.committed == 7
    assert nt.peers[2].raft_log.committed == 7
    assert nt.peers[3].raft_log.committed == 7
