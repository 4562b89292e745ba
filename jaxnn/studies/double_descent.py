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

Every verdict has a size (``jaxnn.verdicts``): a peak is double descent only
when its rise is significant and at least one seed-to-seed standard deviation,
and the fall after it undoes at least half of it (Nakkiran et al. 2019, Fig. 1
and §5 Fig. 2); "more data hurt" needs a significant difference of at least
the pooled seed spread of the two cells. ``with_verdicts`` recomputes every
verdict from the per-seed numbers the results hold, so a committed result file
gets new criteria without retraining. The sentences, the Markdown and the
answers are in ``double_descent_text``.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import math
import warnings
from collections.abc import Sequence

import jax
import numpy as np
from scipy import stats as scipy_stats

from jaxnn import data, io, models, peaks, precision, stats, sweep, train, validation, verdicts
from jaxnn.studies import NoProgress
from jaxnn.studies.double_descent_text import answers, markdown, summary

__all__ = [
    "FULL",
    "QUICK",
    "Config",
    "answers",
    "markdown",
    "run",
    "summary",
    "with_verdicts",
]

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
    """The results of the study from the per-(N, width) training results, with their verdicts."""
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
    results = {
        "bayes_risk": bayes,
        "bayes_risk_standard_error": data.bayes_risk_standard_error(config.data),
        "training_curves": [
            training_curve(curves[(n_first, w)], w, (1e-3, 1e-5))
            for w in sorted(config.curve_widths)
        ],
        "curve_n_train": n_first,
        "sweep": [row for n in config.n_train for row in rows[n]],
        "interpolation_tol": config.interpolation_tol,
        "parameter_count_at_n_times_outputs": [
            {
                "n_train": n,
                "n_params": n * config.data.output_dim,
                "width": config.model().width_at_parameter_count(n * config.data.output_dim),
            }
            for n in config.n_train
        ],
        "more_data": more_data_rows(rows, more_data_widths),
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
    return with_verdicts(io.to_jsonable(results))


def with_verdicts(document: dict) -> dict:
    """Every verdict of the study, recomputed from the per-seed numbers the document holds.

    Pure: works on the JSON-loaded results (lists, string keys, ``None`` for a
    diverged seed) and returns a new document. Recomputed: the interpolation
    thresholds and test-loss peaks, the pre-registered threshold contrasts and the
    exploratory scans (``peaks``, from the sweep rows' ``test_loss_per_seed``),
    "more data hurts" with its floor (``tested_harm``), the training-speed
    comparison (``training_speed``, from the curves' per-seed first epochs), the
    epoch-wise verdicts (``epochwise_verdicts``) and the ``verdicts`` list that
    the report's seed-block section compares.
    """
    document = copy.deepcopy(document)
    n_values = list(dict.fromkeys(row["n_train"] for row in document["sweep"]))
    rows = {
        n: sorted((r for r in document["sweep"] if r["n_train"] == n), key=lambda r: r["width"])
        for n in n_values
    }
    thresholds = {n: interpolation_threshold(rows[n], document["interpolation_tol"]) for n in rows}
    document["interpolation_threshold"] = [t for t in thresholds.values() if t is not None]
    document["test_loss_peak"] = [test_loss_peak(rows[n]) for n in n_values]
    document["test_loss_bump"] = [tested_bump(rows[n]) for n in n_values]
    document["threshold_contrasts"] = [threshold_contrast(rows[n], thresholds[n]) for n in n_values]
    compared = n_values[:2] if len(n_values) > 1 else None
    document["more_data_hurts_widths"] = harmful_data_widths(rows, *compared) if compared else []
    document["more_data_hurts_tested"] = tested_harm(rows, *compared) if compared else None
    document["training_speed"] = training_speed(document["training_curves"])
    document["epochwise"] = [epochwise_verdicts(p) for p in document.get("epochwise") or []]
    document["verdicts"] = listed_verdicts(document)
    return io.to_jsonable(document)


def epochwise_summary(results: dict[int, dict], n_train: int) -> dict:
    """Test loss over (width, epoch): seed means, standard errors and every seed's curve.

    The verdicts (``epochwise_verdicts``) are added from these numbers.

    Returns:
        ``{"n_train", "epochs", "widths", "test_loss": [width][epoch] seed means,
        "test_loss_standard_error", "test_loss_per_seed": [width][seed][epoch]}``
        (a diverged seed's curve is NaN).
    """
    widths = sorted(results)
    epochs = np.asarray(results[widths[0]]["test_epochs"])
    losses = np.stack([np.asarray(results[w]["test_loss"]) for w in widths])  # [width, seed, epoch]
    losses = losses.astype(np.float64)
    for index, width in enumerate(widths):
        losses[index, np.asarray(results[width]["diverged"], bool)] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-diverged width stays NaN
        mean = np.nanmean(losses, axis=1)
    error = np.array(
        [
            [stats.seed_summary(losses[w, :, e])["standard_error"] for e in range(losses.shape[2])]
            for w in range(losses.shape[0])
        ]
    )
    return {
        "n_train": n_train,
        "epochs": epochs.tolist(),
        "widths": widths,
        "test_loss": mean.tolist(),
        "test_loss_standard_error": error.tolist(),
        "test_loss_per_seed": losses.tolist(),
    }


def epochwise_verdicts(panel: dict) -> dict:
    r"""Which widths show epoch-wise double descent, which overfit and level off (one N).

    Nakkiran et al. (2019, §5, Fig. 2) show the test error of a large model
    rising with epochs and falling back to about its earlier minimum; a medium
    model's rises and stays up. Every (width, epoch) cell is tested, paired over
    seeds, for a rise above an earlier epoch and a fall below it to a later one,
    with Benjamini–Hochberg control over all the cells
    (``peaks.nonmonotone_cells``). A width shows *double descent* only when a
    cell's rise is significant and at least its seed-spread floor and its fall is
    significant and undoes at least ``verdicts.SECOND_DESCENT_SHARE`` of the rise;
    a significant rise above its floor that falls back by less is *overfitting
    that levels off*. The most significant rise-and-fall of every width (whatever
    share it undoes) is kept in ``significant_rise_and_fall``: the ones that fail
    the share are the significant slivers.

    Args:
        panel: one ``epochwise`` entry of the results.

    Returns:
        The panel with ``share``, ``nonmonotone`` (one mark per width:
        ``width``, ``kind``, ``peak_epoch``, ``dip_epoch``, ``later_epoch``, ``rise``,
        ``fall``, ``undone``, ``rise_floor``, ``q``, ``tested``),
        ``significant_rise_and_fall``, ``slivers`` (cells), ``double_descent_widths``,
        ``levels_off_widths``, ``sliver_widths``, ``undone`` (the largest share of a rise
        that a significant fall undoes) and ``verdict``.
    """
    panel = dict(panel)
    widths, epochs = panel["widths"], panel["epochs"]

    def mark(m: dict, tested: str) -> dict:
        return {
            "width": widths[m["curve"]],
            "kind": m["kind"],
            "peak_epoch": int(epochs[m["index"]]),
            "dip_epoch": int(epochs[m["dip_index"]]),
            "later_epoch": int(epochs[m["later_index"]]),
            **{key: float(m[key]) for key in ("rise", "fall", "undone", "rise_floor", "q")},
            "tested": tested,
        }

    if panel.get("test_loss_per_seed") is None:
        raise ValueError(
            "epochwise: the result file holds no per-seed test-loss curves (written before "
            "they were stored); rerun the study"
        )
    losses = np.asarray(panel["test_loss_per_seed"], np.float64)
    scan = peaks.nonmonotone_cells(losses)
    marks = [
        mark(m, "rise and fall" if m["kind"] == verdicts.DOUBLE_DESCENT else "rise")
        for m in scan["marks"]
    ]
    falls = [mark(m, "rise and fall") for m in scan["falls"]]
    panel |= {
        "cells_scanned": scan["cells_scanned"],
        "method": scan["method"],
        "alpha": scan["alpha"],
        "slivers": scan["slivers"],
    }
    share = verdicts.SECOND_DESCENT_SHARE
    double = [m["width"] for m in marks if m["kind"] == verdicts.DOUBLE_DESCENT]
    levels = [m["width"] for m in marks if m["kind"] == verdicts.LEVELS_OFF]
    if double:
        verdict = verdicts.DOUBLE_DESCENT
    elif levels:
        verdict = verdicts.LEVELS_OFF
    else:
        verdict = "none"
    return panel | {
        "share": share,
        "nonmonotone": marks,
        "significant_rise_and_fall": falls,
        "double_descent_widths": double,
        "levels_off_widths": levels,
        "sliver_widths": [
            f["width"] for f in falls if f["kind"] == "sliver" and f["width"] not in double
        ],
        "undone": max(
            (m["undone"] for m in falls + marks if m["tested"] == "rise and fall"), default=None
        ),
        "verdict": verdict,
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
    """Widths where the larger N has a higher test loss, tested width by width with Holm and sized.

    The two sizes train on independent draws, so each width's test is Welch's
    one-sided t-test of the seeds' test losses (``scipy.stats.ttest_ind``), and
    the p-values are Holm-adjusted over every width compared. A width counts as
    "more data hurt" only when its difference is significant *and* at least its
    floor, the pooled seed-to-seed standard deviation of the two cells
    (``verdicts.spread_floor``; ``verdicts.SPREAD_FLOOR_REASON``). The detectable
    difference is the one-sided t-test's at 80 % power with Welch's degrees of
    freedom, at Holm's first-step level α/m (the strictest a width meets).

    Returns:
        ``{"widths_compared", "method", "alpha", "floor_reason", "significant_widths",
        "harmful_widths", "below_floor_widths", "p_holm": {width: p}, "comparisons":
        [{"width", "difference", "standard_error", "p", "p_holm", "floor",
        "minimum_detectable", "verdict"}], "largest"}``; ``largest`` is the harmful
        width with the largest difference, else the width with the largest difference.
    """
    by_width = {r["width"]: r for r in rows_by_n[small]}
    compared = [(r, by_width[r["width"]]) for r in rows_by_n[large] if r["width"] in by_width]
    p_values, sizes = [], []
    for larger, smaller in compared:
        a, b = (np.asarray(r["test_loss_per_seed"], np.float64) for r in (larger, smaller))
        a, b = a[np.isfinite(a)], b[np.isfinite(b)]
        testable = min(a.size, b.size) > 1
        test = (
            scipy_stats.ttest_ind(a, b, equal_var=False, alternative="greater")
            if testable
            else None
        )
        p_values.append(
            float(test.pvalue) if test is not None and np.isfinite(test.pvalue) else 1.0
        )
        if testable:
            va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
            error = math.sqrt(va + vb)
            # Welch-Satterthwaite degrees of freedom; identical seeds leave none to count.
            dof = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1)) if error else 1.0
        else:
            error, dof = math.nan, math.nan
        sizes.append(
            {
                "difference": float(np.mean(a) - np.mean(b)) if a.size and b.size else math.nan,
                "standard_error": error,
                "floor": verdicts.spread_floor(a, b),
                "dof": dof,
            }
        )
    adjusted = stats.holm(p_values)
    level = alpha / max(1, len(compared))
    comparisons = []
    for (larger, _), p, p_holm, size in zip(compared, p_values, adjusted, sizes):
        detectable = (
            peaks.minimum_detectable(size["standard_error"], round(size["dof"]) + 1, level)
            if math.isfinite(size["dof"])
            else math.nan
        )
        judged = verdicts.judge(
            size["difference"],
            float(p_holm),
            floor=size["floor"],
            standard_error=size["standard_error"],
            minimum_detectable=detectable,
            alpha=alpha,
        )
        comparisons.append(
            {
                "width": larger["width"],
                "difference": size["difference"],
                "standard_error": size["standard_error"],
                "p": p,
                "p_holm": float(p_holm),
                "floor": size["floor"],
                "minimum_detectable": detectable,
                "verdict": judged["verdict"],
            }
        )
    harmful = [c for c in comparisons if c["verdict"] == verdicts.EFFECT]
    finite = [c for c in comparisons if math.isfinite(c["difference"])]
    largest = max(harmful or finite, key=lambda c: c["difference"], default=None)
    return {
        "widths_compared": len(compared),
        "method": "Welch t-test, Holm",
        "alpha": alpha,
        "floor_reason": verdicts.SPREAD_FLOOR_REASON,
        "significant_widths": [c["width"] for c in comparisons if c["p_holm"] < alpha],
        "harmful_widths": [c["width"] for c in harmful],
        "below_floor_widths": [
            c["width"] for c in comparisons if c["verdict"] == verdicts.BELOW_FLOOR
        ],
        "p_holm": {str(c["width"]): c["p_holm"] for c in comparisons},
        "comparisons": comparisons,
        "largest": largest,
    }


