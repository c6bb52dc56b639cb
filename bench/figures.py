"""Prints a part of a long-form bench run as a Markdown table of figures (the README quotes
them), and the p50 / p95 / max line of timed runs; shared by the bench scripts."""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def show(title: str, figures: dict[str, object]) -> None:
    print(f"\n### {title}\n\n| figure | value |\n|---|---|")
    for name, value in figures.items():
        print(f"| {name} | {value} |")


def p50_p95_max(values: Sequence[float]) -> str:
    """``p50 / p95 / max`` of timings in milliseconds, rounded to whole milliseconds."""
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"{statistics.median(ordered):.0f} / {p95:.0f} / {ordered[-1]:.0f}"
