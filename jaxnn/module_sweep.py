r"""``width_sweep``: your own Flax NNX module, loss and optax optimizer, swept over widths.

One call trains every (training set, width, seed) and every combination of
swept optimizer hyperparameters, seed-averaged, through the engine the studies
use (``jaxnn._sweep``, ``jaxnn._train``): widths are grouped, each member drawn by
the module's own initializers at its true width and embedded in zeros at its
group's width (``jaxnn._module_family``), every group one compiled
``jit(vmap(lax.scan))`` over its members.

Training sets (``data={name: dict(...)}``, Nakkiran et al. 2019's sample-wise
and label-noise axes) are grouped by what one engine call shares: a test set
and an epoch count, and with mini-batches one N (an epoch of N/B steps is the
scan's length). At full batch, sets of different N share width groups, each
padded to the largest N with rows of weight 0, so its loss
:math:`\sum_i w_i \ell_i / \sum_i w_i` is its own set's mean.

Reproducibility: a member's initial parameters come from
``fold_in(fold_in(key, width), seed)`` and its mini-batch order from a
``fold_in`` of that key, for every training set alike; label noise is the
caller's ``y_train[seed, N]``. None of it depends on the group, the padded
width or N, the other sets, the backend or the device count, so ``widths=[8]``
or one set alone gives its numbers of any larger sweep (to float32 rounding of
the padded matmuls and sums).

Options, more fully than ``width_sweep``'s argument list:

- Labels are integer classes ``[N]`` or real targets ``[N, ...]``; a leading
  ``[seeds]`` axis on ``x_train``/``y_train`` is seed s's own draw (its label noise).
- ``steps``: a set of N trains ``round(steps / ⌈N/B⌉)`` whole epochs (at full batch
  exactly ``steps``); ``result.sets[name]["steps"]`` says how many. A last partial
  batch is used unless ``drop_last``.
- ``statistics`` (``jaxnn._sweep_measure``, which documents each member's probe keys),
  on the member's training set and its narrow model at ``record_epochs``: the
  full-gradient norm ``grad_norm_sq``, the mini-batch variance ``batch_grad_variance``
  and ``noise_scale`` (``jaxnn.gradstats``, batches of ``batch_size`` in order: these
  need a ``batch_size``), the Hessian's ``top_eigenvalue`` (``jaxnn.curvature``,
  Lanczos), ``hessian_trace`` and its standard error (Hutchinson), and
  ``output_spread`` (the mean over outputs of the predictions' standard deviation
  over the training inputs; 0 for a network collapsed to a constant).
- The training loss of an epoch is that of the parameters it starts from at full
  batch, else the mean of its mini-batch losses; the last entry is the whole set's
  loss at the end. ``final_window`` takes a median as float32 Adam bounces near zero
  loss; ``first_epoch_below`` is -1 for never (or only after diverging).
- ``snapshot_below`` compares runs at a matched training loss: ``snapshot_epoch`` and,
  with ``statistics``, ``snapshot_statistics``; it makes every epoch's training loss
  exact (one more forward pass an epoch with mini-batches).
- ``resume`` reuses a group, set by set, when module name, data, widths, seeds, loss,
  optimizer behaviour and settings are the same. ``compile_cache`` keeps one folder per
  user and machine (a folder you configured is kept). ``plan_epochs`` lets a short run,
  timed to project a longer one, train the longer run's groups.

Example::

    result = jaxnn.width_sweep(
        MyCNN, dict(x_train=x, y_train=y, x_test=xt, y_test=yt),
        widths=[2, 4, 8, 16, 32], seeds=3,
        loss="softmax_cross_entropy", optimizer=optax.sgd(0.05, momentum=0.9),
        epochs=150, batch_size=64,
    )
    result.summary()   # one dict per width: n_params, train_loss, train_loss_se, ...
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import itertools
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxnn import _module_family as module_family
from jaxnn import _sweep as sweep
from jaxnn import _sweep_checks as sweep_checks
from jaxnn import _sweep_measure as sweep_measure
from jaxnn import _train as train
from jaxnn import io, objectives
from jaxnn._sweep_checks import MAX_WIDTH, STATISTICS
from jaxnn.progress import make_reporter
from jaxnn.sweep_result import SweepResult

__all__ = [
    "LOSSES",
    "MAX_WIDTH",
    "STATISTICS",
    "SweepResult",
    "make_loss_objective",
    "make_optimizer",
    "width_sweep",
]

logger = logging.getLogger("jaxnn")

LOSSES = {
    "mse": lambda outputs, targets: jnp.mean(
        jnp.square(outputs - targets).reshape(outputs.shape[0], -1), axis=-1
    ),
    "softmax_cross_entropy": optax.losses.softmax_cross_entropy_with_integer_labels,
}


def make_loss_objective(loss, metrics: Mapping | None, integer_targets: bool):
    """The objective of ``loss`` (a ``LOSSES`` name or a per-example callable) and ``metrics``.

    With integer labels an ``error`` metric (the fraction misclassified) is
    added unless ``metrics`` names its own. The same loss and metric functions give
    the same ``Objective`` object, so sweeps that share them share compiled programs.
    """
    if metrics is not None and not isinstance(metrics, Mapping):
        raise ValueError(
            f"metrics: need a dict {{name: fn(outputs, labels) -> [N]}}, got {metrics!r}"
        )
    args = (loss, tuple((metrics or {}).items()), integer_targets)
    try:
        return _cached_objective(*args)
    except TypeError:  # an unhashable callable: build it afresh
        return _cached_objective.__wrapped__(*args)


@functools.lru_cache(maxsize=64)
def _cached_objective(loss, metrics: tuple, integer_targets: bool):
    if isinstance(loss, str):
        if loss not in LOSSES:
            raise ValueError(
                f"loss: unknown {loss!r}; choose one of {sorted(LOSSES)} or a callable"
            )
        name, loss_fn = loss, LOSSES[loss]
    else:
        name, loss_fn = getattr(loss, "__name__", "loss"), loss
    metrics = dict(metrics)
    if integer_targets:
        metrics.setdefault("error", objectives.per_example_error)
    return objectives.make_objective(
        loss_fn, metrics=metrics, integer_targets=integer_targets, name=name
    )


def make_optimizer(optimizer, hyperparams: Mapping | None) -> tuple[train.Optimizer, list[dict]]:
    """The engine's ``Optimizer`` and the grid of swept hyperparameter values.

    ``optimizer`` is an optax transformation, or with ``hyperparams`` a factory
    ``optimizer(**values) -> transformation``; each combination of the values
    in ``hyperparams`` (``{name: [values]}``) is a member axis.
    """
    if hyperparams:
        if isinstance(optimizer, optax.GradientTransformation) or not callable(optimizer):
            raise ValueError(
                "optimizer: to sweep hyperparams, pass a factory "
                "(e.g. lambda learning_rate: optax.sgd(learning_rate)), not a transformation"
            )
        if not isinstance(hyperparams, Mapping):
            raise ValueError(f"hyperparams: need a dict {{name: [values]}}, got {hyperparams!r}")
        names = tuple(hyperparams)
        grid = []
        for name in names:
            values = hyperparams[name]
            values = [values] if np.ndim(values) == 0 else list(values)
            if not values or not all(np.isfinite(float(v)) for v in values):
                raise ValueError(f"hyperparams: {name} needs finite values, got {values!r}")
            grid.append([float(v) for v in values])
        combos = [dict(zip(names, combo)) for combo in itertools.product(*grid)]
        probe = optimizer(**combos[0])
        if not isinstance(probe, optax.GradientTransformation):
            raise ValueError(
                f"optimizer: the factory returned {type(probe).__name__}, "
                "not an optax GradientTransformation"
            )
        return train.Optimizer(optimizer, names), combos
    try:
        return _fixed_optimizer(optimizer), [{}]
    except TypeError:  # unhashable: not a transformation, and Optimizer.of says so
        return train.Optimizer.of(optimizer), [{}]


# One ``Optimizer`` per transformation: sweeps with the same one share compiled programs.
_fixed_optimizer = functools.lru_cache(maxsize=64)(train.Optimizer.of)


# --- the sweep ----------------------------------------------------------------------------------


def _chunk_epochs(epochs: int) -> int:
    """The largest divisor of ``epochs`` giving at most 10 chunks: one scan length, and
    a progress update (and host transfer) every tenth of the run."""
    return next(epochs // chunks for chunks in range(10, 0, -1) if epochs % chunks == 0)


def _fingerprint(arrays: Mapping[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for name in sorted(arrays):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(arrays[name]).tobytes())
    return digest.hexdigest()[:16]


def _optimizer_fingerprint(optimizer: train.Optimizer, combination: dict) -> list[float]:
    """What the optimizer does to a fixed probe over 5 steps: a resume key that changes when
    its settings change (the transformation itself has no comparable value)."""
    tx = optimizer.factory(**combination)
    params = {"w": jnp.asarray([0.3, -0.7, 1.1, 0.0])}
    state = tx.init(params)
    trace = []
    for step in range(5):
        grads = {"w": jnp.asarray([0.5, -0.25, 1.0, 0.125]) * (step + 1)}
        updates, state = tx.update(grads, state, params)
        params = optax.apply_updates(params, updates)
        trace += [float(f"{v:.6g}") for v in np.asarray(params["w"])]
    return trace


def _checked_groups(spec, groups, x, y) -> tuple[list[sweep.WidthGroup], list[str]]:
    """The groups whose padding ``check_padding`` passed (probed on the first 32 rows of
    ``x[0]``, ``y[0]``); a failed group's widths apart, unpadded, each with one line saying why."""
    checked, notes = [], []
    probe = slice(0, min(32, x.shape[1]))
    for group in groups:
        width = group.widths[0]
        if width == group.padded_width:
            checked.append(group)
            continue
        member_key = jax.random.fold_in(jax.random.fold_in(spec.key, width), 0)
        params = sweep.draw_initial_params(
            spec.family, member_key[None], [width], group.padded_width
        )
        result = module_family.check_padding(
            spec.family,
            spec.objective,
            spec.optimizer.factory(**spec.combinations[0]),
            jax.tree.map(lambda a: a[0], params),
            width,
            group.padded_width,
            jnp.asarray(x[0, probe]),
            jnp.asarray(y[0, probe]),
            matmul_precision=spec.matmul_precision,
        )
        if result.ok:
            checked.append(group)
            continue
        note = (
            f"{spec.family.label}: padding width {width} to {group.padded_width} changes the "
            f"model ({result.detail}); training widths {', '.join(map(str, group.widths))} "
            "unpadded"
        )
        logger.warning(note)
        notes.append(note)
        checked += [sweep.WidthGroup(w, (w,), group.n_trains) for w in group.widths]
    return checked, notes


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Spec:
    """What every training set of one call shares: the model, loss, optimizer and settings."""

    family: module_family.ModuleFamily
    objective: objectives.Objective
    optimizer: train.Optimizer
    combinations: list
    widths: tuple[int, ...]
    seeds: int
    key: jax.Array
    batch_size: int | None
    drop_last: bool
    record_epochs: tuple[int, ...]
    statistics: tuple[str, ...]
    lanczos_iterations: int
    trace_samples: int
    loss_thresholds: tuple[float, ...]
    final_window: int
    snapshot_below: float | None
    eval_batch_size: int | None
    matmul_precision: str
    mesh: Any
    plan_epochs: int | None = None

    def train_config(self, epochs: int) -> train.TrainConfig:
        return train.TrainConfig(
            model=self.family,
            objective=self.objective,
            optimizer=self.optimizer,
            epochs=epochs,
            batch_size=self.batch_size,
            drop_last=self.drop_last,
            # A snapshot needs each epoch's exact loss: one more forward pass an epoch.
            train_loss_curve="batches" if self.snapshot_below is None else "full",
            chunk_epochs=_chunk_epochs(epochs),
            loss_thresholds=self.loss_thresholds,
            final_window=self.final_window,
            snapshot_below=self.snapshot_below,
            record_epochs=self.record_epochs,
            keep_recorded_params=bool(self.statistics and self.record_epochs),
            eval_batch_size=self.eval_batch_size,
            matmul_precision=self.matmul_precision,
        )


