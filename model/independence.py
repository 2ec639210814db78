"""When two actions commute: the independence relation behind partial-order reduction.

Two actions taken from the same state commute when taking them in either order leads to
the same state, and each stays possible (within the bounds) after the other. In this
model that holds for actions that touch different servers and draw on different budgets,
as long as the messages both add fit the bound together:

- Every action but a read changes at most one server, by what that server alone holds
  (`model.actions._local`), and takes at most one message, addressed to that server
  (a delivery; a loss or a copy of a message concerns its receiver too, since a step of
  the receiver may retire that message). So the servers and messages the two actions
  read and write are disjoint, except for the messages each sends.
- The messages an action sends join the network in the same way in either order:
  whether one is retired depends on its receiver only through `ignored_forever`, which
  only grows along a run (`model.server.ignored_forever`), so the network after both is
  the same either way.
- A budget (crashes, client requests, ...) is shared: two actions that draw on the same
  one may each be possible alone and not together, so they never commute.
- The bound on messages in flight is shared too. Two actions commute only when the
  messages both add, counted over all their outcomes (those beyond the bound too), fit
  next to those in flight: then in either order every outcome of each stays within it,
  and neither makes an outcome of the other possible or impossible.
- A read (`ReadIndex`) records the highest index committed at any server: it commutes
  with nothing.

A footprint is what the relation needs of an action taken from a state: the servers it
concerns and the budgets it draws on (bit masks), and how many messages it adds at most
over its outcomes. It is taken from the action and the states before and after, so a
target whose actions obey the rules above (the model, a cluster of raft_ref nodes) uses
the same relation. The growth stays an upper bound in every later state where the
action's server is unchanged: it sends the same messages, receivers ignore more, not
fewer, and its server's inbox holds no fewer of the messages it retires.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable
from typing import Any, NamedTuple

from model.actions import MESSAGE_ACTIONS, Action, enabled, outcomes, servers_within_bounds
from model.params import Params
from model.state import Budget, State, bag_size, bit

# Actions that read the state of other servers than their own.
READS_EVERY_SERVER = frozenset({"ReadIndex"})


class Footprint(NamedTuple):
    servers: int  # mask of the servers the action concerns
    budgets: int  # mask of the budget fields it draws on (bit k: `Budget._fields[k]`)
    growth: int  # most messages it adds to the network, net of the one it takes


def concerned_server(action: Action) -> int:
    """The server an action concerns: the receiver of its message, or its first argument."""
    if action.name in MESSAGE_ACTIONS:
        dst: int = action.args[0].dst
        return dst
    server: int = action.args[0]
    return server


def spent(before: Budget, after: Budget) -> int:
    """The mask of the budget fields that differ between `before` and `after`."""
    if before is after:  # most steps keep the budget object as it is
        return 0
    mask = 0
    for k, (was, now) in enumerate(zip(before, after, strict=True)):
        if was != now:
            mask |= 1 << k
    return mask


def footprint(action: Action, changed: int, budgets: int, growth: int) -> Footprint | None:
    """The footprint of `action`, given the mask of servers its outcomes change, the
    budgets they spend and the most messages one of them adds; None for an action that
    commutes with nothing."""
    if action.name in READS_EVERY_SERVER:
        return None
    return Footprint(changed | bit(concerned_server(action)), budgets, growth)


def commute(p: Params, in_flight: int, a: Footprint | None, b: Footprint | None) -> bool:
    """Whether actions of footprints `a` and `b`, both possible in a state with
    `in_flight` messages, commute there (see the module's docstring)."""
    if a is None or b is None or a.servers & b.servers or a.budgets & b.budgets:
        return False
    return in_flight + max(a.growth, 0) + max(b.growth, 0) <= p.max_msgs


# `still_asleep` with the parameters and the count in flight of one state given.
SleepFilter = Callable[[Footprint | None, Iterable[tuple[Action, Any]]], list[tuple[Action, Any]]]


def still_asleep(
    p: Params, in_flight: int, taken: Footprint | None, entries: Iterable[tuple[Action, Any]]
) -> list[tuple[Action, Any]]:
    """The (action, footprint) entries that commute with the action of footprint `taken`,
    all possible in a state with `in_flight` messages: the state it leads to need not
    take them (they join its sleep set)."""
    if taken is None:
        return []
    return [entry for entry in entries if commute(p, in_flight, taken, entry[1])]


def reduced_successors(
    p: Params, state: State, asleep: Container[Action]
) -> list[tuple[Action, list[State], Footprint | None]]:
    """`model.actions.successors` without the actions in `asleep`, grouped by action,
    each with its footprint. A model step changes its server alone (`_put`), and every
    outcome of an action spends the same budget."""
    in_flight = bag_size(state.network)
    out: list[tuple[Action, list[State], Footprint | None]] = []
    for action in enabled(p, state):
        if action in asleep:
            continue
        kept: list[State] = []
        growth = 0  # over every outcome, those beyond the bounds too
        for after in outcomes(p, state, action):
            if after == state:
                continue
            count = bag_size(after.network)
            growth = max(growth, count - in_flight)
            if after not in kept and servers_within_bounds(p, after.servers, count):
                kept.append(after)
        if kept:
            budgets = spent(state.budget, kept[0].budget)
            out.append((action, kept, footprint(action, 0, budgets, growth)))
    return out
