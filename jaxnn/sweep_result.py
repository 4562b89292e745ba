"""``SweepResult``: what ``jaxnn.width_sweep`` measured, by (set, combination, width, seed).

A member is one (training set, hyperparameter combination, width, seed); its
curves are ``curves[(set name, combination index, width)][metric][seed, k]``
at the set's evaluated ``epochs[set name][k]``. ``summary()`` averages the
final values over seeds (mean and standard error of the mean, diverged seeds
left out and counted); ``rows()`` lists every member.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np

from jaxnn import io


@dataclasses.dataclass(frozen=True)
class SweepResult:
    """What ``width_sweep`` measured.

    Attributes:
        widths: the swept widths.
        seeds: the number of seeds.
        hyperparams: every swept combination, ``[{name: value}]`` (``[{}]``: none).
        data: the training sets' names, in the order given (``("data",)`` for one dict).
        sets: ``{name: {"n_train": N, "epochs": T, "steps": S}}``: what each set trained for.
        n_params: ``{width: parameter count}``.
        metrics: the metric names (``train_loss``, ``test_loss``, ``train_error``, ...).
        epochs: ``{name: [k]}`` the epochs at which every metric was measured.
        curves: ``{(name, combination index, width): {metric: [seed, k]}}``.
        diverged: ``{(name, combination index, width): [seed]}``.
        statistics: ``{(name, combination index, width): {statistic: [seed, r]}}`` at
            ``record_epochs`` (empty unless asked for).
        record_epochs: the epochs of ``statistics``.
        notes: one line for each width that could not be padded, and why.
        config: what the sweep was asked (JSON-ready) and the package versions.
        loss_thresholds: the levels of ``first_epoch_below``.
        final_window: the epochs ``final_train_loss`` is the median over.
        loss_curves: ``{cell: [seed, T + 1]}`` the training loss after every epoch
            (see ``width_sweep``'s ``final_window``); not written by ``save``.
        first_epoch_below: ``{cell: [seed, threshold]}`` the first epoch the training
            loss is below each of ``loss_thresholds`` (-1: never, or only after diverging).
        final_train_loss: ``{cell: [seed]}`` the median training loss over the last
            ``final_window`` epochs (``nan`` where diverged).
        snapshot_below: the matched training loss of the snapshots (``None``: none taken).
        snapshot_epoch: ``{cell: [seed]}`` the first epoch whose training loss is below
            ``snapshot_below`` (-1: never).
        snapshot_statistics: ``{cell: {statistic: [seed]}}`` at that epoch's parameters
            (``nan`` where never reached).
    """

    widths: tuple[int, ...]
    seeds: int
    hyperparams: list[dict]
    data: tuple[str, ...]
    sets: dict
    n_params: dict[int, int]
    metrics: tuple[str, ...]
    epochs: dict
    curves: dict
    diverged: dict
    statistics: dict
    record_epochs: tuple[int, ...]
    notes: list[str]
    config: dict
    loss_thresholds: tuple[float, ...] = ()
    final_window: int = 1
    loss_curves: dict = dataclasses.field(default_factory=dict)
    first_epoch_below: dict = dataclasses.field(default_factory=dict)
    final_train_loss: dict = dataclasses.field(default_factory=dict)
    snapshot_below: float | None = None
    snapshot_epoch: dict = dataclasses.field(default_factory=dict)
    snapshot_statistics: dict = dataclasses.field(default_factory=dict)

    def _cells(self):
        for name in self.data:
            for index, combination in enumerate(self.hyperparams):
                for width in self.widths:
                    yield (name, index, width), combination

    def _labels(self, cell, combination) -> dict:
        name, _, width = cell
        return {
            "data": name,
            "n_train": self.sets[name]["n_train"],
            "width": width,
            **combination,
        }

    def rows(self) -> list[dict]:
        """One dict per (set, combination, width, seed): the final value of every metric."""
        rows = []
        for cell, combination in self._cells():
            curves = self.curves[cell]
            for seed in range(self.seeds):
                row = {
                    **self._labels(cell, combination),
                    "seed": seed,
                    "n_params": self.n_params[cell[2]],
                }
                row.update({m: float(curves[m][seed, -1]) for m in self.metrics})
                row["final_train_loss"] = float(self.final_train_loss[cell][seed])
                if self.loss_thresholds:
                    row["first_epoch_below"] = [int(e) for e in self.first_epoch_below[cell][seed]]
                if self.snapshot_below is not None:
                    row["snapshot_epoch"] = int(self.snapshot_epoch[cell][seed])
                    for name, values in self.snapshot_statistics[cell].items():
                        row[f"snapshot_{name}"] = float(values[seed])
                row["diverged"] = bool(self.diverged[cell][seed])
                for name, values in self.statistics.get(cell, {}).items():
                    row[name] = [float(v) for v in values[seed]]
                rows.append(row)
        return rows

    def summary(self) -> list[dict]:
        """One dict per (set, combination, width): each metric's (and ``final_train_loss``'s)
        seed mean ``m`` and standard error ``m_se`` (``nan`` with one seed), over the seeds
        that did not diverge."""
        out = []
        for cell, combination in self._cells():
            curves, kept = self.curves[cell], ~np.asarray(self.diverged[cell])
            row = {**self._labels(cell, combination), "n_params": self.n_params[cell[2]]}
            finals_of = {m: curves[m][:, -1] for m in self.metrics}
            finals_of["final_train_loss"] = self.final_train_loss[cell]
            for metric, values in finals_of.items():
                finals = np.asarray(values, np.float64)[kept]
                row[metric] = float(np.mean(finals)) if finals.size else math.nan
                row[f"{metric}_se"] = (
                    float(np.std(finals, ddof=1) / math.sqrt(finals.size))
                    if finals.size > 1
                    else math.nan
                )
            row["diverged"] = int(np.sum(~kept))
            out.append(row)
        return out

    def table(self) -> str:
        """The summary as aligned text: set and N (with several sets), width, parameters,
        every metric as mean ± se."""
        several = len(self.data) > 1
        labels = (["data", "n_train"] if several else []) + ["width", *self.hyperparams[0]]
        header = [*labels, "n_params", *self.metrics]
        lines = [header]
        for row in self.summary():
            cells = [
                str(row[k]) if isinstance(row[k], str | int) else f"{row[k]:g}" for k in labels
            ]
            cells.append(str(row["n_params"]))
            cells += [f"{row[m]:.4g} ± {row[m + '_se']:.2g}" for m in self.metrics]
            lines.append(cells)
        sizes = [max(len(line[i]) for line in lines) for i in range(len(header))]
        return "\n".join("  ".join(c.rjust(s) for c, s in zip(line, sizes)) for line in lines)

    def to_json(self) -> dict:
        curves = [
            {
                **self._labels(cell, combination),
                "epochs": self.epochs[cell[0]].tolist(),
                **{m: self.curves[cell][m].tolist() for m in self.metrics},
            }
            for cell, combination in self._cells()
        ]
        return {
            "config": self.config,
            "sets": self.sets,
            "summary": self.summary(),
            "rows": self.rows(),
            "record_epochs": list(self.record_epochs),
            "curves": curves,
            "notes": self.notes,
        }

    def save(self, path) -> Path:
        """Writes ``to_json()`` to ``path`` (atomically); returns the path."""
        return io.write_json(path, self.to_json())
