"""Edge of stability: full-batch gradient descent sharpens until λ_max ≈ 2/μ (Cohen et al. 2021).

    python experiments/edge_of_stability.py [--quick] [--full] [--seeds S]
        [--learning-rates LIST] [--epochs T] [--record-every K]
        [--out DIR] [--runs DIR] [--resume] [--no-plot] [--quiet] [--matmul-precision P]

Trains every step size x seed with full-batch gradient descent in one vmapped call,
measures the top Hessian eigenvalue every K epochs, and writes
``edge_of_stability.{json,md}`` and ``edge_of_stability.png`` into ``--out``.
The study is ``jaxnn.studies.edge_of_stability``.
"""

from __future__ import annotations

from jaxnn import cli
from jaxnn.studies import edge_of_stability as study


def main(argv: list[str] | None = None) -> dict:
    parser = cli.make_parser(__doc__)
    parser.add_argument(
        "--seeds", type=cli.int_in(1, 1000), help="repetitions (new training set and init each)"
    )
    parser.add_argument(
        "--learning-rates", help="comma-separated increasing step sizes > 0, e.g. '0.02,0.04'"
    )
    parser.add_argument("--epochs", type=cli.int_in(1, 10**7), help="full-batch steps")
    parser.add_argument(
        "--record-every", type=cli.int_in(1, 10**7), help="measure lambda_max every this many steps"
    )
    args = parser.parse_args(argv)
    rates = cli.parse_float_list(args.learning_rates, name="--learning-rates", positive=True)
    counts = {name: getattr(args, name) for name in ("seeds", "epochs", "record_every")}
    config = cli.configure(study, args, learning_rates=rates, **counts)
    return cli.run_study(study, config, args, argv)


if __name__ == "__main__":
    cli.run_main(main)
