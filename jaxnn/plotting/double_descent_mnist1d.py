"""Figures of the MNIST-1D double-descent study, drawn from its JSON results alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.ticker import FormatStrFormatter, NullFormatter

from jaxnn.plotting import log_axis_with_plain_ticks, new_figure, save_figure
from jaxnn.studies.double_descent_mnist1d_analysis import curve_rows
from jaxnn.studies.double_descent_mnist1d_text import curve_title

TEST, TRAIN = "tab:blue", "tab:orange"


def _band(ax, widths, rows, metric, scale, color, style, label):
    mean = scale * np.array([r[metric] for r in rows], np.float64)
    error = np.nan_to_num(scale * np.array([r[f"{metric}_standard_error"] for r in rows], float))
    ax.fill_between(widths, mean - error, mean + error, color=color, alpha=0.25, lw=0)
    ax.plot(widths, mean, style, color=color, lw=1.6, ms=3, label=label)


def _published(results: dict, curve: dict) -> list[dict] | None:
    """Every printed row of the notebook's curve of this model and noise level."""
    for c in results.get("reference_curves", []):
        if (c["model"], c["label_noise"]) == (curve["model"], curve["label_noise"]):
            return c["rows"]
    return None


def _width_panel(ax, results: dict, curve: dict, rows: list, kind: str, scale: float) -> None:
    """One panel of ``plot_widths``: train and test ``kind`` against width, seed bands, the
    notebook's points and the width from which the training error is 0."""
    widths = np.array([r["width"] for r in rows])
    _band(ax, widths, rows, f"test_{kind}", scale, TEST, "o-", "test, mean ± s.e. over seeds")
    _band(ax, widths, rows, f"train_{kind}", scale, TRAIN, "s--", "train, mean ± s.e. over seeds")
    published = _published(results, curve)
    if published is not None:
        marked = [r["width"] for r in published]
        commit = results["reference_source"]["commit"][:7]
        for part, marker, color in (("test", "x", "k"), ("train", "+", "dimgray")):
            values = [scale * r[f"{part}_{kind}"] for r in published]
            label = f"{part}, notebook at {commit} (1 seed)"
            ax.plot(marked, values, marker, color=color, ms=5, ls="none", label=label)
    threshold = curve["interpolation_threshold"]
    if threshold is not None:
        label = f"train error 0 from width {threshold['width']}"
        ax.axvline(threshold["width"], color="tab:green", ls=":", lw=1.2, label=label)
    log_axis_with_plain_ticks(ax, widths if published is None else np.union1d(widths, marked))


def _figure_legend(fig, axes) -> None:
    """One legend for the figure: every panel draws the same kinds of line."""
    handles: dict = {}
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            key = label.split(" from width")[0].split(", mean")[0]
            if "from width" in label:
                label = "training error 0 on every seed from this width"
            handles.setdefault(key, (handle, label))
    fig.legend(
        [h for h, _ in handles.values()],
        [label for _, label in handles.values()],
        loc="lower center",
        ncol=3,
        fontsize=8,
        bbox_to_anchor=(0.5, -0.06),
    )


def plot_widths(results: dict, path) -> Path:
    """The notebook's three panels (error against width) and cross-entropy below, seed bands."""
    curves = results["curves"]
    fig, axes = new_figure(ncols=len(curves), nrows=2, size=(4.6, 3.6))
    for column, curve in enumerate(curves):
        rows = curve_rows(results["rows"], curve)
        counts = sorted({r["seeds"] for r in rows})
        seeds = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]}–{counts[-1]}"
        error_ax, loss_ax = axes[0, column], axes[1, column]
        _width_panel(error_ax, results, curve, rows, "error", 100.0)
        _width_panel(loss_ax, results, curve, rows, "loss", 1.0)
        if curve["label_noise"] > 0:
            wrong = 90 * curve["label_noise"]
            label = f"expected wrong training labels, {wrong:g} %"
            error_ax.axhline(wrong, color="gray", ls=":", lw=1, label=label)
        unit = "hidden units M (40 → M → M → 10)" if curve["model"] == "mlp" else "channels C"
        highest = max(100 * max(r["test_error"], r["train_error"]) for r in rows)
        verdict = curve.get("threshold_contrast", {}).get("verdict", "not tested")
        error_ax.set(
            title=f"{curve_title(curve)} ({seeds} seeds per width)\nthreshold test: {verdict}",
            xlabel=unit,
            ylabel="classification error (%)",
            ylim=(0, max(75, highest + 5)),
        )
        loss_ax.set(xlabel=unit, ylabel="cross-entropy (log scale)", yscale="log")
        loss_ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
        loss_ax.yaxis.set_minor_formatter(NullFormatter())
    _figure_legend(fig, axes)
    fig.suptitle(
        f"Deep double descent on MNIST-1D (N = {results['n_train']:,} training "
        f"examples, {results['n_test']:,} test; bands: ± one standard error over seeds)",
        y=1.0,
    )
    fig.tight_layout()
    return save_figure(fig, path)


def plot_epochwise(results: dict, path) -> Path:
    """Seed-mean test error against epoch, one line per width, coloured by width."""
    from matplotlib import cm, colors

    panels = results["epochwise"]
    fig, axes = new_figure(ncols=len(panels), size=(4.6, 3.6))
    for ax, panel in zip(axes[0], panels):
        epochs = np.asarray(panel["epochs"], np.float64)
        widths = np.asarray(panel["widths"])
        means = 100 * np.asarray(panel["test_error"], np.float64)  # [width, epoch]
        norm = colors.LogNorm(vmin=widths.min(), vmax=max(widths.max(), widths.min() + 1))
        for width, curve in zip(widths, means):
            ax.plot(epochs[1:], curve[1:], lw=1, color=cm.viridis(norm(width)))
        log_axis_with_plain_ticks(ax, epochs[1:])
        title = f"{curve_title(panel)}: seed-mean test error"
        ax.set(xlabel="epoch", ylabel="test error (%)", title=title)
        # Only what qualifies is marked: a width whose fall undoes at least the second-descent
        # share of a rise above its floor (``epochwise_test``), never overfitting that levels off.
        test = panel.get("nonmonotone") or {}
        double = [m for m in test.get("marks", []) if m["kind"] == "double descent"]
        if double:
            at = [
                (panel["widths"].index(m["width"]), panel["epochs"].index(m["peak_epoch"]))
                for m in double
            ]
            ax.scatter(
                [m["peak_epoch"] for m in double],
                [means[i, j] for i, j in at],
                marker="*",
                s=90,
                color="k",
                zorder=3,
                label="double descent: peak epoch (fall ≥ half the rise)",
            )
            ax.legend(fontsize=7, loc="upper right")
        note = f"epoch-wise: {test.get('verdict', 'not tested')}"
        ax.text(0.02, 0.02, note, transform=ax.transAxes, fontsize=8, color="dimgray")
        bar = fig.colorbar(cm.ScalarMappable(norm=norm, cmap="viridis"), ax=ax)
        bar.set_label("hidden units M" if panel["model"] == "mlp" else "channels C")
        ticks = [t for t in (2, 5, 10, 20, 50, 100, 200, 500) if widths.min() <= t <= widths.max()]
        bar.set_ticks(ticks, labels=[str(t) for t in ticks])
        bar.ax.minorticks_off()
    fig.tight_layout()
    return save_figure(fig, path)


def plot_all(results: dict, out) -> list[Path]:
    out = Path(out)
    return [
        plot_widths(results, out / "double_descent_mnist1d.png"),
        plot_epochwise(results, out / "double_descent_mnist1d_epochwise.png"),
    ]
