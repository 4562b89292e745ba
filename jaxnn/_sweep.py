r"""Width sweeps: group widths, pad them, and train each group in one compiled call.

The private machinery behind ``jaxnn.width_sweep``. Models of different widths
have different shapes, so they cannot share one ``vmap``. We partition the
sorted widths into contiguous *groups*; every model of a group is drawn at its
true width and embedded in zeros at the group's width :math:`P` (rounded up to
a multiple of 8 for the vector units; ``jaxnn._module_family`` says why zeros
are exact and checks it), so a group is one compiled program. Training sets of
different sizes N can share a group too: the smaller ones are padded with rows
of weight 0 (``train.Members.example_weights``), at the price of computing the
padded rows.

Choosing the groups is a trade between compile time, per-step latency and
padded flops. ``plan_groups`` minimises, by dynamic programming over
contiguous partitions of the sorted widths, the estimated wall time

.. math::
    \sum_{\text{groups}} \Big(c_\text{compile} + T\,\big(S\,c_\text{step} +
    \lceil n_\text{members}/n_\text{dev}\rceil \cdot N_\text{pad}\,f(P)/r\big)\Big),

with :math:`T` the number of epochs, :math:`S` the optimizer steps per epoch
(N/B; 1 with full batches), :math:`f(P)` the model family's flops per example
at the padded width (:math:`6p(P)` for an MLP) and :math:`r` the flop rate of
one device. The constants depend
on the backend (``BACKEND_COSTS``): on a 2-core CPU a step of a small group
costs tens of microseconds and flops are scarce, so groups stay narrow; on a
GPU flops are plentiful and a step has a fixed launch cost, so a few large
groups win. ``plan_sweep`` plans every training-set size separately and all of
them jointly (N padded to the largest) and keeps the cheaper plan.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Container, Hashable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn import _train as train

MAX_WIDTH = 4096  # a padded 4096-wide group of 3 seeds already needs gigabytes of Adam state


@dataclasses.dataclass(frozen=True)
class BackendCosts:
    """The constants of the planner's wall-time model for one backend.

    Attributes:
        compile_seconds: compiling one group (initialization and chunk scans).
        step_seconds: the fixed cost of one compiled step of a group, whatever
            its size (dispatch of its kernels, loop overhead).
        flops_per_second: the rate of padded model flops on one device.
    """

    compile_seconds: float
    step_seconds: float
    flops_per_second: float


# CPU: measured on the project's 2-core machine with experiments/bench_sweep.py (one XLA
# device per core; a P = 8 group steps in about 40 us, a P = 200 group of 8 models at about
# 40 GFLOP/s per core). GPU: one H200 at full float32 (a one-group probe reached 12-16
# TFLOP/s on these shapes; the fixed step cost is an estimate, a few dozen fused kernels
# at a few microseconds each). TPU: not measured; set from the chip's order of magnitude.
BACKEND_COSTS = {
    "cpu": BackendCosts(compile_seconds=2.5, step_seconds=4e-5, flops_per_second=4e10),
    "gpu": BackendCosts(compile_seconds=5.0, step_seconds=5e-5, flops_per_second=1.2e13),
    "tpu": BackendCosts(compile_seconds=10.0, step_seconds=5e-5, flops_per_second=3e13),
}


def backend_costs(platform: str | None = None) -> BackendCosts:
    """The planner constants of ``platform`` (default: the platform JAX runs on)."""
    platform = platform or jax.devices()[0].platform
    return BACKEND_COSTS.get(platform, BACKEND_COSTS["gpu"])


@dataclasses.dataclass(frozen=True)
class WidthGroup:
    """Widths trained together, padded to ``padded_width``, for training-set sizes ``n_trains``."""

    padded_width: int
    widths: tuple[int, ...]
    n_trains: tuple[int, ...]

    @property
    def name(self) -> str:
        sizes = "-".join(str(n) for n in self.n_trains)
        return f"n{sizes}_w{self.widths[0]:03d}-{self.widths[-1]:03d}_p{self.padded_width:03d}"


def round_up(value: int, multiple: int) -> int:
    return multiple * math.ceil(value / multiple)


def step_flops(padded_width: int, members: int, rows: int, *, family) -> int:
    """Padded flops of ``members`` models on ``rows`` examples: ``rows * f(P)`` each (MLP: 6Np)."""
    return members * rows * family.flops_per_example(padded_width)


def plan_groups(
    widths: Sequence[int],
    *,
    family,
    n_trains: Sequence[int] = (100,),
    epochs: int = 10_000,
    steps_per_epoch: int = 1,
    members_per_width: int = 1,
    n_devices: int = 1,
    costs: BackendCosts = BACKEND_COSTS["cpu"],
    multiple: int = 8,
) -> list[WidthGroup]:
    """Partitions sorted unique ``widths`` into groups shared by all ``n_trains``.

    Each group holds ``members_per_width`` members per width and training-set
    size, every one computed at the largest N; ``steps_per_epoch`` is N/B
    with mini-batches (each step pays the fixed step cost).

    Returns:
        The groups of the cheapest partition, in order of width.
    """
    widths = sorted({int(w) for w in widths})
    if not widths or widths[0] < 1:
        raise ValueError(f"widths: need widths >= 1, got {widths}")
    n_trains = tuple(sorted({int(n) for n in n_trains}))

    def group_cost(i: int, j: int) -> float:
        group = WidthGroup(round_up(widths[j - 1], multiple), tuple(widths[i:j]), n_trains)
        return estimated_seconds(
            [group],
            family=family,
            epochs=epochs,
            steps_per_epoch=steps_per_epoch,
            members_per_width=members_per_width,
            n_devices=n_devices,
            costs=costs,
        )

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
        groups.append(WidthGroup(round_up(widths[j - 1], multiple), tuple(widths[i:j]), n_trains))
        j = i
    return groups[::-1]


def estimated_seconds(
    groups: Sequence[WidthGroup],
    *,
    family,
    epochs: int,
    steps_per_epoch: int = 1,
    members_per_width: int = 1,
    n_devices: int = 1,
    costs: BackendCosts = BACKEND_COSTS["cpu"],
) -> float:
    """The planner's wall-time model of training ``groups``: for each group, compile +
    epochs x (latency + flops / rate), its members split over ``n_devices``."""

    def seconds(group: WidthGroup) -> float:
        members = len(group.widths) * members_per_width * len(group.n_trains)
        per_device = math.ceil(members / n_devices)
        flops = step_flops(group.padded_width, per_device, max(group.n_trains), family=family)
        return costs.compile_seconds + epochs * (
            steps_per_epoch * costs.step_seconds + flops / costs.flops_per_second
        )

    return sum(seconds(group) for group in groups)


def plan_sweep(widths: Sequence[int], n_trains: Sequence[int], **options) -> list[WidthGroup]:
    """The cheaper of two plans: each training-set size on its own, or all sharing groups.

    ``options`` are those of ``plan_groups`` (``epochs``, ``costs``, ...).
    """
    n_trains = tuple(sorted({int(n) for n in n_trains}))
    separate = [g for n in n_trains for g in plan_groups(widths, n_trains=(n,), **options)]
    if len(n_trains) == 1:
        return separate
    joint = plan_groups(widths, n_trains=n_trains, **options)
    keys = ("family", "epochs", "steps_per_epoch", "members_per_width", "n_devices", "costs")
    estimate = functools.partial(
        estimated_seconds, **{k: v for k, v in options.items() if k in keys}
    )
    return joint if estimate(joint) < estimate(separate) else separate


# Initial draws compile at XLA's lowest optimization level: a draw runs once, and
# LLVM's passes over the unrolled threefry rounds cost about 10x the compile time
# (measured: 5 widths of a 3-layer NNX MLP in 24.8 s at the default level, 2.4 s here).
DRAW_COMPILER_OPTIONS = {
    "xla_backend_optimization_level": 0,
    "xla_llvm_disable_expensive_passes": True,
}


@functools.lru_cache(maxsize=32)
def _compiled_draw(family, counts: tuple[tuple[int, int], ...], padded_width: int):
    """One compiled program drawing ``count`` members at each ``(width, count)``, padded to one
    width; its argument is one ``[count]`` key array per width."""

    def draw(keys_by_width):
        blocks = []
        for (width, _), keys in zip(counts, keys_by_width):
            narrow = jax.vmap(lambda k, w=width: family.init(k, w))(keys)
            blocks.append(jax.vmap(lambda p: family.pad_params(p, padded_width))(narrow))
        return jax.tree.map(lambda *leaves: jnp.concatenate(leaves), *blocks)

    keys = [jax.ShapeDtypeStruct((count,), jax.random.key(0).dtype) for _, count in counts]
    return jax.jit(draw).lower(keys).compile(compiler_options=DRAW_COMPILER_OPTIONS)


def draw_initial_params(family, init_keys: jax.Array, widths: Sequence[int], padded_width: int):
    """``[member]`` initial parameters: each drawn at its true width, embedded at ``padded_width``.

    Member i's draw is ``family.init(init_keys[i], widths[i])`` (host integer widths),
    whatever its group, the padded width, the backend or the device count
    (``pad_params`` only adds zeros). One compiled program per group draws every width.
    """
    widths = [int(w) for w in widths]
    order = sorted(range(len(widths)), key=lambda i: (widths[i], i))
    distinct = sorted(set(widths))
    counts = tuple((w, widths.count(w)) for w in distinct)
    keys_by_width = [init_keys[np.asarray([i for i in order if widths[i] == w])] for w in distinct]
    draw = _compiled_draw(family, counts, padded_width)
    drawn = draw(keys_by_width)
    back = np.argsort(np.asarray(order))  # drawn in width order, returned in the given order
    return jax.tree.map(lambda a: a[back], drawn)


@dataclasses.dataclass(frozen=True)
class Variant:
    """One value of a sweep's extra member axis: its own training sets and hyperparameters.

    Attributes:
        training_sets: ``{N: (x_train[seed, N, ...], y_train[seed, N, ...])}``.
        hyperparams: ``{name: value}`` for the ``train.Optimizer`` factory.
    """

    training_sets: Mapping[int, tuple[jax.Array, jax.Array]]
    hyperparams: Mapping[str, float] = dataclasses.field(default_factory=dict)


def width_group_members(
    key: jax.Array,
    group: WidthGroup,
    variants: Mapping[Hashable, Variant],
    *,
    family,
) -> tuple[train.Members, list[tuple[Hashable, int, int, int]]]:
    """Members for every (variant, N, width, seed) of a group, in ``group_cells`` order, and
    that list.

    A member's init key is ``fold_in(fold_in(key, width), seed)``, so its initial
    weights depend neither on its group, nor on N, nor on the variant (variants are
    paired comparisons). With several N, every training set is padded to the largest
    with rows of weight 0.
    """
    cells = group_cells(group, variants)
    rows = max(group.n_trains)

    # Keys on the host, one scalar fold_in at a time: a vmapped fold_in inside the
    # jitted draw would add threefry call sites, each compiled anew for every group.
    init_keys = jnp.stack(
        [jax.random.fold_in(jax.random.fold_in(key, w), s) for _, _, w, s in cells]
    )
    shuffle_keys = jnp.stack([jax.random.fold_in(k, 1) for k in init_keys])
    params = draw_initial_params(family, init_keys, [w for _, _, w, _ in cells], group.padded_width)
    constants = jax.tree.map(
        lambda a: jnp.broadcast_to(a, (len(cells), *jnp.shape(a))),
        family.constants(group.padded_width),
    )
    # The training sets are tiled on the host: eager device ops would each compile once
    # per group shape. Width-major, seed-minor, as ``cells``.
    pad = lambda a, n: np.pad(a, [(0, 0), (0, rows - n)] + [(0, 0)] * (a.ndim - 2))  # noqa: E731
    repeat = lambda a: np.tile(a, (len(group.widths),) + (1,) * (a.ndim - 1))  # noqa: E731
    blocks = [
        tuple(pad(np.asarray(part), n) for part in variants[v].training_sets[n])
        for v in variants
        for n in group.n_trains
        if n in variants[v].training_sets
    ]
    x_train = jnp.asarray(np.concatenate([repeat(x) for x, _ in blocks]))
    y_train = jnp.asarray(np.concatenate([repeat(y) for _, y in blocks]))
    example_weights = None
    if len(group.n_trains) > 1:
        example_weights = jnp.asarray(
            np.arange(rows)[None, :] < np.asarray([n for _, n, _, _ in cells])[:, None], jnp.float32
        )
    members = train.Members(
        params=params,
        x_train=x_train,
        y_train=y_train,
        shuffle_key=shuffle_keys,
        constants=constants,
        example_weights=example_weights,
        hyperparams=_hyperparams(variants, cells),
    )
    return members, cells


def group_cells(group: WidthGroup, variants: Mapping[Hashable, Variant]) -> list[tuple]:
    """``(variant, N, width, seed)`` of every member of a group, in training order.

    A variant trains at each N it has a training set for (``jaxnn.width_sweep``
    gives each variant, one named training set, only its own N).
    """
    n_seeds = next(iter(next(iter(variants.values())).training_sets.values()))[0].shape[0]
    return [
        (v, n, w, s)
        for v in variants
        for n in group.n_trains
        if n in variants[v].training_sets
        for w in group.widths
        for s in range(n_seeds)
    ]


def _hyperparams(variants: Mapping[Hashable, Variant], cells) -> dict | None:
    """``{name: [member]}`` from the variants' optimizer hyperparameters (``None``: none)."""
    names = sorted({name for v in variants.values() for name in v.hyperparams})
    if not names:
        return None
    return {
        name: jnp.asarray([variants[v].hyperparams[name] for v, *_ in cells], jnp.float32)
        for name in names
    }


