"""The MNIST-1D MLP curve, our vmapped sweep against the notebook's PyTorch loop, cold and warm.

For ``experiments/bench_mnist1d.py``; README.md's MNIST-1D benchmark section says what is
compared and why. Our side is the study's own ``jaxnn.width_sweep`` call (``time_curve``),
run per round as two fresh processes timed from their start (``time_phases``): *cold* with
an empty temporary persistent-cache folder, *warm* with the folder the cold one filled. The
folder reaches each process through ``JAX_COMPILATION_CACHE_DIR`` (and ``XDG_CACHE_HOME``, so
nothing falls back to the user's own cache); the benchmark's own process keeps the cache off.
Each phase is projected to ``study_epochs`` as ``wall + (study_epochs - epochs) *
seconds_per_epoch`` (steady: the chunks after each group's first), over ``seeds``; PyTorch's
median seconds per epoch (``time_torch_mlp``, the faster of ``torch_threads`` per width) times
``study_epochs``, summed over widths. Ratios are PyTorch / ours per round, and their medians.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import jax
import numpy as np

from jaxnn import benchmark, compile_cache, mnist1d, validation

PHASES = ("cold", "warm")
# What our steady pace is worth, per phase: useful flops per second against the matmul rate.
RATES = ("useful_flops_per_second", "matmul_flops_per_second", "useful_share")
TARGETS = {"cold": 7.0, "warm": 10.0}  # issue 24: ratios on 2 CPU cores
# The parent's ``time.time()`` just before it starts a phase's process: the child's clock
# starts there, so the interpreter's start and every import are timed.
START_ENV = "JAXNN_BENCH_START"


@dataclasses.dataclass(frozen=True, kw_only=True)
class MNIST1DBenchConfig:
    """What ``experiments/bench_mnist1d.py`` times.

    Attributes:
        widths: the MLP curve's hidden widths (the notebook's 19).
        seeds: members per width in our sweep (the study's default).
        epochs: our epochs per group, even, so ``width_sweep`` trains at least two chunks
            (the first of each group compiles); the default's 10 chunks put an evaluation
            every 10 epochs into the steady time, as this benchmark always measured.
        torch_epochs: timed PyTorch epochs per width (after one warm-up epoch).
        torch_threads: PyTorch intra-op thread counts to time; the faster per width counts.
        rounds: alternating rounds of both (the ratios of every round are kept).
        study_epochs: the run length both are projected to (the notebook's 500).
        label_noise: the curve's label noise.
        data: MNIST-1D's generation arguments.
        seed: label-noise and PyTorch seed.
    """

    widths: tuple[int, ...] = mnist1d.NOTEBOOK_MLP_WIDTHS
    seeds: int = 3
    epochs: int = 100
    torch_epochs: int = 3
    torch_threads: tuple[int, ...] = (1, 2)
    rounds: int = 3
    study_epochs: int = 500
    label_noise: float = 0.15
    data: mnist1d.MNIST1DConfig = mnist1d.MNIST1DConfig()
    seed: int = 0

    def __post_init__(self):
        validation.at_least(self, 1, "seeds", "torch_epochs", "rounds", "study_epochs")
        validation.seed(self.seed)
        if self.epochs < 2 or self.epochs % 2:
            raise ValueError(f"--epochs: need an even count, at least 2, got {self.epochs}")
        if self.epochs > self.study_epochs:
            raise ValueError(
                f"--epochs: at most study_epochs ({self.study_epochs}), got {self.epochs}"
            )
        if not self.widths or min(self.widths) < 1:
            raise ValueError(f"widths: need values >= 1, got {self.widths}")
        if not self.torch_threads or min(self.torch_threads) < 1:
            raise ValueError(f"torch_threads: need counts >= 1, got {self.torch_threads}")


MNIST1D_QUICK = MNIST1DBenchConfig(
    widths=(4, 16),
    seeds=1,
    epochs=4,
    torch_epochs=1,
    torch_threads=(1,),
    rounds=1,
    data=mnist1d.MNIST1DConfig(num_samples=2000),
)


def study_inputs(config: MNIST1DBenchConfig, data_dir) -> dict:
    """``{"dataset", "y_train": [seed, N] noisy labels, "study"}``: the curve's data (cached in
    ``data_dir``) and the study's default ``Config`` at the benchmark's epochs, without
    epoch-wise records (they would put evaluations in the timed chunks)."""
    from jaxnn.studies import double_descent_mnist1d as study

    dataset = mnist1d.load(config.data, data_dir)
    settings = dataclasses.replace(
        study.Config(), data=config.data, epochs=config.epochs, epochwise_points=0
    )
    _, noisy = study.training_sets(
        jax.random.key(config.seed), dataset, config.label_noise, config.seeds
    )
    return {"dataset": dataset, "y_train": np.asarray(noisy), "study": settings}


# --- our side: one phase, in its own process ----------------------------------------------------


def cache_entries(directory) -> int:
    """Files under ``directory`` (0 when it does not exist)."""
    directory = Path(directory)
    return sum(1 for p in directory.rglob("*") if p.is_file()) if directory.exists() else 0


def steady_seconds_per_epoch(stamps: Sequence[float], n_groups: int, epochs: int) -> float:
    """Seconds per epoch of all groups together, from the chunk ends of a sweep.

    Every group trains ``epochs`` epochs in equal chunks, one after another; its
    first chunk carries its compilation, the mean of its later ones is its steady
    time. Groups of one call train in turn, so their seconds per epoch add up.
    """
    chunks = len(stamps) // n_groups
    if chunks < 2 or chunks * n_groups != len(stamps):
        raise RuntimeError(
            f"{len(stamps)} chunk ends for {n_groups} group(s): need at least 2 chunks each"
        )
    ends = np.asarray(stamps, np.float64).reshape(n_groups, chunks)
    return float(np.sum(np.diff(ends, axis=1).mean(axis=1)) * chunks / epochs)


def useful_flops_per_epoch(n_params: dict[int, int], seeds: int, n_train: int) -> float:
    """``6 N p`` per member-epoch (forward 2Np, backward 4Np) for ``p`` parameters, over every
    width and seed: the flops of the narrow models, the padding not counted."""
    return float(sum(6 * n_train * p * seeds for p in n_params.values()))


def time_curve(config: MNIST1DBenchConfig, *, data_dir, started: float, mesh=None) -> dict:
    """Trains the study's MLP curve once (``double_descent_mnist1d.sweep_options``, widths
    grouped as for ``config.study_epochs``) and times it from ``started`` (a ``time.time()``).

    Called in a fresh process (``experiments/bench_mnist1d.py --child``) with the persistent
    compilation cache on. ``setup_seconds`` run to the start of training (interpreter,
    imports, JAX, data), ``wall_seconds`` to its end; ``compile_seconds`` count tracing,
    lowering and compiling or loading; the float32 matmul rate is measured afterwards.
    """
    import jaxnn
    from jaxnn.studies import double_descent_mnist1d as study

    benchmark.listen_to_compiles()
    counts = benchmark.compile_counts
    cache_dir = compile_cache.enabled() and Path(jax.config.jax_compilation_cache_dir)
    if not cache_dir:
        raise RuntimeError("the persistent compilation cache is off in this phase's process")
    entries_at_start = cache_entries(cache_dir)
    inputs = study_inputs(config, data_dir)
    dataset, clock = inputs["dataset"], benchmark.ChunkClock()
    setup_seconds = time.time() - started
    result = jaxnn.width_sweep(
        study.MODULES["mlp"],
        dataset._replace(y_train=inputs["y_train"])._asdict(),
        widths=config.widths,
        seeds=config.seeds,
        **study.sweep_options(inputs["study"], jax.random.key(config.seed), "mlp"),
        plan_epochs=config.study_epochs,
        progress=clock,
        mesh=mesh,
    )
    wall_seconds = time.time() - started
    groups = result.config["groups"]
    per_epoch = steady_seconds_per_epoch(clock.stamps, len(groups), config.epochs)
    n_train = len(dataset.y_train)
    useful = useful_flops_per_epoch(result.n_params, config.seeds, n_train) / per_epoch
    matmul = benchmark.matmul_flops_per_second()
    return {
        "wall_seconds": wall_seconds,
        "setup_seconds": setup_seconds,
        "compile_seconds": counts["compile_seconds"],
        "seconds_per_epoch": per_epoch,
        "useful_flops_per_second": useful,
        "matmul_flops_per_second": matmul,
        "useful_share": useful / matmul,
        "cache_hits": counts["cache_hits"],
        "cache_writes": counts["cache_writes"],
        "cache_dir": str(cache_dir),
        "cache_entries_at_start": entries_at_start,
        "cache_entries_at_end": cache_entries(cache_dir),
        "groups": [g["padded_width"] for g in groups],
        "n_devices": 1 if mesh is None else mesh.size,
        "n_train": n_train,
    }


def seconds_per_seed(config: MNIST1DBenchConfig, phase: dict) -> float:
    """A phase projected to ``study_epochs``: its wall plus the epochs it did not run, per seed."""
    remaining = config.study_epochs - config.epochs
    return (phase["wall_seconds"] + remaining * phase["seconds_per_epoch"]) / config.seeds


def run_phase(command: Sequence[str], phase: str, cache_root: Path) -> dict:
    """Runs ``command --child phase`` in a fresh process with its cache under ``cache_root``:
    its ``time_curve`` (the last line of its stdout) and ``process_seconds``, the parent's
    clock from start to exit."""
    env = dict(os.environ)
    env[compile_cache.ENV_DIR] = str(cache_root / "xla")
    env["XDG_CACHE_HOME"] = str(cache_root / "xdg")
    env[compile_cache.ENV_SWITCH] = "1"
    start = time.time()
    env[START_ENV] = repr(start)
    done = subprocess.run(
        [*command, "--child", phase], env=env, capture_output=True, text=True, check=False
    )
    process_seconds = time.time() - start
    if done.returncode != 0:
        raise RuntimeError(
            f"the {phase} phase's process exited {done.returncode}:\n{done.stderr[-4000:]}"
        )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result | {"process_seconds": process_seconds}


def time_phases(command: Sequence[str]) -> dict:
    """``{"cold": ..., "warm": ..., "cache_entries_after_cold": n}``: two fresh processes,
    the first with an empty cache folder, the second with what the first wrote; the
    folder is removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="jaxnn-bench-mnist1d-") as root:
        cache_root = Path(root)
        cold = run_phase(command, "cold", cache_root)
        after_cold = cache_entries(cache_root / "xla")
        warm = run_phase(command, "warm", cache_root)
    return {"cold": cold, "warm": warm, "cache_entries_after_cold": after_cold}


