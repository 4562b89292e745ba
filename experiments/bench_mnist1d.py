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

from jaxnn import benchmark, cli, io, mnist1d, train
from jaxnn.studies import double_descent_mnist1d as study


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    """What is timed.

    Attributes:
        widths: the MLP curve's hidden widths (the notebook's 19).
        few_widths: widths also timed alone, for a per-width comparison.
        seeds: members per width in our sweep (the study's default).
        epochs: our epochs per group, in chunks of ``chunk_epochs`` (one compiles).
        chunk_epochs: epochs per compiled chunk (metrics are evaluated at each end).
        torch_epochs: timed PyTorch epochs per width (after one warm-up epoch).
        torch_threads: PyTorch intra-op thread counts to time; the faster per width counts.
        rounds: alternating rounds of both (the ratios of every round are kept).
        study_epochs: the run length both are projected to (the notebook's 500).
        label_noise: the curve's label noise.
        data: MNIST-1D's generation arguments.
        seed: label-noise and PyTorch seed.
    """

    widths: tuple[int, ...] = study.NOTEBOOK_MLP_WIDTHS
    few_widths: tuple[int, ...] = (12, 61, 300)
    seeds: int = 3
    epochs: int = 30
    chunk_epochs: int = 10
    torch_epochs: int = 3
    torch_threads: tuple[int, ...] = (1, 2)
    rounds: int = 3
    study_epochs: int = 500
    label_noise: float = 0.15
    data: mnist1d.MNIST1DConfig = mnist1d.MNIST1DConfig()
    seed: int = 0

    def __post_init__(self):
        for name in ("seeds", "chunk_epochs", "torch_epochs", "rounds", "study_epochs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be >= 1, got {getattr(self, name)}")
        if self.epochs < 2 * self.chunk_epochs:
            raise ValueError(
                f"--epochs: need at least 2 chunks ({2 * self.chunk_epochs}), got {self.epochs}"
            )
        if not self.torch_threads or min(self.torch_threads) < 1:
            raise ValueError(f"torch_threads: need counts >= 1, got {self.torch_threads}")
        if not set(self.few_widths) <= set(self.widths):
            raise ValueError(f"few_widths: must be among the widths, got {self.few_widths}")


QUICK = Config(
    widths=(4, 16),
    few_widths=(16,),
    seeds=1,
    epochs=4,
    chunk_epochs=2,
    torch_epochs=1,
    torch_threads=(1,),
    rounds=1,
    data=mnist1d.MNIST1DConfig(num_samples=2000),
)


def main(argv: list[str] | None = None) -> dict:
    parser = cli.make_parser(__doc__)
    parser.add_argument("--seeds", type=cli.int_in(1, 1000), help="our members per width")
    parser.add_argument("--epochs", type=cli.int_in(1, 10**5), help="our epochs per group")
    parser.add_argument(
        "--torch-epochs", type=cli.int_in(1, 10**4), help="timed PyTorch epochs per width"
    )
    parser.add_argument("--rounds", type=cli.int_in(1, 100), help="alternating rounds")
    args = parser.parse_args(argv)
    config = cli.override(
        QUICK if args.quick else Config(),
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
        mesh=train.sweep_mesh() if len(jax.devices()) > 1 else None,
    )
    print(benchmark.mnist1d_report(results))
    io.write_json(
        out / "bench_mnist1d.json",
        {**results, **io.run_record(config, seed=config.seed, argv=argv)},
    )
    return results


if __name__ == "__main__":
    cli.run_main(main)
