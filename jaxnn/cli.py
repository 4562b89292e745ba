"""Command-line plumbing shared by every ``experiments/`` script: flags, validation, study runner.

Every study script takes the flags of ``make_parser`` plus its own and behaves as README.md's
list under "Every study script takes the same flags" says, implemented once here: bad input
exits 2 with one line naming the argument before any compute; progress goes to stderr;
Ctrl-C or SIGTERM says what was kept and how to ``--resume``; an internal error keeps its
traceback, exits 1 and marks the run failed; under ``--distributed`` every process computes
the same results and process 0 alone prints and writes.

This is the one place besides ``tests/conftest.py`` that calls ``jax.config.update``:
it runs in entry points only, before JAX starts its backend.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib
import math
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

from jaxnn import precision, validation
from jaxnn.progress import ConsoleProgress
from jaxnn.progress import duration_text as _duration

MAX_LIST_VALUES = 10_000
MAX_PROCESSES = 100_000  # far above any cluster; bounds the flags, nothing is allocated per process


class UsageError(Exception):
    """A bad command-line value; the entry point turns it into exit status 2."""


class ArgumentParser(argparse.ArgumentParser):
    """An ``argparse`` parser whose errors are one line and exit with status 2, and which
    checks the ``--distributed`` options together (``check_distributed``) after parsing."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")

    def parse_known_args(self, args=None, namespace=None):
        namespace, extras = super().parse_known_args(args, namespace)
        check_distributed(namespace)
        return namespace, extras


def _typed(convert: Callable[[str], Any], describe: str) -> Callable[[str], Any]:
    """An argparse ``type`` whose failure message says what was expected."""

    def parse(text: str):
        try:
            return convert(text)
        except (ValueError, OverflowError):
            raise argparse.ArgumentTypeError(f"need {describe}, got {text!r}") from None

    parse.__name__ = describe
    return parse


def int_in(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: an integer in ``[low, high]``."""

    def convert(text: str) -> int:
        value = int(text)
        if not low <= value <= high:
            raise ValueError
        return value

    return _typed(convert, f"an integer in {low}..{high}")


def finite_float(*, positive: bool = False, nonnegative: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite float (and > 0 or >= 0 if asked)."""

    def convert(text: str) -> float:
        value = float(text)
        if not math.isfinite(value) or (positive and value <= 0) or (nonnegative and value < 0):
            raise ValueError
        return value

    kind = "a finite number" + (" > 0" if positive else " >= 0" if nonnegative else "")
    return _typed(convert, kind)


def _address(text: str) -> str:
    host, colon, port = text.rpartition(":")
    if not colon or not host.strip("[]") or any(c.isspace() for c in text):
        raise ValueError
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError
    return text


# An argparse type: ``HOST:PORT`` (an IPv6 host in brackets), the port in 1..65535.
coordinator_address = _typed(_address, "HOST:PORT with a port in 1..65535")


def check_distributed(args) -> None:
    """``--coordinator``, ``--num-processes`` and ``--process-id`` need ``--distributed``;
    the count and the id go together (one without the other names no process), and the id
    is below the count. Raises ``UsageError`` naming the flag."""
    coordinator = getattr(args, "coordinator", None)
    count = getattr(args, "num_processes", None)
    process_id = getattr(args, "process_id", None)
    given = {"--coordinator": coordinator, "--num-processes": count, "--process-id": process_id}
    if not getattr(args, "distributed", False):
        for flag, value in given.items():
            if value is not None:
                raise UsageError(f"{flag}: needs --distributed")
        return
    if (count is None) != (process_id is None):
        flag, other = (
            ("--num-processes", "--process-id") if count else ("--process-id", "--num-processes")
        )
        raise UsageError(f"{flag}: needs {other} as well (every process its own id in 0..N-1)")
    if count is not None and process_id >= count:
        raise UsageError(f"--process-id: must be < --num-processes ({count}), got {process_id}")


def make_parser(description: str) -> ArgumentParser:
    """The flags every study shares."""
    parser = ArgumentParser(description=description.strip().splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="smoke run, well under a minute")
    size.add_argument("--full", action="store_true", help="accelerator-sized run")
    parser.add_argument(
        "--seed", type=int_in(0, validation.MAX_SEED), default=0, help="master seed (default 0)"
    )
    parser.add_argument("--out", default="figures", help="output folder (default figures)")
    parser.add_argument("--no-plot", action="store_true", help="write numbers only, no PNGs")
    parser.add_argument("--quiet", action="store_true", help="no progress output (errors still)")
    parser.add_argument("--runs", default="runs", help="raw results folder (default runs)")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="reuse the finished parts of an interrupted run with this config",
    )
    parser.add_argument(
        "--matmul-precision",
        default=precision.DEFAULT,
        choices=precision.PRECISIONS,
        help="float32 matmul precision (default highest: exact float32 on every backend; lower "
        "ones are TF32/bfloat16 passes on GPUs/TPUs, for speed studies only)",
    )
    parser.add_argument(
        "--no-compile-cache",
        action="store_true",
        help="neither read nor write JAX's persistent compilation cache (jaxnn.compile_cache)",
    )
    parser.add_argument(
        "--distributed",
        action="store_true",
        help="multi-process run: call jax.distributed.initialize() (one process per host; "
        "SLURM, Open MPI and TPU slices are detected, else give the three flags below); only "
        "process 0 writes files",
    )
    for flag, kind, metavar, what in (
        ("--coordinator", coordinator_address, "HOST:PORT", "process 0's address and a free port"),
        ("--num-processes", int_in(1, MAX_PROCESSES), "N", "how many processes take part"),
        ("--process-id", int_in(0, MAX_PROCESSES - 1), "I", "this process's id in 0..N-1"),
    ):
        described = f"with --distributed: {what} (default: detected)"
        parser.add_argument(flag, type=kind, metavar=metavar, help=described)
    return parser