# --- the notebook's side ------------------------------------------------------------------------


def time_torch_mlp(
    x_train: np.ndarray,
    y_train: np.ndarray,
    widths: Sequence[int],
    *,
    epochs: int,
    threads: int,
    batch_size: int = 100,
    learning_rate: float = 0.01,
    momentum: float = 0.9,
    seed: int = 0,
) -> dict[int, float]:
    """Seconds per epoch (median) for each width of ``notebooks/deep-double-descent.ipynb``'s
    ``fit_model`` loop, on ``threads`` intra-op threads, after one untimed warm-up epoch."""
    try:
        import torch
        from torch import nn
        from torch.utils.data import DataLoader, TensorDataset
    except ImportError:
        raise ImportError(
            "the PyTorch comparison needs the bench extra: pip install -e '.[bench]'"
        ) from None
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    inputs = torch.tensor(np.asarray(x_train, np.float32))
    labels = torch.tensor(np.asarray(y_train, np.int64))
    loader = DataLoader(TensorDataset(inputs, labels), batch_size=batch_size, shuffle=True)
    seconds = {}
    for width in widths:
        model = nn.Sequential(
            nn.Linear(inputs.shape[1], width),
            nn.ReLU(),
            nn.Linear(width, width),
            nn.ReLU(),
            nn.Linear(width, 10),
        )
        loss_fn = nn.CrossEntropyLoss()
        optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate, momentum=momentum)
        per_epoch = []
        for epoch in range(epochs + 1):
            start = time.perf_counter()
            for x_batch, y_batch in loader:
                optimizer.zero_grad()
                loss = loss_fn(model(x_batch), y_batch)
                loss.backward()
                optimizer.step()
            if epoch:  # the first epoch warms up the allocator and kernels
                per_epoch.append(time.perf_counter() - start)
        seconds[int(width)] = float(np.median(per_epoch))
    return seconds


