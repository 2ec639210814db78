"""`make fast`: the explorer's pure-Python hot path compiled with mypyc, in a tree apart.

`python -m checks.fast_build DIR` copies the packages' sources into DIR and compiles the
modules of `COMPILED` there (the model, the abstraction and refinement check, the
cluster, the implementation target); `raft_ref` stays interpreted, so that mutants and
patches apply to it as they do to the sources. Run the explorer from it with

    PYTHONPATH=DIR python -P -m checks.explore ...

(`-P`: the current directory, the sources, must not come first). The behaviour is the
sources': `tests/test_fast_build.py` compares a compiled run with an interpreted one.

The tree records the digest of the sources it was built from. A build is reused while
the sources are unchanged and rebuilt when they change; importing `checks` from a tree
whose sources have changed since stops with a one-line error
(`checks.fast_tree.verify_build`), so that a stale build never runs in place of edited
code. With `--or-nothing` a build that fails
(no C compiler, no mypyc) is reported in one line and DIR is not printed: the caller
then runs the interpreted sources.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from checks.fast_tree import INFO, PACKAGES, read_info, source_digest, sources

__all__ = ["COMPILED", "BuildError", "build"]

PROG = "python -m checks.fast_build"
# The modules the explorer spends its time in (raft_ref aside), in dependency order.
COMPILED = (
    "model/state.py",
    "model/params.py",
    "model/quorum.py",
    "model/server.py",
    "model/actions.py",
    "model/independence.py",
    "model/invariants.py",
    "model/symmetry.py",
    "checks/cluster/network.py",
    "checks/cluster/node_key.py",
    "checks/cluster/cluster.py",
    "checks/cluster/app.py",
    "checks/cluster/actions.py",
    "checks/cluster/symmetry.py",
    "checks/refinement.py",
    "checks/targets/impl_target.py",
    "checks/engine/visited.py",
    "checks/engine/expansion.py",
)
ROOT = Path(__file__).resolve().parent.parent


class BuildError(RuntimeError):
    """The compiled tree could not be built."""


def build(out: Path, root: Path = ROOT) -> bool:
    """Builds the compiled tree in `out` from the sources under `root`; False when an
    up-to-date build is there already."""
    out = out.resolve()
    if out == root or (root in out.parents and out.parts[len(root.parts)] in PACKAGES):
        raise BuildError(f"{out}: inside the sources; choose another directory")
    digest = source_digest(root)
    info = read_info(out)
    if info is not None and info.get("digest") == digest and info.get("root") == str(root):
        return False
    if info is None and out.exists() and any(out.iterdir()):
        # Only a tree of ours, or nothing, is replaced.
        raise BuildError(f"{out}: exists and is not a compiled tree; choose another directory")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    try:
        _compile(out, root)
    except BaseException:  # a half-built tree (an error, Ctrl-C) is not left behind
        shutil.rmtree(out, ignore_errors=True)
        raise
    record = {"root": str(root), "digest": digest}
    (out / INFO).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return True


def _compile(out: Path, root: Path) -> None:
    for path in sources(root):
        target = out / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    shutil.copy2(root / "pyproject.toml", out / "pyproject.toml")
    command = [sys.executable, "-m", "mypyc", *COMPILED]
    done = subprocess.run(command, cwd=out, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = (done.stderr + done.stdout).strip().splitlines()
        errors = [line for line in lines if "error:" in line] or lines[-1:] or ["no output"]
        detail = errors[0] if len(errors[0]) <= 160 else errors[0][:157] + "..."
        raise BuildError(f"mypyc failed (exit {done.returncode}): {detail}")
    shutil.rmtree(out / "build", ignore_errors=True)  # mypyc's C sources and objects


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    or_nothing = "--or-nothing" in args
    rest = [a for a in args if a != "--or-nothing"]
    if len(rest) != 1 or rest[0].startswith("-"):
        print(f"usage: {PROG} DIR [--or-nothing]", file=sys.stderr)
        return 2
    out = Path(rest[0])
    try:
        if build(out):
            print(f"{PROG}: compiled {len(COMPILED)} modules into {out}", file=sys.stderr)
    except (BuildError, OSError) as error:
        print(
            f"{PROG}: {'not built, running the sources: ' if or_nothing else ''}{error}",
            file=sys.stderr,
        )
        return 0 if or_nothing else 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    print(out.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
