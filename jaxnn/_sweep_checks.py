"""The argument checks of ``jaxnn.width_sweep``: every one raises a ``ValueError`` naming the
argument (``data``, ``widths``, ``steps``, ...), before anything is traced or compiled.

"An unhelpful error message is a bug" (the flax examples): a wrong shape, a
duplicate width or a float label for a classification loss is named here, not
by optax from inside a compiled program.

Example:
    >>> check_widths([2, 2])
    Traceback (most recent call last):
    ...
    ValueError: widths: 2 appears more than once in [2, 2]
"""

from __future__ import annotations

from collections.abc import Mapping

import jax
import numpy as np

from jaxnn._sweep import MAX_WIDTH
from jaxnn._sweep_measure import CURVATURE_STATISTICS, GRADIENT_STATISTICS
from jaxnn._train import steps_per_epoch

DATA_KEYS = ("x_train", "y_train", "x_test", "y_test")
DEFAULT_SET = "data"  # the name of the one training set of a plain ``data`` dict
# Every statistic width_sweep measures; the gradient statistics are over mini-batches, so
# they need a batch_size.
STATISTICS = (*GRADIENT_STATISTICS, *CURVATURE_STATISTICS, "output_spread")
CLASSIFICATION_LOSSES = ("softmax_cross_entropy",)  # registry names that need integer labels


def positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name}: need an integer >= 1, got {value!r}")
    return int(value)


def check_widths(widths) -> tuple[int, ...]:
    """The widths, sorted; each an integer >= 1, none twice (a repeat is a mistake, not a no-op)."""
    try:
        values = [int(w) for w in widths]
    except (TypeError, ValueError):
        raise ValueError(f"widths: need a list of integers >= 1, got {widths!r}") from None
    if not values or min(values) < 1 or any(float(w) != int(w) for w in widths):
        raise ValueError(f"widths: need a list of integers >= 1, got {list(widths)!r}")
    repeated = sorted({w for w in values if values.count(w) > 1})
    if repeated:
        raise ValueError(
            f"widths: {', '.join(map(str, repeated))} appears more than once in {values!r}"
        )
    if max(values) > MAX_WIDTH:
        raise ValueError(f"widths: at most {MAX_WIDTH}, got {max(values)}")
    return tuple(sorted(values))


def _array(data: Mapping, name: str, where: str) -> np.ndarray:
    try:
        value = np.asarray(data[name])
    except Exception as error:
        raise ValueError(f"{where}: {name} is not an array ({error})") from None
    if value.dtype.kind not in "biuf":
        raise ValueError(f"{where}: {name} must be numeric, got dtype {value.dtype}")
    if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
        raise ValueError(f"{where}: {name} has NaN or infinite values")
    return value


def check_data(data: Mapping, seeds: int, where: str = "data") -> dict[str, np.ndarray]:
    """The four arrays, with ``x_train`` and ``y_train`` given a leading ``[seed]`` axis.

    ``y_train`` (and ``x_train``) may be shared by all seeds (``[N, ...]``) or one
    per seed (``[seeds, N, ...]``, e.g. labels with seed s's noise): a per-seed
    array has one axis more than its test counterpart.
    """
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: need a dict with keys {DATA_KEYS}, got {type(data).__name__}")
    missing = [k for k in DATA_KEYS if k not in data]
    extra = sorted(set(data) - set(DATA_KEYS), key=str)
    if missing or extra:
        raise ValueError(
            f"{where}: need exactly the keys {DATA_KEYS}; missing {missing}, extra {extra}"
        )
    arrays = {name: _array(data, name, where) for name in DATA_KEYS}
    for part in ("x", "y"):
        train_, test = arrays[f"{part}_train"], arrays[f"{part}_test"]
        if test.ndim < 1 or test.shape[0] < 1:
            raise ValueError(f"{where}: {part}_test needs at least one example, got {test.shape}")
        if train_.ndim == test.ndim:
            train_ = np.broadcast_to(train_, (seeds, *train_.shape))
        elif train_.ndim != test.ndim + 1 or train_.shape[0] != seeds:
            raise ValueError(
                f"{where}: {part}_train must be [N, ...] like {part}_test {test.shape[1:]} or "
                f"[seeds={seeds}, N, ...], got {train_.shape}"
            )
        if train_.shape[2:] != test.shape[1:]:
            raise ValueError(
                f"{where}: {part}_train examples have shape {train_.shape[2:]}, "
                f"{part}_test examples {test.shape[1:]}"
            )
        arrays[f"{part}_train"] = train_
    for split, axis in (("train", 1), ("test", 0)):
        n_x, n_y = arrays[f"x_{split}"].shape[axis], arrays[f"y_{split}"].shape[axis]
        if n_x != n_y:
            raise ValueError(f"{where}: x_{split} has {n_x} examples, y_{split} {n_y}")
    if arrays["x_train"].shape[1] < 1:
        raise ValueError(f"{where}: x_train has no examples")
    if (arrays["y_train"].dtype.kind == "f") != (arrays["y_test"].dtype.kind == "f"):
        raise ValueError(
            f"{where}: y_train is {arrays['y_train'].dtype} and y_test {arrays['y_test'].dtype}; "
            "labels are integer classes in both or real targets in both"
        )
    return arrays