# --- both, in alternating rounds ----------------------------------------------------------------


def _round_entry(config: MNIST1DBenchConfig, torch_seconds: dict, phases: dict) -> dict:
    """One round of ``compare``: PyTorch's seconds per seed (its fastest thread count per
    width) against each of our phases'."""
    fastest = {w: min(seconds[w] for seconds in torch_seconds.values()) for w in config.widths}
    torch_per_seed = config.study_epochs * sum(fastest.values())
    entry = {
        "torch_seconds_per_epoch": torch_seconds,
        "torch_seconds_per_seed": torch_per_seed,
        "torch_seconds_per_seed_by_threads": {
            threads: config.study_epochs * sum(seconds.values())
            for threads, seconds in torch_seconds.items()
        },
        "cache_entries_after_cold": phases["cache_entries_after_cold"],
    }
    for phase in PHASES:
        record = phases[phase] | {"seconds_per_seed": seconds_per_seed(config, phases[phase])}
        entry[phase] = record
        entry[f"{phase}_seconds_per_seed"] = record["seconds_per_seed"]
        entry[f"ratio_{phase}"] = torch_per_seed / record["seconds_per_seed"]
        for key in RATES:
            entry[f"{phase}_{key}"] = record[key]
    return entry


def compare(
    config: MNIST1DBenchConfig,
    command: Sequence[str],
    *,
    x_train: np.ndarray,
    y_train: np.ndarray,
    learning_rate: float,
    momentum: float,
    log: Callable[[str], None] = lambda line: None,
) -> dict:
    """Our cold and warm phases against the notebook's loop, in ``config.rounds`` rounds.

    Even rounds time PyTorch first (on ``x_train[N, 40]``, ``y_train[N]``, in this
    process), odd rounds ours (``command --child cold|warm``, ``time_phases``) first.
    ``median`` holds the medians over rounds; ``ratio`` is ``ratio_cold`` (a first run,
    compiles included, as this benchmark's single ratio always meant).
    """
    rounds = []
    torch_mlp = functools.partial(
        time_torch_mlp,
        x_train,
        y_train,
        config.widths,
        epochs=config.torch_epochs,
        learning_rate=learning_rate,
        momentum=momentum,
    )
    for index in range(config.rounds):

        def torch_side(seed=config.seed + index) -> dict:
            return {t: torch_mlp(threads=t, seed=seed) for t in config.torch_threads}

        if index % 2 == 0:
            torch_seconds = torch_side()
            phases = time_phases(command)
        else:
            phases = time_phases(command)
            torch_seconds = torch_side()
        entry = _round_entry(config, torch_seconds, phases)
        rounds.append(entry)
        log(round_line(index, entry))
    keys = ["torch_seconds_per_seed", *(f"{p}_seconds_per_seed" for p in PHASES)]
    keys += [f"ratio_{phase}" for phase in PHASES]
    keys += [f"{phase}_{key}" for phase in PHASES for key in RATES]
    median = {key: float(np.median([r[key] for r in rounds])) for key in keys}
    last = rounds[-1]["cold"]
    return {
        "rounds": rounds,
        "median": median,
        "ratio_cold": median["ratio_cold"],
        "ratio_warm": median["ratio_warm"],
        "ratio": median["ratio_cold"],
        "targets": dict(TARGETS),
        "met": {phase: median[f"ratio_{phase}"] >= TARGETS[phase] for phase in PHASES},
        "groups": last["groups"],
        "n_devices": last["n_devices"],
        "n_train": last["n_train"],
        "measured_epochs": config.epochs,
        "study_epochs": config.study_epochs,
    }


