"""Sentences and Markdown of the edge-of-stability study, chosen from its results alone.

Each run shows or lacks each signature (``run_signatures``: thresholds on its own
trajectory); a step size shows it when at least ``verdicts.RUN_SHARE`` of its seeds do
(``classify``), and the study names it when the runs pooled over step sizes clear that
share and a binomial test. Whether λ_max sits above or below 2/μ is read from the
Holm-adjusted tests and floors the study adds to each rate row.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from jaxnn import stats, verdicts
from jaxnn.formatting import count_of, details, fmt, listed, p_text, percent, table

# "Hovers at the edge": at least this share of the records after the onset in band. Cohen et
# al. 2021 (Fig. 1) show λ_max pinned at 2/μ after the onset except for brief spikes; 80 %
# allows such spikes and still describes a plateau.
HOVER_FRACTION = 0.8
# "Non-monotone loss": the loss rises in at least this share of the epochs after the onset.
# Before the onset gradient descent's loss rises in well under 1 % of epochs (a descent
# method); 5 % is five times that and leaves no doubt that the loss has stopped descending.
RISING_FRACTION = 0.05
SHORT_SHARPENING = 0.05  # an onset within this share of training counts as a brief sharpening
SIGNATURES = ("sharpening", "hovering", "non_monotone")


def seed_median(values: Sequence) -> float | None:
    """The seed median (``stats.seed_summary``) of the values that are not ``None``; or ``None``."""
    median = stats.seed_summary([math.nan if v is None else v for v in values])["median"]
    return median if math.isfinite(median) else None


def run_signatures(run: dict, *, band: float) -> dict:
    """Which edge-of-stability signatures one run shows (from its ``trajectory_measures``).

    ``sharpening``: it reached the edge from below (initial ratio < 1 − b). ``hovering``:
    at least ``HOVER_FRACTION`` of its records after the onset lie in band.
    ``non_monotone``: its loss rose in at least ``RISING_FRACTION`` of the epochs after
    the onset. A diverged run, or one that never reached the edge, shows none.
    """
    reached = not run.get("diverged") and run.get("onset_epoch") is not None
    in_band, rising = run.get("fraction_in_band"), run.get("loss_rise_fraction_after")
    return {
        "sharpening": bool(reached and run["initial_edge_ratio"] < 1 - band),
        "hovering": bool(reached and in_band is not None and in_band >= HOVER_FRACTION),
        "non_monotone": bool(reached and rising is not None and rising >= RISING_FRACTION),
    }


def classify(row: dict) -> dict:
    """Which signatures a step size shows: those at least ``verdicts.RUN_SHARE`` of its seeds show.

    Reads the counts ``n_<signature>`` of its ``rate_summary`` row; a description of each
    step size (with three seeds, all three), not a test.
    """
    alive = row["n_seeds"] - row["n_diverged"]
    return {
        name: bool(alive > 0 and row[f"n_{name}"] / alive >= verdicts.RUN_SHARE)
        for name in SIGNATURES
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
    seeds = f" ({row['n_onset']} of {alive} seeds; the others never get there)"
    seeds = "" if row["n_onset"] == alive else seeds
    return (
        f"{head}: {start}, first reaches {1 - band:g}·2/μ at epoch "
        f"{fmt(row['onset_epoch'])}{seeds} and over the second half sits at a median "
        f"{fmt(row['late_edge_ratio'], 3)}·2/μ, {fmt(row['sharpening_ratio'], 3)}× its "
        f"initial value; from the onset on {percent(row['fraction_in_band'])} of the "
        f"records lie within ±{band:g}·2/μ (peak {fmt(row['max_edge_ratio'], 4)}·2/μ)"
        f"; the training loss rises in {percent(row['loss_rise_fraction_after'])} of the "
        f"epochs after the onset ({percent(row['loss_rise_fraction_before'])} before), by "
        f"up to {fmt(row['max_loss_rise_factor'], 3)}× in one epoch, and falls from "
        f"{fmt(row['initial_train_loss'], 3)} to {fmt(row['final_train_loss'], 3)} overall."
    )


def _side_sentence(rate_rows: Sequence[dict], alpha: float = 0.05) -> str:
    """Where λ_max sits against 2/μ over the second half: tested per step size, Holm over them,
    named only at or above the floor (the pooled seed spread of the ratios)."""
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

    def rates(verdict: str, keep=lambda t: True) -> list[float]:
        chosen = [r for r in tested if r["late_edge_ratio_verdict"] == verdict]
        return [r["learning_rate"] for r in chosen if keep(r["late_edge_ratio_t"])]

    above = rates(verdicts.EFFECT, lambda t: t > 0)
    sides = {
        "above 2/μ": above,
        "below 2/μ": rates(verdicts.EFFECT, lambda t: t < 0),
        "off 2/μ by less than the floor": rates(verdicts.BELOW_FLOOR),
        "not distinguishably off 2/μ": rates(verdicts.NOT_DETECTED),
    }
    floor = tested[0]["late_edge_ratio_floor"]
    sentence = (
        f"Over the second half ({medians}; each seed's median ratio tested against 1 by a "
        f"two-sided t-test, Holm over the {count_of(len(tested), 'step size')} tested, level "
        f"{alpha:g}; floor {fmt(floor, 2)}, the pooled seed-to-seed standard deviation of the "
        "ratios), λ_max lies "
        + "; ".join(f"{side} at μ = {listed(at)}" for side, at in sides.items() if at)
        + " (departures "
        + ", ".join(
            f"{fmt(r['late_edge_ratio_mean'] - 1, 2)} at μ = {r['learning_rate']:g} "
            f"({p_text(r['late_edge_ratio_p_holm'])}; detectable "
            f"{fmt(r['late_edge_ratio_detectable'], 2)})"
            for r in tested
        )
        + ")."
    )
    if above:
        sentence += (
            " Lanczos gives a lower bound on λ_max, so a ratio above 1 is not an estimation "
            "artefact; Cohen et al. (2021) report λ_max just above 2/μ."
        )
    return sentence


SIGNATURE_NAMES = {
    "sharpening": "progressive sharpening from below to the edge",
    "hovering": "a plateau at 2/μ",
    "non_monotone": "a non-monotone loss at the edge",
}


def conclusions(
    rate_rows: Sequence[dict], *, band: float, epochs: int, alpha: float = 0.05, signatures=None
) -> list[str]:
    """Per step size one sentence, then which signatures hold where, and where they do not."""
    sentences = [rate_sentence(r, band=band, epochs=epochs) for r in rate_rows]
    marks = {r["learning_rate"]: classify(r) for r in rate_rows}
    sentences.append(
        f"A step size shows a signature when at least {percent(verdicts.RUN_SHARE)} of its "
        f"seeds do (a description of each of the {count_of(len(marks), 'step size')}, not a test); "
        f"thresholds per run: a plateau has at least {HOVER_FRACTION:.0%} of the records after "
        f"the onset within ±{band:g}·2/μ, a non-monotone loss rises in at least "
        f"{RISING_FRACTION:.0%} of the epochs after the onset."
    )
    alive = {r["learning_rate"]: r["n_seeds"] - r["n_diverged"] for r in rate_rows}
    for name, text in SIGNATURE_NAMES.items():
        shown = [rate for rate, mark in marks.items() if mark[name]]
        missing = [rate for rate, mark in marks.items() if not mark[name]]
        counts = ", ".join(f"{r[f'n_{name}']}/{alive[r['learning_rate']]}" for r in rate_rows)
        sentence = f"{text[0].upper() + text[1:]}: μ = {listed(shown)}"
        if missing:
            sentence += f"; not at μ = {listed(missing)}"
        sentence += f" (seeds showing it per step size: {counts})"
        if signatures:
            v = signatures[name]
            sentence += (
                f"; over all runs {v['count']} of {v['n']} runs ({percent(v['share'])}; binomial "
                f"{p_text(v['p'])} against 1/2, floor {percent(v['floor'])}): {v['verdict']}"
            )
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


def edge_answer(results: dict) -> str:
    """Does sharpness rise to 2/μ and hover? The pooled signature verdicts in one sentence."""
    signatures = results.get("signatures")
    if not signatures or not signatures["sharpening"]["n"]:
        return "No run survived to measure"
    sharpening, hovering = signatures["sharpening"], signatures["hovering"]
    named = [n for n in ("sharpening", "hovering") if signatures[n]["verdict"] == verdicts.EFFECT]
    verdict = (
        "**Yes: λ_max rises to 2/μ and hovers there**"
        if len(named) == 2
        else "**It rises to 2/μ but does not hover in most runs**"
        if named == ["sharpening"]
        else "**No edge-of-stability plateau established**"
    )
    late = [r["late_edge_ratio"] for r in results["rate_summary"] if r["late_edge_ratio"]]
    return (
        f"{verdict}: {sharpening['count']} of {sharpening['n']} runs sharpen to the edge and "
        f"{hovering['count']} hover within the band (binomial {p_text(hovering['p'])} against "
        f"1/2; floor {percent(hovering['floor'])}); second-half λ_max = "
        f"{fmt(min(late), 3)}–{fmt(max(late), 3)}·2/μ"
    )


def answers(results: dict) -> list[dict]:
    """One row for the beyond-the-sheet question this study answers."""
    return [
        {
            "item": "Beyond",
            "question": "Full-batch GD at the edge of stability: does sharpness rise to 2/μ and "
            "hover?",
            "answer": edge_answer(results) + ".",
            "figure": "edge_of_stability.png",
        }
    ]


def summary(results: dict) -> list[str]:
    """Headline numbers and verdicts for the console."""
    rows = results["rate_summary"]
    late = ", ".join(f"{r['learning_rate']:g}: {fmt(r['late_edge_ratio'])}" for r in rows)
    reached = ", ".join(
        f"{r['learning_rate']:g}: {r['n_onset']}/{r['n_seeds'] - r['n_diverged']}" for r in rows
    )
    lines = [
        f"lambda_max*mu/2 over the second half (seed median) by mu: {late}",
        f"edge reached (seeds) by mu: {reached}",
    ]
    for name, verdict in results.get("signatures", {}).items():
        if isinstance(verdict, dict):
            lines.append(
                f"{name}: {verdict['count']}/{verdict['n']} runs (floor "
                f"{fmt(verdict['floor'])}): {verdict['verdict']}"
            )
    lines.append(
        f"training {fmt(results['train_seconds'], 2)} s, curvature "
        f"{fmt(results['curvature_seconds'], 2)} s"
    )
    return lines


def _setup(results: dict) -> str:
    config = results["run"]["config"]
    shape = config["data"]
    return (
        f"Full-batch gradient descent (every step sees all N = {config['n_train']} points) on "
        f"the implicit-regularization study's network {shape['input_dim']} → {config['width']} × "
        f"{config['depth']} → {shape['output_dim']} ReLU and data, {config['epochs']} steps, "
        f"{count_of(config['seeds'], 'seed')} per step size μ."
    )


def _method(results: dict) -> str:
    config = results["run"]["config"]
    band = config["edge_band"]
    n_records = len(results["trajectories"][0]["record_epochs"]) if results["trajectories"] else 0
    return (
        f"{results['n_params']} parameters, {config['init_scheme']} init. λ_max of the full "
        f"training MSE by Lanczos ({config['lanczos_iterations']} Hessian-vector products) every "
        f"{config['record_every']} steps ({n_records} records per run). Gradient descent on a "
        "quadratic is stable only while λ_max ≤ 2/μ; Cohen et al. (2021) found that on neural "
        "networks λ_max rises until it reaches 2/μ and then hovers there while the loss keeps "
        f"falling non-monotonically. Onset: first record with λ_max·μ/2 ≥ {1 - band:g}; in band: "
        f"|λ_max·μ/2 − 1| ≤ {band:g}. Seed medians; “vs 1”: Holm-adjusted two-sided p of the "
        "seeds' second-half ratios against 1 (t-test; — with one seed), with its verdict "
        f"against the floor. Signature floor: {verdicts.RUN_SHARE_REASON}."
    )


COMPACT_COLUMNS = (
    "μ",
    "onset epoch (seeds)",
    "λ_max·μ/2 second half",
    "records in band",
    "loss rises after onset",
    "seeds sharpening / plateau / non-monotone",
)


def _rate_table(results: dict, *, compact: bool = False) -> str:
    """One row per step size: every number (the details' table), or ``COMPACT_COLUMNS``."""

    def alive(r: dict) -> int:
        return r["n_seeds"] - r["n_diverged"]

    def test_loss(r: dict) -> float | None:
        rate = r["learning_rate"]
        return seed_median([x["test_loss"] for x in results["runs"] if x["learning_rate"] == rate])

    columns = {
        "μ": lambda r: f"{r['learning_rate']:g}",
        "2/μ": lambda r: r["edge"],
        "λ_max·μ/2 at 0": lambda r: r["initial_edge_ratio"],
        "onset epoch (seeds)": lambda r: f"{fmt(r['onset_epoch'])} ({r['n_onset']}/{alive(r)})",
        "λ_max·μ/2 second half": lambda r: r["late_edge_ratio"],
        "vs 1": lambda r: fmt(r.get("late_edge_ratio_p_holm"), 2),
        "verdict": lambda r: r.get("late_edge_ratio_verdict", "—"),
        "peak λ_max·μ/2": lambda r: r["max_edge_ratio"],
        "sharpening ×": lambda r: r["sharpening_ratio"],
        "records in band": lambda r: percent(r["fraction_in_band"]),
        "loss rises after onset": lambda r: percent(r["loss_rise_fraction_after"]),
        "before": lambda r: percent(r["loss_rise_fraction_before"]),
        "final train MSE": lambda r: r["final_train_loss"],
        "test MSE": test_loss,
        COMPACT_COLUMNS[-1]: lambda r: " / ".join(f"{r[f'n_{k}']}/{alive(r)}" for k in SIGNATURES),
    }
    names = COMPACT_COLUMNS if compact else list(columns)
    return table(names, [[columns[name](r) for name in names] for r in results["rate_summary"]])


def markdown(results: dict) -> str:
    """The study's section: answer, figure, compact table, then the method and every number."""
    sentences = "\n".join(f"- {sentence}" for sentence in results["conclusions"])
    body = "\n\n".join([_method(results), _rate_table(results), sentences])
    blocks = [
        _setup(results),
        "### Progressive sharpening and the edge of stability",
        edge_answer(results) + ".",
        "![training loss and sharpness against the step](edge_of_stability.png)",
        table(
            ["signature", "runs", "share", "binomial p", "floor", "verdict"],
            _verdict_rows(results.get("signatures", {})),
        ),
        _rate_table(results, compact=True),
        details("How it was tested", body),
    ]
    return "\n\n".join(blocks) + "\n"


def _verdict_rows(signatures: dict) -> list[list]:
    """One row per signature: its runs, share, binomial p, floor and verdict."""
    return [
        [
            SIGNATURE_NAMES[name],
            f"{v['count']}/{v['n']}",
            percent(v["share"]),
            fmt(v["p"], 2),
            percent(v["floor"]),
            f"**{v['verdict']}**" if v["verdict"] == verdicts.EFFECT else v["verdict"],
        ]
        for name, v in signatures.items()
        if isinstance(v, dict)
    ]
