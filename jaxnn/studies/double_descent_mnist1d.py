r"""Deep double descent on real data: MNIST-1D, an MLP with and without label noise, a CNN with it.

The reference is the mnist1d repository's ``notebooks/deep-double-descent.ipynb``
(Greydanus & Kobak 2020), the experiment "Understanding Deep Learning"
(Prince 2023, §8.4) uses for double descent: 4,000 training and 12,000 test
examples of MNIST-1D, 15 % of the training labels replaced by a uniformly drawn
class, an MLP 40 -> M -> M -> 10 for M = 2 ... 300 and a CNN with C channels,
softmax cross-entropy, SGD with learning rate 0.01 and momentum 0.9, batches of
100 reshuffled every epoch, 500 epochs, PyTorch's default initialization. The
notebook trains one model at a time, one seed. Here the widths, seeds and
label-noise levels of a model train in one ``jaxnn.width_sweep`` call, each
level a named training set (split only where a curve trains more seeds at
narrow widths: ``sweep_calls``), seeds redraw the label noise, the
initialization and the batch order, and every number comes with its standard
error over seeds.

What it measures (Belkin et al. 2019; Nakkiran et al. 2019, "Deep double descent"):

- *interpolation threshold*: the smallest width at which every seed reaches
  training error 0, compared with N = 4,000 through the parameter count;
- *the pre-registered peak test* at the interpolation threshold
  (``peaks.contrast_at_threshold``): double descent only when the rise is
  significant and at least one seed-to-seed standard deviation, and the widest
  model undoes at least half of it (``jaxnn.verdicts``: Nakkiran et al. 2019,
  Fig. 1, where the large models fall back to about their earlier minimum);
  a rise that stays up is overfitting that levels off;
- *exploratory peak* (of the test error, and of the test cross-entropy): the
  width whose seed mean rises most above a narrower width's (its dip), with two
  paired one-sided tests over seeds that count every width scanned
  (``jaxnn.peaks.peak_of``, Holm), and the same floor and share;
- *label noise*: whether it grows the pre-registered rise (Nakkiran et al.
  2019, §4: label noise makes the peak more pronounced), a Welch test with the
  seed-spread floor;
- *epoch-wise*: every (width, epoch) cell of each curve tested for a rise and a
  later fall (``peaks.nonmonotone_cells``, Benjamini–Hochberg), double descent
  only where the fall undoes half the rise;
- the published single-seed curves against our seed means, width by width, in
  units of ``jaxnn.stats.prediction_z``.

``with_verdicts`` recomputes every verdict from the per-seed numbers the
result file holds, so a committed file gets new criteria without retraining.

The sentences and Markdown are in ``double_descent_mnist1d_text``.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
from collections.abc import Sequence
from importlib import resources

import jax
import jax.numpy as jnp
import numpy as np
import optax
from scipy import stats as scipy_stats

from jaxnn import (
    mnist1d,
    models,
    module_sweep,
    peaks,
    precision,
    stats,
    train,
    validation,
    verdicts,
)
from jaxnn.studies import NoProgress
from jaxnn.studies.double_descent_mnist1d_text import answers, markdown, summary

__all__ = [
    "FULL",
    "QUICK",
    "Config",
    "Curve",
    "answers",
    "markdown",
    "run",
    "summary",
    "sweep_calls",
    "with_verdicts",
]

MODELS = ("mlp", "cnn")
MAX_WIDTH = {"mlp": 4096, "cnn": 1024}
MODEL_STREAM = {"mlp": 0, "cnn": 1}  # fold_in tag of each model's init keys
NOTEBOOK_MLP_WIDTHS = mnist1d.NOTEBOOK_MLP_WIDTHS
NOTEBOOK_CNN_WIDTHS = mnist1d.NOTEBOOK_CNN_WIDTHS
DEFAULT_CNN_WIDTHS = (*range(2, 26, 2), 30, 40, 100)
SIGNIFICANCE = 0.05
REFERENCE = "mnist1d_deep_double_descent.json"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Curve:
    """One curve of the figure: a model family, a label-noise level, its widths and seeds.

    Attributes:
        model: ``"mlp"`` (40 -> M -> M -> 10, ReLU) or ``"cnn"`` (the notebook's 1-D CNN).
        label_noise: the fraction q of training labels replaced by a uniform class.
        widths: hidden units M (MLP) or channels C (CNN).
        seeds: repetitions at every width; each redraws the label noise,
            initialization and batch order.
        more_seeds: ``(up to width, seeds)`` pairs: the widths up to that one train
            that many seeds instead (the largest pair that covers a width counts).
            Narrow widths are cheap and carry the threshold test's rise; a member is
            the same draw whichever tier trains it, so seed s pairs across widths.
    """

    model: str
    label_noise: float
    widths: tuple[int, ...]
    seeds: int
    more_seeds: tuple[tuple[int, int], ...] = ()

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
        validation.at_least(self, 1, "seeds")
        for pair in self.more_seeds:
            if len(pair) != 2 or min(pair) < 1:
                raise ValueError(
                    f"more_seeds: need (up to width, seeds) pairs of positive integers, got {pair}"
                )

    def seeds_at(self, width: int) -> int:
        """How many seeds train at ``width``."""
        return max([self.seeds] + [s for up_to, s in self.more_seeds if width <= up_to])

    @property
    def max_seeds(self) -> int:
        return max(self.seeds_at(w) for w in self.widths)

    def tiers(self) -> list[tuple[int, tuple[int, ...]]]:
        """``(seeds, widths)``: the widths that train each seed count."""
        counts = sorted({self.seeds_at(w) for w in self.widths})
        return [(n, tuple(w for w in self.widths if self.seeds_at(w) == n)) for n in counts]

    @property
    def name(self) -> str:
        return curve_name(self.model, self.label_noise)


def curve_name(model: str, label_noise: float) -> str:
    """A curve's name in the JSON, e.g. ``"mlp, label noise 0.15"``."""
    return f"{model}, label noise {label_noise:g}"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    """The MNIST-1D double-descent study (the notebook's set-up unless said otherwise).

    Attributes:
        curves: the curves to train; curves of one model train in one ``width_sweep``
            call (label-noise levels as named training sets) at the widths where
            they train the same seeds (``sweep_calls``).
        data: MNIST-1D's generation arguments (16,000 samples, 25 % training).
        epochs: passes over the training set.
        batch_size: B, examples per SGD step (must divide the training-set size).
        learning_rate: SGD's step size.
        momentum: the heavy-ball coefficient (PyTorch's ``SGD(momentum=...)``).
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
        # The threshold test's rise compares narrow widths, where seeds are cheap and the
        # spread between them is largest (about 2.6 points of test error at M = 21).
        Curve(
            model="mlp",
            label_noise=0.15,
            widths=NOTEBOOK_MLP_WIDTHS,
            seeds=4,
            more_seeds=((80, 8),),
        ),
        # C = 100 costs as much per seed as the 14 narrower widths together: it is the one
        # wide point, for the second descent the notebook shows and the threshold test's
        # excess over the widest model.
        Curve(model="cnn", label_noise=0.15, widths=DEFAULT_CNN_WIDTHS, seeds=4),
    )
    data: mnist1d.MNIST1DConfig = mnist1d.MNIST1DConfig()
    epochs: int = 500
    batch_size: int = 100
    learning_rate: float = 0.01
    momentum: float = 0.9
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
        validation.seed(self.seed)
        validation.at_least(self, 1, "epochs", "batch_size", "chunk_epochs", "eval_batch_size")
        validation.at_least(self, 0, "epochwise_points")
        if self.data.n_train % self.batch_size:
            raise ValueError(
                f"batch_size: {self.batch_size} does not divide the "
                f"{self.data.n_train} training examples"
            )
        validation.positive(self, "learning_rate")
        if not (math.isfinite(self.momentum) and 0 <= self.momentum < 1):
            raise ValueError(f"momentum: need a value in [0, 1), got {self.momentum}")
        precision.check_precision(self.matmul_precision)

    def record_epochs(self) -> tuple[int, ...]:
        """Log-spaced epochs inside the first chunk (later, the chunk ends are measured anyway):
        two compiled chunk shapes per group, however many points."""
        if not self.epochwise_points:
            return ()
        chunk = min(self.chunk_epochs, self.epochs)
        return tuple(
            int(e)
            for e in train.log_spaced_epochs(self.epochs, self.epochwise_points)
            if 0 < e < chunk
        )

    def train_config(self, model: str) -> train.TrainConfig:
        """The engine config the built-in family of ``model`` trains with (the benchmark's)."""
        return train.TrainConfig(
            model=family_of(model),
            objective="softmax_cross_entropy",
            optimizer="momentum",
            epochs=self.epochs,
            batch_size=self.batch_size,
            train_loss_curve="batches",
            chunk_epochs=min(self.chunk_epochs, self.epochs),
            loss_thresholds=(),
            final_window=1,
            record_epochs=self.record_epochs(),
            eval_batch_size=self.eval_batch_size,
            matmul_precision=self.matmul_precision,
        )


MODULES = {"mlp": models.MNIST1DMLP, "cnn": models.MNIST1DCNN}


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
        Curve(model="mlp", label_noise=0.15, widths=(4, 16, 64), seeds=2, more_seeds=((4, 3),)),
        Curve(model="cnn", label_noise=0.15, widths=(4, 12), seeds=2),
    ),
    data=mnist1d.MNIST1DConfig(num_samples=2000),
    epochs=6,
    chunk_epochs=6,  # one chunk: a smoke run compiles one chunk program per group
    epochwise_points=4,
    eval_batch_size=500,
)
FULL = Config(
    curves=(
        Curve(model="mlp", label_noise=0.0, widths=NOTEBOOK_MLP_WIDTHS, seeds=8),
        Curve(model="mlp", label_noise=0.15, widths=NOTEBOOK_MLP_WIDTHS, seeds=16),
        Curve(model="cnn", label_noise=0.15, widths=NOTEBOOK_CNN_WIDTHS, seeds=12),
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


def sweep_calls(curves: Sequence[Curve]) -> list[tuple[str, int, tuple[int, ...], tuple]]:
    """``(model, seeds, widths, curves)``: the ``width_sweep`` calls that train ``curves``.

    A call trains every one of its training sets (here: curves, i.e. label-noise
    levels) at every width of the call with one seed count. So the curves of a
    model share a call at the widths where they train the same number of seeds;
    a curve with more seeds at narrow widths (``Curve.more_seeds``), or curves
    of one model with different widths or seeds, split the model's widths by
    which curves train them with how many seeds: one call per model when the
    curves agree, otherwise one per (width tier, seed count). Filling the
    fewer-seed curves up to the larger count would train members the study
    throws away; a member's draws are the same in whichever call it trains.

    Example:
        >>> mlp = (4, 16)
        >>> calls = sweep_calls(
        ...     (
        ...         Curve(model="mlp", label_noise=0.0, widths=mlp, seeds=2),
        ...         Curve(model="mlp", label_noise=0.1, widths=mlp, seeds=2, more_seeds=((4, 3),)),
        ...     )
        ... )
        >>> [(m, s, w, [c.label_noise for c in cs]) for m, s, w, cs in calls]
        [('mlp', 2, (4,), [0.0]), ('mlp', 3, (4,), [0.1]), ('mlp', 2, (16,), [0.0, 0.1])]
    """
    calls = []
    for model in dict.fromkeys(c.model for c in curves):
        own = [c for c in curves if c.model == model]
        tiers: dict[tuple, list[int]] = {}  # {(label noise, seeds) of each curve: widths}
        for width in sorted({w for c in own for w in c.widths}):
            signature = tuple((c.label_noise, c.seeds_at(width)) for c in own if width in c.widths)
            tiers.setdefault(signature, []).append(width)
        for signature, widths in tiers.items():
            for seeds in sorted({n for _, n in signature}):
                noises = {q for q, n in signature if n == seeds}
                members = tuple(c for c in own if c.label_noise in noises)
                calls.append((model, seeds, tuple(widths), members))
    return calls


def run(config: Config, *, mesh=None, run_dir=None, progress=None) -> dict:
    """Trains every curve with ``jaxnn.width_sweep``, the curves (label-noise levels) of a
    model as named training sets of one call where their seeds agree (``sweep_calls``), and
    summarises them.

    The networks are the NNX modules ``models.MNIST1DMLP`` and ``models.MNIST1DCNN``,
    swept through the same public call a user makes. A member's draws (seed s's label
    noise, initialization and batch order) do not depend on the call that trains it.
    The generated dataset is cached in ``run_dir.cache_dir``; finished width groups are
    saved in ``run_dir`` and reused when it was opened with ``resume``.
    """
    progress = progress or NoProgress()
    dataset = mnist1d.load(config.data, run_dir.cache_dir if run_dir else None)
    key_noise, key_init = jax.random.split(jax.random.key(config.seed))
    n_train = len(dataset.y_train)
    noisy = {
        curve.name: np.asarray(
            training_sets(key_noise, dataset, curve.label_noise, curve.max_seeds)[1]
        )
        for curve in config.curves
    }
    cells, plan = {}, {f"{c.model}_q{c.label_noise:g}": [] for c in config.curves}
    # One transformation for every call: calls of one model then share compiled programs.
    optimizer = optax.sgd(config.learning_rate, momentum=config.momentum)
    for model, seeds, widths, curves in sweep_calls(config.curves):
        result = module_sweep.width_sweep(
            MODULES[model],
            {
                curve.name: dict(
                    x_train=dataset.x_train,
                    y_train=noisy[curve.name][:seeds],
                    x_test=dataset.x_test,
                    y_test=dataset.y_test,
                )
                for curve in curves
            },
            widths=widths,
            seeds=seeds,
            loss="softmax_cross_entropy",
            optimizer=optimizer,
            epochs=config.epochs,
            batch_size=config.batch_size,
            record_epochs=config.record_epochs(),
            key=jax.random.fold_in(key_init, MODEL_STREAM[model]),
            eval_batch_size=config.eval_batch_size,
            matmul_precision=config.matmul_precision,
            progress=progress,
            run_dir=run_dir,
            mesh=mesh,
        )
        if result.notes:
            raise RuntimeError(f"{model}: padding refused: {result.notes}")
        for curve in curves:
            for width in widths:
                trained = result.curves[(curve.name, 0, width)]
                cells[(curve.model, curve.label_noise, width)] = {
                    "train_set_error": trained["train_error"],
                    "test_error": trained["test_error"],
                    "train_set_loss": trained["train_loss"],
                    "test_loss": trained["test_loss"],
                    "test_epochs": result.epochs[curve.name],
                    "diverged": result.diverged[(curve.name, 0, width)],
                }
            # Each group lists the curves (sets) it trained: a group may train several.
            plan[f"{curve.model}_q{curve.label_noise:g}"] += [
                group | {"seeds": seeds}
                for group in result.config["groups"]
                if curve.name in group["data"]
            ]
    return summarize(config, cells, n_train=n_train, n_test=len(dataset.y_test), groups=plan)


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


def per_seed(rows: Sequence[dict], metric: str) -> np.ndarray:
    """``[width][seed]`` values of ``metric``, NaN where a width trained fewer seeds (left out
    of the pairs it is in, like a diverged seed)."""
    values = [row[f"{metric}_per_seed"] for row in rows]
    seeds = max(len(v) for v in values)
    return np.array([list(v) + [math.nan] * (seeds - len(v)) for v in values], np.float64)


def threshold_contrast(curve: Curve | dict, rows: Sequence[dict], n_train: int) -> dict:
    """The curve's one pre-registered test of its test error (``peaks.contrast_at_threshold``).

    The window is fixed from the training error alone, before any test error is
    looked at: Nakkiran et al. (2019) put the test-error peak where the model can
    just fit its training set, and the threshold as measured here (every seed at
    training error exactly 0) is the first width past that point, so the window
    takes the widest width that does not interpolate as well. It is tested
    against the narrower widths and against the widest, and sized
    (``peaks.sized_verdict``): ``verdict`` is "double descent" only when the
    widest model undoes at least ``verdicts.SECOND_DESCENT_SHARE`` of a rise
    that is at least its seed-spread floor.
    """
    threshold = interpolation_threshold(rows, n_train)
    contrast = peaks.contrast_at_threshold(
        per_seed(rows, "test_error"),
        [row["width"] for row in rows],
        None if threshold is None else threshold["width"],
        missing="no width reaches training error 0 on every seed",
    )
    name = (
        curve.name if isinstance(curve, Curve) else curve_name(curve["model"], curve["label_noise"])
    )
    return {"name": name, "metric": "test_error", "axis": "width"} | contrast


def peak_of(rows: Sequence[dict], metric: str = "test_error") -> dict | None:
    """The double-descent bump of ``metric`` over the curve's widths (``peaks.peak_of``).

    The peak is the width whose seed mean rises most above the lowest value at a
    narrower width (its dip); the rise and the peak's excess over the widest
    model are paired one-sided tests over seeds (the seeds share their noisy
    labels across widths), each counting every width scanned.

    It is exploratory: its ``verdict`` carries the same floor and share as the
    pre-registered test (``peaks.peak_of``), and the text reports it beside that
    test, never instead of it.

    Returns:
        ``None`` for a single width; ``{"width": None, ...}`` when nothing rises.
    """
    peak = peaks.peak_of(per_seed(rows, metric))
    if peak is None:
        return None
    widest = rows[-1]
    result = {
        "metric": metric,
        "widths_scanned": peak["cells_scanned"],
        "widest_width": widest["width"],
        "widest_value": widest[metric],
        "widest_standard_error": widest[f"{metric}_standard_error"],
        "significant": peak["significant"],
        **{
            key: peak[key]
            for key in ("verdict", "qualifies", "rise_floor", "rise_verdict", "undone", "share")
            if key in peak
        },
    }
    if peak["index"] is None:
        return result | {"width": None}
    top, dip = rows[peak["index"]], rows[peak["dip_index"]]
    return result | {
        "width": top["width"],
        "n_params": top["n_params"],
        "value": top[metric],
        "standard_error": top[f"{metric}_standard_error"],
        "dip_width": dip["width"],
        "dip_value": dip[metric],
        **{
            key: peak[key]
            for key in (
                "rise",
                "rise_standard_error",
                "rise_p",
                "rise_p_holm",
                "excess",
                "excess_standard_error",
                "excess_p",
                "excess_p_holm",
            )
        },
    }


def epochwise(curve: Curve, cells: dict) -> dict:
    """Seed-mean training and test error at every evaluated epoch, ``[width][epoch]``, and
    every seed's test error, ``test_error_per_seed[width][seed][epoch]`` (NaN: a seed the
    width did not train, or one that diverged), which the epoch-wise test reads."""
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
    seeds_per_width = []
    for w in curve.widths:
        cell = cells[(curve.model, curve.label_noise, w)]
        values = np.asarray(cell["test_error"], np.float64)
        values[np.asarray(cell["diverged"], bool)] = np.nan
        padding = np.full((curve.max_seeds - values.shape[0], values.shape[1]), np.nan)
        seeds_per_width.append(np.concatenate([values, padding]).tolist())
    out["test_error_per_seed"] = seeds_per_width
    return out


def epochwise_test(panel: dict) -> dict:
    """Epoch-wise double descent in one curve's widths (Nakkiran et al. 2019, §5).

    Every (width, epoch) cell is tested for a rise over an earlier epoch and a
    fall to a later one, paired over seeds, with Benjamini–Hochberg control over
    all cells (``peaks.nonmonotone_cells``). A width shows double descent only
    when a cell's rise is at least its seed-spread floor and its fall undoes at
    least ``verdicts.SECOND_DESCENT_SHARE`` of it; a width whose significant
    rise falls back by less is *overfitting that levels off*. The panel's
    ``verdict`` is "double descent" when some width qualifies, "overfitting that
    levels off" when some width rises and none qualifies, else "no rise detected".

    A panel without per-seed curves (files written before they were stored) is
    not tested; its ``largest_rise`` still gives the size on seed means: the
    largest rise of any width over an earlier epoch, and the share its later
    epochs undo.
    """
    means = np.asarray(panel["test_error"], np.float64)  # [width, epoch]
    epochs, widths = panel["epochs"], panel["widths"]
    largest = None
    for w, curve in enumerate(means):
        for j in range(1, curve.size - 1):
            size = verdicts.undone_share(curve, j)
            if math.isfinite(size["rise"]) and (largest is None or size["rise"] > largest["rise"]):
                largest = {"width": widths[w], "peak_epoch": epochs[j], **size}
    base = {"share": verdicts.SECOND_DESCENT_SHARE, "largest_rise": largest}
    if panel.get("test_error_per_seed") is None:
        return base | {
            "tested": False,
            "verdict": "not tested",
            "reason": "the file holds seed means only; a rerun stores the per-seed curves",
            "marks": [],
        }
    curves = np.asarray(panel["test_error_per_seed"], np.float64)  # [width, seed, epoch]
    scan = peaks.nonmonotone_cells(curves)
    marks = [
        {
            "width": widths[m["curve"]],
            "kind": m["kind"],
            "peak_epoch": epochs[m["index"]],
            "dip_epoch": epochs[m["dip_index"]],
            "later_epoch": epochs[m["later_index"]],
            **{key: m[key] for key in ("rise", "fall", "undone", "rise_floor", "q")},
        }
        for m in scan["marks"]
    ]
    kinds = {m["kind"] for m in marks}
    if verdicts.DOUBLE_DESCENT in kinds:
        verdict = verdicts.DOUBLE_DESCENT
    elif kinds:
        verdict = verdicts.LEVELS_OFF
    else:
        verdict = "no rise detected"
    return base | {
        "tested": True,
        "verdict": verdict,
        "cells_scanned": scan["cells_scanned"],
        "method": scan["method"],
        "alpha": scan["alpha"],
        "slivers": scan["slivers"],
        "marks": marks,
    }


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
    adjusted = stats.holm([p if math.isfinite(p) else 1.0 for p in p_values])
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
                "max_seeds": curve.max_seeds,
                "seeds_by_width": [curve.seeds_at(w) for w in curve.widths],
                "widths": list(curve.widths),
                "comparisons": [c for c in comparisons if c["widths_compared"]],
            }
        )
    # The verdicts come from with_verdicts alone, the function a committed file is reanalysed
    # with, so a run and a reanalysis of its file cannot disagree.
    return with_verdicts(
        {
            "n_train": n_train,
            "n_test": n_test,
            "rows": rows,
            "curves": curves,
            "epochwise": [epochwise(curve, cells) for curve in config.curves],
            "reference_source": reference["source"],
            "reference_curves": reference["curves"],
            "reference_wall_seconds": {
                f"{c['model']}_{c['label_noise']:g}": c["wall_time_seconds"]
                for c in reference["curves"]
            },
            "groups": groups,
        }
    )


