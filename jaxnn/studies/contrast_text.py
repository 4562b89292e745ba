"""Sentences for a pre-registered threshold contrast (``peaks.threshold_contrast``), any study.

The studies that test a double-descent peak where the training error puts the
interpolation threshold (in width, in training-set size) state the verdict the
same way: the window, the rise over the cells before it, the excess over the
last cell, each with its p-value and the smallest difference the test would
have detected at its power. Only numbers in the contrast are read.
"""

from __future__ import annotations

from collections.abc import Callable

from jaxnn.formatting import fmt


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
    """One curve's verdict, e.g. "MLP, 15 % label noise: in the window at widths 47 and 61 ...".

    Args:
        title: the curve's name in the text.
        contrast: a ``peaks.threshold_contrast`` result with ``window_values`` and, when
            tested, ``rise_versus_value`` and ``last_value`` (the axis values).
        unit: the axis' unit in the singular ("width", "N").
        value, difference: formatters of a value and of a difference, each with its
            standard error (or None).
        metric: the tested quantity in words.
        before, last: words for the cells before the window and the last cell.
    """
    if not contrast.get("tested"):
        return f"{title}: not tested ({contrast.get('reason', 'no window')})."
    alpha = contrast["alpha"]
    power = f"{fmt(100 * contrast['power'])} %"
    text = (
        f"{title}: the window at {_at(unit, contrast['window_values'])} "
        f"(fixed by the training error) has {metric} "
        f"{value(contrast['window_value'], contrast['window_standard_error'])}. Against the "
        f"best {before} ({_at(unit, [contrast['rise_versus_value']])}) it differs by "
        f"{difference(contrast['rise'], contrast['rise_standard_error'])} (Bonferroni over "
        f"{contrast['rise_cells']}, p = {fmt(contrast['rise_p'], 2)}; a rise of "
        f"{difference(contrast['rise_minimum_detectable'], None)} would be detected with "
        f"{power} power), against {last} ({_at(unit, [contrast['last_value']])}) by "
        f"{difference(contrast['excess'], contrast['excess_standard_error'])} (p = "
        f"{fmt(contrast['excess_p'], 2)}; detectable: "
        f"{difference(contrast['excess_minimum_detectable'], None)}). "
    )
    if contrast["significant"]:
        return (
            text + f"Both below {fmt(alpha)}: a peak at the threshold, {contrast['seeds']} seeds."
        )
    missed = [
        name
        for name, key in (("rise", "rise_p"), ("excess", "excess_p"))
        if not contrast[key] < alpha
    ]
    return text + (
        f"The {' and the '.join(missed)} {'is' if len(missed) == 1 else 'are'} not below "
        f"{fmt(alpha)} with {contrast['seeds']} seeds: no peak established at the threshold."
    )
