r"""``width_sweep``: your own Flax NNX module, loss and optax optimizer, swept over widths.

One call trains every (width, seed) and every combination of swept
optimizer hyperparameters, seed-averaged, through the engine the studies use
(``jaxnn.sweep``, ``jaxnn.train``): widths are grouped, each member drawn by
the module's own initializers at its true width and embedded in zeros at its
group's width (``jaxnn.module_family``), every group one compiled
``jit(vmap(lax.scan))`` over its members.

Reproducibility: a member's initial parameters come from
``fold_in(fold_in(key, width), seed)`` and its mini-batch order from a
``fold_in`` of that key; label noise is the caller's ``y_train[seed, N]``. None
of it depends on the group, the padded width, the backend or the device
count, so ``widths=[8]`` gives width 8's numbers of any larger sweep (to
float32 rounding of the padded matmuls).

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
import math
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxnn import io, module_family, objectives, sweep, train
from jaxnn.progress import ConsoleProgress

logger = logging.getLogger("jaxnn")

DATA_KEYS = ("x_train", "y_train", "x_test", "y_test")
LOSSES = {
    "mse": lambda outputs, targets: jnp.mean(
        jnp.square(outputs - targets).reshape(outputs.shape[0], -1), axis=-1
    ),
    "softmax_cross_entropy": optax.losses.softmax_cross_entropy_with_integer_labels,
}
STATISTICS = ("grad_norm_sq", "batch_grad_variance", "noise_scale", "top_eigenvalue")


# --- checking the input before any compute ------------------------------------------------------


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name}: need an integer >= 1, got {value!r}")
    return int(value)


def check_widths(widths) -> tuple[int, ...]:
    try:
        values = [int(w) for w in widths]
    except (TypeError, ValueError):
        raise ValueError(f"widths: need a list of integers >= 1, got {widths!r}") from None
    if not values or min(values) < 1 or any(float(w) != int(w) for w in widths):
        raise ValueError(f"widths: need a list of integers >= 1, got {list(widths)!r}")
    return tuple(sorted(set(values)))


def _array(data: Mapping, name: str) -> np.ndarray:
    try:
        value = np.asarray(data[name])
    except Exception as error:
        raise ValueError(f"data: {name} is not an array ({error})") from None
    if value.dtype.kind not in "biuf":
        raise ValueError(f"data: {name} must be numeric, got dtype {value.dtype}")
    if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
        raise ValueError(f"data: {name} has NaN or infinite values")
    return value


def check_data(data: Mapping, seeds: int) -> dict[str, np.ndarray]:
    """The four arrays, with ``x_train`` and ``y_train`` given a leading ``[seed]`` axis.

    ``y_train`` (and ``x_train``) may be shared by all seeds (``[N, ...]``) or one
    per seed (``[seeds, N, ...]``, e.g. labels with seed s's noise): a per-seed
    array has one axis more than its test counterpart.
    """
    if not isinstance(data, Mapping):
        raise ValueError(f"data: need a dict with keys {DATA_KEYS}, got {type(data).__name__}")
    missing = [k for k in DATA_KEYS if k not in data]
    extra = sorted(set(data) - set(DATA_KEYS))
    if missing or extra:
        raise ValueError(
            f"data: need exactly the keys {DATA_KEYS}; missing {missing}, extra {extra}"
        )
    arrays = {name: _array(data, name) for name in DATA_KEYS}
    for part in ("x", "y"):
        train_, test = arrays[f"{part}_train"], arrays[f"{part}_test"]
        if test.ndim < 1 or test.shape[0] < 1:
            raise ValueError(f"data: {part}_test needs at least one example, got {test.shape}")
        if train_.ndim == test.ndim:
            train_ = np.broadcast_to(train_, (seeds, *train_.shape))
        elif train_.ndim != test.ndim + 1 or train_.shape[0] != seeds:
            raise ValueError(
                f"data: {part}_train must be [N, ...] like {part}_test {test.shape[1:]} or "
                f"[seeds={seeds}, N, ...], got {train_.shape}"
            )
        if train_.shape[2:] != test.shape[1:]:
            raise ValueError(
                f"data: {part}_train examples have shape {train_.shape[2:]}, "
                f"{part}_test examples {test.shape[1:]}"
            )
        arrays[f"{part}_train"] = train_
    if arrays["x_train"].shape[1] != arrays["y_train"].shape[1]:
        raise ValueError(
            f"data: x_train has {arrays['x_train'].shape[1]} examples, "
            f"y_train {arrays['y_train'].shape[1]}"
        )
    if arrays["x_test"].shape[0] != arrays["y_test"].shape[0]:
        raise ValueError(
            f"data: x_test has {arrays['x_test'].shape[0]} examples, "
            f"y_test {arrays['y_test'].shape[0]}"
        )
    if arrays["x_train"].shape[1] < 1:
        raise ValueError("data: x_train has no examples")
    return arrays


def _check_options(
    widths, n_train, *, batch_size, statistics, record_epochs, run_dir, resume, key
) -> tuple[str, ...]:
    """Raises naming the argument; returns the statistics as a tuple."""
    if widths[-1] > sweep.MAX_WIDTH:
        raise ValueError(f"widths: at most {sweep.MAX_WIDTH}, got {widths[-1]}")
    if batch_size is not None and _positive_int(batch_size, "batch_size") > n_train:
        raise ValueError(f"batch_size: {batch_size} is larger than N = {n_train}")
    if run_dir is None and resume:
        raise ValueError("resume: needs a run_dir")
    is_key = isinstance(key, jax.Array) and jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key)
    if not (is_key and key.shape == ()) and (
        isinstance(key, bool) or not isinstance(key, int | np.integer)
    ):
        raise ValueError(f"key: need an integer seed or a jax.random.key, got {key!r}")
    statistics = tuple(statistics)
    unknown = sorted(set(statistics) - set(STATISTICS))
    if unknown:
        raise ValueError(f"statistics: unknown {unknown}; choose from {STATISTICS}")
    if statistics and not record_epochs:
        raise ValueError("statistics: need record_epochs at which to measure them")
    if statistics and batch_size is None:
        raise ValueError("statistics: need a batch_size (the mini-batch variance is over batches)")
    return statistics


def check_labels(arrays: Mapping[str, np.ndarray], output_shape: tuple[int, ...]) -> None:
    """Integer labels must index the module's outputs: ``0 <= y < K``."""
    classes = output_shape[-1] if output_shape else 1
    for name in ("y_train", "y_test"):
        labels = arrays[name]
        if labels.size and (labels.min() < 0 or labels.max() >= classes):
            raise ValueError(
                f"data: {name} has labels in [{labels.min()}, {labels.max()}]; the module "
                f"has {classes} outputs, so labels must lie in [0, {classes - 1}]"
            )


def make_loss_objective(loss, metrics: Mapping | None, integer_targets: bool):
    """The objective of ``loss`` (a ``LOSSES`` name or a per-example callable) and ``metrics``.

    With integer labels an ``error`` metric (the fraction misclassified) is
    added unless ``metrics`` names its own. The same loss and metric functions give
    the same ``Objective`` object, so sweeps that share them share compiled programs.
    """
    if metrics is None or isinstance(metrics, Mapping):
        try:
            return _cached_objective(loss, tuple((metrics or {}).items()), integer_targets)
        except TypeError:  # an unhashable callable: build it afresh
            pass
    return _make_loss_objective(loss, metrics, integer_targets)


@functools.lru_cache(maxsize=64)
def _cached_objective(loss, metrics: tuple, integer_targets: bool):
    return _make_loss_objective(loss, dict(metrics), integer_targets)


def _make_loss_objective(loss, metrics: Mapping | None, integer_targets: bool):
    if isinstance(loss, str):
        if loss not in LOSSES:
            raise ValueError(
                f"loss: unknown {loss!r}; choose one of {sorted(LOSSES)} or a callable"
            )
        name, loss_fn = loss, LOSSES[loss]
    else:
        name, loss_fn = getattr(loss, "__name__", "loss"), loss
    if metrics is not None and not isinstance(metrics, Mapping):
        raise ValueError(
            f"metrics: need a dict {{name: fn(outputs, labels) -> [N]}}, got {metrics!r}"
        )
    metrics = dict(metrics or {})
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


@functools.lru_cache(maxsize=64)
def _fixed_optimizer(transformation) -> train.Optimizer:
    """One ``Optimizer`` per transformation: sweeps with the same one share compiled programs."""
    return train.Optimizer.of(transformation)


# --- results ------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SweepResult:
    """What ``width_sweep`` measured.

    Attributes:
        widths: the swept widths.
        seeds: the number of seeds.
        hyperparams: every swept combination, ``[{name: value}]`` (``[{}]``: none).
        n_params: ``{width: parameter count}``.
        metrics: the metric names (``train_loss``, ``test_loss``, ``train_error``, ...).
        epochs: ``[k]`` the epochs at which every metric was measured.
        curves: ``{(combination index, width): {metric: [seed, k]}}``.
        diverged: ``{(combination index, width): [seed]}``.
        statistics: ``{(combination index, width): {statistic: [seed, r]}}`` at
            ``record_epochs`` (empty unless asked for).
        record_epochs: the epochs of ``statistics``.
        notes: one line for each width that could not be padded, and why.
        config: what the sweep was asked (JSON-ready) and the package versions.
    """

    widths: tuple[int, ...]
    seeds: int
    hyperparams: list[dict]
    n_params: dict[int, int]
    metrics: tuple[str, ...]
    epochs: np.ndarray
    curves: dict
    diverged: dict
    statistics: dict
    record_epochs: tuple[int, ...]
    notes: list[str]
    config: dict

    def _cells(self):
        for index, combination in enumerate(self.hyperparams):
            for width in self.widths:
                yield index, combination, width

    def rows(self) -> list[dict]:
        """One dict per (combination, width, seed): the final value of every metric."""
        rows = []
        for index, combination, width in self._cells():
            curves = self.curves[(index, width)]
            for seed in range(self.seeds):
                row = {
                    "width": width,
                    **combination,
                    "seed": seed,
                    "n_params": self.n_params[width],
                }
                row.update({m: float(curves[m][seed, -1]) for m in self.metrics})
                row["diverged"] = bool(self.diverged[(index, width)][seed])
                for name, values in self.statistics.get((index, width), {}).items():
                    row[name] = [float(v) for v in values[seed]]
                rows.append(row)
        return rows

    def summary(self) -> list[dict]:
        """One dict per (combination, width): each metric's seed mean ``m`` and standard error
        ``m_se`` (``nan`` with one seed), over the seeds that did not diverge."""
        out = []
        for index, combination, width in self._cells():
            curves, diverged = self.curves[(index, width)], self.diverged[(index, width)]
            kept = ~np.asarray(diverged)
            row = {"width": width, **combination, "n_params": self.n_params[width]}
            for metric in self.metrics:
                finals = np.asarray(curves[metric][kept, -1], np.float64)
                row[metric] = float(np.mean(finals)) if finals.size else math.nan
                row[f"{metric}_se"] = (
                    float(np.std(finals, ddof=1) / math.sqrt(finals.size))
                    if finals.size > 1
                    else math.nan
                )
            row["diverged"] = int(np.sum(~kept))
            out.append(row)
        return out

    def table(self) -> str:
        """The summary as aligned text: width, parameters, every metric as mean ± se."""
        header = ["width", *self.hyperparams[0], "n_params", *self.metrics]
        lines = [header]
        for row in self.summary():
            cells = [str(row["width"])] + [f"{row[k]:g}" for k in self.hyperparams[0]]
            cells.append(str(row["n_params"]))
            cells += [f"{row[m]:.4g} ± {row[m + '_se']:.2g}" for m in self.metrics]
            lines.append(cells)
        sizes = [max(len(line[i]) for line in lines) for i in range(len(header))]
        return "\n".join("  ".join(c.rjust(s) for c, s in zip(line, sizes)) for line in lines)

    def to_json(self) -> dict:
        curves = [
            {
                "width": width,
                **combination,
                **{m: self.curves[(index, width)][m].tolist() for m in self.metrics},
            }
            for index, combination, width in self._cells()
        ]
        return {
            "config": self.config,
            "summary": self.summary(),
            "rows": self.rows(),
            "epochs": self.epochs.tolist(),
            "record_epochs": list(self.record_epochs),
            "curves": curves,
            "notes": self.notes,
        }

    def save(self, path) -> Path:
        """Writes ``to_json()`` to ``path`` (atomically); returns the path."""
        return io.write_json(path, self.to_json())


# --- the sweep ----------------------------------------------------------------------------------


def _chunk_epochs(epochs: int) -> int:
    """The largest divisor of ``epochs`` giving at most 10 chunks: one scan length, and
    a progress update (and host transfer) every tenth of the run."""
    for chunks in range(10, 0, -1):
        if epochs % chunks == 0:
            return epochs // chunks
    return epochs


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


def _plan(
    family, widths, seeds, n_variants, n_train, config: train.TrainConfig, mesh
) -> list[sweep.WidthGroup]:
    return sweep.plan_groups(
        widths,
        n_trains=(n_train,),
        family=family,
        epochs=config.epochs,
        steps_per_epoch=config.steps_per_epoch(n_train),
        members_per_width=seeds * n_variants,
        n_devices=1 if mesh is None else mesh.size,
        costs=sweep.backend_costs(),
    )


def _checked_groups(
    groups, family, objective, optimizer, combination, key, x, y, matmul_precision
) -> tuple[list[sweep.WidthGroup], list[str]]:
    """The groups whose padding ``check_padding`` passed; a failed group's widths apart,
    unpadded, each with one line saying why."""
    checked, notes = [], []
    probe = slice(0, min(32, x.shape[1]))
    for group in groups:
        width = group.widths[0]
        if width == group.padded_width:
            checked.append(group)
            continue
        member_key = jax.random.fold_in(jax.random.fold_in(key, width), 0)
        params = sweep.draw_initial_params(family, member_key[None], [width], group.padded_width)
        params = jax.tree.map(lambda a: a[0], params)
        result = module_family.check_padding(
            family,
            objective,
            optimizer.factory(**combination),
            params,
            width,
            group.padded_width,
            jnp.asarray(x[0, probe]),
            jnp.asarray(y[0, probe]),
            matmul_precision=matmul_precision,
        )
        if result.ok:
            checked.append(group)
            continue
        note = (
            f"{family.label}: padding width {width} to {group.padded_width} changes the model "
            f"({result.detail}); training widths {', '.join(map(str, group.widths))} unpadded"
        )
        logger.warning(note)
        notes.append(note)
        checked += [sweep.WidthGroup(w, (w,), group.n_trains) for w in group.widths]
    return checked, notes


def width_sweep(
    module: Callable,
    data: Mapping[str, Any],
    *,
    widths: Sequence[int],
    seeds: int = 1,
    loss: str | Callable = "softmax_cross_entropy",
    optimizer: optax.GradientTransformation | Callable[..., optax.GradientTransformation],
    epochs: int,
    batch_size: int | None = None,
    drop_last: bool = False,
    hyperparams: Mapping[str, Sequence[float]] | None = None,
    metrics: Mapping[str, Callable] | None = None,
    record_epochs: Sequence[int] = (),
    statistics: Sequence[str] = (),
    key: int | jax.Array = 0,
    eval_batch_size: int | None = None,
    conv_impl: str | None = None,
    matmul_precision: str = "highest",
    progress: bool | Callable = True,
    run_dir: str | Path | None = None,
    resume: bool = False,
    mesh: jax.sharding.Mesh | None = None,
    compile_cache: bool = True,
) -> SweepResult:
    """Trains ``module`` at every width for every seed (and swept hyperparameter) at once.

    Args:
        module: any callable ``(width, *, rngs) -> nnx.Module``: your class, unchanged.
        data: ``dict(x_train=[N, ...], y_train=..., x_test=[M, ...], y_test=...)``;
            labels are integer classes ``[N]`` or real targets ``[N, ...]``;
            ``x_train`` or ``y_train`` may carry a leading ``[seeds]`` axis (seed
            s's own draw, e.g. its label noise).
        widths: the widths to sweep (integers >= 1).
        seeds: members per width; seed s draws its initial parameters and batch
            order from ``key`` (see the module docstring).
        loss: ``"softmax_cross_entropy"``, ``"mse"`` or a callable
            ``(outputs, labels) -> per-example losses [N]``.
        optimizer: any optax ``GradientTransformation`` (schedules included); with
            ``hyperparams``, a factory ``optimizer(**values)`` of one.
        epochs: passes over the training set.
        batch_size: examples per step (``None``: full batch); a last partial batch
            is used unless ``drop_last``.
        hyperparams: ``{name: [values]}`` swept as further member axes (every
            combination), e.g. ``{"learning_rate": [0.01, 0.1]}``.
        metrics: further ``{name: fn(outputs, labels) -> [N]}``; with integer labels
            ``error`` (the fraction misclassified) is always measured.
        record_epochs: epochs at which the metrics are also measured (besides the
            start and the end) and ``statistics`` are computed.
        statistics: any of ``STATISTICS``: the full-gradient norm ``grad_norm_sq``,
            the mini-batch variance ``batch_grad_variance`` and ``noise_scale``
            (``jaxnn.gradstats``, batches of ``batch_size`` in order), and the
            Hessian's ``top_eigenvalue`` (``jaxnn.curvature``, Lanczos), each at
            ``record_epochs`` on the member's training set and its narrow model.
        key: an integer seed or a ``jax.random.key``.
        eval_batch_size: evaluate the metrics this many examples at a time.
        conv_impl: ``"patches"`` (convolutions as patches times a matrix; the CPU
            default) or ``"lax"`` (as written; the accelerator default).
        matmul_precision: ``"highest"`` (exact float32 on every backend) or a
            faster one (``jaxnn.precision``).
        progress: a progress bar on stderr (``True``), none (``False``), or a
            callable that ``start(total, unit)`` and ``(done)`` are sent to.
        run_dir: keep each finished width group here (a folder, or an open
            ``jaxnn.io.RunDirectory``); with ``resume``, a rerun of the same sweep
            (same module name, data, widths, seeds, loss, optimizer behaviour and
            settings) reuses them.
        resume: reuse finished groups found in ``run_dir`` (a ``RunDirectory``
            brings its own).
        mesh: shard the member axis over these devices (``jaxnn.placement.sweep_mesh()``).
        compile_cache: keep compiled programs on disk for the next process
            (``jaxnn.compile_cache``: per user, one folder per machine); a folder
            you configured yourself is kept.

    Returns:
        A ``SweepResult``: ``summary()``, ``rows()``, ``table()``, ``save(path)``.

    Raises:
        ValueError: naming the argument, before any compute, for bad input.
    """
    started = time.perf_counter()
    seeds, epochs, widths = (
        _positive_int(seeds, "seeds"),
        _positive_int(epochs, "epochs"),
        check_widths(widths),
    )
    arrays = check_data(data, seeds)
    statistics = _check_options(
        widths,
        arrays["x_train"].shape[1],
        batch_size=batch_size,
        statistics=statistics,
        record_epochs=record_epochs,
        run_dir=run_dir,
        resume=resume,
        key=key,
    )
    n_train = arrays["x_train"].shape[1]
    integer_targets = arrays["y_train"].dtype.kind in "biu"
    objective = make_loss_objective(loss, metrics, integer_targets)
    engine_optimizer, combinations = make_optimizer(optimizer, hyperparams)
    if compile_cache:
        from jaxnn import compile_cache as persistent_cache

        persistent_cache.enable()
    if conv_impl is None:
        from jaxnn import fastconv

        conv_impl = fastconv.default_conv_impl()
    family = module_family.ModuleFamily(module, arrays["x_train"].shape[2:], conv_impl=conv_impl)
    if integer_targets:
        check_labels(arrays, family.output_shape(widths[0]))
    config = train.TrainConfig(
        model=family,
        objective=objective,
        optimizer=engine_optimizer,
        epochs=epochs,
        batch_size=batch_size,
        drop_last=drop_last,
        train_loss_curve="batches",
        chunk_epochs=_chunk_epochs(epochs),
        loss_thresholds=(),
        final_window=1,
        record_epochs=tuple(sorted({int(e) for e in record_epochs})),
        keep_recorded_params=bool(statistics),
        eval_batch_size=eval_batch_size,
        matmul_precision=matmul_precision,
    )
    root_key = jax.random.key(key) if isinstance(key, int | np.integer) else key

    x_train = jnp.asarray(arrays["x_train"], jnp.float32)
    y_kind = jnp.int32 if integer_targets else jnp.float32
    y_train = jnp.asarray(arrays["y_train"], y_kind)
    x_test = jnp.asarray(arrays["x_test"], jnp.float32)
    y_test = jnp.asarray(arrays["y_test"], y_kind)
    variants = {
        index: sweep.Variant({n_train: (x_train, y_train)}, hyperparams=combination)
        for index, combination in enumerate(combinations)
    }
    groups = _plan(family, widths, seeds, len(variants), n_train, config, mesh)
    groups, notes = _checked_groups(
        groups,
        family,
        objective,
        engine_optimizer,
        combinations[0],
        root_key,
        arrays["x_train"],
        arrays["y_train"],
        matmul_precision,
    )
    description = {
        "module": family.label,
        "widths": list(widths),
        "seeds": seeds,
        "loss": objective.name,
        "metrics": list(objective.metric_names),
        "optimizer": [_optimizer_fingerprint(engine_optimizer, c) for c in combinations],
        "hyperparams": combinations,
        "epochs": epochs,
        "batch_size": batch_size,
        "drop_last": drop_last,
        "record_epochs": list(config.record_epochs),
        "statistics": list(statistics),
        "key": [int(k) for k in np.ravel(jax.random.key_data(root_key))],
        "data": {name: list(a.shape) for name, a in arrays.items()},
        "data_sha256": _fingerprint(arrays),
        "conv_impl": conv_impl,
        "matmul_precision": matmul_precision,
    }
    run = run_dir
    if run_dir is not None and not isinstance(run_dir, io.RunDirectory):
        run = io.RunDirectory(run_dir, "width_sweep", {"config": description}, resume=bool(resume))
    # Parts are named by what they hold, so sweeps sharing a run folder never mix.
    tag = f"{family.label}_{io.config_hash(description)}"
    reporter = _progress(progress, family.label)
    with reporter:
        reporter.start(
            sweep.work_gflop(groups, seeds, epochs, len(variants), family=family), "GFLOP"
        )
        cells = sweep.run_width_sweep(
            root_key,
            groups,
            None,
            x_test,
            y_test,
            config,
            variants=variants,
            init_scheme=None,
            learning_rate=0.0,
            mesh=mesh,
            progress=reporter,
            load_group=lambda g: run.load_part(f"{tag}_{g.name}") if run else None,
            save_group=lambda g, r: run.save_part(f"{tag}_{g.name}", r) if run else None,
            measure=(
                _make_measure(family, objective, statistics, config, root_key)
                if statistics
                else None
            ),
        )
    seconds = time.perf_counter() - started
    if run is not None and run is not run_dir:
        run.set_status("done", wall_seconds=run.total_seconds(seconds))
    return _result(
        cells,
        family,
        objective,
        widths=widths,
        seeds=seeds,
        combinations=combinations,
        statistics=statistics,
        record_epochs=config.record_epochs,
        notes=notes,
        config={
            **description,
            "groups": [dataclasses.asdict(g) for g in groups],
            "wall_seconds": seconds,
            "versions": io.package_versions(),
            "device": io.device_info(),
        },
    )


def _result(
    cells, family, objective, *, widths, seeds, combinations, statistics, **fields
) -> SweepResult:
    """A ``SweepResult`` from ``run_width_sweep``'s cells: every metric as
    ``train_<m>`` (on the member's training set) and ``test_<m>`` at the evaluated epochs."""
    curves, diverged, stats = {}, {}, {}
    metric_names = objective.metric_names
    for (index, _, width), result in cells.items():
        curves[(index, width)] = {
            **{f"train_{m}": result[f"train_set_{m}"] for m in metric_names},
            **{f"test_{m}": result[f"test_{m}"] for m in metric_names},
        }
        diverged[(index, width)] = result["diverged"]
        if statistics:
            stats[(index, width)] = {n: result[f"statistic_{n}"] for n in statistics}
    first = next(iter(cells.values()))
    return SweepResult(
        widths=widths,
        seeds=seeds,
        hyperparams=combinations,
        n_params={w: family.parameter_count(w) for w in widths},
        metrics=tuple(f"{part}_{m}" for m in metric_names for part in ("train", "test")),
        epochs=np.asarray(first["test_epochs"]),
        curves=curves,
        diverged=diverged,
        statistics=stats,
        **fields,
    )


class _Silent:
    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    def start(self, total, unit="step"):
        pass

    def __call__(self, done):
        pass


def _progress(progress, label: str):
    if progress is True:
        return ConsoleProgress(f"width_sweep {label}")
    if progress is False or progress is None:
        return _Silent()
    if not (callable(progress) and hasattr(progress, "start")):
        raise ValueError("progress: need True, False or an object with start(total, unit) and ()")
    return _Forward(progress)


class _Forward(_Silent):
    def __init__(self, target):
        self.target = target

    def start(self, total, unit="step"):
        self.target.start(total, unit)

    def __call__(self, done):
        self.target(done)


def _make_measure(family, objective, names, config, key) -> Callable:
    """``measure(cells, members, result)`` for ``sweep.run_width_sweep``: the statistics of
    every member at ``config.record_epochs``, ``{name: [member, record epoch]}``.

    Computed on each member's *narrow* parameters (cut from the padded ones), so
    padded directions never enter the Hessian; on the member's own training set,
    in batches of ``config.batch_size`` in order (a partial last batch left out).
    """
    from jaxnn import curvature, gradstats, streams

    loss_fn = objectives.make_loss_fn(family, objective)
    gradient_names = [n for n in names if n != "top_eigenvalue"]

    def measure(cells, members, result) -> dict[str, np.ndarray]:
        values = {name: np.zeros((len(cells), len(config.record_epochs))) for name in names}
        for member, (_, _, width, seed) in enumerate(cells):
            x, y = members.x_train[member], members.y_train[member]
            usable = (x.shape[0] // config.batch_size) * config.batch_size
            for slot in range(len(config.record_epochs)):
                padded = jax.tree.map(lambda a, m=member, r=slot: a[m, r], result.recorded_params)
                params = jax.tree.map(
                    jnp.asarray, module_family.unpad_params(family, padded, width)
                )
                if gradient_names:
                    stats = gradstats.gradient_stats(
                        loss_fn,
                        params,
                        x[:usable],
                        y[:usable],
                        config.batch_size,
                        matmul_precision=config.matmul_precision,
                    )
                    for name in gradient_names:
                        values[name][member, slot] = float(stats[name])
                if "top_eigenvalue" in names:
                    seed_key = jax.random.fold_in(jax.random.fold_in(key, width), seed)
                    probe = jax.random.fold_in(
                        jax.random.fold_in(seed_key, streams.CURVATURE_STREAM), slot
                    )
                    values["top_eigenvalue"][member, slot] = float(
                        curvature.hessian_top_eigenvalue(
                            loss_fn, params, x, y, probe, matmul_precision=config.matmul_precision
                        )
                    )
        return {f"statistic_{name}": value for name, value in values.items()}

    return measure
