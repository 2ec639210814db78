// Command etcd-conformance-adapter puts etcd's raft (go.etcd.io/raft/v3) behind
// raft-ref's conformance driver protocol (checks/conformance/PROTOCOL.md).
//
// It reads one JSON request per line on stdin and writes one JSON answer per line
// on stdout. The process hosts every node of one cluster, each a RawNode over its
// own MemoryStorage. Differences from raft-rs 0.6.0-alpha it bridges:
//   - a node created with members starts from a snapshot at index 1, term 1 holding
//     that configuration, as raft-rs's MemStorage::new_with_conf_state does, so log
//     indexes line up (etcd's own bootstrap appends conf-change entries instead);
//   - a membership change (raft-rs's Begin/Finalize) is proposed as one ConfChangeV2
//     with automatic leaving of the joint configuration;
//   - the election timeout cannot be fixed: etcd draws it from crypto/rand.
package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"os"
	"sort"
	"strings"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

const protocolVersion = 1

type answer = map[string]any

type failure struct {
	kind   string
	detail string
}

func (f failure) Error() string { return f.kind + ": " + f.detail }

func badRequest(format string, args ...any) failure {
	return failure{"BadRequest", fmt.Sprintf(format, args...)}
}

func raftFailure(err error) failure {
	kinds := []struct {
		err  error
		kind string
	}{
		{raft.ErrProposalDropped, "ProposalDropped"},
		{raft.ErrStepLocalMsg, "StepLocalMsg"},
		{raft.ErrStepPeerNotFound, "StepPeerNotFound"},
		{raft.ErrCompacted, "Compacted"},
		{raft.ErrSnapOutOfDate, "SnapshotOutOfDate"},
		{raft.ErrUnavailable, "Unavailable"},
		{raft.ErrSnapshotTemporarilyUnavailable, "SnapshotTemporarilyUnavailable"},
	}
	for _, k := range kinds {
		if errors.Is(err, k.err) {
			return failure{k.kind, err.Error()}
		}
	}
	if strings.Contains(err.Error(), "invalid") || strings.Contains(err.Error(), "cannot be") {
		return failure{"ConfigInvalid", err.Error()}
	}
	return failure{"Other", err.Error()}
}

// --- request fields ------------------------------------------------------------------

type request map[string]any

func (r request) uint(key string) (uint64, error) {
	v, ok := r[key].(float64)
	if !ok || v < 0 || v >= 1<<64 || v != float64(uint64(v)) {
		return 0, badRequest("field '%s' must be a non-negative integer", key)
	}
	return uint64(v), nil
}

func (r request) uintOr(key string, def uint64) (uint64, error) {
	if _, ok := r[key]; !ok {
		return def, nil
	}
	return r.uint(key)
}

func (r request) flag(key string) (bool, error) {
	raw, ok := r[key]
	if !ok {
		return false, nil
	}
	v, ok := raw.(bool)
	if !ok {
		return false, badRequest("field '%s' must be true or false", key)
	}
	return v, nil
}

func (r request) ids(key string) ([]uint64, error) {
	raw, ok := r[key]
	if !ok {
		return nil, nil
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, badRequest("field '%s' must be a list", key)
	}
	out := make([]uint64, 0, len(list))
	for _, item := range list {
		v, ok := item.(float64)
		if !ok || v <= 0 {
			return nil, badRequest("field '%s' must list positive ids", key)
		}
		out = append(out, uint64(v))
	}
	return out, nil
}

func (r request) bytes(key string) ([]byte, error) {
	raw, ok := r[key]
	if !ok {
		return nil, nil
	}
	text, ok := raw.(string)
	if !ok {
		return nil, badRequest("field '%s' must be a base64 string", key)
	}
	data, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		return nil, badRequest("bad base64 in '%s': %v", key, err)
	}
	return data, nil
}

