r"""Double descent in width (computer assignment 1; Belkin et al. 2019; Nakkiran et al. 2019).

For a 8 -> M -> M -> 8 network trained to (near) zero training error on N
noisy points, the test error first falls with M, peaks near the
*interpolation threshold* — the smallest model that fits the N·O targets,
about N·O parameters — and falls again beyond it. More data moves the
threshold to larger M, so in a band of widths N = 200 is worse than N = 100
(Nakkiran et al. 2019, "Deep double descent", §6).

Definitions used in the outputs:

- final training loss: median of the training MSE over the last epochs of a
  run (``TrainConfig.final_window``), then averaged over seeds;
- interpolation threshold: the smallest width whose seed-median final training
  MSE is below ``interpolation_tol``;
- test-loss peak: the width with the largest seed-mean test loss.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import jax
import numpy as np

from jaxnn import data, models, precision, sweep, train
from jaxnn.formatting import fmt, table
from jaxnn.studies import NoProgress

MAX_WIDTH = 4096  # a padded 4096-wide group of 3 seeds already needs gigabytes of Adam state

DEFAULT_WIDTHS = (*range(2, 49, 2), 56, 64, 80, 100, 128, 160, 200)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    """The double-descent study.

    Attributes:
        data: the teacher, noise level s and test set (``R_t = s**2``).
        widths: hidden widths M of the 8 -> M -> M -> 8 sweep.
        curve_widths: widths whose training curves part (b) shows.
        n_train: training-set sizes N; the first is the assignment's N = 100.
        seeds: independent repetitions (new training set and new init each).
        epochs: full-batch Adam steps per model in the sweep (B = N).
        curve_epochs: steps for the part (b) training curves.
        learning_rate: Adam's step size.
        init_scheme: see ``jaxnn.models``.
        interpolation_tol: a width interpolates when its seed-median final
            training MSE is below this (0.05 % of the target variance 1 + s**2).
        chunk_epochs: epochs per compiled call (one host sync and progress tick).
        matmul_precision: float32 matmul precision (``jaxnn.precision``).
        epochwise_points: the density of the log-spaced epochs (over the whole run)
            whose test losses the sweep records inside its first chunk, for the
            epoch-wise picture; later epochs are the chunk ends (0: chunk ends only).
        more_data_widths: widths for the N table; ``None`` picks the measured
            thresholds of every N plus the largest width.
        seed: master seed of data draws and initializations.
    """

    data: data.TeacherConfig = data.TeacherConfig()
    widths: tuple[int, ...] = DEFAULT_WIDTHS
    curve_widths: tuple[int, ...] = (10, 50, 100)
    n_train: tuple[int, ...] = (100, 200)
    seeds: int = 3
    epochs: int = 20_000
    curve_epochs: int = 50_000
    learning_rate: float = 1e-3
    init_scheme: str = "torch_uniform"
    interpolation_tol: float = 1e-3
    chunk_epochs: int = 1000
    matmul_precision: str = precision.DEFAULT
    epochwise_points: int = 40
    more_data_widths: tuple[int, ...] | None = None
    seed: int = 0

    def __post_init__(self):
        if self.epochwise_points < 0:
            raise ValueError(f"epochwise_points: must be >= 0, got {self.epochwise_points}")
        if max(self.widths + self.curve_widths) > MAX_WIDTH:
            raise ValueError(
                f"widths: at most {MAX_WIDTH}, got {max(self.widths + self.curve_widths)}"
            )
        for name in ("seeds", "epochs", "curve_epochs", "chunk_epochs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be >= 1, got {getattr(self, name)}")
        for name in ("widths", "curve_widths", "n_train"):
            values = getattr(self, name)
            if not values or min(values) < 1:
                raise ValueError(f"{name}: need values >= 1, got {values}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate: must be > 0, got {self.learning_rate}")
        if not self.interpolation_tol > 0:
            raise ValueError(f"interpolation_tol: must be > 0, got {self.interpolation_tol}")
        models.check_init_scheme(self.init_scheme)
        precision.check_precision(self.matmul_precision)

    def model(self) -> models.MLPFamily:
        """The d -> M -> M -> O ReLU network, sized by the data."""
        return models.MLPFamily(
            input_dim=self.data.input_dim,
            output_dim=self.data.output_dim,
            depth=2,
            activation="relu",
        )

    def train_config(self, epochs: int, *, epochwise: bool = False) -> train.TrainConfig:
        record = ()
        if epochwise and self.epochwise_points:
            # Log-spaced inside the first chunk; later, the chunk ends (measured anyway) are
            # dense enough on a log axis, and a chunk without record epochs copies nothing.
            chunk = min(self.chunk_epochs, epochs)
            record = tuple(
                int(e)
                for e in train.log_spaced_epochs(epochs, self.epochwise_points)
                if 0 < e < chunk
            )
        return train.TrainConfig(
            model=self.model(),
            objective="mse",
            optimizer="adam",
            epochs=epochs,
            batch_size=None,
            chunk_epochs=min(self.chunk_epochs, epochs),
            loss_thresholds=(1e-3, 1e-5),
            final_window=max(1, epochs // 20),
            record_epochs=record,
            matmul_precision=self.matmul_precision,
        )


QUICK = Config(
    data=data.TeacherConfig(n_test=2000, normalisation_samples=10_000),
    widths=(2, 6, 12, 24, 40),
    curve_widths=(6, 24),
    seeds=2,
    epochs=300,
    curve_epochs=400,
    chunk_epochs=100,
)
FULL = Config(widths=tuple(range(2, 201)), seeds=8, epochs=40_000, curve_epochs=100_000)


def run(config: Config, *, mesh=None, run_dir=None, progress=None) -> dict:
    """Training curves for ``curve_widths``, then the width sweep for every N.

    Finished groups are saved in ``run_dir`` (``io.RunDirectory``) and reused
    when it was opened with ``resume``.
    """
    progress = progress or NoProgress()
    key_data, key_init = jax.random.split(jax.random.key(config.seed))
    datasets = {
        n: data.make_dataset(jax.random.fold_in(key_data, n), config.data, n, n_draws=config.seeds)
        for n in config.n_train
    }
    training_sets = {n: (d.x_train, d.y_train) for n, d in datasets.items()}
    n_first = config.n_train[0]
    x_test, y_test = datasets[n_first].x_test, datasets[n_first].y_test
    n_devices = 1 if mesh is None else mesh.size
    family = config.model()
    groups = sweep.plan_sweep(
        config.widths,
        config.n_train,
        family=family,
        epochs=config.epochs,
        members_per_width=config.seeds,
        n_devices=n_devices,
        costs=sweep.backend_costs(),
    )
    curve_group = sweep.WidthGroup(
        sweep.round_up(max(config.curve_widths), 8), tuple(sorted(config.curve_widths)), (n_first,)
    )
    progress.start(
        sweep.work_gflop([curve_group], config.seeds, config.curve_epochs, family=family)
        + sweep.work_gflop(groups, config.seeds, config.epochs, family=family),
        "GFLOP",
    )

    def run_groups(groups, epochs, prefix):
        return sweep.run_width_sweep(
            key_init,
            groups,
            training_sets,
            x_test,
            y_test,
            config.train_config(epochs, epochwise=prefix == "sweep"),
            learning_rate=config.learning_rate,
            init_scheme=config.init_scheme,
            mesh=mesh,
            progress=progress,
            load_group=lambda g: run_dir.load_part(f"{prefix}_{g.name}") if run_dir else None,
            save_group=lambda g, r: run_dir.save_part(f"{prefix}_{g.name}", r) if run_dir else None,
        )

    curves = run_groups([curve_group], config.curve_epochs, "curves")
    trained = run_groups(groups, config.epochs, "sweep")
    return summarize(config, curves, trained, groups)


def summarize(config: Config, curves: dict, trained: dict, groups) -> dict:
    """The results of the study from the per-(N, width) training results."""
    n_first = config.n_train[0]
    rows = {n: sweep_rows({w: trained[(n, w)] for w in config.widths}, n) for n in config.n_train}
    thresholds = [
        interpolation_threshold(rows[n], config.interpolation_tol) for n in config.n_train
    ]
    more_data_widths = config.more_data_widths or tuple(
        sorted({t["width"] for t in thresholds if t is not None} | {max(config.widths)})
    )
    bayes = data.bayes_risk(config.data)
    tolerance = 3 * data.bayes_risk_standard_error(config.data)
    lowest = min(r["test_loss_min"] for n in config.n_train for r in rows[n])
    return {
        "bayes_risk": bayes,
        "bayes_risk_standard_error": data.bayes_risk_standard_error(config.data),
        "training_curves": [
            training_curve(curves[(n_first, w)], w, (1e-3, 1e-5))
            for w in sorted(config.curve_widths)
        ],
        "curve_n_train": n_first,
        "sweep": [row for n in config.n_train for row in rows[n]],
        "interpolation_threshold": [t for t in thresholds if t is not None],
        "interpolation_tol": config.interpolation_tol,
        "parameter_count_at_n_times_outputs": [
            {
                "n_train": n,
                "n_params": n * config.data.output_dim,
                "width": width_at_parameter_count(n * config.data.output_dim),
            }
            for n in config.n_train
        ],
        "test_loss_peak": [test_loss_peak(rows[n]) for n in config.n_train],
        "more_data": more_data_rows(rows, more_data_widths),
        "more_data_hurts_widths": (
            harmful_data_widths(rows, *config.n_train[:2]) if len(config.n_train) > 1 else []
        ),
        "bayes_check": {
            "lowest_test_loss": lowest,
            "bayes_risk": bayes,
            "tolerance": tolerance,
            "passed": bool(lowest >= bayes - tolerance),
        },
        "epochwise": [
            epochwise_summary({w: trained[(n, w)] for w in config.widths}, n)
            for n in config.n_train
        ],
        "groups": [dataclasses.asdict(g) for g in groups],
    }


def epochwise_summary(results: dict[int, dict], n_train: int, z: float = 2.0) -> dict:
    r"""Test loss over (width, epoch) and the widths whose test loss is non-monotone in epochs.

    A width shows *epoch-wise double descent* (Nakkiran et al. 2019, §5) when
    its seed-mean test loss rises significantly after some epoch and falls
    significantly again later: there are epochs i < j < l with
    :math:`L_j - L_i > z\,\sigma_{ij}` and :math:`L_j - L_l > z\,\sigma_{jl}`,
    :math:`\sigma` the standard error of the difference of the seed means. A
    significant rise that never comes down is *overfitting* (a U in epochs).

    Returns:
        ``{"n_train", "epochs", "widths", "test_loss": [width][epoch] seed means,
        "test_loss_standard_error", "nonmonotone": [{"width", "kind", "peak_epoch",
        "rise", "fall"}]}``.
    """
    widths = sorted(results)
    epochs = np.asarray(results[widths[0]]["test_epochs"])
    losses = np.stack([np.asarray(results[w]["test_loss"]) for w in widths])  # [width, seed, epoch]
    mean = losses.mean(axis=1)
    n_seeds = losses.shape[1]
    error = losses.std(axis=1, ddof=1) / math.sqrt(n_seeds) if n_seeds > 1 else np.zeros_like(mean)
    marks = []
    for index, width in enumerate(widths):
        curve, se = mean[index], error[index]
        best = None
        for j in range(1, len(curve)):
            rise = max(curve[j] - curve[i] - z * math.hypot(se[i], se[j]) for i in range(j))
            if rise <= 0:
                continue
            later = [
                curve[j] - curve[k] - z * math.hypot(se[j], se[k]) for k in range(j + 1, len(curve))
            ]
            fall = max(later, default=-math.inf)
            kind = "double descent" if fall > 0 else "overfitting"
            candidate = {
                "width": width,
                "kind": kind,
                "peak_epoch": int(epochs[j]),
                "rise": float(curve[j] - curve[:j].min()),
                "fall": float(curve[j] - curve[j + 1 :].min()) if j + 1 < len(curve) else 0.0,
            }
            if best is None or (kind == "double descent" and best["kind"] != kind):
                best = candidate
            if kind == "double descent":
                break
        if best is not None:
            marks.append(best)
    return {
        "n_train": n_train,
        "epochs": epochs.tolist(),
        "widths": widths,
        "test_loss": mean.tolist(),
        "test_loss_standard_error": error.tolist(),
        "nonmonotone": marks,
    }


def summary(results: dict) -> list[str]:
    """Headline numbers for the console."""
    lines = []
    for peak in results["test_loss_peak"]:
        threshold = next(
            (t for t in results["interpolation_threshold"] if t["n_train"] == peak["n_train"]), None
        )
        lines.append(
            f"N = {peak['n_train']}: test MSE peaks at M = {peak['width']} "
            f"({fmt(peak['test_loss'])}, {fmt(peak['test_loss'] / results['bayes_risk'])}"
            f" x R_t); interpolation threshold "
            + (
                f"M = {threshold['width']} ({threshold['n_params']} parameters)"
                if threshold
                else "not reached"
            )
        )
    if results["more_data_hurts_widths"]:
        hurt = results["more_data_hurts_widths"]
        lines.append(f"more data hurt at {len(hurt)} widths, M = {min(hurt)}..{max(hurt)}")
    return lines


def width_at_parameter_count(
    n_params: float, depth: int = 2, input_dim: int = 8, output_dim: int = 8
) -> float:
    """The real M at which a depth-``depth`` MLP has ``n_params`` parameters (for a plot marker)."""
    low, high = 0.0, 1e6
    count = lambda m: (depth - 1) * m * m + (input_dim + output_dim + depth) * m + output_dim  # noqa: E731
    for _ in range(200):
        middle = (low + high) / 2
        low, high = (middle, high) if count(middle) < n_params else (low, middle)
    return (low + high) / 2


def seed_summary(values: np.ndarray) -> dict:
    """Mean, std, median, min and max over the seed axis (NaN = diverged, ignored)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return {k: float("nan") for k in ("mean", "std", "median", "min", "max")} | {"n": 0}
    return {
        "mean": float(finite.mean()),
        "std": float(finite.std(ddof=1)) if finite.size > 1 else 0.0,
        "median": float(np.median(finite)),
        "min": float(finite.min()),
        "max": float(finite.max()),
        "n": int(finite.size),
    }


