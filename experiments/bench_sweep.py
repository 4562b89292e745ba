"""Benchmark: the double-descent study's ``width_sweep`` vs one jit-compiled model at a time.

    python experiments/bench_sweep.py [--quick] [--widths LIST] [--steps T] [--out DIR]
    python experiments/bench_sweep.py --devices [--quick]   # 1, 2, 4 simulated CPU devices

Prints model-steps per second, useful GFLOP/s, compile seconds, the float32 matmul rate
measured in the same run, and a line ``ratio: R.Rx``; writes ``bench_sweep.json``. The
logic, and why both run interleaved in one process: ``jaxnn.benchmark``.
"""

from __future__ import annotations

import argparse
import json

import jax

from jaxnn import benchmark, cli, io, module_sweep, placement


def main(argv: list[str] | None = None) -> dict:
    parser = cli.make_parser(__doc__)
    parser.add_argument("--widths", help="e.g. '2:200' (default 2..200)")
    parser.add_argument(
        "--steps", type=cli.int_in(1, 10**7), help="Adam steps, a multiple of 10 (default 1500)"
    )
    parser.add_argument(
        "--devices",
        action="store_true",
        help="grouped-sweep throughput on 1, 2, 4 simulated CPU devices",
    )
    # Internal: one timing as a JSON line, for the --devices children.
    parser.add_argument("--grouped-only", action="store_true", help=argparse.SUPPRESS)
    # It times compiles: programs loaded from the persistent cache would hide them.
    parser.set_defaults(no_compile_cache=True)
    args = parser.parse_args(argv)
    config = cli.override(
        benchmark.SWEEP_QUICK if args.quick else benchmark.SweepBenchConfig(),
        seed=args.seed,
        steps=args.steps,
        widths=cli.parse_int_spec(args.widths, name="--widths", maximum=module_sweep.MAX_WIDTH),
    )
    out = cli.writable_dir(args.out)
    if args.devices:
        forwarded = ["--quick"] if args.quick else []
        forwarded += ["--widths", args.widths] if args.widths is not None else []
        forwarded += ["--steps", str(args.steps)] if args.steps is not None else []
        rows = benchmark.scaling_over_devices(__file__, forwarded)
        for row in rows:
            print(
                f"{row['devices']} device(s): {row['model_steps_per_second']:9.0f} "
                f"model-steps/s  {row['useful_flops_per_second'] / 1e9:6.1f} useful GFLOP/s"
            )
        results = {"device_scaling": rows}
        io.write_json(out / "bench_sweep_devices.json", {**results, **io.run_record(config)})
        return results
    if not args.grouped_only:  # a --devices child keeps the device count it was started with
        cli.setup_devices(args)
    mesh = placement.sweep_mesh() if len(jax.devices()) > 1 else None
    if args.grouped_only:
        grouped = benchmark.time_grouped_only(config, mesh=mesh)
        print(json.dumps(io.to_jsonable(grouped)))
        return grouped
    results = benchmark.compare_sweep(config, mesh=mesh)
    print(benchmark.sweep_report(results))
    io.write_json(
        out / "bench_sweep.json", {**results, **io.run_record(config, seed=config.seed, argv=argv)}
    )
    return results


if __name__ == "__main__":
    cli.run_main(main)
