"""Throughput of width sweeps against the loops people write by hand.

Three benchmarks, each in the same process as its baseline and interleaved with it, since
this machine's speed drifts by 2-3x over minutes: only ratios measured side by side mean
anything. Here, the teacher sweep (``experiments/bench_sweep.py``): the double-descent
study's ``jaxnn.width_sweep`` against one jit-compiled model at a time, full batch, Adam.
*Useful* flops count ``6 N p`` per model-step for ``p`` parameters (forward 2Np,
backward 4Np), padding not counted, so padding waste shows as a lower useful rate.
MNIST-1D against the notebook's PyTorch loop: ``jaxnn.benchmark_mnist1d``; user NNX
modules against the plain vmap-over-seeds loop: ``jaxnn.benchmark_width_sweep``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxnn import _sweep as sweep
from jaxnn import _train as train
from jaxnn import data, models, validation


def forget_compiled_programs() -> None:
    """Drops every compiled program this process holds (JAX's jit caches and the library's
    own), so the next run pays its compiles as a fresh process would (persistent cache off).
    """
    from jaxnn import _module_family as module_family

    jax.clear_caches()
    for cache in (train.compiled_program, sweep._compiled_draw, module_family._padding_probe):
        cache.cache_clear()


class ChunkClock:
    """A ``width_sweep`` progress object that keeps the time of every chunk's end."""

    def __init__(self):
        self.stamps: list[float] = []

    def start(self, total, unit) -> None:
        pass

    def __call__(self, done) -> None:
        self.stamps.append(time.perf_counter())


# Top-level tracing (JAX records it only outside other traces), lowering and XLA compiling
# (for a program loaded from the persistent cache, the load).
COMPILE_EVENTS = tuple(
    f"/jax/core/compile/{name}_duration"
    for name in ("jaxpr_trace", "jaxpr_to_mlir_module", "backend_compile")
)
CACHE_EVENTS = {
    "/jax/compilation_cache/cache_hits": "cache_hits",
    "/jax/compilation_cache/cache_misses": "cache_writes",  # JAX records a miss as it writes
}
compile_counts = {"compile_seconds": 0.0, "xla_compiles": 0, "cache_hits": 0, "cache_writes": 0}


def _on_duration(event: str, seconds: float, **_) -> None:
    if event in COMPILE_EVENTS:
        compile_counts["compile_seconds"] += seconds
        compile_counts["xla_compiles"] += event == COMPILE_EVENTS[-1]


def _on_event(event: str, **_) -> None:
    if event in CACHE_EVENTS:
        compile_counts[CACHE_EVENTS[event]] += 1


@functools.cache
def listen_to_compiles() -> None:
    """Counts into ``compile_counts`` from now on (once per process)."""
    jax.monitoring.register_event_duration_secs_listener(_on_duration)
    jax.monitoring.register_event_listener(_on_event)


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
    """One jit-compiled Adam step per width, driven by a Python loop over steps: the
    notebooks' loop, one model at a time; compile time (first call) is timed apart."""
    from flax import nnx

    x, y = dataset.x_train[0], dataset.y_train[0]
    optimizer = optax.adam(learning_rate)
    module = models.mlp_of_width(x.shape[-1], y.shape[-1])
    compile_seconds = run_seconds = 0.0
    for width in widths:
        graphdef, params = nnx.split(module(width, rngs=nnx.Rngs(width)), nnx.Param)
        opt_state = optimizer.init(params)

        def loss_fn(params, graphdef=graphdef):
            return jnp.mean(jnp.square(nnx.merge(graphdef, params)(x) - y))

        @jax.jit
        def step(params, opt_state, loss_fn=loss_fn):
            loss, grads = jax.value_and_grad(loss_fn)(params)
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


