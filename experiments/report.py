"""Assembles REPORT.md from the experiments' results in ``figures/``.

    python experiments/report.py [--figures DIR] [--output FILE]
"""

from __future__ import annotations

import os
from pathlib import Path

from jaxnn import cli, io, report


def main(argv: list[str] | None = None) -> str:
    parser = cli.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--figures", default="figures", help="folder of result files")
    parser.add_argument("--output", default="REPORT.md", help="report file (default REPORT.md)")
    args = parser.parse_args(argv)
    figures = Path(args.figures)
    if not figures.is_dir():
        raise cli.UsageError(f"--figures: no folder {str(figures)!r}")
    output = Path(args.output)
    io.ensure_writable_dir(output.parent if str(output.parent) else ".", name="--output")
    link_prefix = os.path.relpath(figures, output.parent or ".")
    text = report.build_report(figures, link_prefix=link_prefix)
    io.write_text(output, text)
    return text


if __name__ == "__main__":
    cli.run_main(main)
