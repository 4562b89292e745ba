r"""Width sweeps: group widths, pad and mask them, and train each group in one compiled call.

Models of different widths have different shapes, so they cannot share one
``vmap``. We partition the sorted widths into contiguous *groups*; every model
of a group is padded to the group's width :math:`P` (rounded up to a multiple
of 8 for the vector units) with the extra hidden units masked (see
``models.init_padded``), so a group is one compiled program.

Choosing the groups trades compile time against padding waste. ``plan_groups``
minimises, by dynamic programming over contiguous partitions,

.. math::
    \sum_{\text{groups}} \Big(c_\text{compile} + \frac{\text{epochs}\cdot
    \lceil n_\text{members}/n_\text{dev}\rceil n_\text{dev}\cdot 6N\,p(P)}{r}\Big),

with :math:`p(P)` the parameter count at the padded width and :math:`r` a
flop rate. Padding everything to the largest width would cost almost 3x the
flops of the 2..200 grid (and fall out of cache); one group per width pays a
compile per width.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp

from jaxnn import models, train


@dataclasses.dataclass(frozen=True)
class WidthGroup:
    """Widths trained together, padded to ``padded_width``."""

    padded_width: int
    widths: tuple[int, ...]

    @property
    def name(self) -> str:
        return f"w{self.widths[0]:03d}-{self.widths[-1]:03d}_p{self.padded_width:03d}"


def round_up(value: int, multiple: int) -> int:
    return multiple * math.ceil(value / multiple)


def plan_groups(
    widths: Sequence[int],
    *,
    depth: int = 2,
    input_dim: int = 8,
    output_dim: int = 8,
    n_train: int = 100,
    epochs: int = 10_000,
    members_per_width: int = 1,
    n_devices: int = 1,
    compile_seconds: float = 2.0,
    flops_per_second: float = 5e10,
    multiple: int = 8,
) -> list[WidthGroup]:
    """Partitions sorted unique ``widths`` into groups that minimise estimated wall time.

    The defaults are what we measured on a 2-core CPU (see ``experiments/bench_sweep.py``).
    """
    widths = sorted(set(int(w) for w in widths))
    if not widths or widths[0] < 1:
        raise ValueError(f"widths: need widths >= 1, got {widths}")

    def group_cost(i: int, j: int) -> float:
        padded = round_up(widths[j - 1], multiple)
        members = round_up((j - i) * members_per_width, n_devices)
        params = models.parameter_count((input_dim, *[padded] * depth, output_dim))
        return compile_seconds + epochs * members * 6 * n_train * params / flops_per_second

    best = [0.0] + [math.inf] * len(widths)
    split = [0] * (len(widths) + 1)
    for j in range(1, len(widths) + 1):
        for i in range(j):
            cost = best[i] + group_cost(i, j)
            if cost < best[j]:
                best[j], split[j] = cost, i
    groups, j = [], len(widths)
    while j > 0:
        i = split[j]
        groups.append(WidthGroup(round_up(widths[j - 1], multiple), tuple(widths[i:j])))
        j = i
    return groups[::-1]


def width_group_members(
    key: jax.Array,
    group: WidthGroup,
    x_train: jax.Array,
    y_train: jax.Array,
    *,
    depth: int,
    learning_rate: float,
    weight_decay: float = 0.0,
    init_scheme: str = "torch_uniform",
) -> tuple[train.Members, list[tuple[int, int]]]:
    """Members for every (width, seed) of a group: ``x_train`` is ``[seed, N, d]``.

    Member order is width-major: ``[(width, seed) for width in group for seed]``.
    The init key of a member is ``fold_in(fold_in(key, width), seed)``, so a
    model's initial weights do not depend on which group it lands in.
    """
    n_seeds, _, input_dim = x_train.shape
    output_dim = y_train.shape[-1]
    pairs = [(w, s) for w in group.widths for s in range(n_seeds)]
    widths = jnp.asarray([w for w, _ in pairs])
    seeds = jnp.asarray([s for _, s in pairs])
    padded_sizes = (input_dim, *[group.padded_width] * depth, output_dim)
    hidden = jnp.repeat(widths[:, None], depth, axis=1)

    # Keys on the host, one scalar fold_in at a time: a vmapped fold_in inside the
    # jitted draw would add threefry call sites, each compiled anew for every group.
    init_keys = jnp.stack([jax.random.fold_in(jax.random.fold_in(key, w), s) for w, s in pairs])
    shuffle_keys = jnp.stack([jax.random.fold_in(k, 1) for k in init_keys])

    @jax.jit
    def draw(init_keys, hidden):
        params = jax.vmap(
            lambda k, h: models.init_padded(k, h, padded_sizes, init_scheme=init_scheme)
        )(init_keys, hidden)
        masks = jax.vmap(lambda h: models.hidden_masks_for(h, padded_sizes[1:-1]))(hidden)
        return params, masks

    params, masks = draw(init_keys, hidden)
    count = len(pairs)
    members = train.Members(
        params=params,
        learning_rate=jnp.full((count,), learning_rate, jnp.float32),
        weight_decay=jnp.full((count,), weight_decay, jnp.float32),
        x_train=x_train[seeds],
        y_train=y_train[seeds],
        shuffle_key=shuffle_keys,
        hidden_masks=masks,
    )
    return members, pairs


def run_width_sweep(
    key: jax.Array,
    groups: Sequence[WidthGroup],
    x_train: jax.Array,
    y_train: jax.Array,
    x_test: jax.Array,
    y_test: jax.Array,
    config: train.TrainConfig,
    *,
    depth: int = 2,
    learning_rate: float = 1e-3,
    init_scheme: str = "torch_uniform",
    mesh=None,
    progress: Callable[[int], None] | None = None,
    load_group: Callable[[WidthGroup], dict | None] = lambda group: None,
    save_group: Callable[[WidthGroup, dict], None] = lambda group, result: None,
) -> dict[int, dict]:
    """Trains every width of every group over all seeds of ``x_train[seed, N, d]``.

    ``load_group``/``save_group`` let the caller keep finished groups (resume);
    a group that ``load_group`` returns is not retrained.

    Returns:
        ``{width: {"train_loss": [seed, epoch], "test_loss": [seed, k],
        "test_epochs": [k], "final_train_loss": [seed], "first_epoch_below":
        [seed, threshold], "diverged": [seed]}}``.
    """
    n_seeds = x_train.shape[0]
    results = {}
    for group in groups:
        stored = load_group(group)
        if stored is None:
            members, _ = width_group_members(
                key, group, x_train, y_train, depth=depth, learning_rate=learning_rate,
                init_scheme=init_scheme,
            )
            result = train.train(config, members, x_test, y_test, mesh=mesh, progress=progress)
            stored = {
                name: getattr(result, name)
                for name in ("train_loss", "test_loss", "test_epochs", "final_train_loss",
                             "first_epoch_below", "diverged")
            }
            save_group(group, stored)
        elif progress is not None:
            progress(config.epochs)
        for index, width in enumerate(group.widths):
            rows = slice(index * n_seeds, (index + 1) * n_seeds)
            results[width] = {
                name: (value if name == "test_epochs" else value[rows])
                for name, value in stored.items()
            }
    return results
