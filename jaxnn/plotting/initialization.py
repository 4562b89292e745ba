"""Figures of the initialization study (exercise 3): depth propagation and initial smoothness.

Both read the results of ``jaxnn.studies.initialization`` (the dictionary written to
``initialization.json``) and know nothing about how they were computed.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from jaxnn.formatting import fmt
from jaxnn.plotting import new_figure, save_figure


def plot_all(results: dict, out: str | os.PathLike) -> list[Path]:
    """Writes ``init_depth.png`` and ``init_smoothness.png``; returns their paths."""
    out = Path(out)
    return [
        plot_depth(results["depth"], out / "init_depth.png"),
        plot_smoothness(results["smoothness"], results["examples"], out / "init_smoothness.png"),
    ]


# one colour per gain / per series, the same in every panel
_GAIN_COLORS = {0.5: "tab:blue", 1.0: "tab:green", 2.0: "tab:red"}
_SERIES_COLORS = {"tanh": "tab:purple", "relu": "tab:orange", "relu_fixed_bias": "tab:brown"}


def plot_depth(depth: dict, path: str | os.PathLike) -> Path:
    """Log second moment against layer from the results' ``"depth"``: theory lines, Monte
    Carlo points with ±2 s.e. bars, and below them the ratio of the two."""
    fig, axes = new_figure(2, 1, size=(5.6, 4.2))
    moment_ax, ratio_ax = axes[0]
    for index, curve in enumerate(depth["curves"]):
        gain = float(curve["gain"])
        color = _GAIN_COLORS.get(gain, f"C{index}")
        layer = np.asarray(curve["layer"])
        theory = np.asarray(curve["theory_second_moment"], dtype=float)
        measured = np.asarray(curve["second_moment"], dtype=float)
        standard_error = np.asarray(curve["standard_error"], dtype=float)
        label = rf"$\sigma^2 = {fmt(gain)}\cdot 2/M$ ($c = {fmt(gain)}$)"
        moment_ax.plot(layer, theory, color=color, lw=1.5, label=f"theory $c^k$, {label}")
        points = dict(fmt="o", ms=3.5, color=color, elinewidth=0.8, capsize=0)
        # log axis: draw ±2 s.e. as an asymmetric bar clipped above zero
        lower = np.minimum(2 * standard_error, 0.95 * measured)
        moment_ax.errorbar(
            layer,
            measured,
            yerr=[lower, 2 * standard_error],
            label=f"Monte Carlo, {label}",
            **points,
        )
        ratio_ax.errorbar(
            layer + 0.15 * (index - 1),
            measured / theory,
            yerr=2 * standard_error / theory,
            label=f"$c = {fmt(gain)}$",
            **points,
        )
    moment_ax.set_yscale("log")
    moment_ax.set_xlabel("layer $k$")
    moment_ax.set_ylabel(r"second moment $\mathbb{E}[h_k^2]$ (log scale)")
    moment_ax.set_title(
        f"Deep ReLU stack, width M = {depth['width']}: "
        f"$\\mathbb{{E}}[h_k^2] = c^k$, $c = \\sigma^2 M/2$"
    )
    moment_ax.legend(fontsize=7.5, loc="upper left")
    ratio_ax.axhline(1.0, color="black", lw=1)
    ratio_ax.set_xlabel("layer $k$")
    ratio_ax.set_ylabel("Monte Carlo / theory")
    ratio_ax.set_title(f"Ratio with ±2 standard errors ({depth['num_draws']} networks per $c$)")
    ratio_ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return save_figure(fig, path)


def _plot_against_variance(ax, smoothness: dict, series, theory: tuple[str, str]) -> None:
    """Each ``(colour name, key, label)`` of ``series`` with ±2 s.e. against σ², log-log, and
    the ``(key, label)`` of its small-σ theory, dashed."""
    weight_vars = np.asarray(smoothness["weight_vars"], dtype=float)
    for name, key, label in series:
        ax.errorbar(
            weight_vars,
            np.asarray(smoothness[key], dtype=float),
            yerr=2 * np.asarray(smoothness[f"{key}_se"], dtype=float),
            fmt="o-",
            ms=4,
            lw=1.2,
            color=_SERIES_COLORS[name],
            capsize=0,
            label=label,
        )
    theory_key, theory_label = theory
    theory_values = np.asarray(smoothness[theory_key], dtype=float)
    ax.plot(
        weight_vars, theory_values, "--", color=_SERIES_COLORS["tanh"], lw=1, label=theory_label
    )
    ax.set_xscale("log")
    ax.set_yscale("log")
    # keep the small-sigma theory line from stretching the axis far above the data
    measured = np.concatenate([np.asarray(smoothness[key], dtype=float) for _, key, _ in series])
    ax.set_ylim(0.3 * measured.min(), 5 * measured.max())
    ax.set_xlabel(r"weight variance $\sigma^2$")
    ax.legend(fontsize=7, loc="lower right")


def plot_smoothness(smoothness: dict, examples: dict, path: str | os.PathLike) -> Path:
    """Sampled initial functions (tanh and ReLU, small/medium/large σ²) and roughness vs σ².

    ``examples["tanh"]`` and ``["relu"]`` are ``f[j, function, point]`` at
    ``examples["weight_vars"][j]``, drawn with one key, so that columns show the same
    standard normals rescaled.
    """
    example_vars = list(examples["weight_vars"])
    ncols = len(example_vars) + 1
    fig, axes = new_figure(ncols, 2, size=(3.5, 3.0))
    inputs = np.asarray(examples["inputs"], dtype=float)
    for row, (name, title) in enumerate([("tanh", "tanh"), ("relu", "ReLU")]):
        curves = np.asarray(examples[name], dtype=float)
        for column, weight_var in enumerate(example_vars):
            ax = axes[row, column]
            for function in curves[column]:
                ax.plot(inputs, function, lw=1)
            ax.set_title(rf"{title}, $\sigma^2 = {fmt(weight_var)}$", fontsize=10)
            ax.set_xlabel("$x$")
            if column == 0:
                ax.set_ylabel("$f(x)$ at initialization")
            ax.ticklabel_format(axis="y", style="sci", scilimits=(-2, 3))
    roughness_ax, taylor_ax = axes[0, -1], axes[1, -1]
    _plot_against_variance(
        roughness_ax,
        smoothness,
        [
            ("tanh", "tanh_roughness", r"tanh, $\beta^2 = \sigma^2$"),
            ("relu", "relu_roughness", r"ReLU, $\beta^2 = \sigma^2$"),
            (
                "relu_fixed_bias",
                "relu_fixed_bias_roughness",
                rf"ReLU, $\beta^2 = {fmt(smoothness['relu_bias_var'])}$ fixed",
            ),
        ],
        ("tanh_roughness_small_var_theory", r"tanh small-$\sigma$ theory $96\sigma^4$"),
    )
    roughness_ax.set_ylabel(r"roughness $\overline{f''^2}\,/\,\mathrm{Var}_x f$")
    roughness_ax.set_title("Roughness (pooled over nets, ±2 s.e.)")
    _plot_against_variance(
        taylor_ax,
        smoothness,
        [("tanh", "tanh_taylor_ratio", "tanh, Monte Carlo")],
        ("tanh_taylor_ratio_small_var_theory", r"small-$\sigma$ theory $\sqrt{5/3}\,\sigma^2$"),
    )
    taylor_ax.set_ylabel(r"$\sqrt{\mathbb{E}[a_3^2] / \mathbb{E}[a_1^2]}$")
    taylor_ax.set_title("Cubic vs linear Taylor coefficient at $x = 0$")
    fig.suptitle(
        rf"Initial functions of a one-hidden-layer net, M = {smoothness['width']} units, "
        r"$w, b, v \sim \mathcal{N}(0, \sigma^2)$; each row reuses one set of standard "
        "normals, rescaled",
        fontsize=11,
    )
    fig.tight_layout()
    return save_figure(fig, path)
