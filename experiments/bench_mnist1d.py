"""Benchmark: the MNIST-1D MLP curve, our vmapped sweep against the notebook's PyTorch loop.

    python experiments/bench_mnist1d.py [--quick] [--seeds S] [--epochs T]
        [--torch-epochs T] [--rounds R] [--out DIR] [--runs DIR]

Needs PyTorch (``pip install -e '.[bench]'``). Every round times the notebook's loop on 1
and 2 threads and our sweep (``--epochs``, an even count) in a cold and a warm fresh
process; both are projected to the study's 500 epochs per seed (``jaxnn.benchmark_mnist1d``
says how). Prints every round and the lines ``cold ratio: R.Rx`` and ``warm ratio: R.Rx``
(medians over rounds, with their targets); writes ``bench_mnist1d.json``. ``--child
cold|warm`` is the phase's own process (it prints one JSON line).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from jaxnn import benchmark_mnist1d as bench
from jaxnn import cli, io, placement


def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = cli.make_parser(__doc__)
    parser.add_argument("--seeds", type=cli.int_in(1, 1000), help="our members per width")
    parser.add_argument("--epochs", type=cli.int_in(1, 10**5), help="our epochs per group")
    parser.add_argument(
        "--torch-epochs", type=cli.int_in(1, 10**4), help="timed PyTorch epochs per width"
    )
    parser.add_argument("--rounds", type=cli.int_in(1, 100), help="alternating rounds")
    parser.add_argument("--child", choices=bench.PHASES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    flags = ("seeds", "epochs", "torch_epochs", "rounds", "seed")
    config = cli.override(
        bench.MNIST1D_QUICK if args.quick else bench.MNIST1DBenchConfig(),
        **{name: getattr(args, name) for name in flags},
    )
    runs = cli.writable_dir(args.runs, name="--runs")
    if args.child:
        # A phase: the cache on, in the folder the parent's environment names.
        started = float(os.environ.get(bench.START_ENV, time.time()))
        args.no_compile_cache = False
        cli.setup_devices(args)
        import jax

        mesh = placement.sweep_mesh() if len(jax.devices()) > 1 else None
        result = bench.time_curve(config, data_dir=runs / "cache", started=started, mesh=mesh)
        print(json.dumps(result))
        return result
    out = cli.writable_dir(args.out)
    # This process only times PyTorch: it neither reads nor writes a compile cache.
    args.no_compile_cache = True
    cli.setup_devices(args)
    # The dataset file is written here, before any phase, so no phase generates it.
    inputs = bench.study_inputs(config, runs / "cache")
    results = bench.compare(
        config,
        [sys.executable, str(Path(__file__).resolve()), *argv],
        x_train=inputs["dataset"].x_train,
        y_train=inputs["y_train"][0],
        learning_rate=inputs["study"].learning_rate,
        momentum=inputs["study"].momentum,
        log=(lambda line: None) if args.quiet else (lambda line: print(line, flush=True)),
    )
    print(bench.report(results, rounds=args.quiet))
    io.write_json(
        out / "bench_mnist1d.json",
        {**results, **io.run_record(config, seed=config.seed, argv=argv)},
    )
    return results


if __name__ == "__main__":
    cli.run_main(main)