class _Bucket(NamedTuple):
    """Training sets trained by one ``run_width_sweep``: one test set and one epoch count
    (and with mini-batches one N, whose batches fix the steps of an epoch)."""

    names: tuple[str, ...]
    epochs: int


def _buckets(sets, schedule, batch_size) -> list[_Bucket]:
    """Sets grouped by what one engine call shares. At full batch, sets of different N share
    a bucket: the planner pads them to the largest N with rows of weight 0 where that pays."""
    buckets: dict[tuple, list[str]] = {}
    for name, arrays in sets.items():
        n_train = arrays["x_train"].shape[1]
        test = _fingerprint({k: arrays[k] for k in ("x_test", "y_test")})
        bucket_key = (test, schedule[name][0], None if batch_size is None else n_train)
        buckets.setdefault(bucket_key, []).append(name)
    return [_Bucket(tuple(names), key[1]) for key, names in buckets.items()]


def _variants(spec: _Spec, names, sets) -> dict[tuple[str, int], sweep.Variant]:
    """``{(set name, combination index): Variant}``: each set at its own N."""
    kind = jnp.int32 if spec.objective.integer_targets else jnp.float32
    variants = {}
    for name in names:
        arrays = sets[name]
        x = jnp.asarray(arrays["x_train"], jnp.float32)
        y = jnp.asarray(arrays["y_train"], kind)
        for index, combination in enumerate(spec.combinations):
            variants[(name, index)] = sweep.Variant({x.shape[1]: (x, y)}, hyperparams=combination)
    return variants


