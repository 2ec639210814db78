"""raft_ref: a checked Python port of raft-rs 0.6.0-alpha."""
