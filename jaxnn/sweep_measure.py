"""Statistics of a width sweep's members at recorded epochs and at a matched-loss snapshot.

``make_measure`` gives ``sweep.run_width_sweep`` its ``measure(cells, members,
result)``: for every member, the gradient statistics of ``jaxnn.gradstats``
(the full-gradient norm :math:`\\|\\nabla L\\|^2`, the mini-batch variance and the
noise scale) and the Hessian's top eigenvalue :math:`\\lambda_\\max` of
``jaxnn.curvature`` (Lanczos), at ``config.record_epochs`` and, with
``config.snapshot_below``, at the parameters of the first epoch whose training
loss is below that level (the runs compared at a matched training loss, as in
the implicit-regularization study).

Computed on each member's *narrow* parameters (cut from the padded ones), so
padded directions never enter the Hessian; on the member's own training set,
in batches of ``config.batch_size`` in order (a partial last batch left out).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn import curvature, gradstats, module_family, objectives, streams

# The curvature probe of the snapshot: a slot tag no record epoch reaches (record slot k
# uses tag k), so adding a snapshot never shifts the probes of the recorded epochs.
SNAPSHOT_PROBE = 2**20


def make_measure(family, objective, names, config, key) -> Callable:
    """``measure(cells, members, result) -> {name: array}``: ``statistic_<name>[member,
    record epoch]`` and, with a snapshot, ``snapshot_epoch[member]`` (-1: never reached) and
    ``snapshot_statistic_<name>[member]`` (``nan`` where never reached)."""
    loss_fn = objectives.make_loss_fn(family, objective)
    snapshot = config.snapshot_below is not None
    slots = len(config.record_epochs)

    def measure(cells, members, result) -> dict[str, np.ndarray]:
        out = {"snapshot_epoch": np.asarray(result.snapshot_epoch)} if snapshot else {}
        values = {name: np.full((len(cells), slots + snapshot), np.nan) for name in names}
        for member, (_, _, width, seed) in enumerate(cells):
            for slot in range(slots + snapshot) if names else ():
                if slot == slots:  # the snapshot
                    if out["snapshot_epoch"][member] < 0:
                        continue
                    padded = jax.tree.map(lambda a, m=member: a[m], result.snapshot_params)
                    probe = SNAPSHOT_PROBE
                else:
                    padded = jax.tree.map(
                        lambda a, m=member, r=slot: a[m, r], result.recorded_params
                    )
                    probe = slot
                params = jax.tree.map(
                    jnp.asarray, module_family.unpad_params(family, padded, width)
                )
                stats = _statistics(
                    loss_fn, names, params, members.x_train[member], members.y_train[member],
                    config, jax.random.fold_in(jax.random.fold_in(key, width), seed), probe,
                )  # fmt: skip
                for name, value in stats.items():
                    values[name][member, slot] = value
        out |= {f"statistic_{name}": value[:, :slots] for name, value in values.items()}
        if snapshot:
            out |= {f"snapshot_statistic_{n}": value[:, slots] for n, value in values.items()}
        return out

    return measure


def _statistics(loss_fn, names, params, x, y, config, seed_key, probe) -> dict[str, float]:
    """Every statistic of ``names`` of one member's narrow ``params``."""
    values = {}
    gradient_names = [n for n in names if n != "top_eigenvalue"]
    if gradient_names:
        usable = (x.shape[0] // config.batch_size) * config.batch_size
        stats = gradstats.gradient_stats(
            loss_fn,
            params,
            x[:usable],
            y[:usable],
            config.batch_size,
            matmul_precision=config.matmul_precision,
        )
        values |= {name: float(stats[name]) for name in gradient_names}
    if "top_eigenvalue" in names:
        probe_key = jax.random.fold_in(
            jax.random.fold_in(seed_key, streams.CURVATURE_STREAM), probe
        )
        values["top_eigenvalue"] = float(
            curvature.hessian_top_eigenvalue(
                loss_fn, params, x, y, key=probe_key, matmul_precision=config.matmul_precision
            )
        )
    return values
