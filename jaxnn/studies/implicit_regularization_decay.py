"""The weight-decay subsection of the implicit-regularization study: is SGD's implicit
regularization enough, or does an explicit L2 penalty on the kernels beat it by its floor?

Sentences and tables read the ``best`` and ``decay_summary`` entries that
``implicit_regularization.run`` computed. Nothing here trains or measures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from jaxnn import verdicts
from jaxnn.formatting import count_of, details, fmt, p_text, plus_minus, table
from jaxnn.studies.implicit_regularization_sharpness import pm


def _decay_verdict(best: dict) -> str:
    """Is the best weight decay better than implicit regularization alone, by its floor?"""
    improvement = best["improvement"]
    size = verdicts.effect_text(improvement, noun="test-MSE improvement", number=fmt)
    if best["n_better"]:
        return (
            f"**implicit regularization alone is not sufficient here**: {size}; "
            f"{best['n_better']} of {best['n_scanned']} decay settings beat it by their floor"
        )
    if improvement["verdict"] == verdicts.BELOW_FLOOR:
        return f"weight decay helps only by less than the seed spread: {size}"
    return f"**implicit regularization is sufficient for this grid**: {size}"


def decay_sentences(best: dict, rows: Sequence[dict]) -> list[str]:
    if not (best.get("implicit") and best.get("explicit")):
        return []
    a, b = best["implicit"], best["explicit"]
    scanned = best["n_scanned"]
    sentences = [
        f"Best implicit-only setting: μ = {a['learning_rate']:g}, test MSE "
        f"{fmt(a['test_loss'])}; best with weight decay: μ = {b['learning_rate']:g}, λ = "
        f"{b['weight_decay']:g}, test MSE {fmt(b['test_loss'])} (train MSE "
        f"{fmt(b['final_train_loss'])}); difference {best['difference']:+.3f} ± "
        f"{fmt(best['difference_standard_error'], 2)} (paired s.e.): {_decay_verdict(best)}.",
        f"Test: one-sided paired t-test over seeds against the best implicit-only rate, Holm over "
        f"the {count_of(scanned, 'weight-decay setting')} scanned (those without a diverged seed), "
        f"level {best['alpha']:g}; {best['n_significant']} of {scanned} are significantly lower, "
        f"{best['n_better']} also by at least their floor (the two settings' pooled seed spread "
        "of the test MSE).",
    ]
    decays = sorted({r["weight_decay"] for r in rows if r["weight_decay"] > 0})
    if best["n_better"] and b["weight_decay"] in (decays[0], decays[-1]) and len(decays) > 1:
        end = "largest" if b["weight_decay"] == decays[-1] else "smallest"
        sentences.append(
            f"The best λ = {b['weight_decay']:g} is the {end} in the grid: a "
            f"{'larger' if end == 'largest' else 'smaller'} decay might do better still."
        )
    return sentences


def _diverged_cell(row: dict) -> str:
    cell = f"{row['n_diverged']}/{row['n_seeds']}"
    if row["n_collapsed"]:
        cell += f" ({row['n_collapsed']} collapsed to a constant output)"
    return cell


def decay_answer(results: dict) -> str:
    best = results["best"]
    if not (best.get("implicit") and best.get("explicit")):
        return "No weight-decay setting without a diverged seed to compare"
    improvement, scanned = best["improvement"], best["n_scanned"]
    size = (
        "weight decay lowers the test MSE by "
        f"{plus_minus(improvement['estimate'], improvement['standard_error'], 2)} "
        f"(Holm {p_text(improvement['p'])}, floor {fmt(improvement['floor'], 2)})"
    )
    if best["n_better"]:
        return (
            f"**Not sufficient**: {size}; {best['n_better']} of {scanned} decay settings beat "
            "implicit regularization alone by their floor"
        )
    if improvement["verdict"] == verdicts.BELOW_FLOOR:
        return f"**About sufficient**: {size}, less than the seed spread"
    return f"**Sufficient for this grid**: no setting beats it by its floor; {size}"


def decay_settings(results: dict) -> str:
    best, batch = results["best"], results["run"]["config"]["batch_size"]
    parts = []
    for name, label in (("implicit", "implicit only"), ("explicit", "best with decay")):
        r = best.get(name)
        if r:
            parts.append(
                f"{label}: μ = {r['learning_rate']:g}, B = {batch}, λ = {r['weight_decay']:g}, "
                f"train MSE {plus_minus(r['final_train_loss'], r['final_train_loss_std'], 2)}, "
                f"test MSE {plus_minus(r['test_loss'], r['test_loss_std'])}"
            )
    return "; ".join(parts)


def decay_section(results: dict) -> list[str]:
    """The subsection "Weight decay": the answer, figure, best-per-λ table and details."""
    settings = decay_settings(results)
    tested = [
        _decay_table(results),
        settings[0].upper() + settings[1:] + ".",
        "\n".join(f"- {s}" for s in decay_sentences(results["best"], results["runs"])),
        f"Floor of each comparison: {results['floors']['weight_decay']}.",
    ]
    return [
        "### Weight decay (L2 on kernels, not biases)",
        "",
        decay_answer(results) + ".",
        "",
        "![weight decay](implicit_regularization_weight_decay.png)",
        "",
        _compact_decay_table(results),
        "",
        details("How it was tested", "\n\n".join(tested)),
        "",
    ]


def _decay_table(results: dict) -> str:
    config = results["run"]["config"]
    return table(
        ["μ", "B", "λ", "train MSE", "test MSE", "diverged"],
        [
            [
                f"{r['learning_rate']:g}",
                str(config["batch_size"]),
                f"{r['weight_decay']:g}",
                pm(r, "final_train_loss"),
                pm(r, "test_loss"),
                _diverged_cell(r),
            ]
            for r in results["decay_summary"]
        ],
    )


def _compact_decay_table(results: dict) -> str:
    """Per λ, the best rate's train and test MSE (λ = 0 is implicit regularization alone)."""
    rows = []
    for decay in sorted({r["weight_decay"] for r in results["decay_summary"]}):
        group = [r for r in results["decay_summary"] if r["weight_decay"] == decay]
        alive = [r for r in group if r["n_diverged"] == 0 and math.isfinite(r["test_loss"])]
        if not alive:
            diverged = sum(r["n_diverged"] for r in group)
            rows.append(
                [
                    f"{decay:g}",
                    "—",
                    "—",
                    "—",
                    f"{diverged}/{sum(r['n_seeds'] for r in group)}",
                ]
            )
            continue
        best = min(alive, key=lambda r: r["test_loss"])
        rows.append(
            [
                f"{decay:g}",
                f"{best['learning_rate']:g}",
                pm(best, "final_train_loss"),
                pm(best, "test_loss"),
                f"{sum(r['n_diverged'] for r in group)}/{sum(r['n_seeds'] for r in group)}",
            ]
        )
    return table(["λ", "best μ", "train MSE", "test MSE", "runs diverged (all μ)"], rows)
