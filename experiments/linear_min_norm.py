"""Minimum-norm least squares on p isotropic Gaussian features: the exact double-descent curve.

    python experiments/linear_min_norm.py [--quick] [--full] [--seeds S] [--ps SPEC]
        [--seed N] [--out DIR] [--runs DIR] [--resume] [--no-plot] [--quiet]
        [--matmul-precision P]

Writes ``linear_min_norm.{json,md}`` and ``linear_min_norm.png`` into ``--out``
(default figures); each finished p is kept under ``--runs`` for ``--resume``.
The study is ``jaxnn.studies.linear_min_norm``.
"""

from __future__ import annotations

from jaxnn import cli
from jaxnn.studies import linear_min_norm as study


def main(argv: list[str] | None = None) -> dict:
    parser = cli.make_parser(__doc__)
    parser.add_argument("--seeds", type=cli.int_in(2, 10**7), help="draws per p (default 1500)")
    parser.add_argument(
        "--ps", help="feature counts p, e.g. '10:90:10,95,105,110:400:10' (ranges include the end)"
    )
    args = parser.parse_args(argv)
    config = cli.configure(
        study,
        args,
        seeds=args.seeds,
        ps=cli.parse_int_spec(args.ps, name="--ps", maximum=study.MAX_FEATURES),
    )
    return cli.run_study(study, config, args, argv)


if __name__ == "__main__":
    cli.run_main(main)