@contextlib.contextmanager
def as_usage_errors():
    """Turns a ``ValueError`` (a config's validation, naming the field) into bad input, exit 2."""
    try:
        yield
    except ValueError as error:
        raise UsageError(str(error)) from None


def override(config, **values):
    """``config`` with the fields whose given value is not ``None`` replaced (CLI overrides);
    ``UsageError`` when the new config fails its validation (naming the field)."""
    with as_usage_errors():
        return dataclasses.replace(config, **{k: v for k, v in values.items() if v is not None})


def configure(study: ModuleType, args, **values):
    """The study's preset (``--quick``/``--full``/default) with the CLI's overrides, validated;
    ``seed`` and ``matmul_precision`` come from the shared flags where ``Config`` has them."""
    config = study.QUICK if args.quick else study.FULL if args.full else study.Config()
    fields = {f.name for f in dataclasses.fields(config)}
    shared = {"seed": args.seed, "matmul_precision": args.matmul_precision}
    return override(config, **{k: v for k, v in shared.items() if k in fields}, **values)


def writable_dir(path, *, name: str = "--out") -> Path:
    """``io.ensure_writable_dir`` for a flag: an unusable folder is bad input (exit 2)."""
    from jaxnn import io

    try:
        return io.ensure_writable_dir(path, name=name)
    except ValueError as error:
        raise UsageError(str(error)) from None


