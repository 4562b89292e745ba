"""Figures of the implicit-regularization study, drawn from its JSON results alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from jaxnn.plotting import log_axis_with_plain_ticks, new_figure, save_figure

STAT_LABELS = {
    "grad_norm_sq": r"grad_norm_sq  $\|\nabla J\|^2$",
    "batch_grad_variance": r"batch_grad_variance  $V$",
    "noise_scale": r"noise_scale  $B_\mathrm{simple} = B\,V/\|\nabla J\|^2$",
}
WHERE = {  # row-key prefix: (where, style, color)
    "matched_loss_": ("at matched training loss", "o-", "tab:blue"),
    "": ("at the final parameters", "s--", "tab:red"),
}
GRADIENTS = ("grad_norm_sq", "batch_grad_variance")


def _setup_text(results: dict) -> str:
    config = results["run"]["config"]
    return (
        f"{config['data']['input_dim']} → {config['width']}×{config['depth']} → "
        f"{config['data']['output_dim']} ReLU, M = {config['width']}, "
        f"depth {config['depth']}, B = {config['batch_size']}, N = {config['n_train']}, "
        f"{config['epochs']} epochs, plain SGD"
    )


def _converged_runs(results: dict) -> list[dict]:
    return [r for r in results["runs"] if r["weight_decay"] == 0 and r["converged"]]


def _num(value) -> float:
    return np.nan if value is None else float(value)


def _nums(rows, key: str) -> np.ndarray:
    return np.array([_num(r[key]) for r in rows])


def _rate_ticks(ax, rates) -> None:
    ax.set_xscale("log")
    ax.set_xticks(rates, [f"{r:g}" for r in rates])
    ax.minorticks_off()


def plot_convergence(results: dict, path) -> Path:
    """Part (b): training MSE against epoch for every learning rate, log-log."""
    config = results["run"]["config"]
    level, matched = config["convergence_level"], config["matched_loss"]
    fig, axes = new_figure(size=(7.0, 4.6))
    ax = axes[0, 0]
    for index, curve in enumerate(results["training_curves"]):
        epochs = np.asarray(curve["epochs"]) + 1
        for seed_curve in curve["train_loss_per_seed"]:
            ax.plot(epochs, [_num(v) for v in seed_curve], color=f"C{index}", alpha=0.25, lw=0.8)
        first = curve["first_epoch_below_convergence_level"]
        note = (
            f"< {level:g} at epoch {first:.0f} (median)"
            if first is not None
            else f"not all seeds < {level:g}"
        )
        label = f"μ = {curve['learning_rate']:g}: {note}"
        median = [_num(v) for v in curve["train_loss"]]
        ax.plot(epochs, median, color=f"C{index}", lw=2, label=label)
    ax.axhline(level, color="gray", ls=":", lw=1, label=f"MSE = {level:g}")
    ax.axhline(matched, color="k", ls="--", lw=0.8, label=f"matched level {matched:g}")
    n_seeds = len(results["training_curves"][0]["train_loss_per_seed"])
    title = f"SGD convergence (bold: median of {n_seeds} seeds, thin: each seed)\n"
    title += _setup_text(results)
    ax.set(xscale="log", yscale="log", xlabel="epoch + 1", ylabel="training MSE", title=title)
    ax.legend(fontsize=8, loc="lower left")
    return save_figure(fig, path)


def plot_statistics_vs_rate(results: dict, path, stats=GRADIENTS, title=None) -> Path:
    """Part (c): learning rate against each statistic, at matched loss (top) and final (bottom).

    Separate rows because the final values sit orders of magnitude lower (at the
    float32 floor), which would flatten the matched-loss trend on a shared axis.
    """
    config = results["run"]["config"]
    batch = config["batch_size"]
    title = title or "Gradient statistics of converged runs against the learning rate"
    fig, axes = new_figure(ncols=len(stats), nrows=2, size=(5.0, 3.4), layout="constrained")
    rows = [r for r in results["rate_summary"] if r["n_converged"] > 0]
    runs = _converged_runs(results)
    for row_axes, (prefix, (where, style, color)) in zip(axes, WHERE.items()):
        for ax, stat in zip(row_axes, stats):
            key = f"{prefix}{stat}"
            mean, low, high = (_nums(rows, key + end) for end in ("", "_min", "_max"))
            rates = [r["learning_rate"] for r in rows]
            yerr = [mean - low, high - mean]
            label = "seed mean, min–max"
            ax.errorbar(rates, mean, yerr, fmt=style, color=color, capsize=3, ms=5, label=label)
            values = _nums(runs, key)
            x = [r["learning_rate"] for r in runs]
            ax.scatter(x, values, color=color, alpha=0.35, s=12, label="each seed")
            if stat == "noise_scale":
                ax.axhline(batch, color="gray", ls=":", lw=1, label=f"B = {batch}")
                if np.isfinite(values).any():
                    log_axis_with_plain_ticks(ax, [*values[np.isfinite(values)], batch], axis="y")
            _rate_ticks(ax, [r["learning_rate"] for r in results["rate_summary"]])
            ax.set(xlabel="learning rate μ", ylabel=STAT_LABELS[stat], title=where)
            # A log y-axis needs positive data (a run with nothing converged has none).
            positive = (np.asarray(line.get_ydata(), float) > 0 for line in ax.get_lines())
            if stat != "noise_scale" and any(np.any(p) for p in positive):
                ax.set_yscale("log")
            ax.legend(fontsize=7)
    fig.suptitle(
        f"{title}\nmatched loss: first epoch with training MSE < "
        f"{config['matched_loss']:g}\n{_setup_text(results)}",
        fontsize=10,
    )
    return save_figure(fig, path)


def plot_test_loss_vs_statistics(results: dict, path) -> Path:
    """Part (c): test MSE against the gradient statistics, at matched loss (top) and final (bottom).

    Large markers: seed mean per rate with min–max bars; small markers: each converged run.
    """
    config = results["run"]["config"]
    summary = results["rate_summary"]
    fig, axes = new_figure(ncols=2, nrows=2, size=(5.2, 3.8), layout="constrained")
    for row_axes, (prefix, (where, style, _)) in zip(axes, WHERE.items()):
        for ax, stat in zip(row_axes, GRADIENTS):
            key = f"{prefix}{stat}"
            for index, row in enumerate(summary):
                if row["n_converged"] == 0:
                    continue
                rate = row["learning_rate"]
                runs = [r for r in _converged_runs(results) if r["learning_rate"] == rate]
                x, y = _nums(runs, key), _nums(runs, "test_loss")
                ax.scatter(x, y, color=f"C{index}", alpha=0.4, s=14, marker=style[0])
                x, x_min, x_max = (_num(row[key + end]) for end in ("", "_min", "_max"))
                y, y_min, y_max = (_num(row["test_loss" + end]) for end in ("", "_min", "_max"))
                xerr, yerr = [[x - x_min], [x_max - x]], [[y - y_min], [y_max - y]]
                marker, label = style[0], f"μ = {rate:g}"
                ax.errorbar(
                    x, y, yerr, xerr, fmt=marker, color=f"C{index}", ms=8, capsize=3, label=label
                )
            if any(r["n_converged"] for r in summary):
                ax.set_xscale("log")  # a log axis needs data; nothing converged leaves it empty
                ax.tick_params(axis="x", which="minor", labelsize=7)  # labelled within a decade
            ax.set(xlabel=f"{STAT_LABELS[stat]} {where}", ylabel="test MSE")
            ax.legend(fontsize=7, title="seed mean, min–max; small: each seed", title_fontsize=7)
    fig.suptitle(
        f"Test error against gradient statistics of converged runs (R_t = "
        f"{results['bayes_risk']:g})\ntop: at matched loss (first epoch with training "
        f"MSE < {config['matched_loss']:g}); bottom: at the final parameters\n"
        f"{_setup_text(results)}",
        fontsize=10,
    )
    return save_figure(fig, path)


def plot_weight_decay(results: dict, path) -> Path:
    """Part (d): train and test MSE against weight decay per rate, implicit-only as the baseline."""
    config = results["run"]["config"]
    rows = results["decay_summary"]
    rates = sorted({r["learning_rate"] for r in rows})
    decays = sorted({r["weight_decay"] for r in rows if r["weight_decay"] > 0})
    fig, axes = new_figure(ncols=2, size=(5.2, 4.2), layout="constrained")
    for ax, metric, label in (
        (axes[0, 0], "final_train_loss", "final training MSE"),
        (axes[0, 1], "test_loss", "test MSE"),
    ):
        for index, rate in enumerate(rates):
            color = f"C{index}"
            line = sorted(
                (r for r in rows if r["learning_rate"] == rate and r["weight_decay"] > 0),
                key=lambda r: r["weight_decay"],
            )
            x, mean = [r["weight_decay"] for r in line], _nums(line, metric)
            std = _nums(line, f"{metric}_std")
            label_rate = f"μ = {rate:g}"
            ax.errorbar(x, mean, std, fmt="o-", color=color, capsize=3, ms=4, label=label_rate)
            implicit = [r for r in rows if r["learning_rate"] == rate and r["weight_decay"] == 0]
            if implicit:
                ax.axhline(_num(implicit[0][metric]), color=color, ls=":", lw=1)
        for decay in decays:
            settings = [r for r in rows if r["weight_decay"] == decay]
            if all(r["n_collapsed"] == r["n_seeds"] for r in settings):
                ax.axvline(decay, color="gray", ls="--", lw=1)
                note = "every run collapsed to a constant output"
                style = {"ha": "right", "va": "center", "fontsize": 7, "color": "gray"}
                ax.text(decay, 0.5, note, rotation=90, transform=ax.get_xaxis_transform(), **style)
        _rate_ticks(ax, decays)
        ax.set(xlabel="weight decay λ (L2 on kernels)", ylabel=label)
        if metric == "final_train_loss":
            ax.set_yscale("log")
        else:
            ax.axhline(results["bayes_risk"], color="k", ls="--", lw=1, label=r"$R_t = s^2$")
        ax.legend(fontsize=7, title="dotted: no weight decay", title_fontsize=7)
    fig.suptitle(
        f"SGD with weight decay (mean ± std over {config['seeds']} seeds)\n{_setup_text(results)}",
        fontsize=10,
    )
    return save_figure(fig, path)


SHARPNESS_WHERE = {
    "matched_loss_": ("at matched training loss", "o", "tab:blue", 1 / 1.06),
    "": ("at the end", "s", "tab:red", 1.06),
}


def _correlation_text(results: dict, key: str) -> str:
    c = results["correlations"]["columns"][key]

    def number(value, spec="+.2f"):
        return "—" if value is None or not np.isfinite(value) else format(value, spec)

    p = c["p_holm"]
    p_text = number(p, ".1e" if p is not None and p < 1e-3 else ".2g")
    return (
        f"r = {number(c['pearson'])} (Holm p = {p_text}), "
        f"ρ = {number(c['spearman'])}, within rates r = {number(c['within_pearson'])}"
    )


def _plain_log_axis(ax, axis: str = "y") -> None:
    """A log axis with major ticks at 1, 2, 5 times powers of ten, labelled as plain numbers."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    target = ax.yaxis if axis == "y" else ax.xaxis
    (ax.set_yscale if axis == "y" else ax.set_xscale)("log")
    target.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    target.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    target.set_minor_formatter(NullFormatter())