def _bucket_groups(spec: _Spec, bucket: _Bucket, sets, config) -> tuple[list, list[str]]:
    """The planned width groups of a bucket, those whose padding changes the model apart."""
    n_trains = sorted({sets[name]["x_train"].shape[1] for name in bucket.names})
    sets_per_n = max(
        sum(sets[name]["x_train"].shape[1] == n for name in bucket.names) for n in n_trains
    )
    groups = sweep.plan_sweep(
        spec.widths,
        n_trains,
        family=spec.family,
        epochs=spec.plan_epochs or config.epochs,
        steps_per_epoch=config.steps_per_epoch(n_trains[-1]),
        members_per_width=spec.seeds * len(spec.combinations) * sets_per_n,
        n_devices=1 if spec.mesh is None else spec.mesh.size,
        costs=sweep.backend_costs(),
    )
    first = sets[bucket.names[0]]
    return _checked_groups(spec, groups, first["x_train"], first["y_train"])


def _describe(spec: _Spec, sets, schedule) -> tuple[dict, dict]:
    """What the sweep was asked, JSON-ready: the shared settings and ``{set: its own}``."""
    common = {
        "module": spec.family.label,
        "widths": list(spec.widths),
        "seeds": spec.seeds,
        "loss": spec.objective.name,
        "metrics": list(spec.objective.metric_names),
        "optimizer": [_optimizer_fingerprint(spec.optimizer, c) for c in spec.combinations],
        "hyperparams": spec.combinations,
        "batch_size": spec.batch_size,
        "drop_last": spec.drop_last,
        "record_epochs": list(spec.record_epochs),
        "statistics": list(spec.statistics),
        # Only when a curvature statistic is asked for, so other sweeps keep their run keys.
        **(
            {"lanczos_iterations": spec.lanczos_iterations, "trace_samples": spec.trace_samples}
            if set(spec.statistics) & set(sweep_measure.CURVATURE_STATISTICS)
            else {}
        ),
        "loss_thresholds": list(spec.loss_thresholds),
        "final_window": spec.final_window,
        "snapshot_below": spec.snapshot_below,
        "key": [int(k) for k in np.ravel(jax.random.key_data(spec.key))],
        "conv_impl": spec.family.conv_impl,
        "matmul_precision": spec.matmul_precision,
    }
    per_set = {
        name: {
            "n_train": int(arrays["x_train"].shape[1]),
            "epochs": schedule[name][0],
            "steps": schedule[name][1],
            "shapes": {k: list(a.shape) for k, a in arrays.items()},
            "sha256": _fingerprint(arrays),
        }
        for name, arrays in sets.items()
    }
    return common, per_set


