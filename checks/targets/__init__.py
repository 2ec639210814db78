"""Targets the exploration engine can explore (see `checks.engine.target.Target`), and
the registry of them by name (`TARGETS`)."""

from checks.targets.registry import TARGETS, TargetChoice, TargetRequest

__all__ = ["TARGETS", "TargetChoice", "TargetRequest"]
