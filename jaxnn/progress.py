"""Progress on stderr: a tqdm bar on a terminal, else a plain line every 30 s.

Shared by the study scripts (``jaxnn.cli``) and the public ``jaxnn.width_sweep``;
the work is counted in whatever unit the caller starts it with (GFLOP of
padded model flops for a sweep, so the ETA weighs wide groups by their cost).
"""

from __future__ import annotations

import sys
import time


def duration_text(seconds: float) -> str:
    """Seconds as ``"42 s"`` or, from 90 s on, ``"1.5 min"``."""
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


class ConsoleProgress:
    """A study's progress on stderr: a tqdm bar on a terminal, else a plain line every 30 s.

    Use as a context manager; the study calls ``start(total, unit)`` then
    ``progress(done)`` with increments. ``quiet`` prints nothing.
    """

    def __init__(
        self,
        description: str,
        *,
        quiet: bool = False,
        interval: float = 30.0,
        stream=None,
        terminal: bool | None = None,
    ):
        self.description = description
        self.quiet = quiet
        self.interval = interval
        self.stream = stream or sys.stderr
        self.terminal = self.stream.isatty() if terminal is None else terminal
        self.total = self.done = 0
        self.unit = "step"
        self.bar = None
        self.started = self.last_line = time.perf_counter()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        return False

    def start(self, total: float, unit: str = "step") -> None:
        """Starts (or, for the next part of a study, restarts) counting to ``total``."""
        self.__exit__()
        self.total, self.unit, self.done = total, unit, 0
        self.started = self.last_line = time.perf_counter()
        if self.quiet:
            return
        if self.terminal:
            from tqdm.auto import tqdm

            self.bar = tqdm(
                total=self.total,
                desc=self.description,
                unit=unit,
                unit_scale=True,
                dynamic_ncols=True,
                file=self.stream,
            )
        else:
            self._line("started")

    def __call__(self, done: float) -> None:
        self.done += done
        if self.quiet:
            return
        if self.bar is not None:
            self.bar.update(done)
        elif (
            time.perf_counter() - self.last_line >= self.interval
            or self.done >= self.total * (1 - 1e-9) > 0
        ):
            self._line()

    def _line(self, note: str | None = None) -> None:
        self.last_line = now = time.perf_counter()
        elapsed = now - self.started
        fraction = self.done / self.total if self.total else 0.0
        digits = 0 if self.total >= 10 else 2  # a small sweep is not "0 GFLOP"
        parts = [
            f"{self.description}: {fraction:4.0%} of {self.total:,.{digits}f} {self.unit}",
            f"{duration_text(elapsed)} elapsed",
        ]
        if note:
            parts.append(note)
        elif 0 < fraction < 1:
            parts.append(f"ETA {duration_text(elapsed * (1 - fraction) / fraction)}")
        print(", ".join(parts), file=self.stream, flush=True)


class Forward:
    """Sends ``start(total, unit)`` and ``(done)`` on to the caller's own object, if any."""

    def __init__(self, target=None):
        self.target = target

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    def start(self, total, unit="step"):
        if self.target is not None:
            self.target.start(total, unit)

    def __call__(self, done):
        if self.target is not None:
            self.target(done)


def make_reporter(progress, description: str):
    """A progress context from a public call's ``progress`` argument: ``True`` (a
    ``ConsoleProgress``), ``False``/``None`` (nothing), or an object with ``start`` and ``()``."""
    if progress is True:
        return ConsoleProgress(description)
    if progress is False or progress is None:
        return Forward()
    if not (callable(progress) and hasattr(progress, "start")):
        raise ValueError("progress: need True, False or an object with start(total, unit) and ()")
    return Forward(progress)
