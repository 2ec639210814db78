"""Design by contract for raft_ref.

Preconditions say what a caller must guarantee, postconditions what a method
guarantees, invariants what always holds for an object. Each carries a
description in the words of the Raft rule it protects; a broken contract raises
`ViolationError` whose message starts with that description.

The decorators follow icontract's conventions (conditions are functions whose
parameter names pick the decorated function's arguments, plus `result` and `OLD`
in postconditions), but the checking is our own: icontract costs about 11 µs per
condition and call, which made contract-heavy log and progress operations 20-80
times slower and would have dominated exploration (see the README's contracts
section). Here the argument binding is worked out once, when decorating, and a
check costs about a plain function call.

Contracts are on unless the environment sets `RAFT_REF_CONTRACTS=0` before
`raft_ref` is imported. Switched off, the decorators return the function
unchanged, so disabled contracts cost nothing at all.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

__all__ = ["ENABLED", "ViolationError", "ensure", "invariant", "require", "snapshot"]

ENABLED: bool = os.environ.get("RAFT_REF_CONTRACTS", "1") != "0"

_F = TypeVar("_F", bound=Callable[..., Any])
_C = TypeVar("_C", bound=type)

# Sources of a condition's arguments: an index into the decorated function's
# arguments, or one of these two markers.
_RESULT = -1
_OLD = -2


class ViolationError(AssertionError):
    """A contract is broken; the message starts with the rule's description."""


class _Old:
    """The values captured by `snapshot` before the call, read as `OLD.<name>`."""

    def __repr__(self) -> str:
        return f"OLD({vars(self)})"


@dataclass(slots=True)
class _Clause:
    condition: Callable[..., Any]
    description: str
    sources: tuple[int, ...]
    name: str = ""  # the OLD attribute a snapshot fills
    # Calls `condition` with its arguments picked from (values, result, old).
    invoke: Callable[[Sequence[Any], Any, Any], Any] = field(init=False)

    def __post_init__(self) -> None:
        self.invoke = _invoker(self.condition, self.sources)


def _invoker(
    condition: Callable[..., Any], sources: tuple[int, ...]
) -> Callable[[Sequence[Any], Any, Any], Any]:
    # A tiny generated function per clause: picking the arguments costs no loop.
    picks = ", ".join(f"v[{s}]" if s >= 0 else ("r" if s == _RESULT else "o") for s in sources)
    make = eval(f"lambda c: lambda v, r, o: c({picks})")  # fixed template: no outside text
    invoke: Callable[[Sequence[Any], Any, Any], Any] = make(condition)
    return invoke


@dataclass(slots=True)
class _Contracts:
    parameters: tuple[str, ...]
    signature: inspect.Signature
    preconditions: list[_Clause] = field(default_factory=list)
    snapshots: list[_Clause] = field(default_factory=list)
    postconditions: list[_Clause] = field(default_factory=list)


def _sources(condition: Callable[..., Any], contracts: _Contracts, where: str) -> tuple[int, ...]:
    sources = []
    for name in inspect.signature(condition).parameters:
        if name == "result":
            sources.append(_RESULT)
        elif name == "OLD":
            sources.append(_OLD)
        elif name in contracts.parameters:
            sources.append(contracts.parameters.index(name))
        else:
            raise TypeError(f"{where}: the condition's argument {name!r} is not a parameter")
    return tuple(sources)


def _arguments(
    clause: _Clause, values: Sequence[Any], result: Any = None, old: Any = None
) -> list[Any]:
    return [values[s] if s >= 0 else (result if s == _RESULT else old) for s in clause.sources]


def _describe_failure(
    clause: _Clause,
    function: Callable[..., Any],
    values: Sequence[Any],
    result: Any = None,
    old: Any = None,
) -> str:
    arguments = _arguments(clause, values, result, old)
    shown = ", ".join(repr(a) for a, s in zip(arguments, clause.sources, strict=True) if s != 0)
    return f"{clause.description}: {function.__qualname__}({shown})"


def _contracted(function: _F) -> tuple[_F, _Contracts]:
    """The checking wrapper of `function`, created on its first contract."""
    existing: _Contracts | None = getattr(function, "__raft_ref_contracts__", None)
    if existing is not None:
        return function, existing
    signature = inspect.signature(function)
    parameters = tuple(signature.parameters)
    contracts = _Contracts(parameters, signature)
    count = len(parameters)
    has_variadic = any(
        p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in signature.parameters.values()
    )

    def bind(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Sequence[Any]:
        if not kwargs and len(args) == count and not has_variadic:
            return args
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return [bound.arguments[name] for name in parameters]

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        values = bind(args, kwargs)
        for clause in contracts.preconditions:
            if not clause.invoke(values, None, None):
                raise ViolationError(_describe_failure(clause, function, values))
        old = None
        if contracts.snapshots:
            old = _Old()
            for clause in contracts.snapshots:
                setattr(old, clause.name, clause.invoke(values, None, None))
        result = function(*args, **kwargs)
        for clause in contracts.postconditions:
            if not clause.invoke(values, result, old):
                raise ViolationError(_describe_failure(clause, function, values, result, old))
        return result

    wrapper.__raft_ref_contracts__ = contracts  # type: ignore[attr-defined]
    return wrapper, contracts  # type: ignore[return-value]


def require(condition: Callable[..., Any], description: str) -> Callable[[_F], _F]:
    """A precondition: the caller must make `condition` true."""

    def decorate(function: _F) -> _F:
        if not ENABLED:
            return function
        wrapper, contracts = _contracted(function)
        where = f"precondition of {function.__qualname__}"
        clause = _Clause(condition, description, _sources(condition, contracts, where))
        # Decorators apply bottom-up; inserting first keeps them in reading order.
        contracts.preconditions.insert(0, clause)
        return wrapper

    return decorate


def ensure(condition: Callable[..., Any], description: str) -> Callable[[_F], _F]:
    """A postcondition: the method makes `condition` true (it may read `result`, `OLD`)."""

    def decorate(function: _F) -> _F:
        if not ENABLED:
            return function
        wrapper, contracts = _contracted(function)
        where = f"postcondition of {function.__qualname__}"
        clause = _Clause(condition, description, _sources(condition, contracts, where))
        contracts.postconditions.insert(0, clause)
        return wrapper

    return decorate


def snapshot(capture: Callable[..., Any], name: str) -> Callable[[_F], _F]:
    """Records a value before the call, readable in postconditions as `OLD.<name>`."""

    def decorate(function: _F) -> _F:
        if not ENABLED:
            return function
        wrapper, contracts = _contracted(function)
        where = f"snapshot of {function.__qualname__}"
        sources = _sources(capture, contracts, where)
        contracts.snapshots.append(_Clause(capture, "", sources, name))
        return wrapper

    return decorate


def invariant(condition: Callable[[Any], Any], description: str) -> Callable[[_C], _C]:
    """A class invariant, checked after construction and after every public method.

    `condition` takes the instance. Methods whose names start with an underscore
    (other than `__init__`) are not checked: they may pass through broken states.
    """

    def decorate(cls: _C) -> _C:
        if not ENABLED:
            return cls
        for name, member in list(vars(cls).items()):
            if not inspect.isfunction(member):
                continue
            if name.startswith("_") and name != "__init__":
                continue
            setattr(cls, name, _checked_after(member, condition, description))
        return cls

    return decorate


def _checked_after(
    method: Callable[..., Any], condition: Callable[[Any], Any], description: str
) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = method(self, *args, **kwargs)
        if not condition(self):
            raise ViolationError(f"{description}: after {method.__qualname__}")
        return result

    return wrapper
