"""Throughput of width sweeps against the loops people write by hand.

- The teacher sweep (``experiments/bench_sweep.py``): the grouped, padded,
  vmapped sweep against one jit-compiled model at a time, both on the same
  full-batch data with Adam for the same number of steps. *Useful* flops count
  ``6 N p`` per model-step for a model with ``p`` parameters (forward 2Np,
  backward 4Np), padding not counted, so padding waste shows up as a lower
  useful rate.
- MNIST-1D (``experiments/bench_mnist1d.py``, ``jaxnn.benchmark_mnist1d``):
  the MLP curve of the double-descent study as our sweep trains it, cold and
  warm in fresh processes, against the mnist1d notebook's own PyTorch loop
  (one model at a time, a Python loop over ``DataLoader`` batches). PyTorch
  is the optional ``bench`` extra, imported only there.
- ``jaxnn.width_sweep`` on a user's own NNX modules
  (``experiments/bench_width_sweep.py``, ``jaxnn.benchmark_width_sweep``):
  a 2-D CNN and an MLP against the plain vmap-over-seeds loop.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxnn import data, models, objectives, sweep, train, validation


def forget_compiled_programs() -> None:
    """Drops every compiled program this process holds, so the next run pays its compiles
    as a fresh process would (with the persistent compilation cache off).

    ``jax.clear_caches`` empties JAX's jit caches; the library's own caches keep
    compiled executables and jitted closures beside them, so they are emptied too.
    """
    from jaxnn import members, module_family

    jax.clear_caches()
    for cache in (
        train.compiled_program,
        sweep._compiled_draw,
        members._member_draws,
        module_family._padding_probe,
    ):
        cache.cache_clear()


def useful_flops(widths: Sequence[int], n_train: int, steps: int, depth: int = 2) -> float:
    """6·N·params per model-step, summed over widths."""
    return float(
        sum(6 * n_train * models.parameter_count((8, *[w] * depth, 8)) * steps for w in widths)
    )


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
    loss_fn = objectives.make_loss_fn(models.MLPFamily())
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
    return {
        "compile_seconds": compile_seconds,
        "run_seconds": run_seconds,
        "model_steps_per_second": model_steps / run_seconds,
        "useful_flops_per_second": useful_flops(widths, x.shape[0], steps - 1) / run_seconds,
    }


def time_grouped_sweep(
    widths: Sequence[int],
    dataset: data.Dataset,
    steps: int,
    *,
    chunk_epochs: int,
    plan_epochs: int,
    mesh=None,
    learning_rate: float = 1e-3,
    variants: dict[str, dict] | None = None,
    costs: sweep.BackendCosts | None = None,
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
    groups = sweep.plan_groups(
        widths,
        n_trains=(n_train,),
        epochs=plan_epochs,
        n_devices=n_devices,
        costs=costs or sweep.backend_costs(),
    )
    configs = {
        name: train.TrainConfig(
            optimizer="adam", epochs=steps, chunk_epochs=chunk_epochs, **overrides
        )
        for name, overrides in variants.items()
    }
    training_sets = {n_train: (dataset.x_train[:1], dataset.y_train[:1])}
    totals = {
        name: {"compile_seconds": 0.0, "run_seconds": 0.0, "run_steps": 0} for name in variants
    }
    for group in groups:
        for name, config in configs.items():
            first, steady = chunk_timings(
                lambda progress, g=group, c=config: sweep.run_width_sweep(
                    jax.random.key(0),
                    [g],
                    training_sets,
                    dataset.x_test,
                    dataset.y_test,
                    c,
                    learning_rate=learning_rate,
                    mesh=mesh,
                    progress=progress,
                )
            )
            totals[name]["compile_seconds"] += first - (np.median(steady) if steady.size else 0.0)
            totals[name]["run_seconds"] += steady.sum()
            totals[name]["run_steps"] += len(group.widths) * chunk_epochs * steady.size
    results = {}
    for name, total in totals.items():
        steady_width_steps = total["run_steps"] / len(widths)
        results[name] = {
            "groups": [g.padded_width for g in groups],
            "compile_seconds": total["compile_seconds"],
            "run_seconds": total["run_seconds"],
            "model_steps_per_second": total["run_steps"] / total["run_seconds"],
            "useful_flops_per_second": useful_flops(widths, n_train, 1)
            * steady_width_steps
            / total["run_seconds"],
        }
    return results


def chunk_timings(run: Callable[[Callable[[float], None]], object]) -> tuple[float, np.ndarray]:
    """``(first, steady)``: seconds of the first chunk of ``run`` and of each later one.

    ``run(progress)`` trains and calls ``progress`` after every chunk; the first
    chunk carries the compilation, the others are steady state.
    """
    stamps: list[float] = []
    start = time.perf_counter()
    run(lambda done: stamps.append(time.perf_counter()))
    chunk_times = np.diff([start, *stamps])
    return float(chunk_times[0]), chunk_times[1:]


def time_sweep_groups(
    groups: Sequence[sweep.WidthGroup],
    config: train.TrainConfig,
    training_sets: dict,
    x_test,
    y_test,
    *,
    mesh=None,
    learning_rate: float,
    momentum: float | None = None,
) -> dict:
    """Compile seconds and steady seconds per epoch of training ``groups`` as a sweep does.

    Every group runs ``config.epochs`` epochs in chunks of ``config.chunk_epochs``
    (at least two chunks, so that one is steady); compile seconds are each
    group's first chunk minus its median steady chunk.
    """
    compile_seconds = run_seconds = 0.0
    for group in groups:
        first, steady = chunk_timings(
            lambda progress, g=group: sweep.run_width_sweep(
                jax.random.key(0),
                [g],
                training_sets,
                x_test,
                y_test,
                config,
                learning_rate=learning_rate,
                momentum=momentum,
                mesh=mesh,
                progress=progress,
            )
        )
        compile_seconds += first - float(np.median(steady))
        run_seconds += float(steady.sum()) / (config.chunk_epochs * steady.size)
    return {"compile_seconds": compile_seconds, "seconds_per_epoch": run_seconds}


# --- the teacher sweep against one model at a time (experiments/bench_sweep.py) -------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class SweepBenchConfig:
    """What ``experiments/bench_sweep.py`` times.

    Attributes:
        widths: M of the 8 -> M -> M -> 8 models.
        steps: full-batch Adam steps per model, for both approaches.
        n_train: N.
        chunk_epochs: steps per compiled chunk of the grouped sweep.
        plan_epochs: the run length the width groups are planned for (the
            double-descent default), so the benchmark times the groups the study uses.
        seed: data seed.
    """

    widths: tuple[int, ...] = tuple(range(2, 201))
    steps: int = 1500
    n_train: int = 100
    chunk_epochs: int = 250
    plan_epochs: int = 20_000
    seed: int = 0

    def __post_init__(self):
        validation.at_least(self, 1, "chunk_epochs", "n_train", "plan_epochs")
        if self.steps < 2 * self.chunk_epochs:
            raise ValueError(
                f"--steps: need at least 2 chunks ({2 * self.chunk_epochs}), got {self.steps}"
            )
        if not self.widths or min(self.widths) < 1:
            raise ValueError(f"widths: need values >= 1, got {self.widths}")
        validation.seed(self.seed)


SWEEP_QUICK = SweepBenchConfig(widths=(2, 8, 16, 24), steps=40, chunk_epochs=10, plan_epochs=40)


def compare_sweep(config: SweepBenchConfig, *, mesh=None) -> dict:
    """The grouped sweep (flat and per-leaf Adam, in turns) against one model at a time.

    A float32 matmul is timed before and after, because this machine's speed
    drifts by 2-3x over minutes: only ratios measured side by side mean anything.
    """
    dataset = data.make_dataset(
        jax.random.key(config.seed), data.TeacherConfig(), config.n_train, n_draws=1
    )
    timed = dict(chunk_epochs=config.chunk_epochs, plan_epochs=config.plan_epochs, mesh=mesh)
    matmul_before = matmul_flops_per_second()
    layouts = time_grouped_sweep(
        config.widths,
        dataset,
        config.steps,
        variants={"adam_per_leaf": {"flat_adam": False}, "flat_adam": {"flat_adam": True}},
        **timed,
    )
    single = time_one_at_a_time(config.widths, dataset, config.steps)
    matmul_after = matmul_flops_per_second()
    matmul = (matmul_before + matmul_after) / 2
    default = "flat_adam" if train.TrainConfig().flat_adam else "adam_per_leaf"
    grouped = layouts[default]
    return {
        "default_layout": default,
        "grouped_sweep": grouped,
        "one_at_a_time": single,
        "grouped_sweep_by_adam_layout": layouts,
        "flat_adam_speedup": (
            layouts["flat_adam"]["model_steps_per_second"]
            / layouts["adam_per_leaf"]["model_steps_per_second"]
        ),
        "matmul_flops_per_second": matmul,
        "matmul_flops_per_second_before_after": [matmul_before, matmul_after],
        "ratio": grouped["model_steps_per_second"] / single["model_steps_per_second"],
        "useful_fraction_of_matmul": grouped["useful_flops_per_second"] / matmul,
    }


def time_grouped_only(config: SweepBenchConfig, *, mesh=None) -> dict:
    """The grouped sweep alone, default layout (one device count, for ``scaling_over_devices``)."""
    dataset = data.make_dataset(
        jax.random.key(config.seed), data.TeacherConfig(), config.n_train, n_draws=1
    )
    return time_grouped_sweep(
        config.widths,
        dataset,
        config.steps,
        chunk_epochs=config.chunk_epochs,
        plan_epochs=config.plan_epochs,
        mesh=mesh,
    )["default"]


def sweep_report(results: dict) -> str:
    """The console lines of ``compare_sweep``."""
    default = results["default_layout"]
    lines = [
        f"{name:>30}: {r['model_steps_per_second']:9.0f} model-steps/s  "
        f"{r['useful_flops_per_second'] / 1e9:6.1f} useful GFLOP/s  "
        f"compile {r['compile_seconds']:6.1f} s  run {r['run_seconds']:6.1f} s"
        for name, r in (
            (f"grouped sweep ({default})", results["grouped_sweep"]),
            ("one at a time", results["one_at_a_time"]),
            *(
                (f"grouped, {k}", v)
                for k, v in results["grouped_sweep_by_adam_layout"].items()
                if k != default
            ),
        )
    ]
    lines.append(
        f"float32 matmul: {results['matmul_flops_per_second'] / 1e9:.1f} GFLOP/s; useful "
        f"fraction of it: {results['useful_fraction_of_matmul']:.0%}"
    )
    lines.append(
        f"flat Adam vs per leaf, timed in turns group by group: {results['flat_adam_speedup']:.2f}x"
    )
    lines.append(f"ratio: {results['ratio']:.1f}x")
    return "\n".join(lines)


def scaling_over_devices(script: str, argv: Sequence[str], counts=(1, 2, 4)) -> list[dict]:
    """Grouped-sweep throughput with each count of simulated host devices, one process each.

    The device count must be fixed before JAX starts, hence a subprocess per count
    running ``script --grouped-only`` (which prints one JSON line).
    """
    rows = []
    for count in counts:
        env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={count}")
        command = [sys.executable, script, "--grouped-only", *argv]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
        rows.append({"devices": count, **json.loads(done.stdout.strip().splitlines()[-1])})
    return rows