func (r request) object(key string) (request, error) {
	raw, ok := r[key]
	if !ok {
		return request{}, nil
	}
	obj, ok := raw.(map[string]any)
	if !ok {
		return nil, badRequest("field '%s' must be an object", key)
	}
	return request(obj), nil
}

func encoded(m proto.Message) string {
	data, err := proto.Marshal(m)
	if err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(data)
}

func sorted(ids []uint64) []uint64 {
	out := append([]uint64{}, ids...)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func setIDs(set map[uint64]struct{}) []uint64 {
	out := make([]uint64, 0, len(set))
	for id := range set {
		out = append(out, id)
	}
	return sorted(out)
}

// roleName maps etcd's StateType to the protocol's (raft-rs's) role names.
func roleName(st raft.StateType) string {
	return strings.TrimPrefix(st.String(), "State")
}

// --- the cluster -------------------------------------------------------------------

type node struct {
	raw     *raft.RawNode
	storage *raft.MemoryStorage
	conf    *pb.ConfState // the configuration as last applied
	dead    bool
}

type host struct {
	nodes map[uint64]*node
}

func (h *host) handle(req request) (result answer, err error) {
	cmd, _ := req["cmd"].(string)
	switch cmd {
	case "hello":
		return answer{"version": protocolVersion, "name": "etcd raft v3"}, nil
	case "reset":
		h.nodes = map[uint64]*node{}
		return answer{}, nil
	case "create":
		return h.create(req)
	}
	id, err := req.uint("node")
	if err != nil {
		return nil, err
	}
	n, ok := h.nodes[id]
	if !ok {
		return nil, badRequest("no node %d", id)
	}
	if n.dead {
		return nil, failure{"NodeDead", fmt.Sprintf("node %d panicked", id)}
	}
	defer func() {
		if cause := recover(); cause != nil {
			n.dead = true
			result, err = nil, failure{"Panic", fmt.Sprint(cause)}
		}
	}()
	return n.command(cmd, req)
}

func (h *host) create(req request) (answer, error) {
	id, err := req.uint("node")
	if err != nil {
		return nil, err
	}
	if _, exists := h.nodes[id]; exists || id == 0 {
		return nil, badRequest("node %d is zero or exists", id)
	}
	voters, err := req.ids("voters")
	if err != nil {
		return nil, err
	}
	learners, err := req.ids("learners")
	if err != nil {
		return nil, err
	}
	opts, err := req.object("config")
	if err != nil {
		return nil, err
	}
	var electionTick, heartbeatTick, maxSize, maxInflight uint64
	for _, field := range []struct {
		key  string
		def  uint64
		into *uint64
	}{
		{"election_tick", 10, &electionTick},
		{"heartbeat_tick", 1, &heartbeatTick},
		{"max_size_per_msg", 0, &maxSize},
		{"max_inflight_msgs", 256, &maxInflight},
	} {
		if *field.into, err = opts.uintOr(field.key, field.def); err != nil {
			return nil, err
		}
	}
	// etcd keeps these as int: a larger value would wrap around.
	if electionTick > math.MaxInt32 || heartbeatTick > math.MaxInt32 || maxInflight > math.MaxInt32 {
		return nil, badRequest("config: election_tick, heartbeat_tick and max_inflight_msgs must be below 2^31")
	}
	if _, err := opts.uintOr("election_timeout", 0); err != nil {
		return nil, err
	}
	readOnly := raft.ReadOnlySafe
	switch mode := opts["read_only"]; mode {
	case nil, "Safe":
	case "LeaseBased":
		readOnly = raft.ReadOnlyLeaseBased
	default:
		return nil, badRequest("unknown read_only %v", mode)
	}
	var preVote, checkQuorum bool
	if preVote, err = opts.flag("pre_vote"); err != nil {
		return nil, err
	}
	if checkQuorum, err = opts.flag("check_quorum"); err != nil {
		return nil, err
	}
	// etcd has no skip_bcast_commit; the flag is checked and otherwise ignored.
	if _, err = opts.flag("skip_bcast_commit"); err != nil {
		return nil, err
	}
	index, err := req.uintOr("index", 1)
	if err != nil {
		return nil, err
	}
	if index == 0 {
		return nil, badRequest("field 'index' must be at least 1")
	}
	storage := raft.NewMemoryStorage()
	conf := &pb.ConfState{Voters: sorted(voters), Learners: sorted(learners)}
	if len(voters)+len(learners) > 0 {
		snap := &pb.Snapshot{Metadata: &pb.SnapshotMetadata{
			ConfState: conf, Index: proto.Uint64(index), Term: proto.Uint64(1),
		}}
		if err := storage.ApplySnapshot(snap); err != nil {
			return nil, raftFailure(err)
		}
		// raft-rs's storage also starts at term 1, so the first election is term 2.
		hs := &pb.HardState{Term: proto.Uint64(1), Commit: proto.Uint64(index)}
		if err := storage.SetHardState(hs); err != nil {
			return nil, raftFailure(err)
		}
	}
	config := &raft.Config{
		ID:              id,
		ElectionTick:    int(electionTick),
		HeartbeatTick:   int(heartbeatTick),
		Storage:         storage,
		MaxSizePerMsg:   maxSize,
		MaxInflightMsgs: int(maxInflight),
		CheckQuorum:     checkQuorum,
		PreVote:         preVote,
		ReadOnlyOption:  readOnly,
		Logger:          &raft.DefaultLogger{Logger: log.New(io.Discard, "", 0)},
	}
	// raft-rs hands out every committed entry in one Ready. etcd defaults this limit
	// to MaxSizePerMsg, and with 0 (one entry per message) it panics at the first
	// commit ("applying entry size ... not positive").
	config.MaxCommittedSizePerReady = math.MaxUint64
	raw, err := newRawNode(config)
	if err != nil {
		return nil, err
	}
	h.nodes[id] = &node{raw: raw, storage: storage, conf: conf}
	return answer{}, nil
}

// newRawNode reports an invalid configuration as ConfigInvalid: etcd's raft panics on
// one, where raft-rs returns an error.
func newRawNode(config *raft.Config) (raw *raft.RawNode, err error) {
	defer func() {
		if cause := recover(); cause != nil {
			raw, err = nil, failure{"ConfigInvalid", fmt.Sprint(cause)}
		}
	}()
	raw, err = raft.NewRawNode(config)
	if err != nil {
		return nil, raftFailure(err)
	}
	return raw, nil
}

func (n *node) command(cmd string, req request) (answer, error) {
	switch cmd {
	case "tick":
		n.raw.Tick()
	case "campaign":
		if err := n.raw.Campaign(); err != nil {
			return nil, raftFailure(err)
		}
	case "propose":
		data, err := req.bytes("data")
		if err != nil {
			return nil, err
		}
		if err := n.raw.Propose(data); err != nil {
			return nil, raftFailure(err)
		}
	case "propose_conf_change":
		return n.proposeConfChange(req)
	case "propose_membership_change":
		return n.proposeMembershipChange(req)
	case "step":
		data, err := req.bytes("message")
		if err != nil {
			return nil, err
		}
		msg := &pb.Message{}
		if err := proto.Unmarshal(data, msg); err != nil {
			return nil, badRequest("malformed raftpb.Message: %v", err)
		}
		if err := n.raw.Step(msg); err != nil {
			return nil, raftFailure(err)
		}
	case "ready":
		return n.ready()
	case "compact":
		return n.compact(req)
	case "report_unreachable":
		peer, err := req.uint("peer")
		if err != nil {
			return nil, err
		}
		n.raw.ReportUnreachable(peer)
	case "report_snapshot":
		peer, err := req.uint("peer")
		if err != nil {
			return nil, err
		}
		var status raft.SnapshotStatus
		switch s := req["status"]; s {
		case "Finish":
			status = raft.SnapshotFinish
		case "Failure":
			status = raft.SnapshotFailure
		default:
			return nil, badRequest("status must be 'Finish' or 'Failure'")
		}
		n.raw.ReportSnapshot(peer, status)
	case "transfer_leader":
		to, err := req.uint("transferee")
		if err != nil {
			return nil, err
		}
		n.raw.TransferLeader(to)
	case "read_index":
		ctx, err := req.bytes("context")
		if err != nil {
			return nil, err
		}
		n.raw.ReadIndex(ctx)
	case "snapshot_message":
		return n.snapshotMessage(req)
	case "set_election_timeout":
		// etcd draws the timeout from crypto/rand and offers no setter outside its tests.
		return nil, failure{"Unsupported", "etcd's raft cannot fix a node's election timeout"}
	case "state":
		return answer{"state": n.state()}, nil
	default:
		return nil, badRequest("unknown command '%s'", cmd)
	}
	return answer{}, nil
}

// snapshotMessage is a MsgSnap carrying the node's storage snapshot, as an application
// sending a snapshot by itself would build it.
func (n *node) snapshotMessage(req request) (answer, error) {
	to, err := req.uint("to")
	if err != nil {
		return nil, err
	}
	snap, err := n.storage.Snapshot()
	if err != nil {
		return nil, raftFailure(err)
	}
	st := n.raw.BasicStatus()
	msg := &pb.Message{
		Type:     pb.MessageType_MsgSnap.Enum(),
		To:       proto.Uint64(to),
		From:     proto.Uint64(st.ID),
		Term:     proto.Uint64(st.HardState.GetTerm()),
		Snapshot: snap,
	}
	return answer{"message": encoded(msg)}, nil
}

func (n *node) proposeConfChange(req request) (answer, error) {
	target, err := req.uint("node_id")
	if err != nil {
		return nil, err
	}
	types := map[string]pb.ConfChangeType{
		"AddNode":        pb.ConfChangeType_ConfChangeAddNode,
		"RemoveNode":     pb.ConfChangeType_ConfChangeRemoveNode,
		"AddLearnerNode": pb.ConfChangeType_ConfChangeAddLearnerNode,
	}
	name, _ := req["change_type"].(string)
	kind, ok := types[name]
	if !ok {
		return nil, badRequest("change_type must be AddNode, RemoveNode or AddLearnerNode")
	}
	cc := &pb.ConfChange{Type: kind.Enum(), NodeId: proto.Uint64(target)}
	if err := n.raw.ProposeConfChange(cc); err != nil {
		return nil, raftFailure(err)
	}
	return answer{}, nil
}

// proposeMembershipChange turns a target configuration into one ConfChangeV2 of
// single changes; etcd enters the joint configuration and leaves it by itself.
func (n *node) proposeMembershipChange(req request) (answer, error) {
	voters, err := req.ids("voters")
	if err != nil {
		return nil, err
	}
	learners, err := req.ids("learners")
	if err != nil {
		return nil, err
	}
	status := n.raw.Status()
	current := status.Config.Voters.IDs()
	wanted := map[uint64]bool{}
	var changes []*pb.ConfChangeSingle
	add := func(t pb.ConfChangeType, id uint64) {
		changes = append(changes, &pb.ConfChangeSingle{Type: t.Enum(), NodeId: proto.Uint64(id)})
	}
	for _, id := range voters {
		wanted[id] = true
		if _, ok := current[id]; !ok {
			add(pb.ConfChangeType_ConfChangeAddNode, id)
		}
	}
	for _, id := range learners {
		wanted[id] = true
		if _, ok := status.Config.Learners[id]; !ok {
			add(pb.ConfChangeType_ConfChangeAddLearnerNode, id)
		}
	}
	for _, id := range setIDs(current) {
		if !wanted[id] {
			add(pb.ConfChangeType_ConfChangeRemoveNode, id)
		}
	}
	for _, id := range setIDs(status.Config.Learners) {
		if !wanted[id] {
			add(pb.ConfChangeType_ConfChangeRemoveNode, id)
		}
	}
	cc := &pb.ConfChangeV2{Changes: changes}
	if err := n.raw.ProposeConfChange(cc); err != nil {
		return nil, raftFailure(err)
	}
	return answer{}, nil
}

// ready takes a Ready, reports it, persists and applies it, and advances.
func (n *node) ready() (answer, error) {
	if !n.raw.HasReady() {
		return answer{"ready": nil, "apply_errors": []any{}}, nil
	}
	rd := n.raw.Ready()
	report := answer{
		"ss":                nil,
		"hs":                nil,
		"entries":           encodeEntries(rd.Entries),
		"committed_entries": encodeEntries(rd.CommittedEntries),
		"messages":          encodeMessages(rd.Messages),
		"snapshot":          nil,
		"read_states":       readStates(rd.ReadStates),
		"must_sync":         rd.MustSync,
	}
	if rd.SoftState != nil {
		report["ss"] = answer{"leader_id": rd.SoftState.Lead, "role": roleName(rd.SoftState.RaftState)}
	}
	if rd.HardState != nil && !raft.IsEmptyHardState(rd.HardState) {
		hs := rd.HardState
		report["hs"] = answer{"term": hs.GetTerm(), "vote": hs.GetVote(), "commit": hs.GetCommit()}
	}
	if rd.Snapshot != nil && !raft.IsEmptySnap(rd.Snapshot) {
		report["snapshot"] = encoded(rd.Snapshot)
		if err := n.storage.ApplySnapshot(rd.Snapshot); err != nil {
			return nil, raftFailure(err)
		}
		n.conf = rd.Snapshot.GetMetadata().GetConfState()
	}
	if err := n.storage.Append(rd.Entries); err != nil {
		return nil, raftFailure(err)
	}
	if rd.HardState != nil && !raft.IsEmptyHardState(rd.HardState) {
		if err := n.storage.SetHardState(rd.HardState); err != nil {
			return nil, raftFailure(err)
		}
	}
	applyErrors := n.applyCommitted(rd.CommittedEntries)
	n.raw.Advance(rd)
	return answer{"ready": report, "apply_errors": applyErrors}, nil
}

// applyCommitted applies committed configuration changes, then records the applied
// state in the storage's snapshot, so a snapshot sent later carries it.
func (n *node) applyCommitted(entries []*pb.Entry) []any {
	errs := []any{}
	for _, e := range entries {
		var cc pb.ConfChangeI
		switch e.GetType() {
		case pb.EntryType_EntryConfChange:
			c := &pb.ConfChange{}
			if err := proto.Unmarshal(e.Data, c); err != nil {
				errs = append(errs, answer{"index": e.GetIndex(), "error": "Other"})
				continue
			}
			cc = c
		case pb.EntryType_EntryConfChangeV2:
			c := &pb.ConfChangeV2{}
			if err := proto.Unmarshal(e.Data, c); err != nil {
				errs = append(errs, answer{"index": e.GetIndex(), "error": "Other"})
				continue
			}
			cc = c
		default:
			continue
		}
		n.conf = n.raw.ApplyConfChange(cc)
	}
	if len(entries) > 0 {
		last := entries[len(entries)-1].GetIndex()
		if err := n.snapshotAt(last); err != nil {
			errs = append(errs, answer{"index": last, "error": raftFailure(err).kind})
		}
	}
	return errs
}

// snapshotAt makes the storage's snapshot cover everything applied up to index, with
// the configuration as applied: raft-rs's MemStorage builds its snapshot at the commit
// index on demand, so a snapshot the leader sends is never older than its applied state.
func (n *node) snapshotAt(index uint64) error {
	if _, err := n.storage.CreateSnapshot(index, n.conf, nil); err != nil &&
		!errors.Is(err, raft.ErrSnapOutOfDate) {
		return err
	}
	return nil
}

func (n *node) compact(req request) (answer, error) {
	index, err := req.uint("index")
	if err != nil {
		return nil, err
	}
	// The protocol's compact(i) makes i the first index, as raft-rs's MemStorage does;
	// etcd's Compact(i) keeps i as the log's dummy entry, so its first index is i + 1.
	if index <= 1 {
		return answer{}, nil
	}
	last := index - 1
	if err := n.snapshotAt(max(n.raw.Status().Applied, last)); err != nil {
		return nil, raftFailure(err)
	}
	if err := n.storage.Compact(last); err != nil && !errors.Is(err, raft.ErrCompacted) {
		return nil, raftFailure(err)
	}
	return answer{}, nil
}

func (n *node) state() answer {
	st := n.raw.Status()
	first, _ := n.storage.FirstIndex()
	last, _ := n.storage.LastIndex()
	terms := []uint64{}
	for i := first; i <= last; i++ {
		t, err := n.storage.Term(i)
		if err != nil {
			t = 0
		}
		terms = append(terms, t)
	}
	var hs *pb.HardState = st.HardState
	voters := setIDs(st.Config.Voters[0])
	var next any
	if len(st.Config.Voters[1]) > 0 {
		// Joint: raft-rs calls the outgoing configuration current, the incoming next.
		next = voters
		voters = setIDs(st.Config.Voters[1])
	}
	return answer{
		"role":        roleName(st.RaftState),
		"term":        hs.GetTerm(),
		"vote":        hs.GetVote(),
		"leader_id":   st.Lead,
		"commit":      hs.GetCommit(),
		"applied":     st.Applied,
		"first_index": first,
		"last_index":  last,
		"log_terms":   terms,
		"voters":      voters,
		"learners":    setIDs(st.Config.Learners),
		"next_voters": next,
		"progress":    progress(st),
	}
}

// progress is the leader's view of each peer (Status carries it only on a leader).
func progress(st raft.Status) any {
	if st.RaftState != raft.StateLeader {
		return nil
	}
	peers := answer{}
	for id, pr := range st.Progress {
		peers[fmt.Sprint(id)] = answer{
			"state":            strings.TrimPrefix(pr.State.String(), "State"),
			"match":            pr.Match,
			"next":             pr.Next,
			"paused":           pr.IsPaused(),
			"inflight":         pr.Inflights.Count(),
			"pending_snapshot": pr.PendingSnapshot,
		}
	}
	return peers
}

func encodeEntries(entries []*pb.Entry) []string {
	out := make([]string, 0, len(entries))
	for _, e := range entries {
		out = append(out, encoded(e))
	}
	return out
}

func encodeMessages(msgs []*pb.Message) []string {
	out := make([]string, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, encoded(m))
	}
	return out
}

func readStates(states []raft.ReadState) []any {
	out := make([]any, 0, len(states))
	for _, rs := range states {
		ctx := base64.StdEncoding.EncodeToString(rs.RequestCtx)
		out = append(out, answer{"index": rs.Index, "request_ctx": ctx})
	}
	return out
}

func main() {
	h := &host{nodes: map[uint64]*node{}}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<26)
	out := bufio.NewWriter(os.Stdout)
	for in.Scan() {
		line := strings.TrimSpace(in.Text())
		if line == "" {
			continue
		}
		var req request
		var result answer
		err := json.Unmarshal([]byte(line), &req)
		if err != nil {
			err = badRequest("not JSON: %v", err)
		} else {
			result, err = h.handle(req)
		}
		if err != nil {
			f, ok := err.(failure)
			if !ok {
				f = failure{"Other", err.Error()}
			}
			result = answer{"ok": false, "error": f.kind, "detail": f.detail}
		} else {
			result["ok"] = true
		}
		data, _ := json.Marshal(result)
		out.Write(append(data, '\n'))
		out.Flush()
	}
}
