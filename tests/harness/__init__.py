"""The raft-rs test harness, ported: a simulated `Network` of `Interface`-wrapped nodes."""

from tests.harness.interface import Interface
from tests.harness.network import Network

__all__ = ["Interface", "Network"]
