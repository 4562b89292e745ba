"""Figure of the minimum-norm least-squares baseline, drawn from its JSON results alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from jaxnn.plotting import log_axis_with_plain_ticks, new_figure, save_figure


def plot_risk(results: dict, path) -> Path:
    """Excess risk against p: the formula as a line, the measurements as points ± s.e., log-log."""
    n = results["n"]
    fig, axes = new_figure(size=(7.0, 4.5))
    ax = axes[0, 0]
    curve_p = np.array(results["theory_curve"]["p"], dtype=float)
    curve = np.array(results["theory_curve"]["theory"], dtype=float)
    # Two segments, so the line does not join the two sides of the pole at p = n.
    for side, label in ((curve_p < n, "theory (Hastie et al. 2019)"), (curve_p > n, None)):
        ax.plot(curve_p[side], curve[side], "-", color="k", lw=1.2, label=label)
    rows = results["rows"]
    margin = results["check_margin"]
    # The axis ends a decade above the formula's highest point: a mean measured at p = n
    # (infinite in expectation) would otherwise squash the curve; such points are drawn
    # at the top edge, labelled with their value.
    top = 10 * max(max(curve), max(r["excess_risk"] for r in rows if r["checked"]))
    checked_label = f"measured ± s.e. (checked: |p − n| ≥ {margin})"
    near_label = f"measured ± s.e. (|p − n| < {margin}, heavy tails)"
    styles = {
        True: dict(fmt="o", color="tab:blue", label=checked_label),
        False: dict(fmt="s", color="tab:orange", mfc="none", label=near_label),
    }
    for checked, style in styles.items():
        chosen = [r for r in rows if r["checked"] == checked and r["excess_risk"] <= top]
        if not chosen:
            continue
        p = np.array([r["p"] for r in chosen], dtype=float)
        mean = np.array([r["excess_risk"] for r in chosen], dtype=float)
        error = np.array([r["standard_error"] for r in chosen], dtype=float)
        # On a log axis a lower bar below zero cannot be drawn: clip it at a tenth of the mean.
        lower = np.minimum(error, 0.9 * mean)
        ax.errorbar(p, mean, yerr=[lower, error], ms=4, capsize=2, lw=1, **style)
    misses = [r for r in rows if r["checked"] and r["within_3_se"] is False]
    if misses:
        p, mean = ([r[k] for r in misses] for k in ("p", "excess_risk"))
        ax.plot(p, mean, "x", color="tab:red", ms=9, label="outside 3 s.e. of theory")
    for r in (r for r in rows if r["excess_risk"] > top):
        ax.plot(r["p"], top, "^", color="tab:orange", ms=7, clip_on=False)
        note = f"p = {r['p']}: {r['excess_risk']:.2g} (off scale)"
        ax.annotate(note, (r["p"], top), xytext=(6, -12), textcoords="offset points", fontsize=8)
    ax.axvline(n, color="gray", ls=":", lw=1, label=f"p = n = {n}")
    zero = results["beta_norm"] ** 2  # the risk of the zero estimator
    ax.axhline(zero, color="gray", ls="--", lw=0.8, label="‖β‖², risk of β̂ = 0")
    ax.set_yscale("log")
    ax.set_ylim(top=top)
    log_axis_with_plain_ticks(ax, [r["p"] for r in rows])
    ax.set(
        xlabel="features p",
        ylabel="excess test risk E‖β̂ − β‖²",
        title=f"Minimum-norm least squares, n = {n}, s = {results['noise_std']:g}, "
        f"‖β‖ = {results['beta_norm']:g} ({results['n_seeds']} draws per p)",
    )
    ax.legend(fontsize=8, loc="lower right")
    return save_figure(fig, path)


def plot_all(results: dict, out) -> list[Path]:
    """Writes ``linear_min_norm.png`` into ``out``."""
    return [plot_risk(results, Path(out) / "linear_min_norm.png")]