def _timed(measure, seconds: list[float]):
    """``measure``, adding its wall seconds to ``seconds`` (``None`` stays ``None``)."""
    if measure is None:
        return None

    def timed(*args):
        start = time.perf_counter()
        out = measure(*args)
        seconds.append(time.perf_counter() - start)
        return out

    return timed


def _train_buckets(spec: _Spec, sets, planned, run, tags, reporter, seconds) -> dict:
    """``{(set name, combination index, width): result}`` over every bucket; the seconds
    spent measuring statistics are appended to ``seconds``."""
    cells = {}
    for (bucket, config, groups), tag in zip(planned, tags):
        variants = _variants(spec, bucket.names, sets)
        x_test = jnp.asarray(sets[bucket.names[0]]["x_test"], jnp.float32)
        y_test = jnp.asarray(
            sets[bucket.names[0]]["y_test"],
            jnp.int32 if spec.objective.integer_targets else jnp.float32,
        )
        trained = sweep.run_width_sweep(
            spec.key,
            groups,
            variants,
            x_test,
            y_test,
            config,
            mesh=spec.mesh,
            progress=reporter,
            load_group=lambda g, t=tag: run.load_part(f"{t}_{g.name}") if run else None,
            save_group=lambda g, r, t=tag: run.save_part(f"{t}_{g.name}", r) if run else None,
            measure=_timed(
                sweep_measure.make_measure(
                    spec.family,
                    spec.objective,
                    spec.statistics,
                    config,
                    spec.key,
                    lanczos_iterations=spec.lanczos_iterations,
                    trace_samples=spec.trace_samples,
                )
                if spec.statistics or spec.snapshot_below is not None
                else None,
                seconds,
            ),
        )
        cells.update({(*variant, width): r for (variant, _, width), r in trained.items()})
    return cells


