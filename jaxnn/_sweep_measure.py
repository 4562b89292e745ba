"""Statistics of a width sweep's members at recorded epochs and at a matched-loss snapshot.

``make_measure`` gives ``sweep.run_width_sweep`` its ``measure(cells, members,
result)``: for every member, the gradient statistics of ``jaxnn.gradstats``
(the full-gradient norm :math:`\\|\\nabla L\\|^2`, the mini-batch variance and the
noise scale), the Hessian's top eigenvalue :math:`\\lambda_\\max` (Lanczos) and
trace (Hutchinson, with its standard error) of ``jaxnn.curvature``, and the
output spread (the mean over outputs of the standard deviation of the
predictions over the training inputs: a network collapsed to a constant output
has 0), at ``config.record_epochs`` and, with ``config.snapshot_below``, at the
parameters of the first epoch whose training loss is below that level (the
runs compared at a matched training loss, as in the implicit-regularization study).

Computed on each member's *narrow* parameters (cut from the padded ones), so
padded directions never enter the Hessian; on the member's own training set
(its N rows, never the rows of weight 0 that pad it), gradient statistics in
batches of ``config.batch_size`` in order (a partial last batch left out).
Every (member, epoch) parameter set of one width is one entry of a single
``jit(vmap)`` program, called on fixed-size batches of sets (the last one
padded), so the cost is a few compiled calls, not one call per member and epoch.

Probes. A member of width w and seed s draws its curvature probes from
``fold_in(fold_in(fold_in(fold_in(key, w), s), CURVATURE_STREAM), tag)``: tag k
at record slot k, ``SNAPSHOT_PROBE`` at the snapshot. The Lanczos start vector
is drawn from that key, the Hutchinson probes from ``fold_in(that key,
TRACE_PROBE)``. A run is so determined by its (width, seed) and the call's key:
members that differ only in hyperparameters or training set share their probes
(paired comparisons), and adding a statistic or a snapshot shifts no other draw.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn import _streams as streams
from jaxnn import curvature, gradstats, objectives, precision

# The curvature probe of the snapshot: a slot tag no record epoch reaches (record slot k
# uses tag k), so adding a snapshot never shifts the probes of the recorded epochs.
SNAPSHOT_PROBE = 2**20
LANCZOS_ITERATIONS, TRACE_SAMPLES = curvature.TOP_EIGENVALUE_ITERATIONS, curvature.TRACE_SAMPLES
TRACE_PROBE = 1  # folded into a probe key for the Hutchinson probes (Lanczos uses the key)
GRADIENT_STATISTICS = ("grad_norm_sq", "batch_grad_variance", "noise_scale")
CURVATURE_STATISTICS = ("top_eigenvalue", "hessian_trace", "hessian_trace_standard_error")
# Floats held per parameter set in one call besides its activations (the Lanczos basis,
# batch gradients, probes): the batch of sets per call is capped at about 1 GiB of them.
_SET_BUDGET = 2**28


def probe_key(key: jax.Array, width: int, seed: int, tag: int) -> jax.Array:
    """The curvature probe key of member (width, seed) at record slot ``tag`` (see above)."""
    member = jax.random.fold_in(jax.random.fold_in(key, width), seed)
    return jax.random.fold_in(jax.random.fold_in(member, streams.CURVATURE_STREAM), tag)


def make_measure(
    family, objective, names, config, key, *, lanczos_iterations: int, trace_samples: int
) -> Callable:
    """``measure(cells, members, result) -> {name: array}``: ``statistic_<name>[member,
    record epoch]`` and, with a snapshot, ``snapshot_epoch[member]`` (-1: never reached) and
    ``snapshot_statistic_<name>[member]`` (``nan`` where never reached)."""
    snapshot = config.snapshot_below is not None
    slots = len(config.record_epochs)
    names = tuple(names)
    settings = (config.batch_size, lanczos_iterations, trace_samples, config.matmul_precision)

    def measure(cells, members, result) -> dict[str, np.ndarray]:
        out = {"snapshot_epoch": np.asarray(result.snapshot_epoch)} if snapshot else {}
        if not names:
            return out
        values = {name: np.full((len(cells), slots + snapshot), np.nan) for name in names}
        # [member, slot, ...] host parameters: the recorded epochs, then the snapshot.
        parts = [] if not slots else [jax.tree.map(np.asarray, result.recorded_params)]
        if snapshot:
            parts.append(jax.tree.map(lambda a: np.asarray(a)[:, None], result.snapshot_params))
        params = jax.tree.map(lambda *a: np.concatenate(a, axis=1), *parts)
        tags = [*range(slots), *([SNAPSHOT_PROBE] if snapshot else [])]
        blocks: dict[tuple[int, int], list[int]] = {}  # (width, N): members of one program
        for member, (_, n_train, width, _) in enumerate(cells):
            blocks.setdefault((width, n_train), []).append(member)
        for (width, n_train), members_of_block in blocks.items():
            index = np.asarray(members_of_block)
            narrow = _narrow(family, params, index, width)
            seeds = np.repeat([cells[m][3] for m in index], len(tags))
            keys = jax.vmap(functools.partial(probe_key, key, width))(
                jnp.asarray(seeds), jnp.asarray(np.tile(tags, len(index)))
            )
            data = tuple(
                jnp.asarray(np.asarray(a)[index, :n_train])
                for a in (members.x_train, members.y_train)
            )
            owner = np.repeat(np.arange(len(index)), len(tags))  # each set's row of ``data``
            fn = _statistics_fn(family, objective, names, *settings)
            batch = _sets_per_call(narrow, settings)
            stats = _batched(functools.partial(fn, *data), (narrow, owner, keys), batch)
            for name in names:
                values[name][index] = stats[name].reshape(len(index), len(tags))
        if snapshot:  # a member that never reached the level has no snapshot to measure
            missing = out["snapshot_epoch"] < 0
            for name in names:
                values[name][missing, slots] = np.nan
        out |= {f"statistic_{name}": value[:, :slots] for name, value in values.items()}
        if snapshot:
            out |= {f"snapshot_statistic_{n}": value[:, slots] for n, value in values.items()}
        return out

    return measure


def _narrow(family, params, index: np.ndarray, width: int):
    """``[set, ...]`` narrow parameters of members ``index``, member-major over their slots."""
    _, shapes, _ = family.abstract(width)

    def cut(leaf, target):
        block = leaf[index][(slice(None), slice(None), *(slice(0, s) for s in target.shape))]
        return jnp.asarray(block.reshape(-1, *target.shape))

    return jax.tree.map(cut, params, shapes)


def _sets_per_call(narrow, settings) -> int:
    """Parameter sets per compiled call: every set, up to ``_SET_BUDGET`` floats of them."""
    count = jax.tree.leaves(narrow)[0].shape[0]
    size = sum(math.prod(leaf.shape[1:]) for leaf in jax.tree.leaves(narrow))
    _, iterations, samples, _ = settings
    return max(1, min(count, _SET_BUDGET // (size * (iterations + samples + 8))))


def _batched(fn, args, batch: int) -> dict[str, np.ndarray]:
    """``fn`` over the leading axis of ``args`` in calls of ``batch`` sets (the last padded by
    repeating its last set, so every call has one shape and ``fn`` compiles once)."""
    count = jax.tree.leaves(args)[0].shape[0]
    outputs = []
    for start in range(0, count, batch):
        index = np.minimum(np.arange(start, start + batch), count - 1)
        outputs.append(fn(*jax.tree.map(lambda a, i=index: a[i], args)))
    return {
        name: np.concatenate([np.asarray(o[name]) for o in outputs])[:count] for name in outputs[0]
    }


@functools.lru_cache(maxsize=32)
def _statistics_fn(family, objective, names, batch_size, iterations, samples, matmul_precision):
    """``jit(vmap(one set's statistics))`` on ``(x, y, params, owner, probe key)``: each
    parameter set measured on the training set ``x[owner], y[owner]`` of its member."""
    loss_fn = objectives.make_loss_fn(family, objective)
    common = {"matmul_precision": matmul_precision}

    def one(params, x, y, key) -> dict[str, jax.Array]:
        values = {}
        if any(n in GRADIENT_STATISTICS for n in names):
            usable = (x.shape[0] // batch_size) * batch_size
            stats = gradstats.gradient_stats(
                loss_fn, params, x[:usable], y[:usable], batch_size, **common
            )
            values |= {n: stats[n] for n in names if n in GRADIENT_STATISTICS}
        if "top_eigenvalue" in names:
            values["top_eigenvalue"] = curvature.hessian_top_eigenvalue(
                loss_fn, params, x, y, key=key, iterations=iterations, **common
            )
        if "hessian_trace" in names or "hessian_trace_standard_error" in names:
            trace, error = curvature.hessian_trace(
                loss_fn, params, x, y, key=jax.random.fold_in(key, TRACE_PROBE),
                num_samples=samples, **common,
            )  # fmt: skip
            values |= {"hessian_trace": trace, "hessian_trace_standard_error": error}
        if "output_spread" in names:
            outputs = precision.pinned(family.apply, matmul_precision)(params, x)
            values["output_spread"] = jnp.mean(jnp.std(outputs, axis=0))
        return {n: values[n] for n in names}

    def one_of(x_all, y_all, params, owner, key):
        return one(params, x_all[owner], y_all[owner], key)

    return jax.jit(jax.vmap(one_of, in_axes=(None, None, 0, 0, 0)))
