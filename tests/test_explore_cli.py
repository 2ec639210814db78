"""`python -m checks.explore`: exit codes, one-line errors, summaries and trace files.

Most tests run the command's `main` on toy targets (injected as the --target table);
one runs the real module in a subprocess to check usage errors end to end.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from checks import explore
from checks.explore import TargetChoice, TargetRequest
from tests.test_engine_toys import ClockTarget, CounterTarget, TokensTarget


def build_counter(request: TargetRequest) -> CounterTarget:
    if request.nodes > 9:
        raise ValueError("the counter toy takes at most 9 nodes")
    return CounterTarget(limit=request.nodes, bad=request.variant == "full_is_bad")


TOYS = {
    "counter": TargetChoice(
        "two counters", build_counter, lambda: {"full_is_bad": "both counters full is bad"}
    ),
    "tokens": TargetChoice("tokens", lambda request: TokensTarget(request.nodes, 2)),
    "clock": TargetChoice("a clock", lambda request: ClockTarget()),
    "later": TargetChoice("not written yet", None),
}


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    status = explore.main(["--no-progress", *argv], targets=TOYS)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_exit_0_without_violation_prints_bounds_and_summary(capsys):
    status, out, err = run_cli(capsys, "--target", "counter", "--nodes", "3", "--depth", "4")
    assert status == 0
    assert err == ""
    lines = out.splitlines()
    assert lines[0].startswith("explore: target counter, 3 nodes; bfs, 2 workers, symmetry on")
    assert lines[1] == "  bounds: depth 4, limit 3"
    assert "distinct states   13" in out  # x + y <= 4 with x, y <= 3
    assert "x_is_two" in out and "IncX" in out


def test_exit_1_with_violation_writes_the_counterexample(capsys, tmp_path: Path):
    out_dir = tmp_path / "found"
    status, out, _ = run_cli(
        capsys, "--target", "counter", "--variant", "full_is_bad", "--out", str(out_dir)
    )
    assert status == 1
    trace = out_dir / "counter-full_is_bad-not_both_full.json"
    assert f"-> {trace}" in out
    document = json.loads(trace.read_text())
    assert document["property"] == "not_both_full"
    assert document["kind"] == "always"
    assert len(document["steps"]) == 7  # initial state + 6 increments
    assert document["steps"][-1]["state"] == {"x": 3, "y": 3}
    assert document["command"].startswith("python -m checks.explore --no-progress")
    assert document["bounds"] == {"limit": 3}


def test_json_summary_holds_the_documented_fields(capsys, tmp_path: Path):
    summary = tmp_path / "summary.json"
    status, _, _ = run_cli(
        capsys, "--target", "tokens", "--nodes", "3", "--depth", "9", "--json", str(summary)
    )
    assert status == 0
    document = json.loads(summary.read_text())
    for key in [
        "target",
        "nodes",
        "depth",
        "complete",
        "distinct_states",
        "transitions",
        "depth_reached",
        "seconds",
        "states_per_second",
        "violations",
        "invariants",
        "goals",
        "coverage",
        "bounds",
        "seed",
        "strategy",
        "workers",
        "symmetry",
        "bytes_per_state",
    ]:
        assert key in document, key
    assert document["target"] == "tokens"
    assert document["nodes"] == 3
    assert document["distinct_states"] == 10  # multisets of 3 levels in 0..2
    assert document["complete"] is True
    assert document["violations"] == []
    assert document["invariants"] == {"total_within": "holds"}
    assert document["goals"] == {"all_top": 6}
    assert document["coverage"]["Raise"]["new_states"] == 9
    assert document["symmetry"] is True
    assert document["strategy"] == "bfs"


def test_json_lists_violations_with_their_traces(capsys, tmp_path: Path):
    summary = tmp_path / "summary.json"
    status, _, _ = run_cli(
        capsys, "--target", "clock", "--out", str(tmp_path), "--json", str(summary)
    )
    assert status == 1
    document = json.loads(summary.read_text())
    [violation] = document["violations"]
    assert violation["property"] == "never_goes_back"
    assert violation["kind"] == "always_step"
    assert violation["depth"] == 4
    assert Path(violation["trace"]).exists()
    assert document["invariants"] == {"never_goes_back": "violated"}


def test_no_symmetry_and_workers_are_honoured(capsys, tmp_path: Path):
    summary = tmp_path / "summary.json"
    argv = ["--target", "tokens", "--depth", "9", "--no-symmetry", "--workers", "2"]
    status, out, _ = run_cli(capsys, *argv, "--json", str(summary))
    assert status == 0
    assert "2 workers, symmetry off" in out
    document = json.loads(summary.read_text())
    assert document["distinct_states"] == 27
    assert document["workers"] == 2


def test_random_strategy_reports_its_seed_and_walks(capsys, tmp_path: Path):
    summary = tmp_path / "summary.json"
    argv = ["--target", "counter", "--variant", "full_is_bad", "--strategy", "random"]
    argv += ["--walks", "30", "--seed", "5", "--out", str(tmp_path), "--json", str(summary)]
    status, out, _ = run_cli(capsys, *argv)
    assert status == 1
    assert "30 walks, seed 5" in out
    document = json.loads(summary.read_text())
    assert (document["seed"], document["walks"], document["strategy"]) == (5, 30, "random")


def test_same_arguments_give_the_same_output(capsys):
    argv = ["--target", "tokens", "--nodes", "4", "--strategy", "random", "--walks", "9"]
    _, first, _ = run_cli(capsys, *argv)
    _, second, _ = run_cli(capsys, *argv)

    def without_timings(text: str) -> list[str]:
        return [
            line
            for line in text.splitlines()
            if not line.lstrip().startswith(("seconds", "states/s", "peak RSS"))
        ]

    assert without_timings(first) == without_timings(second)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--nodes", "0"], "argument --nodes: must be at least 1, got 0"),
        (["--depth", "x"], "argument --depth: expected an integer, got 'x'"),
        (["--target", "nope"], "argument --target: invalid choice: 'nope'"),
        (["--target", "later"], "--target later is not available yet"),
        (["--variant", "nope"], "unknown --variant 'nope' for --target counter"),
        (["--walks", "3"], "--walks applies only to --strategy random"),
        (["--strategy", "dfs", "--workers", "2"], "--strategy dfs runs in one process"),
        (["--nodes", "12"], "the counter toy takes at most 9 nodes"),
        (["--json", "/no/such/dir/x.json"], "--json: directory '/no/such/dir' does not exist"),
        (["--frobnicate"], "unrecognized arguments: --frobnicate"),
        (["--max-term", "0"], "argument --max-term: must be at least 1, got 0"),
        (["--max-memory", "lots"], "expected a size such as 500M or 2G, got 'lots'"),
        (["--max-memory", "0"], "a size must be positive, got '0'"),
        (["--progress-every", "0"], "argument --progress-every: must be positive"),
        (["--checkpoint-every", "-1"], "argument --checkpoint-every: must be 0 or more"),
        (["--checkpoint-every", "nan"], "argument --checkpoint-every: must be 0 or more"),
        (["--checkpoint-every", "soon"], "argument --checkpoint-every: expected seconds"),
        (["--strategy", "dfs", "--engine", "ray"], "--engine ray runs --strategy bfs only"),
        (["--address", "auto"], "--address applies only to --engine ray"),
        (["--strategy", "random", "--checkpoint", "x"], "apply only to --strategy bfs"),
        (["--resume", "/no/such/dir"], "--resume: no checkpoint directory '/no/such/dir'"),
        (["--checkpoint", "a", "--resume", "b"], "--resume DIR goes on saving in DIR"),
        (["--disk", "/no/such/dir"], "--disk: no directory '/no/such/dir'"),
        (["--strategy", "dfs", "--disk", "."], "--disk applies only to --strategy bfs"),
        (["--engine", "ray", "--disk", "."], "--disk applies only to --engine local"),
    ],
)
def test_bad_usage_exits_2_with_one_line(capsys, argv, message):
    status, out, err = run_cli(capsys, *argv)
    assert status == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("python -m checks.explore: error: ")
    assert message in err


def test_out_must_be_a_directory(capsys, tmp_path: Path):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    status, _, err = run_cli(capsys, "--out", str(not_a_dir))
    assert status == 2
    assert "is not a directory" in err


def test_help_documents_every_flag(capsys):
    status, out, _ = run_cli(capsys, "--help")
    assert status == 0
    for flag in [
        "--target",
        "--nodes",
        "--pre-vote",
        "--variant",
        "--depth",
        "--max-term",
        "--max-log",
        "--max-msgs",
        "--max-crashes",
        "--strategy",
        "--walks",
        "--seed",
        "--workers",
        "--symmetry",
        "--no-symmetry",
        "--keep-going",
        "--out",
        "--json",
        "--no-progress",
        "--progress-every",
        "--engine",
        "--address",
        "--max-memory",
        "--checkpoint",
        "--resume",
    ]:
        assert flag in out, flag
    assert "full_is_bad" in out  # variants are listed
    assert "exit status" in out


def test_the_module_reports_usage_errors_in_one_line():
    result = subprocess.run(
        [sys.executable, "-m", "checks.explore", "--nodes", "zero"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "python -m checks.explore: error: argument --nodes: expected an integer, got 'zero'"
    ]


def test_impl_is_the_default_target_from_the_command_line(tmp_path: Path):
    summary = tmp_path / "summary.json"
    argv = ["--depth", "3", "--workers", "1", "--no-progress", "--json", str(summary)]
    result = subprocess.run(
        [sys.executable, "-m", "checks.explore", *argv],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(summary.read_text())["target"] == "impl"


def test_model_target_runs_from_the_command_line(tmp_path: Path):
    summary = tmp_path / "summary.json"
    argv = ["--target", "model", "--nodes", "3", "--depth", "4", "--no-progress"]
    result = subprocess.run(
        [sys.executable, "-m", "checks.explore", *argv, "--json", str(summary)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("explore: target model, 3 nodes; bfs, 2 workers, symmetry on")
    assert "  bounds: depth 4, changes add_voter+shrink_to_one" in result.stdout
    document = json.loads(summary.read_text())
    assert document["goals"]["LeaderElected"] == 3
    assert set(document["invariants"].values()) == {"holds"}


def test_model_variant_exits_1_with_a_trace(tmp_path: Path):
    argv = ["--target", "model", "--variant", "small_majority", "--depth", "4", "--no-progress"]
    argv += ["--out", str(tmp_path)]
    result = subprocess.run(
        [sys.executable, "-m", "checks.explore", *argv],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    trace = tmp_path / "model-small_majority-ElectionSafety.json"
    assert f"-> {trace}" in result.stdout
    document = json.loads(trace.read_text())
    assert document["variant"] == "small_majority"
    assert [step["kind"] for step in document["steps"]] == [None, "Timeout", "Timeout"]


def test_workers_default_to_two_except_for_dfs(capsys):
    _, bfs, _ = run_cli(capsys, "--target", "tokens", "--depth", "2")
    _, dfs, _ = run_cli(capsys, "--target", "tokens", "--depth", "2", "--strategy", "dfs")
    _, one, _ = run_cli(capsys, "--target", "tokens", "--depth", "2", "--workers", "1")
    assert "; bfs, 2 workers," in bfs.splitlines()[0]
    assert "; dfs, 1 worker," in dfs.splitlines()[0]
    assert "; bfs, 1 worker," in one.splitlines()[0]


def test_the_ray_engine_without_ray_is_a_one_line_error(capsys, monkeypatch):
    from checks.engine import ray_engine

    monkeypatch.setattr(ray_engine, "ray", None)
    status, _out, err = run_cli(capsys, "--engine", "ray", "--no-progress")
    assert status == 2
    assert err.strip().splitlines() == [
        "python -m checks.explore: error: --engine ray needs Ray: pip install 'raft-ref[cluster]'"
    ]


def test_a_larger_cluster_gets_room_for_an_election_by_default() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "checks.explore", "--nodes", "5", "--depth", "3", "--no-progress"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert "max_msgs 5" in result.stdout
    distinct = next(line for line in result.stdout.splitlines() if "distinct states" in line)
    assert int(distinct.split()[-1].replace(",", "")) > 1