def width_sweep(
    module: Callable,
    data: Mapping[str, Any],
    *,
    widths: Sequence[int],
    seeds: int = 1,
    loss: str | Callable = "softmax_cross_entropy",
    optimizer: optax.GradientTransformation | Callable[..., optax.GradientTransformation],
    epochs: int | Mapping[str, int] | None = None,
    steps: int | Mapping[str, int] | None = None,
    batch_size: int | None = None,
    drop_last: bool = False,
    hyperparams: Mapping[str, Sequence[float]] | None = None,
    metrics: Mapping[str, Callable] | None = None,
    record_epochs: Sequence[int] = (),
    statistics: Sequence[str] = (),
    lanczos_iterations: int = sweep_measure.LANCZOS_ITERATIONS,
    trace_samples: int = sweep_measure.TRACE_SAMPLES,
    loss_thresholds: Sequence[float] = (),
    final_window: int = 1,
    snapshot_below: float | None = None,
    key: int | jax.Array = 0,
    eval_batch_size: int | None = None,
    conv_impl: str | None = None,
    matmul_precision: str = "highest",
    progress: bool | Callable = True,
    run_dir: str | Path | None = None,
    resume: bool = False,
    mesh: jax.sharding.Mesh | None = None,
    compile_cache: bool = True,
    plan_epochs: int | None = None,
) -> SweepResult:
    """Trains ``module`` at every width for every seed, swept hyperparameter and training set.

    Bad arguments raise ``ValueError`` naming the argument, before any compute. The module
    docstring says more of training sets, statistics, snapshots and reproducibility.

    Args:
        module: any callable ``(width, *, rngs) -> nnx.Module``: your class, unchanged.
        data: ``dict(x_train=[N, ...], y_train=[N] or [N, ...], x_test=..., y_test=...)``
            (``x_train``/``y_train`` may lead with ``[seeds]``), or ``{name: such a dict}``.
        widths: the widths to sweep (integers >= 1, each once).
        seeds: members per width, each its own initial draw and batch order.
        loss: ``"softmax_cross_entropy"`` (integer labels), ``"mse"`` or a callable
            ``(outputs, labels) -> per-example losses [N]``.
        optimizer: an optax ``GradientTransformation``; with ``hyperparams``, a factory of one.
        epochs: passes over each training set (an integer, or ``{name: integer}``).
        steps: instead of ``epochs``, optimizer steps per set (rounded to whole epochs).
        batch_size: examples per step (``None``: full batch).
        drop_last: skip each epoch's last partial batch.
        hyperparams: ``{name: [values]}``, every combination a further member axis.
        metrics: further ``{name: fn(outputs, labels) -> [N]}`` (``error`` with integer labels).
        record_epochs: epochs at which the metrics and ``statistics`` are also measured.
        statistics: any of ``STATISTICS``, measured at ``record_epochs`` (and the snapshot).
        lanczos_iterations: Hessian-vector products of each ``top_eigenvalue``.
        trace_samples: Rademacher probes (>= 2) of each ``hessian_trace``.
        loss_thresholds: record the first epoch whose training loss is below each.
        final_window: ``final_train_loss`` is the median over the last this many epochs.
        snapshot_below: keep each member's parameters at the first epoch below this loss.
        key: an integer seed or a ``jax.random.key``.
        eval_batch_size: evaluate the metrics this many examples at a time.
        conv_impl: ``"patches"`` (the CPU default) or ``"lax"`` (the accelerator default).
        matmul_precision: ``"highest"`` (exact float32) or a faster one (``jaxnn.precision``).
        progress: a progress bar on stderr (``True``), none (``False``), or a callable
            that ``start(total, unit)`` and ``(done)`` are sent to.
        run_dir: keep each finished width group here (a folder or a ``jaxnn.io.RunDirectory``).
        resume: reuse the finished groups of the same sweep found in ``run_dir``.
        mesh: shard the member axis over these devices (``jaxnn.placement.sweep_mesh()``).
        compile_cache: keep compiled programs on disk (``jaxnn.compile_cache``).
        plan_epochs: group the widths as for a run of this many epochs (a timed short run).

    Returns:
        A ``SweepResult``: ``summary()``, ``rows()``, ``table()``, ``save(path)``.
    """
    started = time.perf_counter()
    spec, sets, schedule = _checked_spec(**locals())
    reporter = make_reporter(progress, f"width_sweep {spec.family.label}")
    return _sweep(spec, sets, schedule, run_dir, resume, reporter, started)


