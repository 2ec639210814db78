"""Conformance harness: drive Raft implementations through a JSON-lines protocol.

`python -m checks.conformance` plays text scenarios (scenarios/) and seeded random
ones through an adapter and compares the outcome with raft_ref (strict mode) or checks
it against Raft's safety properties (protocol mode). PROTOCOL.md documents the
protocol any adapter speaks.
"""
