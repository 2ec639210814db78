"""Shared test configuration: hypothesis profiles and contracts always on."""

import os

from hypothesis import HealthCheck, settings

# Contracts are part of what the tests check; they must be on before raft_ref loads.
os.environ.setdefault("RAFT_REF_CONTRACTS", "1")

settings.register_profile(
    "ci", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "dev", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
