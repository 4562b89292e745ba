"""Implicit regularization of SGD (computer assignment 2): learning rates, gradient statistics.

    python experiments/implicit_regularization.py [--quick] [--full] [--seeds S]
        [--learning-rates LIST] [--weight-decays LIST] [--epochs T] [--depth K]
        [--out DIR] [--runs DIR] [--resume] [--no-plot] [--quiet] [--matmul-precision P]

Trains every learning rate x seed in one vmapped call and the weight-decay grid
x learning rates x seeds in another, and writes ``implicit_regularization.{json,md}``
and ``implicit_regularization_*.png`` into ``--out``. The study is
``jaxnn.studies.implicit_regularization``.
"""

from __future__ import annotations

from jaxnn import cli
from jaxnn.studies import implicit_regularization as study


def main(argv: list[str] | None = None) -> dict:
    parser = cli.make_parser(__doc__)
    parser.add_argument(
        "--seeds", type=cli.int_in(1, 1000), help="repetitions (new training set and init each)"
    )
    parser.add_argument("--learning-rates", help="comma-separated SGD rates > 0, e.g. '0.02,0.04'")
    parser.add_argument("--weight-decays", help="comma-separated decay rates > 0, e.g. '1e-3,1e-2'")
    parser.add_argument("--epochs", type=cli.int_in(1, 10**7), help="epochs for every run")
    parser.add_argument("--depth", type=cli.int_in(1, 100), help="number of hidden layers")
    args = parser.parse_args(argv)
    rates = cli.parse_float_list(args.learning_rates, name="--learning-rates", positive=True)
    decays = cli.parse_float_list(args.weight_decays, name="--weight-decays", positive=True)
    counts = {name: getattr(args, name) for name in ("seeds", "epochs", "depth")}
    config = cli.configure(study, args, learning_rates=rates, weight_decays=decays, **counts)
    return cli.run_study(study, config, args, argv)


if __name__ == "__main__":
    cli.run_main(main)
