"""Throughput of width sweeps: the grouped, padded, vmapped sweep against one model at a time.

Both approaches train the same widths on the same full-batch data with Adam
for the same number of steps. *Useful* flops count ``6 N p`` per model-step
for a model with ``p`` parameters (forward 2Np, backward 4Np), padding not
counted, so padding waste shows up as a lower useful rate.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxnn import data, models, sweep, train


def useful_flops(widths: Sequence[int], n_train: int, steps: int, depth: int = 2) -> float:
    """6·N·params per model-step, summed over widths."""
    return float(sum(6 * n_train * models.parameter_count((8, *[w] * depth, 8)) * steps
                     for w in widths))


def matmul_flops_per_second(size: int = 2048, repeats: int = 10) -> float:
    """The float32 rate of one large matmul on the default device (2 n^3 flops each)."""
    a = jax.random.normal(jax.random.key(0), (size, size), jnp.float32)
    product = jax.jit(lambda a: a @ a)
    product(a).block_until_ready()
    start = time.perf_counter()
    for _ in range(repeats):
        result = product(a)
    result.block_until_ready()
    return 2 * size**3 * repeats / (time.perf_counter() - start)


def time_one_at_a_time(
    widths: Sequence[int], dataset: data.Dataset, steps: int, learning_rate: float = 1e-3
) -> dict:
    """One jit-compiled Adam step per width, driven by a Python loop over steps.

    This is how most users write it; compile time (first call) is timed apart.
    """
    x, y = dataset.x_train[0], dataset.y_train[0]
    optimizer = optax.adam(learning_rate)
    loss_fn = train.make_loss_fn(models.MLPFamily())
    compile_seconds = run_seconds = 0.0
    for width in widths:
        params = models.init(jax.random.key(width), (8, width, width, 8))
        opt_state = optimizer.init(params)

        @jax.jit
        def step(params, opt_state):
            loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
            updates, opt_state = optimizer.update(grads, opt_state)
            return optax.apply_updates(params, updates), opt_state, loss

        start = time.perf_counter()
        params, opt_state, loss = step(params, opt_state)
        loss.block_until_ready()
        compile_seconds += time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(steps - 1):
            params, opt_state, loss = step(params, opt_state)
        loss.block_until_ready()
        run_seconds += time.perf_counter() - start
    model_steps = len(widths) * (steps - 1)
    return {"compile_seconds": compile_seconds, "run_seconds": run_seconds,
            "model_steps_per_second": model_steps / run_seconds,
            "useful_flops_per_second": useful_flops(widths, x.shape[0], steps - 1) / run_seconds}


def time_grouped_sweep(
    widths: Sequence[int], dataset: data.Dataset, steps: int, *, chunk_epochs: int,
    plan_epochs: int, mesh=None, learning_rate: float = 1e-3,
    variants: dict[str, dict] | None = None, costs: sweep.BackendCosts | None = None,
) -> dict:
    """The grouped, padded, vmapped sweep (one member per width), for each training variant.

    Groups are planned with the backend's cost constants for a run of
    ``plan_epochs`` (the study's length: a short benchmark would otherwise
    merge groups to save compiles and pad more), then trained for ``steps``.
    ``variants`` maps a name to ``TrainConfig`` overrides (e.g. ``{"flat_adam":
    True}``); they are timed group by group in turns, so a drift of the
    machine's speed hits them alike. Chunk boundaries are timed through the
    progress callback: the first chunk of a group carries its compilation,
    the others are steady state.

    Returns:
        ``{variant: {"groups", "compile_seconds", "run_seconds",
        "model_steps_per_second", "useful_flops_per_second"}}``.
    """
    variants = variants or {"default": {}}
    n_devices = 1 if mesh is None else mesh.size
    n_train = dataset.x_train.shape[1]
    groups = sweep.plan_groups(widths, n_trains=(n_train,), epochs=plan_epochs,
                               n_devices=n_devices, costs=costs or sweep.backend_costs())
    configs = {name: train.TrainConfig(optimizer="adam", epochs=steps, chunk_epochs=chunk_epochs,
                                       **overrides) for name, overrides in variants.items()}
    training_sets = {n_train: (dataset.x_train[:1], dataset.y_train[:1])}
    totals = {name: {"compile_seconds": 0.0, "run_seconds": 0.0, "run_steps": 0}
              for name in variants}
    for group in groups:
        for name, config in configs.items():
            stamps: list[float] = []
            start = time.perf_counter()
            sweep.run_width_sweep(
                jax.random.key(0), [group], training_sets, dataset.x_test, dataset.y_test, config,
                learning_rate=learning_rate, mesh=mesh,
                progress=lambda done: stamps.append(time.perf_counter()),
            )
            chunk_times = np.diff([start, *stamps])
            steady = chunk_times[1:]
            totals[name]["compile_seconds"] += chunk_times[0] - (np.median(steady)
                                                                 if steady.size else 0.0)
            totals[name]["run_seconds"] += steady.sum()
            totals[name]["run_steps"] += len(group.widths) * chunk_epochs * steady.size
    results = {}
    for name, total in totals.items():
        steady_width_steps = total["run_steps"] / len(widths)
        results[name] = {
            "groups": [g.padded_width for g in groups],
            "compile_seconds": total["compile_seconds"], "run_seconds": total["run_seconds"],
            "model_steps_per_second": total["run_steps"] / total["run_seconds"],
            "useful_flops_per_second":
                useful_flops(widths, n_train, 1) * steady_width_steps / total["run_seconds"]}
    return results
