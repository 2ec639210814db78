"""The exploration engine as a user runs it: memory, workers, checkpoints and Ray.

Each figure comes from whole `python -m checks.explore --target model` processes run in
this benchmark (start-up included, as a user sees it), read from their `--json`:
- the visited store's bytes per state and the peak resident memory per state (all the
  run's processes) at depth 11, with one worker and with two;
- `--workers 2` over `--workers 1`, wall clock;
- what `--checkpoint` costs (saving every level) over the same run without;
- `--disk` (levels kept in files) against memory on a larger run: peak memory of the
  whole process, and wall clock;
- the Ray engine (`--engine ray`, 2 workers, a Ray instance started for the run) over
  the local engine with 2 workers on the same run, and its 2 workers over 1, when Ray
  is installed ("seconds of search" leave out starting Ray and its actors).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from checks.benchmarks import Report

DEPTH = 19  # the model's default bounds: tens of thousands of states
RAY_DEPTH = 16  # Ray's start-up and its actors' take seconds: a run long enough to see past
# Levels large enough for their states to outweigh the interpreter and the caches.
DISK_RUN = ("--nodes", "5", "--max-msgs", "5", "--no-symmetry", "--depth", "13", "--workers", "1")


def explore(*argv: str) -> tuple[dict[str, Any], float]:
    """The JSON summary of one explorer process, and its wall-clock seconds."""
    with tempfile.TemporaryDirectory() as directory:
        summary = Path(directory) / "summary.json"
        started = time.perf_counter()
        subprocess.run(
            [
                *(sys.executable, "-m", "checks.explore", "--target", "model", "--no-progress"),
                *(*argv, "--json", str(summary), "--out", directory),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        seconds = time.perf_counter() - started
        document: dict[str, Any] = json.loads(summary.read_text())
    return document, seconds


def run(report: Report) -> None:
    depth = ["--depth", str(DEPTH)]
    one, one_seconds = explore(*depth, "--workers", "1")
    two, two_seconds = explore(*depth, "--workers", "2")
    assert one["distinct_states"] == two["distinct_states"]
    report(f"depth {DEPTH}: distinct states", one["distinct_states"], "")
    report("visited store, bytes per state", one["bytes_per_state"], "B")
    report("peak RSS per state, --workers 1 (whole process)", one["peak_rss_per_state"], "B")
    report("peak RSS per state, --workers 2 (all processes)", two["peak_rss_per_state"], "B")
    report(
        "--workers 1: distinct states per second (whole process)", one["states_per_second"], "/s"
    )
    report(
        "--workers 2 over --workers 1 (wall clock, whole process)", one_seconds / two_seconds, "x"
    )
    odds = one["collision_probability"]["optimistic"]
    report("fingerprint collision odds, TLC's optimistic (x 1e-12)", odds * 1e12, "")

    with tempfile.TemporaryDirectory() as directory:
        _, saving_seconds = explore(*depth, "--workers", "1", "--checkpoint", directory)
    report("--checkpoint (default interval) over none", saving_seconds / one_seconds, "x")

    in_memory, memory_seconds = explore(*DISK_RUN)
    with tempfile.TemporaryDirectory() as directory:
        on_disk, disk_seconds = explore(*DISK_RUN, "--disk", directory)
    assert on_disk["distinct_states"] == in_memory["distinct_states"]
    report("5 nodes depth 13, no symmetry: distinct states", in_memory["distinct_states"], "")
    report("  peak RSS, levels in memory", in_memory["peak_rss_bytes"] / 2**20, "MiB")
    report("  peak RSS, --disk", on_disk["peak_rss_bytes"] / 2**20, "MiB")
    report("  --disk over in memory, wall clock", disk_seconds / memory_seconds, "x")

    if importlib.util.find_spec("ray") is None:
        print("  (Ray not installed: pip install 'raft-ref[cluster]' for local vs Ray)")
        return
    small = ["--depth", str(RAY_DEPTH), "--workers", "2"]
    local, local_seconds = explore(*small)
    on_ray, ray_seconds = explore(*small, "--engine", "ray")
    assert local["distinct_states"] == on_ray["distinct_states"]
    assert local["transitions"] == on_ray["transitions"]
    report(f"depth {RAY_DEPTH}, 2 workers: distinct states", local["distinct_states"], "")
    report(
        "--engine ray over --engine local (wall clock, whole process)",
        ray_seconds / local_seconds,
        "x",
    )
    report("--engine ray: seconds of search (start-up excluded)", on_ray["seconds"], "s")
    report("--engine local: seconds of search", local["seconds"], "s")
    report("--engine ray over local, seconds of search", on_ray["seconds"] / local["seconds"], "x")
    one_actor, _ = explore("--depth", str(RAY_DEPTH), "--workers", "1", "--engine", "ray")
    report(
        "--engine ray: 2 workers over 1 (seconds of search)",
        one_actor["seconds"] / on_ray["seconds"],
        "x",
    )


if __name__ == "__main__":
    from checks.bench import main

    sys.exit(main(["explore_engine"]))
