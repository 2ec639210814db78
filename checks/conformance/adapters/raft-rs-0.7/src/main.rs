//! The raft crate 0.7.0 behind raft-ref's conformance driver protocol.
//!
//! Reads one JSON request per line on stdin and writes one JSON answer per line on
//! stdout (see checks/conformance/PROTOCOL.md). The process hosts every node of one
//! cluster, each a `RawNode` over its own `MemStorage`. Differences from the raft crate
//! 0.6.0-alpha it bridges:
//!   - `MemStorage::new_with_conf_state` starts an empty log at index 0; a node created
//!     with members starts from a snapshot at index 1, term 1 instead, as 0.6 does, so
//!     log indexes line up;
//!   - 0.6's Begin/Finalize joint consensus is gone: a membership change is proposed as
//!     one `ConfChangeV2` that 0.7 enters and leaves by itself (auto-leave);
//!   - one `ready` round is 0.7's Ready, its persistence, `advance` and the
//!     `LightReady` that follows: the reported messages and committed entries are those
//!     of both, in the order the crate hands them out.
//! Wire values are 0.7's eraftpb encoding; they travel only between 0.7 nodes.

use std::collections::HashMap;
use std::panic::{self, AssertUnwindSafe};

use protobuf::Message as PbMessage;
use raft::eraftpb::{
    ConfChange, ConfChangeSingle, ConfChangeType, ConfChangeV2, Entry, EntryType, HardState,
    Message, MessageType, Snapshot,
};
use raft::storage::{MemStorage, Storage};
use raft::{
    Config, Error, ProgressState, RawNode, ReadOnlyOption, SnapshotStatus, StateRole, StorageError,
};
use serde_json::{json, Map, Value};

#[path = "../../raft-rs-common/protocol.rs"]
mod protocol;
use protocol::*;
use slog::{o, Discard, Logger};

fn raft_failure(err: Error) -> Failure {
    let kind = match &err {
        Error::StepLocalMsg => "StepLocalMsg",
        Error::StepPeerNotFound => "StepPeerNotFound",
        Error::ProposalDropped => "ProposalDropped",
        Error::ConfigInvalid(_) => "ConfigInvalid",
        Error::Exists { .. } => "Exists",
        Error::NotExists { .. } => "NotExists",
        Error::RequestSnapshotDropped => "RequestSnapshotDropped",
        Error::Store(StorageError::Compacted) => "Compacted",
        Error::Store(StorageError::Unavailable) => "Unavailable",
        Error::Store(StorageError::SnapshotOutOfDate) => "SnapshotOutOfDate",
        Error::Store(StorageError::SnapshotTemporarilyUnavailable) => {
            "SnapshotTemporarilyUnavailable"
        }
        _ => "Other",
    };
    Failure {
        kind,
        detail: err.to_string(),
    }
}

// --- the cluster --------------------------------------------------------------------

struct Node {
    raw: RawNode<MemStorage>,
    /// The election timeout the node must use (0: the crate's own randomisation).
    election_timeout: usize,
}

impl Node {
    fn pin_election_timeout(&mut self) {
        if self.election_timeout > 0 {
            self.raw
                .raft
                .set_randomized_election_timeout(self.election_timeout);
        }
    }
}

#[derive(Default)]
struct Host {
    // None marks a node that panicked: like a crashed process it answers nothing more.
    nodes: HashMap<u64, Option<Node>>,
}

impl Host {
    fn handle(&mut self, req: &Value) -> Answer {
        let cmd = req.get("cmd").and_then(Value::as_str).unwrap_or("");
        match cmd {
            "hello" => ok(json!({"version": PROTOCOL_VERSION, "name": "raft-rs 0.7.0"})),
            "reset" => {
                self.nodes.clear();
                ok(json!({}))
            }
            "create" => self.create(req),
            "tick"
            | "campaign"
            | "propose"
            | "propose_conf_change"
            | "propose_membership_change"
            | "step"
            | "ready"
            | "compact"
            | "report_unreachable"
            | "report_snapshot"
            | "transfer_leader"
            | "read_index"
            | "set_election_timeout"
            | "snapshot_message"
            | "state" => self.on_node(cmd, req),
            _ => Err(bad_request(format!("unknown command '{}'", cmd))),
        }
    }

