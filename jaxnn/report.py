"""REPORT.md, assembled from the experiments' result files and nothing else.

Every number in the report is read from ``figures/*.json``; every table is
generated; every conclusion sentence is chosen here from the measured numbers
(if they do not show the expected effect, the sentence says what they show).
Sections that come with their own Markdown (``figures/<study>.md``, written by
the experiment) are included with their headings nested under the section.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

SECTIONS = (
    ("autodiff", "1. Exercise 1 — reverse-mode automatic differentiation of z(a, b)",
     "autodiff_z", "python experiments/autodiff_z.py"),
    ("backprop", "2. Exercise 2 — forward and backward pass of a K-hidden-layer MLP",
     "mlp_backprop", "python experiments/mlp_backprop.py"),
    ("init", "3. Exercise 3 — initialization", "init_moments", "python experiments/initialization.py"),
    ("double_descent", "4. Computer assignment 1 — double descent", "double_descent",
     "python experiments/double_descent.py"),
    ("implicit", "5. Computer assignment 2 — implicit regularization of SGD",
     "implicit_regularization", "python experiments/implicit_regularization.py"),
)


def fmt(value: Any, digits: int = 3) -> str:
    """A number for prose and tables: ``digits`` significant digits, no trailing noise."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}".replace(",", " ") if abs(value) >= 10_000 else str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return "—"
        if value.is_integer() and abs(value) < 1e6:
            return fmt(int(value))
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
            return f"{value:.{digits - 1}e}"
        return f"{value:.{digits}g}"
    return str(value)


def table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def nest_markdown(text: str, level: int = 3) -> str:
    """Drops the document's first heading and shifts the rest so the shallowest is ``level``."""
    lines = text.strip().splitlines()
    if lines and lines[0].startswith("#"):
        lines = lines[1:]
    depths = [len(m.group(1)) for line in lines if (m := re.match(r"^(#+)\s", line))]
    shift = level - min(depths) if depths else 0
    return "\n".join(
        re.sub(r"^(#+)(\s)", lambda m: "#" * (len(m.group(1)) + shift) + m.group(2), line)
        for line in lines
    ).strip()


def run_line(results: dict, command: str) -> str:
    """Where a section's numbers came from: command, seed, device, versions, wall time."""
    record = results.get("run", results)
    device = record.get("device", {})
    versions = record.get("versions", {})
    parts = [f"command `{record.get('command') or command}`"]
    if record.get("seed") is not None:
        parts.append(f"seed {record['seed']}")
    if device:
        parts.append(f"{device.get('device_count', '?')} × {device.get('platform', '?')} device(s)"
                     f" ({device.get('cpu_count', '?')} cores)")
    wall = results.get("wall_seconds", record.get("wall_seconds"))
    if wall is not None:
        parts.append(f"wall time {fmt(float(wall) / 60, 2)} min")
    if versions:
        parts.append("jax " + str(versions.get("jax")) + ", flax " + str(versions.get("flax"))
                     + ", optax " + str(versions.get("optax")))
    return "*Run:* " + "; ".join(parts) + ". The full config is in the JSON named below."


def image(path: str, alt: str) -> str:
    return f"![{alt}]({path})"


