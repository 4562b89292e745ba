"""Benchmark: grouped, padded, vmapped width sweep vs one jit-compiled model at a time.

    python experiments/bench_sweep.py [--quick] [--widths SPEC] [--steps T] [--out DIR]
    python experiments/bench_sweep.py --devices [--quick]   # 1, 2, 4 simulated CPU devices

Both run in this one process, interleaved, because this machine's speed
drifts by 2-3x over minutes: only ratios measured side by side mean anything.
Prints model-steps per second, useful GFLOP/s, compile seconds, the float32
matmul rate measured in the same run, and a line ``ratio: R.Rx``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys

import jax

from jaxnn import benchmark, cli, data, io, train


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    """What is timed.

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
        if self.steps < 2 * self.chunk_epochs:
            raise ValueError(
                f"--steps: need at least 2 chunks ({2 * self.chunk_epochs}), got {self.steps}"
            )
        if self.chunk_epochs < 1:
            raise ValueError(f"chunk_epochs: must be >= 1, got {self.chunk_epochs}")
        if not self.widths or min(self.widths) < 1:
            raise ValueError(f"widths: need values >= 1, got {self.widths}")


QUICK = Config(widths=(2, 8, 16, 24), steps=40, chunk_epochs=10, plan_epochs=40)


DEVICE_COUNTS = (1, 2, 4)


def scaling_over_devices(argv: list[str]) -> dict:
    """Grouped-sweep throughput with 1, 2 and 4 simulated host devices, one process each.

    The device count must be fixed before JAX starts, hence subprocesses.
    """
    rows = []
    for count in DEVICE_COUNTS:
        env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={count}")
        command = [sys.executable, __file__, "--grouped-only", *argv]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
        grouped = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append({"devices": count, **grouped})
        print(
            f"{count} device(s): {grouped['model_steps_per_second']:9.0f} model-steps/s  "
            f"{grouped['useful_flops_per_second'] / 1e9:6.1f} useful GFLOP/s"
        )
    return {"device_scaling": rows}


def main(argv: list[str] | None = None) -> dict:
    parser = cli.make_parser(__doc__.splitlines()[0])
    parser.add_argument("--widths", help="e.g. '2:200' (default 2..200)")
    parser.add_argument(
        "--steps", type=cli.int_in(1, 10**7), help="Adam steps per model (default 1500)"
    )
    parser.add_argument(
        "--devices",
        action="store_true",
        help="grouped-sweep throughput on 1, 2, 4 simulated CPU devices",
    )
    parser.add_argument(
        "--grouped-only", action="store_true", help="(internal) one timing, as JSON"
    )
    args = parser.parse_args(argv)
    if args.devices:
        forwarded = ["--quick"] if args.quick else []
        forwarded += ["--widths", args.widths] if args.widths is not None else []
        forwarded += ["--steps", str(args.steps)] if args.steps is not None else []
        results = scaling_over_devices(forwarded)
        out = cli.writable_dir(args.out)
        io.write_json(out / "bench_sweep_devices.json", {**results, **io.run_record(args.__dict__)})
        return results
    if not args.grouped_only:
        cli.setup_devices(args)
    config = QUICK if args.quick else Config()
    overrides = {"seed": args.seed}
    if args.widths is not None:
        overrides["widths"] = cli.parse_int_spec(args.widths, name="--widths", maximum=4096)
    if args.steps is not None:
        overrides["steps"] = args.steps
    config = cli.override(config, **overrides)
    out = cli.writable_dir(args.out)

    dataset = data.make_dataset(
        jax.random.key(config.seed), data.TeacherConfig(), config.n_train, n_draws=1
    )
    mesh = train.sweep_mesh() if len(jax.devices()) > 1 else None
    timed = dict(chunk_epochs=config.chunk_epochs, plan_epochs=config.plan_epochs, mesh=mesh)
    if args.grouped_only:
        grouped = benchmark.time_grouped_sweep(config.widths, dataset, config.steps, **timed)[
            "default"
        ]
        print(json.dumps(io.to_jsonable(grouped)))
        return grouped
    matmul_before = benchmark.matmul_flops_per_second()
    layouts = benchmark.time_grouped_sweep(
        config.widths,
        dataset,
        config.steps,
        variants={"adam_per_leaf": {"flat_adam": False}, "flat_adam": {"flat_adam": True}},
        **timed,
    )
    single = benchmark.time_one_at_a_time(config.widths, dataset, config.steps)
    matmul_after = benchmark.matmul_flops_per_second()
    matmul = (matmul_before + matmul_after) / 2
    default = "flat_adam" if train.TrainConfig().flat_adam else "adam_per_leaf"
    grouped = layouts[default]
    ratio = grouped["model_steps_per_second"] / single["model_steps_per_second"]
    results = {
        "grouped_sweep": grouped,
        "one_at_a_time": single,
        "grouped_sweep_by_adam_layout": layouts,
        "flat_adam_speedup": (
            layouts["flat_adam"]["model_steps_per_second"]
            / layouts["adam_per_leaf"]["model_steps_per_second"]
        ),
        "matmul_flops_per_second": matmul,
        "matmul_flops_per_second_before_after": [matmul_before, matmul_after],
        "ratio": ratio,
        "useful_fraction_of_matmul": grouped["useful_flops_per_second"] / matmul,
        **io.run_record(config, seed=config.seed, argv=argv),
    }
    for name, r in (
        (f"grouped sweep ({default})", grouped),
        ("one at a time", single),
        *((f"grouped, {k}", v) for k, v in layouts.items() if k != default),
    ):
        print(
            f"{name:>30}: {r['model_steps_per_second']:9.0f} model-steps/s  "
            f"{r['useful_flops_per_second'] / 1e9:6.1f} useful GFLOP/s  "
            f"compile {r['compile_seconds']:6.1f} s  run {r['run_seconds']:6.1f} s"
        )
    print(
        f"float32 matmul: {matmul / 1e9:.1f} GFLOP/s "
        f"({len(jax.devices())} {jax.devices()[0].platform} device(s)); useful fraction of it: "
        f"{results['useful_fraction_of_matmul']:.0%}"
    )
    print(
        f"flat Adam vs per leaf, timed in turns group by group: {results['flat_adam_speedup']:.2f}x"
    )
    print(f"ratio: {ratio:.1f}x")
    io.write_json(out / "bench_sweep.json", results)
    return results


if __name__ == "__main__":
    cli.run_main(main)