def _sharpness_panel(ax, results: dict, implicit: list[dict], stat: str) -> None:
    """``stat`` of every converged implicit-only run and of the weight-decay runs against μ;
    for λ_max, the edge 2/μ and its tolerance band."""
    tolerance = results["sharpness"]["tolerance"]
    decayed = [r for r in results["runs"] if r["weight_decay"] > 0 and not r["diverged"]]
    rates_all = sorted({r["learning_rate"] for r in results["runs"]})
    for prefix, (where, marker, color, shift) in SHARPNESS_WHERE.items():
        x = np.array([r["learning_rate"] * shift for r in implicit])
        label = f"{where} (each converged seed)"
        y = _nums(implicit, f"{prefix}{stat}")
        ax.scatter(x, y, marker=marker, color=color, alpha=0.6, s=22, label=label)
    if decayed:
        x, label = [r["learning_rate"] * 1.06 for r in decayed], "with weight decay, at the end"
        style = {"marker": "^", "facecolors": "none", "edgecolors": "gray", "alpha": 0.6, "s": 18}
        ax.scatter(x, _nums(decayed, stat), label=label, **style)
    if stat == "hessian_top_eigenvalue":
        grid = np.geomspace(min(rates_all) / 1.3, max(rates_all) * 1.3, 50)
        ax.plot(grid, 2 / grid, "k--", lw=1.2, label=r"edge $2/\mu$")
        band = ((1 - tolerance) * 2 / grid, (1 + tolerance) * 2 / grid)
        label = f"$2/\\mu$ ± {tolerance:g}·$2/\\mu$"
        ax.fill_between(grid, *band, color="gray", alpha=0.15, label=label)
    _plain_log_axis(ax, "y")
    _rate_ticks(ax, rates_all)
    ylabel = {"hessian_top_eigenvalue": r"$\lambda_\max$", "hessian_trace": r"tr $H$"}[stat]
    ax.set(xlabel="learning rate μ", ylabel=f"{ylabel} of the training MSE")
    ax.legend(fontsize=7)


