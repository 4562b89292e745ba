r"""Double descent beyond the sheet: the peak against label noise, and optimal weight decay.

Two questions a reproduction of the sheet's double descent leaves open, asked
of the same 8 -> M -> M -> 8 ReLU networks, teacher and full-batch Adam:

1. **Peak height against label noise** (Nakkiran et al. 2019, "Deep double
   descent", §4). The width sweep runs at every noise level
   :math:`s \in \{0, 0.25, 0.5, 1, 2\}` with the *same* inputs and the same
   unit noise draw :math:`\varepsilon` (targets :math:`g(x) + s\varepsilon`)
   and the same initializations, so the levels are paired. We report the
   excess test risk :math:`\mathbb E\,\tfrac1O\lVert f(x) - g(x)\rVert^2`,
   measured on noise-free test targets: it equals test MSE minus
   :math:`R_t = s^2` in expectation, with no test-noise variance.
2. **Optimal regularization removes the peak** (Nakkiran, Venkat, Kakade, Ma
   2021, "Optimal regularization can mitigate double descent"). At the
   sheet's noise level the sweep also runs over a grid of L2 coefficients
   :math:`\lambda` (added to the kernels' gradient before Adam, so a stationary
   point minimises :math:`L + \tfrac\lambda2\lVert W\rVert^2`). For each width
   we take the best :math:`\lambda` of the grid (the oracle choice of the
   paper) and test whether the resulting curve is monotone in M: no width may
   be worse than a narrower one by an increase that is significant (paired
   tests, Benjamini-Hochberg) and at least the seed spread of the two widths.

Every verdict has a size (``jaxnn.verdicts``): a peak is a "double descent"
only when its rise is significant and at least its seed-spread floor and the
widest model undoes at least half of it; ``analyse`` recomputes every verdict
from the stored per-seed numbers, so ``with_verdicts`` rebuilds them from a
saved JSON.

Every (noise level or decay, width, seed) is one member of one vmapped
sweep, grouped by width like the main study (``jaxnn.sweep.Variant``).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Sequence

import jax
import numpy as np
from scipy import stats as scipy_stats

from jaxnn import data, io, models, peaks, precision, stats, sweep, train, validation, verdicts
from jaxnn.formatting import details, fmt, p_text, plus_minus, table
from jaxnn.studies import NoProgress


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    """The noise and weight-decay sweeps.

    Attributes:
        data: teacher and test set (its ``noise_std`` is unused: see the levels).
        widths: hidden widths M.
        n_train: N.
        noise_stds: label-noise levels s of the noise sweep (without decay).
        decay_noise_std: the noise level of the weight-decay sweep.
        weight_decays: L2 coefficients λ > 0 of the decay sweep (λ = 0 is the
            noise sweep's run at ``decay_noise_std``).
        seeds: repetitions (new training set and init each).
        epochs: full-batch Adam steps.
        learning_rate: Adam's step size.
        init_scheme: see ``jaxnn.models``.
        chunk_epochs: epochs per compiled call.
        matmul_precision: float32 matmul precision (``jaxnn.precision``).
        seed: master seed.
    """

    data: data.TeacherConfig = data.TeacherConfig()
    widths: tuple[int, ...] = (2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 28, 32, 40, 48, 64, 100)
    n_train: int = 100
    noise_stds: tuple[float, ...] = (0.0, 0.25, 0.5, 1.0, 2.0)
    decay_noise_std: float = 1.0
    weight_decays: tuple[float, ...] = (1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)
    seeds: int = 3
    epochs: int = 10_000
    learning_rate: float = 1e-3
    init_scheme: str = "torch_uniform"
    chunk_epochs: int = 1000
    matmul_precision: str = precision.DEFAULT
    seed: int = 0

    def __post_init__(self):
        validation.at_least(self, 1, "n_train", "seeds", "epochs", "chunk_epochs")
        validation.seed(self.seed)
        if not self.widths or min(self.widths) < 1 or max(self.widths) > sweep.MAX_WIDTH:
            raise ValueError(f"widths: need values in 1..{sweep.MAX_WIDTH}, got {self.widths}")
        if tuple(sorted(set(self.widths))) != tuple(self.widths):
            raise ValueError("widths: must be sorted and unique")
        for name in ("noise_stds", "weight_decays"):
            values = getattr(self, name)
            if not values or not all(math.isfinite(v) and v >= 0 for v in values):
                raise ValueError(f"{name}: need finite values >= 0, got {values}")
        validation.all_positive(self, "weight_decays")
        if not (math.isfinite(self.decay_noise_std) and self.decay_noise_std >= 0):
            raise ValueError(
                f"decay_noise_std: need a finite value >= 0, got {self.decay_noise_std}"
            )
        validation.positive(self, "learning_rate")
        models.check_init_scheme(self.init_scheme)
        precision.check_precision(self.matmul_precision)

    def variants(self) -> list[tuple[float, float]]:
        """Every (noise level, weight decay) the sweep trains: the noise axis, then the decays."""
        return [(s, 0.0) for s in self.noise_stds] + [
            (self.decay_noise_std, wd) for wd in self.weight_decays
        ]


QUICK = Config(
    data=data.TeacherConfig(n_test=2000, normalisation_samples=10_000),
    widths=(4, 12, 24),
    noise_stds=(0.0, 1.0),
    weight_decays=(1e-2,),
    seeds=2,
    epochs=300,
    chunk_epochs=100,
)
FULL = Config(
    widths=(*tuple(range(2, 65, 2)), 80, 100, 128, 160, 200),
    noise_stds=(0.0, 0.125, 0.25, 0.5, 1.0, 1.5, 2.0),
    weight_decays=(3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1),
    seeds=8,
    epochs=20_000,
)


def run(config: Config, *, mesh=None, run_dir=None, progress=None) -> dict:
    """One vmapped width sweep over every (noise level, decay) variant."""
    progress = progress or NoProgress()
    key_data, key_init = jax.random.split(jax.random.key(config.seed))
    # The same key for every level: the same inputs and unit noise, scaled by s (paired runs).
    sets = {
        s: data.make_dataset(
            key_data,
            dataclasses.replace(config.data, noise_std=s),
            config.n_train,
            n_draws=config.seeds,
        )
        for s in {s for s, _ in config.variants()}
    }
    clean = data.make_dataset(
        key_data,
        dataclasses.replace(config.data, noise_std=0.0),
        config.n_train,
        n_draws=config.seeds,
    )
    variants = {
        (s, wd): sweep.Variant({config.n_train: (sets[s].x_train, sets[s].y_train)}, wd)
        for s, wd in config.variants()
    }
    n_devices = 1 if mesh is None else mesh.size
    family = models.MLPFamily(
        input_dim=config.data.input_dim,
        output_dim=config.data.output_dim,
        depth=2,
        activation="relu",
    )
    groups = sweep.plan_sweep(
        config.widths,
        (config.n_train,),
        family=family,
        epochs=config.epochs,
        members_per_width=config.seeds * len(variants),
        n_devices=n_devices,
        costs=sweep.backend_costs(),
    )
    progress.start(
        sweep.work_gflop(groups, config.seeds, config.epochs, len(variants), family=family), "GFLOP"
    )
    train_config = train.TrainConfig(
        model=family,
        objective="mse",
        optimizer="adam",
        epochs=config.epochs,
        chunk_epochs=min(config.chunk_epochs, config.epochs),
        final_window=max(1, config.epochs // 20),
        matmul_precision=config.matmul_precision,
    )
    trained = sweep.run_width_sweep(
        key_init,
        groups,
        None,
        clean.x_test,
        clean.y_test,
        train_config,
        variants=variants,
        learning_rate=config.learning_rate,
        init_scheme=config.init_scheme,
        mesh=mesh,
        progress=progress,
        load_group=lambda g: run_dir.load_part(g.name) if run_dir else None,
        save_group=lambda g, r: run_dir.save_part(g.name, r) if run_dir else None,
    )
    cells = {
        (s, wd, w): _cell(trained[((s, wd), config.n_train, w)])
        for s, wd in config.variants()
        for w in config.widths
    }
    return summarize(config, cells)


def _cell(result: dict) -> dict:
    """Seed mean and standard error of the excess risk, its per-seed values, and the train MSE."""
    diverged = np.asarray(result["diverged"], bool)
    per_seed = np.where(diverged, np.nan, np.asarray(result["test_loss"])[:, -1])
    summary = stats.seed_summary(per_seed)
    return {
        "excess_risk": summary["mean"],
        "excess_risk_standard_error": summary["standard_error"],
        "excess_risk_per_seed": per_seed.tolist(),
        "train_loss": float(np.nanmean(np.asarray(result["final_train_loss"]))),
        "n_seeds": summary["n"],
        "n_diverged": int(diverged.sum()),
    }


def peak_of(rows: list[dict]) -> dict:
    """The double-descent bump of a curve, tested with the widths scanned (``peaks.peak_of``).

    The peak is the width whose excess risk rises most above the lowest value at a
    narrower width (so a curve that only falls has none: an under-fitting start is
    not a peak). ``height`` is that rise and ``height_over_widest`` the peak's excess
    over the widest model, each a paired difference over seeds (a seed trains on
    the same data at every width) with its standard error and a Holm-adjusted
    p-value that counts every width scanned. ``significant``: both survive.

    The verdict has a size (``jaxnn.verdicts``): the rise must also be at least its
    floor (the pooled seed spread of the peak and its dip), and the curve is a
    ``"double descent"`` only when the widest model undoes at least
    ``verdicts.SECOND_DESCENT_SHARE`` of the rise (Nakkiran et al. 2019, Fig. 1).
    ``height_minimum_detectable`` is the smallest rise the test would find at 80 %
    power at the most conservative level of the scan (Bonferroni over every earlier
    width and every width scanned).
    """
    widest = rows[-1]
    peak = peaks.peak_of([r["excess_risk_per_seed"] for r in rows]) or {"index": None}
    none = {
        "width": None,
        "n_params": None,
        "excess_risk": None,
        "excess_risk_standard_error": None,
        "dip_width": None,
        "height": 0.0,
        "height_standard_error": None,
        "height_p_holm": None,
        "height_minimum_detectable": None,
        "widest_excess_risk": widest["excess_risk"],
        "height_over_widest": None,
        "height_over_widest_standard_error": None,
        "height_over_widest_p_holm": None,
        "significant": False,
        "rise_floor": None,
        "rise_verdict": verdicts.NOT_DETECTED,
        "undone": None,
        "share": verdicts.SECOND_DESCENT_SHARE,
        "verdict": "no rise detected",
        "qualifies": False,
        "widths_scanned": len(rows) - 1,
    }
    if peak["index"] is None:
        return none
    top, dip = rows[peak["index"]], rows[peak["dip_index"]]
    seeds = int(np.isfinite(np.asarray(top["excess_risk_per_seed"], np.float64)).sum())
    level = peaks.SIGNIFICANCE / (peak["index"] * (len(rows) - 1))
    return none | {
        "width": top["width"],
        "n_params": top["n_params"],
        "excess_risk": top["excess_risk"],
        "excess_risk_standard_error": top["excess_risk_standard_error"],
        "dip_width": dip["width"],
        "height": peak["rise"],
        "height_standard_error": peak["rise_standard_error"],
        "height_p_holm": peak["rise_p_holm"],
        "height_minimum_detectable": peaks.minimum_detectable(
            peak["rise_standard_error"], seeds, level
        ),
        "height_over_widest": peak["excess"],
        "height_over_widest_standard_error": peak["excess_standard_error"],
        "height_over_widest_p_holm": peak["excess_p_holm"],
        "significant": bool(peak["significant"]),
        "rise_floor": peak.get("rise_floor"),
        "rise_verdict": peak.get("rise_verdict", verdicts.NOT_DETECTED),
        "undone": peak.get("undone"),
        "verdict": peak.get("verdict", "no second descent in the grid"),
        "qualifies": bool(peak.get("qualifies", False)),
    }


def window_widths(widths: Sequence[int], interpolation_width: float) -> list[int]:
    """The pre-registered window: the grid widths on either side of the width whose parameter
    count equals the N·O targets (fixed by the config, before any loss is read)."""
    below = [w for w in widths if w <= interpolation_width]
    above = [w for w in widths if w > interpolation_width]
    return ([below[-1]] if below else []) + ([above[0]] if above else [])


def threshold_peak(rows: list[dict], window: Sequence[int]) -> dict:
    """The curve's peak tested once, where the theory puts it (``peaks.threshold_contrast``).

    The window straddles the interpolation threshold N·O = parameters (Belkin et
    al. 2019; Nakkiran et al. 2019), so this is one paired test per curve, not a
    scan over widths: the window's excess risk against every narrower width
    (Bonferroni) and against the widest, with the seed-spread floor and the
    second-descent share deciding ``verdict``. Same fields as ``peak_of``, plus
    ``window_widths``.
    """
    widths = [r["width"] for r in rows]
    none = peak_of(rows[:1] * 2) | {"widest_excess_risk": rows[-1]["excess_risk"]}
    indices = [widths.index(w) for w in window if w in widths]
    if (
        len(indices) != len(window)
        or not indices
        or indices[0] == 0
        or indices[-1] == len(rows) - 1
    ):
        return none | {"window_widths": list(window), "verdict": "not tested"}
    contrast = peaks.threshold_contrast([r["excess_risk_per_seed"] for r in rows], indices)
    top = rows[indices[-1]]
    return none | {
        "width": top["width"],
        "window_widths": list(window),
        "n_params": top["n_params"],
        "excess_risk": contrast["window_value"],
        "excess_risk_standard_error": contrast["window_standard_error"],
        "dip_width": widths[contrast["dip"]],
        "height": contrast["rise_from_dip"],
        "height_standard_error": contrast["rise_from_dip_standard_error"],
        "height_p_holm": contrast["rise_p"],
        "height_minimum_detectable": contrast["rise_minimum_detectable"],
        "height_over_widest": contrast["excess"],
        "height_over_widest_standard_error": contrast["excess_standard_error"],
        "height_over_widest_p_holm": contrast["excess_p"],
        "significant": contrast["significant"],
        "rise_floor": contrast["rise_floor"],
        "rise_verdict": contrast["rise_verdict"],
        "undone": contrast["undone"],
        "verdict": contrast["verdict"],
        "qualifies": contrast["qualifies"],
        "widths_scanned": 1,
    }


def _seed_heights(rows: list[dict], peak: dict) -> np.ndarray:
    """Each seed's rise from the curve's dip to its peak (zeros where the curve has no peak)."""
    if peak["width"] is None:
        return np.zeros(len(rows[0]["excess_risk_per_seed"]))
    by_width = {r["width"]: np.asarray(r["excess_risk_per_seed"], np.float64) for r in rows}
    top = np.mean([by_width[w] for w in peak.get("window_widths") or [peak["width"]]], axis=0)
    return top - by_width[peak["dip_width"]]


def height_trend(curves: list[tuple[float, list[dict], dict]]) -> dict:
    """Does the peak height grow with each step in label noise? One paired test per step.

    The levels are paired (the same inputs, unit noise draw and initializations at
    every s), so each step compares the seeds' heights (peak minus dip, at each
    level's own peak and dip) in a one-sided paired t-test, Holm-adjusted over the
    steps. A step is a growth only when it is significant and at least the seed
    spread of the two levels' heights (``verdicts.spread_floor``); the trend is
    named "grows with every step" only when every step is. ``slope`` is the
    least-squares slope of log height against log s over the noisy levels with a
    positive height (descriptive, no verdict).

    Args:
        curves: ``(noise level, rows, peak_of(rows))`` in increasing noise level.
    """
    steps = []
    for (s_low, rows_low, low), (s_high, rows_high, high) in itertools.pairwise(curves):
        h_low, h_high = _seed_heights(rows_low, low), _seed_heights(rows_high, high)
        difference = stats.paired_difference(h_high, h_low)
        steps.append(
            {
                "from_noise_std": s_low,
                "to_noise_std": s_high,
                "difference": difference["mean"],
                "standard_error": difference["standard_error"],
                "p": difference["p_greater"],
                "floor": verdicts.spread_floor(h_low, h_high),
                "seeds": difference["n"],
            }
        )
    p_holm = stats.holm([s["p"] for s in steps]) if steps else []
    for step, p in zip(steps, p_holm):
        level = peaks.SIGNIFICANCE / len(steps)
        step["p_holm"] = float(p)
        step["minimum_detectable"] = peaks.minimum_detectable(
            step["standard_error"], step["seeds"], level
        )
        step["verdict"] = verdicts.judge(step["difference"], float(p), floor=step["floor"])[
            "verdict"
        ]
    grown = sum(s["verdict"] == verdicts.EFFECT for s in steps)
    noisy = [(s, p["height"]) for s, _, p in curves if s > 0 and p["height"] > 0]
    slope = (
        float(np.polyfit(np.log([s for s, _ in noisy]), np.log([h for _, h in noisy]), 1)[0])
        if len(noisy) > 1
        else None
    )
    if steps and grown == len(steps):
        verdict = "grows with every step"
    elif grown:
        verdict = "grows at some steps"
    else:
        verdict = "no growth established"
    return {
        "steps": steps,
        "steps_grown": grown,
        "verdict": verdict,
        "floor_reason": verdicts.SPREAD_FLOOR_REASON,
        "log_log_slope": slope,
    }


def monotone_violations(rows: list[dict], alpha: float = peaks.SIGNIFICANCE) -> dict:
    """Pairs of widths M < M' where M' is worse by a significant amount that matters.

    Each pair is a paired one-sided t-test over seeds (``peaks.pairwise_p_greater``);
    the p-values of all W(W-1)/2 pairs are Benjamini–Hochberg adjusted
    (``scipy.stats.false_discovery_control``), so a violation is not one of the
    pairs that cross two standard errors by chance. A significant increase is a
    violation only when it is at least its floor, the pooled seed spread of the two
    widths (``verdicts.spread_floor``); the significant ones below it are kept as
    ``below_floor``.
    """
    values = np.array([r["excess_risk_per_seed"] for r in rows], np.float64).T  # [seed, width]
    p = peaks.pairwise_p_greater(values)
    pairs = [(i, j) for i in range(len(rows)) for j in range(i + 1, len(rows))]
    q = scipy_stats.false_discovery_control([p[i, j] for i, j in pairs]) if pairs else []
    significant = [
        {
            "narrow": rows[i]["width"],
            "wide": rows[j]["width"],
            "increase": rows[j]["excess_risk"] - rows[i]["excess_risk"],
            "standard_error": stats.paired_difference(values[:, j], values[:, i])["standard_error"],
            "q": float(q_ij),
            "floor": verdicts.spread_floor(values[:, i], values[:, j]),
        }
        for (i, j), q_ij in zip(pairs, q)
        if q_ij < alpha
    ]
    return {
        "pairs_scanned": len(pairs),
        "method": "Benjamini-Hochberg",
        "alpha": alpha,
        "floor_reason": verdicts.SPREAD_FLOOR_REASON,
        "violations": [v for v in significant if v["increase"] >= v["floor"]],
        "below_floor": [v for v in significant if not v["increase"] >= v["floor"]],
    }


def decay_comparison(unregularized: list[dict], optimal: list[dict], before: dict) -> dict:
    """How much the best λ lowers the excess risk where the unregularized curve peaks.

    A paired one-sided test over seeds (the λ = 0 run and the decay runs share data
    and initializations) of risk(λ = 0) − risk(best λ) at the unregularized peak
    width, judged against the seed spread of the two cells. The best λ is the
    oracle choice on the test set (Nakkiran, Venkat, Kakade & Ma 2021), so the
    reduction is slightly optimistic.
    """
    if before["width"] is None:
        return {"width": None, "verdict": "not tested", "reason": "no unregularized peak"}
    index = [r["width"] for r in unregularized].index(before["width"])
    a = np.asarray(unregularized[index]["excess_risk_per_seed"], np.float64)
    b = np.asarray(optimal[index]["excess_risk_per_seed"], np.float64)
    difference = stats.paired_difference(a, b)
    judged = verdicts.judge(
        difference["mean"],
        difference["p_greater"],
        floor=verdicts.spread_floor(a, b),
        standard_error=difference["standard_error"],
        minimum_detectable=peaks.minimum_detectable(
            difference["standard_error"], difference["n"], peaks.SIGNIFICANCE
        ),
    )
    return {"width": before["width"], "weight_decay": optimal[index].get("weight_decay"), **judged}


def removes_peak(before: dict, after: dict, violations: dict, reduction: dict) -> str:
    """The answer to "does optimal weight decay remove the peak?", from the sized verdicts.

    "removes the peak": the unregularized curve has a rise at least its floor, the
    optimally regularized one has none (no rise that is significant and at least its
    floor) and no width is worse than a narrower one by a significant amount at least
    its floor. "lowers the peak": the reduction at the peak is an effect but a rise or
    a violation remains. Otherwise "not established".
    """
    if before["rise_verdict"] != verdicts.EFFECT:
        return "no peak to remove"
    flat = after["rise_verdict"] != verdicts.EFFECT and not violations["violations"]
    if flat:
        return "removes the peak"
    if reduction.get("verdict") == verdicts.EFFECT:
        return "lowers the peak"
    return "not established"


def analyse(
    noise_rows: list[dict],
    decay_rows: list[dict],
    optimal_rows: list[dict],
    interpolation_width: float,
) -> dict:
    """Every verdict of the study from the rows' per-seed numbers (JSON-ready or fresh).

    Each curve's peak is the pre-registered test at the interpolation threshold
    (``threshold_peak``; the window from the parameter count); ``exploratory_peaks``
    keeps the scan over every width (``peak_of``), which pays for its search.
    """
    levels = list(dict.fromkeys(r["noise_std"] for r in noise_rows))
    window = window_widths(sorted({r["width"] for r in noise_rows}), interpolation_width)
    curves, scans = [], []
    for s in levels:
        rows = [r for r in noise_rows if r["noise_std"] == s]
        curves.append((s, rows, threshold_peak(rows, window)))
        scans.append({"noise_std": s, **peak_of(rows)})
    unregularized = [r for r in decay_rows if r["weight_decay"] == 0.0]
    before, after = threshold_peak(unregularized, window), threshold_peak(optimal_rows, window)
    optimal_violations = monotone_violations(optimal_rows)
    reduction = decay_comparison(unregularized, optimal_rows, before)
    return {
        "window_widths": window,
        "noise_peaks": [{"noise_std": s, **p} for s, _, p in curves],
        "exploratory_peaks": scans,
        "noise_height_trend": height_trend(curves),
        "unregularized_peak": before,
        "optimal_peak": after,
        "unregularized_violations": monotone_violations(unregularized),
        "optimal_violations": optimal_violations,
        "optimal_decay_reduction": reduction,
        "optimal_decay_verdict": removes_peak(before, after, optimal_violations, reduction),
        "share": verdicts.SECOND_DESCENT_SHARE,
        "share_reason": verdicts.SECOND_DESCENT_REASON,
    }


def with_verdicts(document: dict) -> dict:
    """The document with every verdict recomputed from its rows' per-seed numbers (pure)."""
    return document | io.to_jsonable(
        analyse(
            document["noise_rows"],
            document["decay_rows"],
            document["optimal_decay_rows"],
            document["interpolation_width"],
        )
    )


def summarize(config: Config, cells: dict) -> dict:
    """Rows per noise level and per width of the decay sweep, and every verdict (``analyse``)."""
    count = lambda w: models.parameter_count(models.stacked_layer_sizes(w, 2))  # noqa: E731
    noise_rows = [
        {
            "noise_std": s,
            "bayes_risk": s * s,
            "width": w,
            "n_params": count(w),
            **cells[(s, 0.0, w)],
        }
        for s in config.noise_stds
        for w in config.widths
    ]
    s = config.decay_noise_std
    decays = (0.0, *config.weight_decays)
    decay_rows, optimal_rows = [], []
    for w in config.widths:
        entries = [
            {"weight_decay": wd, "width": w, "n_params": count(w), **cells[(s, wd, w)]}
            for wd in decays
        ]
        decay_rows += entries
        best = min(
            (e for e in entries if math.isfinite(e["excess_risk"])), key=lambda e: e["excess_risk"]
        )
        optimal_rows.append({**best, "unregularized_excess_risk": entries[0]["excess_risk"]})
    threshold = models.MLPFamily(
        input_dim=config.data.input_dim, output_dim=config.data.output_dim
    ).width_at_parameter_count(config.n_train * config.data.output_dim)
    return {
        "n_train": config.n_train,
        "interpolation_width": threshold,
        "noise_rows": noise_rows,
        "decay_rows": decay_rows,
        "optimal_decay_rows": optimal_rows,
        **analyse(noise_rows, decay_rows, optimal_rows, threshold),
    }


def _level(s: float) -> str:
    return f"s = {s:g}"


def _peak_words(p: dict) -> str:
    """One curve's peak verdict with its size and floor, e.g. "double descent at M = 22 ..."."""
    if p["width"] is None:
        return "no rise above a narrower width"
    rise = (
        f"rise {plus_minus(p['height'], p['height_standard_error'], 2)} above M = "
        f"{p['dip_width']} ({p_text(p['height_p_holm'])}; floor {fmt(p['rise_floor'], 2)})"
    )
    if p["verdict"] in (verdicts.DOUBLE_DESCENT, verdicts.LEVELS_OFF):
        undone = "—" if p["undone"] is None else f"{fmt(100 * p['undone'], 2)} %"
        return f"{p['verdict']} at M = {p['width']}: {rise}, {undone} of it undone by the widest"
    detectable = fmt(p["height_minimum_detectable"], 2)
    if p["verdict"] == "rise below floor":
        return f"a significant rise below its floor at M = {p['width']}: {rise}"
    return f"no peak established: largest {rise}; detectable {detectable}"


def _trend_words(trend: dict) -> str:
    steps = trend["steps"]
    grown = [s for s in steps if s["verdict"] == verdicts.EFFECT]
    if not steps:
        return "one noise level: no trend tested"
    listed = ", ".join(
        f"{s['from_noise_std']:g} → {s['to_noise_std']:g} "
        f"(+{plus_minus(s['difference'], s['standard_error'], 2)}, floor {fmt(s['floor'], 2)})"
        for s in grown
    )
    if trend["verdict"] == "grows with every step":
        head = f"**The peak grows with every step in s** ({listed})"
    elif grown:
        head = (
            f"**The peak grows with label noise at {len(grown)} of {len(steps)} steps** "
            f"({listed}; each significant and above its seed-spread floor)"
        )
    else:
        head = (
            f"**No growth of the peak with label noise is established** at any of the "
            f"{len(steps)} steps"
        )
    slope = trend.get("log_log_slope")
    return head + ("" if slope is None else f"; on log axes the height scales as s^{fmt(slope, 2)}")


def _decay_words(results: dict) -> str:
    before, after = results["unregularized_peak"], results["optimal_peak"]
    verdict = results["optimal_decay_verdict"]
    scanned = results["optimal_violations"]
    reduction = results["optimal_decay_reduction"]
    head = {
        "removes the peak": "**Optimal weight decay removes the peak**",
        "lowers the peak": "**Optimal weight decay lowers the peak but does not remove it**",
        "not established": "**That optimal weight decay removes the peak is not established**",
        "no peak to remove": "**Without decay there is no peak to remove**",
    }[verdict]
    text = (
        f"{head}: without decay, {_peak_words(before)}; with the best λ per width, "
        f"{_peak_words(after)}, and {len(scanned['violations'])} of "
        f"{scanned['pairs_scanned']} pairs of widths have the wider model worse by a "
        "significant amount above its floor"
    )
    if reduction.get("width") is not None:
        text += (
            f". At M = {reduction['width']} the best λ = {fmt(reduction['weight_decay'])} lowers "
            "the excess risk by "
            f"{plus_minus(reduction['estimate'], reduction['standard_error'], 2)}"
            f" (floor {fmt(reduction['floor'], 2)})"
        )
    return text + "."


def answers(results: dict) -> list[dict]:
    """The two beyond-the-sheet questions this study answers, each from its sized verdicts."""
    trend = results["noise_height_trend"]
    peaks_by_level = "; ".join(
        f"{_level(p['noise_std'])}: {plus_minus(p['height'], p['height_standard_error'], 2)}"
        + ("" if p["qualifies"] else " (not established)")
        for p in results["noise_peaks"]
    )
    label = _trend_words(trend).split(" (")[0].replace("**", "")
    missed = [s for s in trend["steps"] if s["verdict"] != verdicts.EFFECT]
    if missed and len(missed) < len(trend["steps"]):
        label += (
            " (not at "
            + ", ".join(
                f"{s['from_noise_std']:g} → {s['to_noise_std']:g}: "
                f"+{plus_minus(s['difference'], s['standard_error'], 2)}, {s['verdict']}"
                for s in missed
            )
            + ")"
        )
    label += f". Rise above the dip: {peaks_by_level}"
    slope = trend.get("log_log_slope")
    if slope is not None:
        label += f"; about s^{fmt(slope, 2)}"
    before, after = results["unregularized_peak"], results["optimal_peak"]
    decay = (
        {
            "removes the peak": "Yes",
            "lowers the peak": "It lowers the peak but does not remove it",
            "not established": "Not established",
            "no peak to remove": "There is no peak to remove",
        }[results["optimal_decay_verdict"]]
        + ": the largest rise falls from "
        f"{plus_minus(before['height'], before['height_standard_error'], 2)} (λ = 0, "
        f"{before['verdict']}) to {plus_minus(after['height'], after['height_standard_error'], 2)}"
        f" ({after['verdict']}; floor {fmt(after['rise_floor'], 2)}), with "
        f"{len(results['optimal_violations']['violations'])} monotonicity violations above floor."
    )
    return [
        {
            "item": "Beyond 6.2",
            "question": "How does the peak height change with label noise?",
            "answer": label + ".",
            "figure": "double_descent_noise.png",
        },
        {
            "item": "Beyond 6.2",
            "question": "Does optimal weight decay remove the peak?",
            "answer": decay,
            "figure": "double_descent_decay.png",
        },
    ]


def summary(results: dict) -> list[str]:
    by_level = ", ".join(
        f"s = {p['noise_std']:g}: "
        + (f"M = {p['width']} (+{fmt(p['height'])}, {p['verdict']})" if p["width"] else "none")
        for p in results["noise_peaks"]
    )
    trend = results["noise_height_trend"]
    return [
        f"excess-risk peak (rise above its dip) by noise level: {by_level}",
        f"peak height against noise: {trend['verdict']} ({trend['steps_grown']} of "
        f"{len(trend['steps'])} steps significant and above floor)",
        f"optimal weight decay: {results['optimal_decay_verdict']}; "
        f"{len(results['optimal_violations']['violations'])} monotonicity violations above floor "
        f"(unregularized: {len(results['unregularized_violations']['violations'])}) of "
        f"{results['optimal_violations']['pairs_scanned']} pairs",
    ]


def markdown(results: dict) -> str:
    config = results["run"]["config"]
    n, threshold = results["n_train"], results["interpolation_width"]
    noise_peaks = results["noise_peaks"]
    trend = results["noise_height_trend"]
    qualifying = [_level(p["noise_std"]) for p in noise_peaks if p["qualifies"]]
    absent = [p for p in noise_peaks if not p["qualifies"]]
    answer = _trend_words(trend) + ". "
    answer += (
        f"A double descent qualifies at {', '.join(qualifying)}"
        if qualifying
        else "No level's curve qualifies as a double descent"
    )
    answer += (
        " (rise significant and at least its floor, at least "
        f"{fmt(100 * results['share'])} % of it undone at the widest model)"
    )
    if absent:
        answer += "; at " + ", ".join(_level(p["noise_std"]) for p in absent) + " "
        answer += "it does not: " + "; ".join(
            f"{_level(p['noise_std'])}: {_peak_words(p)}" for p in absent[:2]
        )
    out = [
        f"### Peak height against label noise (N = {n}, {config['epochs']} Adam steps, "
        f"{config['seeds']} seeds)",
        answer + ".",
        "![excess risk against width for each noise level](double_descent_noise.png)",
        table(
            [
                "s",
                "R_t = s²",
                "peak M (parameters)",
                "excess risk at the peak",
                "rise above the dip (dip M)",
                "floor",
                "undone",
                "verdict",
                f"excess risk at M = {config['widths'][-1]}",
            ],
            [
                [
                    p["noise_std"],
                    p["noise_std"] ** 2,
                    f"{p['width']} ({p['n_params']})" if p["width"] else "—",
                    plus_minus(p["excess_risk"], p["excess_risk_standard_error"])
                    if p["width"]
                    else "—",
                    f"{plus_minus(p['height'], p['height_standard_error'])} (M = {p['dip_width']})"
                    if p["width"]
                    else "none",
                    p["rise_floor"],
                    "—" if p["undone"] is None else f"{fmt(100 * p['undone'], 2)} %",
                    p["verdict"],
                    p["widest_excess_risk"],
                ]
                for p in noise_peaks
            ],
        ),
        details(
            "How it was tested",
            "The excess risk is test MSE against the noise-free teacher, i.e. test MSE − R_t. "
            "Each curve is tested once, where the theory puts the peak (pre-registered: "
            f"N·O = {n * config['data']['output_dim']} parameters sit at M ≈ "
            f"{fmt(threshold)}, so the window is M = "
            f"{' and '.join(str(w) for w in results['window_widths'])}, fixed by the config "
            "before any loss is read; `jaxnn.peaks.threshold_contrast`): the window's excess "
            "risk against every narrower width (paired one-sided t over seeds, Bonferroni) and "
            "against the widest (the fall). Floors: "
            f"{verdicts.SPREAD_FLOOR_REASON}; {results['share_reason']}. The exploratory scan "
            "over every width (`jaxnn.peaks.peak_of`, Holm over the widths scanned) gives: "
            + "; ".join(
                f"s = {e['noise_std']:g}: {e['verdict']}"
                + ("" if e["width"] is None else f" at M = {e['width']}")
                for e in results["exploratory_peaks"]
            )
            + ".\n\n"
            + table(
                ["s", "rise p", "detectable rise", "excess over widest", "p"],
                [
                    [
                        p["noise_std"],
                        p["height_p_holm"],
                        p["height_minimum_detectable"],
                        plus_minus(p["height_over_widest"], p["height_over_widest_standard_error"])
                        if p["height_over_widest"] is not None
                        else "—",
                        p["height_over_widest_p_holm"],
                    ]
                    for p in noise_peaks
                ],
            )
            + "\n\nEach step in s compares the seeds' heights (peak minus dip) at the two "
            "levels, paired (the levels share inputs, unit noise draw and initializations); "
            "one-sided t-tests, Holm over the steps; detectable: the smallest growth the test "
            "finds at 80 % power (Bonferroni level).\n\n"
            + table(
                ["step in s", "growth ± s.e.", "Holm p", "floor", "detectable", "verdict"],
                [
                    [
                        f"{s['from_noise_std']:g} → {s['to_noise_std']:g}",
                        plus_minus(s["difference"], s["standard_error"]),
                        s["p_holm"],
                        s["floor"],
                        s["minimum_detectable"],
                        s["verdict"],
                    ]
                    for s in trend["steps"]
                ],
            ),
        ),
    ]

    out.append(
        f"### Optimal weight decay (s = {config['decay_noise_std']:g}, λ ∈ "
        f"{{0, {', '.join(f'{wd:g}' for wd in config['weight_decays'])}}})"
    )
    out.append(_decay_words(results))
    out.append("![optimal weight decay against none](double_descent_decay.png)")
    optimal = results["optimal_decay_rows"]
    out.append(
        table(
            [
                "M",
                "parameters",
                "excess risk, λ = 0",
                "best λ",
                "excess risk, best λ",
                "train MSE, best λ",
            ],
            [
                [
                    r["width"],
                    r["n_params"],
                    r["unregularized_excess_risk"],
                    r["weight_decay"],
                    plus_minus(r["excess_risk"], r["excess_risk_standard_error"]),
                    r["train_loss"],
                ]
                for r in optimal
            ],
        )
    )
    scanned, raw = results["optimal_violations"], results["unregularized_violations"]
    before, after = results["unregularized_peak"], results["optimal_peak"]

    def pairs(found: list[dict]) -> str:
        return ", ".join(
            f"M = {v['narrow']} → {v['wide']} (+{plus_minus(v['increase'], v['standard_error'])},"
            f" floor {fmt(v['floor'], 2)})"
            for v in found[:3]
        )

    method = (
        "The peaks are tested as above (rise p: "
        f"{fmt(before['height_p_holm'], 2)} without decay, {fmt(after['height_p_holm'], 2)} with "
        f"the best λ; excess over the widest model p: "
        f"{fmt(before['height_over_widest_p_holm'], 2)} and "
        f"{fmt(after['height_over_widest_p_holm'], 2)}). Monotonicity: every pair of widths "
        f"M < M', a paired one-sided test of M' worse ({scanned['method']} over the "
        f"{scanned['pairs_scanned']} pairs at {fmt(scanned['alpha'])}), a violation only when "
        "the increase is also at least the pooled seed spread of the two widths. With the best "
        f"λ: {len(scanned['violations'])} violations"
        + (f" ({pairs(scanned['violations'])})" if scanned["violations"] else "")
        + f", {len(scanned['below_floor'])} significant but below floor"
        + (f" ({pairs(scanned['below_floor'])})" if scanned["below_floor"] else "")
        + f". Without decay: {len(raw['violations'])} violations, e.g. {pairs(raw['violations'])}"
        f", and {len(raw['below_floor'])} below floor. The best λ is chosen per width on the "
        "test set itself (the paper's oracle, Nakkiran, Venkat, Kakade & Ma 2021), which biases "
        "each chosen risk slightly downward."
    )
    reduction = results["optimal_decay_reduction"]
    if reduction.get("width") is not None:
        method += (
            f" The reduction at M = {reduction['width']} is a paired one-sided test "
            f"({p_text(reduction['p'])}; detectable {fmt(reduction['minimum_detectable'], 2)})."
        )
    out.append(details("How it was tested", method))
    return "\n\n".join(out)