def double_descent_section(results: dict, figures: str) -> str:
    """Computer assignment 1, written from ``double_descent.json``."""
    config = results["config"]
    data = config["data"]
    bayes = results["bayes_risk"]
    check = results["bayes_check"]
    curves = results["training_curves"]
    n_first = results["curve_n_train"]
    out = []

    out.append("### Theoretical optimal test error $R_t$")
    out.append(
        f"Inputs $x \\sim \\mathcal N(0, I_{{{data['input_dim']}}})$, targets "
        f"$y = g(x) + \\varepsilon$ with $\\varepsilon \\sim \\mathcal N(0, s^2 I_{{{data['output_dim']}}})$, "
        f"$s = {fmt(data['noise_std'])}$, and $g$ a fixed random ReLU teacher "
        f"{data['input_dim']}→{'→'.join(map(str, data['teacher_hidden']))}→{data['output_dim']} "
        "normalised to unit variance per output (`jaxnn/data.py`). The MSE is averaged over samples "
        "and output dimensions. The best possible predictor is $g$ itself, whose expected "
        "test error is the noise alone:\n\n"
        f"$$R_t = \\mathbb E\\,\\tfrac1O\\lVert g(x)+\\varepsilon-g(x)\\rVert^2 = s^2 = {fmt(bayes)}.$$\n\n"
        f"Sanity check: the lowest test MSE measured in the whole study is {fmt(check['lowest_test_loss'])}, "
        + ("not below" if check["passed"] else "**below**")
        + f" $R_t$ minus three standard errors of the test-set estimate ({fmt(bayes - check['tolerance'])})."
    )

    out.append(f"### (b) Training curves for M ∈ {{{', '.join(str(c['width']) for c in curves)}}}")
    out.append(image(f"{figures}/double_descent_curves.png", "training loss curves"))
    rows = [[c["width"], c["n_params"], c["first_epoch_below_1e-3"],
             ", ".join(fmt(v) for v in c["first_epoch_below_1e-3_per_seed"]), c["final_train_loss"]]
            for c in curves]
    out.append(table(["M", "parameters", "first epoch < 1e-3 (median)", "per seed",
                      "final training MSE (median)"], rows))
    reached = [c for c in curves if c["first_epoch_below_1e-3"] is not None]
    missed = [c for c in curves if c["first_epoch_below_1e-3"] is None]
    sentence = (f"Full-batch Adam (learning rate {fmt(config['learning_rate'])}, "
                f"{fmt(config['curve_epochs'])} epochs, N = {n_first}, {config['seeds']} seeds). ")
    if reached:
        sentence += ("MSE below $10^{-3}$ is reached by M = "
                     + ", ".join(str(c["width"]) for c in reached))
        sentence += (f"; not by M = {', '.join(str(c['width']) for c in missed)}" if missed else "")
        sentence += ". "
        ordered = sorted(reached, key=lambda c: c["width"])
        epochs = [c["first_epoch_below_1e-3"] for c in ordered]
        if len(ordered) > 1 and all(b < a for a, b in zip(epochs, epochs[1:])):
            sentence += ("Larger models are faster in epochs: "
                         + ", ".join(f"M = {c['width']} after {fmt(c['first_epoch_below_1e-3'])}"
                                     for c in ordered) + ".")
        elif len(ordered) > 1 and all(b > a for a, b in zip(epochs, epochs[1:])):
            sentence += ("Larger models are slower in epochs: "
                         + ", ".join(f"M = {c['width']} after {fmt(c['first_epoch_below_1e-3'])}"
                                     for c in ordered) + ".")
        elif len(ordered) > 1:
            sentence += "The epoch count is not monotone in M: " + ", ".join(
                f"M = {c['width']} after {fmt(c['first_epoch_below_1e-3'])}" for c in ordered) + "."
    else:
        sentence += "No width reached MSE below $10^{-3}$ in this run."
    if missed:
        sentence += (" " + " and ".join(
            f"M = {c['width']} ({c['n_params']} parameters < N·O = {n_first * data['output_dim']} targets)"
            for c in missed) + " cannot interpolate and plateaus at "
            + ", ".join(fmt(c["final_train_loss"]) for c in missed) + ".")
    out.append(sentence)

    thresholds = {t["n_train"]: t for t in results["interpolation_threshold"]}
    peaks = {p["n_train"]: p for p in results["test_loss_peak"]}
    markers = {m["n_train"]: m for m in results["parameter_count_at_n_times_outputs"]}
    out.append("### (c) Width sweep M = "
               f"{min(config['widths'])}…{max(config['widths'])} ({len(config['widths'])} widths, "
               f"B = N, {fmt(config['epochs'])} epochs, {config['seeds']} seeds)")
    out.append(image(f"{figures}/double_descent_sweep.png", "double descent sweep"))
    threshold = thresholds.get(n_first)
    peak = peaks[n_first]
    text = (f"*Interpolation threshold* (defined as the smallest M whose seed-median final training "
            f"MSE is below {fmt(results['interpolation_tol'])}; the final training MSE of a run is the "
            f"median over its last {fmt(max(1, config['epochs'] // 20))} epochs): ")
    if threshold:
        text += (f"**M = {threshold['width']}, {threshold['n_params']} parameters** for N = {n_first}, "
                 f"against N·O = {markers[n_first]['n_params']} targets (M ≈ "
                 f"{fmt(markers[n_first]['width'])}). ")
    else:
        text += "no width of the grid interpolated in this run. "
    text += (f"The test loss peaks at **M = {peak['width']}** ({peak['n_params']} parameters) with "
             f"mean test MSE {fmt(peak['test_loss'])}, {fmt(peak['test_loss'] / bayes)}× $R_t$; ")
    sweep = [r for r in results["sweep"] if r["n_train"] == n_first]
    small, large = sweep[0], sweep[-1]
    text += (f"it is {fmt(small['test_loss'])} at M = {small['width']} and falls again to "
             f"{fmt(large['test_loss'])} at M = {large['width']}. ")
    best = min(sweep, key=lambda r: r["test_loss"])
    text += (f"The best width is M = {best['width']} (test MSE {fmt(best['test_loss'])}); "
             + ("the second descent ends below the small-model minimum."
                if best["width"] > peak["width"] else
                "the second descent does not reach the small-model minimum within this grid."))
    out.append(text)

    if len(thresholds) > 1 or len(peaks) > 1:
        n_values = sorted(peaks)
        out.append(f"### (d) More data can hurt: N = {' vs '.join(map(str, n_values))}")
        out.append(image(f"{figures}/double_descent_more_data.png", "test loss for each N"))
        more = results["more_data"]
        widths = sorted({r["width"] for r in more})
        header = ["M", "parameters"] + [f"test MSE, N = {n}" for n in n_values] + ["larger N worse?"]
        rows = []
        for width in widths:
            entries = {r["n_train"]: r for r in more if r["width"] == width}
            losses = [entries[n]["test_loss"] if n in entries else None for n in n_values]
            worse = None if None in losses else losses[-1] > losses[0]
            rows.append([width, next(iter(entries.values()))["n_params"], *losses, worse])
        out.append(table(header, rows))
        hurt = results.get("more_data_hurts_widths", [])
        n_small, n_large = n_values[0], n_values[-1]
        explanation = (f"The two widths asked for are the measured N = {n_small} threshold "
                       f"(M = {thresholds[n_small]['width'] if n_small in thresholds else '—'}) and "
                       f"overparameterized widths beyond it. ")
        if hurt:
            explanation += (f"With N = {n_large}, the test loss is higher than with N = {n_small} at "
                            f"{len(hurt)} of {len(sweep)} widths, M = {min(hurt)}…{max(hurt)}. ")
        else:
            explanation += f"In this run N = {n_large} was never worse than N = {n_small}. "
        if n_large in thresholds and n_small in thresholds:
            explanation += (
                f"The reason (Nakkiran et al. 2019, *Deep double descent*, §6; Belkin et al. 2019): "
                f"the peak sits where the model can just fit the N·O noisy targets. Doubling N moves "
                f"the interpolation threshold from M = {thresholds[n_small]['width']} "
                f"({thresholds[n_small]['n_params']} parameters) to M = {thresholds[n_large]['width']} "
                f"({thresholds[n_large]['n_params']} parameters; N·O = {markers[n_large]['n_params']}), "
                f"and the test peak from M = {peaks[n_small]['width']} to M = {peaks[n_large]['width']}. "
                f"Between the two thresholds the N = {n_small} model is already past its peak and "
                f"descending, while the N = {n_large} model is being forced to interpolate with "
                "barely enough parameters, so it fits the noise with a large, erratic correction to "
                "the teacher; there the extra data hurt.")
        helped = [w for w in widths_both(results, n_small, n_large) if w not in hurt]
        if helped:
            explanation += (f" At the other {len(helped)} widths (M = "
                            + ", ".join(map(str, helped)) + f") N = {n_large} was at least as good.")
        out.append(explanation)
    return "\n\n".join(out)


