"""Exercise 2: hand-derived MLP backprop, its operation counts, and three independent checks.

    python experiments/mlp_backprop.py [--quick] [--full] [--seed N] [--out DIR] [--no-plot]
        [--widths SPEC] [--batch-sizes SPEC] [--activation NAME]

Writes mlp_backprop.json, mlp_backprop.md and mlp_backprop_counts.png into --out (default
figures). --full counts more widths (up to 1000), depths and batch sizes (up to 1000).
"""

from jaxnn import backprop, cli
from jaxnn.studies import mlp_backprop as study


def main(argv: list[str] | None = None) -> dict:
    parser = cli.make_parser(__doc__)
    parser.add_argument(
        "--widths",
        help=f"M of the I→M→M→O nets, e.g. '10,50,100' or '10:100:10', each <= {study.MAX_SIZE}",
    )
    parser.add_argument(
        "--batch-sizes", help=f"N to count at, e.g. '1,100', each <= {study.MAX_BATCH}"
    )
    parser.add_argument(
        "--activation",
        choices=sorted(backprop.ACTIVATIONS),
        help="ψ of the hidden layers (default relu)",
    )
    args = parser.parse_args(argv)
    widths = cli.parse_int_spec(args.widths, name="--widths", maximum=study.MAX_SIZE)
    batch_sizes = cli.parse_int_spec(
        args.batch_sizes, name="--batch-sizes", maximum=study.MAX_BATCH
    )
    config = cli.configure(
        study, args, widths=widths, batch_sizes=batch_sizes, activation=args.activation
    )
    return cli.run_study(study, config, args, argv)


if __name__ == "__main__":
    cli.run_main(main)
