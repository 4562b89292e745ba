"""The figure of the sample-wise MNIST-1D study, drawn from its JSON results alone.

One panel per label-noise level: test error (solid) and training error (dashed)
against the number of training examples N on a log axis, one colour per width,
error bars one standard error over seeds, and each curve's pre-registered
threshold window (the last N fitted exactly and the next) shaded in its colour.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.ticker import FixedLocator

from jaxnn.plotting import log_axis_with_plain_ticks, new_figure, save_figure

COLORS = ("tab:blue", "tab:red", "tab:green", "tab:purple", "tab:brown")


def _series(rows, metric):
    """100 × the seed means of ``metric`` and their standard errors (0 where missing)."""
    mean = 100 * np.array([r[metric] for r in rows], np.float64)
    return mean, np.nan_to_num(100 * np.array([r[f"{metric}_standard_error"] for r in rows], float))


def plot_n_train(results: dict, path) -> Path:
    """Error against N, one panel per noise level, threshold windows shaded."""
    levels = sorted({c["label_noise"] for c in results["curves"]})
    widths = sorted({c["width"] for c in results["curves"]})
    color = {w: COLORS[i % len(COLORS)] for i, w in enumerate(widths)}
    fig, axes = new_figure(ncols=len(levels), size=(5.4, 4.2))
    seeds = results["run"]["config"]["seeds"]
    for ax, level in zip(axes[0], levels):
        curves = [c for c in results["curves"] if c["label_noise"] == level]
        all_n = sorted({n for c in curves for n in c["n_train"]})
        top = 0.0
        for curve in curves:
            cell = (curve["label_noise"], curve["width"])
            own = [r for r in results["rows"] if (r["label_noise"], r["width"]) == cell]
            rows = sorted(own, key=lambda r: r["n_train"])
            n = np.array([r["n_train"] for r in rows], np.float64)
            c = color[curve["width"]]
            window = curve.get("window_values") or []
            if window:
                ax.axvspan(window[0], window[-1], color=c, alpha=0.13, lw=0)
            for metric, style, label in (
                ("test_error", "o-", "test"),
                ("train_error", "s--", "train"),
            ):
                mean, error = _series(rows, metric)
                top = max(top, np.nanmax(mean + error))
                ax.errorbar(
                    n,
                    mean,
                    yerr=error,
                    fmt=style,
                    color=c,
                    ms=3.5,
                    lw=1.5 if label == "test" else 1.1,
                    capsize=2,
                    alpha=1.0 if label == "test" else 0.75,
                    label=f"M = {curve['width']} ({curve['n_params']:,} parameters), {label}",
                )
        log_axis_with_plain_ticks(ax, all_n)
        ax.xaxis.set_minor_locator(FixedLocator(all_n))  # a tick mark at every N of the grid
        if level > 0:
            ax.axhline(90 * level, color="gray", ls=":", lw=1)
            ax.annotate(
                f"wrong training labels, {90 * level:g} %",
                (all_n[0], 90 * level),
                xytext=(2, 3),
                textcoords="offset points",
                fontsize=7,
                color="gray",
            )
        noise = "no label noise" if level == 0 else f"{100 * level:g} % label noise"
        ax.set(
            title=f"MLP 40 → M → M → 10, {noise}",
            xlabel="training examples N (log scale)",
            ylabel="classification error (%)",
            ylim=(-1, max(10.0, top + 4)),
        )
        ax.legend(fontsize=7, loc="upper right")
    steps = results["run"]["config"]["steps"]
    fig.suptitle(
        f"Sample-wise double descent on MNIST-1D ({steps:,} SGD steps at every N; error bars: "
        f"± one standard error over {seeds} seeds;\nshaded: each width's threshold window, the "
        "last N fitted exactly on every seed and the next)",
        fontsize=9.5,
    )
    fig.tight_layout()
    return save_figure(fig, path)


def plot_all(results: dict, out) -> list[Path]:
    return [plot_n_train(results, Path(out) / "sample_wise_mnist1d.png")]
