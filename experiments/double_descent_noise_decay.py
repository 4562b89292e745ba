"""Double descent beyond the sheet: the peak against label noise, and optimal weight decay.

    python experiments/double_descent_noise_decay.py [--quick] [--full] [--seeds S]
        [--widths SPEC] [--epochs T] [--noise-stds LIST] [--weight-decays LIST]
        [--out DIR] [--runs DIR] [--resume] [--no-plot] [--quiet] [--matmul-precision P]

Writes ``double_descent_noise_decay.{json,md}`` and ``double_descent_{noise,decay}.png``
into ``--out``. The study is ``jaxnn.studies.double_descent_noise_decay``.
"""

from __future__ import annotations

from jaxnn import cli
from jaxnn.studies import double_descent_noise_decay as study


def main(argv: list[str] | None = None) -> dict:
    parser = cli.make_parser(__doc__)
    parser.add_argument("--seeds", type=cli.int_in(1, 1000), help="repetitions per width")
    parser.add_argument("--widths", help="e.g. '2:40:2,64,100' (ranges include the end)")
    parser.add_argument("--epochs", type=cli.int_in(1, 10**8), help="full-batch Adam steps")
    parser.add_argument("--noise-stds", help="label-noise levels >= 0, e.g. '0,0.5,1'")
    parser.add_argument("--weight-decays", help="L2 coefficients > 0, e.g. '1e-3,1e-2'")
    args = parser.parse_args(argv)
    config = cli.configure(
        study,
        args,
        seeds=args.seeds,
        epochs=args.epochs,
        widths=cli.parse_int_spec(args.widths, name="--widths", maximum=study.MAX_WIDTH),
        noise_stds=cli.parse_float_list(args.noise_stds, name="--noise-stds", nonnegative=True),
        weight_decays=cli.parse_float_list(
            args.weight_decays, name="--weight-decays", positive=True
        ),
    )
    return cli.run_study(study, config, args, argv)


if __name__ == "__main__":
    cli.run_main(main)
