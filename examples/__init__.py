"""Runnable examples of driving raft_ref, after raft-rs's `examples/`.

.venv/bin/python -m examples.single_mem_node
.venv/bin/python -m examples.five_mem_node
"""
