"""Double descent in width (computer assignment 1): training curves, width sweep, more data.

    python experiments/double_descent.py [--quick] [--full] [--seeds S] [--widths SPEC]
        [--epochs T] [--n-train N ...] [--out DIR] [--runs DIR] [--resume] [--no-plot]

Writes ``double_descent.json`` and ``double_descent_{curves,sweep,more_data}.png``
into ``--out``; raw per-group arrays go to ``--runs`` so an interrupted run
resumes with ``--resume``.
"""

from __future__ import annotations

import dataclasses
import time

import jax

from jaxnn import cli, data, io, models, precision, sweep, train
from jaxnn import double_descent as dd

DEFAULT_WIDTHS = (*range(2, 49, 2), 56, 64, 80, 100, 128, 160, 200)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    """The double-descent study.

    Attributes:
        data: the teacher, noise level s and test set (``R_t = s**2``).
        widths: hidden widths M of the 8 -> M -> M -> 8 sweep.
        curve_widths: widths whose training curves part (b) shows.
        n_train: training-set sizes N; the first is the assignment's N = 100.
        seeds: independent repetitions (new training set and new init each).
        epochs: full-batch Adam steps per model in the sweep (B = N).
        curve_epochs: steps for the part (b) training curves.
        learning_rate: Adam's step size.
        init_scheme: see ``jaxnn.models``.
        interpolation_tol: a width interpolates when its seed-median final
            training MSE is below this (0.05 % of the target variance 1 + s**2).
        chunk_epochs: epochs per compiled call (one host sync and progress tick).
        matmul_precision: float32 matmul precision (``jaxnn.precision``).
        more_data_widths: widths for the N table; ``None`` picks the measured
            thresholds of every N plus the largest width.
        seed: master seed of data draws and initializations.
    """

    data: data.TeacherConfig = data.TeacherConfig()
    widths: tuple[int, ...] = DEFAULT_WIDTHS
    curve_widths: tuple[int, ...] = (10, 50, 100)
    n_train: tuple[int, ...] = (100, 200)
    seeds: int = 3
    epochs: int = 20_000
    curve_epochs: int = 50_000
    learning_rate: float = 1e-3
    init_scheme: str = "torch_uniform"
    interpolation_tol: float = 1e-3
    chunk_epochs: int = 1000
    matmul_precision: str = precision.DEFAULT
    more_data_widths: tuple[int, ...] | None = None
    seed: int = 0

    def __post_init__(self):
        for name in ("seeds", "epochs", "curve_epochs", "chunk_epochs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be >= 1, got {getattr(self, name)}")
        for name in ("widths", "curve_widths", "n_train"):
            values = getattr(self, name)
            if not values or min(values) < 1:
                raise ValueError(f"{name}: need values >= 1, got {values}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate: must be > 0, got {self.learning_rate}")
        if not self.interpolation_tol > 0:
            raise ValueError(f"interpolation_tol: must be > 0, got {self.interpolation_tol}")
        models.check_init_scheme(self.init_scheme)
        precision.check_precision(self.matmul_precision)

    def train_config(self, epochs: int) -> train.TrainConfig:
        return train.TrainConfig(optimizer="adam", epochs=epochs, batch_size=None,
                                 activation="relu", chunk_epochs=min(self.chunk_epochs, epochs),
                                 loss_thresholds=(1e-3, 1e-5), final_window=max(1, epochs // 20),
                                 matmul_precision=self.matmul_precision)


QUICK = Config(
    data=data.TeacherConfig(n_test=2000, normalisation_samples=10_000),
    widths=(2, 6, 12, 24, 40), curve_widths=(6, 24), seeds=2, epochs=300, curve_epochs=400,
    chunk_epochs=100,
)
FULL = Config(widths=tuple(range(2, 201)), seeds=8, epochs=40_000, curve_epochs=100_000)


def parse_config(argv: list[str] | None):
    parser = cli.make_parser(__doc__.splitlines()[0], resumable=True)
    parser.add_argument("--seeds", type=int, help="repetitions per width")
    parser.add_argument("--widths", help="e.g. '2:40:2,50,100' (ranges include the end)")
    parser.add_argument("--epochs", "--steps", type=int, dest="epochs", help="steps per model")
    parser.add_argument("--curve-epochs", type=int, help="steps for the training curves")
    parser.add_argument("--n-train", type=int, nargs="+", help="training-set sizes")
    parser.add_argument("--noise-std", type=float, help="label noise s")
    args = parser.parse_args(argv)
    config = cli.preset(args, default=Config(), quick=QUICK, full=FULL)
    data_config = cli.override(config.data, noise_std=args.noise_std)
    config = cli.override(
        config, seed=args.seed, seeds=args.seeds, epochs=args.epochs, data=data_config,
        curve_epochs=args.curve_epochs, matmul_precision=args.matmul_precision,
        n_train=None if args.n_train is None else tuple(args.n_train),
        widths=None if args.widths is None else cli.parse_int_spec(args.widths, name="--widths"),
    )
    return config, args


def main(argv: list[str] | None = None) -> dict:
    config, args = parse_config(argv)
    out, record, run, mesh = cli.start_sweep_run(args, config, "double_descent", argv)
    start = time.perf_counter()

    key_data, key_init = jax.random.split(jax.random.key(config.seed))
    datasets = {
        n: data.make_dataset(jax.random.fold_in(key_data, n), config.data, n, n_draws=config.seeds)
        for n in config.n_train
    }
    training_sets = {n: (d.x_train, d.y_train) for n, d in datasets.items()}
    x_test, y_test = datasets[config.n_train[0]].x_test, datasets[config.n_train[0]].y_test
    groups = sweep.plan_sweep(config.widths, config.n_train, epochs=config.epochs,
                              members_per_width=config.seeds, n_devices=len(jax.devices()),
                              costs=sweep.backend_costs())
    n_first = config.n_train[0]
    curve_group = sweep.WidthGroup(sweep.round_up(max(config.curve_widths), 8),
                                   tuple(sorted(config.curve_widths)), (n_first,))
    total = (sweep.member_epochs([curve_group], config.seeds, config.curve_epochs)
             + sweep.member_epochs(groups, config.seeds, config.epochs))

    def run_groups(groups, epochs, prefix, progress):
        return sweep.run_width_sweep(
            key_init, groups, training_sets, x_test, y_test, config.train_config(epochs),
            learning_rate=config.learning_rate, init_scheme=config.init_scheme, mesh=mesh,
            progress=progress, load_group=lambda g: run.load_part(f"{prefix}_{g.name}"),
            save_group=lambda g, r: run.save_part(f"{prefix}_{g.name}", r),
        )

    with run.marking_interruptions(), cli.progress_bar(
            total, description="double descent", quiet=args.quiet) as progress:
        curves = run_groups([curve_group], config.curve_epochs, "curves", progress)
        trained = run_groups(groups, config.epochs, "sweep", progress)
    wall_seconds = time.perf_counter() - start
    sweeps = {n: {w: trained[(n, w)] for w in config.widths} for n in config.n_train}

    rows = {n: dd.sweep_rows(sweeps[n], n) for n in config.n_train}
    thresholds = [dd.interpolation_threshold(rows[n], config.interpolation_tol)
                  for n in config.n_train]
    more_data_widths = config.more_data_widths or tuple(sorted(
        {t["width"] for t in thresholds if t is not None} | {max(config.widths)}))
    bayes = data.bayes_risk(config.data)
    tolerance = 3 * data.bayes_risk_standard_error(config.data)
    lowest = min(r["test_loss_min"] for n in config.n_train for r in rows[n])
    results = {
        "bayes_risk": bayes,
        "bayes_risk_standard_error": data.bayes_risk_standard_error(config.data),
        "training_curves": [dd.training_curve(curves[(n_first, w)], w, (1e-3, 1e-5))
                            for w in curve_group.widths],
        "curve_n_train": n_first,
        "sweep": [row for n in config.n_train for row in rows[n]],
        "interpolation_threshold": [t for t in thresholds if t is not None],
        "interpolation_tol": config.interpolation_tol,
        "parameter_count_at_n_times_outputs": [
            {"n_train": n, "n_params": n * config.data.output_dim,
             "width": dd.width_at_parameter_count(n * config.data.output_dim)}
            for n in config.n_train],
        "test_loss_peak": [dd.test_loss_peak(rows[n]) for n in config.n_train],
        "more_data": dd.more_data_rows(rows, more_data_widths),
        "more_data_hurts_widths": (dd.harmful_data_widths(rows, *config.n_train[:2])
                                   if len(config.n_train) > 1 else []),
        "bayes_check": {"lowest_test_loss": lowest, "bayes_risk": bayes,
                        "tolerance": tolerance, "passed": bool(lowest >= bayes - tolerance)},
        "groups": [dataclasses.asdict(g) for g in groups],
        "wall_seconds": wall_seconds,
        "run_dir": str(run.path),
        **record,
    }
    io.write_json(out / "double_descent.json", results)
    if not args.no_plot:
        from jaxnn.plotting import double_descent as plots

        plots.plot_all(results, out)
    run.set_status("done", wall_seconds=wall_seconds)
    return results


if __name__ == "__main__":
    cli.run_main(main)
