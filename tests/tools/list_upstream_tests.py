"""List raft-rs's tests and the Python test that ports each one; write tests/PORTED.md.

    .venv/bin/python tests/tools/list_upstream_tests.py /work/upstream/raft-rs \
        --write tests/PORTED.md [--check]

Upstream tests are the `#[test]` functions of the integration suites (harness/tests)
and of the unit tests inside src/. An integration test inside a named Rust module
(test_membership_changes.rs) is called `module::name`.

A port is found by name: a Python function with the upstream name under tests/, in a
file named after the upstream file, optionally with a suffix: test_raft.rs ->
test_raft.py or test_raft_2.py; raft_log.rs -> test_raft_log.py;
failpoints_cases/mod.rs -> test_failpoints.py; the unit test of raw_node.rs ->
test_raw_node_unit.py.
For `module::name`, the function may be `name` or `test_name` in a class named after
the module (any case), or a function `test_<module>_<name>` / `test_<module>__<name>`.

A test deliberately not ported is recorded by a comment in any test file:
    # not ported: <upstream name>: <reason>
`--check` exits 1 when an upstream test has neither a port nor such a reason.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

# Upstream files holding tests, relative to the raft-rs root, and their kind.
INTEGRATION_FILES = [
    "harness/tests/integration_cases/test_raft.rs",
    "harness/tests/integration_cases/test_raft_paper.rs",
    "harness/tests/integration_cases/test_membership_changes.rs",
    "harness/tests/integration_cases/test_raft_snap.rs",
    "harness/tests/integration_cases/test_raw_node.rs",
    "harness/tests/integration_cases/test_raft_flow_control.rs",
    "harness/tests/failpoints_cases/mod.rs",
]
UNIT_FILES = [
    "src/errors.rs",
    "src/log_unstable.rs",
    "src/raft_log.rs",
    "src/storage.rs",
    "src/progress/inflights.rs",
    "src/progress/progress_set.rs",
    "src/raw_node.rs",
]
# The name of the Python file(s) porting an upstream file, where it is not the Rust
# file's stem (integration suites) or "test_" + that stem (unit tests).
EXPECTED_STEM = {
    "harness/tests/failpoints_cases/mod.rs": "test_failpoints",
    # test_raw_node.py is taken by the integration suite.
    "src/raw_node.rs": "test_raw_node_unit",
}

NOT_PORTED_MARK = re.compile(r"#\s*not ported:\s*([\w:]+)\s*:\s*(.+)$")
TOP_MOD = re.compile(r"^mod\s+(\w+)\s*\{")
FN = re.compile(r"^\s*(?:pub\s+)?fn\s+(\w+)")


@dataclass(frozen=True)
class UpstreamTest:
    file: str  # relative to the raft-rs root
    name: str  # `name`, or `module::name`

    @property
    def module(self) -> str | None:
        return self.name.split("::")[0] if "::" in self.name else None

    @property
    def function(self) -> str:
        return self.name.split("::")[-1]


@dataclass(frozen=True)
class PythonTest:
    path: str  # relative to the repository root
    qualname: str  # `name` or `Class::name`
    # "skip" or "xfail" when a decorator marks the test so; empty otherwise.
    mark: str = ""

    @property
    def function(self) -> str:
        return self.qualname.split("::")[-1]

    @property
    def cls(self) -> str | None:
        return self.qualname.split("::")[0] if "::" in self.qualname else None

    def ref(self) -> str:
        return f"{self.path}::{self.qualname}"


def upstream_tests(root: Path, rel: str) -> list[UpstreamTest]:
    """The `#[test]` functions of one Rust file, in file order."""
    found = []
    module: str | None = None
    pending_test = False
    for line in (root / rel).read_text().splitlines():
        top = TOP_MOD.match(line)
        if top:
            # Unit tests sit in a `mod test`-like module that is no part of their name.
            named = rel in INTEGRATION_FILES and top.group(1) not in {"test", "tests"}
            module = top.group(1) if named else None
        elif line.startswith("}"):
            module = None
        stripped = line.strip()
        if stripped == "#[test]":
            pending_test = True
            continue
        if pending_test:
            fn = FN.match(line)
            if fn:
                name = fn.group(1) if module is None else f"{module}::{fn.group(1)}"
                found.append(UpstreamTest(rel, name))
                pending_test = False
    return found


def python_tests(repo: Path, tests_dir: Path) -> tuple[list[PythonTest], dict[str, str]]:
    """Every function under tests/ (module level or in a top-level class), and the
    not-ported reasons recorded in comments."""
    found = []
    reasons: dict[str, str] = {}
    for path in sorted(tests_dir.rglob("*.py")):
        text = path.read_text()
        rel = path.relative_to(repo).as_posix()
        for line in text.splitlines():
            mark = NOT_PORTED_MARK.search(line)
            if mark:
                reasons[mark.group(1)] = mark.group(2).strip()
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                found.append(PythonTest(rel, node.name, _mark(node)))
            elif isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                        qualname = f"{node.name}::{item.name}"
                        found.append(PythonTest(rel, qualname, _mark(item) or _mark(node)))
    return found, reasons


def _mark(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> str:
    """Whether a decorator skips the test or expects it to fail."""
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = ast.unparse(target)
        for mark in ("xfail", "skip"):
            if name.endswith(f"mark.{mark}"):
                return mark
    return ""


def _norm(name: str) -> str:
    return name.lower().replace("_", "").removeprefix("test")


def expected_stem(rel: str) -> str:
    if rel in EXPECTED_STEM:
        return EXPECTED_STEM[rel]
    stem = Path(rel).stem
    return stem if rel in INTEGRATION_FILES else f"test_{stem}"


def owner(python_path: str) -> str | None:
    """The upstream file a Python test file ports: the one whose expected stem is the
    longest prefix of the file's stem (test_raft_2.py ports test_raft.rs, while
    test_raft_log.py ports raft_log.rs and test_raft_paper.py test_raft_paper.rs)."""
    stem = Path(python_path).stem
    best: tuple[int, str] | None = None
    for rel in INTEGRATION_FILES + UNIT_FILES:
        e = expected_stem(rel)
        if (stem == e or stem.startswith(e + "_")) and (best is None or len(e) > best[0]):
            best = (len(e), rel)
    return best[1] if best else None


def find_port(t: UpstreamTest, candidates: list[PythonTest]) -> PythonTest | None:
    """The Python test porting `t`, or None."""
    if t.module is None:
        named = [p for p in candidates if p.function == t.name]
    else:
        module, fn = t.module, t.function
        flat = {f"test_{module}_{fn}", f"test_{module}__{fn}"}
        named = [
            p
            for p in candidates
            if (p.cls is None and p.function in flat)
            or (
                p.cls is not None
                and _norm(p.cls) == _norm(module)
                and p.function in {fn, f"test_{fn}"}
            )
        ]
    # A same-named test in another suite (raft_log's `test_restore` and test_raft's)
    # is not a port of this one.
    preferred = [p for p in named if owner(p.path) == t.file]
    return preferred[0] if preferred else None


def build_table(upstream_root: Path, repo: Path) -> tuple[str, int]:
    """The PORTED.md text, and how many upstream tests have neither port nor reason."""
    candidates, reasons = python_tests(repo, repo / "tests")
    lines = [
        "# Upstream tests and their ports",
        "",
        "Every test of raft-rs 0.6.0-alpha (commit 716e064) and the Python test that ports",
        "it, or why it is not ported. Generated by `tests/tools/list_upstream_tests.py`:",
        "",
        "    .venv/bin/python tests/tools/list_upstream_tests.py <raft-rs checkout> \\",
        "        --write tests/PORTED.md",
        "",
        "Do not edit by hand; record a test deliberately left out with a comment",
        "`# not ported: <upstream name>: <reason>` in a test file and re-run.",
        "",
    ]
    missing = 0
    sections = [("Integration tests", INTEGRATION_FILES), ("Unit tests", UNIT_FILES)]
    summary: list[str] = ["| Upstream file | Tests | Ported | Not ported (reason given) |"]
    summary.append("|---|---:|---:|---:|")
    body: list[str] = []
    totals = [0, 0, 0]
    for title, files in sections:
        body += ["", f"## {title}", ""]
        for rel in files:
            tests = upstream_tests(upstream_root, rel)
            ported = explained = 0
            body += ["", f"### {rel} ({len(tests)})", ""]
            body += ["| Upstream test | Python test | Note |", "|---|---|---|"]
            for t in tests:
                port = find_port(t, candidates)
                if port is not None:
                    ported += 1
                    note = {"skip": "marked skip", "xfail": "marked xfail"}.get(port.mark, "")
                    body.append(f"| `{t.name}` | `{port.ref()}` | {note} |")
                elif t.name in reasons:
                    explained += 1
                    body.append(f"| `{t.name}` | not ported | {reasons[t.name]} |")
                else:
                    missing += 1
                    body.append(f"| `{t.name}` | **missing** | no port and no reason found |")
            summary.append(f"| {rel} | {len(tests)} | {ported} | {explained} |")
            totals[0] += len(tests)
            totals[1] += ported
            totals[2] += explained
    summary.append(f"| **total** | {totals[0]} | {totals[1]} | {totals[2]} |")
    lines += summary
    if missing:
        lines += ["", f"{missing} upstream tests have neither a port nor a recorded reason."]
    lines += body
    return "\n".join(lines) + "\n", missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("upstream", type=Path, help="root of a raft-rs 0.6.0-alpha checkout")
    parser.add_argument(
        "--repo",
        type=Path,
        default=Path(__file__).resolve().parents[2],
        help="the raft-ref repository (default: the one holding this script)",
    )
    parser.add_argument("--write", type=Path, help="write the table here instead of stdout")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if a test has neither port nor reason"
    )
    args = parser.parse_args(argv)
    for rel in INTEGRATION_FILES + UNIT_FILES:
        if not (args.upstream / rel).is_file():
            print(
                f"error: {args.upstream / rel} not found: not a raft-rs checkout", file=sys.stderr
            )
            return 2
    text, missing = build_table(args.upstream, args.repo)
    if args.write is not None:
        args.write.write_text(text)
    else:
        sys.stdout.write(text)
    return 1 if args.check and missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
