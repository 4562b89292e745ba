r"""Sample-wise double descent on MNIST-1D: can more training data hurt a fixed network?

Nakkiran et al. (2019, "Deep double descent: where bigger models and more data
hurt", §6) define the *effective model complexity* of a training procedure
:math:`\mathcal T` as the largest number of examples it fits to (near) zero
training error,

.. math::

    \mathrm{EMC}(\mathcal T) = \max\{N :
        \mathbb E\,\mathrm{err}_{train}(\mathcal T(S_N)) \le \epsilon\},

and conjecture that the test error peaks where N is close to it. Read along the
N axis at a fixed width, more data can then *raise* the test error just below
the threshold, and a wider network, which fits more examples, should have its
peak at a larger N. This study measures both on MNIST-1D (Greydanus & Kobak
2020) with the MLP 40 -> M -> M -> 10 (ReLU, PyTorch's default
initialization; ``models.MNIST1DMLP``) of the width study
(``double_descent_mnist1d``), with and without 15 % label noise.

Design:

- *widths*: M = 47, where the width study (500 epochs at N = 4,000) puts the
  noisy MLP's test-error peak and the clean MLP's interpolation threshold, and
  M = 94, twice as wide (about three times the parameters);
- *data*: one MNIST-1D generation, split into a training pool and one test set
  that every N is measured on. Seed s draws a permutation of the pool; its
  training set of size N is the first N examples of that permutation, so
  seed s's sets are nested across N, and its label noise
  (``mnist1d.corrupt_labels`` with ``fold_in(key_noise, s)``, drawn once on
  the whole pool) gives an example the same noisy label at every N. The
  initialization of seed s (``width_sweep``: ``fold_in(fold_in(key_init,
  width), s)``) is also the same at every N and noise level, so a seed is
  paired across the N axis;
- *training*: the width study's optimizer (SGD, learning rate 0.01,
  momentum 0.9, batches of 100, softmax cross-entropy) through
  ``jaxnn.width_sweep``, one call for every (noise level, N, width, seed): each
  (noise level, N) is a named training set of the call. Every N gets the same
  number of SGD **steps** (``steps``; epochs = steps × B / N, rounded), not the
  same number of epochs. With a fixed epoch count a large N costs in
  proportion: the width study's 500 epochs are 60,000 steps at N = 12,000
  alone and 225,000 steps per seed and width over the default grid, against
  80,000 here: 2.8 times the training of the default, which took under three
  minutes on two shared CPU cores. And a small N gets few
  steps, so its training error can stay above 0 from too little optimization
  rather than too much data, which muddles the threshold. With a fixed step budget every cell
  costs the same, the training error rises with N, and the threshold is what
  the definition asks: the most examples this procedure (same steps, same
  learning-rate path) fits. The default budget, 8,000 steps (200 epochs at
  N = 4,000), fits the CPU default into about five minutes; ``FULL`` uses
  20,000 (500 epochs at N = 4,000, the width study's procedure there);
- *threshold* (from the **training** error only, before any test number is
  looked at): the largest N of the grid at which every seed classifies every
  training label exactly as given (training error 0). The pre-registered
  window is that N and the next larger one (the first N that some seed no
  longer fits): the peak, if the conjecture holds, lies between them;
- *test* (``jaxnn.peaks.threshold_contrast``): is the seed's mean test error
  over the window above its test error at some smaller N (*rise*: more data
  hurt; Bonferroni over the smaller N's) and above the largest N (*excess*)?
  Paired one-sided t-tests over seeds; the minimum rise detectable at 80 %
  power is reported with each. An exploratory scan (``peaks.peak_of``: the
  largest rise over any N, Holm over the N's scanned) is kept beside it;
- *sizes* (``jaxnn.verdicts``): "more data hurt" only when the rise is
  significant and at least its seed-spread floor (otherwise the rise, its
  floor and the smallest rise the test could detect); sample-wise double
  descent only when the largest N also undoes at least half of that rise;
- *movement of the threshold*: the threshold N of the wide model against the
  narrow one's, at each noise level, and per seed (a sign test over seeds),
  sized by the ratio of the thresholds against the seed spread of the
  per-seed thresholds.

``with_verdicts`` recomputes every verdict from the per-seed numbers in the
result file, so a committed file gets new criteria without retraining.

The sentences and Markdown are in ``sample_wise_mnist1d_text``.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Sequence

import jax
import numpy as np
import optax
from scipy import stats as scipy_stats

import jaxnn
from jaxnn import mnist1d, models, peaks, precision, stats, validation, verdicts
from jaxnn.studies import NoProgress
from jaxnn.studies.sample_wise_mnist1d_text import answers, curve_name, markdown, summary

__all__ = [
    "FULL",
    "QUICK",
    "Config",
    "answers",
    "curve_name",
    "locate_threshold",
    "markdown",
    "nested_orders",
    "run",
    "set_name",
    "summary",
    "training_set",
    "with_verdicts",
]

MAX_WIDTH = 4096
METRICS = ("train_error", "test_error", "train_loss", "test_loss")
SIGNIFICANCE = peaks.SIGNIFICANCE
DEFAULT_N_TRAIN = (1000, 1500, 2000, 2500, 3000, 4000, 5000, 6000, 8000, 12000)
FULL_N_TRAIN = (
    500,
    800,
    1000,
    1200,
    1500,
    1800,
    2000,
    2500,
    3000,
    3500,
    4000,
    5000,
    6000,
    7000,
    8000,
    10000,
    12000,
    16000,
)


def _sorted_unique(values: tuple, name: str, minimum: float) -> None:
    if not values:
        raise ValueError(f"{name}: need at least one value")
    if tuple(sorted(set(values))) != tuple(values):
        raise ValueError(f"{name}: must be sorted and unique, got {values}")
    if min(values) < minimum:
        raise ValueError(f"{name}: every value must be >= {minimum}, got {min(values)}")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    """The sample-wise study: every (label noise, width) curve over the same N grid.

    Attributes:
        label_noises: fractions q of training labels replaced by a uniform class
            (one pair of curves each).
        widths: hidden units M of the MLP 40 -> M -> M -> 10 (one curve each).
        n_train: the training-set sizes N, sorted; multiples of ``batch_size``.
        seeds: repetitions; seed s has its own nested subsets, label noise,
            initialization and batch order.
        steps: SGD steps every N trains for (epochs = steps × batch_size / N, rounded).
        data: MNIST-1D's generation: its training split is the pool the
            subsets are drawn from (at least ``max(n_train)``), its test split
            the one test set.
        batch_size: B, examples per SGD step.
        learning_rate: SGD's step size.
        momentum: the heavy-ball coefficient (PyTorch's ``SGD(momentum=...)``).
        eval_batch_size: examples per block when the metrics are evaluated.
        matmul_precision: float32 matmul precision (``jaxnn.precision``).
        seed: master seed of the subsets, label noise, initializations and batch orders.
    """

    label_noises: tuple[float, ...] = (0.0, 0.15)
    widths: tuple[int, ...] = (47, 94)
    n_train: tuple[int, ...] = DEFAULT_N_TRAIN
    seeds: int = 5
    steps: int = 8000
    data: mnist1d.MNIST1DConfig = mnist1d.MNIST1DConfig(num_samples=24_000, train_split=0.5)
    batch_size: int = 100
    learning_rate: float = 0.01
    momentum: float = 0.9
    eval_batch_size: int = 4000
    matmul_precision: str = precision.DEFAULT
    seed: int = 0

    def __post_init__(self):
        if not self.label_noises:
            raise ValueError("label_noises: need at least one level")
        for q in self.label_noises:
            if not (math.isfinite(q) and 0 <= q <= 1):
                raise ValueError(f"label_noises: need fractions in [0, 1], got {q}")
        _sorted_unique(self.label_noises, "label_noises", 0.0)
        _sorted_unique(self.widths, "widths", 1)
        if max(self.widths) > MAX_WIDTH:
            raise ValueError(f"widths: at most {MAX_WIDTH}, got {max(self.widths)}")
        validation.seed(self.seed)
        validation.at_least(self, 1, "seeds", "steps", "batch_size", "eval_batch_size")
        _sorted_unique(self.n_train, "n_train", self.batch_size)
        uneven = [n for n in self.n_train if n % self.batch_size]
        if uneven:
            raise ValueError(
                f"n_train: every N must be a multiple of batch_size {self.batch_size}, got {uneven}"
            )
        if max(self.n_train) > self.data.n_train:
            raise ValueError(
                f"n_train: at most the {self.data.n_train} examples of the data's training "
                f"pool, got {max(self.n_train)}"
            )
        short = [n for n in self.n_train if self.epochs_at(n) < 1]
        if short:
            raise ValueError(
                f"steps: {self.steps} steps of {self.batch_size} are less than one epoch at "
                f"N = {short[-1]}"
            )
        validation.positive(self, "learning_rate")
        if not (math.isfinite(self.momentum) and 0 <= self.momentum < 1):
            raise ValueError(f"momentum: need a value in [0, 1), got {self.momentum}")
        precision.check_precision(self.matmul_precision)

    def epochs_at(self, n_train: int) -> int:
        """Epochs at N: the step budget in passes over N examples, rounded to the nearest."""
        return round(self.steps * self.batch_size / n_train)


QUICK = Config(
    label_noises=(0.0, 0.15),
    widths=(4, 16),
    n_train=(100, 200, 300, 400),
    seeds=2,
    steps=40,
    data=mnist1d.MNIST1DConfig(num_samples=1000, train_split=0.4),
    eval_batch_size=600,
)
FULL = Config(
    n_train=FULL_N_TRAIN,
    seeds=10,
    steps=20_000,
    data=mnist1d.MNIST1DConfig(num_samples=32_000, train_split=0.5),
)


def nested_orders(key: jax.Array, pool_size: int, seeds: int) -> np.ndarray:
    """``order[seed, pool]``: seed s's permutation of the pool, from ``fold_in(key, s)``.

    Seed s's training set of size N is ``order[s, :N]``: a prefix of every
    larger one of the same seed.
    """
    return np.stack(
        [
            np.asarray(jax.random.permutation(jax.random.fold_in(key, s), pool_size))
            for s in range(seeds)
        ]
    )


def noisy_pool_labels(
    key: jax.Array, labels: np.ndarray, label_noise: float, seeds: int
) -> np.ndarray:
    """``y[seed, pool]``: the pool's labels with seed s's noise (``fold_in(key, s)``).

    Drawn once on the whole pool, so an example keeps its (noisy) label at every
    N, and a larger noise level relabels a superset of a smaller one's examples.
    """
    return np.stack(
        [
            np.asarray(mnist1d.corrupt_labels(jax.random.fold_in(key, s), labels, label_noise))
            for s in range(seeds)
        ]
    )


def training_set(
    x_pool: np.ndarray, y_pool: np.ndarray, order: np.ndarray, n_train: int
) -> tuple[np.ndarray, np.ndarray]:
    """``x[seed, N, 40]`` and ``y[seed, N]``: every seed's first N examples of its order.

    Args:
        x_pool: ``[pool, 40]`` inputs.
        y_pool: ``[seed, pool]`` labels (each seed's noise).
        order: ``[seed, pool]`` permutations (``nested_orders``).
        n_train: N.
    """
    indices = order[:, :n_train]
    return x_pool[indices], np.take_along_axis(y_pool, indices, axis=1)


def locate_threshold(train_error_per_seed: Sequence[Sequence[float]]) -> dict:
    """The interpolation threshold on the N axis, from training errors ``[cell][seed]``.

    The threshold cell k is the largest N (cells sorted by N) at which every
    seed's training error is exactly 0; the pre-registered window is
    ``[k, k + 1]``: the last N fitted exactly and the next, which some seed no
    longer fits. ``monotone`` says whether every smaller N is fitted too (with a
    fixed step budget the training error rises with N, so it should be).

    Returns:
        ``{"index", "window", "monotone"}``, ``index``/``window`` ``None`` (with a
        ``reason``) when no N, or every N, is fitted exactly.

    Example:
        >>> locate_threshold([[0, 0], [0, 0], [0, 0.01], [0.1, 0.2]])["window"]
        [1, 2]
    """
    fitted = [bool(np.all(np.asarray(cell, np.float64) == 0)) for cell in train_error_per_seed]
    if not any(fitted):
        return {"index": None, "window": None, "monotone": True, "reason": "no N is fitted exactly"}
    index = max(i for i, fit in enumerate(fitted) if fit)
    monotone = all(fitted[: index + 1])
    if index == len(fitted) - 1:
        return {
            "index": index,
            "window": None,
            "monotone": monotone,
            "reason": "every N up to the largest is fitted exactly: the threshold lies "
            "beyond the grid",
        }
    return {"index": index, "window": [index, index + 1], "monotone": monotone}


def per_seed_thresholds(train_error_per_seed: Sequence[Sequence[float]], n_train) -> list:
    """Each seed's largest N with training error 0 (``None`` where it fits none)."""
    values = np.asarray(train_error_per_seed, np.float64)  # [cell, seed]
    out = []
    for seed in range(values.shape[1]):
        fitted = np.flatnonzero(values[:, seed] == 0)
        out.append(int(n_train[fitted[-1]]) if fitted.size else None)
    return out


def set_name(label_noise: float, n_train: int) -> str:
    """The name of one (noise level, N) training set in the ``width_sweep`` call."""
    return f"label noise {label_noise:g}, N {n_train}"


def run(config: Config, *, mesh=None, run_dir=None, progress=None) -> dict:
    """Trains every (label noise, N, width, seed) in one ``jaxnn.width_sweep`` call, each
    (label noise, N) a named training set, and summarises the curves.

    A member's draws do not depend on the other sets of the call: its subset and
    noisy labels are the caller's ``y[seed, N]``, its initialization and batch
    order come from ``key_init``, the width and the seed. Sets of one N share a
    compiled program (mini-batches of one N: one epoch is one scan length).

    The generated dataset is cached in ``run_dir.cache_dir``; finished width groups
    are saved in ``run_dir`` and reused when it was opened with ``resume``.
    """
    progress = progress or NoProgress()
    dataset = mnist1d.load(config.data, run_dir.cache_dir if run_dir else None)
    key_order, key_noise, key_init = jax.random.split(jax.random.key(config.seed), 3)
    order = nested_orders(key_order, len(dataset.y_train), config.seeds)
    sets = {}
    for label_noise in config.label_noises:
        labels = noisy_pool_labels(key_noise, dataset.y_train, label_noise, config.seeds)
        for n_train in config.n_train:
            x, y = training_set(dataset.x_train, labels, order, n_train)
            sets[set_name(label_noise, n_train)] = dict(
                x_train=x, y_train=y, x_test=dataset.x_test, y_test=dataset.y_test
            )
    result = jaxnn.width_sweep(
        models.MNIST1DMLP,
        sets,
        widths=config.widths,
        seeds=config.seeds,
        loss="softmax_cross_entropy",
        optimizer=optax.sgd(config.learning_rate, momentum=config.momentum),
        steps=config.steps,
        batch_size=config.batch_size,
        key=key_init,
        eval_batch_size=config.eval_batch_size,
        matmul_precision=config.matmul_precision,
        progress=progress,
        run_dir=run_dir,
        mesh=mesh,
    )
    if result.notes:
        raise RuntimeError(f"padding refused: {result.notes}")
    cells = {}
    for label_noise in config.label_noises:
        for n_train in config.n_train:
            name = set_name(label_noise, n_train)
            # width_sweep's steps= rounds steps / (N / B) to whole epochs: the study's epochs_at.
            epochs, steps = result.sets[name]["epochs"], result.sets[name]["steps"]
            if epochs != config.epochs_at(n_train):
                raise RuntimeError(f"{name}: {epochs} epochs, not {config.epochs_at(n_train)}")
            for width in config.widths:
                curves = result.curves[(name, 0, width)]
                diverged = np.asarray(result.diverged[(name, 0, width)], bool)
                cells[(label_noise, width, n_train)] = {
                    "epochs": epochs,
                    "steps": steps,
                    "diverged": diverged,
                    **{
                        metric: np.where(diverged, np.nan, np.asarray(curves[metric])[:, -1])
                        for metric in METRICS
                    },
                }
    return summarize(
        config,
        cells,
        n_params=result.n_params,
        n_pool=len(dataset.y_train),
        n_test=len(dataset.y_test),
    )


def cell_row(label_noise: float, width: int, n_train: int, n_params: int, cell: dict) -> dict:
    """One row: the cell's settings, and every metric's seed mean, standard error and values."""
    row = {
        "label_noise": label_noise,
        "width": width,
        "n_params": n_params,
        "n_train": n_train,
        "epochs": cell["epochs"],
        "steps": cell["steps"],
        "seeds": int(cell["diverged"].size),
        "n_diverged": int(np.sum(cell["diverged"])),
    }
    for metric in METRICS:
        values = np.asarray(cell[metric], np.float64)
        summary_ = stats.seed_summary(values)
        row[metric] = summary_["mean"]
        row[f"{metric}_standard_error"] = summary_["standard_error"]
        row[f"{metric}_per_seed"] = values.tolist()
    return row


def scan(rows: Sequence[dict], metric: str = "test_error") -> dict | None:
    """The exploratory scan: ``peaks.peak_of`` over the N axis (Holm over the N's scanned)."""
    peak = peaks.peak_of([row[f"{metric}_per_seed"] for row in rows])
    if peak is None:
        return None
    out = {"metric": metric, **peak}
    if peak["index"] is not None:
        out["n_train"] = rows[peak["index"]]["n_train"]
        out["dip_n_train"] = rows[peak["dip_index"]]["n_train"]
    return out


def curve_summary(label_noise: float, width: int, rows: Sequence[dict]) -> dict:
    """One curve's threshold (training error), pre-registered contrast and scan (test error)."""
    n_train = [row["n_train"] for row in rows]
    train = [row["train_error_per_seed"] for row in rows]
    threshold = locate_threshold(train)
    curve = {
        "name": curve_name(width, label_noise),
        "label_noise": label_noise,
        "width": width,
        "n_params": rows[0]["n_params"],
        "n_train": n_train,
        "threshold": threshold,
        "threshold_n_train": None if threshold["index"] is None else n_train[threshold["index"]],
        "per_seed_threshold_n_train": per_seed_thresholds(train, n_train),
        "test_error_scan": scan(rows, "test_error"),
    }
    if threshold["index"] is not None:
        curve["params_per_example"] = rows[0]["n_params"] / n_train[threshold["index"]]
    if threshold["window"] is None:
        curve["contrast"] = None
        return curve
    # The window is the threshold's N and the next larger one (the first N some seed misses).
    contrast = peaks.contrast_at_threshold(
        [row["test_error_per_seed"] for row in rows],
        n_train,
        n_train[threshold["index"]],
        neighbour=1,
    )
    curve["window_values"] = contrast["window_values"]
    smaller = rows[: threshold["window"][0]]
    if smaller:
        lowest = min(smaller, key=lambda row: np.nanmean(row["test_error_per_seed"]))
        curve["smaller_lowest"] = {
            "n_train": lowest["n_train"],
            "value": float(np.nanmean(lowest["test_error_per_seed"])),
        }
    curve["contrast"] = contrast
    if contrast["tested"]:
        curve["rise_versus_n_train"] = contrast["rise_versus_value"]
        curve["more_data_hurt"] = more_data_hurt(contrast)
    return curve


def more_data_hurt(contrast: dict) -> dict:
    """Did more data hurt? The contrast's rise (the threshold window over the best smaller N)
    judged with its floor (``verdicts.judge``): "effect" only when it is significant and at
    least the pooled seed spread of the cells compared; otherwise the smallest rise the test
    could have detected goes with it."""
    return verdicts.judge(
        contrast["rise"],
        contrast["rise_p"],
        floor=contrast["rise_floor"],
        standard_error=contrast["rise_standard_error"],
        minimum_detectable=contrast["rise_minimum_detectable"],
        alpha=contrast["alpha"],
    )


def threshold_shift(curves: Sequence[dict]) -> list[dict]:
    """At each noise level: the narrowest and the widest curve's threshold N, and per seed.

    The sign test counts the seeds whose wide threshold is the larger (ties
    left out), one-sided exact binomial p (``scipy.stats.binomtest``).
    """
    shifts = []
    for label_noise in sorted({c["label_noise"] for c in curves}):
        level = sorted(
            (c for c in curves if c["label_noise"] == label_noise), key=lambda c: c["width"]
        )
        if len(level) < 2:
            continue
        narrow, wide = level[0], level[-1]
        pairs = [
            (a, b)
            for a, b in zip(
                narrow["per_seed_threshold_n_train"], wide["per_seed_threshold_n_train"]
            )
            if a is not None and b is not None
        ]
        larger = sum(b > a for a, b in pairs)
        smaller = sum(b < a for a, b in pairs)
        untied = larger + smaller
        shift = {
            "label_noise": label_noise,
            "narrow_width": narrow["width"],
            "wide_width": wide["width"],
            "narrow_threshold_n_train": narrow["threshold_n_train"],
            "wide_threshold_n_train": wide["threshold_n_train"],
            "narrow_next_n_train": _next(narrow),
            "wide_next_n_train": _next(wide),
            "seeds_compared": len(pairs),
            "seeds_wide_larger": larger,
            "seeds_wide_smaller": smaller,
            "sign_test_p": (
                float(scipy_stats.binomtest(larger, untied, 0.5, alternative="greater").pvalue)
                if untied
                else math.nan
            ),
        }
        both = narrow["threshold_n_train"] is not None and wide["threshold_n_train"] is not None
        shift["ratio"] = (
            wide["threshold_n_train"] / narrow["threshold_n_train"] if both else math.nan
        )
        shift["wide_larger"] = bool(
            both and wide["threshold_n_train"] > narrow["threshold_n_train"]
        )
        shift |= shift_size(shift, narrow, wide)
        shifts.append(shift)
    return shifts


def shift_size(shift: dict, narrow: dict, wide: dict) -> dict:
    """The threshold's move judged by its size: the ratio of the two thresholds against the
    seed-spread floor of the per-seed thresholds (``verdicts.spread_floor`` of their log2,
    pooled over the two widths, as a ratio), with the sign test's p.

    A ratio inside the floor is a move two seeds of one width make between
    themselves. The sign test over n seeds cannot reach p below 2^-n, which is
    its detectable limit.
    """
    logs = [
        np.log2([n for n in curve["per_seed_threshold_n_train"] if n is not None])
        for curve in (narrow, wide)
    ]
    floor = 2 ** verdicts.spread_floor(*logs)
    p = shift["sign_test_p"]
    judged = verdicts.judge(
        shift["ratio"] if math.isfinite(shift["ratio"]) else math.nan,
        p if math.isfinite(p) else None,
        floor=floor,
    )
    return {
        "floor_ratio": judged["floor"],
        "verdict": judged["verdict"],
        "smallest_p": 0.5 ** shift["seeds_compared"] if shift["seeds_compared"] else math.nan,
    }


def _next(curve: dict) -> int | None:
    window = curve["threshold"]["window"]
    return None if window is None else curve["n_train"][window[1]]


def summarize(config: Config, cells: dict, *, n_params: dict, n_pool: int, n_test: int) -> dict:
    """The study's results from the per-(noise, width, N) cells."""
    rows = [
        cell_row(q, w, n, n_params[w], cells[(q, w, n)])
        for q in config.label_noises
        for w in config.widths
        for n in config.n_train
    ]
    # The verdicts come from with_verdicts alone, the function a committed file is reanalysed
    # with, so a run and a reanalysis of its file cannot disagree.
    return with_verdicts({"n_pool": n_pool, "n_test": n_test, "rows": rows})


def with_verdicts(document: dict) -> dict:
    """The document with every verdict recomputed from the per-seed numbers in its rows.

    Pure: works on the run's own dict or on a JSON-loaded one and returns a new
    document. Rebuilds each curve (threshold from the training errors, the
    pre-registered contrast, "more data hurt" with its floor, the exploratory
    scan), ``threshold_contrasts``, ``threshold_shift`` (with its size) and
    ``verdicts``, one ``{"name", "verdict", "estimate", "floor"}`` per verdict
    for the seed-block comparison.
    """
    out = copy.deepcopy(document)
    rows = out["rows"]
    curves = []
    for q in sorted({r["label_noise"] for r in rows}):
        for w in sorted({r["width"] for r in rows if r["label_noise"] == q}):
            own = sorted(
                (r for r in rows if r["label_noise"] == q and r["width"] == w),
                key=lambda r: r["n_train"],
            )
            curves.append(curve_summary(q, w, own))
    out["curves"] = curves
    out["threshold_contrasts"] = [
        {
            "name": c["name"],
            "metric": "test_error",
            "axis": "n_train",
            "window_values": c.get("window_values", []),
            **(
                c["contrast"]
                if c["contrast"] is not None
                else {
                    "tested": False,
                    "significant": False,
                    "verdict": "not tested",
                    "qualifies": False,
                    "reason": c["threshold"]["reason"],
                }
            ),
        }
        for c in curves
    ]
    out["threshold_shift"] = threshold_shift(curves)
    listed = []
    for curve in curves:
        hurt = curve.get("more_data_hurt")
        listed.append(
            {
                "name": f"more data hurt: {curve['name']}",
                "verdict": hurt["verdict"] if hurt else "not tested",
                "estimate": hurt["estimate"] if hurt else None,
                "floor": hurt["floor"] if hurt else None,
            }
        )
    for shift in out["threshold_shift"]:
        listed.append(
            {
                "name": f"threshold moves with width: label noise {shift['label_noise']:g}",
                "verdict": shift["verdict"],
                "estimate": shift["ratio"],
                "floor": shift["floor_ratio"],
            }
        )
    out["verdicts"] = listed
    return out
