"""Plot of the multiply–adds of the hand-derived MLP forward and backward passes (exercise 2).

Left: forward and backward multiply–adds per example against the width L (log-log), one
colour per depth K; closed-form curves, with the counts read off the traced program
(jaxpr) as markers. Right: the backward/forward ratio, which tends to 2 for K ≥ 2.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from jaxnn.plotting import new_figure, save_figure


def plot_all(results: dict, out: str | os.PathLike) -> list[Path]:
    """Writes ``mlp_backprop_counts.png`` from the results of ``jaxnn.studies.mlp_backprop``.

    The lines are the closed-form ``results["plot"]``; the dots the jaxpr counts of the
    assignment's nets at the smallest N, per example.
    """
    curves = results["plot"]
    widths = np.asarray(curves["widths"], dtype=float)
    fig, axes = new_figure(2, size=(5.2, 4.0))
    counts_ax, ratio_ax = axes[0]
    colours = {k: f"C{i}" for i, k in enumerate(sorted(int(k) for k in curves["forward"]))}
    for k, colour in colours.items():
        forward, backward = (
            np.asarray(curves["forward"][str(k)]),
            np.asarray(curves["backward"][str(k)]),
        )
        counts_ax.loglog(widths, forward, color=colour, ls="--", label=f"forward, K={k}")
        counts_ax.loglog(widths, backward, color=colour, ls="-", label=f"backward, K={k}")
        ratio_ax.semilogx(widths, backward / forward, color=colour, label=f"K={k}")
    smallest = min(row["batch_size"] for row in results["nets"])
    shown = [
        row
        for row in results["nets"]
        if row["batch_size"] == smallest and row["num_hidden"] in colours
    ]
    for index, row in enumerate(shown):
        colour, first = colours[row["num_hidden"]], index == 0
        forward = row["jaxpr"]["forward_multiply_adds"] / row["batch_size"]
        backward = row["jaxpr"]["backward_multiply_adds"] / row["batch_size"]
        counts_ax.plot(
            row["width"],
            forward,
            "o",
            mfc="none",
            color=colour,
            label="jaxpr count, forward" if first else None,
        )
        counts_ax.plot(
            row["width"],
            backward,
            "o",
            color=colour,
            label="jaxpr count, backward" if first else None,
        )
        ratio_ax.plot(
            row["width"],
            backward / forward,
            "o",
            color=colour,
            label="jaxpr count" if first else None,
        )
    counts_ax.set_xlabel("hidden width L")
    counts_ax.set_ylabel("multiply–adds per example")
    counts_ax.set_title("closed form (lines); traced program (dots)")
    counts_ax.legend(fontsize=8)
    ratio_ax.axhline(2.0, color="0.5", lw=0.8, ls=":", label="2 (L → ∞, K ≥ 2)")
    ratio_ax.set_xlabel("hidden width L")
    ratio_ax.set_ylabel("backward / forward multiply–adds")
    ratio_ax.set_title("backward / forward")
    ratio_ax.legend(fontsize=8)
    fig.suptitle(
        f"MLP {results['input_size']}→L×K→{results['output_size']}, multiply–adds per "
        "example; dots: the assignment's nets",
        y=1.02,
    )
    return [save_figure(fig, Path(out) / "mlp_backprop_counts.png")]