RESULT_FIELDS = (
    "train_loss",
    "test_loss",
    "test_epochs",
    "final_train_loss",
    "first_epoch_below",
    "diverged",
)


def result_arrays(result: train.TrainResult) -> dict[str, np.ndarray]:
    """What a sweep keeps of a ``TrainResult``: ``RESULT_FIELDS`` plus every metric.

    Besides the loss, every metric of the objective on the test set is
    ``test_<metric>`` (e.g. ``test_error``), and every metric on the member's
    own training set at the same ``test_epochs`` is ``train_set_<metric>``
    (``train_set_loss``, ``train_set_error``): ``train_loss`` is the per-epoch curve.
    """
    arrays = {name: getattr(result, name) for name in RESULT_FIELDS}
    arrays.update(
        {f"test_{name}": value for name, value in result.test_metrics.items() if name != "loss"}
    )
    arrays.update({f"train_set_{name}": value for name, value in result.train_metrics.items()})
    return arrays


def run_width_sweep(
    key: jax.Array,
    groups: Sequence[WidthGroup],
    variants: Mapping[Hashable, Variant],
    x_test: jax.Array,
    y_test: jax.Array,
    config: train.TrainConfig,
    *,
    mesh=None,
    progress: Callable[[int], None] | None = None,
    load_group: Callable[[WidthGroup], dict | None] = lambda group: None,
    save_group: Callable[[WidthGroup, dict], None] = lambda group, result: None,
    measure: Callable[..., dict[str, np.ndarray]] | None = None,
) -> dict[tuple, dict]:
    """Trains every (variant, N, width) of every group (``config.model``) over all its seeds.

    Every variant of a width trains in the same compiled group. A group that
    ``load_group`` returns is not retrained; each trained one goes to ``save_group``
    (resume). ``measure(cells, members, result)`` adds ``[member, ...]`` arrays of its
    own (statistics of the trained parameters), kept with the group. ``progress`` counts
    padded model flops in GFLOP (``group_gflop``), so the ETA weighs every group by its cost.

    Returns:
        ``{(variant, N, width): result}``, a result the ``result_arrays`` of its seeds
        (``[seed, ...]``; ``test_epochs`` is ``[k]``, shared).
    """
    results = {}
    for group in groups:
        cells = group_cells(group, variants)
        n_seeds = 1 + max(s for *_, s in cells)
        sizes = {v: variant.training_sets for v, variant in variants.items()}
        per_epoch = group_gflop(group, sizes, n_seeds, family=config.model)
        tick = None if progress is None else (lambda epochs, w=per_epoch: progress(epochs * w))
        stored = load_group(group)
        if stored is None:
            members, member_cells = width_group_members(key, group, variants, family=config.model)
            result = train.train(config, members, x_test, y_test, mesh=mesh, progress=tick)
            stored = result_arrays(result)
            if measure is not None:
                stored.update(measure(member_cells, members, result))
            save_group(group, stored)
        elif tick is not None:
            tick(config.epochs)
        for index in range(0, len(cells), n_seeds):
            variant, n, width, _ = cells[index]
            rows = slice(index, index + n_seeds)
            results[(variant, n, width)] = {
                name: (value if name == "test_epochs" else value[rows])
                for name, value in stored.items()
            }
    return results


def group_gflop(
    group: WidthGroup,
    sizes: Mapping[Hashable, Container[int]],
    n_seeds: int,
    *,
    family,
) -> float:
    """Padded model flops of one epoch of a group, in GFLOP: every (variant, N) member block
    that ``sizes`` (``{variant: its training-set sizes}``) holds, at the group's largest N."""
    blocks = sum(n in sizes[v] for v in sizes for n in group.n_trains)
    members = len(group.widths) * n_seeds * blocks
    return step_flops(group.padded_width, members, max(group.n_trains), family=family) / 1e9