def contrast_rises(contrast: dict, rows: Sequence[dict]) -> np.ndarray:
    """Each seed's rise in a tested threshold contrast: its mean over the window minus its
    value at the cell the rise is shown against (seeds missing from either left out)."""
    values = per_seed(rows, "test_error").T  # [seed, width]
    rises = np.nanmean(values[:, contrast["window"]], axis=1) - values[:, contrast["rise_versus"]]
    return rises[np.isfinite(rises)]


def noise_growth(low: dict, high: dict, rows_low, rows_high) -> dict:
    """Does label noise grow the pre-registered rise? (Nakkiran et al. 2019, §4, Fig. 4.)

    The estimate is the noisy curve's rise minus the clean one's, tested with a
    one-sided Welch t-test over their per-seed rises (the two noise levels draw
    different labels, so seeds are not paired), and judged against the
    seed-spread floor of those rises (``verdicts.spread_floor``).
    """
    contrasts = (low["threshold_contrast"], high["threshold_contrast"])
    if not all(c.get("tested") for c in contrasts):
        return {"tested": False, "verdict": "not tested", "reason": "a curve has no window"}
    a, b = contrast_rises(contrasts[0], rows_low), contrast_rises(contrasts[1], rows_high)
    error = math.hypot(
        stats.seed_summary(a)["standard_error"], stats.seed_summary(b)["standard_error"]
    )
    p = (
        float(scipy_stats.ttest_ind(b, a, equal_var=False, alternative="greater").pvalue)
        if min(a.size, b.size) > 1
        else math.nan
    )
    judged = verdicts.judge(
        float(np.mean(b) - np.mean(a)),
        p if math.isfinite(p) else None,
        floor=verdicts.spread_floor(a, b),
        standard_error=error,
        # the paired-test size at the smaller group's seeds: an approximation for Welch's test
        minimum_detectable=peaks.minimum_detectable(error, min(a.size, b.size), peaks.SIGNIFICANCE),
    )
    return {"tested": True, "seeds": [int(a.size), int(b.size)], **judged}


