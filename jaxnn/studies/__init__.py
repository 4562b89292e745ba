"""One module per study, each with the same surface.

    Config            a frozen, validated dataclass: everything that determines a run
    QUICK, FULL       presets: a smoke run of seconds, and an accelerator-sized run
                      (the dataclass defaults are the CPU-sized real run)
    run(config, *, mesh=None, run_dir=None, progress=None) -> dict
                      the computation; pure apart from ``run_dir`` (finished parts
                      kept for ``--resume``) and ``progress`` (see ``Progress``)
    markdown(results) -> str
                      the study's section of REPORT.md, every number read from ``results``
    summary(results) -> list[str]
                      the headline numbers a CLI prints when it is done

``experiments/<study>.py`` parses flags into a ``Config`` and hands it to
``jaxnn.cli.run_study``, which runs, writes ``<study>.json`` (results plus the
run record under ``"run"``), ``<study>.md`` and the figures of
``jaxnn.plotting.<study>.plot_all``, and prints the summary.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """What a study reports its progress to: a total of work units, then increments."""

    def start(self, total: int, unit: str) -> None: ...

    def __call__(self, done: int) -> None: ...


class NoProgress:
    """The progress of a study run without a console (tests, notebooks)."""

    def start(self, total: int, unit: str) -> None:
        pass

    def __call__(self, done: int) -> None:
        pass
