"""The results of a run as a table for people and as JSON for tools."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from checks.quorum.properties import Result
from checks.quorum.spec import Variant

__all__ = ["all_as_expected", "summary_line", "table", "to_json"]


def all_as_expected(results: Sequence[Result]) -> bool:
    return all(r.as_expected for r in results)


def table(results: Sequence[Result], pictures: Mapping[str, list[Path]] | None = None) -> str:
    """One row per property; a refuted one is followed by its counterexample."""
    pictures = pictures or {}
    headers = ("family", "property", "expected", "result", "seconds", "")
    rows = [
        (
            r.prop.family,
            r.prop.name,
            r.prop.expected.value,
            r.verdict.outcome.value,
            f"{r.seconds:.2f}",
            "" if r.as_expected else "<- NOT AS EXPECTED",
        )
        for r in results
    ]
    widths = [max([len(h), *(len(row[k]) for row in rows)]) for k, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if k != 4 else c.rjust(w)
            for k, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    for result, row in zip(results, rows, strict=True):
        out.append(line(row))
        verdict = result.verdict
        if verdict.counterexample is not None:
            out.append(f"    counterexample: {verdict.counterexample.summary}")
        if verdict.detail:
            out.append(f"    solver: {verdict.detail}")
        for path in pictures.get(result.key, []):
            out.append(f"    picture: {path}")
    return "\n".join(out)


def summary_line(results: Sequence[Result], seconds: float) -> str:
    wrong = [r.key for r in results if not r.as_expected]
    proved = sum(r.verdict.outcome.value == "proved" for r in results)
    refuted = sum(r.verdict.outcome.value == "refuted" for r in results)
    head = f"{len(results)} properties, {proved} proved, {refuted} refuted, in {seconds:.1f} s: "
    if not wrong:
        return head + "every outcome as expected"
    return head + f"{len(wrong)} not as expected: " + ", ".join(wrong)


def to_json(
    results: Sequence[Result],
    *,
    variant: Variant,
    max_ids: int,
    seconds: float,
    pictures: Mapping[str, list[Path]] | None = None,
) -> dict[str, Any]:
    pictures = pictures or {}
    return {
        "variant": variant.value,
        "variant_description": variant.description,
        "max_ids": max_ids,
        "seconds": round(seconds, 3),
        "as_expected": all_as_expected(results),
        "properties": [
            {
                "family": r.prop.family,
                "name": r.prop.name,
                "statement": r.prop.statement,
                "expected": r.prop.expected.value,
                "result": r.verdict.outcome.value,
                "as_expected": r.as_expected,
                "seconds": round(r.seconds, 3),
                "counterexample": None
                if r.verdict.counterexample is None
                else {
                    "summary": r.verdict.counterexample.summary,
                    "data": r.verdict.counterexample.data,
                },
                "solver_detail": r.verdict.detail or None,
                "pictures": [str(p) for p in pictures.get(r.key, [])],
            }
            for r in results
        ],
    }