def time_width_sweep(
    widths: Sequence[int],
    dataset: data.Dataset,
    steps: int,
    *,
    mesh=None,
    learning_rate: float = 1e-3,
    plan_epochs: int | None = None,
) -> dict:
    """The study's own path: one ``jaxnn.width_sweep`` of the double-descent study's network,
    one seed per width, full batch, Adam, timed chunk by chunk through its progress calls.

    Every width group trains in equal chunks; a group's first chunk carries its compilation
    (the first group's also the call's planning and padding probes), the others are steady.
    """
    from jaxnn import module_sweep

    clock = ChunkClock()
    x, y = dataset.x_train[0], dataset.y_train[0]
    start = time.perf_counter()
    result = module_sweep.width_sweep(
        models.mlp_of_width(x.shape[-1], y.shape[-1]),
        dict(x_train=x, y_train=y, x_test=dataset.x_test, y_test=dataset.y_test),
        widths=widths,
        loss="mse",
        optimizer=optax.adam(learning_rate),
        epochs=steps,
        plan_epochs=plan_epochs,
        progress=clock,
        mesh=mesh,
        compile_cache=False,
    )
    groups = result.config["groups"]
    chunks = np.diff([start, *clock.stamps]).reshape(len(groups), -1)  # [group, chunk]
    chunk_steps = steps // chunks.shape[1]
    steady = chunks[:, 1:]
    run_steps = sum(len(g["widths"]) for g in groups) * chunk_steps * steady.shape[1]
    run_seconds = float(steady.sum())
    return {
        "groups": [g["padded_width"] for g in groups],
        "compile_seconds": float(np.sum(chunks[:, 0] - np.median(steady, axis=1))),
        "run_seconds": run_seconds,
        "model_steps_per_second": run_steps / run_seconds,
        "useful_flops_per_second": useful_flops(widths, x.shape[0], chunk_steps * steady.shape[1])
        / run_seconds,
    }


# --- the teacher sweep against one model at a time (experiments/bench_sweep.py) -------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class SweepBenchConfig:
    """What ``experiments/bench_sweep.py`` times: the 8 -> M -> M -> 8 models of ``widths``,
    ``steps`` full-batch Adam steps each (``width_sweep`` trains them in ten chunks, the first
    of each group carrying its compile), on ``n_train`` examples drawn from ``seed``. The
    width groups are planned for ``plan_epochs``, the study's run length: planned for the
    benchmark's own few steps, compiling would dominate and the planner would pick a few
    wide groups that the study never trains."""

    widths: tuple[int, ...] = tuple(range(2, 201))
    steps: int = 1500
    plan_epochs: int = 20_000
    n_train: int = 100
    seed: int = 0

    def __post_init__(self):
        validation.at_least(self, 1, "n_train", "plan_epochs")
        if self.steps < 100 or self.steps % 10:
            # Ten chunks of at least ten steps: shorter chunks time the host, not the sweep.
            raise ValueError(f"--steps: need a multiple of 10, at least 100, got {self.steps}")
        if not self.widths or min(self.widths) < 1:
            raise ValueError(f"widths: need values >= 1, got {self.widths}")
        validation.seed(self.seed)


SWEEP_QUICK = SweepBenchConfig(widths=(2, 8, 16, 24), steps=100, plan_epochs=100)


def _teacher_dataset(config: SweepBenchConfig) -> data.Dataset:
    return data.make_dataset(
        jax.random.key(config.seed), data.TeacherConfig(), config.n_train, n_draws=1
    )


def compare_sweep(config: SweepBenchConfig, *, mesh=None) -> dict:
    """The study's ``width_sweep`` against one model at a time, and a float32 matmul timed
    before and after (the machine's speed drifts)."""
    dataset = _teacher_dataset(config)
    matmul_before = matmul_flops_per_second()
    grouped = time_width_sweep(
        config.widths, dataset, config.steps, mesh=mesh, plan_epochs=config.plan_epochs
    )
    single = time_one_at_a_time(config.widths, dataset, config.steps)
    matmul_after = matmul_flops_per_second()
    matmul = (matmul_before + matmul_after) / 2
    return {
        "grouped_sweep": grouped,
        "one_at_a_time": single,
        "matmul_flops_per_second": matmul,
        "matmul_flops_per_second_before_after": [matmul_before, matmul_after],
        "ratio": grouped["model_steps_per_second"] / single["model_steps_per_second"],
        "useful_fraction_of_matmul": grouped["useful_flops_per_second"] / matmul,
    }


def time_grouped_only(config: SweepBenchConfig, *, mesh=None) -> dict:
    """The study's ``width_sweep`` alone (one device count, for ``scaling_over_devices``)."""
    return time_width_sweep(
        config.widths,
        _teacher_dataset(config),
        config.steps,
        mesh=mesh,
        plan_epochs=config.plan_epochs,
    )


def sweep_report(results: dict) -> str:
    """The console lines of ``compare_sweep``."""
    lines = [
        f"{name:>30}: {r['model_steps_per_second']:9.0f} model-steps/s  "
        f"{r['useful_flops_per_second'] / 1e9:6.1f} useful GFLOP/s  "
        f"compile {r['compile_seconds']:6.1f} s  run {r['run_seconds']:6.1f} s"
        for name, r in (
            ("width_sweep (the study's path)", results["grouped_sweep"]),
            ("one at a time", results["one_at_a_time"]),
        )
    ]
    lines.append(
        f"float32 matmul: {results['matmul_flops_per_second'] / 1e9:.1f} GFLOP/s; useful "
        f"fraction of it: {results['useful_fraction_of_matmul']:.0%}"
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
