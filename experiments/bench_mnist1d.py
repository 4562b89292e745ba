"""Benchmark: the MNIST-1D MLP curve, our vmapped sweep against the notebook's PyTorch loop.

    python experiments/bench_mnist1d.py [--quick] [--seeds S] [--epochs T]
        [--torch-epochs T] [--rounds R] [--out DIR] [--runs DIR]

Needs PyTorch (``pip install -e '.[bench]'``). Both run in this one process,
in alternating rounds, because this machine's speed drifts by 2-3x over
minutes: only ratios measured side by side mean anything. Our side trains the
study's MLP curve (every width, ``--seeds`` seeds, grouped as the study plans
it) for ``--epochs`` epochs and separates compile time from steady epochs; the
notebook's side trains each width alone for ``--torch-epochs`` epochs after a
warm-up epoch, on 1 and on 2 threads (the faster counts). Both are projected
to the study's 500 epochs per seed. Prints seconds per seed for the curve and
at a few widths, and a line ``ratio: R.Rx``; writes ``bench_mnist1d.json``.
"""

from __future__ import annotations

import dataclasses

import jax

from jaxnn import benchmark, cli, io, mnist1d, placement
from jaxnn.studies import double_descent_mnist1d as study


def main(argv: list[str] | None = None) -> dict:
    parser = cli.make_parser(__doc__)
    parser.add_argument("--seeds", type=cli.int_in(1, 1000), help="our members per width")
    parser.add_argument("--epochs", type=cli.int_in(1, 10**5), help="our epochs per group")
    parser.add_argument(
        "--torch-epochs", type=cli.int_in(1, 10**4), help="timed PyTorch epochs per width"
    )
    parser.add_argument("--rounds", type=cli.int_in(1, 100), help="alternating rounds")
    # It times compiles: programs loaded from the persistent cache would hide them.
    parser.set_defaults(no_compile_cache=True)
    args = parser.parse_args(argv)
    config = cli.override(
        benchmark.MNIST1D_QUICK if args.quick else benchmark.MNIST1DBenchConfig(),
        seeds=args.seeds,
        epochs=args.epochs,
        torch_epochs=args.torch_epochs,
        rounds=args.rounds,
        seed=args.seed,
    )
    out = cli.writable_dir(args.out)
    runs = cli.writable_dir(args.runs, name="--runs")
    cli.setup_devices(args)
    dataset = mnist1d.load(config.data, runs / "cache")
    defaults = study.Config()
    train_config = dataclasses.replace(
        defaults.train_config("mlp"),
        epochs=config.epochs,
        chunk_epochs=config.chunk_epochs,
        record_epochs=(),
    )
    sets = study.training_sets(
        jax.random.key(config.seed), dataset, config.label_noise, config.seeds
    )
    results = benchmark.compare_mnist1d_mlp(
        config,
        train_config=train_config,
        training_sets={len(dataset.y_train): sets},
        x_test=dataset.x_test,
        y_test=dataset.y_test,
        learning_rate=defaults.learning_rate,
        momentum=defaults.momentum,
        mesh=placement.sweep_mesh() if len(jax.devices()) > 1 else None,
    )
    print(benchmark.mnist1d_report(results))
    io.write_json(
        out / "bench_mnist1d.json",
        {**results, **io.run_record(config, seed=config.seed, argv=argv)},
    )
    return results


if __name__ == "__main__":
    cli.run_main(main)
