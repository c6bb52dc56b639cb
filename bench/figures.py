"""Prints a part of a long-form bench run as a Markdown table of figures (the README quotes
them); shared by ``bench/hostile.py`` and ``bench/fuzz.py``."""

from __future__ import annotations


def show(title: str, figures: dict[str, object]) -> None:
    print(f"\n### {title}\n\n| figure | value |\n|---|---|")
    for name, value in figures.items():
        print(f"| {name} | {value} |")