def label_noise_effect(curves: Sequence[dict], rows: Sequence[dict] = ()) -> list[dict]:
    """For each model trained at several noise levels: the peak and threshold at each level,
    and whether the highest level's pre-registered rise exceeds the lowest's (``noise_growth``)."""
    effects = []
    for model in MODELS:
        levels = sorted((c for c in curves if c["model"] == model), key=lambda c: c["label_noise"])
        if len(levels) < 2:
            continue
        effect = {
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
        if rows:
            low, high = levels[0], levels[-1]
            effect["rise_growth"] = noise_growth(
                low, high, _curve_rows(rows, low), _curve_rows(rows, high)
            )
        effects.append(effect)
    return effects


def _curve_rows(rows: Sequence[dict], curve: dict) -> list[dict]:
    return sorted(
        (
            r
            for r in rows
            if r["model"] == curve["model"] and r["label_noise"] == curve["label_noise"]
        ),
        key=lambda r: r["width"],
    )


def with_verdicts(document: dict) -> dict:
    """The document with every verdict recomputed from the per-seed numbers it holds.

    Pure: works on the run's own dict or on a JSON-loaded one (lists, string
    keys) and returns a new document. It rebuilds, per curve, the interpolation
    threshold (training errors), the pre-registered contrast and the
    exploratory peaks (``rows[*]["*_per_seed"]``); the label-noise comparison;
    the epoch-wise test (``epochwise[*]["test_error_per_seed"]``, where stored);
    and ``verdicts``, one ``{"name", "verdict", "estimate", "floor"}`` per
    verdict for the seed-block comparison.
    """
    out = copy.deepcopy(document)
    n_train = out["n_train"]
    for curve in out["curves"]:
        own = _curve_rows(out["rows"], curve)
        curve["interpolation_threshold"] = interpolation_threshold(own, n_train)
        curve["threshold_contrast"] = threshold_contrast(curve, own, n_train)
        curve["test_error_peak"] = peak_of(own, "test_error")
        curve["test_loss_peak"] = peak_of(own, "test_loss")
    out["threshold_contrasts"] = [curve["threshold_contrast"] for curve in out["curves"]]
    out["label_noise_effect"] = label_noise_effect(out["curves"], out["rows"])
    for panel in out["epochwise"]:
        panel["nonmonotone"] = epochwise_test(panel)
    out["verdicts"] = verdict_list(out)
    return out


def verdict_list(document: dict) -> list[dict]:
    """Every verdict besides the threshold contrasts, by name, with its size and floor."""
    listed = []
    for curve in document["curves"]:
        name = curve_name(curve["model"], curve["label_noise"])
        peak = curve["test_error_peak"]
        if peak is not None:
            listed.append(
                {
                    "name": f"exploratory test-error peak: {name}",
                    "verdict": peak.get("verdict", "no rise detected"),
                    "estimate": peak.get("rise"),
                    "floor": peak.get("rise_floor"),
                    "undone": peak.get("undone"),
                }
            )
    for effect in document["label_noise_effect"]:
        growth = effect.get("rise_growth", {})
        listed.append(
            {
                "name": f"label noise grows the threshold rise: {effect['model']}",
                "verdict": growth.get("verdict", "not tested"),
                "estimate": growth.get("estimate"),
                "floor": growth.get("floor"),
            }
        )
    for panel in document["epochwise"]:
        test = panel["nonmonotone"]
        largest = test["largest_rise"] or {}
        listed.append(
            {
                "name": f"epoch-wise: {curve_name(panel['model'], panel['label_noise'])}",
                "verdict": test["verdict"],
                "estimate": largest.get("undone"),
                "floor": test["share"],
                "undone": largest.get("undone"),
            }
        )
    return listed
