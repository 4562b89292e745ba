"""Figures of the double-descent study, drawn from its JSON results alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from jaxnn.plotting import log_axis_with_plain_ticks, new_figure, save_figure

N_COLORS = ("tab:blue", "tab:red", "tab:green", "tab:purple")


def plot_training_curves(results: dict, path) -> Path:
    """Part (b): training MSE against epoch for each width, log-log, with R_t."""
    fig, axes = new_figure(size=(6.5, 4.3))
    ax = axes[0, 0]
    for index, curve in enumerate(results["training_curves"]):
        epochs = np.asarray(curve["epochs"])
        color = f"C{index}"
        for seed_curve in curve["train_loss_per_seed"]:
            ax.plot(epochs + 1, seed_curve, color=color, alpha=0.25, lw=0.8)
        first = curve.get("first_epoch_below_1e-3")
        note = f"< 1e-3 at epoch {first:.0f}" if first is not None else "never < 1e-3"
        label = f"M = {curve['width']} ({curve['n_params']} params): {note}"
        ax.plot(epochs + 1, curve["train_loss"], color=color, lw=2, label=label)
    ax.axhline(results["bayes_risk"], color="k", ls="--", lw=1, label=r"$R_t = s^2$ (test optimum)")
    ax.axhline(1e-3, color="gray", ls=":", lw=1, label="MSE = 1e-3")
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="epoch + 1 (full batch: one Adam step each)",
        ylabel="training MSE",
        title=f"Training loss, N = {results['curve_n_train']} "
        f"(bold: median of {len(results['training_curves'][0]['train_loss_per_seed'])}"
        " seeds, thin: each seed)",
    )
    ax.legend(fontsize=8, loc="lower left")
    return save_figure(fig, path)


def _rows(results: dict, n_train: int) -> list[dict]:
    return sorted(
        (r for r in results["sweep"] if r["n_train"] == n_train), key=lambda r: r["width"]
    )


def _n_values(results: dict) -> list[int]:
    return sorted({r["n_train"] for r in results["sweep"]})


def _threshold_marker(ax, results: dict, n_train: int, color: str) -> None:
    for entry in results["parameter_count_at_n_times_outputs"]:
        if entry["n_train"] == n_train:
            label = f"params = N·O = {entry['n_params']} (M ≈ {entry['width']:.1f})"
            ax.axvline(entry["width"], color=color, ls=":", lw=1.2, label=label)


def plot_sweep(results: dict, path, n_train: int | None = None) -> Path:
    """Part (c): final training and test loss against width, seed mean with min–max band."""
    n_train = n_train or _n_values(results)[0]
    rows = _rows(results, n_train)
    widths = np.array([r["width"] for r in rows])
    seeds, tol = rows[0]["n_seeds"], results["interpolation_tol"]
    fig, axes = new_figure(ncols=2, size=(5.6, 4.2))
    for ax, metric, label in (
        (axes[0, 0], "train_loss", "final training MSE"),
        (axes[0, 1], "test_loss", "test MSE"),
    ):
        mean = np.array([r[metric] for r in rows])
        low = np.array([r[f"{metric}_min"] for r in rows])
        high = np.array([r[f"{metric}_max"] for r in rows])
        ax.fill_between(widths, low, high, color="tab:blue", alpha=0.2, label="min–max over seeds")
        ax.plot(widths, mean, "o-", color="tab:blue", ms=3, label=f"mean over {seeds} seeds")
        _threshold_marker(ax, results, n_train, "tab:red")
        for entry in results["interpolation_threshold"]:
            if entry["n_train"] == n_train and metric == "train_loss":
                measured = f"measured threshold M = {entry['width']}"
                ax.axvline(entry["width"], color="tab:green", ls="--", lw=1.2, label=measured)
        log_axis_with_plain_ticks(ax, widths)
        ax.set(xlabel="hidden width M (8 → M → M → 8)", ylabel=label)
        if metric == "train_loss":
            ax.axhline(tol, color="gray", ls=":", lw=1, label=f"interpolation tol {tol:g}")
            ax.set_yscale("log")
        else:
            ax.axhline(results["bayes_risk"], color="k", ls="--", lw=1, label=r"$R_t = s^2$")
            ax.set_ylim(bottom=0)
        ax.legend(fontsize=7)
    epochs = results["run"]["config"]["epochs"]
    fig.suptitle(f"Double descent: N = {n_train}, full-batch Adam, {epochs} steps")
    return save_figure(fig, path)


def plot_more_data(results: dict, path) -> Path:
    """Part (d): test loss against width for every N, with each N's threshold marker."""
    fig, axes = new_figure(size=(7.0, 4.3))
    ax = axes[0, 0]
    for index, n_train in enumerate(_n_values(results)):
        rows = _rows(results, n_train)
        widths = np.array([r["width"] for r in rows])
        color = N_COLORS[index % len(N_COLORS)]
        low, high = ([r[f"test_loss_{k}"] for r in rows] for k in ("min", "max"))
        ax.fill_between(widths, low, high, color=color, alpha=0.15)
        label = f"N = {n_train} (mean, min–max band)"
        ax.plot(widths, [r["test_loss"] for r in rows], "o-", ms=3, color=color, label=label)
        _threshold_marker(ax, results, n_train, color)
    ax.axhline(results["bayes_risk"], color="k", ls="--", lw=1, label=r"$R_t = s^2$")
    tested = results.get("more_data_hurts_tested") or {}
    hurt = tested.get("harmful_widths") or []
    if hurt:
        label = "larger N worse (significant, ≥ seed-spread floor)"
        bottom = [ax.get_ylim()[0]] * len(hurt)
        ax.scatter(hurt, bottom, marker="|", color="tab:red", s=80, clip_on=False, label=label)
    log_axis_with_plain_ticks(ax, [r["width"] for r in results["sweep"]])
    ax.set(
        ylim=(0, None),
        xlabel="hidden width M",
        ylabel="test MSE",
        title="More data can hurt: test loss for each training-set size",
    )
    ax.legend(fontsize=7)
    return save_figure(fig, path)


