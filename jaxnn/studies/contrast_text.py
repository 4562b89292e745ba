"""Sentences for a pre-registered threshold contrast (``peaks.threshold_contrast``), any study.

The studies that test a double-descent peak where the training error puts the
interpolation threshold (in width, in training-set size) state the verdict the
same way: the window, the rise over the cells before it, the excess over the
last cell, each with its p-value and the smallest difference the test would
have detected at its power. Only numbers in the contrast are read. The error-rate
formatters below are the ones the MNIST-1D studies pass in.
"""

from __future__ import annotations

from collections.abc import Callable

from jaxnn.formatting import fmt, is_finite


def _scaled(value, error, unit: str, sign: str = "") -> str:
    """A fraction times 100 with ``unit`` and its standard error, a dash when missing."""
    if not is_finite(value):
        return "—"
    spread = "" if not is_finite(error) else f" ± {fmt(100 * error, 2)}"
    return f"{sign if value > 0 else ''}{fmt(100 * value, 3)}{spread} {unit}"


def error_rate(value, error=None) -> str:
    """An error rate in percent: "41.2 ± 0.53 %" (or "41.2 %" without an error)."""
    return _scaled(value, error, "%")


def points(value, error=None) -> str:
    """A difference of two error rates, signed: "+3.41 ± 0.52 percentage points"."""
    return _scaled(value, error, "percentage points", "+")


def pt(value, error=None) -> str:
    """The same, short and unsigned, for tables and answers: "3.41 ± 0.52 pt"."""
    return _scaled(value, error, "pt")


def _at(unit: str, values) -> str:
    """ "width 8", "widths 8 and 11", or for a symbol "M = 8 and 11"."""
    values = [fmt(v) for v in values]
    listed = values[0] if len(values) == 1 else f"{', '.join(values[:-1])} and {values[-1]}"
    if len(unit) <= 2:  # a symbol such as M or N
        return f"{unit} = {listed}"
    return f"{unit}{'' if len(values) == 1 else 's'} {listed}"


def contrast_sentence(
    title: str,
    contrast: dict,
    *,
    unit: str,
    value: Callable[[float, float | None], str],
    difference: Callable[[float, float | None], str],
    metric: str = "test error",
    before: str = "narrower",
    last: str = "the widest",
) -> str:
    """One curve's verdict with its size, e.g. "MLP: double descent at widths 47 and 61 ...".

    The verdict is the contrast's ``verdict`` (``peaks.sized_verdict``); the
    p-values and the detectable sizes are in ``contrast_test_sentence``, for the
    method block. ``contrast`` is a ``peaks.threshold_contrast`` result with the
    axis values (``window_values`` and, when tested, ``rise_versus_value`` and
    ``last_value``); ``unit`` is the axis' unit in the singular ("width", or a
    symbol such as "M"); ``value`` and ``difference`` format a value and a
    difference with its standard error (or None); ``before`` and ``last`` are
    words for the cells before the window and the last cell.
    """
    if not contrast.get("tested"):
        return f"{title}: not tested ({contrast.get('reason', 'no window')})."
    window = _at(unit, contrast["window_values"])
    rise = difference(contrast["rise"], contrast["rise_standard_error"])
    floor = difference(contrast["rise_floor"], None)
    versus_value = contrast["rise_versus_value"]
    versus = _at(unit, [versus_value])
    undone = contrast["undone"]
    # JSON stores a NaN share (no rise to undo) as null.
    share = f"{fmt(100 * undone, 3)} %" if undone is not None and undone == undone else "none"
    needed = f"{fmt(100 * contrast['share'])} %"
    widest = f"{last} ({_at(unit, [contrast['last_value']])})"
    verdict = contrast["verdict"]
    if verdict in ("double descent", "overfitting that levels off"):
        head = (
            "**double descent**"
            if verdict == "double descent"
            else "a peak that levels off, **not double descent**"
        )
        whole = "that rise"
        if contrast.get("dip_value") is not None and contrast["dip_value"] != versus_value:
            whole = (
                f"the whole rise from the lowest {before} ({_at(unit, [contrast['dip_value']])}, "
                f"{difference(contrast['rise_from_dip'], None)})"
            )
        return (
            f"{title}: {head} at the threshold ({window}). The {metric} rises {rise} above the "
            f"best {before} ({versus}; floor {floor}); {widest} undoes {share} of {whole} "
            f"({difference(contrast['excess'], contrast['excess_standard_error'])}; at least "
            f"{needed} needed)."
        )
    if verdict == "rise below floor":
        return (
            f"{title}: **no peak that matters** at the threshold ({window}): the {metric} rises "
            f"{rise} above the best {before} ({versus}), significant but below its floor {floor}."
        )
    return (
        f"{title}: **no peak** at the threshold ({window}): the {metric} differs by {rise} from "
        f"the best {before} ({versus}; floor {floor}); a rise of "
        f"{difference(contrast['rise_minimum_detectable'], None)} would have been detected "
        f"with {fmt(100 * contrast['power'])} % power."
    )


def contrast_test_sentence(
    title: str,
    contrast: dict,
    *,
    unit: str,
    difference: Callable[[float, float | None], str],
    before: str = "narrower",
    last: str = "the widest",
) -> str:
    """The tests behind ``contrast_sentence``: p-values and detectable sizes, for a method block."""
    if not contrast.get("tested"):
        return f"{title}: not tested ({contrast.get('reason', 'no window')})."
    power = f"{fmt(100 * contrast['power'])} %"
    return (
        f"{title}: window {_at(unit, contrast['window_values'])}, {contrast['seeds']} seeds. "
        f"Rise over the best {before} ({_at(unit, [contrast['rise_versus_value']])}): "
        f"Bonferroni over {contrast['rise_cells']}, p = {fmt(contrast['rise_p'], 2)}, "
        f"detectable at {power} power "
        f"{difference(contrast['rise_minimum_detectable'], None)}. Excess over {last} "
        f"({_at(unit, [contrast['last_value']])}): p = {fmt(contrast['excess_p'], 2)}, "
        f"detectable {difference(contrast['excess_minimum_detectable'], None)}."
    )