def widths_both(results: dict, n_small: int, n_large: int) -> list[int]:
    """Widths swept for both training-set sizes."""
    by_n = {n: {r["width"] for r in results["sweep"] if r["n_train"] == n} for n in (n_small, n_large)}
    return sorted(by_n[n_small] & by_n[n_large])


def included_section(markdown: str | None, images: list[str], figures: str) -> str:
    """A section that the experiment wrote as Markdown beside its figures.

    Image links in that Markdown are relative to the figures folder and are
    rewritten relative to the report; figures it does not show come first.
    """
    markdown = nest_markdown(markdown) if markdown else ""
    markdown = re.sub(r"(!\[[^\]]*\]\()([^)/:]+\.png)\)", rf"\g<1>{figures}/\g<2>)", markdown)
    shown = set(re.findall(r"!\[[^\]]*\]\([^)]*?([^/)]+\.png)\)", markdown))
    parts = [image(f"{figures}/{name}", name.removesuffix(".png").replace("_", " "))
             for name in images if name not in shown]
    return "\n\n".join([*parts, markdown] if markdown else parts)


def build_report(figures_dir: str | Path, *, link_prefix: str = "figures") -> str:
    """The text of REPORT.md from the result files in ``figures_dir``."""
    figures_dir = Path(figures_dir)
    lines = [
        "# jaxnn report",
        "",
        "Generated by `python experiments/report.py` from the result files in `figures/`: every "
        "number, table and conclusion below is read from a run, none is typed by hand. Regenerate "
        "everything with the one-liner in README.md.",
        "",
        "## Contents",
        "",
    ]
    bodies = []
    for key, title, stem, command in SECTIONS:
        anchor = re.sub(r"[^a-z0-9 -]", "", title.lower()).replace(" ", "-")
        lines.append(f"- [{title}](#{anchor})")
        result_path = figures_dir / f"{stem}.json"
        body = [f"## {title}", ""]
        if not result_path.exists():
            body.append(f"*Not run yet:* `{command}` writes `figures/{stem}.json`.")
            bodies.append("\n".join(body))
            continue
        results = json.loads(result_path.read_text())
        body += [run_line(results, command), ""]
        if key == "double_descent":
            body.append(double_descent_section(results, link_prefix))
        else:
            markdown_path = figures_dir / f"{stem}.md"
            markdown = markdown_path.read_text() if markdown_path.exists() else None
            prefix = {"autodiff": "autodiff", "backprop": "mlp_backprop", "init": "init_",
                      "implicit": "implicit_regularization"}[key]
            images = sorted(p.name for p in figures_dir.glob(f"{prefix}*.png"))
            body.append(included_section(markdown, images, link_prefix))
        body += ["", f"Numbers: [`figures/{stem}.json`](figures/{stem}.json)."]
        bodies.append("\n".join(body))
    return "\n".join(lines) + "\n\n" + "\n\n".join(bodies) + "\n"


PLACEHOLDERS = re.compile(r"\b(nan|NaN|None|null|inf)\b|\{\}|TODO")


def find_placeholders(report: str) -> list[str]:
    """Lines of the report that show a missing number (NaN, None, empty).

    Code spans (`` `nan` ``) are words about numbers, not numbers, and are skipped.
    """
    return [line for line in report.splitlines()
            if PLACEHOLDERS.search(re.sub(r"`[^`]*`", "", line))]