def sweep_rows(results: dict[int, dict], n_train: int, depth: int = 2) -> list[dict]:
    """One row per width: parameter count, seed statistics of final train and test loss."""
    rows = []
    for width in sorted(results):
        result = results[width]
        train = seed_summary(np.asarray(result["final_train_loss"]))
        test = seed_summary(np.asarray(result["test_loss"])[:, -1])
        rows.append(
            {
                "n_train": n_train,
                "width": width,
                "n_params": models.parameter_count(models.stacked_layer_sizes(width, depth)),
                "train_loss": train["mean"],
                "train_loss_std": train["std"],
                "train_loss_median": train["median"],
                "train_loss_min": train["min"],
                "train_loss_max": train["max"],
                "test_loss": test["mean"],
                "test_loss_std": test["std"],
                "test_loss_median": test["median"],
                "test_loss_min": test["min"],
                "test_loss_max": test["max"],
                "n_seeds": int(np.asarray(result["final_train_loss"]).shape[0]),
                "n_diverged": int(np.sum(result["diverged"])),
            }
        )
    return rows


def interpolation_threshold(rows: Sequence[dict], tol: float) -> dict | None:
    """The smallest width whose seed-median final training loss is below ``tol``."""
    for row in sorted(rows, key=lambda r: r["width"]):
        if row["train_loss_median"] < tol:
            return {"n_train": row["n_train"], "width": row["width"], "n_params": row["n_params"]}
    return None


