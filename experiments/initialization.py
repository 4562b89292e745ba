"""Exercise 3: initialization theory against Monte Carlo, depth propagation, initial smoothness.

    python experiments/initialization.py [--quick] [--full] [--seed N] [--out DIR] [--no-plot]
        [--fan-in M] [--weight-var S2] [--num-draws N] [--depth K]

Writes initialization.json, initialization.md, init_depth.png and init_smoothness.png into
--out (default figures); about a minute on a CPU at the default size.
"""

from jaxnn import cli
from jaxnn.studies import initialization as study


def main(argv: list[str] | None = None) -> dict:
    parser = cli.make_parser(__doc__)
    parser.add_argument(
        "--fan-in", type=cli.int_in(1, 10_000), help="M, inputs per neuron in (a)-(c) (default 100)"
    )
    parser.add_argument(
        "--weight-var",
        type=cli.finite_float(positive=True),
        help="sigma^2 of the weights in (a)-(c), in [1e-12, 1e12] (default 0.03)",
    )
    parser.add_argument(
        "--num-draws",
        type=cli.int_in(2, study.MAX_ELEMENTS),
        help="neurons drawn for (a) and (b) (default 200000)",
    )
    parser.add_argument(
        "--depth",
        type=cli.int_in(1, 10_000),
        help="K, layers of the ReLU stacks in (d), <= 100 (default 30)",
    )
    args = parser.parse_args(argv)
    config = cli.configure(
        study,
        args,
        fan_in=args.fan_in,
        weight_var=args.weight_var,
        num_draws=args.num_draws,
        depth=args.depth,
    )
    return cli.run_study(study, config, args, argv)


if __name__ == "__main__":
    cli.run_main(main)
