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

What it measures (Belkin et al. 2019; Nakkiran et al. 2019, "Deep double descent"),
in ``double_descent_mnist1d_analysis``:

- the *interpolation threshold*, the smallest width at which every seed reaches
  training error 0, and the pre-registered peak test there
  (``threshold_contrast``): double descent only when the rise is significant and
  at least one seed-to-seed standard deviation, and the widest model undoes at
  least half of it (``jaxnn.verdicts``: Nakkiran et al. 2019, Fig. 1); a rise
  that stays up is overfitting that levels off;
- an exploratory peak of the test error and of the test cross-entropy (``peak_of``);
- whether label noise grows the rise (Nakkiran et al. 2019, §4; ``noise_growth``);
- epoch-wise double descent in every (width, epoch) cell (``epochwise_test``);
- the published single-seed curves against our seed means (``compare_with_published``).

``with_verdicts`` recomputes every verdict from the per-seed numbers the result
file holds, so a committed file gets new criteria without retraining. The
sentences and Markdown are in ``double_descent_mnist1d_text``.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxnn
from jaxnn import mnist1d, models, precision, stats, validation
from jaxnn.studies import NoProgress
from jaxnn.studies.double_descent_mnist1d_analysis import (
    METRICS,
    MODELS,
    curve_name,
    summarize,
    with_verdicts,
)
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
    "sweep_options",
    "with_verdicts",
]

MAX_WIDTH = {"mlp": 4096, "cnn": 1024}
MODEL_STREAM = {"mlp": 0, "cnn": 1}  # fold_in tag of each model's init keys
NOTEBOOK_MLP_WIDTHS = mnist1d.NOTEBOOK_MLP_WIDTHS
NOTEBOOK_CNN_WIDTHS = mnist1d.NOTEBOOK_CNN_WIDTHS
DEFAULT_CNN_WIDTHS = (*range(2, 26, 2), 30, 40, 100)


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

    @property
    def name(self) -> str:
        return curve_name(self.model, self.label_noise)


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
            for e in stats.log_spaced_epochs(self.epochs, self.epochwise_points)
            if 0 < e < chunk
        )


MODULES = {"mlp": models.MNIST1DMLP, "cnn": models.MNIST1DCNN}


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
    labels, keys = jnp.asarray(dataset.y_train), [jax.random.fold_in(key, s) for s in range(seeds)]
    noisy = jnp.stack([mnist1d.corrupt_labels(k, labels, label_noise) for k in keys])
    x = jnp.broadcast_to(jnp.asarray(dataset.x_train), (seeds, *dataset.x_train.shape))
    return x, noisy


def sweep_calls(curves: Sequence[Curve]) -> list[tuple[str, int, tuple[int, ...], tuple]]:
    """``(model, seeds, widths, curves)``: the ``width_sweep`` calls that train ``curves``.

    A call trains each of its training sets (curves) at each of its widths with
    one seed count, so the curves of a model share a call at the widths where
    they train the same number of seeds: one call per model when the curves
    agree, otherwise one per (width tier, seed count). A member's draws are the
    same in whichever call it trains.

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


@functools.cache
def _sgd(learning_rate: float, momentum: float) -> optax.GradientTransformation:
    # One transformation per setting: the calls of one model then share compiled programs.
    return optax.sgd(learning_rate, momentum=momentum)


def sweep_options(config: Config, key_init: jax.Array, model: str) -> dict:
    """The ``jaxnn.width_sweep`` arguments of every call of ``model`` besides its module,
    data, widths and seeds (``jaxnn.benchmark_mnist1d`` times the MLP's call with them)."""
    return dict(
        loss="softmax_cross_entropy",
        optimizer=_sgd(config.learning_rate, config.momentum),
        epochs=config.epochs,
        batch_size=config.batch_size,
        record_epochs=config.record_epochs(),
        key=jax.random.fold_in(key_init, MODEL_STREAM[model]),
        eval_batch_size=config.eval_batch_size,
        matmul_precision=config.matmul_precision,
    )


def run(config: Config, *, mesh=None, run_dir=None, progress=None) -> dict:
    """Trains every curve with ``jaxnn.width_sweep`` (``sweep_calls``) and summarises them.

    The generated dataset is cached in ``run_dir.cache_dir``; finished width groups are
    saved in ``run_dir`` and reused when it was opened with ``resume``.
    """
    progress = progress or NoProgress()
    dataset = mnist1d.load(config.data, run_dir.cache_dir if run_dir else None)
    key_noise, key_init = jax.random.split(jax.random.key(config.seed))
    noisy = {
        curve.name: np.asarray(
            training_sets(key_noise, dataset, curve.label_noise, curve.max_seeds)[1]
        )
        for curve in config.curves
    }
    cells, plan = {}, {f"{c.model}_q{c.label_noise:g}": [] for c in config.curves}
    for model, seeds, widths, curves in sweep_calls(config.curves):
        result = jaxnn.width_sweep(
            MODULES[model],
            {c.name: dataset._replace(y_train=noisy[c.name][:seeds])._asdict() for c in curves},
            widths=widths,
            seeds=seeds,
            **sweep_options(config, key_init, model),
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
                    **{metric: trained[metric] for metric in METRICS},
                    "test_epochs": result.epochs[curve.name],
                    "n_params": result.n_params[width],
                    "diverged": result.diverged[(curve.name, 0, width)],
                }
            # Each group lists the curves (sets) it trained: a group may train several.
            plan[f"{curve.model}_q{curve.label_noise:g}"] += [
                group | {"seeds": seeds}
                for group in result.config["groups"]
                if curve.name in group["data"]
            ]
    n_train, n_test = len(dataset.y_train), len(dataset.y_test)
    return summarize(config, cells, n_train=n_train, n_test=n_test, groups=plan)