def test_loss_peak(rows: Sequence[dict]) -> dict:
    """The width with the largest seed-mean test loss."""
    row = max(rows, key=lambda r: r["test_loss"])
    return {
        "n_train": row["n_train"],
        "width": row["width"],
        "n_params": row["n_params"],
        "test_loss": row["test_loss"],
    }


def threshold_label(threshold: float) -> str:
    """``1e-3`` -> ``"1e-3"``: the suffix of ``first_epoch_below_*`` keys."""
    mantissa, exponent = f"{threshold:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def training_curve(
    result: dict, width: int, thresholds: Sequence[float], points: int = 200
) -> dict:
    """Log-spaced training-loss curve (seed median and per seed) and first epochs below thresholds.

    ``result["first_epoch_below"][seed, i]`` is the training loop's record for
    ``thresholds[i]`` (-1: never); the median is reported only if every seed got there.
    """
    losses = np.asarray(result["train_loss"])  # [seed, epoch]
    epochs = train.log_spaced_epochs(losses.shape[1] - 1, points)
    curve = {
        "width": width,
        "n_params": models.parameter_count(models.stacked_layer_sizes(width, 2)),
        "epochs": epochs.tolist(),
        "train_loss": np.median(losses[:, epochs], axis=0).tolist(),
        "train_loss_per_seed": losses[:, epochs].tolist(),
        "final_train_loss": float(np.median(result["final_train_loss"])),
    }
    for index, threshold in enumerate(thresholds):
        first = np.asarray(result["first_epoch_below"])[:, index]
        label = threshold_label(threshold)
        curve[f"first_epoch_below_{label}"] = (
            float(np.median(first)) if (first >= 0).all() else None
        )
        curve[f"first_epoch_below_{label}_per_seed"] = [int(f) if f >= 0 else None for f in first]
    return curve