def _rate_words(record: dict, phase: str) -> str:
    return (
        f"{record[f'{phase}_useful_flops_per_second'] / 1e9:.1f} GFLOP/s useful, "
        f"{100 * record[f'{phase}_useful_share']:.1f} % of the float32 matmul's "
        f"{record[f'{phase}_matmul_flops_per_second'] / 1e9:.1f} GFLOP/s"
    )


def round_line(index: int, entry: dict) -> str:
    """One round of ``compare`` as a console line."""
    by_threads = ", ".join(
        f"{seconds:.0f} s on {threads} thread(s)"
        for threads, seconds in entry["torch_seconds_per_seed_by_threads"].items()
    )
    phases = "; ".join(
        f"{phase} {entry[phase]['seconds_per_seed']:.1f} s (process "
        f"{entry[phase]['wall_seconds']:.1f} s: {entry[phase]['setup_seconds']:.1f} s start-up "
        f"and data, {entry[phase]['compile_seconds']:.1f} s compiling, "
        f"{entry[phase]['cache_hits']} cache hits, {entry[phase]['cache_writes']} writes; "
        f"{_rate_words(entry, phase)})"
        for phase in PHASES
    )
    return (
        f"round {index + 1}: per seed, PyTorch loop {entry['torch_seconds_per_seed']:.0f} s "
        f"(faster thread count per width; {by_threads}); jaxnn {phases} -> cold "
        f"{entry['ratio_cold']:.1f}x, warm {entry['ratio_warm']:.1f}x"
    )


def report(results: dict, *, rounds: bool = True) -> str:
    """The console lines of ``compare``: every round (unless ``rounds`` is False: they were
    logged as they ended), the medians, then the two ratios against their targets."""
    lines = [round_line(i, entry) for i, entry in enumerate(results["rounds"]) if rounds]
    median = results["median"]
    lines.append(
        f"MLP curve, {len(results['groups'])} width group(s) on {results['n_devices']} "
        "XLA device(s); "
        f"ours in fresh processes timed from their start, {results['measured_epochs']} epochs "
        f"measured, projected to {results['study_epochs']} with the steady epoch time; "
        f"medians per seed: PyTorch {median['torch_seconds_per_seed']:.0f} s, jaxnn cold "
        f"{median['cold_seconds_per_seed']:.1f} s, warm {median['warm_seconds_per_seed']:.1f} s"
    )
    lines.append(
        "steady useful rate (6 N p per member-step, padding not counted), medians: "
        + "; ".join(f"{phase} {_rate_words(median, phase)}" for phase in PHASES)
    )
    for phase in PHASES:
        met = "met" if results["met"][phase] else "not met"
        lines.append(
            f"{phase} ratio: {results[f'ratio_{phase}']:.1f}x "
            f"(target {results['targets'][phase]:g}x: {met})"
        )
    return "\n".join(lines)
