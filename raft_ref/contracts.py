"""Design by contract for raft_ref, on icontract.

Preconditions say what a caller must guarantee, postconditions what a method
guarantees, invariants what always holds for an object. Each carries a
description in the words of the Raft rule it protects; a broken contract raises
`icontract.ViolationError` whose message starts with that description.

Contracts are on unless the environment sets `RAFT_REF_CONTRACTS=0` before
`raft_ref` is imported. Switched off, the decorators return the function
unchanged, so disabled contracts cost nothing at all.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import icontract

__all__ = ["ENABLED", "ViolationError", "ensure", "invariant", "require", "snapshot"]

ENABLED: bool = os.environ.get("RAFT_REF_CONTRACTS", "1") != "0"

ViolationError = icontract.ViolationError

_F = TypeVar("_F", bound=Callable[..., Any])
_C = TypeVar("_C", bound=type)


def require(condition: Callable[..., Any], description: str) -> Callable[[_F], _F]:
    """A precondition: the caller must make `condition` true."""
    return icontract.require(condition, description, enabled=ENABLED)


def ensure(condition: Callable[..., Any], description: str) -> Callable[[_F], _F]:
    """A postcondition: the method makes `condition` true (it may read `result`, `OLD`)."""
    return icontract.ensure(condition, description, enabled=ENABLED)


def snapshot(capture: Callable[..., Any], name: str) -> Callable[[_F], _F]:
    """Records a value before the call, readable in postconditions as `OLD.<name>`."""
    return icontract.snapshot(capture, name=name, enabled=ENABLED)


def invariant(condition: Callable[..., Any], description: str) -> Callable[[_C], _C]:
    """A class invariant, checked after construction and after every public method."""
    return icontract.invariant(condition, description, enabled=ENABLED)