def plot_sharpness(results: dict, path) -> Path:
    """λ_max and tr H against μ with the edge 2/μ (top), test MSE against both (bottom).

    Top: every converged implicit-only run as a point, at the matched loss (circles,
    drawn a little left of its μ) and at the end (squares, a little right); hollow
    gray triangles: the non-diverged weight-decay runs at the end (λ_max of the
    training MSE alone). Bottom: test MSE against log λ_max and log tr H/p of the
    converged implicit-only runs, one color per μ; the correlations in the titles
    are those of the report (log statistic).
    """
    config = results["run"]["config"]
    implicit = _converged_runs(results)
    fig, axes = new_figure(ncols=2, nrows=2, size=(5.4, 4.0), layout="constrained")
    _sharpness_panel(axes[0, 0], results, implicit, "hessian_top_eigenvalue")
    _sharpness_panel(axes[0, 1], results, implicit, "hessian_trace")
    axes[0, 0].set_title("Sharpness against the edge of stability")
    axes[0, 1].set_title("Hessian trace (Hutchinson)")
    for ax, stat, label in (
        (axes[1, 0], "hessian_top_eigenvalue", r"$\lambda_\max$"),
        (axes[1, 1], "hessian_trace_per_parameter", r"tr $H/p$ (mean eigenvalue)"),
    ):
        for index, rate in enumerate(sorted({r["learning_rate"] for r in implicit})):
            runs = [r for r in implicit if r["learning_rate"] == rate]
            for prefix, (_, marker, _, _) in SHARPNESS_WHERE.items():
                x, y = _nums(runs, f"{prefix}{stat}"), _nums(runs, "test_loss")
                alpha, name = (0.8, f"μ = {rate:g}") if prefix else (0.35, None)
                ax.scatter(x, y, marker=marker, s=26, color=f"C{index}", alpha=alpha, label=name)
        if implicit:
            _plain_log_axis(ax, "x")
        ax.set(
            xlabel=f"{label} (circles: matched loss; squares: end)",
            ylabel="test MSE",
            title=f"matched: {_correlation_text(results, 'matched_loss_' + stat)}\n"
            f"end: {_correlation_text(results, stat)}",
        )
        ax.title.set_fontsize(8)
        ax.legend(fontsize=7)
    fig.suptitle(
        f"Hessian of the training MSE of SGD runs (matched loss: first epoch with "
        f"training MSE < {config['matched_loss']:g})\n{_setup_text(results)}",
        fontsize=10,
    )
    return save_figure(fig, path)


def plot_all(results: dict, out) -> list[Path]:
    out = Path(out)
    return [
        plot_convergence(results, out / "implicit_regularization_convergence.png"),
        plot_statistics_vs_rate(results, out / "implicit_regularization_grad_stats.png"),
        plot_test_loss_vs_statistics(results, out / "implicit_regularization_test_loss.png"),
        plot_statistics_vs_rate(
            results,
            out / "implicit_regularization_noise_scale.png",
            stats=("noise_scale",),
            title="Gradient noise scale (McCandlish et al. 2018)",
        ),
        plot_weight_decay(results, out / "implicit_regularization_weight_decay.png"),
        plot_sharpness(results, out / "implicit_regularization_sharpness.png"),
    ]