def check_sets(data, seeds: int) -> dict[str, dict[str, np.ndarray]]:
    """``{name: arrays}`` of every training set (``check_data``); a plain dict is one set,
    ``DEFAULT_SET``.

    Names are non-empty strings, none twice once stripped of spaces; every set's
    inputs have one example shape, and its labels one kind (integer classes or
    real targets of one shape), since one module is trained on all of them.
    """
    if not (isinstance(data, Mapping) and any(isinstance(v, Mapping) for v in data.values())):
        return {DEFAULT_SET: check_data(data, seeds)}
    if not all(isinstance(v, Mapping) for v in data.values()):
        raise ValueError(
            "data: need one dict with keys {DATA_KEYS} or {name: such a dict}; got a mix"
        )
    names = list(data)
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"data: set names must be non-empty strings, got {name!r}")
    stripped = [name.strip() for name in names]
    repeated = sorted({n for n in stripped if stripped.count(n) > 1})
    if repeated:
        raise ValueError(f"data: set name {repeated[0]!r} is given more than once")
    sets = {name: check_data(data[name], seeds, f"data[{name!r}]") for name in names}
    first, arrays = names[0], sets[names[0]]
    for name in names[1:]:
        other = sets[name]
        if other["x_test"].shape[1:] != arrays["x_test"].shape[1:]:
            raise ValueError(
                f"data: set {name!r} has inputs of shape {other['x_test'].shape[1:]}, "
                f"set {first!r} {arrays['x_test'].shape[1:]}; one module takes one shape"
            )
        kinds = [
            ("integer" if s["y_test"].dtype.kind in "biu" else "real") for s in (other, arrays)
        ]
        if kinds[0] != kinds[1] or other["y_test"].shape[1:] != arrays["y_test"].shape[1:]:
            raise ValueError(
                f"data: set {name!r} has {kinds[0]} labels of shape {other['y_test'].shape[1:]}, "
                f"set {first!r} {kinds[1]} labels of shape {arrays['y_test'].shape[1:]}"
            )
    return sets


def check_loss_labels(loss, sets: Mapping[str, Mapping[str, np.ndarray]]) -> None:
    """A classification loss named by the registry needs integer class labels (``check_sets``
    gave every label array one kind, so the first set's ``y_train`` speaks for all)."""
    name, arrays = next(iter(sets.items()))
    labels = arrays["y_train"]
    if isinstance(loss, str) and loss in CLASSIFICATION_LOSSES and labels.dtype.kind not in "biu":
        where = "data" if len(sets) == 1 and name == DEFAULT_SET else f"data[{name!r}]"
        raise ValueError(
            f"{where}: y_train is {labels.dtype}, but loss {loss!r} needs integer "
            f"class labels [N] (e.g. y.astype(int)); real targets take loss='mse'"
        )


def _per_set(value, names, label: str) -> dict[str, int]:
    if isinstance(value, Mapping):
        if set(value) != set(names):
            raise ValueError(
                f"{label}: need one value per set {sorted(names)}, got {sorted(value, key=str)}"
            )
        return {name: positive_int(value[name], f"{label}[{name!r}]") for name in names}
    return dict.fromkeys(names, positive_int(value, label))


def check_schedule(
    sets: Mapping[str, Mapping[str, np.ndarray]], epochs, steps, batch_size, drop_last: bool
) -> dict[str, tuple[int, int]]:
    """``{name: (epochs, steps)}``: what each set trains for.

    ``epochs`` or ``steps`` (exactly one; an integer for every set or ``{name:
    integer}``). With ``steps``, a set trains ``round(steps / steps per epoch)``
    whole epochs (so at full batch exactly ``steps``), and its steps are those.
    """
    if (epochs is None) == (steps is None):
        raise ValueError("epochs: give epochs or steps (one of them), e.g. epochs=100")
    names = list(sets)
    schedule = {}
    if epochs is not None:
        for name, count in _per_set(epochs, names, "epochs").items():
            n_train = sets[name]["x_train"].shape[1]
            schedule[name] = (count, count * steps_per_epoch(n_train, batch_size, drop_last))
        return schedule
    for name, count in _per_set(steps, names, "steps").items():
        n_train = sets[name]["x_train"].shape[1]
        per_epoch = steps_per_epoch(n_train, batch_size, drop_last)
        whole = round(count / per_epoch)
        if whole < 1:
            raise ValueError(
                f"steps: {count} steps are less than one epoch ({per_epoch} steps) of set "
                f"{name!r} (N = {n_train})"
            )
        schedule[name] = (whole, whole * per_epoch)
    return schedule