def plot_epochwise(results: dict, path) -> Path:
    """Test MSE over (width, epoch) for every N: marked only where the verdicts say so.

    A white circle is epoch-wise double descent (the fall undoes at least the
    second-descent share of a rise above its floor, ``epochwise_verdicts``), a red
    cross overfitting that levels off; a significant sliver is not marked.
    """
    panels = results["epochwise"]
    fig, axes = new_figure(ncols=len(panels), size=(5.4, 4.4))
    from matplotlib.colors import LogNorm

    values = np.concatenate([np.ravel(p["test_loss"]) for p in panels])
    norm = LogNorm(vmin=np.nanmin(values), vmax=np.nanmax(values))
    for ax, panel in zip(axes[0], panels):
        widths, epochs = np.asarray(panel["widths"]), np.asarray(panel["epochs"])
        loss = np.asarray(panel["test_loss"]).T  # [epoch, width]
        mesh = ax.pcolormesh(widths, epochs + 1, loss, norm=norm, cmap="viridis", shading="nearest")
        share = f"{100 * panel.get('share', 0.5):g} %"
        styles = {
            "double descent": ("w", "o", f"double descent: falls back ≥ {share} of its rise"),
            "overfitting that levels off": ("r", "x", "overfitting that levels off"),
        }
        for kind, (color, marker, label) in styles.items():
            marks = [m for m in panel["nonmonotone"] if m["kind"] == kind]
            if marks:
                where = [m["width"] for m in marks], [m["peak_epoch"] + 1 for m in marks]
                ax.scatter(*where, color=color, marker=marker, s=25, label=f"{label} (peak epoch)")
            elif kind == "double descent":  # say so in the legend: nothing qualifies
                ax.scatter([], [], color=color, marker=marker, s=25, label=f"{label}: none")
        for entry in results["parameter_count_at_n_times_outputs"]:
            if entry["n_train"] == panel["n_train"]:
                ax.axvline(entry["width"], color="w", ls=":", lw=1, label="params = N·O")
        ax.set(
            yscale="log",
            xlabel="hidden width M",
            ylabel="epoch + 1 (full-batch Adam steps)",
            title=f"Test MSE over width and epoch, N = {panel['n_train']}",
        )
        log_axis_with_plain_ticks(ax, widths)
        ax.grid(False)
        ax.legend(fontsize=7, loc="lower left")
    from matplotlib.ticker import FormatStrFormatter

    bar = fig.colorbar(mesh, ax=axes[0].tolist(), label="test MSE (mean over seeds)")
    bar.ax.yaxis.set_major_formatter(FormatStrFormatter("%.2g"))
    bar.ax.yaxis.set_minor_formatter(FormatStrFormatter("%.2g"))
    return save_figure(fig, path)


def plot_all(results: dict, out) -> list[Path]:
    out = Path(out)
    paths = [
        plot_training_curves(results, out / "double_descent_curves.png"),
        plot_sweep(results, out / "double_descent_sweep.png"),
        plot_more_data(results, out / "double_descent_more_data.png"),
    ]
    if results.get("epochwise"):
        paths.append(plot_epochwise(results, out / "double_descent_epochwise.png"))
    return paths
