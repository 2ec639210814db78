"""`python -m checks.bench [NAME ...]`: runs every benchmark module (or those named)
and prints its figures.

Exit status: 0 done, 2 an unknown benchmark name, 130/143 interrupted.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time

from checks import benchmarks
from checks.cli_io import Interrupted, emit, interruptible

PROG = "python -m checks.bench"


def main(argv: list[str] | None = None) -> int:
    known = sorted(info.name for info in pkgutil.iter_modules(benchmarks.__path__))
    selected = list(argv if argv is not None else sys.argv[1:])
    if selected in (["-h"], ["--help"]):
        emit(f"usage: {PROG} [NAME ...]  (benchmarks: {', '.join(known)}; default: all)")
        return 0
    unknown = [name for name in selected if name not in known]
    if unknown:
        print(
            f"{PROG}: error: no benchmark {unknown[0]!r} (known: {', '.join(known)})",
            file=sys.stderr,
        )
        return 2
    with interruptible():
        try:
            for name in selected or known:
                _run_one(name)
        except Interrupted as stop:
            print(f"{PROG}: interrupted by {stop}", file=sys.stderr)
            return stop.exit_status
    return 0


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
