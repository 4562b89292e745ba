"""Assembles REPORT.md from the studies' results in ``figures/``.

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
    figures, output = Path(args.figures), Path(args.output)
    if not figures.is_dir():
        raise cli.UsageError(f"--figures: no folder {str(figures)!r}")
    if output.is_dir():
        raise cli.UsageError(f"--output: {str(output)!r} is a folder; give a file name")
    try:
        io.ensure_writable_dir(output.parent if str(output.parent) else ".", name="--output")
        text = report.build_report(figures, link_prefix=os.path.relpath(figures, output.parent))
    except ValueError as error:  # an unwritable folder or an unreadable result file
        raise cli.UsageError(str(error)) from None
    io.write_text(output, text)
    print(f"report: wrote {output} ({len(report.SECTIONS)} sections)")
    return text


if __name__ == "__main__":
    cli.run_main(main)
