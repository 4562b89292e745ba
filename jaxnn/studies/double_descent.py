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

The sentences and Markdown are in ``double_descent_text``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import jax
import numpy as np
from scipy import stats as scipy_stats

from jaxnn import data, models, peaks, precision, stats, sweep, train, validation
from jaxnn.studies import NoProgress
from jaxnn.studies.double_descent_text import markdown, summary

__all__ = ["FULL", "QUICK", "Config", "markdown", "run", "summary"]

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
    # Five, so that the pre-registered threshold test's verdict does not hang on the seed block
    # (at 3 seeds it detects a rise of 2.6-3.5 with 80 % power; the rises measured are 3-4).
    seeds: int = 5
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
        validation.seed(self.seed)
        validation.at_least(self, 0, "epochwise_points")
        validation.at_least(self, 1, "seeds", "epochs", "curve_epochs", "chunk_epochs")
        for name in ("widths", "curve_widths", "n_train"):
            values = getattr(self, name)
            if not values or min(values) < 1:
                raise ValueError(f"{name}: need values >= 1, got {values}")
        if max(self.widths + self.curve_widths) > sweep.MAX_WIDTH:
            raise ValueError(
                f"widths: at most {sweep.MAX_WIDTH}, got {max(self.widths + self.curve_widths)}"
            )
        validation.positive(self, "learning_rate", "interpolation_tol")
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
    curve_epochs=300,
    chunk_epochs=300,  # one chunk each: a smoke run compiles one chunk program per group
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
                "width": config.model().width_at_parameter_count(n * config.data.output_dim),
            }
            for n in config.n_train
        ],
        "test_loss_peak": [test_loss_peak(rows[n]) for n in config.n_train],
        "test_loss_bump": [tested_bump(rows[n]) for n in config.n_train],
        "threshold_contrasts": [
            threshold_contrast(rows[n], t) for n, t in zip(config.n_train, thresholds)
        ],
        "more_data": more_data_rows(rows, more_data_widths),
        "more_data_hurts_widths": (
            harmful_data_widths(rows, *config.n_train[:2]) if len(config.n_train) > 1 else []
        ),
        "more_data_hurts_tested": (
            tested_harm(rows, *config.n_train[:2]) if len(config.n_train) > 1 else None
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


def epochwise_summary(results: dict[int, dict], n_train: int) -> dict:
    r"""Test loss over (width, epoch) and the widths whose test loss is non-monotone in epochs.

    A width shows *epoch-wise double descent* (Nakkiran et al. 2019, §5) when
    its test loss rises after some epoch and falls again later; a rise that
    never comes down is *overfitting* (a U in epochs). Every (width, epoch) cell
    is tested, paired over seeds, and the thousand-odd cells are scanned with
    Benjamini–Hochberg false-discovery control (``peaks.nonmonotone_cells``), so
    a mark survives a rerun with other seeds rather than being one of the cells
    that cross two standard errors by chance.

    Returns:
        ``{"n_train", "epochs", "widths", "test_loss": [width][epoch] seed means,
        "test_loss_standard_error", "cells_scanned", "method", "alpha",
        "nonmonotone": [{"width", "kind", "peak_epoch", "dip_epoch", "later_epoch",
        "rise", "fall", "q"}]}``.
    """
    widths = sorted(results)
    epochs = np.asarray(results[widths[0]]["test_epochs"])
    losses = np.stack([np.asarray(results[w]["test_loss"]) for w in widths])  # [width, seed, epoch]
    for index, width in enumerate(widths):
        losses[index, np.asarray(results[width]["diverged"], bool)] = np.nan
    mean = np.nanmean(losses, axis=1)
    error = np.array(
        [
            [stats.seed_summary(losses[w, :, e])["standard_error"] for e in range(losses.shape[2])]
            for w in range(losses.shape[0])
        ]
    )
    scan = peaks.nonmonotone_cells(losses)
    marks = [
        {
            "width": widths[m["curve"]],
            "kind": m["kind"],
            "peak_epoch": int(epochs[m["index"]]),
            "dip_epoch": int(epochs[m["dip_index"]]),
            "later_epoch": int(epochs[m["later_index"]]),
            "rise": m["rise"],
            "fall": m["fall"],
            "q": m["q"],
        }
        for m in scan["marks"]
    ]
    return {
        "n_train": n_train,
        "epochs": epochs.tolist(),
        "widths": widths,
        "test_loss": mean.tolist(),
        "test_loss_standard_error": error.tolist(),
        "cells_scanned": scan["cells_scanned"],
        "method": scan["method"],
        "alpha": scan["alpha"],
        "nonmonotone": marks,
    }


def sweep_rows(results: dict[int, dict], n_train: int, depth: int = 2) -> list[dict]:
    """One row per width: parameter count, seed statistics of final train and test loss."""
    rows = []
    for width in sorted(results):
        result = results[width]
        train = stats.seed_summary(np.asarray(result["final_train_loss"]))
        test_per_seed = np.where(result["diverged"], np.nan, np.asarray(result["test_loss"])[:, -1])
        test = stats.seed_summary(test_per_seed)
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
                "test_loss_standard_error": test["standard_error"],
                "test_loss_per_seed": test_per_seed.tolist(),
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


def tested_bump(rows: Sequence[dict]) -> dict | None:
    """The test-loss bump over width tested against its dip and the widest (``peaks.peak_of``).

    Seeds are paired across widths (seed s trains on training set s at every width).
    """
    peak = peaks.peak_of([row["test_loss_per_seed"] for row in rows])
    if peak is None:
        return None
    peak["n_train"] = rows[0]["n_train"]
    if peak["index"] is None:
        return peak
    return peak | {
        "width": rows[peak["index"]]["width"],
        "dip_width": rows[peak["dip_index"]]["width"],
        "widest_width": rows[-1]["width"],
    }


def threshold_contrast(rows: Sequence[dict], threshold: dict | None) -> dict:
    """The pre-registered test of the test-loss peak at N's interpolation threshold.

    The window is the threshold width (from the training loss alone) and the
    grid width just below it, where Nakkiran et al. (2019) put the peak: the
    largest model that cannot quite fit the N·O targets. ``peaks.threshold_contrast``
    tests the window against the narrower widths and against the widest, once.
    """
    n_train = rows[0]["n_train"]
    contrast = peaks.contrast_at_threshold(
        [row["test_loss_per_seed"] for row in rows],
        [row["width"] for row in rows],
        None if threshold is None else threshold["width"],
        missing="no width of the grid interpolates",
    )
    return {
        "name": f"N = {n_train}",
        "n_train": n_train,
        "metric": "test_loss",
        "axis": "width",
    } | contrast


def tested_harm(
    rows_by_n: dict[int, list[dict]], small: int, large: int, alpha: float = peaks.SIGNIFICANCE
) -> dict:
    """Widths where the larger N has a higher test loss, tested width by width with Holm.

    The two sizes train on independent draws, so each width's test is Welch's
    one-sided t-test of the seeds' test losses (``scipy.stats.ttest_ind``), and
    the p-values are Holm-adjusted over every width compared.
    """
    by_width = {r["width"]: r for r in rows_by_n[small]}
    compared = [(r, by_width[r["width"]]) for r in rows_by_n[large] if r["width"] in by_width]
    p_values = []
    for larger, smaller in compared:
        a, b = (np.asarray(r["test_loss_per_seed"], np.float64) for r in (larger, smaller))
        a, b = a[np.isfinite(a)], b[np.isfinite(b)]
        test = (
            scipy_stats.ttest_ind(a, b, equal_var=False, alternative="greater")
            if min(a.size, b.size) > 1
            else None
        )
        p_values.append(
            float(test.pvalue) if test is not None and np.isfinite(test.pvalue) else 1.0
        )
    adjusted = stats.holm(p_values)
    return {
        "widths_compared": len(compared),
        "method": "Welch t-test, Holm",
        "alpha": alpha,
        "significant_widths": [
            larger["width"] for (larger, _), p in zip(compared, adjusted) if p < alpha
        ],
        "p_holm": {larger["width"]: float(p) for (larger, _), p in zip(compared, adjusted)},
    }


def harmful_data_widths(rows_by_n: dict[int, list[dict]], small: int, large: int) -> list[int]:
    """Widths where the larger training set has the higher mean test loss."""
    by_width = {r["width"]: r for r in rows_by_n[small]}
    return [
        r["width"]
        for r in rows_by_n[large]
        if r["width"] in by_width and r["test_loss"] > by_width[r["width"]]["test_loss"]
    ]
