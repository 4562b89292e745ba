"""Recomputes the verdicts of finished runs from their stored numbers, without retraining.

python experiments/reanalyse.py [--figures DIR] [--no-plot] [STUDY ...]

For each study result ``<study>.json`` in ``--figures`` whose study has
``with_verdicts`` (the function every run applies before writing its files),
rewrites the JSON, the section ``<study>.md`` and the figures from the stored
per-seed numbers. The run record is kept; ``"reanalysed"`` records the command
and the package versions of this pass. A rerun of the same config gives the
same files (the tests check it on the ``--quick`` runs).
"""

from __future__ import annotations

import importlib
import shlex
import sys
from pathlib import Path

from jaxnn import cli, io, report


def reanalyse(path: Path, *, plot: bool = True) -> list[Path]:
    """One result file's verdicts, section and figures from its numbers; the files written."""
    stem = path.stem
    study = importlib.import_module(f"jaxnn.studies.{stem}")
    document = report.read_results(path)
    document = io.to_jsonable(study.with_verdicts(document))
    document["reanalysed"] = {
        "command": shlex.join(["python", *sys.argv]),
        "versions": io.package_versions(),
    }
    written = [
        io.write_json(path, document),
        io.write_text(path.with_suffix(".md"), study.markdown(document)),
    ]
    if plot:
        plots = importlib.import_module(f"jaxnn.plotting.{stem}")
        written += list(plots.plot_all(document, path.parent) or [])
    return written


def main(argv: list[str] | None = None) -> list[Path]:
    parser = cli.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("studies", nargs="*", help="study names (default: every one found)")
    parser.add_argument("--figures", default="figures", help="folder of result files")
    parser.add_argument("--no-plot", action="store_true", help="leave the figures as they are")
    args = parser.parse_args(argv)
    figures = Path(args.figures)
    if not figures.is_dir():
        raise cli.UsageError(f"--figures: no folder {str(figures)!r}")
    names = args.studies or [p.stem for p in sorted(figures.glob("*.json"))]
    written = []
    for name in names:
        path = figures / f"{name}.json"
        try:
            study = importlib.import_module(f"jaxnn.studies.{name}")
        except ModuleNotFoundError:
            if args.studies:
                raise cli.UsageError(f"{name}: no such study") from None
            continue
        if not hasattr(study, "with_verdicts"):
            if args.studies:
                raise cli.UsageError(f"{name}: its verdicts are computed in the run; rerun it")
            continue
        if not path.exists():
            raise cli.UsageError(f"{name}: no result file {str(path)!r}")
        files = reanalyse(path, plot=not args.no_plot)
        written += files
        print(f"reanalyse: {name}: wrote {', '.join(p.name for p in files)}")
    return written


if __name__ == "__main__":
    cli.run_main(main)