    fn create(&mut self, req: &Value) -> Answer {
        let id = uint(req, "node")?;
        if id == 0 || self.nodes.contains_key(&id) {
            return Err(bad_request(format!("node {} is zero or exists", id)));
        }
        let voters = ids(req, "voters")?;
        let learners = ids(req, "learners")?;
        let empty = json!({});
        let options = req.get("config").unwrap_or(&empty);
        let timeout = uint_or(options, "election_timeout", 0)? as usize;
        let read_only = match options.get("read_only").and_then(Value::as_str) {
            None | Some("Safe") => ReadOnlyOption::Safe,
            Some("LeaseBased") => ReadOnlyOption::LeaseBased,
            Some(other) => return Err(bad_request(format!("unknown read_only '{}'", other))),
        };
        let mut config = Config {
            id,
            election_tick: uint_or(options, "election_tick", 10)? as usize,
            heartbeat_tick: uint_or(options, "heartbeat_tick", 1)? as usize,
            max_size_per_msg: uint_or(options, "max_size_per_msg", 0)?,
            max_inflight_msgs: uint_or(options, "max_inflight_msgs", 256)? as usize,
            check_quorum: flag(options, "check_quorum")?,
            pre_vote: flag(options, "pre_vote")?,
            read_only_option: read_only,
            skip_bcast_commit: flag(options, "skip_bcast_commit")?,
            ..Default::default()
        };
        if timeout > 0 {
            check_election_timeout(timeout, config.election_tick)?;
            config.min_election_tick = config.election_tick;
            config.max_election_tick = ELECTION_TICK_CEILING;
        }
        let index = uint_or(req, "index", 1)?;
        if index == 0 {
            return Err(bad_request("field 'index' must be at least 1"));
        }
        let store = MemStorage::new();
        if !voters.is_empty() || !learners.is_empty() {
            bootstrap(&store, voters, learners, index).map_err(raft_failure)?;
        }
        let logger = Logger::root(Discard, o!());
        let created =
            panic::catch_unwind(AssertUnwindSafe(|| RawNode::new(&config, store, &logger)));
        match created {
            Ok(Ok(raw)) => {
                let mut node = Node {
                    raw,
                    election_timeout: timeout,
                };
                node.pin_election_timeout();
                self.nodes.insert(id, Some(node));
                ok(json!({}))
            }
            Ok(Err(err)) => Err(raft_failure(err)),
            Err(_) => Err(Failure {
                kind: "Panic",
                detail: "RawNode::new panicked".into(),
            }),
        }
    }

    fn on_node(&mut self, cmd: &str, req: &Value) -> Answer {
        let id = uint(req, "node")?;
        let slot = self
            .nodes
            .get_mut(&id)
            .ok_or_else(|| bad_request(format!("no node {}", id)))?;
        let node = match slot {
            Some(node) => node,
            None => {
                return Err(Failure {
                    kind: "NodeDead",
                    detail: format!("node {} panicked", id),
                })
            }
        };
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
            let answer = node_command(node, cmd, req);
            node.pin_election_timeout();
            answer
        }));
        match outcome {
            Ok(answer) => answer,
            Err(cause) => {
                *slot = None;
                let what = cause
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| cause.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "panic".into());
                let detail = format!("{} at {}", what, PANIC_PLACE.with(|p| p.borrow().clone()));
                Err(Failure {
                    kind: "Panic",
                    detail,
                })
            }
        }
    }
}

/// Only a node created with a fixed election timeout draws from the wide range that
/// lets the host set any value.

/// The storage of a member: a snapshot at `index`, term 1 holding the configuration.
fn bootstrap(
    store: &MemStorage,
    voters: Vec<u64>,
    learners: Vec<u64>,
    index: u64,
) -> raft::Result<()> {
    let mut snap = Snapshot::default();
    let meta = snap.mut_metadata();
    meta.index = index;
    meta.term = 1;
    meta.mut_conf_state().voters = sorted(voters);
    meta.mut_conf_state().learners = sorted(learners);
    store.wl().apply_snapshot(snap)
}

