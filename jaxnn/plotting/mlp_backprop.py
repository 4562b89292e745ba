"""Plot of the multiply–adds of the hand-derived MLP forward and backward passes (exercise 2).

Left: forward and backward multiply–adds per example against the width L (log-log), one
colour per depth K; closed-form curves, with the counts read off the traced program
(jaxpr) as markers. Right: the backward/forward ratio, which tends to 2 for K ≥ 2.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from jaxnn.plotting import new_figure, save_figure


def plot_all(results: dict, out: str | os.PathLike) -> list[Path]:
    """Writes ``mlp_backprop_counts.png`` from the results of ``jaxnn.studies.mlp_backprop``.

    The dots are the jaxpr counts of the assignment's nets at the smallest N, per example.
    """
    curves = results["plot"]
    smallest = min(row["batch_size"] for row in results["nets"])
    measured = [
        {
            "num_hidden": row["num_hidden"],
            "width": row["width"],
            "forward": row["jaxpr"]["forward_multiply_adds"] / row["batch_size"],
            "backward": row["jaxpr"]["backward_multiply_adds"] / row["batch_size"],
        }
        for row in results["nets"]
        if row["batch_size"] == smallest
    ]
    path = plot_multiply_adds(
        Path(out) / "mlp_backprop_counts.png",
        widths=curves["widths"],
        forward={int(k): v for k, v in curves["forward"].items()},
        backward={int(k): v for k, v in curves["backward"].items()},
        measured=measured,
        title=(
            f"MLP {results['input_size']}→L×K→{results['output_size']}, multiply–adds per "
            "example; dots: the assignment's nets"
        ),
    )
    return [path]


def plot_multiply_adds(
    path: str | os.PathLike,
    *,
    widths: Sequence[int],
    forward: Mapping[int, Sequence[float]],
    backward: Mapping[int, Sequence[float]],
    measured: Sequence[Mapping] = (),
    title: str = "",
) -> Path:
    """Writes the two-panel PNG of multiply–adds against width.

    Args:
        path: where the PNG goes.
        widths: L, the x axis shared by every curve.
        forward: ``{K: forward_multiply_adds[width]}``, closed form.
        backward: ``{K: backward_multiply_adds[width]}``, closed form.
        measured: points counted from the program, each a mapping with keys
            ``num_hidden``, ``width``, ``forward`` and ``backward`` (multiply–adds).
        title: the figure's title, e.g. the input and output sizes.

    Returns:
        The path written.
    """
    if set(forward) != set(backward):
        raise ValueError("backward: must have the same depths K as forward")
    widths = np.asarray(widths, dtype=float)
    fig, axes = new_figure(2, size=(5.2, 4.0))
    counts_ax, ratio_ax = axes[0]
    colours = {k: f"C{i}" for i, k in enumerate(sorted(forward))}
    for k in sorted(forward):
        forward_k, backward_k = np.asarray(forward[k]), np.asarray(backward[k])
        counts_ax.loglog(widths, forward_k, color=colours[k], ls="--", label=f"forward, K={k}")
        counts_ax.loglog(widths, backward_k, color=colours[k], ls="-", label=f"backward, K={k}")
        ratio_ax.semilogx(widths, backward_k / forward_k, color=colours[k], label=f"K={k}")
    shown = [point for point in measured if point["num_hidden"] in colours]
    for index, point in enumerate(shown):
        colour = colours[point["num_hidden"]]
        first = index == 0
        counts_ax.plot(
            point["width"],
            point["forward"],
            "o",
            mfc="none",
            color=colour,
            label="jaxpr count, forward" if first else None,
        )
        counts_ax.plot(
            point["width"],
            point["backward"],
            "o",
            color=colour,
            label="jaxpr count, backward" if first else None,
        )
        ratio_ax.plot(
            point["width"],
            point["backward"] / point["forward"],
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
    if title:
        fig.suptitle(title, y=1.02)
    return save_figure(fig, path)
