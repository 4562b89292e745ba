"""The members of a vmapped sweep: their settings grid, their construction, their outputs' spread.

A sweep trains every (weight decay, learning rate, seed) combination of a grid
in one vmapped call (``train.train``). Members that share a seed share the
training set, the initial parameters and the mini-batch order, so settings are
compared on *paired* runs (common random numbers): a difference between two
rates is not confounded with a different data draw or initialization. Each
seed ``s`` owns the key ``fold_in(key, s)``, split into named streams by
``fold_in`` tags: ``INIT_STREAM``, ``SHUFFLE_STREAM`` and, for measurements
that draw probes, ``CURVATURE_STREAM`` (``jaxnn.curvature.curvature_keys``).

``output_spread`` detects a network that collapsed to a constant output (with
LeCun init a too-large rate kills every ReLU and leaves the loss at Var(y)
without any NaN): the mean over outputs of the standard deviation of its
predictions over the inputs, compared with that of the targets.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn import precision, train
from jaxnn.streams import CURVATURE_STREAM, INIT_STREAM, SHUFFLE_STREAM  # noqa: F401


class Grid(NamedTuple):
    """The settings of every member of one vmapped sweep, ``[member]`` each.

    Members are ordered weight decay (outer), learning rate, seed (inner).
    """

    learning_rate: np.ndarray
    weight_decay: np.ndarray
    seed: np.ndarray


def make_grid(
    learning_rates: Sequence[float], seeds: int, weight_decays: Sequence[float] = (0.0,)
) -> Grid:
    """Every (weight decay, learning rate, seed) combination as flat ``[member]`` arrays.

    Example:
        >>> grid = make_grid([0.1, 0.2], seeds=2)
        >>> grid.learning_rate.tolist(), grid.seed.tolist()
        ([0.1, 0.1, 0.2, 0.2], [0, 1, 0, 1])
    """
    if seeds < 1:
        raise ValueError(f"seeds: must be >= 1, got {seeds}")
    decay, rate, seed = np.meshgrid(
        np.asarray(weight_decays, np.float64),
        np.asarray(learning_rates, np.float64),
        np.arange(seeds),
        indexing="ij",
    )
    return Grid(rate.ravel(), decay.ravel(), seed.ravel())


def build_members(
    key: jax.Array,
    grid: Grid,
    x_train: jax.Array,
    y_train: jax.Array,
    *,
    family,
    width: int,
    init_scheme: str,
) -> train.Members:
    """The ``train.Members`` of a sweep: seed ``s`` uses training set ``s`` and its own init.

    Args:
        key: the init/shuffle key; seed ``s`` draws from ``fold_in(key, s)``.
        grid: the member settings (``make_grid``).
        x_train, y_train: ``[seed, N, ...]`` training sets.
        family: the model family (``jaxnn.models.MLPFamily``); its input and output
            sizes must match the data's.
        width: hidden units per layer (channels of a CNN).
        init_scheme: see ``jaxnn.models``.

    Raises:
        ValueError: naming ``family`` when the network's parameters do not fit the data.
    """
    params_of = lambda k: family.init(k, width, width, init_scheme=init_scheme)  # noqa: E731
    _check_shapes(family, params_of, x_train, y_train)
    seed = jnp.asarray(grid.seed)
    params, key_shuffle = _member_draws(family, width, init_scheme)(key, seed)
    return train.Members(
        params=params,
        learning_rate=jnp.asarray(grid.learning_rate),
        weight_decay=jnp.asarray(grid.weight_decay),
        x_train=x_train[seed],
        y_train=y_train[seed],
        shuffle_key=key_shuffle,
    )


# One compiled program per (family, width, scheme): drawn op by op, the keys and every
# layer's initializers are dozens of small eager programs, each compiled once.
@functools.lru_cache(maxsize=32)
def _member_draws(family, width: int, init_scheme: str):
    def draw(key, seed):
        seed_keys = jax.vmap(lambda s: jax.random.fold_in(key, s))(seed)
        key_init = jax.vmap(lambda k: jax.random.fold_in(k, INIT_STREAM))(seed_keys)
        key_shuffle = jax.vmap(lambda k: jax.random.fold_in(k, SHUFFLE_STREAM))(seed_keys)
        init = lambda k: family.init(k, width, width, init_scheme=init_scheme)  # noqa: E731
        return jax.vmap(init)(key_init), key_shuffle

    return jax.jit(draw)


def for_config(config, grid: Grid, dataset, key: jax.Array) -> train.Members:
    """``build_members`` for a study config: its ``model()`` on each seed's data.

    ``config`` has ``model()``, ``width`` and ``init_scheme``; ``dataset`` has
    ``x_train`` and ``y_train`` shaped ``[seed, N, ...]`` (``jaxnn.data.make_dataset``).
    """
    return build_members(
        key,
        grid,
        dataset.x_train,
        dataset.y_train,
        family=config.model(),
        width=config.width,
        init_scheme=config.init_scheme,
    )


def _check_shapes(family, params_of, x_train, y_train) -> None:
    """The network maps one training input to an output shaped like one target (no compute)."""
    params = jax.eval_shape(params_of, jax.random.key(0))
    try:
        output = jax.eval_shape(family.apply, params, x_train[0, :1])
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"family: {family} does not take inputs of shape {tuple(x_train.shape[2:])}: {error}"
        ) from None
    if y_train.ndim == 3 and output.shape[1:] != y_train.shape[2:]:
        raise ValueError(
            f"family: {family} gives outputs of shape {output.shape[1:]}, "
            f"the targets have {tuple(y_train.shape[2:])}"
        )


@functools.lru_cache(maxsize=8)
def _output_spread_fn(family, matmul_precision: str):
    def spread(params, x):
        return jnp.mean(jnp.std(family.apply(params, x), axis=0))

    return jax.jit(precision.pinned(jax.vmap(spread), matmul_precision))


def output_spread(family, params, x, *, matmul_precision: str = precision.DEFAULT) -> np.ndarray:
    """``[member]``: mean over outputs of the std over inputs of each member's predictions.

    Args:
        family: the model family (hashable: one compiled function per family).
        params: ``[member, ...]`` parameters.
        x: ``[member, N, ...]`` inputs.
        matmul_precision: see ``jaxnn.precision``.
    """
    return np.asarray(_output_spread_fn(family, matmul_precision)(params, x))


def target_spread(y) -> np.ndarray:
    """``[member]``: mean over outputs of the std over samples of targets ``y[member, N, O]``."""
    return np.asarray(jnp.mean(jnp.std(y, axis=-2), axis=-1))


def loss_curves(
    grid: Grid, train_loss: np.ndarray, first_epoch_below: np.ndarray, points: int = 150
) -> list[dict]:
    """Per learning rate of the members without weight decay: log-spaced loss curves per seed.

    Args:
        grid: the member settings.
        train_loss: ``[member, epoch]`` training losses after 0..T epochs.
        first_epoch_below: ``[member]`` first epoch below a level (-1: never); its median
            over the seeds is reported only when every seed got there.
        points: about this many log-spaced epochs (``train.log_spaced_epochs``).

    Returns:
        Per rate ``{"learning_rate", "epochs", "train_loss" (seed median),
        "train_loss_per_seed", "first_epoch_below_convergence_level"}``.
    """
    epochs = train.log_spaced_epochs(train_loss.shape[1] - 1, points)
    curves = []
    for rate in np.unique(grid.learning_rate[grid.weight_decay == 0]):
        index = np.flatnonzero((grid.learning_rate == rate) & (grid.weight_decay == 0))
        first = first_epoch_below[index]
        curves.append(
            {
                "learning_rate": float(rate),
                "epochs": epochs.tolist(),
                "train_loss": np.median(train_loss[index][:, epochs], axis=0).tolist(),
                "train_loss_per_seed": train_loss[index][:, epochs].tolist(),
                "first_epoch_below_convergence_level": (
                    float(np.median(first)) if (first >= 0).all() else None
                ),
            }
        )
    return curves
