"""Numbers and tables for prose, Markdown and the console: one formatter for the whole project.

Every study's ``markdown(results)``, the report and the CLI summaries format
numbers with ``fmt`` and tables with ``table``, so a number reads the same
wherever it appears.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def fmt(value: Any, digits: int = 3) -> str:
    """A number for prose and tables: ``digits`` significant digits, no trailing noise.

    ``None`` and non-finite floats print as a dash (a missing number is never
    shown as ``nan``); booleans as yes/no; large integers with thin spaces.

    Example:
        >>> fmt(0.000123456), fmt(12345), fmt(2.0), fmt(None), fmt(0.123456, 2)
        ('1.23e-04', '12 345', '2', '—', '0.12')
    """
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}".replace(",", " ") if abs(value) >= 10_000 else str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return "—"
        if value.is_integer() and abs(value) < 1e6:
            return fmt(int(value))
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
            return f"{value:.{digits - 1}e}"
        return f"{value:.{digits}g}"
    if hasattr(value, "item"):  # numpy scalars
        return fmt(value.item(), digits)
    return str(value)


def is_finite(value: Any) -> bool:
    """``math.isfinite`` for a number read back from JSON, where NaN is written as null."""
    return value is not None and math.isfinite(value)


def plus_minus(value: Any, error: Any, digits: int = 3) -> str:
    """``"value ± error"``, the error with one digit fewer."""
    return f"{fmt(value, digits)} ± {fmt(error, max(1, digits - 1))}"


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table; cells that are not strings go through ``fmt``."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += [
        "| " + " | ".join(cell if isinstance(cell, str) else fmt(cell) for cell in row) + " |"
        for row in rows
    ]
    return "\n".join(lines)


def signed(value: Any, digits: int = 2) -> str:
    """A correlation or slope with its sign, ``digits`` decimals; a dash when missing.

    Example:
        >>> signed(0.2449), signed(-1.0), signed(None)
        ('+0.24', '-1.00', '—')
    """
    if not is_finite(value):
        return "—"
    return f"{float(value):+.{digits}f}"


def p_text(p: Any) -> str:
    """``"p = 0.031"``: a p-value for prose, two significant digits (a dash when missing).

    Example:
        >>> p_text(0.03141), p_text(1.3e-7), p_text(None)
        ('p = 0.031', 'p = 1.3e-07', 'p = —')
    """
    return f"p = {fmt(None if p is None else float(p), 2)}"


def percent(value: Any) -> str:
    """A fraction in [0, 1] as ``"39 %"`` (two significant digits); a dash when missing."""
    return "—" if value is None else f"{fmt(100 * float(value), 2)} %"


def listed(values: Sequence[Any]) -> str:
    """Settings for prose: ``"0.02, 0.04"`` (each as ``:g``), or ``"none"``."""
    return ", ".join(f"{value:g}" for value in values) or "none"


def count_of(count: int, noun: str) -> str:
    """``"1 seed"``, ``"3 seeds"``: a count with its noun, plural when it is not one."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def label_noise_words(fraction: float) -> str:
    """ "no label noise" or "15 % label noise": a label-noise level in prose."""
    return "no label noise" if fraction == 0 else f"{fmt(100 * fraction)} % label noise"


def details(summary: str, body: str) -> str:
    """A Markdown block that GitHub renders folded: ``summary`` on the fold, ``body`` inside.

    The method, the p-values and the per-cell lists of a section go here, so the
    answer, the figure and the compact table come first.

    Example:
        >>> print(details("How it was tested", "Paired t-tests over seeds."))
        <details>
        <summary>How it was tested</summary>
        <BLANKLINE>
        Paired t-tests over seeds.
        <BLANKLINE>
        </details>
    """
    return f"<details>\n<summary>{summary}</summary>\n\n{body.strip()}\n\n</details>"
