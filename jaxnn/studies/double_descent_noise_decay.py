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
   be worse than a narrower one by more than two standard errors of the
   difference of seed means.

Every (noise level or decay, width, seed) is one member of one vmapped
sweep, grouped by width like the main study (``jaxnn.sweep.Variant``).
"""

from __future__ import annotations

import dataclasses
import itertools
import math

import jax
import numpy as np
from scipy import stats as scipy_stats

from jaxnn import data, models, peaks, precision, stats, sweep, train, validation
from jaxnn.formatting import fmt, plus_minus, table
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
    p-value that counts every width scanned. ``significant``: the rise survives.
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
        "widest_excess_risk": widest["excess_risk"],
        "height_over_widest": None,
        "height_over_widest_standard_error": None,
        "height_over_widest_p_holm": None,
        "significant": False,
        "widths_scanned": len(rows) - 1,
    }
    if peak["index"] is None:
        return none
    top, dip = rows[peak["index"]], rows[peak["dip_index"]]
    return none | {
        "width": top["width"],
        "n_params": top["n_params"],
        "excess_risk": top["excess_risk"],
        "excess_risk_standard_error": top["excess_risk_standard_error"],
        "dip_width": dip["width"],
        "height": peak["rise"],
        "height_standard_error": peak["rise_standard_error"],
        "height_p_holm": peak["rise_p_holm"],
        "height_over_widest": peak["excess"],
        "height_over_widest_standard_error": peak["excess_standard_error"],
        "height_over_widest_p_holm": peak["excess_p_holm"],
        "significant": bool(peak["rise_p_holm"] < peaks.SIGNIFICANCE),
    }


def monotone_violations(rows: list[dict], alpha: float = peaks.SIGNIFICANCE) -> dict:
    """Pairs of widths M < M' where M' is significantly worse, over every pair scanned.

    Each pair is a paired one-sided t-test over seeds (``peaks.pairwise_p_greater``);
    the p-values of all W(W-1)/2 pairs are Benjamini–Hochberg adjusted
    (``scipy.stats.false_discovery_control``), so a violation is not one of the
    pairs that cross two standard errors by chance.
    """
    values = np.array([r["excess_risk_per_seed"] for r in rows], np.float64).T  # [seed, width]
    p = peaks.pairwise_p_greater(values)
    pairs = [(i, j) for i in range(len(rows)) for j in range(i + 1, len(rows))]
    q = scipy_stats.false_discovery_control([p[i, j] for i, j in pairs]) if pairs else []
    violations = [
        {
            "narrow": rows[i]["width"],
            "wide": rows[j]["width"],
            "increase": rows[j]["excess_risk"] - rows[i]["excess_risk"],
            "standard_error": stats.paired_difference(values[:, j], values[:, i])["standard_error"],
            "q": float(q_ij),
        }
        for (i, j), q_ij in zip(pairs, q)
        if q_ij < alpha
    ]
    return {
        "pairs_scanned": len(pairs),
        "method": "Benjamini-Hochberg",
        "alpha": alpha,
        "violations": violations,
    }


def summarize(config: Config, cells: dict) -> dict:
    """Rows per noise level and per width of the decay sweep, peaks, and the monotonicity test."""
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
    noise_peaks = [
        {"noise_std": s, **peak_of([r for r in noise_rows if r["noise_std"] == s])}
        for s in config.noise_stds
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
    unregularized = [r for r in decay_rows if r["weight_decay"] == 0.0]
    return {
        "n_train": config.n_train,
        "interpolation_width": models.MLPFamily(
            input_dim=config.data.input_dim, output_dim=config.data.output_dim
        ).width_at_parameter_count(config.n_train * config.data.output_dim),
        "noise_rows": noise_rows,
        "noise_peaks": noise_peaks,
        "decay_rows": decay_rows,
        "optimal_decay_rows": optimal_rows,
        "unregularized_peak": peak_of(unregularized),
        "optimal_peak": peak_of(optimal_rows),
        "unregularized_violations": monotone_violations(unregularized),
        "optimal_violations": monotone_violations(optimal_rows),
    }


def summary(results: dict) -> list[str]:
    by_level = ", ".join(
        f"s = {p['noise_std']:g}: "
        + (f"M = {p['width']} (+{fmt(p['height'])})" if p["width"] else "none")
        for p in results["noise_peaks"]
    )
    return [
        f"excess-risk peak (rise above its dip) by noise level: {by_level}",
        f"optimal weight decay: {len(results['optimal_violations']['violations'])} significant "
        f"monotonicity violations (unregularized: "
        f"{len(results['unregularized_violations']['violations'])}) of "
        f"{results['optimal_violations']['pairs_scanned']} pairs",
    ]


def markdown(results: dict) -> str:
    config = results["run"]["config"]
    n, threshold = results["n_train"], results["interpolation_width"]
    out = [
        f"### Peak height against label noise (N = {n}, {config['epochs']} Adam steps, "
        f"{config['seeds']} seeds)",
        "![excess risk against width for each noise level](double_descent_noise.png)",
    ]
    noise_peaks = results["noise_peaks"]
    out.append(
        table(
            [
                "s",
                "R_t = s²",
                "peak width M",
                "parameters",
                "excess risk at the peak",
                "rise above the dip (width of the dip)",
                "excess risk at M = " + str(config["widths"][-1]),
            ],
            [
                [
                    p["noise_std"],
                    p["noise_std"] ** 2,
                    p["width"],
                    p["n_params"],
                    plus_minus(p["excess_risk"], p["excess_risk_standard_error"])
                    if p["width"]
                    else "—",
                    (
                        plus_minus(p["height"], p["height_standard_error"])
                        + f" (M = {p['dip_width']})"
                    )
                    if p["width"]
                    else "none",
                    p["widest_excess_risk"],
                ]
                for p in noise_peaks
            ],
        )
    )
    significant = [p for p in noise_peaks if p["significant"]]
    text = (
        "The excess risk is test MSE against the noise-free teacher, i.e. test MSE − R_t. The "
        "peak of a curve is its largest rise above the lowest value at a narrower width (the "
        "dip); the rise is a paired test over seeds that counts every width scanned (Holm; "
        f"`jaxnn.peaks`). N·O = {n * config['data']['output_dim']} parameters sit at "
        f"M ≈ {fmt(threshold)}; "
    )
    if significant:
        text += (
            "the peaks whose rise survives the correction sit at "
            + ", ".join(
                f"M = {p['width']} ({p['n_params']} parameters, s = {p['noise_std']:g})"
                for p in significant
            )
            + ". "
        )
    else:
        text += f"no peak's rise survives the correction with {config['seeds']} seeds. "
    noisy = [p for p in noise_peaks if p["noise_std"] > 0 and p["width"]]
    heights = [p["height"] for p in noisy]
    if len(noisy) > 1:
        grows = all(b > a for a, b in itertools.pairwise(heights))
        text += (
            (
                "The peak height grows with every step in s"
                if grows
                else "The peak height does not grow monotonically with s"
            )
            + " ("
            + ", ".join(f"s = {p['noise_std']:g}: {fmt(p['height'])}" for p in noisy)
            + ")"
        )
        slope = np.polyfit(np.log([p["noise_std"] for p in noisy]), np.log(heights), 1)[0]
        text += f"; on log axes it scales as s^{fmt(slope, 2)} across these levels. "
    zero = next((p for p in noise_peaks if p["noise_std"] == 0), None)
    if zero is not None and noisy:
        top = noisy[-1]
        share = zero["height"] / top["height"] if top["height"] > 0 else math.nan
        text += (
            "Without label noise the rise is "
            f"{plus_minus(zero['height'], zero['height_standard_error'])}"
            f", {fmt(100 * share, 2)} % of the rise at s = {top['noise_std']:g}: "
        )
        text += (
            "the bump all but vanishes, as Nakkiran et al. (2019, §4) report."
            if share < 0.1
            else "a bump remains, against Nakkiran et al. (2019, §4)."
        )
    out.append(text)

    out.append(
        f"### Optimal weight decay (s = {config['decay_noise_std']:g}, λ ∈ "
        f"{{0, {', '.join(f'{wd:g}' for wd in config['weight_decays'])}}})"
    )
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
    before, after = results["unregularized_peak"], results["optimal_peak"]
    scanned = results["optimal_violations"]
    violations = scanned["violations"]

    def describe(p: dict) -> str:
        if not p["width"]:
            return "has no peak"
        return (
            f"peaks at M = {p['width']}, {plus_minus(p['height'], p['height_standard_error'])} "
            f"above its dip at M = {p['dip_width']}"
        )

    text = (
        f"Without decay the excess risk {describe(before)}; with the best λ per width it "
        f"{describe(after)}. "
    )
    if not violations:
        text += (
            "The optimally regularized curve is monotone in M within seed noise: of the "
            f"{scanned['pairs_scanned']} pairs of widths, none has the wider model significantly "
            f"worse (paired tests, {scanned['method']} at {fmt(scanned['alpha'])}): optimal "
            "decay removes the peak, as Nakkiran, Venkat, Kakade & Ma (2021) prove for "
            "linear regression."
        )
    else:
        text += (
            f"The optimally regularized curve is *not* monotone within seed noise: "
            f"{len(violations)} of the {scanned['pairs_scanned']} pairs of widths have the wider "
            f"model significantly worse (paired tests, {scanned['method']} at "
            f"{fmt(scanned['alpha'])}), e.g. "
            + ", ".join(
                f"M = {v['narrow']} → {v['wide']} (+{fmt(v['increase'])} ± "
                f"{fmt(v['standard_error'])})"
                for v in violations[:3]
            )
            + "; the decay grid removes "
            + ("part of the peak." if after["height"] < before["height"] else "none of the peak.")
        )
    out.append(
        text + " The best λ is chosen per width on the test set itself (the paper's "
        "oracle), which biases each chosen value slightly downward."
    )
    return "\n\n".join(out)
