"""`python -m checks.bench`: runs every benchmark module and prints its figures."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time

from checks import benchmarks


def main(argv: list[str] | None = None) -> int:
    selected = set(argv if argv is not None else sys.argv[1:])
    for info in sorted(pkgutil.iter_modules(benchmarks.__path__), key=lambda m: m.name):
        if selected and info.name not in selected:
            continue
        module = importlib.import_module(f"checks.benchmarks.{info.name}")
        print(f"== {info.name}", flush=True)
        started = time.perf_counter()

        def report(name: str, value: float, unit: str) -> None:
            print(f"  {name:<58} {value:>14,.3f} {unit}", flush=True)

        module.run(report)
        print(f"  ({time.perf_counter() - started:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