fn node_command(node: &mut Node, cmd: &str, req: &Value) -> Answer {
    let raw = &mut node.raw;
    match cmd {
        "tick" => {
            raw.tick();
            ok(json!({}))
        }
        "campaign" => raw
            .campaign()
            .map_err(raft_failure)
            .and_then(|_| ok(json!({}))),
        "propose" => {
            let data = bytes(req, "data")?;
            raw.propose(vec![], data)
                .map_err(raft_failure)
                .and_then(|_| ok(json!({})))
        }
        "propose_conf_change" => {
            let mut cc = ConfChange::default();
            cc.set_change_type(change_type(req)?);
            cc.node_id = uint(req, "node_id")?;
            raw.propose_conf_change(vec![], cc)
                .map_err(raft_failure)
                .and_then(|_| ok(json!({})))
        }
        "propose_membership_change" => {
            let cc = membership_change(raw, ids(req, "voters")?, ids(req, "learners")?);
            raw.propose_conf_change(vec![], cc)
                .map_err(raft_failure)
                .and_then(|_| ok(json!({})))
        }
        "step" => {
            let data = bytes(req, "message")?;
            let msg: Message = Message::parse_from_bytes(&data)
                .map_err(|e| bad_request(format!("malformed eraftpb.Message: {}", e)))?;
            raw.step(msg)
                .map_err(raft_failure)
                .and_then(|_| ok(json!({})))
        }
        "ready" => ready(raw),
        "compact" => {
            let index = uint(req, "index")?;
            raw.mut_store().wl().compact(index).map_err(raft_failure)?;
            ok(json!({}))
        }
        "report_unreachable" => {
            raw.report_unreachable(uint(req, "peer")?);
            ok(json!({}))
        }
        "report_snapshot" => {
            let status = match req.get("status").and_then(Value::as_str) {
                Some("Finish") => SnapshotStatus::Finish,
                Some("Failure") => SnapshotStatus::Failure,
                _ => return Err(bad_request("status must be 'Finish' or 'Failure'")),
            };
            raw.report_snapshot(uint(req, "peer")?, status);
            ok(json!({}))
        }
        "transfer_leader" => {
            raw.transfer_leader(uint(req, "transferee")?);
            ok(json!({}))
        }
        "read_index" => {
            raw.read_index(bytes(req, "context")?);
            ok(json!({}))
        }
        "set_election_timeout" => {
            let timeout = uint(req, "timeout")? as usize;
            check_pinned(node.election_timeout)?;
            check_election_timeout(timeout, raw.raft.election_timeout())?;
            node.election_timeout = timeout;
            ok(json!({}))
        }
        "snapshot_message" => {
            let to = uint(req, "to")?;
            let snapshot = raw.store().snapshot(0, to).map_err(raft_failure)?;
            let mut msg = Message::default();
            msg.set_msg_type(MessageType::MsgSnapshot);
            msg.to = to;
            msg.from = raw.raft.id;
            msg.term = raw.raft.term;
            msg.set_snapshot(snapshot);
            ok(json!({ "message": encoded(&msg) }))
        }
        "state" => ok(json!({ "state": state(raw) })),
        _ => Err(bad_request(format!("unknown command '{}'", cmd))),
    }
}

fn change_type(req: &Value) -> Result<ConfChangeType, Failure> {
    match req.get("change_type").and_then(Value::as_str) {
        Some("AddNode") => Ok(ConfChangeType::AddNode),
        Some("RemoveNode") => Ok(ConfChangeType::RemoveNode),
        Some("AddLearnerNode") => Ok(ConfChangeType::AddLearnerNode),
        _ => Err(bad_request(
            "change_type must be AddNode, RemoveNode or AddLearnerNode",
        )),
    }
}

/// The single changes from the current configuration to the target, as one
/// `ConfChangeV2` with automatic leaving of the joint configuration.
fn membership_change(
    raw: &RawNode<MemStorage>,
    voters: Vec<u64>,
    learners: Vec<u64>,
) -> ConfChangeV2 {
    let current = raw.raft.prs().conf().to_conf_state();
    let mut changes = Vec::new();
    let mut change = |change_type: ConfChangeType, node_id: u64| {
        let mut single = ConfChangeSingle::default();
        single.set_change_type(change_type);
        single.node_id = node_id;
        changes.push(single);
    };
    for id in sorted(voters.iter().cloned()) {
        if !current.voters.contains(&id) {
            change(ConfChangeType::AddNode, id);
        }
    }
    for id in sorted(learners.iter().cloned()) {
        if !current.learners.contains(&id) {
            change(ConfChangeType::AddLearnerNode, id);
        }
    }
    for id in sorted(current.voters.iter().chain(&current.learners).cloned()) {
        if !voters.contains(&id) && !learners.contains(&id) {
            change(ConfChangeType::RemoveNode, id);
        }
    }
    let mut cc = ConfChangeV2::default();
    cc.set_changes(changes.into());
    cc
}