def _checked_spec(
    *,
    module,
    data,
    widths,
    seeds,
    loss,
    optimizer,
    epochs,
    steps,
    hyperparams,
    metrics,
    key,
    eval_batch_size,
    conv_impl,
    matmul_precision,
    mesh,
    compile_cache,
    progress,
    started,
    **settings,
) -> tuple[_Spec, dict, dict]:
    """``width_sweep``'s arguments checked, each error naming its argument: its ``_Spec``,
    training sets and ``{set: (epochs, steps)}`` (``progress`` and ``started`` are its own)."""
    del progress, started
    seeds = sweep_checks.positive_int(seeds, "seeds")
    widths = sweep_checks.check_widths(widths)
    sets = sweep_checks.check_sets(data, seeds)
    sweep_checks.check_loss_labels(loss, sets)
    schedule = sweep_checks.check_schedule(
        sets, epochs, steps, settings["batch_size"], settings["drop_last"]
    )
    settings = sweep_checks.check_settings(sets, schedule, key=key, **settings)
    integer_targets = next(iter(sets.values()))["y_train"].dtype.kind in "biu"
    objective = make_loss_objective(loss, metrics, integer_targets)
    engine_optimizer, combinations = make_optimizer(optimizer, hyperparams)
    family = _family(module, sets, conv_impl, compile_cache)
    if integer_targets:
        for name, arrays in sets.items():
            where = "data" if len(sets) == 1 else f"data[{name!r}]"
            sweep_checks.check_labels(arrays, family.output_shape(widths[0]), where)
    spec = _Spec(
        family=family,
        objective=objective,
        optimizer=engine_optimizer,
        combinations=combinations,
        widths=widths,
        seeds=seeds,
        key=jax.random.key(key) if isinstance(key, int | np.integer) else key,
        eval_batch_size=eval_batch_size,
        matmul_precision=matmul_precision,
        mesh=mesh,
        **settings,
    )
    return spec, sets, schedule


def _family(module, sets, conv_impl, compile_cache) -> module_family.ModuleFamily:
    if compile_cache:
        from jaxnn import compile_cache as persistent_cache

        persistent_cache.enable()
    if conv_impl is None:
        from jaxnn import _fastconv as fastconv

        conv_impl = fastconv.default_conv_impl()
    input_shape = next(iter(sets.values()))["x_train"].shape[2:]
    return module_family.ModuleFamily(module, input_shape, conv_impl=conv_impl)