def training_speed(curves: Sequence[dict], label: str = "1e-3", alpha: float = peaks.SIGNIFICANCE):
    """Are wider models faster, in epochs, to reach training MSE below 10^-3? Sized per step.

    Each pair of neighbouring widths that every seed brought below the threshold
    is compared, paired over seeds (seed s trains on training set s at every
    width): the difference in first epochs below it, two-sided (one-sided in the
    direction of the mean, doubled), judged against the pooled seed spread of the
    two widths' epochs (``verdicts.judge``).

    Returns:
        ``{"threshold", "steps": [{"narrow", "wide", "difference", "standard_error",
        "p", "floor", "direction", "verdict"}], "verdict"}``: ``difference`` is the
        narrow width's epochs minus the wide one's (positive: wider is faster);
        ``verdict`` is ``"faster"`` or ``"slower"`` when every step is an effect in
        that direction, else ``"not established"`` (``"untested"`` with fewer than
        two widths that reach the threshold).
    """
    key = f"first_epoch_below_{label}_per_seed"
    reached = [
        c
        for c in sorted(curves, key=lambda c: c["width"])
        if c.get(key) and all(e is not None for e in c[key])
    ]
    steps = []
    for narrow, wide in itertools.pairwise(reached):
        a, b = (np.asarray(c[key], np.float64) for c in (narrow, wide))
        difference = stats.paired_difference(a, b)
        mean = difference["mean"]
        one_sided = difference["p_greater"] if mean >= 0 else 1.0 - difference["p_greater"]
        p = min(1.0, 2.0 * one_sided) if math.isfinite(one_sided) else None
        judged = verdicts.judge(
            abs(mean),
            p,
            floor=verdicts.spread_floor(a, b),
            standard_error=difference["standard_error"],
            alpha=alpha,
        )
        steps.append(
            {
                "narrow": narrow["width"],
                "wide": wide["width"],
                "difference": mean,
                "standard_error": difference["standard_error"],
                "p": p,
                "floor": judged["floor"],
                "direction": "faster" if mean > 0 else "slower",
                "verdict": judged["verdict"],
            }
        )
    directions = {s["direction"] for s in steps}
    if not steps:
        verdict = "untested"
    elif len(directions) == 1 and all(s["verdict"] == verdicts.EFFECT for s in steps):
        verdict = directions.pop()
    else:
        verdict = "not established"
    return {"threshold": label, "steps": steps, "verdict": verdict}


