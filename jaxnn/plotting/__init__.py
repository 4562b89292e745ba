"""Plotting: reads results, knows nothing about training.

One module per study (``jaxnn.plotting.<study>``); this file holds what they
share. Figures are written atomically by ``jaxnn.io``, like every other result file.
"""

from __future__ import annotations

import os
from io import BytesIO
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: experiments write PNGs, never open windows
import matplotlib.pyplot as plt

STYLE = {
    "figure.dpi": 110,
    "savefig.dpi": 130,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "font.size": 10,
}


def new_figure(ncols: int = 1, nrows: int = 1, *, size=(6.0, 4.0), **kwargs):
    """A figure with the project's style and ``nrows × ncols`` axes of ``size`` each."""
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(
            nrows, ncols, figsize=(size[0] * ncols, size[1] * nrows), squeeze=False, **kwargs
        )
    for ax in axes.flat:
        ax.grid(True, alpha=0.3)
        ax.spines["top"].set_visible(False)
        ax.spines["right"].set_visible(False)
    return fig, axes


def save_figure(fig, path: str | os.PathLike) -> Path:
    """Writes ``fig`` as PNG atomically and closes it."""
    from jaxnn import io

    buffer = BytesIO()
    try:
        fig.savefig(buffer, format="png", bbox_inches="tight")
    finally:
        plt.close(fig)
    return io.write_bytes(path, buffer.getvalue())


def log_axis_with_plain_ticks(ax, values, axis: str = "x") -> None:
    """A log axis labelled with plain numbers (2, 5, 10, 20, ...) within the range of ``values``."""
    from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator, ScalarFormatter

    low, high = min(values), max(values)
    ticks = [
        t
        for decade in (1, 10, 100, 1000, 10000)
        for t in (decade, 2 * decade, 5 * decade)
        if low <= t <= high
    ]
    target = ax.xaxis if axis == "x" else ax.yaxis
    (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
    target.set_major_locator(FixedLocator(ticks))
    target.set_major_formatter(ScalarFormatter())
    target.set_minor_locator(NullLocator())
    target.set_minor_formatter(NullFormatter())