def more_data_rows(rows_by_n: dict[int, list[dict]], widths: Sequence[int]) -> list[dict]:
    """Test losses at the chosen widths for every training-set size."""
    table = []
    for width in widths:
        for n_train, rows in sorted(rows_by_n.items()):
            row = next((r for r in rows if r["width"] == width), None)
            if row is not None:
                table.append(
                    {
                        "width": width,
                        "n_train": n_train,
                        "n_params": row["n_params"],
                        "test_loss": row["test_loss"],
                        "test_loss_std": row["test_loss_std"],
                        "train_loss": row["train_loss"],
                        "n_seeds": row["n_seeds"],
                    }
                )
    return table


def harmful_data_widths(rows_by_n: dict[int, list[dict]], small: int, large: int) -> list[int]:
    """Widths where the larger training set has the higher mean test loss."""
    by_width = {r["width"]: r for r in rows_by_n[small]}
    return [
        r["width"]
        for r in rows_by_n[large]
        if r["width"] in by_width and r["test_loss"] > by_width[r["width"]]["test_loss"]
    ]


def markdown(results: dict) -> str:
    """Computer assignment 1 for REPORT.md, every number read from ``results``."""
    config = results["run"]["config"]
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
    out.append("![training loss curves](double_descent_curves.png)")
    rows = [
        [
            c["width"],
            c["n_params"],
            c["first_epoch_below_1e-3"],
            ", ".join(fmt(v) for v in c["first_epoch_below_1e-3_per_seed"]),
            c["final_train_loss"],
        ]
        for c in curves
    ]
    out.append(
        table(
            [
                "M",
                "parameters",
                "first epoch < 1e-3 (median)",
                "per seed",
                "final training MSE (median)",
            ],
            rows,
        )
    )
    reached = [c for c in curves if c["first_epoch_below_1e-3"] is not None]
    missed = [c for c in curves if c["first_epoch_below_1e-3"] is None]
    sentence = (
        f"Full-batch Adam (learning rate {fmt(config['learning_rate'])}, "
        f"{fmt(config['curve_epochs'])} epochs, N = {n_first}, {config['seeds']} seeds). "
    )
    if reached:
        sentence += "MSE below $10^{-3}$ is reached by M = " + ", ".join(
            str(c["width"]) for c in reached
        )
        sentence += f"; not by M = {', '.join(str(c['width']) for c in missed)}" if missed else ""
        sentence += ". "
        ordered = sorted(reached, key=lambda c: c["width"])
        epochs = [c["first_epoch_below_1e-3"] for c in ordered]
        if len(ordered) > 1 and all(b < a for a, b in zip(epochs, epochs[1:])):
            sentence += (
                "Larger models are faster in epochs: "
                + ", ".join(
                    f"M = {c['width']} after {fmt(c['first_epoch_below_1e-3'])}" for c in ordered
                )
                + "."
            )
        elif len(ordered) > 1 and all(b > a for a, b in zip(epochs, epochs[1:])):
            sentence += (
                "Larger models are slower in epochs: "
                + ", ".join(
                    f"M = {c['width']} after {fmt(c['first_epoch_below_1e-3'])}" for c in ordered
                )
                + "."
            )
        elif len(ordered) > 1:
            sentence += (
                "The epoch count is not monotone in M: "
                + ", ".join(
                    f"M = {c['width']} after {fmt(c['first_epoch_below_1e-3'])}" for c in ordered
                )
                + "."
            )
    else:
        sentence += "No width reached MSE below $10^{-3}$ in this run."
    if missed:
        sentence += (
            " "
            + " and ".join(
                f"M = {c['width']} ({c['n_params']} parameters < N·O = {n_first * data['output_dim']} targets)"
                for c in missed
            )
            + " cannot interpolate and plateaus at "
            + ", ".join(fmt(c["final_train_loss"]) for c in missed)
            + "."
        )
    out.append(sentence)

    thresholds = {t["n_train"]: t for t in results["interpolation_threshold"]}
    peaks = {p["n_train"]: p for p in results["test_loss_peak"]}
    markers = {m["n_train"]: m for m in results["parameter_count_at_n_times_outputs"]}
    out.append(
        "### (c) Width sweep M = "
        f"{min(config['widths'])}…{max(config['widths'])} ({len(config['widths'])} widths, "
        f"B = N, {fmt(config['epochs'])} epochs, {config['seeds']} seeds)"
    )
    out.append("![double descent sweep](double_descent_sweep.png)")
    threshold = thresholds.get(n_first)
    peak = peaks[n_first]
    text = (
        f"*Interpolation threshold* (defined as the smallest M whose seed-median final training "
        f"MSE is below {fmt(results['interpolation_tol'])}; the final training MSE of a run is the "
        f"median over its last {fmt(max(1, config['epochs'] // 20))} epochs): "
    )
    if threshold:
        text += (
            f"**M = {threshold['width']}, {threshold['n_params']} parameters** for N = {n_first}, "
            f"against N·O = {markers[n_first]['n_params']} targets (M ≈ "
            f"{fmt(markers[n_first]['width'])}). "
        )
    else:
        text += "no width of the grid interpolated in this run. "
    text += (
        f"The test loss peaks at **M = {peak['width']}** ({peak['n_params']} parameters) with "
        f"mean test MSE {fmt(peak['test_loss'])}, {fmt(peak['test_loss'] / bayes)}× $R_t$; "
    )
    sweep = [r for r in results["sweep"] if r["n_train"] == n_first]
    small, large = sweep[0], sweep[-1]
    text += (
        f"it is {fmt(small['test_loss'])} at M = {small['width']} and falls again to "
        f"{fmt(large['test_loss'])} at M = {large['width']}. "
    )
    best = min(sweep, key=lambda r: r["test_loss"])
    text += f"The best width is M = {best['width']} (test MSE {fmt(best['test_loss'])}); " + (
        "the second descent ends below the small-model minimum."
        if best["width"] > peak["width"]
        else "the second descent does not reach the small-model minimum within this grid."
    )
    out.append(text)

    if len(thresholds) > 1 or len(peaks) > 1:
        n_values = sorted(peaks)
        out.append(f"### (d) More data can hurt: N = {' vs '.join(map(str, n_values))}")
        out.append("![test loss for each N](double_descent_more_data.png)")
        more = results["more_data"]
        widths = sorted({r["width"] for r in more})
        header = (
            ["M", "parameters"] + [f"test MSE, N = {n}" for n in n_values] + ["larger N worse?"]
        )
        rows = []
        for width in widths:
            entries = {r["n_train"]: r for r in more if r["width"] == width}
            losses = [entries[n]["test_loss"] if n in entries else None for n in n_values]
            worse = None if None in losses else losses[-1] > losses[0]
            rows.append([width, next(iter(entries.values()))["n_params"], *losses, worse])
        out.append(table(header, rows))
        hurt = results.get("more_data_hurts_widths", [])
        n_small, n_large = n_values[0], n_values[-1]
        explanation = (
            f"The two widths asked for are the measured N = {n_small} threshold "
            f"(M = {thresholds[n_small]['width'] if n_small in thresholds else '—'}) and "
            f"overparameterized widths beyond it. "
        )
        if hurt:
            explanation += (
                f"With N = {n_large}, the test loss is higher than with N = {n_small} at "
                f"{len(hurt)} of {len(sweep)} widths, M = {min(hurt)}…{max(hurt)}. "
            )
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
                "the teacher; there the extra data hurt."
            )
        helped = [w for w in widths_both(results, n_small, n_large) if w not in hurt]
        if helped:
            explanation += (
                f" At the other {len(helped)} widths (M = "
                + ", ".join(map(str, helped))
                + f") N = {n_large} was at least as good."
            )
        out.append(explanation)
    if results.get("epochwise"):
        out.append(epochwise_markdown(results))
    return "\n\n".join(out)


