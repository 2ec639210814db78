"""The tools: the explorer, the Z3 proofs, traces, conformance and benchmarks."""

from checks.fast_tree import verify_build as _verify_build

# A compiled tree (`make fast`) refuses to run once its sources have changed.
_verify_build()
