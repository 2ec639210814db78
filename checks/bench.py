"""`python -m checks.bench [NAME ...]`: runs every benchmark module (or those named)
and prints its figures. Given more than one, each runs in a process of its own, so that
no module's figures depend on what an earlier one left in memory (caches, a heap the
garbage collector walks).

Exit status: 0 done, 2 an unknown benchmark name, 130/143 interrupted.
"""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
import time

from checks import benchmarks
from checks.cli_io import Interrupted, emit, interruptible, print_error

PROG = "python -m checks.bench"


def main(argv: list[str] | None = None) -> int:
    known = sorted(info.name for info in pkgutil.iter_modules(benchmarks.__path__))
    selected = list(argv if argv is not None else sys.argv[1:])
    if selected in (["-h"], ["--help"]):
        emit(f"usage: {PROG} [NAME ...]  (benchmarks: {', '.join(known)}; default: all)")
        return 0
    unknown = [name for name in selected if name not in known]
    if unknown:
        print_error(PROG, f"no benchmark {unknown[0]!r} (known: {', '.join(known)})")
        return 2
    names = selected or known
    with interruptible():
        try:
            if len(names) == 1:
                _run_one(names[0])
                return 0
            for name in names:
                status = _run_apart(name)
                if status:
                    return status
        except Interrupted as stop:
            print(f"{PROG}: interrupted by {stop}", file=sys.stderr)
            return stop.exit_status
    return 0


def _run_apart(name: str) -> int:
    """Runs one benchmark module in a process of its own; its exit status. A signal that
    reaches this process reaches the module's too (Ctrl-C reaches both; else it is
    passed on), which says it was interrupted: this one then says nothing more."""
    sys.stdout.flush()
    child = subprocess.Popen([sys.executable, "-m", "checks.bench", name])
    try:
        return child.wait()
    except Interrupted as stop:
        try:
            return child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.send_signal(stop.signum)
            return child.wait()


def _run_one(name: str) -> None:
    module = importlib.import_module(f"checks.benchmarks.{name}")
    emit(f"== {name}")
    started = time.perf_counter()

    def report(figure: str, value: float, unit: str) -> None:
        emit(f"  {figure:<58} {value:>14,.3f} {unit}")

    module.run(report)
    emit(f"  ({time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    sys.exit(main())