def listed_verdicts(document: dict) -> list[dict]:
    """The study's verdicts besides its threshold contrasts, by name, with size and floor,
    for the report's comparison of seed blocks."""
    listed = [
        {
            "name": f"wider trains faster (epochs to MSE < 1e-3): M = {s['narrow']} vs {s['wide']}",
            "verdict": f"{s['verdict']} ({s['direction']})",
            "estimate": s["difference"],
            "floor": s["floor"],
        }
        for s in document["training_speed"]["steps"]
    ]
    for bump in document["test_loss_bump"]:
        if bump:
            listed.append(
                {
                    "name": f"exploratory peak scan: N = {bump['n_train']}",
                    "verdict": bump.get("verdict", "no rise detected"),
                    "estimate": bump.get("rise"),
                    "floor": bump.get("rise_floor"),
                    "undone": bump.get("undone"),
                }
            )
    harm = document.get("more_data_hurts_tested")
    if harm and harm["largest"]:
        largest = harm["largest"]
        listed.append(
            {
                "name": "more data hurts: the largest harm",
                "verdict": largest["verdict"],
                "estimate": largest["difference"],
                "floor": largest["floor"],
            }
        )
    for panel in document.get("epochwise") or []:
        listed.append(
            {
                "name": f"epoch-wise double descent: N = {panel['n_train']}",
                "verdict": panel["verdict"],
                "estimate": panel["undone"],
                "floor": panel["share"],
                "undone": panel["undone"],
            }
        )
    return listed


def harmful_data_widths(rows_by_n: dict[int, list[dict]], small: int, large: int) -> list[int]:
    """Widths where the larger training set has the higher mean test loss."""
    by_width = {r["width"]: r for r in rows_by_n[small]}
    return [
        r["width"]
        for r in rows_by_n[large]
        if r["width"] in by_width and r["test_loss"] > by_width[r["width"]]["test_loss"]
    ]
