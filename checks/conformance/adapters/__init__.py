"""Adapters: programs that put one Raft implementation behind the driver protocol."""