/// One round: takes a Ready, persists it, applies what is committed, advances, and
/// handles the LightReady that follows; reports what both handed out.
fn ready(raw: &mut RawNode<MemStorage>) -> Answer {
    if !raw.has_ready() {
        return ok(json!({"ready": null, "apply_errors": []}));
    }
    let mut rd = raw.ready();
    let mut messages = rd.take_messages();
    let mut committed = rd.take_committed_entries();
    let snapshot: Snapshot = rd.snapshot().clone();
    let ss = rd.ss().map(|ss| {
        json!({
            "leader_id": ss.leader_id,
            "role": role_name(ss.raft_state),
        })
    });
    let mut hs: Option<HardState> = rd.hs().cloned();
    let entries: Vec<Value> = rd.entries().iter().map(encoded).collect();
    let read_states: Vec<Value> = rd
        .read_states()
        .iter()
        .map(|rs| {
            json!({
                "index": rs.index,
                "request_ctx": base64::encode(&rs.request_ctx),
            })
        })
        .collect();
    let must_sync = rd.must_sync();
    {
        let store = raw.mut_store();
        if !snapshot.is_empty() {
            store
                .wl()
                .apply_snapshot(snapshot.clone())
                .map_err(raft_failure)?;
        }
        store.wl().append(rd.entries()).map_err(raft_failure)?;
        if let Some(hs) = rd.hs() {
            store.wl().set_hardstate(hs.clone());
        }
    }
    messages.extend(rd.take_persisted_messages());
    let mut apply_errors = apply_committed(raw, &committed);
    let mut light = raw.advance_append(rd);
    if let Some(commit) = light.commit_index() {
        raw.mut_store().wl().mut_hard_state().commit = commit;
        let mut merged = hs.unwrap_or_else(|| raw.raft.hard_state());
        merged.commit = commit;
        hs = Some(merged);
    }
    messages.extend(light.take_messages());
    let more = light.take_committed_entries();
    apply_errors.extend(apply_committed(raw, &more));
    committed.extend(more);
    raw.advance_apply();
    let report = json!({
        "ss": ss,
        "hs": hs.map(|hs| json!({"term": hs.term, "vote": hs.vote, "commit": hs.commit})),
        "entries": entries,
        "committed_entries": committed.iter().map(encoded).collect::<Vec<_>>(),
        "messages": messages.iter().map(encoded).collect::<Vec<_>>(),
        "snapshot": if snapshot.is_empty() { Value::Null } else { encoded(&snapshot) },
        "read_states": read_states,
        "must_sync": must_sync,
    });
    ok(json!({"ready": report, "apply_errors": apply_errors}))
}

fn role_name(role: StateRole) -> String {
    format!("{:?}", role)
}

/// Applies the committed configuration changes; returns the errors they raised.
fn apply_committed(raw: &mut RawNode<MemStorage>, entries: &[Entry]) -> Vec<Value> {
    let mut errors = Vec::new();
    for entry in entries {
        if entry.data.is_empty() && entry.get_entry_type() == EntryType::EntryConfChange {
            continue;
        }
        let applied = match entry.get_entry_type() {
            EntryType::EntryConfChange => ConfChange::parse_from_bytes(&entry.data)
                .map_err(|_| "Other")
                .and_then(|cc| raw.apply_conf_change(&cc).map_err(|e| raft_failure(e).kind)),
            EntryType::EntryConfChangeV2 => ConfChangeV2::parse_from_bytes(&entry.data)
                .map_err(|_| "Other")
                .and_then(|cc| raw.apply_conf_change(&cc).map_err(|e| raft_failure(e).kind)),
            EntryType::EntryNormal => continue,
        };
        match applied {
            Ok(conf) => raw.mut_store().wl().set_conf_state(conf),
            Err(kind) => errors.push(json!({"index": entry.index, "error": kind})),
        }
    }
    errors
}

fn progress_state_name(state: ProgressState) -> String {
    format!("{:?}", state)
}

/// The leader's view of each peer; null on any other role.
fn progress(raw: &RawNode<MemStorage>) -> Value {
    if raw.raft.state != StateRole::Leader {
        return Value::Null;
    }
    let mut peers = Map::new();
    for (id, pr) in raw.raft.prs().iter() {
        peers.insert(
            id.to_string(),
            json!({
                "state": progress_state_name(pr.state),
                "match": pr.matched,
                "next": pr.next_idx,
                "paused": pr.is_paused(),
                "inflight": pr.ins.count(),
                "pending_snapshot": pr.pending_snapshot,
            }),
        );
    }
    Value::Object(peers)
}

fn state(raw: &RawNode<MemStorage>) -> Value {
    let raft = &raw.raft;
    let log = &raft.raft_log;
    let (first, last) = (log.first_index(), log.last_index());
    let terms: Vec<u64> = (first..=last).map(|i| log.term(i).unwrap_or(0)).collect();
    let conf = raft.prs().conf().to_conf_state();
    // Joint: the protocol (raft-rs 0.6's naming) calls the outgoing voters current and
    // the incoming voters next.
    let (voters, next_voters) = if conf.voters_outgoing.is_empty() {
        (sorted(conf.voters.clone()), Value::Null)
    } else {
        (
            sorted(conf.voters_outgoing.clone()),
            json!(sorted(conf.voters.clone())),
        )
    };
    json!({
        "role": role_name(raft.state),
        "term": raft.term,
        "vote": raft.vote,
        "leader_id": raft.leader_id,
        "commit": log.committed,
        "applied": log.applied,
        "first_index": first,
        "last_index": last,
        "log_terms": terms,
        "voters": voters,
        "learners": sorted(conf.learners.clone()),
        "next_voters": next_voters,
        "progress": progress(raw),
    })
}

fn main() {
    let mut host = Host::default();
    protocol::serve(|req| host.handle(req));
}
