"""Implicit regularization of SGD (assignment 2): learning rates, gradient statistics, weight decay.

    python experiments/implicit_regularization.py [--quick] [--full] [--seeds S]
        [--learning-rates LIST] [--weight-decays LIST] [--epochs T] [--depth K]
        [--out DIR] [--runs DIR] [--resume] [--no-plot] [--quiet]

Trains every learning rate × seed in one vmapped ``train.train`` call and the
weight-decay grid × learning rates × seeds in another, measures the gradient
statistics at the final parameters and at the first epoch below a matched
training loss, and writes ``implicit_regularization.{json,md}`` and
``implicit_regularization_*.png`` into ``--out``. Raw arrays go to ``--runs``
so an interrupted run resumes with ``--resume``.
"""

from __future__ import annotations

import dataclasses
import time

import jax
import numpy as np

from jaxnn import cli, data, io, models, train
from jaxnn import implicit_regularization as ir_lib


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    """The implicit-regularization study.

    Attributes:
        data: teacher, noise s and test set: the double-descent study's data.
        width: M, hidden units per layer.
        depth: number of hidden layers (the assignment used five).
        n_train: N, training-set size.
        batch_size: B; must divide N.
        learning_rates: constant SGD rates μ, all trained in one vmapped call.
        weight_decays: λ > 0 of the explicit-regularization grid (L2 on kernels).
        seeds: repetitions; each redraws the training set and the initialization.
        epochs: passes over the training set for every run.
        init_scheme: see ``jaxnn.models``; LeCun normal lets plain SGD converge at every rate.
        matched_loss: gradient statistics are also taken at the first epoch below this.
        convergence_level: a run has converged when its final training MSE is below this.
        collapse_tol: output spread below this times the target spread counts as diverged.
        chunk_epochs: epochs per compiled call (one host sync and progress tick).
        seed: master seed of data draws, initializations and batch orders.
    """

    data: data.TeacherConfig = data.TeacherConfig()
    width: int = 50
    depth: int = 5
    n_train: int = 100
    batch_size: int = 20
    learning_rates: tuple[float, ...] = (0.02, 0.04, 0.08, 0.16)
    weight_decays: tuple[float, ...] = (1e-3, 3e-3, 1e-2, 3e-2, 5e-2, 1e-1)
    seeds: int = 4
    epochs: int = 4000
    init_scheme: str = "lecun_normal"
    matched_loss: float = 1e-4
    convergence_level: float = 1e-5
    collapse_tol: float = 1e-3
    chunk_epochs: int = 500
    seed: int = 0

    def __post_init__(self):
        for name in ("width", "depth", "n_train", "batch_size", "seeds", "epochs", "chunk_epochs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be >= 1, got {getattr(self, name)}")
        if self.n_train % self.batch_size:
            raise ValueError(
                f"batch_size: {self.batch_size} does not divide n_train {self.n_train}")
        if not self.learning_rates or not all(r > 0 for r in self.learning_rates):
            raise ValueError(f"learning_rates: need values > 0, got {self.learning_rates}")
        if not all(d > 0 for d in self.weight_decays):
            raise ValueError(f"weight_decays: need values > 0, got {self.weight_decays}")
        for name in ("matched_loss", "convergence_level", "collapse_tol"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}: must be > 0, got {getattr(self, name)}")
        models.check_init_scheme(self.init_scheme)

    def train_config(self) -> train.TrainConfig:
        return train.TrainConfig(
            optimizer="sgd", epochs=self.epochs, batch_size=self.batch_size, activation="relu",
            chunk_epochs=min(self.chunk_epochs, self.epochs),
            loss_thresholds=(self.matched_loss, self.convergence_level),
            final_window=max(1, min(100, self.epochs // 20)), snapshot_below=self.matched_loss)


QUICK = Config(
    data=data.TeacherConfig(n_test=2000, normalisation_samples=10_000),
    learning_rates=(0.08, 0.16), weight_decays=(1e-2,), seeds=2, epochs=400,
    matched_loss=3e-2, convergence_level=3e-3, chunk_epochs=200,
)
FULL = Config(learning_rates=(0.01, 0.02, 0.04, 0.08, 0.16, 0.32),
              weight_decays=(1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1), seeds=8,
              epochs=12_000,
              chunk_epochs=1000)


def parse_config(argv: list[str] | None):
    parser = cli.make_parser(__doc__.splitlines()[0], resumable=True)
    parser.add_argument("--seeds", type=int, help="repetitions (new training set and init each)")
    parser.add_argument("--learning-rates", help="comma-separated SGD rates, e.g. '0.02,0.04'")
    parser.add_argument("--weight-decays", help="comma-separated decay rates > 0, e.g. '1e-3,1e-2'")
    parser.add_argument("--epochs", type=int, help="epochs for every run")
    parser.add_argument("--depth", type=int, help="number of hidden layers")
    args = parser.parse_args(argv)
    config = cli.override(
        cli.preset(args, default=Config(), quick=QUICK, full=FULL),
        seed=args.seed, seeds=args.seeds, epochs=args.epochs, depth=args.depth,
        learning_rates=None if args.learning_rates is None
        else cli.parse_float_list(args.learning_rates, name="--learning-rates"),
        weight_decays=None if args.weight_decays is None
        else cli.parse_float_list(args.weight_decays, name="--weight-decays"),
    )
    return config, args


def run_sweep(config: Config, grid: ir_lib.Grid, dataset, key, *, mesh, progress) -> dict:
    """Trains one grid in one vmapped call and measures everything the rows need."""
    start = time.perf_counter()
    sizes = models.stacked_layer_sizes(config.width, config.depth)
    members = ir_lib.build_members(key, grid, dataset.x_train, dataset.y_train, sizes,
                                   config.init_scheme)
    result = train.train(config.train_config(), members, dataset.x_test, dataset.y_test,
                         mesh=mesh, progress=progress)
    x, y = members.x_train, members.y_train
    measure = lambda params: ir_lib.member_gradient_stats(  # noqa: E731
        params, x, y, activation="relu", batch_size=config.batch_size)
    final, matched = measure(result.params), measure(result.snapshot_params)
    return {
        "train_loss": result.train_loss,
        "final_train_loss": result.final_train_loss,
        "test_loss": result.test_loss[:, -1],
        "diverged": result.diverged,
        "first_epoch_below_convergence": result.first_epoch_below[:, 1],
        "snapshot_epoch": result.snapshot_epoch,
        "matched_train_loss": ir_lib.matched_train_loss(result.train_loss, result.snapshot_epoch),
        "output_spread": ir_lib.output_spread(result.params, x, activation="relu"),
        "target_spread": ir_lib.target_spread(y),
        **{f"final_{k}": v for k, v in final.items()},
        **{f"matched_{k}": v for k, v in matched.items()},
        "seconds": np.asarray(time.perf_counter() - start),  # survives a resume
    }


def main(argv: list[str] | None = None) -> dict:
    config, args = parse_config(argv)
    out, record, run, mesh = cli.start_sweep_run(args, config, "implicit_regularization", argv)
    start = time.perf_counter()

    key_data, key_init = jax.random.split(jax.random.key(config.seed))
    dataset = data.make_dataset(key_data, config.data, config.n_train, n_draws=config.seeds)
    grids = {
        "implicit": ir_lib.make_grid(config.learning_rates, config.seeds),
        "weight_decay": ir_lib.make_grid(config.learning_rates, config.seeds, config.weight_decays),
    }
    arrays = {}
    with run.marking_interruptions(), cli.progress_bar(
            config.epochs * len(grids), description="implicit reg.", quiet=args.quiet) as update:
        for name, grid in grids.items():
            arrays[name] = run.load_part(name)
            if arrays[name] is None:
                arrays[name] = run_sweep(config, grid, dataset, key_init, mesh=mesh,
                                         progress=update)
                run.save_part(name, arrays[name])
            else:
                update(config.epochs)
    wall_seconds = time.perf_counter() - start

    row_options = {"convergence_level": config.convergence_level,
                   "collapse_tol": config.collapse_tol}
    runs = [row for name, grid in grids.items()
            for row in ir_lib.run_rows(grid, arrays[name], **row_options)]
    rate_rows = ir_lib.rate_summary(runs)
    decay_rows = ir_lib.decay_summary(runs)
    best = ir_lib.best_settings(decay_rows)
    n_batches = config.n_train // config.batch_size
    implicit = grids["implicit"]
    results = {
        "n_params": models.parameter_count(models.stacked_layer_sizes(config.width, config.depth)),
        "n_batches": n_batches,
        "bayes_risk": data.bayes_risk(config.data),
        "runs": runs,
        "rate_summary": rate_rows,
        "decay_summary": decay_rows,
        "best": best,
        "implicit_penalty": ir_lib.implicit_penalty_table(rate_rows, n_batches),
        "trends": ir_lib.statistic_trends([r for r in rate_rows if r["n_converged"]]),
        "test_loss_correlations": ir_lib.test_loss_correlations(runs),
        "training_curves": ir_lib.training_curves(
            implicit, arrays["implicit"]["train_loss"],
            np.asarray(arrays["implicit"]["first_epoch_below_convergence"])),
        "conclusions": ir_lib.conclusions(runs, rate_rows, best,
                                          convergence_level=config.convergence_level,
                                          matched_loss=config.matched_loss),
        "wall_seconds": wall_seconds,
        "sweep_seconds": {name: float(arrays[name]["seconds"]) for name in grids},
        "run_dir": str(run.path),
        **record,
    }
    io.write_json(out / "implicit_regularization.json", results)
    io.write_text(out / "implicit_regularization.md",
                  ir_lib.markdown_report(io.to_jsonable(results)))
    if not args.no_plot:
        from jaxnn.plotting import implicit_regularization as plots

        plots.plot_all(io.to_jsonable(results), out)
    run.set_status("done", wall_seconds=wall_seconds)
    return results


if __name__ == "__main__":
    cli.run_main(main)
