r"""Deep double descent on real data: MNIST-1D, an MLP with and without label noise, a CNN with it.

The reference is the mnist1d repository's ``notebooks/deep-double-descent.ipynb``
(Greydanus & Kobak 2020), the experiment "Understanding Deep Learning"
(Prince 2023, §8.4) uses for double descent: 4,000 training and 12,000 test
examples of MNIST-1D, 15 % of the training labels replaced by a uniformly drawn
class, an MLP 40 -> M -> M -> 10 for M = 2 ... 300 and a CNN with C channels,
softmax cross-entropy, SGD with learning rate 0.01 and momentum 0.9, batches of
100 reshuffled every epoch, 500 epochs, PyTorch's default initialization. The
notebook trains one model at a time, one seed. Here every width and every seed
of a curve (and both label-noise levels of the MLP) trains in one vmapped
sweep, seeds redraw the label noise, the initialization and the batch order,
and every number comes with its standard error over seeds.

What it measures (Belkin et al. 2019; Nakkiran et al. 2019, "Deep double descent"):

- *interpolation threshold*: the smallest width at which every seed reaches
  training error 0, compared with N = 4,000 through the parameter count;
- *test-error peak*: the width with the largest seed-mean test error, and its
  excess over the widest model's. The excess is a paired difference (the same
  seeds see the same noisy labels at every width), tested one-sided; because the
  peak is chosen by scanning every width, each width's p-value is Holm-adjusted
  over all widths scanned (``jaxnn.stats.holm``) and the peak is called real
  only when its adjusted p is below 0.05;
- the published single-seed curves against our seed means, width by width, in
  units of ``jaxnn.stats.prediction_z``.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from importlib import resources

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn import mnist1d, models, precision, stats, sweep, train
from jaxnn.formatting import fmt, table
from jaxnn.studies import NoProgress

MODELS = ("mlp", "cnn")
MAX_WIDTH = {"mlp": 4096, "cnn": 1024}
MODEL_STREAM = {"mlp": 0, "cnn": 1}  # fold_in tag of each model's init keys
NOTEBOOK_MLP_WIDTHS = tuple(int(w) for w in np.unique(np.geomspace(2, 300, 20).astype(int)))
NOTEBOOK_CNN_WIDTHS = (*range(2, 30, 2), *range(30, 101, 5))
DEFAULT_CNN_WIDTHS = (*range(2, 30, 2), 30, 40)
SIGNIFICANCE = 0.05
REFERENCE = "mnist1d_deep_double_descent.json"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Curve:
    """One curve of the figure: a model family, a label-noise level, its widths and seeds.

    Attributes:
        model: ``"mlp"`` (40 -> M -> M -> 10, ReLU) or ``"cnn"`` (the notebook's 1-D CNN).
        label_noise: the fraction q of training labels replaced by a uniform class.
        widths: hidden units M (MLP) or channels C (CNN).
        seeds: repetitions; each redraws the label noise, initialization and batch order.
    """

    model: str
    label_noise: float
    widths: tuple[int, ...]
    seeds: int

    def __post_init__(self):
        if self.model not in MODELS:
            raise ValueError(f"model: unknown {self.model!r}; choose one of {MODELS}")
        if not (math.isfinite(self.label_noise) and 0 <= self.label_noise <= 1):
            raise ValueError(f"label_noise: need a fraction in [0, 1], got {self.label_noise}")
        if not self.widths or min(self.widths) < 1:
            raise ValueError(f"widths: need widths >= 1, got {self.widths}")
        if max(self.widths) > MAX_WIDTH[self.model]:
            raise ValueError(
                f"widths: at most {MAX_WIDTH[self.model]} for the {self.model}, "
                f"got {max(self.widths)}"
            )
        if tuple(sorted(set(self.widths))) != tuple(self.widths):
            raise ValueError(f"widths: must be sorted and unique, got {self.widths}")
        if self.seeds < 1:
            raise ValueError(f"seeds: must be >= 1, got {self.seeds}")

    @property
    def name(self) -> str:
        return f"{self.model}, label noise {self.label_noise:g}"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    """The MNIST-1D double-descent study (the notebook's set-up unless said otherwise).

    Attributes:
        curves: the curves to train; curves of one model with the same widths and
            seeds train in one sweep (label-noise levels as variants).
        data: MNIST-1D's generation arguments (16,000 samples, 25 % training).
        epochs: passes over the training set.
        batch_size: B, examples per SGD step (must divide the training-set size).
        learning_rate: SGD's step size.
        momentum: the heavy-ball coefficient (PyTorch's ``SGD(momentum=...)``).
        init_scheme: ``torch_uniform`` is PyTorch's default for Linear and Conv1d.
        chunk_epochs: epochs per compiled call: metrics are also measured at every
            chunk end, and a progress tick and one host transfer happen there.
        epochwise_points: density of the log-spaced epochs (over the whole run) at
            which errors are recorded inside the first chunk; later, the chunk ends.
        eval_batch_size: examples per block when the metrics are evaluated.
        matmul_precision: float32 matmul precision (``jaxnn.precision``).
        seed: master seed of the label noise, initializations and batch orders.
    """

    curves: tuple[Curve, ...] = (
        Curve(model="mlp", label_noise=0.0, widths=NOTEBOOK_MLP_WIDTHS, seeds=4),
        Curve(model="mlp", label_noise=0.15, widths=NOTEBOOK_MLP_WIDTHS, seeds=4),
        Curve(model="cnn", label_noise=0.15, widths=DEFAULT_CNN_WIDTHS, seeds=3),
    )
    data: mnist1d.MNIST1DConfig = mnist1d.MNIST1DConfig()
    epochs: int = 500
    batch_size: int = 100
    learning_rate: float = 0.01
    momentum: float = 0.9
    init_scheme: str = "torch_uniform"
    chunk_epochs: int = 50
    epochwise_points: int = 25
    eval_batch_size: int = 2000
    matmul_precision: str = precision.DEFAULT
    seed: int = 0

    def __post_init__(self):
        if not self.curves:
            raise ValueError("curves: need at least one curve")
        keys = [(c.model, c.label_noise) for c in self.curves]
        if len(set(keys)) != len(keys):
            raise ValueError(f"curves: each (model, label noise) at most once, got {keys}")
        for name in ("epochs", "batch_size", "chunk_epochs", "eval_batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be >= 1, got {getattr(self, name)}")
        if self.epochwise_points < 0:
            raise ValueError(f"epochwise_points: must be >= 0, got {self.epochwise_points}")
        if self.data.n_train % self.batch_size:
            raise ValueError(
                f"batch_size: {self.batch_size} does not divide the "
                f"{self.data.n_train} training examples"
            )
        if not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
            raise ValueError(f"learning_rate: need a finite value > 0, got {self.learning_rate}")
        if not (math.isfinite(self.momentum) and 0 <= self.momentum < 1):
            raise ValueError(f"momentum: need a value in [0, 1), got {self.momentum}")
        models.check_init_scheme(self.init_scheme)
        precision.check_precision(self.matmul_precision)

    def train_config(self, model: str) -> train.TrainConfig:
        chunk = min(self.chunk_epochs, self.epochs)
        record = ()
        if self.epochwise_points:
            # Log-spaced inside the first chunk, then the chunk ends (measured anyway): two
            # compiled chunk shapes per group, however many points.
            record = tuple(
                int(e)
                for e in train.log_spaced_epochs(self.epochs, self.epochwise_points)
                if 0 < e < chunk
            )
        return train.TrainConfig(
            model=family_of(model),
            objective="softmax_cross_entropy",
            optimizer="momentum",
            epochs=self.epochs,
            batch_size=self.batch_size,
            train_loss_curve="batches",
            chunk_epochs=chunk,
            loss_thresholds=(),
            final_window=1,
            record_epochs=record,
            eval_batch_size=self.eval_batch_size,
            matmul_precision=self.matmul_precision,
        )


def family_of(model: str) -> models.ModelFamily:
    """The model family of a curve, sized for MNIST-1D (40 inputs, 10 classes)."""
    if model == "mlp":
        return models.MLPFamily(
            input_dim=mnist1d.INPUT_LENGTH,
            output_dim=mnist1d.NUM_CLASSES,
            depth=2,
            activation="relu",
        )
    return models.CNN1DFamily(input_length=mnist1d.INPUT_LENGTH, output_dim=mnist1d.NUM_CLASSES)


QUICK = Config(
    curves=(
        Curve(model="mlp", label_noise=0.0, widths=(4, 16, 64), seeds=2),
        Curve(model="mlp", label_noise=0.15, widths=(4, 16, 64), seeds=2),
        Curve(model="cnn", label_noise=0.15, widths=(4, 12), seeds=2),
    ),
    data=mnist1d.MNIST1DConfig(num_samples=2000),
    epochs=6,
    chunk_epochs=3,
    epochwise_points=4,
    eval_batch_size=500,
)
FULL = Config(
    curves=(
        Curve(model="mlp", label_noise=0.0, widths=NOTEBOOK_MLP_WIDTHS, seeds=8),
        Curve(model="mlp", label_noise=0.15, widths=NOTEBOOK_MLP_WIDTHS, seeds=8),
        Curve(model="cnn", label_noise=0.15, widths=NOTEBOOK_CNN_WIDTHS, seeds=8),
    )
)


def select_curves(config: Config, pairs: Sequence[tuple[str, float]]) -> tuple[Curve, ...]:
    """Curves for ``(model, label noise)`` pairs, each with the widths and seeds ``config``
    (or, for a model it lacks, the default config) gives that model."""
    known: dict[str, Curve] = {}
    for curve in (*config.curves, *Config().curves):
        known.setdefault(curve.model, curve)
    return tuple(dataclasses.replace(known[model], label_noise=noise) for model, noise in pairs)


def training_sets(
    key: jax.Array, dataset: mnist1d.Dataset, label_noise: float, seeds: int
) -> tuple[jax.Array, jax.Array]:
    """``x[seed, N, 40]`` (the one training set) and ``y[seed, N]`` with seed s's label noise.

    Seed s draws from ``fold_in(key, s)`` whatever the model, so the MLP and the
    CNN at one noise level see the same noisy labels, and a larger level
    relabels a superset of a smaller one's examples (``mnist1d.corrupt_labels``).
    """
    labels = jnp.asarray(dataset.y_train)
    noisy = jnp.stack(
        [
            mnist1d.corrupt_labels(jax.random.fold_in(key, s), labels, label_noise)
            for s in range(seeds)
        ]
    )
    x = jnp.broadcast_to(jnp.asarray(dataset.x_train), (seeds, *dataset.x_train.shape))
    return x, noisy


def sweeps_of(config: Config) -> dict[tuple, list[Curve]]:
    """Curves that train together: same model, widths and seeds; noise levels are variants."""
    grouped: dict[tuple, list[Curve]] = {}
    for curve in config.curves:
        grouped.setdefault((curve.model, curve.widths, curve.seeds), []).append(curve)
    return grouped


def run(config: Config, *, mesh=None, run_dir=None, progress=None) -> dict:
    """Trains every curve (one vmapped, grouped sweep per model) and summarises it.

    The generated dataset is cached in ``run_dir.cache_dir``; finished width
    groups are saved in ``run_dir`` and reused when it was opened with ``resume``.
    """
    progress = progress or NoProgress()
    dataset = mnist1d.load(config.data, run_dir.cache_dir if run_dir else None)
    key_noise, key_init = jax.random.split(jax.random.key(config.seed))
    n_train = len(dataset.y_train)
    n_devices = 1 if mesh is None else mesh.size
    x_test, y_test = jnp.asarray(dataset.x_test), jnp.asarray(dataset.y_test)
    plans = []
    for (model, widths, seeds), curves in sweeps_of(config).items():
        train_config = config.train_config(model)
        variants = {
            c.label_noise: sweep.Variant(
                {n_train: training_sets(key_noise, dataset, c.label_noise, seeds)}
            )
            for c in curves
        }
        groups = sweep.plan_groups(
            widths,
            n_trains=(n_train,),
            family=train_config.model,
            epochs=config.epochs,
            steps_per_epoch=train_config.steps_per_epoch(n_train),
            members_per_width=seeds * len(variants),
            n_devices=n_devices,
            costs=sweep.backend_costs(),
        )
        # A part's name says which sweep it belongs to: one model may train in several.
        tag = f"{model}_s{seeds}_q" + "-".join(f"{c.label_noise:g}" for c in curves)
        plans.append((model, tag, seeds, train_config, variants, groups))
    progress.start(
        sum(
            sweep.work_gflop(groups, seeds, config.epochs, len(variants), family=train_config.model)
            for _, _, seeds, train_config, variants, groups in plans
        ),
        "GFLOP",
    )
    trained = {}
    for model, tag, _, train_config, variants, groups in plans:
        cells = sweep.run_width_sweep(
            jax.random.fold_in(key_init, MODEL_STREAM[model]),
            groups,
            None,
            x_test,
            y_test,
            train_config,
            variants=variants,
            learning_rate=config.learning_rate,
            momentum=config.momentum,
            init_scheme=config.init_scheme,
            mesh=mesh,
            progress=progress,
            load_group=lambda g, t=tag: run_dir.load_part(f"{t}_{g.name}") if run_dir else None,
            save_group=lambda g, r, t=tag: (
                run_dir.save_part(f"{t}_{g.name}", r) if run_dir else None
            ),
        )
        trained.update(
            {(model, noise, width): result for (noise, _, width), result in cells.items()}
        )
    plan = {tag: [dataclasses.asdict(g) for g in groups] for _, tag, *_, groups in plans}
    return summarize(config, trained, n_train=n_train, n_test=len(dataset.y_test), groups=plan)


METRICS = ("train_error", "test_error", "train_loss", "test_loss")
# Where each metric sits in a sweep's result: the training-set metrics at the evaluation epochs
# are ``train_set_*`` (``train_loss`` there is the per-epoch curve of mini-batch losses).
SOURCES = {
    "train_error": "train_set_error",
    "test_error": "test_error",
    "train_loss": "train_set_loss",
    "test_loss": "test_loss",
}


def final_values(result: dict) -> dict[str, np.ndarray]:
    """``{metric: [seed]}`` at the end of training (NaN for a diverged seed)."""
    diverged = np.asarray(result["diverged"], bool)
    return {
        metric: np.where(diverged, np.nan, np.asarray(result[SOURCES[metric]])[:, -1])
        for metric in METRICS
    }


def width_row(curve: Curve, width: int, result: dict) -> dict:
    """One row of ``rows``: seed means and standard errors of the four metrics at the end."""
    final = final_values(result)
    row = {
        "model": curve.model,
        "label_noise": curve.label_noise,
        "width": width,
        "n_params": family_of(curve.model).parameter_count(width),
        "seeds": int(np.asarray(result["diverged"]).size),
        "n_diverged": int(np.sum(result["diverged"])),
    }
    for metric, values in final.items():
        summary = stats.seed_summary(values)
        row[metric] = summary["mean"]
        row[f"{metric}_standard_error"] = summary["standard_error"]
        row[f"{metric}_per_seed"] = values.tolist()
    return row


def interpolation_threshold(rows: Sequence[dict], n_train: int) -> dict | None:
    """The smallest width at which every seed classifies every training label as given."""
    for row in rows:
        per_seed = np.asarray(row["train_error_per_seed"], np.float64)
        if per_seed.size and np.all(per_seed == 0):
            return {
                "width": row["width"],
                "n_params": row["n_params"],
                "params_per_example": row["n_params"] / n_train,
            }
    return None


def _one_sided(tests: list[dict]) -> np.ndarray:
    """Holm-adjusted one-sided p-values of paired tests (a test without spread counts as p = 1)."""
    return stats.holm([t["p_greater"] if math.isfinite(t["p_greater"]) else 1.0 for t in tests])


def peak_of(rows: Sequence[dict], metric: str = "test_error") -> dict | None:
    """The double-descent bump of ``metric`` over width, tested against its dip and the widest.

    For each width j its *dip* is the narrower width i < j of lowest seed mean;
    the peak is the j whose rise ``mean[j] - mean[i]`` is largest, so a curve
    that only falls has no peak (an under-fitting start is not one). Two
    paired, one-sided tests over seeds (the seeds share their noisy labels
    across widths): the rise above the dip, Holm-adjusted over the W - 1
    candidate widths, and the excess over the widest model, Holm-adjusted over
    the W - 1 narrower widths. Both adjustments count every width scanned, so
    the peak's p-values are honest about the peak having been picked as the
    largest. ``significant``: both adjusted p-values below 0.05, a rise *and* a
    second descent.

    Returns:
        ``None`` for a single width; ``{"width": None, ...}`` when nothing rises.
    """
    if len(rows) < 2:
        return None
    means = np.array([row[metric] for row in rows], np.float64)
    per_seed = [row[f"{metric}_per_seed"] for row in rows]
    widest = rows[-1]
    dips = [int(np.nanargmin(means[:j])) for j in range(1, len(rows))]
    rises = np.array([means[j] - means[i] for j, i in zip(range(1, len(rows)), dips)])
    base = {
        "metric": metric,
        "widths_scanned": len(rows) - 1,
        "widest_width": widest["width"],
        "widest_value": widest[metric],
        "widest_standard_error": widest[f"{metric}_standard_error"],
    }
    if not np.any(rises > 0):
        return base | {"width": None, "significant": False}
    rise_tests = [
        stats.paired_difference(per_seed[j], per_seed[i]) for j, i in zip(range(1, len(rows)), dips)
    ]
    excess_tests = [
        stats.paired_difference(per_seed[j], widest[f"{metric}_per_seed"])
        for j in range(len(rows) - 1)
    ]
    rise_holm, excess_holm = _one_sided(rise_tests), _one_sided(excess_tests)
    j = int(np.nanargmax(rises)) + 1
    peak, dip, rise = rows[j], rows[dips[j - 1]], rise_tests[j - 1]
    result = base | {
        "width": peak["width"],
        "n_params": peak["n_params"],
        "value": peak[metric],
        "standard_error": peak[f"{metric}_standard_error"],
        "dip_width": dip["width"],
        "dip_value": dip[metric],
        "rise": rise["mean"],
        "rise_standard_error": rise["standard_error"],
        "rise_p": rise["p_greater"],
        "rise_p_holm": float(rise_holm[j - 1]),
    }
    if j == len(rows) - 1:  # the widest model is the peak: no second descent in this grid
        return result | {
            "excess": 0.0,
            "excess_standard_error": None,
            "excess_p": None,
            "excess_p_holm": None,
            "significant": False,
        }
    excess = excess_tests[j]
    return result | {
        "excess": excess["mean"],
        "excess_standard_error": excess["standard_error"],
        "excess_p": excess["p_greater"],
        "excess_p_holm": float(excess_holm[j]),
        "significant": bool(rise_holm[j - 1] < SIGNIFICANCE and excess_holm[j] < SIGNIFICANCE),
    }


def epochwise(curve: Curve, cells: dict) -> dict:
    """Seed-mean training and test error at every evaluated epoch, ``[width][epoch]``."""
    first = cells[(curve.model, curve.label_noise, curve.widths[0])]
    out = {
        "model": curve.model,
        "label_noise": curve.label_noise,
        "widths": list(curve.widths),
        "epochs": np.asarray(first["test_epochs"]).tolist(),
    }
    for metric in ("train_error", "test_error"):
        out[metric] = [
            np.nanmean(
                np.asarray(cells[(curve.model, curve.label_noise, w)][SOURCES[metric]]), axis=0
            ).tolist()
            for w in curve.widths
        ]
    return out


def load_reference() -> dict:
    """The notebook's published single-seed curves (``jaxnn/reference``), with their source."""
    text = resources.files("jaxnn").joinpath("reference", REFERENCE).read_text()
    return json.loads(text)


def compare_with_published(published: dict, rows: Sequence[dict]) -> dict:
    """Our seed means against one published curve, width by width, in prediction-z units.

    z compares a single new run with our seeds' mean and spread
    (``stats.prediction_z``); its two-sided p-value uses the t distribution with
    n - 1 degrees of freedom (the spread is estimated from n seeds), and the
    p-values are Holm-adjusted over the widths compared.
    """
    from scipy import stats as scipy_stats

    ours = {row["width"]: row for row in rows}
    table_rows = []
    for entry in published["rows"]:
        row = ours.get(entry["width"])
        if row is None:
            continue
        item = {"width": entry["width"], "n_params": row["n_params"]}
        for metric in ("test_error", "train_error"):
            values = row[f"{metric}_per_seed"]
            z = stats.prediction_z(entry[metric], values)
            item |= {
                f"published_{metric}": entry[metric],
                metric: row[metric],
                f"{metric}_standard_error": row[f"{metric}_standard_error"],
                f"{metric}_z": z,
            }
        n = row["seeds"] - row["n_diverged"]
        z = item["test_error_z"]
        item |= {f"published_{metric}": entry[metric] for metric in ("test_loss", "train_loss")}
        item["test_error_p"] = (
            float(2 * scipy_stats.t.sf(abs(z), n - 1)) if math.isfinite(z) and n > 1 else math.nan
        )
        table_rows.append(item)
    p_values = [r["test_error_p"] for r in table_rows]
    adjusted = stats.holm([p if math.isfinite(p) else 1.0 for p in p_values]) if p_values else []
    for item, p in zip(table_rows, adjusted):
        item["test_error_p_holm"] = float(p)
    z_values = np.array([r["test_error_z"] for r in table_rows], np.float64)
    finite = z_values[np.isfinite(z_values)]
    return {
        "published": {k: published[k] for k in ("model", "label_noise", "title")},
        "widths_compared": len(table_rows),
        "within_2": int(np.sum(np.abs(finite) <= 2)),
        "median_abs_z": float(np.median(np.abs(finite))) if finite.size else math.nan,
        "significant_after_holm": int(sum(p < SIGNIFICANCE for p in adjusted)),
        "rows": table_rows,
    }


def summarize(config: Config, cells: dict, *, n_train: int, n_test: int, groups: dict) -> dict:
    """The study's results from the per-(model, noise, width) sweep results."""
    rows = [
        width_row(curve, w, cells[(curve.model, curve.label_noise, w)])
        for curve in config.curves
        for w in curve.widths
    ]
    reference = load_reference()
    curves = []
    for curve in config.curves:
        own = [
            r for r in rows if r["model"] == curve.model and r["label_noise"] == curve.label_noise
        ]
        comparisons = [
            compare_with_published(published, own)
            for published in reference["curves"]
            if published["model"] == curve.model
        ]
        curves.append(
            {
                "model": curve.model,
                "label_noise": curve.label_noise,
                "seeds": curve.seeds,
                "widths": list(curve.widths),
                "interpolation_threshold": interpolation_threshold(own, n_train),
                "test_error_peak": peak_of(own, "test_error"),
                "test_loss_peak": peak_of(own, "test_loss"),
                "comparisons": [c for c in comparisons if c["widths_compared"]],
            }
        )
    return {
        "n_train": n_train,
        "n_test": n_test,
        "rows": rows,
        "curves": curves,
        "label_noise_effect": label_noise_effect(curves),
        "epochwise": [epochwise(curve, cells) for curve in config.curves],
        "reference_source": reference["source"],
        "reference_wall_seconds": {
            f"{c['model']}_{c['label_noise']:g}": c["wall_time_seconds"]
            for c in reference["curves"]
        },
        "groups": groups,
    }


def label_noise_effect(curves: Sequence[dict]) -> list[dict]:
    """For each model trained at several noise levels: the peak and threshold at each level."""
    effects = []
    for model in MODELS:
        levels = sorted((c for c in curves if c["model"] == model), key=lambda c: c["label_noise"])
        if len(levels) < 2:
            continue
        effects.append(
            {
                "model": model,
                "levels": [
                    {
                        "label_noise": c["label_noise"],
                        "test_error_peak": c["test_error_peak"],
                        "test_loss_peak": c["test_loss_peak"],
                        "interpolation_threshold": c["interpolation_threshold"],
                    }
                    for c in levels
                ],
            }
        )
    return effects


# ------------------------------------------------------------------------- words from numbers


def _percent(value, digits: int = 3) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{fmt(100 * value, digits)} %"


def _percent_pm(value, error) -> str:
    if error is None or not math.isfinite(error):
        return _percent(value)
    return f"{fmt(100 * value, 3)} ± {fmt(100 * error, 2)} %"


def _points(value, error=None) -> str:
    """A difference of two error rates, in percentage points."""
    if value is None or not math.isfinite(value):
        return "—"
    sign = "+" if value > 0 else ""
    if error is None or not math.isfinite(error):
        return f"{sign}{fmt(100 * value, 3)} percentage points"
    return f"{sign}{fmt(100 * value, 3)} ± {fmt(100 * error, 2)} percentage points"


def _curve_title(curve: dict) -> str:
    noise = (
        "no label noise"
        if curve["label_noise"] == 0
        else f"{fmt(100 * curve['label_noise'])} % label noise"
    )
    return f"{curve['model'].upper()}, {noise}"


def _threshold_sentence(curve: dict, n_train: int) -> str:
    threshold = curve["interpolation_threshold"]
    title = _curve_title(curve)
    unit = "hidden units" if curve["model"] == "mlp" else "channels"
    if threshold is None:
        return (
            f"{title}: no width of the grid reached training error 0 on every seed "
            f"(widest {max(curve['widths'])} {unit})."
        )
    return (
        f"{title}: training error first reaches 0 on every seed at **{threshold['width']} "
        f"{unit}, {fmt(threshold['n_params'])} parameters**, "
        f"{fmt(threshold['params_per_example'], 2)}× the N = {fmt(n_train)} training "
        "examples."
    )


def _value(metric: str, value, error=None) -> str:
    if metric.endswith("error"):
        return _percent_pm(value, error) if error is not None else _percent(value)
    if error is None or not math.isfinite(error):
        return fmt(value)
    return f"{fmt(value)} ± {fmt(error, 2)}"


def _difference(metric: str, value, error=None) -> str:
    if metric.endswith("error"):
        return _points(value, error)
    sign = "+" if value is not None and value > 0 else ""
    return sign + _value(metric, value, error)


def _peak_sentence(curve: dict, key: str) -> str:
    peak = curve[key]
    title = _curve_title(curve)
    what = "test error" if key == "test_error_peak" else "test cross-entropy"
    if peak is None:
        return f"{title}: a single width, no peak to find."
    if peak["width"] is None:
        return (
            f"{title}: the {what} never rises above a narrower width's over the "
            f"{peak['widths_scanned'] + 1} widths: no peak."
        )
    metric = peak["metric"]
    text = (
        f"{title}: the {what} rises from {_value(metric, peak['dip_value'])} at width "
        f"{peak['dip_width']} to **{_value(metric, peak['value'], peak['standard_error'])} "
        f"at width {peak['width']}** ({fmt(peak['n_params'])} parameters), "
        f"{_difference(metric, peak['rise'], peak['rise_standard_error'])} (Holm p = "
        f"{fmt(peak['rise_p_holm'], 2)})"
    )
    if peak["excess_p_holm"] is None:
        return text + "; it is the widest model, so this grid shows no second descent."
    text += (
        f", and stands {_difference(metric, peak['excess'], peak['excess_standard_error'])}"
        f" above the widest model (width {peak['widest_width']}, "
        f"{_value(metric, peak['widest_value'], peak['widest_standard_error'])}; Holm p = "
        f"{fmt(peak['excess_p_holm'], 2)}). "
    )
    return text + (
        "Both survive Holm's correction: a double-descent peak."
        if peak["significant"]
        else "With these seeds not both survive Holm's correction, so the bump is not established."
    )


def _peak_words(peak: dict | None) -> str:
    """ "a rise of X from width a to b" or "no peak", for comparing two curves."""
    if peak is None or peak["width"] is None:
        return "no peak"
    return (
        f"a rise of {_difference(peak['metric'], peak['rise'], peak['rise_standard_error'])} "
        f"from width {peak['dip_width']} to {peak['width']}"
    )


def _noise_sentences(results: dict) -> list[str]:
    """How label noise moves and grows each model's peaks, from the measured peaks."""
    sentences = []
    for effect in results["label_noise_effect"]:
        low, high = effect["levels"][0], effect["levels"][-1]
        at = [f"at {fmt(100 * level['label_noise'])} % label noise" for level in (low, high)]
        text = (
            f"{effect['model'].upper()}: the test error shows "
            f"{_peak_words(low['test_error_peak'])} {at[0]} and "
            f"{_peak_words(high['test_error_peak'])} {at[1]}; the test cross-entropy "
            f"{_peak_words(low['test_loss_peak'])} {at[0]} and "
            f"{_peak_words(high['test_loss_peak'])} {at[1]}."
        )
        thresholds = [level["interpolation_threshold"] for level in (low, high)]
        if all(thresholds):
            before, after = (t["width"] for t in thresholds)
            if before == after:
                text += f" The interpolation threshold stays at width {before}."
            else:
                text += f" The interpolation threshold moves from width {before} to {after}" + (
                    ": fitting labels that carry no signal takes more capacity."
                    if after > before
                    else "."
                )
        peaks = [level["test_error_peak"] for level in (low, high)]
        if all(p is not None for p in peaks):
            rises = [p["rise"] if p["width"] is not None else 0.0 for p in peaks]
            errors = [p.get("rise_standard_error") or 0.0 for p in peaks]
            growth, error = rises[1] - rises[0], math.hypot(*errors)
            text += (
                " Nakkiran et al. (2019) report that label noise makes the test-error peak "
                f"more pronounced; here its rise changes by {_points(growth, error)}, "
                + (
                    "more than two standard errors."
                    if error and abs(growth) > 2 * error
                    else "not more than two standard errors."
                )
            )
        sentences.append(text)
    return sentences


def _comparison_table(comparison: dict) -> str:
    header = [
        "width",
        "parameters",
        "published test error",
        "ours (mean ± s.e.)",
        "z",
        "Holm p",
        "published train error",
        "ours",
    ]
    body = [
        [
            r["width"],
            r["n_params"],
            _percent(r["published_test_error"]),
            _percent_pm(r["test_error"], r["test_error_standard_error"]),
            fmt(r["test_error_z"], 2),
            fmt(r["test_error_p_holm"], 2),
            _percent(r["published_train_error"]),
            _percent(r["train_error"]),
        ]
        for r in comparison["rows"]
    ]
    return table(header, body)


def _comparison_sentence(curve: dict, comparison: dict) -> str:
    published = comparison["published"]
    return (
        f"Published “{published['title']}” against our {_curve_title(curve)}: "
        f"{comparison['within_2']} of {comparison['widths_compared']} widths within |z| ≤ 2, "
        f"median |z| {fmt(comparison['median_abs_z'], 2)}, "
        f"{comparison['significant_after_holm']} significant after Holm's correction."
    )


def _matching(curve: dict) -> dict | None:
    return next(
        (c for c in curve["comparisons"] if c["published"]["label_noise"] == curve["label_noise"]),
        None,
    )


def _cross_check(results: dict) -> list[str]:
    """Which of our MLP curves the notebook's "no label noise" curve matches better."""
    mlp = {c["label_noise"]: c for c in results["curves"] if c["model"] == "mlp"}
    if 0.0 not in mlp or len(mlp) < 2:
        return []
    noisy = mlp[max(mlp)]

    def versus(curve):
        return next((c for c in curve["comparisons"] if c["published"]["label_noise"] == 0.0), None)

    clean_fit, noisy_fit = versus(mlp[0.0]), versus(noisy)
    if clean_fit is None or noisy_fit is None:
        return []
    text = (
        f"The notebook's curve titled “no label noise” is within |z| ≤ 2 of our clean MLP at "
        f"{clean_fit['within_2']} of {clean_fit['widths_compared']} widths (median |z| "
        f"{fmt(clean_fit['median_abs_z'], 2)}) and of our {fmt(100 * noisy['label_noise'])} % "
        f"noise MLP at {noisy_fit['within_2']} of {noisy_fit['widths_compared']} (median |z| "
        f"{fmt(noisy_fit['median_abs_z'], 2)})."
    )
    if (
        noisy_fit["median_abs_z"] < clean_fit["median_abs_z"]
        and noisy_fit["significant_after_holm"] < clean_fit["significant_after_holm"]
    ):
        text += (
            " It matches the noisy curve better, as its code predicts: the notebook makes "
            "its noisy labels with `data_with_label_noise = data.copy()` and assigns to "
            "`data_with_label_noise['y'][i]` in place, and `dict.copy` is shallow, so the "
            "“without label noise” cell trains on the same relabelled array."
        )
    return [text]


def markdown(results: dict) -> str:
    """The MNIST-1D section of REPORT.md, every number read from ``results``."""
    config = results["run"]["config"]
    n_train = results["n_train"]
    curves = results["curves"]
    source = results["reference_source"]
    seeds = ", ".join(
        f"{_curve_title(c)}: {c['seeds']} seeds, {len(c['widths'])} widths "
        f"{min(c['widths'])}…{max(c['widths'])}"
        for c in curves
    )
    out = [
        "### Set-up",
        f"MNIST-1D (Greydanus & Kobak 2020) generated by `mnist1d.data.make_dataset` with "
        f"{fmt(config['data']['num_samples'])} samples and a training split of "
        f"{fmt(config['data']['train_split'])}: N = {fmt(n_train)} training and "
        f"{fmt(results['n_test'])} test examples of length 40, 10 classes. Noisy curves replace "
        "each training label with probability q by a uniformly drawn class (a new draw per "
        "seed); test labels are clean. Softmax cross-entropy, SGD with learning rate "
        f"{fmt(config['learning_rate'])} and momentum {fmt(config['momentum'])}, batches of "
        f"{config['batch_size']} reshuffled every epoch, {config['epochs']} epochs, PyTorch's "
        "default initialization: the set-up of the mnist1d repository's "
        f"[`{source['file']}`]({source['repository']}) (Prince, *Understanding Deep "
        "Learning*, §8.4), which trains one model at a time with one seed. Here every width, "
        f"seed and noise level of a model trains in one vmapped sweep ({seeds}). Errors are "
        "fractions misclassified, shown in percent; ± is the standard error over seeds.",
        "![MNIST-1D double descent](double_descent_mnist1d.png)",
        "### Where the training error reaches 0",
        " ".join(_threshold_sentence(c, n_train) for c in curves)
        + " Nakkiran et al. (2019) place the test-error peak at this *effective model "
        "complexity*: the largest training set a model can fit to (near) zero error; "
        "Belkin et al. (2019) call it the interpolation threshold.",
        "### The test-error peak",
        "Each curve's peak is the width whose seed mean rises most above the lowest value "
        "at a narrower width (its dip). Both the rise and the peak's excess over the widest "
        "model are paired one-sided t-tests over seeds, each Holm-adjusted over all the "
        "widths scanned, since the peak was picked as the largest.",
        " ".join(_peak_sentence(c, "test_error_peak") for c in curves),
        "The same for the test cross-entropy, which also counts how confidently the wrong "
        "classes are predicted: " + " ".join(_peak_sentence(c, "test_loss_peak") for c in curves),
    ]
    noise = _noise_sentences(results)
    if noise:
        out += ["### Label noise", " ".join(noise)]
    out.append("### Against the published curves")
    out.append(
        "The notebook's printed final numbers (one seed each, transcribed in "
        "`jaxnn/reference/mnist1d_deep_double_descent.json` with the commit they come "
        "from) against our seed means. *z* is the published value minus our mean, divided "
        "by the standard deviation a single new run has around our mean, "
        "s·√(1 + 1/n) over our n seeds; *Holm p* is its two-sided p-value (t with n − 1 "
        "degrees of freedom), adjusted over the widths compared."
    )
    for curve in curves:
        comparison = _matching(curve)
        if comparison is None:
            continue
        out += [
            f"**{_curve_title(curve)}** — {_comparison_sentence(curve, comparison)}",
            _comparison_table(comparison),
        ]
    out += _cross_check(results)
    out += [
        "### Error against epoch",
        "![MNIST-1D error against epoch](double_descent_mnist1d_epochwise.png)",
        "Seed-mean test error at log-spaced epochs (and every "
        f"{config['chunk_epochs']} epochs after the first {config['chunk_epochs']}), one line "
        "per width. "
        + " ".join(
            _epochwise_sentence(panel, curve) for panel, curve in zip(results["epochwise"], curves)
        ),
    ]
    return "\n\n".join(out)


def _epochwise_sentence(panel: dict, curve: dict) -> str:
    """Where the peak width's test error is lowest in epochs, against where it ends."""
    peak = curve["test_error_peak"]
    if peak is None or peak["width"] is None:
        width = panel["widths"][-1]
        which = "the widest model"
    else:
        width, which = peak["width"], "the peak width"
    errors = np.asarray(panel["test_error"][panel["widths"].index(width)], np.float64)
    best = int(np.nanargmin(errors))
    return (
        f"{_curve_title(curve)}, {which} ({width}): lowest test error "
        f"{_percent(errors[best])} after {panel['epochs'][best]} epochs, "
        f"{_percent(errors[-1])} after {panel['epochs'][-1]}."
    )


def summary(results: dict) -> list[str]:
    """Headline numbers for the console."""
    lines = []
    for curve in results["curves"]:
        peak, threshold = curve["test_error_peak"], curve["interpolation_threshold"]
        text = f"{_curve_title(curve)}: "
        text += (
            f"train error 0 from width {threshold['width']}" if threshold else "train error never 0"
        )
        if peak is not None and peak["width"] is not None:
            text += (
                f"; test error peaks at width {peak['width']} ({_percent(peak['value'])}, "
                f"widest {_percent(peak['widest_value'])})"
            )
        elif peak is not None:
            text += "; test error has no peak"
        lines.append(text)
    return lines
