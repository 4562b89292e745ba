"""Benchmark: ``jaxnn.width_sweep`` against the plain JAX loop with vmap over seeds.

    python experiments/bench_width_sweep.py [--quick] [--epochs T] [--rounds R] [--mesh]
        [--seed N] [--out DIR] [--quiet] [--matmul-precision P]

A 2-D CNN and an MLP on 8x8x1 images labelled by a random CNN teacher (1,024 training, 512
test examples), 3 seeds, SGD with momentum 0.9 at 0.05, batch 64; widths 4, 8, 16, 24, 32,
20 epochs, 2 interleaved rounds (``--quick``: widths 4 and 16, 1 epoch, 1 round).
``--mesh`` shards ``width_sweep``'s members over one CPU device per core (the plain loop
stays on one device). Prints the medians over rounds of cold, warm and run seconds, the
ratios plain / width_sweep, both methods' test errors per width, and the warm ratio of three
separate calls to one call over three training sets; writes ``bench_width_sweep.json``.
What is compared and why: ``jaxnn.benchmark_width_sweep``.
"""

from __future__ import annotations

import functools
import os

import jax
import numpy as np

from jaxnn import benchmark, cli, io, placement
from jaxnn import benchmark_width_sweep as lib


def report(summary: dict, widths) -> str:
    """The table of median seconds, the ratios and the test errors."""
    lines = [f"{'':16}{'cold s':>8}{'compiling':>10}{'warm s':>8}{'compiling':>10}{'run s':>8}"]
    for name, row in summary.items():
        for method in lib.METHODS:
            lines.append(
                f"{name:>4} {method:>11}"
                + "".join(
                    f"{row[f'{method}_{key}']:{size}.1f}"
                    for key, size in (
                        ("cold_seconds", 8),
                        ("cold_compile_seconds", 10),
                        ("warm_seconds", 8),
                        ("warm_compile_seconds", 10),
                        ("warm_run_seconds", 8),
                    )
                )
            )
    for name, row in summary.items():
        lines.append(
            f"{name}: plain / width_sweep: cold {row['ratio_cold']:.1f}x, warm "
            f"{row['ratio_warm']:.1f}x, run {row['ratio_run']:.1f}x "
            f"(width_sweep groups padded to {row['width_sweep_groups']})"
        )
        for method in lib.METHODS:
            errors = "  ".join(
                f"{w}: {row[f'{method}_test_error'][w]:.3f}±{row[f'{method}_test_error_se'][w]:.3f}"
                for w in widths
            )
            lines.append(f"  test error {method:>11}  {errors}")
        disagree = [w for w, ok in row["errors_agree"].items() if not ok]
        lines.append(f"  agree within seed noise: {'yes' if not disagree else f'no at {disagree}'}")
    return "\n".join(lines)


def parse(argv: list[str] | None):
    parser = cli.make_parser(__doc__)
    parser.add_argument("--epochs", type=cli.int_in(1, 10**4), help="epochs (default 20)")
    parser.add_argument("--rounds", type=cli.int_in(1, 100), help="interleaved rounds (default 2)")
    parser.add_argument(
        "--mesh", action="store_true", help="shard width_sweep's members over every CPU device"
    )
    # It times compiles: programs loaded from the persistent cache would hide them.
    parser.set_defaults(no_compile_cache=True)
    return parser.parse_args(argv)


def add_useful_rates(summary: dict, data, widths, epochs: int, matmul: list[float]) -> None:
    """Adds each module's useful GFLOP/s of the warm run to ``summary`` and prints them."""
    gflop = {name: lib.useful_gflop(m, data, widths, epochs) for name, m in lib.MODELS.items()}
    rates = lib.useful_rates(summary, gflop, float(np.mean(matmul)))
    for name, by_method in rates.items():
        summary[name]["useful_gflop"] = gflop[name]
        summary[name]["useful_gflops_warm_run"] = {m: r for m, (r, _) in by_method.items()}
        summary[name]["share_of_matmul_warm_run"] = {m: s for m, (_, s) in by_method.items()}
        print(
            f"{name}: useful GFLOP/s of the warm run (training only, true widths): "
            + ", ".join(f"{m} {r:.2f} ({s:.1%} of matmul)" for m, (r, s) in by_method.items())
        )


def add_set_ratios(summary: dict, set_rounds: dict, sets: dict) -> None:
    """Adds each module's warm ratio of separate calls to one call over the sets; prints it."""
    for name, entries in set_rounds.items():
        one, separate = (
            np.median([e[method]["seconds"] for e in entries])
            for method in ("one_call", "separate_calls")
        )
        summary[name]["sets_ratio_warm"] = float(np.median([e["ratio"] for e in entries]))
        print(
            f"{name}: warm, {len(sets)} sets ({', '.join(sets)}): three separate calls "
            f"{separate:.2f} s, one call {one:.2f} s, ratio separate / one "
            f"{summary[name]['sets_ratio_warm']:.2f}x (median of {len(entries)} rounds)"
        )


def main(argv: list[str] | None = None) -> dict:
    args = parse(argv)
    widths = (4, 16) if args.quick else (4, 8, 16, 24, 32)
    epochs = args.epochs or (1 if args.quick else 20)
    rounds = args.rounds or (1 if args.quick else 2)
    out = cli.writable_dir(args.out)
    cli.setup_devices(args)
    mesh = placement.sweep_mesh() if args.mesh and len(jax.devices()) > 1 else None
    config = dict(
        widths=widths, seeds=lib.SEEDS, epochs=epochs, rounds=rounds, seed=args.seed,
        n_train=lib.N_TRAIN, n_test=lib.N_TEST, batch_size=lib.BATCH,
        learning_rate=lib.LEARNING_RATE, momentum=lib.MOMENTUM, mesh=mesh is not None,
        matmul_precision=args.matmul_precision,
    )  # fmt: skip
    data = lib.make_data(args.seed)
    load = {"before": os.getloadavg()}
    matmul = [benchmark.matmul_flops_per_second() / 1e9]
    log = (lambda line: None) if args.quiet else functools.partial(print, flush=True)
    placed = dict(mesh=mesh, precision=args.matmul_precision)
    rounds_ = [
        lib.compare_round(index, widths, epochs, args.seed, data, log=log, **placed)
        for index in range(rounds)
    ]
    sets = lib.make_sets(args.seed)
    set_rounds = {
        name: [
            lib.sets_round(index, module, sets, widths, epochs, args.seed, **placed)
            for index in range(rounds)
        ]
        for name, module in lib.MODELS.items()
    }
    load["after"] = os.getloadavg()
    matmul.append(benchmark.matmul_flops_per_second() / 1e9)
    summary = lib.summarise(rounds_, widths)
    print(report(summary, widths))
    add_useful_rates(summary, data, widths, epochs, matmul)
    print(f"float32 matmul (before, after): {matmul[0]:.1f}, {matmul[1]:.1f} GFLOP/s")
    add_set_ratios(summary, set_rounds, sets)
    print(f"load average (1, 5, 15 min): before {load['before']}, after {load['after']}")
    document = {
        "summary": summary,
        "rounds": rounds_,
        "set_rounds": set_rounds,
        "load_average": load,
        "matmul_gflops_before_after": matmul,
        **io.run_record(config, seed=args.seed, argv=argv),
    }
    io.write_json(out / "bench_width_sweep.json", io.to_jsonable(document))
    return document


if __name__ == "__main__":
    cli.run_main(main)
