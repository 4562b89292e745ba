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

Training is two ``jaxnn.width_sweep`` calls of ``models.MLP``: the noise levels
as named training sets (without decay), and the decays as a swept
hyperparameter of ``adam_with_kernel_decay`` on the decay sweep's level. A
member's initialization depends only on (width, seed), so the λ = 0 member of
one call is the s = ``decay_noise_std`` member of the other and is trained once.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Sequence

import jax
import numpy as np
import optax
from scipy import stats as scipy_stats

import jaxnn
from jaxnn import data, io, models, peaks, precision, stats, validation, verdicts
from jaxnn.module_sweep import MAX_WIDTH
from jaxnn.studies import NoProgress
from jaxnn.studies.double_descent_noise_decay_text import answers, markdown, summary  # noqa: F401


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    """The noise and weight-decay sweeps.

    Attributes:
        data: teacher and test set (its ``noise_std`` is unused: see the levels).
        widths: hidden widths M.
        n_train: N.
        noise_stds: label-noise levels s of the noise sweep (without decay).
        decay_noise_std: the noise level of the weight-decay sweep.
        weight_decays: L2 coefficients λ > 0 of the decay sweep (its λ = 0 is the
            noise sweep's run at ``decay_noise_std`` where that sweep has the level).
        seeds: repetitions (new training set and init each).
        epochs: full-batch Adam steps.
        learning_rate: Adam's step size.
        init_scheme: see ``jaxnn.models``.
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
    matmul_precision: str = precision.DEFAULT
    seed: int = 0

    def __post_init__(self):
        validation.at_least(self, 1, "n_train", "seeds", "epochs")
        validation.seed(self.seed)
        if not self.widths or min(self.widths) < 1 or max(self.widths) > MAX_WIDTH:
            raise ValueError(f"widths: need values in 1..{MAX_WIDTH}, got {self.widths}")
        if tuple(sorted(set(self.widths))) != tuple(self.widths):
            raise ValueError("widths: must be sorted and unique")
        if not self.noise_stds or not all(math.isfinite(s) and s >= 0 for s in self.noise_stds):
            raise ValueError(f"noise_stds: need finite values >= 0, got {self.noise_stds}")
        validation.all_positive(self, "weight_decays")
        level = self.decay_noise_std
        if not (math.isfinite(level) and level >= 0):
            raise ValueError(f"decay_noise_std: need a finite value >= 0, got {level}")
        validation.positive(self, "learning_rate")
        models.check_init_scheme(self.init_scheme)
        precision.check_precision(self.matmul_precision)


QUICK = Config(
    data=data.TeacherConfig(n_test=2000, normalisation_samples=10_000),
    widths=(4, 12, 24),
    noise_stds=(0.0, 1.0),
    weight_decays=(1e-2,),
    seeds=2,
    epochs=300,
)
FULL = Config(
    widths=(*tuple(range(2, 65, 2)), 80, 100, 128, 160, 200),
    noise_stds=(0.0, 0.125, 0.25, 0.5, 1.0, 1.5, 2.0),
    weight_decays=(3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1),
    seeds=8,
    epochs=20_000,
)


def adam_with_kernel_decay(learning_rate, weight_decay) -> optax.GradientTransformation:
    """Adam with L2 on the kernels: λθ is added to a kernel's gradient before Adam's moments.

    A stationary point therefore minimises :math:`L + \\tfrac\\lambda2\\lVert W\\rVert^2`
    (coupled L2 as PyTorch's ``Adam(weight_decay=λ)`` on the weights, not AdamW).
    """
    return optax.chain(
        optax.add_decayed_weights(weight_decay, mask=models.kernel_mask), optax.adam(learning_rate)
    )


def set_name(noise_std: float) -> str:
    """The name of the training set with label noise ``noise_std``."""
    return f"s={noise_std:g}"


def training_sets(config: Config) -> dict[str, dict]:
    """``{set_name(s): dict(x_train, y_train, x_test, y_test)}`` at every noise level.

    The same data key at every level: the same inputs and unit noise draw, scaled by
    s (paired levels), ``[seeds, N, ...]`` (one draw per seed). The test targets are
    noise-free, so the test MSE is the excess risk.
    """
    levels = tuple(dict.fromkeys((*config.noise_stds, config.decay_noise_std)))
    key_data, _ = jax.random.split(jax.random.key(config.seed))  # (key_data, key_init)
    n, seeds = config.n_train, config.seeds
    clean, *noisy = (
        data.make_dataset(key_data, dataclasses.replace(config.data, noise_std=s), n, n_draws=seeds)
        for s in (0.0, *levels)
    )
    test = dict(x_test=clean.x_test, y_test=clean.y_test)
    return {
        set_name(s): dict(x_train=d.x_train, y_train=d.y_train, **test)
        for s, d in zip(levels, noisy)
    }


def sweep_sets(config: Config, sets: dict, weight_decays: Sequence[float], **options):
    """``jaxnn.width_sweep`` of the teacher MLP on ``sets`` at every weight decay (full batch).

    ``options``: ``progress``, ``run_dir``, ``mesh`` and the like, passed on.
    """
    return jaxnn.width_sweep(
        models.mlp_of_width(
            config.data.input_dim, config.data.output_dim, init_scheme=config.init_scheme
        ),
        sets,
        widths=config.widths,
        seeds=config.seeds,
        loss="mse",
        optimizer=adam_with_kernel_decay,
        hyperparams={"learning_rate": [config.learning_rate], "weight_decay": list(weight_decays)},
        epochs=config.epochs,
        # float32 Adam bounces near zero loss: the final train loss is a median.
        final_window=max(1, config.epochs // 20),
        key=jax.random.split(jax.random.key(config.seed))[1],  # (key_data, key_init)
        matmul_precision=config.matmul_precision,
        **options,
    )


def run(config: Config, *, mesh=None, run_dir=None, progress=None) -> dict:
    """The noise levels without decay in one ``width_sweep`` call, the decays in another."""
    options = dict(progress=progress or NoProgress(), run_dir=run_dir, mesh=mesh)
    sets = training_sets(config)
    levels = {set_name(s): sets[set_name(s)] for s in config.noise_stds}
    noise = sweep_sets(config, levels, [0.0], **options)
    cells = {
        (s, 0.0, w): _cell(noise, set_name(s), 0, w)
        for s in config.noise_stds
        for w in config.widths
    }
    # λ = 0 at the decay sweep's level is a member of the noise call when it trains that level.
    decays = [
        *([] if config.decay_noise_std in config.noise_stds else [0.0]),
        *config.weight_decays,
    ]
    name = set_name(config.decay_noise_std)
    decayed = sweep_sets(config, {name: sets[name]}, decays, **options)
    cells |= {
        (config.decay_noise_std, wd, w): _cell(decayed, name, i, w)
        for i, wd in enumerate(decays)
        for w in config.widths
    }
    return summarize(config, cells, decayed.n_params)


def _cell(result, name: str, index: int, width: int) -> dict:
    """Seed mean and standard error of the excess risk, its per-seed values, and the train MSE."""
    cell = (name, index, width)
    diverged = np.asarray(result.diverged[cell], bool)
    per_seed = np.where(diverged, np.nan, np.asarray(result.curves[cell]["test_loss"])[:, -1])
    seed_summary = stats.seed_summary(per_seed)
    return {
        "excess_risk": seed_summary["mean"],
        "excess_risk_standard_error": seed_summary["standard_error"],
        "excess_risk_per_seed": per_seed.tolist(),
        "train_loss": float(np.nanmean(np.asarray(result.final_train_loss[cell]))),
        "n_seeds": seed_summary["n"],
        "n_diverged": int(diverged.sum()),
    }


def peak_of(rows: list[dict]) -> dict:
    """The double-descent bump of a curve, tested with the widths scanned (``peaks.peak_of``).

    The peak is the width whose excess risk rises most above the lowest value at a
    narrower width (so a curve that only falls has none: an under-fitting start is
    not a peak). ``height`` is that rise and ``height_over_widest`` the peak's excess
    over the widest model, each a paired difference over seeds (a seed trains on
    the same data at every width) with its standard error and a Holm-adjusted
    p-value that counts every width scanned. ``significant``: both survive; the
    verdict is sized as the module docstring says (floor: the pooled seed spread of
    the peak and its dip). ``height_minimum_detectable`` is the smallest rise the test
    would find at 80 % power at the most conservative level of the scan (Bonferroni
    over every earlier width and every width scanned).
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
    fields = ("width", "n_params", "excess_risk", "excess_risk_standard_error")
    return none | {
        **{key: top[key] for key in fields},
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
    inside = bool(indices) and 0 < indices[0] and indices[-1] < len(rows) - 1
    if len(indices) != len(window) or not inside:
        return none | {"window_widths": list(window), "verdict": "not tested"}
    contrast = peaks.threshold_contrast([r["excess_risk_per_seed"] for r in rows], indices)
    top = rows[indices[-1]]
    same = ("significant", "rise_floor", "rise_verdict", "undone", "verdict", "qualifies")
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
        **{key: contrast[key] for key in same},
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
        detectable = peaks.minimum_detectable(step["standard_error"], step["seeds"], level)
        judged = verdicts.judge(step["difference"], float(p), floor=step["floor"])
        step |= {"p_holm": float(p), "minimum_detectable": detectable, "verdict": judged["verdict"]}
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
    if after["rise_verdict"] != verdicts.EFFECT and not violations["violations"]:
        return "removes the peak"
    if reduction.get("verdict") == verdicts.EFFECT:
        return "lowers the peak"
    return "not established"


def analyse(noise_rows: list, decay_rows: list, optimal_rows: list, interpolation_width) -> dict:
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
    keys = ("noise_rows", "decay_rows", "optimal_decay_rows", "interpolation_width")
    return document | io.to_jsonable(analyse(*(document[key] for key in keys)))


def interpolation_width(input_dim: int, output_dim: int, n_params: float) -> float:
    """The real width M at which the 2-hidden-layer MLP has ``n_params`` parameters (a marker).

    The count :math:`M^2 + (d + O + 2)M + O` is increasing in M: its positive root.
    """
    b, c = input_dim + output_dim + 2, output_dim - n_params
    return (math.sqrt(b * b - 4 * c) - b) / 2


def summarize(config: Config, cells: dict, n_params: dict[int, int]) -> dict:
    """Rows per noise level and per width of the decay sweep, and every verdict (``analyse``).

    ``cells``: ``{(noise level, weight decay, width): _cell}``; ``n_params``: ``{width: count}``.
    """
    noise_rows = [
        {
            "noise_std": s,
            "bayes_risk": s * s,
            "width": w,
            "n_params": n_params[w],
            **cells[(s, 0.0, w)],
        }
        for s in config.noise_stds
        for w in config.widths
    ]
    s = config.decay_noise_std
    decay_rows, optimal_rows = [], []
    for w in config.widths:
        entries = [
            {"weight_decay": wd, "width": w, "n_params": n_params[w], **cells[(s, wd, w)]}
            for wd in (0.0, *config.weight_decays)
        ]
        decay_rows += entries
        best = min(
            (e for e in entries if math.isfinite(e["excess_risk"])), key=lambda e: e["excess_risk"]
        )
        optimal_rows.append({**best, "unregularized_excess_risk": entries[0]["excess_risk"]})
    threshold = interpolation_width(
        config.data.input_dim, config.data.output_dim, config.n_train * config.data.output_dim
    )
    return {
        "n_train": config.n_train,
        "interpolation_width": threshold,
        "noise_rows": noise_rows,
        "decay_rows": decay_rows,
        "optimal_decay_rows": optimal_rows,
        **analyse(noise_rows, decay_rows, optimal_rows, threshold),
    }
