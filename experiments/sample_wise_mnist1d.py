"""Sample-wise double descent on MNIST-1D: test error against the number of training examples N.

    python experiments/sample_wise_mnist1d.py [--quick] [--full] [--seeds S]
        [--n-train SPEC] [--widths SPEC] [--label-noise Q,...] [--steps T]
        [--out DIR] [--runs DIR] [--resume] [--no-plot] [--quiet] [--matmul-precision P]

``--n-train`` and ``--widths`` are comma lists with inclusive ranges, e.g.
'1000:4000:500,6000,8000'; ``--label-noise`` lists fractions, e.g. '0,0.15'.
Writes ``sample_wise_mnist1d.{json,md,png}`` into ``--out``; the generated dataset
and finished width groups go to ``--runs``. The study is
``jaxnn.studies.sample_wise_mnist1d``.
"""

from __future__ import annotations

from jaxnn import cli
from jaxnn.studies import sample_wise_mnist1d as study


def main(argv: list[str] | None = None) -> dict:
    parser = cli.make_parser(__doc__)
    parser.add_argument("--seeds", type=cli.int_in(1, 1000), help="repetitions of every cell")
    parser.add_argument("--n-train", help="training-set sizes N, e.g. '1000:4000:500,8000'")
    parser.add_argument("--widths", help="hidden units M of the MLP, e.g. '47,94'")
    parser.add_argument("--label-noise", help="label-noise fractions, e.g. '0,0.15'")
    parser.add_argument("--steps", type=cli.int_in(1, 10**7), help="SGD steps at every N")
    args = parser.parse_args(argv)
    config = cli.configure(
        study,
        args,
        seeds=args.seeds,
        steps=args.steps,
        n_train=cli.parse_int_spec(args.n_train, name="--n-train"),
        widths=cli.parse_int_spec(args.widths, name="--widths", maximum=study.MAX_WIDTH),
        label_noises=cli.parse_float_list(args.label_noise, name="--label-noise", nonnegative=True),
    )
    return cli.run_study(study, config, args, argv)


if __name__ == "__main__":
    cli.run_main(main)
