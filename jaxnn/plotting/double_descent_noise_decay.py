"""Figures of the label-noise and weight-decay sweeps, drawn from their JSON results alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from jaxnn.plotting import log_axis_with_plain_ticks, new_figure, save_figure


def _band(ax, rows, color, label, **style):
    widths = np.array([r["width"] for r in rows])
    mean = np.array([r["excess_risk"] for r in rows])
    error = np.array([r["excess_risk_standard_error"] for r in rows])
    ax.fill_between(widths, np.maximum(mean - error, 1e-12), mean + error, color=color, alpha=0.2)
    ax.plot(widths, mean, "o-", ms=3, color=color, label=label, **style)


def plot_noise(results: dict, path) -> Path:
    """Excess test risk against width, one curve per noise level, log-log."""
    fig, axes = new_figure(size=(7.0, 4.5))
    ax = axes[0, 0]
    levels = [p["noise_std"] for p in results["noise_peaks"]]
    colors = [f"C{i}" for i in range(len(levels))]
    for s, color in zip(levels, colors):
        rows = [r for r in results["noise_rows"] if r["noise_std"] == s]
        _band(ax, rows, color, f"s = {s:g} (R_t = {s * s:g})")
    threshold = results["interpolation_width"]
    ax.axvline(threshold, color="k", ls=":", lw=1, label=f"params = N·O (M ≈ {threshold:.1f})")
    ax.set_yscale("log")
    log_axis_with_plain_ticks(ax, [r["width"] for r in results["noise_rows"]])
    ax.set(
        xlabel="hidden width M (8 → M → M → 8)",
        ylabel="excess test risk = test MSE − R_t",
        title=f"Double-descent peak against label noise s (N = {results['n_train']}; "
        "mean ± s.e. over seeds)",
    )
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def plot_decay(results: dict, path) -> Path:
    """Excess risk against width without decay, for every λ, and with the best λ per width."""
    fig, axes = new_figure(size=(7.0, 4.5))
    ax = axes[0, 0]
    decays = sorted({r["weight_decay"] for r in results["decay_rows"]} - {0.0})
    for index, wd in enumerate(decays):
        rows = [r for r in results["decay_rows"] if r["weight_decay"] == wd]
        ax.plot(
            [r["width"] for r in rows],
            [r["excess_risk"] for r in rows],
            "-",
            lw=0.8,
            color="gray",
            alpha=0.3 + 0.5 * index / max(1, len(decays) - 1),
            label="each λ > 0 (darker: larger)" if index == 0 else None,
        )
    unregularized = [r for r in results["decay_rows"] if r["weight_decay"] == 0.0]
    _band(ax, unregularized, "tab:red", "no weight decay")
    _band(ax, results["optimal_decay_rows"], "tab:blue", "best λ for each width")
    ax.axvline(results["interpolation_width"], color="k", ls=":", lw=1, label="params = N·O")
    ax.set_yscale("log")
    log_axis_with_plain_ticks(ax, [r["width"] for r in results["decay_rows"]])
    noise = results["run"]["config"]["decay_noise_std"]
    ax.set(
        xlabel="hidden width M",
        ylabel="excess test risk = test MSE − R_t",
        title=f"Optimal weight decay against the peak (s = {noise:g}, N = {results['n_train']})",
    )
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def plot_all(results: dict, out) -> list[Path]:
    out = Path(out)
    return [
        plot_noise(results, out / "double_descent_noise.png"),
        plot_decay(results, out / "double_descent_decay.png"),
    ]
