r"""MNIST-1D (Greydanus & Kobak 2020): generated locally, cached, with per-seed label noise.

MNIST-1D is ten 1-D digit templates, each padded, scaled, sheared, translated,
blurred with correlated noise and sampled to 40 points
(``mnist1d.data.make_dataset``); no download is involved. "Understanding Deep
Learning" (Prince, §8.4) and the mnist1d repository's
``notebooks/deep-double-descent.ipynb`` use it for deep double descent with
16,000 samples split 25 % / 75 %: 4,000 training and 12,000 test examples.

``make_dataset`` draws from NumPy's global generator after reseeding it with
``seed`` (42 by default). We call it once per configuration, restore the
global generator afterwards (no hidden side effect on the caller), and cache
the arrays under the runs folder; everything random in jaxnn itself (label
noise, initialization, batch order) comes from ``jax.random`` keys.

Label noise as in the notebook: each training label is, with probability
:math:`q`, replaced by a class drawn uniformly from all ten (so it keeps its
value with probability 1/10 and :math:`0.9q` of the labels end up wrong).
Test labels stay clean.
"""

from __future__ import annotations

import dataclasses
import zipfile
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn import io

NUM_CLASSES = 10
INPUT_LENGTH = 40
# The widths of the double-descent notebook's curves: MLP hidden units and CNN channels.
NOTEBOOK_MLP_WIDTHS = tuple(int(w) for w in np.unique(np.geomspace(2, 300, 20).astype(int)))
NOTEBOOK_CNN_WIDTHS = (*range(2, 30, 2), *range(30, 101, 5))


@dataclasses.dataclass(frozen=True, kw_only=True)
class MNIST1DConfig:
    """The arguments of ``mnist1d.data.make_dataset`` that jaxnn sets (the rest are its defaults).

    Attributes:
        num_samples: examples generated in all (16,000 in the double-descent notebook).
        train_split: the fraction that becomes the training set (0.25: 4,000).
        seed: mnist1d's own generator seed (its default, 42).
    """

    num_samples: int = 16_000
    train_split: float = 0.25
    seed: int = 42

    def __post_init__(self):
        if self.num_samples < 2 * NUM_CLASSES:
            raise ValueError(
                f"num_samples: need at least {2 * NUM_CLASSES}, got {self.num_samples}"
            )
        if not 0 < self.train_split < 1:
            raise ValueError(f"train_split: need a fraction in (0, 1), got {self.train_split}")
        if not 0 <= self.seed < 2**32:
            raise ValueError(f"seed: need an integer in 0..2**32-1, got {self.seed}")

    @property
    def n_train(self) -> int:
        """Training examples: mnist1d keeps ``num_samples // 10`` per class, then splits."""
        return int(self.num_samples // NUM_CLASSES * NUM_CLASSES * self.train_split)


class Dataset(NamedTuple):
    """``x_train[N, 40]`` float32, ``y_train[N]`` int32 and the test set likewise."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def generate(config: MNIST1DConfig) -> Dataset:
    """Runs ``mnist1d.data.make_dataset`` (seconds); NumPy's global generator is left as it was."""
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    vars(args).update(dataclasses.asdict(config))  # num_samples, train_split, seed
    state = np.random.get_state()
    try:
        raw = make_dataset(args)
    finally:
        np.random.set_state(state)
    x, y, x_test, y_test = (raw[k] for k in ("x", "y", "x_test", "y_test"))
    return Dataset(
        x.astype(np.float32), y.astype(np.int32), x_test.astype(np.float32), y_test.astype(np.int32)
    )


def cache_path(config: MNIST1DConfig, cache_dir) -> Path:
    return Path(cache_dir) / f"mnist1d-{io.config_hash(config)}.npz"


def load(config: MNIST1DConfig, cache_dir=None) -> Dataset:
    """The dataset of ``config``, from ``cache_dir`` if it was generated before.

    A cache file that cannot be read (truncated, corrupt) is regenerated and
    rewritten; without ``cache_dir`` nothing is written.
    """
    if cache_dir is None:
        return generate(config)
    path = cache_path(config, cache_dir)
    if path.exists():
        try:
            arrays = io.load_arrays(path)
            return Dataset(*(arrays[name] for name in Dataset._fields))
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            pass  # regenerated and rewritten below
    dataset = generate(config)
    io.save_arrays(path, **dataset._asdict())
    return dataset


def corrupt_labels(
    key: jax.Array, labels: jax.Array, fraction: float, num_classes: int = NUM_CLASSES
) -> jax.Array:
    """Replaces each label, with probability ``fraction``, by a uniformly drawn class.

    The uniform draws and the new classes come from two streams of ``key``, so
    for one key a larger ``fraction`` relabels a superset of the examples a
    smaller one does (label-noise levels are paired comparisons).
    """
    if not 0 <= fraction <= 1:
        raise ValueError(f"label_noise: need a fraction in [0, 1], got {fraction}")
    key_which, key_class = jax.random.split(key)
    labels = jnp.asarray(labels)
    replace = jax.random.uniform(key_which, labels.shape) < fraction
    drawn = jax.random.randint(key_class, labels.shape, 0, num_classes, labels.dtype)
    return jnp.where(replace, drawn, labels)
