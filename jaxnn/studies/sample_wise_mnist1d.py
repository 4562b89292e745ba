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
  that every N is measured on. Seed s's training set of size N is the first N
  examples of its permutation of the pool (``nested_orders``), with its label
  noise drawn once on the whole pool, and its initialization is the same at
  every N and noise level, so a seed is paired across the N axis;
- *training*: the width study's optimizer through one ``jaxnn.width_sweep``
  call, each (noise level, N) a named training set. Every N gets the same
  number of SGD **steps** (``steps``; epochs = steps × B / N, rounded), not the
  same number of epochs: with a fixed epoch count a large N costs in
  proportion, and a small N gets so few steps that its training error can stay
  above 0 from too little optimization rather than too much data. With a fixed
  step budget every cell costs the same, the training error rises with N, and
  the threshold is what the definition asks: the most examples this procedure
  fits. The default budget, 8,000 steps (200 epochs at N = 4,000), fits the CPU
  default into about five minutes; ``FULL`` uses 20,000 (the width study's
  500 epochs at N = 4,000);
- *threshold* (from the **training** error only): the largest N at which every
  seed fits every training label (``locate_threshold``); the pre-registered
  window is that N and the next larger one;
- *test* (``jaxnn.peaks.threshold_contrast``): is the seed's mean test error
  over the window above its test error at some smaller N (*rise*: more data
  hurt; Bonferroni over the smaller N's) and above the largest N (*excess*)?
  An exploratory scan (``peaks.peak_of``, Holm) is kept beside it;
- *sizes* (``jaxnn.verdicts``): "more data hurt" only when the rise is
  significant and at least its seed-spread floor; sample-wise double descent
  only when the largest N also undoes at least half of that rise;
- *movement of the threshold* (``threshold_shift``): the wide model's threshold
  N against the narrow one's, at each noise level and per seed (a sign test),
  sized by their ratio against the seed spread of the per-seed thresholds.

``with_verdicts`` recomputes every verdict from the per-seed numbers in the
result file, so a committed file gets new criteria without retraining. The
sentences and Markdown are in ``sample_wise_mnist1d_text``.
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
DEFAULT_N_TRAIN = (1000, 1500, 2000, 2500, 3000, 4000, 5000, 6000, 8000, 12000)
# --full: the default's sizes and eight more, from 500 to 16,000.
FULL_N_TRAIN = tuple(sorted({*DEFAULT_N_TRAIN, 500, 800, 1200, 1800, 3500, 7000, 10_000, 16_000}))


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
        if not all(math.isfinite(q) and 0 <= q <= 1 for q in self.label_noises):
            raise ValueError(f"label_noises: need fractions in [0, 1], got {self.label_noises}")
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


def _per_seed(key: jax.Array, seeds: int, draw) -> np.ndarray:
    """``draw(fold_in(key, s))`` for each seed s, stacked on a leading seed axis."""
    return np.stack([np.asarray(draw(jax.random.fold_in(key, s))) for s in range(seeds)])


def nested_orders(key: jax.Array, pool_size: int, seeds: int) -> np.ndarray:
    """``order[seed, pool]``: seed s's permutation of the pool, from ``fold_in(key, s)``.

    Seed s's training set of size N is ``order[s, :N]``: a prefix of every
    larger one of the same seed.
    """
    return _per_seed(key, seeds, lambda k: jax.random.permutation(k, pool_size))


def noisy_pool_labels(
    key: jax.Array, labels: np.ndarray, label_noise: float, seeds: int
) -> np.ndarray:
    """``y[seed, pool]``: the pool's labels with seed s's noise (``fold_in(key, s)``).

    Drawn once on the whole pool, so an example keeps its (noisy) label at every
    N, and a larger noise level relabels a superset of a smaller one's examples.
    """
    return _per_seed(key, seeds, lambda k: mnist1d.corrupt_labels(k, labels, label_noise))


def training_set(
    x_pool: np.ndarray, y_pool: np.ndarray, order: np.ndarray, n_train: int
) -> tuple[np.ndarray, np.ndarray]:
    """``x[seed, N, 40]`` and ``y[seed, N]``: every seed's first N examples of its ``order``
    (``[seed, pool]``), from ``x_pool[pool, 40]`` and its labels ``y_pool[seed, pool]``."""
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
        reason = "every N up to the largest is fitted exactly: the threshold lies beyond the grid"
        return {"index": index, "window": None, "monotone": monotone, "reason": reason}
    return {"index": index, "window": [index, index + 1], "monotone": monotone}


def per_seed_thresholds(train_error_per_seed: Sequence[Sequence[float]], n_train) -> list:
    """Each seed's largest N with training error 0 (``None`` where it fits none)."""
    values = np.asarray(train_error_per_seed, np.float64)  # [cell, seed]
    fitted = [np.flatnonzero(column == 0) for column in values.T]
    return [int(n_train[cells[-1]]) if cells.size else None for cells in fitted]


def set_name(label_noise: float, n_train: int) -> str:
    """The name of one (noise level, N) training set in the ``width_sweep`` call."""
    return f"label noise {label_noise:g}, N {n_train}"


def run(config: Config, *, mesh=None, run_dir=None, progress=None) -> dict:
    """Trains every (label noise, N, width, seed) in one ``jaxnn.width_sweep`` call, each
    (label noise, N) a named training set, and summarises the curves.

    A member's draws do not depend on the other sets of the call. The generated dataset is
    cached in ``run_dir.cache_dir``; finished width groups are saved in ``run_dir`` and
    reused when it was opened with ``resume``.
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
            sets[set_name(label_noise, n_train)] = dataset._replace(x_train=x, y_train=y)._asdict()
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
    rows = []
    for label_noise in config.label_noises:
        for width in config.widths:
            for n_train in config.n_train:
                row = cell_row(result, label_noise, width, n_train)
                # width_sweep's steps= rounds steps / (N / B) to whole epochs, as epochs_at does.
                if row["epochs"] != config.epochs_at(n_train):
                    raise RuntimeError(
                        f"{set_name(label_noise, n_train)}: {row['epochs']} epochs, "
                        f"not {config.epochs_at(n_train)}"
                    )
                rows.append(row)
    # The verdicts come from with_verdicts alone, the function a committed file is reanalysed
    # with, so a run and a reanalysis of its file cannot disagree.
    return with_verdicts(
        {"n_pool": len(dataset.y_train), "n_test": len(dataset.y_test), "rows": rows}
    )


def cell_row(result, label_noise: float, width: int, n_train: int) -> dict:
    """One row of a ``width_sweep`` result: the cell's settings, and every metric's final seed
    mean, standard error and values (NaN for a diverged seed)."""
    name = set_name(label_noise, n_train)
    diverged = np.asarray(result.diverged[(name, 0, width)], bool)
    row = {
        "label_noise": label_noise,
        "width": width,
        "n_params": result.n_params[width],
        "n_train": n_train,
        "epochs": result.sets[name]["epochs"],
        "steps": result.sets[name]["steps"],
        "seeds": int(diverged.size),
        "n_diverged": int(np.sum(diverged)),
    }
    for metric in METRICS:
        final = np.asarray(result.curves[(name, 0, width)][metric])[:, -1]
        values = np.asarray(np.where(diverged, np.nan, final), np.float64)
        summary_ = stats.seed_summary(values)
        row[metric] = summary_["mean"]
        row[f"{metric}_standard_error"] = summary_["standard_error"]
        row[f"{metric}_per_seed"] = values.tolist()
    return row


def curve_summary(label_noise: float, width: int, rows: Sequence[dict]) -> dict:
    """One curve's threshold (training error), pre-registered contrast and scan (test error)."""
    n_train = [row["n_train"] for row in rows]
    train = [row["train_error_per_seed"] for row in rows]
    threshold = locate_threshold(train)
    test = [row["test_error_per_seed"] for row in rows]
    scan = peaks.peak_of(test)  # the exploratory scan, Holm over the N's scanned
    if scan is not None:
        scan = {"metric": "test_error", **scan}
        if scan["index"] is not None:
            scan |= {"n_train": n_train[scan["index"]], "dip_n_train": n_train[scan["dip_index"]]}
    curve = {
        "name": curve_name(width, label_noise),
        "label_noise": label_noise,
        "width": width,
        "n_params": rows[0]["n_params"],
        "n_train": n_train,
        "threshold": threshold,
        "threshold_n_train": None if threshold["index"] is None else n_train[threshold["index"]],
        "per_seed_threshold_n_train": per_seed_thresholds(train, n_train),
        "test_error_scan": scan,
    }
    if threshold["index"] is not None:
        curve["params_per_example"] = rows[0]["n_params"] / n_train[threshold["index"]]
    if threshold["window"] is None:
        curve["contrast"] = None
        return curve
    # The window is the threshold's N and the next larger one (the first N some seed misses).
    contrast = peaks.contrast_at_threshold(test, n_train, n_train[threshold["index"]], neighbour=1)
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
        # Did more data hurt? The rise judged with its floor and its detectable size.
        curve["more_data_hurt"] = verdicts.judge(
            contrast["rise"],
            contrast["rise_p"],
            floor=contrast["rise_floor"],
            standard_error=contrast["rise_standard_error"],
            minimum_detectable=contrast["rise_minimum_detectable"],
            alpha=contrast["alpha"],
        )
    return curve


def threshold_shift(curves: Sequence[dict]) -> list[dict]:
    """At each noise level: the narrowest and the widest curve's threshold N, and per seed.

    The sign test counts the seeds whose wide threshold is the larger (ties
    left out), one-sided exact binomial p (``scipy.stats.binomtest``); the move is
    judged by the ratio of the two thresholds (``verdicts.judge``).
    """
    shifts = []
    for label_noise in sorted({c["label_noise"] for c in curves}):
        level = sorted(
            (c for c in curves if c["label_noise"] == label_noise), key=lambda c: c["width"]
        )
        if len(level) < 2:
            continue
        narrow, wide = level[0], level[-1]
        seeds = zip(narrow["per_seed_threshold_n_train"], wide["per_seed_threshold_n_train"])
        pairs = [(a, b) for a, b in seeds if a is not None and b is not None]
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
        ratio = wide["threshold_n_train"] / narrow["threshold_n_train"] if both else math.nan
        # The size: the ratio against the seed-spread floor of the per-seed thresholds
        # (verdicts.spread_floor of their log2, pooled over the two widths, as a ratio): a ratio
        # inside it is a move two seeds of one width make between themselves.
        logs = [
            np.log2([n for n in curve["per_seed_threshold_n_train"] if n is not None])
            for curve in (narrow, wide)
        ]
        p = shift["sign_test_p"]
        judged = verdicts.judge(
            ratio, p if math.isfinite(p) else None, floor=2 ** verdicts.spread_floor(*logs)
        )
        shift |= {
            "ratio": ratio,
            "wide_larger": bool(both and wide["threshold_n_train"] > narrow["threshold_n_train"]),
            "floor_ratio": judged["floor"],
            "verdict": judged["verdict"],
            # the sign test over n seeds cannot reach p below 2^-n: its detectable limit
            "smallest_p": 0.5 ** len(pairs) if pairs else math.nan,
        }
        shifts.append(shift)
    return shifts


def _next(curve: dict) -> int | None:
    window = curve["threshold"]["window"]
    return None if window is None else curve["n_train"][window[1]]


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
    untested = {"tested": False, "significant": False, "verdict": "not tested", "qualifies": False}
    out["threshold_contrasts"] = [
        {
            "name": c["name"],
            "metric": "test_error",
            "axis": "n_train",
            "window_values": c.get("window_values", []),
            **(c["contrast"] or untested | {"reason": c["threshold"]["reason"]}),
        }
        for c in curves
    ]
    out["threshold_shift"] = threshold_shift(curves)
    hurt = [c.get("more_data_hurt") or {"verdict": "not tested"} for c in curves]
    out["verdicts"] = [
        {
            "name": f"more data hurt: {c['name']}",
            **{k: h.get(k) for k in ("verdict", "estimate", "floor")},
        }
        for c, h in zip(curves, hurt)
    ] + [
        {
            "name": f"threshold moves with width: label noise {shift['label_noise']:g}",
            "verdict": shift["verdict"],
            "estimate": shift["ratio"],
            "floor": shift["floor_ratio"],
        }
        for shift in out["threshold_shift"]
    ]
    return out
