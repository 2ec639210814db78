"""Partial-order reduction (sleep sets, on by default): states, transitions and seconds of
the same search with it and with `--no-por`, on the implementation (the default target,
symmetry on, as the command runs) and on the model (symmetry off, where every state is
counted), 3 and 5 nodes.

Each search runs in its own process, one worker, from the compiled tree when it can be
built (the sources otherwise), the two of a pair one after the other. Distinct states
must be equal: the reduction skips transitions, never states.
"""

from __future__ import annotations

from checks.benchmarks import Report, compiled_tree, explore_command

RUNS = (
    ("impl, 3 nodes depth 12", ("--depth", "12")),
    ("impl, 5 nodes depth 16 --max-msgs 5", ("--nodes", "5", "--depth", "16", "--max-msgs", "5")),
    ("model, 3 nodes depth 12, no symmetry", ("--target", "model", "--no-symmetry")),
    (
        "model, 5 nodes depth 10 --max-msgs 5, no symmetry",
        ("--target", "model", "--nodes", "5", "--depth", "10", "--max-msgs", "5", "--no-symmetry"),
    ),
)


def run(report: Report) -> None:
    tree = compiled_tree()
    report("from the compiled tree (1) or the sources (0)", float(tree is not None), "")
    for name, argv in RUNS:
        reduced = explore_command(*argv, tree=tree)
        full = explore_command(*argv, "--no-por", tree=tree)
        assert reduced["distinct_states"] == full["distinct_states"], name
        assert reduced["goals"] == full["goals"], name
        report(f"{name}: distinct states (both)", reduced["distinct_states"], "")
        report(f"{name}: transitions with", reduced["transitions"], "")
        report(f"{name}: transitions without", full["transitions"], "")
        report(
            f"{name}: transitions, without over with",
            full["transitions"] / reduced["transitions"],
            "x",
        )
        report(f"{name}: seconds with", reduced["seconds"], "s")
        report(f"{name}: seconds without", full["seconds"], "s")
        report(f"{name}: seconds, without over with", full["seconds"] / reduced["seconds"], "x")
