r"""Exercise 1: reverse-mode AD of z(a, b) = log b / (1 + e^(a^2 + b^2)), checked three ways.

    python experiments/autodiff_z.py [--quick] [--full] [--seed N] [--out DIR] [--no-plot]
        [--a A] [--b B] [--fd-step H]

Writes autodiff_z.json, autodiff_z.md and autodiff_graph.png into --out (default figures).
The run takes milliseconds and draws nothing: --quick and --full change nothing.
"""

from jaxnn import cli
from jaxnn.studies import autodiff_z as study


def main(argv: list[str] | None = None) -> dict:
    parser = cli.make_parser(__doc__)
    parser.add_argument(
        "--a", type=cli.finite_float(), help="first argument, |a| <= 1e150 (default 2)"
    )
    parser.add_argument(
        "--b",
        type=cli.finite_float(positive=True),
        help="second argument, 1e-300 <= b <= 1e150 (default 3)",
    )
    parser.add_argument(
        "--fd-step",
        type=cli.finite_float(positive=True),
        help="central-difference step h, 0 < h < b (default 1e-5)",
    )
    args = parser.parse_args(argv)
    config = cli.configure(study, args, a=args.a, b=args.b, fd_step=args.fd_step)
    return cli.run_study(study, config, args, argv)


if __name__ == "__main__":
    cli.run_main(main)