def check_settings(
    sets,
    schedule: Mapping[str, tuple[int, int]],
    *,
    batch_size,
    drop_last,
    record_epochs,
    statistics,
    lanczos_iterations,
    trace_samples,
    loss_thresholds,
    final_window,
    snapshot_below,
    key,
    run_dir,
    resume,
    plan_epochs,
) -> dict:
    """``width_sweep``'s training settings checked, as the fields of its spec (``run_dir``,
    ``resume`` and ``key`` are checked only)."""
    if plan_epochs is not None:
        plan_epochs = positive_int(plan_epochs, "plan_epochs")
    if batch_size is not None:
        positive_int(batch_size, "batch_size")
        for name, arrays in sets.items():
            n_train = arrays["x_train"].shape[1]
            if batch_size > n_train:
                where = "" if len(sets) == 1 else f" of set {name!r}"
                raise ValueError(f"batch_size: {batch_size} is larger than N = {n_train}{where}")
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
    if statistics and not (record_epochs or snapshot_below is not None):
        raise ValueError("statistics: need record_epochs (or a snapshot_below) to measure them at")
    if set(statistics) & set(GRADIENT_STATISTICS) and batch_size is None:
        raise ValueError(
            f"statistics: {', '.join(s for s in statistics if s in GRADIENT_STATISTICS)} need a "
            "batch_size (the mini-batch variance is over batches)"
        )
    record_epochs = check_record_epochs(record_epochs, schedule)
    loss_thresholds, final_window = check_loss_options(loss_thresholds, final_window, schedule)
    snapshot_below = check_snapshot(snapshot_below)
    lanczos_iterations = positive_int(lanczos_iterations, "lanczos_iterations")
    if positive_int(trace_samples, "trace_samples") < 2:
        raise ValueError(
            f"trace_samples: need at least 2 for a standard error, got {trace_samples}"
        )
    return dict(
        batch_size=batch_size,
        drop_last=drop_last,
        record_epochs=record_epochs,
        statistics=statistics,
        lanczos_iterations=lanczos_iterations,
        trace_samples=trace_samples,
        loss_thresholds=loss_thresholds,
        final_window=final_window,
        snapshot_below=snapshot_below,
        plan_epochs=plan_epochs,
    )


def check_record_epochs(record_epochs, schedule: Mapping[str, tuple[int, int]]) -> tuple[int, ...]:
    """Sorted unique epochs, each within every set's training."""
    try:
        epochs = tuple(sorted({int(e) for e in record_epochs}))
    except (TypeError, ValueError):
        raise ValueError(f"record_epochs: need integers, got {record_epochs!r}") from None
    shortest = min(total for total, _ in schedule.values())
    if epochs and (epochs[0] < 0 or epochs[-1] > shortest):
        raise ValueError(f"record_epochs: need epochs in 0..{shortest}, got {list(epochs)}")
    return epochs


def check_loss_options(
    loss_thresholds, final_window, schedule: Mapping[str, tuple[int, int]]
) -> tuple[tuple[float, ...], int]:
    """Positive finite thresholds, each once, in the order given, and a window of 1 to T + 1."""
    try:
        thresholds = tuple(float(t) for t in np.ravel(np.asarray(loss_thresholds, float)))
    except (TypeError, ValueError):
        raise ValueError(f"loss_thresholds: need numbers, got {loss_thresholds!r}") from None
    if any(not (np.isfinite(t) and t > 0) for t in thresholds):
        raise ValueError(f"loss_thresholds: need finite values > 0, got {list(thresholds)}")
    if len(set(thresholds)) < len(thresholds):
        raise ValueError(f"loss_thresholds: a value appears twice in {list(thresholds)}")
    window = positive_int(final_window, "final_window")
    shortest = min(total for total, _ in schedule.values())
    if window > shortest + 1:
        raise ValueError(
            f"final_window: {window} epochs is more than the {shortest + 1} losses recorded "
            f"(epochs 0..{shortest})"
        )
    return thresholds, window


def check_snapshot(snapshot_below) -> float | None:
    """``None`` or a finite level > 0."""
    if snapshot_below is None:
        return None
    try:
        level = float(snapshot_below)
    except (TypeError, ValueError):
        raise ValueError(f"snapshot_below: need a number > 0, got {snapshot_below!r}") from None
    if not (np.isfinite(level) and level > 0):
        raise ValueError(f"snapshot_below: need a finite number > 0, got {snapshot_below!r}")
    return level


def check_labels(arrays: Mapping[str, np.ndarray], output_shape, where: str = "data") -> None:
    """Integer labels must index the module's outputs: ``0 <= y < K``."""
    classes = output_shape[-1] if output_shape else 1
    for name in ("y_train", "y_test"):
        labels = arrays[name]
        if labels.size and (labels.min() < 0 or labels.max() >= classes):
            raise ValueError(
                f"{where}: {name} has labels in [{labels.min()}, {labels.max()}]; the module "
                f"has {classes} outputs, so labels must lie in [0, {classes - 1}]"
            )
