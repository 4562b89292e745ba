"""Deep double descent on MNIST-1D: an MLP with and without label noise, a CNN with label noise.

    python experiments/double_descent_mnist1d.py [--quick] [--full] [--seeds S]
        [--curves SPEC] [--mlp-widths SPEC] [--cnn-widths SPEC] [--epochs T]
        [--out DIR] [--runs DIR] [--resume] [--no-plot] [--quiet] [--matmul-precision P]

``--curves`` lists model:label-noise pairs, e.g. 'mlp:0,mlp:0.15,cnn:0.15' (the
default); widths are comma lists with inclusive ranges, e.g. '2:28:2,30,40'.
Writes ``double_descent_mnist1d.{json,md}`` and ``double_descent_mnist1d{,_epochwise}.png``
into ``--out``; the generated dataset and finished width groups go to ``--runs``.
The study is ``jaxnn.studies.double_descent_mnist1d``.
"""

from __future__ import annotations

from jaxnn import cli
from jaxnn.studies import double_descent_mnist1d as study


def main(argv: list[str] | None = None) -> dict:
    parser = cli.make_parser(__doc__)
    parser.add_argument(
        "--seeds",
        type=cli.int_in(1, 1000),
        help="repetitions at every width of every curve (replaces the default's extra seeds "
        "at narrow widths)",
    )
    parser.add_argument("--curves", help="model:label-noise pairs, e.g. 'mlp:0,cnn:0.15'")
    parser.add_argument("--mlp-widths", help="hidden units of the MLP curves, e.g. '2:64:2,100'")
    parser.add_argument("--cnn-widths", help="channels of the CNN curves, e.g. '2:28:2,40'")
    parser.add_argument("--epochs", type=cli.int_in(1, 10**6), help="passes over the training set")
    args = parser.parse_args(argv)
    config = cli.configure(study, args)
    widths = {
        model: cli.parse_int_spec(text, name=f"--{model}-widths", maximum=study.MAX_WIDTH[model])
        for model, text in (("mlp", args.mlp_widths), ("cnn", args.cnn_widths))
    }
    curves = config.curves
    if args.curves is not None:
        with cli.as_usage_errors():
            curves = study.select_curves(
                config, cli.parse_named_values(args.curves, name="--curves", names=study.MODELS)
            )
    config = cli.override(
        config,
        epochs=args.epochs,
        curves=tuple(
            cli.override(
                curve,
                seeds=args.seeds,
                more_seeds=() if args.seeds is not None else None,
                widths=widths.get(curve.model),
            )
            for curve in curves
        ),
    )
    return cli.run_study(study, config, args, argv)


if __name__ == "__main__":
    cli.run_main(main)