def run_main(main, argv: list[str] | None = None) -> None:
    """Calls ``main(argv)``; bad input (``UsageError``) exits 2 with one line, Ctrl-C exits 130,
    anything else is an internal error and keeps its traceback (exit 1)."""
    prog = os.path.basename(sys.argv[0])
    try:
        main(sys.argv[1:] if argv is None else argv)
    except UsageError as error:
        print(f"{prog}: error: {str(error).splitlines()[0]}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        sys.exit(130)


def setup_devices(args) -> None:
    """Starts multi-process JAX if asked, else exposes one CPU device per core; sets the precision.

    Call first in ``main``, before anything touches a JAX device. ``--matmul-precision``
    becomes JAX's default for everything the run traces; the persistent compilation cache is
    on unless ``--no-compile-cache``.
    """
    import jax

    from jaxnn import compile_cache

    if getattr(args, "no_compile_cache", False):
        compile_cache.disable()
    else:
        compile_cache.enable()

    jax.config.update(
        "jax_default_matmul_precision", getattr(args, "matmul_precision", precision.DEFAULT)
    )
    if getattr(args, "distributed", False):
        start_distributed(args)
    else:
        use_all_host_cores()


def start_distributed(args) -> None:
    """Calls ``jax.distributed.initialize`` with the three flags that go with it; JAX detects
    what is not given from the cluster (SLURM, Open MPI, a TPU slice), else ``UsageError``.

    On CPU each process keeps JAX's one CPU device (no ``use_all_host_cores``): the mesh is
    then one device per process, and ``XLA_FLAGS=--xla_force_host_platform_device_count``
    still overrides it.
    """
    import jax

    if "JAX_CPU_COLLECTIVES_IMPLEMENTATION" not in os.environ:
        # A CPU program spanning processes needs cross-process collectives (the
        # sweep's allgather); gloo runs over TCP. Only the CPU backend reads it,
        # and it must be set before the backend starts.
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
    try:
        jax.distributed.initialize(
            coordinator_address=getattr(args, "coordinator", None),
            num_processes=getattr(args, "num_processes", None),
            process_id=getattr(args, "process_id", None),
        )
    except ValueError as error:
        raise UsageError(
            f"--distributed: {error} (no SLURM, Open MPI or TPU slice detected: give "
            "--coordinator, --num-processes and --process-id)"
        ) from None


def use_all_host_cores() -> None:
    """Exposes one XLA CPU device per core: XLA:CPU runs a batched (vmapped) matmul on one
    thread, so a sweep sharded over host devices is what uses every core. Must run before JAX
    starts its backend; accelerator backends ignore it."""
    if "--xla_force_host_platform_device_count" in os.environ.get("XLA_FLAGS", ""):
        return
    import jax

    count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        jax.config.update("jax_num_cpu_devices", max(1, int(count or 1)))
    except RuntimeError:
        pass  # the backend already started (e.g. main() called from a test): keep its devices


def parse_int_spec(
    text: str | None, *, name: str, maximum: int | None = None
) -> tuple[int, ...] | None:
    """Parses ``"2:40:2,50,100"`` (ranges inclusive of their end) into sorted unique ints.

    The one syntax of every integer list flag. Bounds are checked before a range is expanded,
    so a huge range fails at once. ``None`` (the flag not given) stays ``None``; empty,
    malformed, non-positive or too large entries raise ``UsageError`` naming ``name``.
    """
    if text is None:
        return None
    values: set[int] = set()
    example = "use e.g. '2:40:2,50,100'"
    for item in filter(None, (part.strip() for part in text.split(","))):
        try:
            numbers = [int(v) for v in item.split(":")]
        except ValueError:
            raise UsageError(f"{name}: cannot parse {text!r}; {example}") from None
        if len(numbers) > 3 or (len(numbers) == 3 and numbers[2] < 1):
            raise UsageError(f"{name}: cannot parse {item!r}; {example}")
        if min(numbers[:2]) < 1:
            raise UsageError(f"{name}: every value must be >= 1, got {min(numbers[:2])}")
        if maximum is not None and max(numbers[:2]) > maximum:
            raise UsageError(f"{name}: every value must be <= {maximum}, got {max(numbers[:2])}")
        start, stop = numbers[0], numbers[1] if len(numbers) > 1 else numbers[0]
        step = numbers[2] if len(numbers) == 3 else 1
        if (stop - start) // step + 1 > MAX_LIST_VALUES:
            raise UsageError(f"{name}: {item!r} has more than {MAX_LIST_VALUES} values")
        values.update(range(start, stop + 1, step))
    if not values:
        raise UsageError(f"{name}: no values in {text!r}; {example}")
    return tuple(sorted(values))


def parse_float_list(
    text: str | None, *, name: str, positive: bool = False, nonnegative: bool = False
) -> tuple[float, ...] | None:
    """Parses ``"0.02,0.04"`` into finite floats, raising ``UsageError`` naming ``name``.

    The one syntax of every real-valued list flag; ``None`` stays ``None``.
    """
    if text is None:
        return None
    convert = finite_float(positive=positive, nonnegative=nonnegative)
    try:
        values = tuple(convert(v) for v in text.split(",") if v.strip())
    except argparse.ArgumentTypeError as error:
        raise UsageError(f"{name}: {error}") from None
    if not values:
        raise UsageError(f"{name}: no values in {text!r}; use e.g. '0.02,0.04'")
    return values


def parse_named_values(
    text: str, *, name: str, names: tuple[str, ...]
) -> tuple[tuple[str, float], ...]:
    """Parses ``"mlp:0,cnn:0.15"`` into ``(("mlp", 0.0), ("cnn", 0.15))``, raising
    ``UsageError`` naming ``name`` on a malformed item, an unknown name or a non-finite value."""
    pairs = []
    example = f"use e.g. '{names[0]}:0,{names[-1]}:0.15'"
    convert = finite_float()
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, _, value = item.partition(":")
        if key not in names:
            raise UsageError(f"{name}: unknown {key!r} in {item!r}; choose from {list(names)}")
        try:
            pairs.append((key, convert(value)))
        except argparse.ArgumentTypeError as error:
            raise UsageError(f"{name}: {error} in {item!r}; {example}") from None
    if not pairs:
        raise UsageError(f"{name}: no values in {text!r}; {example}")
    return tuple(pairs)


def _interrupted(name: str, run, command: str, argv: list[str] | None, start: float):
    """Records an interrupted run, says how to continue it, and exits with 130."""
    run.set_status("interrupted", wall_seconds=run.total_seconds(time.perf_counter() - start))
    kept = len(run.parts())
    command += "" if "--resume" in (argv or []) else " --resume"
    print(
        f"{name}: interrupted after {_duration(time.perf_counter() - start)}; "
        + (
            f"{kept} finished part(s) kept in {run.path}; continue with: {command}"
            if kept
            else "nothing finished yet; rerun the same command to start over"
        ),
        file=sys.stderr,
    )
    raise SystemExit(130) from None


def run_study(study: ModuleType, config, args, argv: list[str] | None) -> dict:
    """Runs a study the way every CLI does: set up, run, write, plot, summarise.

    Writes ``<study>.json`` (the results, ``wall_seconds`` and the run record under
    ``"run"``: the returned document), ``<study>.md`` (``study.markdown``) and, unless
    ``--no-plot``, the figures of ``jaxnn.plotting.<study>.plot_all`` into ``--out``; the run
    directory under ``--runs`` keeps finished parts.
    """
    import jax

    from jaxnn import io, placement

    name = study.__name__.rsplit(".", 1)[-1]
    setup_devices(args)
    out = writable_dir(args.out, name="--out")
    writable_dir(args.runs, name="--runs")
    record = io.run_record(config, seed=getattr(config, "seed", None), argv=argv)
    run = io.RunDirectory(
        args.runs,
        name,
        record,
        resume=args.resume,
        report=lambda line: print(f"{name}: {line}", file=sys.stderr),
    )
    mesh = placement.sweep_mesh() if len(jax.devices()) > 1 else None
    start = time.perf_counter()
    # A batch scheduler's time limit arrives as SIGTERM: end it like Ctrl-C (status, resume hint).
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    # A multi-process run reports once: process 0 prints progress and the summary
    # (and writes the files); the others print only errors.
    writer = io.is_writer()
    try:
        if args.resume:
            check_same_parts(run)
        with ConsoleProgress(name, quiet=args.quiet or not writer) as progress:
            results = study.run(config, mesh=mesh, run_dir=run, progress=progress)
    except KeyboardInterrupt:
        _interrupted(name, run, record["command"], argv, start)
    except BaseException as error:
        run.set_status("failed", error=f"{type(error).__name__}: {error}")
        raise
    elapsed = time.perf_counter() - start
    # The time the results took: with --resume, this run's and the runs it continued.
    wall_seconds = run.total_seconds(elapsed)
    run_entry = {**record, "run_dir": str(run.path)}
    document = io.to_jsonable({**results, "wall_seconds": wall_seconds, "run": run_entry})
    if hasattr(study, "with_verdicts"):  # the same path as experiments/reanalyse.py
        document = io.to_jsonable(study.with_verdicts(document))
    written = [
        io.write_json(out / f"{name}.json", document),
        io.write_text(out / f"{name}.md", study.markdown(document)),
    ]
    if not args.no_plot:
        plots = importlib.import_module(f"jaxnn.plotting.{name}")
        written += list(plots.plot_all(document, out) or [])
    run.set_status("done", wall_seconds=wall_seconds)
    summary = [
        *study.summary(document),
        f"wrote {', '.join(_short(p) for p in written)} in {_duration(elapsed)}",
    ]
    if writer:
        print("\n".join(f"{name}: {line}" for line in summary), flush=True)
    return document


def check_same_parts(run) -> None:
    """On a resumed multi-process run, checks that every process sees the same finished parts.

    Each process decides from its own ``--runs`` folder which parts to skip; if they
    disagree, one process trains a group that the others skip and the run hangs in its first
    collective. Only process 0 writes parts, so they agree only when ``--runs`` is one folder
    that every process shares (else ``UsageError`` naming ``--resume``).
    """
    import jax

    if jax.process_count() == 1:
        return
    import zlib

    import numpy as np
    from jax.experimental import multihost_utils

    names = "\n".join(part.name for part in run.parts())
    seen = multihost_utils.process_allgather(np.uint32(zlib.crc32(names.encode())))
    if len(set(np.asarray(seen).tolist())) > 1:
        raise UsageError(
            f"--resume: the processes see different finished parts in {run.path}; with "
            "--distributed, --runs must be one folder that every process shares"
        )


def _short(path) -> str:
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