def _sweep(spec: _Spec, sets, schedule, run_dir, resume, reporter, started):
    """Plans every bucket of sets, trains them, and gathers the ``SweepResult``."""
    planned, notes = [], []
    for bucket in _buckets(sets, schedule, spec.batch_size):
        config = spec.train_config(bucket.epochs)
        groups, bucket_notes = _bucket_groups(spec, bucket, sets, config)
        planned.append((bucket, config, groups))
        notes += [n for n in bucket_notes if n not in notes]
    common, per_set = _describe(spec, sets, schedule)
    run = run_dir
    if run_dir is not None and not isinstance(run_dir, io.RunDirectory):
        description = {"config": {**common, "sets": per_set}}
        run = io.RunDirectory(run_dir, "width_sweep", description, resume=bool(resume))
    # Parts are named by what they hold (the shared settings and the bucket's own sets), so
    # sweeps sharing a run folder never mix, and a rerun with one set more reuses the rest.
    tags = [
        f"{spec.family.label}_"
        + io.config_hash({**common, "sets": {n: per_set[n] for n in bucket.names}})
        for bucket, _, _ in planned
    ]
    with reporter:
        reporter.start(
            sum(
                sweep.group_gflop(g, _sizes(spec, b, sets), spec.seeds, family=spec.family)
                * c.epochs
                for b, c, groups in planned
                for g in groups
            ),
            "GFLOP",
        )
        measuring: list[float] = []
        cells = _train_buckets(spec, sets, planned, run, tags, reporter, measuring)
    seconds = time.perf_counter() - started
    one_set = tuple(sets) == (sweep_checks.DEFAULT_SET,)
    if run is not None and run is not run_dir:
        run.set_status("done", wall_seconds=run.total_seconds(seconds))
    config = {
        **common,
        "sets": per_set,
        # A plain dict's groups read as before (the MNIST-1D study records them).
        "groups": [
            dataclasses.asdict(g) | ({} if one_set else {"data": list(b.names)})
            for b, _, gs in planned
            for g in gs
        ],
        "wall_seconds": seconds,
        "statistics_seconds": sum(measuring),  # of wall_seconds (groups measured this call)
        "versions": io.package_versions(),
        "device": io.device_info(),
    }
    return _result(spec, cells, per_set, notes=notes, config=config)


def _sizes(spec: _Spec, bucket: _Bucket, sets) -> dict[tuple[str, int], tuple[int, ...]]:
    """``{variant: its training-set sizes}``: what ``sweep.group_gflop`` counts."""
    return {
        (name, index): (sets[name]["x_train"].shape[1],)
        for name in bucket.names
        for index in range(len(spec.combinations))
    }


def _result(spec: _Spec, cells, per_set, **fields) -> SweepResult:
    """A ``SweepResult`` from the engine's cells: every metric as ``train_<m>`` (on the
    member's training set) and ``test_<m>`` at the evaluated epochs."""
    curves, stats, epochs = {}, {}, {}
    per_cell = {"diverged": {}, "loss_curves": {}, "first_epoch_below": {}, "final_train_loss": {}}
    if spec.snapshot_below is not None:
        per_cell |= {"snapshot_epoch": {}, "snapshot_statistics": {}}
    metric_names = spec.objective.metric_names
    for cell, result in cells.items():
        curves[cell] = {
            **{f"train_{m}": result[f"train_set_{m}"] for m in metric_names},
            **{f"test_{m}": result[f"test_{m}"] for m in metric_names},
        }
        for field, values in per_cell.items():
            if field == "snapshot_statistics":
                values[cell] = {n: result[f"snapshot_statistic_{n}"] for n in spec.statistics}
            else:
                values[cell] = result["train_loss" if field == "loss_curves" else field]
        epochs[cell[0]] = np.asarray(result["test_epochs"])
        if spec.statistics:
            stats[cell] = {n: result[f"statistic_{n}"] for n in spec.statistics}
    return SweepResult(
        widths=spec.widths,
        seeds=spec.seeds,
        hyperparams=spec.combinations,
        data=tuple(per_set),
        sets={
            name: {k: own[k] for k in ("n_train", "epochs", "steps")}
            for name, own in per_set.items()
        },
        n_params={w: spec.family.parameter_count(w) for w in spec.widths},
        metrics=tuple(f"{part}_{m}" for m in metric_names for part in ("train", "test")),
        epochs=epochs,
        curves=curves,
        statistics=stats,
        record_epochs=spec.record_epochs,
        loss_thresholds=spec.loss_thresholds,
        final_window=spec.final_window,
        snapshot_below=spec.snapshot_below,
        **per_cell,
        **fields,
    )
