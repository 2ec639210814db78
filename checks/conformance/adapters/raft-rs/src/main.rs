//! The raft crate 0.6.0-alpha behind raft-ref's conformance driver protocol.
//!
//! Reads one JSON request per line on stdin and writes one JSON answer per line on
//! stdout (see checks/conformance/PROTOCOL.md). The process hosts every node of one
//! cluster, each a `RawNode` over its own `MemStorage`, and plays the application's
//! part with each `Ready` exactly as the protocol prescribes.

use std::collections::HashMap;
use std::panic::{self, AssertUnwindSafe};

use protobuf::Message as PbMessage;
use raft::eraftpb::{
    ConfChange, ConfChangeType, ConfState, Entry, EntryType, Message, MessageType, Snapshot,
};
use raft::storage::{MemStorage, Storage};
use raft::{Config, Error, RawNode, ReadOnlyOption, SnapshotStatus, StateRole, StorageError};
use serde_json::{json, Map, Value};

#[path = "../../raft-rs-common/protocol.rs"]
mod protocol;
use protocol::*;

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
fn raft_failure(err: Error) -> Failure {
    let kind = match &err {
        Error::StepLocalMsg => "StepLocalMsg",
        Error::StepPeerNotFound => "StepPeerNotFound",
        Error::ProposalDropped => "ProposalDropped",
        Error::ConfigInvalid(_) => "ConfigInvalid",
        Error::Exists(_, _) => "Exists",
        Error::NotExists(_, _) => "NotExists",
        Error::InvalidState(_) => "InvalidState",
        Error::NoPendingMembershipChange => "NoPendingMembershipChange",
        Error::ViolatesContract(_) => "ViolatesContract",
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

fn conf_state(voters: Vec<u64>, learners: Vec<u64>) -> ConfState {
    ConfState {
        nodes: sorted(voters),
        learners: sorted(learners),
        ..Default::default()
    }
}

// --- the cluster --------------------------------------------------------------------

#[derive(Default)]
struct Host {
    // None marks a node that panicked: like a crashed process it answers nothing more.
    nodes: HashMap<u64, Option<Node>>,
}

impl Host {
    fn handle(&mut self, req: &Value) -> Answer {
        let cmd = req.get("cmd").and_then(Value::as_str).unwrap_or("");
        match cmd {
            "hello" => ok(json!({"version": PROTOCOL_VERSION, "name": "raft-rs 0.6.0-alpha"})),
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
        let store = if voters.is_empty() && learners.is_empty() {
            MemStorage::new()
        } else {
            bootstrapped(conf_state(voters, learners), index).map_err(raft_failure)?
        };
        let created = panic::catch_unwind(AssertUnwindSafe(|| RawNode::new(&config, store)));
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

/// A member's storage: a snapshot at `index` (at least 1), term 1, holding `conf`.
fn bootstrapped(conf: ConfState, index: u64) -> raft::Result<MemStorage> {
    let store = MemStorage::new_with_conf_state(conf.clone());
    if index > 1 {
        let mut snapshot = Snapshot::default();
        let meta = snapshot.mut_metadata();
        meta.index = index;
        meta.term = 1;
        meta.set_conf_state(conf);
        store.wl().apply_snapshot(snapshot)?;
    }
    Ok(store)
}

/// Only a node created with a fixed election timeout draws from the wide range that
/// lets the host set any value.

fn node_command(host_node: &mut Node, cmd: &str, req: &Value) -> Answer {
    if cmd == "set_election_timeout" {
        let timeout = uint(req, "timeout")? as usize;
        check_pinned(host_node.election_timeout)?;
        check_election_timeout(timeout, host_node.raw.raft.get_election_timeout())?;
        host_node.election_timeout = timeout;
        return ok(json!({}));
    }
    let node = &mut host_node.raw;
    match cmd {
        "tick" => {
            node.tick();
            ok(json!({}))
        }
        "campaign" => node
            .campaign()
            .map_err(raft_failure)
            .and_then(|_| ok(json!({}))),
        "propose" => {
            let data = bytes(req, "data")?;
            node.propose(vec![], data)
                .map_err(raft_failure)
                .and_then(|_| ok(json!({})))
        }
        "propose_conf_change" => {
            let change_type = match req.get("change_type").and_then(Value::as_str) {
                Some("AddNode") => ConfChangeType::AddNode,
                Some("RemoveNode") => ConfChangeType::RemoveNode,
                Some("AddLearnerNode") => ConfChangeType::AddLearnerNode,
                _ => {
                    return Err(bad_request(
                        "change_type must be AddNode, RemoveNode or AddLearnerNode",
                    ))
                }
            };
            let mut cc = ConfChange::default();
            cc.set_change_type(change_type);
            cc.node_id = uint(req, "node_id")?;
            node.propose_conf_change(vec![], cc)
                .map_err(raft_failure)
                .and_then(|_| ok(json!({})))
        }
        "propose_membership_change" => {
            let target = conf_state(ids(req, "voters")?, ids(req, "learners")?);
            node.raft
                .propose_membership_change(target)
                .map_err(raft_failure)
                .and_then(|_| ok(json!({})))
        }
        "step" => {
            let raw = bytes(req, "message")?;
            let msg: Message = Message::parse_from_bytes(&raw)
                .map_err(|e| bad_request(format!("malformed eraftpb.Message: {}", e)))?;
            node.step(msg)
                .map_err(raft_failure)
                .and_then(|_| ok(json!({})))
        }
        "ready" => ready(node),
        "compact" => {
            let index = uint(req, "index")?;
            node.mut_store().wl().compact(index).map_err(raft_failure)?;
            ok(json!({}))
        }
        "report_unreachable" => {
            node.report_unreachable(uint(req, "peer")?);
            ok(json!({}))
        }
        "report_snapshot" => {
            let status = match req.get("status").and_then(Value::as_str) {
                Some("Finish") => SnapshotStatus::Finish,
                Some("Failure") => SnapshotStatus::Failure,
                _ => return Err(bad_request("status must be 'Finish' or 'Failure'")),
            };
            node.report_snapshot(uint(req, "peer")?, status);
            ok(json!({}))
        }
        "transfer_leader" => {
            node.transfer_leader(uint(req, "transferee")?);
            ok(json!({}))
        }
        "read_index" => {
            node.read_index(bytes(req, "context")?);
            ok(json!({}))
        }
        "snapshot_message" => {
            let snapshot = node.get_store().snapshot(0).map_err(raft_failure)?;
            let mut msg = Message::default();
            msg.set_msg_type(MessageType::MsgSnapshot);
            msg.to = uint(req, "to")?;
            msg.from = node.raft.id;
            msg.term = node.raft.term;
            msg.set_snapshot(snapshot);
            ok(json!({ "message": encoded(&msg) }))
        }
        "state" => ok(json!({ "state": state(node) })),
        _ => Err(bad_request(format!("unknown command '{}'", cmd))),
    }
}

/// Takes a Ready, reports it, persists and applies it as the protocol prescribes, advances.
fn ready(node: &mut RawNode<MemStorage>) -> Answer {
    if !node.has_ready() {
        return ok(json!({"ready": null, "apply_errors": []}));
    }
    let mut rd = node.ready();
    let committed: Vec<Entry> = rd.committed_entries.take().unwrap_or_default();
    let snapshot: Snapshot = rd.snapshot().clone();
    let report = json!({
        "ss": rd.ss().map(|ss| json!({
            "leader_id": ss.leader_id,
            "role": format!("{:?}", ss.raft_state),
        })),
        "hs": rd.hs().map(|hs| json!({"term": hs.term, "vote": hs.vote, "commit": hs.commit})),
        "entries": rd.entries().iter().map(encoded).collect::<Vec<_>>(),
        "committed_entries": committed.iter().map(encoded).collect::<Vec<_>>(),
        "messages": rd.messages.iter().map(encoded).collect::<Vec<_>>(),
        "snapshot": if raft::is_empty_snap(&snapshot) { Value::Null } else { encoded(&snapshot) },
        "read_states": rd.read_states().iter().map(|rs| json!({
            "index": rs.index,
            "request_ctx": base64::encode(&rs.request_ctx),
        })).collect::<Vec<_>>(),
        "must_sync": rd.must_sync(),
    });
    {
        let store = node.mut_store();
        if !raft::is_empty_snap(&snapshot) {
            store.wl().apply_snapshot(snapshot).map_err(raft_failure)?;
        }
        store.wl().append(rd.entries()).map_err(raft_failure)?;
        if let Some(hs) = rd.hs() {
            store.wl().set_hardstate(hs.clone());
        }
    }
    let apply_errors = apply_committed(node, &committed);
    node.advance(rd);
    ok(json!({"ready": report, "apply_errors": apply_errors}))
}

/// Applies the committed configuration changes; returns the errors they raised.
fn apply_committed(node: &mut RawNode<MemStorage>, entries: &[Entry]) -> Vec<Value> {
    let mut errors = Vec::new();
    for entry in entries {
        if entry.get_entry_type() != EntryType::EntryConfChange || entry.data.is_empty() {
            continue;
        }
        let cc: ConfChange = match ConfChange::parse_from_bytes(&entry.data) {
            Ok(cc) => cc,
            Err(_) => {
                errors.push(json!({"index": entry.index, "error": "Other"}));
                continue;
            }
        };
        let applied = match cc.get_change_type() {
            ConfChangeType::BeginMembershipChange => node.raft.begin_membership_change(&cc),
            ConfChangeType::FinalizeMembershipChange => node.raft.finalize_membership_change(&cc),
            _ => node.apply_conf_change(&cc).map(|_| ()),
        };
        if let Err(err) = applied {
            errors.push(json!({"index": entry.index, "error": raft_failure(err).kind}));
        }
        store_configuration(node);
    }
    errors
}

fn store_configuration(node: &mut RawNode<MemStorage>) {
    let conf = node.raft.prs().configuration().clone();
    let current = conf_state(
        conf.voters().iter().cloned().collect(),
        conf.learners().iter().cloned().collect(),
    );
    let pending = node
        .raft
        .pending_membership_change()
        .as_ref()
        .and_then(|cc| {
            if cc.has_configuration() {
                let target = cc.get_configuration();
                Some((
                    conf_state(target.nodes.clone(), target.learners.clone()),
                    cc.start_index,
                ))
            } else {
                None
            }
        });
    node.mut_store().wl().set_conf_state(current, pending);
}

/// The leader's view of each peer; null on any other role.
fn progress(node: &RawNode<MemStorage>) -> Value {
    if node.raft.state != StateRole::Leader {
        return Value::Null;
    }
    let mut peers = Map::new();
    for (id, pr) in node.raft.prs().iter() {
        peers.insert(
            id.to_string(),
            json!({
                "state": format!("{:?}", pr.state),
                "match": pr.matched,
                "next": pr.next_idx,
                "paused": pr.is_paused(),
                "inflight": inflight_count(&pr.ins),
                "pending_snapshot": pr.pending_snapshot,
            }),
        );
    }
    Value::Object(peers)
}

/// 0.6.0-alpha keeps the number of inflight messages private; its Debug form shows it.
fn inflight_count(ins: &raft::Inflights) -> u64 {
    let text = format!("{:?}", ins);
    text.split("count: ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|digits| digits.parse().ok())
        .expect("Inflights' Debug form shows its count")
}

fn state(node: &RawNode<MemStorage>) -> Value {
    let raft = &node.raft;
    let log = &raft.raft_log;
    let (first, last) = (log.first_index(), log.last_index());
    let terms: Vec<u64> = (first..=last).map(|i| log.term(i).unwrap_or(0)).collect();
    let prs = raft.prs();
    let conf = prs.configuration();
    json!({
        "role": format!("{:?}", raft.state),
        "term": raft.term,
        "vote": raft.vote,
        "leader_id": raft.leader_id,
        "commit": log.committed,
        "applied": log.applied,
        "first_index": first,
        "last_index": last,
        "log_terms": terms,
        "voters": sorted(conf.voters().iter().cloned()),
        "learners": sorted(conf.learners().iter().cloned()),
        "next_voters": prs.next_configuration().as_ref().map(|c| sorted(c.voters().iter().cloned())),
        "progress": progress(node),
    })
}

fn main() {
    let mut host = Host::default();
    protocol::serve(|req| host.handle(req));
}
