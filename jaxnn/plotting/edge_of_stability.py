"""Figures of the edge-of-stability study, drawn from its JSON results alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from jaxnn.plotting import new_figure, save_figure


def _num(values) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values])


def plot_edge_of_stability(results: dict, path) -> Path:
    """Training loss (log y) and λ_max against the step, 2/μ dashed (Cohen et al. 2021, Fig. 1).

    One color per step size μ. Loss: the first seed solid, the others faint. λ_max:
    the seed median bold, each seed faint; the dashed line of the same color is 2/μ.
    """
    config = results["run"]["config"]
    fig, axes = new_figure(ncols=2, size=(6.0, 4.4), layout="constrained")
    loss_ax, sharp_ax = axes[0, 0], axes[0, 1]
    top = 0.0
    for index, curve in enumerate(results["trajectories"]):
        color = f"C{index}"
        rate, edge = curve["learning_rate"], curve["edge"]
        label = f"μ = {rate:g}"
        epochs = np.asarray(curve["loss_epochs"])
        for seed_index, losses in enumerate(curve["train_loss_per_seed"]):
            lw, alpha, name = (0.9, 0.9, label) if seed_index == 0 else (0.6, 0.25, None)
            loss_ax.plot(epochs, _num(losses), color=color, lw=lw, alpha=alpha, label=name)
        records = np.asarray(curve["record_epochs"])
        for values in curve["top_eigenvalue_per_seed"]:
            sharp_ax.plot(records, _num(values), color=color, lw=0.6, alpha=0.3)
        median = _num(curve["top_eigenvalue"])
        sharp_ax.plot(records, median, color=color, lw=1.8, label=f"{label}: λ_max (seed median)")
        sharp_ax.axhline(edge, color=color, ls="--", lw=1.2, label=f"2/μ = {edge:g}")
        top = max(top, edge, np.nanmax(median) if np.isfinite(median).any() else 0.0)
    loss_ax.set_yscale("log")
    seeds = config["seeds"]
    step = "step (full-batch gradient descent)"
    title = f"Training loss (first seed solid, other {seeds - 1} faint)"
    loss_ax.set(xlabel=step, ylabel="training MSE", title=title if seeds > 1 else "Training loss")
    loss_ax.legend(fontsize=8)
    sharp_ax.set_ylim(0, 1.25 * top)
    title = f"Sharpness (Lanczos, every {config['record_every']} steps; faint: seeds)"
    sharp_ax.set(xlabel=step, ylabel=r"sharpness $\lambda_\max$ of the training MSE", title=title)
    sharp_ax.legend(fontsize=7, ncols=2, loc="upper right")
    fig.suptitle(
        f"Edge of stability: {config['data']['input_dim']} → {config['width']}×{config['depth']} → "
        f"{config['data']['output_dim']} ReLU, "
        f"N = {config['n_train']}, {config['init_scheme']} init, {seeds} "
        f"seed{'s' if seeds != 1 else ''}; dashed: "
        f"2/μ, where gradient descent on a quadratic turns unstable",
        fontsize=10,
    )
    return save_figure(fig, path)


def plot_all(results: dict, out) -> list[Path]:
    return [plot_edge_of_stability(results, Path(out) / "edge_of_stability.png")]
