"""Seeded random scenarios built from the same step vocabulary as the corpus.

Each scenario is a pure function of (seed, number): a cluster of three voters with
random options, then a random walk over the explorer's kinds of action — ticks and
timeouts, campaigns, proposals, delivering, dropping and reordering messages,
partitions, membership changes, compaction, ReadIndex, leader transfer, snapshot
reports — ending with `stabilize`.
"""

from __future__ import annotations

import random

from checks.conformance.scenario import Scenario, parse_scenario

__all__ = ["random_scenario"]

_INITIAL = (1, 2, 3)
_SPARE = (4, 5)


def _ids(nodes: list[int]) -> str:
    return ",".join(str(n) for n in sorted(nodes))


def random_scenario(seed: int, number: int, steps: int = 60) -> Scenario:
    rng = random.Random(f"{seed}:{number}")
    check_quorum = rng.random() < 0.5
    options = ["voters=1,2,3", f"election_tick={rng.choice((5, 10))}"]
    options.append(f"heartbeat_tick={rng.choice((1, 2))}")
    if rng.random() < 0.5:
        options.append("pre_vote")
    if check_quorum:
        options.append("check_quorum")
        if rng.random() < 0.5:
            options.append("read_only=lease")
    if rng.random() < 0.3:
        options.append(f"max_inflight={rng.choice((1, 2, 3))}")
    if rng.random() < 0.3:
        options.append(f"max_size_per_msg={rng.choice((1, 20, 100))}")
    if rng.random() < 0.2:
        options.append("skip_bcast_commit")
    lines = ["cluster " + " ".join(options)]
    started: list[int] = list(_INITIAL)
    for _ in range(steps):
        node = rng.choice(started)
        other = rng.choice([*started, *_SPARE])
        kind = rng.choices(
            [
                "tick", "tick-all", "campaign", "propose", "process", "deliver", "deliver-one",
                "drop-one", "stabilize", "partition", "heal", "conf", "start", "compact",
                "read-index", "transfer", "report", "membership",
            ],
            weights=[8, 6, 4, 10, 8, 6, 10, 3, 6, 2, 3, 2, 1, 2, 3, 2, 2, 1],
        )[0]  # fmt: skip
        if kind == "tick":
            lines.append(f"tick {node} {rng.randint(1, 12)}")
        elif kind == "tick-all":
            lines.append(f"tick-all {rng.randint(1, 12)}")
        elif kind == "campaign":
            lines.append(f"campaign {node}")
        elif kind == "propose":
            lines.append(f"propose {node} v{rng.randint(0, 99)}")
        elif kind == "process":
            lines.append(f"process {node}" if rng.random() < 0.5 else "process")
        elif kind == "deliver":
            lines.append(f"deliver to={other}" if rng.random() < 0.3 else "deliver")
        elif kind == "deliver-one":
            lines.append(f"deliver-one {rng.randint(0, 20)}")
        elif kind == "drop-one":
            lines.append(f"drop-one {rng.randint(0, 20)}")
        elif kind == "stabilize":
            lines.append("stabilize")
        elif kind == "partition":
            lines.append(f"isolate {node}")
        elif kind == "heal":
            lines.append("heal")
        elif kind == "conf":
            verb = rng.choice(("add-voter", "add-learner", "remove-node"))
            lines.append(f"{verb} {node} {other}")
        elif kind == "start":
            spare = [n for n in _SPARE if n not in started]
            if spare:
                started.append(spare[0])
                lines.append(f"start {spare[0]}")
        elif kind == "compact":
            lines.append(f"compact {node} applied")
        elif kind == "read-index":
            lines.append(f"read-index {node} r{rng.randint(0, 9)}")
        elif kind == "transfer":
            lines.append(f"transfer-leader {node} {other}")
        elif kind == "report":
            if rng.random() < 0.5:
                lines.append(f"report-unreachable {node} {other}")
            else:
                status = rng.choice(("finish", "failure"))
                lines.append(f"report-snapshot {node} {other} {status}")
        elif kind == "membership":
            voters = sorted(rng.sample([*started], k=min(len(started), rng.randint(1, 4))))
            lines.append(f"membership {node} voters={_ids(voters)}")
    lines.append("stabilize")
    return parse_scenario(f"random-{seed}-{number}", "\n".join(lines))
