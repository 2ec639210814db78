"""Benchmarks run by `make bench` (`python -m checks.bench`).

Each module here defines `run(report: Report) -> None` and calls `report(name,
value, unit)` for every figure it measures. Figures that compare two things are
measured in the same run and reported as ratios.
"""

from collections.abc import Callable

Report = Callable[[str, float, str], None]
