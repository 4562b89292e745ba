"""Sentences and Markdown of the edge-of-stability study, chosen from its results alone.

The signatures per step size (``classify``) are thresholds on seed medians, named
here with the sentences that report them; whether λ_max sits above or below 2/μ is
read from the Holm-adjusted tests the study adds to each rate row.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from jaxnn import stats
from jaxnn.formatting import count_of, fmt, listed, percent, table

HOVER_FRACTION = 0.8  # "hovers at the edge": at least this share of records after the onset in band
RISING_FRACTION = 0.05  # "non-monotone loss": the loss rises in at least this share of epochs
SHORT_SHARPENING = 0.05  # an onset within this share of training counts as a brief sharpening


def seed_median(values: Sequence) -> float | None:
    """The seed median (``stats.seed_summary``) of the values that are not ``None``; or ``None``."""
    median = stats.seed_summary([math.nan if v is None else v for v in values])["median"]
    return median if math.isfinite(median) else None


def classify(row: dict, *, band: float) -> dict:
    """Which edge-of-stability signatures a step size shows (from its ``rate_summary`` row).

    ``sharpening``: every non-diverged seed reached the edge from below (initial ratio
    < 1 − b). ``hovering``: the median share of records in band after the onset is at
    least ``HOVER_FRACTION``. ``non_monotone``: the median share of rising epochs after
    the onset is at least ``RISING_FRACTION``.
    """
    alive = row["n_seeds"] - row["n_diverged"]
    reached = alive > 0 and row["n_onset"] == alive
    return {
        "sharpening": bool(reached and row["initial_edge_ratio"] < 1 - band),
        "hovering": bool(
            reached
            and row["fraction_in_band"] is not None
            and row["fraction_in_band"] >= HOVER_FRACTION
        ),
        "non_monotone": bool(
            reached
            and row["loss_rise_fraction_after"] is not None
            and row["loss_rise_fraction_after"] >= RISING_FRACTION
        ),
    }


def rate_sentence(row: dict, *, band: float, epochs: int) -> str:
    """One sentence per step size, chosen from its seed medians."""
    rate = row["learning_rate"]
    head = f"μ = {rate:g} (2/μ = {fmt(row['edge'])})"
    alive = row["n_seeds"] - row["n_diverged"]
    if alive == 0:
        return f"{head}: every seed diverged; nothing to measure."
    start = (
        f"λ_max starts at {fmt(row['initial_top_eigenvalue'])} "
        f"({fmt(row['initial_edge_ratio'], 2)}·2/μ)"
    )
    if row["n_onset"] == 0:
        return (
            f"{head}: {start} and rises {fmt(row['peak_sharpening_ratio'], 2)}× at most, to "
            f"{fmt(row['max_edge_ratio'], 2)}·2/μ; it never reaches {1 - band:g}·2/μ in "
            f"{epochs} epochs, so this run shows no edge of stability; the loss rises in "
            f"{percent(row['loss_rise_fraction_before'])} of the epochs."
        )
    seeds = (
        ""
        if row["n_onset"] == alive
        else f" ({row['n_onset']} of {alive} seeds; the others never get there)"
    )
    text = (
        f"{head}: {start}, first reaches {1 - band:g}·2/μ at epoch "
        f"{fmt(row['onset_epoch'])}{seeds} and over the second half sits at a median "
        f"{fmt(row['late_edge_ratio'], 3)}·2/μ, {fmt(row['sharpening_ratio'], 3)}× its "
        f"initial value; from the onset on {percent(row['fraction_in_band'])} of the "
        f"records lie within ±{band:g}·2/μ (peak {fmt(row['max_edge_ratio'], 4)}·2/μ)"
    )
    text += (
        f"; the training loss rises in {percent(row['loss_rise_fraction_after'])} of the "
        f"epochs after the onset ({percent(row['loss_rise_fraction_before'])} before), by "
        f"up to {fmt(row['max_loss_rise_factor'], 3)}× in one epoch, and falls from "
        f"{fmt(row['initial_train_loss'], 3)} to {fmt(row['final_train_loss'], 3)} overall."
    )
    return text


def _side_sentence(rate_rows: Sequence[dict], alpha: float = 0.05) -> str:
    """Where λ_max sits against 2/μ over the second half: tested per step size, Holm over them."""
    rows = [r for r in rate_rows if r["late_edge_ratio"] is not None]
    if not rows:
        return "No step size has a second-half λ_max to compare with 2/μ."
    late = [r["late_edge_ratio"] for r in rows]
    medians = f"seed medians {fmt(min(late), 3)}–{fmt(max(late), 3)}·2/μ"
    tested = [r for r in rows if math.isfinite(r.get("late_edge_ratio_p_holm", math.nan))]
    if not tested:
        return (
            f"Over the second half λ_max sits at {medians}; with one seed per step size, "
            "whether it lies above or below 2/μ cannot be tested."
        )
    above = [r["learning_rate"] for r in tested if r["late_edge_ratio_p_holm"] < alpha
             and r["late_edge_ratio_t"] > 0]  # fmt: skip
    below = [r["learning_rate"] for r in tested if r["late_edge_ratio_p_holm"] < alpha
             and r["late_edge_ratio_t"] < 0]  # fmt: skip
    neither = [r["learning_rate"] for r in tested if r["learning_rate"] not in above + below]
    sentence = (
        f"Over the second half ({medians}; each seed's median ratio tested against 1 by a "
        f"two-sided t-test, Holm over the {count_of(len(tested), 'step size')} tested, level "
        f"{alpha:g}), λ_max lies "
        + "; ".join(
            f"{side} at μ = {listed(rates)}"
            for side, rates in (
                ("above 2/μ", above),
                ("below 2/μ", below),
                ("not distinguishably off 2/μ", neither),
            )
            if rates
        )
        + "."
    )
    if above:
        sentence += (
            " Lanczos gives a lower bound on λ_max, so a ratio above 1 is not an estimation "
            "artefact; Cohen et al. (2021) report λ_max just above 2/μ."
        )
    return sentence


def conclusions(
    rate_rows: Sequence[dict], *, band: float, epochs: int, alpha: float = 0.05
) -> list[str]:
    """Per step size one sentence, then which signatures hold where, and where they do not."""
    sentences = [rate_sentence(r, band=band, epochs=epochs) for r in rate_rows]
    marks = {r["learning_rate"]: classify(r, band=band) for r in rate_rows}
    sentences.append(
        f"The signatures below are read off every one of the {count_of(len(marks), 'step size')} "
        "(a threshold on the seed medians, every seed needing to reach the edge; a description "
        "of each step size, not a test)."
    )
    names = {
        "sharpening": "progressive sharpening from below to the edge",
        "hovering": (
            f"a plateau at 2/μ (at least {HOVER_FRACTION:.0%} of the records after "
            f"the onset within ±{band:g}·2/μ)"
        ),
        "non_monotone": (
            f"a non-monotone loss at the edge (rising in at least "
            f"{RISING_FRACTION:.0%} of the epochs after the onset)"
        ),
    }
    for name, text in names.items():
        shown = [rate for rate, mark in marks.items() if mark[name]]
        missing = [rate for rate, mark in marks.items() if not mark[name]]
        sentence = f"{text.capitalize()}: μ = {listed(shown)}"
        if missing:
            sentence += f"; not at μ = {listed(missing)}"
        sentences.append(sentence + ".")
    sentences.append(_side_sentence(rate_rows, alpha))
    short = [
        r
        for r in rate_rows
        if r["onset_epoch"] is not None and r["onset_epoch"] <= SHORT_SHARPENING * epochs
    ]
    if short:
        sentences.append(
            "Where this net shows progressive sharpening least: at μ = "
            + ", ".join(
                f"{r['learning_rate']:g} (start {fmt(r['initial_edge_ratio'], 2)}·2/μ, "
                f"onset at epoch {fmt(r['onset_epoch'])})"
                for r in short
            )
            + f" λ_max reaches the edge within the first {SHORT_SHARPENING:.0%} of training, so "
            "the sharpening phase is a brief jump rather than the long climb of the smaller "
            "steps."
        )
    overshoot = [
        r for r in rate_rows if r["max_edge_ratio"] is not None and r["max_edge_ratio"] > 1 + band
    ]
    if overshoot:
        settled = [r["learning_rate"] for r in overshoot if r["late_edge_ratio"] <= 1 + band]
        above = [r["learning_rate"] for r in overshoot if r["late_edge_ratio"] > 1 + band]
        sentence = f"λ_max overshoots the band (peak above {1 + band:g}·2/μ) at μ = " + ", ".join(
            f"{r['learning_rate']:g} (peak {fmt(r['max_edge_ratio'], 4)}·2/μ "
            f"at epoch {fmt(r['max_epoch'])})"
            for r in overshoot
        )
        if settled:
            sentence += (
                f"; its second-half median is back within ±{band:g}·2/μ at μ = {listed(settled)}"
            )
        if above:
            sentence += f"; it stays above the band over the second half at μ = {listed(above)}"
        sentences.append(sentence + ".")
    return sentences


def summary(results: dict) -> list[str]:
    """Headline numbers for the console."""
    rows = results["rate_summary"]
    late = ", ".join(f"{r['learning_rate']:g}: {fmt(r['late_edge_ratio'])}" for r in rows)
    reached = ", ".join(
        f"{r['learning_rate']:g}: {r['n_onset']}/{r['n_seeds'] - r['n_diverged']}" for r in rows
    )
    return [
        f"lambda_max*mu/2 over the second half (seed median) by mu: {late}",
        f"edge reached (seeds) by mu: {reached}",
        (
            f"training {fmt(results['train_seconds'], 2)} s, curvature "
            f"{fmt(results['curvature_seconds'], 2)} s"
        ),
    ]


def _intro(results: dict) -> str:
    config = results["run"]["config"]
    band, shape = config["edge_band"], config["data"]
    n_records = len(results["trajectories"][0]["record_epochs"]) if results["trajectories"] else 0
    return (
        f"Full-batch gradient descent (constant step μ, every step sees all N = "
        f"{config['n_train']} points) on the implicit-regularization study's network "
        f"{shape['input_dim']} → {config['width']} × {config['depth']} → {shape['output_dim']} "
        f"ReLU ({results['n_params']} parameters, {config['init_scheme']} init) and data, "
        f"{config['epochs']} steps, {count_of(config['seeds'], 'seed')}; λ_max of the full "
        f"training MSE by Lanczos ({config['lanczos_iterations']} Hessian-vector products) every "
        f"{config['record_every']} steps ({n_records} records per run). Gradient descent on a "
        "quadratic is stable only while λ_max ≤ 2/μ; Cohen et al. (2021) found that on neural "
        "networks λ_max rises until it reaches 2/μ and then hovers there while the loss keeps "
        f"falling non-monotonically. Onset: first record with λ_max·μ/2 ≥ {1 - band:g}; in band: "
        f"|λ_max·μ/2 − 1| ≤ {band:g}. Seed medians; “vs 1”: Holm-adjusted two-sided p of the "
        "seeds' second-half ratios against 1 (t-test; — with one seed)."
    )


def markdown(results: dict) -> str:
    """The study's section: setup, figure, table per step size and sentences from the numbers."""
    header = ["μ", "2/μ", "λ_max·μ/2 at 0", "onset epoch (seeds)", "λ_max·μ/2 second half"]
    header += ["vs 1", "peak λ_max·μ/2", "sharpening ×", "records in band"]
    header += ["loss rises after onset", "before", "final train MSE", "test MSE"]
    header += ["sharpening / plateau / non-monotone"]
    rows = []
    for r in results["rate_summary"]:
        tests = [
            x["test_loss"] for x in results["runs"] if x["learning_rate"] == r["learning_rate"]
        ]
        rows.append(
            [
                f"{r['learning_rate']:g}",
                r["edge"],
                r["initial_edge_ratio"],
                f"{fmt(r['onset_epoch'])} ({r['n_onset']}/{r['n_seeds'] - r['n_diverged']})",
                r["late_edge_ratio"],
                fmt(r.get("late_edge_ratio_p_holm"), 2),
                r["max_edge_ratio"],
                r["sharpening_ratio"],
                percent(r["fraction_in_band"]),
                percent(r["loss_rise_fraction_after"]),
                percent(r["loss_rise_fraction_before"]),
                r["final_train_loss"],
                seed_median(tests),
                " / ".join(fmt(r[k]) for k in ("sharpening", "hovering", "non_monotone")),
            ]
        )
    return "\n".join(
        [
            _intro(results),
            "",
            "### Progressive sharpening and the edge of stability",
            "",
            "![training loss and sharpness against the step](edge_of_stability.png)",
            "",
            table(header, rows),
            "",
            "### What the numbers say (chosen by code from the table)",
            "",
            *[f"- {sentence}" for sentence in results["conclusions"]],
            "",
        ]
    )
