"""Double descent in width (computer assignment 1): training curves, width sweep, more data.

    python experiments/double_descent.py [--quick] [--full] [--seeds S] [--widths SPEC]
        [--epochs T] [--curve-epochs T] [--n-train LIST] [--noise-std S]
        [--out DIR] [--runs DIR] [--resume] [--no-plot] [--quiet] [--matmul-precision P]

Writes ``double_descent.{json,md}`` and ``double_descent_{curves,sweep,more_data}.png``
into ``--out``; finished width groups go to ``--runs``, so an interrupted run
continues with ``--resume``. Lists are comma-separated, with inclusive integer ranges
(``--widths 2:40:2,50``, ``--n-train 100,200``). The study is ``jaxnn.studies.double_descent``.
"""

from __future__ import annotations

from jaxnn import cli
from jaxnn.studies import double_descent as study


def main(argv: list[str] | None = None) -> dict:
    parser = cli.make_parser(__doc__)
    parser.add_argument("--seeds", type=cli.int_in(1, 1000), help="repetitions per width")
    parser.add_argument("--widths", help="e.g. '2:40:2,50,100' (ranges include the end)")
    parser.add_argument(
        "--epochs", "--steps", type=cli.int_in(1, 10**8), help="full-batch Adam steps per model"
    )
    parser.add_argument(
        "--curve-epochs", type=cli.int_in(1, 10**8), help="steps for the training curves"
    )
    parser.add_argument("--n-train", help="training-set sizes, e.g. '100,200'")
    parser.add_argument(
        "--noise-std", type=cli.finite_float(nonnegative=True), help="label noise s"
    )
    args = parser.parse_args(argv)
    config = cli.configure(study, args)
    config = cli.override(
        config,
        seeds=args.seeds,
        epochs=args.epochs,
        curve_epochs=args.curve_epochs,
        data=cli.override(config.data, noise_std=args.noise_std),
        n_train=cli.parse_int_spec(args.n_train, name="--n-train", maximum=10**6),
        widths=cli.parse_int_spec(args.widths, name="--widths", maximum=study.MAX_WIDTH),
    )
    return cli.run_study(study, config, args, argv)


if __name__ == "__main__":
    cli.run_main(main)