def epochwise_markdown(results: dict) -> str:
    """Part (e), beyond the sheet: is the test loss non-monotone in epochs as well as in width?"""
    out = [
        "### (e) Epoch-wise double descent",
        "![test MSE over width and epoch](double_descent_epochwise.png)",
    ]
    text = (
        "The sweep also recorded the test loss at "
        f"{len(results['epochwise'][0]['epochs'])} epochs (log-spaced plus every chunk end) of "
        "every run (Nakkiran et al. 2019, §5, Fig. 2, show test error against epochs rising and "
        "falling again for widths near the threshold). A width is marked when its seed-mean "
        "test loss rises by more than two standard errors above an earlier value and then "
        "falls by more than two standard errors below that peak (*double descent*), or rises "
        "and never comes back down (*overfitting*). "
    )
    sentences = []
    for panel in results["epochwise"]:
        marks = panel["nonmonotone"]
        double = [m for m in marks if m["kind"] == "double descent"]
        overfit = [m for m in marks if m["kind"] == "overfitting"]
        sentence = f"N = {panel['n_train']}: "
        if double:
            sentence += "epoch-wise double descent at M = " + ", ".join(
                f"{m['width']} (peak at epoch {m['peak_epoch']}, rise "
                f"{fmt(m['rise'])}, fall {fmt(m['fall'])})"
                for m in double
            )
        else:
            sentence += "no width shows epoch-wise double descent"
        if overfit:
            sentence += (
                "; the test loss rises for good (overfitting in epochs) at M = "
                + ", ".join(str(m["width"]) for m in overfit)
            )
        sentences.append(sentence + ".")
    kinds = {m["kind"] for panel in results["epochwise"] for m in panel["nonmonotone"]}
    if "double descent" not in kinds:
        sentences.append(
            "This teacher does not show epoch-wise double descent within the "
            "recorded epochs"
            + (
                ": where the test loss is non-monotone in epochs it "
                "rises and stays up (overfitting) rather than "
                "descending a second time."
                if kinds
                else "."
            )
        )
    return "\n\n".join(out + [text + " ".join(sentences)])


def widths_both(results: dict, n_small: int, n_large: int) -> list[int]:
    """Widths swept for both training-set sizes."""
    by_n = {
        n: {r["width"] for r in results["sweep"] if r["n_train"] == n} for n in (n_small, n_large)
    }
    return sorted(by_n[n_small] & by_n[n_large])
